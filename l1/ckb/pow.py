"""Eaglesong proof of work (RFC 0010, RFC 0027 "nonce").

pow_message = pow_hash(RawHeader) || nonce as u128 little-endian; the header is valid when
eaglesong(pow_message), read big-endian, is at most the compact target.
"""

from __future__ import annotations

from l1.ckb.compact import decode_compact
from l1.ckb.eaglesong import EaglesongMidstate, eaglesong
from l1.ckb.hashes import compute_pow_hash
from l1.ckb.types import Header

__all__ = ["compute_pow_message", "find_nonce", "is_pow_hash_valid", "verify_pow"]


def compute_pow_message(pow_hash: bytes, nonce: int) -> bytes:
    return pow_hash + nonce.to_bytes(16, "little")


def is_pow_hash_valid(pow_hash: bytes, nonce: int, compact_target: int) -> bool:
    target, overflow = decode_compact(compact_target)
    if target == 0 or overflow:
        return False
    output = eaglesong(compute_pow_message(pow_hash, nonce))
    return int.from_bytes(output, "big") <= target


def verify_pow(header: Header) -> bool:
    """True when the header's nonce solves Eaglesong against its own compact target."""
    return is_pow_hash_valid(compute_pow_hash(header.raw), header.nonce, header.raw.compact_target)


def find_nonce(pow_hash: bytes, compact_target: int, start: int, count: int) -> int | None:
    """Try nonces ``start .. start + count - 1``; return the first that solves, if any.

    pow_hash is exactly one Eaglesong block, so it is absorbed once (a midstate) and the nonces
    are hashed lane-parallel (``EaglesongMidstate.hash_many``).
    """
    target, overflow = decode_compact(compact_target)
    if target == 0 or overflow:
        return None
    midstate = EaglesongMidstate(pow_hash)
    mask = (1 << 128) - 1
    batch = 256
    for base in range(start, start + count, batch):
        nonces = [n & mask for n in range(base, min(base + batch, start + count))]
        outputs = midstate.hash_many(n.to_bytes(16, "little") for n in nonces)
        for nonce, output in zip(nonces, outputs, strict=True):
            if int.from_bytes(output, "big") <= target:
                return nonce
    return None
