"""The challenger's HTTP API and poll loop with a fake player (no L1)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from challenger.app import create_app
from challenger.service import GAME_FIELDS, STAT_FIELDS, Challenger
from challenger.store import EventStore
from l1.client import L1RpcError
from l2.client.player import GameReport, PlayerEvent, PlayerStats

ROLLUP_ID = bytes(range(32))

GAME = GameReport(
    out_point="0x" + "aa" * 32 + ":0",
    batch_number=2,
    lo=0,
    hi=8,
    moves=1,
    max_moves=5,
    turn="proposer",
    proposer_clock=100,
    challenger_clock=100,
    timeout_at_block=140,
    ours=True,
    our_side="challenger",
)
OTHER_GAME = GameReport(
    out_point="0x" + "bb" * 32 + ":1",
    batch_number=3,
    lo=4,
    hi=6,
    moves=3,
    max_moves=5,
    turn="challenger",
    proposer_clock=80,
    challenger_clock=60,
    timeout_at_block=150,
    ours=False,
    our_side=None,
)


class FakePlayer:
    """Plays back scripted polls: each item is a list of events or an exception to raise."""

    def __init__(self, script: Sequence[list[PlayerEvent] | Exception] = ()) -> None:
        self.script = list(script)
        self.stats = PlayerStats()
        self.games: list[GameReport] = []
        self.polls = 0
        self.polled = threading.Event()

    def poll_once(self) -> list[PlayerEvent]:
        self.polls += 1
        self.polled.set()
        if not self.script:
            return []
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        for event in step:
            if event.kind == "challenge":
                self.stats.challenges += 1
            elif event.kind == "move":
                self.stats.moves += 1
            elif event.kind == "won":
                self.stats.games_won += 1
                self.stats.bonds_won_shannons += 450
        return step

    def get_disputes(self) -> list[GameReport]:
        return list(self.games)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def make_challenger(
    tmp_path: Path, player: FakePlayer, clock: Clock | None = None, poll_interval: float = 1.0
) -> Challenger:
    store = EventStore(f"sqlite:///{tmp_path / 'challenger.sqlite'}")
    return Challenger(
        player,
        store,
        rollup_id=ROLLUP_ID,
        poll_interval=poll_interval,
        clock=clock or Clock(),
    )


@pytest.fixture
def player() -> FakePlayer:
    return FakePlayer()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def challenger(tmp_path: Path, player: FakePlayer, clock: Clock) -> Iterator[Challenger]:
    service = make_challenger(tmp_path, player, clock)
    yield service
    service.close()


@pytest.fixture
def client(challenger: Challenger) -> Iterator[TestClient]:
    with TestClient(create_app(challenger, manage_lifecycle=False)) as test_client:
        yield test_client


# ----------------------------------------------------------------------------- health
def test_health_degraded_before_the_first_poll(client: TestClient) -> None:
    response = client.get("/v1/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "l1": None,
        "last_poll_at": None,
        "last_error": None,
    }


def test_health_ok_after_a_poll(client: TestClient, challenger: Challenger) -> None:
    challenger.poll()
    assert client.get("/v1/health").json() == {
        "status": "ok",
        "l1": True,
        "last_poll_at": 1_000.0,
        "last_error": None,
    }


def test_health_degraded_when_polls_stall(
    client: TestClient, challenger: Challenger, clock: Clock
) -> None:
    challenger.poll()
    clock.now += 31.0
    assert client.get("/v1/health").json()["status"] == "degraded"


def test_unreachable_l1_is_reported(
    client: TestClient, challenger: Challenger, player: FakePlayer
) -> None:
    player.script = [[], httpx.ConnectError("connection refused"), []]
    challenger.poll()
    assert challenger.poll() == []  # a failing poll never raises
    health = client.get("/v1/health").json()
    assert health["status"] == "degraded"
    assert health["l1"] is False
    assert health["last_error"] == "ConnectError: connection refused"
    assert health["last_poll_at"] == 1_000.0  # the last *good* poll
    assert challenger.poll_errors == 1
    challenger.poll()  # recovery clears the error
    assert client.get("/v1/health").json()["status"] == "ok"


def test_rpc_error_means_the_l1_answered(challenger: Challenger, player: FakePlayer) -> None:
    player.script = [L1RpcError(-302, "TransactionFailedToVerify")]
    challenger.poll()
    health = challenger.get_health()
    assert (health.status, health.l1) == ("degraded", True)
    assert "TransactionFailedToVerify" in (health.last_error or "")


def test_poll_failure_is_one_log_line(
    challenger: Challenger, player: FakePlayer, caplog: pytest.LogCaptureFixture
) -> None:
    player.script = [RuntimeError("boom")]
    with caplog.at_level("INFO", logger="challenger"):
        challenger.poll()
    records = [r for r in caplog.records if r.name == "challenger"]
    assert [r.getMessage() for r in records] == ["poll failed: RuntimeError: boom"]
    assert records[0].exc_info is None


# ----------------------------------------------------------------------------- disputes
def test_disputes_shape(client: TestClient, challenger: Challenger, player: FakePlayer) -> None:
    assert client.get("/v1/disputes").json() == {
        "games": [],
        "stats": dict.fromkeys(STAT_FIELDS, 0),
        "updated_at": None,
    }
    player.games = [GAME, OTHER_GAME]
    player.script = [[PlayerEvent("challenge", 2, b"\x01" * 32, "wrong root")]]
    challenger.poll()
    body = client.get("/v1/disputes").json()
    assert body["games"] == [asdict(GAME), asdict(OTHER_GAME)]
    assert list(body["games"][0]) == list(GAME_FIELDS)
    assert body["stats"] == {**dict.fromkeys(STAT_FIELDS, 0), "challenges": 1}
    assert body["updated_at"] == 1_000.0


def test_disputes_keep_the_last_good_view(
    client: TestClient, challenger: Challenger, player: FakePlayer
) -> None:
    player.games = [GAME]
    player.script = [[], RuntimeError("L1 hiccup")]
    challenger.poll()
    player.games = []
    challenger.poll()
    assert client.get("/v1/disputes").json()["games"] == [asdict(GAME)]


# ----------------------------------------------------------------------------- events
def test_events_newest_first(
    client: TestClient, challenger: Challenger, player: FakePlayer
) -> None:
    player.script = [
        [PlayerEvent("challenge", 2, b"\x01" * 32, "wrong root")],
        [PlayerEvent("move", 2, b"\x02" * 32, "bisect 0..8 at 4")],
        [PlayerEvent("won", 2, None, "one-step: the batch was wrong")],
    ]
    for _ in range(3):
        challenger.poll()
    events = client.get("/v1/events").json()["events"]
    assert [e["kind"] for e in events] == ["won", "move", "challenge"]
    assert events[0] == {
        "id": 3,
        "at": 1_000.0,
        "kind": "won",
        "batch_number": 2,
        "tx_hash": None,
        "detail": "one-step: the batch was wrong",
    }
    assert events[1]["tx_hash"] == "0x" + "02" * 32
    limited = client.get("/v1/events", params={"limit": 1}).json()["events"]
    assert [e["kind"] for e in limited] == ["won"]


@pytest.mark.parametrize("limit", ["0", "1001", "-3", "ten", "1.5"])
def test_events_bad_limit_is_422(client: TestClient, limit: str) -> None:
    response = client.get("/v1/events", params={"limit": limit})
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "invalid_request"
    assert "limit" in body["error"]["message"]


@pytest.mark.parametrize("limit", ["1", "1000"])
def test_events_limit_bounds_accepted(client: TestClient, limit: str) -> None:
    assert client.get("/v1/events", params={"limit": limit}).status_code == 200


def test_unknown_path_has_the_error_shape(client: TestClient) -> None:
    response = client.get("/v1/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# ----------------------------------------------------------------------------- metrics
def test_metrics(client: TestClient, challenger: Challenger, player: FakePlayer) -> None:
    player.games = [GAME, OTHER_GAME]
    player.script = [
        [
            PlayerEvent("challenge", 2, b"\x01" * 32, "wrong root"),
            PlayerEvent("move", 2, b"\x02" * 32, "bisect"),
            PlayerEvent("won", 2, None, "timeout"),
        ],
        RuntimeError("boom"),
    ]
    challenger.poll()
    challenger.poll()
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for line in (
        "rollcourt_challenger_open_games 2.0",
        "rollcourt_challenger_our_open_games 1.0",
        "rollcourt_challenger_challenges_total 1.0",
        "rollcourt_challenger_moves_total 1.0",
        "rollcourt_challenger_games_won_total 1.0",
        "rollcourt_challenger_games_lost_total 0.0",
        "rollcourt_challenger_bonds_won_shannons_total 450.0",
        "rollcourt_challenger_poll_errors_total 1.0",
        "# TYPE rollcourt_challenger_open_games gauge",
        "# TYPE rollcourt_challenger_challenges_total counter",
    ):
        assert line in text.splitlines(), line


def test_openapi_docs(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/health", "/v1/disputes", "/v1/events", "/metrics"} <= set(paths)


# ----------------------------------------------------------------------------- the loop
def test_loop_survives_failures(tmp_path: Path) -> None:
    """The background thread keeps polling after exceptions (a missed move costs a bond)."""
    player = FakePlayer(
        [RuntimeError("first"), ValueError("second"), [PlayerEvent("challenge", 1, None, "x")]]
    )
    service = make_challenger(tmp_path, player, poll_interval=0.01)
    with TestClient(create_app(service)) as client:  # lifespan starts the thread
        deadline = 200
        while player.polls < 4 and deadline:
            player.polled.wait(0.05)
            player.polled.clear()
            deadline -= 1
        assert player.polls >= 4
        assert service.poll_errors == 2
        assert [e["kind"] for e in client.get("/v1/events").json()["events"]] == ["challenge"]
    assert service._thread is None  # the lifespan stopped it


def test_close_is_idempotent(tmp_path: Path) -> None:
    calls: list[str] = []
    service = Challenger(
        FakePlayer(),
        EventStore(f"sqlite:///{tmp_path / 'c.sqlite'}"),
        rollup_id=ROLLUP_ID,
        on_close=[lambda: calls.append("lock")],
    )
    service.close()
    service.close()
    assert calls == ["lock"]


def test_event_is_logged_even_if_the_store_fails(
    challenger: Challenger,
    player: FakePlayer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(challenger.store, "add_events", broken)
    player.script = [[PlayerEvent("challenge", 5, b"\x05" * 32, "wrong root")]]
    with caplog.at_level("INFO", logger="challenger"):
        challenger.poll()
    messages = [r.getMessage() for r in caplog.records if r.name == "challenger"]
    assert messages == [
        f"challenge batch 5 tx 0x{'05' * 32}: wrong root",
        "poll failed: OSError: disk full",
    ]
    assert challenger.poll_errors == 1
    assert challenger.get_health().l1 is None  # a local failure says nothing of the L1
