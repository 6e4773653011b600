"""The witness of a batch: the inputs of ``prover/circuits/rollup.circom`` (docs/validity.md §4).

The circuit checks three sequential leaf updates per record slot (sender or deposit target,
recipient, fee account).  This module replays a batch slot by slot on a copy of the accounts
tree and records, for each update, the old leaf's fields and the Merkle siblings *at that moment*
-- so a self-transfer, or a fee paid to the sender's own account, reads the leaf the previous
update wrote, exactly as ``l2.stf`` plans it.

The replay is checked against the STF itself: the batch is first run through
``l2.stf.apply_batch`` on another copy; a record the STF rejects cannot be proven (a validity
batch holds only valid transactions) and is reported with the STF's own error, and the replay's
final root must equal the STF's.  So the witness can only disagree with the protocol by raising.

Pure (no I/O): the sequencer builds witnesses and sends them to the prover service over HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from l2.config import RollupConfig
from l2.errors import UnprovableBatch
from l2.profile import VALIDITY
from l2.state import Account, L2State
from l2.stf import NO_DEPOSITS, apply_batch
from l2.tx import RECORD_SIZE, Deposit, L1Deposit, Transfer, decode_record
from l2.validity import compute_batch_input, compute_signing_domain

__all__ = ["BatchWitness", "compute_batch_witness"]

#: The identity of Baby Jubjub: what unused point inputs hold (on the curve, packs canonically).
_IDENTITY: Final = (0, 1)
#: Fields of a leaf an update does not read (any value works; these keep the gadgets quiet).
_UNUSED_LEAF: Final = (0, 1, 0, 0)


@dataclass(frozen=True, slots=True)
class BatchWitness:
    """What the prover needs for one batch: the circuit inputs and what they commit to."""

    inputs: dict[str, object]
    batch_input: int
    pre_root: bytes
    post_root: bytes
    tx_count: int


@dataclass(slots=True)
class _Update:
    enabled: bool
    index: int
    leaf: tuple[int, int, int, int]
    siblings: list[int]


def _fields(account: Account | None) -> tuple[int, int, int, int]:
    if account is None:
        return _UNUSED_LEAF
    ax, ay = VALIDITY.unpack_public_key(account.public_key)
    return (ax, ay, account.balance, account.nonce)


class _Replay:
    """The accounts tree and map, updated one leaf at a time."""

    def __init__(self, state: L2State) -> None:
        self.tree = state.tree.copy()
        self.accounts = {
            i: a for i in range(state.next_account_index) if (a := state.get_account(i))
        }
        self.depth = state.depth

    def apply(self, index: int, account: Account) -> _Update:
        old = self.accounts.get(index)
        proof = self.tree.get_proof(index)
        update = _Update(
            True, index, _fields(old), [int.from_bytes(s, "big") for s in proof.siblings]
        )
        self.accounts[index] = account
        self.tree.apply_leaf(
            index, VALIDITY.hash_leaf(account.public_key, account.balance, account.nonce)
        )
        return update

    def skip(self, index: int) -> _Update:
        return _Update(False, index, _UNUSED_LEAF, [0] * self.depth)


def _credit(account: Account, amount: int) -> Account:
    return Account(account.public_key, account.balance + amount, account.nonce)


def _replay_slot(
    replay: _Replay, record: bytes, config: RollupConfig
) -> tuple[list[_Update], tuple[int, int], tuple[int, int]]:
    """The three updates of one slot, plus the (key, R8) point inputs."""
    fee_account = config.fee_account
    if record[0] == 0:
        return [replay.skip(0), replay.skip(0), replay.skip(fee_account)], _IDENTITY, _IDENTITY
    tx = decode_record(record, VALIDITY)
    if isinstance(tx, Deposit):
        key = VALIDITY.unpack_public_key(tx.public_key)
        existing = replay.accounts.get(tx.to_index)
        target = (
            _credit(existing, tx.amount)
            if existing is not None
            else Account(tx.public_key, tx.amount, 0)
        )
        first = replay.apply(tx.to_index, target)
        if existing is None:
            first.leaf = _UNUSED_LEAF
        return [first, replay.skip(tx.to_index), replay.skip(fee_account)], key, _IDENTITY
    r8x, r8y, _s = VALIDITY.unpack_signature(tx.signature)
    sender = replay.accounts[tx.from_index]
    debited = Account(sender.public_key, sender.balance - tx.amount - tx.fee, sender.nonce + 1)
    updates = [replay.apply(tx.from_index, debited)]
    if isinstance(tx, Transfer):
        updates.append(replay.apply(tx.to_index, _credit(replay.accounts[tx.to_index], tx.amount)))
    else:
        updates.append(replay.skip(0))
    if tx.fee:
        updates.append(replay.apply(fee_account, _credit(replay.accounts[fee_account], tx.fee)))
    else:
        updates.append(replay.skip(fee_account))
    return updates, _IDENTITY, (r8x, r8y)


def compute_batch_witness(
    state: L2State,
    records: Sequence[bytes],
    config: RollupConfig,
    deposits: Mapping[int, L1Deposit] = NO_DEPOSITS,
) -> BatchWitness:
    """The circuit inputs proving ``records`` applied to ``state`` (which is not modified).

    Raises ``UnprovableBatch`` if the batch cannot be proven: the rollup is not on the validity
    profile, there are more records than circuit slots, or the STF rejects a record (the message
    names the record and the STF's error).
    """
    if config.profile is not VALIDITY:
        raise UnprovableBatch(
            f"a validity proof needs the validity profile, not {config.profile.name}"
        )
    batch_size = config.preset.max_txs_per_batch
    if len(records) > batch_size:
        raise UnprovableBatch(f"{len(records)} records, but the circuit has {batch_size} slots")
    for position, record in enumerate(records):
        if len(record) != RECORD_SIZE:
            raise UnprovableBatch(f"record {position} is {len(record)} bytes, not {RECORD_SIZE}")
    expected = state.copy()
    result = apply_batch(expected, list(records), config, deposits)
    if result.rejections:
        first = result.rejections[0]
        raise UnprovableBatch(
            f"record {first.index} is invalid ({first.error.__name__}: {first.message}); a "
            "validity batch holds only valid transactions, so it cannot be proven"
        )

    replay = _Replay(state)
    slots = [records[i] if i < len(records) else bytes(RECORD_SIZE) for i in range(batch_size)]
    record_inputs: list[list[int]] = []
    keys: list[list[int]] = []
    r8s: list[list[int]] = []
    leaf_fields: list[list[list[int]]] = [[], [], [], []]
    siblings: list[list[list[int]]] = []
    for record in slots:
        updates, key, r8 = _replay_slot(replay, record, config)
        record_inputs.append(list(record))
        keys.append(list(key))
        r8s.append(list(r8))
        for field_index in range(4):
            leaf_fields[field_index].append([u.leaf[field_index] for u in updates])
        siblings.append([u.siblings for u in updates])
    root = replay.tree.get_root()
    if root != expected.get_accounts_root() or len(replay.accounts) != expected.next_account_index:
        raise UnprovableBatch(
            "the slot-by-slot replay disagrees with the STF (a bug in l2.witness): accounts "
            f"root 0x{root.hex()} vs 0x{expected.get_accounts_root().hex()}"
        )
    dom0, dom1 = compute_signing_domain(config)
    post_root = expected.get_root()
    pre_root = state.get_root()
    batch_input = compute_batch_input(pre_root, post_root, list(records), config)
    inputs: dict[str, object] = {
        "batch_input": batch_input,
        "dom0": dom0,
        "dom1": dom1,
        "fee_account": config.fee_account,
        "old_accounts_root": int.from_bytes(state.get_accounts_root(), "big"),
        "old_next_account": state.next_account_index,
        "old_next_deposit": state.next_deposit_index,
        "record": record_inputs,
        "key": keys,
        "r8": r8s,
        "leaf_ax": leaf_fields[0],
        "leaf_ay": leaf_fields[1],
        "leaf_balance": leaf_fields[2],
        "leaf_nonce": leaf_fields[3],
        "siblings": siblings,
    }
    return BatchWitness(inputs, batch_input, pre_root, post_root, len(records))
