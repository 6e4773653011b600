"""The bisection game over a batch's trace (DESIGN.md §4; docs/disputes.md).

Pure rules shared by the L1's ``rollup_game`` verifier, the challenger and the defending
sequencer, so the court and the players can never disagree on what a move means.

**Trace.** Position ``i`` of a batch of ``n`` records is the pair (state root, withdrawal chain)
after its first ``i`` records, committed as ``compute_trace_hash``. Position 0 is
``(prev_root, 0³²)`` and position ``n`` is what the commitment claims:
``(new_root, withdrawals_root)``. Folding the withdrawal chain into the trace makes a wrong
withdrawals root as disputable as a wrong state root: a single step shows which withdrawal a
record adds.

**Game.** A challenger disputes the proposer's claim at ``n``. The state keeps a range
``[lo, hi]``: both sides agree on the trace hash at ``lo`` (``lo_hash``); ``hi_hash`` is the
*proposer's* claim at ``hi``, which the challenger contests. ``mid_hash`` is the last mover's
claim at ``get_midpoint(lo, hi)``. A move answers that claim with the mover's own hash at the
midpoint: equal means agreed, so the range becomes ``[mid, hi]``; different means the dispute is
in ``[lo, mid]`` (where the proposer's claim at ``mid`` -- whoever stated it -- becomes
``hi_hash``). In the same move the mover states its hash at the new range's midpoint. The
challenge itself states the first midpoint, so every later move halves the range once: a batch
of ``n`` needs at most ``ceil(log2 n)`` moves after the challenge, then one one-step proof --
``ceil(log2 n) + 2`` in all. Turns alternate (the proposer moves first); when one step remains
the side to move must settle it with the one-step proof (either side may) or lose on time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Final

from l1.ckb.hashing import ckbhash
from l2.errors import InvalidMove

__all__ = [
    "TRACE_DOMAIN_TAG",
    "ZERO_HASH",
    "GameState",
    "Move",
    "Side",
    "apply_move",
    "choose_move",
    "compute_max_moves",
    "compute_trace_hash",
    "get_midpoint",
    "open_game",
]

TRACE_DOMAIN_TAG: Final = b"rollcourt/trace/v1"
ZERO_HASH: Final = bytes(32)


class Side(IntEnum):
    PROPOSER = 0
    CHALLENGER = 1

    @property
    def other(self) -> Side:
        return Side.CHALLENGER if self is Side.PROPOSER else Side.PROPOSER


def compute_trace_hash(state_root: bytes, withdrawals_chain: bytes) -> bytes:
    """``ckbhash("rollcourt/trace/v1" ‖ state_root ‖ withdrawals_chain)``: one trace position.
    Always ckbhash (the L1 compares these natively), whatever the profile."""
    if len(state_root) != 32 or len(withdrawals_chain) != 32:
        raise InvalidMove("a trace position is a 32-byte root and a 32-byte withdrawal chain")
    return ckbhash(TRACE_DOMAIN_TAG + state_root + withdrawals_chain)


def get_midpoint(lo: int, hi: int) -> int:
    """The bisection point of ``[lo, hi]`` (``hi - lo >= 2``): ``lo + (hi - lo) // 2``."""
    return lo + (hi - lo) // 2


def compute_max_moves(tx_count: int) -> int:
    """The most moves a game over ``tx_count`` records takes, counting the challenge and the
    one-step proof: ``ceil(log2 n) + 2``."""
    if tx_count < 1:
        raise InvalidMove("an empty batch cannot be disputed")
    return (tx_count - 1).bit_length() + 2


@dataclass(frozen=True, slots=True)
class GameState:
    """Where a game stands; the L1 stores it in the game cell (docs/disputes.md)."""

    lo: int
    hi: int
    lo_hash: bytes
    hi_hash: bytes
    #: The last mover's claim at ``get_midpoint(lo, hi)``; zero once one step remains.
    mid_hash: bytes
    turn: Side
    #: Moves made so far, the challenge included.
    moves: int

    def __post_init__(self) -> None:
        if not 0 <= self.lo < self.hi < 1 << 32:
            raise InvalidMove(f"range [{self.lo}, {self.hi}] is not a non-empty u32 range")
        for name in ("lo_hash", "hi_hash", "mid_hash"):
            if len(getattr(self, name)) != 32:
                raise InvalidMove(f"{name} must be 32 bytes")
        if self.is_one_step and self.mid_hash != ZERO_HASH:
            raise InvalidMove("a one-step range has no midpoint claim (mid_hash must be zero)")
        if not 1 <= self.moves < 1 << 16:
            raise InvalidMove(f"move count {self.moves} is not in 1..65535")

    @property
    def is_one_step(self) -> bool:
        return self.hi - self.lo == 1

    @property
    def midpoint(self) -> int | None:
        return None if self.is_one_step else get_midpoint(self.lo, self.hi)


@dataclass(frozen=True, slots=True)
class Move:
    """A bisection move: the mover's trace hash at the current midpoint, and at the midpoint of
    the range that results (zero when that range is a single step)."""

    hash_at_mid: bytes
    next_mid_hash: bytes

    def __post_init__(self) -> None:
        if len(self.hash_at_mid) != 32 or len(self.next_mid_hash) != 32:
            raise InvalidMove("a move carries two 32-byte trace hashes")


def open_game(
    tx_count: int, pre_hash: bytes, claimed_hash: bytes, challenger_mid_hash: bytes
) -> GameState:
    """The state a challenge creates: range ``[0, tx_count]``, the proposer to move.

    ``challenger_mid_hash`` is the challenger's hash at the first midpoint (zero for a batch of
    one record, which is a single step from the start)."""
    if tx_count < 1:
        raise InvalidMove("an empty batch cannot be disputed (its new root is its prev root)")
    return GameState(0, tx_count, pre_hash, claimed_hash, challenger_mid_hash, Side.PROPOSER, 1)


def apply_move(state: GameState, mover: Side, move: Move) -> GameState:
    """The state after ``mover``'s move; raises ``InvalidMove`` for a move out of turn, during
    the one-step phase, or with a malformed midpoint claim."""
    if mover is not state.turn:
        raise InvalidMove(
            f"it is the {state.turn.name.lower()}'s turn, not the {mover.name.lower()}'s"
        )
    mid = state.midpoint
    if mid is None:
        raise InvalidMove(
            f"one step remains (record {state.lo}): settle it with the one-step proof"
        )
    if move.hash_at_mid == state.mid_hash:
        lo, hi, lo_hash, hi_hash = mid, state.hi, move.hash_at_mid, state.hi_hash
    else:
        proposer_at_mid = move.hash_at_mid if mover is Side.PROPOSER else state.mid_hash
        lo, hi, lo_hash, hi_hash = state.lo, mid, state.lo_hash, proposer_at_mid
    if hi - lo == 1:
        if move.next_mid_hash != ZERO_HASH:
            raise InvalidMove(
                f"the range [{lo}, {hi}] is one step: the next midpoint claim must be zero"
            )
    elif move.next_mid_hash == ZERO_HASH:
        raise InvalidMove(f"the range [{lo}, {hi}] needs a claim at its midpoint")
    return replace(
        state,
        lo=lo,
        hi=hi,
        lo_hash=lo_hash,
        hi_hash=hi_hash,
        mid_hash=move.next_mid_hash,
        turn=mover.other,
        moves=state.moves + 1,
    )


def choose_move(state: GameState, trace: Sequence[bytes]) -> Move:
    """The honest move for the side to move, given its own trace hashes ``trace[0..n]``."""
    mid = state.midpoint
    if mid is None:
        raise InvalidMove("one step remains: submit the one-step proof instead of a move")
    own = trace[mid]
    if own == state.mid_hash:
        lo, hi = mid, state.hi
    else:
        lo, hi = state.lo, mid
    next_mid = ZERO_HASH if hi - lo == 1 else trace[get_midpoint(lo, hi)]
    if next_mid == ZERO_HASH and hi - lo > 1:  # pragma: no cover - a hash is never zero
        raise InvalidMove("trace hash is zero")
    return Move(own, next_mid)
