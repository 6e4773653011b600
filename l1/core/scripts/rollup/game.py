"""``rollup_game``: the type script of a dispute game cell (docs/disputes.md §3-§4).

args = rollup id. A game cell is locked by the rollup's custodian lock, which defers to this
script (``cells.py``), so this script alone decides every transition of a game:

- **Challenge** (a game output, no game input, no rollup input): the named batch cell is an input
  and an output, identical but for one more open game; the rollup cell is a cell dep (bond, clock);
  the game opens on the batch's trace (``l2.dispute.open_game``).
- **Move** (one game in, one out): the side to move (its lock among the input locks) bisects
  (``l2.dispute.apply_move``); the chess clock charges the opponent through the game input's
  committing header, a header dep (CKB's ``load_header(Source::Input)``).
- **Timeout** / **OneStep** (game consumed): the side to move ran out of clock (relative
  block-number ``since``, RFC 0017), or the one-step proof decides (``l2.onestep``). A proposer's
  win settles here: the batch cell loses one open game and the proposer gets the challenger's bond
  less the burn. A challenger's win settles only inside the RevertBatches of the game's batch,
  whose payouts ``rollup_state`` checks.
- **Abandon**: only inside a RevertBatches that consumes the game's batch.

Without the rollup cell as an input, a transaction moves at most one game cell in and one out, and
no batch cell other than the one a challenge or a proposer's win names.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from l1.ckb.hashes import compute_header_hash, compute_script_hash
from l1.ckb.molecule import MoleculeError
from l1.ckb.types import WitnessArgs
from l1.core.capacity import compute_occupied_capacity
from l1.core.scripts.base import NativeVerifier, ScriptContext, VerifierFailure
from l1.core.scripts.rollup.common import TxView, decode_relative_blocks
from l1.core.scripts.rollup.layout import (
    BURN_LOCK,
    NO_TURN_START,
    ROLLUP_BATCH_CODE,
    ROLLUP_CUSTODIAN_LOCK_CODE,
    Abandon,
    BatchCell,
    GameCell,
    Move,
    OneStep,
    RevertBatches,
    RollupState,
    Timeout,
    compute_burn,
    decode_action,
)
from l1.core.scripts.rollup.state import compute_rollup_config, read_game_action
from l1.core.scripts.secp256k1 import SECP256K1_CYCLES
from l2.batch import ELEMENTS_PER_RECORD
from l2.dispute import ZERO_HASH, Side, apply_move, compute_trace_hash, open_game
from l2.errors import InvalidMove, L2Error
from l2.onestep import decode_one_step_proof, verify_one_step

__all__ = [
    "GAME_BASE_CYCLES",
    "GAME_MOVE_CYCLES",
    "ONE_STEP_CYCLES",
    "ONE_STEP_STF_CYCLES",
    "POINT_EVALUATION_CYCLES",
    "ROLLUP_GAME",
]

#: Decoding the game and batch cells, hashing the transaction's scripts, comparing the cells.
GAME_BASE_CYCLES: Final = 500_000
#: A move also hashes the header dep it reads its turn start from.
GAME_MOVE_CYCLES: Final = 100_000
#: One KZG point evaluation is a BLS12-381 pairing check (two Miller loops and a final
#: exponentiation). Native that is ~1 ms; in CKB-VM, pairing-based verifiers (BLS signatures,
#: Groth16) run in the tens of millions of cycles, so one evaluation is priced at 10 M.
POINT_EVALUATION_CYCLES: Final = 10_000_000
#: The STF step a one-step proof replays: a secp256k1 verification and a few SMT paths of up
#: to 32 levels (two proofs × two roots × 32 blake2b merges at ~20 k cycles).
ONE_STEP_STF_CYCLES: Final = SECP256K1_CYCLES + 3_000_000
#: One record is ``ELEMENTS_PER_RECORD`` field elements, each opened by one point evaluation,
#: plus the STF step: 4 × 10 M + 4.5 M, inside a 70 M transaction budget.
ONE_STEP_CYCLES: Final = ELEMENTS_PER_RECORD * POINT_EVALUATION_CYCLES + ONE_STEP_STF_CYCLES


def _batch_cells(view: TxView, rollup_id: bytes) -> tuple[list[int], list[int]]:
    """Indices of the batch cells of this rollup among the inputs and the outputs."""
    context = view.context
    inputs = [
        i
        for i, cell in enumerate(context.resolved_inputs)
        if view.is_script(cell.output.type, ROLLUP_BATCH_CODE, rollup_id)
    ]
    outputs = [
        i
        for i, output in enumerate(context.tx.raw.outputs)
        if view.is_script(output.type, ROLLUP_BATCH_CODE, rollup_id)
    ]
    return inputs, outputs


def _rollup_dep(view: TxView, rollup_id: bytes, what: str) -> RollupState:
    dep = view.rollup_cell_dep(rollup_id)
    if dep is None:
        raise VerifierFailure(
            f"{what} reads the rollup's config: the rollup cell {rollup_id.hex()[:16]}… must be "
            "a cell dep"
        )
    return RollupState.decode(dep.data)


def _one_batch_transition(
    view: TxView, rollup_id: bytes, game: GameCell, delta: int, what: str
) -> BatchCell:
    """The one batch cell this transaction moves: named by ``game``, input and output identical
    but for ``open games + delta``. Any other batch cell movement is refused."""
    context = view.context
    inputs, outputs = _batch_cells(view, rollup_id)
    if len(inputs) != 1 or len(outputs) != 1:
        raise VerifierFailure(
            f"{what} moves exactly the game's batch cell (one input, one output), got "
            f"{len(inputs)} batch input(s) and {len(outputs)} batch output(s)"
        )
    in_cell = context.resolved_inputs[inputs[0]]
    batch = BatchCell.decode(in_cell.data)
    if batch.commitment.batch_number != game.batch_number or batch.batch_hash != game.batch_hash:
        raise VerifierFailure(
            f"batch input {inputs[0]} is batch {batch.commitment.batch_number} "
            f"0x{batch.batch_hash.hex()[:16]}…, not the game's batch {game.batch_number} "
            f"0x{game.batch_hash.hex()[:16]}…"
        )
    if batch.open_games + delta < 0 or batch.open_games + delta >= 1 << 32:
        raise VerifierFailure(
            f"batch {game.batch_number} has {batch.open_games} open game(s): cannot change by "
            f"{delta}"
        )
    expected = replace(batch, open_games=batch.open_games + delta)
    output = context.tx.raw.outputs[outputs[0]]
    if output != in_cell.output or context.tx.raw.outputs_data[outputs[0]] != expected.encode():
        raise VerifierFailure(
            f"{what}: batch output {outputs[0]} must be batch input {inputs[0]} with "
            f"{expected.open_games} open game(s), everything else unchanged"
        )
    return batch


def _paid_to(view: TxView, lock_hash: bytes) -> int:
    return sum(
        output.capacity
        for output in view.context.tx.raw.outputs
        if compute_script_hash(output.lock) == lock_hash
    )


# ----------------------------------------------------------------------------- challenge
def _challenge(view: TxView, rollup_id: bytes, index: int) -> int:
    context = view.context
    state = _rollup_dep(view, rollup_id, "a challenge")
    if state.is_validity:
        raise VerifierFailure(
            "a validity rollup has no dispute game: its batches are proven (SubmitProvenBatch) "
            "and final at once, there is nothing to challenge"
        )
    output = context.tx.raw.outputs[index]
    data = context.tx.raw.outputs_data[index]
    if output.lock.args != rollup_id or view.code_of(output.lock) != ROLLUP_CUSTODIAN_LOCK_CODE:
        raise VerifierFailure(
            f"game output {index} must be locked by the rollup's custodian lock (args = the "
            "rollup id)"
        )
    game = GameCell.decode(data)
    batch = _one_batch_transition(view, rollup_id, game, +1, "a challenge")
    commitment = batch.commitment
    if not state.next_final_batch <= commitment.batch_number < state.next_batch_number:
        raise VerifierFailure(f"batch {commitment.batch_number} is final or not the rollup's")
    if commitment.tx_count < 1:
        raise VerifierFailure("an empty batch cannot be challenged (its new root is its prev root)")
    occupied = compute_occupied_capacity(output, data)
    if output.capacity < state.bond + occupied:
        raise VerifierFailure(
            f"game output {index} holds {output.capacity} shannons, less than the challenger's "
            f"bond of {state.bond} plus its {occupied} occupied"
        )
    if commitment.tx_count > 1 and game.game.mid_hash == ZERO_HASH:
        raise VerifierFailure(
            "the challenge must state the challenger's hash at the first midpoint"
        )
    try:
        opened = open_game(
            commitment.tx_count,
            compute_trace_hash(commitment.prev_root, ZERO_HASH),
            compute_trace_hash(commitment.new_root, commitment.withdrawals_root),
            game.game.mid_hash,
        )
    except InvalidMove as exc:
        raise VerifierFailure(f"invalid challenge: {exc}") from None
    expected = GameCell(
        batch_number=commitment.batch_number,
        batch_hash=batch.batch_hash,
        bond=state.bond,
        proposer_clock=state.game_clock,
        challenger_clock=state.game_clock,
        previous_turn_start=NO_TURN_START,
        game=opened,
        challenger_lock=game.challenger_lock,
        proposer_lock=batch.proposer_lock,
    )
    _validate_game(game, expected, "the new game")
    if compute_script_hash(game.challenger_lock) not in view.input_lock_hashes:
        raise VerifierFailure(
            "the challenger's lock must be among the input locks (the challenger authorizes "
            "its challenge)"
        )
    return GAME_BASE_CYCLES


def _validate_game(actual: GameCell, expected: GameCell, what: str) -> None:
    if actual == expected:
        return
    for name in GameCell.__dataclass_fields__:
        got, want = getattr(actual, name), getattr(expected, name)
        if name == "game" and got != want:
            for sub in type(want).__dataclass_fields__:
                if getattr(got, sub) != getattr(want, sub):
                    raise VerifierFailure(
                        f"{what} has {sub} = {_show(getattr(got, sub))}, expected "
                        f"{_show(getattr(want, sub))}"
                    )
        if got != want:
            raise VerifierFailure(f"{what} has {name} = {_show(got)}, expected {_show(want)}")


def _show(value: object) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return repr(value)


# ----------------------------------------------------------------------------- move
def _move(view: TxView, action: Move, in_index: int, out_index: int, rollup_id: bytes) -> int:
    context = view.context
    in_cell = context.resolved_inputs[in_index]
    game = GameCell.decode(in_cell.data)
    batch_in, batch_out = _batch_cells(view, rollup_id)
    if batch_in or batch_out:
        raise VerifierFailure("a move touches no batch cell")
    if context.tx.raw.outputs[out_index] != in_cell.output:
        raise VerifierFailure(
            f"a move keeps the game cell's capacity, lock and type: output {out_index} differs "
            f"from input {in_index}"
        )
    mover = game.game.turn
    if compute_script_hash(game.lock_of(mover)) not in view.input_lock_hashes:
        raise VerifierFailure(
            f"it is the {mover.name.lower()}'s turn: its lock must be among the input locks"
        )
    header = next(
        (h for h in context.header_deps if compute_header_hash(h) == in_cell.block_hash), None
    )
    if header is None:
        raise VerifierFailure(
            f"the block that committed game input {in_index} "
            f"(0x{in_cell.block_hash.hex()[:16]}…) must be a header dep: the move learns when "
            "its turn began from it (load_header(Source::Input))"
        )
    turn_start = header.raw.number
    opponent = mover.other
    clock = game.clock_of(opponent)
    if game.previous_turn_start != NO_TURN_START:
        clock -= min(clock, max(0, turn_start - game.previous_turn_start))
    try:
        new_game = apply_move(game.game, mover, action.to_dispute())
    except InvalidMove as exc:
        raise VerifierFailure(f"invalid move: {exc}") from None
    clocks = {"proposer_clock": clock} if opponent is Side.PROPOSER else {"challenger_clock": clock}
    expected = replace(game, previous_turn_start=turn_start, game=new_game, **clocks)  # type: ignore[arg-type]
    _validate_game(
        GameCell.decode(context.tx.raw.outputs_data[out_index]), expected, "the moved game"
    )
    return GAME_BASE_CYCLES + GAME_MOVE_CYCLES


# ----------------------------------------------------------------------------- game end
def _timeout_winner(view: TxView, index: int, game: GameCell) -> Side:
    """The side to move loses when the input's relative block-number ``since`` covers its whole
    remaining clock (its turn began when the game input was committed)."""
    to_move = game.game.turn
    clock = game.clock_of(to_move)
    raw = view.context.tx.raw.inputs[index].since
    waited = decode_relative_blocks(raw) or 0
    if waited < clock:
        raise VerifierFailure(
            f"the {to_move.name.lower()} has {clock} block(s) left on its clock: a timeout needs a "
            f"relative block-number since >= {clock} on game input {index}, got {raw:#x}"
        )
    return to_move.other


def _one_step_winner(
    view: TxView, rollup_id: bytes, state: RollupState, action: OneStep, game: GameCell
) -> Side:
    """Run the one-step proof from the agreed ``lo hash`` over record ``lo``: reaching the
    proposer's ``hi hash`` means the proposer wins, anything else the challenger."""
    context = view.context
    if not game.game.is_one_step:
        raise VerifierFailure(
            f"the range [{game.game.lo}, {game.game.hi}] is more than one step: bisect it first"
        )
    batch = None
    for index in _batch_cells(view, rollup_id)[0]:
        candidate = BatchCell.decode(context.resolved_inputs[index].data)
        if candidate.batch_hash == game.batch_hash:
            batch = candidate
    if batch is None:
        raise VerifierFailure(
            "the one-step proof reads the game's batch cell (commitment, deposits root): it "
            "must be an input"
        )
    settings = context.kzg_settings
    if settings is None:
        raise VerifierFailure("this node carries no KZG settings: it cannot check a one-step proof")
    config = compute_rollup_config(state, rollup_id)
    try:
        proof = decode_one_step_proof(action.proof, config.preset.tree_depth)
        post = verify_one_step(
            proof,
            record_index=game.game.lo,
            lo_hash=game.game.lo_hash,
            commitment=batch.commitment,
            deposits_root=batch.deposits_root,
            config=config,
            settings=settings(),
        )
    except (L2Error, ValueError) as exc:
        raise VerifierFailure(f"invalid one-step proof: {exc}") from None
    return Side.PROPOSER if post == game.game.hi_hash else Side.CHALLENGER


def _proposer_wins(view: TxView, rollup_id: bytes, state: RollupState, game: GameCell) -> None:
    """The batch stands: one open game less on it, and the challenger's bond goes to the
    proposer, less the burn (``BURN_LOCK``)."""
    _one_batch_transition(view, rollup_id, game, -1, "the proposer's win")
    burn = compute_burn(game.bond, state.burn_permille)
    proposer = compute_script_hash(game.proposer_lock)
    burn_hash = compute_script_hash(BURN_LOCK)
    owed = {proposer: game.bond - burn}
    if burn:
        owed[burn_hash] = owed.get(burn_hash, 0) + burn
    for lock_hash, amount in owed.items():
        paid = _paid_to(view, lock_hash)
        if paid < amount:
            who = "the burn lock" if lock_hash == burn_hash else "the proposer"
            raise VerifierFailure(
                f"the proposer's win pays {who} {paid} shannons, less than the {amount} owed"
            )


def _end_alone(view: TxView, rollup_id: bytes, index: int, action: Timeout | OneStep) -> int:
    """Timeout or OneStep without the rollup cell: only a proposer's win settles here."""
    game = GameCell.decode(view.context.resolved_inputs[index].data)
    state = _rollup_dep(view, rollup_id, "settling a game")
    if isinstance(action, Timeout):
        winner, cycles = _timeout_winner(view, index, game), GAME_BASE_CYCLES
    else:
        winner = _one_step_winner(view, rollup_id, state, action, game)
        cycles = GAME_BASE_CYCLES + ONE_STEP_CYCLES
    if winner is Side.CHALLENGER:
        raise VerifierFailure(
            f"the challenger wins game input {index}: that settles only inside a RevertBatches "
            f"of batch {game.batch_number} (the rollup cell as an input)"
        )
    _proposer_wins(view, rollup_id, state, game)
    return cycles


def _in_revert(view: TxView, rollup_id: bytes, rollup_input: int) -> int:
    """With the rollup cell as an input the only game transition is RevertBatches: one game on
    the reverted batch proves the challenger won (Timeout or OneStep), every other is Abandon
    on a reverted batch. ``rollup_state`` checks the batches, the counts and every payout."""
    context = view.context
    if context.group.output_indices:
        raise VerifierFailure("no game cell is created with the rollup cell as an input")
    witnesses = context.tx.witnesses
    try:
        raw = WitnessArgs.deserialize(witnesses[rollup_input]).input_type
    except (IndexError, MoleculeError):
        raw = None
    action = decode_action(raw) if raw is not None else None
    if not isinstance(action, RevertBatches):
        raise VerifierFailure(
            "a game cell is consumed with the rollup cell as an input only by RevertBatches"
        )
    state = RollupState.decode(context.resolved_inputs[rollup_input].data)
    cycles = GAME_BASE_CYCLES
    for index in context.group.input_indices:
        game = GameCell.decode(context.resolved_inputs[index].data)
        game_action = read_game_action(context, index)
        if isinstance(game_action, Abandon):
            if game.batch_number < action.batch_number:
                raise VerifierFailure(
                    f"game input {index} is on batch {game.batch_number}, which reverting batch "
                    f"{action.batch_number} does not consume: it cannot be abandoned"
                )
            continue
        if isinstance(game_action, Move):
            raise VerifierFailure("a move is not made inside a RevertBatches")
        if game.batch_number != action.batch_number:
            raise VerifierFailure(
                f"game input {index} on batch {game.batch_number} cannot win the revert of "
                f"batch {action.batch_number}"
            )
        if isinstance(game_action, Timeout):
            winner = _timeout_winner(view, index, game)
        else:
            winner = _one_step_winner(view, rollup_id, state, game_action, game)
            cycles += ONE_STEP_CYCLES
        if winner is not Side.CHALLENGER:
            raise VerifierFailure(
                f"the proposer wins game input {index}: it cannot revert batch {game.batch_number}"
            )
    return cycles


# ----------------------------------------------------------------------------- entry point
def _run(context: ScriptContext) -> int:
    rollup_id = context.args
    if len(rollup_id) != 32:
        raise VerifierFailure(f"game type args must be 32 bytes, got {len(rollup_id)}")
    view = TxView(context)
    rollup_input = view.rollup_input_index(rollup_id)
    if rollup_input is not None:
        return _in_revert(view, rollup_id, rollup_input)
    ins, outs = context.group.input_indices, context.group.output_indices
    if len(ins) > 1 or len(outs) > 1:
        raise VerifierFailure(
            "without the rollup cell a transaction creates, moves or settles one game cell, got "
            f"{len(ins)} game input(s) and {len(outs)} game output(s)"
        )
    if not ins:
        return _challenge(view, rollup_id, outs[0])
    action = read_game_action(context, ins[0])
    if outs:
        if not isinstance(action, Move):
            raise VerifierFailure("a game input with a game output must be a Move")
        return _move(view, action, ins[0], outs[0], rollup_id)
    if isinstance(action, Move):
        raise VerifierFailure("a Move needs the moved game cell as an output")
    if isinstance(action, Abandon):
        raise VerifierFailure("a game is abandoned only inside a RevertBatches of its batch")
    return _end_alone(view, rollup_id, ins[0], action)


ROLLUP_GAME: Final = NativeVerifier("rollup_game", _run)
