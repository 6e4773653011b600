"""Data-availability sampling: k random cells per blob, checked against the blob's commitment.

For one block (whose header the light client has already accepted):

1. ask peers, in random order, for the block's blob transactions and their CBMT proof until one
   answer proves them under the header (``l1.light.proofs``); a block without blob transactions
   is available at once;
2. for every committed blob pick ``k`` distinct cell indices at random (from the OS CSPRNG, so a
   peer cannot predict which cells will be asked) out of the 128 cells of the EIP-7594 extended
   blob, and ask peers in random order for them (``get_blob_cells``). A peer passes a blob when
   its commitment hashes to the transaction's versioned hash and all ``k`` cells come back with
   proofs that ``verify_cell_kzg_proof_batch`` accepts (``l1.core.blobs.verify_cells``). Peers are
   asked until one passes (or all are asked, in audit mode).

The block is *available* when every blob passed at one peer. Each peer's answer is recorded with
a reason when it failed: ``withheld`` (the peer says it has no cells, or left requested ones
out), ``invalid_proof``, ``wrong_commitment``, ``pruned``, ``unreachable``, ``unknown_block``,
``invalid_transactions_proof`` or ``error``.

Why k cells suffice: if less than half of the extended blob is available the blob cannot be
reconstructed, and then each random cell is missing with probability > 1/2, so a withholding
peer passes k samples with probability < 2^-k (8 samples: < 0.4%), while a light client
downloads k × (2048 + 48) bytes per blob instead of 131072.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from l1.ckb.json import bytes_from_json, bytes_to_json, quantity_from_json, quantity_to_json
from l1.ckb.types import Header
from l1.core.blobs import BYTES_PER_CELL, CELLS_PER_EXT_BLOB, compute_versioned_hash, verify_cells
from l1.core.errors import InvalidCellProof
from l1.light.peers import PeerRpcError, PeerUnreachable
from l1.light.proofs import (
    BlobTransaction,
    BlobTransactionsProofError,
    verify_block_blob_transactions,
)

__all__ = ["Availability", "Peer", "PeerSample", "Sampler"]

BLOB_NOT_FOUND = -1201
BLOB_PRUNED = -1202
PROOF_BYTES = 48


class Peer(Protocol):
    """What the sampler needs of a peer (``l1.light.peers.PeerClient``)."""

    @property
    def url(self) -> str: ...

    def call(self, kind: str, method: str, *params: Any) -> tuple[Any, int]: ...


@dataclass(frozen=True, slots=True)
class PeerSample:
    """One peer's answer for one stage of one block: the transaction list, or one blob's cells."""

    peer: str
    ok: bool
    #: ``None`` when ok; else one of the failure codes in the module docstring.
    code: str | None
    reason: str | None
    stage: str  # "transactions" | "cells"
    blob: bytes | None = None
    indices: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "peer": self.peer,
            "ok": self.ok,
            "code": self.code,
            "reason": self.reason,
            "stage": self.stage,
            "blob": None if self.blob is None else bytes_to_json(self.blob),
            "indices": list(self.indices),
        }


@dataclass(slots=True)
class Availability:
    block_hash: bytes
    number: int
    status: str = "pending"  # "pending" | "available" | "unavailable"
    blob_transactions: tuple[BlobTransaction, ...] | None = None
    samples: list[PeerSample] = field(default_factory=list)
    attempts: int = 0
    #: Response bytes of the last attempt (transaction proof + cells).
    bytes_downloaded: int = 0
    #: Cells verified in the last attempt, and their raw size (cells + proofs).
    cells_sampled: int = 0
    seconds: float = 0.0
    checked_at: float = 0.0

    @property
    def blobs(self) -> int | None:
        if self.blob_transactions is None:
            return None
        return sum(len(tx.versioned_hashes) for tx in self.blob_transactions)

    @property
    def failed_peers(self) -> list[str]:
        return sorted({s.peer for s in self.samples if not s.ok})

    @property
    def reason(self) -> str | None:
        """Why the block is not available, naming each failing peer; ``None`` when available."""
        if self.status == "available":
            return None
        failures = "; ".join(f"{s.peer}: {s.reason}" for s in self.samples if not s.ok)
        if self.blob_transactions is None:
            return "no peer proved the block's blob transactions" + (
                f" ({failures})" if failures else ""
            )
        passed = {s.blob for s in self.samples if s.ok and s.stage == "cells"}
        failed = sorted(
            {s.blob.hex() for s in self.samples if s.blob is not None and s.blob not in passed}
        )
        return f"no peer served valid cells of blob(s) {', '.join(failed)} ({failures})"


def _fail(peer: str, code: str, reason: str, stage: str) -> PeerSample:
    return PeerSample(peer, False, code, reason, stage)


class Sampler:
    """Checks blocks against ``peers``; ``k`` cells per blob."""

    def __init__(
        self,
        peers: Sequence[Peer],
        kzg_settings: Callable[[], Any],
        k: int = 8,
        query_all_peers: bool = False,
        rng: random.Random | None = None,
    ) -> None:
        if not 1 <= k <= CELLS_PER_EXT_BLOB:
            raise ValueError(f"samples per blob must be 1 to {CELLS_PER_EXT_BLOB}, got {k}")
        self.peers = list(peers)
        self.kzg_settings = kzg_settings
        self.k = k
        self.query_all_peers = query_all_peers
        self.rng = rng if rng is not None else random.SystemRandom()

    def _shuffled(self) -> list[Peer]:
        peers = list(self.peers)
        self.rng.shuffle(peers)
        return peers

    def check(
        self, header: Header, block_hash: bytes, previous: Availability | None
    ) -> Availability:
        """One attempt at ``block_hash``; returns the updated record (``previous`` untouched)."""
        started = time.monotonic()
        result = Availability(
            block_hash,
            header.raw.number,
            attempts=(previous.attempts if previous is not None else 0) + 1,
            checked_at=time.time(),
        )
        if previous is not None:
            result.blob_transactions = previous.blob_transactions
        if result.blob_transactions is None:
            result.blob_transactions = self._blob_transactions(header, block_hash, result)
        if result.blob_transactions is not None:
            available = True
            for tx in result.blob_transactions:
                for versioned_hash in tx.versioned_hashes:
                    available = self._sample_blob(versioned_hash, result) and available
            result.status = "available" if available else "unavailable"
        result.seconds = time.monotonic() - started
        return result

    # ------------------------------------------------------------------ stage 1
    def _blob_transactions(
        self, header: Header, block_hash: bytes, result: Availability
    ) -> tuple[BlobTransaction, ...] | None:
        for peer in self._shuffled():
            stage = "transactions"
            try:
                payload, size = peer.call(
                    "blob_txs", "get_block_blob_transactions", bytes_to_json(block_hash)
                )
            except PeerUnreachable as exc:
                result.samples.append(_fail(peer.url, "unreachable", str(exc), stage))
                continue
            except PeerRpcError as exc:
                result.samples.append(_fail(peer.url, "error", str(exc), stage))
                continue
            result.bytes_downloaded += size
            if payload is None:
                result.samples.append(
                    _fail(peer.url, "unknown_block", "the peer does not know this block", stage)
                )
                continue
            try:
                txs = verify_block_blob_transactions(header, payload)
            except BlobTransactionsProofError as exc:
                result.samples.append(
                    _fail(peer.url, "invalid_transactions_proof", str(exc), stage)
                )
                continue
            result.samples.append(PeerSample(peer.url, True, None, None, stage))
            return txs
        return None

    # ------------------------------------------------------------------ stage 2
    def _sample_blob(self, versioned_hash: bytes, result: Availability) -> bool:
        indices = tuple(sorted(self.rng.sample(range(CELLS_PER_EXT_BLOB), self.k)))
        passed = False
        for peer in self._shuffled():
            sample = self._ask(peer, versioned_hash, indices, result)
            result.samples.append(sample)
            if sample.ok:
                passed = True
                result.cells_sampled += len(indices)
                if not self.query_all_peers:
                    break
        return passed

    def _ask(
        self,
        peer: Peer,
        versioned_hash: bytes,
        indices: tuple[int, ...],
        result: Availability,
    ) -> PeerSample:
        def fail(code: str, reason: str) -> PeerSample:
            return PeerSample(peer.url, False, code, reason, "cells", versioned_hash, indices)

        try:
            answer, size = peer.call(
                "cells",
                "get_blob_cells",
                bytes_to_json(versioned_hash),
                [quantity_to_json(i) for i in indices],
            )
        except PeerUnreachable as exc:
            return fail("unreachable", str(exc))
        except PeerRpcError as exc:
            if exc.code == BLOB_NOT_FOUND:
                return fail("withheld", f"withheld: {exc}")
            if exc.code == BLOB_PRUNED:
                return fail("pruned", f"pruned: {exc}")
            return fail("error", str(exc))
        result.bytes_downloaded += size
        try:
            if not isinstance(answer, dict) or not isinstance(answer.get("cells"), list):
                raise ValueError("the answer has no cells list")
            commitment = bytes_from_json(answer.get("commitment"), "commitment", 48)
            got: dict[int, tuple[bytes, bytes]] = {}
            for n, item in enumerate(answer["cells"]):
                if not isinstance(item, dict):
                    raise ValueError(f"cells[{n}] is not an object")
                got[quantity_from_json(item.get("index"), f"cells[{n}].index", 32)] = (
                    bytes_from_json(item.get("cell"), f"cells[{n}].cell"),
                    bytes_from_json(item.get("proof"), f"cells[{n}].proof"),
                )
        except ValueError as exc:
            return fail("error", f"malformed answer: {exc}")
        if compute_versioned_hash(commitment) != versioned_hash:
            return fail(
                "wrong_commitment",
                f"wrong commitment: 0x{commitment.hex()} does not hash to the versioned hash",
            )
        missing = [i for i in indices if i not in got]
        if missing:
            return fail("withheld", f"withheld: cells {missing} are missing from the answer")
        try:
            verify_cells(
                commitment,
                list(indices),
                [got[i][0] for i in indices],
                [got[i][1] for i in indices],
                self.kzg_settings(),
            )
        except InvalidCellProof as exc:
            return fail("invalid_proof", f"invalid proof: {exc}")
        return PeerSample(peer.url, True, None, None, "cells", versioned_hash, indices)


#: Raw size of one sampled cell with its proof (what a bench compares with the blob size).
SAMPLE_BYTES = BYTES_PER_CELL + PROOF_BYTES
