"""The sequencer service: store + executor + mempool + batcher behind one lock.

Acknowledgement rule (catalogue R1): ``submit`` returns only after the rows of every accepted
transaction -- with its soft execution result -- are committed.  If the commit fails, the
in-memory state is rebuilt from the store (the source of truth) and the request gets 503, so
memory never runs ahead of what is durable.

Restart: the soft state is the last sealed batch's snapshot plus a replay of the soft
transactions after it (post-roots checked), and the pending queues are reloaded.

With an L1 (``settings.l1_url``): ``open`` finds or deploys the rollup (its id is kept in the
store's meta), the ``L1Poster`` posts sealed batches and the ``DepositWatcher`` credits L1
deposits (``credit_deposits``: each deposit cell once, committed before it counts).

Refused batches (``recover_refused``): when the poster finds the next batch can never be posted
as sealed (``UnpostableBatch``: pending forced deposits ignored, ``prev_root`` not the rollup's
state root, ...), the unposted sealed batches are discarded, the soft state goes back to the last
batch on L1, the credited deposits are re-applied first (queue order), then the other soft
transactions in their order (one that no longer applies is ``dropped`` with the reason), all in
one database transaction; then they are re-sealed.  The same path handles an L1 revert (a
challenger won a dispute game): the poster reports the batch ``reverted`` and gives the rollup
state after the revert (``BatchPoster.revert_refusal``); the reverted batches are discarded and
their transactions re-executed from the L1's state root, the reverted deposits first (they are
pending again on L1, at their old queue indices), then re-sealed and posted again.  Batches
become ``final`` only when their FinalizeBatch is committed on L1 (the poster sends it).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from l1.ckb.types import OutPoint
from l1.core.scripts.rollup.layout import compute_deposit_hash
from l2.client.disputes import BatchEvidence, compute_claimed_hash
from l2.config import RollupConfig
from l2.errors import L2Error
from l2.state import L2State, create_genesis_state
from l2.stf import apply_transaction
from l2.tx import Deposit, L1Deposit, Transaction, compute_tx_hash, encode_record
from sequencer.batcher import (
    Batcher,
    BatchPoster,
    NullPoster,
    SealedBatch,
    UnpostableBatch,
    VersionedHashes,
    compute_kzg_versioned_hashes,
    compute_sealed_batch,
    is_batch_due,
)
from sequencer.config import SequencerConfig
from sequencer.crash import DataDirLock, crashpoint
from sequencer.defender import Defender
from sequencer.entries import BatchRecord, TxEntry, receipt_to_json
from sequencer.errors import Rejected, StartupError, Unavailable, rejection_from_l2
from sequencer.executor import DepositEntry, SoftEntry, SoftExecutor
from sequencer.faults import FaultyExecutor, compute_claimed_trace
from sequencer.mempool import Admission, Mempool, MempoolPolicy
from sequencer.metrics import SequencerEvents
from sequencer.store import Store

__all__ = ["Head", "Sequencer"]

log = logging.getLogger("sequencer")
#: Store meta key of the test-only wrong-root fault: absent, "armed" or "spent".
WRONG_ROOT_META = "fault:wrong_root"


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
        #: Deposits the L1 holds pending (forced, or given back by a revert) that the next
        #: batches must consume first, as of the last recovery: each batch absorbs at least
        #: ``min(pending, max_txs_per_batch)`` of them, even above ``batch_max_txs``.
        self._pending_deposits = 0
        self._lock = threading.RLock()
        self._locks: list[DataDirLock] = []
        self._store: Store | None = None
        self._pg_lock_conn: Connection | None = None
        self._build_core(self.config)
        #: The L1 deposit watcher (``sequencer.l1watch``), when an L1 is configured.
        self.watcher: Any = None
        #: The dispute-game defender (``sequencer.defender``), started with an L1.
        self.defender: Defender | None = None
        #: Out points (36 bytes) of the L1 deposits already credited (catalogue B1).
        self.credited_deposits: set[bytes] = set()
        self.batcher = Batcher(self)
        self.next_batch_number = 0
        #: Monotonic time the oldest unbatched soft transaction was executed (or restored).
        self._oldest_unbatched: float | None = None
        self.counters: dict[str, int] = {"accepted": 0, "duplicates": 0, "sealed_batches": 0}
        self.rejections: dict[str, int] = {}
        #: Accepted (not duplicate) submissions by kind: "transfer", "withdraw".
        self.accepted_by_kind: dict[str, int] = {}
        #: Event series of ``GET /metrics`` (``sequencer.metrics``): this sequencer's own
        #: registry, never prometheus-client's global one.
        self.metrics = SequencerEvents()

    def _build_core(self, config: RollupConfig) -> None:
        settings = self.settings
        self.config = config
        self.genesis = create_genesis_state(config, settings.genesis())
        fault = settings.wrong_root_fault()
        self.executor = (
            SoftExecutor(config, self.genesis)
            if fault is None
            else FaultyExecutor(config, self.genesis, fault)
        )
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
        if self.settings.l1_url is not None:
            from sequencer.poster import bootstrap_l1

            bootstrap_l1(self)
        self._check_identity()
        self._rebuild()
        return self

    def start(self) -> None:
        self.batcher.start()
        if self.watcher is not None:
            self.watcher.start()
        self.defender = self._make_defender()
        if self.defender is not None:
            self.defender.start()

    def _make_defender(self) -> Defender | None:
        """With an L1, a thread defends our batches in the dispute game (docs/disputes.md §6),
        with the trace we claimed: the honest one, or the wrong-root fault's."""
        from sequencer.poster import L1Poster

        poster = self.poster
        if not isinstance(poster, L1Poster):
            return None
        fault = self.settings.wrong_root_fault()
        config = self.config

        def claimed_trace(evidence: BatchEvidence) -> Sequence[bytes] | None:
            if fault is None or evidence.is_honest:
                return None
            trace = compute_claimed_trace(
                evidence.pre_state, evidence.records, evidence.deposits, config, fault
            )
            return trace if trace[-1] == compute_claimed_hash(evidence.commitment) else None

        return Defender(
            poster.access.get,
            poster.rollup_id,
            poster.proposer_key,
            config,
            self.genesis,
            self.settings.data_dir / "defender",
            claimed_trace=claimed_trace,
            interval=self.settings.l1_poll_interval,
        )

    def close(self) -> None:
        if self.defender is not None:
            self.defender.stop()
        if self.watcher is not None:
            self.watcher.stop()
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
            deposits = store.load_deposits(conn)
            fault_state = store.get_meta(conn, WRONG_ROOT_META)
        if isinstance(self.executor, FaultyExecutor):
            # Armed at a batch boundary, so everything after the last snapshot ran faulty.
            self.executor.armed = fault_state == "armed"
            self.executor.spent = fault_state == "spent"
        self.executor.deposits = {d.deposit_index: d for d in deposits}
        self.credited_deposits = {d.out_point for d in deposits}
        self.executor.restore(base, base_index, soft)
        self.mempool.restore(pending)
        touched = self.mempool.take_touched()
        if touched:
            with store.begin() as conn:
                store.save_txs(conn, touched)
        self._oldest_unbatched = time.monotonic() if self.executor.unbatched else None

    def _arm_fault_if_due(self) -> None:
        """Test-only ``wrong-root`` fault: turn the faulty STF on at the first batch boundary
        at or after its batch (recorded, so a restart replays the same way)."""
        executor = self.executor
        if isinstance(executor, FaultyExecutor) and executor.arm_if_due(self.next_batch_number):
            with self.store.begin() as conn:
                self.store.set_meta(conn, WRONG_ROOT_META, "armed")
            log.warning(
                "FAULT: executing wrongly (%s) from batch %d on",
                executor.fault.kind.value,
                self.next_batch_number,
            )

    def _disarm_fault(self) -> None:
        """The L1 reverted the wrong batch: the fault has fired; re-execution is honest."""
        executor = self.executor
        if isinstance(executor, FaultyExecutor) and not executor.spent:
            executor.disarm()
            with self.store.begin() as conn:
                self.store.set_meta(conn, WRONG_ROOT_META, "spent")
            log.warning("FAULT: the L1 reverted the wrong batch; executing honestly from now on")

    def _lookup(self, tx_hash: bytes) -> TxEntry | None:
        with self.store.read() as conn:
            return self.store.get_tx(conn, tx_hash)

    # ------------------------------------------------------------------ submission
    def submit(self, txs: list[Transaction]) -> list[Admission | Rejected]:
        """Admit each transaction in order; persist every change in one commit; then answer."""
        results: list[Admission | Rejected] = []
        with self._lock:
            self._arm_fault_if_due()
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
                    if not result.duplicate:
                        kind = type(result.entry.tx).__name__.lower()
                        self.accepted_by_kind[kind] = self.accepted_by_kind.get(kind, 0) + 1
            if self.executor.unbatched and self._oldest_unbatched is None:
                self._oldest_unbatched = time.monotonic()
            if len(self.executor.unbatched) >= self.batch_max_txs:
                self.batcher.wake()
        return results

    # ------------------------------------------------------------------ L1 deposits
    def credit_deposits(self, deposits: list[tuple[L1Deposit, int]]) -> int:
        """Execute L1 deposits (``(deposit, L1 block)``, in queue order) as soft ``Deposit``
        transactions and commit them; returns how many were credited.

        A deposit whose out point was already credited is skipped (B1: also across restarts,
        where the store is the source of truth, and by the ``deposits`` table's unique out
        point); one whose index is not the soft state's next deposit index stops the round
        (deposits are consumed strictly in order).  Each deposit is credited to the account
        holding its key, or to a new account."""
        credited: list[tuple[DepositEntry, L1Deposit, int]] = []
        with self._lock:
            self._arm_fault_if_due()
            for deposit, l1_block in deposits:
                if deposit.out_point in self.credited_deposits:
                    continue
                state = self.executor.state
                if deposit.deposit_index != state.next_deposit_index:
                    log.warning(
                        "deposit %d is not next (the soft state expects %d); waiting",
                        deposit.deposit_index,
                        state.next_deposit_index,
                    )
                    break
                to_index = next(
                    (
                        i
                        for i, a in enumerate(state.get_accounts())
                        if a.public_key == deposit.public_key
                    ),
                    state.next_account_index,
                )
                tx = Deposit(deposit.deposit_index, to_index, deposit.amount, deposit.public_key)
                self.executor.deposits[deposit.deposit_index] = deposit
                try:
                    executed = self.executor.execute(tx)
                except Exception as exc:
                    del self.executor.deposits[deposit.deposit_index]
                    log.error("L1 deposit %d cannot be credited: %s", deposit.deposit_index, exc)
                    break
                entry = DepositEntry(
                    hash=compute_tx_hash(tx, self.config),
                    tx=tx,
                    record=encode_record(tx),
                    status="soft",
                    received_at=time.time(),
                    soft_index=executed.soft_index,
                    post_root=executed.post_root,
                    receipt=receipt_to_json(executed.receipt, self.config),
                    out_point=deposit.out_point,
                )
                self.executor.note_unbatched(entry)
                self.credited_deposits.add(deposit.out_point)
                credited.append((entry, deposit, l1_block))
            if not credited:
                return 0
            try:
                with self.store.begin() as conn:
                    for entry, deposit, l1_block in credited:
                        self.store.save_txs(conn, [entry])
                        self.store.insert_deposit(conn, deposit, l1_block, entry.hash)
            except SQLAlchemyError as exc:
                log.exception("deposit commit failed; rebuilding the soft state from the store")
                self._rebuild()
                raise Unavailable(f"storage failure, no deposit was credited: {exc}") from None
            crashpoint("after_deposit_commit")
            if self._oldest_unbatched is None:
                self._oldest_unbatched = time.monotonic()
            if len(self.executor.unbatched) >= self.batch_max_txs:
                self.batcher.wake()
        for entry, deposit, l1_block in credited:
            log.info(
                "credited L1 deposit %d (%d shannons, L1 block %d) to account %d",
                deposit.deposit_index,
                deposit.amount,
                l1_block,
                entry.tx.to_index,
            )
        return len(credited)

    def health(self) -> tuple[str, list[str]]:
        """``ok`` or ``degraded`` with the reasons (batcher/poster and L1 watcher errors)."""
        reasons = []
        if self.batcher.last_error is not None:
            reasons.append(f"batcher: {self.batcher.last_error}")
        poster_error = getattr(self.poster, "last_error", None)
        if poster_error is not None:
            reasons.append(f"poster: {poster_error}")
        if self.watcher is not None and self.watcher.last_error is not None:
            reasons.append(f"l1 watcher: {self.watcher.last_error}")
        return ("degraded" if reasons else "ok"), reasons

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
            size = self.batch_max_txs
            if self._pending_deposits:
                preset_max = self.config.preset.max_txs_per_batch
                size = max(size, min(self._pending_deposits, preset_max))
            cut = self.executor.cut(size)
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
            accounts_root=sealed.new_accounts_root,
            next_account_index=sealed.new_next_account_index,
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
            self._pending_deposits = max(
                self._pending_deposits - sealed.commitment.deposit_count, 0
            )
            self.next_batch_number = number + 1
            self.counters["sealed_batches"] += 1
            self.metrics.batch_sealed(sealed)
            self._arm_fault_if_due()
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
                try:
                    l1_tx_hash = self.poster.post(batch)
                except UnpostableBatch as refusal:
                    self.recover_refused(refusal)
                    while self.seal_due_batch(force=True) is not None:
                        pass
                    return  # the re-sealed batches are posted next round
                if l1_tx_hash is None:
                    return  # in order: a later batch never goes before an earlier one
                status = "posted"
                self.metrics.batch_posted(batch)
                # Recorded at once: the L1 transaction is out (R2, crash point after_l1_submit
                # in the poster; a restart reconciles with the rollup cell and the scan).
                with self.store.begin() as conn:
                    self.store.update_batch(conn, record.number, status, l1_tx_hash)
                record = replace(record, status=status, l1_tx_hash=l1_tx_hash)
            status = self.poster.status(replace(batch, status=status, l1_tx_hash=l1_tx_hash))
            if status == "reverted":
                if record.status != "reverted":
                    with self.store.begin() as conn:
                        self.store.update_batch(conn, record.number, status, l1_tx_hash)
                    log.warning("batch %d: %s -> reverted by the L1", record.number, record.status)
                self._disarm_fault()
                after_revert = self.poster.revert_refusal()
                if after_revert.number > record.number:
                    raise RuntimeError(
                        f"batch {record.number} was reverted on L1 and replaced by another "
                        f"batch {record.number} (the rollup is at batch {after_revert.number}): "
                        "the L1 holds another history (operator action needed)"
                    )
                self.recover_refused(after_revert)
                while self.seal_due_batch(force=True) is not None:
                    pass
                return  # the re-sealed batches are posted next round
            if status == "sealed":
                l1_tx_hash = None  # dropped by an L1 reorg: posted again next round
            if status != record.status or l1_tx_hash != record.l1_tx_hash:
                with self.store.begin() as conn:
                    self.store.update_batch(conn, record.number, status, l1_tx_hash)
                log.info("batch %d: %s -> %s", record.number, record.status, status)
            if status == "sealed":
                return  # in order: the next batch waits until this one is on L1 again

    def recover_refused(self, refusal: UnpostableBatch) -> int:
        """Re-sequence after the L1 refused sealed batch ``refusal.number`` (the next one the
        rollup expects); returns how many sealed batches were discarded.

        The batches from that number on (none of them is on L1: the rollup cell is at it) are
        discarded and the soft state goes back to the last batch on L1 (its snapshot, whose root
        must be the rollup's state root).  From there the credited L1 deposits are re-applied
        first, in queue order (the forced ones lead the queue: each must already be credited,
        else nothing changes and this waits for the watcher), then every other soft transaction
        after that batch in its original order.  One that no longer applies is ``dropped`` with
        the reason (never lost silently); the rest get their new soft indices, post-roots and
        receipts.  All of it is one database transaction; the in-memory state is then rebuilt
        from the store (the restart path), and the caller re-seals."""
        number = refusal.number
        with self._lock:
            store = self.store
            with store.read() as conn:
                if number == 0:
                    base, base_index = self.genesis.copy(), 0
                else:
                    last = store.get_batch(conn, number - 1)
                    if last is None or last.status == "sealed":
                        raise RuntimeError(
                            f"batch {number} was refused but batch {number - 1} is not on L1 in "
                            "the store: cannot re-sequence"
                        )
                    base = L2State.decode(last.state, self.config.profile)
                    base_index = last.last_soft_index + 1
                discarded = store.list_batches(conn, number, 1 << 62)
                soft = store.load_soft_txs(conn, base_index)
            # The rollup cell is at ``number``: none of these is on L1 (a stored safe status is
            # stale after a reorg), but a final one is never discarded.
            final = [b.number for b in discarded if b.status == "final"]
            if final:
                raise RuntimeError(
                    f"batch {number} was refused but batches {final} are final here: never "
                    "discarded (operator action needed)"
                )
            if base.get_root() != refusal.state_root:
                raise RuntimeError(
                    f"the rollup's state root 0x{refusal.state_root.hex()} is not the root of "
                    f"batch {number - 1} in the store: the L1 holds another history (operator "
                    "action needed)"
                )
            if base.next_deposit_index != refusal.next_deposit_index:
                raise RuntimeError(
                    f"the L1 deposit queue is at {refusal.next_deposit_index}, batch "
                    f"{number - 1} at {base.next_deposit_index} (operator action needed)"
                )
            self._check_forced_credited(refusal)
            kept, dropped = self._resequence(base, base_index, soft, refusal)
            with store.begin() as conn:
                store.discard_batches_from(conn, number, base_index)
                store.save_txs(conn, kept + dropped)
            crashpoint("after_recovery_commit")
            self._rebuild()
            self._pending_deposits = len(refusal.pending_forced)
        log.warning(
            "batch %d refused by the L1 (%s): discarded %d sealed batches, re-sequenced %d soft "
            "transactions from soft index %d (deposits first), dropped %d",
            number,
            refusal.reason,
            len(discarded),
            len(kept),
            base_index,
            len(dropped),
        )
        for entry in dropped:
            log.warning("transaction 0x%s dropped: %s", entry.hash.hex(), entry.error)
        return len(discarded)

    def _check_forced_credited(self, refusal: UnpostableBatch) -> None:
        """Every deposit the L1 forces must be credited, at its queue index, before re-sequencing
        (else the re-sealed batch would be refused again)."""
        for position, deposit_hash in enumerate(refusal.pending_forced):
            index = refusal.next_deposit_index + position
            deposit = self.executor.deposits.get(index)
            if deposit is None:
                raise RuntimeError(
                    f"batch {refusal.number} refused ({refusal.reason}); waiting for forced "
                    f"deposit {index} to be credited before re-sequencing"
                )
            ours = compute_deposit_hash(
                OutPoint.deserialize(deposit.out_point), deposit.public_key, deposit.amount
            )
            if ours != deposit_hash:
                raise RuntimeError(
                    f"deposit {index} credited here is not the one the L1 forces at that index "
                    "(operator action needed)"
                )

    def _resequence(
        self, base: L2State, base_index: int, soft: list[SoftEntry], refusal: UnpostableBatch
    ) -> tuple[list[SoftEntry], list[SoftEntry]]:
        """Pure: ``soft`` re-applied on ``base`` with the deposits first (queue order); returns
        the entries kept (new soft indices) and those dropped (with the reason)."""
        deposits: list[SoftEntry] = sorted(
            (e for e in soft if isinstance(e, DepositEntry)), key=lambda e: e.nonce
        )
        others: list[SoftEntry] = [e for e in soft if not isinstance(e, DepositEntry)]
        kept: list[SoftEntry] = []
        dropped: list[SoftEntry] = []
        state = base.copy()
        for entry in deposits + others:
            try:
                receipt = apply_transaction(state, entry.tx, self.config, self.executor.deposits)
            except L2Error as exc:
                if isinstance(entry, DepositEntry):
                    raise RuntimeError(
                        f"credited deposit {entry.tx.deposit_index} no longer applies: {exc}"
                    ) from None
                rejected = rejection_from_l2(exc)
                entry.status = "dropped"
                entry.error = (
                    f"{rejected.code}: {rejected.message} (re-sequenced after the L1 refused "
                    f"batch {refusal.number}: {refusal.reason})"
                )
                entry.soft_index = entry.post_root = entry.receipt = None
                entry.batch_number = entry.position = None
                dropped.append(entry)
                continue
            entry.soft_index = base_index + len(kept)
            entry.post_root = state.get_root()
            entry.receipt = receipt_to_json(receipt, self.config)
            entry.batch_number = entry.position = None
            kept.append(entry)
        return kept, dropped

    def load_sealed_batch(self, record: BatchRecord) -> SealedBatch:
        from l2.batch import BatchCommitment

        with self.store.read() as conn:
            hashes = self.store.get_batch_tx_hashes(conn, record.number)
            entries = [self.store.get_soft_entry(conn, h) for h in hashes]
        return SealedBatch(
            number=record.number,
            commitment=BatchCommitment.deserialize(record.commitment),
            records=tuple(e.record for e in entries if e is not None),
            tx_hashes=tuple(hashes),
            first_soft_index=record.first_soft_index,
            status=record.status,
            l1_tx_hash=record.l1_tx_hash,
            new_accounts_root=record.accounts_root,
            new_next_account_index=record.next_account_index,
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
