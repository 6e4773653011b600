"""ckbhash and blake160: CKB's default hash functions.

Why: every CKB hash -- transaction, script, header, cell data, Merkle nodes -- is ``ckbhash``, so
the L1 must compute it exactly as CKB does.  RFC 0022 Appendix A / RFC 0027 Appendix "ckbhash":
BLAKE2b with a 32-byte digest, no key and personalization ``b"ckb-default-hash"``
(``ckb/util/hash``).  ``blake160`` is the first 20 bytes of it, used e.g. for secp256k1 lock args
(RFC 0024; ``secp256k1_blake160_sighash_all.c``).  Pure; ``hashlib`` does the work.
"""

from __future__ import annotations

import hashlib
from typing import Final

__all__ = ["BLANK_HASH", "CKB_HASH_PERSONALIZATION", "blake160", "ckbhash"]

CKB_HASH_PERSONALIZATION: Final = b"ckb-default-hash"

#: ``ckbhash(b"")`` (RFC 0027 Python unittest; ``BLANK_HASH`` in ``ckb/util/hash``).
BLANK_HASH: Final = bytes.fromhex(
    "44f4c69744d5f8c55d642062949dcae49bc4e7ef43d388c5a12f42b5633d163e"
)


def ckbhash(data: bytes) -> bytes:
    """Return CKB's 32-byte BLAKE2b digest of ``data`` (personalization ``ckb-default-hash``)."""
    return hashlib.blake2b(data, digest_size=32, person=CKB_HASH_PERSONALIZATION).digest()


def blake160(data: bytes) -> bytes:
    """Return the first 20 bytes of ``ckbhash(data)`` (CKB's "blake160", e.g. lock args)."""
    return ckbhash(data)[:20]
