"""Byte layouts of the optimistic rollup's L1 cells and actions (docs/rollup-on-l1.md).

Everything here is a fixed, little-endian layout with a strict decoder: exactly one byte string
decodes to each value, so two parties never disagree on what a cell says. Decoding failures raise
``InvalidRollupEncoding``, a ``VerifierFailure``, so a verifier that decodes a malformed cell
rejects the transaction with the decoder's message.

The code identifiers are the data of the genesis code cells that deploy the verifiers; the
registry maps their data hash to the native verifier (``l1.core.scripts.ScriptRegistry``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from l1.ckb.hashing import ckbhash
from l1.ckb.types import OutPoint
from l1.core.scripts.base import VerifierFailure
from l2.preset import PRESETS

__all__ = [
    "ACTION_ESCAPE_HATCH",
    "ACTION_FORCE_DEPOSIT",
    "ACTION_SUBMIT_BATCH",
    "DEPOSIT_ARGS_SIZE",
    "DEPOSIT_DOMAIN_TAG",
    "MAX_PENDING_FORCED_DEPOSITS",
    "MAX_SINCE_VALUE",
    "ROLLUP_BATCH_CODE",
    "ROLLUP_CUSTODIAN_LOCK_CODE",
    "ROLLUP_DEPOSIT_LOCK_CODE",
    "ROLLUP_STATE_CODE",
    "ROLLUP_STATE_FIXED_SIZE",
    "ROLLUP_STATE_VERSION",
    "ROLLUP_WITHDRAWAL_LOCK_CODE",
    "WITHDRAWAL_ARGS_SIZE",
    "DepositArgs",
    "EscapeHatch",
    "ForceDeposit",
    "InvalidRollupEncoding",
    "RollupAction",
    "RollupState",
    "SubmitBatch",
    "WithdrawalArgs",
    "WithdrawalEntry",
    "compute_deposit_hash",
    "decode_action",
    "encode_action",
]

ROLLUP_STATE_CODE: Final = b"rollcourt-native-verifier:rollup_state:v1"
ROLLUP_DEPOSIT_LOCK_CODE: Final = b"rollcourt-native-verifier:rollup_deposit_lock:v1"
ROLLUP_CUSTODIAN_LOCK_CODE: Final = b"rollcourt-native-verifier:rollup_custodian_lock:v1"
ROLLUP_BATCH_CODE: Final = b"rollcourt-native-verifier:rollup_batch:v1"
ROLLUP_WITHDRAWAL_LOCK_CODE: Final = b"rollcourt-native-verifier:rollup_withdrawal_lock:v1"

ROLLUP_STATE_VERSION: Final = 1
PRESET_NAME_SIZE: Final = 16
#: Bytes before the pending forced-deposit hashes (see ``RollupState``).
ROLLUP_STATE_FIXED_SIZE: Final = 141
#: Windows are proven with a ``since`` value, which has 56 bits (RFC 0017).
MAX_SINCE_VALUE: Final = (1 << 56) - 1
#: Bound on the pending forced-deposit list, so the rollup cell stays small and a batch can
#: always absorb all of them (the smallest L2 preset allows 64 records per batch). A sequencer
#: that ignores this many forced deposits has every batch refused and is replaced through the
#: escape hatch.
MAX_PENDING_FORCED_DEPOSITS: Final = 32
DEPOSIT_ARGS_SIZE: Final = 32 + 33 + 20 + 8
WITHDRAWAL_ARGS_SIZE: Final = 32 + 8 + 20
DEPOSIT_DOMAIN_TAG: Final = b"rollcourt/l1-deposit/v1"

ACTION_SUBMIT_BATCH: Final = 1
ACTION_FORCE_DEPOSIT: Final = 2
ACTION_ESCAPE_HATCH: Final = 3
_WITHDRAWAL_ENTRY_SIZE: Final = 16


class InvalidRollupEncoding(VerifierFailure):
    """A rollup cell's data, lock args or action witness does not decode."""


def _u(data: bytes, start: int, size: int) -> int:
    return int.from_bytes(data[start : start + size], "little")


def _check_uint(value: int, bits: int, what: str) -> None:
    if isinstance(value, bool) or not 0 <= value < 1 << bits:
        raise InvalidRollupEncoding(f"{what} must be a u{bits}, got {value}")


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != 32:
        raise InvalidRollupEncoding(f"{what} must be 32 bytes, got {len(value)}")


# ----------------------------------------------------------------------------- rollup state
@dataclass(frozen=True, slots=True)
class RollupState:
    """The data of the rollup cell. Layout (version 1, little-endian, 141 + 32·n bytes)::

        0    1   version = 1
        1    4   chain_id u32                    ┐
        5   32   proposer_lock_hash              │ config: set at creation; only the
        37   8   bond u64 (shannons)             │ proposer changes (EscapeHatch)
        45   8   challenge_window u64 (blocks)   │
        53   8   forced_inclusion_window u64     │
        61   8   escape_timeout u64 (blocks)     │
        69  16   l2 preset name, ASCII, 0-padded ┘
        85   8   next_batch_number u64           ┐
        93  32   state_root                      │ progress: moved by the actions
        125  4   next_deposit_index u32          │
        129  8   idle_blocks u64                 │
        137  4   pending forced count u32        │
        141 32n  pending forced deposit hashes   ┘

    ``next_batch_number`` and ``next_deposit_index`` are the *next* ones (no "-1" for an empty
    rollup); ``state_root`` is the L2 root after the last accepted batch (the genesis root at
    creation). ``idle_blocks`` is how many blocks since the last batch earlier ForceDeposits
    proved through the rollup input's ``since``, so a forced deposit never restarts the
    escape-hatch clock. The pending hashes are ``compute_deposit_hash`` of forced deposits
    already in the custodian, whose queue indices are ``next_deposit_index, +1, …``.
    """

    chain_id: int
    proposer_lock_hash: bytes
    bond: int
    challenge_window: int
    forced_inclusion_window: int
    escape_timeout: int
    l2_preset: str
    next_batch_number: int
    state_root: bytes
    next_deposit_index: int
    idle_blocks: int
    pending_forced: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        _check_uint(self.chain_id, 32, "chain id")
        _check_hash(self.proposer_lock_hash, "proposer lock hash")
        for name in ("bond", "challenge_window", "forced_inclusion_window", "escape_timeout"):
            _check_uint(getattr(self, name), 64, name.replace("_", " "))
        if self.l2_preset not in PRESETS:
            raise InvalidRollupEncoding(
                f"unknown L2 preset {self.l2_preset!r}; known: {sorted(PRESETS)}"
            )
        _check_uint(self.next_batch_number, 64, "next batch number")
        _check_hash(self.state_root, "state root")
        _check_uint(self.next_deposit_index, 32, "next deposit index")
        _check_uint(self.idle_blocks, 64, "idle blocks")
        if not isinstance(self.pending_forced, tuple):
            raise InvalidRollupEncoding("pending forced deposits must be a tuple of hashes")
        for item in self.pending_forced:
            _check_hash(item, "pending forced deposit hash")

    def encode(self) -> bytes:
        name = self.l2_preset.encode("ascii")
        return b"".join(
            [
                bytes([ROLLUP_STATE_VERSION]),
                self.chain_id.to_bytes(4, "little"),
                self.proposer_lock_hash,
                self.bond.to_bytes(8, "little"),
                self.challenge_window.to_bytes(8, "little"),
                self.forced_inclusion_window.to_bytes(8, "little"),
                self.escape_timeout.to_bytes(8, "little"),
                name + bytes(PRESET_NAME_SIZE - len(name)),
                self.next_batch_number.to_bytes(8, "little"),
                self.state_root,
                self.next_deposit_index.to_bytes(4, "little"),
                self.idle_blocks.to_bytes(8, "little"),
                len(self.pending_forced).to_bytes(4, "little"),
                *self.pending_forced,
            ]
        )

    @classmethod
    def decode(cls, data: bytes) -> RollupState:
        """Strict inverse of ``encode``."""
        if len(data) < ROLLUP_STATE_FIXED_SIZE:
            raise InvalidRollupEncoding(
                f"rollup state is at least {ROLLUP_STATE_FIXED_SIZE} bytes, got {len(data)}"
            )
        if data[0] != ROLLUP_STATE_VERSION:
            raise InvalidRollupEncoding(f"unknown rollup state version {data[0]}")
        count = _u(data, 137, 4)
        if count > MAX_PENDING_FORCED_DEPOSITS:
            raise InvalidRollupEncoding(
                f"{count} pending forced deposits, more than {MAX_PENDING_FORCED_DEPOSITS}"
            )
        if len(data) != ROLLUP_STATE_FIXED_SIZE + 32 * count:
            raise InvalidRollupEncoding(
                f"rollup state with {count} pending forced deposits is "
                f"{ROLLUP_STATE_FIXED_SIZE + 32 * count} bytes, got {len(data)}"
            )
        raw_name = data[69:85]
        name = raw_name.rstrip(b"\x00")
        if b"\x00" in name or not name.isascii():
            raise InvalidRollupEncoding("L2 preset name must be ASCII followed by zero padding")
        return cls(
            chain_id=_u(data, 1, 4),
            proposer_lock_hash=data[5:37],
            bond=_u(data, 37, 8),
            challenge_window=_u(data, 45, 8),
            forced_inclusion_window=_u(data, 53, 8),
            escape_timeout=_u(data, 61, 8),
            l2_preset=name.decode("ascii"),
            next_batch_number=_u(data, 85, 8),
            state_root=data[93:125],
            next_deposit_index=_u(data, 125, 4),
            idle_blocks=_u(data, 129, 8),
            pending_forced=tuple(
                data[ROLLUP_STATE_FIXED_SIZE + 32 * i : ROLLUP_STATE_FIXED_SIZE + 32 * (i + 1)]
                for i in range(count)
            ),
        )

    def config_part(self) -> tuple[object, ...]:
        """The fields no action may change (the proposer aside)."""
        return (
            self.chain_id,
            self.bond,
            self.challenge_window,
            self.forced_inclusion_window,
            self.escape_timeout,
            self.l2_preset,
        )


# ----------------------------------------------------------------------------- lock args
@dataclass(frozen=True, slots=True)
class DepositArgs:
    """``rollup_deposit_lock`` args (93 bytes): rollup id [32] ‖ L2 public key [33] ‖ refund
    lock args [20] (secp256k1 blake160) ‖ cancel timeout u64 (a full RFC 0017 ``since`` value,
    relative; 0 = no refund path)."""

    rollup_id: bytes
    public_key: bytes
    refund_lock_args: bytes
    cancel_timeout: int

    def encode(self) -> bytes:
        return (
            self.rollup_id
            + self.public_key
            + self.refund_lock_args
            + self.cancel_timeout.to_bytes(8, "little")
        )

    @classmethod
    def decode(cls, args: bytes) -> DepositArgs:
        if len(args) != DEPOSIT_ARGS_SIZE:
            raise InvalidRollupEncoding(
                f"deposit lock args must be {DEPOSIT_ARGS_SIZE} bytes, got {len(args)}"
            )
        return cls(args[0:32], args[32:65], args[65:85], _u(args, 85, 8))


@dataclass(frozen=True, slots=True)
class WithdrawalArgs:
    """``rollup_withdrawal_lock`` args (60 bytes): rollup id [32] ‖ batch number u64 ‖ owner
    lock args [20] (secp256k1 blake160, the L2 withdrawal's ``l1_recipient``)."""

    rollup_id: bytes
    batch_number: int
    owner_lock_args: bytes

    def encode(self) -> bytes:
        return self.rollup_id + self.batch_number.to_bytes(8, "little") + self.owner_lock_args

    @classmethod
    def decode(cls, args: bytes) -> WithdrawalArgs:
        if len(args) != WITHDRAWAL_ARGS_SIZE:
            raise InvalidRollupEncoding(
                f"withdrawal lock args must be {WITHDRAWAL_ARGS_SIZE} bytes, got {len(args)}"
            )
        return cls(args[0:32], _u(args, 32, 8), args[40:60])


def compute_deposit_hash(out_point: OutPoint, public_key: bytes, amount: int) -> bytes:
    """``ckbhash("rollcourt/l1-deposit/v1" ‖ out_point[36] ‖ public_key[33] ‖ amount u64)``:
    what the pending forced-deposit list records, i.e. everything the L2 ``L1Deposit`` needs."""
    return ckbhash(
        DEPOSIT_DOMAIN_TAG + out_point.serialize() + public_key + amount.to_bytes(8, "little")
    )


# ----------------------------------------------------------------------------- actions
@dataclass(frozen=True, slots=True)
class WithdrawalEntry:
    """What the L1 cannot read from a withdrawal cell but needs to recompute its L2 withdrawal
    hash: the L2 sender and nonce, and the amount (the cell may hold more: see SubmitBatch)."""

    from_index: int
    nonce: int
    amount: int

    def __post_init__(self) -> None:
        _check_uint(self.from_index, 32, "withdrawal from index")
        _check_uint(self.nonce, 32, "withdrawal nonce")
        _check_uint(self.amount, 64, "withdrawal amount")


@dataclass(frozen=True, slots=True)
class SubmitBatch:
    """Tag 1 ‖ u32 count ‖ count × (from u32 ‖ nonce u32 ‖ amount u64), one entry per withdrawal
    output in output order. The commitment itself is the batch cell's data."""

    withdrawals: tuple[WithdrawalEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class ForceDeposit:
    """Tag 2, no payload: the deposits are the transaction's deposit inputs."""


@dataclass(frozen=True, slots=True)
class EscapeHatch:
    """Tag 3 ‖ new proposer lock hash [32]."""

    new_proposer_lock_hash: bytes

    def __post_init__(self) -> None:
        _check_hash(self.new_proposer_lock_hash, "new proposer lock hash")


RollupAction = SubmitBatch | ForceDeposit | EscapeHatch


def encode_action(action: RollupAction) -> bytes:
    """The bytes for ``WitnessArgs.input_type`` of the rollup cell's input."""
    if isinstance(action, SubmitBatch):
        entries = b"".join(
            e.from_index.to_bytes(4, "little")
            + e.nonce.to_bytes(4, "little")
            + e.amount.to_bytes(8, "little")
            for e in action.withdrawals
        )
        return (
            bytes([ACTION_SUBMIT_BATCH]) + len(action.withdrawals).to_bytes(4, "little") + entries
        )
    if isinstance(action, ForceDeposit):
        return bytes([ACTION_FORCE_DEPOSIT])
    return bytes([ACTION_ESCAPE_HATCH]) + action.new_proposer_lock_hash


def decode_action(data: bytes) -> RollupAction:
    """Strict inverse of ``encode_action``; tags 0 and 4..255 are unknown (4+ are left for the
    dispute game's moves)."""
    if not data:
        raise InvalidRollupEncoding("empty rollup action")
    tag, payload = data[0], data[1:]
    if tag == ACTION_SUBMIT_BATCH:
        if len(payload) < 4:
            raise InvalidRollupEncoding("SubmitBatch action needs a u32 withdrawal count")
        count = _u(payload, 0, 4)
        if len(payload) != 4 + _WITHDRAWAL_ENTRY_SIZE * count:
            raise InvalidRollupEncoding(
                f"SubmitBatch action with {count} withdrawals must be "
                f"{5 + _WITHDRAWAL_ENTRY_SIZE * count} bytes, got {len(data)}"
            )
        entries = []
        for i in range(count):
            at = 4 + _WITHDRAWAL_ENTRY_SIZE * i
            entries.append(
                WithdrawalEntry(_u(payload, at, 4), _u(payload, at + 4, 4), _u(payload, at + 8, 8))
            )
        return SubmitBatch(tuple(entries))
    if tag == ACTION_FORCE_DEPOSIT:
        if payload:
            raise InvalidRollupEncoding("ForceDeposit action has no payload")
        return ForceDeposit()
    if tag == ACTION_ESCAPE_HATCH:
        if len(payload) != 32:
            raise InvalidRollupEncoding("EscapeHatch action is the tag and a 32-byte lock hash")
        return EscapeHatch(payload)
    raise InvalidRollupEncoding(f"unknown rollup action tag {tag}")
