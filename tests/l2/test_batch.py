"""Batch data, blob packing with computable record offsets, and the batch commitment
(catalogue D2, D3; docs/protocol.md)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from l1.ckb.hashing import ckbhash
from l1.core.blobs import (
    BYTES_PER_BLOB,
    FIELD_ELEMENTS_PER_BLOB,
    USABLE_BYTES_PER_ELEMENT,
    pack_data_into_blobs,
)
from l2.batch import (
    BATCH_HEADER_SIZE,
    COMMITMENT_FIXED_SIZE,
    ELEMENTS_PER_RECORD,
    INVALID_SLOT_RECORD,
    RECORDS_PER_BLOB,
    BatchCommitment,
    RecordLocation,
    compute_batch_blobs,
    compute_batch_commitment,
    compute_batch_data_size,
    compute_next_withdrawals_chain,
    compute_withdrawals_root,
    decode_batch,
    decode_batch_blobs,
    decode_batch_records,
    encode_batch,
    encode_batch_records,
    get_batch_records,
    get_blob_count,
    get_record_from_blobs,
    get_record_location,
)
from l2.errors import (
    BatchTooLarge,
    FieldOutOfRange,
    InvalidBatchData,
    InvalidBatchHeader,
    InvalidCommitmentEncoding,
    InvalidRecord,
    MalformedBatchData,
    TrailingBatchData,
    TruncatedBatch,
    UnknownBatchVersion,
)
from l2.preset import DEVNET, TEST
from l2.stf import apply_batch
from l2.tx import (
    RECORD_SIZE,
    Deposit,
    Transfer,
    Withdraw,
    Withdrawal,
    compute_withdrawal_hash,
    decode_record,
    encode_record,
)
from tests.l2.kit import CKB, CONFIG, PUBS, RECIPIENT, make_state, transfer, withdraw


def _transfers(n: int) -> list[Transfer]:
    return [Transfer(1 + i % 7, 2 + i % 5, i * 1000, i, i, bytes([i % 256]) * 64) for i in range(n)]


def test_alignment_constants():
    """The record-offset formula needs: a record and the (prefix + header) are 4 whole elements,
    and 4 divides the 4096 elements of a blob."""
    assert RECORD_SIZE == ELEMENTS_PER_RECORD * USABLE_BYTES_PER_ELEMENT
    assert 4 + BATCH_HEADER_SIZE == ELEMENTS_PER_RECORD * USABLE_BYTES_PER_ELEMENT
    assert FIELD_ELEMENTS_PER_BLOB % ELEMENTS_PER_RECORD == 0
    assert RECORDS_PER_BLOB == 1024


def test_batch_round_trip():
    txs = [
        *_transfers(5),
        Deposit(3, 4, 5, PUBS[1]),
        Withdraw(1, 61 * CKB, 1, 0, RECIPIENT, b"\x05" * 64),
    ]
    data = encode_batch(txs)
    assert len(data) == compute_batch_data_size(len(txs)) == 120 + 124 * 7
    assert data[0] == 1 and int.from_bytes(data[1:5], "little") == 7
    assert decode_batch(data, CONFIG) == tuple(txs)
    assert decode_batch_blobs(compute_batch_blobs(txs), TEST) == tuple(
        encode_record(t) for t in txs
    )


def test_empty_batch():
    data = encode_batch([])
    assert len(data) == BATCH_HEADER_SIZE
    assert decode_batch_records(data, TEST) == ()
    assert len(compute_batch_blobs([])) == 1


@pytest.mark.parametrize("count", [0, 1, 2, 1022, 1023, 1024, 2046, 2047])
def test_record_location_formula(count):
    """Record i is read straight from elements 4(i+1)..4(i+1)+3 of blob (i+1)//1024."""
    txs = _transfers(count)
    blobs = compute_batch_blobs(txs)
    assert len(blobs) == (count + 1 + RECORDS_PER_BLOB - 1) // RECORDS_PER_BLOB
    for i in {0, 1, count // 2, 1022, 1023, count - 1} & set(range(count)):
        location = get_record_location(i)
        assert location == RecordLocation((i + 1) // 1024, 4 * ((i + 1) % 1024), 4)
        assert location.first_element + location.element_count <= FIELD_ELEMENTS_PER_BLOB
        assert get_record_from_blobs(blobs, i) == encode_record(txs[i])
    if count <= DEVNET.max_txs_per_batch:
        assert len(decode_batch_blobs(blobs, DEVNET)) == count


def test_one_blob_holds_1023_records_two_hold_2047():
    assert len(compute_batch_blobs(_transfers(1023))) == 1
    assert len(compute_batch_blobs(_transfers(1024))) == 2
    assert len(compute_batch_blobs(_transfers(2047))) == 2
    assert len(compute_batch_blobs(_transfers(2048))) == 3


@pytest.mark.parametrize(
    ("data", "error", "fragment"),
    [
        (b"", TruncatedBatch, "empty"),
        (b"\x02" + bytes(119), UnknownBatchVersion, "version 2"),
        (b"\x00" + bytes(119), UnknownBatchVersion, "version 0"),
        (b"\x01" + bytes(50), TruncatedBatch, "header is 120"),
        (b"\x01" + bytes(100) + b"\x01" + bytes(18), InvalidBatchHeader, "reserved"),
        (b"\x01" + (1).to_bytes(4, "little") + bytes(115), TruncatedBatch, "1 records need 244"),
        (
            b"\x01" + (1).to_bytes(4, "little") + bytes(115 + 125),
            TrailingBatchData,
            "1 bytes after",
        ),
        (b"\x01" + bytes(119) + b"\x00", TrailingBatchData, "1 bytes after 0"),
        (b"\x01" + (65).to_bytes(4, "little") + bytes(115), BatchTooLarge, "65 transactions"),
        (b"\x01" + b"\xff" * 4 + bytes(115), BatchTooLarge, "4294967295"),
    ],
    ids=[
        "empty",
        "version-2",
        "version-0",
        "short-header",
        "reserved",
        "truncated",
        "trailing",
        "trailing-empty",
        "too-many",
        "count-bomb",
    ],
)
def test_batch_data_errors(data, error, fragment):
    with pytest.raises(error, match=fragment) as info:
        decode_batch_records(data, TEST)
    assert type(info.value) is error


def test_batch_too_large_boundary():
    """D3: max - 1 and max decode, max + 1 does not."""
    limit = TEST.max_txs_per_batch
    for count in (limit - 1, limit):
        assert len(decode_batch_records(encode_batch(_transfers(count)), TEST)) == count
    with pytest.raises(BatchTooLarge):
        decode_batch_records(encode_batch(_transfers(limit + 1)), TEST)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_garbage_batch_data_is_rejected_deterministically(data):
    """D2: any bytes either decode (and re-encode identically) or raise InvalidBatchData."""
    try:
        records = decode_batch_records(data, TEST)
    except InvalidBatchData as exc:
        with pytest.raises(type(exc)):
            decode_batch_records(data, TEST)
        return
    assert encode_batch_records(records) == data


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=400), st.integers(0, 5))
def test_garbage_records_inside_a_well_formed_batch(noise, count):
    """Strict decoding names the bad record; derivation turns it into a no-op instead."""
    records = [encode_record(t) for t in _transfers(count)]
    garbage = (b"\x07" + noise).ljust(RECORD_SIZE, b"\x00")[:RECORD_SIZE]
    data = encode_batch_records([*records, garbage])
    with pytest.raises(InvalidRecord, match=f"record {count}: unknown transaction kind 7"):
        decode_batch(data, CONFIG)
    assert decode_batch_records(data, TEST)[-1] == garbage


def test_blob_level_errors():
    txs = _transfers(3)
    blobs = compute_batch_blobs(txs)
    high_byte = bytearray(blobs[0])
    high_byte[32 * 5] = 1
    padding = bytearray(blobs[0])
    padding[-1] = 1  # a byte after the data, inside an element's low 31 bytes
    cases = [
        ([], "at least one blob"),
        ([*blobs, blobs[0]], "more than the preset's 1"),
        ([blobs[0][:-1]], "131072 bytes"),
        ([bytes(high_byte)], "non-zero high byte"),
        ([bytes(padding)], "canonical packing"),
        ([b"\x00" + b"\xff" * 4 + bytes(BYTES_PER_BLOB - 5)], "exceeds the blob data"),
    ]
    for case, fragment in cases:
        with pytest.raises(MalformedBatchData, match=fragment):
            decode_batch_blobs(case, TEST)
    two = pack_data_into_blobs(encode_batch(txs)) + [bytes(BYTES_PER_BLOB)]
    with pytest.raises(MalformedBatchData, match="canonical packing"):
        decode_batch_blobs(two, DEVNET)


def test_record_outside_the_given_blobs():
    with pytest.raises(MalformedBatchData, match="blob 1"):
        get_record_from_blobs(compute_batch_blobs(_transfers(3)), 1023)
    with pytest.raises(FieldOutOfRange):
        get_record_location(-1)


# ----------------------------------------------------------------------------- commitment
def _commitment(**changes) -> BatchCommitment:
    base = BatchCommitment(
        batch_number=3,
        prev_root=b"\x01" * 32,
        new_root=b"\x02" * 32,
        l1_block_hash=b"\x03" * 32,
        tx_count=10,
        deposit_start=4,
        deposit_end=6,
        withdrawals_root=b"\x04" * 32,
        blob_versioned_hashes=(b"\x01" + b"\x05" * 31, b"\x01" + b"\x06" * 31),
    )
    return replace(base, **changes)


def test_commitment_serialization_layout_and_round_trip():
    c = _commitment()
    data = c.serialize()
    assert len(data) == COMMITMENT_FIXED_SIZE + 4 + 64 == 216
    assert data[:8] == (3).to_bytes(8, "little")
    assert (
        data[8:40] == c.prev_root and data[40:72] == c.new_root and data[72:104] == c.l1_block_hash
    )
    assert data[104:116] == b"".join(v.to_bytes(4, "little") for v in (10, 4, 6))
    assert data[116:148] == c.withdrawals_root
    assert data[148:152] == (2).to_bytes(4, "little")
    assert BatchCommitment.deserialize(data) == c
    assert c.compute_hash() == ckbhash(data)
    assert c.deposit_count == 2
    for change in (
        {"batch_number": 4},
        {"prev_root": bytes(32)},
        {"tx_count": 11},
        {"deposit_end": 7},
        {"blob_versioned_hashes": c.blob_versioned_hashes[:1]},
    ):
        assert _commitment(**change).compute_hash() != c.compute_hash()


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d[:100], "at least"),
        (lambda d: d[:-1], "need"),
        (lambda d: d + bytes(32), "need"),
        (lambda d: d[:148] + bytes(4), "non-empty"),
        (lambda d: d[:152] + b"\x02" + d[153:], "0x01"),
        (lambda d: d[:108] + (9).to_bytes(4, "little") + d[112:], "before deposit_start"),
    ],
    ids=["short", "truncated-hash", "extra-hash", "no-blobs", "bad-version", "deposit-range"],
)
def test_commitment_decoding_is_strict(mutate, fragment):
    with pytest.raises(InvalidCommitmentEncoding, match=fragment):
        BatchCommitment.deserialize(mutate(_commitment().serialize()))


def test_withdrawals_root_is_the_withdrawal_chain():
    ws = [Withdrawal(1, n, RECIPIENT, 61 * CKB + n) for n in range(3)]
    chain = bytes(32)
    for w in ws:
        chain = ckbhash(chain + compute_withdrawal_hash(w, CONFIG))
    assert compute_withdrawals_root(ws, CONFIG) == chain
    assert compute_withdrawals_root(ws[:1], CONFIG) == compute_next_withdrawals_chain(
        bytes(32), ws[0], CONFIG
    )
    assert compute_withdrawals_root([], CONFIG) == bytes(32)
    assert compute_withdrawals_root(ws[::-1], CONFIG) != chain  # order matters


def test_get_batch_records_reads_slots_by_position():
    state = make_state(100 * CKB, 0)
    txs = [transfer(state, 1, 2, CKB, 10), withdraw(state, 1, 61 * CKB, 10, nonce=1)]
    blobs = compute_batch_blobs(txs)
    assert get_batch_records(blobs, 2) == tuple(encode_record(tx) for tx in txs)
    assert get_batch_records(blobs, 3)[2] == bytes(RECORD_SIZE)  # zero padding: kind 0
    assert get_batch_records(blobs, 0) == ()
    bad = bytearray(blobs[0])
    bad[32 * 8] = 1  # record 1's first element is not packed data
    records = get_batch_records([bytes(bad)], 2)
    assert records[0] == encode_record(txs[0]) and records[1] == INVALID_SLOT_RECORD
    with pytest.raises(InvalidRecord, match="kind 0"):
        decode_record(INVALID_SLOT_RECORD, CONFIG.profile)
    assert get_blob_count(1023) == 1 and get_blob_count(1024) == 2
    with pytest.raises(MalformedBatchData, match="need 2 blobs"):
        get_batch_records(blobs, 1024)
    with pytest.raises(MalformedBatchData, match="blob 0"):
        get_batch_records([b"\x00" * 10], 1)


def test_commitment_from_a_batch_result():
    state = make_state(100 * CKB, 0)
    txs = [transfer(state, 1, 2, CKB, 10), withdraw(state, 1, 61 * CKB, 10, nonce=1)]
    result = apply_batch(state, txs, CONFIG)
    vh = (b"\x01" + bytes(31),)
    c = compute_batch_commitment(0, result, vh, b"\x09" * 32, CONFIG)
    assert (c.prev_root, c.new_root, c.tx_count) == (result.pre_root, state.get_root(), 2)
    assert c.withdrawals_root == compute_withdrawals_root(result.withdrawals, CONFIG)
    assert (c.deposit_start, c.deposit_end) == (0, 0)


# ----------------------------------------------------------------------------- measurements
def test_bytes_per_transfer_on_l1():
    """docs/protocol.md "Cost on L1": the figures quoted there."""
    state = make_state(1_000_000 * CKB, 0)
    transfers = [transfer(state, 1, 2, CKB, 100, nonce=n) for n in range(1023)]
    data = encode_batch(transfers)
    blobs = compute_batch_blobs(transfers)
    assert len(encode_record(transfers[0])) == 124
    assert len(data) == 120 + 124 * 1023 == 126_972
    assert len(blobs) == 1
    # a full blob: 128 blob bytes (4 field elements) per transfer, 131072 / 1023 amortized
    assert pytest.approx(128.125) == BYTES_PER_BLOB / 1023
    assert (len(data) + 4) / 1023 == pytest.approx(124.121, abs=1e-3)
    # a batch of 64 transfers still pays a whole blob
    assert BYTES_PER_BLOB / 64 == 2048
