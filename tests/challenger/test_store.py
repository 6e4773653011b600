"""The challenger's event store: order, limits, durability across reopen, one rollup per DB."""

from __future__ import annotations

from pathlib import Path

import pytest

from challenger.store import EventStore, StoreMismatch
from l2.client.player import PlayerEvent

ROLLUP_ID = bytes(range(32))


def url_in(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'challenger.sqlite'}"


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    return EventStore(url_in(tmp_path))


def test_events_round_trip(store: EventStore) -> None:
    stored = store.add_events(
        [
            PlayerEvent("challenge", 3, b"\x01" * 32, "batch 3 claims a root we do not reach"),
            PlayerEvent("won", 3, None, "timeout"),
        ],
        at=1000.0,
    )
    assert [e.id for e in stored] == [1, 2]
    recent = store.get_recent_events(10)
    assert [e.kind for e in recent] == ["won", "challenge"]  # newest first
    assert recent[1].tx_hash == b"\x01" * 32
    assert recent[0].tx_hash is None
    assert recent[1].to_json() == {
        "id": 1,
        "at": 1000.0,
        "kind": "challenge",
        "batch_number": 3,
        "tx_hash": "0x" + "01" * 32,
        "detail": "batch 3 claims a root we do not reach",
    }
    assert store.count_events() == 2


def test_limit_keeps_the_newest(store: EventStore) -> None:
    store.add_events([PlayerEvent("move", i, None, f"move {i}") for i in range(5)])
    assert [e.batch_number for e in store.get_recent_events(2)] == [4, 3]


def test_empty_store(store: EventStore) -> None:
    assert store.get_recent_events(100) == []
    assert store.add_events([]) == []
    assert store.count_events() == 0


def test_events_survive_reopen(tmp_path: Path) -> None:
    first = EventStore(url_in(tmp_path))
    first.add_events([PlayerEvent("one_step", 7, b"\x02" * 32, "record 12")])
    first.close()
    again = EventStore(url_in(tmp_path))
    assert [(e.kind, e.batch_number) for e in again.get_recent_events(5)] == [("one_step", 7)]


def test_store_is_bound_to_one_rollup(tmp_path: Path) -> None:
    store = EventStore(url_in(tmp_path))
    store.bind_rollup(ROLLUP_ID)
    store.bind_rollup(ROLLUP_ID)  # the same rollup again is fine (a restart)
    assert store.get_meta("rollup_id") == ROLLUP_ID.hex()
    with pytest.raises(StoreMismatch, match="belongs to rollup 0x"):
        store.bind_rollup(b"\xff" * 32)
