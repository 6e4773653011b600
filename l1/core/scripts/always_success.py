"""``always_success``: accepts every transaction. Deployed only where the preset allows it
(devnet and test), like CKB's dev chain, to make scripted scenarios cheap."""

from __future__ import annotations

from l1.core.scripts.base import NativeVerifier, ScriptContext

__all__ = ["ALWAYS_SUCCESS", "ALWAYS_SUCCESS_CODE", "ALWAYS_SUCCESS_CYCLES"]

ALWAYS_SUCCESS_CODE = b"rollcourt-native-verifier:always_success:v1"
ALWAYS_SUCCESS_CYCLES = 500


def _run(_context: ScriptContext) -> int:
    return ALWAYS_SUCCESS_CYCLES


ALWAYS_SUCCESS = NativeVerifier("always_success", _run)
