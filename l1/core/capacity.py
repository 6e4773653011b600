"""Occupied capacity: the foundation of state rent (RFC 0015 §6, RFC 0022).

A cell occupies 8 bytes for its capacity field, its data, and for each script 32 (code_hash) +
1 (hash_type) + len(args). Molecule framing is not counted (``util/gen-types/.../capacity.rs``).
1 byte of state needs 1 CKB = 10^8 shannons of capacity.
"""

from __future__ import annotations

from l1.ckb.types import CellOutput

__all__ = ["BYTE_SHANNONS", "compute_occupied_capacity", "is_capacity_sufficient"]

BYTE_SHANNONS = 100_000_000


def compute_occupied_capacity(output: CellOutput, data: bytes) -> int:
    """Occupied capacity of a cell in shannons."""
    occupied = 8 + len(data) + output.lock.occupied_bytes()
    if output.type is not None:
        occupied += output.type.occupied_bytes()
    return occupied * BYTE_SHANNONS


def is_capacity_sufficient(output: CellOutput, data: bytes) -> bool:
    return output.capacity >= compute_occupied_capacity(output, data)
