"""CKB-compatible primitives: hashing, Eaglesong, CBMT, compact targets, molecule and JSON.

Everything here must match Nervos CKB bit for bit (ckb-facts.md §3-§4), so CKB's own published
vectors and real mainnet data check it. Pure functions only: no I/O.
"""

from l1.ckb.cbmt import CbmtProof, build_cbmt_proof, cbmt_root, verify_cbmt_proof
from l1.ckb.compact import (
    compact_to_difficulty,
    compact_to_target,
    difficulty_to_compact,
    target_to_compact,
)
from l1.ckb.eaglesong import eaglesong
from l1.ckb.epoch import EpochNumberWithFraction
from l1.ckb.hashes import (
    compute_data_hash,
    compute_extra_hash,
    compute_header_hash,
    compute_pow_hash,
    compute_proposals_hash,
    compute_script_hash,
    compute_transactions_root,
    compute_tx_hash,
    compute_witness_hash,
)
from l1.ckb.hashing import blake160, ckbhash
from l1.ckb.json import (
    JsonFormatError,
    block_from_json,
    block_to_json,
    header_from_json,
    header_to_json,
    transaction_from_json,
    transaction_to_json,
)
from l1.ckb.molecule import MoleculeError
from l1.ckb.pow import verify_pow
from l1.ckb.since import Since, SinceFormatError, SinceMetric
from l1.ckb.types import (
    Block,
    CellbaseWitness,
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
    WitnessArgs,
)

__all__ = [
    "Block",
    "CbmtProof",
    "CellDep",
    "CellInput",
    "CellOutput",
    "CellbaseWitness",
    "EpochNumberWithFraction",
    "Header",
    "JsonFormatError",
    "MoleculeError",
    "OutPoint",
    "RawHeader",
    "RawTransaction",
    "Script",
    "Since",
    "SinceFormatError",
    "SinceMetric",
    "Transaction",
    "UncleBlock",
    "WitnessArgs",
    "blake160",
    "block_from_json",
    "block_to_json",
    "build_cbmt_proof",
    "cbmt_root",
    "ckbhash",
    "compact_to_difficulty",
    "compact_to_target",
    "compute_data_hash",
    "compute_extra_hash",
    "compute_header_hash",
    "compute_pow_hash",
    "compute_proposals_hash",
    "compute_script_hash",
    "compute_transactions_root",
    "compute_tx_hash",
    "compute_witness_hash",
    "difficulty_to_compact",
    "eaglesong",
    "header_from_json",
    "header_to_json",
    "target_to_compact",
    "transaction_from_json",
    "transaction_to_json",
    "verify_cbmt_proof",
    "verify_pow",
]
