"""``l2.babyjub`` against circomlibjs 0.1.7 (``babyjub``, ``eddsa``) and npm ``blake-hash``."""

from __future__ import annotations

from typing import Any

import pytest

from l1.ckb.hashing import ckbhash
from l2.babyjub import (
    BASE8,
    IDENTITY,
    SUBGROUP_ORDER,
    Point,
    add_points,
    compute_blake512,
    compute_public_key,
    is_in_subgroup,
    is_on_curve,
    multiply_point,
    pack_point,
    pack_signature,
    sign_poseidon,
    unpack_point,
    unpack_signature,
    verify_poseidon,
)
from l2.errors import FieldOutOfRange
from l2.poseidon import BN254_SCALAR_FIELD
from tests.l2.test_poseidon import run_vectors

P = BN254_SCALAR_FIELD
KEYS = [bytes(32), bytes([0xFF] * 32)] + [ckbhash(b"babyjub key %d" % i) for i in range(4)]
MESSAGES = [0, 1, P - 1, int.from_bytes(ckbhash(b"message"), "big") % P]
BLAKE_LENGTHS = [0, 1, 32, 55, 64, 111, 112, 127, 128, 129, 200, 239, 240, 256, 300]


def _data(length: int) -> bytes:
    return bytes((7 * i + length) % 256 for i in range(length))


def _find_torsion_point() -> Point:
    """A point of order 8 (``L`` times a curve point outside the subgroup)."""
    for y in range(2, 1000):
        try:
            point = unpack_point(y.to_bytes(32, "little"))
        except FieldOutOfRange:
            continue
        torsion = multiply_point(point, SUBGROUP_ORDER)
        if multiply_point(torsion, 4) != IDENTITY:
            return torsion
    raise AssertionError("no point of order 8 found")


TORSION = _find_torsion_point()
SIGNED = [(key, m) for key in KEYS[:3] for m in MESSAGES]


def _tampered() -> list[tuple[bytes, bytes, int, str]]:
    """(packed key, packed signature, message, what) cases for verify agreement."""
    cases = []
    key, m = KEYS[2], MESSAGES[3]
    a = pack_point(compute_public_key(key))
    r8, s = sign_poseidon(key, m)
    sig = pack_signature(r8, s)
    cases.append((a, sig, m, "valid"))
    cases.append((a, sig, m + 1, "other message"))
    cases.append((a, pack_signature(r8, (s + 1) % SUBGROUP_ORDER), m, "S + 1"))
    cases.append((a, pack_signature(add_points(r8, BASE8), s), m, "other R8"))
    cases.append((pack_point(compute_public_key(KEYS[3])), sig, m, "other key"))
    return cases


TAMPERED = _tampered()


@pytest.fixture(scope="module")
def js() -> dict[str, Any]:
    points = [compute_public_key(k) for k in KEYS] + [TORSION, add_points(BASE8, TORSION)]
    return run_vectors(
        {
            "blake512": [_data(n).hex() for n in BLAKE_LENGTHS],
            "prv2pub": [k.hex() for k in KEYS],
            "sign": [{"key": k.hex(), "msg": str(m)} for k, m in SIGNED],
            "verify": [{"pub": a.hex(), "sig": s.hex(), "msg": str(m)} for a, s, m, _ in TAMPERED],
            "pack": [[str(x), str(y)] for x, y in points],
            "unpack": [pack_point(p).hex() for p in points],
            "subgroup": [[str(x), str(y)] for x, y in points],
        }
    )


def test_blake512_matches_blake_hash(js: dict[str, Any]) -> None:
    assert [compute_blake512(_data(n)).hex() for n in BLAKE_LENGTHS] == js["blake512"]


def test_blake512_known_value() -> None:
    # BLAKE v1.3 appendix A.2: the one-block message 0x00.
    assert compute_blake512(b"\x00").hex().startswith("97961587f6d970fa")


def test_prv2pub_matches(js: dict[str, Any]) -> None:
    for key, answer in zip(KEYS, js["prv2pub"], strict=True):
        point = compute_public_key(key)
        assert point == (int(answer["x"]), int(answer["y"]))
        assert pack_point(point).hex() == answer["packed"]
        assert is_in_subgroup(point)


def test_pack_and_unpack_match(js: dict[str, Any]) -> None:
    points = [compute_public_key(k) for k in KEYS] + [TORSION, add_points(BASE8, TORSION)]
    assert [pack_point(p).hex() for p in points] == js["pack"]
    assert [(int(x), int(y)) for x, y in js["unpack"]] == points
    assert all(unpack_point(pack_point(p)) == p for p in points)
    assert js["subgroup"] == [is_in_subgroup(p) for p in points]


def test_signatures_match_byte_for_byte(js: dict[str, Any]) -> None:
    ours = [pack_signature(*sign_poseidon(k, m)).hex() for k, m in SIGNED]
    assert ours == js["sign"]


def test_verify_agrees(js: dict[str, Any]) -> None:
    ours = []
    for a, sig, m, _ in TAMPERED:
        r8, s = unpack_signature(sig)
        ours.append(verify_poseidon(unpack_point(a), m, r8, s))
    assert ours == js["verify"]
    assert ours == [True, False, False, False, False]


def test_group_law() -> None:
    assert multiply_point(BASE8, SUBGROUP_ORDER) == IDENTITY
    assert multiply_point(BASE8, 0) == IDENTITY
    assert multiply_point(BASE8, 3) == add_points(add_points(BASE8, BASE8), BASE8)
    generic = add_points(BASE8, TORSION)  # not BASE8: exercises the generic ladder
    assert multiply_point(generic, 5) == add_points(
        multiply_point(generic, 2), multiply_point(generic, 3)
    )
    assert add_points(BASE8, IDENTITY) == BASE8
    assert is_on_curve(IDENTITY) and is_on_curve(BASE8) and is_on_curve(TORSION)
    assert not is_on_curve((1, 1))
    assert not is_on_curve((BASE8[0] + P, BASE8[1]))


def test_subgroup() -> None:
    assert is_in_subgroup(BASE8)
    assert is_in_subgroup(IDENTITY)
    assert not is_in_subgroup(TORSION)
    assert not is_in_subgroup(add_points(BASE8, TORSION))
    assert not is_in_subgroup((1, 1))


def _packed(y: int, sign: bool = False) -> bytes:
    return (y | (1 << 255) if sign else y).to_bytes(32, "little")


def _y_without_x() -> int:
    for y in range(2, 1000):
        try:
            unpack_point(_packed(y))
        except FieldOutOfRange:
            return y
    raise AssertionError("every small y is on the curve")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_packed(P), "field modulus"),
        (_packed(P + BASE8[1]), "field modulus"),
        (_packed(BASE8[1] | (1 << 254)), "field modulus"),
        (_packed(_y_without_x()), "no point"),
        (_packed(1, sign=True), "x = 0"),
        (_packed(P - 1, sign=True), "x = 0"),
        (bytes(31), "32 bytes"),
        (bytes(33), "32 bytes"),
    ],
    ids=["y=p", "y=p+y", "bit254", "off-curve", "-0 identity", "-0 order 2", "short", "long"],
)
def test_unpack_refuses_non_canonical(data: bytes, reason: str) -> None:
    with pytest.raises(FieldOutOfRange, match=reason):
        unpack_point(data)


def test_pack_refuses_off_curve_points() -> None:
    with pytest.raises(FieldOutOfRange, match="on Baby Jubjub"):
        pack_point((1, 1))


def test_signature_encoding_is_strict() -> None:
    r8, s = sign_poseidon(KEYS[0], 5)
    packed = pack_signature(r8, s)
    assert unpack_signature(packed) == (r8, s)
    twin = packed[:32] + (s + SUBGROUP_ORDER).to_bytes(32, "little")
    with pytest.raises(FieldOutOfRange, match="subgroup order"):
        unpack_signature(twin)
    with pytest.raises(FieldOutOfRange, match="64 bytes"):
        unpack_signature(packed[:63])
    with pytest.raises(FieldOutOfRange, match="subgroup order"):
        pack_signature(r8, SUBGROUP_ORDER)
    # S + L satisfies the curve equation too; the verifier still refuses it (S < L).
    assert not verify_poseidon(compute_public_key(KEYS[0]), 5, r8, s + SUBGROUP_ORDER)


def test_bad_private_keys_and_messages() -> None:
    with pytest.raises(FieldOutOfRange, match="32 bytes"):
        compute_public_key(bytes(31))
    with pytest.raises(FieldOutOfRange, match="field element"):
        sign_poseidon(KEYS[0], P)
    with pytest.raises(FieldOutOfRange, match="non-negative"):
        multiply_point(BASE8, -1)
