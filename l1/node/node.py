"""A full node: chain, pool, miner and network wired together (no HTTP here; see ``app``)."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TextIO

from l1.ckb.hashes import compute_tx_hash
from l1.ckb.types import Block, Script, Transaction
from l1.core.blobs import BYTES_PER_CELL, CELLS_PER_EXT_BLOB, BlobSidecar, compute_cells_and_proofs
from l1.core.errors import L1Error
from l1.core.genesis import Genesis, build_genesis, chain_spec_from_json
from l1.core.preset import Preset
from l1.core.scripts import ScriptRegistry, build_default_registry
from l1.devnet_keys import DEVNET_KEYS
from l1.kzg import get_kzg_settings
from l1.node.chain import Chain, Sidecars
from l1.node.config import NodeConfig
from l1.node.metrics import NodeMetrics
from l1.node.miner import Miner
from l1.node.p2p import Network
from l1.node.pool import PoolEntry, TxPool
from l1.node.store import Store

__all__ = ["Node"]

log = logging.getLogger("l1.node")


def acquire_data_dir_lock(data_dir: Path) -> TextIO:
    """One node per data directory: an exclusive, non-blocking lock on ``data_dir/LOCK``.

    Two processes writing one chain database would race each other's reorgs; the second is
    refused at start with a message naming the directory. The OS drops the lock when the
    process dies, so a ``kill -9`` never leaves a stale lock behind.
    """
    handle = (data_dir / "LOCK").open("a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ValueError(
            f"data dir {data_dir} is in use by another node (its LOCK file is held); "
            "stop that node or choose another --data-dir"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)


class Node:
    def __init__(
        self,
        config: NodeConfig,
        *,
        registry_hook: Callable[[ScriptRegistry, Preset], None] | None = None,
    ) -> None:
        self.config = config
        spec = chain_spec_from_json(json.loads(config.resolved_spec().read_text()))
        self.spec = spec
        self.preset: Preset = spec.preset
        if config.dev_rpc and self.preset.name not in ("devnet", "test"):
            raise ValueError("dev_rpc is only allowed on the devnet and test presets")
        if config.fault is not None and self.preset.name not in ("devnet", "test"):
            raise ValueError("fault injection is only allowed on the devnet and test presets")
        self.genesis: Genesis = build_genesis(spec)
        self.check_retention()
        self.registry = build_default_registry(
            allow_always_success=self.preset.allow_always_success, kzg_settings=get_kzg_settings
        )
        if registry_hook is not None:
            registry_hook(self.registry, self.preset)
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = acquire_data_dir_lock(config.data_dir)
        self.store = Store(config.resolved_database_url())
        self.chain = Chain(
            self.store, self.genesis, self.preset, self.registry, clock_ms=_wall_clock_ms
        )
        self.pool = TxPool(self.chain)
        self.network = Network(
            self.chain, config.resolved_public_url(), list(config.peers), config.sync_interval
        )
        self.network.withhold_sidecars = config.fault == "withhold-sidecars"
        self.miner: Miner | None = None
        if config.mine:
            self.miner = Miner(
                self.chain,
                self.pool,
                self.miner_lock(),
                self._on_mined,
                duty=config.mine_duty,
                interval=config.mine_interval,
                clock_ms=_wall_clock_ms,
            )
        self.started_at = time.time()
        #: Prometheus metrics (``GET /metrics``), in this node's own registry.
        self.metrics = NodeMetrics(self)
        self.background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="node-bg")

    def _on_mined(self, block: Block, sidecars: Sidecars) -> None:
        self.network.announce_block(block, sidecars)
        self.precompute_cells(block, sidecars)

    def miner_lock(self) -> Script:
        secp = self.genesis.system_scripts["secp256k1_blake160_sighash_all"]
        args = (
            bytes.fromhex(self.config.miner_lock_args.removeprefix("0x"))
            if self.config.miner_lock_args
            else DEVNET_KEYS[0].lock_args
        )
        return secp.script(args)

    def start(self) -> None:
        self.network.start()
        if self.miner is not None:
            self.miner.start()
        log.info(
            "node up: chain %s, genesis %s, tip %d, peers %s, mining %s",
            self.spec.name,
            self.genesis.hash.hex(),
            self.chain.tip.number,
            list(self.network.peers),
            self.miner is not None,
        )

    def stop(self) -> None:
        if self.miner is not None:
            self.miner.stop()
        self.network.stop()
        self.background.shutdown(wait=False, cancel_futures=True)
        self.store.engine.dispose()
        self._lock_file.close()

    # ------------------------------------------------------------------ actions used by the API
    def submit_transaction(
        self,
        tx: Transaction,
        sidecars: tuple[BlobSidecar, ...] = (),
        relay_from: str | None = None,
    ) -> PoolEntry:
        try:
            entry = self.pool.submit(tx, sidecars)
        except L1Error as exc:
            self.metrics.transaction_rejected(exc)
            raise
        self.metrics.transaction_accepted(entry)
        self.network.announce_transaction(tx, sidecars, exclude=relay_from)
        return entry

    def submit_block(
        self,
        block: Block,
        sidecars: Sidecars | None = None,
        relay_from: str | None = None,
        source: str = "rpc",
    ) -> str:
        """Process a block pushed to this node; ``source`` labels it in the metrics."""
        result = self.chain.process_block(block, sidecars, source)
        if result.status == "orphan":
            self.network.sync_in_background(relay_from)
        elif result.status == "unavailable":
            if not self._sidecars_from_pool(block, result.block_hash):
                self.network.fetch_sidecars_in_background(result.block_hash)
        elif result.status in ("tip", "side"):
            self.network.announce_block(block, sidecars, exclude=relay_from)
            self.precompute_cells(block, sidecars)
        return result.status

    def get_blob_cells(self, versioned_hash: bytes, blob: bytes) -> tuple[list[bytes], list[bytes]]:
        """EIP-7594 cells and proofs of a blob, computed once and cached in the store."""
        store = self.chain.store
        with store.read() as conn:
            cached = store.get_cells(conn, versioned_hash)
        if cached is not None:
            cells_blob, proofs_blob = cached
            return (
                [
                    cells_blob[i * BYTES_PER_CELL : (i + 1) * BYTES_PER_CELL]
                    for i in range(CELLS_PER_EXT_BLOB)
                ],
                [proofs_blob[i * 48 : (i + 1) * 48] for i in range(CELLS_PER_EXT_BLOB)],
            )
        cells, proofs = compute_cells_and_proofs(blob, self.chain.kzg_settings())
        with store.begin() as conn:
            store.put_cells(conn, versioned_hash, b"".join(cells), b"".join(proofs))
        return cells, proofs

    def precompute_cells(self, block: Block, sidecars: Sidecars | None) -> None:
        """Compute a new block's cells in the background, so light clients' first samples of
        it are served from the cache instead of waiting ~0.5 s per blob."""
        if not sidecars:
            return

        def work() -> None:
            for items in sidecars.values():
                for sidecar in items:
                    try:
                        self.get_blob_cells(sidecar.versioned_hash, sidecar.blob)
                    except Exception:  # a cache warm-up must never take the node down
                        log.exception("precomputing cells failed")

        self.background.submit(work)

    def _sidecars_from_pool(self, block: Block, block_hash: bytes) -> bool:
        """A block's missing data may already be here: its blob transactions came through the
        pool with their sidecars. Use them if every blob is covered."""
        sidecars: Sidecars = {}
        for tx in block.transactions[1:]:
            if tx.raw.blob_versioned_hashes:
                entry = self.pool.entries.get(compute_tx_hash(tx))
                if entry is None or not entry.sidecars:
                    return False
                sidecars[entry.tx_hash] = entry.sidecars
        try:
            self.chain.provide_sidecars(block_hash, sidecars)
        except L1Error as exc:
            log.info("pool sidecars did not fit block %s: %s", block_hash.hex(), exc)
            return False
        return True

    def check_retention(self) -> None:
        """Refuse to serve challenge windows the node would not keep the data for."""
        window = self.config.challenge_window
        if window > self.preset.blob_retention_blocks:
            raise ValueError(
                f"blob retention ({self.preset.blob_retention_blocks} blocks, preset "
                f"{self.preset.name}) is shorter than the challenge window this node serves "
                f"({window} blocks): data could be pruned while a dispute still needs it"
            )
