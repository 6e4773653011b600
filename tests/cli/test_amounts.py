"""CKB amounts are parsed exactly (Decimal, never float) and refused when not representable."""

from __future__ import annotations

import pytest

from rollcourt.amounts import MAX_SHANNONS, format_ckb, parse_ckb_amount
from rollcourt.errors import InvalidAmount


@pytest.mark.parametrize(
    ("text", "shannons"),
    [
        ("100", 10_000_000_000),
        ("12.5", 1_250_000_000),
        ("0.1", 10_000_000),  # 0.1 is not a binary float: must still be exact
        ("0.3", 30_000_000),
        ("0.00000001", 1),
        ("61", 6_100_000_000),
        (" 7 ", 700_000_000),
        (".5", 50_000_000),
        ("5.", 500_000_000),
        ("+3", 300_000_000),
        ("12.500000000", 1_250_000_000),  # extra zeros are not extra precision
        ("184467440737.09551615", MAX_SHANNONS),
        ("20000000.12345678", 2_000_000_012_345_678),
    ],
)
def test_parse_exact(text: str, shannons: int) -> None:
    assert parse_ckb_amount(text) == shannons


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("0", "amount must be positive, got '0'"),
        ("0.0", "amount must be positive"),
        ("-1", "amount must be positive, got '-1'"),
        ("-0.5", "amount must be positive"),
        ("0.000000001", "more than 8 decimal places"),
        ("1.123456789", "more than 8 decimal places"),
        ("184467440737.09551616", "does not fit in a u64 of shannons"),
        ("abc", "is not a CKB amount"),
        ("", "is not a CKB amount"),
        ("1e3", "is not a CKB amount"),
        ("nan", "is not a CKB amount"),
        ("inf", "is not a CKB amount"),
        ("1,5", "is not a CKB amount"),
        ("0x10", "is not a CKB amount"),
        ("1_000", "is not a CKB amount"),
    ],
)
def test_parse_rejects(text: str, fragment: str) -> None:
    with pytest.raises(InvalidAmount) as info:
        parse_ckb_amount(text)
    assert fragment in str(info.value)


def test_huge_precise_input_is_not_rounded_into_acceptance() -> None:
    # 40 integer digits plus a 9th decimal: Decimal's default 28-digit context would round it.
    with pytest.raises(InvalidAmount, match="more than 8 decimal places"):
        parse_ckb_amount("1" + "0" * 40 + ".000000001")


@pytest.mark.parametrize(
    ("shannons", "text"),
    [
        (0, "0"),
        (1, "0.00000001"),
        (1_250_000_000, "12.5"),
        (6_100_000_000, "61"),
        (2_000_000_000_000_000, "20000000"),
        (-150_000_000, "-1.5"),
    ],
)
def test_format(shannons: int, text: str) -> None:
    assert format_ckb(shannons) == text


@pytest.mark.parametrize("shannons", [1, 99, 10**8, 123_456_789_012, MAX_SHANNONS])
def test_round_trip(shannons: int) -> None:
    assert parse_ckb_amount(format_ckb(shannons)) == shannons
