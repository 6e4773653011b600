"""Test-only fault injection: a sequencer that posts a wrong root (issue "disputes"; devnet and
test presets only, like ``ignore-deposits-of``).

A wrong root must come from a *consistent* wrong execution, or the faulty sequencer would trip
over its own checks before the L1 ever saw the batch: the soft state, every batch cut and every
restart replay go through the same faulty STF, so the sequencer really believes its root, builds
its next batches on it, and defends it in the dispute game with its own (wrong) trace. From batch
``from_batch`` on, each transaction is applied by ``apply_faulty_transaction``:

- ``inflate-balance``: the recipient of a transfer or a deposit is credited twice the amount
  (money from nothing);
- ``skip-signature-check``: signatures are not checked (a forged transfer goes through);
- ``wrong-nonce``: a transfer or withdrawal whose nonce is not the account's next one is applied
  anyway, as if it were (a replay);
- ``wrong-fee``: the fee account is credited twice each fee.

Every one of them makes some record's one-step result differ from the sequencer's claim, which
is what the L1's one-step proof exposes. The fault fires once: after the L1 reverts the faulty
batch, the sequencer re-executes honestly (``FaultyExecutor.disarm``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from l2.config import RollupConfig
from l2.errors import InvalidRecord, InvalidTransaction, NonceMismatch
from l2.profile import OptimisticProfile
from l2.state import Account, L2State
from l2.stf import (
    BatchResult,
    Receipt,
    Rejection,
    apply_transaction,
    validate_state_config,
)
from l2.tx import Deposit, L1Deposit, Transaction, Transfer, Withdraw, decode_record, encode_record

__all__ = [
    "WRONG_ROOT",
    "FaultKind",
    "WrongRootFault",
    "apply_faulty_batch",
    "apply_faulty_transaction",
    "parse_wrong_root_fault",
]

#: ``wrong-root KIND [FROM_BATCH]``.
WRONG_ROOT = "wrong-root"


class FaultKind(StrEnum):
    INFLATE_BALANCE = "inflate-balance"
    SKIP_SIGNATURE_CHECK = "skip-signature-check"
    WRONG_NONCE = "wrong-nonce"
    WRONG_FEE = "wrong-fee"


@dataclass(frozen=True, slots=True)
class WrongRootFault:
    kind: FaultKind
    #: The first batch number executed wrongly (earlier batches are honest).
    from_batch: int = 0


def parse_wrong_root_fault(words: Sequence[str]) -> WrongRootFault:
    """``["wrong-root", KIND, FROM_BATCH?]`` -> the fault; ``ValueError`` with the choices."""
    if not words or words[0] != WRONG_ROOT or not 2 <= len(words) <= 3:
        raise ValueError(f"expected '{WRONG_ROOT} KIND [FROM_BATCH]'")
    try:
        kind = FaultKind(words[1])
    except ValueError:
        raise ValueError(
            f"unknown wrong-root kind {words[1]!r}; choose one of {[k.value for k in FaultKind]}"
        ) from None
    from_batch = 0
    if len(words) == 3:
        if not words[2].isdigit():
            raise ValueError(f"FROM_BATCH must be a batch number, got {words[2]!r}")
        from_batch = int(words[2])
    return WrongRootFault(kind, from_batch)


class _AnySignature(OptimisticProfile):
    """The optimistic profile with signature checks skipped (the fault, not a protocol)."""

    __slots__ = ()

    def validate_signature(self, public_key: bytes, message: bytes, signature: bytes) -> None:
        return None


_ANY_SIGNATURE = _AnySignature()


def _credit(state: L2State, index: int, amount: int) -> None:
    account = state.get_account(index)
    if account is not None and amount:
        state.apply_account(
            index,
            Account(
                account.public_key, min(account.balance + amount, (1 << 64) - 1), account.nonce
            ),
        )


def apply_faulty_transaction(
    state: L2State,
    tx: Transaction,
    config: RollupConfig,
    deposits: Mapping[int, L1Deposit],
    kind: FaultKind,
) -> Receipt:
    """What the faulty sequencer's STF does with ``tx`` (see the module docstring); raises what
    the honest STF raises for everything the fault does not cover."""
    if kind is FaultKind.SKIP_SIGNATURE_CHECK:
        return apply_transaction(state, tx, replace(config, profile=_ANY_SIGNATURE), deposits)
    if kind is FaultKind.WRONG_NONCE and isinstance(tx, Transfer | Withdraw):
        try:
            return apply_transaction(state, tx, config, deposits)
        except NonceMismatch:
            sender = state.get_account(tx.from_index)
            if sender is None:
                raise
            replayed = replace(tx, nonce=sender.nonce)
            faulty = replace(config, profile=_ANY_SIGNATURE)
            return apply_transaction(state, replayed, faulty, deposits)
    receipt = apply_transaction(state, tx, config, deposits)
    if kind is FaultKind.INFLATE_BALANCE and isinstance(tx, Transfer | Deposit):
        _credit(state, tx.to_index, tx.amount)
    elif kind is FaultKind.WRONG_FEE and isinstance(tx, Transfer | Withdraw):
        _credit(state, config.fee_account, tx.fee)
    return receipt


def apply_faulty_batch(
    state: L2State,
    records: Sequence[bytes],
    config: RollupConfig,
    deposits: Mapping[int, L1Deposit],
    kind: FaultKind,
) -> BatchResult:
    """``l2.stf.apply_batch`` with the faulty STF: the trace the faulty sequencer claims."""
    validate_state_config(state, config)
    pre_root = state.get_root()
    deposit_start = state.next_deposit_index
    roots: list[bytes] = []
    receipts: list[Receipt | None] = []
    rejections: list[Rejection] = []
    withdrawals = []
    for index, item in enumerate(records):
        record = item if isinstance(item, bytes) else encode_record(item)
        receipt: Receipt | None
        try:
            receipt = apply_faulty_transaction(
                state, decode_record(record, config.profile), config, deposits, kind
            )
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
