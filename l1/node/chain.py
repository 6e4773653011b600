"""The chain: block index, heaviest-chain fork choice, reorgs over the persistent store.

A block is accepted in two stages, as CKB does: on arrival its header is checked against its
parent (proof of work, epoch, difficulty, timestamps) and it is stored with its total difficulty;
only when it becomes part of the heaviest chain is its body fully verified against the live cells
(``l1.core.block.verify_block``). A reorg — detach to the fork point, attach the new branch — runs
in one database transaction: if any block of the branch fails, everything rolls back, that block
and its descendants are marked invalid, and the best remaining chain is chosen again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy import Connection

from l1.ckb.compact import compact_to_difficulty
from l1.ckb.hashes import (
    compute_extra_hash,
    compute_header_hash,
    compute_proposals_hash,
    compute_script_hash,
    compute_transactions_root,
    compute_tx_hash,
)
from l1.ckb.types import Block, Header, OutPoint, Script
from l1.core.blobs import BlobSidecar, validate_blob_sidecars
from l1.core.block import (
    BlockVerdict,
    ParentContext,
    RewardTarget,
    compute_header_context,
    validate_header,
    verify_block,
)
from l1.core.cells import CellMeta, CellStatus
from l1.core.epoch import compute_genesis_epoch_ext
from l1.core.errors import (
    BlobLimitExceeded,
    BlockError,
    BlockTimeTooNew,
    InvalidExtraHash,
    InvalidParent,
    InvalidProposalsHash,
    InvalidTransactionsRoot,
    L1Error,
    MissingBlobData,
)
from l1.core.genesis import Genesis
from l1.core.preset import Preset
from l1.core.scripts import ScriptRegistry
from l1.kzg import get_kzg_settings
from l1.node.store import BlockRecord, Store

#: Blob sidecars of a block, by transaction hash, in the order the transaction commits to them.
Sidecars = dict[bytes, tuple[BlobSidecar, ...]]

__all__ = [
    "BlockVerification",
    "Chain",
    "ChainError",
    "ChainObserver",
    "ProcessResult",
    "StoreCellProvider",
    "TipChange",
]

log = logging.getLogger("l1.chain")

MAX_ORPHANS = 512
#: Arrival sources remembered for blocks not yet verified (side branches may never be).
MAX_PENDING_SOURCES = 4096


class ChainError(Exception):
    """The node cannot use its data directory (for example it belongs to another chain)."""


@dataclass(frozen=True, slots=True)
class ProcessResult:
    """What happened to a submitted block."""

    status: str  # "duplicate" | "orphan" | "side" | "tip"
    block_hash: bytes


@dataclass(frozen=True, slots=True)
class TipChange:
    old_tip: bytes
    new_tip: bytes
    detached: tuple[Block, ...]
    attached: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class BlockVerification:
    """One full body verification, reported to the chain's observer after it is decided.

    ``source`` is how the block arrived (``mined``, ``peer``, ``rpc``; ``store`` for a block
    stored before a restart); ``seconds`` is the wall time of ``verify_block`` alone, so the
    pure core stays untimed and the figure excludes waiting for the chain lock.
    """

    block: Block
    block_hash: bytes
    source: str
    seconds: float
    valid: bool


class ChainObserver(Protocol):
    """What the node's metrics (``l1.node.metrics``) learn from the chain as it happens."""

    def block_verified(self, event: BlockVerification) -> None: ...

    def sidecars_stored(self, block_hash: bytes, sidecars: Sidecars) -> None: ...


class StoreCellProvider:
    """Live cells of the main chain as seen through one database connection."""

    def __init__(self, store: Store, conn: Connection) -> None:
        self.store = store
        self.conn = conn

    def get_cell(self, out_point: OutPoint) -> tuple[str, CellMeta | None]:
        cell = self.store.get_live_cell(self.conn, out_point)
        if cell is not None:
            return CellStatus.LIVE, cell
        location = self.store.get_transaction_location(self.conn, out_point.tx_hash)
        if location is not None and out_point.index < location[3]:
            return CellStatus.DEAD, None
        return CellStatus.UNKNOWN, None


class MainChainHeaders:
    """Header deps must be on the main chain, at or below the parent (RFC 0022)."""

    def __init__(self, chain: Chain, main: list[bytes]) -> None:
        self.chain = chain
        self.main = main

    def get_header(self, block_hash: bytes) -> Header | None:
        record = self.chain.records.get(block_hash)
        if (
            record is None
            or record.number >= len(self.main)
            or self.main[record.number] != block_hash
        ):
            return None
        return record.header


@dataclass
class _Pending:
    """Results of blocks attached inside a not-yet-committed reorg."""

    verdicts: dict[bytes, BlockVerdict] = field(default_factory=dict)


class Chain:
    def __init__(
        self,
        store: Store,
        genesis: Genesis,
        preset: Preset,
        registry: ScriptRegistry,
        clock_ms: Callable[[], int] | None = None,
        kzg_settings: Callable[[], Any] | None = None,
    ) -> None:
        self.store = store
        self.genesis = genesis
        self.preset = preset
        self.registry = registry
        self.clock_ms = clock_ms
        self.lock = threading.RLock()
        self.records: dict[bytes, BlockRecord] = {}
        self.children: dict[bytes, set[bytes]] = {}
        self.main: list[bytes] = []
        self.orphans: dict[bytes, dict[bytes, tuple[Block, Sidecars | None]]] = {}
        self.invalid: dict[bytes, str] = {}
        #: Stored blocks off the main chain: the fork-choice candidates.
        self.side: set[bytes] = set()
        #: Highest block number whose header (proof of work included) this node has checked.
        self.best_header_number = 0
        self.kzg_settings = kzg_settings or get_kzg_settings
        self.listeners: list[Callable[[TipChange], None]] = []
        #: Told of every verification and stored blob data (metrics); never affects consensus.
        self.observer: ChainObserver | None = None
        #: How each block not yet verified arrived, for ``BlockVerification.source``.
        self._sources: dict[bytes, str] = {}
        self._open()

    # ------------------------------------------------------------------ startup
    def _open(self) -> None:
        with self.store.begin() as conn:
            stored_genesis = self.store.get_meta(conn, "genesis_hash")
            if stored_genesis is None:
                self._insert_genesis(conn)
            elif stored_genesis != self.genesis.hash.hex():
                raise ChainError(
                    f"the data directory holds chain {stored_genesis}, not this spec's genesis "
                    f"{self.genesis.hash.hex()}; use another data directory"
                )
        with self.store.read() as conn:
            for record in self.store.load_block_records(conn):
                self.records[record.hash] = record
                self.children.setdefault(record.parent_hash, set()).add(record.hash)
                if record.status == "invalid":
                    self.invalid[record.hash] = record.error or "invalid"
            self.main = self.store.load_main_chain(conn)
        self.best_header_number = max((r.number for r in self.records.values()), default=0)
        main_set = set(self.main)
        self.side = {h for h in self.records if h not in main_set and h not in self.invalid}
        # A crash between storing a block and choosing the chain is harmless: choose again.
        self._select_best_chain()

    def _insert_genesis(self, conn: Connection) -> None:
        block = self.genesis.block
        header = block.header
        epoch = compute_genesis_epoch_ext(self.preset)
        record = BlockRecord(
            self.genesis.hash,
            header,
            compact_to_difficulty(header.raw.compact_target),
            epoch,
            "valid",
            fees=0,
            primary_reward=epoch.block_reward(0),
        )
        self.store.insert_block(conn, record, block)
        self.store.update_block_status(conn, record)
        self.store.set_main(conn, 0, self.genesis.hash)
        self._apply_block_cells(conn, block, self.genesis.hash, None)
        self.store.set_meta(conn, "genesis_hash", self.genesis.hash.hex())

    # ------------------------------------------------------------------ queries
    @property
    def tip(self) -> BlockRecord:
        return self.records[self.main[-1]]

    def get_block(self, block_hash: bytes) -> Block | None:
        with self.store.read() as conn:
            body = self.store.get_block_body(conn, block_hash)
        return None if body is None else _block_from_body(body)

    def is_main(self, block_hash: bytes) -> bool:
        record = self.records.get(block_hash)
        main = self.main
        return (
            record is not None and record.number < len(main) and main[record.number] == block_hash
        )

    def get_main_hash(self, number: int) -> bytes | None:
        main = self.main
        return main[number] if 0 <= number < len(main) else None

    def get_ancestor(self, block_hash: bytes, number: int) -> BlockRecord | None:
        record = self.records.get(block_hash)
        while record is not None and record.number > number:
            if self.is_main(record.hash):
                main_hash = self.get_main_hash(number)
                return None if main_hash is None else self.records[main_hash]
            record = self.records.get(record.parent_hash)
        return record if record is not None and record.number == number else None

    def locator(self) -> list[bytes]:
        """Block hashes from the tip back with exponentially growing steps (for sync)."""
        main = self.main
        hashes, step, index = [], 1, len(main) - 1
        while index > 0:
            hashes.append(main[index])
            if len(hashes) >= 10:
                step *= 2
            index -= step
        hashes.append(main[0])
        return hashes

    # ------------------------------------------------------------------ contexts
    def parent_context(self, parent_hash: bytes, pending: _Pending | None = None) -> ParentContext:
        """Everything a child of ``parent_hash`` is verified against, reward target included."""
        header_context = self.header_context(parent_hash)
        parent = self.records[parent_hash]
        target_number = parent.number + 1 - self.preset.finalization_delay_length
        if target_number <= 0:
            return header_context
        target = self.get_ancestor(parent_hash, target_number)
        if target is None:
            raise InvalidParent(f"ancestor {target_number} of {parent_hash.hex()} is unknown")
        verdict = pending.verdicts.get(target.hash) if pending else None
        if verdict is not None:
            lock, reward, fees = verdict.cellbase_lock, verdict.primary_reward, verdict.fees
        elif (
            target.cellbase_lock is not None
            and target.fees is not None
            and target.primary_reward is not None
        ):
            lock, reward, fees = target.cellbase_lock, target.primary_reward, target.fees
        else:
            raise InvalidParent(f"ancestor {target_number} has not been verified")
        return replace(
            header_context,
            reward_target=RewardTarget(target.hash, target.number, lock, reward, fees),
        )

    def header_context(self, parent_hash: bytes) -> ParentContext:
        """Context for header rules only (no reward target): median time and epoch clock."""
        return compute_header_context(
            self.records[parent_hash],
            self.records.get,
            self.genesis.block.header.raw.timestamp,
            self.preset.median_time_block_count,
        )

    # ------------------------------------------------------------------ processing
    def process_block(
        self, block: Block, sidecars: Sidecars | None = None, source: str = "unknown"
    ) -> ProcessResult:
        """Accept a block (and its blob sidecars) from the miner or a peer.

        ``source`` (``mined``, ``peer``, ``rpc``) only labels the block's verification in the
        metrics.

        Raises an ``L1Error`` if the block is invalid, or a ``BlobError`` if the sidecars given do
        not match it — then nothing is stored, and the right data may still come later. A block
        within the retention window that commits to blobs but arrives without sidecars is stored
        as unavailable: nothing is built on it until ``provide_sidecars`` supplies its data.
        """
        block_hash = compute_header_hash(block.header)
        with self.lock:
            if block_hash in self.invalid:
                raise BlockError(
                    f"block {block_hash.hex()} is known to be invalid: {self.invalid[block_hash]}"
                )
            known = self.records.get(block_hash)
            if known is not None:
                if not known.available and sidecars is not None:
                    return self.provide_sidecars(block_hash, sidecars)
                return ProcessResult("duplicate", block_hash)
            _validate_body_commitments(block)
            self._validate_blob_counts(block)
            if sidecars is not None:
                self._validate_sidecars(block, sidecars)
            parent_hash = block.header.raw.parent_hash
            self._note_source(block_hash, source)
            if parent_hash in self.invalid:
                self._remember_invalid(block_hash, "its parent is invalid")
                raise InvalidParent(f"parent {parent_hash.hex()} is invalid")
            if parent_hash not in self.records:
                self._add_orphan(parent_hash, block_hash, block, sidecars)
                return ProcessResult("orphan", block_hash)
            result = self._accept(block, block_hash, sidecars)
            self._connect_orphans(block_hash)
            return result

    def provide_sidecars(self, block_hash: bytes, sidecars: Sidecars) -> ProcessResult:
        """Late data for a stored block: verify, store, and let fork choice consider it again."""
        with self.lock:
            record = self.records.get(block_hash)
            if record is None:
                raise BlockError(f"block {block_hash.hex()} is unknown")
            if record.available:
                return ProcessResult("duplicate", block_hash)
            with self.store.read() as conn:
                block = self._load_block(conn, block_hash)
            self._validate_sidecars(block, sidecars)
            record.available = True
            with self.store.begin() as conn:
                self.store.insert_sidecars(conn, block_hash, record.number, sidecars)
                self.store.update_block_status(conn, record)
            self._notify_sidecars(block_hash, sidecars)
            old_tip = self.main[-1]
            self._select_best_chain()
            status = "tip" if self.main[-1] != old_tip and self.is_main(block_hash) else "side"
            return ProcessResult(status, block_hash)

    def _validate_blob_counts(self, block: Block) -> None:
        """Blob limits are part of the block itself: checked whether or not the data came."""
        total = 0
        for tx in block.transactions:
            count = len(tx.raw.blob_versioned_hashes)
            if count > self.preset.max_blobs_per_tx:
                raise BlobLimitExceeded(
                    f"a transaction carries {count} blobs, over the limit of {self.preset.max_blobs_per_tx}"
                )
            total += count
        if total > self.preset.max_blobs_per_block:
            raise BlobLimitExceeded(
                f"block carries {total} blobs, over the limit of {self.preset.max_blobs_per_block}"
            )

    def _validate_sidecars(self, block: Block, sidecars: Sidecars) -> None:
        committed = {
            compute_tx_hash(tx): tx.raw.blob_versioned_hashes
            for tx in block.transactions
            if tx.raw.blob_versioned_hashes
        }
        extra = set(sidecars) - set(committed)
        if extra:
            raise MissingBlobData(
                f"sidecars for transactions without blobs: {sorted(h.hex() for h in extra)[0]}"
            )
        total = sum(len(hashes) for hashes in committed.values())
        if total > self.preset.max_blobs_per_block:
            raise BlobLimitExceeded(
                f"block carries {total} blobs, over the limit of {self.preset.max_blobs_per_block}"
            )
        settings = self.kzg_settings()
        for tx_hash, hashes in committed.items():
            validate_blob_sidecars(
                hashes, sidecars.get(tx_hash, ()), settings, self.preset.max_blobs_per_tx
            )

    def block_has_blobs(self, block: Block) -> bool:
        return any(tx.raw.blob_versioned_hashes for tx in block.transactions)

    def is_within_da_window(self, number: int) -> bool:
        """Blocks this recent must come with their data; older ones may sync without it.

        "Recent" is measured against the highest header whose proof of work we checked
        ourselves — never against a tip a peer merely claims — so a block waiting for data
        becomes acceptable without it once enough valid work has been built on top.
        """
        horizon = max(self.best_header_number, len(self.main) - 1)
        return number + self.preset.blob_retention_blocks > horizon

    def _is_data_satisfied(self, record: BlockRecord) -> bool:
        return record.available or not self.is_within_da_window(record.number)

    def _accept(
        self, block: Block, block_hash: bytes, sidecars: Sidecars | None = None
    ) -> ProcessResult:
        parent = self.records[block.header.raw.parent_hash]
        now = self.clock_ms() if self.clock_ms is not None else None
        try:
            epoch = validate_header(
                self.preset, block.header, self.header_context(parent.hash), now
            )
        except BlockTimeTooNew:
            raise  # temporary: the same block may be acceptable once our clock catches up
        except L1Error as exc:
            self._remember_invalid(block_hash, str(exc))
            raise
        record = BlockRecord(
            block_hash,
            block.header,
            parent.total_difficulty + compact_to_difficulty(block.header.raw.compact_target),
            epoch,
            "header",
        )
        has_blobs = self.block_has_blobs(block)
        record.available = (
            not has_blobs or sidecars is not None or not self.is_within_da_window(record.number)
        )
        with self.store.begin() as conn:
            self.store.insert_block(conn, record, block)
            if has_blobs and sidecars is not None:
                self.store.insert_sidecars(conn, block_hash, record.number, sidecars)
        if has_blobs and sidecars is not None:
            self._notify_sidecars(block_hash, sidecars)
        self.records[block_hash] = record
        self.best_header_number = max(self.best_header_number, record.number)
        self.side.add(block_hash)
        self.children.setdefault(record.parent_hash, set()).add(block_hash)
        if not record.available:
            log.info(
                "block %d %s waits for its blob sidecars", record.number, block_hash.hex()[:16]
            )
            return ProcessResult("unavailable", block_hash)
        old_tip = self.main[-1]
        self._select_best_chain()
        if block_hash in self.invalid:
            raise BlockError(f"block {block_hash.hex()} is invalid: {self.invalid[block_hash]}")
        return ProcessResult(
            "tip" if self.main[-1] != old_tip and self.is_main(block_hash) else "side", block_hash
        )

    def _add_orphan(
        self, parent_hash: bytes, block_hash: bytes, block: Block, sidecars: Sidecars | None
    ) -> None:
        if sum(len(v) for v in self.orphans.values()) >= MAX_ORPHANS:
            self.orphans.pop(next(iter(self.orphans)))
        self.orphans.setdefault(parent_hash, {})[block_hash] = (block, sidecars)

    def _connect_orphans(self, parent_hash: bytes) -> None:
        queue = [parent_hash]
        while queue:
            waiting = self.orphans.pop(queue.pop(), {})
            for orphan_hash, (orphan, orphan_sidecars) in waiting.items():
                try:
                    self._accept(orphan, orphan_hash, orphan_sidecars)
                    queue.append(orphan_hash)
                except L1Error as exc:
                    log.info("orphan %s rejected: %s", orphan_hash.hex(), exc)

    def _note_source(self, block_hash: bytes, source: str) -> None:
        if block_hash not in self._sources and len(self._sources) >= MAX_PENDING_SOURCES:
            self._sources.pop(next(iter(self._sources)))
        self._sources[block_hash] = source

    def _notify_sidecars(self, block_hash: bytes, sidecars: Sidecars) -> None:
        if self.observer is None:
            return
        try:
            self.observer.sidecars_stored(block_hash, sidecars)
        except Exception:  # metrics must never undo consensus
            log.exception("chain observer failed")

    def _notify_verified(self, events: list[BlockVerification]) -> None:
        for event in events:
            self._sources.pop(event.block_hash, None)
        if self.observer is None:
            return
        for event in events:
            try:
                self.observer.block_verified(event)
            except Exception:  # metrics must never undo consensus
                log.exception("chain observer failed")

    def _remember_invalid(self, block_hash: bytes, reason: str) -> None:
        if len(self.invalid) > 10_000:
            self.invalid.pop(next(iter(self.invalid)))
        self.invalid[block_hash] = reason

    def _best_candidate(self) -> BlockRecord:
        """The heaviest block that is valid so far and whose data (and its branch's) is here."""
        best = self.tip
        for block_hash in list(self.side):
            record = self.records[block_hash]
            if block_hash in self.invalid:
                self.side.discard(block_hash)
                continue
            if record.total_difficulty > best.total_difficulty and self._is_eligible(record):
                best = record
        return best

    def _is_eligible(self, record: BlockRecord) -> bool:
        cursor: BlockRecord | None = record
        while cursor is not None and not self.is_main(cursor.hash):
            if not self._is_data_satisfied(cursor) or cursor.hash in self.invalid:
                return False
            cursor = self.records.get(cursor.parent_hash)
        return cursor is not None

    def _select_best_chain(self) -> None:
        while True:
            best = self._best_candidate()
            if best.hash == self.main[-1]:
                return
            self._reorganize(best.hash)

    def _reorganize(self, new_tip_hash: bytes) -> None:
        branch: list[BlockRecord] = []
        cursor = self.records[new_tip_hash]
        while not self.is_main(cursor.hash):
            branch.append(cursor)
            cursor = self.records[cursor.parent_hash]
        branch.reverse()
        fork_number = cursor.number
        old_main = list(self.main)
        working_main = old_main[: fork_number + 1]
        detached: list[Block] = []
        attached: list[Block] = []
        pending = _Pending()
        failed: tuple[bytes, str] | None = None
        verified: list[BlockVerification] = []
        try:
            with self.store.begin() as conn:
                for number in range(len(old_main) - 1, fork_number, -1):
                    block_hash = old_main[number]
                    block = self._load_block(conn, block_hash)
                    self._unapply_block_cells(conn, block, block_hash)
                    self.store.unset_main(conn, number)
                    detached.append(block)
                self.main = working_main
                for record in branch:
                    block = self._load_block(conn, record.hash)
                    started = time.perf_counter()
                    source = self._sources.get(record.hash, "store")
                    try:
                        verdict = self._verify_attach(conn, block, record, pending, working_main)
                    except L1Error as exc:
                        failed = (record.hash, f"{type(exc).__name__}: {exc}")
                        verified.append(
                            BlockVerification(
                                block, record.hash, source, time.perf_counter() - started, False
                            )
                        )
                        raise
                    verified.append(
                        BlockVerification(
                            block, record.hash, source, time.perf_counter() - started, True
                        )
                    )
                    pending.verdicts[record.hash] = verdict
                    self._apply_verdict(conn, block, record.hash, verdict)
                    self.store.set_main(conn, record.number, record.hash)
                    working_main.append(record.hash)
                    record_update = BlockRecord(
                        record.hash,
                        record.header,
                        record.total_difficulty,
                        record.epoch,
                        "valid",
                        available=record.available,
                        fees=verdict.fees,
                        primary_reward=verdict.primary_reward,
                        cellbase_lock=verdict.cellbase_lock,
                    )
                    self.store.update_block_status(conn, record_update)
                    attached.append(block)
        except L1Error:
            self.main = old_main
            if failed is None:
                raise
            self._mark_invalid(*failed)
            # The blocks before the failing one were verified too, but rolled back with it:
            # only the failure is reported (they are verified again on the next attempt).
            self._notify_verified(verified[-1:])
            return
        except BaseException:
            self.main = old_main
            raise
        for record in branch:
            verdict = pending.verdicts[record.hash]
            record.status = "valid"
            record.fees, record.primary_reward, record.cellbase_lock = (
                verdict.fees,
                verdict.primary_reward,
                verdict.cellbase_lock,
            )
        self.main = working_main
        for record in branch:
            self.side.discard(record.hash)
        for block in detached:
            self.side.add(compute_header_hash(block.header))
        self.prune()
        self._notify_verified(verified)
        change = TipChange(old_main[-1], working_main[-1], tuple(detached), tuple(attached))
        if detached:
            log.info(
                "reorg: detached %d, attached %d, tip %d",
                len(detached),
                len(attached),
                len(working_main) - 1,
            )
        for listener in self.listeners:
            try:
                listener(change)
            except Exception:  # a listener's bug must not undo consensus
                log.exception("tip listener failed")

    def _verify_attach(
        self,
        conn: Connection,
        block: Block,
        record: BlockRecord,
        pending: _Pending,
        working_main: list[bytes],
    ) -> BlockVerdict:
        parent = self.parent_context(record.parent_hash, pending)
        return verify_block(
            self.preset,
            block,
            parent,
            StoreCellProvider(self.store, conn),
            MainChainHeaders(self, working_main),
            self.registry,
            None,
            self.blobs_for_block(block),
        )

    def blobs_for_block(self, block: Block) -> dict[bytes, tuple[bytes, ...]]:
        """Blob data by transaction hash, for verifier plug-ins that read rollup data."""
        if not self.block_has_blobs(block):
            return {}
        result: dict[bytes, list[bytes]] = {}
        with self.store.read() as conn:
            for row in self.store.get_block_sidecars(conn, compute_header_hash(block.header)):
                if row.blob is not None:
                    result.setdefault(bytes(row.tx_hash), []).append(bytes(row.blob))
        return {tx_hash: tuple(blobs) for tx_hash, blobs in result.items()}

    def get_sidecars(self, block_hash: bytes) -> Sidecars | None:
        """The block's sidecars, or None if it has blobs whose data is pruned or missing."""
        with self.store.read() as conn:
            rows = self.store.get_block_sidecars(conn, block_hash)
        if not rows or any(row.blob is None for row in rows):
            return None
        result: dict[bytes, list[BlobSidecar]] = {}
        for row in rows:
            result.setdefault(bytes(row.tx_hash), []).append(
                BlobSidecar(bytes(row.blob), bytes(row.commitment), bytes(row.proof))
            )
        return {tx_hash: tuple(items) for tx_hash, items in result.items()}

    def prune(self) -> int:
        """Drop blob data older than the retention window (headers and transactions stay)."""
        below = len(self.main) - 1 - self.preset.blob_retention_blocks
        if below <= 0:
            return 0
        with self.store.begin() as conn:
            pruned = self.store.prune_blobs(conn, below)
            self.store.set_meta(conn, "pruned_below", str(below))
        if pruned:
            log.info("pruned %d blobs below block %d", pruned, below)
        return pruned

    def _mark_invalid(self, block_hash: bytes, reason: str) -> None:
        log.warning("block %s is invalid: %s", block_hash.hex(), reason)
        stack = [block_hash]
        with self.store.begin() as conn:
            while stack:
                current = stack.pop()
                self._remember_invalid(
                    current, reason if current == block_hash else "descends from an invalid block"
                )
                record = self.records.get(current)
                if record is not None:
                    record.status, record.error = "invalid", self.invalid[current]
                    self.store.update_block_status(conn, record)
                stack.extend(self.children.get(current, ()))

    # ------------------------------------------------------------------ cell-set mutation
    def _load_block(self, conn: Connection, block_hash: bytes) -> Block:
        body = self.store.get_block_body(conn, block_hash)
        if body is None:
            raise ChainError(f"block {block_hash.hex()} is missing from the store")
        return _block_from_body(body)

    def _apply_block_cells(
        self, conn: Connection, block: Block, block_hash: bytes, verdict: BlockVerdict | None
    ) -> None:
        raw = block.header.raw
        rows = []
        txs = []
        for tx_index, tx in enumerate(block.transactions):
            tx_hash = compute_tx_hash(tx)
            txs.append((tx_hash, tx))
            for out_index, (output, data) in enumerate(
                zip(tx.raw.outputs, tx.raw.outputs_data, strict=True)
            ):
                cell = CellMeta(
                    OutPoint(tx_hash, out_index),
                    output,
                    data,
                    raw.number,
                    block_hash,
                    raw.epoch,
                    raw.timestamp,
                    tx_index == 0,
                )
                rows.append(
                    (cell, compute_script_hash(output.lock), _type_hash(output.type), tx_index)
                )
        consumed_in_block: set[OutPoint] = set()
        if verdict is not None:
            for tx in block.transactions[1:]:
                consumed_in_block.update(i.previous_output for i in tx.raw.inputs)
        self.store.insert_transactions(conn, block_hash, raw.number, txs)
        self.store.insert_cells(
            conn, [row for row in rows if row[0].out_point not in consumed_in_block]
        )

    def _apply_verdict(
        self, conn: Connection, block: Block, block_hash: bytes, verdict: BlockVerdict
    ) -> None:
        for cell in verdict.consumed:
            self.store.delete_cell(conn, cell.out_point)
        self.store.put_undo(conn, block_hash, verdict.consumed)
        self._apply_block_cells(conn, block, block_hash, verdict)

    def _unapply_block_cells(self, conn: Connection, block: Block, block_hash: bytes) -> None:
        self.store.delete_cells_of_block(conn, block_hash)
        self.store.delete_transactions(conn, block_hash)
        restored = []
        for cell in self.store.pop_undo(conn, block_hash):
            location = self.store.get_transaction_location(conn, cell.out_point.tx_hash)
            tx_index = location[2] if location is not None else 0
            restored.append(
                (
                    cell,
                    compute_script_hash(cell.output.lock),
                    _type_hash(cell.output.type),
                    tx_index,
                )
            )
        self.store.insert_cells(conn, restored)


def _type_hash(script: Script | None) -> bytes | None:
    return None if script is None else compute_script_hash(script)


def _validate_body_commitments(block: Block) -> None:
    """The header commits to the body; a body that does not match is not this block at all."""
    raw = block.header.raw
    if compute_transactions_root(block) != raw.transactions_root:
        raise InvalidTransactionsRoot("transactions_root does not match the block's transactions")
    if compute_proposals_hash(block.proposals) != raw.proposals_hash:
        raise InvalidProposalsHash("proposals_hash does not match the block's proposals")
    if compute_extra_hash(block) != raw.extra_hash:
        raise InvalidExtraHash("extra_hash does not match the block's uncles and extension")


def _block_from_body(body: bytes) -> Block:
    return Block.deserialize(body)
