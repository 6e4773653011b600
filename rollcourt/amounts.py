"""CKB amounts: decimal text <-> shannons, exactly (1 CKB = 10^8 shannons, RFC 0015).

Amounts never pass through ``float``: "0.1" CKB is exactly 10_000_000 shannons, and an amount
with more than 8 decimal places is refused instead of silently rounded.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation, localcontext

from rollcourt.errors import InvalidAmount

__all__ = ["MAX_SHANNONS", "SHANNONS_PER_CKB", "format_ckb", "parse_ckb_amount"]

SHANNONS_PER_CKB = 100_000_000
#: Cell capacity is a u64 of shannons (CKB ``Capacity``).
MAX_SHANNONS = 2**64 - 1
_DECIMALS = 8
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def parse_ckb_amount(text: str) -> int:
    """Shannons for a positive CKB amount written in decimal ("100", "12.5", "0.00000001")."""
    cleaned = text.strip()
    if not _NUMBER.fullmatch(cleaned):
        raise InvalidAmount(f"{text!r} is not a CKB amount (write a decimal number like 12.5)")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:  # unreachable after the regex, kept for safety
        raise InvalidAmount(f"{text!r} is not a CKB amount") from None
    if value <= 0:
        raise InvalidAmount(f"amount must be positive, got {text.strip()!r}")
    with localcontext() as context:
        # Enough digits that scaling by 10^8 is exact for any input length (no rounding).
        context.prec = len(cleaned) + _DECIMALS + 2
        scaled = value.scaleb(_DECIMALS)
    if scaled != scaled.to_integral_value():
        raise InvalidAmount(
            f"amount {text.strip()!r} has more than {_DECIMALS} decimal places "
            f"(1 shannon = 0.00000001 CKB is the smallest unit)"
        )
    shannons = int(scaled)
    if shannons > MAX_SHANNONS:
        raise InvalidAmount(f"amount {text.strip()!r} CKB does not fit in a u64 of shannons")
    return shannons


def format_ckb(shannons: int) -> str:
    """Exact CKB text for a number of shannons, without trailing zeros ("12.5", "61")."""
    sign = "-" if shannons < 0 else ""
    whole, fraction = divmod(abs(shannons), SHANNONS_PER_CKB)
    if not fraction:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:08d}".rstrip("0")
