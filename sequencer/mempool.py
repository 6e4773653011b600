"""Admission and per-account nonce queues (the sequencer's policy over the pure STF).

Rules (each refusal is a ``Rejected`` with a specific code and message; nothing changes):

- Only transfers and withdrawals come over the API; deposits come from the L1 queue.
- The sender must exist and the signature must be valid *before* anything else is looked at, so
  a malleated or foreign-chain copy of a known transaction is refused, never treated as a
  duplicate (catalogue S1, S3, S5).  Identity is the transaction hash, which excludes the
  signature (docs/protocol.md §4): a valid resubmission of a known live transaction is an
  idempotent success with the same hash and status (S4).
- ``nonce == soft nonce``: executed at once (soft receipt), then the account's queued
  transactions that became executable run in nonce order.
- ``soft nonce < nonce <= soft nonce + max_nonce_gap``: queued as ``pending`` (never executed out
  of order).  Queued transactions are checked statically (accounts exist, withdrawal minimum,
  no u64 overflow); balance is checked when they execute -- if one fails then, it is ``dropped``
  with the STF's reason.
- ``nonce < soft nonce``: "nonce too low" (also for a different payload reusing an executed
  nonce); beyond the gap: "nonce too far ahead".
- Replacement: a different transaction for a queued (sender, nonce) replaces it only with
  ``fee >= ceil(old fee x (100 + bump) / 100)`` and strictly more than the old fee.
- Limits: ``max_pending_per_account`` queued per account (429), ``max_pending_total`` in all;
  when full, a new transaction evicts the cheapest queue tail of another account if it pays
  strictly more, else 429 ("fee order").
- ``min_fee`` is policy (the protocol allows 0).

The mempool is pure: it mutates the executor and its queues and returns the entries whose rows
must be persisted; the service commits them before answering.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from l2.errors import InvalidSignature, L2Error
from l2.state import U64_MAX
from l2.tx import Transaction, Transfer, Withdraw, compute_tx_hash, encode_record
from sequencer.entries import LIVE_STATUSES, TxEntry, receipt_to_json
from sequencer.errors import Rejected, rejection_from_l2
from sequencer.executor import SoftExecutor

__all__ = ["Admission", "Mempool", "MempoolPolicy"]


@dataclass(frozen=True, slots=True)
class MempoolPolicy:
    max_nonce_gap: int = 16
    max_pending_per_account: int = 16
    max_pending_total: int = 10_000
    min_fee: int = 0
    replacement_fee_bump_percent: int = 10


@dataclass(frozen=True, slots=True)
class Admission:
    entry: TxEntry
    #: True when the transaction was already known (idempotent resubmission).
    duplicate: bool = False


@dataclass(slots=True)
class _Queues:
    by_sender: dict[int, dict[int, TxEntry]] = field(default_factory=dict)
    total: int = 0


class Mempool:
    def __init__(
        self,
        executor: SoftExecutor,
        policy: MempoolPolicy,
        lookup: Callable[[bytes], TxEntry | None] = lambda _hash: None,
    ) -> None:
        self.executor = executor
        self.config = executor.config
        self.policy = policy
        #: Finds a transaction the store already holds (by hash).
        self.lookup = lookup
        self._queues = _Queues()
        #: Entries changed since the last ``take_touched`` (to persist, in order).
        self._touched: dict[bytes, TxEntry] = {}

    # ------------------------------------------------------------------ reads
    @property
    def pending_count(self) -> int:
        return self._queues.total

    def get_queued(self, sender: int) -> list[TxEntry]:
        queue = self._queues.by_sender.get(sender, {})
        return [queue[n] for n in sorted(queue)]

    def get_pending_nonce(self, sender: int) -> int | None:
        """The nonce after the account's highest queued one (its soft nonce if none)."""
        account = self.executor.state.get_account(sender)
        if account is None:
            return None
        queue = self._queues.by_sender.get(sender)
        return max(queue) + 1 if queue else account.nonce

    def find(self, tx_hash: bytes) -> TxEntry | None:
        touched = self._touched.get(tx_hash)
        return touched if touched is not None else self.lookup(tx_hash)

    def take_touched(self) -> list[TxEntry]:
        touched = list(self._touched.values())
        self._touched.clear()
        return touched

    def discard_touched(self) -> None:
        self._touched.clear()

    # ------------------------------------------------------------------ admission
    def submit(self, tx: Transaction, now: float) -> Admission:
        if not isinstance(tx, Transfer | Withdraw):
            raise Rejected(
                "deposit_not_accepted", "deposits come from the L1 deposit queue, not the API"
            )
        config = self.config
        profile = config.profile
        if len(tx.signature) != profile.signature_size:
            raise Rejected(
                "non_canonical_transaction",
                f"{profile.name} signatures are {profile.signature_size} bytes, "
                f"got {len(tx.signature)}",
            )
        tx_hash = compute_tx_hash(tx, config)
        state = self.executor.state
        sender = state.get_account(tx.from_index)
        if sender is None:
            raise Rejected(
                "unknown_account",
                f"sender account {tx.from_index} does not exist "
                f"(next free index {state.next_account_index})",
            )
        try:
            profile.validate_signature(sender.public_key, tx_hash, tx.signature)
        except InvalidSignature as exc:
            raise Rejected("invalid_signature", f"account {tx.from_index}: {exc}") from None
        known = self.find(tx_hash)
        if known is not None and known.status in LIVE_STATUSES:
            return Admission(known, duplicate=True)
        if tx.fee < self.policy.min_fee:
            raise Rejected(
                "fee_too_low",
                f"fee {tx.fee} is below the sequencer's minimum {self.policy.min_fee}",
            )
        soft_nonce = sender.nonce
        if tx.nonce < soft_nonce:
            raise Rejected(
                "nonce_too_low",
                f"nonce too low: account {tx.from_index} is at nonce {soft_nonce}, "
                f"tx has {tx.nonce}",
            )
        gap = self.policy.max_nonce_gap
        if tx.nonce > soft_nonce + gap:
            raise Rejected(
                "nonce_too_far_ahead",
                f"nonce too far ahead: account {tx.from_index} is at nonce {soft_nonce}, "
                f"tx has {tx.nonce}; at most {gap} ahead can wait in the queue",
            )
        entry = TxEntry(tx_hash, tx, encode_record(tx), "pending", now)
        if tx.nonce == soft_nonce:
            self._execute(entry)
            self._promote(tx.from_index)
            return Admission(entry)
        self._admit_queued(entry)
        return Admission(entry)

    def _touch(self, entry: TxEntry) -> None:
        self._touched[entry.hash] = entry

    def _execute(self, entry: TxEntry) -> None:
        try:
            executed = self.executor.execute(entry.tx)
        except L2Error as exc:
            raise rejection_from_l2(exc) from None
        entry.status = "soft"
        entry.soft_index = executed.soft_index
        entry.post_root = executed.post_root
        entry.receipt = receipt_to_json(executed.receipt, self.config)
        self.executor.note_unbatched(entry)
        self._touch(entry)

    def _promote(self, sender: int) -> None:
        """Execute the sender's queued transactions that are now next, in nonce order."""
        queue = self._queues.by_sender.get(sender)
        while queue:
            account = self.executor.state.get_account(sender)
            if account is None:
                return
            entry = queue.pop(account.nonce, None)
            if entry is None:
                return
            self._queues.total -= 1
            try:
                self._execute(entry)
            except Rejected as exc:
                entry.status = "dropped"
                entry.error = f"{exc.code}: {exc.message}"
                self._touch(entry)
                return
            finally:
                if not queue:
                    self._queues.by_sender.pop(sender, None)

    def _check_static(self, tx: Transfer | Withdraw) -> None:
        """What can be known about a queued transaction before its turn."""
        state = self.executor.state
        if isinstance(tx, Transfer) and state.get_account(tx.to_index) is None:
            raise Rejected(
                "unknown_account",
                f"recipient account {tx.to_index} does not exist "
                f"(next free index {state.next_account_index})",
            )
        if isinstance(tx, Withdraw) and tx.amount < self.config.preset.min_withdrawal_amount:
            raise Rejected(
                "amount_below_minimum",
                f"withdrawal of {tx.amount} is below the minimum "
                f"{self.config.preset.min_withdrawal_amount} (an L1 cell's capacity)",
            )
        if tx.amount + tx.fee > U64_MAX:
            raise Rejected("amount_overflow", f"amount {tx.amount} + fee {tx.fee} overflows u64")

    def _admit_queued(self, entry: TxEntry) -> None:
        tx = entry.tx
        self._check_static(tx)
        queues = self._queues
        queue = queues.by_sender.get(tx.from_index, {})
        old = queue.get(tx.nonce)
        if old is not None:
            bump = self.policy.replacement_fee_bump_percent
            required = max(-(-old.fee * (100 + bump) // 100), old.fee + 1)
            if tx.fee < required:
                raise Rejected(
                    "replacement_underpriced",
                    f"account {tx.from_index} nonce {tx.nonce} already has pending transaction "
                    f"0x{old.hash.hex()} with fee {old.fee}; a replacement needs fee >= {required}",
                    409,
                )
            old.status = "replaced"
            old.replaced_by = entry.hash
            queue[tx.nonce] = entry
            self._touch(old)
            self._touch(entry)
            return
        if len(queue) >= self.policy.max_pending_per_account:
            raise Rejected(
                "account_queue_full",
                f"account {tx.from_index} already has {len(queue)} pending transactions "
                f"(limit {self.policy.max_pending_per_account})",
                429,
            )
        if queues.total >= self.policy.max_pending_total:
            victim = self._cheapest_tail(exclude=tx.from_index)
            if victim is None or tx.fee <= victim.fee:
                floor = "" if victim is None else f"; a fee above {victim.fee} would evict one"
                raise Rejected(
                    "mempool_full",
                    f"mempool full: {queues.total} pending transactions "
                    f"(limit {self.policy.max_pending_total}){floor}",
                    429,
                )
            self._remove_queued(victim)
            victim.status = "evicted"
            victim.error = f"evicted from a full mempool by 0x{entry.hash.hex()} paying more"
            self._touch(victim)
        queues.by_sender.setdefault(tx.from_index, {})[tx.nonce] = entry
        queues.total += 1
        self._touch(entry)

    def _cheapest_tail(self, exclude: int) -> TxEntry | None:
        tails = [
            queue[max(queue)]
            for sender, queue in self._queues.by_sender.items()
            if queue and sender != exclude
        ]
        return min(tails, key=lambda e: (e.fee, -e.received_at), default=None)

    def _remove_queued(self, entry: TxEntry) -> None:
        queue = self._queues.by_sender[entry.sender]
        del queue[entry.nonce]
        self._queues.total -= 1
        if not queue:
            del self._queues.by_sender[entry.sender]

    # ------------------------------------------------------------------ restart
    def restore(self, pending: Iterable[TxEntry]) -> None:
        """Reload the queues from the store; anything now executable runs (entries touched)."""
        self._queues = _Queues()
        self._touched.clear()
        for entry in pending:
            self._queues.by_sender.setdefault(entry.sender, {})[entry.nonce] = entry
            self._queues.total += 1
        for sender in list(self._queues.by_sender):
            account = self.executor.state.get_account(sender)
            queue = self._queues.by_sender[sender]
            for nonce in [n for n in queue if account is None or n < account.nonce]:
                stale = queue.pop(nonce)
                self._queues.total -= 1
                stale.status = "dropped"
                stale.error = "nonce too low after restart"
                self._touch(stale)
            if not queue:
                del self._queues.by_sender[sender]
                continue
            self._promote(sender)
