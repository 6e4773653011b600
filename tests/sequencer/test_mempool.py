"""Mempool and executor without HTTP or a database: every rejection names its reason and leaves
the soft state, the queues and the persisted set unchanged."""

from __future__ import annotations

from dataclasses import replace

import pytest

from l2.config import RollupConfig
from l2.state import create_genesis_state
from l2.stf import apply_transaction
from l2.tx import Deposit, compute_tx_hash
from sequencer.config import load_genesis_accounts
from sequencer.entries import TxEntry
from sequencer.errors import Rejected
from sequencer.executor import SoftExecutor
from sequencer.mempool import Mempool, MempoolPolicy
from tests.sequencer.kit import BALANCE, high_s, settings, transfer, withdraw

CONFIG: RollupConfig = settings(__import__("pathlib").Path("/nonexistent")).rollup_config()
OTHER_CHAIN = replace(CONFIG, chain_id=CONFIG.chain_id + 1)


def make_pool(**policy: int) -> Mempool:
    genesis = create_genesis_state(CONFIG, load_genesis_accounts("devnet"))
    store: dict[bytes, TxEntry] = {}
    pool = Mempool(SoftExecutor(CONFIG, genesis), MempoolPolicy(**policy), store.get)
    pool.store = store  # type: ignore[attr-defined]
    return pool


def commit(pool: Mempool) -> list[TxEntry]:
    """What the service does after a submission: persist the touched entries."""
    touched = pool.take_touched()
    for entry in touched:
        pool.store[entry.hash] = entry  # type: ignore[attr-defined]
    return touched


def snapshot(pool: Mempool) -> tuple[bytes, int, list[int], int]:
    return (
        pool.executor.state.encode(),
        pool.pending_count,
        [e.nonce for e in pool.get_queued(1)],
        pool.executor.next_soft_index,
    )


def test_current_nonce_executes_at_once_with_a_soft_receipt() -> None:
    pool = make_pool()
    tx = transfer(CONFIG, 1, 2, 500, 0, fee=7)
    admission = pool.submit(tx, 0.0)
    assert not admission.duplicate
    entry = admission.entry
    assert entry.status == "soft" and entry.soft_index == 0
    assert entry.hash == compute_tx_hash(tx, CONFIG)
    assert '"fee": 7' in (entry.receipt or "")
    state = pool.executor.state
    assert state.get_account(1).balance == BALANCE - 507  # type: ignore[union-attr]
    assert state.get_account(2).balance == BALANCE + 500  # type: ignore[union-attr]
    assert state.get_account(0).balance == BALANCE + 7  # type: ignore[union-attr]
    assert entry.post_root == state.get_root()
    assert [e.hash for e in commit(pool)] == [entry.hash]


def test_gap_waits_then_executes_in_nonce_order() -> None:
    pool = make_pool()
    later = [pool.submit(transfer(CONFIG, 1, 2, 10, n), 0.0).entry for n in (2, 1)]
    assert [e.status for e in later] == ["pending", "pending"]
    assert pool.pending_count == 2 and pool.get_pending_nonce(1) == 3
    commit(pool)
    first = pool.submit(transfer(CONFIG, 1, 2, 10, 0), 0.0).entry
    touched = commit(pool)
    assert [e.nonce for e in touched] == [0, 1, 2]
    assert [e.soft_index for e in touched] == [0, 1, 2]
    assert first.status == "soft" and all(e.status == "soft" for e in later)
    assert pool.pending_count == 0
    assert pool.executor.state.get_account(1).nonce == 3  # type: ignore[union-attr]


def test_queued_tx_that_fails_at_its_turn_is_dropped_with_the_reason() -> None:
    pool = make_pool()
    pool.submit(transfer(CONFIG, 1, 2, BALANCE, 1), 0.0)  # affordable now, not after nonce 0
    commit(pool)
    pool.submit(transfer(CONFIG, 1, 2, 1, 0), 0.0)
    dropped = [e for e in commit(pool) if e.status == "dropped"]
    assert len(dropped) == 1 and dropped[0].nonce == 1
    assert dropped[0].error is not None and dropped[0].error.startswith("insufficient_balance")
    assert pool.pending_count == 0


def test_identical_resubmission_is_idempotent() -> None:
    pool = make_pool()
    tx = transfer(CONFIG, 1, 2, 10, 0)
    first = pool.submit(tx, 0.0).entry
    commit(pool)
    before = snapshot(pool)
    again = pool.submit(tx, 1.0)
    assert again.duplicate and again.entry.hash == first.hash and again.entry.soft_index == 0
    assert snapshot(pool) == before and pool.take_touched() == []


def _rejects(pool: Mempool, tx: object, code: str, text: str, status: int = 400) -> None:
    before = snapshot(pool)
    with pytest.raises(Rejected) as info:
        pool.submit(tx, 0.0)  # type: ignore[arg-type]
    assert info.value.code == code, info.value.message
    assert text in info.value.message
    assert info.value.status == status
    assert snapshot(pool) == before
    assert pool.take_touched() == []


def test_rejections_are_precise_and_change_nothing() -> None:
    pool = make_pool(max_nonce_gap=3, min_fee=1)
    ok = transfer(CONFIG, 1, 2, 10, 0, fee=1)
    pool.submit(ok, 0.0)
    commit(pool)
    _rejects(pool, transfer(CONFIG, 1, 2, 10, 1, fee=1, key=3), "invalid_signature", "account 1")
    _rejects(pool, replace(ok, signature=high_s(ok.signature)), "invalid_signature", "")
    _rejects(pool, transfer(OTHER_CHAIN, 1, 2, 10, 1, fee=1), "invalid_signature", "account 1")
    _rejects(pool, transfer(CONFIG, 1, 2, 11, 0, fee=1), "nonce_too_low", "nonce too low")
    _rejects(
        pool, transfer(CONFIG, 1, 2, 10, 5, fee=1), "nonce_too_far_ahead", "nonce too far ahead"
    )
    _rejects(pool, transfer(CONFIG, 1, 2, BALANCE, 1, fee=1), "insufficient_balance", "needs")
    _rejects(pool, transfer(CONFIG, 1, 2, 10, 1, fee=0), "fee_too_low", "minimum 1")
    _rejects(pool, transfer(CONFIG, 1, 99, 10, 1, fee=1), "unknown_account", "99")
    _rejects(pool, transfer(CONFIG, 1, 99, 10, 2, fee=1), "unknown_account", "recipient")
    _rejects(pool, transfer(CONFIG, 50, 2, 10, 0, fee=1, key=1), "unknown_account", "sender")
    _rejects(pool, withdraw(CONFIG, 1, 5, 1, fee=1), "amount_below_minimum", "minimum")
    _rejects(pool, withdraw(CONFIG, 1, 5, 2, fee=1), "amount_below_minimum", "minimum")
    _rejects(pool, Deposit(0, 1, 5, b"\x02" * 33), "deposit_not_accepted", "L1")
    _rejects(pool, replace(ok, signature=ok.signature[:63]), "non_canonical_transaction", "64")


def test_malleated_copy_of_a_known_tx_is_rejected_not_deduplicated() -> None:
    pool = make_pool()
    tx = transfer(CONFIG, 1, 2, 10, 0)
    pool.submit(tx, 0.0)
    commit(pool)
    _rejects(pool, replace(tx, signature=high_s(tx.signature)), "invalid_signature", "")


def test_replacement_needs_a_ten_percent_fee_bump_and_a_pending_original() -> None:
    pool = make_pool()
    old = pool.submit(transfer(CONFIG, 1, 2, 10, 1, fee=100), 0.0).entry
    commit(pool)
    _rejects(pool, transfer(CONFIG, 1, 2, 11, 1, fee=109), "replacement_underpriced", ">= 110", 409)
    new = pool.submit(transfer(CONFIG, 1, 2, 11, 1, fee=110), 0.0).entry
    touched = commit(pool)
    assert {e.hash for e in touched} == {old.hash, new.hash}
    assert old.status == "replaced" and old.replaced_by == new.hash
    assert pool.get_queued(1) == [new]
    # Once executed, a different payload for the nonce is simply "nonce too low".
    pool.submit(transfer(CONFIG, 1, 2, 1, 0), 0.0)
    commit(pool)
    assert new.status == "soft"
    _rejects(pool, transfer(CONFIG, 1, 2, 12, 1, fee=10_000), "nonce_too_low", "nonce too low")


def test_zero_fee_replacement_must_pay_something() -> None:
    pool = make_pool()
    pool.submit(transfer(CONFIG, 1, 2, 10, 1), 0.0)
    commit(pool)
    _rejects(pool, transfer(CONFIG, 1, 2, 11, 1), "replacement_underpriced", ">= 1", 409)


def test_per_account_limit() -> None:
    pool = make_pool(max_pending_per_account=2)
    for nonce in (1, 2):
        pool.submit(transfer(CONFIG, 1, 2, 10, nonce), 0.0)
    commit(pool)
    _rejects(pool, transfer(CONFIG, 1, 2, 10, 3), "account_queue_full", "limit 2", 429)


def test_global_limit_evicts_the_cheapest_tail_only_for_a_higher_fee() -> None:
    pool = make_pool(max_pending_total=2)
    cheap = pool.submit(transfer(CONFIG, 2, 3, 10, 1, fee=5), 0.0).entry
    pool.submit(transfer(CONFIG, 3, 2, 10, 1, fee=50), 0.0)
    commit(pool)
    _rejects(pool, transfer(CONFIG, 1, 2, 10, 1, fee=5), "mempool_full", "above 5", 429)
    rich = pool.submit(transfer(CONFIG, 1, 2, 10, 1, fee=6), 0.0).entry
    commit(pool)
    assert cheap.status == "evicted" and rich.status == "pending"
    assert pool.pending_count == 2 and pool.get_queued(2) == []


def test_executor_restore_replays_to_the_same_state() -> None:
    pool = make_pool()
    for nonce in range(3):
        pool.submit(transfer(CONFIG, 1, 2, 10 + nonce, nonce, fee=1), 0.0)
        pool.submit(withdraw(CONFIG, 2, CONFIG.preset.min_withdrawal_amount, nonce), 0.0)
    entries = sorted(commit(pool), key=lambda e: e.soft_index or 0)
    genesis = create_genesis_state(CONFIG, load_genesis_accounts("devnet"))
    fresh = SoftExecutor(CONFIG, genesis)
    fresh.restore(genesis, 0, entries)
    assert fresh.state == pool.executor.state
    assert fresh.next_soft_index == 6 and len(fresh.unbatched) == 6
    # A pure replay with the STF agrees too.
    replay = genesis.copy()
    for entry in entries:
        apply_transaction(replay, entry.tx, CONFIG)
    assert replay == pool.executor.state
