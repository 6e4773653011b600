"""The prover's job table, through SQLAlchemy Core (SQLite file in the data dir by default, any
URL accepted).

A job is written (``queued``) before its id is acknowledged to the client, and every state
change is one transaction, so ``kill -9`` at any point loses nothing that was acknowledged: on
start, ``requeue_interrupted`` puts back the job that was being proved.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import (
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
    update,
)
from sqlalchemy.exc import IntegrityError

from l1.dbutil import create_durable_engine

__all__ = ["JOB_STATUSES", "JobRecord", "JobStore"]

#: Every status a job can have, in life-cycle order.
JOB_STATUSES: Final = ("queued", "proving", "done", "failed")

metadata = MetaData()

jobs = Table(
    "jobs",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("label", Text),
    Column("inputs", Text, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("error", Text),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("elapsed_s", Float),
    Column("proof", LargeBinary),
    Column("proof_json", Text),
    Column("public_signals", Text),
)


@dataclass(frozen=True, slots=True)
class JobRecord:
    seq: int
    id: str
    label: str | None
    inputs: dict[str, Any]
    status: str
    error: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    elapsed_s: float | None
    proof: bytes | None
    proof_json: dict[str, Any] | None
    public_signals: list[str] | None


def _record(row: Any) -> JobRecord:
    return JobRecord(
        seq=row.seq,
        id=row.id,
        label=row.label,
        inputs=json.loads(row.inputs),
        status=row.status,
        error=row.error,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        elapsed_s=row.elapsed_s,
        proof=None if row.proof is None else bytes(row.proof),
        proof_json=None if row.proof_json is None else json.loads(row.proof_json),
        public_signals=None if row.public_signals is None else json.loads(row.public_signals),
    )


class JobStore:
    """The ``jobs`` table; safe to share between the worker thread and the API."""

    def __init__(self, url: str) -> None:
        self.url = url
        # SQLite: WAL + synchronous=FULL, so what was acknowledged survives kill -9.
        self.engine: Engine = create_durable_engine(url)
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def add_job(
        self, job_id: str, inputs: dict[str, Any], label: str | None
    ) -> tuple[JobRecord, bool]:
        """Insert a queued job, or return the existing one with this id; ``(job, created)``."""
        existing = self.get_job(job_id)
        if existing is not None:
            return existing, False
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(jobs).values(
                        id=job_id,
                        label=label,
                        inputs=json.dumps(inputs, sort_keys=True, separators=(",", ":")),
                        status="queued",
                        created_at=time.time(),
                    )
                )
        except IntegrityError:  # the same inputs, submitted concurrently: one job
            pass
        job = self.get_job(job_id)
        if job is None:  # inserted or found above: only a vanished database gets here
            raise RuntimeError(f"job {job_id} vanished after insertion")
        return job, existing is None

    def get_job(self, job_id: str) -> JobRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        return None if row is None else _record(row)

    def get_jobs(self, status: str | None, limit: int) -> list[JobRecord]:
        """Newest first."""
        query = select(jobs).order_by(jobs.c.seq.desc()).limit(limit)
        if status is not None:
            query = query.where(jobs.c.status == status)
        with self.engine.connect() as conn:
            return [_record(row) for row in conn.execute(query).all()]

    def get_next_queued(self) -> JobRecord | None:
        """The oldest queued job (FIFO)."""
        query = select(jobs).where(jobs.c.status == "queued").order_by(jobs.c.seq).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _record(row)

    def count_queued_before(self, seq: int) -> int:
        query = select(func.count()).where(jobs.c.status == "queued", jobs.c.seq < seq)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def count_by_status(self) -> dict[str, int]:
        query = select(jobs.c.status, func.count()).group_by(jobs.c.status)
        with self.engine.connect() as conn:
            counts = {str(s): int(n) for s, n in conn.execute(query).all()}
        return {status: counts.get(status, 0) for status in JOB_STATUSES}

    def get_mean_elapsed(self, last: int = 20) -> float | None:
        """Mean proving time of the last ``last`` proofs (the ``expected_s`` of a job)."""
        recent = (
            select(jobs.c.elapsed_s)
            .where(jobs.c.status == "done", jobs.c.elapsed_s.is_not(None))
            .order_by(jobs.c.seq.desc())
            .limit(last)
            .subquery()
        )
        with self.engine.connect() as conn:
            value = conn.execute(select(func.avg(recent.c.elapsed_s))).scalar_one()
        return None if value is None else float(value)

    def requeue_interrupted(self) -> int:
        """Jobs left ``proving`` by a crash go back to ``queued``; returns how many."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(jobs)
                .where(jobs.c.status == "proving")
                .values(status="queued", started_at=None)
            )
        return int(result.rowcount)

    def mark_proving(self, job_id: str) -> float:
        started = time.time()
        with self.engine.begin() as conn:
            conn.execute(
                update(jobs).where(jobs.c.id == job_id).values(status="proving", started_at=started)
            )
        return started

    def mark_done(
        self,
        job_id: str,
        proof: bytes,
        proof_json: dict[str, Any],
        public_signals: list[str],
        elapsed_s: float,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id)
                .values(
                    status="done",
                    error=None,
                    proof=proof,
                    proof_json=json.dumps(proof_json),
                    public_signals=json.dumps(public_signals),
                    elapsed_s=elapsed_s,
                    finished_at=time.time(),
                )
            )

    def mark_failed(self, job_id: str, error: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id)
                .values(status="failed", error=error, finished_at=time.time())
            )
