"""What every rollup verifier needs: recognizing the rollup's cells, ``since`` and signatures.

**Recognizing a script.** A verifier must tell a deposit lock from any other lock. It does so as
the ledger locates code (RFC 0022 "Code Locating"): a script whose ``hash_type`` is ``type``
names the type hash of a cell dep, a ``data*`` script the data hash of one; the script *is* the
rollup deposit lock when that cell dep's data is ``ROLLUP_DEPOSIT_LOCK_CODE``. So the rollup
state stores no code hashes, any deployment of the code works, and a look-alike with other code
is never mistaken for ours. Every script of an input and every type script runs through the same
cell deps, so what the ledger ran is what we recognize; for output locks (withdrawal cells),
whose code the ledger does not run, the transaction must carry the code cell as a dep.

**The rollup cell.** The rollup id is the type hash of the rollup cell. A Type ID singleton
(``rollup_state``) guarantees one live cell per id, so "an input whose type hash is the rollup
id" *is* the rollup cell, and its type script checks the whole transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import coincurve

from l1.ckb.hashes import compute_script_hash
from l1.ckb.hashing import blake160
from l1.ckb.since import Since, SinceFormatError, SinceMetric
from l1.ckb.types import HASH_TYPE_TYPE, Script, WitnessArgs
from l1.core.cells import CellMeta
from l1.core.scripts.base import ScriptContext, VerifierFailure
from l1.core.scripts.secp256k1 import (
    compute_sighash_all_message,
    validate_signature_encoding,
)

__all__ = [
    "TxView",
    "decode_relative_blocks",
    "validate_owner_signature",
]


@dataclass(slots=True)
class TxView:
    """Hashes and code lookups of one transaction, computed once per verifier run."""

    context: ScriptContext
    _deps_by_type_hash: dict[bytes, set[bytes]] = field(default_factory=dict)
    _deps_by_data_hash: dict[bytes, bytes] = field(default_factory=dict)
    input_type_hashes: list[bytes | None] = field(default_factory=list)
    input_lock_hashes: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        for dep in self.context.resolved_cell_deps:
            self._deps_by_data_hash.setdefault(dep.data_hash, dep.data)
            if dep.output.type is not None:
                type_hash = compute_script_hash(dep.output.type)
                self._deps_by_type_hash.setdefault(type_hash, set()).add(dep.data)
        for cell in self.context.resolved_inputs:
            self.input_lock_hashes.append(compute_script_hash(cell.output.lock))
            type_ = cell.output.type
            self.input_type_hashes.append(None if type_ is None else compute_script_hash(type_))

    def code_of(self, script: Script | None) -> bytes | None:
        """The code cell data ``script`` resolves to through the cell deps (None if none or
        ambiguous)."""
        if script is None:
            return None
        if script.hash_type == HASH_TYPE_TYPE:
            codes = self._deps_by_type_hash.get(script.code_hash, set())
            return next(iter(codes)) if len(codes) == 1 else None
        return self._deps_by_data_hash.get(script.code_hash)

    def is_script(self, script: Script | None, code: bytes, rollup_id: bytes) -> bool:
        """``script`` runs ``code`` and its args start with ``rollup_id``."""
        return script is not None and script.args[:32] == rollup_id and self.code_of(script) == code

    def rollup_input_index(self, rollup_id: bytes) -> int | None:
        for index, type_hash in enumerate(self.input_type_hashes):
            if type_hash == rollup_id:
                return index
        return None

    def require_rollup_input(self, rollup_id: bytes, what: str) -> int:
        index = self.rollup_input_index(rollup_id)
        if index is None:
            raise VerifierFailure(
                f"{what} can only be spent or created with the rollup cell "
                f"{rollup_id.hex()[:16]}… as an input"
            )
        return index

    def rollup_cell_dep(self, rollup_id: bytes) -> CellMeta | None:
        for dep in self.context.resolved_cell_deps:
            if dep.output.type is not None and compute_script_hash(dep.output.type) == rollup_id:
                return dep
        return None


def decode_relative_blocks(raw: int) -> int | None:
    """The block count a relative block-number ``since`` proves, or None for any other since
    (absolute, epoch, timestamp, zero or malformed)."""
    if raw == 0:
        return None
    try:
        since = Since.decode(raw)
    except SinceFormatError:
        return None
    if not since.relative or since.metric is not SinceMetric.BLOCK_NUMBER:
        return None
    return since.value


def validate_owner_signature(context: ScriptContext, owner_lock_args: bytes) -> None:
    """The lock group's first witness holds a signature by the key whose blake160 is
    ``owner_lock_args``, over CKB's sighash_all message of the group -- exactly what the default
    lock checks (``l1.core.scripts.secp256k1``), so wallets sign a rollup claim as any spend."""
    indices = context.group.input_indices
    message = compute_sighash_all_message(context.tx, indices, context.tx_hash)
    signature = WitnessArgs.deserialize(context.tx.witnesses[indices[0]]).lock
    if signature is None:  # unreachable: compute_sighash_all_message checked it
        raise VerifierFailure("missing signature")
    validate_signature_encoding(signature)
    try:
        public_key = coincurve.PublicKey.from_signature_and_message(signature, message, hasher=None)
    except Exception:  # coincurve raises a bare Exception for unrecoverable signatures
        raise VerifierFailure("signature does not recover a public key") from None
    if blake160(public_key.format(compressed=True)) != owner_lock_args:
        raise VerifierFailure("signature is not by the owner this lock names")
