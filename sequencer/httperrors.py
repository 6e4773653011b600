"""One error shape for the sequencer's and the follower's REST APIs:
``{"error": {"code", "message"}}`` with a 4xx status for anything a client did wrong, and a
logged, stack-trace-free 500 for anything we did wrong."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sequencer.errors import Rejected

__all__ = ["create_service_app", "error_response", "install_error_handlers"]

log = logging.getLogger("sequencer.http")


def error_response(code: str, message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def install_error_handlers(app: FastAPI, service: str) -> None:
    @app.exception_handler(Rejected)
    async def _rejected(_request: Request, exc: Rejected) -> JSONResponse:
        return error_response(exc.code, exc.message, exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for error in exc.errors()[:10]:
            path = ".".join(str(p) for p in error.get("loc", ()))
            parts.append(f"{path}: {error.get('msg', 'invalid')}")
        return error_response("invalid_request", "; ".join(parts), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(code, str(exc.detail), exc.status_code)

    @app.exception_handler(Exception)
    async def _internal(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error in the %s", service)
        return error_response("internal", f"internal error; see the {service} log", 500)


def create_service_app(
    service: str,
    description: str | None,
    start: Callable[[], None],
    close: Callable[[], None],
    *,
    manage_lifecycle: bool = True,
) -> FastAPI:
    """A FastAPI app for one of the sequencer's roles: lifecycle tied to the app's lifespan
    (unless the caller manages it), OpenAPI at ``/docs``, and the shared error shape."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            start()
        try:
            yield
        finally:
            if manage_lifecycle:
                close()

    app = FastAPI(
        title=f"rollcourt {service}",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs",
        description=description or "",
    )
    install_error_handlers(app, service)
    return app
