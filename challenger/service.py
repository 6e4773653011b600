"""The challenger service: a ``DisputePlayer`` (``l2.client.player``) on the challenger's side,
polled in a background thread, with every action persisted and counted.

Start-up (``open_challenger``) reads everything protocol-related from the L1, never from flags:
the rollup cell gives the chain id, fee account and L2 preset, so the ``RollupConfig`` is the
one the L1's one-step verifier uses; the genesis account set is the one whose root is the
rollup's genesis root.  A challenger with the wrong genesis would derive different roots from
the first batch on and challenge honest batches -- losing its bonds -- so a provable mismatch is
fatal.  The L1 may still be starting (the devnet starts roles together): it is retried with
backoff for ``l1_wait`` seconds before giving up.

The loop (``Challenger.poll``): one ``poll_once`` of the player, its events written to the
store, then a refresh of the live games the API serves.  The API thread never calls the player
(it is not thread-safe: it shares an RPC client and caches with the poll); it reads what the
last poll cached.  A failing poll is logged on one line, counted and retried next interval --
the loop never dies, since a missed move costs a bond.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

import httpx

from challenger.config import ChallengerConfig, check_fault_allowed
from challenger.store import EventLike, EventStore, StoredEvent
from l1.client import L1Client, L1RpcError
from l2.client.bridge import RollupCell, RollupL1
from l2.config import RollupConfig
from l2.preset import get_preset
from l2.profile import OPTIMISTIC
from l2.state import Account, L2State, create_genesis_state
from sequencer.crash import DataDirLock as SequencerDataDirLock

__all__ = [
    "GAME_FIELDS",
    "STAT_FIELDS",
    "Challenger",
    "ChallengerStartupError",
    "DataDirLock",
    "GameLike",
    "L1Unreachable",
    "PlayerLike",
    "build_rollup_config",
    "choose_genesis",
    "connect_l1",
    "find_genesis_root",
    "genesis_candidates",
    "open_challenger",
]

log = logging.getLogger("challenger")

#: The ``GameReport`` fields served by ``GET /v1/disputes``, in order.
GAME_FIELDS: Final = (
    "out_point",
    "batch_number",
    "lo",
    "hi",
    "moves",
    "max_moves",
    "turn",
    "proposer_clock",
    "challenger_clock",
    "timeout_at_block",
    "ours",
    "our_side",
)
#: The ``PlayerStats`` counters, in order.
STAT_FIELDS: Final = (
    "challenges",
    "moves",
    "one_steps",
    "timeouts_claimed",
    "games_won",
    "games_lost",
    "bonds_won_shannons",
    "bonds_lost_shannons",
)
#: Errors that mean "the L1 did not answer" (as opposed to a bug or a refused transaction).
TRANSPORT_ERRORS: Final = (httpx.TransportError,)
#: Start-up retry backoff: first and largest pause between attempts, seconds.
FIRST_BACKOFF: Final = 0.25
MAX_BACKOFF: Final = 4.0


class ChallengerStartupError(Exception):
    """The challenger refuses to start (lock held, wrong genesis, unknown rollup, ...)."""


class L1Unreachable(ChallengerStartupError):
    """The L1 node did not answer within the start-up wait."""


class GameLike(Protocol):
    """What the service reads of a ``l2.client.player.GameReport`` (attributes GAME_FIELDS)."""

    @property
    def out_point(self) -> str: ...
    @property
    def ours(self) -> bool: ...


class PlayerLike(Protocol):
    """The part of ``l2.client.player.DisputePlayer`` the service drives (a fake in tests)."""

    @property
    def stats(self) -> Any: ...
    def poll_once(self) -> Sequence[EventLike]: ...
    def get_disputes(self) -> Sequence[GameLike]: ...


# ----------------------------------------------------------------------------- data-dir lock
class DataDirLock(SequencerDataDirLock):
    """An exclusive ``flock`` on ``<data dir>/LOCK`` for the process's life (the sequencer's
    lock, with the challenger's name and error): two challengers on one data dir would race on
    the player's snapshots and double-spend the same funding cells."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, role="challenger", error=ChallengerStartupError)


# ----------------------------------------------------------------------------- the service
@dataclass(frozen=True, slots=True)
class Health:
    status: str
    l1: bool | None
    last_poll_at: float | None
    last_error: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "l1": self.l1,
            "last_poll_at": self.last_poll_at,
            "last_error": self.last_error,
        }


def game_to_json(game: GameLike) -> dict[str, Any]:
    return {name: getattr(game, name) for name in GAME_FIELDS}


def log_event(item: EventLike) -> None:
    tx = "" if item.tx_hash is None else f" tx 0x{item.tx_hash.hex()}"
    log.info("%s batch %d%s: %s", item.kind, item.batch_number, tx, item.detail)


def stats_to_json(stats: Any) -> dict[str, int]:
    return {name: int(getattr(stats, name, 0)) for name in STAT_FIELDS}


class Challenger:
    """The poll loop around a player, and the thread-safe views the HTTP app serves."""

    def __init__(
        self,
        player: PlayerLike,
        store: EventStore,
        *,
        rollup_id: bytes,
        poll_interval: float = 1.0,
        on_close: Sequence[Callable[[], None]] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.player = player
        self.store = store
        self.rollup_id = rollup_id
        self.poll_interval = poll_interval
        self._on_close = list(on_close)
        self._clock = clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._games: list[dict[str, Any]] = []
        self._stats: dict[str, int] = stats_to_json(player.stats)
        self.polls = 0
        self.poll_errors = 0
        self.last_poll_at: float | None = None
        self.last_error: str | None = None
        self.l1_reachable: bool | None = None

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="challenger-poll", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(60)
            self._thread = None
        self.store.close()
        for callback in reversed(self._on_close):
            callback()
        self._on_close.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self.poll_interval)

    # ------------------------------------------------------------------ one poll
    def poll(self) -> list[StoredEvent]:
        """One round; never raises (a failure is logged on one line, counted and kept as
        ``last_error`` until the next good poll).  Events are logged before they are stored,
        so an action survives in the log even if the database write fails."""
        try:
            events = self.player.poll_once()
            for item in events:
                log_event(item)
            stored = self.store.add_events(events, at=self._clock()) if events else []
            games = [game_to_json(g) for g in self.player.get_disputes()]
        except Exception as exc:  # the loop must outlive any one failure
            self._record_failure(exc)
            return []
        with self._lock:
            self._games = games
            self._stats = stats_to_json(self.player.stats)
            self.polls += 1
            self.last_poll_at = self._clock()
            self.last_error = None
            self.l1_reachable = True
        return stored

    def _record_failure(self, exc: Exception) -> None:
        message = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.poll_errors += 1
            self.last_error = message
            if isinstance(exc, TRANSPORT_ERRORS):
                self.l1_reachable = False
            # a JSON-RPC error is an answer: the L1 is reachable, the request was refused
            elif isinstance(exc, L1RpcError):
                self.l1_reachable = True
        log.warning("poll failed: %s", message)
        log.debug("poll failure details", exc_info=exc)

    # ------------------------------------------------------------------ views (the app)
    def get_games(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._games)

    def get_stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self._stats)

    def get_health(self) -> Health:
        """``ok`` when the last poll succeeded recently; ``degraded`` before the first good
        poll, after a failed one, or when polls have stalled."""
        with self._lock:
            last_at, error, reachable = self.last_poll_at, self.last_error, self.l1_reachable
        stale_after = max(30.0, 10 * self.poll_interval)
        fresh = last_at is not None and self._clock() - last_at <= stale_after
        status = "ok" if fresh and error is None else "degraded"
        return Health(status, reachable, last_at, error)


# ----------------------------------------------------------------------------- start-up
def connect_l1(url: str, wait: float, sleep: Callable[[float], None] = time.sleep) -> RollupL1:
    """A ``RollupL1`` over ``url``, retrying with backoff for ``wait`` seconds while the node
    does not answer (it may be starting alongside us)."""
    deadline = time.monotonic() + wait
    pause = FIRST_BACKOFF
    while True:
        client = L1Client(url, timeout=15.0)
        try:
            return RollupL1(client)
        except (*TRANSPORT_ERRORS, OSError, L1RpcError) as exc:
            client.close()
            if time.monotonic() + pause > deadline:
                raise L1Unreachable(
                    f"the L1 at {url} did not answer within {wait:g} s "
                    f"({type(exc).__name__}: {exc}); is the node running?"
                ) from None
            log.info("waiting for the L1 at %s (%s)", url, type(exc).__name__)
        sleep(pause)
        pause = min(pause * 2, MAX_BACKOFF)


def read_rollup_cell(
    l1: RollupL1, rollup_id: bytes, wait: float, sleep: Callable[[float], None] = time.sleep
) -> RollupCell:
    """The live rollup cell, retried for ``wait`` seconds (its creation may not be committed
    yet when the devnet starts every role together)."""
    deadline = time.monotonic() + wait
    pause = FIRST_BACKOFF
    while True:
        try:
            return l1.find_rollup_cell(rollup_id)
        except (*TRANSPORT_ERRORS, OSError, L1RpcError, LookupError) as exc:
            if time.monotonic() + pause > deadline:
                if isinstance(exc, LookupError):
                    raise ChallengerStartupError(
                        f"no rollup 0x{rollup_id.hex()} on the L1 at {l1.client.url}: {exc}"
                    ) from None
                raise L1Unreachable(
                    f"the L1 at {l1.client.url} stopped answering ({type(exc).__name__}: {exc})"
                ) from None
        sleep(pause)
        pause = min(pause * 2, MAX_BACKOFF)


def build_rollup_config(rollup_id: bytes, cell: RollupCell) -> RollupConfig:
    """The L2 rules the L1 enforces for this rollup: chain id, fee account and preset from its
    rollup cell (the one-step proof runs the STF with exactly these)."""
    state = cell.state
    try:
        preset = get_preset(state.l2_preset)
    except KeyError as exc:
        raise ChallengerStartupError(f"the rollup's L2 preset is unusable: {exc}") from None
    if preset.profile != OPTIMISTIC.name:
        raise ChallengerStartupError(
            f"rollup 0x{rollup_id.hex()} is a validity rollup (preset {preset.name!r}): the L1 "
            "verifies a proof of every batch, there is nothing to challenge"
        )
    return RollupConfig(
        chain_id=state.chain_id,
        rollup_id=rollup_id,
        fee_account=state.fee_account,
        preset=preset,
        profile=OPTIMISTIC,
    )


def find_genesis_root(l1: RollupL1, rollup_id: bytes, cell: RollupCell) -> bytes | None:
    """The rollup's genesis root if the L1 still shows it cheaply: the state root while no
    batch is accepted (a revert to batch 0 restores it too), else batch 0's ``prev_root`` while
    its cell is live.  None once batch 0 is finalized (then it cannot be checked here)."""
    if cell.state.next_batch_number == 0:
        return cell.state.state_root
    first = l1.find_batch_cell(rollup_id, 0)
    return None if first is None else first.commitment.prev_root


def genesis_candidates(source: str) -> list[tuple[str, list[Account]]]:
    """The account sets ``--genesis-accounts`` may mean, the sequencer's reading first: on an
    L1, ``devnet`` is the empty genesis (every balance comes from a deposit); the devnet
    accounts (a rollup deployed with them) are the fallback."""
    from sequencer.config import load_genesis_accounts

    if source == "devnet":
        return [("empty", []), ("devnet", load_genesis_accounts("devnet"))]
    return [(source, load_genesis_accounts(source))]


def choose_genesis(
    config: RollupConfig,
    candidates: Sequence[tuple[str, Sequence[Account]]],
    expected_root: bytes | None,
) -> tuple[str, L2State]:
    """The candidate whose genesis root is ``expected_root`` (the first one when the root is
    unknown); ``ChallengerStartupError`` when none is."""
    built = [(name, create_genesis_state(config, accounts)) for name, accounts in candidates]
    if expected_root is None:
        name, state = built[0]
        log.warning(
            "cannot check the genesis (batch 0 is final on L1); assuming genesis accounts %r "
            "(root 0x%s)",
            name,
            state.get_root().hex(),
        )
        return name, state
    for name, state in built:
        if state.get_root() == expected_root:
            return name, state
    tried = ", ".join(f"{name} (0x{state.get_root().hex()})" for name, state in built)
    raise ChallengerStartupError(
        f"the rollup's genesis root is 0x{expected_root.hex()}, but the genesis accounts "
        f"tried give {tried}; pass the rollup's --genesis-accounts"
    )


def open_challenger(config: ChallengerConfig) -> Challenger:
    """Everything ``python -m challenger`` needs before serving: the lock, the L1, the rollup's
    rules and genesis, the player and the store.  Raises ``ConfigError`` (bad settings,
    including a refused fault), ``L1Unreachable`` or ``ChallengerStartupError``."""
    from l2.client.player import DisputePlayer
    from l2.dispute import Side

    rollup_id = config.resolved_rollup_id()
    key = config.private_key()
    lock = DataDirLock(config.data_dir / "LOCK").acquire()
    closers: list[Callable[[], None]] = [lock.release]
    try:
        l1 = connect_l1(config.l1_url, config.l1_wait)
        closers.append(l1.client.close)
        cell = read_rollup_cell(l1, rollup_id, config.l1_wait)
        check_fault_allowed(config.fault, cell.state.l2_preset)
        rollup_config = build_rollup_config(rollup_id, cell)
        name, genesis = choose_genesis(
            rollup_config,
            genesis_candidates(config.genesis_accounts),
            find_genesis_root(l1, rollup_id, cell),
        )
        store = EventStore(config.resolved_database_url())
        try:
            store.bind_rollup(rollup_id)
        except Exception:
            store.close()
            raise
        player = DisputePlayer(
            l1,
            rollup_id,
            key,
            rollup_config,
            genesis,
            config.player_dir,
            role=Side.CHALLENGER,
            dishonest=config.dishonest_batches(),
        )
    except BaseException:
        for close in reversed(closers):
            close()
        raise
    log.info(
        "challenging rollup 0x%s (preset %s, chain id %d, genesis %s) as lock 0x%s",
        rollup_id.hex(),
        cell.state.l2_preset,
        cell.state.chain_id,
        name,
        l1.lock_hash_of(key).hex(),
    )
    return Challenger(
        player,
        store,
        rollup_id=rollup_id,
        poll_interval=config.poll_interval,
        on_close=closers,
    )
