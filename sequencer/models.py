"""Request models of the REST API: strict types, no extra fields (catalogue A3, A4).

Integers must be JSON integers in range (no floats, strings or booleans); byte strings must be
``0x``-prefixed lowercase hex of exactly the right length.  Field errors come back as 422 with
the field's path.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr

__all__ = ["BulkIn", "RecordIn", "TransferIn", "TxIn", "WithdrawIn", "parse_hex"]


def parse_hex(value: str, size: int, what: str) -> bytes:
    """Exactly ``size`` bytes as ``0x`` + lowercase hex; ``ValueError`` says what is wrong."""
    if not value.startswith("0x"):
        raise ValueError(f"{what} must start with 0x")
    digits = value[2:]
    if len(digits) % 2:
        raise ValueError(f"{what} has an odd number of hex digits")
    if any(c not in "0123456789abcdef" for c in digits):
        raise ValueError(f"{what} must be lowercase hex digits")
    if len(digits) != 2 * size:
        raise ValueError(f"{what} must be {size} bytes, got {len(digits) // 2}")
    return bytes.fromhex(digits)


def _hex(size: int, what: str) -> AfterValidator:
    def check(value: str) -> str:
        parse_hex(value, size, what)
        return value

    return AfterValidator(check)


U32 = Annotated[StrictInt, Field(ge=0, lt=1 << 32)]
U48 = Annotated[StrictInt, Field(ge=0, lt=1 << 48)]
U64 = Annotated[StrictInt, Field(ge=0, lt=1 << 64)]
Signature = Annotated[StrictStr, _hex(64, "signature")]
L1Recipient = Annotated[StrictStr, _hex(20, "l1_recipient")]
Record = Annotated[StrictStr, _hex(124, "record")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class TransferIn(_Strict):
    kind: Literal["transfer"]
    from_index: U32
    to_index: U32
    amount: U64
    fee: U48
    nonce: U32
    #: 64 bytes ``r || s`` (big-endian, low-s), signed over the rollup's domain.
    signature: Signature


class WithdrawIn(_Strict):
    kind: Literal["withdraw"]
    from_index: U32
    amount: U64
    fee: U48
    nonce: U32
    #: secp256k1 lock args (blake160) of the L1 recipient.
    l1_recipient: L1Recipient
    signature: Signature


class RecordIn(_Strict):
    """The transaction's canonical 124-byte record (docs/protocol.md §4), as SDKs post it."""

    kind: Literal["record"]
    record: Record


TxIn = Annotated[TransferIn | WithdrawIn | RecordIn, Field(discriminator="kind")]


class BulkIn(_Strict):
    transactions: list[TxIn] = Field(min_length=1)
