"""CKB's wire objects as frozen dataclasses, with their molecule encodings.

The field layout is CKB's ``blockchain.mol`` (RFC 0019/0022/0027), so that hashes of these
objects are CKB's hashes and real CKB data can be loaded and checked. One deliberate extension:
``RawTransaction.blob_versioned_hashes`` (EIP-4844 versioned hashes) is serialized as a seventh,
trailing table field *only when it is non-empty*, so every transaction without blobs has exactly
CKB's bytes and hash (molecule tables admit trailing fields in compatible mode, RFC 0008).
"""

from __future__ import annotations

from dataclasses import dataclass

from l1.ckb.molecule import (
    MoleculeError,
    pack_bytes,
    pack_dynvec,
    pack_fixvec,
    pack_table,
    pack_u32,
    pack_u64,
    pack_u128,
    unpack_bytes,
    unpack_dynvec,
    unpack_fixvec,
    unpack_table,
    unpack_u32,
    unpack_u64,
)

__all__ = [
    "DEP_TYPE_CODE",
    "DEP_TYPE_DEP_GROUP",
    "HASH_TYPE_DATA",
    "HASH_TYPE_DATA1",
    "HASH_TYPE_DATA2",
    "HASH_TYPE_TYPE",
    "NULL_OUT_POINT",
    "Block",
    "CellDep",
    "CellInput",
    "CellOutput",
    "CellbaseWitness",
    "Header",
    "OutPoint",
    "RawHeader",
    "RawTransaction",
    "Script",
    "Transaction",
    "UncleBlock",
    "WitnessArgs",
]

HASH_TYPE_DATA = 0
HASH_TYPE_TYPE = 1
HASH_TYPE_DATA1 = 2
HASH_TYPE_DATA2 = 4
#: hash_type values CKB2023 enables for scripts (``ENABLED_SCRIPT_HASH_TYPE``).
ENABLED_HASH_TYPES = frozenset({HASH_TYPE_DATA, HASH_TYPE_TYPE, HASH_TYPE_DATA1, HASH_TYPE_DATA2})

DEP_TYPE_CODE = 0
DEP_TYPE_DEP_GROUP = 1

ZERO_HASH = b"\x00" * 32

OUT_POINT_SIZE = 36
CELL_INPUT_SIZE = 44
CELL_DEP_SIZE = 37
RAW_HEADER_SIZE = 192
HEADER_SIZE = 208
PROPOSAL_SHORT_ID_SIZE = 10


def _check_len(name: str, value: bytes, size: int) -> None:
    if len(value) != size:
        raise ValueError(f"{name} must be {size} bytes, got {len(value)}")


@dataclass(frozen=True, slots=True)
class Script:
    """``table Script { code_hash: Byte32, hash_type: byte, args: Bytes }`` (RFC 0022)."""

    code_hash: bytes
    hash_type: int
    args: bytes = b""

    def __post_init__(self) -> None:
        _check_len("code_hash", self.code_hash, 32)
        if not 0 <= self.hash_type <= 0xFF:
            raise ValueError(f"hash_type must be a byte, got {self.hash_type}")

    def serialize(self) -> bytes:
        return pack_table([self.code_hash, bytes([self.hash_type]), pack_bytes(self.args)])

    @classmethod
    def deserialize(cls, data: bytes) -> Script:
        code_hash, hash_type, args = unpack_table(data, 3)
        _check_molecule_len("Script.code_hash", code_hash, 32)
        _check_molecule_len("Script.hash_type", hash_type, 1)
        return cls(code_hash, hash_type[0], unpack_bytes(args))

    def occupied_bytes(self) -> int:
        """code_hash + hash_type + args: the bytes of state a script occupies (RFC 0022)."""
        return 32 + 1 + len(self.args)


@dataclass(frozen=True, slots=True)
class OutPoint:
    """``struct OutPoint { tx_hash: Byte32, index: Uint32 }``."""

    tx_hash: bytes
    index: int

    def __post_init__(self) -> None:
        _check_len("tx_hash", self.tx_hash, 32)
        if not 0 <= self.index <= 0xFFFFFFFF:
            raise ValueError(f"out point index must be a u32, got {self.index}")

    def serialize(self) -> bytes:
        return self.tx_hash + pack_u32(self.index)

    @classmethod
    def deserialize(cls, data: bytes) -> OutPoint:
        _check_molecule_len("OutPoint", data, OUT_POINT_SIZE)
        return cls(data[:32], unpack_u32(data, 32))


#: The previous output of a cellbase input (``OutPoint::null``).
NULL_OUT_POINT = OutPoint(ZERO_HASH, 0xFFFFFFFF)


@dataclass(frozen=True, slots=True)
class CellInput:
    """``struct CellInput { since: Uint64, previous_output: OutPoint }``."""

    previous_output: OutPoint
    since: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.since < 1 << 64:
            raise ValueError(f"since must be a u64, got {self.since}")

    def serialize(self) -> bytes:
        return pack_u64(self.since) + self.previous_output.serialize()

    @classmethod
    def deserialize(cls, data: bytes) -> CellInput:
        _check_molecule_len("CellInput", data, CELL_INPUT_SIZE)
        return cls(OutPoint.deserialize(data[8:]), unpack_u64(data[:8]))


@dataclass(frozen=True, slots=True)
class CellDep:
    """``struct CellDep { out_point: OutPoint, dep_type: byte }`` (0 code, 1 dep group)."""

    out_point: OutPoint
    dep_type: int = DEP_TYPE_CODE

    def serialize(self) -> bytes:
        return self.out_point.serialize() + bytes([self.dep_type])

    @classmethod
    def deserialize(cls, data: bytes) -> CellDep:
        _check_molecule_len("CellDep", data, CELL_DEP_SIZE)
        return cls(OutPoint.deserialize(data[:36]), data[36])


@dataclass(frozen=True, slots=True)
class CellOutput:
    """``table CellOutput { capacity: Uint64, lock: Script, type_: ScriptOpt }``.

    The cell's data is not here: it travels in ``outputs_data`` (RFC 0022 "Cell Data").
    """

    capacity: int
    lock: Script
    type: Script | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.capacity < 1 << 64:
            raise ValueError(f"capacity must be a u64, got {self.capacity}")

    def serialize(self) -> bytes:
        type_bytes = b"" if self.type is None else self.type.serialize()
        return pack_table([pack_u64(self.capacity), self.lock.serialize(), type_bytes])

    @classmethod
    def deserialize(cls, data: bytes) -> CellOutput:
        capacity, lock, type_ = unpack_table(data, 3)
        return cls(
            unpack_u64(capacity),
            Script.deserialize(lock),
            Script.deserialize(type_) if type_ else None,
        )


@dataclass(frozen=True, slots=True)
class RawTransaction:
    """The part of a transaction its hash covers (``table RawTransaction``)."""

    version: int = 0
    cell_deps: tuple[CellDep, ...] = ()
    header_deps: tuple[bytes, ...] = ()
    inputs: tuple[CellInput, ...] = ()
    outputs: tuple[CellOutput, ...] = ()
    outputs_data: tuple[bytes, ...] = ()
    #: EIP-4844 versioned hashes of the blobs this transaction carries (rollcourt extension).
    blob_versioned_hashes: tuple[bytes, ...] = ()

    def serialize(self) -> bytes:
        fields = [
            pack_u32(self.version),
            pack_fixvec([dep.serialize() for dep in self.cell_deps]),
            pack_fixvec(list(self.header_deps)),
            pack_fixvec([cell_input.serialize() for cell_input in self.inputs]),
            pack_dynvec([output.serialize() for output in self.outputs]),
            pack_dynvec([pack_bytes(data) for data in self.outputs_data]),
        ]
        if self.blob_versioned_hashes:
            fields.append(pack_fixvec(list(self.blob_versioned_hashes)))
        return pack_table(fields)

    @classmethod
    def deserialize(cls, data: bytes) -> RawTransaction:
        fields = unpack_dynvec(data)
        if len(fields) not in (6, 7):
            raise MoleculeError(f"RawTransaction must have 6 or 7 fields, got {len(fields)}")
        _check_molecule_len("RawTransaction.version", fields[0], 4)
        blob_hashes: tuple[bytes, ...] = ()
        if len(fields) == 7:
            blob_hashes = tuple(unpack_fixvec(fields[6], 32))
            if not blob_hashes:
                raise MoleculeError("an empty blob hash list must be omitted, not encoded")
        return cls(
            version=unpack_u32(fields[0]),
            cell_deps=tuple(
                CellDep.deserialize(d) for d in unpack_fixvec(fields[1], CELL_DEP_SIZE)
            ),
            header_deps=tuple(unpack_fixvec(fields[2], 32)),
            inputs=tuple(
                CellInput.deserialize(i) for i in unpack_fixvec(fields[3], CELL_INPUT_SIZE)
            ),
            outputs=tuple(CellOutput.deserialize(o) for o in unpack_dynvec(fields[4])),
            outputs_data=tuple(unpack_bytes(d) for d in unpack_dynvec(fields[5])),
            blob_versioned_hashes=blob_hashes,
        )


@dataclass(frozen=True, slots=True)
class Transaction:
    """``table Transaction { raw: RawTransaction, witnesses: BytesVec }``."""

    raw: RawTransaction
    witnesses: tuple[bytes, ...] = ()

    def serialize(self) -> bytes:
        return pack_table(
            [self.raw.serialize(), pack_dynvec([pack_bytes(w) for w in self.witnesses])]
        )

    @classmethod
    def deserialize(cls, data: bytes) -> Transaction:
        raw, witnesses = unpack_table(data, 2)
        return cls(
            RawTransaction.deserialize(raw),
            tuple(unpack_bytes(w) for w in unpack_dynvec(witnesses)),
        )

    @property
    def is_cellbase(self) -> bool:
        """A cellbase has one input whose previous output is the null out point (RFC 0022)."""
        inputs = self.raw.inputs
        return len(inputs) == 1 and inputs[0].previous_output == NULL_OUT_POINT


@dataclass(frozen=True, slots=True)
class WitnessArgs:
    """``table WitnessArgs { lock: BytesOpt, input_type: BytesOpt, output_type: BytesOpt }``."""

    lock: bytes | None = None
    input_type: bytes | None = None
    output_type: bytes | None = None

    def serialize(self) -> bytes:
        return pack_table([b"" if part is None else pack_bytes(part) for part in self._parts()])

    def _parts(self) -> tuple[bytes | None, bytes | None, bytes | None]:
        return (self.lock, self.input_type, self.output_type)

    @classmethod
    def deserialize(cls, data: bytes) -> WitnessArgs:
        parts = [unpack_bytes(p) if p else None for p in unpack_table(data, 3)]
        return cls(parts[0], parts[1], parts[2])


@dataclass(frozen=True, slots=True)
class CellbaseWitness:
    """``table CellbaseWitness { lock: Script, message: Bytes }``: whom the reward pays."""

    lock: Script
    message: bytes = b""

    def serialize(self) -> bytes:
        return pack_table([self.lock.serialize(), pack_bytes(self.message)])

    @classmethod
    def deserialize(cls, data: bytes) -> CellbaseWitness:
        lock, message = unpack_table(data, 2)
        return cls(Script.deserialize(lock), unpack_bytes(message))


@dataclass(frozen=True, slots=True)
class RawHeader:
    """``struct RawHeader`` (RFC 0027): the 192 bytes proof-of-work commits to."""

    version: int
    compact_target: int
    timestamp: int
    number: int
    epoch: int
    parent_hash: bytes
    transactions_root: bytes
    proposals_hash: bytes = ZERO_HASH
    extra_hash: bytes = ZERO_HASH
    dao: bytes = ZERO_HASH

    def serialize(self) -> bytes:
        return b"".join(
            [
                pack_u32(self.version),
                pack_u32(self.compact_target),
                pack_u64(self.timestamp),
                pack_u64(self.number),
                pack_u64(self.epoch),
                self.parent_hash,
                self.transactions_root,
                self.proposals_hash,
                self.extra_hash,
                self.dao,
            ]
        )

    @classmethod
    def deserialize(cls, data: bytes) -> RawHeader:
        _check_molecule_len("RawHeader", data, RAW_HEADER_SIZE)
        return cls(
            version=unpack_u32(data, 0),
            compact_target=unpack_u32(data, 4),
            timestamp=unpack_u64(data[8:16]),
            number=unpack_u64(data[16:24]),
            epoch=unpack_u64(data[24:32]),
            parent_hash=data[32:64],
            transactions_root=data[64:96],
            proposals_hash=data[96:128],
            extra_hash=data[128:160],
            dao=data[160:192],
        )


@dataclass(frozen=True, slots=True)
class Header:
    """``struct Header { raw: RawHeader, nonce: Uint128 }``."""

    raw: RawHeader
    nonce: int = 0

    def serialize(self) -> bytes:
        return self.raw.serialize() + pack_u128(self.nonce)

    @classmethod
    def deserialize(cls, data: bytes) -> Header:
        _check_molecule_len("Header", data, HEADER_SIZE)
        return cls(RawHeader.deserialize(data[:192]), int.from_bytes(data[192:], "little"))


@dataclass(frozen=True, slots=True)
class UncleBlock:
    """``table UncleBlock { header: Header, proposals: ProposalShortIdVec }``."""

    header: Header
    proposals: tuple[bytes, ...] = ()

    def serialize(self) -> bytes:
        return pack_table([self.header.serialize(), pack_fixvec(list(self.proposals))])

    @classmethod
    def deserialize(cls, data: bytes) -> UncleBlock:
        header, proposals = unpack_table(data, 2)
        return cls(
            Header.deserialize(header), tuple(unpack_fixvec(proposals, PROPOSAL_SHORT_ID_SIZE))
        )


@dataclass(frozen=True, slots=True)
class Block:
    """``table Block`` (or ``BlockV1`` when ``extension`` is set, RFC 0031)."""

    header: Header
    transactions: tuple[Transaction, ...] = ()
    uncles: tuple[UncleBlock, ...] = ()
    proposals: tuple[bytes, ...] = ()
    extension: bytes | None = None

    def serialize(self) -> bytes:
        fields = [
            self.header.serialize(),
            pack_dynvec([uncle.serialize() for uncle in self.uncles]),
            pack_dynvec([tx.serialize() for tx in self.transactions]),
            pack_fixvec(list(self.proposals)),
        ]
        if self.extension is not None:
            fields.append(pack_bytes(self.extension))
        return pack_table(fields)

    @classmethod
    def deserialize(cls, data: bytes) -> Block:
        """``Block`` (4 fields) or ``BlockV1`` (5 fields, with ``extension``)."""
        fields = unpack_dynvec(data)
        if len(fields) not in (4, 5):
            raise MoleculeError(f"Block must have 4 or 5 fields, got {len(fields)}")
        return cls(
            header=Header.deserialize(fields[0]),
            uncles=tuple(UncleBlock.deserialize(u) for u in unpack_dynvec(fields[1])),
            transactions=tuple(Transaction.deserialize(t) for t in unpack_dynvec(fields[2])),
            proposals=tuple(unpack_fixvec(fields[3], PROPOSAL_SHORT_ID_SIZE)),
            extension=unpack_bytes(fields[4]) if len(fields) == 5 else None,
        )


def _check_molecule_len(name: str, value: bytes, size: int) -> None:
    if len(value) != size:
        raise MoleculeError(f"{name} must be {size} bytes, got {len(value)}")
