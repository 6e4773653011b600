"""Blobs and their KZG proofs: data availability on the real EIP-4844 / EIP-7594 cryptography.

A blob is 4096 field elements of 32 bytes (EIP-4844 ``BYTES_PER_BLOB`` = 131072); each element must
be below the BLS12-381 scalar modulus. A transaction commits to a blob through its versioned hash
``0x01 || sha256(commitment)[1:]`` (``kzg_to_versioned_hash``); the blob itself travels beside
the block as a sidecar (blob, commitment, proof) and never enters the cell set.

Arbitrary bytes are packed 31 to an element (the high byte of every element is zero, so any byte
string is a valid element): ``u32 length || data``, split in 31-byte chunks, zero-padded.

The KZG settings object (``ckzg.load_trusted_setup``) is passed in; loading it is I/O and
happens once per process in ``l1.kzg``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ckzg

from l1.core.errors import (
    BlobLimitExceeded,
    BlobVersionedHashMismatch,
    InvalidBlobProof,
    InvalidCellProof,
    MalformedBlob,
    MissingBlobData,
)

__all__ = [
    "BLS_MODULUS",
    "BYTES_PER_BLOB",
    "BYTES_PER_CELL",
    "CELLS_PER_EXT_BLOB",
    "FIELD_ELEMENTS_PER_BLOB",
    "USABLE_BYTES_PER_BLOB",
    "VERSIONED_HASH_VERSION_KZG",
    "BlobSidecar",
    "compute_blob_sidecar",
    "compute_cells_and_proofs",
    "compute_versioned_hash",
    "pack_data_into_blobs",
    "recover_cells",
    "unpack_data_from_blobs",
    "validate_blob",
    "validate_blob_sidecars",
    "verify_cells",
    "verify_point_evaluation",
]

FIELD_ELEMENTS_PER_BLOB = 4096
BYTES_PER_FIELD_ELEMENT = 32
BYTES_PER_BLOB = FIELD_ELEMENTS_PER_BLOB * BYTES_PER_FIELD_ELEMENT
USABLE_BYTES_PER_ELEMENT = 31
USABLE_BYTES_PER_BLOB = FIELD_ELEMENTS_PER_BLOB * USABLE_BYTES_PER_ELEMENT
BLS_MODULUS = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
VERSIONED_HASH_VERSION_KZG = 0x01
#: EIP-7594: the blob extended to 8192 evaluations, cut into 128 cells of 64 elements.
CELLS_PER_EXT_BLOB = 128
BYTES_PER_CELL = 2048
_LENGTH_PREFIX = 4

KzgSettings = Any  # ckzg.KZGSettings, opaque


@dataclass(frozen=True, slots=True)
class BlobSidecar:
    """A blob with its KZG commitment and proof (EIP-4844 ``BlobSidecar`` without the header)."""

    blob: bytes
    commitment: bytes
    proof: bytes

    @property
    def versioned_hash(self) -> bytes:
        return compute_versioned_hash(self.commitment)


def compute_versioned_hash(commitment: bytes) -> bytes:
    """``kzg_to_versioned_hash`` (EIP-4844)."""
    return bytes([VERSIONED_HASH_VERSION_KZG]) + hashlib.sha256(commitment).digest()[1:]


def pack_data_into_blobs(data: bytes) -> list[bytes]:
    """``u32 length || data`` packed 31 bytes per field element into as many blobs as needed."""
    payload = len(data).to_bytes(_LENGTH_PREFIX, "little") + data
    blobs = []
    for start in range(0, max(len(payload), 1), USABLE_BYTES_PER_BLOB):
        chunk = payload[start : start + USABLE_BYTES_PER_BLOB]
        elements = [
            b"\x00"
            + chunk[i : i + USABLE_BYTES_PER_ELEMENT].ljust(USABLE_BYTES_PER_ELEMENT, b"\x00")
            for i in range(0, len(chunk), USABLE_BYTES_PER_ELEMENT)
        ]
        blobs.append(b"".join(elements).ljust(BYTES_PER_BLOB, b"\x00"))
    return blobs


def unpack_data_from_blobs(blobs: Sequence[bytes]) -> bytes:
    """Inverse of ``pack_data_into_blobs``; raises ``MalformedBlob`` on anything else."""
    payload = bytearray()
    for blob in blobs:
        if len(blob) != BYTES_PER_BLOB:
            raise MalformedBlob(f"a blob is {BYTES_PER_BLOB} bytes, got {len(blob)}")
        for offset in range(0, BYTES_PER_BLOB, BYTES_PER_FIELD_ELEMENT):
            if blob[offset] != 0:
                raise MalformedBlob(f"element {offset // 32} has a non-zero high byte")
            payload += blob[offset + 1 : offset + BYTES_PER_FIELD_ELEMENT]
    if len(payload) < _LENGTH_PREFIX:
        raise MalformedBlob("no length prefix")
    length = int.from_bytes(payload[:_LENGTH_PREFIX], "little")
    if length > len(payload) - _LENGTH_PREFIX:
        raise MalformedBlob(f"length prefix {length} exceeds the blob data")
    return bytes(payload[_LENGTH_PREFIX : _LENGTH_PREFIX + length])


def validate_blob(blob: bytes) -> None:
    """Size and canonical field elements (each < BLS_MODULUS, big-endian), as ckzg requires."""
    if len(blob) != BYTES_PER_BLOB:
        raise MalformedBlob(f"a blob is {BYTES_PER_BLOB} bytes, got {len(blob)}")
    for index in range(FIELD_ELEMENTS_PER_BLOB):
        element = blob[index * 32 : index * 32 + 32]
        if element[0] >= 0x73 and int.from_bytes(element, "big") >= BLS_MODULUS:
            raise MalformedBlob(f"field element {index} is not below the BLS12-381 modulus")


def compute_blob_sidecar(blob: bytes, settings: KzgSettings) -> BlobSidecar:
    validate_blob(blob)
    commitment = ckzg.blob_to_kzg_commitment(blob, settings)
    proof = ckzg.compute_blob_kzg_proof(blob, commitment, settings)
    return BlobSidecar(blob, bytes(commitment), bytes(proof))


def validate_blob_sidecars(
    versioned_hashes: Sequence[bytes],
    sidecars: Sequence[BlobSidecar],
    settings: KzgSettings,
    max_blobs: int | None = None,
) -> None:
    """Every committed versioned hash has a sidecar, in order, whose commitment hashes to it and
    whose proof opens it to the blob (``verify_blob_kzg_proof_batch``)."""
    if max_blobs is not None and len(versioned_hashes) > max_blobs:
        raise BlobLimitExceeded(
            f"{len(versioned_hashes)} blobs, more than the limit of {max_blobs}"
        )
    if len(sidecars) != len(versioned_hashes):
        raise MissingBlobData(
            f"{len(versioned_hashes)} blobs are committed but {len(sidecars)} sidecars were given"
        )
    for index, (expected, sidecar) in enumerate(zip(versioned_hashes, sidecars, strict=True)):
        if len(sidecar.commitment) != 48 or len(sidecar.proof) != 48:
            raise MalformedBlob(f"blob {index}: commitment and proof are 48-byte G1 points")
        if expected[:1] != bytes([VERSIONED_HASH_VERSION_KZG]):
            raise BlobVersionedHashMismatch(
                f"blob {index}: versioned hash has version {expected[0]}, not 1"
            )
        if sidecar.versioned_hash != expected:
            raise BlobVersionedHashMismatch(
                f"blob {index}: commitment hashes to {sidecar.versioned_hash.hex()}, "
                f"the transaction commits to {expected.hex()}"
            )
        validate_blob(sidecar.blob)
    if not sidecars:
        return
    try:
        valid = ckzg.verify_blob_kzg_proof_batch(
            b"".join(s.blob for s in sidecars),
            b"".join(s.commitment for s in sidecars),
            b"".join(s.proof for s in sidecars),
            settings,
        )
    except RuntimeError as exc:  # ckzg raises on points that are not on the curve / subgroup
        raise InvalidBlobProof(f"commitment or proof is not a valid G1 point: {exc}") from None
    if not valid:
        raise InvalidBlobProof("the KZG proof does not open the commitment to this blob")


def verify_point_evaluation(
    versioned_hash: bytes,
    z: bytes,
    y: bytes,
    commitment: bytes,
    proof: bytes,
    settings: KzgSettings,
) -> bool:
    """EIP-4844's point-evaluation check: ``p(z) = y`` for the blob behind ``versioned_hash``.

    This is how a verifier plug-in learns one element of a blob (for example one rollup
    transaction) without the L1 reading the blob: the blob polynomial evaluated at the element's
    root of unity equals that element.
    """
    if compute_versioned_hash(commitment) != versioned_hash:
        return False
    if int.from_bytes(z, "big") >= BLS_MODULUS or int.from_bytes(y, "big") >= BLS_MODULUS:
        return False
    try:
        return bool(ckzg.verify_kzg_proof(commitment, z, y, proof, settings))
    except RuntimeError:
        return False


def compute_cells_and_proofs(blob: bytes, settings: KzgSettings) -> tuple[list[bytes], list[bytes]]:
    """EIP-7594 ``compute_cells_and_kzg_proofs``: 128 cells of 2048 bytes and their proofs."""
    cells, proofs = ckzg.compute_cells_and_kzg_proofs(blob, settings)
    return [bytes(c) for c in cells], [bytes(p) for p in proofs]


def verify_cells(
    commitment: bytes,
    indices: Sequence[int],
    cells: Sequence[bytes],
    proofs: Sequence[bytes],
    settings: KzgSettings,
) -> None:
    """``verify_cell_kzg_proof_batch`` for cells of one blob; raises ``InvalidCellProof``."""
    if not (len(indices) == len(cells) == len(proofs)):
        raise InvalidCellProof("indices, cells and proofs must have the same length")
    for index, cell, proof in zip(indices, cells, proofs, strict=True):
        if not 0 <= index < CELLS_PER_EXT_BLOB:
            raise InvalidCellProof(f"cell index {index} is outside 0..{CELLS_PER_EXT_BLOB - 1}")
        if len(cell) != BYTES_PER_CELL or len(proof) != 48:
            raise InvalidCellProof(f"cell {index}: a cell is {BYTES_PER_CELL} bytes and a proof 48")
    if not indices:
        return
    try:
        valid = ckzg.verify_cell_kzg_proof_batch(
            [commitment] * len(indices), list(indices), list(cells), list(proofs), settings
        )
    except RuntimeError as exc:
        raise InvalidCellProof(f"malformed cell or proof: {exc}") from None
    if not valid:
        raise InvalidCellProof("cell proofs do not match the commitment")


def recover_cells(
    indices: Sequence[int], cells: Sequence[bytes], settings: KzgSettings
) -> tuple[list[bytes], list[bytes]]:
    """EIP-7594 reconstruction from at least half of the cells."""
    if len(set(indices)) * 2 < CELLS_PER_EXT_BLOB:
        raise InvalidCellProof(
            f"recovery needs at least {CELLS_PER_EXT_BLOB // 2} distinct cells, got {len(set(indices))}"
        )
    try:
        recovered, proofs = ckzg.recover_cells_and_kzg_proofs(list(indices), list(cells), settings)
    except RuntimeError as exc:
        raise InvalidCellProof(f"cells cannot be recovered: {exc}") from None
    return [bytes(c) for c in recovered], [bytes(p) for p in proofs]
