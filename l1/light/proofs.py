"""Binding a block's blob versioned hashes to its header, for a client that has only the header.

A full node answers ``get_block_blob_transactions(block_hash)`` with the blob-carrying
transactions of the block, a CBMT multi-proof of their hashes in the block's tx-hash tree, that
tree's root ``T`` and the witness-hash tree's root ``W``. The light client recomputes every
transaction hash itself (so the versioned hashes it samples are the ones the transaction commits
to), checks the proof yields ``T`` and that ``ckbhash(T || W)`` is the header's
``transactions_root`` (RFC 0027; ``l1.ckb.hashes.compute_transactions_root_from_hashes``).

Proof ordering (``l1.ckb.cbmt``): merkle-cbt orders ``indices`` by ascending leaf value, and
verification pairs them with the sorted leaves, so leaves may be passed in any order; the
``tx_index`` a node claims is checked against the same pairing (tree index = tx_index + n - 1
for one n shared by every leaf).

Known limit: this proves that the listed transactions are in the block, not that no other
blob-carrying transaction is — absence would need every transaction body. A peer can hide a
blob transaction from the light client only if every peer it asks does.

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from l1.ckb.cbmt import CbmtProof, verify_cbmt_proof
from l1.ckb.hashes import compute_header_hash, compute_tx_hash
from l1.ckb.hashing import ckbhash
from l1.ckb.json import h256_from_json, quantity_from_json, transaction_from_json
from l1.ckb.types import Header

__all__ = ["BlobTransaction", "BlobTransactionsProofError", "verify_block_blob_transactions"]


class BlobTransactionsProofError(ValueError):
    """A peer's ``get_block_blob_transactions`` answer does not prove what it claims."""


@dataclass(frozen=True, slots=True)
class BlobTransaction:
    tx_hash: bytes
    tx_index: int
    versioned_hashes: tuple[bytes, ...]


def _parse(payload: Any) -> tuple[bytes, list[tuple[int, Any]], bytes, bytes, CbmtProof | None]:
    if not isinstance(payload, dict):
        raise BlobTransactionsProofError("the answer is not an object")
    block_hash = h256_from_json(payload.get("block_hash"), "block_hash")
    raw_txs = payload.get("transactions")
    if not isinstance(raw_txs, list):
        raise BlobTransactionsProofError("transactions must be a list")
    entries: list[tuple[int, Any]] = []
    for n, entry in enumerate(raw_txs):
        if not isinstance(entry, dict):
            raise BlobTransactionsProofError(f"transactions[{n}] is not an object")
        body = dict(entry)
        tx_index = quantity_from_json(body.pop("tx_index", None), f"transactions[{n}].tx_index")
        entries.append((tx_index, transaction_from_json(body, f"transactions[{n}]")))
    tx_root = h256_from_json(payload.get("tx_hashes_root"), "tx_hashes_root")
    witnesses_root = h256_from_json(payload.get("witnesses_root"), "witnesses_root")
    raw_proof = payload.get("tx_hashes_proof")
    proof = None
    if raw_proof is not None:
        if not isinstance(raw_proof, dict):
            raise BlobTransactionsProofError("tx_hashes_proof must be an object")
        indices = raw_proof.get("indices")
        lemmas = raw_proof.get("lemmas")
        if not isinstance(indices, list) or not isinstance(lemmas, list):
            raise BlobTransactionsProofError("tx_hashes_proof needs indices and lemmas lists")
        proof = CbmtProof(
            tuple(quantity_from_json(i, f"indices[{n}]", 32) for n, i in enumerate(indices)),
            tuple(h256_from_json(h, f"lemmas[{n}]") for n, h in enumerate(lemmas)),
        )
    return block_hash, entries, tx_root, witnesses_root, proof


def verify_block_blob_transactions(header: Header, payload: Any) -> tuple[BlobTransaction, ...]:
    """The blob transactions ``payload`` proves to be in the block of ``header``, in block order.

    Raises ``BlobTransactionsProofError`` if anything does not check out.
    """
    try:
        block_hash, entries, tx_root, witnesses_root, proof = _parse(payload)
    except BlobTransactionsProofError:
        raise
    except (ValueError, TypeError) as exc:  # JsonFormatError is a ValueError
        raise BlobTransactionsProofError(f"malformed answer: {exc}") from None
    if block_hash != compute_header_hash(header):
        raise BlobTransactionsProofError(
            f"answer is about block {block_hash.hex()}, not {compute_header_hash(header).hex()}"
        )
    if ckbhash(tx_root + witnesses_root) != header.raw.transactions_root:
        raise BlobTransactionsProofError(
            "ckbhash(tx_hashes_root || witnesses_root) is not the header's transactions_root"
        )
    result = []
    for tx_index, tx in entries:
        if not tx.raw.blob_versioned_hashes:
            raise BlobTransactionsProofError(f"transaction {tx_index} carries no blobs")
        result.append(
            BlobTransaction(compute_tx_hash(tx), tx_index, tuple(tx.raw.blob_versioned_hashes))
        )
    if not result:
        if proof is not None:
            raise BlobTransactionsProofError("a proof without transactions")
        return ()
    if proof is None:
        raise BlobTransactionsProofError("transactions without a tx_hashes_proof")
    leaves = [tx.tx_hash for tx in result]
    if len(set(leaves)) != len(leaves):
        raise BlobTransactionsProofError("a transaction is listed twice")
    if not verify_cbmt_proof(proof, tx_root, leaves):
        raise BlobTransactionsProofError("the CBMT proof does not give tx_hashes_root")
    # merkle-cbt pairs indices (ordered by leaf value) with the sorted leaves.
    tree_index = dict(zip(sorted(leaves), proof.indices, strict=True))
    offsets = {tree_index[tx.tx_hash] - tx.tx_index for tx in result}
    if len(offsets) != 1:
        raise BlobTransactionsProofError("tx_index does not match the proven tree positions")
    leaves_minus_one = offsets.pop()
    if any(not 0 <= tx.tx_index <= leaves_minus_one for tx in result):
        raise BlobTransactionsProofError("tx_index is outside the proven tree")
    return tuple(sorted(result, key=lambda tx: tx.tx_index))
