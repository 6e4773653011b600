"""The rollup's satellite verifiers: deposit, custodian and withdrawal locks, and the batch type.

Each is small on purpose. Deposit and custodian locks defer to the rollup cell: they pass when the
rollup cell is an input, because its ``rollup_state`` type script then accounts for every deposit
and custodian cell of the transaction (``l1.core.scripts.rollup.state``). Batch and game cells
also move without the rollup cell (a challenge, a move, a proposer's win): then the custodian
lock defers to their type scripts, and the batch type to the ``rollup_game`` script, which checks
every such transition (docs/disputes.md §2-§3). The withdrawal lock stands alone: withdrawal
cells are created only once their batch is final -- by FinalizeBatch, or by a validity rollup's
SubmitProvenBatch, whose batch is final in its own transaction -- so the owner's signature is
all a claim needs (no batch cell, no rollup cell, no since).
"""

from __future__ import annotations

from typing import Final

from l1.ckb.since import Since, SinceFormatError
from l1.core.scripts.base import NativeVerifier, ScriptContext, VerifierFailure
from l1.core.scripts.rollup.common import (
    TxView,
    validate_owner_signature,
)
from l1.core.scripts.rollup.layout import (
    ROLLUP_BATCH_CODE,
    ROLLUP_GAME_CODE,
    BatchCell,
    DepositArgs,
    WithdrawalArgs,
)
from l1.core.scripts.secp256k1 import SECP256K1_CYCLES

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
#: A signature check like the default lock's, plus decoding its args.
WITHDRAWAL_LOCK_CYCLES: Final = SECP256K1_CYCLES + 100_000


# ----------------------------------------------------------------------------- deposit lock
def _run_deposit_lock(context: ScriptContext) -> int:
    """Two paths. (1) The rollup cell of ``rollup_id`` is an input: absorbed by SubmitBatch,
    SubmitProvenBatch or ForceDeposit, which the rollup type script checks in full. (2) Refund: the deposit was not
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
    """args = rollup id. Spendable with the rollup cell as an input (the rollup type script
    decides where custodian capacity goes), or -- for batch and game cells only -- when every
    group input's type script is ``rollup_batch`` or ``rollup_game`` of the same rollup: those
    type scripts check every transition of their cells, so a challenge, a move or a proposer's
    win needs no rollup cell. Plain custodian cells never move without the rollup cell."""
    rollup_id = context.args
    if len(rollup_id) != 32:
        raise VerifierFailure(f"custodian lock args must be 32 bytes, got {len(rollup_id)}")
    view = TxView(context)
    if view.rollup_input_index(rollup_id) is not None:
        return DEFER_CYCLES
    for index in context.group.input_indices:
        type_ = context.resolved_inputs[index].output.type
        if not (
            view.is_script(type_, ROLLUP_BATCH_CODE, rollup_id)
            or view.is_script(type_, ROLLUP_GAME_CODE, rollup_id)
        ):
            view.require_rollup_input(rollup_id, f"custodian-locked input {index}")
    return DEFER_CYCLES


ROLLUP_CUSTODIAN_LOCK: Final = NativeVerifier("rollup_custodian_lock", _run_custodian_lock)


# ----------------------------------------------------------------------------- batch type
def _run_batch_type(context: ScriptContext) -> int:
    """args = rollup id. Every output's data is a well-formed ``BatchCell``. With the rollup
    cell as an input, ``rollup_state`` checks the rest (SubmitBatch, FinalizeBatch,
    RevertBatches). Without it, a ``rollup_game`` cell of this rollup must be an input or an
    output: the game script checks the batch transition (a challenge or a proposer's win) and
    forbids any other batch cell movement in that transaction."""
    rollup_id = context.args
    if len(rollup_id) != 32:
        raise VerifierFailure(f"batch type args must be 32 bytes, got {len(rollup_id)}")
    view = TxView(context)
    for _index, data in context.group_outputs():
        BatchCell.decode(data)
    if view.rollup_input_index(rollup_id) is not None:
        return ROLLUP_BATCH_CYCLES
    tx = context.tx
    games = any(
        view.is_script(cell.output.type, ROLLUP_GAME_CODE, rollup_id)
        for cell in context.resolved_inputs
    ) or any(view.is_script(output.type, ROLLUP_GAME_CODE, rollup_id) for output in tx.raw.outputs)
    if not games:
        raise VerifierFailure(
            f"a batch cell moves only with the rollup cell {rollup_id.hex()[:16]}… as an input or "
            "a rollup_game cell of the same rollup among the inputs or outputs"
        )
    return ROLLUP_BATCH_CYCLES


ROLLUP_BATCH: Final = NativeVerifier("rollup_batch", _run_batch_type)


# ----------------------------------------------------------------------------- withdrawal lock
def _run_withdrawal_lock(context: ScriptContext) -> int:
    """args = rollup id ‖ batch number ‖ owner lock args. Withdrawal cells are created by
    FinalizeBatch or SubmitProvenBatch, when their batch is final, so the owner claims at once
    (from the next block) with a signature over the group's sighash_all message (as the default
    lock). Claiming twice is a spent input."""
    args = WithdrawalArgs.decode(context.args)
    validate_owner_signature(context, args.owner_lock_args)
    return WITHDRAWAL_LOCK_CYCLES


ROLLUP_WITHDRAWAL_LOCK: Final = NativeVerifier("rollup_withdrawal_lock", _run_withdrawal_lock)
