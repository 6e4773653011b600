"""The transaction pool: verified transactions waiting for a block.

Policy after CKB's tx-pool (``ckb:tx-pool``): full verification against the tip plus the pool's
own outputs (so chains of unconfirmed transactions work), a minimum fee rate in shannons per
1000 bytes, count and size limits with lowest-fee-rate eviction, conflicts refused unless the new
transaction pays enough to replace (RBF: fee >= replaced fees + min_rbf_rate * size). On every
tip change committed transactions leave, transactions of detached blocks come back, and every
entry is re-verified against the new tip.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from l1.ckb.hashes import compute_header_hash, compute_tx_hash
from l1.ckb.types import OutPoint, Transaction
from l1.core.blobs import BlobSidecar, validate_blob_sidecars
from l1.core.block import OverlayCellProvider
from l1.core.cells import CellMeta
from l1.core.epoch import compute_block_epoch
from l1.core.errors import (
    AlreadyCommitted,
    L1Error,
    PoolConflict,
    PoolDuplicate,
    PoolFeeRateTooLow,
    PoolFull,
)
from l1.core.transaction import TransactionVerdict, TxEnv, verify_transaction
from l1.node.chain import Chain, MainChainHeaders, StoreCellProvider, TipChange

__all__ = ["PoolEntry", "TxPool"]

log = logging.getLogger("l1.pool")

MAX_REJECTED_REMEMBERED = 10_000


@dataclass(frozen=True, slots=True)
class PoolEntry:
    tx: Transaction
    tx_hash: bytes
    fee: int
    size: int
    cycles: int
    time_added_ms: int
    sidecars: tuple[BlobSidecar, ...] = ()

    @property
    def blobs(self) -> tuple[bytes, ...]:
        return tuple(sidecar.blob for sidecar in self.sidecars)

    @property
    def fee_rate(self) -> int:
        """Shannons per 1000 bytes, CKB's unit."""
        return self.fee * 1000 // max(self.size, 1)


class TxPool:
    def __init__(
        self,
        chain: Chain,
        *,
        max_count: int = 20_000,
        max_bytes: int = 180_000_000,
        min_fee_rate: int = 1_000,
        min_rbf_rate: int = 1_500,
    ) -> None:
        self.chain = chain
        self.max_count = max_count
        self.max_bytes = max_bytes
        self.min_fee_rate = min_fee_rate
        self.min_rbf_rate = min_rbf_rate
        self.entries: dict[bytes, PoolEntry] = {}
        self.spent_by: dict[OutPoint, bytes] = {}
        self.rejected: dict[bytes, str] = {}
        self.lock = threading.RLock()
        self.total_bytes = 0
        self.version = 0
        chain.listeners.append(self.on_tip_change)

    # ------------------------------------------------------------------ verification context
    def _env(self) -> TxEnv:
        chain = self.chain
        tip = chain.tip
        context = chain.header_context(tip.hash)
        epoch = compute_block_epoch(
            chain.preset,
            tip.epoch,
            tip.number,
            tip.hash,
            tip.timestamp,
            context.previous_epoch_last_timestamp_ms,
        )
        return TxEnv(
            chain.preset,
            tip.number + 1,
            epoch.epoch_of_block(tip.number + 1),
            context.median_time_ms,
        )

    def _overlay(self, conn: object, exclude: set[bytes] | None = None) -> OverlayCellProvider:
        overlay = OverlayCellProvider(StoreCellProvider(self.chain.store, conn))  # type: ignore[arg-type]
        for tx_hash, entry in self.entries.items():
            if exclude and tx_hash in exclude:
                continue
            for index, (output, data) in enumerate(
                zip(entry.tx.raw.outputs, entry.tx.raw.outputs_data, strict=True)
            ):
                overlay.create(
                    CellMeta(
                        OutPoint(tx_hash, index),
                        output,
                        data,
                        self.chain.tip.number + 1,
                        b"\0" * 32,
                        0,
                        0,
                    )
                )
        return overlay

    def _verify(
        self, tx: Transaction, blobs: tuple[bytes, ...], exclude: set[bytes] | None = None
    ) -> TransactionVerdict:
        with self.chain.store.read() as conn:
            overlay = self._overlay(conn, exclude)
            # Inputs spent by other pool transactions are live for this check; conflicts are
            # resolved by the replacement rule in ``submit``.
            return verify_transaction(
                tx,
                overlay,
                MainChainHeaders(self.chain, self.chain.main),
                self._env(),
                self.chain.registry,
                blobs,
            )

    # ------------------------------------------------------------------ submission
    def submit(
        self, tx: Transaction, sidecars: tuple[BlobSidecar, ...] = (), now_ms: int | None = None
    ) -> PoolEntry:
        """Verify ``tx`` (and its blob sidecars, with their KZG proofs) and add it to the pool."""
        tx_hash = compute_tx_hash(tx)
        validate_blob_sidecars(
            tx.raw.blob_versioned_hashes,
            sidecars,
            self.chain.kzg_settings(),
            self.chain.preset.max_blobs_per_tx,
        )
        blobs = tuple(sidecar.blob for sidecar in sidecars)
        with self.chain.lock, self.lock:
            if tx_hash in self.entries:
                raise PoolDuplicate(f"transaction {tx_hash.hex()} is already in the pool")
            with self.chain.store.read() as conn:
                if self.chain.store.get_transaction_location(conn, tx_hash) is not None:
                    raise AlreadyCommitted(f"transaction {tx_hash.hex()} is already committed")
            conflicts = {
                self.spent_by[i.previous_output]
                for i in tx.raw.inputs
                if i.previous_output in self.spent_by
            }
            replaced = self._with_descendants(conflicts)
            verdict = self._verify(tx, blobs, exclude=replaced)
            entry = PoolEntry(
                tx,
                tx_hash,
                verdict.fee,
                verdict.size,
                verdict.cycles,
                now_ms or _now_ms(),
                sidecars,
            )
            if entry.fee_rate < self.min_fee_rate:
                raise PoolFeeRateTooLow(
                    f"fee rate {entry.fee_rate} shannons/KB is below the minimum {self.min_fee_rate} "
                    f"(fee {entry.fee} for {entry.size} bytes)"
                )
            if replaced:
                replaced_fees = sum(self.entries[h].fee for h in replaced)
                required = replaced_fees + self.min_rbf_rate * entry.size // 1000
                if entry.fee < required:
                    raise PoolConflict(
                        f"an input is already spent by pool transaction {sorted(conflicts)[0].hex()}; "
                        f"replacing it needs a fee of at least {required} shannons, got {entry.fee}"
                    )
            if (
                len(self.entries) - len(replaced) >= self.max_count
                or self.total_bytes + entry.size > self.max_bytes
            ):
                self._evict_for(entry)
            for old in replaced:
                self._remove(old)
            self._add(entry)
            return entry

    def _with_descendants(self, roots: set[bytes]) -> set[bytes]:
        result, stack = set(), list(roots)
        while stack:
            current = stack.pop()
            if current in result or current not in self.entries:
                continue
            result.add(current)
            outputs = len(self.entries[current].tx.raw.outputs)
            for index in range(outputs):
                child = self.spent_by.get(OutPoint(current, index))
                if child is not None:
                    stack.append(child)
        return result

    def _evict_for(self, entry: PoolEntry) -> None:
        lowest = min(self.entries.values(), key=lambda e: e.fee_rate, default=None)
        if lowest is None or lowest.fee_rate >= entry.fee_rate:
            raise PoolFull(
                f"the pool is full ({len(self.entries)} transactions); pay a higher fee rate"
            )
        for tx_hash in self._with_descendants({lowest.tx_hash}):
            self._remove(tx_hash)

    def _add(self, entry: PoolEntry) -> None:
        self.entries[entry.tx_hash] = entry
        self.total_bytes += entry.size
        for cell_input in entry.tx.raw.inputs:
            self.spent_by[cell_input.previous_output] = entry.tx_hash
        self.rejected.pop(entry.tx_hash, None)
        self.version += 1

    def _remove(self, tx_hash: bytes) -> PoolEntry | None:
        entry = self.entries.pop(tx_hash, None)
        if entry is None:
            return None
        self.total_bytes -= entry.size
        for cell_input in entry.tx.raw.inputs:
            if self.spent_by.get(cell_input.previous_output) == tx_hash:
                del self.spent_by[cell_input.previous_output]
        self.version += 1
        return entry

    # ------------------------------------------------------------------ block template
    def candidates(self) -> list[PoolEntry]:
        """Highest fee rate first, every transaction after its in-pool parents."""
        with self.lock:
            ordered = sorted(self.entries.values(), key=lambda e: (-e.fee_rate, e.time_added_ms))
            placed: set[bytes] = set()
            result: list[PoolEntry] = []

            def place(entry: PoolEntry, depth: int = 0) -> None:
                if entry.tx_hash in placed or depth > 64:
                    return
                for cell_input in entry.tx.raw.inputs:
                    parent = self.entries.get(cell_input.previous_output.tx_hash)
                    if parent is not None:
                        place(parent, depth + 1)
                placed.add(entry.tx_hash)
                result.append(entry)

            for entry in ordered:
                place(entry)
            return result

    # ------------------------------------------------------------------ chain updates
    def on_tip_change(self, change: TipChange) -> None:
        with self.lock:
            committed = {
                compute_tx_hash(tx) for block in change.attached for tx in block.transactions
            }
            for tx_hash in committed:
                self._remove(tx_hash)
            returning: list[tuple[Transaction, tuple[BlobSidecar, ...]]] = []
            for block in change.detached:
                block_sidecars = (
                    self.chain.get_sidecars(compute_header_hash(block.header))
                    if self.chain.block_has_blobs(block)
                    else None
                ) or {}
                for tx in block.transactions[1:]:
                    tx_hash = compute_tx_hash(tx)
                    if tx_hash not in committed:
                        returning.append((tx, block_sidecars.get(tx_hash, ())))
            previous = list(self.entries.values())
            self.entries.clear()
            self.spent_by.clear()
            self.total_bytes = 0
            self.version += 1
            for tx, sidecars in returning:
                self._readd(tx, sidecars)
            for entry in previous:
                self._readd(entry.tx, entry.sidecars, entry.time_added_ms)

    def _reject(self, tx_hash: bytes, reason: str) -> None:
        """Remember why a transaction left the pool (bounded: oldest reasons are forgotten)."""
        if len(self.rejected) >= MAX_REJECTED_REMEMBERED:
            self.rejected.pop(next(iter(self.rejected)))
        self.rejected[tx_hash] = reason

    def _readd(
        self, tx: Transaction, sidecars: tuple[BlobSidecar, ...], added: int | None = None
    ) -> None:
        blobs = tuple(sidecar.blob for sidecar in sidecars)
        tx_hash = compute_tx_hash(tx)
        if tx_hash in self.entries:
            return
        if any(i.previous_output in self.spent_by for i in tx.raw.inputs):
            self._reject(tx_hash, "conflicts with another transaction")
            return
        try:
            verdict = self._verify(tx, blobs)
        except L1Error as exc:
            self._reject(tx_hash, f"{type(exc).__name__}: {exc}")
            log.info("pool dropped %s: %s", tx_hash.hex(), exc)
            return
        self._add(
            PoolEntry(
                tx, tx_hash, verdict.fee, verdict.size, verdict.cycles, added or _now_ms(), sidecars
            )
        )


def _now_ms() -> int:
    return int(time.time() * 1000)
