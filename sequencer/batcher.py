"""Batches: cut, seal, hand to a poster (DESIGN.md §3 heads; docs/protocol.md §6-§7).

A batch is cut when ``batch_max_txs`` soft transactions wait or the oldest has waited
``batch_interval`` seconds.  Sealing re-applies the prefix from the last sealed state
(``SoftExecutor.cut``), packs the records into blobs (``l2.batch.compute_batch_blobs``),
computes their EIP-4844 versioned hashes (KZG) and the ``BatchCommitment``, and persists the
batch as ``sealed`` together with its transactions' (batch, position) and the post-state
snapshot -- one database transaction.  Then it is the poster's.

``BatchPoster`` is the interface the L1 poster (next issue) implements:

- ``get_l1_origin()``: the L1 block hash the next batch builds on (fixed in the commitment at
  seal time, so a sealed batch never changes);
- ``post(batch)``: submit the batch's L1 transaction, return its hash (or ``None`` if not posted
  now; it is asked again), or raise ``UnpostableBatch`` when the L1 can never accept it as
  sealed (the service then re-sequences: ``Sequencer.recover_refused``).  Must be idempotent per batch number: after a crash between "sent" and
  "recorded" the poster is asked again and must find its own transaction (catalogue R2);
- ``status(batch)``: ``sealed`` / ``posted`` / ``safe`` (its L1 transaction is in the canonical
  chain) / ``final`` (FinalizeBatch for it is committed) / ``reverted`` (the L1 reverted it).  A
  reorg may move a batch back;
- ``revert_refusal()``: after ``status`` said ``reverted``, the rollup state the batches must be
  re-sealed against, as an ``UnpostableBatch`` (``Sequencer.recover_refused`` handles both).

``NullPoster`` (this issue) posts nothing: batches stay ``sealed``, the soft head advances and the
safe and final heads stay at genesis.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from l2.batch import BatchCommitment, compute_batch_blobs, compute_batch_commitment
from l2.config import RollupConfig
from l2.tx import decode_record
from sequencer.entries import BatchStatus
from sequencer.executor import BatchCut

__all__ = [
    "BatchPoster",
    "Batcher",
    "NullPoster",
    "SealedBatch",
    "UnpostableBatch",
    "VersionedHashes",
    "compute_kzg_versioned_hashes",
    "compute_sealed_batch",
    "compute_test_versioned_hashes",
    "is_batch_due",
]

log = logging.getLogger("sequencer.batcher")

ZERO_HASH = bytes(32)
VersionedHashes = Callable[[Sequence[bytes]], list[bytes]]


@dataclass(frozen=True, slots=True)
class SealedBatch:
    number: int
    commitment: BatchCommitment
    #: The 124-byte records, in batch order (the blobs are ``compute_batch_blobs`` of them).
    records: tuple[bytes, ...]
    tx_hashes: tuple[bytes, ...]
    first_soft_index: int
    status: BatchStatus = "sealed"
    l1_tx_hash: bytes | None = None
    #: The post-state's accounts root and next account index: SubmitBatch carries them so the
    #: L1 checks the new root's counters (docs/disputes.md §1).
    new_accounts_root: bytes = ZERO_HASH
    new_next_account_index: int = 0

    def compute_blobs(self, config: RollupConfig) -> list[bytes]:
        return compute_batch_blobs([decode_record(r, config.profile) for r in self.records])


class UnpostableBatch(RuntimeError):
    """``BatchPoster.post``: the L1's rollup state requires something the sealed batch does not
    satisfy (its ``prev_root`` is not the rollup's state root, it starts at another deposit
    index, it ignores pending forced deposits), so it can never be posted as sealed.  Carries
    the rollup state the batches must be re-sealed against (``Sequencer.recover_refused``)."""

    def __init__(
        self,
        number: int,
        reason: str,
        *,
        state_root: bytes,
        next_deposit_index: int,
        pending_forced: tuple[bytes, ...],
    ) -> None:
        super().__init__(reason)
        self.number = number
        self.reason = reason
        self.state_root = state_root
        self.next_deposit_index = next_deposit_index
        self.pending_forced = pending_forced


class BatchPoster(Protocol):
    name: str

    def get_l1_origin(self) -> bytes: ...

    def post(self, batch: SealedBatch) -> bytes | None: ...

    def status(self, batch: SealedBatch) -> BatchStatus: ...

    def revert_refusal(self) -> UnpostableBatch: ...


class NullPoster:
    """Posts nothing (the L1 poster is the next issue): batches stay sealed."""

    name = "null"

    def get_l1_origin(self) -> bytes:
        return ZERO_HASH

    def post(self, batch: SealedBatch) -> bytes | None:
        return None

    def status(self, batch: SealedBatch) -> BatchStatus:
        return batch.status

    def revert_refusal(self) -> UnpostableBatch:
        raise RuntimeError("the null poster posts nothing, so nothing is ever reverted")


def compute_kzg_versioned_hashes(blobs: Sequence[bytes]) -> list[bytes]:
    """EIP-4844 versioned hashes of the blobs' KZG commitments (loads the setup on first use)."""
    import ckzg

    from l1.core.blobs import compute_versioned_hash
    from l1.kzg import get_kzg_settings

    settings = get_kzg_settings()
    return [
        compute_versioned_hash(bytes(ckzg.blob_to_kzg_commitment(blob, settings))) for blob in blobs
    ]


def compute_test_versioned_hashes(blobs: Sequence[bytes]) -> list[bytes]:
    """A stand-in for unit tests (no KZG setup): ``0x01 || sha256(blob)[1:]``."""
    return [b"\x01" + hashlib.sha256(blob).digest()[1:] for blob in blobs]


def is_batch_due(unbatched: int, oldest_age: float | None, max_txs: int, interval: float) -> bool:
    """Cut when ``max_txs`` wait or the oldest waiting one is ``interval`` seconds old."""
    if unbatched == 0:
        return False
    return unbatched >= max_txs or (oldest_age is not None and oldest_age >= interval)


def compute_sealed_batch(
    number: int,
    cut: BatchCut,
    l1_origin: bytes,
    versioned_hashes: VersionedHashes,
    config: RollupConfig,
) -> SealedBatch:
    """Pure: the blobs and commitment of a cut."""
    txs = [e.tx for e in cut.entries]
    hashes = versioned_hashes(compute_batch_blobs(txs))
    commitment = compute_batch_commitment(number, cut.result, hashes, l1_origin, config)
    return SealedBatch(
        number=number,
        commitment=commitment,
        records=tuple(e.record for e in cut.entries),
        tx_hashes=tuple(e.hash for e in cut.entries),
        first_soft_index=cut.first_soft_index,
        new_accounts_root=cut.post_state.get_accounts_root(),
        new_next_account_index=cut.post_state.next_account_index,
    )


class BatchHost(Protocol):
    """What the batcher thread needs from the service (``sequencer.service.Sequencer``)."""

    def seal_due_batch(self, force: bool = False) -> SealedBatch | None: ...

    def advance_batches(self) -> None: ...


class Batcher:
    """Background thread: seal due batches, then let the poster post / report progress."""

    def __init__(self, host: BatchHost, tick: float = 0.2) -> None:
        self.host = host
        self.tick = tick
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        #: Cap of the exponential backoff after failed rounds (catalogue R6), seconds.
        self.max_backoff = 30.0
        self.failures = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="batcher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                while self.host.seal_due_batch() is not None:
                    if self._stop.is_set():
                        return
                self.host.advance_batches()
                self.last_error = None
                self.failures = 0
            except Exception as exc:  # keep the loop alive; the error is visible in /v1/status
                self.last_error = f"{type(exc).__name__}: {exc}"
                self.failures += 1
                delay = min(0.5 * 2 ** min(self.failures, 16), self.max_backoff)
                log.warning("batcher round failed (retry in %.1fs): %s", delay, self.last_error)
                log.debug("batcher failure", exc_info=True)
                self._stop.wait(delay)
            self._wake.wait(self.tick)
            self._wake.clear()
