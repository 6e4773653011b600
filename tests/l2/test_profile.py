"""The optimistic profile: ckbhash tree hashing and low-s secp256k1 signatures checked against
the account's key (catalogue S1, S2; DESIGN.md §3)."""

from __future__ import annotations

import coincurve
import pytest

from l1.ckb.hashing import ckbhash
from l2.errors import InvalidPublicKey, InvalidSignature
from l2.profile import MAX_PUBLIC_KEY_SIZE, MAX_SIGNATURE_SIZE, OPTIMISTIC, SECP256K1_N
from tests.l2.kit import KEYS, PUBS

MESSAGE = ckbhash(b"a message")


def _signature() -> bytes:
    return OPTIMISTIC.sign(KEYS[1], MESSAGE)


def _with(r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _off_curve_key() -> bytes:
    """A 02-prefixed x coordinate with no point on secp256k1 (x^3 + 7 is not a square)."""
    for x in range(1, 100):
        candidate = b"\x02" + x.to_bytes(32, "big")
        try:
            coincurve.PublicKey(candidate)
        except Exception:
            return candidate
    raise AssertionError("no off-curve x below 100")


def test_sizes_fit_the_record_slots():
    assert OPTIMISTIC.public_key_size == 33 <= MAX_PUBLIC_KEY_SIZE
    assert OPTIMISTIC.signature_size == 64 <= MAX_SIGNATURE_SIZE
    assert len(PUBS[1]) == 33 and PUBS[1][0] in (2, 3)


def test_sign_verify_round_trip_and_deterministic():
    signature = _signature()
    assert len(signature) == 64
    assert signature == _signature()  # RFC 6979
    assert OPTIMISTIC.verify(PUBS[1], MESSAGE, signature)
    OPTIMISTIC.validate_signature(PUBS[1], MESSAGE, signature)
    s = int.from_bytes(signature[32:], "big")
    assert s <= SECP256K1_N // 2  # libsecp256k1 signs low-s


def test_signature_by_another_key_or_over_another_message_fails():
    signature = _signature()
    assert not OPTIMISTIC.verify(PUBS[2], MESSAGE, signature)
    assert not OPTIMISTIC.verify(PUBS[1], ckbhash(b"other"), signature)
    with pytest.raises(InvalidSignature, match="not by the account's key"):
        OPTIMISTIC.validate_signature(PUBS[2], MESSAGE, signature)


def test_high_s_twin_is_rejected():
    """S1: (r, n - s) verifies mathematically; the protocol refuses it."""
    signature = _signature()
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    twin = _with(r, SECP256K1_N - s)
    with pytest.raises(InvalidSignature, match="high s"):
        OPTIMISTIC.validate_signature(PUBS[1], MESSAGE, twin)
    assert not OPTIMISTIC.verify(PUBS[1], MESSAGE, twin)


@pytest.mark.parametrize(
    ("r", "s"),
    [(0, 1), (1, 0), (SECP256K1_N, 1), (1, SECP256K1_N), (2**256 - 1, 1), (0, 0)],
    ids=["r=0", "s=0", "r=n", "s=n", "r=max", "zero"],
)
def test_out_of_range_r_s_are_rejected(r, s):
    """S2: r and s in [1, n)."""
    with pytest.raises(InvalidSignature, match=r"\[1, n\)"):
        OPTIMISTIC.validate_signature(PUBS[1], MESSAGE, _with(r, s))
    assert not OPTIMISTIC.verify(PUBS[1], MESSAGE, _with(r, s))


@pytest.mark.parametrize("size", [0, 63, 65])
def test_signature_of_wrong_size_is_rejected(size):
    with pytest.raises(InvalidSignature, match="64 bytes"):
        OPTIMISTIC.validate_signature(PUBS[1], MESSAGE, bytes(size))


def test_recoverable_65_byte_form_is_not_accepted():
    signature = coincurve.PrivateKey(KEYS[1]).sign_recoverable(MESSAGE, hasher=None)
    assert not OPTIMISTIC.verify(PUBS[1], MESSAGE, signature)


def test_in_range_garbage_signature_fails_quietly():
    assert not OPTIMISTIC.verify(PUBS[1], MESSAGE, _with(12345, 67890))


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        (b"", "33 bytes"),
        (bytes(32), "33 bytes"),
        (b"\x04" + bytes(64), "33 bytes"),
        (b"\x04" + bytes(32), "prefix"),
        (b"\x00" + bytes(32), "prefix"),
        (b"\x02" + b"\xff" * 32, "not a point"),
    ],
    ids=["empty", "32-bytes", "uncompressed", "prefix-04", "prefix-00", "x>=p"],
)
def test_malformed_public_keys_are_rejected(key, fragment):
    with pytest.raises(InvalidPublicKey, match=fragment):
        OPTIMISTIC.validate_public_key(key)


def test_off_curve_public_key_is_rejected_and_never_verifies():
    key = _off_curve_key()
    with pytest.raises(InvalidPublicKey, match="not a point"):
        OPTIMISTIC.validate_public_key(key)
    with pytest.raises(InvalidSignature, match="account key is not valid"):
        OPTIMISTIC.validate_signature(key, MESSAGE, _signature())


def test_message_must_be_32_bytes():
    assert not OPTIMISTIC.verify(PUBS[1], b"short", _signature())


def test_hashing_layout():
    """leaf = ckbhash(0x00 || key || balance u64 LE || nonce u32 LE); node = ckbhash(l || r)."""
    leaf = OPTIMISTIC.hash_leaf(PUBS[1], 5, 7)
    assert leaf == ckbhash(
        b"\x00" + PUBS[1] + (5).to_bytes(8, "little") + (7).to_bytes(4, "little")
    )
    assert OPTIMISTIC.hash_node(b"a" * 32, b"b" * 32) == ckbhash(b"a" * 32 + b"b" * 32)
    assert OPTIMISTIC.hash_message(b"x") == ckbhash(b"x")
    empty = OPTIMISTIC.empty_subtree_hashes
    assert len(empty) == 33 and empty[0] == bytes(32) == OPTIMISTIC.empty_leaf_hash
    for height in range(1, 33):
        assert empty[height] == ckbhash(empty[height - 1] * 2)
