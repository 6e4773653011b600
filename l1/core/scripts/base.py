"""Scripts as verifier plug-ins (RFC 0022 "Script", "Code Locating"; DESIGN.md §2).

Where CKB loads a RISC-V binary from a cell dep and runs it in CKB-VM, rollcourt loads the same
kind of code cell and runs the native Python verifier registered under that cell's data hash.
Everything else is CKB's: a script is (code_hash, hash_type, args); ``data*`` hash types match a
cell dep's data hash, ``type`` matches a cell dep's type-script hash; lock groups run over inputs,
type groups over inputs and outputs, each group once. A verifier sees only what a CKB script can
load through syscalls: the transaction, its resolved inputs, cell deps and header deps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from l1.ckb.types import Header, Script, Transaction
from l1.core.cells import CellMeta

__all__ = [
    "GroupKind",
    "ScriptContext",
    "ScriptGroup",
    "ScriptVerifier",
    "VerifierFailure",
]


class VerifierFailure(Exception):
    """Raised by a plug-in to reject; the ledger wraps it in ``ScriptValidationFailure``."""


class GroupKind:
    LOCK = "lock"
    TYPE = "type"


@dataclass(frozen=True, slots=True)
class ScriptGroup:
    """All cells of one transaction sharing a script hash (``ckb:script/src/types.rs``)."""

    kind: str
    script: Script
    script_hash: bytes
    input_indices: tuple[int, ...]
    output_indices: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ScriptContext:
    """What a verifier may read: CKB's syscall surface, nothing of the node."""

    tx: Transaction
    tx_hash: bytes
    resolved_inputs: tuple[CellMeta, ...]
    resolved_cell_deps: tuple[CellMeta, ...]
    header_deps: tuple[Header, ...]
    group: ScriptGroup
    #: Blob data by versioned hash, for plug-ins that read rollup data (empty if none carried).
    blobs: tuple[bytes, ...] = ()
    #: The node's KZG trusted setup, for plug-ins that check point evaluations (the rollup's
    #: one-step proof: EIP-4844's point-evaluation precompile as a verifier's syscall). A getter,
    #: so the setup is loaded only when a script needs it; None when the node carries none.
    kzg_settings: Callable[[], Any] | None = None

    @property
    def args(self) -> bytes:
        return self.group.script.args

    def group_inputs(self) -> list[CellMeta]:
        return [self.resolved_inputs[i] for i in self.group.input_indices]

    def group_outputs(self) -> list[tuple[int, bytes]]:
        """(output index, data) pairs of the group's outputs."""
        return [(i, self.tx.raw.outputs_data[i]) for i in self.group.output_indices]


class ScriptVerifier(Protocol):
    """A verifier plug-in: returns the cycles it consumed, raises ``VerifierFailure`` to reject."""

    @property
    def name(self) -> str: ...

    def __call__(self, context: ScriptContext) -> int: ...


@dataclass(frozen=True, slots=True)
class NativeVerifier:
    name: str
    run: Callable[[ScriptContext], int]

    def __call__(self, context: ScriptContext) -> int:
        return self.run(context)
