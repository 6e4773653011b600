"""Byte layouts of the rollup's L1 cells and actions (docs/rollup-on-l1.md; docs/disputes.md
§2-§3; docs/validity.md §5).

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

from l1.ckb.cbmt import cbmt_root
from l1.ckb.hashing import ckbhash
from l1.ckb.molecule import MoleculeError
from l1.ckb.types import HASH_TYPE_DATA, OUT_POINT_SIZE, ZERO_HASH, OutPoint, Script
from l1.core.scripts.base import VerifierFailure
from l2 import dispute
from l2.batch import BatchCommitment
from l2.errors import InvalidCommitmentEncoding, InvalidMove
from l2.preset import PRESETS

__all__ = [
    "ACTION_ESCAPE_HATCH",
    "ACTION_FINALIZE_BATCH",
    "ACTION_FORCE_DEPOSIT",
    "ACTION_REVERT_BATCHES",
    "ACTION_SUBMIT_BATCH",
    "ACTION_SUBMIT_PROVEN_BATCH",
    "BATCH_CELL_FIXED_SIZE",
    "BURN_LOCK",
    "DEPOSIT_ARGS_SIZE",
    "DEPOSIT_DOMAIN_TAG",
    "GAME_ACTION_ABANDON",
    "GAME_ACTION_MOVE",
    "GAME_ACTION_ONE_STEP",
    "GAME_ACTION_TIMEOUT",
    "GAME_CELL_FIXED_SIZE",
    "MAX_BURN_PERMILLE",
    "MAX_PENDING_DEPOSITS",
    "MAX_PENDING_FORCED_DEPOSITS",
    "MAX_SINCE_VALUE",
    "NO_TURN_START",
    "OPTIMISTIC_VERIFYING_KEY_HASH",
    "PROOF_SIZE",
    "ROLLUP_BATCH_CODE",
    "ROLLUP_CUSTODIAN_LOCK_CODE",
    "ROLLUP_DEPOSIT_LOCK_CODE",
    "ROLLUP_GAME_CODE",
    "ROLLUP_STATE_CODE",
    "ROLLUP_STATE_FIXED_SIZE",
    "ROLLUP_STATE_VERSION",
    "ROLLUP_WITHDRAWAL_LOCK_CODE",
    "VALIDITY_PRESET_PREFIX",
    "WITHDRAWAL_ARGS_SIZE",
    "Abandon",
    "BatchCell",
    "DepositArgs",
    "EscapeHatch",
    "FinalizeBatch",
    "ForceDeposit",
    "GameAction",
    "GameCell",
    "InvalidRollupEncoding",
    "Move",
    "OneStep",
    "RevertBatches",
    "RollupAction",
    "RollupState",
    "SubmitBatch",
    "SubmitProvenBatch",
    "Timeout",
    "WithdrawalArgs",
    "WithdrawalEntry",
    "compute_burn",
    "compute_deposit_hash",
    "compute_deposits_root",
    "decode_action",
    "decode_game_action",
    "encode_action",
    "encode_game_action",
]

ROLLUP_STATE_CODE: Final = b"rollcourt-native-verifier:rollup_state:v1"
ROLLUP_DEPOSIT_LOCK_CODE: Final = b"rollcourt-native-verifier:rollup_deposit_lock:v1"
ROLLUP_CUSTODIAN_LOCK_CODE: Final = b"rollcourt-native-verifier:rollup_custodian_lock:v1"
ROLLUP_BATCH_CODE: Final = b"rollcourt-native-verifier:rollup_batch:v1"
ROLLUP_WITHDRAWAL_LOCK_CODE: Final = b"rollcourt-native-verifier:rollup_withdrawal_lock:v1"
ROLLUP_GAME_CODE: Final = b"rollcourt-native-verifier:rollup_game:v1"

#: Where the burnt share of a lost bond goes (docs/disputes.md §3): ``code_hash = 0³²``,
#: ``hash_type = data``, no args. No cell's data hashes to zero, so no code can ever unlock it
#: (the same lock as the genesis system cells').
BURN_LOCK: Final = Script(ZERO_HASH, HASH_TYPE_DATA, b"")

ROLLUP_STATE_VERSION: Final = 3
PRESET_NAME_SIZE: Final = 16
#: Bytes before the pending deposit hashes (see ``RollupState``).
ROLLUP_STATE_FIXED_SIZE: Final = 195
#: ``RollupState.verifying_key_hash`` of an optimistic rollup (no verification key).
OPTIMISTIC_VERIFYING_KEY_HASH: Final = ZERO_HASH
#: L2 presets a validity rollup may run start with this (docs/validity.md §2: the preset must
#: match the circuit its verification key belongs to).
VALIDITY_PRESET_PREFIX: Final = "validity-"
#: A Groth16 proof on the wire: ``l1.core.groth16.encode_proof`` (EIP-197 points: A in G1,
#: B in G2, C in G1 = 64 + 128 + 64 bytes).
PROOF_SIZE: Final = 256
#: Windows are proven with a ``since`` value, which has 56 bits (RFC 0017).
MAX_SINCE_VALUE: Final = (1 << 56) - 1
#: Bound on the pending list that ForceDeposit may grow it to, so a batch can always absorb all
#: forced deposits (the smallest L2 preset allows 64 records per batch). A sequencer that ignores
#: this many forced deposits has every batch refused and is replaced through the escape hatch.
MAX_PENDING_FORCED_DEPOSITS: Final = 32
#: Decoding cap of the pending list: a revert gives every deposit of the reverted batches back
#: to it, so it may exceed ``MAX_PENDING_FORCED_DEPOSITS`` (SubmitBatch then drains it by
#: ``max_txs_per_batch`` per batch).
MAX_PENDING_DEPOSITS: Final = 65_536
MAX_BURN_PERMILLE: Final = 1000
#: ``GameCell.previous_turn_start`` when no turn start is known yet.
NO_TURN_START: Final = (1 << 64) - 1
DEPOSIT_ARGS_SIZE: Final = 32 + 33 + 20 + 8
WITHDRAWAL_ARGS_SIZE: Final = 32 + 8 + 20
DEPOSIT_DOMAIN_TAG: Final = b"rollcourt/l1-deposit/v1"
BATCH_CELL_FIXED_SIZE: Final = 40
GAME_CELL_FIXED_SIZE: Final = 179

ACTION_SUBMIT_BATCH: Final = 1
ACTION_FORCE_DEPOSIT: Final = 2
ACTION_ESCAPE_HATCH: Final = 3
ACTION_FINALIZE_BATCH: Final = 4
ACTION_REVERT_BATCHES: Final = 5
ACTION_SUBMIT_PROVEN_BATCH: Final = 6
GAME_ACTION_MOVE: Final = 1
GAME_ACTION_TIMEOUT: Final = 2
GAME_ACTION_ONE_STEP: Final = 3
GAME_ACTION_ABANDON: Final = 4
_WITHDRAWAL_ENTRY_SIZE: Final = 16


class InvalidRollupEncoding(VerifierFailure):
    """A rollup cell's data, lock args or action witness does not decode."""


def _u(data: bytes, start: int, size: int) -> int:
    return int.from_bytes(data[start : start + size], "little")


def _check_uint(value: int, bits: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << bits:
        raise InvalidRollupEncoding(f"{what} must be a u{bits}, got {value!r}")


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != 32:
        raise InvalidRollupEncoding(f"{what} must be 32 bytes")


def _encode_script(script: Script) -> bytes:
    raw = script.serialize()
    return len(raw).to_bytes(4, "little") + raw


def _decode_script(data: bytes, at: int, what: str) -> tuple[Script, int]:
    """A ``u32 length ‖ molecule Script`` at ``at``; returns the script and the offset after it.
    The script must re-serialize to the same bytes (molecule is canonical)."""
    if len(data) < at + 4:
        raise InvalidRollupEncoding(f"{what}: missing the u32 script length")
    size = _u(data, at, 4)
    raw = data[at + 4 : at + 4 + size]
    if len(raw) != size:
        raise InvalidRollupEncoding(f"{what}: script of {size} bytes is truncated")
    try:
        script = Script.deserialize(raw)
    except (MoleculeError, ValueError) as exc:
        raise InvalidRollupEncoding(f"{what} is not a molecule Script: {exc}") from None
    if script.serialize() != raw:
        raise InvalidRollupEncoding(f"{what} is not a canonical molecule Script")
    return script, at + 4 + size


def compute_burn(bond: int, burn_permille: int) -> int:
    """The burnt share of a lost bond: ``bond · burn_permille // 1000`` (rounded down, so the
    winner gets the rounding)."""
    return bond * burn_permille // MAX_BURN_PERMILLE


# ----------------------------------------------------------------------------- rollup state
@dataclass(frozen=True, slots=True)
class RollupState:
    """The data of the rollup cell. Layout (version 3, little-endian, 195 + 32·n bytes)::

        0    1   version = 3
        1    4   chain_id u32                    ┐
        5   32   proposer_lock_hash              │ config: set at creation; only the
        37   8   bond u64 (shannons)             │ proposer changes (EscapeHatch)
        45   8   challenge_window u64 (blocks)   │
        53   8   forced_inclusion_window u64     │
        61   8   escape_timeout u64 (blocks)     │
        69   8   game_clock u64 (blocks)         │
        77   2   burn_permille u16 (0..1000)     │
        79   4   fee_account u32 (L2 account)    │
        83  16   l2 preset name, ASCII, 0-padded │
        99  32   verifying_key_hash              ┘
        131  8   next_batch_number u64           ┐
        139  8   next_final_batch u64            │ progress: moved by the actions
        147 32   state_root                      │
        179  4   next_deposit_index u32          │
        183  8   idle_blocks u64                 │
        191  4   pending count u32 (<= 65,536)   │
        195 32n  pending deposit hashes          ┘

    ``verifying_key_hash`` picks the rollup's mode once and for all: 32 zero bytes is an
    optimistic rollup (batches are challenged in dispute games, profile ``optimistic``);
    anything else is a validity rollup (docs/validity.md) whose Groth16 verification key is the
    data of a cell whose ckbhash data hash this is -- stored as a hash so the rollup cell stays
    small and the key is read only by SubmitProvenBatch, as a cell dep; such a rollup runs the
    ``validity`` profile and a ``validity-*`` L2 preset. It is the last dataclass field (with a
    default) only so that every optimistic constructor keeps working.

    ``next_batch_number``, ``next_final_batch`` and ``next_deposit_index`` are the *next* ones
    (every batch below ``next_final_batch`` is final); ``state_root`` is the L2 root after the
    last accepted batch (the genesis root at creation). ``idle_blocks`` is how many blocks since
    the last batch earlier ForceDeposits proved through the rollup input's ``since``, so a forced
    deposit never restarts the escape-hatch clock. The pending hashes are ``compute_deposit_hash``
    of deposits already in the custodian (forced, or given back by a revert), whose queue indices
    are ``next_deposit_index, +1, …``.
    """

    chain_id: int
    proposer_lock_hash: bytes
    bond: int
    challenge_window: int
    forced_inclusion_window: int
    escape_timeout: int
    game_clock: int
    burn_permille: int
    fee_account: int
    l2_preset: str
    next_batch_number: int
    next_final_batch: int
    state_root: bytes
    next_deposit_index: int
    idle_blocks: int
    pending_forced: tuple[bytes, ...] = ()
    verifying_key_hash: bytes = OPTIMISTIC_VERIFYING_KEY_HASH

    @property
    def is_validity(self) -> bool:
        """A validity rollup (a non-zero ``verifying_key_hash``): batches come with a proof."""
        return self.verifying_key_hash != OPTIMISTIC_VERIFYING_KEY_HASH

    def __post_init__(self) -> None:
        _check_uint(self.chain_id, 32, "chain id")
        _check_hash(self.proposer_lock_hash, "proposer lock hash")
        for name in (
            "bond",
            "challenge_window",
            "forced_inclusion_window",
            "escape_timeout",
            "game_clock",
        ):
            _check_uint(getattr(self, name), 64, name.replace("_", " "))
        _check_uint(self.burn_permille, 16, "burn permille")
        if self.burn_permille > MAX_BURN_PERMILLE:
            raise InvalidRollupEncoding(
                f"burn permille must be in 0..{MAX_BURN_PERMILLE}, got {self.burn_permille}"
            )
        _check_uint(self.fee_account, 32, "fee account")
        if self.l2_preset not in PRESETS:
            raise InvalidRollupEncoding(
                f"unknown L2 preset {self.l2_preset!r}; known: {sorted(PRESETS)}"
            )
        _check_hash(self.verifying_key_hash, "verifying key hash")
        _check_uint(self.next_batch_number, 64, "next batch number")
        _check_uint(self.next_final_batch, 64, "next final batch")
        _check_hash(self.state_root, "state root")
        _check_uint(self.next_deposit_index, 32, "next deposit index")
        _check_uint(self.idle_blocks, 64, "idle blocks")
        if not isinstance(self.pending_forced, tuple):
            raise InvalidRollupEncoding("pending deposits must be a tuple of hashes")
        if len(self.pending_forced) > MAX_PENDING_DEPOSITS:
            raise InvalidRollupEncoding(
                f"{len(self.pending_forced)} pending deposits, more than {MAX_PENDING_DEPOSITS}"
            )
        for item in self.pending_forced:
            _check_hash(item, "pending deposit hash")

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
                self.game_clock.to_bytes(8, "little"),
                self.burn_permille.to_bytes(2, "little"),
                self.fee_account.to_bytes(4, "little"),
                name + bytes(PRESET_NAME_SIZE - len(name)),
                self.verifying_key_hash,
                self.next_batch_number.to_bytes(8, "little"),
                self.next_final_batch.to_bytes(8, "little"),
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
        count = _u(data, 191, 4)
        if count > MAX_PENDING_DEPOSITS:
            raise InvalidRollupEncoding(
                f"{count} pending deposits, more than {MAX_PENDING_DEPOSITS}"
            )
        if len(data) != ROLLUP_STATE_FIXED_SIZE + 32 * count:
            raise InvalidRollupEncoding(
                f"rollup state with {count} pending deposits is "
                f"{ROLLUP_STATE_FIXED_SIZE + 32 * count} bytes, got {len(data)}"
            )
        raw_name = data[83:99]
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
            game_clock=_u(data, 69, 8),
            burn_permille=_u(data, 77, 2),
            fee_account=_u(data, 79, 4),
            l2_preset=name.decode("ascii"),
            next_batch_number=_u(data, 131, 8),
            next_final_batch=_u(data, 139, 8),
            state_root=data[147:179],
            next_deposit_index=_u(data, 179, 4),
            idle_blocks=_u(data, 183, 8),
            pending_forced=tuple(
                data[ROLLUP_STATE_FIXED_SIZE + 32 * i : ROLLUP_STATE_FIXED_SIZE + 32 * (i + 1)]
                for i in range(count)
            ),
            verifying_key_hash=data[99:131],
        )

    def config_part(self) -> tuple[object, ...]:
        """The fields no action may change (the proposer aside)."""
        return (
            self.chain_id,
            self.bond,
            self.challenge_window,
            self.forced_inclusion_window,
            self.escape_timeout,
            self.game_clock,
            self.burn_permille,
            self.fee_account,
            self.l2_preset,
            self.verifying_key_hash,
        )


# ----------------------------------------------------------------------------- batch cell
@dataclass(frozen=True, slots=True)
class BatchCell:
    """The data of a batch cell (docs/disputes.md §2)::

        0    4   open games u32
        4   32   deposits root: CBMT root (RFC 0006) of the consumed deposits' hashes
        36   4   proposer lock length L
        40   L   proposer lock (molecule Script)
        40+L …   BatchCommitment.serialize()

    The batch hash games name is ``commitment.compute_hash()``."""

    open_games: int
    deposits_root: bytes
    proposer_lock: Script
    commitment: BatchCommitment

    def __post_init__(self) -> None:
        _check_uint(self.open_games, 32, "open games")
        _check_hash(self.deposits_root, "deposits root")
        if not isinstance(self.proposer_lock, Script):
            raise InvalidRollupEncoding("the batch's proposer lock must be a Script")
        if not isinstance(self.commitment, BatchCommitment):
            raise InvalidRollupEncoding("the batch's commitment must be a BatchCommitment")

    @property
    def batch_hash(self) -> bytes:
        return self.commitment.compute_hash()

    def encode(self) -> bytes:
        return (
            self.open_games.to_bytes(4, "little")
            + self.deposits_root
            + _encode_script(self.proposer_lock)
            + self.commitment.serialize()
        )

    @classmethod
    def decode(cls, data: bytes) -> BatchCell:
        """Strict inverse of ``encode``."""
        if len(data) < BATCH_CELL_FIXED_SIZE:
            raise InvalidRollupEncoding(
                f"a batch cell is at least {BATCH_CELL_FIXED_SIZE} bytes, got {len(data)}"
            )
        lock, at = _decode_script(data, 36, "batch cell proposer lock")
        try:
            commitment = BatchCommitment.deserialize(data[at:])
        except InvalidCommitmentEncoding as exc:
            raise InvalidRollupEncoding(f"batch cell commitment: {exc}") from None
        return cls(_u(data, 0, 4), data[4:36], lock, commitment)


def compute_deposits_root(deposit_hashes: tuple[bytes, ...] | list[bytes]) -> bytes:
    """CBMT root (RFC 0006) of the consumed deposits' ``compute_deposit_hash`` in queue order;
    0³² for none."""
    return cbmt_root(list(deposit_hashes))


# ----------------------------------------------------------------------------- game cell
@dataclass(frozen=True, slots=True)
class GameCell:
    """The data of a game cell (docs/disputes.md §2)::

    0    8   batch number u64
    8   32   batch hash (BatchCommitment.compute_hash())
    40   8   challenger's bond u64
    48   8   proposer clock u64 (blocks left)
    56   8   challenger clock u64
    64   8   previous turn start u64 (2^64-1: none)
    72   1   turn (0 proposer, 1 challenger)      ┐
    73   2   moves u16                            │
    75   4   lo u32                               │ l2.dispute.GameState
    79   4   hi u32                               │
    83  32   lo hash                              │
    115 32   hi hash                              │
    147 32   mid hash                             ┘
    179 4+L  challenger lock (u32 length ‖ molecule Script)
    …   4+M  proposer lock (u32 length ‖ molecule Script)
    """

    batch_number: int
    batch_hash: bytes
    bond: int
    proposer_clock: int
    challenger_clock: int
    previous_turn_start: int
    game: dispute.GameState
    challenger_lock: Script
    proposer_lock: Script

    def __post_init__(self) -> None:
        _check_uint(self.batch_number, 64, "game batch number")
        _check_hash(self.batch_hash, "game batch hash")
        for name in ("bond", "proposer_clock", "challenger_clock", "previous_turn_start"):
            _check_uint(getattr(self, name), 64, name.replace("_", " "))
        if not isinstance(self.game, dispute.GameState):
            raise InvalidRollupEncoding("a game cell's game must be a GameState")
        for name in ("challenger_lock", "proposer_lock"):
            if not isinstance(getattr(self, name), Script):
                raise InvalidRollupEncoding(f"a game cell's {name.replace('_', ' ')} is a Script")

    def clock_of(self, side: dispute.Side) -> int:
        return self.proposer_clock if side is dispute.Side.PROPOSER else self.challenger_clock

    def lock_of(self, side: dispute.Side) -> Script:
        return self.proposer_lock if side is dispute.Side.PROPOSER else self.challenger_lock

    def encode(self) -> bytes:
        game = self.game
        return b"".join(
            [
                self.batch_number.to_bytes(8, "little"),
                self.batch_hash,
                self.bond.to_bytes(8, "little"),
                self.proposer_clock.to_bytes(8, "little"),
                self.challenger_clock.to_bytes(8, "little"),
                self.previous_turn_start.to_bytes(8, "little"),
                bytes([int(game.turn)]),
                game.moves.to_bytes(2, "little"),
                game.lo.to_bytes(4, "little"),
                game.hi.to_bytes(4, "little"),
                game.lo_hash,
                game.hi_hash,
                game.mid_hash,
                _encode_script(self.challenger_lock),
                _encode_script(self.proposer_lock),
            ]
        )

    @classmethod
    def decode(cls, data: bytes) -> GameCell:
        """Strict inverse of ``encode``."""
        if len(data) < GAME_CELL_FIXED_SIZE:
            raise InvalidRollupEncoding(
                f"a game cell is at least {GAME_CELL_FIXED_SIZE} bytes, got {len(data)}"
            )
        if data[72] > 1:
            raise InvalidRollupEncoding(f"game turn must be 0 or 1, got {data[72]}")
        try:
            game = dispute.GameState(
                lo=_u(data, 75, 4),
                hi=_u(data, 79, 4),
                lo_hash=data[83:115],
                hi_hash=data[115:147],
                mid_hash=data[147:179],
                turn=dispute.Side(data[72]),
                moves=_u(data, 73, 2),
            )
        except InvalidMove as exc:
            raise InvalidRollupEncoding(f"game cell state: {exc}") from None
        challenger, at = _decode_script(data, GAME_CELL_FIXED_SIZE, "game challenger lock")
        proposer, end = _decode_script(data, at, "game proposer lock")
        if end != len(data):
            raise InvalidRollupEncoding(f"{len(data) - end} trailing bytes after the game cell")
        return cls(
            batch_number=_u(data, 0, 8),
            batch_hash=data[8:40],
            bond=_u(data, 40, 8),
            proposer_clock=_u(data, 48, 8),
            challenger_clock=_u(data, 56, 8),
            previous_turn_start=_u(data, 64, 8),
            game=game,
            challenger_lock=challenger,
            proposer_lock=proposer,
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

    def l2_public_key(self, key_size: int) -> bytes:
        """The L2 key the deposit names, for a profile whose keys are ``key_size`` bytes: the
        first ``key_size`` bytes of the 33-byte slot, the rest zero padding (as in a deposit
        record, ``l2.tx``): 33-byte secp256k1 keys fill it, 32-byte BabyJubJub keys leave one
        zero byte. Non-zero padding raises ``InvalidRollupEncoding``, so one deposit names one
        key and hashes one way (``compute_deposit_hash`` takes this key)."""
        if any(self.public_key[key_size:]):
            raise InvalidRollupEncoding(
                f"a {key_size}-byte L2 public key leaves the rest of the deposit's 33-byte key "
                "slot zero"
            )
        return self.public_key[:key_size]


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
    what the pending list and a batch's deposits root record, i.e. everything the L2
    ``L1Deposit`` needs (equal to ``l2.onestep.compute_l1_deposit_hash``)."""
    return ckbhash(
        DEPOSIT_DOMAIN_TAG + out_point.serialize() + public_key + amount.to_bytes(8, "little")
    )


# ----------------------------------------------------------------------------- rollup actions
@dataclass(frozen=True, slots=True)
class WithdrawalEntry:
    """What the L1 cannot read from a withdrawal cell but needs to recompute its L2 withdrawal
    hash: the L2 sender and nonce, and the amount (the cell may hold more)."""

    from_index: int
    nonce: int
    amount: int

    def __post_init__(self) -> None:
        _check_uint(self.from_index, 32, "withdrawal from index")
        _check_uint(self.nonce, 32, "withdrawal nonce")
        _check_uint(self.amount, 64, "withdrawal amount")


@dataclass(frozen=True, slots=True)
class SubmitBatch:
    """Tag 1 ‖ new accounts root [32] ‖ new next account index u32: the parts of the claimed
    new root the L1 checks the counters with (docs/disputes.md §1). The commitment itself is in
    the batch cell's data."""

    new_accounts_root: bytes
    new_next_account_index: int

    def __post_init__(self) -> None:
        _check_hash(self.new_accounts_root, "new accounts root")
        _check_uint(self.new_next_account_index, 32, "new next account index")


@dataclass(frozen=True, slots=True)
class ForceDeposit:
    """Tag 2, no payload: the deposits are the transaction's deposit inputs."""


@dataclass(frozen=True, slots=True)
class EscapeHatch:
    """Tag 3 ‖ new proposer lock hash [32]."""

    new_proposer_lock_hash: bytes

    def __post_init__(self) -> None:
        _check_hash(self.new_proposer_lock_hash, "new proposer lock hash")


@dataclass(frozen=True, slots=True)
class FinalizeBatch:
    """Tag 4 ‖ u32 count ‖ count × (from u32 ‖ nonce u32 ‖ amount u64): the batch's
    withdrawals in order, one per withdrawal output in output order."""

    withdrawals: tuple[WithdrawalEntry, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.withdrawals, tuple) or not all(
            isinstance(e, WithdrawalEntry) for e in self.withdrawals
        ):
            raise InvalidRollupEncoding("FinalizeBatch withdrawals must be a tuple of entries")
        _check_uint(len(self.withdrawals), 32, "withdrawal count")


@dataclass(frozen=True, slots=True)
class RevertBatches:
    """Tag 5 ‖ batch number u64 ‖ for each reverted batch k..N−1: u32 count ‖ count × deposit
    hash [32] (the deposits it consumed, in queue order)."""

    batch_number: int
    deposit_lists: tuple[tuple[bytes, ...], ...] = ()

    def __post_init__(self) -> None:
        _check_uint(self.batch_number, 64, "revert batch number")
        if not isinstance(self.deposit_lists, tuple):
            raise InvalidRollupEncoding("RevertBatches deposit lists must be a tuple")
        for hashes in self.deposit_lists:
            if not isinstance(hashes, tuple):
                raise InvalidRollupEncoding("each RevertBatches deposit list must be a tuple")
            _check_uint(len(hashes), 32, "deposit list length")
            for item in hashes:
                _check_hash(item, "reverted deposit hash")


@dataclass(frozen=True, slots=True)
class SubmitProvenBatch:
    """Tag 6: a validity rollup's batch with its Groth16 proof (docs/validity.md §5)::

        new accounts root [32] ‖ new next account index u32 ‖
        u32 L ‖ L bytes BatchCommitment.serialize() ‖
        u32 d ‖ d × deposit out point [36] ‖
        u32 w ‖ w × withdrawal entry (from u32 ‖ nonce u32 ‖ amount u64) ‖
        proof [256] (``l1.core.groth16.encode_proof``), the rest of the witness

    There is no batch cell, so the commitment travels in the action. Pending deposits are
    stored only as hashes, so the action names every consumed deposit's out point, in queue
    order, for the L1 to match each deposit record against its deposit. The withdrawal
    entries name the withdrawal cells the transaction creates, in output order (as
    FinalizeBatch). The proof's length is checked by the handler (a clear rejection, not an
    undecodable witness)."""

    new_accounts_root: bytes
    new_next_account_index: int
    commitment: BatchCommitment
    deposit_out_points: tuple[OutPoint, ...] = ()
    withdrawals: tuple[WithdrawalEntry, ...] = ()
    proof: bytes = bytes(PROOF_SIZE)

    def __post_init__(self) -> None:
        _check_hash(self.new_accounts_root, "new accounts root")
        _check_uint(self.new_next_account_index, 32, "new next account index")
        if not isinstance(self.commitment, BatchCommitment):
            raise InvalidRollupEncoding("SubmitProvenBatch commitment must be a BatchCommitment")
        if not isinstance(self.deposit_out_points, tuple) or not all(
            isinstance(o, OutPoint) for o in self.deposit_out_points
        ):
            raise InvalidRollupEncoding("SubmitProvenBatch deposit out points must be a tuple")
        _check_uint(len(self.deposit_out_points), 32, "deposit out point count")
        if not isinstance(self.withdrawals, tuple) or not all(
            isinstance(e, WithdrawalEntry) for e in self.withdrawals
        ):
            raise InvalidRollupEncoding("SubmitProvenBatch withdrawals must be a tuple of entries")
        _check_uint(len(self.withdrawals), 32, "withdrawal count")
        if not isinstance(self.proof, bytes):
            raise InvalidRollupEncoding("SubmitProvenBatch proof must be bytes")


RollupAction = (
    SubmitBatch | ForceDeposit | EscapeHatch | FinalizeBatch | RevertBatches | SubmitProvenBatch
)


def _encode_entries(entries: tuple[WithdrawalEntry, ...]) -> bytes:
    return len(entries).to_bytes(4, "little") + b"".join(
        e.from_index.to_bytes(4, "little")
        + e.nonce.to_bytes(4, "little")
        + e.amount.to_bytes(8, "little")
        for e in entries
    )


def encode_action(action: RollupAction) -> bytes:
    """The bytes for ``WitnessArgs.input_type`` of the rollup cell's input."""
    if isinstance(action, SubmitBatch):
        return (
            bytes([ACTION_SUBMIT_BATCH])
            + action.new_accounts_root
            + action.new_next_account_index.to_bytes(4, "little")
        )
    if isinstance(action, ForceDeposit):
        return bytes([ACTION_FORCE_DEPOSIT])
    if isinstance(action, EscapeHatch):
        return bytes([ACTION_ESCAPE_HATCH]) + action.new_proposer_lock_hash
    if isinstance(action, FinalizeBatch):
        return bytes([ACTION_FINALIZE_BATCH]) + _encode_entries(action.withdrawals)
    if isinstance(action, SubmitProvenBatch):
        commitment = action.commitment.serialize()
        return b"".join(
            [
                bytes([ACTION_SUBMIT_PROVEN_BATCH]),
                action.new_accounts_root,
                action.new_next_account_index.to_bytes(4, "little"),
                len(commitment).to_bytes(4, "little"),
                commitment,
                len(action.deposit_out_points).to_bytes(4, "little"),
                *(o.serialize() for o in action.deposit_out_points),
                _encode_entries(action.withdrawals),
                action.proof,
            ]
        )
    return (
        bytes([ACTION_REVERT_BATCHES])
        + action.batch_number.to_bytes(8, "little")
        + b"".join(
            len(hashes).to_bytes(4, "little") + b"".join(hashes) for hashes in action.deposit_lists
        )
    )


def _decode_entries(payload: bytes, what: str) -> tuple[WithdrawalEntry, ...]:
    if len(payload) < 4:
        raise InvalidRollupEncoding(f"{what} action needs a u32 withdrawal count")
    count = _u(payload, 0, 4)
    if len(payload) != 4 + _WITHDRAWAL_ENTRY_SIZE * count:
        raise InvalidRollupEncoding(
            f"{what} action with {count} withdrawals must be "
            f"{5 + _WITHDRAWAL_ENTRY_SIZE * count} bytes, got {len(payload) + 1}"
        )
    entries = []
    for i in range(count):
        at = 4 + _WITHDRAWAL_ENTRY_SIZE * i
        entries.append(
            WithdrawalEntry(_u(payload, at, 4), _u(payload, at + 4, 4), _u(payload, at + 8, 8))
        )
    return tuple(entries)


def _decode_proven_batch(payload: bytes) -> SubmitProvenBatch:
    what = "SubmitProvenBatch action"
    if len(payload) < 40:
        raise InvalidRollupEncoding(
            f"{what} starts with a 32-byte accounts root, a u32 account index and a u32 "
            "commitment length"
        )
    size = _u(payload, 36, 4)
    at = 40 + size
    if len(payload) < at + 4:
        raise InvalidRollupEncoding(f"{what}: a {size}-byte commitment and a u32 deposit count")
    try:
        commitment = BatchCommitment.deserialize(payload[40:at])
    except InvalidCommitmentEncoding as exc:
        raise InvalidRollupEncoding(f"{what} commitment: {exc}") from None
    count = _u(payload, at, 4)
    out_points_end = at + 4 + OUT_POINT_SIZE * count
    if len(payload) < out_points_end + 4:
        raise InvalidRollupEncoding(
            f"{what}: {count} deposit out point(s) and a u32 withdrawal count are truncated"
        )
    out_points = tuple(
        OutPoint.deserialize(payload[at + 4 + OUT_POINT_SIZE * i : at + 40 + OUT_POINT_SIZE * i])
        for i in range(count)
    )
    withdrawals = _u(payload, out_points_end, 4)
    entries_end = out_points_end + 4 + _WITHDRAWAL_ENTRY_SIZE * withdrawals
    if len(payload) < entries_end:
        raise InvalidRollupEncoding(f"{what}: {withdrawals} withdrawal entries are truncated")
    entries = _decode_entries(payload[out_points_end:entries_end], "SubmitProvenBatch")
    return SubmitProvenBatch(
        payload[:32],
        _u(payload, 32, 4),
        commitment,
        out_points,
        entries,
        payload[entries_end:],
    )


def _decode_deposit_lists(payload: bytes) -> tuple[tuple[bytes, ...], ...]:
    lists: list[tuple[bytes, ...]] = []
    at = 0
    while at < len(payload):
        if len(payload) < at + 4:
            raise InvalidRollupEncoding(
                f"RevertBatches deposit list {len(lists)} needs a u32 count"
            )
        count = _u(payload, at, 4)
        end = at + 4 + 32 * count
        if len(payload) < end:
            raise InvalidRollupEncoding(
                f"RevertBatches deposit list {len(lists)} of {count} hashes is truncated"
            )
        lists.append(tuple(payload[at + 4 + 32 * i : at + 36 + 32 * i] for i in range(count)))
        at = end
    return tuple(lists)


def decode_action(data: bytes) -> RollupAction:
    """Strict inverse of ``encode_action``; tags 0 and 7..255 are unknown."""
    if not data:
        raise InvalidRollupEncoding("empty rollup action")
    tag, payload = data[0], data[1:]
    if tag == ACTION_SUBMIT_BATCH:
        if len(payload) != 36:
            raise InvalidRollupEncoding(
                "SubmitBatch action is the tag, a 32-byte accounts root and a u32 account index"
            )
        return SubmitBatch(payload[:32], _u(payload, 32, 4))
    if tag == ACTION_FORCE_DEPOSIT:
        if payload:
            raise InvalidRollupEncoding("ForceDeposit action has no payload")
        return ForceDeposit()
    if tag == ACTION_ESCAPE_HATCH:
        if len(payload) != 32:
            raise InvalidRollupEncoding("EscapeHatch action is the tag and a 32-byte lock hash")
        return EscapeHatch(payload)
    if tag == ACTION_FINALIZE_BATCH:
        return FinalizeBatch(_decode_entries(payload, "FinalizeBatch"))
    if tag == ACTION_REVERT_BATCHES:
        if len(payload) < 8:
            raise InvalidRollupEncoding("RevertBatches action needs a u64 batch number")
        return RevertBatches(_u(payload, 0, 8), _decode_deposit_lists(payload[8:]))
    if tag == ACTION_SUBMIT_PROVEN_BATCH:
        return _decode_proven_batch(payload)
    raise InvalidRollupEncoding(f"unknown rollup action tag {tag}")


# ----------------------------------------------------------------------------- game actions
@dataclass(frozen=True, slots=True)
class Move:
    """Game tag 1 ‖ hash at mid [32] ‖ next mid hash [32] (0³² when the new range is one
    step): ``l2.dispute.Move`` on the wire."""

    hash_at_mid: bytes
    next_mid_hash: bytes

    def __post_init__(self) -> None:
        _check_hash(self.hash_at_mid, "move hash at mid")
        _check_hash(self.next_mid_hash, "move next mid hash")

    def to_dispute(self) -> dispute.Move:
        return dispute.Move(self.hash_at_mid, self.next_mid_hash)


@dataclass(frozen=True, slots=True)
class Timeout:
    """Game tag 2, no payload: the side to move ran out of clock (the input's ``since``)."""


@dataclass(frozen=True, slots=True)
class OneStep:
    """Game tag 3 ‖ ``OneStepProof.encode()`` (l2/onestep.py), decoded by the game script with
    the preset's tree depth."""

    proof: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.proof, bytes) or not self.proof:
            raise InvalidRollupEncoding("a OneStep action carries a non-empty proof")


@dataclass(frozen=True, slots=True)
class Abandon:
    """Game tag 4, no payload: only inside a RevertBatches that consumes the game's batch."""


GameAction = Move | Timeout | OneStep | Abandon


def encode_game_action(action: GameAction) -> bytes:
    """The bytes for ``WitnessArgs.input_type`` of a game input."""
    if isinstance(action, Move):
        return bytes([GAME_ACTION_MOVE]) + action.hash_at_mid + action.next_mid_hash
    if isinstance(action, Timeout):
        return bytes([GAME_ACTION_TIMEOUT])
    if isinstance(action, OneStep):
        return bytes([GAME_ACTION_ONE_STEP]) + action.proof
    return bytes([GAME_ACTION_ABANDON])


def decode_game_action(data: bytes) -> GameAction:
    """Strict inverse of ``encode_game_action``; tags 0 and 5..255 are unknown."""
    if not data:
        raise InvalidRollupEncoding("empty game action")
    tag, payload = data[0], data[1:]
    if tag == GAME_ACTION_MOVE:
        if len(payload) != 64:
            raise InvalidRollupEncoding("a Move is the tag and two 32-byte trace hashes")
        return Move(payload[:32], payload[32:])
    if tag == GAME_ACTION_TIMEOUT:
        if payload:
            raise InvalidRollupEncoding("a Timeout has no payload")
        return Timeout()
    if tag == GAME_ACTION_ONE_STEP:
        return OneStep(payload)
    if tag == GAME_ACTION_ABANDON:
        if payload:
            raise InvalidRollupEncoding("an Abandon has no payload")
        return Abandon()
    raise InvalidRollupEncoding(f"unknown game action tag {tag}")
