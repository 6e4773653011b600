"""``rollup_state``: the type script of the rollup cell, the bridge's court (docs/rollup-on-l1.md;
docs/disputes.md).

The rollup cell is a Type ID singleton on ``args[0:32]`` (as Godwoken's rollup cell): created
once, where the args equal ``ckbhash(first input ‖ output index)``, then updated one input to one
output, never destroyed. Its type hash is the **rollup id**. Every update names its action in the
rollup input's ``WitnessArgs.input_type`` (``layout.encode_action``), and this script checks the
whole transaction for that action: every deposit, custodian, batch and game cell of the rollup
consumed, every batch, custodian and withdrawal cell created. The L1 never runs the L2 STF: it
checks what it can see (authorization, chaining, data availability, money) and leaves the new
root to the dispute game (``l1.core.scripts.rollup.game``), whose result RevertBatches applies.

A *validity* rollup (non-zero ``RollupState.verifying_key_hash``, docs/validity.md) replaces the
game with a Groth16 proof: SubmitProvenBatch makes the same submission checks, reads the records
from the blobs, ties deposit and withdraw records to L1 cells, verifies the proof over the
``batch_input`` it recomputes, and the batch is final at once. Such a rollup refuses the
optimistic-only actions (SubmitBatch, FinalizeBatch, RevertBatches; challenges in ``game``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Final

from l1.ckb.hashes import compute_script_hash
from l1.ckb.molecule import MoleculeError
from l1.ckb.types import CellOutput, WitnessArgs
from l1.core.capacity import compute_occupied_capacity
from l1.core.cells import CellMeta
from l1.core.groth16 import (
    Groth16Error,
    VerifyingKey,
    compute_verification_cycles,
    decode_proof,
    decode_verifying_key,
    validate_proof,
)
from l1.core.scripts.base import NativeVerifier, ScriptContext, VerifierFailure
from l1.core.scripts.rollup.common import TxView, decode_relative_blocks
from l1.core.scripts.rollup.layout import (
    BURN_LOCK,
    MAX_PENDING_DEPOSITS,
    MAX_PENDING_FORCED_DEPOSITS,
    MAX_SINCE_VALUE,
    PROOF_SIZE,
    ROLLUP_BATCH_CODE,
    ROLLUP_CUSTODIAN_LOCK_CODE,
    ROLLUP_DEPOSIT_LOCK_CODE,
    ROLLUP_GAME_CODE,
    ROLLUP_WITHDRAWAL_LOCK_CODE,
    Abandon,
    BatchCell,
    DepositArgs,
    EscapeHatch,
    FinalizeBatch,
    ForceDeposit,
    GameAction,
    GameCell,
    InvalidRollupEncoding,
    RevertBatches,
    RollupAction,
    RollupState,
    SubmitBatch,
    SubmitProvenBatch,
    WithdrawalArgs,
    WithdrawalEntry,
    compute_burn,
    compute_deposit_hash,
    compute_deposits_root,
    decode_action,
    decode_game_action,
)
from l1.core.scripts.type_id import compute_type_id_args
from l2.batch import RECORDS_PER_BLOB, BatchCommitment, compute_withdrawals_root, get_batch_records
from l2.config import RollupConfig
from l2.dispute import ZERO_HASH
from l2.errors import (
    FieldOutOfRange,
    InvalidPublicKey,
    InvalidRecord,
    L2Error,
    MalformedBatchData,
)
from l2.preset import get_preset
from l2.profile import OPTIMISTIC, VALIDITY, Profile
from l2.state import compute_state_root
from l2.tx import Deposit, Transaction, Withdraw, Withdrawal, decode_record
from l2.validity import compute_batch_input

__all__ = [
    "ROLLUP_STATE",
    "ROLLUP_STATE_BASE_CYCLES",
    "ROLLUP_STATE_BATCH_CYCLES",
    "ROLLUP_STATE_DEPOSIT_CYCLES",
    "ROLLUP_STATE_RECORD_CYCLES",
    "ROLLUP_STATE_WITHDRAWAL_CYCLES",
    "compute_rollup_config",
    "get_rollup_profile",
    "read_game_action",
]

#: Decoding both states and the action, hashing the transaction's scripts, Type ID arithmetic:
#: priced like the Type ID built-in (1 M), which does less.
ROLLUP_STATE_BASE_CYCLES: Final = 1_000_000
#: Per deposit consumed or given back: a secp256k1 public-key decompression
#: (``validate_public_key``) and a hash, about a tenth of a signature verification.
ROLLUP_STATE_DEPOSIT_CYCLES: Final = 150_000
#: Per withdrawal created: a withdrawal hash and one chain step (a blake2b of ~100 bytes costs
#: CKB-VM some 10-20 k cycles), so 1,000 withdrawals stay well under a 70 M transaction budget.
ROLLUP_STATE_WITHDRAWAL_CYCLES: Final = 20_000
#: Per batch or game cell decoded (a commitment hash, a script hash).
ROLLUP_STATE_BATCH_CYCLES: Final = 50_000
#: Per record of a proven batch: reading four field elements from the blob, decoding the
#: record, and its step of the records hash of ``batch_input`` (one Poseidon of five inputs,
#: a few hundred field multiplications: ~300 k cycles in CKB-VM with 256-bit arithmetic).
ROLLUP_STATE_RECORD_CYCLES: Final = 300_000


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
    game_inputs: list[int] = field(default_factory=list)
    game_outputs: list[int] = field(default_factory=list)
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
        elif view.is_script(type_, ROLLUP_BATCH_CODE, rollup_id):
            cells.batch_inputs.append(index)
        elif view.is_script(type_, ROLLUP_GAME_CODE, rollup_id):
            cells.game_inputs.append(index)
        elif view.is_script(lock, ROLLUP_CUSTODIAN_LOCK_CODE, rollup_id):
            if type_ is not None:
                raise VerifierFailure(
                    f"input {index} is locked by the rollup's custodian but is neither a "
                    "custodian, batch nor game cell"
                )
            cells.custodian_in += cell.output.capacity
            cells.custodian_inputs += 1
    for index, output in enumerate(context.tx.raw.outputs):
        if index == rollup_output:
            continue
        if view.is_script(output.type, ROLLUP_BATCH_CODE, rollup_id):
            cells.batch_outputs.append(index)
        elif view.is_script(output.type, ROLLUP_GAME_CODE, rollup_id):
            cells.game_outputs.append(index)
        elif view.is_script(output.lock, ROLLUP_CUSTODIAN_LOCK_CODE, rollup_id):
            if output.type is not None:
                raise VerifierFailure(
                    f"output {index} is locked by the rollup's custodian but is neither a "
                    "custodian, batch nor game cell"
                )
            cells.custodian_out += output.capacity
            cells.custodian_outputs += 1
        elif view.is_script(output.lock, ROLLUP_WITHDRAWAL_LOCK_CODE, rollup_id):
            cells.withdrawal_outputs.append((index, WithdrawalArgs.decode(output.lock.args)))
    return cells


def get_rollup_profile(state: RollupState) -> Profile:
    """The L2 profile the rollup runs, fixed by its mode: ``OPTIMISTIC`` for a zero
    ``verifying_key_hash``, ``VALIDITY`` (Poseidon, EdDSA over BabyJubJub: what the circuit
    proves) otherwise. Every key check and counted root of the rollup uses it."""
    return VALIDITY if state.is_validity else OPTIMISTIC


def compute_rollup_config(state: RollupState, rollup_id: bytes) -> RollupConfig:
    """The L2 config the rollup runs: ``RollupConfig(chain_id, rollup_id, fee_account,
    get_preset(l2_preset), get_rollup_profile(state))`` (the one-step proof runs the STF under
    it; a validity proof's public input binds it)."""
    try:
        return RollupConfig(
            state.chain_id,
            rollup_id,
            state.fee_account,
            get_preset(state.l2_preset),
            get_rollup_profile(state),
        )
    except FieldOutOfRange as exc:
        raise VerifierFailure(f"the rollup's L2 config is invalid: {exc}") from None


def read_input_type(context: ScriptContext, index: int, what: str) -> bytes:
    """``WitnessArgs.input_type`` of input ``index``: where rollup and game actions are named."""
    witnesses = context.tx.witnesses
    if index >= len(witnesses):
        raise VerifierFailure(f"the {what} input {index} has no witness naming its action")
    try:
        witness = WitnessArgs.deserialize(witnesses[index])
    except MoleculeError as exc:
        raise VerifierFailure(f"witness {index} is not a WitnessArgs: {exc}") from None
    if witness.input_type is None:
        raise VerifierFailure(f"witness {index} input_type must name the {what} action")
    return witness.input_type


def read_game_action(context: ScriptContext, index: int) -> GameAction:
    """The action in ``WitnessArgs.input_type`` of game input ``index``."""
    return decode_game_action(read_input_type(context, index, "game"))


def _validate_rollup_lock(view: TxView, output: CellOutput, rollup_id: bytes) -> None:
    """The rollup cell is locked by its own custodian lock, so anyone may run ForceDeposit or
    EscapeHatch and only this type script's rules decide (a personal lock could hold it hostage)."""
    if output.lock.args != rollup_id or view.code_of(output.lock) != ROLLUP_CUSTODIAN_LOCK_CODE:
        raise VerifierFailure(
            "the rollup cell must be locked by rollup_custodian_lock with args = the rollup id "
            "(include the custodian lock's code cell as a dep)"
        )


def _validate_public_keys(cells: _RollupCells, profile: Profile) -> None:
    """A deposit to a key the L2 refuses could never be consumed and, deposits being ordered,
    would stall the queue (docs/protocol.md §11): such a deposit is never absorbed; its owner
    refunds it after the cancel timeout. Keys are checked with the rollup's profile (a
    BabyJubJub key is 32 bytes and leaves the slot's last byte zero)."""
    for index, _cell, args in cells.deposits:
        try:
            profile.validate_public_key(args.l2_public_key(profile.public_key_size))
        except (InvalidPublicKey, InvalidRollupEncoding) as exc:
            raise VerifierFailure(
                f"deposit input {index} names an invalid L2 public key: {exc}"
            ) from None


def _compute_deposit_hashes(cells: _RollupCells, profile: Profile) -> list[bytes]:
    """``compute_deposit_hash`` of each deposit input, in input order, over the L2 key as the
    rollup's profile reads it (so a validity deposit hashes its 32-byte key, as its record
    carries it). Call after ``_validate_public_keys``."""
    return [
        compute_deposit_hash(
            cell.out_point, args.l2_public_key(profile.public_key_size), cell.output.capacity
        )
        for _i, cell, args in cells.deposits
    ]


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


def _no_cells(
    cells: _RollupCells,
    action: str,
    *,
    deposits: bool = True,
    custodian: bool = True,
    batch_inputs: bool = True,
    batch_outputs: bool = True,
    game_inputs: bool = True,
    withdrawals: bool = True,
) -> None:
    """Refuse every kind of rollup cell ``action`` does not touch (flags name the forbidden)."""
    if deposits and cells.deposits:
        raise VerifierFailure(f"{action} consumes no deposit, got input {cells.deposits[0][0]}")
    if custodian and (cells.custodian_inputs or cells.custodian_outputs):
        raise VerifierFailure(f"{action} moves no custodian capacity")
    if batch_inputs and cells.batch_inputs:
        raise VerifierFailure(f"{action} consumes no batch cell, got input {cells.batch_inputs[0]}")
    if batch_outputs and cells.batch_outputs:
        raise VerifierFailure(f"{action} creates no batch cell")
    if game_inputs and cells.game_inputs:
        raise VerifierFailure(f"{action} consumes no game cell, got input {cells.game_inputs[0]}")
    if cells.game_outputs:
        raise VerifierFailure(
            f"{action} creates no game cell (a challenge is its own transaction, without the "
            "rollup cell as an input)"
        )
    if withdrawals and cells.withdrawal_outputs:
        raise VerifierFailure(f"{action} creates no withdrawal cell")


def _sum_by_lock(view: TxView) -> dict[bytes, int]:
    """Output capacity per lock hash: payouts are summed per lock (docs/disputes.md §3)."""
    totals: dict[bytes, int] = {}
    for output in view.context.tx.raw.outputs:
        lock_hash = compute_script_hash(output.lock)
        totals[lock_hash] = totals.get(lock_hash, 0) + output.capacity
    return totals


def _validate_payouts(view: TxView, owed: dict[bytes, tuple[int, str]], action: str) -> None:
    """Every lock hash owed money holds at least that much in the outputs, summed."""
    paid = _sum_by_lock(view)
    for lock_hash, (amount, who) in owed.items():
        if paid.get(lock_hash, 0) < amount:
            raise VerifierFailure(
                f"{action} pays {who} (lock 0x{lock_hash.hex()[:16]}…) "
                f"{paid.get(lock_hash, 0)} shannons, less than the {amount} owed"
            )


def _decode_batch(view: TxView, index: int, *, output: bool) -> BatchCell:
    context = view.context
    data = context.tx.raw.outputs_data[index] if output else context.resolved_inputs[index].data
    return BatchCell.decode(data)


# ----------------------------------------------------------------------------- actions
def _authorize_proposer(view: TxView, state: RollupState, action: str) -> None:
    """Only the proposer posts batches: its lock hash is among the input locks, so its own lock
    ran and checked its signature."""
    if state.proposer_lock_hash not in view.input_lock_hashes:
        raise VerifierFailure(
            f"{action} needs the proposer's lock 0x{state.proposer_lock_hash.hex()} among the "
            "input locks"
        )


@dataclass(frozen=True, slots=True)
class _Submission:
    """What the checks shared by SubmitBatch and SubmitProvenBatch found: the consumed deposits'
    hashes in queue order (the ``used`` pending ones, then the deposit inputs in input order)
    and the capacity the deposit inputs bring to the custodian."""

    consumed: tuple[bytes, ...]
    used: int
    deposits_total: int


def _validate_submission(
    view: TxView,
    state: RollupState,
    commitment: BatchCommitment,
    new_accounts_root: bytes,
    new_next_account_index: int,
    cells: _RollupCells,
    profile: Profile,
) -> _Submission:
    """The checks every batch submission makes, whatever proves it, in order: chaining (batch
    number, prev_root); data availability (versioned hashes, one blob per 1024 record slots);
    the record count; the deposit range (pending ones first); the new root's counters; deposit
    keys (docs/disputes.md §1, §3). The caller does the custodian accounting (withdrawals
    differ)."""
    tx = view.context.tx
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
    preset = get_preset(state.l2_preset)
    if commitment.tx_count > preset.max_txs_per_batch:
        raise VerifierFailure(
            f"the batch claims {commitment.tx_count} records, more than the L2 preset's "
            f"{preset.max_txs_per_batch}"
        )
    blobs = (commitment.tx_count + 1 + RECORDS_PER_BLOB - 1) // RECORDS_PER_BLOB
    if len(commitment.blob_versioned_hashes) != blobs:
        raise VerifierFailure(
            f"a batch of {commitment.tx_count} records spans exactly {blobs} blob(s) (one per "
            f"{RECORDS_PER_BLOB} record slots, the header's included), got "
            f"{len(commitment.blob_versioned_hashes)}"
        )
    if commitment.tx_count == 0 and (
        commitment.new_root != commitment.prev_root or commitment.withdrawals_root != ZERO_HASH
    ):
        raise VerifierFailure(
            "a batch of 0 records keeps the state root and has no withdrawals (withdrawals "
            "root 0x00…)"
        )
    pending = state.pending_forced
    fresh = len(cells.deposits)
    start = state.next_deposit_index
    if commitment.deposit_start != start:
        raise VerifierFailure(
            f"commitment deposit range starts at {commitment.deposit_start}, expected {start} "
            "(deposits are consumed in queue order)"
        )
    count = commitment.deposit_count
    required = min(len(pending), preset.max_txs_per_batch)
    if count < required:
        raise VerifierFailure(
            f"the batch ignores pending deposits: it consumes {count} deposit(s) but the "
            f"{required} pending one(s) at queue indices {start}..{start + required - 1} come first"
        )
    used = min(count, len(pending))
    if fresh and used < len(pending):
        raise VerifierFailure(
            f"deposit inputs are absorbed only once no pending deposit is left "
            f"({len(pending) - used} would remain)"
        )
    if count != used + fresh:
        raise VerifierFailure(
            f"commitment consumes deposits [{commitment.deposit_start}, {commitment.deposit_end}) "
            f"but the transaction provides [{start}, {start + used + fresh}): {used} pending "
            f"deposit(s) then {fresh} deposit input(s), in input order"
        )
    try:
        counted_root = compute_state_root(
            new_accounts_root, new_next_account_index, commitment.deposit_end, profile
        )
    except L2Error as exc:
        raise VerifierFailure(
            f"the new accounts root is not a {profile.name} node: {exc}"
        ) from None
    if counted_root != commitment.new_root:
        raise VerifierFailure(
            f"the new root is not hash_node(accounts root, counters(next account "
            f"{new_next_account_index}, next deposit {commitment.deposit_end})): the "
            "claimed deposit range must be the one the records consume"
        )
    _validate_public_keys(cells, profile)
    consumed = (*pending[:used], *_compute_deposit_hashes(cells, profile))
    deposits_total = sum(cell.output.capacity for _i, cell, _a in cells.deposits)
    return _Submission(consumed, used, deposits_total)


def _submitted_state(state: RollupState, commitment: BatchCommitment, used: int) -> RollupState:
    """The rollup state after batch ``commitment`` is accepted: next batch, its new root and
    deposit range end, the consumed pending hashes dropped, the idle clock reset."""
    return replace(
        state,
        next_batch_number=state.next_batch_number + 1,
        state_root=commitment.new_root,
        next_deposit_index=commitment.deposit_end,
        idle_blocks=0,
        pending_forced=state.pending_forced[used:],
    )


def _submit_batch(
    view: TxView,
    rollup_id: bytes,
    state: RollupState,
    action: SubmitBatch,
    cells: _RollupCells,
) -> tuple[RollupState, int]:
    """Checks, in order: proposer authorization; one batch cell with the bond, its proposer
    lock and no open game; the shared submission checks (``_validate_submission``: chaining,
    data availability, record count, deposit range, counters, deposit keys); the batch cell's
    deposits root; custodian accounting (docs/disputes.md §1, §3)."""
    tx = view.context.tx
    _authorize_proposer(view, state, "SubmitBatch")
    _no_cells(cells, "SubmitBatch", deposits=False, custodian=False, batch_outputs=False)
    if len(cells.batch_outputs) != 1:
        raise VerifierFailure(
            f"SubmitBatch creates exactly one batch cell, got {len(cells.batch_outputs)}"
        )
    batch_index = cells.batch_outputs[0]
    batch_output = tx.raw.outputs[batch_index]
    if not view.is_script(batch_output.lock, ROLLUP_CUSTODIAN_LOCK_CODE, rollup_id):
        raise VerifierFailure(
            f"batch output {batch_index} must be locked by the rollup's custodian lock"
        )
    batch = _decode_batch(view, batch_index, output=True)
    data = tx.raw.outputs_data[batch_index]
    occupied = compute_occupied_capacity(batch_output, data)
    if batch_output.capacity < state.bond + occupied:
        raise VerifierFailure(
            f"batch output {batch_index} holds {batch_output.capacity} shannons, less than the "
            f"bond of {state.bond} plus its {occupied} occupied"
        )
    if batch.open_games != 0:
        raise VerifierFailure(f"a new batch has no open game, got {batch.open_games}")
    if compute_script_hash(batch.proposer_lock) != state.proposer_lock_hash:
        raise VerifierFailure(
            "the batch cell's proposer lock does not hash to the rollup's proposer lock hash"
        )
    commitment = batch.commitment
    submission = _validate_submission(
        view,
        state,
        commitment,
        action.new_accounts_root,
        action.new_next_account_index,
        cells,
        get_rollup_profile(state),
    )
    deposits_root = compute_deposits_root(submission.consumed)
    if batch.deposits_root != deposits_root:
        raise VerifierFailure(
            f"the batch cell's deposits root 0x{batch.deposits_root.hex()} is not the CBMT root "
            f"0x{deposits_root.hex()} of the {len(submission.consumed)} deposit(s) it consumes"
        )
    _validate_custodian(cells, submission.deposits_total, 0)
    new_state = _submitted_state(state, commitment, submission.used)
    cycles = ROLLUP_STATE_DEPOSIT_CYCLES * commitment.deposit_count + ROLLUP_STATE_BATCH_CYCLES
    return new_state, cycles


def _validate_withdrawal_outputs(
    view: TxView,
    cells: _RollupCells,
    batch_number: int,
    entries: tuple[WithdrawalEntry, ...],
    withdrawals_root: bytes,
    config: RollupConfig,
) -> list[Withdrawal]:
    """The withdrawal cells a final batch pays (FinalizeBatch, SubmitProvenBatch): one per
    entry, in output order; each names the batch, has no type and no data and holds at least
    its amount (a payer may top it up to its occupied capacity); and the withdrawals they make
    fold to ``withdrawals_root``. Returns those withdrawals (the custodian pays their sum)."""
    tx = view.context.tx
    if len(entries) != len(cells.withdrawal_outputs):
        raise VerifierFailure(
            f"the action lists {len(entries)} withdrawal(s) but the transaction creates "
            f"{len(cells.withdrawal_outputs)} withdrawal cell(s)"
        )
    withdrawals = []
    for entry, (out, args) in zip(entries, cells.withdrawal_outputs, strict=True):
        output = tx.raw.outputs[out]
        if args.batch_number != batch_number:
            raise VerifierFailure(
                f"withdrawal output {out} names batch {args.batch_number}, expected {batch_number}"
            )
        if output.type is not None or tx.raw.outputs_data[out]:
            raise VerifierFailure(f"withdrawal output {out} must have no type and no data")
        if output.capacity < entry.amount:
            raise VerifierFailure(
                f"withdrawal output {out} holds {output.capacity} shannons, less than its "
                f"amount {entry.amount}"
            )
        withdrawals.append(
            Withdrawal(entry.from_index, entry.nonce, args.owner_lock_args, entry.amount)
        )
    root = compute_withdrawals_root(withdrawals, config)
    if root != withdrawals_root:
        raise VerifierFailure(
            f"withdrawal cells fold to 0x{root.hex()}, but the commitment's withdrawals root "
            f"is 0x{withdrawals_root.hex()}"
        )
    return withdrawals


def _finalize_batch(
    view: TxView,
    rollup_id: bytes,
    state: RollupState,
    action: FinalizeBatch,
    cells: _RollupCells,
) -> tuple[RollupState, int]:
    """The next batch to finalize, with no open game and a relative block-number ``since`` of
    at least the challenge window (from the batch cell's last commit, so every challenge
    extends it): its withdrawal cells are created now from the custodian and fold to the
    commitment's withdrawals root; the proposer gets the bond back."""
    tx = view.context.tx
    _no_cells(cells, "FinalizeBatch", custodian=False, batch_inputs=False, withdrawals=False)
    if len(cells.batch_inputs) != 1:
        raise VerifierFailure(
            f"FinalizeBatch consumes exactly one batch cell, got {len(cells.batch_inputs)}"
        )
    index = cells.batch_inputs[0]
    batch = _decode_batch(view, index, output=False)
    commitment = batch.commitment
    if commitment.batch_number != state.next_final_batch:
        raise VerifierFailure(
            f"batch {commitment.batch_number} cannot be finalized before batch "
            f"{state.next_final_batch} (batches finalize in order)"
        )
    if batch.open_games:
        raise VerifierFailure(
            f"batch {commitment.batch_number} has {batch.open_games} open game(s): it is final "
            "only once every challenge is settled"
        )
    raw = tx.raw.inputs[index].since
    age = decode_relative_blocks(raw)
    if age is None or age < state.challenge_window:
        raise VerifierFailure(
            f"batch input {index} is still in its challenge window: it needs a relative "
            f"block-number since >= {state.challenge_window} blocks, got {raw:#x}"
        )
    withdrawals = _validate_withdrawal_outputs(
        view,
        cells,
        commitment.batch_number,
        action.withdrawals,
        commitment.withdrawals_root,
        compute_rollup_config(state, rollup_id),
    )
    _validate_custodian(cells, 0, sum(w.amount for w in withdrawals))
    proposer = compute_script_hash(batch.proposer_lock)
    _validate_payouts(view, {proposer: (state.bond, "the proposer")}, "FinalizeBatch")
    cycles = ROLLUP_STATE_BATCH_CYCLES + ROLLUP_STATE_WITHDRAWAL_CYCLES * len(withdrawals)
    return replace(state, next_final_batch=state.next_final_batch + 1), cycles


def _read_verifying_key(view: TxView, state: RollupState) -> VerifyingKey:
    """(a) The verification key: the data of a cell dep whose ckbhash data hash is the rollup's
    ``verifying_key_hash`` (any such cell: the hash pins its bytes), decoded."""
    dep = next(
        (d for d in view.context.resolved_cell_deps if d.data_hash == state.verifying_key_hash),
        None,
    )
    if dep is None:
        raise VerifierFailure(
            f"SubmitProvenBatch needs the verification key as a cell dep: no cell dep's data "
            f"hashes to the rollup's verifying key hash 0x{state.verifying_key_hash.hex()}"
        )
    try:
        return decode_verifying_key(dep.data)
    except Groth16Error as exc:
        raise VerifierFailure(
            f"the verification key cell (data hash 0x{state.verifying_key_hash.hex()}) does not "
            f"decode: {exc}"
        ) from None


def _read_records(
    view: TxView, commitment: BatchCommitment, profile: Profile
) -> tuple[tuple[bytes, ...], tuple[Transaction, ...]]:
    """(b) The batch's records, read by position from the transaction's blobs, and their
    decoding. ``ScriptContext.blobs`` are this transaction's blobs in the order of its
    ``blob_versioned_hashes`` (the pool and the chain pass the sidecars in that order, the
    ledger's DA rules having checked each against its versioned hash), which
    ``_validate_submission`` found equal to the commitment's. A validity batch holds only valid
    transactions: a record that does not decode is refused (the circuit proves only canonical
    records)."""
    blobs = view.context.blobs
    if len(blobs) != len(commitment.blob_versioned_hashes):
        raise VerifierFailure(
            f"SubmitProvenBatch reads its records from the transaction's blobs: "
            f"{len(commitment.blob_versioned_hashes)} are committed but the node passed "
            f"{len(blobs)} blob(s)"
        )
    try:
        records = get_batch_records(blobs, commitment.tx_count)
    except MalformedBatchData as exc:
        raise VerifierFailure(f"the batch blobs do not hold its records: {exc}") from None
    txs = []
    for index, record in enumerate(records):
        try:
            txs.append(decode_record(record, profile))
        except InvalidRecord as exc:
            raise VerifierFailure(
                f"record {index} does not decode ({exc}): a validity batch holds only valid "
                "transactions"
            ) from None
    return records, tuple(txs)


def _validate_deposit_records(
    txs: tuple[Transaction, ...],
    commitment: BatchCommitment,
    action: SubmitProvenBatch,
    consumed: tuple[bytes, ...],
) -> None:
    """(c) The deposit records, in batch order, are exactly the deposits the batch consumes:
    record ``j`` has queue index ``deposit_start + j`` and hashes, with the out point the action
    names, to the ``j``-th consumed deposit hash. The circuit sees only records; this is what
    ties a credited amount and key to money the custodian actually received."""
    deposits = [tx for tx in txs if isinstance(tx, Deposit)]
    if len(deposits) != commitment.deposit_count:
        raise VerifierFailure(
            f"the batch has {len(deposits)} deposit record(s) but consumes "
            f"{commitment.deposit_count} deposit(s)"
        )
    if len(action.deposit_out_points) != commitment.deposit_count:
        raise VerifierFailure(
            f"the action names {len(action.deposit_out_points)} deposit out point(s) for the "
            f"{commitment.deposit_count} deposit(s) the batch consumes"
        )
    for j, (record, out_point, expected) in enumerate(
        zip(deposits, action.deposit_out_points, consumed, strict=True)
    ):
        index = commitment.deposit_start + j
        if record.deposit_index != index:
            raise VerifierFailure(
                f"deposit record {j} reads queue index {record.deposit_index}, expected {index} "
                "(deposit records consume the queue in order)"
            )
        if compute_deposit_hash(out_point, record.public_key, record.amount) != expected:
            raise VerifierFailure(
                f"deposit record {j} (queue index {index}) does not match its deposit: out point "
                f"{out_point.tx_hash.hex()[:16]}…:{out_point.index}, key and amount "
                f"{record.amount} do not hash to the consumed deposit hash 0x{expected.hex()}"
            )


def _validate_withdraw_records(
    view: TxView,
    txs: tuple[Transaction, ...],
    action: SubmitProvenBatch,
    cells: _RollupCells,
    config: RollupConfig,
) -> list[Withdrawal]:
    """(d) The withdrawals the action pays are exactly the batch's Withdraw records, in order:
    each entry is the record's (from, nonce, amount); the cells are checked as FinalizeBatch
    checks them (``_validate_withdrawal_outputs``: one per entry, the batch number, at least
    the amount, the fold to the commitment's withdrawals root, which the proof does not bind);
    and each cell's owner is the record's L1 recipient. Returns the withdrawals."""
    records = [tx for tx in txs if isinstance(tx, Withdraw)]
    if len(records) != len(action.withdrawals):
        raise VerifierFailure(
            f"the batch has {len(records)} withdraw record(s) but the action lists "
            f"{len(action.withdrawals)} withdrawal(s)"
        )
    for k, (record, entry) in enumerate(zip(records, action.withdrawals, strict=True)):
        made = WithdrawalEntry(record.from_index, record.nonce, record.amount)
        if entry != made:
            raise VerifierFailure(
                f"withdrawal entry {k} is {entry}, but withdraw record {k} makes {made}"
            )
    commitment = action.commitment
    withdrawals = _validate_withdrawal_outputs(
        view,
        cells,
        commitment.batch_number,
        action.withdrawals,
        commitment.withdrawals_root,
        config,
    )
    for k, (record, (out, args)) in enumerate(zip(records, cells.withdrawal_outputs, strict=True)):
        if args.owner_lock_args != record.l1_recipient:
            raise VerifierFailure(
                f"withdrawal output {out} is owned by 0x{args.owner_lock_args.hex()}, but "
                f"withdraw record {k} pays 0x{record.l1_recipient.hex()}"
            )
    return withdrawals


def _validate_proof(
    vk: VerifyingKey,
    action: SubmitProvenBatch,
    state: RollupState,
    records: tuple[bytes, ...],
    config: RollupConfig,
) -> None:
    """(e) The Groth16 proof that the records move ``state_root`` to the new root: its one
    public input, ``batch_input``, is recomputed here from L1 data alone (docs/validity.md §3)."""
    if len(action.proof) != PROOF_SIZE:
        raise VerifierFailure(
            f"a SubmitProvenBatch proof is {PROOF_SIZE} bytes (Groth16 A, B, C in EIP-197 "
            f"encoding), got {len(action.proof)}"
        )
    try:
        batch_input = compute_batch_input(
            state.state_root, action.commitment.new_root, records, config
        )
    except L2Error as exc:
        raise VerifierFailure(f"cannot form the proof's public input: {exc}") from None
    try:
        validate_proof(vk, decode_proof(action.proof), [batch_input])
    except Groth16Error as exc:
        raise VerifierFailure(f"the batch proof is invalid: {exc}") from None


def _submit_proven_batch(
    view: TxView,
    rollup_id: bytes,
    state: RollupState,
    action: SubmitProvenBatch,
    cells: _RollupCells,
    new: RollupState,
) -> tuple[RollupState, int]:
    """A validity rollup's batch, final at once (docs/validity.md §5). Checks, in order (cheap
    structural ones first, the pairing last): proposer authorization; no batch or game cell;
    the shared submission checks (``_validate_submission``); (a) the verification key cell
    dep; (b) every record decodes; (c) the deposit records are the consumed deposits; (d) the
    withdrawal entries are the Withdraw records, their cells are created now (as FinalizeBatch
    does) and fold to the withdrawals root; custodian accounting (+ deposits - withdrawals);
    the new rollup state ``new``; (e) the Groth16 proof over ``batch_input``."""
    _authorize_proposer(view, state, "SubmitProvenBatch")
    _no_cells(cells, "SubmitProvenBatch", deposits=False, custodian=False, withdrawals=False)
    config = compute_rollup_config(state, rollup_id)
    commitment = action.commitment
    submission = _validate_submission(
        view,
        state,
        commitment,
        action.new_accounts_root,
        action.new_next_account_index,
        cells,
        config.profile,
    )
    vk = _read_verifying_key(view, state)
    records, txs = _read_records(view, commitment, config.profile)
    _validate_deposit_records(txs, commitment, action, submission.consumed)
    withdrawals = _validate_withdraw_records(view, txs, action, cells, config)
    _validate_custodian(cells, submission.deposits_total, sum(w.amount for w in withdrawals))
    new_state = replace(
        _submitted_state(state, commitment, submission.used),
        next_final_batch=state.next_final_batch + 1,
    )
    _validate_new_state(new, new_state)
    _validate_proof(vk, action, state, records, config)
    cycles = (
        compute_verification_cycles(1)
        + ROLLUP_STATE_RECORD_CYCLES * commitment.tx_count
        + ROLLUP_STATE_DEPOSIT_CYCLES * commitment.deposit_count
        + ROLLUP_STATE_WITHDRAWAL_CYCLES * len(withdrawals)
    )
    return new_state, cycles


def _revert_batches(
    view: TxView,
    rollup_id: bytes,
    state: RollupState,
    action: RevertBatches,
    cells: _RollupCells,
) -> tuple[RollupState, int]:
    """A challenger won a game on batch ``k``: batches ``k .. next−1`` are all consumed, every
    open game on them too (one winner, the rest Abandon), and every payout of the revert is
    computed here, summed per lock hash: the winner's bond back plus the loser's bond less the
    burn, the burn, each abandoned challenger's bond, each descendant proposer's bond. The
    deposits the reverted batches consumed go back to the front of the pending list."""
    context = view.context
    _no_cells(cells, "RevertBatches", batch_inputs=False, game_inputs=False)
    k = action.batch_number
    if not state.next_final_batch <= k < state.next_batch_number:
        raise VerifierFailure(
            f"batch {k} cannot be reverted: only batches {state.next_final_batch}.."
            f"{state.next_batch_number - 1} are not final"
        )
    reverted = state.next_batch_number - k
    if len(cells.batch_inputs) != reverted:
        raise VerifierFailure(
            f"reverting batch {k} consumes its {reverted - 1} descendant(s) too: batch cells "
            f"{k}..{state.next_batch_number - 1} must all be inputs, got {len(cells.batch_inputs)}"
        )
    batches = [_decode_batch(view, i, output=False) for i in cells.batch_inputs]
    for offset, batch in enumerate(batches):
        if batch.commitment.batch_number != k + offset:
            raise VerifierFailure(
                f"batch input {cells.batch_inputs[offset]} is batch "
                f"{batch.commitment.batch_number}, expected batch {k + offset} (batch inputs "
                "in order)"
            )
    if len(action.deposit_lists) != reverted:
        raise VerifierFailure(
            f"the action gives {len(action.deposit_lists)} deposit list(s) for {reverted} "
            "reverted batch(es)"
        )
    for batch, hashes in zip(batches, action.deposit_lists, strict=True):
        commitment = batch.commitment
        if (
            len(hashes) != commitment.deposit_count
            or compute_deposits_root(hashes) != batch.deposits_root
        ):
            raise VerifierFailure(
                f"the deposit list of batch {commitment.batch_number} ({len(hashes)} hash(es)) "
                f"does not hash to its deposits root 0x{batch.deposits_root.hex()}"
            )

    burn = compute_burn(state.bond, state.burn_permille)
    owed: dict[bytes, tuple[int, str]] = {}

    def owe(lock_hash: bytes, amount: int, who: str) -> None:
        total, label = owed.get(lock_hash, (0, who))
        owed[lock_hash] = (total + amount, label if label == who else f"{label} and {who}")

    by_batch = {batch.commitment.batch_number: batch for batch in batches}
    games_on: dict[int, int] = {}
    winners = 0
    for index in cells.game_inputs:
        game = GameCell.decode(context.resolved_inputs[index].data)
        named = by_batch.get(game.batch_number)
        if named is None or named.batch_hash != game.batch_hash:
            raise VerifierFailure(
                f"game input {index} is on batch {game.batch_number}, not one this revert consumes"
            )
        games_on[game.batch_number] = games_on.get(game.batch_number, 0) + 1
        challenger = compute_script_hash(game.challenger_lock)
        if isinstance(read_game_action(context, index), Abandon):
            owe(challenger, game.bond, f"abandoned game {index}'s challenger")
            continue
        if game.batch_number != k:
            raise VerifierFailure(
                f"game input {index} on batch {game.batch_number} must be abandoned: only a game "
                f"on batch {k} can win this revert"
            )
        winners += 1
        owe(challenger, game.bond + state.bond - burn, "the winning challenger")
    if winners != 1:
        raise VerifierFailure(
            f"RevertBatches needs exactly one game on batch {k} that the challenger won (OneStep "
            f"or Timeout), got {winners}; every other game input is Abandon"
        )
    if burn:
        owe(compute_script_hash(BURN_LOCK), burn, "the burn lock")
    for batch in batches:
        number = batch.commitment.batch_number
        if games_on.get(number, 0) != batch.open_games:
            raise VerifierFailure(
                f"batch {number} has {batch.open_games} open game(s) but the revert consumes "
                f"{games_on.get(number, 0)}: every open game of a reverted batch is settled"
            )
        if number != k:
            owe(compute_script_hash(batch.proposer_lock), state.bond, f"batch {number}'s proposer")
    _validate_payouts(view, owed, "RevertBatches")

    given_back = tuple(item for hashes in action.deposit_lists for item in hashes)
    pending = given_back + state.pending_forced
    if len(pending) > MAX_PENDING_DEPOSITS:
        raise VerifierFailure(
            f"the revert would leave {len(pending)} pending deposits, more than "
            f"{MAX_PENDING_DEPOSITS}"
        )
    first = batches[0].commitment
    new_state = replace(
        state,
        next_batch_number=k,
        state_root=first.prev_root,
        next_deposit_index=first.deposit_start,
        pending_forced=pending,
    )
    cycles = ROLLUP_STATE_BATCH_CYCLES * (
        reverted + len(cells.game_inputs)
    ) + ROLLUP_STATE_WITHDRAWAL_CYCLES * len(given_back)
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
    profile = get_rollup_profile(state)
    _validate_public_keys(cells, profile)
    pending = len(state.pending_forced) + len(cells.deposits)
    if pending > MAX_PENDING_FORCED_DEPOSITS:
        raise VerifierFailure(
            f"{pending} pending forced deposits would exceed the limit of "
            f"{MAX_PENDING_FORCED_DEPOSITS}"
        )
    total = sum(cell.output.capacity for _i, cell, _a in cells.deposits)
    _validate_custodian(cells, total, 0)
    hashes = tuple(_compute_deposit_hashes(cells, profile))
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
    for name in ("challenge_window", "forced_inclusion_window", "escape_timeout", "game_clock"):
        value = getattr(state, name)
        if not 1 <= value <= MAX_SINCE_VALUE:
            raise VerifierFailure(
                f"{name.replace('_', ' ')} must be in 1..2^56-1 blocks (a since value), got {value}"
            )
    # The L2 preset names its profile (a validity circuit is built for one tree depth and batch
    # size): a validity rollup runs a validity preset, an optimistic rollup an optimistic one.
    try:
        preset_profile = get_preset(state.l2_preset).profile
    except KeyError as exc:
        raise VerifierFailure(f"unknown L2 preset: {exc}") from None
    mode = "validity" if state.is_validity else "optimistic"
    if preset_profile != mode:
        raise VerifierFailure(
            f"{'a validity' if state.is_validity else 'an optimistic'} rollup runs an L2 preset "
            f"of the {mode} profile; {state.l2_preset!r} is "
            f"a {preset_profile} preset"
            + (" (register a verifying key hash for validity mode)" if mode == "optimistic" else "")
        )
    compute_rollup_config(state, rollup_id)
    if (
        state.next_batch_number != 0
        or state.next_final_batch != 0
        or state.next_deposit_index != 0
        or state.idle_blocks != 0
        or state.pending_forced
    ):
        raise VerifierFailure(
            "a new rollup starts at batch 0 (none final), deposit 0, with no idle blocks and "
            "nothing pending"
        )
    return ROLLUP_STATE_BASE_CYCLES


def _validate_mode(state: RollupState, action: RollupAction) -> None:
    """A validity rollup's batches are proven and final on arrival, so the optimistic
    machinery -- unproven batches, finalization after a window, reverts after a lost game --
    does not apply to it; an optimistic rollup has no verification key to check a proof with."""
    name = type(action).__name__
    if state.is_validity and isinstance(action, SubmitBatch | FinalizeBatch | RevertBatches):
        raise VerifierFailure(
            f"{name} is an optimistic rollup's action: a validity rollup takes only proven "
            "batches (SubmitProvenBatch), final at once, never challenged or reverted"
        )
    if not state.is_validity and isinstance(action, SubmitProvenBatch):
        raise VerifierFailure(
            "SubmitProvenBatch is a validity rollup's action: this rollup is optimistic (its "
            "verifying key hash is zero), its batches go through SubmitBatch and disputes"
        )


def _read_action(context: ScriptContext, index: int) -> RollupAction:
    return decode_action(read_input_type(context, index, "rollup"))


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
    _validate_mode(state, action)
    if isinstance(action, SubmitProvenBatch):
        expected, cycles = _submit_proven_batch(view, rollup_id, state, action, cells, new)
    elif isinstance(action, SubmitBatch):
        expected, cycles = _submit_batch(view, rollup_id, state, action, cells)
    elif isinstance(action, ForceDeposit):
        expected, cycles = _force_deposit(view, state, rollup_input, cells)
    elif isinstance(action, FinalizeBatch):
        expected, cycles = _finalize_batch(view, rollup_id, state, action, cells)
    elif isinstance(action, RevertBatches):
        expected, cycles = _revert_batches(view, rollup_id, state, action, cells)
    else:
        expected, cycles = _escape_hatch(view, state, action, rollup_input, cells)
    _validate_new_state(new, expected)
    return ROLLUP_STATE_BASE_CYCLES + cycles


ROLLUP_STATE: Final = NativeVerifier("rollup_state", _run)
