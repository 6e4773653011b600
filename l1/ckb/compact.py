"""CKB's compact target encoding and target/difficulty conversions (RFC 0027, RFC 0020).

Why: a CKB header carries its PoW target as ``compact_target`` (u32), and the difficulty
adjustment works on difficulty ``2**256 / target`` (RFC 0020 "Dynamic Difficulty Adjustment"), so
the L1 needs CKB's exact conversions, including its edge cases.  Source of truth: RFC 0027
"compact_target" (with its Python reference and test vectors) and ``ckb/util/types/src/
utilities/difficulty.rs``.

Format: ``N = mantissa * 256 ** (exponent - 3)`` with ``exponent = compact >> 24`` and
``mantissa = compact & 0xFFFFFF``; for ``exponent <= 3`` the mantissa is shifted RIGHT (low bytes
dropped).  Unlike Bitcoin's ``nBits`` there is no sign bit: mantissa ``0x800000`` is positive.
The encoding overflows when ``mantissa != 0 and exponent > 32``.

Integer domain: CKB computes in ``U256``; all targets and difficulties here are ints in
``[0, 2**256)``.  Pure functions, no I/O.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "DIFF_TWO",
    "U256_MAX",
    "CompactTargetError",
    "compact_to_difficulty",
    "compact_to_target",
    "decode_compact",
    "difficulty_to_compact",
    "difficulty_to_target",
    "target_to_compact",
    "target_to_difficulty",
]

U256_MAX: Final = (1 << 256) - 1
_HSPACE: Final = 1 << 256  # ``HSPACE`` in difficulty.rs: ONE << 256, computed in U512
_U32_MAX: Final = 0xFFFF_FFFF

#: ``DIFF_TWO`` in difficulty.rs: the compact form of difficulty 2, i.e. target 2**255.
DIFF_TWO: Final = 0x2080_0000


class CompactTargetError(ValueError):
    """A compact target that CKB flags as overflowing (mantissa != 0 and exponent > 32)."""


def _check_u32(value: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _U32_MAX:
        raise ValueError(f"{what} must be a u32, got {value!r}")


def _check_u256(value: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= U256_MAX:
        raise ValueError(f"{what} must be a u256, got {value!r}")


def decode_compact(compact: int) -> tuple[int, bool]:
    """Return ``(target, overflow)`` exactly as CKB's ``compact_to_target`` (difficulty.rs).

    On overflow the target is what CKB's ``U256`` shift leaves (the value mod 2**256); callers
    must treat an overflowing compact as invalid, as CKB's PoW check does.
    """
    _check_u32(compact, "compact target")
    exponent = compact >> 24
    mantissa = compact & 0x00FF_FFFF
    if exponent <= 3:
        mantissa >>= 8 * (3 - exponent)
        target = mantissa
    else:
        target = (mantissa << (8 * (exponent - 3))) & U256_MAX
    overflow = mantissa != 0 and exponent > 32
    return target, overflow


def compact_to_target(compact: int) -> int:
    """Return the target encoded by ``compact``; raise :class:`CompactTargetError` on overflow.

    A zero target (e.g. ``0`` or ``0x1003456``) is returned as 0, not rejected: no hash can meet
    it, and CKB's ``compact_to_difficulty`` maps it to difficulty 0.
    """
    target, overflow = decode_compact(compact)
    if overflow:
        raise CompactTargetError(f"compact target {compact:#010x} overflows 256 bits")
    return target


def target_to_compact(target: int) -> int:
    """Encode ``target`` (a u256) in CKB's compact form (RFC 0027 Python ``target_to_compact``).

    Lossy: only the three most significant bytes survive.  ``target_to_compact(0) == 0``.
    """
    _check_u256(target, "target")
    exponent = (target.bit_length() + 7) // 8
    shift = 8 * (exponent - 3)
    mantissa = target >> shift if shift >= 0 else target << -shift
    return mantissa | (exponent << 24)


def target_to_difficulty(target: int) -> int:
    """Return ``2**256 // target`` with CKB's U256 semantics (difficulty.rs).

    ``target == 1`` gives ``2**256 - 1`` (the U256 maximum; the true quotient does not fit).
    ``target == 0`` raises ``ZeroDivisionError`` (CKB never divides by it: its only caller,
    ``compact_to_difficulty``, returns 0 for a zero target first).
    """
    _check_u256(target, "target")
    if target == 0:
        raise ZeroDivisionError("target 0 has no difficulty")
    if target == 1:
        return U256_MAX
    return _HSPACE // target


def difficulty_to_target(difficulty: int) -> int:
    """Return ``2**256 // difficulty`` with CKB's U256 semantics (difficulty.rs).

    ``difficulty == 1`` gives ``2**256 - 1``; ``difficulty == 0`` raises ``ZeroDivisionError``
    (CKB's difficulty adjustment keeps difficulty >= 1, RFC 0020).
    """
    _check_u256(difficulty, "difficulty")
    if difficulty == 0:
        raise ZeroDivisionError("difficulty 0 has no target")
    if difficulty == 1:
        return U256_MAX
    return _HSPACE // difficulty


def compact_to_difficulty(compact: int) -> int:
    """Return the difficulty of a compact target; 0 if the target is zero or overflows (CKB)."""
    target, overflow = decode_compact(compact)
    if target == 0 or overflow:
        return 0
    return target_to_difficulty(target)


def difficulty_to_compact(difficulty: int) -> int:
    """Return the compact target for ``difficulty`` (``target_to_compact(2**256 // d)``)."""
    return target_to_compact(difficulty_to_target(difficulty))
