"""CKB JSON-RPC shapes for transactions, headers and blocks (``ckb-jsonrpc-types``).

Quantities are ``0x``-prefixed hex without leading zeros (``"0x0"``, ``"0x1f"``); byte strings are
``0x``-prefixed even-length hex. Parsing is strict, as CKB's is, and every error names the JSON
path that is wrong, so an RPC caller learns exactly what to fix.

rollcourt extension: a transaction may carry ``"blob_versioned_hashes": [H256, ...]``; the key is
omitted when empty, keeping CKB's exact JSON for ordinary transactions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from l1.ckb.hashes import compute_header_hash, compute_tx_hash
from l1.ckb.types import (
    Block,
    CellDep,
    CellInput,
    CellOutput,
    Header,
    OutPoint,
    RawHeader,
    RawTransaction,
    Script,
    Transaction,
    UncleBlock,
)

__all__ = [
    "HASH_TYPE_NAMES",
    "JsonFormatError",
    "block_from_json",
    "block_to_json",
    "bytes_from_json",
    "bytes_to_json",
    "cell_output_from_json",
    "cell_output_to_json",
    "h256_from_json",
    "header_from_json",
    "header_to_json",
    "out_point_from_json",
    "out_point_to_json",
    "quantity_from_json",
    "quantity_to_json",
    "script_from_json",
    "script_to_json",
    "transaction_from_json",
    "transaction_to_json",
]

HASH_TYPE_NAMES: dict[int, str] = {0: "data", 1: "type", 2: "data1", 4: "data2"}
_HASH_TYPE_VALUES = {name: value for value, name in HASH_TYPE_NAMES.items()}
_DEP_TYPE_NAMES = {0: "code", 1: "dep_group"}
_DEP_TYPE_VALUES = {name: value for value, name in _DEP_TYPE_NAMES.items()}
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")

T = TypeVar("T")


class JsonFormatError(ValueError):
    """JSON that is not a valid CKB JSON-RPC object; the message names the offending path."""


def quantity_to_json(value: int) -> str:
    return hex(value)


def quantity_from_json(value: object, path: str, bits: int = 64) -> int:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) < 3:
        raise JsonFormatError(f"{path}: expected a 0x-prefixed hex quantity, got {value!r}")
    digits = value[2:]
    if not set(digits) <= _HEX_DIGITS:
        raise JsonFormatError(f"{path}: {value!r} is not hex")
    if len(digits) > 1 and digits[0] == "0":
        raise JsonFormatError(f"{path}: {value!r} has redundant leading zeros")
    number = int(digits, 16)
    if number >= 1 << bits:
        raise JsonFormatError(f"{path}: {value!r} does not fit in u{bits}")
    return number


def bytes_to_json(value: bytes) -> str:
    return "0x" + value.hex()


def bytes_from_json(value: object, path: str, size: int | None = None) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise JsonFormatError(f"{path}: expected 0x-prefixed hex bytes, got {value!r}")
    digits = value[2:]
    if len(digits) % 2:
        raise JsonFormatError(f"{path}: hex bytes must have an even number of digits")
    if not set(digits) <= _HEX_DIGITS:
        raise JsonFormatError(f"{path}: {value[:80]!r} is not hex")
    data = bytes.fromhex(digits)
    if size is not None and len(data) != size:
        raise JsonFormatError(f"{path}: expected {size} bytes, got {len(data)}")
    return data


def h256_from_json(value: object, path: str) -> bytes:
    return bytes_from_json(value, path, 32)


def _object(
    value: object, path: str, keys: set[str], optional: frozenset[str] | set[str] = frozenset()
) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise JsonFormatError(f"{path}: expected an object, got {type(value).__name__}")
    missing = keys - value.keys()
    if missing:
        raise JsonFormatError(f"{path}: missing field {sorted(missing)[0]!r}")
    unknown = value.keys() - keys - optional
    if unknown:
        raise JsonFormatError(f"{path}: unknown field {sorted(unknown)[0]!r}")
    return value


def _list(value: object, path: str, item: Callable[[object, str], T]) -> tuple[T, ...]:
    if not isinstance(value, list):
        raise JsonFormatError(f"{path}: expected a list, got {type(value).__name__}")
    return tuple(item(element, f"{path}[{i}]") for i, element in enumerate(value))


def script_to_json(script: Script) -> dict[str, str]:
    hash_type = HASH_TYPE_NAMES.get(script.hash_type, quantity_to_json(script.hash_type))
    return {
        "code_hash": bytes_to_json(script.code_hash),
        "hash_type": hash_type,
        "args": bytes_to_json(script.args),
    }


def script_from_json(value: object, path: str = "script") -> Script:
    obj = _object(value, path, {"code_hash", "hash_type", "args"})
    hash_type = obj["hash_type"]
    if not isinstance(hash_type, str) or hash_type not in _HASH_TYPE_VALUES:
        raise JsonFormatError(
            f"{path}.hash_type: expected one of {sorted(_HASH_TYPE_VALUES)}, got {hash_type!r}"
        )
    return Script(
        h256_from_json(obj["code_hash"], f"{path}.code_hash"),
        _HASH_TYPE_VALUES[hash_type],
        bytes_from_json(obj["args"], f"{path}.args"),
    )


def out_point_to_json(out_point: OutPoint) -> dict[str, str]:
    return {"tx_hash": bytes_to_json(out_point.tx_hash), "index": quantity_to_json(out_point.index)}


def out_point_from_json(value: object, path: str = "out_point") -> OutPoint:
    obj = _object(value, path, {"tx_hash", "index"})
    return OutPoint(
        h256_from_json(obj["tx_hash"], f"{path}.tx_hash"),
        quantity_from_json(obj["index"], f"{path}.index", 32),
    )


def cell_output_to_json(output: CellOutput) -> dict[str, Any]:
    return {
        "capacity": quantity_to_json(output.capacity),
        "lock": script_to_json(output.lock),
        "type": None if output.type is None else script_to_json(output.type),
    }


def cell_output_from_json(value: object, path: str = "output") -> CellOutput:
    obj = _object(value, path, {"capacity", "lock"}, {"type"})
    type_json = obj.get("type")
    return CellOutput(
        quantity_from_json(obj["capacity"], f"{path}.capacity"),
        script_from_json(obj["lock"], f"{path}.lock"),
        None if type_json is None else script_from_json(type_json, f"{path}.type"),
    )


def _cell_dep_from_json(value: object, path: str) -> CellDep:
    obj = _object(value, path, {"out_point", "dep_type"})
    dep_type = obj["dep_type"]
    if dep_type not in _DEP_TYPE_VALUES:
        raise JsonFormatError(f"{path}.dep_type: expected 'code' or 'dep_group', got {dep_type!r}")
    return CellDep(
        out_point_from_json(obj["out_point"], f"{path}.out_point"), _DEP_TYPE_VALUES[dep_type]
    )


def _cell_input_from_json(value: object, path: str) -> CellInput:
    obj = _object(value, path, {"since", "previous_output"})
    return CellInput(
        out_point_from_json(obj["previous_output"], f"{path}.previous_output"),
        quantity_from_json(obj["since"], f"{path}.since"),
    )


def transaction_to_json(tx: Transaction, *, with_hash: bool = True) -> dict[str, Any]:
    raw = tx.raw
    result: dict[str, Any] = {
        "version": quantity_to_json(raw.version),
        "cell_deps": [
            {
                "out_point": out_point_to_json(dep.out_point),
                "dep_type": _DEP_TYPE_NAMES.get(dep.dep_type, hex(dep.dep_type)),
            }
            for dep in raw.cell_deps
        ],
        "header_deps": [bytes_to_json(h) for h in raw.header_deps],
        "inputs": [
            {
                "since": quantity_to_json(i.since),
                "previous_output": out_point_to_json(i.previous_output),
            }
            for i in raw.inputs
        ],
        "outputs": [cell_output_to_json(o) for o in raw.outputs],
        "outputs_data": [bytes_to_json(d) for d in raw.outputs_data],
        "witnesses": [bytes_to_json(w) for w in tx.witnesses],
    }
    if raw.blob_versioned_hashes:
        result["blob_versioned_hashes"] = [bytes_to_json(h) for h in raw.blob_versioned_hashes]
    if with_hash:
        result["hash"] = bytes_to_json(compute_tx_hash(tx))
    return result


def transaction_from_json(value: object, path: str = "transaction") -> Transaction:
    """Parse CKB's JSON transaction; a ``hash`` field, if present, must match the content."""
    fields = {
        "version",
        "cell_deps",
        "header_deps",
        "inputs",
        "outputs",
        "outputs_data",
        "witnesses",
    }
    obj = _object(value, path, fields, {"hash", "blob_versioned_hashes"})
    version = quantity_from_json(obj["version"], f"{path}.version", 32)
    tx = Transaction(
        RawTransaction(
            version=version,
            cell_deps=_list(obj["cell_deps"], f"{path}.cell_deps", _cell_dep_from_json),
            header_deps=_list(obj["header_deps"], f"{path}.header_deps", h256_from_json),
            inputs=_list(obj["inputs"], f"{path}.inputs", _cell_input_from_json),
            outputs=_list(obj["outputs"], f"{path}.outputs", cell_output_from_json),
            outputs_data=_list(obj["outputs_data"], f"{path}.outputs_data", bytes_from_json),
            blob_versioned_hashes=_list(
                obj.get("blob_versioned_hashes", []),
                f"{path}.blob_versioned_hashes",
                h256_from_json,
            ),
        ),
        _list(obj["witnesses"], f"{path}.witnesses", bytes_from_json),
    )
    if "hash" in obj:
        claimed = h256_from_json(obj["hash"], f"{path}.hash")
        if claimed != compute_tx_hash(tx):
            raise JsonFormatError(f"{path}.hash: does not match the transaction's content")
    return tx


def header_to_json(header: Header) -> dict[str, str]:
    raw = header.raw
    return {
        "version": quantity_to_json(raw.version),
        "compact_target": quantity_to_json(raw.compact_target),
        "timestamp": quantity_to_json(raw.timestamp),
        "number": quantity_to_json(raw.number),
        "epoch": quantity_to_json(raw.epoch),
        "parent_hash": bytes_to_json(raw.parent_hash),
        "transactions_root": bytes_to_json(raw.transactions_root),
        "proposals_hash": bytes_to_json(raw.proposals_hash),
        "extra_hash": bytes_to_json(raw.extra_hash),
        "dao": bytes_to_json(raw.dao),
        "nonce": quantity_to_json(header.nonce),
        "hash": bytes_to_json(compute_header_hash(header)),
    }


def header_from_json(value: object, path: str = "header") -> Header:
    """Parse a header; accepts ``uncles_hash`` (before RFC 0031) for ``extra_hash``."""
    base = {
        "version",
        "compact_target",
        "timestamp",
        "number",
        "epoch",
        "parent_hash",
        "transactions_root",
        "proposals_hash",
        "dao",
        "nonce",
    }
    obj = _object(value, path, base, {"extra_hash", "uncles_hash", "hash"})
    if "extra_hash" in obj and "uncles_hash" in obj:
        raise JsonFormatError(f"{path}: give extra_hash or uncles_hash (its old name), not both")
    extra_key = "extra_hash" if "extra_hash" in obj else "uncles_hash"
    if extra_key not in obj:
        raise JsonFormatError(f"{path}: missing field 'extra_hash'")
    header = Header(
        RawHeader(
            version=quantity_from_json(obj["version"], f"{path}.version", 32),
            compact_target=quantity_from_json(obj["compact_target"], f"{path}.compact_target", 32),
            timestamp=quantity_from_json(obj["timestamp"], f"{path}.timestamp"),
            number=quantity_from_json(obj["number"], f"{path}.number"),
            epoch=quantity_from_json(obj["epoch"], f"{path}.epoch"),
            parent_hash=h256_from_json(obj["parent_hash"], f"{path}.parent_hash"),
            transactions_root=h256_from_json(obj["transactions_root"], f"{path}.transactions_root"),
            proposals_hash=h256_from_json(obj["proposals_hash"], f"{path}.proposals_hash"),
            extra_hash=h256_from_json(obj[extra_key], f"{path}.{extra_key}"),
            dao=h256_from_json(obj["dao"], f"{path}.dao"),
        ),
        quantity_from_json(obj["nonce"], f"{path}.nonce", 128),
    )
    if "hash" in obj and h256_from_json(obj["hash"], f"{path}.hash") != compute_header_hash(header):
        raise JsonFormatError(f"{path}.hash: does not match the header's content")
    return header


def _proposal_from_json(value: object, path: str) -> bytes:
    return bytes_from_json(value, path, 10)


def _uncle_from_json(value: object, path: str) -> UncleBlock:
    obj = _object(value, path, {"header", "proposals"})
    return UncleBlock(
        header_from_json(obj["header"], f"{path}.header"),
        _list(obj["proposals"], f"{path}.proposals", _proposal_from_json),
    )


def block_to_json(block: Block) -> dict[str, Any]:
    result: dict[str, Any] = {
        "header": header_to_json(block.header),
        "uncles": [
            {
                "header": header_to_json(u.header),
                "proposals": [bytes_to_json(p) for p in u.proposals],
            }
            for u in block.uncles
        ],
        "transactions": [transaction_to_json(tx) for tx in block.transactions],
        "proposals": [bytes_to_json(p) for p in block.proposals],
    }
    if block.extension is not None:
        result["extension"] = bytes_to_json(block.extension)
    return result


def block_from_json(value: object, path: str = "block") -> Block:
    obj = _object(value, path, {"header", "uncles", "transactions", "proposals"}, {"extension"})
    extension = obj.get("extension")
    return Block(
        header=header_from_json(obj["header"], f"{path}.header"),
        transactions=_list(obj["transactions"], f"{path}.transactions", transaction_from_json),
        uncles=_list(obj["uncles"], f"{path}.uncles", _uncle_from_json),
        proposals=_list(obj["proposals"], f"{path}.proposals", _proposal_from_json),
        extension=None if extension is None else bytes_from_json(extension, f"{path}.extension"),
    )
