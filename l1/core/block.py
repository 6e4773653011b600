"""Block verification and assembly (RFC 0020, RFC 0022, RFC 0027;
``ckb:verification`` ``HeaderVerifier``, ``BlockVerifier``, ``ContextualBlockVerifier``).

A block is checked against its parent's context: header rules (number, parent, epoch, compact
target, timestamp after the median and not too far ahead, proof of work), body commitments
(transactions_root, extra_hash, proposals_hash), the cellbase and its reward, every transaction in
order against the parent's live cells plus the block's own earlier outputs, the block's cycle and
size budgets, and the dao field. The verdict lists the cells consumed and created; the caller
applies it atomically. Nothing here reads a clock: ``now_ms`` is passed in.

rollcourt keeps CKB's formats but not its two-step transaction confirmation or uncles: blocks
carry no proposals and no uncles (``UnsupportedFeature``), and all fees go to the committing
miner. Both are room in the format, not changes to it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from l1.ckb.hashes import (
    compute_extra_hash,
    compute_header_hash,
    compute_proposals_hash,
    compute_transactions_root,
    compute_tx_hash,
)
from l1.ckb.molecule import MoleculeError
from l1.ckb.pow import verify_pow
from l1.ckb.types import (
    ENABLED_HASH_TYPES,
    NULL_OUT_POINT,
    ZERO_HASH,
    Block,
    CellbaseWitness,
    CellInput,
    CellOutput,
    Header,
    OutPoint,
    RawHeader,
    RawTransaction,
    Script,
    Transaction,
)
from l1.core.capacity import compute_occupied_capacity
from l1.core.cells import CellMeta, CellProvider, CellStatus, HeaderProvider
from l1.core.dao import DaoData, compute_block_dao
from l1.core.epoch import EpochExt, compute_block_epoch
from l1.core.errors import (
    BlockCyclesExceeded,
    BlockTimeTooNew,
    BlockTooLarge,
    CellbaseError,
    DaoMismatch,
    DoubleSpend,
    DuplicateTransaction,
    InvalidBlockVersion,
    InvalidCompactTarget,
    InvalidEpoch,
    InvalidExtraHash,
    InvalidNumber,
    InvalidParent,
    InvalidPow,
    InvalidProposalsHash,
    InvalidReward,
    InvalidTimestamp,
    InvalidTransactionsRoot,
    L1Error,
    TransactionError,
    UnsupportedFeature,
)
from l1.core.preset import Preset
from l1.core.scripts import ScriptRegistry
from l1.core.transaction import TxEnv, validate_transaction_structure, verify_transaction

__all__ = [
    "BlockVerdict",
    "OverlayCellProvider",
    "ParentContext",
    "RewardTarget",
    "assemble_block",
    "build_cellbase",
    "compute_header_context",
    "compute_median_time",
    "validate_header",
    "verify_block",
]


@dataclass(frozen=True, slots=True)
class RewardTarget:
    """What block N needs to know about block N − finalization_delay to pay its reward."""

    block_hash: bytes
    number: int
    lock: Script
    primary_reward: int
    fees: int

    @property
    def total(self) -> int:
        return self.primary_reward + self.fees


@dataclass(frozen=True, slots=True)
class ParentContext:
    """Everything block verification needs to know about the chain up to the parent."""

    header: Header
    hash: bytes
    epoch: EpochExt
    #: Median timestamp of the parent and its ancestors (``median_time_block_count`` blocks).
    median_time_ms: int
    #: Timestamp of ``epoch.last_block_hash_in_previous_epoch`` (for the epoch transition).
    previous_epoch_last_timestamp_ms: int
    #: Reward owed by the child (block number + 1 − delay), or None if nothing is owed yet.
    reward_target: RewardTarget | None

    @property
    def dao(self) -> DaoData:
        return DaoData.unpack(self.header.raw.dao)

    @property
    def number(self) -> int:
        return self.header.raw.number


@dataclass(frozen=True, slots=True)
class BlockVerdict:
    block_hash: bytes
    epoch: EpochExt
    consumed: tuple[CellMeta, ...]
    created: tuple[CellMeta, ...]
    tx_hashes: tuple[bytes, ...]
    fees: int
    cycles: int
    primary_reward: int
    cellbase_lock: Script


class IndexedHeader(Protocol):
    """What a block index keeps per header: enough to build a parent context."""

    @property
    def header(self) -> Header: ...
    @property
    def hash(self) -> bytes: ...
    @property
    def epoch(self) -> EpochExt: ...


def compute_header_context(
    parent: IndexedHeader,
    get_indexed: Callable[[bytes], IndexedHeader | None],
    genesis_timestamp_ms: int,
    median_time_block_count: int,
) -> ParentContext:
    """The parent context header rules need (median time, epoch clock), from an index of
    headers alone; ``reward_target`` is left empty (full nodes add it for body checks)."""
    timestamps: list[int] = []
    cursor: IndexedHeader | None = parent
    while cursor is not None and len(timestamps) < median_time_block_count:
        raw = cursor.header.raw
        timestamps.append(raw.timestamp)
        cursor = get_indexed(raw.parent_hash) if raw.number > 0 else None
    previous_last = get_indexed(parent.epoch.last_block_hash_in_previous_epoch)
    previous_last_ts = (
        previous_last.header.raw.timestamp if previous_last is not None else genesis_timestamp_ms
    )
    return ParentContext(
        parent.header,
        parent.hash,
        parent.epoch,
        compute_median_time(timestamps),
        previous_last_ts,
        None,
    )


def compute_median_time(timestamps: Sequence[int]) -> int:
    """CKB's ``block_median_time``: sort the window and take element ``len >> 1``."""
    ordered = sorted(timestamps)
    return ordered[len(ordered) >> 1] if ordered else 0


class OverlayCellProvider:
    """The parent's live cells, plus what earlier transactions of this block created and spent."""

    def __init__(self, base: CellProvider) -> None:
        self.base = base
        self.created: dict[OutPoint, CellMeta] = {}
        self.spent: dict[OutPoint, CellMeta] = {}

    def get_cell(self, out_point: OutPoint) -> tuple[str, CellMeta | None]:
        if out_point in self.spent:
            return CellStatus.DEAD, None
        cell = self.created.get(out_point)
        if cell is not None:
            return CellStatus.LIVE, cell
        return self.base.get_cell(out_point)

    def spend(self, cell: CellMeta) -> None:
        self.created.pop(cell.out_point, None)
        self.spent[cell.out_point] = cell

    def create(self, cell: CellMeta) -> None:
        self.created[cell.out_point] = cell


def validate_header(
    preset: Preset, header: Header, parent: ParentContext, now_ms: int | None
) -> EpochExt:
    """Header rules against the parent; returns the block's epoch."""
    raw = header.raw
    if raw.version != 0:
        raise InvalidBlockVersion(f"block version must be 0, got {raw.version}")
    if raw.parent_hash != parent.hash:
        raise InvalidParent(f"parent_hash {raw.parent_hash.hex()} is not {parent.hash.hex()}")
    if raw.number != parent.number + 1:
        raise InvalidNumber(f"block number must be {parent.number + 1}, got {raw.number}")
    epoch = compute_block_epoch(
        preset,
        parent.epoch,
        parent.number,
        parent.hash,
        parent.header.raw.timestamp,
        parent.previous_epoch_last_timestamp_ms,
    )
    expected_epoch = epoch.epoch_of_block(raw.number).full_value()
    if raw.epoch != expected_epoch:
        raise InvalidEpoch(f"epoch field must be {expected_epoch:#x}, got {raw.epoch:#x}")
    if raw.compact_target != epoch.compact_target:
        raise InvalidCompactTarget(
            f"compact_target must be {epoch.compact_target:#x}, got {raw.compact_target:#x}"
        )
    if raw.timestamp <= parent.median_time_ms:
        raise InvalidTimestamp(
            f"timestamp {raw.timestamp} is not after the median time {parent.median_time_ms}"
        )
    if now_ms is not None and raw.timestamp > now_ms + preset.allowed_future_blocktime_ms:
        raise BlockTimeTooNew(f"timestamp {raw.timestamp} is too far in the future")
    if not verify_pow(header):
        raise InvalidPow("nonce does not solve Eaglesong for the compact target")
    return epoch


def _validate_cellbase(
    block: Block, parent: ParentContext, preset: Preset
) -> tuple[CellbaseWitness, int]:
    """``CellbaseVerifier`` + ``RewardVerifier``; returns the witness and the reward paid."""
    if not block.transactions or not block.transactions[0].is_cellbase:
        raise CellbaseError("the first transaction must be the cellbase")
    if any(tx.is_cellbase for tx in block.transactions[1:]):
        raise CellbaseError("only the first transaction may be a cellbase")
    cellbase = block.transactions[0]
    raw = cellbase.raw
    number = block.header.raw.number
    if raw.inputs[0].since != number:
        raise CellbaseError(f"cellbase input since must be the block number {number}")
    if raw.cell_deps or raw.header_deps or raw.blob_versioned_hashes:
        raise CellbaseError("a cellbase has no cell deps, header deps or blobs")
    if len(raw.outputs) > 1 or len(raw.outputs) != len(raw.outputs_data):
        raise CellbaseError("a cellbase has at most one output, with matching outputs_data")
    if raw.outputs and (raw.outputs[0].type is not None or raw.outputs_data[0]):
        raise CellbaseError("the cellbase output has no type script and no data")
    if len(cellbase.witnesses) != 1:
        raise CellbaseError("a cellbase has exactly one witness, a CellbaseWitness")
    try:
        witness = CellbaseWitness.deserialize(cellbase.witnesses[0])
    except (MoleculeError, ValueError) as exc:
        raise CellbaseError(f"cellbase witness is not a CellbaseWitness: {exc}") from None
    if witness.lock.hash_type not in ENABLED_HASH_TYPES:
        raise CellbaseError(
            f"cellbase witness lock hash_type {witness.lock.hash_type} is not one of data/type/data1/data2"
        )
    validate_transaction_structure(cellbase, preset)
    target = parent.reward_target
    owed = target is not None and target.total >= compute_occupied_capacity(
        CellOutput(target.total, target.lock), b""
    )
    if not owed:
        if raw.outputs:
            raise InvalidReward("no reward is owed at this height; the cellbase has no outputs")
        return witness, 0
    if target is None:  # unreachable: owed implies a target
        raise InvalidReward("no reward target")
    if len(raw.outputs) != 1:
        raise InvalidReward(
            f"the cellbase must pay {target.total} shannons to block {target.number}'s miner"
        )
    output = raw.outputs[0]
    if output.capacity != target.total:
        raise InvalidReward(
            f"cellbase pays {output.capacity} shannons; block {target.number} earned {target.total}"
        )
    if output.lock != target.lock:
        raise InvalidReward(f"cellbase must pay the lock named by block {target.number}'s cellbase")
    return witness, output.capacity


def verify_block(
    preset: Preset,
    block: Block,
    parent: ParentContext,
    cells: CellProvider,
    headers: HeaderProvider,
    registry: ScriptRegistry,
    now_ms: int | None,
    blobs_by_tx: dict[bytes, tuple[bytes, ...]] | None = None,
) -> BlockVerdict:
    """Every consensus rule for ``block`` on top of ``parent``; raises the first violation."""
    header = block.header
    epoch = validate_header(preset, header, parent, now_ms)
    raw_header = header.raw
    if block.uncles:
        raise UnsupportedFeature("this L1 has no uncles; the uncles list must be empty")
    if block.proposals:
        raise UnsupportedFeature("this L1 has no proposal zone; proposals must be empty")
    if compute_proposals_hash(block.proposals) != raw_header.proposals_hash:
        raise InvalidProposalsHash("proposals_hash does not match the block's proposals")
    if compute_extra_hash(block) != raw_header.extra_hash:
        raise InvalidExtraHash("extra_hash does not match the block's uncles and extension")
    if block.extension is not None and not 1 <= len(block.extension) <= 96:
        raise InvalidExtraHash("a block extension is 1 to 96 bytes (RFC 0031)")
    if compute_transactions_root(block) != raw_header.transactions_root:
        raise InvalidTransactionsRoot("transactions_root does not match the block's transactions")
    size = len(block.serialize())
    if size > preset.max_block_bytes:
        raise BlockTooLarge(f"block is {size} bytes, over the limit of {preset.max_block_bytes}")
    witness, _ = _validate_cellbase(block, parent, preset)

    block_hash = compute_header_hash(header)
    env = TxEnv(
        preset, raw_header.number, epoch.epoch_of_block(raw_header.number), parent.median_time_ms
    )
    overlay = OverlayCellProvider(cells)
    tx_hashes: list[bytes] = []
    seen: set[bytes] = set()
    consumed: list[CellMeta] = []
    fees = cycles = 0
    blob_count = 0
    for index, tx in enumerate(block.transactions):
        tx_hash = compute_tx_hash(tx)
        if tx_hash in seen:
            raise DuplicateTransaction(f"transaction {tx_hash.hex()} appears twice")
        seen.add(tx_hash)
        tx_hashes.append(tx_hash)
        if index > 0:
            for cell_input in tx.raw.inputs:
                out_point = cell_input.previous_output
                if out_point in overlay.spent:
                    raise DoubleSpend(
                        f"transaction {index} ({tx_hash.hex()}): input {out_point.tx_hash.hex()}:"
                        f"{out_point.index} is already spent by an earlier transaction of this block"
                    )
            blobs = (blobs_by_tx or {}).get(tx_hash, ())
            try:
                verdict = verify_transaction(tx, overlay, headers, env, registry, blobs)
            except TransactionError as exc:
                raise type(exc)(f"transaction {index} ({tx_hash.hex()}): {exc}") from None
            fees += verdict.fee
            cycles += verdict.cycles
            if cycles > preset.max_block_cycles:
                raise BlockCyclesExceeded(f"block uses more than {preset.max_block_cycles} cycles")
            for cell in verdict.resolved.inputs:
                overlay.spend(cell)
                consumed.append(cell)
            blob_count += len(tx.raw.blob_versioned_hashes)
        for out_index, (output, data) in enumerate(
            zip(tx.raw.outputs, tx.raw.outputs_data, strict=True)
        ):
            overlay.create(
                CellMeta(
                    OutPoint(tx_hash, out_index),
                    output,
                    data,
                    raw_header.number,
                    block_hash,
                    raw_header.epoch,
                    raw_header.timestamp,
                    is_cellbase=index == 0,
                )
            )
    if blob_count > preset.max_blobs_per_block:
        raise BlockTooLarge(
            f"block carries {blob_count} blobs, over the limit of {preset.max_blobs_per_block}"
        )

    created = tuple(overlay.created.values())
    primary_reward = epoch.block_reward(raw_header.number)
    occupied_out = sum(
        compute_occupied_capacity(output, data)
        for tx in block.transactions
        for output, data in zip(tx.raw.outputs, tx.raw.outputs_data, strict=True)
    )
    occupied_in = sum(compute_occupied_capacity(c.output, c.data) for c in consumed)
    dao = compute_block_dao(parent.dao, primary_reward, occupied_in, occupied_out)
    if dao.pack() != raw_header.dao:
        raise DaoMismatch(f"dao field must be {dao.pack().hex()}, got {raw_header.dao.hex()}")
    # Cells both created and spent inside this block leave no trace in the live set.
    consumed_before = tuple(c for c in consumed if c.block_hash != block_hash)
    return BlockVerdict(
        block_hash,
        epoch,
        consumed_before,
        created,
        tuple(tx_hashes),
        fees,
        cycles,
        primary_reward,
        witness.lock,
    )


def build_cellbase(
    number: int, parent: ParentContext, lock: Script, message: bytes = b""
) -> Transaction:
    """The cellbase for block ``number``: pays what the reward target earned, if anything."""
    outputs: tuple[CellOutput, ...] = ()
    target = parent.reward_target
    if target is not None:
        output = CellOutput(target.total, target.lock)
        if target.total >= compute_occupied_capacity(output, b""):
            outputs = (output,)
    return Transaction(
        RawTransaction(
            inputs=(CellInput(NULL_OUT_POINT, since=number),),
            outputs=outputs,
            outputs_data=tuple(b"" for _ in outputs),
        ),
        (CellbaseWitness(lock, message).serialize(),),
    )


@dataclass(slots=True)
class AssembledBlock:
    """A block ready for proof of work (nonce 0), and the transactions left out with why."""

    block: Block
    rejected: list[tuple[bytes, L1Error]] = field(default_factory=list)


def assemble_block(
    preset: Preset,
    parent: ParentContext,
    candidates: Sequence[Transaction],
    cells: CellProvider,
    headers: HeaderProvider,
    registry: ScriptRegistry,
    miner_lock: Script,
    timestamp_ms: int,
    blobs_by_tx: dict[bytes, tuple[bytes, ...]] | None = None,
) -> AssembledBlock:
    """Build a block template from pool candidates in order, skipping any that no longer fit
    (conflicts, budget), so the template is valid by construction."""
    number = parent.number + 1
    epoch = compute_block_epoch(
        preset,
        parent.epoch,
        parent.number,
        parent.hash,
        parent.header.raw.timestamp,
        parent.previous_epoch_last_timestamp_ms,
    )
    timestamp_ms = max(timestamp_ms, parent.median_time_ms + 1)
    env = TxEnv(preset, number, epoch.epoch_of_block(number), parent.median_time_ms)
    cellbase = build_cellbase(number, parent, miner_lock)
    overlay = OverlayCellProvider(cells)
    chosen = [cellbase]
    rejected: list[tuple[bytes, L1Error]] = []
    consumed: list[CellMeta] = []
    created: list[tuple[CellOutput, bytes]] = list(
        zip(cellbase.raw.outputs, cellbase.raw.outputs_data, strict=True)
    )
    size = len(cellbase.serialize()) + 300
    cycles = blob_count = 0
    for tx in candidates:
        tx_hash = compute_tx_hash(tx)
        blobs = (blobs_by_tx or {}).get(tx_hash, ())
        try:
            verdict = verify_transaction(tx, overlay, headers, env, registry, blobs)
        except L1Error as exc:
            rejected.append((tx_hash, exc))
            continue
        tx_blobs = len(tx.raw.blob_versioned_hashes)
        if (
            size + verdict.size > preset.max_block_bytes
            or cycles + verdict.cycles > preset.max_block_cycles
            or blob_count + tx_blobs > preset.max_blobs_per_block
        ):
            continue
        size += verdict.size
        cycles += verdict.cycles
        blob_count += tx_blobs
        for cell in verdict.resolved.inputs:
            overlay.spend(cell)
            consumed.append(cell)
        for out_index, (output, data) in enumerate(
            zip(tx.raw.outputs, tx.raw.outputs_data, strict=True)
        ):
            overlay.create(
                CellMeta(OutPoint(tx_hash, out_index), output, data, number, ZERO_HASH, 0, 0)
            )
            created.append((output, data))
        chosen.append(tx)
    occupied_in = sum(compute_occupied_capacity(c.output, c.data) for c in consumed)
    occupied_out = sum(compute_occupied_capacity(o, d) for o, d in created)
    dao = compute_block_dao(parent.dao, epoch.block_reward(number), occupied_in, occupied_out)
    body = Block(Header(RawHeader(0, 0, 0, 0, 0, ZERO_HASH, ZERO_HASH)), tuple(chosen))
    raw = RawHeader(
        version=0,
        compact_target=epoch.compact_target,
        timestamp=timestamp_ms,
        number=number,
        epoch=epoch.epoch_of_block(number).full_value(),
        parent_hash=parent.hash,
        transactions_root=compute_transactions_root(body),
        proposals_hash=ZERO_HASH,
        extra_hash=ZERO_HASH,
        dao=dao.pack(),
    )
    return AssembledBlock(Block(Header(raw, 0), tuple(chosen)), rejected)
