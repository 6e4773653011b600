"""Blobs and data availability without processes: the EIP-4844 helpers of ``l1.core.blobs`` on
the real KZG trusted setup, the transaction's commitment to its blobs (``blob_versioned_hashes``)
and the node's acceptance rule (``l1.node.chain.Chain`` over a temporary SQLite store).

Every rejection asserts the exact error class (not a parent) and a message fragment; rejected
blocks leave the store untouched. The trusted setup takes seconds to load: once per module.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import ckzg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from l1.ckb.hashes import compute_header_hash, compute_script_hash, compute_tx_hash
from l1.ckb.json import transaction_from_json, transaction_to_json
from l1.ckb.molecule import MoleculeError, pack_fixvec, pack_table, unpack_dynvec
from l1.ckb.types import Block, CellInput, CellOutput, RawTransaction, Script, Transaction
from l1.core.blobs import (
    BLS_MODULUS,
    BYTES_PER_BLOB,
    BYTES_PER_CELL,
    CELLS_PER_EXT_BLOB,
    FIELD_ELEMENTS_PER_BLOB,
    USABLE_BYTES_PER_BLOB,
    BlobSidecar,
    compute_blob_sidecar,
    compute_cells_and_proofs,
    compute_versioned_hash,
    pack_data_into_blobs,
    recover_cells,
    unpack_data_from_blobs,
    validate_blob,
    validate_blob_sidecars,
    verify_cells,
    verify_point_evaluation,
)
from l1.core.block import assemble_block
from l1.core.errors import (
    BlobLimitExceeded,
    BlobVersionedHashMismatch,
    InvalidBlobProof,
    InvalidCellProof,
    MalformedBlob,
    MissingBlobData,
)
from l1.core.genesis import build_genesis, chain_spec_from_json
from l1.core.preset import Preset
from l1.core.scripts import build_default_registry
from l1.devnet_keys import DevnetKey
from l1.kzg import get_kzg_settings
from l1.node.chain import Chain as NodeChain
from l1.node.chain import MainChainHeaders, Sidecars, StoreCellProvider
from l1.node.store import Store, blob_sidecars
from l1.node.store import cells as cells_table
from tests.l1.chainkit import DEVNET_KEYS, SPEC_PATH, expect_error, seal, sign

#: The published hash of RFC 0032's data1 transaction (a real CKB transaction without blobs).
RFC0032 = Path(__file__).parent / "vectors" / "rfc0032_data1_transaction.json"
#: A primitive 4096th root of unity of the BLS12-381 scalar field (EIP-4844
#: ``compute_roots_of_unity``: 7 is the field's primitive element).
ROOT_OF_UNITY = pow(7, (BLS_MODULUS - 1) // FIELD_ELEMENTS_PER_BLOB, BLS_MODULUS)


@pytest.fixture(scope="module")
def kzg() -> Any:
    return get_kzg_settings()


def _random_blob(seed: int) -> bytes:
    """A canonical blob of random field elements (high byte 0, so each is below the modulus)."""
    rng = random.Random(seed)
    return b"".join(b"\x00" + rng.randbytes(31) for _ in range(FIELD_ELEMENTS_PER_BLOB))


@pytest.fixture(scope="module")
def sidecars(kzg: Any) -> list[BlobSidecar]:
    """Three independent valid sidecars."""
    return [compute_blob_sidecar(_random_blob(seed), kzg) for seed in range(3)]


def _element(blob: bytes, index: int) -> bytes:
    return blob[32 * index : 32 * index + 32]


def _with_element(blob: bytes, index: int, element: bytes) -> bytes:
    assert len(element) == 32
    return blob[: 32 * index] + element + blob[32 * index + 32 :]


def _bit_reverse(index: int, bits: int = 12) -> int:
    return int(format(index, f"0{bits}b")[::-1], 2)


def _fr(value: int) -> bytes:
    return (value % BLS_MODULUS).to_bytes(32, "big")


# ----------------------------------------------------------------------------- versioned hashes
def test_versioned_hash_is_version_byte_and_sha256_tail(sidecars: list[BlobSidecar]) -> None:
    commitment = sidecars[0].commitment
    digest = hashlib.sha256(commitment).digest()
    versioned = compute_versioned_hash(commitment)
    assert versioned == b"\x01" + digest[1:]
    assert len(versioned) == 32
    assert sidecars[0].versioned_hash == versioned
    assert compute_versioned_hash(sidecars[1].commitment) != versioned


def test_sidecar_matches_ckzg_directly(kzg: Any, sidecars: list[BlobSidecar]) -> None:
    sidecar = sidecars[0]
    assert sidecar.commitment == bytes(ckzg.blob_to_kzg_commitment(sidecar.blob, kzg))
    assert len(sidecar.commitment) == len(sidecar.proof) == 48
    assert ckzg.verify_blob_kzg_proof(sidecar.blob, sidecar.commitment, sidecar.proof, kzg)


# ----------------------------------------------------------------------------- packing
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    length=st.integers(min_value=0, max_value=2 * USABLE_BYTES_PER_BLOB - 4),
    seed=st.integers(min_value=0, max_value=2**32),
)
@example(length=0, seed=0)
@example(length=1, seed=1)
@example(length=USABLE_BYTES_PER_BLOB - 4, seed=2)  # exactly one blob
@example(length=USABLE_BYTES_PER_BLOB - 3, seed=3)  # one byte over: two blobs
@example(length=2 * USABLE_BYTES_PER_BLOB - 4, seed=4)  # exactly two blobs
def test_pack_unpack_round_trip(length: int, seed: int) -> None:
    data = random.Random(seed).randbytes(length)
    blobs = pack_data_into_blobs(data)
    expected_blobs = max(1, -(-(length + 4) // USABLE_BYTES_PER_BLOB))
    assert len(blobs) == expected_blobs
    for blob in blobs:
        assert len(blob) == BYTES_PER_BLOB
        assert all(blob[offset] == 0 for offset in range(0, BYTES_PER_BLOB, 32))
        validate_blob(blob)
    assert unpack_data_from_blobs(blobs) == data


def test_pack_layout_is_u32_length_then_31_bytes_per_element() -> None:
    data = bytes(range(1, 59))  # with the prefix: 62 bytes, exactly two elements
    (blob,) = pack_data_into_blobs(data)
    payload = len(data).to_bytes(4, "little") + data
    assert _element(blob, 0) == b"\x00" + payload[:31]
    assert _element(blob, 1) == b"\x00" + payload[31:62]
    assert blob[64:] == bytes(BYTES_PER_BLOB - 64)
    (empty,) = pack_data_into_blobs(b"")
    assert empty == bytes(BYTES_PER_BLOB)
    assert unpack_data_from_blobs([empty]) == b""


def test_data_spanning_two_blobs_needs_both() -> None:
    data = random.Random(7).randbytes(USABLE_BYTES_PER_BLOB + 1000)
    first, second = pack_data_into_blobs(data)
    assert unpack_data_from_blobs([first, second]) == data
    with expect_error(MalformedBlob, "exceeds the blob data"):
        unpack_data_from_blobs([first])


@pytest.mark.parametrize(
    ("blobs", "fragment"),
    [
        ([bytes(BYTES_PER_BLOB - 1)], f"a blob is {BYTES_PER_BLOB} bytes"),
        ([b"\x01" + bytes(BYTES_PER_BLOB - 1)], "element 0 has a non-zero high byte"),
        ([], "no length prefix"),
        ([b"\x00\xff\xff\xff\xff" + bytes(BYTES_PER_BLOB - 5)], "exceeds the blob data"),
    ],
    ids=["short", "high-byte", "no-blobs", "length-too-big"],
)
def test_unpack_rejects_what_pack_never_produces(blobs: list[bytes], fragment: str) -> None:
    with expect_error(MalformedBlob, fragment):
        unpack_data_from_blobs(blobs)


# ----------------------------------------------------------------------------- validate_blob
def test_field_element_at_or_above_the_modulus_is_malformed(kzg: Any) -> None:
    blob = pack_data_into_blobs(b"data")[0]
    largest = _with_element(blob, 100, (BLS_MODULUS - 1).to_bytes(32, "big"))
    validate_blob(largest)  # the largest canonical element is fine, and ckzg agrees
    ckzg.blob_to_kzg_commitment(largest, kzg)
    for value in (BLS_MODULUS, BLS_MODULUS + 1, 2**256 - 1):
        bad = _with_element(blob, 100, value.to_bytes(32, "big"))
        with expect_error(MalformedBlob, "field element 100 is not below the BLS12-381 modulus"):
            validate_blob(bad)
        with pytest.raises(RuntimeError):  # what validate_blob protects the node from
            ckzg.blob_to_kzg_commitment(bad, kzg)
        with expect_error(MalformedBlob, "field element 100"):
            compute_blob_sidecar(bad, kzg)


@pytest.mark.parametrize("size", [0, 32, BYTES_PER_BLOB - 1, BYTES_PER_BLOB + 1])
def test_blob_of_the_wrong_size_is_malformed(size: int) -> None:
    with expect_error(MalformedBlob, f"a blob is {BYTES_PER_BLOB} bytes, got {size}"):
        validate_blob(bytes(size))


# ----------------------------------------------------------------------------- sidecars
def test_valid_sidecars_pass(kzg: Any, sidecars: list[BlobSidecar]) -> None:
    validate_blob_sidecars([s.versioned_hash for s in sidecars], sidecars, kzg)
    validate_blob_sidecars([sidecars[0].versioned_hash], sidecars[:1], kzg, max_blobs=1)
    validate_blob_sidecars([], [], kzg, max_blobs=0)


def test_sidecar_with_a_non_canonical_element_is_malformed(
    kzg: Any, sidecars: list[BlobSidecar]
) -> None:
    good = sidecars[0]
    bad = replace(good, blob=_with_element(good.blob, 7, BLS_MODULUS.to_bytes(32, "big")))
    with expect_error(MalformedBlob, "field element 7"):
        validate_blob_sidecars([good.versioned_hash], [bad], kzg)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("blob", bytes(BYTES_PER_BLOB - 32), f"a blob is {BYTES_PER_BLOB} bytes"),
        ("commitment", bytes(47), "48-byte G1 points"),
        ("proof", bytes(49), "48-byte G1 points"),
    ],
)
def test_sidecar_of_the_wrong_size_is_malformed(
    kzg: Any, sidecars: list[BlobSidecar], field: str, value: bytes, fragment: str
) -> None:
    good = sidecars[0]
    bad = replace(good, **{field: value})
    with expect_error(MalformedBlob, fragment):
        validate_blob_sidecars([good.versioned_hash], [bad], kzg)


def test_tampered_blob_fails_the_proof(kzg: Any, sidecars: list[BlobSidecar]) -> None:
    good = sidecars[0]
    flipped = bytes([good.blob[1000] ^ 0x01])
    bad = replace(good, blob=good.blob[:1000] + flipped + good.blob[1001:])
    with expect_error(InvalidBlobProof, "does not open the commitment"):
        validate_blob_sidecars([good.versioned_hash], [bad], kzg)


def test_another_blobs_commitment_mismatches_the_versioned_hash(
    kzg: Any, sidecars: list[BlobSidecar]
) -> None:
    good, other = sidecars[0], sidecars[1]
    bad = replace(good, commitment=other.commitment)
    with expect_error(BlobVersionedHashMismatch, "blob 0", other.versioned_hash.hex()):
        validate_blob_sidecars([good.versioned_hash], [bad], kzg)
    # If the transaction commits to the other commitment, the proof no longer opens it.
    with expect_error(InvalidBlobProof, "does not open the commitment"):
        validate_blob_sidecars([other.versioned_hash], [bad], kzg)


def test_tampered_or_foreign_proof_fails(kzg: Any, sidecars: list[BlobSidecar]) -> None:
    good, other = sidecars[0], sidecars[1]
    with expect_error(InvalidBlobProof, "does not open the commitment"):
        validate_blob_sidecars([good.versioned_hash], [replace(good, proof=other.proof)], kzg)
    # Flipping a bit of a compressed point gives bytes that are (almost surely) not on the curve.
    broken = bytes([good.proof[0]]) + bytes([good.proof[1] ^ 0x01]) + good.proof[2:]
    with expect_error(InvalidBlobProof):
        validate_blob_sidecars([good.versioned_hash], [replace(good, proof=broken)], kzg)


@pytest.mark.parametrize(
    "commitment",
    [
        bytes(48),  # compression flag missing
        b"\x9f" + b"\xff" * 47,  # x coordinate >= the field modulus
        b"\x80" + bytes(46) + b"\x01",  # x = 1: no point on the curve
        b"\xe0" + bytes(47),  # infinity flag with a sign bit
    ],
    ids=["uncompressed-zero", "x-too-big", "off-curve", "bad-infinity"],
)
def test_commitment_that_is_not_a_curve_point_is_an_invalid_proof(
    kzg: Any, sidecars: list[BlobSidecar], commitment: bytes
) -> None:
    good = sidecars[0]
    bad = replace(good, commitment=commitment)
    # The transaction commits to the bogus commitment, so only the curve check can catch it.
    with expect_error(InvalidBlobProof, "not a valid G1 point"):
        validate_blob_sidecars([compute_versioned_hash(commitment)], [bad], kzg)


def test_one_bad_sidecar_in_a_batch_fails_the_batch(kzg: Any, sidecars: list[BlobSidecar]) -> None:
    hashes = [s.versioned_hash for s in sidecars]
    bad = [sidecars[0], replace(sidecars[1], proof=sidecars[2].proof), sidecars[2]]
    with expect_error(InvalidBlobProof):
        validate_blob_sidecars(hashes, bad, kzg)


def test_sidecars_out_of_order_mismatch(kzg: Any, sidecars: list[BlobSidecar]) -> None:
    hashes = [sidecars[0].versioned_hash, sidecars[1].versioned_hash]
    with expect_error(BlobVersionedHashMismatch, "blob 0"):
        validate_blob_sidecars(hashes, [sidecars[1], sidecars[0]], kzg)


def test_versioned_hash_with_another_version_mismatches(
    kzg: Any, sidecars: list[BlobSidecar]
) -> None:
    good = sidecars[0]
    wrong_version = b"\x02" + good.versioned_hash[1:]
    with expect_error(BlobVersionedHashMismatch, "version 2, not 1"):
        validate_blob_sidecars([wrong_version], [good], kzg)


def test_more_blobs_than_the_limit(kzg: Any, sidecars: list[BlobSidecar]) -> None:
    hashes = [s.versioned_hash for s in sidecars]
    with expect_error(BlobLimitExceeded, "3 blobs, more than the limit of 2"):
        validate_blob_sidecars(hashes, sidecars, kzg, max_blobs=2)


def test_missing_or_extra_sidecar(kzg: Any, sidecars: list[BlobSidecar]) -> None:
    hashes = [s.versioned_hash for s in sidecars[:2]]
    with expect_error(MissingBlobData, "2 blobs are committed but 1 sidecars were given"):
        validate_blob_sidecars(hashes, sidecars[:1], kzg)
    with expect_error(MissingBlobData, "2 blobs are committed but 0 sidecars"):
        validate_blob_sidecars(hashes, [], kzg)
    with expect_error(MissingBlobData, "0 blobs are committed but 1 sidecars"):
        validate_blob_sidecars([], sidecars[:1], kzg)


# ----------------------------------------------------------------------------- point evaluation
def test_point_evaluation(kzg: Any, sidecars: list[BlobSidecar]) -> None:
    good, other = sidecars[0], sidecars[1]
    z = _fr(123456789)
    proof, y = (bytes(v) for v in ckzg.compute_kzg_proof(good.blob, z, kzg))
    vh = good.versioned_hash
    assert verify_point_evaluation(vh, z, y, good.commitment, proof, kzg) is True
    wrong_y = _fr(int.from_bytes(y, "big") + 1)
    assert verify_point_evaluation(vh, z, wrong_y, good.commitment, proof, kzg) is False
    assert verify_point_evaluation(vh, _fr(123456790), y, good.commitment, proof, kzg) is False
    other_proof, _ = ckzg.compute_kzg_proof(good.blob, _fr(5), kzg)
    assert verify_point_evaluation(vh, z, y, good.commitment, bytes(other_proof), kzg) is False
    assert verify_point_evaluation(vh, z, y, good.commitment, bytes(48), kzg) is False  # no point
    # Another blob's versioned hash, or the other blob's commitment behind the right hash.
    assert verify_point_evaluation(other.versioned_hash, z, y, good.commitment, proof, kzg) is False
    assert verify_point_evaluation(vh, z, y, other.commitment, proof, kzg) is False
    # Non-canonical z or y are refused rather than reduced.
    big = BLS_MODULUS.to_bytes(32, "big")
    assert verify_point_evaluation(vh, big, y, good.commitment, proof, kzg) is False
    assert verify_point_evaluation(vh, z, big, good.commitment, proof, kzg) is False


@pytest.mark.parametrize("index", [0, 1, 2, 1000, FIELD_ELEMENTS_PER_BLOB - 1])
def test_point_evaluation_proves_one_element_of_packed_data(kzg: Any, index: int) -> None:
    """The dispute case: the blob polynomial at ω^bit_reverse(i) is element i, so a proof at
    that point reveals 31 bytes of the packed data and nothing else."""
    data = random.Random(index).randbytes(USABLE_BYTES_PER_BLOB - 4)
    (blob,) = pack_data_into_blobs(data)
    sidecar = compute_blob_sidecar(blob, kzg)
    z = pow(ROOT_OF_UNITY, _bit_reverse(index), BLS_MODULUS).to_bytes(32, "big")
    proof, y = (bytes(v) for v in ckzg.compute_kzg_proof(blob, z, kzg))
    assert y == _element(blob, index)
    payload = len(data).to_bytes(4, "little") + data
    assert y[1:] == payload[31 * index : 31 * index + 31]
    assert verify_point_evaluation(sidecar.versioned_hash, z, y, sidecar.commitment, proof, kzg)


# ----------------------------------------------------------------------------- cells (EIP-7594)
def test_cells_verify_and_recover(kzg: Any, sidecars: list[BlobSidecar]) -> None:
    good, other = sidecars[0], sidecars[1]
    cells, proofs = compute_cells_and_proofs(good.blob, kzg)
    assert len(cells) == len(proofs) == CELLS_PER_EXT_BLOB
    assert all(len(c) == BYTES_PER_CELL for c in cells)
    # The first half of the extended blob is the blob itself.
    assert b"".join(cells[: CELLS_PER_EXT_BLOB // 2]) == good.blob
    sample = [3, 17, 64, 127]
    verify_cells(
        good.commitment, sample, [cells[i] for i in sample], [proofs[i] for i in sample], kzg
    )
    verify_cells(good.commitment, [], [], [], kzg)
    tampered = bytes([cells[17][0], cells[17][1] ^ 1]) + cells[17][2:]
    with expect_error(InvalidCellProof, "do not match the commitment"):
        verify_cells(good.commitment, [17], [tampered], [proofs[17]], kzg)
    with expect_error(InvalidCellProof, "do not match the commitment"):
        verify_cells(other.commitment, [3], [cells[3]], [proofs[3]], kzg)
    with expect_error(InvalidCellProof, "do not match the commitment"):
        verify_cells(good.commitment, [4], [cells[3]], [proofs[3]], kzg)  # wrong index
    with expect_error(InvalidCellProof, "outside 0..127"):
        verify_cells(good.commitment, [128], [cells[0]], [proofs[0]], kzg)
    with expect_error(InvalidCellProof, "same length"):
        verify_cells(good.commitment, [0, 1], [cells[0]], [proofs[0]], kzg)
    # Any half of the cells recovers the rest (the odd ones here); fewer cannot.
    odd = list(range(1, CELLS_PER_EXT_BLOB, 2))
    recovered, recovered_proofs = recover_cells(odd, [cells[i] for i in odd], kzg)
    assert recovered == cells
    assert recovered_proofs == proofs
    with expect_error(InvalidCellProof, "at least 64 distinct cells, got 63"):
        recover_cells(odd[:-1], [cells[i] for i in odd[:-1]], kzg)


# ----------------------------------------------------------------------------- tx commitment
def _rfc0032() -> tuple[Transaction, bytes]:
    vector = json.loads(RFC0032.read_text())
    tx = transaction_from_json(vector["transaction"])
    return tx, bytes.fromhex(vector["published_hash"].removeprefix("0x"))


def test_transaction_without_blobs_is_ckbs_exact_bytes() -> None:
    tx, published = _rfc0032()
    assert tx.raw.blob_versioned_hashes == ()
    assert len(unpack_dynvec(tx.raw.serialize())) == 6
    assert compute_tx_hash(tx) == published
    assert "blob_versioned_hashes" not in transaction_to_json(tx)


def test_transaction_with_blobs_commits_to_them(sidecars: list[BlobSidecar]) -> None:
    tx, published = _rfc0032()
    hashes = tuple(s.versioned_hash for s in sidecars[:2])
    blob_tx = Transaction(replace(tx.raw, blob_versioned_hashes=hashes), tx.witnesses)
    encoded = blob_tx.raw.serialize()
    fields = unpack_dynvec(encoded)
    assert len(fields) == 7
    assert fields[:6] == unpack_dynvec(tx.raw.serialize())
    assert fields[6] == pack_fixvec(list(hashes))
    assert compute_tx_hash(blob_tx) != published
    # Molecule round trip (raw and whole transaction).
    assert RawTransaction.deserialize(encoded) == blob_tx.raw
    assert Transaction.deserialize(blob_tx.serialize()) == blob_tx
    # JSON round trip, with the hash the JSON carries checked against the content.
    as_json = transaction_to_json(blob_tx)
    assert as_json["blob_versioned_hashes"] == ["0x" + h.hex() for h in hashes]
    assert as_json["hash"] == "0x" + compute_tx_hash(blob_tx).hex()
    assert transaction_from_json(as_json) == blob_tx
    # Changing, dropping or reordering one versioned hash changes the transaction hash.
    changed = (hashes[0], sidecars[2].versioned_hash)
    variants = {
        compute_tx_hash(Transaction(replace(tx.raw, blob_versioned_hashes=h), tx.witnesses))
        for h in (hashes, changed, hashes[:1], hashes[::-1])
    }
    assert len(variants) == 4
    assert published not in variants


def test_empty_blob_list_cannot_be_encoded_as_a_seventh_field() -> None:
    """Otherwise one blob-less transaction would have two encodings and two hashes."""
    tx, _ = _rfc0032()
    six = unpack_dynvec(tx.raw.serialize())
    with pytest.raises(MoleculeError, match="empty blob hash list must be omitted"):
        RawTransaction.deserialize(pack_table([*six, pack_fixvec([])]))
    with pytest.raises(MoleculeError, match="6 or 7 fields"):
        RawTransaction.deserialize(pack_table([*six, pack_fixvec([bytes(32)]), pack_fixvec([])]))


# ----------------------------------------------------------------------------- the node's chain
@dataclass
class Node:
    """The node's ``Chain`` over a SQLite file, with helpers to build blob blocks."""

    chain: NodeChain
    store: Store
    kzg: Any

    @property
    def preset(self) -> Preset:
        return self.chain.preset

    def lock(self, key: DevnetKey) -> Script:
        secp = self.chain.genesis.system_scripts["secp256k1_blake160_sighash_all"]
        return secp.script(key.lock_args)

    def blob_tx(self, key: DevnetKey, blobs: Sequence[BlobSidecar]) -> Transaction:
        """Spend ``key``'s genesis cell back to itself, committing to ``blobs``."""
        secp = self.chain.genesis.system_scripts["secp256k1_blake160_sighash_all"]
        with self.store.read() as conn:
            rows = self.store.search_cells(
                conn,
                lock_hash=compute_script_hash(self.lock(key)),
                type_hash=None,
                after_id=None,
                limit=1,
                descending=False,
            )
        cell = rows[0][1]
        output = CellOutput(cell.output.capacity - 10_000, self.lock(key))
        raw = RawTransaction(
            cell_deps=(secp.cell_dep,),
            inputs=(CellInput(cell.out_point),),
            outputs=(output,),
            outputs_data=(b"",),
            blob_versioned_hashes=tuple(s.versioned_hash for s in blobs),
        )
        return sign(Transaction(raw), key)

    def block(
        self,
        txs: Sequence[Transaction] = (),
        *,
        parent: bytes | None = None,
        preset: Preset | None = None,
    ) -> Block:
        """A mined block on ``parent`` (default: the tip) holding every one of ``txs``."""
        chain = self.chain
        parent_hash = parent if parent is not None else chain.tip.hash
        with self.store.read() as conn:
            assembled = assemble_block(
                preset or chain.preset,
                chain.parent_context(parent_hash),
                txs,
                StoreCellProvider(self.store, conn),
                MainChainHeaders(chain, chain.main),
                chain.registry,
                self.lock(DEVNET_KEYS[0]),
                chain.records[parent_hash].timestamp + 2_000,
            )
        assert not assembled.rejected, assembled.rejected
        assert len(assembled.block.transactions) == len(txs) + 1
        return seal(assembled.block)

    def state(self) -> tuple[Any, ...]:
        with self.store.read() as conn:
            live = sorted(tuple(row) for row in conn.execute(select(cells_table)).all())
            blob_rows = conn.execute(select(func.count()).select_from(blob_sidecars)).scalar()
        return live, list(self.chain.main), set(self.chain.records), blob_rows


@pytest.fixture
def node(tmp_path: Path, kzg: Any) -> Iterator[Node]:
    spec = chain_spec_from_json(json.loads(SPEC_PATH.read_text()))
    store = Store(f"sqlite:///{tmp_path / 'chain.sqlite'}")
    chain = NodeChain(
        store,
        build_genesis(spec),
        spec.preset,
        build_default_registry(allow_always_success=spec.preset.allow_always_success),
    )
    yield Node(chain, store, kzg)
    store.engine.dispose()


def _blob_txs(
    node: Node, count: int, per_tx: int, sidecars: list[BlobSidecar]
) -> tuple[list[Transaction], Sidecars]:
    txs, by_tx = [], {}
    for index in range(count):
        items = [sidecars[(index + i) % len(sidecars)] for i in range(per_tx)]
        tx = node.blob_tx(DEVNET_KEYS[index + 1], items)
        txs.append(tx)
        by_tx[compute_tx_hash(tx)] = tuple(items)
    return txs, by_tx


def test_block_with_more_blobs_than_the_block_limit_is_rejected(
    node: Node, sidecars: list[BlobSidecar]
) -> None:
    preset = node.preset
    per_tx = preset.max_blobs_per_tx
    count = preset.max_blobs_per_block // per_tx + 1
    txs, by_tx = _blob_txs(node, count, per_tx, sidecars)
    total = count * per_tx
    assert total > preset.max_blobs_per_block
    # Only a miner ignoring the limit builds this block.
    block = node.block(txs, preset=replace(preset, max_blobs_per_block=total))
    before = node.state()
    with expect_error(
        BlobLimitExceeded,
        f"block carries {total} blobs, over the limit of {preset.max_blobs_per_block}",
    ):
        node.chain.process_block(block, by_tx)
    assert node.state() == before
    assert compute_header_hash(block.header) not in node.chain.records


def test_block_over_the_blob_limit_is_rejected_even_without_its_sidecars(
    node: Node, sidecars: list[BlobSidecar]
) -> None:
    """The count is visible in the block itself: such a block can never become valid, so it must
    not be stored as "waiting for data" (no data could ever make it acceptable)."""
    preset = node.preset
    per_tx = preset.max_blobs_per_tx
    count = preset.max_blobs_per_block // per_tx + 1
    txs, _ = _blob_txs(node, count, per_tx, sidecars)
    total = count * per_tx
    block = node.block(txs, preset=replace(preset, max_blobs_per_block=total))
    before = node.state()
    with expect_error(BlobLimitExceeded, f"block carries {total} blobs"):
        node.chain.process_block(block, None)
    assert node.state() == before


def test_block_without_its_sidecars_waits_and_is_not_built_on(
    node: Node, sidecars: list[BlobSidecar]
) -> None:
    txs, by_tx = _blob_txs(node, 1, 2, sidecars)
    (tx_hash,) = by_tx
    block = node.block(txs)
    block_hash = compute_header_hash(block.header)
    genesis = node.chain.tip.hash
    live_before = node.state()[0]

    assert node.chain.process_block(block).status == "unavailable"
    assert node.chain.tip.hash == genesis
    assert node.state()[0] == live_before  # nothing of the block is applied
    # A heavier branch on top of it is stored but not chosen either.
    child = node.block(parent=block_hash)
    assert node.chain.process_block(child).status == "side"
    assert node.chain.tip.hash == genesis

    # Wrong data: refused with the specific error, nothing changes.
    wrong: Sidecars = {tx_hash: (by_tx[tx_hash][0], sidecars[2])}
    with expect_error(BlobVersionedHashMismatch, "blob 1"):
        node.chain.provide_sidecars(block_hash, wrong)
    forged: Sidecars = {
        tx_hash: (by_tx[tx_hash][0], replace(by_tx[tx_hash][1], proof=sidecars[2].proof))
    }
    with expect_error(InvalidBlobProof):
        node.chain.process_block(block, forged)
    with expect_error(MissingBlobData, "2 blobs are committed but 1"):
        node.chain.provide_sidecars(block_hash, {tx_hash: by_tx[tx_hash][:1]})
    with expect_error(MissingBlobData, "sidecars for transactions without blobs"):
        node.chain.provide_sidecars(block_hash, {**by_tx, bytes(32): (sidecars[0],)})
    assert node.chain.tip.hash == genesis

    # Late data: the block and the branch on it are accepted.
    assert node.chain.process_block(block, by_tx).status == "tip"
    assert node.chain.tip.hash == compute_header_hash(child.header)
    assert node.chain.is_main(block_hash)
    assert node.chain.get_sidecars(block_hash) == by_tx
    assert node.chain.process_block(block, by_tx).status == "duplicate"


def test_block_with_valid_sidecars_is_accepted(node: Node, sidecars: list[BlobSidecar]) -> None:
    txs, by_tx = _blob_txs(node, 2, 2, sidecars)
    block = node.block(txs)
    assert node.chain.process_block(block, by_tx).status == "tip"
    assert node.chain.get_sidecars(compute_header_hash(block.header)) == by_tx
    assert node.chain.blobs_for_block(block) == {
        tx_hash: tuple(s.blob for s in items) for tx_hash, items in by_tx.items()
    }


def test_block_beyond_the_retention_window_syncs_without_data(
    node: Node, sidecars: list[BlobSidecar]
) -> None:
    txs, _ = _blob_txs(node, 1, 1, sidecars)
    block = node.block(txs)
    assert node.chain.is_within_da_window(1)
    node.chain.best_header_number = 1 + node.preset.blob_retention_blocks
    assert not node.chain.is_within_da_window(1)
    assert node.chain.is_within_da_window(2)
    assert node.chain.process_block(block).status == "tip"


def test_block_stored_without_data_is_served_without_data(
    node: Node, tmp_path: Path, kzg: Any, sidecars: list[BlobSidecar]
) -> None:
    """A node that holds a blob block but not its blobs (synced beyond the retention window, or
    still waiting for the data) has no sidecars to give: ``get_sidecars`` says None (what
    ``/p2p/locate`` and ``/p2p/sidecars`` pass on), never an empty set that a peer would take
    for the block's complete data and reject as ``MissingBlobData``."""
    txs, _ = _blob_txs(node, 1, 1, sidecars)
    old = node.block(txs)
    node.chain.best_header_number = 1 + node.preset.blob_retention_blocks
    assert node.chain.process_block(old).status == "tip"
    waiting_tx = node.blob_tx(DEVNET_KEYS[5], sidecars[:1])
    waiting = node.block([waiting_tx])
    node.chain.best_header_number = 0  # now block 2 is recent: it waits for its data
    assert node.chain.process_block(waiting).status == "unavailable"
    assert node.chain.get_sidecars(compute_header_hash(old.header)) is None
    assert node.chain.get_sidecars(compute_header_hash(waiting.header)) is None

    # What a fresh peer syncing from this node receives for the old block: it must accept it.
    spec = chain_spec_from_json(json.loads(SPEC_PATH.read_text()))
    other_store = Store(f"sqlite:///{tmp_path / 'other.sqlite'}")
    try:
        other = NodeChain(other_store, build_genesis(spec), spec.preset, node.chain.registry)
        other.best_header_number = node.chain.best_header_number + 100
        served = node.chain.get_sidecars(compute_header_hash(old.header))
        assert other.process_block(old, served).status == "tip"
    finally:
        other_store.engine.dispose()
