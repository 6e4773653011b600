"""The bisection game (l2/dispute.py): honest play always narrows a dispute to the first trace
position where the two sides differ, within ``compute_max_moves(n)`` moves, whichever side lies;
``apply_move`` refuses moves out of turn, in the one-step phase, and malformed midpoint claims."""

from __future__ import annotations

import pytest

from l1.ckb.hashing import ckbhash
from l2.dispute import (
    ZERO_HASH,
    GameState,
    Move,
    Side,
    apply_move,
    choose_move,
    compute_max_moves,
    compute_trace_hash,
    get_midpoint,
    open_game,
)
from l2.errors import InvalidMove


def honest_trace(n: int) -> list[bytes]:
    return [ckbhash(b"honest %d" % i) for i in range(n + 1)]


def lying_trace(n: int, first_wrong: int) -> list[bytes]:
    """Agrees with the honest trace before ``first_wrong``, differs from there to ``n``."""
    honest = honest_trace(n)
    return honest[:first_wrong] + [ckbhash(b"lie %d" % i) for i in range(first_wrong, n + 1)]


def play(n: int, proposer: list[bytes], challenger: list[bytes]) -> GameState:
    """Both sides play ``choose_move`` with their own traces until one step remains."""
    first_mid = ZERO_HASH if n == 1 else challenger[get_midpoint(0, n)]
    state = open_game(n, proposer[0], proposer[n], first_mid)
    while not state.is_one_step:
        mover = state.turn
        own = proposer if mover is Side.PROPOSER else challenger
        state = apply_move(state, mover, choose_move(state, own))
        assert state.moves < compute_max_moves(n)  # room is left for the one-step proof
    return state


def wrong_positions(n: int) -> list[int]:
    return sorted({1, (n + 1) // 2, n})


@pytest.mark.parametrize("n", [1, 2, 3, 7, 16, 1024])
def test_a_lying_proposer_is_narrowed_to_its_first_wrong_step(n):
    honest = honest_trace(n)
    for first_wrong in wrong_positions(n):
        lie = lying_trace(n, first_wrong)
        state = play(n, lie, honest)
        assert (state.lo, state.hi) == (first_wrong - 1, first_wrong)
        assert state.lo_hash == honest[first_wrong - 1] == lie[first_wrong - 1]
        assert state.hi_hash == lie[first_wrong] != honest[first_wrong]
        assert state.mid_hash == ZERO_HASH
        assert state.moves + 1 <= compute_max_moves(n)  # + the one-step proof


@pytest.mark.parametrize("n", [1, 2, 3, 7, 16, 1024])
def test_a_lying_challenger_is_narrowed_to_its_first_wrong_step(n):
    """The proposer is honest; the challenger's trace diverges at ``first_wrong``.  The final
    step then carries the proposer's honest claim, which the one-step proof confirms."""
    honest = honest_trace(n)
    for first_wrong in wrong_positions(n):
        if first_wrong == n:
            # the challenger agrees with everything but the claim itself, which is honest
            continue
        lie = lying_trace(n, first_wrong)
        state = play(n, honest, lie)
        assert (state.lo, state.hi) == (first_wrong - 1, first_wrong)
        assert state.lo_hash == honest[first_wrong - 1]
        assert state.hi_hash == honest[first_wrong]
        assert state.moves + 1 <= compute_max_moves(n)


def test_max_moves():
    assert [compute_max_moves(n) for n in (1, 2, 3, 4, 5, 1023, 1024, 1025, 2047)] == [
        2,
        3,
        4,
        4,
        5,
        12,
        12,
        13,
        13,
    ]
    with pytest.raises(InvalidMove, match="empty"):
        compute_max_moves(0)
    with pytest.raises(InvalidMove, match="empty"):
        open_game(0, ZERO_HASH, ZERO_HASH, ZERO_HASH)


def test_trace_hash_domain():
    root, chain = b"\x01" * 32, b"\x02" * 32
    assert compute_trace_hash(root, chain) == ckbhash(b"rollcourt/trace/v1" + root + chain)
    assert compute_trace_hash(root, chain) != compute_trace_hash(chain, root)
    with pytest.raises(InvalidMove, match="32-byte"):
        compute_trace_hash(root, b"")


# ----------------------------------------------------------------------------- apply_move errors
def _game(n: int = 8) -> tuple[GameState, list[bytes], list[bytes]]:
    honest = honest_trace(n)
    lie = lying_trace(n, 3)
    return open_game(n, lie[0], lie[n], honest[get_midpoint(0, n)]), lie, honest


def test_a_move_out_of_turn_is_refused():
    state, _, honest = _game()
    assert state.turn is Side.PROPOSER
    with pytest.raises(InvalidMove, match="proposer's turn, not the challenger's"):
        apply_move(state, Side.CHALLENGER, choose_move(state, honest))


def test_no_move_in_the_one_step_phase():
    state = open_game(1, b"\x01" * 32, b"\x02" * 32, ZERO_HASH)
    assert state.is_one_step and state.midpoint is None
    with pytest.raises(InvalidMove, match="settle it with the one-step proof"):
        apply_move(state, Side.PROPOSER, Move(b"\x03" * 32, ZERO_HASH))
    with pytest.raises(InvalidMove, match="one-step proof instead"):
        choose_move(state, honest_trace(1))
    with pytest.raises(InvalidMove, match="mid_hash must be zero"):
        open_game(1, b"\x01" * 32, b"\x02" * 32, b"\x03" * 32)


def test_next_mid_must_be_zero_exactly_when_one_step_remains():
    # n = 2: the first move leaves a one-step range either way
    state = open_game(2, b"\x01" * 32, b"\x02" * 32, b"\x03" * 32)
    with pytest.raises(InvalidMove, match="one step: the next midpoint claim must be zero"):
        apply_move(state, Side.PROPOSER, Move(b"\x04" * 32, b"\x05" * 32))
    after = apply_move(state, Side.PROPOSER, Move(b"\x04" * 32, ZERO_HASH))
    assert (after.lo, after.hi, after.hi_hash) == (0, 1, b"\x04" * 32)
    # n = 8: the range after the first move has 4 steps and needs a midpoint claim
    state, lie, _ = _game()
    with pytest.raises(InvalidMove, match=r"\[0, 4\] needs a claim at its midpoint"):
        apply_move(state, Side.PROPOSER, Move(lie[4], ZERO_HASH))


def test_agreeing_and_disagreeing_moves():
    state, lie, honest = _game()  # the proposer's trace is wrong from position 3
    # proposer disagrees at 4 (its lie[4] != honest[4]): range [0, 4], hi_hash = lie[4]
    state = apply_move(state, Side.PROPOSER, choose_move(state, lie))
    assert (state.lo, state.hi, state.hi_hash, state.turn) == (0, 4, lie[4], Side.CHALLENGER)
    assert state.mid_hash == lie[2] == honest[2]
    # challenger agrees at 2: range [2, 4], lo_hash = honest[2]
    state = apply_move(state, Side.CHALLENGER, choose_move(state, honest))
    assert (state.lo, state.hi, state.lo_hash) == (2, 4, honest[2])
    assert state.mid_hash == honest[3]
    # proposer disagrees at 3 (its lie): range [2, 3] with its claim lie[3]
    state = apply_move(state, Side.PROPOSER, choose_move(state, lie))
    assert (state.lo, state.hi, state.hi_hash, state.mid_hash) == (2, 3, lie[3], ZERO_HASH)
    assert state.moves == 4 <= compute_max_moves(8) - 1


def test_game_state_validation():
    with pytest.raises(InvalidMove, match="non-empty u32 range"):
        GameState(3, 3, ZERO_HASH, ZERO_HASH, ZERO_HASH, Side.PROPOSER, 1)
    with pytest.raises(InvalidMove, match="32 bytes"):
        GameState(0, 4, b"", ZERO_HASH, ZERO_HASH, Side.PROPOSER, 1)
    with pytest.raises(InvalidMove, match="move count"):
        GameState(0, 4, ZERO_HASH, ZERO_HASH, b"\x01" * 32, Side.PROPOSER, 0)
    with pytest.raises(InvalidMove, match="two 32-byte"):
        Move(b"", ZERO_HASH)
