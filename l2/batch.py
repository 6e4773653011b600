"""Batch data, its packing into blobs, and the batch commitment (DESIGN.md §3; docs/protocol.md).

**Batch data** (what the blobs carry)::

    header (120 bytes):  version u8 = 1 | tx_count u32 LE | 115 reserved bytes, all zero
    records:             tx_count x 124-byte records (``l2.tx``)

No compression: records must stay at computable offsets so one transaction can be opened from a
blob on its own, and a decoder without a decompressor has no bomb to defuse (catalogue D2).

**Packing.**  The data goes through ``l1.core.blobs.pack_data_into_blobs``: ``u32 length || data``,
31 bytes per field element (element byte 0 is zero), 4096 elements per blob.  The 4-byte length
prefix plus the 120-byte header fill exactly the first 4 elements, and a record is exactly 4
elements, so::

    record i occupies global elements 4(i + 1) .. 4(i + 1) + 3
    blob index        = (i + 1) // 1024
    first element     = 4 * ((i + 1) % 1024)   (within that blob)

and no record ever straddles two blobs (4096 is a multiple of 4).  The long header costs nothing:
with any header of one to four elements a blob holds the same 1023 records (1024k - 1 in k
blobs), because records come in whole groups of four elements.

**Commitment.**  ``BatchCommitment`` is what the proposer posts in the rollup's L1 cell: a
molecule-style fixed serialization (all integers little-endian)::

    batch_number u64 | prev_root [32] | new_root [32] | l1_block_hash [32] | tx_count u32 |
    deposit_start u32 | deposit_end u32 | withdrawals_root [32] |
    blob_versioned_hashes: fixvec<Byte32> (u32 count | count x 32 bytes)

and its hash is ``ckbhash`` of those bytes.  ``[deposit_start, deposit_end)`` is the deposit-queue
range the batch consumed; ``withdrawals_root`` is the final *withdrawal chain*
(``w_0 = 0³²``, ``w_{k+1} = ckbhash(w_k ‖ compute_withdrawal_hash(withdrawal_k))``, 32 zero bytes
for none).  A chain rather than a Merkle root because the dispute trace (``l2.dispute``) carries
the chain after every record: a one-step proof then updates it with one hash, and a wrong
withdrawals root is bisected exactly like a wrong state root (docs/disputes.md §1).

**Reading by position.**  Derivation and the one-step proof read the same thing: the
commitment's ``tx_count`` record slots at their fixed element positions (``get_batch_records``).
The header is not read for the state transition, and a slot that does not hold four canonical
31-byte elements reads as ``INVALID_SLOT_RECORD``, which never decodes: an invalid record, a
no-op with a trace position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from l1.ckb.hashing import ckbhash
from l1.core.blobs import (
    BYTES_PER_BLOB,
    FIELD_ELEMENTS_PER_BLOB,
    USABLE_BYTES_PER_ELEMENT,
    VERSIONED_HASH_VERSION_KZG,
    pack_data_into_blobs,
    unpack_data_from_blobs,
)
from l1.core.errors import MalformedBlob
from l2.config import RollupConfig
from l2.errors import (
    BatchTooLarge,
    FieldOutOfRange,
    InvalidBatchHeader,
    InvalidCommitmentEncoding,
    InvalidRecord,
    MalformedBatchData,
    TrailingBatchData,
    TruncatedBatch,
    UnknownBatchVersion,
)
from l2.preset import L2Preset
from l2.stf import BatchResult
from l2.tx import (
    RECORD_SIZE,
    Transaction,
    Withdrawal,
    compute_withdrawal_hash,
    decode_record,
    encode_record,
)

__all__ = [
    "BATCH_HEADER_SIZE",
    "BATCH_VERSION",
    "COMMITMENT_FIXED_SIZE",
    "ELEMENTS_PER_RECORD",
    "INVALID_SLOT_RECORD",
    "RECORDS_PER_BLOB",
    "BatchCommitment",
    "RecordLocation",
    "compute_batch_blobs",
    "compute_batch_commitment",
    "compute_batch_data_size",
    "compute_next_withdrawals_chain",
    "compute_record_from_elements",
    "compute_withdrawals_root",
    "decode_batch",
    "decode_batch_blobs",
    "decode_batch_records",
    "encode_batch",
    "encode_batch_records",
    "get_batch_records",
    "get_blob_count",
    "get_record_from_blobs",
    "get_record_location",
]

BATCH_VERSION: Final = 1
BATCH_HEADER_SIZE: Final = 120
_BLOB_LENGTH_PREFIX: Final = 4
ELEMENTS_PER_RECORD: Final = RECORD_SIZE // USABLE_BYTES_PER_ELEMENT
_HEADER_ELEMENTS: Final = (_BLOB_LENGTH_PREFIX + BATCH_HEADER_SIZE) // USABLE_BYTES_PER_ELEMENT
#: Record slots per blob, counting the slot the header takes in the first blob.
RECORDS_PER_BLOB: Final = FIELD_ELEMENTS_PER_BLOB // ELEMENTS_PER_RECORD
COMMITMENT_FIXED_SIZE: Final = 8 + 32 * 3 + 4 * 3 + 32
#: What a record slot reads as when one of its elements has a non-zero first byte (so it is not
#: four 31-byte chunks of data): kind 0, which ``decode_record`` always refuses
#: (``InvalidRecord``: "unknown transaction kind 0").  Only derivation-side reading produces it;
#: ``pack_data_into_blobs`` never writes such an element.
INVALID_SLOT_RECORD: Final = bytes(RECORD_SIZE)
_BYTES_PER_ELEMENT: Final = 32

# The offsets formula relies on RECORD_SIZE and 4 + BATCH_HEADER_SIZE both being 4 whole
# elements and on 4 dividing 4096; tests/l2/test_batch.py pins all three.


# ----------------------------------------------------------------------------- batch data
def _encode_header(tx_count: int) -> bytes:
    return bytes([BATCH_VERSION]) + tx_count.to_bytes(4, "little") + bytes(BATCH_HEADER_SIZE - 5)


def encode_batch_records(records: Sequence[bytes]) -> bytes:
    """Header + records; every record must be ``RECORD_SIZE`` bytes (they are not decoded)."""
    for index, record in enumerate(records):
        if len(record) != RECORD_SIZE:
            raise FieldOutOfRange(f"record {index} is {len(record)} bytes, not {RECORD_SIZE}")
    return _encode_header(len(records)) + b"".join(records)


def encode_batch(txs: Sequence[Transaction]) -> bytes:
    return encode_batch_records([encode_record(tx) for tx in txs])


def compute_batch_data_size(tx_count: int) -> int:
    return BATCH_HEADER_SIZE + RECORD_SIZE * tx_count


def decode_batch_records(data: bytes, preset: L2Preset) -> tuple[bytes, ...]:
    """Check the header and split the records (which are *not* decoded: inside a posted batch an
    undecodable record is a no-op, see ``l2.stf.apply_batch``).

    Raises, in this order: ``TruncatedBatch`` (no version byte), ``UnknownBatchVersion``,
    ``TruncatedBatch`` (short header), ``InvalidBatchHeader`` (reserved bytes),
    ``BatchTooLarge``, ``TruncatedBatch`` / ``TrailingBatchData`` (length vs. tx_count).
    Memory stays bounded: nothing is allocated from the claimed count before the length matches.
    """
    if not data:
        raise TruncatedBatch("empty batch data")
    if data[0] != BATCH_VERSION:
        raise UnknownBatchVersion(f"batch version {data[0]}, this node knows {BATCH_VERSION}")
    if len(data) < BATCH_HEADER_SIZE:
        raise TruncatedBatch(f"batch header is {BATCH_HEADER_SIZE} bytes, got {len(data)}")
    if any(data[5:BATCH_HEADER_SIZE]):
        raise InvalidBatchHeader("reserved header bytes must be zero")
    tx_count = int.from_bytes(data[1:5], "little")
    if tx_count > preset.max_txs_per_batch:
        raise BatchTooLarge(
            f"{tx_count} transactions, more than the preset's {preset.max_txs_per_batch}"
        )
    expected = compute_batch_data_size(tx_count)
    if len(data) < expected:
        raise TruncatedBatch(f"{tx_count} records need {expected} bytes, got {len(data)}")
    if len(data) > expected:
        raise TrailingBatchData(f"{len(data) - expected} bytes after {tx_count} records")
    return tuple(
        data[BATCH_HEADER_SIZE + i * RECORD_SIZE : BATCH_HEADER_SIZE + (i + 1) * RECORD_SIZE]
        for i in range(tx_count)
    )


def decode_batch(data: bytes, config: RollupConfig) -> tuple[Transaction, ...]:
    """Strict decoding: the header and every record must be valid (``InvalidRecord`` names the
    first bad record).  For tools and tests; derivation uses ``get_batch_records``."""
    records = decode_batch_records(data, config.preset)
    decoded: list[Transaction] = []
    for index, record in enumerate(records):
        try:
            decoded.append(decode_record(record, config.profile))
        except InvalidRecord as exc:
            raise InvalidRecord(f"record {index}: {exc}") from None
    return tuple(decoded)


def compute_batch_blobs(txs: Sequence[Transaction]) -> list[bytes]:
    """The blobs that carry ``txs`` (``pack_data_into_blobs(encode_batch(txs))``)."""
    return pack_data_into_blobs(encode_batch(txs))


def decode_batch_blobs(blobs: Sequence[bytes], preset: L2Preset) -> tuple[bytes, ...]:
    """The records carried by ``blobs``.

    The blobs must be exactly the canonical packing of the batch data -- the right number of
    blobs, zero high bytes, zero padding after the data -- otherwise ``MalformedBatchData``.
    A strict check for tools and the sequencer's own output; derivation does not use it but
    reads slots by position (``get_batch_records``), the reading a one-step proof can open.
    """
    if not blobs:
        raise MalformedBatchData("a batch has at least one blob")
    if len(blobs) > preset.max_blobs_per_batch:
        raise MalformedBatchData(
            f"{len(blobs)} blobs, more than the preset's {preset.max_blobs_per_batch}"
        )
    try:
        data = unpack_data_from_blobs(blobs)
    except MalformedBlob as exc:
        raise MalformedBatchData(str(exc)) from None
    if pack_data_into_blobs(data) != list(blobs):
        raise MalformedBatchData("blobs are not the canonical packing of their data")
    return decode_batch_records(data, preset)


@dataclass(frozen=True, slots=True)
class RecordLocation:
    """Where record ``i`` lives: ``element_count`` elements from ``first_element`` of blob
    ``blob_index``; each element's bytes 1..31 hold 31 bytes of the record, in order."""

    blob_index: int
    first_element: int
    element_count: int = ELEMENTS_PER_RECORD


def get_record_location(index: int) -> RecordLocation:
    """The formula of the module docstring (what a one-step proof opens with KZG)."""
    if index < 0:
        raise FieldOutOfRange("record index must be non-negative")
    slot = index + 1
    return RecordLocation(slot // RECORDS_PER_BLOB, ELEMENTS_PER_RECORD * (slot % RECORDS_PER_BLOB))


def compute_record_from_elements(elements: Sequence[bytes]) -> bytes:
    """The record a slot's four 32-byte field elements carry: bytes 1..31 of each, in order.

    If an element's first byte is not zero the slot is not packed data, and it reads as
    ``INVALID_SLOT_RECORD`` (which fails to decode: a no-op).  Derivation and the one-step
    verifier (which learns the elements from KZG openings) both go through this function, so
    they cannot read a slot differently.
    """
    if len(elements) != ELEMENTS_PER_RECORD:
        raise MalformedBatchData(f"a record is {ELEMENTS_PER_RECORD} elements")
    for element in elements:
        if len(element) != _BYTES_PER_ELEMENT:
            raise MalformedBatchData(f"a field element is {_BYTES_PER_ELEMENT} bytes")
    if any(element[0] for element in elements):
        return INVALID_SLOT_RECORD
    return b"".join(element[1:] for element in elements)


def get_record_from_blobs(blobs: Sequence[bytes], index: int) -> bytes:
    """Read record slot ``index`` straight from its field elements, without unpacking the batch
    (``compute_record_from_elements``: a slot with a non-canonical element reads as
    ``INVALID_SLOT_RECORD``).  ``MalformedBatchData`` if its blob is not given."""
    location = get_record_location(index)
    if location.blob_index >= len(blobs) or len(blobs[location.blob_index]) != BYTES_PER_BLOB:
        raise MalformedBatchData(f"record {index} lies in blob {location.blob_index}, not given")
    blob = blobs[location.blob_index]
    return compute_record_from_elements(
        [
            blob[_BYTES_PER_ELEMENT * e : _BYTES_PER_ELEMENT * (e + 1)]
            for e in range(location.first_element, location.first_element + location.element_count)
        ]
    )


def get_blob_count(tx_count: int) -> int:
    """Blobs a batch of ``tx_count`` records spans: ``ceil((tx_count + 1) / 1024)`` (the header
    takes the first slot).  The L1 requires exactly this many at submission."""
    if tx_count < 0:
        raise FieldOutOfRange("tx_count must be non-negative")
    return (tx_count + RECORDS_PER_BLOB) // RECORDS_PER_BLOB


def get_batch_records(blobs: Sequence[bytes], tx_count: int) -> tuple[bytes, ...]:
    """The ``tx_count`` record slots of a posted batch, read by position (124 bytes each).

    This is *the* reading of batch data for the state transition (docs/disputes.md §1): the
    commitment's ``tx_count`` says how many records there are, the header is ignored, and a slot
    that is not packed data reads as ``INVALID_SLOT_RECORD``.  It never judges the bytes, so it
    raises only ``MalformedBatchData`` when the blobs holding the slots are not given (or are not
    blob-sized) -- never on content.  Blobs beyond the ones needed are not read.
    """
    needed = get_blob_count(tx_count)
    if len(blobs) < needed:
        raise MalformedBatchData(f"{tx_count} records need {needed} blobs, got {len(blobs)}")
    for index in range(needed):
        if len(blobs[index]) != BYTES_PER_BLOB:
            raise MalformedBatchData(f"blob {index} is {len(blobs[index])} bytes")
    return tuple(get_record_from_blobs(blobs, i) for i in range(tx_count))


# ----------------------------------------------------------------------------- commitment
def compute_next_withdrawals_chain(
    chain: bytes, withdrawal: Withdrawal, config: RollupConfig
) -> bytes:
    """One link of the withdrawal chain: ``ckbhash(chain ‖ compute_withdrawal_hash(w))``.

    The one-step verifier applies exactly this after a record that withdraws, so the trace's
    chain and the commitment's ``withdrawals_root`` are the same fold."""
    if len(chain) != 32:
        raise FieldOutOfRange("a withdrawal chain is 32 bytes")
    return ckbhash(chain + compute_withdrawal_hash(withdrawal, config))


def compute_withdrawals_root(withdrawals: Sequence[Withdrawal], config: RollupConfig) -> bytes:
    """The withdrawal chain folded over the withdrawals in batch order (``0³²`` for none).

    The L1 recomputes it from the withdrawals listed at finalization (docs/disputes.md §3)."""
    chain = bytes(32)
    for withdrawal in withdrawals:
        chain = compute_next_withdrawals_chain(chain, withdrawal, config)
    return chain


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != 32:
        raise FieldOutOfRange(f"{what} must be 32 bytes")


@dataclass(frozen=True, slots=True)
class BatchCommitment:
    batch_number: int
    prev_root: bytes
    new_root: bytes
    l1_block_hash: bytes
    tx_count: int
    deposit_start: int
    deposit_end: int
    withdrawals_root: bytes
    blob_versioned_hashes: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if isinstance(self.batch_number, bool) or not 0 <= self.batch_number < 1 << 64:
            raise FieldOutOfRange("batch number must be a u64")
        for name in ("prev_root", "new_root", "l1_block_hash", "withdrawals_root"):
            _check_hash(getattr(self, name), name)
        for name in ("tx_count", "deposit_start", "deposit_end"):
            value = getattr(self, name)
            if isinstance(value, bool) or not 0 <= value < 1 << 32:
                raise FieldOutOfRange(f"{name} must be a u32")
        if self.deposit_end < self.deposit_start:
            raise FieldOutOfRange("deposit_end is before deposit_start")
        if not isinstance(self.blob_versioned_hashes, tuple) or not self.blob_versioned_hashes:
            raise FieldOutOfRange("a batch commits to a non-empty tuple of blob versioned hashes")
        for versioned_hash in self.blob_versioned_hashes:
            _check_hash(versioned_hash, "blob versioned hash")
            if versioned_hash[0] != VERSIONED_HASH_VERSION_KZG:
                raise FieldOutOfRange("blob versioned hashes start with 0x01 (EIP-4844)")

    @property
    def deposit_count(self) -> int:
        return self.deposit_end - self.deposit_start

    def serialize(self) -> bytes:
        return b"".join(
            [
                self.batch_number.to_bytes(8, "little"),
                self.prev_root,
                self.new_root,
                self.l1_block_hash,
                self.tx_count.to_bytes(4, "little"),
                self.deposit_start.to_bytes(4, "little"),
                self.deposit_end.to_bytes(4, "little"),
                self.withdrawals_root,
                len(self.blob_versioned_hashes).to_bytes(4, "little"),
                *self.blob_versioned_hashes,
            ]
        )

    @classmethod
    def deserialize(cls, data: bytes) -> BatchCommitment:
        """Strict inverse of ``serialize`` (``InvalidCommitmentEncoding`` otherwise)."""
        if len(data) < COMMITMENT_FIXED_SIZE + 4:
            raise InvalidCommitmentEncoding(
                f"a commitment is at least {COMMITMENT_FIXED_SIZE + 4} bytes"
            )
        count = int.from_bytes(data[COMMITMENT_FIXED_SIZE : COMMITMENT_FIXED_SIZE + 4], "little")
        if len(data) != COMMITMENT_FIXED_SIZE + 4 + 32 * count:
            raise InvalidCommitmentEncoding(
                f"{count} versioned hashes need {COMMITMENT_FIXED_SIZE + 4 + 32 * count} bytes, "
                f"got {len(data)}"
            )
        start = COMMITMENT_FIXED_SIZE + 4
        try:
            return cls(
                batch_number=int.from_bytes(data[0:8], "little"),
                prev_root=data[8:40],
                new_root=data[40:72],
                l1_block_hash=data[72:104],
                tx_count=int.from_bytes(data[104:108], "little"),
                deposit_start=int.from_bytes(data[108:112], "little"),
                deposit_end=int.from_bytes(data[112:116], "little"),
                withdrawals_root=data[116:148],
                blob_versioned_hashes=tuple(
                    data[start + 32 * i : start + 32 * (i + 1)] for i in range(count)
                ),
            )
        except FieldOutOfRange as exc:
            raise InvalidCommitmentEncoding(str(exc)) from None

    def compute_hash(self) -> bytes:
        return ckbhash(self.serialize())


def compute_batch_commitment(
    batch_number: int,
    result: BatchResult,
    blob_versioned_hashes: Sequence[bytes],
    l1_block_hash: bytes,
    config: RollupConfig,
) -> BatchCommitment:
    """The commitment for a batch the sequencer applied (``result``) and packed into blobs."""
    return BatchCommitment(
        batch_number=batch_number,
        prev_root=result.pre_root,
        new_root=result.post_root,
        l1_block_hash=l1_block_hash,
        tx_count=result.tx_count,
        deposit_start=result.deposit_start,
        deposit_end=result.deposit_end,
        withdrawals_root=compute_withdrawals_root(result.withdrawals, config),
        blob_versioned_hashes=tuple(blob_versioned_hashes),
    )
