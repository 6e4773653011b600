"""The one-step proof: executing one record of a disputed batch from the agreed trace position
(docs/disputes.md §1, §3 "OneStep").

When the bisection game (``l2.dispute``) has narrowed a dispute to record ``i``, the L1 must
compute the trace hash after that record from the agreed hash before it -- without the blobs and
without the state.  The witness (``OneStepProof``) carries just enough:

- the record: the KZG commitment of its blob (checked against the commitment's versioned hash)
  and four point-evaluation openings, one per field element of the record slot (the blob
  polynomial at ``compute_evaluation_point(j)`` is element ``j``);
- the pre-state: the preimage of ``lo_hash`` -- accounts root, both counters, withdrawal chain;
- every account the STF reads, each with its sparse-Merkle proof against the accounts root;
- the deposit the STF reads, if any, with its CBMT proof against the batch's deposits root.

``verify_one_step`` then runs the very same ``l2.stf.apply_record`` as the sequencer and the
derivers, on a partial state that holds only the witnessed tree paths.  A read of an account
that is not witnessed raises ``InvalidOneStepProof`` ("missing witness for account i") -- it is
never taken to be absent -- so a prover cannot change the outcome by leaving a witness out.

Everything here is pure; KZG settings are passed in (``l1.kzg`` loads them).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import ckzg

from l1.ckb.cbmt import CbmtProof, build_cbmt_proof, verify_cbmt_proof
from l1.ckb.hashing import ckbhash
from l1.core.blobs import (
    BLS_MODULUS,
    BYTES_PER_BLOB,
    FIELD_ELEMENTS_PER_BLOB,
    compute_versioned_hash,
    verify_point_evaluation,
)
from l2.batch import (
    ELEMENTS_PER_RECORD,
    BatchCommitment,
    compute_next_withdrawals_chain,
    compute_record_from_elements,
    get_record_location,
)
from l2.config import RollupConfig
from l2.dispute import ZERO_HASH, compute_trace_hash
from l2.errors import (
    FieldOutOfRange,
    InvalidOneStepProof,
    InvalidProof,
    InvalidRecord,
    InvalidTransaction,
)
from l2.profile import MAX_PUBLIC_KEY_SIZE
from l2.smt import MerkleProof, SparseMerkleTree, compute_root_from_proof
from l2.state import Account, L2State, compute_state_root
from l2.stf import BatchResult, apply_record
from l2.tx import OUT_POINT_SIZE, L1Deposit

__all__ = [
    "DEPOSIT_DOMAIN_TAG",
    "MAX_ACCOUNT_WITNESSES",
    "MAX_CBMT_LEMMAS",
    "AccountWitness",
    "DepositWitness",
    "ElementOpening",
    "OneStepProof",
    "build_one_step_proof",
    "compute_batch_trace",
    "compute_evaluation_point",
    "compute_l1_deposit_hash",
    "compute_max_one_step_proof_size",
    "decode_one_step_proof",
    "verify_one_step",
]

KzgSettings = Any  # ckzg.KZGSettings, opaque

DEPOSIT_DOMAIN_TAG: Final = b"rollcourt/l1-deposit/v1"
#: A step reads at most three accounts (transfer: sender, recipient, fee account); one spare.
MAX_ACCOUNT_WITNESSES: Final = 4
#: A CBMT over at most 2**32 deposits has at most 32 levels.
MAX_CBMT_LEMMAS: Final = 32
_PRIMITIVE_ROOT: Final = 7
_ROOT_OF_UNITY: Final = pow(
    _PRIMITIVE_ROOT, (BLS_MODULUS - 1) // FIELD_ELEMENTS_PER_BLOB, BLS_MODULUS
)
_LOG2_ELEMENTS: Final = FIELD_ELEMENTS_PER_BLOB.bit_length() - 1
_G1_SIZE: Final = 48
_MAX_DEPTH: Final = 32


# ----------------------------------------------------------------------------- helpers
def compute_evaluation_point(element_index: int) -> bytes:
    """The 32-byte big-endian ``z`` at which the EIP-4844 blob polynomial equals element
    ``element_index``: ``ω^bitrev_12(j)``, ω the primitive 4096-th root of unity of the BLS12-381
    scalar field (``7^((r-1)/4096)``).  EIP-4844 lays a blob out in bit-reversed root order
    (``ROOTS_OF_UNITY_BRP``), which is why the exponent is bit-reversed."""
    if isinstance(element_index, bool) or not 0 <= element_index < FIELD_ELEMENTS_PER_BLOB:
        raise FieldOutOfRange(f"element index must be in 0..{FIELD_ELEMENTS_PER_BLOB - 1}")
    reversed_index = int(format(element_index, f"0{_LOG2_ELEMENTS}b")[::-1], 2)
    return pow(_ROOT_OF_UNITY, reversed_index, BLS_MODULUS).to_bytes(32, "big")


def compute_l1_deposit_hash(out_point: bytes, public_key: bytes, amount: int) -> bytes:
    """``ckbhash("rollcourt/l1-deposit/v1" ‖ out_point[36] ‖ public_key ‖ amount u64 LE)``: the
    leaf of a batch's deposits root.  Defined here so ``l2`` need not import the L1 scripts; the
    L1's ``compute_deposit_hash`` produces the same bytes."""
    if len(out_point) != OUT_POINT_SIZE:
        raise FieldOutOfRange(f"an out point is {OUT_POINT_SIZE} bytes")
    if not 1 <= len(public_key) <= MAX_PUBLIC_KEY_SIZE:
        raise FieldOutOfRange(f"a public key is 1..{MAX_PUBLIC_KEY_SIZE} bytes")
    if isinstance(amount, bool) or not 0 <= amount < 1 << 64:
        raise FieldOutOfRange("amount must be a u64")
    return ckbhash(DEPOSIT_DOMAIN_TAG + out_point + public_key + amount.to_bytes(8, "little"))


def compute_batch_trace(result: BatchResult, config: RollupConfig) -> tuple[bytes, ...]:
    """The ``n + 1`` trace hashes of an applied batch: position ``i`` is
    ``compute_trace_hash(state_root_i, withdrawals_chain_i)`` (docs/disputes.md §1).  Position
    ``n`` is ``(new_root, withdrawals_root)`` of an honest commitment."""
    chain = ZERO_HASH
    trace = [compute_trace_hash(result.pre_root, chain)]
    for root, receipt in zip(result.roots, result.receipts, strict=True):
        if receipt is not None and receipt.withdrawal is not None:
            chain = compute_next_withdrawals_chain(chain, receipt.withdrawal, config)
        trace.append(compute_trace_hash(root, chain))
    return tuple(trace)


def _fail(message: str) -> InvalidOneStepProof:
    return InvalidOneStepProof(message)


# ----------------------------------------------------------------------------- the witness
@dataclass(frozen=True, slots=True)
class ElementOpening:
    """A KZG opening of one field element: ``p(z) = y`` with ``proof``."""

    y: bytes
    proof: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.y, bytes) or len(self.y) != 32:
            raise _fail("an opened element is 32 bytes")
        if not isinstance(self.proof, bytes) or len(self.proof) != _G1_SIZE:
            raise _fail(f"a KZG proof is {_G1_SIZE} bytes")


@dataclass(frozen=True, slots=True)
class AccountWitness:
    """Leaf ``index`` of the pre-state's accounts tree: ``account`` (``None``: the empty leaf)
    and its Merkle proof."""

    index: int
    account: Account | None
    proof: MerkleProof

    def __post_init__(self) -> None:
        if self.proof.index != self.index:
            raise _fail(f"the proof of account {self.index} is for leaf {self.proof.index}")


@dataclass(frozen=True, slots=True)
class DepositWitness:
    """The L1 deposit a deposit record consumes, and its CBMT proof (one leaf) against the
    batch's deposits root.  Its queue index is the record's; its position in the tree is
    ``deposit_index - commitment.deposit_start``."""

    out_point: bytes
    public_key: bytes
    amount: int
    proof: CbmtProof

    def __post_init__(self) -> None:
        try:
            compute_l1_deposit_hash(self.out_point, self.public_key, self.amount)
        except FieldOutOfRange as exc:
            raise _fail(f"deposit witness: {exc}") from None
        if len(self.proof.indices) != 1:
            raise _fail("a deposit witness proves exactly one leaf")
        if len(self.proof.lemmas) > MAX_CBMT_LEMMAS:
            raise _fail(f"a deposit witness has at most {MAX_CBMT_LEMMAS} lemmas")

    def get_leaf(self) -> bytes:
        return compute_l1_deposit_hash(self.out_point, self.public_key, self.amount)


@dataclass(frozen=True, slots=True)
class OneStepProof:
    """Everything ``verify_one_step`` needs besides the game and the batch cell.

    Encoding (``encode``; all integers little-endian)::

        kzg_commitment [48]
        4 × (y [32] ‖ kzg proof [48])
        accounts_root [32] ‖ next_account_index u32 ‖ next_deposit_index u32 ‖
        withdrawals_chain [32]
        account count u8 (≤ 4), per account, indices strictly ascending:
            index u32 ‖ present u8 (0 | 1) ‖
            [present: key length u8 (1..33) ‖ key ‖ balance u64 ‖ nonce u32] ‖
            depth × sibling [32]
        deposit u8 (0 | 1) ‖
            [1: out_point [36] ‖ key length u8 ‖ key ‖ amount u64 ‖
                tree index u32 ‖ lemma count u8 (≤ 32) ‖ lemmas × [32]]

    Canonical: ``decode_one_step_proof`` accepts exactly the bytes ``encode`` makes.
    """

    kzg_commitment: bytes
    openings: tuple[ElementOpening, ...]
    accounts_root: bytes
    next_account_index: int
    next_deposit_index: int
    withdrawals_chain: bytes
    accounts: tuple[AccountWitness, ...]
    deposit: DepositWitness | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kzg_commitment, bytes) or len(self.kzg_commitment) != _G1_SIZE:
            raise _fail(f"a KZG commitment is {_G1_SIZE} bytes")
        if len(self.openings) != ELEMENTS_PER_RECORD:
            raise _fail(f"a record is opened with {ELEMENTS_PER_RECORD} element openings")
        for name in ("accounts_root", "withdrawals_chain"):
            value = getattr(self, name)
            if not isinstance(value, bytes) or len(value) != 32:
                raise _fail(f"{name} must be 32 bytes")
        for name in ("next_account_index", "next_deposit_index"):
            value = getattr(self, name)
            if isinstance(value, bool) or not 0 <= value < 1 << 32:
                raise _fail(f"{name} must be a u32")
        if len(self.accounts) > MAX_ACCOUNT_WITNESSES:
            raise _fail(f"at most {MAX_ACCOUNT_WITNESSES} account witnesses")
        indices = [w.index for w in self.accounts]
        if indices != sorted(set(indices)):
            raise _fail("account witnesses must have strictly ascending indices")
        depths = {w.proof.depth for w in self.accounts}
        if len(depths) > 1:
            raise _fail("account witnesses of different depths")

    def encode(self) -> bytes:
        parts = [self.kzg_commitment]
        parts.extend(o.y + o.proof for o in self.openings)
        parts += [
            self.accounts_root,
            self.next_account_index.to_bytes(4, "little"),
            self.next_deposit_index.to_bytes(4, "little"),
            self.withdrawals_chain,
            bytes([len(self.accounts)]),
        ]
        for witness in self.accounts:
            parts.append(witness.index.to_bytes(4, "little"))
            account = witness.account
            if account is None:
                parts.append(b"\x00")
            else:
                parts += [
                    b"\x01",
                    bytes([len(account.public_key)]),
                    account.public_key,
                    account.balance.to_bytes(8, "little"),
                    account.nonce.to_bytes(4, "little"),
                ]
            parts.extend(witness.proof.siblings)
        deposit = self.deposit
        if deposit is None:
            parts.append(b"\x00")
        else:
            parts += [
                b"\x01",
                deposit.out_point,
                bytes([len(deposit.public_key)]),
                deposit.public_key,
                deposit.amount.to_bytes(8, "little"),
                deposit.proof.indices[0].to_bytes(4, "little"),
                bytes([len(deposit.proof.lemmas)]),
                *deposit.proof.lemmas,
            ]
        return b"".join(parts)


def compute_max_one_step_proof_size(depth: int) -> int:
    """The longest encoding for accounts trees of ``depth``: larger input is refused unread."""
    account = 4 + 1 + 1 + MAX_PUBLIC_KEY_SIZE + 12 + 32 * depth
    deposit = 1 + OUT_POINT_SIZE + 1 + MAX_PUBLIC_KEY_SIZE + 8 + 4 + 1 + 32 * MAX_CBMT_LEMMAS
    fixed = _G1_SIZE + ELEMENTS_PER_RECORD * (32 + _G1_SIZE) + 32 + 8 + 32 + 1
    return fixed + MAX_ACCOUNT_WITNESSES * account + deposit


class _Reader:
    """A bounds-checked cursor: running out of bytes is ``InvalidOneStepProof``."""

    __slots__ = ("data", "offset")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def take(self, size: int, what: str) -> bytes:
        end = self.offset + size
        if end > len(self.data):
            raise _fail(f"one-step proof truncated in {what}")
        chunk = self.data[self.offset : end]
        self.offset = end
        return chunk

    def uint(self, size: int, what: str) -> int:
        return int.from_bytes(self.take(size, what), "little")

    def flag(self, what: str) -> bool:
        value = self.uint(1, what)
        if value > 1:
            raise _fail(f"{what} flag must be 0 or 1, got {value}")
        return value == 1

    def key(self, what: str) -> bytes:
        size = self.uint(1, what)
        if not 1 <= size <= MAX_PUBLIC_KEY_SIZE:
            raise _fail(f"{what} key length {size} is not in 1..{MAX_PUBLIC_KEY_SIZE}")
        return self.take(size, what)


def decode_one_step_proof(data: bytes, depth: int) -> OneStepProof:
    """Strict inverse of ``OneStepProof.encode`` for accounts trees of ``depth``.

    All or nothing: any malformed, truncated, oversized or trailing input raises
    ``InvalidOneStepProof`` (never another error), before anything is allocated from a claimed
    count beyond the fixed limits."""
    if isinstance(depth, bool) or not 1 <= depth <= _MAX_DEPTH:
        raise _fail(f"tree depth must be in 1..{_MAX_DEPTH}")
    if not isinstance(data, bytes):
        raise _fail("a one-step proof is bytes")
    limit = compute_max_one_step_proof_size(depth)
    if len(data) > limit:
        raise _fail(f"a one-step proof is at most {limit} bytes at depth {depth}, got {len(data)}")
    reader = _Reader(data)
    try:
        commitment = reader.take(_G1_SIZE, "kzg commitment")
        openings = tuple(
            ElementOpening(reader.take(32, "opening"), reader.take(_G1_SIZE, "opening"))
            for _ in range(ELEMENTS_PER_RECORD)
        )
        accounts_root = reader.take(32, "pre-state")
        next_account = reader.uint(4, "pre-state")
        next_deposit = reader.uint(4, "pre-state")
        chain = reader.take(32, "pre-state")
        count = reader.uint(1, "account count")
        if count > MAX_ACCOUNT_WITNESSES:
            raise _fail(f"{count} account witnesses, at most {MAX_ACCOUNT_WITNESSES}")
        witnesses = []
        for _ in range(count):
            index = reader.uint(4, "account witness")
            account = None
            if reader.flag("account present"):
                key = reader.key("account")
                balance = reader.uint(8, "account witness")
                nonce = reader.uint(4, "account witness")
                account = Account(key, balance, nonce)
            siblings = tuple(reader.take(32, "account siblings") for _ in range(depth))
            witnesses.append(AccountWitness(index, account, MerkleProof(index, siblings)))
        deposit = None
        if reader.flag("deposit witness"):
            out_point = reader.take(OUT_POINT_SIZE, "deposit witness")
            key = reader.key("deposit")
            amount = reader.uint(8, "deposit witness")
            tree_index = reader.uint(4, "deposit witness")
            lemma_count = reader.uint(1, "deposit lemma count")
            if lemma_count > MAX_CBMT_LEMMAS:
                raise _fail(f"{lemma_count} deposit lemmas, at most {MAX_CBMT_LEMMAS}")
            lemmas = tuple(reader.take(32, "deposit lemmas") for _ in range(lemma_count))
            deposit = DepositWitness(out_point, key, amount, CbmtProof((tree_index,), lemmas))
        if reader.offset != len(data):
            raise _fail(f"{len(data) - reader.offset} trailing bytes after the one-step proof")
        return OneStepProof(
            commitment,
            openings,
            accounts_root,
            next_account,
            next_deposit,
            chain,
            tuple(witnesses),
            deposit,
        )
    except (FieldOutOfRange, InvalidProof, ValueError) as exc:
        raise _fail(f"malformed one-step proof: {exc}") from None


# ----------------------------------------------------------------------------- partial state
class _WitnessedState(L2State):
    """An ``L2State`` that knows only the witnessed accounts and their tree paths.

    Reading any other in-tree index raises ``InvalidOneStepProof``: a missing witness must
    never pass for an absent account.  Indices beyond the tree cannot exist (``apply_account``
    refuses them), so they read as absent, as in the full state."""

    __slots__ = ("_witnessed",)

    def __init__(
        self,
        config: RollupConfig,
        proof: OneStepProof,
    ) -> None:
        super().__init__(config.preset.tree_depth, config.profile)
        self.next_account_index = proof.next_account_index
        self.next_deposit_index = proof.next_deposit_index
        self._witnessed = frozenset(w.index for w in proof.accounts)
        self.tree = SparseMerkleTree(self.depth, self.profile, _collect_nodes(config, proof))
        self._accounts = {w.index: w.account for w in proof.accounts if w.account is not None}

    def get_account(self, index: int) -> Account | None:
        if index >> self.depth:
            return None
        if index not in self._witnessed:
            raise InvalidOneStepProof(f"missing witness for account {index}")
        return self._accounts.get(index)


def _collect_nodes(config: RollupConfig, proof: OneStepProof) -> dict[tuple[int, int], bytes]:
    """Every tree node the witnesses determine -- each path and its siblings -- after checking
    each proof against ``accounts_root``.  Updating one leaf then rehashes from stored nodes, so
    the other witnesses' stale siblings never matter."""
    profile = config.profile
    depth = config.preset.tree_depth
    empty = profile.empty_subtree_hashes
    # The root itself: a step that reads no account (a garbage record) keeps it as it is.
    known: dict[tuple[int, int], bytes] = {(depth, 0): proof.accounts_root}

    def learn(key: tuple[int, int], value: bytes) -> None:
        if known.setdefault(key, value) != value:
            raise InvalidOneStepProof(f"account witnesses disagree on tree node {key}")

    for witness in proof.accounts:
        if witness.proof.depth != depth or witness.index >> depth:
            raise InvalidOneStepProof(
                f"the witness of account {witness.index} does not fit a {depth}-deep tree"
            )
        account = witness.account
        if account is not None and len(account.public_key) != profile.public_key_size:
            raise InvalidOneStepProof(
                f"account {witness.index}: a {profile.name} key is {profile.public_key_size} bytes"
            )
        leaf = (
            empty[0]
            if account is None
            else profile.hash_leaf(account.public_key, account.balance, account.nonce)
        )
        if compute_root_from_proof(witness.proof, leaf, profile) != proof.accounts_root:
            raise InvalidOneStepProof(
                f"the Merkle witness of account {witness.index} does not match the accounts root"
            )
        node = leaf
        position = witness.index
        for height, sibling in enumerate(witness.proof.siblings):
            learn((height, position), node)
            learn((height, position ^ 1), sibling)
            node = (
                profile.hash_node(node, sibling)
                if position & 1 == 0
                else profile.hash_node(sibling, node)
            )
            position >>= 1
        learn((depth, 0), node)
    return {key: value for key, value in known.items() if value != empty[key[0]]}


class _WitnessedDeposits(Mapping[int, L1Deposit]):
    """The deposit queue a step may read: only ``[deposit_start, deposit_end)`` exists (others
    read as absent: ``UnknownDeposit``), and reading an index in that range needs the witness,
    checked against the deposits root at its position."""

    def __init__(
        self, witness: DepositWitness | None, commitment: BatchCommitment, deposits_root: bytes
    ) -> None:
        self._witness = witness
        self._start = commitment.deposit_start
        self._end = commitment.deposit_end
        self._root = deposits_root
        self.used = False

    def get(self, index: int, default: Any = None) -> Any:
        if not self._start <= index < self._end:
            return default
        witness = self._witness
        if witness is None:
            raise InvalidOneStepProof(f"missing witness for deposit {index}")
        count = self._end - self._start
        position = index - self._start
        if witness.proof.indices != (position + count - 1,):
            raise InvalidOneStepProof(
                f"the deposit witness is for tree index {witness.proof.indices[0]}, deposit "
                f"{index} is leaf {position} of {count}"
            )
        if not verify_cbmt_proof(witness.proof, self._root, [witness.get_leaf()]):
            raise InvalidOneStepProof(
                f"the witness of deposit {index} does not match the batch's deposits root"
            )
        self.used = True
        return L1Deposit(witness.out_point, index, witness.public_key, witness.amount)

    def __getitem__(self, index: int) -> L1Deposit:
        deposit = self.get(index)
        if deposit is None:
            raise KeyError(index)
        return deposit  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[int]:
        return iter(())

    def __len__(self) -> int:
        return 0


# ----------------------------------------------------------------------------- verification
def _verify_record(
    proof: OneStepProof,
    record_index: int,
    commitment: BatchCommitment,
    settings: KzgSettings,
) -> bytes:
    """The record slot's bytes, from the KZG openings."""
    if isinstance(record_index, bool) or not 0 <= record_index < commitment.tx_count:
        raise InvalidOneStepProof(
            f"record {record_index} is not in the batch of {commitment.tx_count} records"
        )
    location = get_record_location(record_index)
    hashes = commitment.blob_versioned_hashes
    if location.blob_index >= len(hashes):
        raise InvalidOneStepProof(
            f"record {record_index} lies in blob {location.blob_index}, the batch has {len(hashes)}"
        )
    versioned_hash = hashes[location.blob_index]
    if compute_versioned_hash(proof.kzg_commitment) != versioned_hash:
        raise InvalidOneStepProof(
            f"the KZG commitment does not hash to blob {location.blob_index}'s versioned hash"
        )
    for offset, opening in enumerate(proof.openings):
        element = location.first_element + offset
        z = compute_evaluation_point(element)
        if not verify_point_evaluation(
            versioned_hash, z, opening.y, proof.kzg_commitment, opening.proof, settings
        ):
            raise InvalidOneStepProof(
                f"the KZG opening of element {element} (record {record_index}) does not verify"
            )
    return compute_record_from_elements([o.y for o in proof.openings])


def verify_one_step(
    proof: OneStepProof,
    *,
    record_index: int,
    lo_hash: bytes,
    commitment: BatchCommitment,
    deposits_root: bytes,
    config: RollupConfig,
    settings: KzgSettings,
) -> bytes:
    """The trace hash after record ``record_index``, computed from the agreed ``lo_hash``.

    Checks, in order: the record is in the batch; the KZG commitment matches the record's blob's
    versioned hash and the four openings verify (the record's bytes); the pre-state preimage
    hashes to ``lo_hash``; every account witness against the accounts root.  Then it applies the
    record with ``l2.stf.apply_record`` (an undecodable record or invalid transaction is the
    no-op), checking the deposit witness against ``deposits_root`` when the step reads a deposit
    of the batch's range, and extends the withdrawal chain if the record withdrew.

    Raises ``InvalidOneStepProof`` for any witness that does not hold, including a missing
    witness for an account or deposit the step reads.  The caller compares the result with the
    proposer's claim (``hi_hash``).
    """
    if len(lo_hash) != 32 or len(deposits_root) != 32:
        raise InvalidOneStepProof("lo_hash and deposits_root are 32 bytes")
    record = _verify_record(proof, record_index, commitment, settings)
    pre_root = compute_state_root(
        proof.accounts_root, proof.next_account_index, proof.next_deposit_index, config.profile
    )
    if compute_trace_hash(pre_root, proof.withdrawals_chain) != lo_hash:
        raise InvalidOneStepProof("the pre-state preimage does not hash to the agreed lo_hash")
    state = _WitnessedState(config, proof)
    deposits = _WitnessedDeposits(proof.deposit, commitment, deposits_root)
    chain = proof.withdrawals_chain
    try:
        receipt = apply_record(state, record, config, deposits)
    except (InvalidRecord, InvalidTransaction):
        receipt = None
    if proof.deposit is not None and not deposits.used:
        raise InvalidOneStepProof("a deposit witness for a step that reads no deposit")
    if receipt is not None and receipt.withdrawal is not None:
        chain = compute_next_withdrawals_chain(chain, receipt.withdrawal, config)
    return compute_trace_hash(state.get_root(), chain)


# ----------------------------------------------------------------------------- building
class _ReadRecorder(L2State):
    """A copy of the full state that notes every account index the STF reads."""

    __slots__ = ("reads",)
    reads: set[int]

    @classmethod
    def of(cls, state: L2State) -> _ReadRecorder:
        clone = state.copy()
        recorder = cls(state.depth, state.profile)
        recorder.tree = clone.tree
        recorder._accounts = clone._accounts
        recorder.next_account_index = clone.next_account_index
        recorder.next_deposit_index = clone.next_deposit_index
        recorder.reads = set()
        return recorder

    def get_account(self, index: int) -> Account | None:
        self.reads.add(index)
        return super().get_account(index)


class _RecordingDeposits(Mapping[int, L1Deposit]):
    def __init__(self, queue: Mapping[int, L1Deposit]) -> None:
        self._queue = queue
        self.reads: set[int] = set()

    def get(self, index: int, default: Any = None) -> Any:
        self.reads.add(index)
        return self._queue.get(index, default)

    def __getitem__(self, index: int) -> L1Deposit:
        self.reads.add(index)
        return self._queue[index]

    def __iter__(self) -> Iterator[int]:
        return iter(self._queue)

    def __len__(self) -> int:
        return len(self._queue)


def build_one_step_proof(
    state_before: L2State,
    withdrawals_chain: bytes,
    record_index: int,
    blobs: Sequence[bytes],
    commitment: BatchCommitment,
    deposits: Sequence[L1Deposit],
    config: RollupConfig,
    settings: KzgSettings,
) -> OneStepProof:
    """The witness for record ``record_index`` from the state before it (position
    ``record_index`` of the trace) and the chain there.

    ``deposits`` are the batch's consumed deposits in queue order (``commitment.deposit_start``
    onward): the leaves of its deposits root.  The builder runs the STF on a copy of the state
    and witnesses exactly the accounts and the deposit it reads, which is what the verifier
    demands.  ``state_before`` is not mutated.
    """
    if len(deposits) != commitment.deposit_count or any(
        d.deposit_index != commitment.deposit_start + i for i, d in enumerate(deposits)
    ):
        raise InvalidOneStepProof(
            f"the batch consumed deposits [{commitment.deposit_start}, {commitment.deposit_end}); "
            "give exactly those, in queue order"
        )
    if not 0 <= record_index < commitment.tx_count:
        raise InvalidOneStepProof(f"record {record_index} is not in the batch")
    location = get_record_location(record_index)
    if location.blob_index >= len(blobs) or len(blobs[location.blob_index]) != BYTES_PER_BLOB:
        raise InvalidOneStepProof(f"record {record_index} lies in blob {location.blob_index}")
    blob = blobs[location.blob_index]
    kzg_commitment = bytes(ckzg.blob_to_kzg_commitment(blob, settings))
    openings = []
    for offset in range(ELEMENTS_PER_RECORD):
        z = compute_evaluation_point(location.first_element + offset)
        kzg_proof, y = ckzg.compute_kzg_proof(blob, z, settings)
        openings.append(ElementOpening(bytes(y), bytes(kzg_proof)))
    record = compute_record_from_elements([o.y for o in openings])

    recorder = _ReadRecorder.of(state_before)
    queue = {d.deposit_index: d for d in deposits}
    reads = _RecordingDeposits(queue)
    with contextlib.suppress(InvalidRecord, InvalidTransaction):
        apply_record(recorder, record, config, reads)
    witnesses = tuple(
        AccountWitness(index, state_before.get_account(index), state_before.get_proof(index))
        for index in sorted(recorder.reads)
        if not index >> state_before.depth
    )
    deposit_witness = None
    read_deposits = [i for i in reads.reads if i in queue]
    if read_deposits:
        (index,) = read_deposits
        leaves = [compute_l1_deposit_hash(d.out_point, d.public_key, d.amount) for d in deposits]
        position = index - commitment.deposit_start
        deposit = queue[index]
        deposit_witness = DepositWitness(
            deposit.out_point,
            deposit.public_key,
            deposit.amount,
            build_cbmt_proof(leaves, [position]),
        )
    return OneStepProof(
        kzg_commitment=kzg_commitment,
        openings=tuple(openings),
        accounts_root=state_before.get_accounts_root(),
        next_account_index=state_before.next_account_index,
        next_deposit_index=state_before.next_deposit_index,
        withdrawals_chain=withdrawals_chain,
        accounts=witnesses,
        deposit=deposit_witness,
    )
