"""JSON-RPC to full-node peers, counting every byte the light client downloads."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from typing import Any

import httpx
import orjson

__all__ = ["ByteMeter", "PeerClient", "PeerRpcError", "PeerUnreachable"]


class PeerUnreachable(Exception):
    """No usable HTTP answer: connection refused, timeout, non-200 status or not JSON-RPC."""


class PeerRpcError(Exception):
    """The peer answered with a JSON-RPC error."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message


class ByteMeter:
    """Response-body bytes received, by kind ("headers", "blob_txs", "cells")."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_kind: Counter[str] = Counter()

    def add(self, kind: str, count: int) -> None:
        with self._lock:
            self.by_kind[kind] += count

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.by_kind)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.by_kind.values())


class PeerClient:
    """One full node, by its RPC URL."""

    def __init__(self, url: str, meter: ByteMeter, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.meter = meter
        self.http = httpx.Client(timeout=timeout)
        self._ids = itertools.count(1)

    def close(self) -> None:
        self.http.close()

    def _post(self, payload: Any, kind: str) -> tuple[Any, int]:
        try:
            response = self.http.post(
                self.url + "/",
                content=orjson.dumps(payload),
                headers={"content-type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise PeerUnreachable(f"{type(exc).__name__}: {exc}") from None
        size = len(response.content)
        self.meter.add(kind, size)
        if response.status_code != 200:
            raise PeerUnreachable(f"HTTP {response.status_code}")
        try:
            return orjson.loads(response.content), size
        except orjson.JSONDecodeError as exc:
            raise PeerUnreachable(f"answer is not JSON: {exc}") from None

    @staticmethod
    def _result(reply: Any) -> Any:
        if not isinstance(reply, dict):
            raise PeerUnreachable("answer is not a JSON-RPC response")
        error = reply.get("error")
        if error is not None:
            if not isinstance(error, dict):
                raise PeerUnreachable("malformed JSON-RPC error")
            code = error.get("code", 0)
            raise PeerRpcError(code if isinstance(code, int) else 0, str(error.get("message")))
        if "result" not in reply:
            raise PeerUnreachable("JSON-RPC response without a result")
        return reply["result"]

    def call(self, kind: str, method: str, *params: Any) -> tuple[Any, int]:
        """``(result, response bytes)``; raises ``PeerUnreachable`` or ``PeerRpcError``."""
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": [*params]}
        reply, size = self._post(request, kind)
        return self._result(reply), size

    def batch(self, kind: str, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Results of a JSON-RPC batch, in call order; an error anywhere raises."""
        ids = [next(self._ids) for _ in calls]
        requests = [
            {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}
            for id_, (method, params) in zip(ids, calls, strict=True)
        ]
        replies, _size = self._post(requests, kind)
        if not isinstance(replies, list) or len(replies) != len(calls):
            raise PeerUnreachable("batch answer does not match the request")
        by_id = {reply.get("id"): reply for reply in replies if isinstance(reply, dict)}
        if set(by_id) != set(ids):
            raise PeerUnreachable("batch answer ids do not match the request")
        return [self._result(by_id[id_]) for id_ in ids]
