"""``rollup_state``: the type script of the rollup cell, the bridge's court (docs/rollup-on-l1.md).

The rollup cell is a Type ID singleton on ``args[0:32]`` (as Godwoken's rollup cell): created
once, where the args equal ``ckbhash(first input ‖ output index)``, then updated one input to one
output, never destroyed. Its type hash is the **rollup id**. Every update names its action in the
rollup input's ``WitnessArgs.input_type`` (``layout.encode_action``), and this script checks the
whole transaction for that action: every deposit and custodian cell of the rollup consumed, every
batch, custodian and withdrawal cell created. The L1 never runs the L2 STF: it checks what it can
see (authorization, chaining, data availability, money) and leaves the new root to the dispute
game (next issue).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Final

from l1.ckb.molecule import MoleculeError
from l1.ckb.types import CellOutput, WitnessArgs
from l1.core.cells import CellMeta
from l1.core.scripts.base import NativeVerifier, ScriptContext, VerifierFailure
from l1.core.scripts.rollup.common import TxView, decode_relative_blocks
from l1.core.scripts.rollup.layout import (
    MAX_PENDING_FORCED_DEPOSITS,
    MAX_SINCE_VALUE,
    ROLLUP_BATCH_CODE,
    ROLLUP_CUSTODIAN_LOCK_CODE,
    ROLLUP_DEPOSIT_LOCK_CODE,
    ROLLUP_WITHDRAWAL_LOCK_CODE,
    DepositArgs,
    EscapeHatch,
    ForceDeposit,
    RollupAction,
    RollupState,
    SubmitBatch,
    WithdrawalArgs,
    compute_deposit_hash,
    decode_action,
)
from l1.core.scripts.type_id import compute_type_id_args
from l2.batch import BatchCommitment, compute_withdrawals_root
from l2.config import RollupConfig
from l2.errors import InvalidCommitmentEncoding, InvalidPublicKey
from l2.preset import get_preset
from l2.profile import OPTIMISTIC
from l2.tx import Withdrawal

__all__ = [
    "ROLLUP_STATE",
    "ROLLUP_STATE_BASE_CYCLES",
    "ROLLUP_STATE_DEPOSIT_CYCLES",
    "ROLLUP_STATE_WITHDRAWAL_CYCLES",
]

#: Decoding both states and the action, hashing the transaction's scripts, Type ID arithmetic:
#: priced like the Type ID built-in (1 M), which does less.
ROLLUP_STATE_BASE_CYCLES: Final = 1_000_000
#: Per deposit consumed: a secp256k1 public-key decompression (``validate_public_key``) and a
#: hash, about a tenth of a signature verification.
ROLLUP_STATE_DEPOSIT_CYCLES: Final = 150_000
#: Per withdrawal created: a withdrawal hash and one CBMT merge (a blake2b of ~100 bytes costs
#: CKB-VM some 10-20 k cycles), so 1,000 withdrawals stay well under a 70 M transaction budget.
ROLLUP_STATE_WITHDRAWAL_CYCLES: Final = 20_000


@dataclass(slots=True)
class _RollupCells:
    """The transaction's cells that belong to this rollup, by role (the rollup cell excluded)."""

    deposits: list[tuple[int, CellMeta, DepositArgs]] = field(default_factory=list)
    custodian_in: int = 0
    custodian_out: int = 0
    custodian_inputs: int = 0
    custodian_outputs: int = 0
    batch_inputs: list[int] = field(default_factory=list)
    batch_outputs: list[int] = field(default_factory=list)
    withdrawal_outputs: list[tuple[int, WithdrawalArgs]] = field(default_factory=list)


def _classify(
    view: TxView, rollup_id: bytes, rollup_input: int, rollup_output: int
) -> _RollupCells:
    cells = _RollupCells()
    context = view.context
    for index, cell in enumerate(context.resolved_inputs):
        if index == rollup_input:
            continue
        lock, type_ = cell.output.lock, cell.output.type
        if view.is_script(lock, ROLLUP_DEPOSIT_LOCK_CODE, rollup_id):
            cells.deposits.append((index, cell, DepositArgs.decode(lock.args)))
        elif view.is_script(lock, ROLLUP_CUSTODIAN_LOCK_CODE, rollup_id):
            if type_ is None:
                cells.custodian_in += cell.output.capacity
                cells.custodian_inputs += 1
            elif view.is_script(type_, ROLLUP_BATCH_CODE, rollup_id):
                cells.batch_inputs.append(index)
            else:
                raise VerifierFailure(
                    f"input {index} is locked by the rollup's custodian but is neither a "
                    "custodian nor a batch cell"
                )
    for index, output in enumerate(context.tx.raw.outputs):
        if index == rollup_output:
            continue
        if view.is_script(output.type, ROLLUP_BATCH_CODE, rollup_id):
            cells.batch_outputs.append(index)
        elif view.is_script(output.lock, ROLLUP_CUSTODIAN_LOCK_CODE, rollup_id):
            if output.type is not None:
                raise VerifierFailure(
                    f"output {index} is locked by the rollup's custodian but is neither a "
                    "custodian nor a batch cell"
                )
            cells.custodian_out += output.capacity
            cells.custodian_outputs += 1
        elif view.is_script(output.lock, ROLLUP_WITHDRAWAL_LOCK_CODE, rollup_id):
            cells.withdrawal_outputs.append((index, WithdrawalArgs.decode(output.lock.args)))
    return cells


def _validate_rollup_lock(view: TxView, output: CellOutput, rollup_id: bytes) -> None:
    """The rollup cell is locked by its own custodian lock, so anyone may run ForceDeposit or
    EscapeHatch and only this type script's rules decide (a personal lock could hold it hostage)."""
    if output.lock.args != rollup_id or view.code_of(output.lock) != ROLLUP_CUSTODIAN_LOCK_CODE:
        raise VerifierFailure(
            "the rollup cell must be locked by rollup_custodian_lock with args = the rollup id "
            "(include the custodian lock's code cell as a dep)"
        )


def _validate_public_keys(cells: _RollupCells) -> None:
    """A deposit to a key the L2 refuses could never be consumed and, deposits being ordered,
    would stall the queue (docs/protocol.md §11): such a deposit is never absorbed; its owner
    refunds it after the cancel timeout."""
    for index, _cell, args in cells.deposits:
        try:
            OPTIMISTIC.validate_public_key(args.public_key)
        except InvalidPublicKey as exc:
            raise VerifierFailure(
                f"deposit input {index} names an invalid L2 public key: {exc}"
            ) from None


def _validate_custodian(cells: _RollupCells, deposits: int, withdrawals: int) -> None:
    """Custodian out = custodian in + deposits absorbed - withdrawals paid, to the shannon:
    absorbed capacity can only go to the custodian, and leaves it only as withdrawals."""
    available = cells.custodian_in + deposits
    if withdrawals > available:
        raise VerifierFailure(
            f"the custodian holds {available} shannons with this transaction's deposits, "
            f"less than the {withdrawals} its withdrawals pay"
        )
    expected = available - withdrawals
    if cells.custodian_out != expected:
        raise VerifierFailure(
            f"custodian outputs hold {cells.custodian_out} shannons, expected {expected} "
            f"(custodian in {cells.custodian_in} + deposits {deposits} - withdrawals {withdrawals})"
        )


def _validate_new_state(new: RollupState, expected: RollupState) -> None:
    if new == expected:
        return
    for name in RollupState.__dataclass_fields__:
        if getattr(new, name) != getattr(expected, name):
            raise VerifierFailure(
                f"the new rollup state has {name} = {_show(getattr(new, name))}, "
                f"expected {_show(getattr(expected, name))}"
            )


def _show(value: object) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, tuple):
        return f"{len(value)} item(s)"
    return repr(value)


def _no_cells(cells: _RollupCells, action: str, *, deposits: bool, custodian: bool) -> None:
    if deposits and cells.deposits:
        raise VerifierFailure(f"{action} consumes no deposit, got input {cells.deposits[0][0]}")
    if custodian and (cells.custodian_inputs or cells.custodian_outputs):
        raise VerifierFailure(f"{action} moves no custodian capacity")
    if cells.batch_inputs:
        raise VerifierFailure(
            f"batch cell input {cells.batch_inputs[0]} cannot be consumed yet (bond release and "
            "disputes come with the dispute game)"
        )
    if cells.batch_outputs and action != "SubmitBatch":
        raise VerifierFailure(f"{action} creates no batch cell")
    if cells.withdrawal_outputs and action != "SubmitBatch":
        raise VerifierFailure(f"{action} creates no withdrawal cell")


# ----------------------------------------------------------------------------- actions
def _submit_batch(
    view: TxView,
    rollup_id: bytes,
    state: RollupState,
    action: SubmitBatch,
    cells: _RollupCells,
) -> tuple[RollupState, int]:
    """Checks, in order: proposer authorization, one batch cell with a commitment and the bond,
    chaining (batch number, prev_root), data availability (versioned hashes), the deposit range,
    deposit keys, withdrawal cells against the withdrawals root, custodian accounting."""
    tx = view.context.tx
    if state.proposer_lock_hash not in view.input_lock_hashes:
        raise VerifierFailure(
            f"SubmitBatch needs the proposer's lock 0x{state.proposer_lock_hash.hex()} among the "
            "input locks"
        )
    _no_cells(cells, "SubmitBatch", deposits=False, custodian=False)
    if len(cells.batch_outputs) != 1:
        raise VerifierFailure(
            f"SubmitBatch creates exactly one batch cell, got {len(cells.batch_outputs)}"
        )
    batch_index = cells.batch_outputs[0]
    batch_output = tx.raw.outputs[batch_index]
    if (
        batch_output.lock.args != rollup_id
        or view.code_of(batch_output.lock) != ROLLUP_CUSTODIAN_LOCK_CODE
    ):
        raise VerifierFailure(
            f"batch output {batch_index} must be locked by the rollup's custodian lock"
        )
    if batch_output.capacity < state.bond:
        raise VerifierFailure(
            f"batch output {batch_index} holds {batch_output.capacity} shannons, less than the "
            f"bond of {state.bond}"
        )
    try:
        commitment = BatchCommitment.deserialize(tx.raw.outputs_data[batch_index])
    except InvalidCommitmentEncoding as exc:
        raise VerifierFailure(f"batch output {batch_index}: {exc}") from None
    if commitment.batch_number != state.next_batch_number:
        raise VerifierFailure(
            f"commitment is batch {commitment.batch_number}, expected batch "
            f"{state.next_batch_number}"
        )
    if commitment.prev_root != state.state_root:
        raise VerifierFailure(
            f"commitment prev_root 0x{commitment.prev_root.hex()} is not the rollup's state root "
            f"0x{state.state_root.hex()}"
        )
    if commitment.blob_versioned_hashes != tx.raw.blob_versioned_hashes:
        raise VerifierFailure(
            f"commitment's {len(commitment.blob_versioned_hashes)} blob versioned hash(es) are "
            f"not the transaction's {len(tx.raw.blob_versioned_hashes)} (the batch data must be "
            "the blobs this transaction makes available)"
        )
    pending = len(state.pending_forced)
    fresh = len(cells.deposits)
    start = state.next_deposit_index
    if commitment.deposit_start != start:
        raise VerifierFailure(
            f"commitment deposit range starts at {commitment.deposit_start}, expected {start} "
            "(deposits are consumed in queue order)"
        )
    if commitment.deposit_count < pending:
        raise VerifierFailure(
            f"the batch ignores pending forced deposits: it consumes {commitment.deposit_count} "
            f"deposit(s) but the {pending} forced one(s) at queue indices {start}.."
            f"{start + pending - 1} come first"
        )
    if commitment.deposit_end != start + pending + fresh:
        raise VerifierFailure(
            f"commitment consumes deposits [{commitment.deposit_start}, {commitment.deposit_end}) "
            f"but the transaction provides [{start}, {start + pending + fresh}): {pending} pending "
            f"forced deposit(s) then {fresh} deposit input(s), in input order"
        )
    _validate_public_keys(cells)

    if len(action.withdrawals) != len(cells.withdrawal_outputs):
        raise VerifierFailure(
            f"the action lists {len(action.withdrawals)} withdrawal(s) but the transaction creates "
            f"{len(cells.withdrawal_outputs)} withdrawal cell(s)"
        )
    config = RollupConfig(state.chain_id, rollup_id, 0, get_preset(state.l2_preset), OPTIMISTIC)
    withdrawals = []
    for entry, (index, args) in zip(action.withdrawals, cells.withdrawal_outputs, strict=True):
        output = tx.raw.outputs[index]
        if args.batch_number != commitment.batch_number:
            raise VerifierFailure(
                f"withdrawal output {index} names batch {args.batch_number}, expected "
                f"{commitment.batch_number}"
            )
        if output.type is not None or tx.raw.outputs_data[index]:
            raise VerifierFailure(f"withdrawal output {index} must have no type and no data")
        if output.capacity < entry.amount:
            raise VerifierFailure(
                f"withdrawal output {index} holds {output.capacity} shannons, less than its "
                f"amount {entry.amount}"
            )
        withdrawals.append(
            Withdrawal(entry.from_index, entry.nonce, args.owner_lock_args, entry.amount)
        )
    root = compute_withdrawals_root(withdrawals, config)
    if root != commitment.withdrawals_root:
        raise VerifierFailure(
            f"withdrawal cells hash to root 0x{root.hex()}, but the commitment's withdrawals root "
            f"is 0x{commitment.withdrawals_root.hex()}"
        )
    deposits_total = sum(cell.output.capacity for _i, cell, _a in cells.deposits)
    withdrawals_total = sum(w.amount for w in withdrawals)
    _validate_custodian(cells, deposits_total, withdrawals_total)
    new_state = replace(
        state,
        next_batch_number=state.next_batch_number + 1,
        state_root=commitment.new_root,
        next_deposit_index=commitment.deposit_end,
        idle_blocks=0,
        pending_forced=(),
    )
    cycles = ROLLUP_STATE_DEPOSIT_CYCLES * fresh + ROLLUP_STATE_WITHDRAWAL_CYCLES * len(withdrawals)
    return new_state, cycles


def _force_deposit(
    view: TxView, state: RollupState, rollup_input: int, cells: _RollupCells
) -> tuple[RollupState, int]:
    """Anyone absorbs deposits the sequencer ignored for the forced-inclusion window: each
    deposit input's relative block-number ``since`` proves its age. They move into the custodian
    and their hashes into the pending list that the next batch must consume first."""
    _no_cells(cells, "ForceDeposit", deposits=False, custodian=False)
    if not cells.deposits:
        raise VerifierFailure("ForceDeposit consumes at least one deposit")
    inputs = view.context.tx.raw.inputs
    window = state.forced_inclusion_window
    for index, _cell, _args in cells.deposits:
        age = decode_relative_blocks(inputs[index].since)
        if age is None or age < window:
            raise VerifierFailure(
                f"deposit input {index} is not yet forceable: it needs a relative block-number "
                f"since >= the forced-inclusion window of {window} blocks, got "
                f"{inputs[index].since:#x}"
            )
    _validate_public_keys(cells)
    pending = len(state.pending_forced) + len(cells.deposits)
    if pending > MAX_PENDING_FORCED_DEPOSITS:
        raise VerifierFailure(
            f"{pending} pending forced deposits would exceed the limit of "
            f"{MAX_PENDING_FORCED_DEPOSITS}"
        )
    total = sum(cell.output.capacity for _i, cell, _a in cells.deposits)
    _validate_custodian(cells, total, 0)
    hashes = tuple(
        compute_deposit_hash(cell.out_point, args.public_key, cell.output.capacity)
        for _i, cell, args in cells.deposits
    )
    idle = state.idle_blocks + (decode_relative_blocks(inputs[rollup_input].since) or 0)
    new_state = replace(
        state,
        pending_forced=state.pending_forced + hashes,
        idle_blocks=min(idle, (1 << 64) - 1),
    )
    return new_state, ROLLUP_STATE_DEPOSIT_CYCLES * len(cells.deposits)


def _escape_hatch(
    view: TxView,
    state: RollupState,
    action: EscapeHatch,
    rollup_input: int,
    cells: _RollupCells,
) -> tuple[RollupState, int]:
    """When no batch has landed for the escape timeout, anyone whose lock is in the inputs
    becomes the proposer. Idleness is the rollup input's relative block-number ``since`` plus
    the idle blocks earlier ForceDeposits proved (a forced deposit restarts no clock)."""
    _no_cells(cells, "EscapeHatch", deposits=True, custodian=True)
    raw = view.context.tx.raw.inputs[rollup_input].since
    idle = (decode_relative_blocks(raw) or 0) + state.idle_blocks
    if idle < state.escape_timeout:
        raise VerifierFailure(
            f"the escape hatch opens after {state.escape_timeout} idle blocks; the rollup input's "
            f"since {raw:#x} and earlier forced deposits prove {idle}"
        )
    if action.new_proposer_lock_hash not in view.input_lock_hashes:
        raise VerifierFailure(
            f"the new proposer's lock 0x{action.new_proposer_lock_hash.hex()} must be among the "
            "input locks"
        )
    return replace(state, proposer_lock_hash=action.new_proposer_lock_hash, idle_blocks=0), 0


# ----------------------------------------------------------------------------- entry point
def _create(context: ScriptContext, view: TxView, rollup_id: bytes) -> int:
    """Creation sets the config and the L2 genesis root; the L1 cannot check the root (the
    genesis state is the creator's claim, like any deployment parameter) but it checks that
    the progress part starts from nothing and that every window can be proven with a since."""
    index = context.group.output_indices[0]
    expected = compute_type_id_args(context.tx.raw.inputs[0].serialize(), index)
    if context.args[:32] != expected:
        raise VerifierFailure("rollup id args do not match the creating transaction (Type ID)")
    output = context.tx.raw.outputs[index]
    _validate_rollup_lock(view, output, rollup_id)
    state = RollupState.decode(context.tx.raw.outputs_data[index])
    for name in ("challenge_window", "forced_inclusion_window", "escape_timeout"):
        value = getattr(state, name)
        if not 1 <= value <= MAX_SINCE_VALUE:
            raise VerifierFailure(
                f"{name.replace('_', ' ')} must be in 1..2^56-1 blocks (a since value), got {value}"
            )
    if (
        state.next_batch_number != 0
        or state.next_deposit_index != 0
        or state.idle_blocks != 0
        or state.pending_forced
    ):
        raise VerifierFailure(
            "a new rollup starts at batch 0, deposit 0, with no idle blocks and nothing pending"
        )
    return ROLLUP_STATE_BASE_CYCLES


def _read_action(context: ScriptContext, index: int) -> RollupAction:
    witnesses = context.tx.witnesses
    if index >= len(witnesses):
        raise VerifierFailure(f"the rollup input {index} has no witness naming its action")
    try:
        witness = WitnessArgs.deserialize(witnesses[index])
    except MoleculeError as exc:
        raise VerifierFailure(f"witness {index} is not a WitnessArgs: {exc}") from None
    if witness.input_type is None:
        raise VerifierFailure(f"witness {index} input_type must name the rollup action")
    return decode_action(witness.input_type)


def _run(context: ScriptContext) -> int:
    group = context.group
    if len(context.args) < 32:
        raise VerifierFailure(
            f"rollup state args must be at least 32 bytes, got {len(context.args)}"
        )
    if len(group.input_indices) > 1 or len(group.output_indices) > 1:
        raise VerifierFailure("the rollup cell is a singleton: at most one input and one output")
    rollup_id = group.script_hash
    view = TxView(context)
    if not group.input_indices:
        return _create(context, view, rollup_id)
    if not group.output_indices:
        raise VerifierFailure("the rollup cell can never be destroyed")
    rollup_input, rollup_output = group.input_indices[0], group.output_indices[0]
    in_cell = context.resolved_inputs[rollup_input]
    output = context.tx.raw.outputs[rollup_output]
    _validate_rollup_lock(view, output, rollup_id)
    if output.capacity < in_cell.output.capacity:
        raise VerifierFailure(
            f"the rollup cell's capacity may not shrink ({in_cell.output.capacity} -> "
            f"{output.capacity} shannons)"
        )
    state = RollupState.decode(in_cell.data)
    new = RollupState.decode(context.tx.raw.outputs_data[rollup_output])
    action = _read_action(context, rollup_input)
    cells = _classify(view, rollup_id, rollup_input, rollup_output)
    if isinstance(action, SubmitBatch):
        expected, cycles = _submit_batch(view, rollup_id, state, action, cells)
    elif isinstance(action, ForceDeposit):
        expected, cycles = _force_deposit(view, state, rollup_input, cells)
    else:
        expected, cycles = _escape_hatch(view, state, action, rollup_input, cells)
    _validate_new_state(new, expected)
    return ROLLUP_STATE_BASE_CYCLES + cycles


ROLLUP_STATE: Final = NativeVerifier("rollup_state", _run)
