"""The rollup's satellite verifiers: deposit, custodian and withdrawal locks, and the batch type.

Each is small on purpose. Deposit and custodian locks defer to the rollup cell: they pass when the
rollup cell is an input, because its ``rollup_state`` type script then accounts for every deposit
and custodian cell of the transaction (``l1.core.scripts.rollup.state``). The withdrawal lock is
the one that stands alone: it lets the owner claim once the batch is final.
"""

from __future__ import annotations

from typing import Final

from l1.ckb.since import Since, SinceFormatError
from l1.core.scripts.base import NativeVerifier, ScriptContext, VerifierFailure
from l1.core.scripts.rollup.common import (
    TxView,
    decode_relative_blocks,
    validate_owner_signature,
)
from l1.core.scripts.rollup.layout import (
    DepositArgs,
    RollupState,
    WithdrawalArgs,
)
from l1.core.scripts.secp256k1 import SECP256K1_CYCLES
from l2.batch import BatchCommitment
from l2.errors import InvalidCommitmentEncoding

__all__ = [
    "DEFER_CYCLES",
    "ROLLUP_BATCH",
    "ROLLUP_BATCH_CYCLES",
    "ROLLUP_CUSTODIAN_LOCK",
    "ROLLUP_DEPOSIT_LOCK",
    "ROLLUP_WITHDRAWAL_LOCK",
    "WITHDRAWAL_LOCK_CYCLES",
]

#: A lock that only finds the rollup cell among the inputs: hashing a few scripts.
DEFER_CYCLES: Final = 100_000
#: Decoding and checking the commitment of each batch cell, plus the deferral.
ROLLUP_BATCH_CYCLES: Final = 200_000
#: A signature check like the default lock's, plus decoding the rollup cell dep and sinces.
WITHDRAWAL_LOCK_CYCLES: Final = SECP256K1_CYCLES + 200_000


# ----------------------------------------------------------------------------- deposit lock
def _run_deposit_lock(context: ScriptContext) -> int:
    """Two paths. (1) The rollup cell of ``rollup_id`` is an input: absorbed by SubmitBatch or
    ForceDeposit, which the rollup type script checks in full. (2) Refund: the deposit was not
    absorbed and the depositor takes it back after the cancel timeout, with the refund key's
    signature; every group input's ``since`` must have the cancel timeout's flags and at least
    its value (the ledger then checks that much time passed since the deposit)."""
    args = DepositArgs.decode(context.args)
    view = TxView(context)
    if view.rollup_input_index(args.rollup_id) is not None:
        return DEFER_CYCLES
    if args.cancel_timeout == 0:
        raise VerifierFailure(
            "deposit has no refund path (cancel timeout 0): only its rollup cell can absorb it"
        )
    try:
        timeout = Since.decode(args.cancel_timeout)
    except SinceFormatError as exc:
        raise VerifierFailure(f"deposit cancel timeout is not a valid since: {exc}") from None
    if not timeout.relative:
        raise VerifierFailure("deposit cancel timeout must be a relative since")
    for index in context.group.input_indices:
        raw = context.tx.raw.inputs[index].since
        try:
            since = Since.decode(raw) if raw else None
        except SinceFormatError:
            since = None
        if (
            since is None
            or not since.relative
            or since.metric is not timeout.metric
            or since.value < timeout.value
        ):
            raise VerifierFailure(
                f"deposit refund of input {index} needs a relative {timeout.metric.name.lower()} "
                f"since >= {timeout.value} (the cancel timeout), got {raw:#x}"
            )
    validate_owner_signature(context, args.refund_lock_args)
    return SECP256K1_CYCLES + DEFER_CYCLES


ROLLUP_DEPOSIT_LOCK: Final = NativeVerifier("rollup_deposit_lock", _run_deposit_lock)


# ----------------------------------------------------------------------------- custodian lock
def _run_custodian_lock(context: ScriptContext) -> int:
    """args = rollup id. Spendable only with the rollup cell as an input: the rollup type script
    decides where custodian capacity goes. The rollup cell itself and batch cells carry this lock
    too, so no one but the rollup's own rules ever moves them."""
    if len(context.args) != 32:
        raise VerifierFailure(f"custodian lock args must be 32 bytes, got {len(context.args)}")
    TxView(context).require_rollup_input(context.args, "a custodian-locked cell")
    return DEFER_CYCLES


ROLLUP_CUSTODIAN_LOCK: Final = NativeVerifier("rollup_custodian_lock", _run_custodian_lock)


# ----------------------------------------------------------------------------- batch type
def _run_batch_type(context: ScriptContext) -> int:
    """args = rollup id. A batch cell is created or consumed only with the rollup cell as an
    input (so no one forges a batch beside the rollup), and its data is a well-formed
    ``BatchCommitment``. Which commitment and what bond is the rollup type script's check."""
    if len(context.args) != 32:
        raise VerifierFailure(f"batch type args must be 32 bytes, got {len(context.args)}")
    TxView(context).require_rollup_input(context.args, "a batch cell")
    for index, data in context.group_outputs():
        try:
            BatchCommitment.deserialize(data)
        except InvalidCommitmentEncoding as exc:
            raise VerifierFailure(
                f"batch output {index} is not a batch commitment: {exc}"
            ) from None
    return ROLLUP_BATCH_CYCLES


ROLLUP_BATCH: Final = NativeVerifier("rollup_batch", _run_batch_type)


# ----------------------------------------------------------------------------- withdrawal lock
def _run_withdrawal_lock(context: ScriptContext) -> int:
    """args = rollup id ‖ batch number ‖ owner lock args. The owner claims once the batch is
    final: the withdrawal cell is created in the batch's own transaction, so a relative
    block-number ``since`` >= the challenge window on it proves the batch has been on L1 that
    long. The window is read from the rollup cell, which must be a cell dep: a dep whose type
    hash is the rollup id can only be the live rollup cell (Type ID singleton)."""
    args = WithdrawalArgs.decode(context.args)
    view = TxView(context)
    dep = view.rollup_cell_dep(args.rollup_id)
    if dep is None:
        raise VerifierFailure(
            f"no cell dep is the rollup cell of rollup {args.rollup_id.hex()[:16]}…: "
            "a claim reads the challenge window from it"
        )
    window = RollupState.decode(dep.data).challenge_window
    for index in context.group.input_indices:
        raw = context.tx.raw.inputs[index].since
        blocks = decode_relative_blocks(raw)
        if blocks is None or blocks < window:
            raise VerifierFailure(
                f"withdrawal input {index} is not final: it needs a relative block-number since "
                f">= the challenge window of {window} blocks, got {raw:#x}"
            )
    validate_owner_signature(context, args.owner_lock_args)
    return WITHDRAWAL_LOCK_CYCLES


ROLLUP_WITHDRAWAL_LOCK: Final = NativeVerifier("rollup_withdrawal_lock", _run_withdrawal_lock)
