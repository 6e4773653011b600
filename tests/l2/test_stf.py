"""The STF: every invalid case raises its specific error and leaves the state byte-identical
(DESIGN.md §3, §8.4; catalogue B.3.3, B.3.4)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from l2.config import RollupConfig
from l2.errors import (
    AccountExists,
    AmountBelowMinimum,
    AmountOverflow,
    BatchTooLarge,
    ConfigMismatch,
    DepositMismatch,
    DepositOutOfOrder,
    InsufficientBalance,
    InvalidPublicKey,
    InvalidRecord,
    InvalidSignature,
    NonCanonicalTransaction,
    NonceMismatch,
    NonceOverflow,
    TreeFull,
    UnknownAccount,
    UnknownDeposit,
)
from l2.preset import TEST, L2Preset
from l2.profile import SECP256K1_N
from l2.state import U32_MAX, U64_MAX, Account, create_genesis_state
from l2.stf import (
    apply_batch,
    apply_record,
    apply_transaction,
    compute_deposit_queue,
    validate_transaction,
)
from l2.tx import Deposit, Transfer, TxKind, Withdrawal, compute_tx_hash, encode_record
from tests.l2.kit import (
    CKB,
    CONFIG,
    KEYS,
    PUBS,
    RECIPIENT,
    assert_rejected,
    balances,
    l1_deposit,
    make_state,
    nonces,
    transfer,
    withdraw,
)

FEE = 1_000


# ----------------------------------------------------------------------------- transfers: valid
def test_transfer_moves_amount_pays_fee_and_bumps_nonce():
    state = make_state(100 * CKB, 5 * CKB)
    tx = transfer(state, 1, 2, 30 * CKB, FEE)
    receipt = apply_transaction(state, tx, CONFIG)
    assert balances(state) == [FEE, 70 * CKB - FEE, 35 * CKB]
    assert nonces(state) == [0, 1, 0]
    assert receipt.kind is TxKind.TRANSFER and receipt.fee == FEE and receipt.withdrawal is None
    assert receipt.tx_hash == compute_tx_hash(tx, CONFIG)


def test_self_transfer_pays_the_fee_and_advances_the_nonce():
    state = make_state(100 * CKB)
    apply_transaction(state, transfer(state, 1, 1, 60 * CKB, FEE), CONFIG)
    assert balances(state) == [FEE, 100 * CKB - FEE]
    assert nonces(state) == [0, 1]


def test_self_transfer_still_needs_amount_plus_fee():
    state = make_state(100)
    assert_rejected(state, transfer(state, 1, 1, 100, 1), InsufficientBalance, "needs 101")


def test_zero_amount_and_zero_fee_transfers_are_valid():
    state = make_state(10)
    apply_transaction(state, transfer(state, 1, 1, 0, 0), CONFIG)
    apply_transaction(state, transfer(state, 1, 0, 0, 0), CONFIG)
    assert balances(state) == [0, 10]
    assert nonces(state) == [0, 2]


def test_transfer_from_and_to_the_fee_account():
    state = make_state(100)
    apply_transaction(state, transfer(state, 1, 0, 40, 10), CONFIG)
    assert balances(state) == [50, 50]
    apply_transaction(state, transfer(state, 0, 1, 20, 5), CONFIG)
    assert balances(state) == [30, 70]
    assert nonces(state) == [1, 1]


def test_spending_the_exact_balance():
    state = make_state(100)
    apply_transaction(state, transfer(state, 1, 0, 90, 10), CONFIG)
    assert balances(state) == [100, 0]


# ----------------------------------------------------------------------------- transfers: invalid
def test_unknown_sender_and_recipient():
    state = make_state(100)
    assert_rejected(
        state, transfer(state, 5, 1, 1, key=KEYS[5]), UnknownAccount, "sender account 5"
    )
    assert_rejected(state, transfer(state, 1, 2, 1), UnknownAccount, "recipient account 2")


def test_signature_by_another_key():
    state = make_state(100, 100)
    tx = transfer(state, 1, 2, 10, key=KEYS[2])
    assert_rejected(state, tx, InvalidSignature, "account 1: signature is not by the account's key")


def test_tampered_field_breaks_the_signature():
    state = make_state(100, 100)
    tx = transfer(state, 1, 2, 10)
    for tampered in (replace(tx, amount=11), replace(tx, to_index=0), replace(tx, fee=1)):
        assert_rejected(state, tampered, InvalidSignature, "not by the account's key")


def test_high_s_signature_is_rejected_by_the_stf():
    """S1 at the STF: the malleable twin of a valid signature."""
    state = make_state(100, 100)
    tx = transfer(state, 1, 2, 10)
    r, s = tx.signature[:32], int.from_bytes(tx.signature[32:], "big")
    twin = replace(tx, signature=r + (SECP256K1_N - s).to_bytes(32, "big"))
    assert_rejected(state, twin, InvalidSignature, "high s")


@pytest.mark.parametrize(
    ("signature", "fragment"),
    [
        (bytes(64), r"\[1, n\)"),
        (SECP256K1_N.to_bytes(32, "big") + (1).to_bytes(32, "big"), r"\[1, n\)"),
        ((1).to_bytes(32, "big") + SECP256K1_N.to_bytes(32, "big"), r"\[1, n\)"),
        (b"\xff" * 64, r"\[1, n\)"),
    ],
    ids=["zero", "r=n", "s=n", "all-ff"],
)
def test_malformed_signatures_are_rejected_by_the_stf(signature, fragment):
    state = make_state(100, 100)
    tx = replace(transfer(state, 1, 2, 10), signature=signature)
    assert_rejected(state, tx, InvalidSignature, fragment)


def test_cross_chain_and_cross_rollup_replay_fails():
    """S3: a transaction signed for another chain id or rollup id never verifies here."""
    state = make_state(100, 100)
    for other in (replace(CONFIG, chain_id=8), replace(CONFIG, rollup_id=b"\x01" * 32)):
        tx = transfer(state, 1, 2, 10, 0, config=other)
        assert_rejected(state, tx, InvalidSignature, "not by the account's key")
        # and the other rollup does accept it: the signature itself is fine
        replica = make_state(100, 100, config=other)
        apply_transaction(replica, tx, other)


def test_withdraw_signature_cannot_be_replayed_as_a_transfer():
    """S6: same numbers, other kind -> other message."""
    state = make_state(100 * CKB, 100 * CKB)
    w = withdraw(state, 1, 61 * CKB, 4, recipient=bytes(20))
    t = Transfer(1, 0, w.amount, w.fee, w.nonce, w.signature)
    assert_rejected(state, t, InvalidSignature, "not by the account's key")


def test_nonce_too_low_and_too_high():
    state = make_state(100, 100)
    apply_transaction(state, transfer(state, 1, 2, 10, 0), CONFIG)
    assert_rejected(state, transfer(state, 1, 2, 10, 0, nonce=0), NonceMismatch, "nonce too low")
    assert_rejected(state, transfer(state, 1, 2, 10, 0, nonce=2), NonceMismatch, "nonce too high")


def test_replaying_an_applied_transaction_fails():
    """S4: the identical transaction a second time is "nonce too low"."""
    state = make_state(100, 100)
    tx = transfer(state, 1, 2, 10, 0)
    apply_transaction(state, tx, CONFIG)
    assert_rejected(state, tx, NonceMismatch, "nonce too low")


def test_nonce_overflow():
    """T6: an account at nonce 2**32 - 1 can send nothing more (the next nonce is unencodable)."""
    config = CONFIG
    state = create_genesis_state(
        config, [Account(PUBS[0], 0, 0), Account(PUBS[1], 100, U32_MAX), Account(PUBS[2], 0, 0)]
    )
    tx = transfer(state, 1, 2, 1, 0)
    assert tx.nonce == U32_MAX
    assert_rejected(state, tx, NonceOverflow, "every u32 nonce")


def test_amount_plus_fee_overflow():
    state = make_state(U64_MAX, 0)
    tx = transfer(state, 1, 2, U64_MAX, 1)
    assert_rejected(state, tx, AmountOverflow, "overflows u64")


def test_insufficient_balance():
    state = make_state(100, 0)
    assert_rejected(state, transfer(state, 1, 2, 100, 1), InsufficientBalance, "has 100, needs 101")
    assert_rejected(state, transfer(state, 2, 1, 1, 0), InsufficientBalance, "has 0, needs 1")


def test_recipient_balance_overflow():
    state = make_state(100, U64_MAX - 5)
    assert_rejected(state, transfer(state, 1, 2, 6, 0), AmountOverflow, "recipient account 2")
    apply_transaction(state, transfer(state, 1, 2, 5, 0), CONFIG)
    assert balances(state)[2] == U64_MAX


def test_fee_account_balance_overflow():
    state = create_genesis_state(
        CONFIG, [Account(PUBS[0], U64_MAX, 0), Account(PUBS[1], 100, 0), Account(PUBS[2], 0, 0)]
    )
    assert_rejected(state, transfer(state, 1, 2, 1, 1), AmountOverflow, "fee account 0")


def test_missing_fee_account():
    config = replace(CONFIG, fee_account=9)
    state = make_state(100, 100, config=config)
    tx = transfer(state, 1, 2, 1, 1, config=config)
    assert_rejected(state, tx, UnknownAccount, "sequencer fee account 9", config=config)
    # a zero fee does not need the fee account
    apply_transaction(state, transfer(state, 1, 2, 1, 0, config=config), config)


def test_state_for_another_depth_is_refused():
    other = RollupConfig(7, CONFIG.rollup_id, 0, replace(TEST, tree_depth=8), CONFIG.profile)
    state = make_state(100, config=other)
    assert_rejected(state, transfer(state, 1, 0, 1), ConfigMismatch, "tree depth")


# ----------------------------------------------------------------------------- withdrawals
def test_withdraw_debits_and_produces_a_withdrawal():
    state = make_state(100 * CKB)
    tx = withdraw(state, 1, 61 * CKB, FEE)
    receipt = apply_transaction(state, tx, CONFIG)
    assert balances(state) == [FEE, 39 * CKB - FEE]
    assert nonces(state) == [0, 1]
    assert receipt.withdrawal == Withdrawal(1, 0, RECIPIENT, 61 * CKB)


def test_withdraw_invalid_cases():
    state = make_state(100 * CKB)
    assert_rejected(
        state, withdraw(state, 1, 61 * CKB - 1), AmountBelowMinimum, "below the minimum"
    )
    assert_rejected(state, withdraw(state, 1, 100 * CKB, 1), InsufficientBalance, "needs")
    assert_rejected(state, withdraw(state, 1, 61 * CKB, nonce=1), NonceMismatch, "nonce too high")
    assert_rejected(state, withdraw(state, 3, 61 * CKB, key=KEYS[3]), UnknownAccount, "sender")
    assert_rejected(state, withdraw(state, 1, U64_MAX, 1), AmountOverflow, "overflows u64")
    tx = withdraw(state, 1, 61 * CKB)
    assert_rejected(state, replace(tx, l1_recipient=b"\x09" * 20), InvalidSignature, "account 1")


# ----------------------------------------------------------------------------- deposits
def test_deposit_creates_the_next_account():
    state = make_state()
    queue = compute_deposit_queue([l1_deposit(0, 3, 70 * CKB)])
    receipt = apply_transaction(state, Deposit(0, 1, 70 * CKB, PUBS[3]), CONFIG, queue)
    assert receipt.created_account == 1 and receipt.kind is TxKind.DEPOSIT and receipt.fee == 0
    assert state.get_account(1) == Account(PUBS[3], 70 * CKB, 0)
    assert state.next_account_index == 2 and state.next_deposit_index == 1


def test_deposit_tops_up_an_account_with_the_same_key():
    state = make_state(5)
    queue = compute_deposit_queue([l1_deposit(0, 1, 10)])
    receipt = apply_transaction(state, Deposit(0, 1, 10, PUBS[1]), CONFIG, queue)
    assert receipt.created_account is None
    assert balances(state) == [0, 15]
    assert state.next_deposit_index == 1 and state.next_account_index == 2


def test_zero_deposit_registers_an_account():
    state = make_state()
    queue = compute_deposit_queue([l1_deposit(0, 2, 0)])
    apply_transaction(state, Deposit(0, 1, 0, PUBS[2]), CONFIG, queue)
    assert state.get_account(1) == Account(PUBS[2], 0, 0)


def test_deposit_invalid_cases():
    state = make_state(5)  # accounts 0 and 1, next free 2
    queue = compute_deposit_queue([l1_deposit(0, 2, 10), l1_deposit(1, 2, 10)])
    cases = [
        (Deposit(1, 2, 10, PUBS[2]), DepositOutOfOrder, "next deposit to consume is 0"),
        (Deposit(0, 2, 11, PUBS[2]), DepositMismatch, "is 10, the record says 11"),
        (Deposit(0, 2, 10, PUBS[3]), DepositMismatch, "another public key"),
        (Deposit(0, 1, 10, PUBS[2]), AccountExists, "account 1 exists with a different public key"),
        (Deposit(0, 3, 10, PUBS[2]), UnknownAccount, "next free index is 2"),
    ]
    for tx, error, fragment in cases:
        assert_rejected(state, tx, error, fragment, deposits=queue)
    assert_rejected(state, Deposit(0, 2, 10, PUBS[2]), UnknownDeposit, "no deposit 0")


def test_deposit_is_consumed_once():
    """B1: the same L1 deposit a second time is out of order."""
    state = make_state()
    queue = compute_deposit_queue([l1_deposit(0, 2, 10)])
    tx = Deposit(0, 1, 10, PUBS[2])
    apply_transaction(state, tx, CONFIG, queue)
    assert_rejected(state, tx, DepositOutOfOrder, "next deposit to consume is 1", deposits=queue)


def test_deposit_with_a_malformed_key():
    state = make_state()
    bad = b"\x02" + b"\xff" * 32
    l1 = replace(l1_deposit(0, 1, 10), public_key=bad)
    tx = Deposit(0, 1, 10, bad)
    assert_rejected(state, tx, InvalidPublicKey, "not a point", deposits={0: l1})
    uncompressed_prefix = b"\x04" + PUBS[1][1:]
    tx = Deposit(0, 1, 10, uncompressed_prefix)
    l1 = replace(l1, public_key=uncompressed_prefix)
    assert_rejected(state, tx, InvalidPublicKey, "prefix", deposits={0: l1})


@pytest.mark.parametrize("size", [0, 32, 63])
def test_short_signatures_are_non_canonical(size):
    """A signature shorter than the profile's would be zero-padded by the record, i.e. posted as
    a different transaction: the object is refused before anything else."""
    state = make_state(100, 100)
    tx = replace(transfer(state, 1, 2, 10), signature=bytes(size))
    assert_rejected(state, tx, NonCanonicalTransaction, f"64 bytes, got {size}")


def test_short_deposit_key_is_non_canonical():
    state = make_state()
    tx = Deposit(0, 1, 10, PUBS[1][:32])
    deposits = {0: replace(l1_deposit(0, 1, 10), public_key=PUBS[1][:32])}
    assert_rejected(state, tx, NonCanonicalTransaction, "33 bytes, got 32", deposits=deposits)


def test_a_batch_means_its_records():
    """The sequencer's trace equals the deriver's even for a non-canonical object: a valid
    signature ending in 0x00, trimmed to 63 bytes, is refused alone but posted (and applied) as
    its padded record."""
    state = make_state(100 * CKB, 0)
    amount = next(a for a in range(1, 10_000) if transfer(state, 1, 2, a).signature[-1] == 0)
    tx = transfer(state, 1, 2, amount)
    trimmed = replace(tx, signature=tx.signature[:63])
    assert_rejected(state, trimmed, NonCanonicalTransaction, "got 63")
    by_object = apply_batch(state.copy(), [trimmed], CONFIG)
    by_record = apply_batch(state.copy(), [encode_record(trimmed)], CONFIG)
    assert by_object == by_record
    assert not by_object.rejections and by_object.post_root != by_object.pre_root


def test_deposit_overflowing_the_balance():
    state = make_state(U64_MAX)
    queue = {0: l1_deposit(0, 1, 1)}
    assert_rejected(
        state, Deposit(0, 1, 1, PUBS[1]), AmountOverflow, "deposit account 1", deposits=queue
    )


def test_tree_full():
    tiny = L2Preset("tiny", 1, 4, 1, 61 * CKB)
    config = replace(CONFIG, preset=tiny)
    state = make_state(5, config=config)  # both leaves taken
    queue = {0: l1_deposit(0, 2, 1)}
    assert_rejected(
        state,
        Deposit(0, 2, 1, PUBS[2]),
        TreeFull,
        "all 2 account indices",
        deposits=queue,
        config=config,
    )


def test_conflicting_l1_queue_entries_are_refused():
    with pytest.raises(DepositMismatch, match="two different L1 deposits claim index 0"):
        compute_deposit_queue([l1_deposit(0, 1, 1), l1_deposit(0, 1, 2)])


def test_validate_transaction_never_mutates():
    state = make_state(100, 0)
    before = state.encode()
    validate_transaction(state, transfer(state, 1, 2, 10), CONFIG)
    assert state.encode() == before
    with pytest.raises(InsufficientBalance):
        validate_transaction(state, transfer(state, 1, 2, 101), CONFIG)


# ----------------------------------------------------------------------------- batches
def test_apply_batch_records_a_root_per_transaction_and_no_ops_invalid_ones():
    state = make_state(100 * CKB, 0)
    pre = state.get_root()
    good1 = transfer(state, 1, 2, 10 * CKB, FEE)
    replay = good1  # nonce too low once good1 is applied
    good2 = transfer(state, 1, 2, 10 * CKB, FEE, nonce=1)
    bad_sig = replace(transfer(state, 1, 2, 1, 0, nonce=2), amount=2)
    good_w = withdraw(state, 1, 61 * CKB, FEE, nonce=2)
    garbage = b"\x09" + bytes(123)
    txs = [good1, replay, good2, bad_sig, garbage, good_w]
    result = apply_batch(state, txs, CONFIG)
    assert result.pre_root == pre and result.tx_count == 6
    assert [r.index for r in result.rejections] == [1, 3, 4]
    assert [r.error for r in result.rejections] == [NonceMismatch, InvalidSignature, InvalidRecord]
    assert "nonce too low" in result.rejections[0].message
    roots = result.roots
    assert roots[1] == roots[0] and roots[3] == roots[2] and roots[4] == roots[3]
    assert len({pre, roots[0], roots[2], roots[5]}) == 4
    assert result.post_root == state.get_root() == roots[-1]
    assert [r is None for r in result.receipts] == [False, True, False, True, True, False]
    assert result.withdrawals == (Withdrawal(1, 2, RECIPIENT, 61 * CKB),)
    assert (result.deposit_start, result.deposit_end) == (0, 0)


def test_apply_batch_trace_matches_one_by_one_application():
    state = make_state(100 * CKB, 0)
    replica = state.copy()
    txs = [transfer(state, 1, 2, 1 * CKB, FEE, nonce=n) for n in range(5)]
    result = apply_batch(state, [encode_record(tx) for tx in txs], CONFIG)
    for tx, root in zip(txs, result.roots, strict=True):
        apply_record(replica, encode_record(tx), CONFIG)
        assert replica.get_root() == root
    assert not result.rejections


def test_batch_too_large_changes_nothing():
    state = make_state(100 * CKB, 0)
    before = state.encode()
    txs = [transfer(state, 1, 2, 1, 0, nonce=n) for n in range(TEST.max_txs_per_batch + 1)]
    with pytest.raises(BatchTooLarge, match="65 transactions"):
        apply_batch(state, txs, CONFIG)
    assert state.encode() == before


def test_deposits_in_a_batch():
    state = make_state()
    queue = compute_deposit_queue([l1_deposit(i, 2 + i % 2, 10 + i) for i in range(3)])
    txs = [Deposit(0, 1, 10, PUBS[2]), Deposit(1, 2, 11, PUBS[3]), Deposit(2, 1, 12, PUBS[2])]
    result = apply_batch(state, txs, CONFIG, queue)
    assert not result.rejections
    assert (result.deposit_start, result.deposit_end) == (0, 3)
    assert balances(state) == [0, 22, 11]
