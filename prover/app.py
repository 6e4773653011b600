"""The prover's job API (FastAPI; OpenAPI at ``/docs``).

- ``POST /v1/jobs`` ``{"inputs": {signal: int | str | nested lists}, "label"?}``: 202 with the
  job for new inputs, 200 with the existing job for inputs already submitted (the id is a hash
  of the circuit and the canonical inputs).
- ``GET /v1/jobs/{id}``: status (``queued``, ``proving``, ``done``, ``failed``), queue position,
  progress, error.
- ``GET /v1/jobs/{id}/proof``: ``{"proof": snarkjs proof.json, "public_signals", "proof_hex"}``;
  404 for an unknown id, 409 while not done or when failed (with the error).
- ``GET /v1/jobs?status=&limit=``: newest first.
- ``GET /v1/verification-key``: snarkjs ``verification_key.json``.
- ``GET /v1/health``, ``GET /healthz``, ``GET /metrics``.

Every error is ``{"error": {"code", "message"}}`` (the sequencer's shape): 400
``invalid_inputs`` for a value that is not an integer or not in the field or an unknown signal,
422 ``invalid_request`` for a malformed body, never a 500 for bad input.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import BaseModel, ConfigDict, Field

from prover.errors import ProverError
from prover.service import MAX_LABEL, ProverService
from prover.store import JOB_STATUSES
from sequencer.httperrors import create_service_app, error_response

__all__ = ["JobRequest", "ProverCollector", "create_app"]


class JobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: dict[str, Any]
    label: str | None = Field(default=None, max_length=MAX_LABEL)


class ProverCollector(Collector):
    """Job counts read from the store at scrape time (no second set of counters to drift)."""

    def __init__(self, service: ProverService) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        counts = self.service.store.count_by_status()
        jobs = GaugeMetricFamily("rollcourt_prover_jobs", "Jobs by status", labels=["status"])
        for status in JOB_STATUSES:
            jobs.add_metric([status], counts[status])
        yield jobs
        yield GaugeMetricFamily(
            "rollcourt_prover_queue_length",
            "Jobs queued or being proved",
            value=counts["queued"] + counts["proving"],
        )


def create_app(service: ProverService, *, manage_lifecycle: bool = True) -> FastAPI:
    """The app; with ``manage_lifecycle`` the worker runs for the app's lifespan."""
    app = create_service_app(
        "prover", __doc__, service.start, service.close, manage_lifecycle=manage_lifecycle
    )
    service.registry.register(ProverCollector(service))

    @app.exception_handler(ProverError)
    async def _prover_error(_request: Request, exc: ProverError) -> JSONResponse:
        return error_response(exc.code, str(exc), exc.status)

    @app.post("/v1/jobs", status_code=202, summary="Queue inputs for proving")
    def post_job(request: JobRequest) -> JSONResponse:
        job, created = service.submit(request.inputs, request.label)
        return JSONResponse(job, status_code=202 if created else 200)

    @app.get("/v1/jobs/{job_id}", summary="A job's status and progress")
    def get_job(job_id: str) -> dict[str, Any]:
        return service.get_job(job_id)

    @app.get("/v1/jobs/{job_id}/proof", summary="A done job's proof")
    def get_proof(job_id: str) -> dict[str, Any]:
        return service.get_proof(job_id)

    @app.get("/v1/jobs", summary="Jobs, newest first")
    def list_jobs(
        status: str | None = Query(None, pattern="^(" + "|".join(JOB_STATUSES) + ")$"),
        limit: int = Query(100, ge=1, le=1000),
    ) -> dict[str, Any]:
        return {"jobs": service.list_jobs(status, limit)}

    @app.get("/v1/verification-key", summary="snarkjs verification_key.json")
    def get_verification_key() -> dict[str, Any]:
        return service.artifacts.verification_key_json

    @app.get("/v1/health", summary="Circuit, setup and queue")
    def get_health() -> dict[str, Any]:
        return service.get_health()

    @app.get("/healthz", summary="Liveness (the process serves), as every role has")
    def get_liveness() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    def metrics() -> Response:
        return Response(generate_latest(service.registry), media_type=CONTENT_TYPE_LATEST)

    return app
