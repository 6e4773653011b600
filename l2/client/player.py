"""A dispute-game player: watches the rollup on L1 and plays its side of every game.

One engine serves both roles of docs/disputes.md: the **challenger** (``python -m challenger``)
challenges every live batch whose commitment its own derivation does not reach, and the
**proposer** (the sequencer) defends its batches. Both sides use the same pure rules
(``l2.dispute``, ``l2.onestep``) through ``BatchEvidence``.

What it knows comes from L1 alone:

- the deposit queue, by scanning blocks (``RollupL1.scan``; rescanning the last
  ``REORG_MARGIN`` blocks each poll, so a reorg rewrites what it changed);
- the live batch cells and game cells (``get_cells``: the L1's current view, so reorgs need no
  bookkeeping here);
- the L2 state before each live batch: states are content-addressed by their root, starting
  from the genesis state and extended by every batch the player finds honest. A batch built on a
  root the player never derived (a descendant of a wrong batch) is left alone: the revert of
  its ancestor removes it.

States and the deposit queue are persisted under ``data_dir``, so a restarted player resumes
after the L1 pruned the blobs of batches it already derived. Games need no persistence: they
live in L1 cells.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from l1.ckb.hashes import compute_script_hash
from l1.ckb.hashing import ckbhash
from l1.core.scripts.rollup.layout import RollupState, compute_burn
from l2.batch import BatchCommitment
from l2.client.bridge import BatchCellView, RollupL1, derive_l1_deposits
from l2.client.disputes import (
    BatchEvidence,
    DisputeL1,
    GameCellView,
    get_timeout_height,
)
from l2.config import RollupConfig
from l2.dispute import Side, choose_move, compute_max_moves
from l2.state import L2State
from l2.tx import L1Deposit

__all__ = [
    "REORG_MARGIN",
    "RETRY_AFTER_BLOCKS",
    "DisputePlayer",
    "GameReport",
    "PlayerEvent",
    "PlayerStats",
    "compute_dishonest_trace",
]

log = logging.getLogger("rollcourt.player")

#: Blocks rescanned every poll for deposits (deeper reorgs are beyond the devnet's).
REORG_MARGIN = 24
#: A transaction of ours whose input is still live this many blocks later is sent again.
RETRY_AFTER_BLOCKS = 6
_DISHONEST_TAG = b"rollcourt/dishonest-challenger"


@dataclass(frozen=True, slots=True)
class PlayerEvent:
    kind: str
    batch_number: int
    tx_hash: bytes | None
    detail: str


@dataclass(frozen=True, slots=True)
class GameReport:
    """One live game as ``GET /v1/disputes`` shows it."""

    out_point: str
    batch_number: int
    lo: int
    hi: int
    moves: int
    max_moves: int
    turn: str
    proposer_clock: int
    challenger_clock: int
    timeout_at_block: int
    ours: bool
    our_side: str | None


@dataclass(slots=True)
class PlayerStats:
    challenges: int = 0
    moves: int = 0
    one_steps: int = 0
    timeouts_claimed: int = 0
    games_won: int = 0
    games_lost: int = 0
    bonds_won_shannons: int = 0
    bonds_lost_shannons: int = 0


def compute_dishonest_trace(trace: Sequence[bytes]) -> tuple[bytes, ...]:
    """A lying trace for the test-only dishonest challenger: true up to the middle, false
    after, so the game narrows to an honest step the proposer wins."""
    n = len(trace) - 1
    split = max(1, n // 2 + 1) if n > 1 else 1
    return tuple(
        item if i < split else ckbhash(_DISHONEST_TAG + item) for i, item in enumerate(trace)
    )


@dataclass(slots=True)
class _Sent:
    tx_hash: bytes
    at_block: int


@dataclass(slots=True)
class DisputePlayer:
    """Plays ``role`` in every game of the rollup that involves ``key``'s lock."""

    l1: RollupL1
    rollup_id: bytes
    key: bytes
    config: RollupConfig
    genesis: L2State
    data_dir: Path
    role: Side = Side.CHALLENGER
    #: Test-only: batch numbers the challenger disputes although they are honest.
    dishonest: frozenset[int] = frozenset()
    #: The proposer's own claimed trace of a batch (a faulty sequencer's), if not the honest one.
    claimed_trace: Callable[[BatchEvidence], Sequence[bytes] | None] | None = None
    stats: PlayerStats = field(default_factory=PlayerStats)
    _dispute: DisputeL1 | None = None
    _states: dict[bytes, L2State] = field(default_factory=dict)
    _deposits: dict[int, L1Deposit] = field(default_factory=dict)
    _cursor: int = 0
    _evidence: dict[bytes, BatchEvidence] = field(default_factory=dict)
    _sent: dict[bytes, _Sent] = field(default_factory=dict)
    _watched: dict[bytes, GameCellView] = field(default_factory=dict)
    #: Batch numbers the dishonest fault already disputed (it lies once per number, not again
    #: after a revert re-posts the number).
    _lied: set[int] = field(default_factory=set)
    _tip: int = 0
    _lock_hash: bytes = b""
    #: The live batch and game cells the last poll read (what ``get_disputes`` reports).
    _last_view: tuple[Sequence[BatchCellView], Sequence[GameCellView]] = ((), ())

    def __post_init__(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "states").mkdir(exist_ok=True)
        self._states[self.genesis.get_root()] = self.genesis.copy()
        self._load()

    # ------------------------------------------------------------------ persistence
    @property
    def _meta_path(self) -> Path:
        return self.data_dir / "player.json"

    def _load(self) -> None:
        for path in (self.data_dir / "states").glob("*.bin"):
            try:
                state = L2State.decode(path.read_bytes(), self.config.profile)
            except Exception as exc:  # a torn write: the state is re-derived if still needed
                log.warning("ignoring unreadable state snapshot %s: %s", path.name, exc)
                continue
            self._states[state.get_root()] = state
        if self._meta_path.exists():
            meta = json.loads(self._meta_path.read_text())
            self._cursor = int(meta["cursor"])
            self._deposits = {
                int(i): L1Deposit(
                    bytes.fromhex(d["out_point"]),
                    int(i),
                    bytes.fromhex(d["public_key"]),
                    int(d["amount"]),
                )
                for i, d in meta["deposits"].items()
            }

    def _save(self) -> None:
        meta = {
            "cursor": self._cursor,
            "deposits": {
                str(i): {
                    "out_point": d.out_point.hex(),
                    "public_key": d.public_key.hex(),
                    "amount": d.amount,
                }
                for i, d in self._deposits.items()
            },
        }
        tmp = self._meta_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta))
        tmp.replace(self._meta_path)

    def _save_state(self, state: L2State) -> None:
        path = self.data_dir / "states" / f"{state.get_root().hex()}.bin"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(state.encode())
            tmp.replace(path)

    def _prune_states(self, keep: set[bytes]) -> None:
        genesis = self.genesis.get_root()
        for root in list(self._states):
            if root not in keep and root != genesis:
                del self._states[root]
                (self.data_dir / "states" / f"{root.hex()}.bin").unlink(missing_ok=True)

    # ------------------------------------------------------------------ L1 reading
    @property
    def dispute(self) -> DisputeL1:
        if self._dispute is None:
            self._dispute = DisputeL1(self.l1, self.rollup_id)
        return self._dispute

    def _scan(self, tip: int) -> None:
        start = max(0, self._cursor - REORG_MARGIN)
        scan = self.l1.scan(self.rollup_id, start, tip)
        for deposit in derive_l1_deposits(scan):
            self._deposits[deposit.deposit_index] = deposit
        self._cursor = tip + 1

    def _batch_deposits(self, commitment: BatchCommitment) -> tuple[L1Deposit, ...] | None:
        items = [
            self._deposits.get(i) for i in range(commitment.deposit_start, commitment.deposit_end)
        ]
        if any(d is None for d in items):
            return None
        return tuple(d for d in items if d is not None)

    def _get_evidence(self, batch: BatchCellView) -> BatchEvidence | None:
        cached = self._evidence.get(batch.batch.batch_hash)
        if cached is not None:
            return cached
        commitment = batch.batch.commitment
        pre = self._states.get(commitment.prev_root)
        deposits = self._batch_deposits(commitment)
        if pre is None or deposits is None:
            return None
        try:
            blobs = [self.l1.get_blob(h) for h in commitment.blob_versioned_hashes]
        except Exception as exc:
            log.warning("batch %d: its blobs are unavailable (%s)", batch.number, exc)
            return None
        evidence = BatchEvidence.compute(pre, commitment, blobs, deposits, self.config)
        self._evidence[batch.batch.batch_hash] = evidence
        if evidence.is_honest:
            post, _chain = evidence.get_state_at(commitment.tx_count)
            self._states[post.get_root()] = post
            self._save_state(post)
        return evidence

    # ------------------------------------------------------------------ the loop
    def poll_once(self) -> list[PlayerEvent]:
        """Read the L1 once and make every move that is due; returns what was done."""
        events: list[PlayerEvent] = []
        tip = self.l1.client.get_tip_block_number()
        self._tip = tip
        self._scan(tip)
        # Games before batches: a settlement removes the game cell in the same block as (or
        # before) the batch cells it reverts, so a game seen gone while its batch is still
        # listed means the batch stood -- unless the batch list is older than the game list.
        # Read in this order, a revert landing between the two reads shows the batch gone too
        # (the game is then accounted for correctly), never a won game as lost.
        games = self.dispute.list_games()
        batches = self.dispute.list_batches()
        state = self.dispute.get_rollup_state()
        self._last_view = (batches, games)
        by_hash = {b.batch.batch_hash: b for b in batches}
        for batch in batches:
            self._get_evidence(batch)
        self._account_for_ended_games(games, by_hash, state, events)
        if self.role is Side.CHALLENGER:
            self._challenge_wrong_batches(batches, games, events)
        for game in games:
            if self._is_ours(game):
                self._play(game, by_hash, events)
        keep = {b.batch.commitment.prev_root for b in batches}
        keep |= {b.batch.commitment.new_root for b in batches}
        keep.add(state.state_root)
        self._prune_states(keep)
        live = {b.batch.batch_hash for b in batches}
        self._evidence = {h: e for h, e in self._evidence.items() if h in live}
        self._save()
        return events

    def _is_ours(self, game: GameCellView) -> bool:
        if not self._lock_hash:
            self._lock_hash = self.l1.lock_hash_of(self.key)
        return compute_script_hash(game.cell.lock_of(self.role)) == self._lock_hash

    def _due(self, out_point_key: bytes) -> bool:
        sent = self._sent.get(out_point_key)
        return sent is None or self._tip >= sent.at_block + RETRY_AFTER_BLOCKS

    def _mark(self, out_point_key: bytes, tx_hash: bytes) -> None:
        self._sent[out_point_key] = _Sent(tx_hash, self._tip)

    def _our_trace(self, evidence: BatchEvidence) -> Sequence[bytes]:
        number = evidence.commitment.batch_number
        if self.role is Side.CHALLENGER and number in self.dishonest:
            return compute_dishonest_trace(evidence.trace)
        if self.role is Side.PROPOSER and self.claimed_trace is not None:
            claimed = self.claimed_trace(evidence)
            if claimed is not None:
                return claimed
        return evidence.trace

    def _challenge_wrong_batches(
        self,
        batches: Sequence[BatchCellView],
        games: Sequence[GameCellView],
        events: list[PlayerEvent],
    ) -> None:
        ours = {g.cell.batch_hash for g in games if self._is_ours(g)}
        for batch in batches:
            evidence = self._evidence.get(batch.batch.batch_hash)
            if evidence is None or batch.batch.batch_hash in ours:
                continue
            lying = batch.number in self.dishonest and batch.number not in self._lied
            if evidence.is_honest and not lying:
                continue
            key = b"challenge:" + batch.batch.batch_hash
            if not self._due(key):
                continue
            trace = self._our_trace(evidence)
            n = evidence.commitment.tx_count
            mid = trace[n // 2] if n > 1 else bytes(32)
            try:
                tx_hash = self.dispute.challenge(self.key, batch, mid)
            except Exception as exc:
                log.warning("challenge of batch %d failed: %s", batch.number, exc)
                continue
            self._mark(key, tx_hash)
            self.stats.challenges += 1
            if lying:
                self._lied.add(batch.number)
            why = "dishonest (test fault)" if lying else "its root differs from the derived one"
            events.append(PlayerEvent("challenge", batch.number, tx_hash, why))

    def _play(
        self, game: GameCellView, by_hash: dict[bytes, BatchCellView], events: list[PlayerEvent]
    ) -> None:
        try:
            self._play_game(game, by_hash, events)
        except Exception as exc:  # funds in flight, a racing opponent: try again next poll
            log.warning("game on batch %d: %s", game.cell.batch_number, exc)

    def _play_game(
        self, game: GameCellView, by_hash: dict[bytes, BatchCellView], events: list[PlayerEvent]
    ) -> None:
        key = game.out_point.serialize()
        self._watched[key] = game
        if not self._due(key):
            return
        batch = by_hash.get(game.cell.batch_hash)
        evidence = None if batch is None else self._evidence.get(batch.batch.batch_hash)
        if evidence is None:
            return
        state = game.game
        number = game.cell.batch_number
        if state.is_one_step:
            winner = (
                evidence.get_one_step_winner(state)
                if number not in self.dishonest
                else Side.PROPOSER
            )
            if winner is self.role:
                tx_hash, _ = self.dispute.one_step(self.key, game, evidence, self._deposits)
                self._mark(key, tx_hash)
                self.stats.one_steps += 1
                events.append(
                    PlayerEvent("one_step", number, tx_hash, f"record {state.lo} settles it")
                )
                return
        if game.to_move is self.role and not state.is_one_step:
            move = choose_move(state, self._our_trace(evidence))
            tx_hash = self.dispute.move(self.key, game, move)
            self._mark(key, tx_hash)
            self.stats.moves += 1
            events.append(PlayerEvent("move", number, tx_hash, f"range [{state.lo}, {state.hi}]"))
            return
        if game.to_move is not self.role and self._tip >= get_timeout_height(game):
            tx_hash, _ = self.dispute.claim_timeout(self.key, game, self._deposits)
            self._mark(key, tx_hash)
            self.stats.timeouts_claimed += 1
            events.append(
                PlayerEvent("timeout", number, tx_hash, f"the {game.to_move.name.lower()} ran out")
            )

    def _account_for_ended_games(
        self,
        games: Sequence[GameCellView],
        by_hash: dict[bytes, BatchCellView],
        state: RollupState,
        events: list[PlayerEvent],
    ) -> None:
        """Our games that disappeared since the last poll: who won."""
        live = {g.out_point.serialize() for g in games}
        burn = compute_burn(state.bond, state.burn_permille)
        for key, game in list(self._watched.items()):
            if key in live:
                continue
            del self._watched[key]
            self._sent.pop(key, None)
            # A move replaced the cell: its successor is in ``games`` with the same batch.
            if any(g.cell.batch_hash == game.cell.batch_hash and self._is_ours(g) for g in games):
                continue
            batch_live = game.cell.batch_hash in by_hash
            proposer_won = batch_live
            won = proposer_won == (self.role is Side.PROPOSER)
            if won:
                self.stats.games_won += 1
                self.stats.bonds_won_shannons += game.cell.bond - burn
                events.append(PlayerEvent("won", game.cell.batch_number, None, "game settled"))
            else:
                self.stats.games_lost += 1
                self.stats.bonds_lost_shannons += game.cell.bond
                events.append(PlayerEvent("lost", game.cell.batch_number, None, "game settled"))

    # ------------------------------------------------------------------ reporting
    def get_disputes(self) -> list[GameReport]:
        """Every live game of the rollup (from the last poll's L1 view)."""
        reports = []
        batches, games = self._last_view
        counts = {b.batch.batch_hash: b.batch.commitment.tx_count for b in batches}
        for game in games:
            state = game.game
            ours = self._is_ours(game)
            tx_count = counts.get(game.cell.batch_hash, state.hi)
            reports.append(
                GameReport(
                    out_point=f"0x{game.out_point.tx_hash.hex()}:{game.out_point.index}",
                    batch_number=game.cell.batch_number,
                    lo=state.lo,
                    hi=state.hi,
                    moves=state.moves,
                    max_moves=compute_max_moves(tx_count),
                    turn=state.turn.name.lower(),
                    proposer_clock=game.cell.proposer_clock,
                    challenger_clock=game.cell.challenger_clock,
                    timeout_at_block=get_timeout_height(game),
                    ours=ours,
                    our_side=self.role.name.lower() if ours else None,
                )
            )
        return reports
