"""Molecule, CKB's canonical serialization (RFC 0008).

Every hash in CKB is a hash of molecule bytes, so this module has to be exact to the byte:

- ``array``/``struct``: plain concatenation of fixed-size items, no header.
- ``fixvec``: ``u32`` item count, then the items.
- ``dynvec``/``table``: ``u32`` total size, one ``u32`` offset per item (from the start of the
  encoding), then the items. An empty dynvec is ``04000000``.
- ``option``: nothing for ``None``, the inner encoding otherwise.

Decoders are strict (RFC 0008 "verify"): sizes, offsets and counts must agree exactly, so a
malformed encoding from the network is refused instead of half-read.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

__all__ = [
    "MoleculeError",
    "pack_bytes",
    "pack_dynvec",
    "pack_fixvec",
    "pack_table",
    "pack_u32",
    "pack_u64",
    "pack_u128",
    "unpack_bytes",
    "unpack_dynvec",
    "unpack_fixvec",
    "unpack_table",
    "unpack_u32",
    "unpack_u64",
]

_U32_SIZE = 4


class MoleculeError(ValueError):
    """Bytes that are not a well-formed molecule encoding of the expected type."""


def pack_u32(value: int) -> bytes:
    return value.to_bytes(4, "little")


def pack_u64(value: int) -> bytes:
    return value.to_bytes(8, "little")


def pack_u128(value: int) -> bytes:
    return value.to_bytes(16, "little")


def unpack_u32(data: bytes, offset: int = 0) -> int:
    if len(data) < offset + 4:
        raise MoleculeError("truncated u32")
    return int.from_bytes(data[offset : offset + 4], "little")


def unpack_u64(data: bytes) -> int:
    if len(data) != 8:
        raise MoleculeError(f"u64 must be 8 bytes, got {len(data)}")
    return int.from_bytes(data, "little")


def pack_fixvec(items: Sequence[bytes]) -> bytes:
    """fixvec: item count then the concatenated fixed-size items."""
    return pack_u32(len(items)) + b"".join(items)


def pack_bytes(data: bytes) -> bytes:
    """``Bytes`` is ``fixvec<byte>``: a u32 length then the bytes."""
    return pack_u32(len(data)) + data


def pack_dynvec(items: Sequence[bytes]) -> bytes:
    """dynvec and table share one layout: total size, offsets, items."""
    header_size = _U32_SIZE * (1 + len(items))
    if not items:
        return pack_u32(header_size)
    offsets = []
    position = header_size
    for item in items:
        offsets.append(pack_u32(position))
        position += len(item)
    return pack_u32(position) + b"".join(offsets) + b"".join(items)


pack_table = pack_dynvec


def unpack_fixvec(data: bytes, item_size: int) -> list[bytes]:
    count = unpack_u32(data)
    if len(data) != _U32_SIZE + count * item_size:
        raise MoleculeError(
            f"fixvec of {count} items of {item_size} bytes must be "
            f"{_U32_SIZE + count * item_size} bytes, got {len(data)}"
        )
    return [data[4 + i * item_size : 4 + (i + 1) * item_size] for i in range(count)]


def unpack_bytes(data: bytes) -> bytes:
    return b"".join(unpack_fixvec(data, 1))


def unpack_dynvec(data: bytes) -> list[bytes]:
    total = unpack_u32(data)
    if total != len(data):
        raise MoleculeError(f"declared size {total} does not match {len(data)} bytes")
    if total == _U32_SIZE:
        return []
    first = unpack_u32(data, 4)
    if first % _U32_SIZE or first < 2 * _U32_SIZE or first > total:
        raise MoleculeError(f"bad first offset {first}")
    count = first // _U32_SIZE - 1
    offsets = [unpack_u32(data, 4 * (i + 1)) for i in range(count)] + [total]
    items = []
    for start, end in itertools.pairwise(offsets):
        if start > end:
            raise MoleculeError("offsets are not ascending")
        items.append(data[start:end])
    return items


def unpack_table(data: bytes, field_count: int, *, compatible: bool = False) -> list[bytes]:
    """Split a table into its fields; extra trailing fields are allowed only if ``compatible``."""
    fields = unpack_dynvec(data)
    if len(fields) < field_count or (len(fields) > field_count and not compatible):
        raise MoleculeError(f"table must have {field_count} fields, got {len(fields)}")
    return fields[:field_count]
