"""A full node: chain, pool, miner and network wired together (no HTTP here; see ``app``)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from l1.ckb.types import Block, Script, Transaction
from l1.core.blobs import BlobSidecar
from l1.core.genesis import Genesis, build_genesis, chain_spec_from_json
from l1.core.preset import Preset
from l1.core.scripts import ScriptRegistry, build_default_registry
from l1.devnet_keys import DEVNET_KEYS
from l1.node.chain import Chain, Sidecars
from l1.node.config import NodeConfig
from l1.node.miner import Miner
from l1.node.p2p import Network
from l1.node.pool import PoolEntry, TxPool
from l1.node.store import Store

__all__ = ["Node"]

log = logging.getLogger("l1.node")


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
            allow_always_success=self.preset.allow_always_success
        )
        if registry_hook is not None:
            registry_hook(self.registry, self.preset)
        config.data_dir.mkdir(parents=True, exist_ok=True)
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
                lambda block, sidecars: self.network.announce_block(block, sidecars),
                duty=config.mine_duty,
                interval=config.mine_interval,
                clock_ms=_wall_clock_ms,
            )
        self.started_at = time.time()

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
        self.store.engine.dispose()

    # ------------------------------------------------------------------ actions used by the API
    def submit_transaction(
        self,
        tx: Transaction,
        sidecars: tuple[BlobSidecar, ...] = (),
        relay_from: str | None = None,
    ) -> PoolEntry:
        entry = self.pool.submit(tx, sidecars)
        self.network.announce_transaction(tx, sidecars, exclude=relay_from)
        return entry

    def submit_block(
        self, block: Block, sidecars: Sidecars | None = None, relay_from: str | None = None
    ) -> str:
        result = self.chain.process_block(block, sidecars)
        if result.status == "orphan":
            self.network.sync_in_background(relay_from)
        elif result.status == "unavailable":
            self.network.fetch_sidecars_in_background(result.block_hash)
        elif result.status in ("tip", "side"):
            self.network.announce_block(block, sidecars, exclude=relay_from)
        return result.status

    def check_retention(self) -> None:
        """Refuse to serve challenge windows the node would not keep the data for."""
        window = self.config.challenge_window
        if window > self.preset.blob_retention_blocks:
            raise ValueError(
                f"blob retention ({self.preset.blob_retention_blocks} blocks, preset "
                f"{self.preset.name}) is shorter than the challenge window this node serves "
                f"({window} blocks): data could be pruned while a dispute still needs it"
            )
