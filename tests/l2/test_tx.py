"""Transactions: the fixed 124-byte record (round trip, strict decoding) and the signing domain
(catalogue S3, S5, S6)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from l1.ckb.hashing import ckbhash
from l1.core.blobs import USABLE_BYTES_PER_ELEMENT
from l2.config import RollupConfig
from l2.errors import FieldOutOfRange, InvalidRecord
from l2.profile import OPTIMISTIC
from l2.tx import (
    RECORD_BODY_SIZE,
    RECORD_SIZE,
    SIGNING_DOMAIN_TAG,
    Deposit,
    L1Deposit,
    Transfer,
    TxKind,
    Withdraw,
    Withdrawal,
    compute_signing_message,
    compute_signing_preimage,
    compute_tx_hash,
    compute_withdrawal_hash,
    decode_record,
    encode_record,
    sign_transaction,
)
from tests.l2.kit import CONFIG, KEYS, PUBS, RECIPIENT

u32 = st.integers(0, 2**32 - 1)
u48 = st.integers(0, 2**48 - 1)
u64 = st.integers(0, 2**64 - 1)
sig = st.binary(min_size=64, max_size=64)
deposits = st.builds(Deposit, u32, u32, u64, st.binary(min_size=33, max_size=33))
transfers = st.builds(Transfer, u32, u32, u64, u48, u32, sig)
withdraws = st.builds(Withdraw, u32, u64, u48, u32, st.binary(min_size=20, max_size=20), sig)
transactions = st.one_of(deposits, transfers, withdraws)


def test_record_size_is_whole_field_elements():
    assert RECORD_SIZE == 124 == 4 * USABLE_BYTES_PER_ELEMENT
    assert RECORD_BODY_SIZE + 64 == RECORD_SIZE


@settings(max_examples=200, deadline=None)
@given(transactions)
def test_record_round_trip(tx):
    record = encode_record(tx)
    assert len(record) == RECORD_SIZE
    assert record[0] == tx.kind
    assert decode_record(record, OPTIMISTIC) == tx


def test_record_layout_of_a_transfer():
    tx = Transfer(1, 2, 3 * 10**8, 5, 9, bytes(range(64)))
    record = encode_record(tx)
    assert record == (
        b"\x02"
        + (1).to_bytes(4, "little")
        + (2).to_bytes(4, "little")
        + (3 * 10**8).to_bytes(8, "little")
        + (5).to_bytes(6, "little")
        + (9).to_bytes(4, "little")
        + bytes(33)
        + bytes(range(64))
    )


def test_record_layout_of_a_deposit_and_a_withdraw():
    deposit = encode_record(Deposit(4, 2, 100, PUBS[1]))
    assert deposit[0] == TxKind.DEPOSIT
    assert deposit[1:5] == (4).to_bytes(4, "little")  # the deposit-queue index
    assert deposit[17:27] == bytes(10)  # fee and nonce
    assert deposit[27:60] == PUBS[1]
    assert deposit[60:] == bytes(64)
    withdraw = encode_record(Withdraw(3, 100, 1, 2, RECIPIENT, b"\x07" * 64))
    assert withdraw[5:9] == bytes(4)
    assert withdraw[27:47] == RECIPIENT and withdraw[47:60] == bytes(13)


def _mutate(record: bytes, offset: int, value: int) -> bytes:
    return record[:offset] + bytes([value]) + record[offset + 1 :]


@pytest.mark.parametrize(
    ("record", "fragment"),
    [
        (b"", "124 bytes"),
        (bytes(123), "124 bytes"),
        (bytes(125), "124 bytes"),
        (bytes(124), "unknown transaction kind 0"),
        (b"\x04" + bytes(123), "unknown transaction kind 4"),
        (b"\xff" + bytes(123), "unknown transaction kind 255"),
    ],
    ids=["empty", "short", "long", "kind-0", "kind-4", "kind-255"],
)
def test_malformed_records(record, fragment):
    with pytest.raises(InvalidRecord, match=fragment):
        decode_record(record, OPTIMISTIC)


def test_non_canonical_records_are_rejected():
    deposit = encode_record(Deposit(0, 1, 5, PUBS[1]))
    transfer = encode_record(Transfer(1, 2, 3, 4, 5, b"\x01" * 64))
    withdraw = encode_record(Withdraw(1, 3, 4, 5, RECIPIENT, b"\x01" * 64))
    cases = [
        (_mutate(deposit, 17, 1), "zero fee and nonce"),
        (_mutate(deposit, 23, 1), "zero fee and nonce"),
        (_mutate(deposit, 100, 1), "signature slot"),
        (_mutate(transfer, 40, 1), "transfer's payload"),
        (_mutate(withdraw, 6, 1), "zero 'to' field"),
        (_mutate(withdraw, 50, 1), "recipient padding"),
    ]
    for record, fragment in cases:
        with pytest.raises(InvalidRecord, match=fragment):
            decode_record(record, OPTIMISTIC)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=130))
def test_arbitrary_bytes_decode_canonically_or_raise_invalid_record(data):
    try:
        tx = decode_record(data, OPTIMISTIC)
    except InvalidRecord:
        return
    assert encode_record(tx) == data


@pytest.mark.parametrize(
    "build",
    [
        lambda: Transfer(2**32, 0, 0, 0, 0),
        lambda: Transfer(0, 0, 2**64, 0, 0),
        lambda: Transfer(0, 0, 0, 2**48, 0),
        lambda: Transfer(0, 0, 0, 0, -1),
        lambda: Transfer(0, 0, 0, 0, 0, bytes(65)),
        lambda: Transfer(True, 0, 0, 0, 0),
        lambda: Withdraw(0, 0, 0, 0, bytes(21)),
        lambda: Deposit(0, 0, 0, bytes(34)),
        lambda: Deposit(0, 0, 0, b""),
        lambda: L1Deposit(bytes(35), 0, PUBS[1], 1),
        lambda: L1Deposit(bytes(36), 2**32, PUBS[1], 1),
        lambda: Withdrawal(0, 0, RECIPIENT, 2**64),
    ],
)
def test_fields_out_of_range_are_refused_at_construction(build):
    with pytest.raises(FieldOutOfRange):
        build()


def test_signing_preimage_is_domain_chain_rollup_and_record_body():
    tx = Transfer(1, 2, 300, 4, 0)
    preimage = compute_signing_preimage(tx, CONFIG)
    assert preimage == (
        SIGNING_DOMAIN_TAG
        + CONFIG.chain_id.to_bytes(4, "little")
        + CONFIG.rollup_id
        + encode_record(tx)[:RECORD_BODY_SIZE]
    )
    assert compute_signing_message(tx, CONFIG) == ckbhash(preimage)


def test_tx_hash_ignores_the_signature():
    """S5: ids and replay keys never depend on signature bytes."""
    tx = sign_transaction(Transfer(1, 2, 300, 4, 0), KEYS[1], CONFIG)
    assert compute_tx_hash(tx, CONFIG) == compute_tx_hash(replace(tx, signature=bytes(64)), CONFIG)


def test_every_field_and_the_domain_change_the_message():
    base = Transfer(1, 2, 300, 4, 0)
    message = compute_signing_message(base, CONFIG)
    variants = [
        replace(base, from_index=3),
        replace(base, to_index=3),
        replace(base, amount=301),
        replace(base, fee=5),
        replace(base, nonce=1),
    ]
    for variant in variants:
        assert compute_signing_message(variant, CONFIG) != message
    for config in (replace(CONFIG, chain_id=8), replace(CONFIG, rollup_id=bytes(32))):
        assert compute_signing_message(base, config) != message


def test_kinds_are_domain_separated():
    """S6: a withdraw and a transfer with the same numbers sign different messages."""
    transfer = Transfer(1, 0, 300, 4, 0)
    withdraw = Withdraw(1, 300, 4, 0, bytes(20))
    assert (
        encode_record(transfer)[1:RECORD_BODY_SIZE] == encode_record(withdraw)[1:RECORD_BODY_SIZE]
    )
    assert compute_signing_message(transfer, CONFIG) != compute_signing_message(withdraw, CONFIG)


def test_withdrawal_hash_binds_the_rollup_and_is_unique_per_nonce():
    w = Withdrawal(1, 0, RECIPIENT, 100)
    h = compute_withdrawal_hash(w, CONFIG)
    assert h != compute_withdrawal_hash(replace(w, nonce=1), CONFIG)
    assert h != compute_withdrawal_hash(w, replace(CONFIG, chain_id=8))
    assert h != compute_withdrawal_hash(w, RollupConfig(7, bytes(32), 0, CONFIG.preset, OPTIMISTIC))
