"""``secp256k1_blake160_sighash_all``: CKB's default lock (``ckb-system-scripts``
``c/secp256k1_blake160_sighash_all.c``; RFC 0024), with CKB's exact signing message.

args = blake160(compressed public key) (20 bytes). The first witness of the lock group is a
``WitnessArgs`` whose ``lock`` holds a 65-byte recoverable signature (r || s || recid). The message
is ckbhash over: tx_hash; u64_le(len) || the first group witness with ``lock`` zeroed to 65 bytes;
u64_le(len) || witness for every other input of the group; u64_le(len) || witness for every
witness beyond the number of inputs. Signatures with a high ``s`` are rejected (no malleability).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import coincurve

from l1.ckb.hashes import compute_tx_hash
from l1.ckb.hashing import blake160
from l1.ckb.molecule import MoleculeError
from l1.ckb.types import Transaction, WitnessArgs
from l1.core.scripts.base import NativeVerifier, ScriptContext, VerifierFailure

__all__ = [
    "SECP256K1_BLAKE160_SIGHASH_ALL",
    "SECP256K1_CODE",
    "SECP256K1_CYCLES",
    "SECP256K1_N",
    "compute_lock_args",
    "compute_sighash_all_message",
    "sign_sighash_all",
    "validate_signature_encoding",
]

SECP256K1_CODE = b"rollcourt-native-verifier:secp256k1_blake160_sighash_all:v1"
#: Close to what CKB-VM charges for the C lock (about 1.2-1.6 M cycles per group).
SECP256K1_CYCLES = 1_500_000
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SIGNATURE_SIZE = 65


def _ckb_hasher() -> hashlib.blake2b:
    return hashlib.blake2b(digest_size=32, person=b"ckb-default-hash")


def compute_lock_args(public_key: bytes) -> bytes:
    """blake160 of the 33-byte compressed public key."""
    return blake160(coincurve.PublicKey(public_key).format(compressed=True))


def compute_sighash_all_message(
    tx: Transaction, group_input_indices: Sequence[int], tx_hash: bytes | None = None
) -> bytes:
    """The 32-byte message signed for a lock group (see the module docstring)."""
    if not group_input_indices:
        raise VerifierFailure("a lock group has at least one input")
    witnesses = tx.witnesses
    first = group_input_indices[0]
    if first >= len(witnesses):
        raise VerifierFailure(f"missing witness for input {first}")
    try:
        witness_args = WitnessArgs.deserialize(witnesses[first])
    except MoleculeError as exc:
        raise VerifierFailure(f"witness {first} is not a WitnessArgs: {exc}") from None
    if witness_args.lock is None or len(witness_args.lock) != SIGNATURE_SIZE:
        raise VerifierFailure(f"witness {first} lock must hold a {SIGNATURE_SIZE}-byte signature")
    zeroed = WitnessArgs(
        bytes(SIGNATURE_SIZE), witness_args.input_type, witness_args.output_type
    ).serialize()
    hasher = _ckb_hasher()
    hasher.update(tx_hash if tx_hash is not None else compute_tx_hash(tx))
    hasher.update(len(zeroed).to_bytes(8, "little"))
    hasher.update(zeroed)
    for index in group_input_indices[1:]:
        if index < len(witnesses):
            hasher.update(len(witnesses[index]).to_bytes(8, "little"))
            hasher.update(witnesses[index])
    for index in range(len(tx.raw.inputs), len(witnesses)):
        hasher.update(len(witnesses[index]).to_bytes(8, "little"))
        hasher.update(witnesses[index])
    return hasher.digest()


def validate_signature_encoding(signature: bytes) -> None:
    """r and s in [1, n), s in the lower half (no malleable twin), recovery id 0-3."""
    if len(signature) != SIGNATURE_SIZE:
        raise VerifierFailure(f"signature must be {SIGNATURE_SIZE} bytes, got {len(signature)}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    if not 0 < r < SECP256K1_N or not 0 < s < SECP256K1_N:
        raise VerifierFailure("signature r and s must be in [1, n)")
    if s > SECP256K1_N // 2:
        raise VerifierFailure("signature has a high s value (malleable); use the low-s form")
    if signature[64] > 3:
        raise VerifierFailure(f"signature recovery id must be 0-3, got {signature[64]}")


def _run(context: ScriptContext) -> int:
    if len(context.args) != 20:
        raise VerifierFailure(f"secp256k1 lock args must be 20 bytes, got {len(context.args)}")
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
    if blake160(public_key.format(compressed=True)) != context.args:
        raise VerifierFailure("signature is not by the key this lock names")
    return SECP256K1_CYCLES


SECP256K1_BLAKE160_SIGHASH_ALL = NativeVerifier("secp256k1_blake160_sighash_all", _run)


def sign_sighash_all(
    tx: Transaction, group_input_indices: Sequence[int], private_key: bytes
) -> Transaction:
    """Return ``tx`` with the group's first witness carrying a signature by ``private_key``.

    Existing witnesses are kept (a non-WitnessArgs first witness is replaced); missing ones are
    filled with empty WitnessArgs so that indices line up.
    """
    first = group_input_indices[0]
    witnesses = list(tx.witnesses)
    while len(witnesses) <= first:
        witnesses.append(b"")
    try:
        current = WitnessArgs.deserialize(witnesses[first]) if witnesses[first] else WitnessArgs()
    except MoleculeError:
        current = WitnessArgs()
    witnesses[first] = WitnessArgs(
        bytes(SIGNATURE_SIZE), current.input_type, current.output_type
    ).serialize()
    placeholder = Transaction(tx.raw, tuple(witnesses))
    message = compute_sighash_all_message(placeholder, group_input_indices)
    signature = coincurve.PrivateKey(private_key).sign_recoverable(message, hasher=None)
    witnesses[first] = WitnessArgs(signature, current.input_type, current.output_type).serialize()
    return Transaction(tx.raw, tuple(witnesses))
