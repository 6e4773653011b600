"""The background miner: block templates from the tip and the pool, Eaglesong nonce search.

The search runs in short slices so a new tip or new pool transactions are picked up within a
fraction of a second. ``duty`` (0-1] throttles it: with ``duty=0.25`` the miner hashes a quarter
of the time, and the difficulty adjustment settles on that hash rate, so a devnet does not eat a
whole core.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from l1.ckb.hashes import compute_pow_hash, compute_tx_hash
from l1.ckb.pow import find_nonce
from l1.ckb.types import Block, Header, Script
from l1.core.block import assemble_block
from l1.core.errors import L1Error
from l1.node.chain import Chain, MainChainHeaders, Sidecars, StoreCellProvider
from l1.node.pool import TxPool

__all__ = ["Miner", "build_template"]

log = logging.getLogger("l1.miner")

SLICE_HASHES = 500


def build_template(chain: Chain, pool: TxPool, lock: Script, now_ms: int) -> tuple[Block, Sidecars]:
    """A block template and the blob sidecars of the transactions it includes."""
    with chain.lock:
        tip = chain.tip
        context = chain.parent_context(tip.hash)
        entries = pool.candidates()
        blobs = {entry.tx_hash: entry.blobs for entry in entries if entry.blobs}
        with chain.store.read() as conn:
            assembled = assemble_block(
                chain.preset,
                context,
                [entry.tx for entry in entries],
                StoreCellProvider(chain.store, conn),
                MainChainHeaders(chain, chain.main),
                chain.registry,
                lock,
                now_ms,
                blobs,
            )
    for tx_hash, error in assembled.rejected:
        log.debug("template skipped %s: %s", tx_hash.hex(), error)
    by_hash = {entry.tx_hash: entry.sidecars for entry in entries if entry.sidecars}
    included = {compute_tx_hash(tx) for tx in assembled.block.transactions[1:]}
    return assembled.block, {h: s for h, s in by_hash.items() if h in included}


def solve(block: Block, attempts: int, start: int) -> Block | None:
    nonce = find_nonce(
        compute_pow_hash(block.header.raw), block.header.raw.compact_target, start, attempts
    )
    return None if nonce is None else replace(block, header=Header(block.header.raw, nonce))


class Miner:
    def __init__(
        self,
        chain: Chain,
        pool: TxPool,
        lock: Script,
        on_block: Callable[[Block, Sidecars], None],
        *,
        duty: float = 1.0,
        interval: float = 0.0,
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        self.chain = chain
        self.pool = pool
        self.lock = lock
        self.on_block = on_block
        self.duty = min(max(duty, 0.01), 1.0)
        self.interval = interval
        self.clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.blocks_mined = 0
        self.hashes = 0

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="miner", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def _run(self) -> None:
        rng = random.Random()
        while not self.stop_event.is_set():
            try:
                self._mine_one(rng)
            except L1Error as exc:  # a stale template raced a new tip: build again
                log.info("mined block rejected: %s", exc)
            except Exception:
                log.exception("miner error")
                self.stop_event.wait(1.0)

    def _mine_one(self, rng: random.Random) -> None:
        template, sidecars = build_template(self.chain, self.pool, self.lock, self.clock_ms())
        tip, pool_version = self.chain.tip.hash, self.pool.version
        started = time.monotonic()
        nonce = rng.getrandbits(64)
        while not self.stop_event.is_set():
            slice_start = time.monotonic()
            solved = solve(template, SLICE_HASHES, nonce)
            self.hashes += SLICE_HASHES
            nonce += SLICE_HASHES
            if solved is not None:
                self.chain.process_block(solved, sidecars, source="mined")
                self.blocks_mined += 1
                self.on_block(solved, sidecars)
                if self.interval:
                    self.stop_event.wait(self.interval)
                return
            if (
                self.chain.tip.hash != tip
                or self.pool.version != pool_version
                or time.monotonic() - started > 2
            ):
                return
            if self.duty < 1.0:
                busy = time.monotonic() - slice_start
                self.stop_event.wait(busy * (1 - self.duty) / self.duty)
