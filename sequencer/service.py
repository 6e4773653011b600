"""The sequencer service: store + executor + mempool + batcher behind one lock.

Acknowledgement rule (catalogue R1): ``submit`` returns only after the rows of every accepted
transaction -- with its soft execution result -- are committed.  If the commit fails, the
in-memory state is rebuilt from the store (the source of truth) and the request gets 503, so
memory never runs ahead of what is durable.

Restart: the soft state is the last sealed batch's snapshot plus a replay of the soft
transactions after it (post-roots checked), and the pending queues are reloaded.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from l2.config import RollupConfig
from l2.state import L2State, create_genesis_state
from l2.tx import Transaction
from sequencer.batcher import (
    Batcher,
    BatchPoster,
    NullPoster,
    SealedBatch,
    VersionedHashes,
    compute_kzg_versioned_hashes,
    compute_sealed_batch,
    is_batch_due,
)
from sequencer.config import SequencerConfig
from sequencer.crash import DataDirLock, crashpoint
from sequencer.entries import BatchRecord, TxEntry
from sequencer.errors import Rejected, StartupError, Unavailable
from sequencer.executor import SoftExecutor
from sequencer.mempool import Admission, Mempool, MempoolPolicy
from sequencer.store import Store

__all__ = ["Head", "Sequencer"]

log = logging.getLogger("sequencer")


@dataclass(frozen=True, slots=True)
class Head:
    batch: int | None
    state_root: bytes
    #: Last soft index the head includes (``None``: genesis).
    soft_index: int | None


class Sequencer:
    def __init__(
        self,
        settings: SequencerConfig,
        *,
        poster: BatchPoster | None = None,
        versioned_hashes: VersionedHashes = compute_kzg_versioned_hashes,
    ) -> None:
        self.settings = settings
        self.config: RollupConfig = settings.rollup_config()
        self.poster: BatchPoster = poster if poster is not None else NullPoster()
        self.versioned_hashes = versioned_hashes
        self.batch_max_txs = settings.effective_batch_max_txs()
        self._lock = threading.RLock()
        self._locks: list[DataDirLock] = []
        self._store: Store | None = None
        self._pg_lock_conn: Connection | None = None
        self.genesis = create_genesis_state(self.config, settings.genesis())
        self.executor = SoftExecutor(self.config, self.genesis)
        self.mempool = Mempool(
            self.executor,
            MempoolPolicy(
                max_nonce_gap=settings.max_nonce_gap,
                max_pending_per_account=settings.max_pending_per_account,
                max_pending_total=settings.max_pending_total,
                min_fee=settings.min_fee,
                replacement_fee_bump_percent=settings.replacement_fee_bump_percent,
            ),
            self._lookup,
        )
        self.batcher = Batcher(self)
        self.next_batch_number = 0
        #: Monotonic time the oldest unbatched soft transaction was executed (or restored).
        self._oldest_unbatched: float | None = None
        self.counters: dict[str, int] = {"accepted": 0, "duplicates": 0, "sealed_batches": 0}
        self.rejections: dict[str, int] = {}

    # ------------------------------------------------------------------ life cycle
    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the sequencer is not open")
        return self._store

    def open(self) -> Sequencer:
        """Take the data-dir lock (R7), open the store, check identity, rebuild state."""
        data_dir = self.settings.data_dir
        self._locks.append(DataDirLock(data_dir / "sequencer.lock").acquire())
        url = self.settings.resolved_database_url()
        if url.startswith("sqlite:///"):
            db_path = Path(url.removeprefix("sqlite:///")).resolve()
            if db_path.parent != data_dir.resolve():
                self._locks.append(DataDirLock(Path(str(db_path) + ".lock")).acquire())
        self._store = Store(url, self.config)
        self._check_identity()
        self._rebuild()
        return self

    def start(self) -> None:
        self.batcher.start()

    def close(self) -> None:
        self.batcher.stop()
        if self._pg_lock_conn is not None:
            self._pg_lock_conn.close()
            self._pg_lock_conn = None
        if self._store is not None:
            self._store.close()
            self._store = None
        for lock in self._locks:
            lock.release()
        self._locks.clear()

    def _check_identity(self) -> None:
        """A data dir belongs to one rollup and one genesis: refuse anything else."""
        identity = {
            "chain_id": self.config.chain_id,
            "rollup_id": self.config.rollup_id.hex(),
            "preset": self.config.preset.name,
            "profile": self.config.profile.name,
            "fee_account": self.config.fee_account,
            "genesis_root": self.genesis.get_root().hex(),
        }
        with self.store.begin() as conn:
            stored = self.store.get_meta(conn, "identity")
            if stored is None:
                self.store.set_meta(conn, "identity", json.dumps(identity, sort_keys=True))
            elif json.loads(stored) != identity:
                raise StartupError(
                    f"the database belongs to another rollup or genesis: stored {stored}, "
                    f"configured {json.dumps(identity, sort_keys=True)}"
                )
        if self.store.dialect == "postgresql":
            self._take_postgres_lock()

    def _take_postgres_lock(self) -> None:
        """R7 for a shared database server: a session advisory lock held while running."""
        from sqlalchemy import text

        conn = self.store.engine.connect()
        key = int.from_bytes(self.config.rollup_id[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF
        if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            conn.close()
            raise StartupError("another sequencer holds this database's advisory lock")
        self._pg_lock_conn = conn

    def _rebuild(self) -> None:
        """Soft state = last batch snapshot + replay; queues from the store."""
        store = self.store
        with store.read() as conn:
            latest = store.get_latest_batch(conn)
            if latest is None:
                base, base_index = self.genesis, 0
                self.next_batch_number = 0
            else:
                base = L2State.decode(latest.state, self.config.profile)
                base_index = latest.last_soft_index + 1
                self.next_batch_number = latest.number + 1
            soft = store.load_soft_txs(conn, base_index)
            pending = store.load_pending(conn)
        self.executor.restore(base, base_index, soft)
        self.mempool.restore(pending)
        touched = self.mempool.take_touched()
        if touched:
            with store.begin() as conn:
                store.save_txs(conn, touched)
        self._oldest_unbatched = time.monotonic() if self.executor.unbatched else None

    def _lookup(self, tx_hash: bytes) -> TxEntry | None:
        with self.store.read() as conn:
            return self.store.get_tx(conn, tx_hash)

    # ------------------------------------------------------------------ submission
    def submit(self, txs: list[Transaction]) -> list[Admission | Rejected]:
        """Admit each transaction in order; persist every change in one commit; then answer."""
        results: list[Admission | Rejected] = []
        with self._lock:
            now = time.time()
            for tx in txs:
                try:
                    results.append(self.mempool.submit(tx, now))
                except Rejected as exc:
                    self.rejections[exc.code] = self.rejections.get(exc.code, 0) + 1
                    results.append(exc)
            touched = self.mempool.take_touched()
            if touched:
                try:
                    with self.store.begin() as conn:
                        self.store.save_txs(conn, touched)
                except SQLAlchemyError as exc:
                    log.exception("commit failed; rebuilding the soft state from the store")
                    self._rebuild()
                    raise Unavailable(f"storage failure, nothing was accepted: {exc}") from None
                crashpoint("after_tx_commit")
            for result in results:
                if isinstance(result, Admission):
                    key = "duplicates" if result.duplicate else "accepted"
                    self.counters[key] += 1
            if self.executor.unbatched and self._oldest_unbatched is None:
                self._oldest_unbatched = time.monotonic()
            if len(self.executor.unbatched) >= self.batch_max_txs:
                self.batcher.wake()
        return results

    # ------------------------------------------------------------------ batches
    def seal_due_batch(self, force: bool = False) -> SealedBatch | None:
        """Seal one batch if one is due (``force``: whenever anything is unbatched)."""
        with self._lock:
            unbatched = len(self.executor.unbatched)
            age = (
                None
                if self._oldest_unbatched is None
                else time.monotonic() - self._oldest_unbatched
            )
            if not (force and unbatched) and not is_batch_due(
                unbatched, age, self.batch_max_txs, self.settings.batch_interval
            ):
                return None
            cut = self.executor.cut(self.batch_max_txs)
            number = self.next_batch_number
        if cut is None:
            return None
        # Blobs and KZG commitments outside the lock: submissions continue meanwhile.
        sealed = compute_sealed_batch(
            number, cut, self.poster.get_l1_origin(), self.versioned_hashes, self.config
        )
        record = BatchRecord(
            number=number,
            status="sealed",
            commitment=sealed.commitment.serialize(),
            commitment_hash=sealed.commitment.compute_hash(),
            first_soft_index=cut.first_soft_index,
            tx_count=len(cut.entries),
            prev_root=sealed.commitment.prev_root,
            new_root=sealed.commitment.new_root,
            state=cut.post_state.encode(),
            l1_tx_hash=None,
            sealed_at=time.time(),
        )
        with self._lock:
            if cut.generation != self.executor.generation or number != self.next_batch_number:
                return None
            with self.store.begin() as conn:
                self.store.insert_batch(conn, record, list(sealed.tx_hashes))
            crashpoint("after_batch_seal")
            for position, entry in enumerate(cut.entries):
                entry.batch_number = number
                entry.position = position
            self.executor.confirm(cut)
            self.next_batch_number = number + 1
            self.counters["sealed_batches"] += 1
            self._oldest_unbatched = time.monotonic() if self.executor.unbatched else None
        log.info("sealed batch %d with %d transactions", number, record.tx_count)
        return sealed

    def advance_batches(self) -> None:
        """Ask the poster to post sealed batches and report progress (sealed -> ... -> final)."""
        if isinstance(self.poster, NullPoster):
            return
        with self.store.read() as conn:
            unfinished = self.store.list_unfinished_batches(conn)
        for record in unfinished:
            batch = self.load_sealed_batch(record)
            l1_tx_hash = record.l1_tx_hash
            status = record.status
            if l1_tx_hash is None:
                l1_tx_hash = self.poster.post(batch)
                if l1_tx_hash is None:
                    return  # in order: a later batch never goes before an earlier one
                status = "posted"
            status = self.poster.status(
                SealedBatch(
                    batch.number,
                    batch.commitment,
                    batch.records,
                    batch.tx_hashes,
                    batch.first_soft_index,
                    status,
                    l1_tx_hash,
                )
            )
            if status != record.status or l1_tx_hash != record.l1_tx_hash:
                with self.store.begin() as conn:
                    self.store.update_batch(conn, record.number, status, l1_tx_hash)

    def load_sealed_batch(self, record: BatchRecord) -> SealedBatch:
        from l2.batch import BatchCommitment

        with self.store.read() as conn:
            hashes = self.store.get_batch_tx_hashes(conn, record.number)
            entries = [self.store.get_tx(conn, h) for h in hashes]
        return SealedBatch(
            number=record.number,
            commitment=BatchCommitment.deserialize(record.commitment),
            records=tuple(e.record for e in entries if e is not None),
            tx_hashes=tuple(hashes),
            first_soft_index=record.first_soft_index,
            status=record.status,
            l1_tx_hash=record.l1_tx_hash,
        )

    # ------------------------------------------------------------------ heads
    def get_heads(self) -> dict[str, Head]:
        with self._lock:
            soft_index = self.executor.next_soft_index - 1
            soft = Head(
                self.next_batch_number - 1 if self.next_batch_number else None,
                self.executor.soft_root,
                soft_index if soft_index >= 0 else None,
            )
        heads = {"soft": soft}
        with self.store.read() as conn:
            for name, statuses in (("safe", ("safe", "final")), ("final", ("final",))):
                batch = self.store.get_latest_batch(conn, statuses)
                heads[name] = (
                    Head(None, self.genesis.get_root(), None)
                    if batch is None
                    else Head(batch.number, batch.new_root, batch.last_soft_index)
                )
        return heads
