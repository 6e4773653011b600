"""The hashes that identify CKB objects (RFC 0022, RFC 0027, RFC 0031).

All are ckbhash over molecule bytes; ``transactions_root`` is a two-leaf CBMT over the CBMT roots
of transaction hashes and witness hashes, as in CKB's ``BlockView::calc_transactions_root``.
"""

from __future__ import annotations

from collections.abc import Sequence

from l1.ckb.cbmt import cbmt_root
from l1.ckb.hashing import ckbhash
from l1.ckb.types import ZERO_HASH, Block, Header, RawHeader, Script, Transaction, UncleBlock

__all__ = [
    "compute_block_hash",
    "compute_data_hash",
    "compute_extra_hash",
    "compute_header_hash",
    "compute_pow_hash",
    "compute_proposals_hash",
    "compute_script_hash",
    "compute_transactions_root",
    "compute_transactions_root_from_hashes",
    "compute_tx_hash",
    "compute_uncles_hash",
    "compute_witness_hash",
]


def compute_tx_hash(tx: Transaction) -> bytes:
    """tx hash = ckbhash(molecule(RawTransaction)); witnesses are not covered (RFC 0022)."""
    return ckbhash(tx.raw.serialize())


def compute_witness_hash(tx: Transaction) -> bytes:
    """witness hash = ckbhash(molecule(Transaction)), witnesses included (RFC 0027)."""
    return ckbhash(tx.serialize())


def compute_script_hash(script: Script) -> bytes:
    return ckbhash(script.serialize())


def compute_data_hash(data: bytes) -> bytes:
    """``CellOutput::calc_data_hash``: all zeros for empty data, ckbhash otherwise.

    The zero special case is CKB's (``calc_hash.rs``); it is what ``hash_type = data`` matches.
    """
    return ZERO_HASH if not data else ckbhash(data)


def compute_pow_hash(raw: RawHeader) -> bytes:
    """pow_hash = ckbhash(molecule(RawHeader)): the nonce is not part of it (RFC 0027)."""
    return ckbhash(raw.serialize())


def compute_header_hash(header: Header) -> bytes:
    """Block hash = ckbhash(molecule(Header)), 208 bytes including the nonce (RFC 0027)."""
    return ckbhash(header.serialize())


def compute_block_hash(block: Block) -> bytes:
    return compute_header_hash(block.header)


def compute_transactions_root_from_hashes(
    tx_hashes: Sequence[bytes], witness_hashes: Sequence[bytes]
) -> bytes:
    return ckbhash(cbmt_root(tx_hashes) + cbmt_root(witness_hashes))


def compute_transactions_root(block: Block) -> bytes:
    """ckbhash(CBMT(tx hashes) || CBMT(witness hashes)) (RFC 0027 "transactions_root")."""
    return compute_transactions_root_from_hashes(
        [compute_tx_hash(tx) for tx in block.transactions],
        [compute_witness_hash(tx) for tx in block.transactions],
    )


def compute_proposals_hash(proposals: Sequence[bytes]) -> bytes:
    """Zero if empty, else ckbhash of the concatenated 10-byte short ids (RFC 0027)."""
    return ZERO_HASH if not proposals else ckbhash(b"".join(proposals))


def compute_uncles_hash(uncles: Sequence[UncleBlock]) -> bytes:
    """Zero if no uncles, else ckbhash of the concatenated uncle header hashes (RFC 0027)."""
    if not uncles:
        return ZERO_HASH
    return ckbhash(b"".join(compute_header_hash(uncle.header) for uncle in uncles))


def compute_extra_hash(block: Block) -> bytes:
    """RFC 0031: uncles_hash, or ckbhash(uncles_hash || ckbhash(extension)) with an extension."""
    uncles_hash = compute_uncles_hash(block.uncles)
    if block.extension is None:
        return uncles_hash
    return ckbhash(uncles_hash + ckbhash(block.extension))
