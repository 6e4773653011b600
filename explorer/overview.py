"""The overview: every role's public API read server-side and merged into one JSON document.

Each role is read by its own function in a thread of a small pool, so one slow or dead role
costs at most one request timeout and never hides the others: a role that fails is reported
under ``roles`` (``ok: false`` and the error) and its section is ``null``.  Requests are bounded
(a timeout per request, a limit on every list), a role stops at its first failed request, and
the merged document is cached for ``CACHE_SECONDS`` so a page polling every second, or several
pages, cost the upstreams one refresh per second at most.

Two things the upstreams forget are remembered here, in memory and bounded: a batch's details
by its L1 transaction (a reverted batch is listed by the follower with its L1 transaction only),
and the last report of each dispute game (the challenger lists live games only, so once a game
is settled the page would lose it; it stays as ``settled`` with the challenger's outcome).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

import httpx

from l1.client import L1Client
from l2.client.bridge import RollupL1

__all__ = [
    "CACHE_SECONDS",
    "ROLES",
    "Aggregator",
    "UpstreamError",
    "Upstreams",
    "compute_batch_rows",
    "compute_dispute_view",
]

ROLES: Final = ("l1", "sequencer", "follower", "challenger", "light", "prover")
#: Seconds one upstream request may take (connect, read, write, pool).
TIMEOUT: Final = 2.0
#: Seconds an overview is served from the cache.
CACHE_SECONDS: Final = 1.0
RECENT_BLOCKS: Final = 10
MAX_BATCHES: Final = 50
MAX_ACCOUNTS: Final = 16
MAX_EVENTS: Final = 20
LIGHT_BLOCKS: Final = 10
PROVER_JOBS: Final = 10
#: Remembered batches (by L1 transaction) and settled games.
REMEMBERED_BATCHES: Final = 200
SETTLED_GAMES: Final = 20
#: The sequencer's batch statuses before the L1 has the batch: shown as ``soft``.
SOFT_STATUSES: Final = frozenset({"sealed", "posted"})


class UpstreamError(Exception):
    """An upstream answered badly (HTTP error, not JSON, JSON-RPC error)."""


@dataclass(frozen=True, slots=True)
class Upstreams:
    """The roles' base URLs; only the L1 is required.  ``rollup_id`` (hex) is needed only when
    neither a sequencer nor a follower is given (both report the rollup id)."""

    l1: str
    sequencer: str | None = None
    follower: str | None = None
    challenger: str | None = None
    light: str | None = None
    prover: str | None = None
    rollup_id: str | None = None

    def get_url(self, role: str) -> str | None:
        url: str | None = getattr(self, role)
        return None if url is None else url.rstrip("/")


def _quantity(value: Any) -> int | None:
    return None if value is None else int(value, 16)


def _hx(value: bytes) -> str:
    return "0x" + value.hex()


# ----------------------------------------------------------------------------- merging (pure)
def _display_status(status: str) -> str:
    """The page's four statuses: ``soft`` (executed, not yet on L1), ``safe``, ``final``,
    ``reverted``."""
    return "soft" if status in SOFT_STATUSES else status


def _count(findings: Any) -> int:
    """The follower lists findings; a remembered row already holds their number."""
    return len(findings) if isinstance(findings, list) else int(findings or 0)


def _batch_row(view: dict[str, Any], source: str) -> dict[str, Any]:
    return {
        "number": view["number"],
        "status": _display_status(view["status"]),
        "source_status": view["status"],
        "source": source,
        "tx_count": view.get("tx_count"),
        "prev_root": view.get("prev_root"),
        "new_root": view.get("new_root"),
        "deposit_start": view.get("deposit_start"),
        "deposit_end": view.get("deposit_end"),
        "l1_tx_hash": view.get("l1_tx_hash"),
        "blob_versioned_hashes": list(view.get("blob_versioned_hashes") or []),
        "derived_root": view.get("derived_root"),
        "findings": _count(view.get("findings")),
        "reverted_at_block": None,
    }


def compute_batch_rows(
    sequencer: list[dict[str, Any]] | None,
    follower: list[dict[str, Any]] | None,
    reverted: list[dict[str, Any]],
    remembered: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """The batches table, newest first: the sequencer's batches (the follower's when the
    sequencer is down), each with the follower's derived root when the follower has the same
    L1 transaction, then every batch the L1 reverted (the follower's ``derivation.reverted``,
    filled in from ``remembered`` rows of the same L1 transaction)."""
    rows: list[dict[str, Any]] = []
    derived = {b.get("l1_tx_hash"): b for b in follower or [] if b.get("l1_tx_hash")}
    if sequencer is not None:
        for view in sequencer:
            row = _batch_row(view, "sequencer")
            match = derived.get(row["l1_tx_hash"])
            if match is not None:
                row["derived_root"] = match.get("derived_root")
                row["findings"] = len(match.get("findings") or [])
            rows.append(row)
    elif follower is not None:
        rows = [_batch_row(view, "follower") for view in follower]
    listed = {r["l1_tx_hash"] for r in rows if r["status"] == "reverted" and r["l1_tx_hash"]}
    for item in reverted:
        tx_hash = item.get("l1_tx_hash")
        if tx_hash in listed:
            continue
        base = remembered.get(tx_hash or "", {})
        row = {**_batch_row({**base, **item, "status": "reverted"}, "follower")}
        row["reverted_at_block"] = item.get("reverted_at_block")
        rows.append(row)
    rows.sort(key=lambda r: (-r["number"], r["status"] == "reverted"))
    return rows[:MAX_BATCHES]


def compute_dispute_view(
    disputes: dict[str, Any],
    events: list[dict[str, Any]],
    batches: list[dict[str, Any]],
    settled: dict[int, dict[str, Any]],
) -> dict[str, Any]:
    """The challenger's live games, each with ``n`` (the disputed batch's record count: the
    range bar's full width) and ``state: live``, then the settled ones: games seen live before
    (``settled``, the last report) or known only from a ``won``/``lost`` event, each with the
    challenger's ``outcome`` and the ``winner``."""
    counts = {b["number"]: b["tx_count"] for b in batches if b["status"] != "reverted"}
    counts_any = {b["number"]: b["tx_count"] for b in batches}
    outcomes: dict[int, str] = {}
    for event in reversed(events):  # oldest first: the newest outcome wins
        if event.get("kind") in ("won", "lost"):
            outcomes[event["batch_number"]] = event["kind"]
    live = []
    for game in disputes.get("games") or []:
        n = counts.get(game["batch_number"]) or game["hi"]
        live.append({**game, "n": max(n, game["hi"]), "state": "live", "outcome": None})
    live_batches = {g["batch_number"] for g in live}
    ended = []
    for number in sorted(set(settled) | set(outcomes), reverse=True):
        if number in live_batches:
            continue
        outcome = outcomes.get(number)
        last = settled.get(number) or {
            "out_point": None,
            "batch_number": number,
            "lo": None,
            "hi": None,
            "moves": None,
            "max_moves": None,
            "turn": None,
            "proposer_clock": None,
            "challenger_clock": None,
            "timeout_at_block": None,
            "ours": True,
            "our_side": "challenger",
            "n": counts_any.get(number),
        }
        winner = {"won": "challenger", "lost": "proposer"}.get(outcome or "")
        ended.append({**last, "state": "settled", "outcome": outcome, "winner": winner})
    for game in live:
        game["winner"] = None
    return {
        "games": live + ended[:SETTLED_GAMES],
        "stats": disputes.get("stats") or {},
        "updated_at": disputes.get("updated_at"),
        "events": events[:MAX_EVENTS],
        "open": len(live),
    }


# ----------------------------------------------------------------------------- the aggregator
class Aggregator:
    """Reads the upstreams (see the module docstring); thread-safe, one refresh at a time."""

    def __init__(
        self,
        upstreams: Upstreams,
        *,
        on_upstream_error: Callable[[str], None] | None = None,
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.upstreams = upstreams
        self.http = httpx.Client(timeout=TIMEOUT)
        self.pool = ThreadPoolExecutor(max_workers=len(ROLES), thread_name_prefix="explorer")
        self.on_upstream_error = on_upstream_error or (lambda _role: None)
        self.cache_seconds = cache_seconds
        self.clock = clock
        self.last_refresh_seconds: float | None = None
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._rollup_l1: RollupL1 | None = None
        self._batches: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._games: OrderedDict[int, dict[str, Any]] = OrderedDict()

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.http.close()
        if self._rollup_l1 is not None:
            self._rollup_l1.client.close()

    # ------------------------------------------------------------------ transport
    def get_json(self, role: str, path: str, **params: Any) -> Any:
        """GET ``path`` of ``role``; ``UpstreamError`` for an HTTP error or a body that is not
        JSON (``httpx`` errors pass through: the role is unreachable)."""
        url = self.upstreams.get_url(role)
        assert url is not None
        response = self.http.get(url + path, params=params)
        try:
            body = response.json()
        except ValueError:
            raise UpstreamError(f"{path}: HTTP {response.status_code}, not JSON") from None
        if response.status_code >= 400:
            error = body.get("error") if isinstance(body, dict) else None
            message = error.get("message") if isinstance(error, dict) else str(body)[:200]
            raise UpstreamError(f"{path}: HTTP {response.status_code}: {message}")
        return body

    def rpc(self, method: str, *params: Any) -> Any:
        """One JSON-RPC call to the L1 (CKB's method names)."""
        request = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        response = self.http.post(self.upstreams.l1.rstrip("/") + "/", json=request)
        try:
            payload = response.json()
        except ValueError:
            raise UpstreamError(f"{method}: HTTP {response.status_code}, not JSON") from None
        if not isinstance(payload, dict):
            raise UpstreamError(f"{method}: not a JSON-RPC answer")
        if payload.get("error") is not None:
            error = payload["error"]
            raise UpstreamError(f"{method}: {error.get('message')} (code {error.get('code')})")
        return payload.get("result")

    # ------------------------------------------------------------------ roles
    def read_l1(self) -> dict[str, Any]:
        tip = self.rpc("get_tip_header")
        number = int(tip["number"], 16)
        blocks = []
        for height in range(number, max(-1, number - RECENT_BLOCKS), -1):
            block = self.rpc("get_block_by_number", hex(height))
            if block is None:
                break
            header = block["header"]
            txs = [
                {
                    "hash": tx.get("hash"),
                    "inputs": len(tx.get("inputs") or []),
                    "outputs": len(tx.get("outputs") or []),
                    "blob_versioned_hashes": list(tx.get("blob_versioned_hashes") or []),
                }
                for tx in block.get("transactions") or []
            ]
            blocks.append(
                {
                    "number": int(header["number"], 16),
                    "hash": header.get("hash"),
                    "timestamp": _quantity(header.get("timestamp")),
                    "tx_count": len(txs),
                    "blob_count": sum(len(t["blob_versioned_hashes"]) for t in txs),
                    "transactions": txs,
                }
            )
        mempool = None
        try:
            info = self.rpc("tx_pool_info")
            mempool = {
                "pending": _quantity(info.get("pending")),
                "total_tx_size": _quantity(info.get("total_tx_size")),
            }
        except UpstreamError:
            pass  # an L1 without the pool method still has blocks to show
        return {
            "tip": {
                "number": number,
                "hash": tip.get("hash"),
                "timestamp": _quantity(tip.get("timestamp")),
            },
            "blocks": blocks,
            "mempool": mempool,
        }

    def read_sequencer(self) -> dict[str, Any]:
        status = self.get_json("sequencer", "/v1/status")
        soft = (status.get("heads") or {}).get("soft") or {}
        last = soft.get("batch")
        start = 0 if last is None else max(0, last - MAX_BATCHES + 1)
        batches = self.get_json("sequencer", "/v1/batches", start=start, limit=MAX_BATCHES)
        return {
            "status": status,
            "batches": batches["batches"],
            "accounts": self.read_accounts("sequencer"),
        }

    def read_follower(self) -> dict[str, Any]:
        status = self.get_json("follower", "/v1/status")
        count = (status.get("derivation") or {}).get("batches") or 0
        start = max(0, count - MAX_BATCHES)
        batches = self.get_json("follower", "/v1/batches", start=start, limit=MAX_BATCHES)
        accounts = None
        if self.upstreams.sequencer is None and (status.get("derivation") or {}).get("ready"):
            accounts = self.read_accounts("follower")
        return {"status": status, "batches": batches["batches"], "accounts": accounts}

    def read_accounts(self, role: str) -> list[dict[str, Any]]:
        """The first ``MAX_ACCOUNTS`` accounts (indices are handed out in order, so the first
        unknown index ends the list)."""
        accounts = []
        url = self.upstreams.get_url(role)
        for index in range(MAX_ACCOUNTS):
            response = self.http.get(f"{url}/v1/accounts/{index}")
            if response.status_code == 404:
                break
            if response.status_code >= 400:
                raise UpstreamError(f"/v1/accounts/{index}: HTTP {response.status_code}")
            view = response.json()
            accounts.append(
                {
                    "index": view["index"],
                    "public_key": view.get("public_key"),
                    "balance": view.get("balance"),
                    "nonce": view.get("nonce"),
                }
            )
        return accounts

    def read_challenger(self) -> dict[str, Any]:
        return {
            "disputes": self.get_json("challenger", "/v1/disputes"),
            "events": self.get_json("challenger", "/v1/events", limit=MAX_EVENTS)["events"],
            "health": self.get_json("challenger", "/v1/health"),
        }

    def read_light(self) -> dict[str, Any]:
        listing = self.get_json("light", "/v1/blocks", limit=LIGHT_BLOCKS)
        blocks = [
            {
                "number": b.get("number"),
                "hash": b.get("hash"),
                "availability": b.get("availability"),
                "reason": b.get("reason"),
                "blobs": b.get("blobs"),
                "cells_sampled": b.get("cells_sampled"),
                "attempts": b.get("attempts"),
                "bytes_downloaded": b.get("bytes_downloaded"),
                "sample_seconds": b.get("sample_seconds"),
            }
            for b in reversed(listing.get("blocks") or [])
        ]
        counts: dict[str, int] = {}
        for block in blocks:
            key = str(block["availability"])
            counts[key] = counts.get(key, 0) + 1
        return {"head": listing.get("head"), "blocks": blocks, "counts": counts}

    def read_prover(self) -> dict[str, Any]:
        health = self.get_json("prover", "/v1/health")
        jobs = self.get_json("prover", "/v1/jobs", limit=PROVER_JOBS).get("jobs") or []
        return {"health": health, "jobs": jobs}

    def read_rollup(self, rollup_id: str) -> dict[str, Any]:
        """The rollup cell's state (``RollupL1.find_rollup_cell``) on the L1."""
        if self._rollup_l1 is None:
            self._rollup_l1 = RollupL1(L1Client(self.upstreams.l1, timeout=TIMEOUT))
        try:
            cell = self._rollup_l1.find_rollup_cell(bytes.fromhex(rollup_id.removeprefix("0x")))
        except httpx.HTTPError:
            self._rollup_l1.client.close()
            self._rollup_l1 = None  # rediscover the system scripts once the L1 is back
            raise
        state = cell.state
        return {
            "rollup_id": rollup_id,
            "mode": "validity" if state.is_validity else "optimistic",
            "verifying_key_hash": _hx(state.verifying_key_hash),
            "chain_id": state.chain_id,
            "l2_preset": state.l2_preset,
            "next_batch_number": state.next_batch_number,
            "next_final_batch": state.next_final_batch,
            "state_root": _hx(state.state_root),
            "next_deposit_index": state.next_deposit_index,
            "pending_forced": len(state.pending_forced),
            "idle_blocks": state.idle_blocks,
            "bond": state.bond,
            "burn_permille": state.burn_permille,
            "fee_account": state.fee_account,
            "windows": {
                "challenge": state.challenge_window,
                "forced_inclusion": state.forced_inclusion_window,
                "escape_timeout": state.escape_timeout,
                "game_clock": state.game_clock,
            },
            "cell": {
                "tx_hash": _hx(cell.out_point.tx_hash),
                "index": cell.out_point.index,
                "block_number": cell.block_number,
                "capacity": cell.output.capacity,
            },
        }

    # ------------------------------------------------------------------ the overview
    def get_overview(self) -> dict[str, Any]:
        """The cached overview, refreshed when older than ``cache_seconds`` (one refresh at a
        time: concurrent callers wait for it and share the result)."""
        with self._lock:
            now = self.clock()
            if self._cached is not None and now - self._cached[0] < self.cache_seconds:
                return self._cached[1]
            overview = self.compute_overview()
            self.last_refresh_seconds = self.clock() - now
            self._cached = (self.clock(), overview)
            return overview

    def compute_overview(self) -> dict[str, Any]:
        readers: dict[str, Callable[[], dict[str, Any]]] = {
            "l1": self.read_l1,
            "sequencer": self.read_sequencer,
            "follower": self.read_follower,
            "challenger": self.read_challenger,
            "light": self.read_light,
            "prover": self.read_prover,
        }
        roles: dict[str, dict[str, Any]] = {}
        futures = {
            role: self.pool.submit(reader)
            for role, reader in readers.items()
            if self.upstreams.get_url(role) is not None
        }
        results: dict[str, dict[str, Any] | None] = {}
        for role in ROLES:
            url = self.upstreams.get_url(role)
            roles[role] = {"url": url, "configured": url is not None, "ok": None, "error": None}
            if role in futures:
                results[role] = self._settle(role, roles[role], futures[role].result)
        sequencer, follower = results.get("sequencer"), results.get("follower")

        rollup_id = self.upstreams.rollup_id
        for source in (sequencer, follower):
            if rollup_id is None and source is not None:
                rollup_id = source["status"].get("rollup_id")
        rollup = None
        if rollup_id is not None and results.get("l1") is not None:
            rollup = self._settle("l1", roles["l1"], lambda: self.read_rollup(rollup_id))

        derivation = {} if follower is None else follower["status"].get("derivation") or {}
        reverted = list(derivation.get("reverted") or [])
        batches = compute_batch_rows(
            None if sequencer is None else sequencer["batches"],
            None if follower is None else follower["batches"],
            reverted,
            dict(self._batches),
        )
        self._remember_batches(batches)
        challenger = results.get("challenger")
        disputes = None
        if challenger is not None:
            self._remember_games(challenger["disputes"].get("games") or [])
            disputes = compute_dispute_view(
                challenger["disputes"], challenger["events"], batches, dict(self._games)
            )
            disputes["health"] = challenger["health"]
        accounts = None
        for source in (sequencer, follower):
            if accounts is None and source is not None:
                accounts = source["accounts"]
        heads_source = sequencer or follower
        return {
            "generated_at": time.time(),
            "roles": roles,
            "l1": results.get("l1"),
            "rollup": rollup,
            "heads": None if heads_source is None else heads_source["status"].get("heads"),
            "batches": batches,
            "follower": None if follower is None else _follower_summary(follower["status"]),
            "disputes": disputes,
            "light": results.get("light"),
            "accounts": accounts,
            "prover": results.get("prover"),
            "limits": {
                "recent_blocks": RECENT_BLOCKS,
                "batches": MAX_BATCHES,
                "accounts": MAX_ACCOUNTS,
                "events": MAX_EVENTS,
            },
        }

    def _settle(
        self, role: str, report: dict[str, Any], run: Callable[[], dict[str, Any]]
    ) -> dict[str, Any] | None:
        """Run one role's read; a failure marks the role down with a one-line reason."""
        try:
            value = run()
        except httpx.TimeoutException:
            error = f"no answer within {TIMEOUT:g} s"
        except httpx.TransportError as exc:
            error = f"unreachable: {type(exc).__name__}: {exc}"[:300]
        except Exception as exc:  # a bad answer must not break the other roles
            error = f"{type(exc).__name__}: {exc}"[:300]
        else:
            if report["ok"] is None:
                report["ok"] = True
            return value
        report["ok"], report["error"] = False, error
        self.on_upstream_error(role)
        return None

    def _remember_batches(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            if row["l1_tx_hash"] and row["status"] != "reverted":
                self._batches[row["l1_tx_hash"]] = row
                self._batches.move_to_end(row["l1_tx_hash"])
        while len(self._batches) > REMEMBERED_BATCHES:
            self._batches.popitem(last=False)

    def _remember_games(self, games: list[dict[str, Any]]) -> None:
        for game in games:
            number = game["batch_number"]
            self._games[number] = dict(game)
            self._games.move_to_end(number)
        while len(self._games) > SETTLED_GAMES:
            self._games.popitem(last=False)


def _follower_summary(status: dict[str, Any]) -> dict[str, Any]:
    derivation = status.get("derivation") or {}
    l1 = status.get("l1") or {}
    return {
        "state_root": derivation.get("state_root"),
        "batches": derivation.get("batches"),
        "final_batches": derivation.get("final_batches"),
        "reverted": len(derivation.get("reverted") or []),
        "findings": derivation.get("findings"),
        "processed_block": l1.get("processed_block"),
        "lag_blocks": l1.get("lag_blocks"),
        "error": derivation.get("error") or derivation.get("poll_error"),
    }
