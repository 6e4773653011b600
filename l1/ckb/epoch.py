"""Epoch numbers with fraction (RFC 0027 header ``epoch``; RFC 0017/0030 ``since``).

A u64 packs ``number`` (bits 0-23), ``index`` (bits 24-39) and ``length`` (bits 40-55): block
``index`` of ``length`` in epoch ``number``. RFC 0030 makes ``index < length`` the well-formed
case, with ``0/0`` read as ``0/1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

__all__ = ["EpochNumberWithFraction"]

_NUMBER_MASK = 0xFFFFFF
_INDEX_MASK = 0xFFFF
_LENGTH_MASK = 0xFFFF


@dataclass(frozen=True, slots=True, order=True)
class EpochNumberWithFraction:
    number: int
    index: int
    length: int

    @classmethod
    def from_full_value(cls, value: int) -> EpochNumberWithFraction:
        return cls(value & _NUMBER_MASK, (value >> 24) & _INDEX_MASK, (value >> 40) & _LENGTH_MASK)

    def full_value(self) -> int:
        return (
            (self.length & _LENGTH_MASK) << 40
            | (self.index & _INDEX_MASK) << 24
            | (self.number & _NUMBER_MASK)
        )

    def is_well_formed(self) -> bool:
        """A header's epoch: ``length > 0`` and ``index < length`` (``extras.rs``)."""
        return self.length > 0 and self.index < self.length

    def is_well_formed_increment(self) -> bool:
        """RFC 0030 for ``since`` values: ``index < length``, or the zero fraction ``0/0``."""
        return self.index < self.length or (self.index == 0 and self.length == 0)

    def normalized(self) -> EpochNumberWithFraction:
        if self.index == 0 and self.length == 0:
            return EpochNumberWithFraction(self.number, 0, 1)
        return self

    def to_rational(self) -> Fraction:
        e = self.normalized()
        return e.number + Fraction(e.index, e.length)

    def is_successor_of(self, parent: EpochNumberWithFraction) -> bool:
        """Next block in the same epoch, or block 0 of the following epoch (``extras.rs``)."""
        if parent.index + 1 == parent.length:
            return self.number == parent.number + 1 and self.index == 0
        return (
            self.number == parent.number
            and self.index == parent.index + 1
            and self.length == parent.length
        )
