"""Script plug-ins and the registry that maps code to native verifiers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from l1.ckb.hashing import ckbhash
from l1.core.scripts.always_success import ALWAYS_SUCCESS, ALWAYS_SUCCESS_CODE
from l1.core.scripts.base import (
    GroupKind,
    NativeVerifier,
    ScriptContext,
    ScriptGroup,
    ScriptVerifier,
    VerifierFailure,
)
from l1.core.scripts.rollup import ROLLUP_VERIFIERS
from l1.core.scripts.secp256k1 import SECP256K1_BLAKE160_SIGHASH_ALL, SECP256K1_CODE
from l1.core.scripts.type_id import TYPE_ID, TYPE_ID_CODE_HASH

__all__ = [
    "GroupKind",
    "NativeVerifier",
    "ScriptContext",
    "ScriptGroup",
    "ScriptRegistry",
    "ScriptVerifier",
    "VerifierFailure",
    "build_default_registry",
]


@dataclass(slots=True)
class ScriptRegistry:
    """Native verifiers keyed by the data hash of the code cell that deploys them.

    A code cell's data is the verifier's identifier (for example
    ``rollcourt-native-verifier:secp256k1_blake160_sighash_all:v1``); deploying a new verifier is
    deploying a new code cell, never changing the core (RFC 0002 §4.3, "crypto as plug-ins").
    Built-ins that CKB hard-codes (Type ID) are keyed by their script code hash.
    """

    by_code_data_hash: dict[bytes, ScriptVerifier] = field(default_factory=dict)
    builtins: dict[bytes, ScriptVerifier] = field(default_factory=dict)
    #: Getter of the node's KZG settings, handed to every ``ScriptContext`` (the rollup game's
    #: one-step proof opens blob elements with point evaluations). The core never loads it.
    kzg_settings: Callable[[], Any] | None = None

    def register_code(self, code: bytes, verifier: ScriptVerifier) -> bytes:
        data_hash = ckbhash(code)
        self.by_code_data_hash[data_hash] = verifier
        return data_hash

    def get_by_code_data_hash(self, data_hash: bytes) -> ScriptVerifier | None:
        return self.by_code_data_hash.get(data_hash)

    def get_builtin(self, code_hash: bytes, hash_type: int) -> ScriptVerifier | None:
        if hash_type != 1:
            return None
        return self.builtins.get(code_hash)


def build_default_registry(
    *, allow_always_success: bool, kzg_settings: Callable[[], Any] | None = None
) -> ScriptRegistry:
    registry = ScriptRegistry(kzg_settings=kzg_settings)
    registry.builtins[TYPE_ID_CODE_HASH] = TYPE_ID
    registry.register_code(SECP256K1_CODE, SECP256K1_BLAKE160_SIGHASH_ALL)
    for code, verifier in ROLLUP_VERIFIERS:  # the optimistic rollup bridge (§4)
        registry.register_code(code, verifier)
    if allow_always_success:
        registry.register_code(ALWAYS_SUCCESS_CODE, ALWAYS_SUCCESS)
    return registry
