"""Prometheus metrics of the sequencer and the follower (``GET /metrics``, text format 0.0.4).

Each app renders its own ``CollectorRegistry`` (never prometheus-client's global one), so
several sequencers or followers in one test process keep separate numbers. Most series are read
at scrape time from the service (``SequencerCollector``, ``FollowerCollector``: the numbers
``/v1/status`` and ``/v1/disputes`` show, so the two can never disagree); the few that need
every event -- the size of each sealed batch, blobs posted -- are ``SequencerEvents``, fed by
``Sequencer.seal_due_batch`` and ``Sequencer.advance_batches``.

Throughput is derived by Prometheus from the counters, not computed here: transactions per
second is ``rate(rollcourt_seq_transactions_accepted_total[1m])`` (summed over ``kind``), blob
bytes per second ``rate(rollcourt_seq_blob_bytes_posted_total[5m])``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from l1.core.blobs import BYTES_PER_BLOB
from l2.client.player import PlayerStats

if TYPE_CHECKING:
    from sequencer.batcher import SealedBatch
    from sequencer.follower import Follower
    from sequencer.service import Sequencer

__all__ = ["FollowerCollector", "SequencerCollector", "SequencerEvents", "new_registry"]

#: Batch statuses a sequencer's batch moves through (``reverted``: the L1 undid it).
BATCH_STATUSES = ("sealed", "posted", "safe", "final", "reverted")
#: A batch's records are 124 bytes each; the largest preset holds a few thousand.
BATCH_BYTES_BUCKETS = (124, 496, 1240, 4960, 12400, 49600, 124000, 496000, 1240000)


class SequencerEvents:
    """Series fed as batches are sealed and posted, in the sequencer's own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.batch_bytes = Histogram(
            "rollcourt_seq_batch_bytes",
            "Size of each sealed batch's records (124 bytes per transaction or deposit)",
            buckets=BATCH_BYTES_BUCKETS,
            registry=self.registry,
        )
        self.blobs_sealed = Counter(
            "rollcourt_seq_blobs_sealed",
            "Blobs of sealed batches",
            registry=self.registry,
        )
        self.batches_posted = Counter(
            "rollcourt_seq_batches_posted",
            "Batch transactions sent to the L1 (a batch re-sent after an L1 reorg counts again)",
            registry=self.registry,
        )
        self.blob_bytes_posted = Counter(
            "rollcourt_seq_blob_bytes_posted",
            "Blob bytes sent to the L1 with batches (131072 per blob)",
            registry=self.registry,
        )

    def batch_sealed(self, batch: SealedBatch) -> None:
        self.batch_bytes.observe(sum(len(record) for record in batch.records))
        self.blobs_sealed.inc(len(batch.commitment.blob_versioned_hashes))

    def batch_posted(self, batch: SealedBatch) -> None:
        self.batches_posted.inc()
        self.blob_bytes_posted.inc(len(batch.commitment.blob_versioned_hashes) * BYTES_PER_BLOB)


def _counter(name: str, help_text: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, help_text, value=value)


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, value=value)


class SequencerCollector(Collector):
    """The sequencer's levels and counters, read at scrape time, plus its event series."""

    def __init__(self, seq: Sequencer) -> None:
        self.seq = seq

    def collect(self) -> Iterator[Metric]:
        seq = self.seq
        accepted = CounterMetricFamily(
            "rollcourt_seq_transactions_accepted",
            "Submissions accepted (executed soft or queued), by kind; tx/s is the rate of this",
            labels=["kind"],
        )
        by_kind = {"transfer": 0, "withdraw": 0, **seq.accepted_by_kind}
        for kind, count in sorted(by_kind.items()):
            accepted.add_metric([kind], count)
        yield accepted
        yield _counter(
            "rollcourt_seq_transactions_duplicate",
            "Submissions of a transaction already known (answered, not counted as accepted)",
            seq.counters["duplicates"],
        )
        rejected = CounterMetricFamily(
            "rollcourt_seq_transactions_rejected",
            "Submissions refused, by error code (the API's error.code)",
            labels=["code"],
        )
        for code, count in sorted(seq.rejections.items()):
            rejected.add_metric([code], count)
        yield rejected
        yield _counter(
            "rollcourt_seq_batches_sealed", "Batches sealed", seq.counters["sealed_batches"]
        )
        yield _gauge(
            "rollcourt_seq_soft_index",
            "Soft index of the last executed transaction (-1: none)",
            seq.executor.next_soft_index - 1,
        )
        yield _gauge(
            "rollcourt_seq_mempool_pending",
            "Transactions queued behind a nonce gap",
            seq.mempool.pending_count,
        )
        yield _gauge(
            "rollcourt_seq_unbatched",
            "Soft transactions not yet in a sealed batch",
            len(seq.executor.unbatched),
        )
        yield _gauge(
            "rollcourt_seq_next_batch_number",
            "Number the next sealed batch gets",
            seq.next_batch_number,
        )
        yield _gauge(
            "rollcourt_seq_deposits_credited",
            "L1 deposits credited on L2",
            len(seq.credited_deposits),
        )
        yield from self._batches()
        yield from self._disputes()
        prover = getattr(seq.poster, "prover", None)
        if prover is not None:
            yield _counter(
                "rollcourt_seq_proofs_received",
                "Validity proofs received from the prover and checked against the batch",
                prover.proofs_received,
            )
        yield from seq.metrics.registry.collect()

    def _batches(self) -> Iterator[Metric]:
        seq = self.seq
        with seq.store.read() as conn:
            counts = seq.store.count_batches_by_status(conn)
        batches = GaugeMetricFamily(
            "rollcourt_seq_batches",
            "Batches in the store by status (sealed, posted, safe, final, reverted)",
            labels=["status"],
        )
        for status in sorted({*BATCH_STATUSES, *counts}):
            batches.add_metric([status], counts.get(status, 0))
        yield batches
        heads = GaugeMetricFamily(
            "rollcourt_seq_head_batch",
            "Number of the last batch in each head (-1: none yet)",
            labels=["head"],
        )
        for name, head in seq.get_heads().items():
            heads.add_metric([name], -1 if head.batch is None else head.batch)
        yield heads

    def _disputes(self) -> Iterator[Metric]:
        defender = self.seq.defender
        if defender is None:
            return
        yield _gauge(
            "rollcourt_seq_dispute_games_open",
            "Live dispute games against this rollup's batches at the defender's last poll",
            len(defender.reports),
        )
        player = defender.player
        stats = player.stats if player is not None else PlayerStats()
        for field in fields(PlayerStats):
            yield _counter(
                f"rollcourt_seq_defender_{field.name}",
                f"The defender's {field.name.replace('_', ' ')} (PlayerStats)",
                getattr(stats, field.name),
            )
        yield _gauge(
            "rollcourt_seq_defender_healthy",
            "1 when the defender's last poll of the L1 succeeded",
            defender.last_error is None,
        )


class FollowerCollector(Collector):
    """The follower's derivation progress, read at scrape time."""

    #: ``Follower.counters`` key -> help.
    COUNTERS: Final = MappingProxyType(
        {
            "blocks_scanned": "L1 blocks scanned for rollup transactions",
            "batches_derived": "Batches derived from L1 data (re-derived ones after a reorg too)",
            "batches_dropped": "Derived batches dropped by L1 reorgs or RevertBatches",
            "reorgs": "L1 reorgs followed (rolled back to the fork point)",
            "snapshots_written": "Derived-state snapshots written to the data dir",
            "polls": "Successful polls of the L1",
        }
    )

    def __init__(self, follower: Follower) -> None:
        self.follower = follower

    def collect(self) -> Iterator[Metric]:
        follower = self.follower
        with follower._lock:
            known = len(follower.chain.batches)
            processed = follower.chain.next_block - 1
        counters: dict[str, Any] = follower.counters
        for name, help_text in self.COUNTERS.items():
            yield _counter(f"rollcourt_follower_{name}", help_text, counters.get(name, 0))
        yield _gauge("rollcourt_follower_batches", "Batches in the canonical chain", known)
        yield _gauge(
            "rollcourt_follower_findings",
            "Fraud findings (a root differing from the derived one, undecodable data)",
            len(follower.findings()),
        )
        yield _gauge("rollcourt_follower_processed_block", "Last L1 block derived from", processed)
        if follower.tip is not None:
            yield _gauge("rollcourt_follower_l1_tip", "L1 tip at the last poll", follower.tip)
            yield _gauge(
                "rollcourt_follower_l1_lag_blocks",
                "L1 blocks between the tip and the last block derived from",
                max(follower.tip - processed, 0),
            )
        yield _gauge(
            "rollcourt_follower_data_unavailable",
            "1 while blob data the derivation needs cannot be fetched",
            follower.unavailable is not None,
        )
        yield _gauge(
            "rollcourt_follower_healthy",
            "1 when derivation runs without a stopping error or a failed poll",
            not (follower.error or follower.poll_error or follower.unavailable),
        )


def new_registry(collector: Collector) -> CollectorRegistry:
    """An app's own registry holding ``collector`` (names are not described up front)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry
