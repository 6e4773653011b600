"""HTTP helpers shared by the services (a library: no service imports another service).

``BodyLimitMiddleware`` refuses request bodies over a byte limit with 413 *before* they are
buffered (catalogue A2): it checks a declared Content-Length and also counts the streamed bytes,
so a lying or missing Content-Length (chunked uploads) cannot make the server buffer more than
the limit.  Each service chooses the JSON shape of the 413 (JSON-RPC for the L1 node,
``{"error": {"code", "message"}}`` for REST services).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimitMiddleware", "rest_too_large_payload"]


def rest_too_large_payload(limit: int) -> dict[str, Any]:
    """The default 413 body: the REST services' stable error shape."""
    return {
        "error": {
            "code": "body_too_large",
            "message": f"request body is larger than {limit} bytes",
        }
    }


class BodyLimitMiddleware:
    """Refuse bodies over ``limit`` bytes with 413, counting streamed bytes as they arrive, so a
    lying or missing Content-Length cannot make the server buffer more than the limit."""

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        payload: Callable[[int], Any] = rest_too_large_payload,
    ) -> None:
        self.app = app
        self.limit = limit
        self.payload = payload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.limit or declared < 0:
                    await self._too_large(send)
                    return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await self._too_large(send)
        except ClientDisconnect:
            return  # the client left mid-body: nobody to answer, nothing to log as an error

    async def _too_large(self, send: Send) -> None:
        body = orjson.dumps(self.payload(self.limit))
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass
