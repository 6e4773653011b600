"""The soft state: transactions executed at submission with the pure STF (DESIGN.md §3 heads).

``SoftExecutor`` owns two states: ``state`` (soft head: every executed transaction) and ``base``
(the state after the last sealed batch).  Executed transactions that no batch holds yet wait in
``unbatched``, in execution order; a batch is always a prefix of them, re-applied from ``base``
with ``l2.stf.apply_batch`` (as records, exactly as a deriver will), so the sealed trace is the
derivation trace by construction and the soft post-roots are checked against it.

No I/O here: the service persists what this computes, and rebuilds it on restart with
``restore`` (a batch snapshot, then a replay of the soft transactions after it).

L1 deposits (``sequencer.l1watch``) are soft transactions like any other (``DepositEntry``):
``deposits`` is the L1 deposit queue by index, passed to every application of the STF.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from l2.config import RollupConfig
from l2.state import L2State
from l2.stf import BatchResult, Receipt, apply_batch, apply_transaction
from l2.tx import Deposit, L1Deposit, Transaction
from sequencer.entries import TxEntry
from sequencer.errors import StartupError

__all__ = ["BatchCut", "DepositEntry", "Executed", "SoftEntry", "SoftExecutor"]


@dataclass(slots=True)
class DepositEntry:
    """An L1 deposit executed as an L2 ``Deposit`` (always ``soft`` once it exists: deposits are
    never queued, replaced or dropped)."""

    hash: bytes
    tx: Deposit
    record: bytes
    status: str
    received_at: float
    soft_index: int | None = None
    post_root: bytes | None = None
    receipt: str | None = None
    error: str | None = None
    replaced_by: bytes | None = None
    batch_number: int | None = None
    position: int | None = None
    #: The L1 deposit cell's serialized out point (36 bytes).
    out_point: bytes = b""

    @property
    def sender(self) -> int:
        return self.tx.to_index

    @property
    def nonce(self) -> int:
        return self.tx.deposit_index

    @property
    def fee(self) -> int:
        return 0


SoftEntry = TxEntry | DepositEntry


@dataclass(frozen=True, slots=True)
class Executed:
    soft_index: int
    receipt: Receipt
    post_root: bytes


@dataclass(frozen=True, slots=True)
class BatchCut:
    """A prefix of the unbatched transactions re-applied from ``base``."""

    generation: int
    first_soft_index: int
    entries: tuple[SoftEntry, ...]
    result: BatchResult
    post_state: L2State


class SoftExecutor:
    def __init__(self, config: RollupConfig, genesis: L2State) -> None:
        self.config = config
        self.genesis_root = genesis.get_root()
        self.state = genesis.copy()
        self.base = genesis.copy()
        #: Soft index of ``unbatched[0]`` (= first index no sealed batch holds).
        self.base_soft_index = 0
        self.next_soft_index = 0
        self.unbatched: list[SoftEntry] = []
        #: The L1 deposit queue by index (what the L1 has made available to the soft state).
        self.deposits: dict[int, L1Deposit] = {}
        #: Bumped by ``restore``: a cut computed before a restore must not be confirmed after.
        self.generation = 0

    # ------------------------------------------------------------------ the STF
    def apply_transaction(self, state: L2State, tx: Transaction) -> Receipt:
        """The one STF every path of the executor uses (a test-only faulty executor,
        ``sequencer.faults.FaultyExecutor``, overrides it and ``apply_records``)."""
        return apply_transaction(state, tx, self.config, self.deposits)

    def apply_records(self, state: L2State, records: Sequence[bytes]) -> BatchResult:
        return apply_batch(state, list(records), self.config, self.deposits)

    # ------------------------------------------------------------------ execution
    def execute(self, tx: Transaction) -> Executed:
        """Apply ``tx`` to the soft state; an ``l2`` error leaves everything unchanged."""
        receipt = self.apply_transaction(self.state, tx)
        executed = Executed(self.next_soft_index, receipt, self.state.get_root())
        self.next_soft_index += 1
        return executed

    def note_unbatched(self, entry: SoftEntry) -> None:
        self.unbatched.append(entry)

    # ------------------------------------------------------------------ batches
    def cut(self, max_txs: int) -> BatchCut | None:
        """Re-apply the first ``max_txs`` unbatched transactions from ``base`` (no mutation of
        the executor).  Raises ``RuntimeError`` if the re-execution disagrees with the soft
        execution -- a bug that must stop the batcher rather than seal a wrong root."""
        entries = tuple(self.unbatched[:max_txs])
        if not entries:
            return None
        post_state = self.base.copy()
        result = self.apply_records(post_state, [e.record for e in entries])
        if result.rejections:
            raise RuntimeError(f"a soft transaction failed on re-execution: {result.rejections[0]}")
        for entry, root in zip(entries, result.roots, strict=True):
            if entry.post_root != root:
                raise RuntimeError(
                    f"soft index {entry.soft_index}: soft root differs from the batch trace"
                )
        return BatchCut(self.generation, self.base_soft_index, entries, result, post_state)

    def confirm(self, cut: BatchCut) -> bool:
        """The cut's batch is durably sealed: advance ``base``.  False if a restore happened in
        between (the restored executor already reflects whatever the store holds)."""
        if cut.generation != self.generation:
            return False
        count = len(cut.entries)
        self.base = cut.post_state
        self.base_soft_index += count
        del self.unbatched[:count]
        return True

    # ------------------------------------------------------------------ restart
    def restore(self, base: L2State, base_soft_index: int, soft: Sequence[SoftEntry]) -> None:
        """Rebuild from a batch snapshot (or genesis) and the soft transactions after it, in
        soft-index order, checking each stored post-root (``StartupError`` on any mismatch)."""
        state = base.copy()
        expected = base_soft_index
        for entry in soft:
            if entry.soft_index != expected:
                raise StartupError(
                    f"soft index {expected} is missing from the store (found {entry.soft_index})"
                )
            try:
                self.apply_transaction(state, entry.tx)
            except Exception as exc:
                raise StartupError(
                    f"stored soft transaction {entry.hash.hex()} no longer applies: {exc}"
                ) from None
            if state.get_root() != entry.post_root:
                raise StartupError(f"soft index {expected}: replayed root differs from the store")
            expected += 1
        self.base = base.copy()
        self.state = state
        self.base_soft_index = base_soft_index
        self.next_soft_index = expected
        self.unbatched = [e for e in soft if e.batch_number is None]
        self.generation += 1

    @property
    def soft_root(self) -> bytes:
        return self.state.get_root()
