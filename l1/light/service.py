"""The light client: follow headers from several peers, sample every recent block with blobs.

A background thread runs rounds every ``interval`` seconds: for each peer, fetch its tip header
and the headers after the last one we share (JSON-RPC batches of ``get_header_by_number``),
checking each with ``l1.light.headers.HeaderChain``; then sample the blocks of the best chain that
are still inside the blob retention window (``preset.blob_retention_blocks``: older blobs are
pruned by full nodes, so such blocks are reported as ``expired``). A block whose data could not
be confirmed is tried again, with fresh random cells, up to ``max_attempts`` times.

State is in memory only: a restarted light client syncs headers from genesis again. With
``data_dir`` set it writes ``availability.json`` (its availability records) there on shutdown,
for inspection; it never reads it back.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from l1.ckb.hashes import compute_header_hash
from l1.ckb.json import JsonFormatError, bytes_to_json, header_from_json, quantity_to_json
from l1.ckb.types import Header
from l1.core.errors import L1Error
from l1.core.genesis import chain_spec_from_json
from l1.light.headers import HeaderChain, HeaderRecord, OrphanHeader
from l1.light.peers import ByteMeter, PeerClient, PeerRpcError, PeerUnreachable
from l1.light.sampler import SAMPLE_BYTES, Availability, Sampler

__all__ = ["LightClient", "LightConfig", "PeerStatus"]

log = logging.getLogger("l1.light")


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class LightConfig:
    peers: list[str]
    #: Chain spec JSON (default: the devnet spec, as the full node).
    spec: Path | None = None
    samples: int = 8
    interval: float = 1.0
    max_attempts: int = 3
    retry_interval: float = 3.0
    #: Ask every peer for every blob's cells (audit), not just until one passes.
    query_all_peers: bool = False
    header_batch: int = 100
    max_blocks_per_round: int = 32
    timeout: float = 10.0
    data_dir: Path | None = None

    def resolved_spec(self) -> Path:
        if self.spec is not None:
            return self.spec
        from l1.node.config import default_spec_path

        return default_spec_path()


@dataclass
class PeerStatus:
    url: str
    tip_number: int | None = None
    last_seen: float | None = None
    last_error: str | None = None
    headers_accepted: int = 0
    headers_refused: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class LightClient:
    def __init__(
        self,
        config: LightConfig,
        kzg_settings: Callable[[], Any] | None = None,
        clock_ms: Callable[[], int] = _wall_clock_ms,
    ) -> None:
        if not config.peers:
            raise ValueError("a light client needs at least one --peer")
        for url in config.peers:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"peer {url!r} is not an http(s) URL")
        self.config = config
        spec = chain_spec_from_json(json.loads(config.resolved_spec().read_text()))
        self.chain = HeaderChain(spec)
        self.preset = spec.preset
        self.clock_ms = clock_ms
        self.meter = ByteMeter()
        self.peers = [PeerClient(url, self.meter, config.timeout) for url in config.peers]
        self.peer_status = {peer.url: PeerStatus(peer.url) for peer in self.peers}
        if kzg_settings is None:
            from l1.kzg import get_kzg_settings

            kzg_settings = get_kzg_settings
        self.kzg_settings = kzg_settings
        self.sampler = Sampler(self.peers, kzg_settings, config.samples, config.query_all_peers)
        self.availability: dict[bytes, Availability] = {}
        self.lock = threading.RLock()
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.rounds = 0

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        self.kzg_settings()  # load the trusted setup (seconds) before reporting healthy
        self.thread = threading.Thread(target=self._run, name="light-sync", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout=30)
        for peer in self.peers:
            peer.close()
        if self.config.data_dir is not None:
            self._dump(self.config.data_dir / "availability.json")

    def _run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.run_round()
            except Exception:  # a bug in one round must not stop the follower
                log.exception("light client round failed")
            self.stop_event.wait(self.config.interval)

    def run_round(self) -> None:
        for peer in self.peers:
            if self.stop_event.is_set():
                return
            self.sync_headers(peer)
        self.sample_due_blocks()
        self.rounds += 1

    # ------------------------------------------------------------------ headers
    def sync_headers(self, peer: PeerClient) -> int:
        """Fetch and check the peer's headers we do not have yet; returns how many were new."""
        status = self.peer_status[peer.url]
        added = 0
        try:
            tip = header_from_json(peer.call("headers", "get_tip_header")[0])
            status.tip_number, status.last_seen, status.last_error = (
                tip.raw.number,
                time.time(),
                None,
            )
            with self.lock:
                if self.chain.get(compute_header_hash(tip)) is not None:
                    return 0
                parent_known = self.chain.get(tip.raw.parent_hash) is not None
                ours = self.chain.tip.number
            if parent_known:
                return self._add_headers(peer, [tip])
            fork = self._fork_point(peer, min(tip.raw.number - 1, ours))
            step = self.config.header_batch
            for first in range(fork + 1, tip.raw.number + 1, step):
                numbers = range(first, min(first + step, tip.raw.number + 1))
                raw = peer.batch(
                    "headers", [("get_header_by_number", [quantity_to_json(n)]) for n in numbers]
                )
                headers = [None if item is None else header_from_json(item) for item in raw]
                added += self._add_headers(peer, headers)
                if None in headers:  # the peer's chain moved under us: next round
                    break
        except (PeerUnreachable, PeerRpcError) as exc:
            status.last_error = f"{type(exc).__name__}: {exc}"
        except OrphanHeader as exc:  # the peer reorganised while we fetched: next round
            status.last_error = f"OrphanHeader: {exc}"
        except (L1Error, JsonFormatError) as exc:
            status.headers_refused += 1
            status.last_error = f"refused header: {type(exc).__name__}: {exc}"
            log.warning("peer %s sent a header we refuse: %s", peer.url, exc)
        return added

    def _add_headers(self, peer: PeerClient, headers: list[Header | None]) -> int:
        """Add headers in order up to the first ``None``; raises what ``add_header`` raises."""
        status = self.peer_status[peer.url]
        added = 0
        for header in headers:
            if header is None:
                break
            with self.lock:
                update = self.chain.add_header(header, self.clock_ms(), peer.url)
            if update.status != "duplicate":
                added += 1
                status.headers_accepted += 1
        return added

    def _fork_point(self, peer: PeerClient, number: int) -> int:
        """Highest height ≤ ``number`` (stepping back exponentially) where the peer's main
        chain has a header we know."""
        step = 1
        while number > 0:
            result, _ = peer.call("headers", "get_block_hash", quantity_to_json(number))
            if isinstance(result, str):
                try:
                    block_hash = bytes.fromhex(result.removeprefix("0x"))
                except ValueError:
                    block_hash = b""
                with self.lock:
                    if self.chain.get(block_hash) is not None:
                        return number
            number = max(number - step, 0)
            step *= 2
        return 0

    # ------------------------------------------------------------------ sampling
    def _window_start(self, tip_number: int) -> int:
        return max(1, tip_number - self.preset.blob_retention_blocks + 1)

    def due_blocks(self) -> list[HeaderRecord]:
        now = time.time()
        due = []
        with self.lock:
            tip = self.chain.tip.number
            for number in range(self._window_start(tip), tip + 1):
                record = self.chain.get_main(number)
                if record is None:
                    continue
                state = self.availability.get(record.hash)
                if state is None or (
                    state.status != "available"
                    and state.attempts < self.config.max_attempts
                    and now - state.checked_at >= self.config.retry_interval
                ):
                    due.append(record)
                if len(due) >= self.config.max_blocks_per_round:
                    break
        return due

    def sample_due_blocks(self) -> int:
        checked = 0
        for record in self.due_blocks():
            if self.stop_event.is_set():
                break
            with self.lock:
                previous = self.availability.get(record.hash)
            result = self.sampler.check(record.header, record.hash, previous)
            if result.status == "pending" and result.attempts >= self.config.max_attempts:
                result.status = "unavailable"
            if result.status == "unavailable":
                log.warning(
                    "block %d %s is unavailable (attempt %d); failing peers: %s",
                    record.number,
                    record.hash.hex()[:16],
                    result.attempts,
                    result.failed_peers,
                )
            with self.lock:
                self.availability[record.hash] = result
            checked += 1
        return checked

    # ------------------------------------------------------------------ views
    def availability_status(self, record: HeaderRecord) -> str:
        state = self.availability.get(record.hash)
        if state is not None:
            return state.status
        if record.number == 0:
            return "available"  # genesis carries no blobs
        if self.chain.is_main(record.hash) and record.number < self._window_start(
            self.chain.tip.number
        ):
            return "expired"
        return "pending"

    def head_view(self) -> dict[str, Any]:
        with self.lock:
            tip = self.chain.tip
            return {
                "number": tip.number,
                "hash": bytes_to_json(tip.hash),
                "total_difficulty": str(tip.total_difficulty),
            }

    def block_view(self, record: HeaderRecord) -> dict[str, Any]:
        with self.lock:
            state = self.availability.get(record.hash)
            raw = record.header.raw
            view: dict[str, Any] = {
                "number": record.number,
                "hash": bytes_to_json(record.hash),
                "parent_hash": bytes_to_json(raw.parent_hash),
                "timestamp": raw.timestamp,
                "total_difficulty": str(record.total_difficulty),
                "main_chain": self.chain.is_main(record.hash),
                "availability": self.availability_status(record),
                "reason": None,
                "blobs": 0 if record.number == 0 else None,
                "transactions": [],
                "samples": [],
                "failed_peers": [],
                "attempts": 0,
                "bytes_downloaded": 0,
                "cells_sampled": 0,
                "sample_seconds": None,
            }
            if state is not None:
                view.update(
                    blobs=state.blobs,
                    transactions=[
                        {
                            "tx_hash": bytes_to_json(tx.tx_hash),
                            "tx_index": tx.tx_index,
                            "versioned_hashes": [bytes_to_json(h) for h in tx.versioned_hashes],
                        }
                        for tx in state.blob_transactions or ()
                    ],
                    samples=[sample.to_json() for sample in state.samples],
                    failed_peers=state.failed_peers,
                    reason=state.reason,
                    attempts=state.attempts,
                    bytes_downloaded=state.bytes_downloaded,
                    cells_sampled=state.cells_sampled,
                    sample_seconds=round(state.seconds, 6),
                )
            return view

    def find_block(self, ref: bytes | int) -> HeaderRecord | None:
        with self.lock:
            if isinstance(ref, int):
                return self.chain.get_main(ref)
            return self.chain.get(ref)

    def list_blocks(self, start: int | None, limit: int) -> dict[str, Any]:
        with self.lock:
            tip = self.chain.tip.number
            first = max(0, tip - limit + 1) if start is None else start
            records = [
                record
                for number in range(first, min(first + limit, tip + 1))
                if (record := self.chain.get_main(number)) is not None
            ]
            return {"head": tip, "blocks": [self.block_view(record) for record in records]}

    def peers_view(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {
                    "url": status.url,
                    "tip_number": status.tip_number,
                    "last_seen": status.last_seen,
                    "last_error": status.last_error,
                    "headers_accepted": status.headers_accepted,
                    "headers_refused": status.headers_refused,
                }
                for status in self.peer_status.values()
            ]

    def metrics_text(self) -> str:
        with self.lock:
            states = list(self.availability.values())
            head = self.chain.tip.number
            headers = len(self.chain.records)
        by_status = {"available": 0, "unavailable": 0, "pending": 0}
        for state in states:
            by_status[state.status] = by_status.get(state.status, 0) + 1
        with_blobs = [s for s in states if s.blobs]
        lines = [
            "# HELP light_head_number Number of the heaviest header chain's tip.",
            "# TYPE light_head_number gauge",
            f"light_head_number {head}",
            "# HELP light_headers_known Headers accepted (all branches, genesis included).",
            "# TYPE light_headers_known gauge",
            f"light_headers_known {headers}",
            "# HELP light_blocks_sampled Blocks checked for availability, by current status.",
            "# TYPE light_blocks_sampled gauge",
            *(
                f'light_blocks_sampled{{status="{status}"}} {count}'
                for status, count in sorted(by_status.items())
            ),
            "# HELP light_blocks_with_blobs Checked blocks that carry at least one blob.",
            "# TYPE light_blocks_with_blobs gauge",
            f"light_blocks_with_blobs {len(with_blobs)}",
            "# HELP light_blocks_unavailable Blocks currently marked unavailable.",
            "# TYPE light_blocks_unavailable gauge",
            f"light_blocks_unavailable {by_status['unavailable']}",
            "# HELP light_cells_sampled Cells verified in the latest attempt of each block.",
            "# TYPE light_cells_sampled gauge",
            f"light_cells_sampled {sum(s.cells_sampled for s in states)}",
            "# HELP light_sample_payload_bytes Raw bytes (cell + proof) of those cells.",
            "# TYPE light_sample_payload_bytes gauge",
            f"light_sample_payload_bytes {sum(s.cells_sampled for s in states) * SAMPLE_BYTES}",
            "# HELP light_bytes_downloaded_total Response bytes received from peers, by kind.",
            "# TYPE light_bytes_downloaded_total counter",
            *(
                f'light_bytes_downloaded_total{{kind="{kind}"}} {count}'
                for kind, count in sorted(
                    {"headers": 0, "blob_txs": 0, "cells": 0, **self.meter.snapshot()}.items()
                )
            ),
            "# HELP light_rounds_total Sync-and-sample rounds completed.",
            "# TYPE light_rounds_total counter",
            f"light_rounds_total {self.rounds}",
        ]
        return "\n".join(lines) + "\n"

    def _dump(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self.lock:
                records = [
                    self.block_view(r)
                    for h in self.availability
                    if (r := self.chain.get(h)) is not None
                ]
            path.write_text(json.dumps({"head": self.head_view(), "blocks": records}, indent=1))
        except OSError as exc:
            log.warning("cannot write %s: %s", path, exc)
