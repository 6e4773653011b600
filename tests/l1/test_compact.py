"""Compact target and difficulty conversions.

Sources: RFC 0027 "compact_target" and ckb ``util/types/src/utilities/difficulty.rs``.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from l1.ckb.compact import (
    DIFF_TWO,
    U256_MAX,
    CompactTargetError,
    compact_to_difficulty,
    compact_to_target,
    decode_compact,
    difficulty_to_compact,
    difficulty_to_target,
    target_to_compact,
    target_to_difficulty,
)

u256 = st.integers(min_value=0, max_value=U256_MAX)
u32 = st.integers(min_value=0, max_value=0xFFFF_FFFF)


# --------------------------------------------------------------------------------------------
# RFC 0027 Python unittest (TestCompactTarget)
# --------------------------------------------------------------------------------------------


def test_rfc0027_compact_target1() -> None:
    # RFC 0027 test_compact_target1: target_to_compact(0x2) == 0x1020000 and
    # compact_to_target(0x1020000) == (2, False).
    assert target_to_compact(0x2) == 0x1020000
    assert decode_compact(0x1020000) == (2, False)
    assert compact_to_target(0x1020000) == 2


def test_rfc0027_compact_target2() -> None:
    # RFC 0027 test_compact_target2: target_to_compact(0xfe) == 0x1fe0000 and
    # compact_to_target(0x1fedcba) == (0xfe, False).
    assert target_to_compact(0xFE) == 0x1FE0000
    assert decode_compact(0x1FEDCBA) == (0xFE, False)
    assert compact_to_target(0x1FEDCBA) == 0xFE


# --------------------------------------------------------------------------------------------
# ckb difficulty.rs tests
# --------------------------------------------------------------------------------------------

# difficulty.rs test_compact_convert: (compact, expected target) with overflow == false.
DECODE_VECTORS = [
    (0, 0x0),
    (0x123456, 0x0),
    (0x1003456, 0x0),
    (0x2000056, 0x0),
    (0x3000000, 0x0),
    (0x4000000, 0x0),
    (0x923456, 0x0),
    (0x1803456, 0x80),
    (0x2800056, 0x8000),
    (0x3800000, 0x800000),
    (0x4800000, 0x80000000),
    (0x1020000, 0x2),
    (0x1FEDCBA, 0xFE),
    (0x2123456, 0x1234),
    (0x3123456, 0x123456),
    (0x4123456, 0x12345600),
    (0x4923456, 0x92345600),
    (0x4923400, 0x92340000),
    (0x20123456, 0x1234560000000000000000000000000000000000000000000000000000000000),
]

# difficulty.rs test_compact_convert: (target, expected compact).
ENCODE_VECTORS = [
    (0x0, 0),
    (0x2, 0x1020000),
    (0xFE, 0x1FE0000),
    (0x1234, 0x2123400),
    (0x123456, 0x3123456),
    (0x12345600, 0x4123456),
    (0x92345600, 0x4923456),
    (0x92340000, 0x4923400),
    (0x1234560000000000000000000000000000000000000000000000000000000000, 0x20123456),
]


@pytest.mark.parametrize(("compact", "target"), DECODE_VECTORS)
def test_difficulty_rs_decode(compact: int, target: int) -> None:
    assert decode_compact(compact) == (target, False)
    assert compact_to_target(compact) == target


@pytest.mark.parametrize(("target", "compact"), ENCODE_VECTORS)
def test_difficulty_rs_encode(target: int, compact: int) -> None:
    assert target_to_compact(target) == compact


@pytest.mark.parametrize("compact", [0xFF123456, 0x21000001, 0x22000001, 0x23000001])
def test_difficulty_rs_overflow(compact: int) -> None:
    # difficulty.rs test_compact_convert (0xff123456) and test_compact_overflowing2 (0x21..0x23).
    assert decode_compact(compact)[1] is True
    with pytest.raises(CompactTargetError):
        compact_to_target(compact)
    with pytest.raises(ValueError):  # CompactTargetError is a ValueError
        compact_to_target(compact)
    assert compact_to_difficulty(compact) == 0


def test_difficulty_rs_max_target_does_not_overflow() -> None:
    # difficulty.rs test_compact_overflowing2: _test_compact_overflowing(U256::max_value()).
    compact = target_to_compact(U256_MAX)
    assert compact == 0x20FFFFFF
    assert decode_compact(compact) == (0xFFFFFF << 232, False)


@given(u256)
def test_encoded_targets_never_overflow(target: int) -> None:
    # difficulty.rs proptest test_compact_overflowing1: any U256 target encodes without overflow.
    assert decode_compact(target_to_compact(target))[1] is False


# --------------------------------------------------------------------------------------------
# Edge cases of the encoding
# --------------------------------------------------------------------------------------------


def test_overflow_needs_nonzero_mantissa() -> None:
    # difficulty.rs compact_to_target: overflow = !mantissa.is_zero() && exponent > 32.
    assert decode_compact(0xFF000000) == (0, False)
    assert decode_compact(0x21000000) == (0, False)
    assert decode_compact(0x20FFFFFF) == (0xFFFFFF << 232, False)  # exponent 32: largest valid


def test_overflow_target_is_u256_truncated() -> None:
    # difficulty.rs shifts a U256 (bits above 255 are lost): exponent 33 keeps the low 16 bits.
    assert decode_compact(0x21123456) == (0x3456 << 240, True)


def test_no_sign_bit() -> None:
    # RFC 0027 "compact_target": unlike Bitcoin's nBits, the mantissa's high bit is not a sign.
    assert compact_to_target(0x4800000) == 0x80000000  # difficulty.rs vector above
    assert target_to_compact(0x80) == 0x1800000


def test_rejects_out_of_range_inputs() -> None:
    for bad in (-1, 1 << 32):
        with pytest.raises(ValueError, match="u32"):
            decode_compact(bad)
    for bad in (-1, 1 << 256):
        with pytest.raises(ValueError, match="u256"):
            target_to_compact(bad)
        with pytest.raises(ValueError, match="u256"):
            target_to_difficulty(bad)
        with pytest.raises(ValueError, match="u256"):
            difficulty_to_target(bad)


@given(u256)
def test_encode_keeps_top_three_bytes(target: int) -> None:
    decoded = compact_to_target(target_to_compact(target))
    # Only the 3 most significant (whole) bytes survive: RFC 0027 "N = mantissa * 256^(exponent-3)".
    drop = 8 * ((target.bit_length() + 7) // 8 - 3) if target.bit_length() > 24 else 0
    assert decoded == (target >> drop) << drop
    assert decoded <= target


@given(u32)
def test_decode_encode_decode_is_stable(compact: int) -> None:
    target, overflow = decode_compact(compact)
    if overflow:
        return
    canonical = target_to_compact(target)
    assert compact_to_target(canonical) == target
    assert target_to_compact(compact_to_target(canonical)) == canonical


# --------------------------------------------------------------------------------------------
# Difficulty
# --------------------------------------------------------------------------------------------


def test_target_to_difficulty_edges() -> None:
    # difficulty.rs target_to_difficulty: target == ONE -> U256::max_value(); else HSPACE / target
    # with HSPACE = 2**256 (the true quotient 2**256 would not fit in U256).
    assert target_to_difficulty(1) == U256_MAX
    assert target_to_difficulty(2) == 1 << 255
    assert target_to_difficulty(3) == (1 << 256) // 3
    assert target_to_difficulty(U256_MAX) == 1
    assert target_to_difficulty(1 << 255) == 2
    with pytest.raises(ZeroDivisionError):
        target_to_difficulty(0)


def test_difficulty_to_target_edges() -> None:
    # difficulty.rs difficulty_to_target: difficulty == ONE -> U256::max_value(); else HSPACE / d.
    assert difficulty_to_target(1) == U256_MAX
    assert difficulty_to_target(2) == 1 << 255
    assert difficulty_to_target(U256_MAX) == 1
    with pytest.raises(ZeroDivisionError):
        difficulty_to_target(0)


def test_diff_two() -> None:
    # difficulty.rs DIFF_TWO = 0x2080_0000: the compact target of difficulty 2 (target 2**255).
    assert DIFF_TWO == 0x2080_0000
    assert compact_to_target(DIFF_TWO) == 1 << 255
    assert compact_to_difficulty(DIFF_TWO) == 2
    assert difficulty_to_compact(2) == DIFF_TWO


def test_compact_to_difficulty_zero_cases() -> None:
    # difficulty.rs compact_to_difficulty: zero target or overflow -> U256::zero().
    assert compact_to_difficulty(0) == 0
    assert compact_to_difficulty(0x1003456) == 0
    assert compact_to_difficulty(0xFF123456) == 0


def test_difficulty_one_compact() -> None:
    # difficulty 1 -> target U256::MAX -> compact 0x20ffffff (difficulty.rs semantics).
    assert difficulty_to_compact(1) == 0x20FFFFFF
    assert compact_to_difficulty(0x20FFFFFF) == (1 << 256) // (0xFFFFFF << 232) == 1


def test_mainnet_genesis_compact_target() -> None:
    # ckb-facts §4.1: mainnet genesis compact_target 0x1a08a97e (ckb resource/specs/mainnet.toml).
    target = compact_to_target(0x1A08A97E)
    assert target == 0x08A97E << (8 * (0x1A - 3))
    difficulty = compact_to_difficulty(0x1A08A97E)
    assert difficulty == (1 << 256) // target
    # Re-encoding the difficulty loses only precision below the 3-byte mantissa.
    assert target_to_compact(difficulty_to_target(difficulty)) == 0x1A08A97E


@given(st.integers(min_value=1, max_value=1 << 128))
def test_difficulty_target_round_trip(difficulty: int) -> None:
    # For d <= 2**128 = sqrt(2**256), floor(2**256 / floor(2**256 / d)) == d.
    assert target_to_difficulty(difficulty_to_target(difficulty)) == difficulty


@given(st.integers(min_value=1, max_value=U256_MAX))
def test_difficulty_compact_is_target_compact(difficulty: int) -> None:
    compact = difficulty_to_compact(difficulty)
    assert compact == target_to_compact(difficulty_to_target(difficulty))
    assert decode_compact(compact)[1] is False
