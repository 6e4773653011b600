"""Shared helpers for the L2 tests: a test rollup, keys, states and signed transactions."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from l1.ckb.hashing import ckbhash
from l2.config import RollupConfig
from l2.errors import L2Error
from l2.preset import SHANNONS_PER_CKB, TEST
from l2.profile import OPTIMISTIC
from l2.state import Account, L2State, create_genesis_state
from l2.stf import NO_DEPOSITS, apply_transaction
from l2.tx import L1Deposit, Transaction, Transfer, Withdraw, sign_transaction

CKB = SHANNONS_PER_CKB
CONFIG = RollupConfig(
    chain_id=7,
    rollup_id=ckbhash(b"rollcourt test rollup"),
    fee_account=0,
    preset=TEST,
    profile=OPTIMISTIC,
)
KEYS = tuple(ckbhash(b"rollcourt l2 test key %d" % i) for i in range(8))
PUBS = tuple(OPTIMISTIC.compute_public_key(k) for k in KEYS)
RECIPIENT = bytes(range(20))


def make_state(*balances: int, config: RollupConfig = CONFIG) -> L2State:
    """Account 0 is the sequencer's fee account (key 0, empty); accounts 1.. hold ``balances``
    with keys 1.., all at nonce 0."""
    accounts = [Account(PUBS[0], 0, 0)] + [
        Account(PUBS[i + 1], balance, 0) for i, balance in enumerate(balances)
    ]
    return create_genesis_state(config, accounts)


def _nonce(state: L2State, index: int, nonce: int | None) -> int:
    if nonce is not None:
        return nonce
    account = state.get_account(index)
    return 0 if account is None else account.nonce


def transfer(
    state: L2State,
    frm: int,
    to: int,
    amount: int,
    fee: int = 0,
    *,
    nonce: int | None = None,
    key: bytes | None = None,
    config: RollupConfig = CONFIG,
) -> Transfer:
    tx = Transfer(frm, to, amount, fee, _nonce(state, frm, nonce))
    return sign_transaction(tx, KEYS[frm] if key is None else key, config)


def withdraw(
    state: L2State,
    frm: int,
    amount: int,
    fee: int = 0,
    *,
    nonce: int | None = None,
    recipient: bytes = RECIPIENT,
    key: bytes | None = None,
    config: RollupConfig = CONFIG,
) -> Withdraw:
    tx = Withdraw(frm, amount, fee, _nonce(state, frm, nonce), recipient)
    return sign_transaction(tx, KEYS[frm] if key is None else key, config)


def l1_deposit(index: int, key: int, amount: int) -> L1Deposit:
    out_point = ckbhash(b"deposit cell %d" % index) + index.to_bytes(4, "little")
    return L1Deposit(out_point, index, PUBS[key], amount)


def assert_rejected(
    state: L2State,
    tx: Transaction,
    error: type[L2Error],
    fragment: str,
    *,
    deposits: Mapping[int, L1Deposit] = NO_DEPOSITS,
    config: RollupConfig = CONFIG,
) -> None:
    """The STF raises exactly ``error`` mentioning ``fragment`` and leaves ``state`` untouched."""
    before = state.encode()
    root = state.get_root()
    with pytest.raises(error, match=fragment) as info:
        apply_transaction(state, tx, config, deposits)
    assert type(info.value) is error
    assert state.encode() == before
    assert state.get_root() == root


def balances(state: L2State) -> list[int]:
    return [a.balance for a in state.get_accounts()]


def nonces(state: L2State) -> list[int]:
    return [a.nonce for a in state.get_accounts()]
