"""``l2.profile.VALIDITY`` (docs/validity.md §1), ``l2.validity`` (§3) and the STF on it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from l1.ckb.hashing import ckbhash
from l2.babyjub import BASE8, SUBGROUP_ORDER, add_points, pack_point
from l2.config import RollupConfig
from l2.errors import FieldOutOfRange, InvalidPublicKey, InvalidRecord, InvalidSignature
from l2.poseidon import BN254_SCALAR_FIELD, compute_poseidon
from l2.preset import SHANNONS_PER_CKB, VALIDITY_DEVNET, VALIDITY_TEST, get_preset
from l2.profile import OPTIMISTIC, PROFILES, VALIDITY, ValidityProfile, get_profile
from l2.state import Account, create_genesis_state
from l2.stf import apply_batch, apply_transaction
from l2.tx import (
    Deposit,
    L1Deposit,
    Transfer,
    Withdraw,
    compute_signing_message,
    compute_signing_preimage,
    encode_record,
    sign_transaction,
)
from l2.validity import (
    compute_batch_input,
    compute_config_hash,
    compute_record_elements,
    compute_records_hash,
    compute_signing_domain,
)
from tests.l2.test_babyjub import TORSION
from tests.l2.test_poseidon import run_vectors

P = BN254_SCALAR_FIELD
CKB = SHANNONS_PER_CKB
KEYS = tuple(ckbhash(b"rollcourt validity key %d" % i) for i in range(4))
PUBS = tuple(VALIDITY.compute_public_key(k) for k in KEYS)
CONFIG = RollupConfig(
    chain_id=7,
    rollup_id=ckbhash(b"rollcourt validity rollup"),
    fee_account=0,
    preset=VALIDITY_TEST,
    profile=VALIDITY,
)
MESSAGE = VALIDITY.hash_message(b"a signing preimage")


@pytest.fixture(scope="module")
def js() -> dict[str, Any]:
    return run_vectors(
        {
            "prv2pub": [k.hex() for k in KEYS],
            "sign": [{"key": KEYS[1].hex(), "msg": str(int.from_bytes(MESSAGE, "big"))}],
        }
    )


# ----------------------------------------------------------------------------- registry
def test_registry_and_constants() -> None:
    assert VALIDITY.name == "validity"
    assert (VALIDITY.public_key_size, VALIDITY.signature_size) == (32, 64)
    assert VALIDITY.empty_leaf_hash == bytes(32)
    hashes = VALIDITY.empty_subtree_hashes
    assert len(hashes) == 33
    assert hashes[1] == compute_poseidon([0, 0]).to_bytes(32, "big")
    assert hashes[5] == VALIDITY.hash_node(hashes[4], hashes[4])
    assert PROFILES == {"optimistic": OPTIMISTIC, "validity": VALIDITY}
    assert get_profile("validity") is VALIDITY
    assert get_profile("optimistic") is OPTIMISTIC
    with pytest.raises(KeyError, match="optimistic"):
        get_profile("zk")
    assert isinstance(VALIDITY, ValidityProfile)


def test_presets() -> None:
    assert get_preset("validity-test") is VALIDITY_TEST
    assert get_preset("validity-devnet") is VALIDITY_DEVNET
    assert (VALIDITY_TEST.tree_depth, VALIDITY_TEST.max_txs_per_batch) == (4, 2)
    assert (VALIDITY_DEVNET.tree_depth, VALIDITY_DEVNET.max_txs_per_batch) == (10, 4)
    assert VALIDITY_TEST.max_blobs_per_batch == VALIDITY_DEVNET.max_blobs_per_batch == 1
    assert VALIDITY_TEST.min_withdrawal_amount == get_preset("test").min_withdrawal_amount


# ----------------------------------------------------------------------------- hashing
def test_hash_node_and_leaf() -> None:
    left, right = (5).to_bytes(32, "big"), (P - 1).to_bytes(32, "big")
    assert VALIDITY.hash_node(left, right) == compute_poseidon([5, P - 1]).to_bytes(32, "big")
    ax, ay = VALIDITY.unpack_public_key(PUBS[0])
    assert VALIDITY.hash_leaf(PUBS[0], 10, 3) == compute_poseidon([ax, ay, 10, 3]).to_bytes(
        32, "big"
    )


@pytest.mark.parametrize("bad", [P, P + 1, 2**256 - 1])
def test_hash_node_refuses_values_outside_the_field(bad: int) -> None:
    value = bad.to_bytes(32, "big")
    with pytest.raises(FieldOutOfRange, match="left node"):
        VALIDITY.hash_node(value, bytes(32))
    with pytest.raises(FieldOutOfRange, match="right node"):
        VALIDITY.hash_node(bytes(32), value)


def test_hash_node_refuses_wrong_sizes() -> None:
    with pytest.raises(FieldOutOfRange, match="32-byte"):
        VALIDITY.hash_node(bytes(31), bytes(32))


def test_hash_message_chunks() -> None:
    preimage = bytes(range(100))
    chunks = [int.from_bytes(preimage[i : i + 31], "big") for i in (0, 31, 62, 93)]
    assert VALIDITY.hash_message(preimage) == compute_poseidon(chunks).to_bytes(32, "big")
    VALIDITY.hash_message(bytes(155))
    with pytest.raises(FieldOutOfRange, match=r"1\.\.155"):
        VALIDITY.hash_message(bytes(156))
    with pytest.raises(FieldOutOfRange):
        VALIDITY.hash_message(b"")


# ----------------------------------------------------------------------------- keys
def test_keys_and_signatures_match_circomlibjs(js: dict[str, Any]) -> None:
    assert [p.hex() for p in PUBS] == [answer["packed"] for answer in js["prv2pub"]]
    for pub, answer in zip(PUBS, js["prv2pub"], strict=True):
        assert VALIDITY.unpack_public_key(pub) == (int(answer["x"]), int(answer["y"]))
    signature = VALIDITY.sign(KEYS[1], MESSAGE)
    assert signature.hex() == js["sign"][0]
    assert VALIDITY.verify(PUBS[1], MESSAGE, signature)
    VALIDITY.validate_signature(PUBS[1], MESSAGE, signature)
    r8x, r8y, s = VALIDITY.unpack_signature(signature)
    assert pack_point((r8x, r8y)) == signature[:32]
    assert s.to_bytes(32, "little") == signature[32:]


def _packed(y: int, sign: bool = False) -> bytes:
    return (y | (1 << 255) if sign else y).to_bytes(32, "little")


def _y_without_x() -> int:
    from l2.babyjub import unpack_point

    for y in range(2, 1000):
        try:
            unpack_point(_packed(y))
        except FieldOutOfRange:
            return y
    raise AssertionError("unreachable")  # pragma: no cover


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (bytes(33), "32 bytes"),
        (bytes(31), "32 bytes"),
        (_packed(P), "field modulus"),
        (_packed(VALIDITY.unpack_public_key(PUBS[0])[1] + P), "field modulus"),
        (_packed(1 << 254), "field modulus"),
        (_packed(_y_without_x()), "no point"),
        (_packed(1, sign=True), "x = 0"),
        (_packed(1), "identity"),
        (_packed(P - 1), "subgroup"),
        (pack_point(TORSION), "subgroup"),
        (pack_point(add_points(BASE8, TORSION)), "subgroup"),
    ],
    ids=[
        "33 bytes",
        "31 bytes",
        "y=p",
        "y+p",
        "bit 254",
        "off-curve",
        "negative zero",
        "identity",
        "order 2",
        "order 8",
        "mixed order",
    ],
)
def test_invalid_public_keys(key: bytes, reason: str) -> None:
    with pytest.raises(InvalidPublicKey, match=reason):
        VALIDITY.validate_public_key(key)
    signature = VALIDITY.sign(KEYS[0], MESSAGE)
    with pytest.raises(InvalidSignature, match=reason):
        VALIDITY.validate_signature(key, MESSAGE, signature)
    assert not VALIDITY.verify(key, MESSAGE, signature)


def test_invalid_signatures() -> None:
    signature = VALIDITY.sign(KEYS[0], MESSAGE)
    s = int.from_bytes(signature[32:], "little")
    other = VALIDITY.hash_message(b"another preimage")
    cases = [
        (PUBS[0], MESSAGE, signature[:63], "64 bytes"),
        (PUBS[0], MESSAGE, signature + b"\x00", "64 bytes"),
        (
            PUBS[0],
            MESSAGE,
            signature[:32] + (s + SUBGROUP_ORDER).to_bytes(32, "little"),
            "S is not below",
        ),
        (PUBS[0], MESSAGE, _packed(P) + signature[32:], "R8: .*field modulus"),
        (PUBS[0], MESSAGE, _packed(_y_without_x()) + signature[32:], "R8: .*no point"),
        (PUBS[0], other, signature, "not by the account's key"),
        (PUBS[1], MESSAGE, signature, "not by the account's key"),
        (PUBS[0], MESSAGE, signature[:32] + (s ^ 1).to_bytes(32, "little"), "not by"),
        (PUBS[0], P.to_bytes(32, "big"), signature, "field modulus"),
        (PUBS[0], MESSAGE[:31], signature, "32-byte"),
    ]
    for key, message, sig, reason in cases:
        with pytest.raises(InvalidSignature, match=reason):
            VALIDITY.validate_signature(key, message, sig)
        assert not VALIDITY.verify(key, message, sig)
    with pytest.raises(InvalidSignature, match="S is not below"):
        VALIDITY.unpack_signature(signature[:32] + (s + SUBGROUP_ORDER).to_bytes(32, "little"))


def test_sign_refuses_messages_outside_the_field() -> None:
    with pytest.raises(FieldOutOfRange):
        VALIDITY.sign(KEYS[0], P.to_bytes(32, "big"))


# ----------------------------------------------------------------------------- §1 / §3
def test_signing_message_is_poseidon_of_domain_chunks() -> None:
    tx = sign_transaction(Transfer(1, 2, 5 * CKB, 7, 3), KEYS[1], CONFIG)
    body = encode_record(tx)[:60]
    dom0, dom1 = compute_signing_domain(CONFIG)
    prefix = compute_signing_preimage(tx, CONFIG)[:54]
    assert dom0 == int.from_bytes(prefix[:31], "big")
    assert dom1 == int.from_bytes(prefix[31:], "big")
    chunks = [
        dom0,
        dom1 * 2**64 + int.from_bytes(body[0:8], "big"),
        int.from_bytes(body[8:39], "big"),
        int.from_bytes(body[39:60], "big"),
    ]
    message = compute_signing_message(tx, CONFIG)
    assert message == compute_poseidon(chunks).to_bytes(32, "big")
    VALIDITY.validate_signature(PUBS[1], message, tx.signature)


def test_batch_input() -> None:
    records = [encode_record(Transfer(1, 2, 5, 0, 0, bytes(64))), bytes(range(124))]
    elements = compute_record_elements(records[1])
    assert elements == tuple(
        int.from_bytes(records[1][31 * j : 31 * j + 31], "big") for j in range(4)
    )
    r1 = compute_poseidon([0, *compute_record_elements(records[0])])
    assert compute_records_hash(records[:1], 1) == r1
    assert compute_records_hash(records[:1], 2) == compute_poseidon([r1, 0, 0, 0, 0])
    assert compute_records_hash([], 0) == 0
    dom0, dom1 = compute_signing_domain(CONFIG)
    assert compute_config_hash(CONFIG) == compute_poseidon([dom0, dom1, 0])
    old, new = (1).to_bytes(32, "big"), (2).to_bytes(32, "big")
    assert compute_batch_input(old, new, records, CONFIG) == compute_poseidon(
        [1, 2, compute_records_hash(records, 2), compute_config_hash(CONFIG)]
    )
    with pytest.raises(FieldOutOfRange, match="do not fit"):
        compute_records_hash(records, 1)
    with pytest.raises(FieldOutOfRange, match="do not fit"):
        compute_batch_input(old, new, [*records, records[0]], CONFIG)
    with pytest.raises(InvalidRecord, match="124 bytes"):
        compute_records_hash([bytes(123)], 2)
    with pytest.raises(FieldOutOfRange, match="old state root"):
        compute_batch_input(P.to_bytes(32, "big"), new, records, CONFIG)


# ----------------------------------------------------------------------------- the STF
def test_stf_runs_on_the_validity_profile() -> None:
    state = create_genesis_state(CONFIG, [Account(PUBS[0], 0, 0), Account(PUBS[1], 100 * CKB, 0)])
    genesis_root = state.get_root()
    l1 = L1Deposit(ckbhash(b"deposit 0") + bytes(4), 0, PUBS[2], 200 * CKB)
    deposits = {0: l1}
    transfer = sign_transaction(Transfer(1, 2, 30 * CKB, 1, 0), KEYS[1], CONFIG)
    result = apply_batch(state, [Deposit(0, 2, 200 * CKB, PUBS[2]), transfer], CONFIG, deposits)
    assert result.rejections == ()
    assert result.pre_root == genesis_root
    assert len(set(result.roots)) == 2 and genesis_root not in result.roots
    assert state.get_account(2) == Account(PUBS[2], 230 * CKB, 0)
    assert state.get_account(1) == Account(PUBS[1], 70 * CKB - 1, 1)
    assert state.get_account(0) == Account(PUBS[0], 1, 0)

    withdraw = sign_transaction(Withdraw(2, 100 * CKB, 2, 0, bytes(range(20))), KEYS[2], CONFIG)
    forged = sign_transaction(Transfer(1, 0, CKB, 0, 1), KEYS[3], CONFIG)  # wrong key
    before = state.get_root()
    result = apply_batch(state, [withdraw, forged], CONFIG, deposits)
    assert result.roots[0] != before and result.roots[1] == result.roots[0]
    assert len(result.withdrawals) == 1 and result.withdrawals[0].amount == 100 * CKB
    assert [(r.index, r.error) for r in result.rejections] == [(1, InvalidSignature)]

    snapshot = state.encode()
    tampered = replace(transfer, nonce=1, signature=transfer.signature)  # old signature
    for bad in (forged, tampered):
        with pytest.raises(InvalidSignature):
            apply_transaction(state, bad, CONFIG, deposits)
        assert state.encode() == snapshot
    result = apply_batch(state, [forged], CONFIG, deposits)
    assert result.rejections[0].error is InvalidSignature
    assert state.encode() == snapshot


def test_genesis_refuses_invalid_keys() -> None:
    with pytest.raises(InvalidPublicKey, match="identity"):
        create_genesis_state(CONFIG, [Account(_packed(1), 0, 0)])
