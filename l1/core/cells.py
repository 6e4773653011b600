"""Live cells as the ledger sees them, and the read-only views the core verifies against.

The pure core never touches a database: callers hand it a ``CellProvider`` and a
``HeaderProvider``; the node implements them over its store, tests over dicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from l1.ckb.epoch import EpochNumberWithFraction
from l1.ckb.hashes import compute_data_hash
from l1.ckb.types import CellOutput, Header, OutPoint

__all__ = ["CellMeta", "CellProvider", "CellStatus", "HeaderProvider", "MemoryCellProvider"]


@dataclass(frozen=True, slots=True)
class CellMeta:
    """A cell with where it was committed: what ``since`` and maturity rules measure from."""

    out_point: OutPoint
    output: CellOutput
    data: bytes
    block_number: int
    block_hash: bytes
    #: Full u64 epoch value of the committing block's header.
    block_epoch: int
    block_timestamp: int
    is_cellbase: bool = False

    @property
    def epoch(self) -> EpochNumberWithFraction:
        return EpochNumberWithFraction.from_full_value(self.block_epoch)

    @property
    def data_hash(self) -> bytes:
        return compute_data_hash(self.data)


class CellStatus:
    LIVE = "live"
    DEAD = "dead"
    UNKNOWN = "unknown"


class CellProvider(Protocol):
    def get_cell(self, out_point: OutPoint) -> tuple[str, CellMeta | None]:
        """(status, cell): ``live`` with the cell, ``dead`` or ``unknown`` with None."""
        ...


class HeaderProvider(Protocol):
    def get_header(self, block_hash: bytes) -> Header | None:
        """A header on the main chain of the view (header deps must be on it, RFC 0022)."""
        ...


class MemoryCellProvider:
    """A dict-backed provider: the live set for tests and for block-local overlays."""

    def __init__(self, cells: dict[OutPoint, CellMeta] | None = None) -> None:
        self.live: dict[OutPoint, CellMeta] = dict(cells or {})
        self.dead: set[OutPoint] = set()

    def get_cell(self, out_point: OutPoint) -> tuple[str, CellMeta | None]:
        cell = self.live.get(out_point)
        if cell is not None:
            return CellStatus.LIVE, cell
        if out_point in self.dead:
            return CellStatus.DEAD, None
        return CellStatus.UNKNOWN, None

    def apply(self, consumed: list[OutPoint], created: list[CellMeta]) -> None:
        for out_point in consumed:
            del self.live[out_point]
            self.dead.add(out_point)
        for cell in created:
            self.live[cell.out_point] = cell
