"""The proposer's side of the dispute game: the sequencer defends the batches it posted.

A thread runs ``l2.client.player.DisputePlayer`` in the proposer role with the sequencer's L1
key: it answers every move on a game against one of its batches with its own trace, settles the
one step when the proof makes it win, and claims the challenger's bond when the challenger's
clock runs out. The trace it defends is the one it claimed: the honest one, or -- with the
test-only ``wrong-root`` fault -- the faulty one it really computed (``sequencer.faults``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from l2.client.bridge import RollupL1
from l2.client.disputes import BatchEvidence
from l2.client.player import DisputePlayer, GameReport, PlayerEvent
from l2.config import RollupConfig
from l2.dispute import Side
from l2.state import L2State

__all__ = ["Defender"]

log = logging.getLogger("sequencer.defender")


class Defender:
    """Polls the L1 every ``interval`` seconds and plays the proposer's moves."""

    def __init__(
        self,
        l1: Callable[[], RollupL1],
        rollup_id: bytes,
        key: bytes,
        config: RollupConfig,
        genesis: L2State,
        data_dir: Path,
        *,
        claimed_trace: Callable[[BatchEvidence], Sequence[bytes] | None] | None = None,
        interval: float = 1.0,
    ) -> None:
        self._l1 = l1
        self._args = (rollup_id, key, config, genesis, data_dir, claimed_trace)
        self.interval = interval
        self.player: DisputePlayer | None = None
        self.events: list[PlayerEvent] = []
        #: The live games of the rollup as of the last poll (``/v1/disputes`` serves this copy,
        #: so the API never waits on the L1).
        self.reports: list[GameReport] = []
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="defender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _get_player(self) -> DisputePlayer:
        if self.player is None:
            rollup_id, key, config, genesis, data_dir, claimed_trace = self._args
            self.player = DisputePlayer(
                self._l1(),
                rollup_id,
                key,
                config,
                genesis,
                data_dir,
                role=Side.PROPOSER,
                claimed_trace=claimed_trace,
            )
        return self.player

    def poll_once(self) -> list[PlayerEvent]:
        events = self._get_player().poll_once()
        for event in events:
            # A dispute is an event an operator must see whatever the log level.
            log.warning(
                "dispute on batch %d: %s %s%s",
                event.batch_number,
                event.kind,
                event.detail,
                "" if event.tx_hash is None else f" (0x{event.tx_hash.hex()})",
            )
        self.events.extend(events)
        del self.events[:-200]
        self.reports = self._get_player().get_disputes()
        return events

    def to_json(self) -> dict[str, Any]:
        """What ``GET /v1/disputes`` shows: the games, this defender's totals and events."""
        player = self.player
        return {
            "games": [asdict(report) for report in self.reports],
            "stats": None if player is None else asdict(player.stats),
            "events": [
                {
                    "kind": e.kind,
                    "batch_number": e.batch_number,
                    "tx_hash": None if e.tx_hash is None else "0x" + e.tx_hash.hex(),
                    "detail": e.detail,
                }
                for e in reversed(self.events)
            ],
            "last_error": self.last_error,
        }

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll_once()
                self.last_error = None
            except Exception as exc:  # the L1 may be down or racing: retry next tick
                if str(exc) != self.last_error:
                    log.warning("defender poll failed: %s", exc)
                self.last_error = str(exc)
