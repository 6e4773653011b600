"""What the explorer can say about one blob without knowing which batch it belongs to.

A batch's data is packed into blobs as 31-byte chunks of 32-byte field elements (``l2.batch``):
the first blob of a batch opens with a 4-byte length prefix and the 120-byte batch header
(version, ``tx_count``), which together fill exactly one record slot; every later slot holds one
124-byte record whose first byte is its kind.  So a blob that starts with a valid header is the
first blob of a batch and says how many records the batch has; the kinds of the first records
are read slot by slot, as derivation reads them (``l2.batch.get_record_from_blobs``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from l1.core.blobs import BYTES_PER_BLOB
from l2.batch import (
    BATCH_VERSION,
    ELEMENTS_PER_RECORD,
    RECORDS_PER_BLOB,
    compute_record_from_elements,
    get_record_from_blobs,
)
from l2.tx import TxKind

__all__ = ["BlobSummary", "compute_blob_summary"]

#: How many leading bytes of the blob the summary shows (hex).
PREVIEW_BYTES: Final = 64
#: How many record kinds the summary lists at most.
MAX_KINDS: Final = 16
_KIND_NAMES: Final = {
    int(TxKind.DEPOSIT): "deposit",
    int(TxKind.TRANSFER): "transfer",
    int(TxKind.WITHDRAW): "withdraw",
}
_ELEMENT: Final = 32


@dataclass(frozen=True, slots=True)
class BlobSummary:
    """A blob's size, its first bytes and, for the first blob of a batch, the batch header's
    version and record count and the kinds of its first records (``None`` when the blob does
    not start with a batch header: a later blob of a multi-blob batch, or not batch data)."""

    size: int
    first_bytes: bytes
    batch_version: int | None
    record_count: int | None
    records_in_blob: int | None
    record_kinds: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "first_bytes": "0x" + self.first_bytes.hex(),
            "batch_version": self.batch_version,
            "record_count": self.record_count,
            "records_in_blob": self.records_in_blob,
            "record_kinds": list(self.record_kinds),
        }


def get_record_kind_name(record: bytes) -> str:
    """``deposit``, ``transfer``, ``withdraw`` or ``invalid`` (a slot that is no record: inside a
    posted batch it is a no-op, so the explorer names it rather than failing)."""
    return _KIND_NAMES.get(record[0], "invalid") if record else "invalid"


def compute_blob_summary(blob: bytes) -> BlobSummary:
    """Summarize ``blob``; never raises on content (any bytes are something to show)."""
    first = blob[:PREVIEW_BYTES]
    if len(blob) != BYTES_PER_BLOB:
        return BlobSummary(len(blob), first, None, None, None, ())
    # Slot 0: the length prefix and the header, read as a record slot is.
    head = compute_record_from_elements(
        [blob[_ELEMENT * e : _ELEMENT * (e + 1)] for e in range(ELEMENTS_PER_RECORD)]
    )
    version, tx_count = head[4], int.from_bytes(head[5:9], "little")
    if version != BATCH_VERSION or any(head[9:]):
        return BlobSummary(len(blob), first, None, None, None, ())
    in_blob = min(tx_count, RECORDS_PER_BLOB - 1)
    kinds = tuple(
        get_record_kind_name(get_record_from_blobs([blob], index))
        for index in range(min(in_blob, MAX_KINDS))
    )
    return BlobSummary(len(blob), first, version, tx_count, in_blob, kinds)
