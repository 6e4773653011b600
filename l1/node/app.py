"""The node's HTTP surface: JSON-RPC 2.0 at ``POST /``, peer-to-peer at ``/p2p/*``, ``/healthz``,
``GET /metrics`` (Prometheus text format; the series are listed in ``l1.node.metrics``).

Bad input never produces a 500: bodies over the limit get 413 before they are buffered, invalid
JSON gets a JSON-RPC parse error (400), unknown methods and bad params get JSON-RPC errors that
say what is wrong, and any unexpected exception is logged and answered as an internal error
without a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from l1.ckb.json import JsonFormatError, transaction_from_json
from l1.ckb.molecule import MoleculeError
from l1.ckb.types import Block
from l1.core.errors import L1Error
from l1.httputil import BodyLimitMiddleware
from l1.node.metrics import CONTENT_TYPE_LATEST
from l1.node.node import Node
from l1.node.p2p import MAX_LOCATOR_HASHES, is_peer_url
from l1.node.rpc import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    RpcError,
    build_methods,
    l1_error_to_rpc,
)
from l1.node.wire import sidecar_list_from_json, sidecars_from_json, sidecars_to_json

__all__ = ["BodyLimitMiddleware", "create_app"]

log = logging.getLogger("l1.app")

MAX_BATCH = 100


class _BadRequest(Exception):
    """A malformed peer-to-peer request: answered 400 with the reason."""


def _too_large_payload(limit: int) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": INVALID_REQUEST, "message": f"request body is larger than {limit} bytes"},
    }


def _error(id_: Any, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "error": error.to_json()}


def _dispatch_one(methods: dict[str, Callable[[Any], Any]], request: Any) -> dict[str, Any] | None:
    if not isinstance(request, dict):
        return _error(None, RpcError(INVALID_REQUEST, "a JSON-RPC request must be an object"))
    id_ = request.get("id")
    if not isinstance(id_, (int, str, type(None))) or isinstance(id_, bool):
        return _error(None, RpcError(INVALID_REQUEST, "id must be a number, a string or null"))
    if request.get("jsonrpc") != "2.0":
        return _error(id_, RpcError(INVALID_REQUEST, 'jsonrpc must be "2.0"'))
    name = request.get("method")
    if not isinstance(name, str):
        return _error(id_, RpcError(INVALID_REQUEST, "method must be a string"))
    handler = methods.get(name)
    if handler is None:
        return _error(id_, RpcError(METHOD_NOT_FOUND, f"method {name!r} does not exist"))
    try:
        result = handler(request.get("params"))
    except RpcError as exc:
        return _error(id_, exc)
    except L1Error as exc:
        return _error(id_, l1_error_to_rpc(exc))
    except Exception:
        log.exception("internal error in %s", name)
        return _error(id_, RpcError(INTERNAL_ERROR, f"internal error while running {name}"))
    return {"jsonrpc": "2.0", "id": id_, "result": result}


def create_app(node: Node, *, manage_lifecycle: bool = True) -> FastAPI:
    methods = build_methods(node)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            node.start()
        try:
            yield
        finally:
            if manage_lifecycle:
                node.stop()

    app = FastAPI(
        title="rollcourt L1 node",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs",
        redirect_slashes=False,
    )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """Unknown routes and methods answer in the same error shape as everything else."""
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            {"error": {"code": code, "message": str(exc.detail)}}, status_code=exc.status_code
        )

    def rpc_response(payload: Any, status: int = 200) -> Response:
        return Response(orjson.dumps(payload), status_code=status, media_type="application/json")

    @app.post("/")
    async def json_rpc(request: Request) -> Response:
        body = await request.body()
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return rpc_response(
                _error(None, RpcError(PARSE_ERROR, f"request body is not valid JSON: {exc}")), 400
            )
        if isinstance(payload, list):
            if not payload or len(payload) > MAX_BATCH:
                return rpc_response(
                    _error(
                        None, RpcError(INVALID_REQUEST, f"a batch holds 1 to {MAX_BATCH} requests")
                    ),
                    400,
                )
            results = await run_in_threadpool(
                lambda: [_dispatch_one(methods, item) for item in payload]
            )
            return rpc_response(results)
        result = await run_in_threadpool(_dispatch_one, methods, payload)
        status = (
            400
            if result and "error" in result and result["error"]["code"] == INVALID_REQUEST
            else 200
        )
        return rpc_response(result, status)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        tip = node.chain.tip
        return {
            "status": "ok",
            "tip_number": tip.number,
            "tip_hash": tip.hash.hex(),
            "peers": len(node.network.peers),
        }

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(node.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    # ------------------------------------------------------------------ p2p
    async def _json_body(request: Request) -> dict[str, Any]:
        try:
            payload = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise _BadRequest(f"body is not valid JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise _BadRequest("body must be a JSON object")
        return payload

    @app.exception_handler(ClientDisconnect)  # body cut short by a client that left: no 500
    async def _client_gone(_request: Request, _exc: ClientDisconnect) -> Response:
        return Response(status_code=400)

    @app.exception_handler(_BadRequest)
    async def _bad_request(_request: Request, exc: _BadRequest) -> JSONResponse:
        return JSONResponse(
            {"error": {"code": "bad_request", "message": str(exc)}}, status_code=400
        )

    def _remember_sender(payload: dict[str, Any]) -> str | None:
        sender = payload.get("from")
        if isinstance(sender, str) and is_peer_url(sender) and node.network.active:
            node.network.add_peer(sender, inbound=True)
            return sender.rstrip("/")
        return None

    @app.get("/p2p/status")
    def p2p_status(request: Request) -> dict[str, Any]:
        sender = request.query_params.get("from")
        if sender and is_peer_url(sender) and node.network.active:
            node.network.add_peer(sender, inbound=True)
        tip = node.chain.tip
        return {
            "genesis_hash": node.genesis.hash.hex(),
            "tip_hash": tip.hash.hex(),
            "tip_number": tip.number,
            "total_difficulty": str(tip.total_difficulty),
        }

    @app.post("/p2p/block")
    async def p2p_block(request: Request) -> Response:
        payload = await _json_body(request)
        if not node.network.active:
            return JSONResponse(
                {"error": {"code": "inactive", "message": "network is inactive"}}, status_code=503
            )
        sender = _remember_sender(payload)
        try:
            block = Block.deserialize(bytes.fromhex(str(payload.get("block", ""))))
        except (ValueError, MoleculeError) as exc:
            raise _BadRequest(f"block is not molecule hex: {exc}") from None
        try:
            sidecars = (
                sidecars_from_json(payload["sidecars"])
                if payload.get("sidecars") is not None
                else None
            )
        except JsonFormatError as exc:
            raise _BadRequest(str(exc)) from None
        try:
            status = await run_in_threadpool(
                lambda: node.submit_block(block, sidecars, sender, source="peer")
            )
        except L1Error as exc:
            node.network.note_invalid(sender)
            return JSONResponse(
                {"error": {"code": type(exc).__name__, "message": str(exc)}}, status_code=422
            )
        return JSONResponse({"status": status})

    @app.post("/p2p/transaction")
    async def p2p_transaction(request: Request) -> Response:
        payload = await _json_body(request)
        if not node.network.active:
            return JSONResponse(
                {"error": {"code": "inactive", "message": "network is inactive"}}, status_code=503
            )
        sender = _remember_sender(payload)
        try:
            tx = transaction_from_json(payload.get("transaction"))
            sidecars = sidecar_list_from_json(payload.get("sidecars", []))
        except (JsonFormatError, ValueError, TypeError) as exc:
            raise _BadRequest(str(exc)) from None
        try:
            entry = await run_in_threadpool(node.submit_transaction, tx, sidecars, sender)
        except L1Error as exc:
            return JSONResponse(
                {"error": {"code": type(exc).__name__, "message": str(exc)}}, status_code=422
            )
        return JSONResponse({"tx_hash": entry.tx_hash.hex()})

    @app.post("/p2p/locate")
    async def p2p_locate(request: Request) -> dict[str, Any]:
        payload = await _json_body(request)
        try:
            raw_locator = payload.get("locator", [])
            if not isinstance(raw_locator, list) or len(raw_locator) > MAX_LOCATOR_HASHES:
                raise _BadRequest(f"locator must be a list of at most {MAX_LOCATOR_HASHES} hashes")
            locator = [bytes.fromhex(h) for h in raw_locator]
            limit = int(payload.get("limit", 100))
        except (ValueError, TypeError) as exc:
            raise _BadRequest(f"bad locator: {exc}") from None
        located = await run_in_threadpool(node.network.locate, locator, limit)
        withhold = node.config.fault == "withhold-sidecars"
        return {
            "blocks": [block.serialize().hex() for block, _ in located],
            "sidecars": [
                None if sidecars is None or withhold else sidecars_to_json(sidecars)
                for _, sidecars in located
            ],
        }

    @app.get("/p2p/sidecars/{block_hash}")
    def p2p_sidecars(block_hash: str) -> Response:
        try:
            raw_hash = bytes.fromhex(block_hash.removeprefix("0x"))
        except ValueError:
            raise _BadRequest("block hash must be hex") from None
        block = node.chain.get_block(raw_hash)
        sidecars = node.chain.get_sidecars(raw_hash) if block is not None else None
        if block is None or sidecars is None or node.config.fault == "withhold-sidecars":
            return JSONResponse(
                {"error": {"code": "not_found", "message": "no sidecars for that block here"}},
                status_code=404,
            )
        return JSONResponse({"sidecars": sidecars_to_json(sidecars)})

    app.add_middleware(
        BodyLimitMiddleware, limit=node.config.max_request_bytes, payload=_too_large_payload
    )
    return app
