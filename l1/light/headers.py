"""A header-only chain follower: proof of work, difficulty and epoch rules, heaviest chain.

The light client never executes a transaction. It checks every header against its parent with
the full node's own header rules (``l1.core.block.validate_header``: version, parent, number,
epoch, compact target per RFC 0020, timestamp after the median and not too far ahead, Eaglesong
proof of work), derives each block's epoch from headers alone exactly as the full node does
(``l1.node.chain.Chain._header_parent_context``), and chooses the chain with the most total
difficulty among every header it has accepted, from whichever peer it came.

Pure: no I/O and no clock (``now_ms`` is passed in). Everything is kept in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from l1.ckb.compact import compact_to_difficulty
from l1.ckb.hashes import compute_header_hash
from l1.ckb.types import Header
from l1.core.block import ParentContext, compute_header_context, validate_header
from l1.core.epoch import EpochExt, compute_genesis_epoch_ext
from l1.core.errors import BlockTimeTooNew, InvalidParent, L1Error
from l1.core.genesis import ChainSpec, Genesis, build_genesis
from l1.core.preset import Preset

__all__ = ["HeaderChain", "HeaderRecord", "OrphanHeader", "TipUpdate"]


class OrphanHeader(InvalidParent):
    """The header's parent is not a known, valid header: it cannot be checked, so it is refused."""


@dataclass(slots=True)
class HeaderRecord:
    header: Header
    hash: bytes
    total_difficulty: int
    epoch: EpochExt
    #: URL of the peer the header first came from (``None`` for genesis).
    source: str | None = None

    @property
    def number(self) -> int:
        return self.header.raw.number

    @property
    def parent_hash(self) -> bytes:
        return self.header.raw.parent_hash

    @property
    def timestamp(self) -> int:
        return self.header.raw.timestamp


@dataclass(frozen=True, slots=True)
class TipUpdate:
    """What ``add_header`` did: ``status`` is "duplicate", "side" or "tip"; on a new tip,
    ``attached`` lists the hashes that joined the best chain (oldest first) and ``detached``
    those that left it."""

    status: str
    block_hash: bytes
    attached: tuple[bytes, ...] = ()
    detached: tuple[bytes, ...] = ()


class HeaderChain:
    """Headers from genesis, indexed by hash, with the heaviest chain as ``main``."""

    def __init__(self, spec: ChainSpec, genesis: Genesis | None = None) -> None:
        self.spec = spec
        self.preset: Preset = spec.preset
        self.genesis = genesis if genesis is not None else build_genesis(spec)
        header = self.genesis.block.header
        record = HeaderRecord(
            header,
            self.genesis.hash,
            compact_to_difficulty(header.raw.compact_target),
            compute_genesis_epoch_ext(self.preset),
        )
        self.records: dict[bytes, HeaderRecord] = {record.hash: record}
        self.main: list[bytes] = [record.hash]
        #: Hashes of refused headers (and why), so a peer cannot make us check them twice.
        self.invalid: dict[bytes, str] = {}

    # ------------------------------------------------------------------ queries
    @property
    def tip(self) -> HeaderRecord:
        return self.records[self.main[-1]]

    def get(self, block_hash: bytes) -> HeaderRecord | None:
        return self.records.get(block_hash)

    def get_main(self, number: int) -> HeaderRecord | None:
        if 0 <= number < len(self.main):
            return self.records[self.main[number]]
        return None

    def is_main(self, block_hash: bytes) -> bool:
        record = self.records.get(block_hash)
        return (
            record is not None
            and record.number < len(self.main)
            and self.main[record.number] == block_hash
        )

    def parent_context(self, parent_hash: bytes) -> ParentContext:
        """What ``validate_header`` needs about the parent, from headers only (no reward)."""
        parent = self.records.get(parent_hash)
        if parent is None:
            raise OrphanHeader(f"parent {parent_hash.hex()} is not a known header")
        return compute_header_context(
            parent,
            self.records.get,
            self.genesis.block.header.raw.timestamp,
            self.preset.median_time_block_count,
        )

    # ------------------------------------------------------------------ growth
    def add_header(
        self, header: Header, now_ms: int | None = None, source: str | None = None
    ) -> TipUpdate:
        """Check ``header`` against its parent and store it; raises an ``L1Error`` (a
        ``HeaderError``: ``InvalidPow``, ``OrphanHeader``, ``InvalidEpoch``...) if it is refused.
        A refused header is remembered so descendants are refused too — except an orphan and a
        header from too far in the future, which may be acceptable later."""
        block_hash = compute_header_hash(header)
        if block_hash in self.records:
            return TipUpdate("duplicate", block_hash)
        if block_hash in self.invalid:
            raise InvalidParent(
                f"header {block_hash.hex()} was refused: {self.invalid[block_hash]}"
            )
        parent_hash = header.raw.parent_hash
        if parent_hash in self.invalid:
            self._remember_invalid(block_hash, "its parent was refused")
            raise InvalidParent(f"parent {parent_hash.hex()} was refused")
        if (
            now_ms is not None
            and header.raw.timestamp > now_ms + self.preset.allowed_future_blocktime_ms
        ):
            # Too new is not invalid (CKB's ``BlockTimeTooNew``): the header may be fine later.
            raise BlockTimeTooNew(f"timestamp {header.raw.timestamp} is too far in the future")
        try:
            epoch = validate_header(self.preset, header, self.parent_context(parent_hash), None)
        except OrphanHeader:
            raise  # may become checkable once its parent arrives: not remembered as invalid
        except L1Error as exc:
            self._remember_invalid(block_hash, f"{type(exc).__name__}: {exc}")
            raise
        parent = self.records[parent_hash]
        record = HeaderRecord(
            header,
            block_hash,
            parent.total_difficulty + compact_to_difficulty(header.raw.compact_target),
            epoch,
            source,
        )
        self.records[block_hash] = record
        if record.total_difficulty <= self.tip.total_difficulty:
            return TipUpdate("side", block_hash)
        return self._switch_to(record)

    def _switch_to(self, record: HeaderRecord) -> TipUpdate:
        branch: list[bytes] = []
        cursor = record
        while not self.is_main(cursor.hash):
            branch.append(cursor.hash)
            cursor = self.records[cursor.parent_hash]
        branch.reverse()
        fork = cursor.number
        detached = tuple(self.main[fork + 1 :])
        self.main = self.main[: fork + 1] + branch
        return TipUpdate("tip", record.hash, tuple(branch), detached)

    def _remember_invalid(self, block_hash: bytes, reason: str) -> None:
        if len(self.invalid) >= 10_000:
            self.invalid.pop(next(iter(self.invalid)))
        self.invalid[block_hash] = reason
