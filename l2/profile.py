"""Profiles: the hash and signature scheme a rollup instance runs on (DESIGN.md §3).

The STF, the accounts tree, the record codec and derivation never hash or verify anything
themselves; they call the ``Profile`` they are given.  Two profiles are planned:

- ``OPTIMISTIC`` (here): ckbhash (BLAKE2b-256, RFC 0022) and ECDSA over secp256k1 through
  coincurve -- the curve of CKB's default lock and of Ethereum wallets, cheap to verify natively
  in a one-step proof.
- ``VALIDITY`` (here): Poseidon and EdDSA-Poseidon over Baby Jubjub, bit for bit circomlib 2.0.5 /
  circomlibjs 0.1.7 (docs/validity.md §1), so the Groth16 circuits of validity mode stay small.

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
from functools import lru_cache
from typing import Final, Protocol

import coincurve
from coincurve.ecdsa import cdata_to_der, deserialize_compact

from l1.ckb.hashing import ckbhash
from l2.babyjub import (
    IDENTITY,
    Point,
    is_in_subgroup,
    pack_point,
    pack_signature,
    sign_poseidon,
    unpack_point,
    verify_poseidon,
)
from l2.babyjub import SUBGROUP_ORDER as BABYJUB_SUBGROUP_ORDER
from l2.babyjub import compute_public_key as compute_babyjub_public_key
from l2.errors import FieldOutOfRange, InvalidPublicKey, InvalidSignature
from l2.poseidon import BN254_SCALAR_FIELD, POSEIDON_MAX_INPUTS, compute_poseidon
from l2.preset import L2Preset

__all__ = [
    "MAX_PUBLIC_KEY_SIZE",
    "MAX_SIGNATURE_SIZE",
    "OPTIMISTIC",
    "PROFILES",
    "SECP256K1_N",
    "VALIDITY",
    "OptimisticProfile",
    "Profile",
    "ValidityProfile",
    "compute_empty_subtree_hashes",
    "get_preset_profile",
    "get_profile",
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


# ----------------------------------------------------------------------------- validity
#: Bytes per Poseidon input when a byte string is hashed: 31 bytes always fit below ``p``.
_CHUNK_SIZE: Final = 31


def _decode_field(value: bytes, what: str) -> int:
    """A 32-byte big-endian field element; never reduced, so each element has one encoding."""
    if len(value) != 32:
        raise FieldOutOfRange(f"{what} is a 32-byte field element, got {len(value)} bytes")
    element = int.from_bytes(value, "big")
    if element >= BN254_SCALAR_FIELD:
        raise FieldOutOfRange(f"{what} is not below the BN254 scalar field modulus")
    return element


@lru_cache(maxsize=4096)
def _decode_public_key(public_key: bytes) -> Point:
    """Unpack and fully validate a key (cached: the subgroup check is a scalar multiplication,
    and the same few keys are checked again for every transaction and leaf)."""
    if len(public_key) != 32:
        raise InvalidPublicKey(f"a public key is 32 bytes (packed point), got {len(public_key)}")
    try:
        point = unpack_point(public_key)
    except FieldOutOfRange as exc:
        raise InvalidPublicKey(f"public key: {exc}") from None
    if point == IDENTITY:
        raise InvalidPublicKey("public key is the identity point")
    if not is_in_subgroup(point):
        raise InvalidPublicKey("public key is not in the prime-order subgroup of Baby Jubjub")
    return point


class ValidityProfile:
    """Poseidon + EdDSA-Poseidon over Baby Jubjub (docs/validity.md §1).

    - field element as 32 bytes: big-endian, value ``< p``; a larger value is refused
      (``FieldOutOfRange``), never reduced.
    - leaf = ``Poseidon([Ax, Ay, balance, nonce])``, ``(Ax, Ay)`` the unpacked key: the circuit
      hashes the coordinates it verifies signatures with, no byte packing in between.
    - node = ``Poseidon([left, right])`` (circomlib ``Poseidon(2)``).
    - empty leaf = 32 zero bytes (field 0).
    - message = ``Poseidon(c_0, .., c_k)``, ``c_j`` the big-endian 31-byte chunks of the
      preimage (at most 5): every chunk is below ``p``, so no two preimages of one length
      collide by reduction.
    - keys: circomlibjs ``packPoint`` (32 bytes), canonical, in the prime-order subgroup, not
      the identity (a small-order key would let anyone forge its signatures).
    - signatures: circomlibjs ``packSignature`` = packed ``R8`` || ``S`` LE, ``S < L`` (the
      malleable ``S + L`` twin is refused), verified as circomlib ``EdDSAPoseidonVerifier``.
    """

    __slots__ = ("_empty",)

    name: Final = "validity"
    public_key_size: Final = 32
    signature_size: Final = 64
    empty_leaf_hash: Final = bytes(32)

    def __init__(self) -> None:
        self._empty = compute_empty_subtree_hashes(self.empty_leaf_hash, self.hash_node)

    @property
    def empty_subtree_hashes(self) -> tuple[bytes, ...]:
        return self._empty

    # ------------------------------------------------------------------ decoding helpers
    def unpack_public_key(self, public_key: bytes) -> tuple[int, int]:
        """``(Ax, Ay)`` of a valid key (what the prover's witness carries); ``InvalidPublicKey``
        with the reason otherwise."""
        return _decode_public_key(bytes(public_key))

    def unpack_signature(self, signature: bytes) -> tuple[int, int, int]:
        """``(R8x, R8y, S)`` of a canonical signature; ``InvalidSignature`` with the reason
        otherwise (wrong length, ``R8`` not a canonical curve point, ``S >= L``)."""
        if len(signature) != self.signature_size:
            raise InvalidSignature(
                f"a signature is {self.signature_size} bytes (R8 || S), got {len(signature)}"
            )
        try:
            r8 = unpack_point(signature[:32])
        except FieldOutOfRange as exc:
            raise InvalidSignature(f"signature R8: {exc}") from None
        s = int.from_bytes(signature[32:], "little")
        if s >= BABYJUB_SUBGROUP_ORDER:
            raise InvalidSignature("signature S is not below the subgroup order (malleable)")
        return r8[0], r8[1], s

    # ------------------------------------------------------------------ hashing
    def hash_leaf(self, public_key: bytes, balance: int, nonce: int) -> bytes:
        ax, ay = self.unpack_public_key(public_key)
        return compute_poseidon([ax, ay, balance, nonce]).to_bytes(32, "big")

    def hash_node(self, left: bytes, right: bytes) -> bytes:
        elements = [_decode_field(left, "left node"), _decode_field(right, "right node")]
        return compute_poseidon(elements).to_bytes(32, "big")

    def hash_message(self, preimage: bytes) -> bytes:
        chunks = [
            int.from_bytes(preimage[i : i + _CHUNK_SIZE], "big")
            for i in range(0, len(preimage), _CHUNK_SIZE)
        ]
        if not 1 <= len(chunks) <= POSEIDON_MAX_INPUTS:
            raise FieldOutOfRange(
                f"a signing preimage is 1..{_CHUNK_SIZE * POSEIDON_MAX_INPUTS} bytes, "
                f"got {len(preimage)}"
            )
        return compute_poseidon(chunks).to_bytes(32, "big")

    # ------------------------------------------------------------------ keys and signatures
    def validate_public_key(self, public_key: bytes) -> None:
        self.unpack_public_key(public_key)

    def validate_signature(self, public_key: bytes, message: bytes, signature: bytes) -> None:
        try:
            m = _decode_field(message, "the signed message")
        except FieldOutOfRange as exc:
            raise InvalidSignature(str(exc)) from None
        r8x, r8y, s = self.unpack_signature(signature)
        try:
            a = self.unpack_public_key(public_key)
        except InvalidPublicKey as exc:
            raise InvalidSignature(f"the account key is not valid: {exc}") from None
        if not verify_poseidon(a, m, (r8x, r8y), s):
            raise InvalidSignature("signature is not by the account's key over this message")

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        try:
            self.validate_signature(public_key, message, signature)
        except InvalidSignature:
            return False
        return True

    def sign(self, private_key: bytes, message: bytes) -> bytes:
        r8, s = sign_poseidon(private_key, _decode_field(message, "the signed message"))
        return pack_signature(r8, s)

    def compute_public_key(self, private_key: bytes) -> bytes:
        return pack_point(compute_babyjub_public_key(private_key))


VALIDITY: Final = ValidityProfile()
PROFILES: Final[dict[str, Profile]] = {OPTIMISTIC.name: OPTIMISTIC, VALIDITY.name: VALIDITY}


def get_preset_profile(preset: L2Preset) -> Profile:
    """The profile rollups on ``preset`` run (``L2Preset.profile``)."""
    return get_profile(preset.profile)


def get_profile(name: str) -> Profile:
    """The profile called ``name``; ``KeyError`` lists the known names."""
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r}; known: {sorted(PROFILES)}") from None
