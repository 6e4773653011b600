"""The public input that binds a validity proof to L1 data (docs/validity.md §3).

A batch's Groth16 proof has exactly one public input, ``batch_input``: a Poseidon commitment to
the old and new state roots, the batch's records and the rollup's identity.  One input keeps the
L1 verifier's pairing check to a single multi-scalar term, and every part of it is something the
L1 already holds (the rollup cell, the commitment, the transaction's blobs), so it recomputes the
input with these pure functions and never trusts a prover-supplied value::

    prefix       = "rollcourt/l2-tx/v1" || chain_id u32 LE || rollup_id    (54 bytes)
    dom0, dom1   = int(prefix[0:31]), int(prefix[31:54])                   (big-endian)
    config_hash  = Poseidon([dom0, dom1, fee_account])
    e(i, j)      = int(record_i[31j : 31j + 31]),  j = 0..3                 (zero records pad)
    r_0 = 0,  r_{i+1} = Poseidon([r_i, e(i,0), e(i,1), e(i,2), e(i,3)]),   records_hash = r_B
    batch_input  = Poseidon([old_root, new_root, records_hash, config_hash])

``e(i, j)`` is exactly the blob field element that carries those 31 bytes (``l2.batch``), and
the signing domain is the same prefix ``l2.tx`` signs under, so the circuit can rebuild every
signing message from ``dom0``/``dom1`` and the record bodies it already hashes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from l2.config import RollupConfig
from l2.errors import FieldOutOfRange, InvalidRecord
from l2.poseidon import BN254_SCALAR_FIELD, compute_poseidon
from l2.tx import RECORD_SIZE, SIGNING_DOMAIN_TAG

__all__ = [
    "RECORD_ELEMENTS",
    "compute_batch_input",
    "compute_config_hash",
    "compute_record_elements",
    "compute_records_hash",
    "compute_signing_domain",
]

#: A record spans four 31-byte blob elements (``l2.tx``: 124 = 4 x 31).
RECORD_ELEMENTS: Final = 4
_ELEMENT_BYTES: Final = 31
_EMPTY_RECORD: Final = bytes(RECORD_SIZE)


def compute_signing_domain(config: RollupConfig) -> tuple[int, int]:
    """``(dom0, dom1)``: the 54-byte signing prefix as a 31-byte and a 23-byte big-endian chunk.

    A signing message under the validity profile is ``Poseidon(c0, c1, c2, c3)`` with
    ``c0 = dom0`` and ``c1 = dom1 * 2**64 + int(body[0:8])`` (docs/validity.md §1)."""
    prefix = SIGNING_DOMAIN_TAG + config.chain_id.to_bytes(4, "little") + config.rollup_id
    return (
        int.from_bytes(prefix[:_ELEMENT_BYTES], "big"),
        int.from_bytes(prefix[_ELEMENT_BYTES:], "big"),
    )


def compute_config_hash(config: RollupConfig) -> int:
    """``Poseidon([dom0, dom1, fee_account])``: the rollup's identity as the circuit sees it."""
    dom0, dom1 = compute_signing_domain(config)
    return compute_poseidon([dom0, dom1, config.fee_account])


def compute_record_elements(record: bytes) -> tuple[int, int, int, int]:
    """The four blob field elements carrying a 124-byte record (``InvalidRecord`` otherwise)."""
    if len(record) != RECORD_SIZE:
        raise InvalidRecord(f"a record is {RECORD_SIZE} bytes, got {len(record)}")
    e0, e1, e2, e3 = (
        int.from_bytes(record[j * _ELEMENT_BYTES : (j + 1) * _ELEMENT_BYTES], "big")
        for j in range(RECORD_ELEMENTS)
    )
    return e0, e1, e2, e3


def compute_records_hash(records: Sequence[bytes], batch_size: int) -> int:
    """The Poseidon chain over ``batch_size`` records, the missing ones all-zero.

    Padding to the circuit's fixed batch size is what lets one circuit prove every batch length;
    an all-zero record has kind 0, a no-op slot.  ``FieldOutOfRange`` for more records than
    ``batch_size``, ``InvalidRecord`` for a record that is not 124 bytes.
    """
    if len(records) > batch_size:
        raise FieldOutOfRange(f"{len(records)} records do not fit a batch of {batch_size}")
    padded = [*records, *([_EMPTY_RECORD] * (batch_size - len(records)))]
    running = 0
    for record in padded:
        running = compute_poseidon([running, *compute_record_elements(record)])
    return running


def _decode_root(root: bytes, what: str) -> int:
    if len(root) != 32:
        raise FieldOutOfRange(f"the {what} is 32 bytes, got {len(root)}")
    value = int.from_bytes(root, "big")
    if value >= BN254_SCALAR_FIELD:
        raise FieldOutOfRange(f"the {what} is not a BN254 scalar field element")
    return value


def compute_batch_input(
    old_root: bytes, new_root: bytes, records: Sequence[bytes], config: RollupConfig
) -> int:
    """The proof's public input (module docstring), for a batch of ``config.preset``'s size."""
    records_hash = compute_records_hash(records, config.preset.max_txs_per_batch)
    return compute_poseidon(
        [
            _decode_root(old_root, "old state root"),
            _decode_root(new_root, "new state root"),
            records_hash,
            compute_config_hash(config),
        ]
    )
