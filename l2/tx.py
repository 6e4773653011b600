"""Transactions, their signing domain and their fixed-size record (DESIGN.md §3; docs/protocol.md).

Three kinds: ``Deposit`` (from the L1 deposit queue, unsigned), ``Transfer`` and ``Withdraw``
(signed by the sender's account key).

**Record.** Every transaction encodes to exactly ``RECORD_SIZE`` = 124 bytes, whatever its kind::

    offset size  field
       0     1   kind            1 deposit, 2 transfer, 3 withdraw (0 is never valid, so a
                                 zeroed region of a blob is not a transaction)
       1     4   from   u32 LE   sender account; deposit: the L1 deposit-queue index
       5     4   to     u32 LE   recipient account; withdraw: 0
       9     8   amount u64 LE   shannons
      17     6   fee    u48 LE   shannons; deposit: 0
      23     4   nonce  u32 LE   deposit: 0
      27    33   payload         deposit: public key, zero-padded to 33
                                 withdraw: 20-byte L1 recipient (secp256k1 lock args) + 13 zeros
                                 transfer: 33 zeros
      60    64   signature       zero-padded to 64; deposit: 64 zeros

124 = 4 x 31: a record fills exactly four blob field elements (31 usable bytes each), so a
one-step proof opens exactly four elements to read one transaction (``l2.batch``).

**Amounts are exact.**  ``amount`` is a plain u64 and ``fee`` a plain u48 -- no mantissa/exponent
packing.  The fixed part (kind, indices, nonce, key slot, signature) is 110 bytes, the next
multiple of 31 is 124, which leaves exactly 14 bytes: enough for an exact u64 amount and a u48
fee (2.8 million CKB, far above any fee).  A lossy float format would save bytes only if it got
the record down to 93 bytes (3 elements), which the 64-byte signature and 33-byte key slot rule
out; so exactness costs nothing and users never meet "amount not representable".

**Signing domain** (catalogue S3, S6)::

    message = profile.hash_message(b"rollcourt/l2-tx/v1" || chain_id u32 LE || rollup_id[32]
                                   || record[0:60])

``record[0:60]`` is the record without its signature, so the kind byte (and every field) is
covered: a withdrawal signature cannot be replayed as a transfer, nor on another chain or rollup.
The same hash, without a signature in it, is the transaction hash: ids and replay protection
never depend on signature bytes (catalogue S5).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum
from typing import ClassVar, Final, TypeAlias, TypeVar

from l1.ckb.hashing import ckbhash
from l2.config import RollupConfig
from l2.errors import FieldOutOfRange, InvalidRecord
from l2.profile import MAX_PUBLIC_KEY_SIZE, MAX_SIGNATURE_SIZE, Profile

__all__ = [
    "L1_RECIPIENT_SIZE",
    "OUT_POINT_SIZE",
    "RECORD_BODY_SIZE",
    "RECORD_SIZE",
    "SIGNING_DOMAIN_TAG",
    "WITHDRAWAL_DOMAIN_TAG",
    "Deposit",
    "L1Deposit",
    "Transaction",
    "Transfer",
    "TxKind",
    "Withdraw",
    "Withdrawal",
    "compute_signing_message",
    "compute_signing_preimage",
    "compute_tx_hash",
    "compute_withdrawal_hash",
    "decode_record",
    "encode_record",
    "sign_transaction",
]

SIGNING_DOMAIN_TAG: Final = b"rollcourt/l2-tx/v1"
WITHDRAWAL_DOMAIN_TAG: Final = b"rollcourt/l2-withdrawal/v1"
RECORD_SIZE: Final = 124
#: The record without its signature: what the signature covers.
RECORD_BODY_SIZE: Final = 60
L1_RECIPIENT_SIZE: Final = 20
OUT_POINT_SIZE: Final = 36
_PAYLOAD_SIZE: Final = MAX_PUBLIC_KEY_SIZE


class TxKind(IntEnum):
    DEPOSIT = 1
    TRANSFER = 2
    WITHDRAW = 3


def _check_uint(value: int, bits: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << bits:
        raise FieldOutOfRange(f"{what} must be a u{bits}, got {value!r}")


def _check_bytes(value: bytes, low: int, high: int, what: str) -> None:
    if not isinstance(value, bytes) or not low <= len(value) <= high:
        size = str(low) if low == high else f"{low}..{high}"
        raise FieldOutOfRange(f"{what} must be {size} bytes")


@dataclass(frozen=True, slots=True)
class Deposit:
    """Credit ``amount`` from L1 deposit ``deposit_index`` to account ``to_index``; if that is the
    next free index, create the account with ``public_key``."""

    deposit_index: int
    to_index: int
    amount: int
    public_key: bytes
    kind: ClassVar[TxKind] = TxKind.DEPOSIT

    def __post_init__(self) -> None:
        _check_uint(self.deposit_index, 32, "deposit index")
        _check_uint(self.to_index, 32, "account index")
        _check_uint(self.amount, 64, "amount")
        _check_bytes(self.public_key, 1, MAX_PUBLIC_KEY_SIZE, "public key")


@dataclass(frozen=True, slots=True)
class Transfer:
    from_index: int
    to_index: int
    amount: int
    fee: int
    nonce: int
    signature: bytes = bytes(MAX_SIGNATURE_SIZE)
    kind: ClassVar[TxKind] = TxKind.TRANSFER

    def __post_init__(self) -> None:
        _check_uint(self.from_index, 32, "account index")
        _check_uint(self.to_index, 32, "account index")
        _check_uint(self.amount, 64, "amount")
        _check_uint(self.fee, 48, "fee")
        _check_uint(self.nonce, 32, "nonce")
        _check_bytes(self.signature, 0, MAX_SIGNATURE_SIZE, "signature")


@dataclass(frozen=True, slots=True)
class Withdraw:
    """Debit ``amount + fee`` and emit a ``Withdrawal`` of ``amount`` to the L1 cell locked by
    the secp256k1 lock with args ``l1_recipient``."""

    from_index: int
    amount: int
    fee: int
    nonce: int
    l1_recipient: bytes
    signature: bytes = bytes(MAX_SIGNATURE_SIZE)
    kind: ClassVar[TxKind] = TxKind.WITHDRAW

    def __post_init__(self) -> None:
        _check_uint(self.from_index, 32, "account index")
        _check_uint(self.amount, 64, "amount")
        _check_uint(self.fee, 48, "fee")
        _check_uint(self.nonce, 32, "nonce")
        _check_bytes(self.l1_recipient, L1_RECIPIENT_SIZE, L1_RECIPIENT_SIZE, "L1 recipient")
        _check_bytes(self.signature, 0, MAX_SIGNATURE_SIZE, "signature")


Transaction: TypeAlias = Deposit | Transfer | Withdraw


@dataclass(frozen=True, slots=True)
class L1Deposit:
    """An entry of the rollup's L1 deposit queue, as the L1 shows it.

    ``out_point`` (36 bytes: tx hash || index u32 LE) identifies the deposit cell; the queue index
    is what an L2 record carries.  The depositor names a key, not an account: the sequencer
    credits an existing account with that key or creates the next one.  (An L1-pinned account
    index was left out on purpose: a deposit pinned to an account of another key could never be
    consumed, and since deposits are consumed strictly in order it would wedge the queue.)
    """

    out_point: bytes
    deposit_index: int
    public_key: bytes
    amount: int

    def __post_init__(self) -> None:
        _check_bytes(self.out_point, OUT_POINT_SIZE, OUT_POINT_SIZE, "out point")
        _check_uint(self.deposit_index, 32, "deposit index")
        _check_bytes(self.public_key, 1, MAX_PUBLIC_KEY_SIZE, "public key")
        _check_uint(self.amount, 64, "amount")


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """What a ``Withdraw`` produces for the L1 bridge: ``amount`` to ``l1_recipient``.

    ``(from_index, nonce)`` is unique over the rollup's life (nonces only grow), so two otherwise
    equal withdrawals still hash differently -- the bridge's replay key (catalogue B3, B6)."""

    from_index: int
    nonce: int
    l1_recipient: bytes
    amount: int

    def __post_init__(self) -> None:
        _check_uint(self.from_index, 32, "account index")
        _check_uint(self.nonce, 32, "nonce")
        _check_bytes(self.l1_recipient, L1_RECIPIENT_SIZE, L1_RECIPIENT_SIZE, "L1 recipient")
        _check_uint(self.amount, 64, "amount")


def compute_withdrawal_hash(withdrawal: Withdrawal, config: RollupConfig) -> bytes:
    """``ckbhash(b"rollcourt/l2-withdrawal/v1" || chain_id u32 || rollup_id || from u32 ||
    nonce u32 || l1_recipient[20] || amount u64)`` (LE).

    Always ckbhash, whatever the profile: the L1 bridge checks these against the commitment's
    withdrawals root (a CKB CBMT) natively.
    """
    return ckbhash(
        WITHDRAWAL_DOMAIN_TAG
        + config.chain_id.to_bytes(4, "little")
        + config.rollup_id
        + withdrawal.from_index.to_bytes(4, "little")
        + withdrawal.nonce.to_bytes(4, "little")
        + withdrawal.l1_recipient
        + withdrawal.amount.to_bytes(8, "little")
    )


# ----------------------------------------------------------------------------- record codec
def _encode_fields(
    kind: TxKind, a: int, b: int, amount: int, fee: int, nonce: int, payload: bytes
) -> bytes:
    return (
        bytes([kind])
        + a.to_bytes(4, "little")
        + b.to_bytes(4, "little")
        + amount.to_bytes(8, "little")
        + fee.to_bytes(6, "little")
        + nonce.to_bytes(4, "little")
        + payload.ljust(_PAYLOAD_SIZE, b"\x00")
    )


def _encode_body(tx: Transaction) -> bytes:
    if isinstance(tx, Deposit):
        return _encode_fields(
            TxKind.DEPOSIT, tx.deposit_index, tx.to_index, tx.amount, 0, 0, tx.public_key
        )
    if isinstance(tx, Transfer):
        return _encode_fields(
            TxKind.TRANSFER, tx.from_index, tx.to_index, tx.amount, tx.fee, tx.nonce, b""
        )
    return _encode_fields(
        TxKind.WITHDRAW, tx.from_index, 0, tx.amount, tx.fee, tx.nonce, tx.l1_recipient
    )


def encode_record(tx: Transaction) -> bytes:
    """The 124-byte record (layout in the module docstring)."""
    signature = b"" if isinstance(tx, Deposit) else tx.signature
    return _encode_body(tx) + signature.ljust(MAX_SIGNATURE_SIZE, b"\x00")


def _require_zero(data: bytes, what: str) -> None:
    if any(data):
        raise InvalidRecord(f"{what} must be zero")


def decode_record(data: bytes, profile: Profile) -> Transaction:
    """Strict inverse of ``encode_record`` for the profile's key and signature sizes.

    Raises ``InvalidRecord`` for a wrong length, an unknown kind, or any byte that the kind's
    encoding would have left zero.  So exactly one byte string decodes to each transaction.
    """
    if len(data) != RECORD_SIZE:
        raise InvalidRecord(f"a record is {RECORD_SIZE} bytes, got {len(data)}")
    kind = data[0]
    a = int.from_bytes(data[1:5], "little")
    b = int.from_bytes(data[5:9], "little")
    amount = int.from_bytes(data[9:17], "little")
    fee = int.from_bytes(data[17:23], "little")
    nonce = int.from_bytes(data[23:27], "little")
    payload = data[27:RECORD_BODY_SIZE]
    signature = data[RECORD_BODY_SIZE:]
    if kind == TxKind.DEPOSIT:
        if fee or nonce:
            raise InvalidRecord("a deposit record has zero fee and nonce")
        _require_zero(payload[profile.public_key_size :], "deposit key padding")
        _require_zero(signature, "a deposit's signature slot")
        return Deposit(a, b, amount, payload[: profile.public_key_size])
    sig = signature[: profile.signature_size]
    _require_zero(signature[profile.signature_size :], "signature padding")
    if kind == TxKind.TRANSFER:
        _require_zero(payload, "a transfer's payload")
        return Transfer(a, b, amount, fee, nonce, sig)
    if kind == TxKind.WITHDRAW:
        if b:
            raise InvalidRecord("a withdraw record has a zero 'to' field")
        _require_zero(payload[L1_RECIPIENT_SIZE:], "withdraw recipient padding")
        return Withdraw(a, amount, fee, nonce, payload[:L1_RECIPIENT_SIZE], sig)
    raise InvalidRecord(f"unknown transaction kind {kind}")


# ----------------------------------------------------------------------------- signing
def compute_signing_preimage(tx: Transaction, config: RollupConfig) -> bytes:
    """``tag || chain_id u32 LE || rollup_id || record[0:60]`` (see the module docstring)."""
    return (
        SIGNING_DOMAIN_TAG
        + config.chain_id.to_bytes(4, "little")
        + config.rollup_id
        + _encode_body(tx)
    )


def compute_signing_message(tx: Transaction, config: RollupConfig) -> bytes:
    """The 32-byte message the sender signs: the profile's hash of the signing preimage."""
    return config.profile.hash_message(compute_signing_preimage(tx, config))


def compute_tx_hash(tx: Transaction, config: RollupConfig) -> bytes:
    """The transaction id: the signing message, which excludes the signature (catalogue S5) and
    is unique per (kind, sender, nonce) or per deposit index."""
    return compute_signing_message(tx, config)


_Signed = TypeVar("_Signed", Transfer, Withdraw)


def sign_transaction(tx: _Signed, private_key: bytes, config: RollupConfig) -> _Signed:
    """``tx`` with its signature by ``private_key`` over this rollup's domain."""
    signature = config.profile.sign(private_key, compute_signing_message(tx, config))
    return replace(tx, signature=signature)
