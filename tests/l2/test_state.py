"""The state: root commitment, proofs of accounts, deterministic snapshots."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from l2.errors import FieldOutOfRange, InvalidPublicKey, InvalidStateEncoding, InvalidStateUpdate
from l2.profile import OPTIMISTIC
from l2.smt import verify_proof
from l2.state import (
    Account,
    L2State,
    compute_counters_word,
    compute_state_root,
    create_genesis_state,
)
from l2.stf import apply_transaction
from l2.tx import Deposit
from tests.l2.kit import CONFIG, PUBS, l1_deposit, make_state, transfer

accounts = st.lists(
    st.builds(Account, st.sampled_from(PUBS), st.integers(0, 2**64 - 1), st.integers(0, 2**32 - 1)),
    max_size=12,
)


@settings(max_examples=50, deadline=None)
@given(accounts, st.integers(0, 2**32 - 1))
def test_encode_decode_round_trip(genesis_accounts, deposits):
    state = create_genesis_state(CONFIG, genesis_accounts)
    state.next_deposit_index = deposits
    data = state.encode()
    decoded = L2State.decode(data, OPTIMISTIC)
    assert decoded.encode() == data
    assert decoded == state
    assert decoded.get_root() == state.get_root()
    assert decoded.get_accounts() == tuple(genesis_accounts)


def test_root_commits_to_accounts_root_and_counters():
    state = make_state(100, 5)
    assert state.get_root() == OPTIMISTIC.hash_node(
        state.get_accounts_root(), compute_counters_word(3, 0)
    )
    assert compute_counters_word(3, 2) == ((2 << 32) | 3).to_bytes(32, "big")
    bumped = state.copy()
    bumped.apply_deposit_consumed()
    assert bumped.get_accounts_root() == state.get_accounts_root()
    assert bumped.get_root() != state.get_root()
    assert bumped.get_root() == compute_state_root(state.get_accounts_root(), 3, 1, OPTIMISTIC)


def test_account_and_absent_leaf_proofs():
    state = make_state(100, 5)
    root = state.get_accounts_root()
    for index, account in enumerate(state.get_accounts()):
        leaf = OPTIMISTIC.hash_leaf(account.public_key, account.balance, account.nonce)
        assert verify_proof(state.get_proof(index), leaf, root, OPTIMISTIC, 16)
    assert verify_proof(state.get_proof(3), OPTIMISTIC.empty_leaf_hash, root, OPTIMISTIC, 16)


def test_copy_is_independent_and_equal():
    state = make_state(100, 5)
    clone = state.copy()
    assert clone == state and clone.encode() == state.encode()
    apply_transaction(clone, transfer(clone, 1, 2, 10), CONFIG)
    assert clone != state
    assert state.get_account(1) == Account(PUBS[1], 100, 0)


def test_snapshot_after_transactions_round_trips():
    state = make_state(100)
    apply_transaction(state, Deposit(0, 2, 7, PUBS[4]), CONFIG, {0: l1_deposit(0, 4, 7)})
    apply_transaction(state, transfer(state, 1, 2, 10), CONFIG)
    decoded = L2State.decode(state.encode(), OPTIMISTIC)
    assert decoded == state and decoded.get_root() == state.get_root()
    assert decoded.next_deposit_index == 1 and decoded.next_account_index == 3


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: b"", "version-1"),
        (lambda d: b"\x02" + d[1:], "version-1"),
        (lambda d: d[:5], "truncated"),
        (lambda d: d[:2] + b"validity__" + d[12:], "profile"),
        (lambda d: d[:-1], "need"),
        (lambda d: d + b"\x00", "need"),
        (lambda d: d[:12] + b"\x00" + d[13:], "impossible"),
    ],
    ids=["empty", "version", "truncated", "profile", "short", "trailing", "depth-0"],
)
def test_decode_is_strict(mutate, fragment):
    data = make_state(100, 5).encode()
    assert data[2:12] == b"optimistic"
    with pytest.raises(InvalidStateEncoding, match=fragment):
        L2State.decode(mutate(data), OPTIMISTIC)


def test_direct_writes_keep_the_invariants():
    state = make_state(1)
    with pytest.raises(InvalidStateUpdate, match="gap"):
        state.apply_account(3, Account(PUBS[1], 0, 0))
    with pytest.raises(InvalidStateUpdate, match="33 bytes"):
        state.apply_account(2, Account(PUBS[1][:20], 0, 0))
    with pytest.raises(FieldOutOfRange):
        Account(PUBS[1], -1, 0)


def test_genesis_validates_keys():
    with pytest.raises(InvalidPublicKey):
        create_genesis_state(CONFIG, [Account(b"\x02" + b"\xff" * 32, 0, 0)])
