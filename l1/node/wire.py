"""JSON forms of blob sidecars for the RPC and P2P surfaces (hex, ``0x``-prefixed)."""

from __future__ import annotations

from l1.ckb.json import JsonFormatError, bytes_from_json, bytes_to_json, h256_from_json
from l1.core.blobs import BYTES_PER_BLOB, BlobSidecar

__all__ = [
    "sidecar_from_json",
    "sidecar_list_from_json",
    "sidecar_to_json",
    "sidecars_from_json",
    "sidecars_to_json",
]

Sidecars = dict[bytes, tuple[BlobSidecar, ...]]


def sidecar_to_json(sidecar: BlobSidecar) -> dict[str, str]:
    return {
        "blob": bytes_to_json(sidecar.blob),
        "commitment": bytes_to_json(sidecar.commitment),
        "proof": bytes_to_json(sidecar.proof),
        "versioned_hash": bytes_to_json(sidecar.versioned_hash),
    }


def sidecar_from_json(value: object, path: str) -> BlobSidecar:
    if not isinstance(value, dict):
        raise JsonFormatError(f"{path}: expected an object with blob, commitment and proof")
    unknown = set(value) - {"blob", "commitment", "proof", "versioned_hash"}
    if unknown:
        raise JsonFormatError(f"{path}: unknown field {sorted(unknown)[0]!r}")
    for key in ("blob", "commitment", "proof"):
        if key not in value:
            raise JsonFormatError(f"{path}: missing field {key!r}")
    return BlobSidecar(
        bytes_from_json(value["blob"], f"{path}.blob", BYTES_PER_BLOB),
        bytes_from_json(value["commitment"], f"{path}.commitment", 48),
        bytes_from_json(value["proof"], f"{path}.proof", 48),
    )


def sidecars_to_json(sidecars: Sidecars) -> dict[str, list[dict[str, str]]]:
    return {bytes_to_json(h): [sidecar_to_json(s) for s in items] for h, items in sidecars.items()}


def sidecars_from_json(value: object, path: str = "sidecars") -> Sidecars:
    """``{tx_hash: [sidecar, ...]}`` as sent beside a block."""
    if not isinstance(value, dict):
        raise JsonFormatError(f"{path}: expected an object keyed by transaction hash")
    result: Sidecars = {}
    for key, items in value.items():
        tx_hash = h256_from_json(key, f"{path} key")
        if not isinstance(items, list):
            raise JsonFormatError(f"{path}[{key}]: expected a list of sidecars")
        result[tx_hash] = tuple(
            sidecar_from_json(item, f"{path}[{key}][{i}]") for i, item in enumerate(items)
        )
    return result


def sidecar_list_from_json(value: object, path: str = "sidecars") -> tuple[BlobSidecar, ...]:
    if not isinstance(value, list):
        raise JsonFormatError(f"{path}: expected a list of sidecars")
    return tuple(sidecar_from_json(item, f"{path}[{i}]") for i, item in enumerate(value))
