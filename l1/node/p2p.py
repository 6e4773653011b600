"""Peer-to-peer over HTTP: announce blocks and transactions, catch up from any height.

Each node serves ``/p2p/*`` beside its RPC. Announcements are fire-and-forget POSTs to every
active peer; a block whose parent is unknown triggers a sync with the peer that sent it. A sync
round asks each peer for its tip and total difficulty and, if the peer is heavier, sends it a
block locator (hashes back from our tip at growing steps, as Bitcoin and CKB do) and receives the
blocks after the last common one. Blocks travel as molecule hex, transactions as CKB JSON.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from l1.ckb.hashes import compute_header_hash
from l1.ckb.json import transaction_to_json
from l1.ckb.types import Block, Transaction
from l1.core.blobs import BlobSidecar
from l1.core.errors import BlobError, L1Error
from l1.node.chain import Chain, Sidecars
from l1.node.wire import sidecar_to_json, sidecars_from_json, sidecars_to_json

__all__ = ["Network", "PeerState"]

log = logging.getLogger("l1.p2p")

MAX_BLOCKS_PER_SYNC = 200
MAX_INBOUND_PEERS = 64
MAX_LOCATOR_HASHES = 64


def is_peer_url(url: str) -> bool:
    """http(s)://host[:port] with nothing else: what a node's base URL looks like."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return False
    return (
        parsed.scheme in ("http", "https")
        and bool(parsed.host)
        and parsed.path in ("", "/")
        and not parsed.query
        and all(ch.isprintable() and not ch.isspace() for ch in url)
    )


@dataclass(slots=True)
class PeerState:
    url: str
    connected: bool = False
    last_seen_ms: int = 0
    tip_number: int = -1
    total_difficulty: int = 0
    failures: int = 0
    last_error: str | None = None
    inbound: bool = False
    banned_until: float = 0.0
    invalid_blocks: int = 0
    extra: dict[str, str] = field(default_factory=dict)


class Network:
    def __init__(
        self, chain: Chain, self_url: str, peers: list[str], sync_interval: float = 1.0
    ) -> None:
        self.chain = chain
        self.self_url = self_url.rstrip("/")
        self.peers: dict[str, PeerState] = {}
        for url in peers:
            self.add_peer(url)
        self.active = True
        self.sync_interval = sync_interval
        self.client = httpx.Client(timeout=10.0)
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="p2p")
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.sync_lock = threading.Lock()
        #: Test-only fault: announce and serve blocks without their blob data.
        self.withhold_sidecars = False

    # ------------------------------------------------------------------ peers
    def add_peer(self, url: str, inbound: bool = False) -> PeerState | None:
        """Remember a peer; refuses URLs that are not plain http(s)://host[:port] and, for peers
        that introduced themselves, more than ``MAX_INBOUND_PEERS`` of them."""
        url = url.rstrip("/")
        if not is_peer_url(url) or url == self.self_url:
            return None
        peer = self.peers.get(url)
        if peer is None:
            if inbound and sum(p.inbound for p in self.peers.values()) >= MAX_INBOUND_PEERS:
                return None
            peer = self.peers[url] = PeerState(url, inbound=inbound)
        return peer

    def remove_peer(self, url: str) -> bool:
        return self.peers.pop(url.rstrip("/"), None) is not None

    def _usable(self) -> list[PeerState]:
        now = time.monotonic()
        return [p for p in self.peers.values() if p.banned_until <= now] if self.active else []

    def note_invalid(self, url: str | None) -> None:
        """A peer that sends invalid blocks is ignored for a while (CKB bans such peers)."""
        if url is None or url not in self.peers:
            return
        peer = self.peers[url]
        peer.invalid_blocks += 1
        if peer.invalid_blocks >= 3:
            peer.banned_until = time.monotonic() + 60
            log.warning(
                "ignoring peer %s for 60 s after %d invalid blocks", url, peer.invalid_blocks
            )

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="p2p-sync", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.client.close()

    def _run(self) -> None:
        while not self.stop_event.wait(self.sync_interval):
            if self.active:
                self.sync_all()

    # ------------------------------------------------------------------ gossip
    def announce_block(
        self, block: Block, sidecars: Sidecars | None = None, exclude: str | None = None
    ) -> None:
        payload: dict[str, Any] = {"block": block.serialize().hex(), "from": self.self_url}
        if sidecars and not self.withhold_sidecars:
            payload["sidecars"] = sidecars_to_json(sidecars)
        for peer in self._usable():
            if peer.url != exclude:
                self.executor.submit(self._post, peer, "/p2p/block", payload)

    def announce_transaction(
        self, tx: Transaction, sidecars: tuple[BlobSidecar, ...] = (), exclude: str | None = None
    ) -> None:
        if sidecars and self.withhold_sidecars:
            return  # the withholding fault keeps every copy of blob data to itself
        payload = {
            "transaction": transaction_to_json(tx, with_hash=False),
            "sidecars": [sidecar_to_json(s) for s in sidecars],
            "from": self.self_url,
        }
        for peer in self._usable():
            if peer.url != exclude:
                self.executor.submit(self._post, peer, "/p2p/transaction", payload)

    def _post(self, peer: PeerState, path: str, payload: dict[str, Any]) -> None:
        try:
            response = self.client.post(peer.url + path, json=payload)
            self._mark_ok(peer)
            if response.status_code >= 400:
                log.debug(
                    "peer %s answered %s to %s: %s",
                    peer.url,
                    response.status_code,
                    path,
                    response.text[:200],
                )
        except httpx.HTTPError as exc:
            self._mark_failed(peer, exc)

    def _mark_ok(self, peer: PeerState) -> None:
        peer.connected, peer.failures, peer.last_error = True, 0, None
        peer.last_seen_ms = int(time.time() * 1000)

    def _mark_failed(self, peer: PeerState, exc: Exception) -> None:
        peer.connected = False
        peer.failures += 1
        peer.last_error = f"{type(exc).__name__}: {exc}"

    # ------------------------------------------------------------------ sync
    def sync_all(self) -> None:
        for peer in self._usable():
            try:
                self.sync_with(peer)
            except httpx.HTTPError as exc:
                self._mark_failed(peer, exc)
            except Exception:
                log.exception("sync with %s failed", peer.url)

    def sync_with(self, peer: PeerState) -> int:
        """Fetch blocks from a heavier peer; returns how many were new."""
        with self.sync_lock:
            status = self.client.get(
                peer.url + "/p2p/status", params={"from": self.self_url}
            ).json()
            self._mark_ok(peer)
            peer.tip_number = int(status["tip_number"])
            peer.total_difficulty = int(status["total_difficulty"])
            if status.get("genesis_hash") != self.chain.genesis.hash.hex():
                peer.last_error = "peer is on another chain (different genesis)"
                peer.banned_until = time.monotonic() + 300
                return 0
            new = 0
            # Resume after the last block received, even if it could not join our chain yet
            # (for example a block waiting for its blob data), so sync moves past it.
            resume_from: list[str] = []
            while peer.total_difficulty > self.chain.tip.total_difficulty:
                locator = resume_from + [h.hex() for h in self.chain.locator()]
                response = self.client.post(
                    peer.url + "/p2p/locate",
                    json={"locator": locator, "limit": MAX_BLOCKS_PER_SYNC},
                )
                response.raise_for_status()
                answer = response.json()
                blocks = [Block.deserialize(bytes.fromhex(b)) for b in answer["blocks"]]
                all_sidecars = answer.get("sidecars") or [None] * len(blocks)
                if not blocks:
                    break
                progressed = False
                for block, sidecars_json in zip(blocks, all_sidecars, strict=False):
                    sidecars = None if sidecars_json is None else sidecars_from_json(sidecars_json)
                    try:
                        result = self.chain.process_block(block, sidecars, source="peer")
                    except BlobError as exc:
                        log.warning("bad blob data from %s: %s", peer.url, exc)
                        self.note_invalid(peer.url)
                        return new
                    except L1Error as exc:
                        log.warning(
                            "invalid block %s from %s: %s",
                            compute_header_hash(block.header).hex(),
                            peer.url,
                            exc,
                        )
                        self.note_invalid(peer.url)
                        return new
                    if result.status != "duplicate":
                        new += 1
                        progressed = True
                if not progressed:
                    break
                resume_from = [compute_header_hash(blocks[-1].header).hex()]
            return new

    def fetch_sidecars(self, block_hash: bytes) -> bool:
        """Ask peers for a block's missing blob sidecars; True once one supplied valid data."""
        for peer in self._usable():
            try:
                response = self.client.get(f"{peer.url}/p2p/sidecars/{block_hash.hex()}")
                if response.status_code != 200:
                    continue
                sidecars = sidecars_from_json(response.json()["sidecars"])
                self.chain.provide_sidecars(block_hash, sidecars)
                return True
            except BlobError as exc:
                log.warning("bad blob data from %s: %s", peer.url, exc)
                self.note_invalid(peer.url)
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                self._mark_failed(peer, exc)
        return False

    def fetch_sidecars_in_background(self, block_hash: bytes) -> None:
        self.executor.submit(self.fetch_sidecars, block_hash)

    def sync_in_background(self, url: str | None) -> None:
        peer = self.peers.get(url or "")
        if peer is not None:
            self.executor.submit(self._safe_sync, peer)

    def _safe_sync(self, peer: PeerState) -> None:
        try:
            self.sync_with(peer)
        except Exception as exc:  # network trouble is reported on the peer, never raised
            self._mark_failed(peer, exc)

    # ------------------------------------------------------------------ serving
    def locate(self, locator: list[bytes], limit: int) -> list[tuple[Block, Sidecars | None]]:
        """Blocks (with their retained sidecars) on our main chain after the first shared hash."""
        start = 0
        for block_hash in locator:
            if self.chain.is_main(block_hash):
                start = self.chain.records[block_hash].number + 1
                break
        main = self.chain.main
        blocks = []
        for number in range(start, min(len(main), start + max(1, min(limit, MAX_BLOCKS_PER_SYNC)))):
            block = self.chain.get_block(main[number])
            if block is not None:
                sidecars = (
                    self.chain.get_sidecars(main[number])
                    if self.chain.block_has_blobs(block)
                    else None
                )
                blocks.append((block, sidecars))
        return blocks
