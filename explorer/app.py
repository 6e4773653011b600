"""The explorer's HTTP app (FastAPI).

- ``GET /``: the page (``explorer/static/index.html``; its script and style under ``/static``).
- ``GET /api/overview``: every role's view merged (``explorer.overview``), cached ~1 s.  An
  unreachable role is reported under ``roles`` with its error: the answer is still 200.
- ``GET /api/blob/{versioned_hash}``: one blob from the L1's ``get_blob``: its size, first
  bytes and, for the first blob of a batch, the record count and kinds (``explorer.blobs``).
  400 for a malformed hash, 404 for a blob the L1 does not have (unknown or pruned), 502 when
  the L1 does not answer.
- ``GET /healthz``: 200 once serving.  ``GET /metrics``: Prometheus text (requests served by
  route, upstream errors by role, the last refresh's duration).

Errors are ``{"error": {"code", "message"}}`` as every rollcourt role answers them.  Every
response carries a Content-Security-Policy that allows this origin only, so the page cannot
load anything from elsewhere even by mistake.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from explorer.blobs import compute_blob_summary
from explorer.overview import Aggregator, UpstreamError

__all__ = ["STATIC_DIR", "create_app"]

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
_VERSIONED_HASH: Final = re.compile(r"^0x[0-9a-fA-F]{64}$")
_CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def create_app(aggregator: Aggregator, *, manage_lifecycle: bool = True) -> FastAPI:
    """The app over ``aggregator`` (closed with the app when ``manage_lifecycle``)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if manage_lifecycle:
                aggregator.close()

    app = FastAPI(
        title="rollcourt explorer", version="0.1.0", description=__doc__, lifespan=lifespan
    )
    registry = CollectorRegistry(auto_describe=True)
    requests_served = Counter(
        "rollcourt_explorer_requests",
        "HTTP requests served, by route",
        ["route"],
        registry=registry,
    )
    upstream_errors = Counter(
        "rollcourt_explorer_upstream_errors",
        "Failed reads of an upstream role",
        ["role"],
        registry=registry,
    )
    refresh_seconds = Gauge(
        "rollcourt_explorer_last_refresh_seconds",
        "Duration of the last overview refresh",
        registry=registry,
    )
    refresh_seconds.set_function(lambda: aggregator.last_refresh_seconds or 0.0)
    aggregator.on_upstream_error = lambda role: upstream_errors.labels(role=role).inc()

    @app.middleware("http")
    async def count_and_protect(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", None)
        if path is None:
            path = "/static" if request.url.path.startswith("/static/") else "other"
        requests_served.labels(route=path).inc()
        response.headers["Content-Security-Policy"] = _CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "invalid_request", str(exc.errors()[:1]))

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/healthz", summary="Liveness (the process serves)")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/overview", summary="Every role's view, merged (cached ~1 s)")
    def overview() -> dict[str, Any]:
        return aggregator.get_overview()

    @app.get("/api/blob/{versioned_hash}", summary="One blob's size, first bytes and records")
    async def blob(versioned_hash: str) -> Response:
        if not _VERSIONED_HASH.match(versioned_hash):
            return _error(400, "invalid_hash", "a versioned hash is 0x and 64 hex digits")
        try:
            result = await run_in_threadpool(aggregator.rpc, "get_blob", versioned_hash.lower())
        except httpx.HTTPError as exc:
            upstream_errors.labels(role="l1").inc()
            return _error(502, "l1_unreachable", f"the L1 did not answer: {exc}"[:300])
        except UpstreamError as exc:
            return _error(404, "blob_not_found", str(exc)[:300])
        if not isinstance(result, dict) or not isinstance(result.get("blob"), str):
            return _error(404, "blob_not_found", f"the L1 has no blob {versioned_hash}")
        raw = bytes.fromhex(result["blob"].removeprefix("0x"))
        block_number = result.get("block_number")
        return JSONResponse(
            {
                "versioned_hash": versioned_hash.lower(),
                "block_number": None if block_number is None else int(block_number, 16),
                "block_hash": result.get("block_hash"),
                "tx_hash": result.get("tx_hash"),
                "commitment": result.get("commitment"),
                **compute_blob_summary(raw).to_json(),
            }
        )

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
