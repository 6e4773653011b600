"""Profiles: the hash and signature scheme a rollup instance runs on (DESIGN.md §3).

The STF, the accounts tree, the record codec and derivation never hash or verify anything
themselves; they call the ``Profile`` they are given.  Two profiles are planned:

- ``OPTIMISTIC`` (here): ckbhash (BLAKE2b-256, RFC 0022) and ECDSA over secp256k1 through
  coincurve -- the curve of CKB's default lock and of Ethereum wallets, cheap to verify natively
  in a one-step proof.
- the validity profile (a later issue): Poseidon and EdDSA over BabyJubJub, circomlib-compatible,
  so the circuits stay small.

The protocol is shaped for the second one as much as the first:

- ``hash_leaf`` receives the *fields* (public key, balance, nonce), not a byte string, so a
  Poseidon profile can hash them as field elements (e.g. ``Poseidon(Ax, Ay, balance, nonce)``)
  without a byte-packing layer in the circuit.
- ``hash_node`` takes and returns 32-byte values.  A Poseidon profile encodes field elements as
  32 bytes big-endian; every 32-byte value the protocol feeds to ``hash_node`` is either a
  ``hash_node``/``hash_leaf`` output, an empty-subtree hash, or the state counters word
  (``l2.state``), which is below 2**96 and therefore a field element of any curve we use.
- ``hash_message`` turns the signing preimage (``l2.tx``) into the 32-byte message; a Poseidon
  profile may pack the preimage into 31-byte chunks.
- Public keys and signatures have profile-defined sizes, at most 33 and 64 bytes (the record's
  slots, ``l2.tx``): 33-byte compressed secp256k1 keys and 64-byte ``r || s`` here, 32-byte packed
  BabyJubJub points and 64-byte ``R8 || S`` there.

Signatures are checked against the public key the account leaf holds (the record names the
account), so no public-key recovery is needed and no recovery id is carried.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol

import coincurve
from coincurve.ecdsa import cdata_to_der, deserialize_compact

from l1.ckb.hashing import ckbhash
from l2.errors import InvalidPublicKey, InvalidSignature

__all__ = [
    "MAX_PUBLIC_KEY_SIZE",
    "MAX_SIGNATURE_SIZE",
    "OPTIMISTIC",
    "SECP256K1_N",
    "OptimisticProfile",
    "Profile",
    "compute_empty_subtree_hashes",
]

#: Record slot sizes (``l2.tx``): a profile's keys and signatures must fit them.
MAX_PUBLIC_KEY_SIZE: Final = 33
MAX_SIGNATURE_SIZE: Final = 64
#: Deepest tree a profile precomputes empty-subtree hashes for (u32 account indices).
_MAX_DEPTH: Final = 32

SECP256K1_N: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_N: Final = SECP256K1_N // 2


class Profile(Protocol):
    """The hash and signature scheme of a rollup instance.

    Implementations are immutable and deterministic; ``verify`` never raises and
    ``validate_*`` raise only the named ``L2Error`` leaves.
    """

    @property
    def name(self) -> str: ...

    @property
    def public_key_size(self) -> int: ...

    @property
    def signature_size(self) -> int: ...

    @property
    def empty_leaf_hash(self) -> bytes:
        """The leaf value of an absent account (what absent-leaf proofs prove)."""
        ...

    @property
    def empty_subtree_hashes(self) -> tuple[bytes, ...]:
        """``[h]`` = root of an empty subtree of height ``h``, for ``h`` in ``0..32``."""
        ...

    def hash_leaf(self, public_key: bytes, balance: int, nonce: int) -> bytes: ...

    def hash_node(self, left: bytes, right: bytes) -> bytes: ...

    def hash_message(self, preimage: bytes) -> bytes:
        """The 32-byte message a signature covers, from the domain-separated preimage."""
        ...

    def validate_public_key(self, public_key: bytes) -> None:
        """Raise ``InvalidPublicKey`` unless ``public_key`` is a canonical key of this profile."""
        ...

    def validate_signature(self, public_key: bytes, message: bytes, signature: bytes) -> None:
        """Raise ``InvalidSignature`` (with the reason) unless the signature is valid, canonical
        (no malleable twin) and by ``public_key`` over ``message``."""
        ...

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        """``validate_signature`` as a predicate; never raises."""
        ...

    def sign(self, private_key: bytes, message: bytes) -> bytes:
        """Sign ``message`` (for tests and clients; the protocol itself never signs)."""
        ...

    def compute_public_key(self, private_key: bytes) -> bytes: ...


def compute_empty_subtree_hashes(
    empty_leaf: bytes, hash_node: Callable[[bytes, bytes], bytes], depth: int = _MAX_DEPTH
) -> tuple[bytes, ...]:
    """``E[0] = empty_leaf``, ``E[h] = hash_node(E[h-1], E[h-1])`` for ``h`` up to ``depth``.

    Precomputed once per profile so a sparse tree never hashes an empty subtree at run time.
    """
    hashes = [empty_leaf]
    for _ in range(depth):
        hashes.append(hash_node(hashes[-1], hashes[-1]))
    return tuple(hashes)


class OptimisticProfile:
    """ckbhash + ECDSA/secp256k1 (DESIGN.md §3 "optimistic").

    - leaf = ``ckbhash(0x00 || public_key[33] || balance u64 LE || nonce u32 LE)``; the tag byte
      and the 46-byte length keep leaves and 64-byte internal nodes apart.
    - node = ``ckbhash(left || right)``, CKB's own Merkle merge (RFC 0006 / ``merkle_tree.rs``).
    - empty leaf = 32 zero bytes (no preimage is known, so no account can look absent).
    - message = ``ckbhash(preimage)``.
    - keys: 33-byte SEC1 compressed points (prefix 2 or 3, on the curve).
    - signatures: 64-byte ``r || s`` big-endian, ``r, s`` in ``[1, n)`` and ``s <= n/2``
      (low-s, as CKB's default lock and EIP-2 demand), verified by libsecp256k1 against the
      account's key.
    """

    __slots__ = ("_empty",)

    name: Final = "optimistic"
    public_key_size: Final = 33
    signature_size: Final = 64
    empty_leaf_hash: Final = bytes(32)

    def __init__(self) -> None:
        self._empty = compute_empty_subtree_hashes(self.empty_leaf_hash, self.hash_node)

    @property
    def empty_subtree_hashes(self) -> tuple[bytes, ...]:
        return self._empty

    def hash_leaf(self, public_key: bytes, balance: int, nonce: int) -> bytes:
        return ckbhash(
            b"\x00" + public_key + balance.to_bytes(8, "little") + nonce.to_bytes(4, "little")
        )

    def hash_node(self, left: bytes, right: bytes) -> bytes:
        return ckbhash(left + right)

    def hash_message(self, preimage: bytes) -> bytes:
        return ckbhash(preimage)

    def validate_public_key(self, public_key: bytes) -> None:
        if len(public_key) != self.public_key_size:
            raise InvalidPublicKey(
                f"a public key is {self.public_key_size} bytes (compressed), got {len(public_key)}"
            )
        if public_key[0] not in (2, 3):
            raise InvalidPublicKey(
                f"compressed key prefix must be 02 or 03, got {public_key[0]:02x}"
            )
        try:
            coincurve.PublicKey(public_key)
        except Exception:  # coincurve raises ValueError or a bare Exception for bad points
            raise InvalidPublicKey("public key is not a point on secp256k1") from None

    def validate_signature(self, public_key: bytes, message: bytes, signature: bytes) -> None:
        if len(message) != 32:
            raise InvalidSignature(f"the signed message is 32 bytes, got {len(message)}")
        if len(signature) != self.signature_size:
            raise InvalidSignature(
                f"a signature is {self.signature_size} bytes (r || s), got {len(signature)}"
            )
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        if not 0 < r < SECP256K1_N or not 0 < s < SECP256K1_N:
            raise InvalidSignature("signature r and s must be in [1, n)")
        if s > _HALF_N:
            raise InvalidSignature("signature has a high s value (malleable); use the low-s form")
        try:
            self.validate_public_key(public_key)
        except InvalidPublicKey as exc:
            raise InvalidSignature(f"the account key is not valid: {exc}") from None
        try:
            der = cdata_to_der(deserialize_compact(signature))
            valid = coincurve.PublicKey(public_key).verify(der, message, hasher=None)
        except Exception:
            valid = False
        if not valid:
            raise InvalidSignature("signature is not by the account's key over this message")

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        try:
            self.validate_signature(public_key, message, signature)
        except InvalidSignature:
            return False
        return True

    def sign(self, private_key: bytes, message: bytes) -> bytes:
        # libsecp256k1 always produces the low-s form (RFC 6979 nonces): deterministic output.
        return bytes(coincurve.PrivateKey(private_key).sign_recoverable(message, hasher=None)[:64])

    def compute_public_key(self, private_key: bytes) -> bytes:
        return bytes(coincurve.PrivateKey(private_key).public_key.format(compressed=True))


OPTIMISTIC: Final = OptimisticProfile()
