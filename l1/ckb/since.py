"""The ``since`` field of a cell input (RFC 0017, amended by RFC 0028 and RFC 0030).

A u64: bit 63 chooses absolute (0) or relative (1); bits 62-61 the metric (block number, epoch
with fraction, timestamp in *seconds*); bits 60-56 are reserved and must be zero; the low 56 bits
are the value. Zero disables the check.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from l1.ckb.epoch import EpochNumberWithFraction

__all__ = ["LOCK_TYPE_FLAG", "Since", "SinceFormatError", "SinceMetric", "encode_since"]

LOCK_TYPE_FLAG = 1 << 63
METRIC_TYPE_FLAG_MASK = 0x6000_0000_0000_0000
VALUE_MASK = 0x00FF_FFFF_FFFF_FFFF
REMAIN_FLAGS_BITS = 0x1F00_0000_0000_0000


class SinceFormatError(ValueError):
    """A since value with reserved bits set, the invalid metric 0b11, or a malformed epoch."""


class SinceMetric(IntEnum):
    BLOCK_NUMBER = 0
    EPOCH = 1
    TIMESTAMP = 2


@dataclass(frozen=True, slots=True)
class Since:
    relative: bool
    metric: SinceMetric
    value: int

    @classmethod
    def decode(cls, raw: int) -> Since:
        if raw & REMAIN_FLAGS_BITS:
            raise SinceFormatError(f"since {raw:#x} sets reserved bits 56-60")
        metric_bits = (raw & METRIC_TYPE_FLAG_MASK) >> 61
        if metric_bits == 3:
            raise SinceFormatError(f"since {raw:#x} uses the invalid metric 0b11")
        since = cls(bool(raw & LOCK_TYPE_FLAG), SinceMetric(metric_bits), raw & VALUE_MASK)
        if since.metric is SinceMetric.EPOCH and not since.epoch().is_well_formed_increment():
            raise SinceFormatError(f"since {raw:#x} has a malformed epoch fraction (RFC 0030)")
        return since

    def epoch(self) -> EpochNumberWithFraction:
        return EpochNumberWithFraction.from_full_value(self.value)


def encode_since(relative: bool, metric: SinceMetric, value: int) -> int:
    if not 0 <= value <= VALUE_MASK:
        raise SinceFormatError(f"since value {value} does not fit in 56 bits")
    return (LOCK_TYPE_FLAG if relative else 0) | (int(metric) << 61) | value
