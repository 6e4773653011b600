"""The dispute game on L1 (docs/disputes.md): challenges, bisection moves with the chess clock,
timeouts, one-step proofs over real blobs and KZG openings, proposer-win settlement, finality
and RevertBatches, on chainkit's in-memory chain with the real verifiers. Every invalid case
asserts the exact error, the verifier's message and an unchanged ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pytest

from l1.ckb.hashes import compute_tx_hash
from l1.ckb.hashing import ckbhash
from l1.ckb.types import CellDep, CellInput, CellOutput, OutPoint, Transaction
from l1.core.blobs import compute_blob_sidecar
from l1.core.capacity import compute_occupied_capacity
from l1.core.errors import DeadCell, SinceNotMet
from l1.core.scripts.rollup import (
    BURN_LOCK,
    Abandon,
    GameAction,
    GameCell,
    Move,
    OneStep,
    SubmitBatch,
    Timeout,
    decode_game_action,
    encode_game_action,
)
from l1.core.scripts.rollup.game import ONE_STEP_CYCLES
from l1.core.scripts.rollup.layout import NO_TURN_START, InvalidRollupEncoding, compute_burn
from l1.devnet_keys import DevnetKey
from l1.kzg import get_kzg_settings
from l2 import dispute
from l2.batch import BatchCommitment, compute_batch_blobs, compute_withdrawals_root
from l2.config import RollupConfig
from l2.dispute import ZERO_HASH, Side, compute_max_moves, compute_trace_hash, open_game
from l2.onestep import build_one_step_proof, compute_batch_trace, compute_l1_deposit_hash
from l2.preset import get_preset
from l2.profile import OPTIMISTIC
from l2.state import Account, L2State, compute_state_root, create_genesis_state
from l2.stf import apply_batch
from l2.tx import (
    Deposit,
    L1Deposit,
    Transfer,
    Withdraw,
    Withdrawal,
    sign_transaction,
)
from l2.tx import Transaction as L2Transaction
from tests.l1.chainkit import CKB, Chain, sign
from tests.l1.test_rollup_scripts import (
    ALICE,
    BOB,
    BOND,
    BURN_PERMILLE,
    CAROL,
    CHALLENGE,
    GAME_CLOCK,
    GENESIS_ACCOUNTS,
    PROPOSER,
    Bridge,
    rejects,
    relative_blocks,
)

BURN = compute_burn(BOND, BURN_PERMILLE)


# ----------------------------------------------------------------------------- game builders
def trace_of(commitment: BatchCommitment, inner: Sequence[bytes]) -> list[bytes]:
    """A full trace: the batch's pre and claimed positions around ``inner`` (positions 1..n-1)."""
    return [
        compute_trace_hash(commitment.prev_root, ZERO_HASH),
        *inner,
        compute_trace_hash(commitment.new_root, commitment.withdrawals_root),
    ]


def fake_traces(commitment: BatchCommitment, diverge: int) -> tuple[list[bytes], list[bytes]]:
    """(proposer's, challenger's) traces over a batch: they agree up to ``diverge``."""
    n = commitment.tx_count
    proposer = trace_of(commitment, [ckbhash(b"p %d" % i) for i in range(1, n)])
    challenger = [h if i <= diverge else ckbhash(b"c %d" % i) for i, h in enumerate(proposer)]
    return proposer, challenger


def game_output(bridge: Bridge, game: GameCell, extra: int = 0) -> tuple[CellOutput, bytes]:
    data = game.encode()
    output = CellOutput(0, bridge.custodian_lock, bridge.game_type)
    return replace(output, capacity=BOND + compute_occupied_capacity(output, data) + extra), data


def initial_game(bridge: Bridge, number: int, challenger: DevnetKey, mid: bytes) -> GameCell:
    batch = bridge.batch(number)
    commitment = batch.commitment
    return GameCell(
        batch_number=number,
        batch_hash=batch.batch_hash,
        bond=BOND,
        proposer_clock=GAME_CLOCK,
        challenger_clock=GAME_CLOCK,
        previous_turn_start=NO_TURN_START,
        game=open_game(
            commitment.tx_count,
            compute_trace_hash(commitment.prev_root, ZERO_HASH),
            compute_trace_hash(commitment.new_root, commitment.withdrawals_root),
            mid,
        ),
        challenger_lock=bridge.chain.lock_of(challenger),
        proposer_lock=batch.proposer_lock,
    )


def challenge(
    bridge: Bridge,
    number: int,
    challenger: DevnetKey,
    mid: bytes,
    *,
    game: GameCell | None = None,
    extra: int = 0,
    rollup_dep: bool = True,
    open_games: int | None = None,
) -> Transaction:
    batch_op = bridge.batches[number]
    batch = bridge.batch(number)
    game = initial_game(bridge, number, challenger, mid) if game is None else game
    opened = replace(batch, open_games=batch.open_games + 1 if open_games is None else open_games)
    batch_out = bridge.chain.cells.live[batch_op].output
    return bridge.build(
        [(CellInput(batch_op), None)],
        [(batch_out, opened.encode()), game_output(bridge, game, extra)],
        payer=challenger,
        cell_deps=(CellDep(bridge.rollup_cell),) if rollup_dep else (),  # type: ignore[arg-type]
    )


def commit_challenge(bridge: Bridge, tx: Transaction, number: int) -> OutPoint:
    bridge.chain.mine([tx])
    tx_hash = compute_tx_hash(tx)
    bridge.batches[number] = OutPoint(tx_hash, 0)
    return OutPoint(tx_hash, 1)


def game_at(bridge: Bridge, game_op: OutPoint) -> GameCell:
    return GameCell.decode(bridge.chain.cells.live[game_op].data)


def moved(bridge: Bridge, game_op: OutPoint, move: Move) -> GameCell:
    """What the verifier expects after ``move`` (the chess clock of docs/disputes.md §4)."""
    cell = bridge.chain.cells.live[game_op]
    game = GameCell.decode(cell.data)
    start = cell.block_number
    mover = game.game.turn
    clock = game.clock_of(mover.other)
    if game.previous_turn_start != NO_TURN_START:
        clock -= min(clock, max(0, start - game.previous_turn_start))
    clocks = {"proposer_clock" if mover.other is Side.PROPOSER else "challenger_clock": clock}
    new = dispute.apply_move(game.game, mover, move.to_dispute())
    return replace(game, previous_turn_start=start, game=new, **clocks)  # type: ignore[arg-type]


def move_tx(
    bridge: Bridge,
    game_op: OutPoint,
    mover: DevnetKey,
    move: Move,
    *,
    header: bool = True,
    output: GameCell | None = None,
) -> Transaction:
    cell = bridge.chain.cells.live[game_op]
    new = moved(bridge, game_op, move) if output is None else output
    return bridge.build(
        [(CellInput(game_op), encode_game_action(move))],
        [(cell.output, new.encode())],
        payer=mover,
        header_deps=(cell.block_hash,) if header else (),
    )


def settle_tx(
    bridge: Bridge,
    game_op: OutPoint,
    action: GameAction,
    *,
    since: int = 0,
    payer: DevnetKey = PROPOSER,
    burn: int = BURN,
) -> Transaction:
    """A proposer's win without the rollup cell: the batch cell loses an open game."""
    game = game_at(bridge, game_op)
    batch_op = bridge.batches[game.batch_number]
    batch = bridge.batch(game.batch_number)
    batch_out = bridge.chain.cells.live[batch_op].output
    closed = replace(batch, open_games=batch.open_games - 1)
    burn_out = [(CellOutput(burn, BURN_LOCK), b"")] if burn else []
    return bridge.build(
        [
            (
                CellInput(game_op, relative_blocks(since) if since else 0),
                encode_game_action(action),
            ),
            (CellInput(batch_op), None),
        ],
        [(batch_out, closed.encode()), *burn_out],
        payer=payer,
        cell_deps=(CellDep(bridge.rollup_cell),),  # type: ignore[arg-type]
    )


def commit_settle(bridge: Bridge, tx: Transaction, number: int) -> None:
    bridge.chain.mine([tx])
    bridge.batches[number] = OutPoint(compute_tx_hash(tx), 0)


def play(
    bridge: Bridge,
    game_op: OutPoint,
    proposer_trace: Sequence[bytes],
    challenger_trace: Sequence[bytes],
    challenger: DevnetKey,
) -> tuple[OutPoint, int]:
    """Both sides move by ``l2.dispute.choose_move`` on their traces until one step remains;
    returns the game cell and the moves made (the challenge included)."""
    while True:
        game = game_at(bridge, game_op)
        if game.game.is_one_step:
            return game_op, game.game.moves
        side = game.game.turn
        trace = proposer_trace if side is Side.PROPOSER else challenger_trace
        choice = dispute.choose_move(game.game, trace)
        key = PROPOSER if side is Side.PROPOSER else challenger
        tx = move_tx(bridge, game_op, key, Move(choice.hash_at_mid, choice.next_mid_hash))
        bridge.chain.mine([tx])
        game_op = OutPoint(compute_tx_hash(tx), 0)


def winner_payouts(bridge: Bridge, challenger: DevnetKey) -> list[tuple[CellOutput, bytes]]:
    return [(CellOutput(2 * BOND - BURN, bridge.chain.lock_of(challenger)), b"")]


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture
def bridge() -> Bridge:
    bridge = Bridge(Chain())
    bridge.create()
    return bridge


def fake_batch(bridge: Bridge, n: int) -> int:
    """Commit a batch of ``n`` records (no deposits; its data is never opened)."""
    number = bridge.state.next_batch_number
    bridge.commit(bridge.submit_batch(claim=bridge.commitment(tx_count=n)))
    return number


# ----------------------------------------------------------------------------- layouts
def test_game_cell_and_game_actions_round_trip_and_are_strict(bridge: Bridge) -> None:
    fake_batch(bridge, 7)
    game = initial_game(bridge, 0, BOB, ckbhash(b"mid"))
    data = game.encode()
    assert data[72] == 0 and int.from_bytes(data[73:75], "little") == 1
    assert int.from_bytes(data[79:83], "little") == 7 and data[147:179] == ckbhash(b"mid")
    assert GameCell.decode(data) == game
    with pytest.raises(InvalidRollupEncoding, match="at least 179 bytes"):
        GameCell.decode(data[:178])
    with pytest.raises(InvalidRollupEncoding, match="game turn must be 0 or 1"):
        GameCell.decode(data[:72] + b"\x02" + data[73:])
    with pytest.raises(InvalidRollupEncoding, match="game cell state: range"):
        GameCell.decode(data[:79] + bytes(4) + data[83:])
    with pytest.raises(InvalidRollupEncoding, match="1 trailing bytes"):
        GameCell.decode(data + b"\x00")
    actions: list[GameAction] = [
        Move(ckbhash(b"a"), ZERO_HASH),
        Timeout(),
        OneStep(b"p"),
        Abandon(),
    ]
    for action in actions:
        assert decode_game_action(encode_game_action(action)) == action
    for bad, message in [
        (b"", "empty game action"),
        (b"\x05", "unknown game action tag 5"),
        (b"\x01" + bytes(63), "two 32-byte trace hashes"),
        (b"\x02\x00", "a Timeout has no payload"),
        (b"\x03", "non-empty proof"),
        (b"\x04\x00", "an Abandon has no payload"),
    ]:
        with pytest.raises(InvalidRollupEncoding, match=message):
            decode_game_action(bad)


# ----------------------------------------------------------------------------- challenge
def test_challenge_rules(bridge: Bridge) -> None:
    fake_batch(bridge, 7)
    proposer, challenger = fake_traces(bridge.batch(0).commitment, 3)
    mid = challenger[3]
    rejects(
        bridge,
        challenge(bridge, 0, BOB, mid, extra=-1),
        "less than the challenger's bond of",
    )
    rejects(bridge, challenge(bridge, 0, BOB, mid, rollup_dep=False), "must be a cell dep")
    good = initial_game(bridge, 0, BOB, mid)
    for wrong, field in [
        (replace(good, game=replace(good.game, hi_hash=ckbhash(b"x"))), "hi_hash"),
        (replace(good, challenger_clock=GAME_CLOCK + 1), "challenger_clock"),
        (replace(good, previous_turn_start=1), "previous_turn_start"),
        (replace(good, proposer_lock=bridge.chain.lock_of(CAROL)), "proposer_lock"),
    ]:
        rejects(bridge, challenge(bridge, 0, BOB, mid, game=wrong), f"the new game has {field} =")
    no_mid = replace(good, game=replace(good.game, mid_hash=ZERO_HASH))
    rejects(
        bridge,
        challenge(bridge, 0, BOB, mid, game=no_mid),
        "must state the challenger's hash at the first midpoint",
    )
    rejects(
        bridge,
        challenge(bridge, 0, BOB, mid, open_games=2),
        "batch output 0 must be batch input 0 with 1 open game(s)",
    )
    # The challenger's lock must sign: CAROL pays for a game that names BOB.
    rejects(
        bridge,
        challenge(bridge, 0, CAROL, mid, game=good),
        "the challenger's lock must be among the input locks",
    )
    tx = challenge(bridge, 0, BOB, mid)
    cycles = bridge.chain.verify_tx(tx).cycles
    assert cycles < bridge.chain.preset.max_tx_verify_cycles
    game_op = commit_challenge(bridge, tx, 0)
    assert bridge.batch(0).open_games == 1 and game_at(bridge, game_op) == good
    assert proposer[0] == good.game.lo_hash and proposer[7] == good.game.hi_hash


def test_challenge_of_an_empty_batch_or_another_rollups_batch_is_rejected(bridge: Bridge) -> None:
    kept, _ = bridge.commitment(tx_count=0, new_root=bridge.state.state_root)
    bridge.commit(bridge.submit_batch(claim=(kept, SubmitBatch(GENESIS_ACCOUNTS, 1))))
    batch = bridge.batch(0)
    game = GameCell(
        0,
        batch.batch_hash,
        BOND,
        GAME_CLOCK,
        GAME_CLOCK,
        NO_TURN_START,
        dispute.GameState(0, 1, ckbhash(b"a"), ckbhash(b"b"), ZERO_HASH, Side.PROPOSER, 1),
        bridge.chain.lock_of(BOB),
        batch.proposer_lock,
    )
    rejects(bridge, challenge(bridge, 0, BOB, ZERO_HASH, game=game), "an empty batch cannot be")

    other = Bridge(bridge.chain)
    other.create()
    other.commit(other.submit_batch(claim=other.commitment(tx_count=3)))
    foreign = other.batches[0]
    # A game of this rollup naming the other rollup's batch: that batch is not this rollup's.
    theirs = initial_game(other, 0, BOB, ckbhash(b"m"))
    tx = bridge.build(
        [(CellInput(foreign), None)],
        [
            (
                bridge.chain.cells.live[foreign].output,
                replace(other.batch(0), open_games=1).encode(),
            ),
            game_output(bridge, theirs),
        ],
        payer=BOB,
        cell_deps=(CellDep(bridge.rollup_cell),),  # type: ignore[arg-type]
    )
    # The other rollup's batch type sees no game of its own rollup; this rollup's game script
    # would refuse too (no batch cell of this rollup moves).
    rejects(bridge, tx, "rollup_batch", "a batch cell moves only with the rollup cell")


# ----------------------------------------------------------------------------- moves
@pytest.fixture
def opened(bridge: Bridge) -> tuple[Bridge, OutPoint, list[bytes], list[bytes]]:
    fake_batch(bridge, 7)
    proposer, challenger = fake_traces(bridge.batch(0).commitment, 3)
    game_op = commit_challenge(bridge, challenge(bridge, 0, BOB, challenger[3]), 0)
    return bridge, game_op, proposer, challenger


def test_invalid_moves_are_rejected(
    opened: tuple[Bridge, OutPoint, list[bytes], list[bytes]],
) -> None:
    bridge, game_op, proposer, _challenger = opened
    game = game_at(bridge, game_op).game
    good = dispute.choose_move(game, proposer)
    honest = Move(good.hash_at_mid, good.next_mid_hash)
    cell = bridge.chain.cells.live[game_op]
    # Wrong turn: the challenger's lock is in the inputs, the proposer's is not.
    rejects(
        bridge,
        move_tx(bridge, game_op, BOB, honest, output=moved(bridge, game_op, honest)),
        "it is the proposer's turn: its lock must be among the input locks",
    )
    # Wrong claim shape: a multi-step range needs a claim at its midpoint.
    no_next = Move(good.hash_at_mid, ZERO_HASH)
    tx = bridge.build(
        [(CellInput(game_op), encode_game_action(no_next))],
        [(cell.output, cell.data)],
        payer=PROPOSER,
        header_deps=(cell.block_hash,),
    )
    rejects(bridge, tx, "invalid move:", "needs a claim at its midpoint")
    # Wrong output: a range the move does not produce.
    lying = moved(bridge, game_op, honest)
    lying = replace(lying, game=replace(lying.game, lo=lying.game.lo + 1))
    rejects(
        bridge, move_tx(bridge, game_op, PROPOSER, honest, output=lying), "the moved game has lo ="
    )
    rejects(
        bridge,
        move_tx(bridge, game_op, PROPOSER, honest, header=False),
        "must be a header dep",
        "load_header(Source::Input)",
    )
    # A move that also tops up the game cell changes it: refused.
    grown = move_tx(bridge, game_op, PROPOSER, honest)
    change = grown.raw.outputs[1]
    outputs = (
        replace(grown.raw.outputs[0], capacity=cell.output.capacity + CKB),
        replace(change, capacity=change.capacity - CKB),
    )
    tampered = sign(
        type(grown)(replace(grown.raw, outputs=outputs), grown.witnesses), PROPOSER, [1]
    )
    rejects(bridge, tampered, "a move keeps the game cell's capacity, lock and type")
    bridge.chain.verify_tx(move_tx(bridge, game_op, PROPOSER, honest))


def test_moves_run_the_chess_clock_and_one_step_phase_refuses_moves(
    opened: tuple[Bridge, OutPoint, list[bytes], list[bytes]],
) -> None:
    bridge, game_op, proposer, challenger = opened
    chain = bridge.chain
    start = chain.tip.number  # the challenge's block: the proposer's turn began here
    chain.mine_until(start + 2)
    first = dispute.choose_move(game_at(bridge, game_op).game, proposer)
    tx = move_tx(bridge, game_op, PROPOSER, Move(first.hash_at_mid, first.next_mid_hash))
    chain.mine([tx])  # at start + 3
    game_op = OutPoint(compute_tx_hash(tx), 0)
    game = game_at(bridge, game_op)
    assert game.previous_turn_start == start and game.proposer_clock == GAME_CLOCK
    chain.mine()
    second = dispute.choose_move(game.game, challenger)
    tx = move_tx(bridge, game_op, BOB, Move(second.hash_at_mid, second.next_mid_hash))
    chain.mine([tx])  # the proposer is charged start + 3 - start = 3 blocks
    game_op = OutPoint(compute_tx_hash(tx), 0)
    game = game_at(bridge, game_op)
    assert (game.proposer_clock, game.challenger_clock) == (GAME_CLOCK - 3, GAME_CLOCK)
    assert game.previous_turn_start == start + 3
    game_op, moves = play(bridge, game_op, proposer, challenger, BOB)
    game = game_at(bridge, game_op)
    assert (game.game.lo, game.game.hi) == (3, 4) and moves <= compute_max_moves(7) - 1
    cell = chain.cells.live[game_op]
    stuck = Move(ckbhash(b"x"), ZERO_HASH)
    tx = bridge.build(
        [(CellInput(game_op), encode_game_action(stuck))],
        [(cell.output, cell.data)],
        payer=PROPOSER if game.game.turn is Side.PROPOSER else BOB,
        header_deps=(cell.block_hash,),
    )
    rejects(bridge, tx, "invalid move: one step remains (record 3)")


# ----------------------------------------------------------------------------- timeouts
def test_challenger_times_out_and_the_proposer_settles(
    opened: tuple[Bridge, OutPoint, list[bytes], list[bytes]],
) -> None:
    bridge, game_op, proposer, _challenger = opened
    chain = bridge.chain
    first = dispute.choose_move(game_at(bridge, game_op).game, proposer)
    tx = move_tx(bridge, game_op, PROPOSER, Move(first.hash_at_mid, first.next_mid_hash))
    chain.mine([tx])
    game_op = OutPoint(compute_tx_hash(tx), 0)
    chain.mine_until(chain.cells.live[game_op].block_number + GAME_CLOCK - 2)
    rejects(
        bridge,
        settle_tx(bridge, game_op, Timeout(), since=GAME_CLOCK - 1),
        f"the challenger has {GAME_CLOCK} block(s) left on its clock",
    )
    rejects(
        bridge,
        settle_tx(bridge, game_op, Timeout(), since=GAME_CLOCK),
        "is not yet satisfied",
        cls=SinceNotMet,
    )
    chain.mine()
    # Someone else settles but keeps the bond: refused.
    rejects(
        bridge,
        settle_tx(bridge, game_op, Timeout(), since=GAME_CLOCK, payer=CAROL),
        "the proposer's win pays the proposer",
        f"less than the {BOND - BURN} owed",
    )
    rejects(
        bridge,
        settle_tx(bridge, game_op, Timeout(), since=GAME_CLOCK, burn=BURN - 1),
        "the proposer's win pays the burn lock",
    )
    tx = settle_tx(bridge, game_op, Timeout(), since=GAME_CLOCK)
    commit_settle(bridge, tx, 0)
    assert bridge.batch(0).open_games == 0
    burnt = [o for o in tx.raw.outputs if o.lock == BURN_LOCK]
    assert [o.capacity for o in burnt] == [BURN]
    # Double settlement: the game cell is spent.
    rejects(bridge, tx, "is already spent", cls=DeadCell)
    # The challenge extended the window: finality counts from the batch cell's last commit.
    bridge.commit_finalize(bridge_finalize_after_window(bridge), 0)


def bridge_finalize_after_window(
    bridge: Bridge, withdrawals: tuple[Withdrawal, ...] = ()
) -> Transaction:
    chain = bridge.chain
    committed = chain.cells.live[bridge.batches[0]].block_number
    chain.mine_until(committed + CHALLENGE)
    return bridge.finalize(0, withdrawals)


def test_proposer_times_out_and_the_challenger_reverts(
    opened: tuple[Bridge, OutPoint, list[bytes], list[bytes]],
) -> None:
    bridge, game_op, _proposer, _challenger = opened
    chain = bridge.chain
    # A descendant batch, then the proposer never answers the challenge.
    fake_batch(bridge, 2)
    chain.mine_until(chain.cells.live[game_op].block_number + GAME_CLOCK)
    # Without the rollup cell, a challenger's win cannot settle.
    rejects(
        bridge,
        settle_tx(bridge, game_op, Timeout(), since=GAME_CLOCK, payer=BOB),
        "the challenger wins game input 0: that settles only inside a RevertBatches of batch 0",
    )
    win = (game_op, Timeout(), relative_blocks(GAME_CLOCK))
    payouts = winner_payouts(bridge, BOB)
    rejects(
        bridge,
        bridge.revert(0, [win], payer=BOB, batches=[0]),
        "reverting batch 0 consumes its 1 descendant(s) too",
    )
    rejects(
        bridge,
        bridge.revert(0, [(game_op, Abandon(), 0)], payer=BOB),
        "RevertBatches needs exactly one game on batch 0 that the challenger won",
    )
    rejects(
        bridge,
        bridge.revert(0, [win], payer=CAROL),
        "RevertBatches pays the winning challenger",
    )
    rejects(
        bridge,
        bridge.revert(0, [win], payer=BOB, deposit_lists=((), (ckbhash(b"d"),))),
        "the deposit list of batch 1 (1 hash(es)) does not hash to its deposits root",
    )
    rejects(
        bridge,
        bridge.revert(0, [(game_op, Timeout(), relative_blocks(GAME_CLOCK - 1))], payer=BOB),
        f"the proposer has {GAME_CLOCK} block(s) left on its clock",
    )
    tx = bridge.revert(0, [win], payer=CAROL, payouts=payouts)
    bridge.commit_revert(tx, 0)
    state = bridge.state
    assert (state.next_batch_number, state.next_final_batch) == (0, 0)
    assert state.state_root == bridge.genesis_root
    assert chain.cells.live.get(game_op) is None
    assert (
        sum(o.capacity for o in tx.raw.outputs if o.lock == chain.lock_of(BOB)) >= 2 * BOND - BURN
    )
    rejects(bridge, tx, "is already spent", cls=DeadCell)


def test_revert_must_consume_every_open_game(bridge: Bridge) -> None:
    fake_batch(bridge, 7)
    proposer, challenger = fake_traces(bridge.batch(0).commitment, 3)
    first = commit_challenge(bridge, challenge(bridge, 0, BOB, challenger[3]), 0)
    second = commit_challenge(bridge, challenge(bridge, 0, CAROL, ckbhash(b"carol")), 0)
    assert bridge.batch(0).open_games == 2
    chain = bridge.chain
    chain.mine_until(chain.cells.live[second].block_number + GAME_CLOCK)
    win: tuple[OutPoint, GameAction, int] = (first, Timeout(), relative_blocks(GAME_CLOCK))
    payouts = winner_payouts(bridge, BOB)
    rejects(
        bridge,
        bridge.revert(0, [win], payer=BOB, payouts=payouts),
        "batch 0 has 2 open game(s) but the revert consumes 1",
    )
    both_win = [win, (second, Timeout(), relative_blocks(GAME_CLOCK))]
    rejects(
        bridge,
        bridge.revert(0, both_win, payer=BOB, payouts=payouts),
        "needs exactly one game on batch 0 that the challenger won",
        "got 2",
    )
    with_abandon = [win, (second, Abandon(), 0)]
    rejects(
        bridge,
        bridge.revert(0, with_abandon, payer=BOB, payouts=payouts),
        "RevertBatches pays abandoned game",
    )
    carol_back = (CellOutput(BOND, chain.lock_of(CAROL)), b"")
    bridge.commit_revert(
        bridge.revert(0, with_abandon, payer=BOB, payouts=[*payouts, carol_back]), 0
    )
    assert bridge.state.next_batch_number == 0
    assert proposer[0] == challenger[0]


def test_finalize_waits_for_every_game(
    opened: tuple[Bridge, OutPoint, list[bytes], list[bytes]],
) -> None:
    bridge, _game_op, _proposer, _challenger = opened
    chain = bridge.chain
    chain.mine_until(chain.tip.number + CHALLENGE)
    rejects(bridge, bridge.finalize(0), "batch 0 has 1 open game(s)")


# ----------------------------------------------------------------------------- real batches
@dataclass
class RealBatch:
    """A batch really executed on the L2, packed into real blobs."""

    number: int
    txs: list[L2Transaction]
    blobs: list[bytes]
    deposits: list[L1Deposit]
    pre: L2State
    honest: BatchCommitment
    honest_action: SubmitBatch
    trace: tuple[bytes, ...]
    withdrawals: tuple[Withdrawal, ...]


def l2_genesis() -> L2State:
    """The L2 genesis: the fee account 0 (the proposer's key, empty). Its root does not depend
    on the rollup id, so it is known before the rollup cell exists."""
    config = RollupConfig(0, bytes(32), 0, get_preset("test"), OPTIMISTIC)
    return create_genesis_state(config, [Account(PROPOSER.public_key, 0, 0)])


@pytest.fixture
def real() -> Bridge:
    chain = Chain(kzg_settings=get_kzg_settings)
    bridge = Bridge(chain, genesis_root=l2_genesis().get_root())
    bridge.create()
    return bridge


def make_txs(bridge: Bridge, n: int, deposits: list[L1Deposit]) -> list[L2Transaction]:
    """Records for a batch of ``n``: the deposits (new accounts 1, 2, …), then transfers between
    accounts 1 and 2 and, from n = 4, a withdrawal as the last record."""
    config = bridge.config
    txs: list[L2Transaction] = [
        Deposit(d.deposit_index, 1 + i, d.amount, d.public_key) for i, d in enumerate(deposits)
    ]
    nonce = 0
    while len(txs) < n:
        if n >= 4 and len(txs) == n - 1:
            withdraw = Withdraw(1, 150 * CKB, 0, nonce, ALICE.lock_args)
            txs.append(sign_transaction(withdraw, ALICE.private_key, config))
        else:
            transfer = Transfer(1, 2 if len(deposits) > 1 else 0, CKB // 100, 0, nonce)
            txs.append(sign_transaction(transfer, ALICE.private_key, config))
        nonce += 1
    return txs


def real_batch(bridge: Bridge, n: int, pre: L2State, deposit_ops: list[OutPoint]) -> RealBatch:
    state = bridge.state
    config = bridge.config
    deposits = [
        L1Deposit(
            op.serialize(),
            state.next_deposit_index + i,
            ALICE.public_key if i == 0 else BOB.public_key,
            bridge.chain.capacity(op),
        )
        for i, op in enumerate(deposit_ops)
    ]
    txs = make_txs(bridge, n, deposits)
    after = pre.copy()
    result = apply_batch(after, txs, config, {d.deposit_index: d for d in deposits})
    assert not result.rejections, result.rejections
    blobs = compute_batch_blobs(txs)
    settings = get_kzg_settings()
    versioned = tuple(compute_blob_sidecar(b, settings).versioned_hash for b in blobs)
    honest = BatchCommitment(
        batch_number=state.next_batch_number,
        prev_root=state.state_root,
        new_root=result.post_root,
        l1_block_hash=bridge.chain.tip.hash,
        tx_count=n,
        deposit_start=state.next_deposit_index,
        deposit_end=state.next_deposit_index + len(deposits),
        withdrawals_root=compute_withdrawals_root(result.withdrawals, config),
        blob_versioned_hashes=versioned,
    )
    action = SubmitBatch(after.get_accounts_root(), after.next_account_index)
    trace = compute_batch_trace(result, config)
    assert trace[-1] == compute_trace_hash(honest.new_root, honest.withdrawals_root)
    return RealBatch(
        state.next_batch_number,
        txs,
        blobs,
        deposits,
        pre,
        honest,
        action,
        trace,
        tuple(result.withdrawals),
    )


def lie(batch: RealBatch, at: int) -> tuple[BatchCommitment, SubmitBatch, list[bytes]]:
    """A dishonest claim whose trace is honest up to ``at`` and wrong after: a wrong accounts
    root with the right counters (SubmitBatch checks those)."""
    fake_accounts = ckbhash(b"fake accounts")
    action = replace(batch.honest_action, new_accounts_root=fake_accounts)
    commitment = replace(
        batch.honest,
        new_root=compute_state_root(
            fake_accounts, action.new_next_account_index, batch.honest.deposit_end, OPTIMISTIC
        ),
    )
    n = batch.honest.tx_count
    trace = [h if i <= at else ckbhash(b"lie %d" % i) for i, h in enumerate(batch.trace[:n])] + [
        compute_trace_hash(commitment.new_root, commitment.withdrawals_root)
    ]
    return commitment, action, trace


def one_step(bridge: Bridge, batch: RealBatch, commitment: BatchCommitment, at: int) -> OneStep:
    config = bridge.config
    state = batch.pre.copy()
    result = apply_batch(
        state, batch.txs[:at], config, {d.deposit_index: d for d in batch.deposits}
    )
    chain = compute_withdrawals_root(result.withdrawals, config)
    proof = build_one_step_proof(
        state, chain, at, batch.blobs, commitment, batch.deposits, config, get_kzg_settings()
    )
    return OneStep(proof.encode())


def deposits_for(bridge: Bridge, n: int) -> list[OutPoint]:
    return [bridge.deposit(ALICE)] + ([bridge.deposit(BOB)] if n >= 2 else [])


@pytest.mark.parametrize("n", [1, 2, 7])
def test_a_wrong_batch_is_bisected_to_the_one_step_and_reverted(real: Bridge, n: int) -> None:
    bridge = real
    chain = bridge.chain
    pre = l2_genesis()
    deposit_ops = deposits_for(bridge, n)
    batch = real_batch(bridge, n, pre, deposit_ops)
    at = n // 2
    commitment, action, lying_trace = lie(batch, at)
    bridge.commit(bridge.submit_batch(deposit_ops, claim=(commitment, action)))
    # A descendant on the wrong root, which the revert must take down too.
    bridge.commit(bridge.submit_batch(claim=bridge.commitment(tx_count=1)))
    honest_trace = list(batch.trace)
    mid = ZERO_HASH if n == 1 else honest_trace[dispute.get_midpoint(0, n)]
    game_op = commit_challenge(bridge, challenge(bridge, 0, BOB, mid), 0)
    game_op, moves = play(bridge, game_op, lying_trace, honest_trace, BOB)
    game = game_at(bridge, game_op)
    assert (game.game.lo, game.game.hi) == (at, at + 1)
    step = one_step(bridge, batch, commitment, at)
    # A bad witness is refused with the one-step verifier's reason.
    broken = OneStep(step.proof[:40] + bytes([step.proof[40] ^ 1]) + step.proof[41:])
    payouts = winner_payouts(bridge, BOB)
    rejects(
        bridge,
        bridge.revert(0, [(game_op, broken, 0)], payer=BOB, payouts=payouts),
        "invalid one-step proof",
    )
    tx = bridge.revert(0, [(game_op, step, 0)], payer=BOB, payouts=payouts)
    verdict = chain.verify_tx(tx)
    assert verdict.cycles >= ONE_STEP_CYCLES
    assert verdict.cycles <= chain.preset.max_tx_verify_cycles
    bridge.commit_revert(tx, 0)
    assert moves + 1 <= compute_max_moves(n)
    state = bridge.state
    hashes = tuple(
        compute_l1_deposit_hash(d.out_point, d.public_key, d.amount) for d in batch.deposits
    )
    assert (state.next_batch_number, state.state_root, state.next_deposit_index) == (
        0,
        bridge.genesis_root,
        0,
    )
    assert state.pending_forced == hashes
    # The proposer resubmits the honest batch: it consumes the pending deposits first.
    custodian = bridge.custodian_cells()
    bridge.commit(
        bridge.submit_batch(claim=(batch.honest, batch.honest_action), custodian=custodian)
    )
    assert bridge.state.pending_forced == () and bridge.state.next_deposit_index == len(hashes)


def test_an_honest_batch_beats_a_dishonest_challenger(real: Bridge) -> None:
    bridge = real
    n = 7
    pre = l2_genesis()
    deposit_ops = deposits_for(bridge, n)
    batch = real_batch(bridge, n, pre, deposit_ops)
    bridge.commit(bridge.submit_batch(deposit_ops, claim=(batch.honest, batch.honest_action)))
    honest = list(batch.trace)
    # The challenger lies from position 5 on; the game narrows to [4, 5].
    wrong = [h if i <= 4 else ckbhash(b"wrong %d" % i) for i, h in enumerate(honest)]
    game_op = commit_challenge(bridge, challenge(bridge, 0, CAROL, wrong[3]), 0)
    game_op, moves = play(bridge, game_op, honest, wrong, CAROL)
    game = game_at(bridge, game_op)
    assert game.game.hi - game.game.lo == 1 and moves + 1 <= compute_max_moves(n)
    step = one_step(bridge, batch, batch.honest, game.game.lo)
    # The proposer's win cannot revert the batch.
    rejects(
        bridge,
        bridge.revert(0, [(game_op, step, 0)], payer=CAROL),
        "the proposer wins game input",
        "it cannot revert batch 0",
    )
    commit_settle(bridge, settle_tx(bridge, game_op, step), 0)
    assert bridge.batch(0).open_games == 0
    bridge.commit_finalize(bridge_finalize_after_window(bridge, batch.withdrawals), 0)
    assert bridge.state.next_final_batch == 1 and len(batch.withdrawals) == 1


def test_a_batch_of_1024_records_on_the_devnet_preset() -> None:
    chain = Chain(kzg_settings=get_kzg_settings)
    bridge = Bridge(chain, l2_preset="devnet", genesis_root=l2_genesis().get_root())
    bridge.create()
    n = 1024
    deposit_ops = deposits_for(bridge, n)
    batch = real_batch(bridge, n, l2_genesis(), deposit_ops)
    assert len(batch.blobs) == 2
    at = 1000
    commitment, action, lying_trace = lie(batch, at)
    bridge.commit(bridge.submit_batch(deposit_ops, claim=(commitment, action)))
    mid = list(batch.trace)[dispute.get_midpoint(0, n)]
    game_op = commit_challenge(bridge, challenge(bridge, 0, BOB, mid), 0)
    game_op, moves = play(bridge, game_op, lying_trace, list(batch.trace), BOB)
    step = one_step(bridge, batch, commitment, at)
    tx = bridge.revert(0, [(game_op, step, 0)], payer=BOB, payouts=winner_payouts(bridge, BOB))
    bridge.commit_revert(tx, 0)
    assert moves + 1 <= compute_max_moves(n) == 12
    assert bridge.state.next_batch_number == 0


def test_two_challengers_lose_on_time_and_the_batch_finalizes(bridge: Bridge) -> None:
    chain = bridge.chain
    fake_batch(bridge, 7)
    proposer, challenger = fake_traces(bridge.batch(0).commitment, 3)
    games = [
        commit_challenge(bridge, challenge(bridge, 0, key, challenger[3]), 0)
        for key in (BOB, CAROL)
    ]
    assert bridge.batch(0).open_games == 2
    answered = []
    for game_op in games:
        first = dispute.choose_move(game_at(bridge, game_op).game, proposer)
        tx = move_tx(bridge, game_op, PROPOSER, Move(first.hash_at_mid, first.next_mid_hash))
        chain.mine([tx])
        answered.append(OutPoint(compute_tx_hash(tx), 0))
    chain.mine_until(chain.tip.number + GAME_CLOCK)
    for left, game_op in zip((1, 0), answered, strict=True):
        commit_settle(bridge, settle_tx(bridge, game_op, Timeout(), since=GAME_CLOCK), 0)
        assert bridge.batch(0).open_games == left
    bridge.commit_finalize(bridge_finalize_after_window(bridge), 0)
    assert bridge.state.next_final_batch == 1
