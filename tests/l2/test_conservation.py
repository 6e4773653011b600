"""Value conservation (catalogue T3): sum of balances + sum withdrawn == sum of deposits consumed,
fees included (they sit in the sequencer's account), over random deposit / transfer / withdraw
sequences, valid or not; every rejected transaction leaves the state byte-identical."""

from __future__ import annotations

from hypothesis import event, given, settings
from hypothesis import strategies as st

from l2.errors import InvalidTransaction
from l2.state import Account, create_genesis_state
from l2.stf import apply_transaction
from l2.tx import Deposit
from tests.l2.kit import CKB, CONFIG, KEYS, PUBS, l1_deposit, transfer, withdraw

#: ("pct", p): p percent of the sender's balance (mostly affordable); ("abs", a): exactly a.
amounts = st.one_of(
    st.tuples(st.just("pct"), st.integers(0, 110)),
    st.tuples(
        st.just("abs"),
        st.one_of(st.integers(0, 200 * CKB), st.sampled_from([61 * CKB, 2**64 - 1, 2**63])),
    ),
)
deposit_amounts = st.one_of(st.integers(0, 1_000 * CKB), st.just(2**64 - 1))
fees = st.one_of(st.integers(0, 10_000), st.just(2**48 - 1))
accounts = st.integers(0, 4)
ops = st.one_of(
    st.tuples(
        st.just("deposit"), st.integers(0, 5), st.one_of(st.none(), accounts), deposit_amounts
    ),
    st.tuples(st.just("transfer"), accounts, accounts, amounts, fees),
    st.tuples(st.just("withdraw"), accounts, amounts, fees),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(ops, min_size=4, max_size=30))
def test_value_is_conserved(operations):
    state = create_genesis_state(CONFIG, [Account(PUBS[0], 0, 0)])
    deposited = 0
    withdrawn = 0
    applied = 0
    for op in operations:
        deposits = {}
        if op[0] == "deposit":
            _, key, target, amount = op
            index = state.next_deposit_index
            to = state.next_account_index
            if target is not None and target < state.next_account_index:
                to = target  # a top-up, with the account's own key
                key = PUBS.index(state.get_account(target).public_key)
            deposits = {index: l1_deposit(index, key, amount)}
            tx = Deposit(index, to, amount, PUBS[key])
        elif op[0] == "transfer":
            _, frm, to, spec, fee = op
            amount = _amount(state, frm, spec)
            tx = transfer(state, frm, to, amount, fee, key=_key(state, frm))
        else:
            _, frm, spec, fee = op
            amount = _amount(state, frm, spec)
            tx = withdraw(state, frm, amount, fee, key=_key(state, frm))
        before = state.encode()
        try:
            receipt = apply_transaction(state, tx, CONFIG, deposits)
        except InvalidTransaction:
            assert state.encode() == before
            continue
        applied += 1
        event(f"applied {type(tx).__name__}")
        if isinstance(tx, Deposit):
            deposited += tx.amount
        if receipt.withdrawal is not None:
            withdrawn += receipt.withdrawal.amount
        assert state.get_total_balance() + withdrawn == deposited
    assert state.get_total_balance() + withdrawn == deposited
    assert sum(a.nonce for a in state.get_accounts()) <= applied


def _key(state, index):
    """Sign with the key that owns the account (so most transactions are validly signed)."""
    account = state.get_account(index)
    if account is None:
        return KEYS[0]
    return KEYS[PUBS.index(account.public_key)]


def _amount(state, index, spec):
    kind, value = spec
    if kind == "abs":
        return value
    account = state.get_account(index)
    return 0 if account is None else min(account.balance * value // 100, 2**64 - 1)
