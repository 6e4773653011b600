"""The light client's HTTP API.

``GET /healthz``; ``GET /v1/head`` → ``{number, hash, total_difficulty}`` (hash 0x-hex, total
difficulty a decimal string); ``GET /v1/blocks/{number_or_hash}`` → one block's availability
(number in decimal or 0x-hex, hash as 64 hex digits with or without 0x; numbers look up the best
chain); ``GET /v1/blocks?from=&limit=`` → best-chain blocks from ``from`` (default: the last
``limit``), ``limit`` 1..200 (default 20); ``GET /v1/peers``; ``GET /metrics`` (Prometheus text).

Availability is ``available``, ``unavailable``, ``pending`` (not decided yet) or ``expired``
(older than the blob retention window when first seen: full nodes no longer serve its cells).
Bad input is answered 4xx with ``{"error": {"code", "message"}}``, never 500.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from l1.light.service import LightClient

__all__ = ["create_app"]

log = logging.getLogger("l1.light.app")

MAX_LIMIT = 200
_HASH = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
_DECIMAL = re.compile(r"^[0-9]{1,19}$")
_HEX_NUMBER = re.compile(r"^0x[0-9a-fA-F]{1,16}$")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def parse_block_ref(value: str) -> bytes | int:
    if _HASH.match(value):
        return bytes.fromhex(value.removeprefix("0x"))
    if _DECIMAL.match(value):
        return int(value)
    if _HEX_NUMBER.match(value):
        return int(value, 16)
    raise ApiError(
        400,
        "bad_request",
        f"{value[:80]!r} is neither a block number (decimal or 0x-hex) nor a 32-byte block hash",
    )


def _int_param(request: Request, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not _DECIMAL.match(raw) or not low <= int(raw) <= high:
        raise ApiError(400, "bad_request", f"{name} must be an integer from {low} to {high}")
    return int(raw)


def create_app(client: LightClient, *, manage_lifecycle: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await run_in_threadpool(client.start)
        try:
            yield
        finally:
            if manage_lifecycle:
                await run_in_threadpool(client.stop)

    app = FastAPI(title="rollcourt L1 light client", version="0.1.0", lifespan=lifespan)

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(400, "bad_request", str(exc.errors()[:1]))

    @app.exception_handler(Exception)
    async def _internal(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error", exc_info=exc)
        return _error(500, "internal", "internal error")

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        head = client.head_view()
        return {"status": "ok", "head_number": head["number"], "peers": len(client.peers)}

    @app.get("/v1/head")
    def head() -> dict[str, Any]:
        return client.head_view()

    @app.get("/v1/peers")
    def peers() -> list[dict[str, Any]]:
        return client.peers_view()

    @app.get("/v1/blocks")
    def blocks(request: Request) -> dict[str, Any]:
        start = _int_param(request, "from", None, 0, 2**63 - 1)
        limit = _int_param(request, "limit", 20, 1, MAX_LIMIT)
        return client.list_blocks(start, limit or 20)

    @app.get("/v1/blocks/{ref}")
    def block(ref: str) -> dict[str, Any]:
        parsed = parse_block_ref(ref)
        record = client.find_block(parsed)
        if record is None:
            what = f"block {parsed}" if isinstance(parsed, int) else f"block 0x{parsed.hex()}"
            raise ApiError(404, "not_found", f"{what} is not a known header")
        return client.block_view(record)

    @app.get("/metrics")
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(
            client.metrics_text(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    return app
