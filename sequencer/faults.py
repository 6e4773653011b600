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
from l2.errors import NonceMismatch
from l2.onestep import compute_batch_trace
from l2.profile import OptimisticProfile
from l2.state import Account, L2State
from l2.stf import BatchResult, Receipt, apply_batch, apply_transaction
from l2.tx import Deposit, L1Deposit, Transaction, Transfer, Withdraw, decode_record
from sequencer.executor import SoftExecutor

__all__ = [
    "WRONG_ROOT",
    "FaultKind",
    "FaultyExecutor",
    "WrongRootFault",
    "apply_faulty_batch",
    "apply_faulty_transaction",
    "compute_claimed_trace",
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

    def step(
        state: L2State, record: bytes, config: RollupConfig, deposits: Mapping[int, L1Deposit]
    ) -> Receipt:
        tx = decode_record(record, config.profile)
        return apply_faulty_transaction(state, tx, config, deposits, kind)

    return apply_batch(state, records, config, deposits, step=step)


class FaultyExecutor(SoftExecutor):
    """A ``SoftExecutor`` whose STF is ``apply_faulty_transaction`` while armed.

    Arming happens at a batch boundary (no unbatched transaction), so every record of the batches
    sealed afterwards went through the faulty STF -- soft execution, the cut's re-execution and a
    restart's replay agree, and the sequencer seals the wrong root without tripping its own
    checks. ``disarm`` (after the L1 reverted the wrong batch) makes it honest for good.
    """

    def __init__(self, config: RollupConfig, genesis: L2State, fault: WrongRootFault) -> None:
        super().__init__(config, genesis)
        self.fault = fault
        self.armed = False
        self.spent = False

    def arm_if_due(self, next_batch_number: int) -> bool:
        """Arm once the next batch to seal is ``fault.from_batch`` or later, between batches."""
        if self.armed or self.spent or self.unbatched:
            return False
        if next_batch_number < self.fault.from_batch:
            return False
        self.armed = True
        return True

    def disarm(self) -> None:
        self.armed = False
        self.spent = True

    def apply_transaction(self, state: L2State, tx: Transaction) -> Receipt:
        if not self.armed:
            return super().apply_transaction(state, tx)
        return apply_faulty_transaction(state, tx, self.config, self.deposits, self.fault.kind)

    def apply_records(self, state: L2State, records: Sequence[bytes]) -> BatchResult:
        if not self.armed:
            return super().apply_records(state, records)
        return apply_faulty_batch(state, records, self.config, self.deposits, self.fault.kind)


def compute_claimed_trace(
    evidence_pre_state: L2State,
    records: Sequence[bytes],
    deposits: Sequence[L1Deposit],
    config: RollupConfig,
    fault: WrongRootFault,
) -> tuple[bytes, ...]:
    """The trace the faulty sequencer claims for a batch (what its defender plays)."""
    queue = {d.deposit_index: d for d in deposits}
    result = apply_faulty_batch(evidence_pre_state.copy(), records, config, queue, fault.kind)
    return compute_batch_trace(result, config)
