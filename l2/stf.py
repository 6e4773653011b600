"""The state transition function (DESIGN.md §3 "STF"; docs/protocol.md §5).

``apply_transaction`` validates completely -- computing every new account value on the side --
and only then writes.  An invalid transaction raises a specific ``InvalidTransaction`` leaf and
leaves the state byte-identical (``L2State.encode``).  One STF serves every profile: hashing and
signatures come from ``config.profile``.

Check order -- after the canonical-size check of keys and signatures -- is the same for the
sequencer, derivation and the one-step verifier, so they agree on *which* error an invalid
transaction has, not just that it is invalid:

- transfer: sender exists, recipient exists, signature, nonce, ``amount + fee`` fits u64,
  balance covers it, fee account exists (if ``fee > 0``), credits fit u64.
- withdraw: sender exists, signature, nonce, ``amount >= preset.min_withdrawal_amount``,
  ``amount + fee`` fits u64, balance, fee account, credit fits.
- deposit: it is the next deposit of the L1 queue, the L1 has it, the record matches it, the key
  is valid, then the account rule: an existing account must have the same key (``AccountExists``
  otherwise), the next free index creates the account (``TreeFull`` past ``2**depth``), any other
  index is ``UnknownAccount``; the credit fits u64.

Policies (docs/protocol.md):

- Self-transfers are allowed: they move nothing, pay the fee and advance the nonce (a user's way
  to cancel a pending transaction).  They still need ``balance >= amount + fee`` so that the
  rule is the same for every transfer.
- Zero-amount transfers and zero fees are valid protocol-wise; minimum fees are sequencer policy.
- Debits happen before credits, so a sender that is also the fee account or the recipient is
  handled without special cases.

Batches: an invalid transaction inside a *posted* batch is a no-op that still takes a trace
position (the root after it equals the root before it), because the dispute game must be able
to prove an invalid transaction's no-op effect with one step (L2 issue, "dispute").  The
sequencer never includes invalid transactions; ``apply_batch`` reports which were invalid and why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from l2.config import RollupConfig
from l2.errors import (
    AccountExists,
    AmountBelowMinimum,
    AmountOverflow,
    BatchTooLarge,
    ConfigMismatch,
    DepositMismatch,
    DepositOutOfOrder,
    InsufficientBalance,
    InvalidRecord,
    InvalidSignature,
    InvalidTransaction,
    L2Error,
    NonCanonicalTransaction,
    NonceMismatch,
    NonceOverflow,
    TreeFull,
    UnknownAccount,
    UnknownDeposit,
)
from l2.state import U32_MAX, U64_MAX, Account, L2State
from l2.tx import (
    Deposit,
    L1Deposit,
    Transaction,
    Transfer,
    TxKind,
    Withdraw,
    Withdrawal,
    compute_signing_message,
    decode_record,
    encode_record,
)

__all__ = [
    "NO_DEPOSITS",
    "BatchResult",
    "Receipt",
    "RecordStep",
    "Rejection",
    "apply_batch",
    "apply_record",
    "apply_transaction",
    "compute_deposit_queue",
    "validate_state_config",
    "validate_transaction",
]

#: The deposit queue when no L1 deposit is available.
NO_DEPOSITS: Final[Mapping[int, L1Deposit]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Receipt:
    """The effect of one applied transaction (the sequencer's "soft" confirmation)."""

    tx_hash: bytes
    kind: TxKind
    #: Fee credited to the fee account (0 for deposits).
    fee: int
    #: The account a deposit created, if it created one.
    created_account: int | None = None
    withdrawal: Withdrawal | None = None


#: ``apply_record``'s shape: what ``apply_batch`` runs for each record.
RecordStep = Callable[[L2State, bytes, RollupConfig, Mapping[int, L1Deposit]], Receipt]


@dataclass(frozen=True, slots=True)
class Rejection:
    """An invalid transaction of a batch: its position, the error class and message."""

    index: int
    error: type[L2Error]
    message: str


@dataclass(frozen=True, slots=True)
class BatchResult:
    """``roots[i]`` is the state root after transaction ``i`` -- the trace a dispute bisects.

    ``receipts[i]`` is ``None`` exactly for the rejected positions."""

    pre_root: bytes
    roots: tuple[bytes, ...]
    receipts: tuple[Receipt | None, ...]
    rejections: tuple[Rejection, ...]
    withdrawals: tuple[Withdrawal, ...]
    #: The deposit queue range consumed: ``[deposit_start, deposit_end)``.
    deposit_start: int
    deposit_end: int

    @property
    def post_root(self) -> bytes:
        return self.roots[-1] if self.roots else self.pre_root

    @property
    def tx_count(self) -> int:
        return len(self.roots)


def compute_deposit_queue(deposits: Sequence[L1Deposit]) -> dict[int, L1Deposit]:
    """Index L1 deposits by queue index (later duplicates of an index are refused)."""
    queue: dict[int, L1Deposit] = {}
    for deposit in deposits:
        if deposit.deposit_index in queue and queue[deposit.deposit_index] != deposit:
            raise DepositMismatch(f"two different L1 deposits claim index {deposit.deposit_index}")
        queue[deposit.deposit_index] = deposit
    return queue


def validate_state_config(state: L2State, config: RollupConfig) -> None:
    """The state must have been built for ``config``'s profile and tree depth."""
    if state.profile.name != config.profile.name:
        raise ConfigMismatch(
            f"state uses profile {state.profile.name!r}, config {config.profile.name!r}"
        )
    if state.depth != config.preset.tree_depth:
        raise ConfigMismatch(
            f"state tree depth is {state.depth}, the preset's is {config.preset.tree_depth}"
        )


# ----------------------------------------------------------------------------- planning
class _Plan:
    """New account values computed on the side; ``commit`` writes them in one go."""

    __slots__ = ("accounts", "consumes_deposit", "state")

    def __init__(self, state: L2State) -> None:
        self.state = state
        self.accounts: dict[int, Account] = {}
        self.consumes_deposit = False

    def get(self, index: int) -> Account | None:
        planned = self.accounts.get(index)
        return planned if planned is not None else self.state.get_account(index)

    def credit(self, index: int, amount: int, what: str) -> None:
        account = self.get(index)
        if account is None:
            raise UnknownAccount(f"{what} account {index} does not exist")
        if account.balance + amount > U64_MAX:
            raise AmountOverflow(
                f"crediting {amount} to {what} account {index} overflows its u64 balance"
            )
        self.accounts[index] = Account(account.public_key, account.balance + amount, account.nonce)

    def commit(self) -> None:
        # Account creation (a deposit) is always a single entry at next_account_index.
        for index, account in self.accounts.items():
            self.state.apply_account(index, account)
        if self.consumes_deposit:
            self.state.apply_deposit_consumed()


def _get_existing(state: L2State, index: int, what: str) -> Account:
    account = state.get_account(index)
    if account is None:
        raise UnknownAccount(
            f"{what} account {index} does not exist (next free index {state.next_account_index})"
        )
    return account


def _validate_signed(
    tx: Transfer | Withdraw, sender: Account, message: bytes, config: RollupConfig
) -> None:
    try:
        config.profile.validate_signature(sender.public_key, message, tx.signature)
    except InvalidSignature as exc:
        raise InvalidSignature(f"account {tx.from_index}: {exc}") from None
    if tx.nonce < sender.nonce:
        raise NonceMismatch(
            f"nonce too low: account {tx.from_index} is at nonce {sender.nonce}, tx has {tx.nonce}"
        )
    if tx.nonce > sender.nonce:
        raise NonceMismatch(
            f"nonce too high: account {tx.from_index} is at nonce {sender.nonce}, tx has {tx.nonce}"
        )
    if sender.nonce == U32_MAX:
        raise NonceOverflow(f"account {tx.from_index} has used every u32 nonce")


def _debit_sender(
    plan: _Plan, tx: Transfer | Withdraw, sender: Account, config: RollupConfig
) -> None:
    total = tx.amount + tx.fee
    if total > U64_MAX:
        raise AmountOverflow(f"amount {tx.amount} + fee {tx.fee} overflows u64")
    if sender.balance < total:
        raise InsufficientBalance(
            f"account {tx.from_index} has {sender.balance}, needs {total} (amount + fee)"
        )
    if tx.fee and plan.get(config.fee_account) is None:
        raise UnknownAccount(f"sequencer fee account {config.fee_account} does not exist")
    plan.accounts[tx.from_index] = Account(
        sender.public_key, sender.balance - total, sender.nonce + 1
    )


def _plan_transfer(state: L2State, tx: Transfer, config: RollupConfig) -> tuple[_Plan, Receipt]:
    sender = _get_existing(state, tx.from_index, "sender")
    _get_existing(state, tx.to_index, "recipient")
    message = compute_signing_message(tx, config)
    _validate_signed(tx, sender, message, config)
    plan = _Plan(state)
    _debit_sender(plan, tx, sender, config)
    plan.credit(tx.to_index, tx.amount, "recipient")
    if tx.fee:
        plan.credit(config.fee_account, tx.fee, "fee")
    return plan, Receipt(message, TxKind.TRANSFER, tx.fee)


def _plan_withdraw(state: L2State, tx: Withdraw, config: RollupConfig) -> tuple[_Plan, Receipt]:
    sender = _get_existing(state, tx.from_index, "sender")
    message = compute_signing_message(tx, config)
    _validate_signed(tx, sender, message, config)
    minimum = config.preset.min_withdrawal_amount
    if tx.amount < minimum:
        raise AmountBelowMinimum(
            f"withdrawal of {tx.amount} is below the minimum {minimum} (an L1 cell's capacity)"
        )
    plan = _Plan(state)
    _debit_sender(plan, tx, sender, config)
    if tx.fee:
        plan.credit(config.fee_account, tx.fee, "fee")
    withdrawal = Withdrawal(tx.from_index, tx.nonce, tx.l1_recipient, tx.amount)
    receipt = Receipt(message, TxKind.WITHDRAW, tx.fee, withdrawal=withdrawal)
    return plan, receipt


def _plan_deposit(
    state: L2State, tx: Deposit, config: RollupConfig, deposits: Mapping[int, L1Deposit]
) -> tuple[_Plan, Receipt]:
    expected = state.next_deposit_index
    if tx.deposit_index != expected:
        raise DepositOutOfOrder(
            f"deposit {tx.deposit_index} but the next deposit to consume is {expected}"
        )
    l1 = deposits.get(tx.deposit_index)
    if l1 is None:
        raise UnknownDeposit(f"the L1 deposit queue has no deposit {tx.deposit_index} (yet)")
    if l1.deposit_index != tx.deposit_index:
        raise DepositMismatch(f"queue entry {tx.deposit_index} is deposit {l1.deposit_index}")
    if l1.amount != tx.amount:
        raise DepositMismatch(
            f"deposit {tx.deposit_index} is {l1.amount}, the record says {tx.amount}"
        )
    if l1.public_key != tx.public_key:
        raise DepositMismatch(f"deposit {tx.deposit_index} is for another public key")
    config.profile.validate_public_key(tx.public_key)
    plan = _Plan(state)
    plan.consumes_deposit = True
    created: int | None = None
    existing = state.get_account(tx.to_index)
    if existing is not None:
        if existing.public_key != tx.public_key:
            raise AccountExists(f"account {tx.to_index} exists with a different public key")
        plan.credit(tx.to_index, tx.amount, "deposit")
    elif tx.to_index == state.next_account_index:
        if tx.to_index >= 1 << state.depth:
            raise TreeFull(f"all {1 << state.depth} account indices are taken")
        plan.accounts[tx.to_index] = Account(tx.public_key, tx.amount, 0)
        created = tx.to_index
    else:
        raise UnknownAccount(
            f"deposit to account {tx.to_index}, but the next free index is "
            f"{state.next_account_index}"
        )
    receipt = Receipt(
        compute_signing_message(tx, config), TxKind.DEPOSIT, 0, created_account=created
    )
    return plan, receipt


def _validate_canonical(tx: Transaction, config: RollupConfig) -> None:
    profile = config.profile
    if isinstance(tx, Deposit):
        if len(tx.public_key) != profile.public_key_size:
            raise NonCanonicalTransaction(
                f"{profile.name} public keys are {profile.public_key_size} bytes, got "
                f"{len(tx.public_key)}; the record would carry a different key"
            )
    elif len(tx.signature) != profile.signature_size:
        raise NonCanonicalTransaction(
            f"{profile.name} signatures are {profile.signature_size} bytes, got "
            f"{len(tx.signature)}; the record would carry a different signature"
        )


def _plan(
    state: L2State, tx: Transaction, config: RollupConfig, deposits: Mapping[int, L1Deposit]
) -> tuple[_Plan, Receipt]:
    validate_state_config(state, config)
    _validate_canonical(tx, config)
    if isinstance(tx, Transfer):
        return _plan_transfer(state, tx, config)
    if isinstance(tx, Withdraw):
        return _plan_withdraw(state, tx, config)
    return _plan_deposit(state, tx, config, deposits)


# ----------------------------------------------------------------------------- public API
def validate_transaction(
    state: L2State,
    tx: Transaction,
    config: RollupConfig,
    deposits: Mapping[int, L1Deposit] = NO_DEPOSITS,
) -> None:
    """Raise what ``apply_transaction`` would raise; never mutates (mempool admission)."""
    _plan(state, tx, config, deposits)


def apply_transaction(
    state: L2State,
    tx: Transaction,
    config: RollupConfig,
    deposits: Mapping[int, L1Deposit] = NO_DEPOSITS,
) -> Receipt:
    """Validate ``tx`` completely against ``state``, then apply it.

    ``deposits`` is the L1 deposit queue by index (what the L1 has made available); only deposit
    transactions read it.  Raises an ``InvalidTransaction`` leaf (state unchanged),
    ``NonCanonicalTransaction`` for a key or signature of the wrong size (whose record would
    mean another transaction), or ``ConfigMismatch`` if ``state`` was built for another profile
    or depth.
    """
    plan, receipt = _plan(state, tx, config, deposits)
    plan.commit()
    return receipt


def apply_record(
    state: L2State,
    record: bytes,
    config: RollupConfig,
    deposits: Mapping[int, L1Deposit] = NO_DEPOSITS,
) -> Receipt:
    """Decode a 124-byte record and apply it: the one step a dispute executes (DESIGN.md §4).

    ``InvalidRecord`` (undecodable bytes) and ``InvalidTransaction`` both leave the state as is.
    """
    return apply_transaction(state, decode_record(record, config.profile), config, deposits)


def apply_batch(
    state: L2State,
    txs: Sequence[Transaction | bytes],
    config: RollupConfig,
    deposits: Mapping[int, L1Deposit] = NO_DEPOSITS,
    *,
    step: RecordStep | None = None,
) -> BatchResult:
    """Apply a batch in order, recording the state root after every position.

    Items are transactions (sequencer side) or raw 124-byte records (derivation side, where a
    record may not even decode); a transaction is applied *as its record*, so the sequencer's
    trace is by construction the one every deriver computes from the posted bytes.  An invalid item is a no-op: its root equals the previous root,
    its receipt is ``None`` and a ``Rejection`` says why.  Raises ``BatchTooLarge`` (nothing
    applied) for more items than ``preset.max_txs_per_batch``.

    ``step`` replaces ``apply_record`` for each item (same signature): only the sequencer's
    test-only faulty executor passes one, to claim the trace of its wrong STF.
    """
    validate_state_config(state, config)
    limit = config.preset.max_txs_per_batch
    if len(txs) > limit:
        raise BatchTooLarge(f"{len(txs)} transactions, more than the preset's {limit}")
    pre_root = state.get_root()
    deposit_start = state.next_deposit_index
    roots: list[bytes] = []
    receipts: list[Receipt | None] = []
    rejections: list[Rejection] = []
    withdrawals: list[Withdrawal] = []
    for index, item in enumerate(txs):
        # Objects go through their record: the batch means exactly the bytes that get posted.
        record = item if isinstance(item, bytes) else encode_record(item)
        try:
            receipt: Receipt | None = (step or apply_record)(state, record, config, deposits)
        except (InvalidRecord, InvalidTransaction) as exc:
            receipt = None
            rejections.append(Rejection(index, type(exc), str(exc)))
        receipts.append(receipt)
        if receipt is not None and receipt.withdrawal is not None:
            withdrawals.append(receipt.withdrawal)
        roots.append(state.get_root())
    return BatchResult(
        pre_root=pre_root,
        roots=tuple(roots),
        receipts=tuple(receipts),
        rejections=tuple(rejections),
        withdrawals=tuple(withdrawals),
        deposit_start=deposit_start,
        deposit_end=state.next_deposit_index,
    )
