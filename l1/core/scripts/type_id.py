"""Type ID: a built-in type script that makes a cell a unique, updatable singleton (RFC 0022
"Type ID"; ``ckb:script/src/type_id.rs``).

code_hash = ``0x00…00 "TYPE_ID"`` with hash_type ``type``; args must be 32 bytes; a group has at
most one input and one output; on creation (no input) args must equal
ckbhash(molecule(tx.inputs[0]) || u64_le(index of the group's first output)).
"""

from __future__ import annotations

from l1.ckb.hashing import ckbhash
from l1.ckb.types import HASH_TYPE_TYPE, Script
from l1.core.scripts.base import NativeVerifier, ScriptContext, VerifierFailure

__all__ = [
    "TYPE_ID",
    "TYPE_ID_CODE_HASH",
    "TYPE_ID_CYCLES",
    "compute_type_id_args",
    "type_id_script",
]

TYPE_ID_CODE_HASH = bytes(25) + b"TYPE_ID"
TYPE_ID_CYCLES = 1_000_000


def compute_type_id_args(first_input: bytes, output_index: int) -> bytes:
    """Args for a new Type ID cell: the first input's molecule bytes and the output index."""
    return ckbhash(first_input + output_index.to_bytes(8, "little"))


def type_id_script(args: bytes) -> Script:
    return Script(TYPE_ID_CODE_HASH, HASH_TYPE_TYPE, args)


def _run(context: ScriptContext) -> int:
    group = context.group
    if len(context.args) != 32:
        raise VerifierFailure(f"type id args must be 32 bytes, got {len(context.args)}")
    if len(group.input_indices) > 1 or len(group.output_indices) > 1:
        raise VerifierFailure("a type id group has at most one input and one output")
    if not group.input_indices and group.output_indices:
        first_input = context.tx.raw.inputs[0].serialize()
        expected = compute_type_id_args(first_input, group.output_indices[0])
        if context.args != expected:
            raise VerifierFailure("type id args do not match the creating transaction")
    return TYPE_ID_CYCLES


TYPE_ID = NativeVerifier("type_id", _run)
