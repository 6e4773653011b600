"""Database helpers shared by the services (a library: no service imports another service).

Every service keeps what it acknowledged in a SQLAlchemy database: a SQLite file by default, any
URL (PostgreSQL) by configuration.  ``create_durable_engine`` gives SQLite the settings that make
an acknowledged write survive ``kill -9`` and power loss -- WAL and ``synchronous=FULL`` -- and
lets the service's threads share the connection pool; other databases get SQLAlchemy's defaults.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event

__all__ = ["create_durable_engine"]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def create_durable_engine(url: str) -> Engine:
    """An engine for ``url``; on SQLite: WAL, full fsync, a 30 s busy timeout, any thread."""
    if not url.startswith("sqlite"):
        return create_engine(url)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine
