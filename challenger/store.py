"""The challenger's persistent store, through SQLAlchemy Core (SQLite file by default, any URL
such as PostgreSQL accepted).

Games live in L1 cells and the player keeps its own derivation snapshots, so the only thing
the challenger must remember itself is what it *did*: one ``events`` row per ``PlayerEvent``
(challenge, move, one-step, timeout, won, lost), written before the next poll, so an operator
can audit every bond the process risked -- across restarts.  ``meta`` pins the data dir to one
rollup: a store written for another rollup is refused rather than mixed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
)

from l1.dbutil import create_durable_engine

__all__ = ["EventLike", "EventStore", "StoreMismatch", "StoredEvent"]

metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False, index=True),
    Column("kind", String(16), nullable=False, index=True),
    Column("batch_number", BigInteger, nullable=False, index=True),
    Column("tx_hash", LargeBinary(32)),
    Column("detail", Text, nullable=False),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


class StoreMismatch(Exception):
    """The database belongs to another rollup (a reused data dir or URL)."""


class EventLike(Protocol):
    """What the store needs of a ``l2.client.player.PlayerEvent``."""

    @property
    def kind(self) -> str: ...
    @property
    def batch_number(self) -> int: ...
    @property
    def tx_hash(self) -> bytes | None: ...
    @property
    def detail(self) -> str: ...


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    at: float
    kind: str
    batch_number: int
    tx_hash: bytes | None
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "kind": self.kind,
            "batch_number": self.batch_number,
            "tx_hash": None if self.tx_hash is None else "0x" + self.tx_hash.hex(),
            "detail": self.detail,
        }


class EventStore:
    """The ``events`` and ``meta`` tables; safe to share between the poll thread and the API."""

    def __init__(self, url: str) -> None:
        self.url = url
        # SQLite: WAL + synchronous=FULL, so what was acknowledged survives kill -9.
        self.engine: Engine = create_durable_engine(url)
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ meta
    def get_meta(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(meta.c.value).where(meta.c.key == key)).first()
        return None if row is None else str(row[0])

    def bind_rollup(self, rollup_id: bytes) -> None:
        """Record the rollup on first use; refuse a store of another rollup afterwards."""
        with self.engine.begin() as conn:
            row = conn.execute(select(meta.c.value).where(meta.c.key == "rollup_id")).first()
            if row is None:
                conn.execute(insert(meta).values(key="rollup_id", value=rollup_id.hex()))
                return
        if row[0] != rollup_id.hex():
            raise StoreMismatch(
                f"the challenger database {self.url} belongs to rollup 0x{row[0]}, not "
                f"0x{rollup_id.hex()}; use another --data-dir or --database-url"
            )

    # ------------------------------------------------------------------ events
    def add_events(self, new: Iterable[EventLike], at: float | None = None) -> list[StoredEvent]:
        """Persist ``new`` in one transaction (all or none) and return them with their ids."""
        stamp = time.time() if at is None else at
        stored = []
        with self.engine.begin() as conn:
            for item in new:
                result = conn.execute(
                    insert(events).values(
                        at=stamp,
                        kind=item.kind,
                        batch_number=item.batch_number,
                        tx_hash=item.tx_hash,
                        detail=item.detail,
                    )
                )
                key = result.inserted_primary_key
                if key is None:  # SQLAlchemy returns one for every single-row insert
                    raise RuntimeError("the database returned no id for the inserted event")
                stored.append(
                    StoredEvent(
                        int(key[0]), stamp, item.kind, item.batch_number, item.tx_hash, item.detail
                    )
                )
        return stored

    def get_recent_events(self, limit: int) -> list[StoredEvent]:
        """The newest ``limit`` events, newest first."""
        query = select(events).order_by(events.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            StoredEvent(
                row.id,
                row.at,
                row.kind,
                row.batch_number,
                None if row.tx_hash is None else bytes(row.tx_hash),
                row.detail,
            )
            for row in rows
        ]

    def count_events(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(events)).scalar_one())
