"""The challenger's read API (FastAPI; OpenAPI at ``/docs``).

- ``GET /v1/health``: ``{"status": "ok"|"degraded", "l1", "last_poll_at", "last_error"}``;
  always HTTP 200 (the status field says how the loop is doing).
- ``GET /v1/disputes``: ``{"games": [GameReport...], "stats": {...}, "updated_at"}`` -- every
  live game of the rollup as of the last good poll, and what this challenger has done.
- ``GET /v1/events?limit=N``: what this challenger did, newest first (1 <= N <= 1000).
- ``GET /metrics``: Prometheus text format.

Every error is ``{"error": {"code", "message"}}`` (the sequencer's shape): 422
``invalid_request`` for a bad query parameter, 404 ``not_found`` for an unknown path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Query
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from challenger.service import Challenger
from sequencer.httperrors import create_service_app

__all__ = ["ChallengerCollector", "create_app"]

#: ``PlayerStats`` field -> (counter name without ``_total``, help).
STAT_COUNTERS = {
    "challenges": ("rollcourt_challenger_challenges", "Challenges sent (each risks a bond)"),
    "moves": ("rollcourt_challenger_moves", "Bisection moves sent"),
    "one_steps": ("rollcourt_challenger_one_steps", "One-step proofs sent"),
    "timeouts_claimed": ("rollcourt_challenger_timeouts_claimed", "Timeout wins claimed"),
    "games_won": ("rollcourt_challenger_games_won", "Games this challenger won"),
    "games_lost": ("rollcourt_challenger_games_lost", "Games this challenger lost"),
    "bonds_won_shannons": (
        "rollcourt_challenger_bonds_won_shannons",
        "Opponents' bonds won, after the burn share (shannons)",
    ),
    "bonds_lost_shannons": (
        "rollcourt_challenger_bonds_lost_shannons",
        "Own bonds lost (shannons)",
    ),
}


class ChallengerCollector(Collector):
    """Reads the service's counters at scrape time, so the metrics can never drift from
    ``/v1/disputes`` (no second set of counters to keep in step)."""

    def __init__(self, challenger: Challenger) -> None:
        self.challenger = challenger

    def collect(self) -> Iterator[Metric]:
        challenger = self.challenger
        stats = challenger.get_stats()
        games = challenger.get_games()
        for field, (name, help_text) in STAT_COUNTERS.items():
            yield CounterMetricFamily(name, help_text, value=stats.get(field, 0))
        yield CounterMetricFamily(
            "rollcourt_challenger_polls", "Successful polls of the L1", value=challenger.polls
        )
        yield CounterMetricFamily(
            "rollcourt_challenger_poll_errors",
            "Polls that failed (logged, retried next interval)",
            value=challenger.poll_errors,
        )
        yield GaugeMetricFamily(
            "rollcourt_challenger_open_games",
            "Live games of the rollup at the last poll",
            value=len(games),
        )
        yield GaugeMetricFamily(
            "rollcourt_challenger_our_open_games",
            "Live games this challenger plays in",
            value=sum(1 for g in games if g.get("ours")),
        )
        health = challenger.get_health()
        yield GaugeMetricFamily(
            "rollcourt_challenger_healthy", "1 when /v1/health says ok", value=health.status == "ok"
        )


def create_app(challenger: Challenger, *, manage_lifecycle: bool = True) -> FastAPI:
    """The app; with ``manage_lifecycle`` the poll thread runs for the app's lifespan."""
    app = create_service_app(
        "challenger",
        __doc__,
        challenger.start,
        challenger.close,
        manage_lifecycle=manage_lifecycle,
    )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ChallengerCollector(challenger))

    @app.get("/v1/health", summary="Poll loop and L1 health")
    def get_health() -> dict[str, Any]:
        return challenger.get_health().to_json()

    @app.get("/healthz", summary="Liveness (the process serves), as every role has")
    def get_liveness() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/disputes", summary="Live games of the rollup and this challenger's totals")
    def get_disputes() -> dict[str, Any]:
        return {
            "games": challenger.get_games(),
            "stats": challenger.get_stats(),
            "updated_at": challenger.last_poll_at,
        }

    @app.get("/v1/events", summary="What this challenger did, newest first")
    def get_events(limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
        return {"events": [e.to_json() for e in challenger.store.get_recent_events(limit)]}

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app
