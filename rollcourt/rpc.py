"""The L1 JSON-RPC client as the CLI uses it: every failure becomes one clear ``RollcourtError``.

``l1.client.L1Client`` raises whatever httpx or the JSON decoder raise; here a refused connection
becomes ``NodeUnreachable`` naming the URL and how to fix it, a JSON-RPC error becomes
``NodeRpcError`` with the node's message, and an answer that is not JSON-RPC (wrong port, some
other server) is reported as such instead of a ``KeyError`` traceback.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from l1.ckb.compact import compact_to_difficulty
from l1.ckb.epoch import EpochNumberWithFraction
from l1.ckb.hashes import compute_header_hash
from l1.ckb.json import JsonFormatError, bytes_to_json, quantity_from_json
from l1.client import L1Client, L1RpcError
from rollcourt.errors import NodeRpcError, NodeUnreachable, RollcourtError, TransferFailed

__all__ = ["CommitInfo", "NodeClient", "TipSummary", "get_tip_summary", "wait_for_commit"]

_HINT = "is a node running there? start one with `rollcourt devnet up`, or pass --rpc URL"


class NodeClient(L1Client):
    """``L1Client`` whose errors are ``RollcourtError``s with one-line, actionable messages."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise NodeUnreachable(f"L1 RPC URL must start with http:// or https://, got {url!r}")
        super().__init__(url, timeout)

    def call(self, method: str, *params: Any) -> Any:
        try:
            return super().call(method, *params)
        except L1RpcError as exc:
            raise NodeRpcError(
                f"L1 node rejected {method}: {exc.message} (code {exc.code})"
            ) from None
        except httpx.ConnectError:
            raise NodeUnreachable(
                f"cannot connect to the L1 node at {self.url} ({_HINT})"
            ) from None
        except httpx.TimeoutException:
            raise NodeUnreachable(
                f"the L1 node at {self.url} did not answer {method} in time"
            ) from None
        except httpx.HTTPError as exc:
            raise NodeUnreachable(f"HTTP error talking to {self.url}: {exc}") from None
        except (ValueError, KeyError, TypeError):
            # Not JSON, or JSON without "result": not a JSON-RPC server (or the wrong port).
            raise NodeRpcError(
                f"{self.url} did not answer {method} as a JSON-RPC L1 node ({_HINT})"
            ) from None


@contextmanager
def reading_answer(what: str) -> Iterator[None]:
    """Parse a node's answer inside this block; a malformed answer is a ``NodeRpcError``."""
    try:
        yield
    except (JsonFormatError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise NodeRpcError(f"the L1 node sent a malformed {what}: {exc!r}") from None


@dataclass(frozen=True, slots=True)
class TipSummary:
    chain: str
    number: int
    hash: bytes
    epoch: EpochNumberWithFraction
    difficulty: int
    timestamp_ms: int
    pool_pending: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "tip_number": self.number,
            "tip_hash": bytes_to_json(self.hash),
            "epoch": {
                "number": self.epoch.number,
                "index": self.epoch.index,
                "length": self.epoch.length,
            },
            "difficulty": self.difficulty,
            "timestamp_ms": self.timestamp_ms,
            "pool_pending": self.pool_pending,
        }


def get_tip_summary(client: L1Client, *, with_pool: bool = False) -> TipSummary:
    header = client.get_tip_header()
    info = client.call("get_blockchain_info")
    pending = None
    if with_pool:
        pool = client.call("tx_pool_info")
        with reading_answer("pool info"):
            pending = quantity_from_json(pool["pending"], "pending")
    with reading_answer("blockchain info"):
        chain = str(info["chain"])
    raw = header.raw
    return TipSummary(
        chain=chain,
        number=raw.number,
        hash=compute_header_hash(header),
        epoch=EpochNumberWithFraction.from_full_value(raw.epoch),
        difficulty=compact_to_difficulty(raw.compact_target),
        timestamp_ms=raw.timestamp,
        pool_pending=pending,
    )


@dataclass(frozen=True, slots=True)
class CommitInfo:
    block_number: int
    block_hash: bytes


def wait_for_commit(
    client: L1Client, tx_hash: bytes, timeout: float, poll_interval: float = 0.5
) -> CommitInfo:
    """Poll ``get_transaction`` until the transaction is committed in a main-chain block."""
    deadline = time.monotonic() + timeout
    status = "unknown"
    while True:
        answer = client.call("get_transaction", bytes_to_json(tx_hash))
        with reading_answer("transaction status"):
            tx_status = answer["tx_status"]
            status = str(tx_status["status"])
            if status == "committed":
                return CommitInfo(
                    quantity_from_json(tx_status["block_number"], "block_number"),
                    bytes.fromhex(str(tx_status["block_hash"])[2:]),
                )
        if status == "rejected":
            raise TransferFailed(
                f"transaction {bytes_to_json(tx_hash)} was rejected: {tx_status.get('reason')}"
            )
        if time.monotonic() >= deadline:
            raise TransferFailed(
                f"transaction {bytes_to_json(tx_hash)} not committed within {timeout:g} s "
                f"(status: {status}); it may still commit: is the node mining?"
            )
        time.sleep(poll_interval)


def describe_error(exc: BaseException) -> str:
    """One line for an error that escaped translation (kept as a last line of defence)."""
    if isinstance(exc, RollcourtError):
        return str(exc)
    if isinstance(exc, L1RpcError):
        return f"L1 node error: {exc.message} (code {exc.code})"
    if isinstance(exc, httpx.HTTPError):
        return f"HTTP error: {exc}"
    return f"{type(exc).__name__}: {exc}"
