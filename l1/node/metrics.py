"""The full node's Prometheus metrics (``GET /metrics``, text format 0.0.4).

Each ``Node`` owns a ``CollectorRegistry`` (never prometheus-client's global one), so several
nodes in one test process keep separate numbers. Two kinds of series:

- events, counted as they happen: the chain reports every body verification and every stored
  set of blob sidecars to its observer (``Chain.observer``, which is this object), a tip change
  with detached blocks is a reorg (``Chain.listeners``), and the node counts pool admissions.
  The verification time is measured around ``verify_block`` in ``l1.node.chain`` -- the pure
  core (``l1/core``) is never timed from inside;
- levels, read at scrape time (tip, pool, peers, stored blobs), so they cannot drift from what
  the RPC reports.

Rates (blocks/s, tx/s) are Prometheus' job: ``rate(rollcourt_l1_blocks_verified_total[1m])``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from l1.core.errors import L1Error
from l1.node.chain import BlockVerification, Sidecars, TipChange
from l1.node.pool import PoolEntry

if TYPE_CHECKING:
    from l1.node.node import Node

__all__ = ["CONTENT_TYPE_LATEST", "NodeMetrics"]

log = logging.getLogger("l1.metrics")

#: Block verification takes milliseconds for an empty block and up to seconds for a block
#: with rollup proofs (KZG openings, Groth16 pairings): buckets span both.
VERIFY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class NodeMetrics:
    """The node's registry and its event series; ``render()`` is the ``/metrics`` body."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.blocks_verified = Counter(
            "rollcourt_l1_blocks_verified",
            "Block bodies fully verified and attached to the main chain, by how they arrived "
            "(mined, peer, rpc; store: stored before a restart)",
            ["source"],
            registry=registry,
        )
        self.blocks_invalid = Counter(
            "rollcourt_l1_blocks_invalid",
            "Block bodies that failed full verification (marked invalid), by how they arrived",
            ["source"],
            registry=registry,
        )
        self.verify_seconds = Histogram(
            "rollcourt_l1_block_verification_seconds",
            "Wall time of one block body's full verification (transactions, scripts, blobs)",
            buckets=VERIFY_BUCKETS,
            registry=registry,
        )
        self.transactions_verified = Counter(
            "rollcourt_l1_transactions_verified",
            "Transactions (cellbase excluded) in blocks verified and attached",
            registry=registry,
        )
        self.blob_bytes = Counter(
            "rollcourt_l1_blob_bytes_accepted",
            "Blob bytes accepted with blocks (sidecars verified with KZG and stored)",
            registry=registry,
        )
        self.blobs = Counter(
            "rollcourt_l1_blobs_accepted",
            "Blobs accepted with blocks (sidecars verified with KZG and stored)",
            registry=registry,
        )
        self.reorgs = Counter(
            "rollcourt_l1_reorgs",
            "Tip changes that detached at least one main-chain block",
            registry=registry,
        )
        self.reorg_detached = Counter(
            "rollcourt_l1_reorg_detached_blocks",
            "Main-chain blocks detached by reorgs (sum of reorg depths)",
            registry=registry,
        )
        self.pool_accepted = Counter(
            "rollcourt_l1_pool_transactions_accepted",
            "Transactions admitted to the pool (RPC or gossip)",
            registry=registry,
        )
        self.pool_rejected = Counter(
            "rollcourt_l1_pool_transactions_rejected",
            "Transactions the pool refused, by error class",
            ["error"],
            registry=registry,
        )
        registry.register(_NodeLevels(node))
        node.chain.observer = self
        node.chain.listeners.append(self.tip_changed)

    # ------------------------------------------------------------------ chain observer
    def block_verified(self, event: BlockVerification) -> None:
        self.verify_seconds.observe(event.seconds)
        if event.valid:
            self.blocks_verified.labels(event.source).inc()
            self.transactions_verified.inc(max(len(event.block.transactions) - 1, 0))
        else:
            self.blocks_invalid.labels(event.source).inc()

    def sidecars_stored(self, block_hash: bytes, sidecars: Sidecars) -> None:
        items = [sidecar for group in sidecars.values() for sidecar in group]
        self.blobs.inc(len(items))
        self.blob_bytes.inc(sum(len(sidecar.blob) for sidecar in items))

    def tip_changed(self, change: TipChange) -> None:
        if change.detached:
            self.reorgs.inc()
            self.reorg_detached.inc(len(change.detached))

    # ------------------------------------------------------------------ pool
    def transaction_accepted(self, _entry: PoolEntry) -> None:
        self.pool_accepted.inc()

    def transaction_rejected(self, exc: L1Error) -> None:
        self.pool_rejected.labels(type(exc).__name__).inc()

    def render(self) -> bytes:
        return _generate_latest(self.registry)


class _NodeLevels(Collector):
    """Levels read at scrape time from the chain, pool, network and store."""

    def __init__(self, node: Node) -> None:
        self.node = node

    def describe(self) -> Iterator[Metric]:
        return iter(())  # names are not registered up front: nothing else can clash with them

    def collect(self) -> Iterator[Metric]:
        node = self.node
        chain = node.chain
        tip = chain.tip
        yield GaugeMetricFamily(
            "rollcourt_l1_tip_number", "Number of the main chain's tip", value=tip.number
        )
        yield GaugeMetricFamily(
            "rollcourt_l1_tip_total_difficulty",
            "Total difficulty of the main chain's tip (a float: large values lose precision)",
            value=float(tip.total_difficulty),
        )
        yield GaugeMetricFamily(
            "rollcourt_l1_tip_timestamp_seconds",
            "Header timestamp of the tip (Unix seconds)",
            value=tip.timestamp / 1000,
        )
        yield GaugeMetricFamily(
            "rollcourt_l1_tip_age_seconds",
            "Seconds since the tip's header timestamp (a stalled chain grows it)",
            value=max(time.time() - tip.timestamp / 1000, 0.0),
        )
        yield GaugeMetricFamily(
            "rollcourt_l1_best_header_number",
            "Highest block number whose header (proof of work included) this node checked",
            value=chain.best_header_number,
        )
        pool = GaugeMetricFamily(
            "rollcourt_l1_mempool_transactions",
            "Transactions in the pool by state (no proposal zone: proposed is always 0)",
            labels=["state"],
        )
        pool.add_metric(["pending"], len(node.pool.entries))
        pool.add_metric(["proposed"], 0)
        yield pool
        yield GaugeMetricFamily(
            "rollcourt_l1_mempool_bytes", "Serialized size of the pool", value=node.pool.total_bytes
        )
        yield GaugeMetricFamily(
            "rollcourt_l1_peers", "Peers this node knows", value=len(node.network.peers)
        )
        try:
            with chain.store.read() as conn:
                stored = chain.store.count_stored_blobs(conn)
        except Exception:  # a scrape must not fail because the database is busy
            log.exception("counting stored blobs failed")
        else:
            yield GaugeMetricFamily(
                "rollcourt_l1_blobs_stored",
                "Blobs whose bytes this node holds (within the retention window, not pruned)",
                value=stored,
            )
        if node.miner is not None:
            yield CounterMetricFamily(
                "rollcourt_l1_miner_hashes",
                "Eaglesong hashes this node's miner computed since start",
                value=node.miner.hashes,
            )
