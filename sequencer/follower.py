"""Follower mode (``python -m sequencer --follow --l1 URL --rollup-id HEX``): the L2 state derived
from L1 blocks and blobs alone -- the independent check that the data on L1 is enough
(catalogue T4, L1, L2, D1, D2).

The loop polls the L1 tip and scans new blocks incrementally (``RollupL1.scan`` from the last
processed block).  Every rollup transaction extends the deposit queue (``derive_l1_deposits``,
one transaction at a time: each carries the rollup state it consumed, so no earlier scan is
needed); every SubmitBatch's blobs are fetched by versioned hash and the batch is derived with
``l2.derive.derive_state`` from the snapshot after the previous batch.

- **Per-batch snapshots, reorgs.**  The hash of every processed block (the last
  ``history_blocks``) is kept.  When the node's hash at the last processed height changes, the
  follower walks back to the fork point (the highest height whose hash is unchanged), drops the
  batches and deposits of the blocks after it, restores the snapshot after the last kept batch and
  re-scans from ``fork + 1`` (the same replay ``l2.derive.rederive`` does, but the fork point comes
  from L1 block hashes instead of comparing inputs).  Snapshots of batches older than the history
  are dropped except the newest of them, so every reachable fork has a snapshot to restart from.
- **Reverts and finality.**  A RevertBatches(k) removes the batches ``>= k`` from the derived
  chain (they are kept aside with status ``reverted``; a reorg that undoes the revert brings them
  back) and derivation continues from the snapshot after batch ``k - 1``: the snapshots of
  batches that are not final yet are never pruned.  A batch is ``final`` once its FinalizeBatch
  is processed (a reorg that drops the FinalizeBatch makes it ``safe`` again).
- **Findings.**  A commitment that disagrees with what its own data derives to (new root,
  withdrawals root, tx count, ...) or data that does not decode (derived as an empty batch) is
  recorded with the batch number -- never raised: the challenger acts on them.
- **Unavailable data.**  A blob the node does not serve (unknown, or pruned after the L1's blob
  retention window) stops derivation *at that batch*: it is reported (``unavailable``) and
  retried every poll, and nothing after it is derived (catalogue D1).
- **Persistence.**  Progress -- block hashes, deposit queue, batches with their derived results,
  state snapshots -- is written atomically to ``<data-dir>/follower.json`` after every change;
  a restart resumes from it instead of re-deriving from genesis.  This matters beyond speed: the
  L1 keeps blobs only ``blob_retention_blocks`` (16 in the test preset), so a follower that falls
  further behind than that can only continue from a snapshot taken within the window.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx

from l1.client import L1Client, L1RpcError
from l1.core.scripts.rollup.layout import (
    FinalizeBatch,
    InvalidRollupEncoding,
    RevertBatches,
    RollupState,
    SubmitBatch,
    SubmitProvenBatch,
)
from l2.batch import BatchCommitment
from l2.client.bridge import RollupL1, RollupTxSeen, ScanResult, derive_l1_deposits
from l2.config import RollupConfig
from l2.derive import BatchInput, derive_state
from l2.errors import L2Error
from l2.preset import get_preset
from l2.profile import OPTIMISTIC, Profile, get_preset_profile
from l2.state import Account, L2State, create_genesis_state
from l2.tx import L1Deposit, compute_withdrawal_hash
from sequencer.crash import DataDirLock

__all__ = [
    "FOLLOWER_FILE",
    "FollowedBatch",
    "FollowedWithdrawal",
    "Follower",
    "FollowerSettings",
    "run_follower",
]

log = logging.getLogger("sequencer.follower")

FOLLOWER_FILE: Final = "follower.json"
FILE_VERSION: Final = 1
#: JSON-RPC error codes of ``get_blob`` (l1/node/rpc.py).
BLOB_NOT_FOUND: Final = -1201
BLOB_PRUNED: Final = -1202


def _hx(value: bytes | None) -> str | None:
    return None if value is None else "0x" + value.hex()


def _unhex(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


@dataclass(frozen=True, slots=True)
class FollowerSettings:
    l1_url: str
    rollup_id: bytes
    data_dir: Path
    #: First L1 block scanned when there is no persisted progress (the rollup's creation must be
    #: at or after it).
    from_block: int = 0
    poll_interval: float = 1.0
    #: Genesis account sets tried in order; the one whose root is the rollup's genesis root on
    #: L1 wins (the L1 records only the root).
    genesis_candidates: tuple[tuple[str, tuple[Account, ...]], ...] = (("empty", ()),)
    fee_account: int = 0
    #: Blocks scanned per RPC round.
    scan_chunk: int = 64
    #: Processed block hashes kept for reorg detection (the deepest reorg followed).
    history_blocks: int = 256


@dataclass(frozen=True, slots=True)
class FollowedWithdrawal:
    position: int
    tx_hash: bytes
    from_index: int
    nonce: int
    l1_recipient: bytes
    amount: int
    hash: bytes


@dataclass(slots=True)
class FollowedBatch:
    """A batch as derived from L1: the commitment the proposer posted and what its data derives
    to."""

    number: int
    commitment: BatchCommitment
    block_number: int
    block_hash: bytes
    l1_tx_hash: bytes
    pre_root: bytes
    derived_root: bytes
    #: Derived transaction count (records applied, valid or not).
    tx_count: int
    first_soft_index: int
    #: L2 hash of each applied record (None where the record was invalid).
    tx_hashes: tuple[bytes | None, ...]
    findings: tuple[tuple[str, str], ...]
    withdrawals: tuple[FollowedWithdrawal, ...]
    #: The state after this batch (None once pruned: final and superseded).
    state: L2State | None
    #: The L1 block of the RevertBatches that removed this batch (None: not reverted).
    reverted_at: int | None = None
    #: The L1 block of the FinalizeBatch that made this batch final (None: not final yet).
    finalized_at: int | None = None

    @property
    def last_soft_index(self) -> int:
        return self.first_soft_index + self.tx_count - 1


@dataclass(slots=True)
class _Chain:
    """Everything the follower knows; replaced wholesale on restore."""

    next_block: int
    params: RollupState | None = None
    creation_block: int | None = None
    genesis_name: str | None = None
    hashes: dict[int, bytes] = field(default_factory=dict)
    #: Deposit queue index -> (entry, L1 block it was absorbed in).
    deposits: dict[int, tuple[L1Deposit, int]] = field(default_factory=dict)
    batches: list[FollowedBatch] = field(default_factory=list)
    #: Batches a RevertBatches removed (``reverted_at`` set), in the order they were removed.
    reverted: list[FollowedBatch] = field(default_factory=list)
    #: The rollup state's ``next_final_batch`` after the last rollup transaction processed.
    final_batches: int = 0


class _Unavailable(Exception):
    def __init__(self, info: dict[str, Any]) -> None:
        super().__init__(info["message"])
        self.info = info


class Follower:
    """The derivation loop and its state; thread-safe reads for the HTTP app."""

    def __init__(self, settings: FollowerSettings) -> None:
        self.settings = settings
        self.rollup_id = settings.rollup_id
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._dir_lock: DataDirLock | None = None
        self.client = L1Client(settings.l1_url, timeout=15.0)
        self._l1: RollupL1 | None = None
        self.chain = _Chain(settings.from_block)
        self.config: RollupConfig | None = None
        self.genesis: L2State | None = None
        self.tip: int | None = None
        self.blob_retention: int | None = None
        #: A problem that stops derivation until an operator acts (wrong genesis, ...).
        self.error: str | None = None
        #: The last transient problem (L1 unreachable, ...); cleared by the next good poll.
        self.poll_error: str | None = None
        self.unavailable: dict[str, Any] | None = None
        #: SubmitBatch transactions whose batch cell does not decode.
        self.undecodable: list[dict[str, Any]] = []
        self.last_reorg: dict[str, Any] | None = None
        self.resumed: dict[str, Any] | None = None
        self.counters: dict[str, int] = {
            "polls": 0,
            "blocks_scanned": 0,
            "batches_derived": 0,
            "batches_dropped": 0,
            "reorgs": 0,
            "snapshots_written": 0,
        }

    # ------------------------------------------------------------------ life cycle
    @property
    def snapshot_path(self) -> Path:
        return self.settings.data_dir / FOLLOWER_FILE

    def open(self) -> Follower:
        self._dir_lock = DataDirLock(self.settings.data_dir / "follower.lock").acquire()
        try:
            if self.snapshot_path.exists():
                try:
                    self._restore(json.loads(self.snapshot_path.read_text()))
                except (KeyError, TypeError, IndexError, L2Error, InvalidRollupEncoding) as exc:
                    raise ValueError(
                        f"{self.snapshot_path} is not a follower snapshot ({exc!r}); move it "
                        "away to re-derive from L1"
                    ) from None
        except BaseException:
            self._dir_lock.release()
            self._dir_lock = None
            raise
        return self

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="follower", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
        self.client.close()
        if self._dir_lock is not None:
            self._dir_lock.release()
            self._dir_lock = None

    def _run(self) -> None:
        while not self._stop.is_set():
            busy = False
            try:
                busy = self.poll_once()
                self.poll_error = None
            except (httpx.HTTPError, L1RpcError, OSError) as exc:
                self.poll_error = f"{type(exc).__name__}: {exc}"
                log.warning("poll failed: %s", self.poll_error)
            except Exception as exc:  # the loop never dies; the status says what happened
                self.poll_error = f"{type(exc).__name__}: {exc}"
                log.exception("poll failed")
            if not busy:
                self._stop.wait(self.settings.poll_interval)

    # ------------------------------------------------------------------ one poll
    def _rollup_l1(self) -> RollupL1:
        if self._l1 is None:
            self._l1 = RollupL1(self.client)
        return self._l1

    def _node_hash(self, number: int) -> bytes | None:
        result = self.client.call("get_block_hash", hex(number))
        return None if result is None else _unhex(result)

    def poll_once(self) -> bool:
        """One round: reorg check, then scan and derive up to ``scan_chunk`` blocks.  Returns
        True if more blocks are waiting (poll again at once)."""
        self.counters["polls"] += 1
        l1 = self._rollup_l1()
        if self.blob_retention is None:
            consensus = self.client.call("get_consensus")
            value = consensus.get("blob_retention_blocks")
            self.blob_retention = int(value, 16) if isinstance(value, str) else 0
        tip = self.client.get_tip_block_number()
        self.tip = tip
        if self.error is not None:
            return False
        if self._check_reorg():
            return True
        start = self.chain.next_block
        if start > tip:
            return False
        end = min(tip, start + self.settings.scan_chunk - 1)
        before = self._node_hash(end)
        scan = l1.scan(self.rollup_id, start, end)
        hashes = {n: self._node_hash(n) for n in range(start, end + 1)}
        parent_ok = start == 0 or start - 1 not in self.chain.hashes
        if not parent_ok:
            parent_ok = self._node_hash(start - 1) == self.chain.hashes[start - 1]
        if before is None or hashes[end] != before or not parent_ok:
            return True  # the chain moved under the scan: the next round sorts it out
        self._apply_scan(l1, scan, {n: h for n, h in hashes.items() if h is not None})
        return self.chain.next_block <= tip and self.error is None and self.unavailable is None

    def _check_reorg(self) -> bool:
        """Roll back to the fork point if a processed block left the canonical chain."""
        chain = self.chain
        last = chain.next_block - 1
        if last not in chain.hashes or self._node_hash(last) == chain.hashes[last]:
            return False
        fork: int | None = None
        for number in sorted(chain.hashes, reverse=True):
            if self._node_hash(number) == chain.hashes[number]:
                fork = number
                break
        if fork is None:
            with self._lock:
                self.error = (
                    f"an L1 reorg deeper than the {len(chain.hashes)} block hashes kept "
                    f"(below block {min(chain.hashes)}); restart with an empty data dir"
                )
            return False
        self._rollback(fork)
        return True

    def _rollback(self, fork: int) -> None:
        chain = self.chain
        # A revert after the fork is undone: its batches (if posted before the fork) come back.
        restored = [
            b
            for b in chain.reverted
            if b.reverted_at is not None and b.reverted_at > fork and b.block_number <= fork
        ]
        reverted = [
            b for b in chain.reverted if b.reverted_at is not None and b.reverted_at <= fork
        ]
        for batch in restored:
            batch.reverted_at = None
        for batch in chain.batches + restored:
            if batch.finalized_at is not None and batch.finalized_at > fork:
                batch.finalized_at = None
        valid = sorted(chain.batches + restored, key=lambda b: b.number)
        kept = [b for b in valid if b.block_number <= fork]
        dropped = [b for b in chain.batches if b.block_number > fork]
        if kept and kept[-1].state is None:
            with self._lock:
                self.error = f"no snapshot to re-derive from after batch {kept[-1].number}"
            return
        new = _Chain(
            next_block=fork + 1,
            params=chain.params,
            creation_block=chain.creation_block,
            genesis_name=chain.genesis_name,
            hashes={n: h for n, h in chain.hashes.items() if n <= fork},
            deposits={i: d for i, d in chain.deposits.items() if d[1] <= fork},
            batches=kept,
            reverted=reverted,
            final_batches=sum(1 for b in kept if b.finalized_at is not None),
        )
        if chain.creation_block is not None and chain.creation_block > fork:
            new.params, new.creation_block, new.genesis_name = None, None, None
        with self._lock:
            self.chain = new
            if new.params is None:
                self.config, self.genesis = None, None
            self.unavailable = None
            self.undecodable = [u for u in self.undecodable if u["l1_block_number"] <= fork]
            self.counters["reorgs"] += 1
            self.counters["batches_dropped"] += len(dropped)
            self.last_reorg = {
                "fork_block": fork,
                "dropped_batches": [b.number for b in dropped],
                "at": time.time(),
            }
        log.warning(
            "L1 reorg: fork at block %d, dropped batches %s", fork, [b.number for b in dropped]
        )
        self._persist()

    def _fetch_blobs(self, l1: RollupL1, seen: RollupTxSeen, number: int) -> tuple[bytes, ...]:
        assert seen.commitment is not None
        blobs = []
        for versioned_hash in seen.commitment.blob_versioned_hashes:
            try:
                blobs.append(l1.get_blob(versioned_hash))
            except L1RpcError as exc:
                if exc.code not in (BLOB_NOT_FOUND, BLOB_PRUNED):
                    raise
                reason = "pruned" if exc.code == BLOB_PRUNED else "not_found"
                raise _Unavailable(
                    {
                        "batch": number,
                        "l1_block_number": seen.block_number,
                        "l1_tx_hash": _hx(seen.tx_hash),
                        "versioned_hash": _hx(versioned_hash),
                        "reason": reason,
                        "message": exc.message,
                        "since": time.time(),
                    }
                ) from None
        return tuple(blobs)

    def _setup_rollup(self, seen: RollupTxSeen) -> None:
        """The creation transaction: the rollup's parameters and genesis."""
        state = seen.state
        try:
            preset = get_preset(state.l2_preset)
            config = RollupConfig(
                state.chain_id,
                self.rollup_id,
                self.settings.fee_account,
                preset,
                get_preset_profile(preset),
            )
        except Exception as exc:
            self.error = f"cannot follow this rollup: {exc}"
            return
        for name, accounts in self.settings.genesis_candidates:
            try:
                genesis = create_genesis_state(config, accounts)
            except Exception:
                continue
            if genesis.get_root() == state.state_root:
                self.chain.params = state
                self.chain.creation_block = seen.block_number
                self.chain.genesis_name = name
                self.config, self.genesis = config, genesis
                return
        tried = ", ".join(name for name, _ in self.settings.genesis_candidates)
        self.error = (
            f"the rollup's genesis root {state.state_root.hex()} matches none of the genesis "
            f"account sets tried ({tried}); pass --genesis-accounts"
        )

    def _apply_scan(self, l1: RollupL1, scan: ScanResult, hashes: dict[int, bytes]) -> None:
        chain = self.chain
        deposits = dict(chain.deposits)
        staged: list[tuple[RollupTxSeen, BatchInput]] = []
        undecodable: list[dict[str, Any]] = []
        #: (L1 block, k, batches staged before it) of each RevertBatches(k), and (L1 block,
        #: next final batch) of each rollup transaction, in L1 order.
        reverts: list[tuple[int, int, int]] = []
        #: (L1 block, batch number) of each FinalizeBatch.
        finalized: list[tuple[int, int]] = []
        finals: list[tuple[int, int]] = []
        done_to = scan.to_block
        unavailable: dict[str, Any] | None = None
        for seen in scan.rollup_txs:
            if seen.prev_state is None:  # the creation
                if chain.params is None:
                    self._setup_rollup(seen)
                    if self.error is not None:
                        done_to = seen.block_number - 1
                        break
                continue
            if chain.params is None:
                self.error = (
                    f"rollup transaction at block {seen.block_number} before its creation was "
                    f"seen: the scan started at block {self.settings.from_block}, after the "
                    "rollup's creation, and the data dir has no snapshot to resume from"
                )
                done_to = seen.block_number - 1
                break
            mine = ScanResult(scan.rollup_id, seen.block_number, seen.block_number, (seen,))
            absorbed = {d.deposit_index: (d, seen.block_number) for d in derive_l1_deposits(mine)}
            finals.append((seen.block_number, seen.state.next_final_batch))
            if (
                isinstance(seen.action, FinalizeBatch | SubmitProvenBatch)
                and seen.batch_number is not None
            ):
                # A proven batch (validity mode) is final in the block that posts it.
                finalized.append((seen.block_number, seen.batch_number))
            if isinstance(seen.action, RevertBatches):
                reverts.append((seen.block_number, seen.action.batch_number, len(staged)))
                continue
            if isinstance(seen.action, SubmitBatch | SubmitProvenBatch):
                number = seen.prev_state.next_batch_number
                if seen.commitment is None:
                    undecodable.append(
                        {
                            "batch": number,
                            "kind": "invalid_commitment",
                            "message": "the batch cell's data is not a batch commitment",
                            "l1_block_number": seen.block_number,
                            "l1_tx_hash": _hx(seen.tx_hash),
                        }
                    )
                    deposits.update(absorbed)
                    continue
                try:
                    blobs = self._fetch_blobs(l1, seen, number)
                except _Unavailable as exc:
                    unavailable = exc.info
                    done_to = seen.block_number - 1
                    break
                deposits.update(absorbed)
                consumed_from = seen.prev_state.next_deposit_index
                queue = tuple(d for i, (d, _b) in sorted(deposits.items()) if i >= consumed_from)
                staged.append((seen, BatchInput(seen.commitment, blobs, queue)))
            else:
                deposits.update(absorbed)
        # Only what is at or before ``done_to`` counts (the rest is scanned again next round);
        # a revert removes the batches >= k staged before it (in L1 order) and derived earlier.
        applied = [(block, k, at) for block, k, at in reverts if block <= done_to]
        staged = [
            (s, i)
            for position, (s, i) in enumerate(staged)
            if s.block_number <= done_to
            and not any(i.commitment.batch_number >= k and position < at for _b, k, at in applied)
        ]
        cut = min((k for _block, k, _at in applied), default=None)
        if cut is not None and cut < len(chain.batches):
            base = chain.batches[cut - 1] if cut > 0 else None
            if base is not None and base.state is None:
                with self._lock:
                    self.error = f"no snapshot to re-derive from after batch {base.number}"
                return
            with self._lock:
                removed = chain.batches[cut:]
                del chain.batches[cut:]
                for batch in removed:
                    batch.reverted_at = next(b for b, k, _at in applied if k <= batch.number)
                chain.reverted.extend(removed)
                self.counters["batches_dropped"] += len(removed)
            log.warning("L1 reverted batches %s", [b.number for b in removed])
        new_batches = self._derive(staged, hashes) if staged else []
        with self._lock:
            chain.batches.extend(new_batches)
            by_number = {b.number: b for b in chain.batches}
            for block, number in finalized:
                if block <= done_to and number in by_number:
                    by_number[number].finalized_at = block
            final = [f for block, f in finals if block <= done_to]
            if final:
                chain.final_batches = final[-1]
            chain.deposits = {i: d for i, d in deposits.items() if d[1] <= done_to}
            chain.hashes.update({n: h for n, h in hashes.items() if n <= done_to})
            floor = done_to - self.settings.history_blocks
            chain.hashes = {n: h for n, h in chain.hashes.items() if n > floor}
            chain.next_block = max(chain.next_block, done_to + 1)
            self.unavailable = unavailable
            self.undecodable.extend(undecodable)
            self.counters["blocks_scanned"] += max(done_to - scan.from_block + 1, 0)
            self.counters["batches_derived"] += len(new_batches)
            self._prune_snapshots()
        if unavailable is not None:
            log.warning("batch %s: data unavailable: %s", unavailable["batch"], unavailable)
        if done_to >= scan.from_block or new_batches or applied:
            self._persist()

    def _derive(
        self, staged: Sequence[tuple[RollupTxSeen, BatchInput]], hashes: dict[int, bytes]
    ) -> list[FollowedBatch]:
        assert self.config is not None
        chain = self.chain
        base = chain.batches[-1].state if chain.batches else self.genesis
        assert base is not None
        first = len(chain.batches)
        soft = chain.batches[-1].last_soft_index + 1 if chain.batches else 0
        derivation = derive_state(
            base, [i for _s, i in staged], self.config, first_batch_number=first
        )
        out = []
        for offset, ((seen, batch_input), derived) in enumerate(
            zip(staged, derivation.batches, strict=True)
        ):
            result = derived.result
            withdrawals = []
            for position, receipt in enumerate(result.receipts):
                if receipt is not None and receipt.withdrawal is not None:
                    w = receipt.withdrawal
                    withdrawals.append(
                        FollowedWithdrawal(
                            position,
                            receipt.tx_hash,
                            w.from_index,
                            w.nonce,
                            w.l1_recipient,
                            w.amount,
                            compute_withdrawal_hash(w, self.config),
                        )
                    )
            position_after, state = derivation.snapshots[offset + 1]
            assert position_after == offset + 1
            batch = FollowedBatch(
                number=first + offset,
                commitment=batch_input.commitment,
                block_number=seen.block_number,
                block_hash=hashes[seen.block_number],
                l1_tx_hash=seen.tx_hash,
                pre_root=result.pre_root,
                derived_root=result.post_root,
                tx_count=result.tx_count,
                first_soft_index=soft,
                tx_hashes=tuple(None if r is None else r.tx_hash for r in result.receipts),
                findings=tuple((str(f.kind), f.message) for f in derived.findings),
                withdrawals=tuple(withdrawals),
                state=state,
            )
            soft += result.tx_count
            if batch.findings:
                log.warning("batch %d: fraud findings %s", batch.number, batch.findings)
            out.append(batch)
        return out

    def _prune_snapshots(self) -> None:
        """Keep the snapshots a reorg within the kept block hashes or a revert can need: every
        batch after the history floor, plus the newest one at or below it, and every batch from
        the last final one on (a revert of the first non-final batch restarts from there)."""
        if not self.chain.hashes:
            return
        floor = min(self.chain.hashes)
        batches = self.chain.batches
        anchor = max((i for i, b in enumerate(batches) if b.block_number < floor), default=-1)
        keep_from = min(max(anchor, 0), max(self.chain.final_batches - 1, 0))
        for batch in batches[:keep_from]:
            batch.state = None

    # ------------------------------------------------------------------ persistence
    def _persist(self) -> None:
        with self._lock:
            data = self._to_json()
        path = self.snapshot_path
        tmp = path.with_suffix(".tmp")
        with tmp.open("w") as handle:
            json.dump(data, handle, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        self.counters["snapshots_written"] += 1

    def _to_json(self) -> dict[str, Any]:
        chain = self.chain
        return {
            "version": FILE_VERSION,
            "rollup_id": self.rollup_id.hex(),
            "fee_account": self.settings.fee_account,
            "next_block": chain.next_block,
            "params": None if chain.params is None else chain.params.encode().hex(),
            "creation_block": chain.creation_block,
            "genesis_name": chain.genesis_name,
            "genesis": None if self.genesis is None else self.genesis.encode().hex(),
            "hashes": {str(n): h.hex() for n, h in chain.hashes.items()},
            "deposits": [
                [d.deposit_index, d.out_point.hex(), d.public_key.hex(), d.amount, block]
                for d, block in chain.deposits.values()
            ],
            "batches": [_batch_to_json(b) for b in chain.batches],
            "reverted": [_batch_to_json(b) for b in chain.reverted],
            "final_batches": chain.final_batches,
            "undecodable": self.undecodable,
        }

    def _restore(self, data: dict[str, Any]) -> None:
        if data.get("version") != FILE_VERSION:
            raise ValueError(f"{self.snapshot_path}: unknown follower file version")
        if data["rollup_id"] != self.rollup_id.hex():
            raise ValueError(
                f"{self.snapshot_path} follows rollup 0x{data['rollup_id']}, not "
                f"0x{self.rollup_id.hex()}"
            )
        if data["fee_account"] != self.settings.fee_account:
            raise ValueError(f"{self.snapshot_path} was derived with another fee account")
        chain = _Chain(data["next_block"])
        if data["params"] is not None:
            chain.params = RollupState.decode(_unhex(data["params"]))
            chain.creation_block = data["creation_block"]
            chain.genesis_name = data["genesis_name"]
            preset = get_preset(chain.params.l2_preset)
            self.config = RollupConfig(
                chain.params.chain_id,
                self.rollup_id,
                self.settings.fee_account,
                preset,
                get_preset_profile(preset),
            )
            self.genesis = L2State.decode(_unhex(data["genesis"]), self.config.profile)
        chain.hashes = {int(n): _unhex(h) for n, h in data["hashes"].items()}
        for index, out_point, public_key, amount, block in data["deposits"]:
            deposit = L1Deposit(_unhex(out_point), index, _unhex(public_key), amount)
            chain.deposits[index] = (deposit, block)
        # Batches exist only once the creation (params) was seen; the profile is the preset's.
        profile = OPTIMISTIC if self.config is None else self.config.profile
        chain.batches = [_batch_from_json(b, profile) for b in data["batches"]]
        chain.reverted = [_batch_from_json(b, profile) for b in data.get("reverted", [])]
        chain.final_batches = int(data.get("final_batches", 0))
        self.undecodable = list(data.get("undecodable", []))
        self.chain = chain
        self.resumed = {
            "from_block": chain.next_block,
            "batches": len(chain.batches),
            "snapshot": str(self.snapshot_path),
        }
        log.info("resumed at block %d with %d batches", chain.next_block, len(chain.batches))

    # ------------------------------------------------------------------ reads (the app)
    def head_state(self) -> L2State | None:
        with self._lock:
            if self.chain.batches:
                return self.chain.batches[-1].state
            return self.genesis

    def batch_status(self, batch: FollowedBatch) -> str:
        """``reverted`` once a RevertBatches removed it, ``final`` once FinalizeBatch made it
        final on L1 (its FinalizeBatch was processed), else ``safe`` (in the canonical chain,
        not reverted)."""
        if batch.reverted_at is not None:
            return "reverted"
        if batch.finalized_at is not None:
            return "final"
        return "safe"

    def findings(self) -> list[dict[str, Any]]:
        with self._lock:
            out = []
            for batch in self.chain.batches:
                for kind, message in batch.findings:
                    out.append(
                        {
                            "batch": batch.number,
                            "kind": kind,
                            "message": message,
                            "claimed_root": _hx(batch.commitment.new_root),
                            "derived_root": _hx(batch.derived_root),
                            "l1_block_number": batch.block_number,
                            "l1_tx_hash": _hx(batch.l1_tx_hash),
                        }
                    )
            return out + list(self.undecodable)


def _batch_to_json(batch: FollowedBatch) -> dict[str, Any]:
    return {
        "number": batch.number,
        "commitment": batch.commitment.serialize().hex(),
        "block_number": batch.block_number,
        "block_hash": batch.block_hash.hex(),
        "l1_tx_hash": batch.l1_tx_hash.hex(),
        "pre_root": batch.pre_root.hex(),
        "derived_root": batch.derived_root.hex(),
        "tx_count": batch.tx_count,
        "first_soft_index": batch.first_soft_index,
        "tx_hashes": [None if h is None else h.hex() for h in batch.tx_hashes],
        "findings": [list(f) for f in batch.findings],
        "withdrawals": [
            [w.position, w.tx_hash.hex(), w.from_index, w.nonce, w.l1_recipient.hex(), w.amount]
            + [w.hash.hex()]
            for w in batch.withdrawals
        ],
        "state": None if batch.state is None else batch.state.encode().hex(),
        "reverted_at": batch.reverted_at,
        "finalized_at": batch.finalized_at,
    }


def _batch_from_json(data: dict[str, Any], profile: Profile) -> FollowedBatch:
    return FollowedBatch(
        number=data["number"],
        commitment=BatchCommitment.deserialize(_unhex(data["commitment"])),
        block_number=data["block_number"],
        block_hash=_unhex(data["block_hash"]),
        l1_tx_hash=_unhex(data["l1_tx_hash"]),
        pre_root=_unhex(data["pre_root"]),
        derived_root=_unhex(data["derived_root"]),
        tx_count=data["tx_count"],
        first_soft_index=data["first_soft_index"],
        tx_hashes=tuple(None if h is None else _unhex(h) for h in data["tx_hashes"]),
        findings=tuple((k, m) for k, m in data["findings"]),
        withdrawals=tuple(
            FollowedWithdrawal(p, _unhex(t), f, n, _unhex(r), a, _unhex(h))
            for p, t, f, n, r, a, h in data["withdrawals"]
        ),
        state=None if data["state"] is None else L2State.decode(_unhex(data["state"]), profile),
        reverted_at=data.get("reverted_at"),
        finalized_at=data.get("finalized_at"),
    )


# ----------------------------------------------------------------------------- entry point
def run_follower(
    *,
    l1_url: str,
    rollup_id: str,
    data_dir: Path,
    from_block: int = 0,
    host: str = "127.0.0.1",
    port: int = 8210,
    poll_interval: float = 1.0,
    genesis_accounts: str | None = None,
    fee_account: int = 0,
    log_level: str = "info",
    log_format: str = "text",
) -> int:
    """``python -m sequencer --follow``: derive from L1 and serve the read API.  Returns the
    process exit code (2: bad configuration)."""

    from l1.logs import announce, configure_logging, serve
    from sequencer.config import load_genesis_accounts
    from sequencer.errors import StartupError
    from sequencer.follower_app import create_follower_app

    try:
        configure_logging(log_level, log_format)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    try:
        raw_id = bytes.fromhex(rollup_id.removeprefix("0x"))
        if len(raw_id) != 32:
            raise ValueError(f"--rollup-id must be 32 bytes, got {len(raw_id)}")
        if from_block < 0:
            raise ValueError("--from-block must be non-negative")
        if genesis_accounts is None:
            candidates: tuple[tuple[str, tuple[Account, ...]], ...] = (
                ("empty", ()),
                ("devnet", tuple(load_genesis_accounts("devnet"))),
            )
        else:
            candidates = ((genesis_accounts, tuple(load_genesis_accounts(genesis_accounts))),)
        settings = FollowerSettings(
            l1_url=l1_url,
            rollup_id=raw_id,
            data_dir=data_dir,
            from_block=from_block,
            poll_interval=poll_interval,
            genesis_candidates=candidates,
            fee_account=fee_account,
        )
        follower = Follower(settings).open()
    except (ValueError, StartupError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    announce(
        log,
        f"follower on http://{host}:{port} (L1 {l1_url}, rollup 0x{raw_id.hex()}, data dir "
        f"{data_dir}, resuming at block {follower.chain.next_block})",
        log_format,
    )
    try:
        serve(create_follower_app(follower), host, port, log_level)
    finally:
        follower.close()
    return 0
