"""The service in-process (SQLite in a temp dir, no HTTP): persistence, restart, batches,
the data-dir lock and the identity check."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import sqlalchemy

from l2.batch import BatchCommitment, compute_batch_blobs
from l2.derive import BatchInput, derive_state
from l2.stf import apply_batch
from l2.tx import Transaction
from sequencer.batcher import compute_test_versioned_hashes, is_batch_due
from sequencer.entries import TxEntry
from sequencer.errors import StartupError
from sequencer.mempool import Admission
from sequencer.service import Sequencer
from tests.sequencer.kit import open_sequencer, transfer, withdraw


def _submit_all(seq: Sequencer, txs: Sequence[Transaction]) -> list[TxEntry]:
    results = seq.submit(list(txs))
    assert all(isinstance(r, Admission) for r in results), results
    return [r.entry for r in results if isinstance(r, Admission)]


def test_is_batch_due() -> None:
    assert not is_batch_due(0, 100.0, 5, 1.0)
    assert is_batch_due(5, 0.0, 5, 1.0)
    assert is_batch_due(1, 1.0, 5, 1.0)
    assert not is_batch_due(1, 0.5, 5, 1.0)


def test_restart_restores_soft_state_and_queues(tmp_path: Path) -> None:
    seq = open_sequencer(tmp_path)
    config = seq.config
    entries = _submit_all(
        seq,
        [transfer(config, 1, 2, 100, n, fee=1) for n in range(3)]
        + [transfer(config, 2, 3, 5, 4)],  # queued behind a gap
    )
    root, soft = seq.executor.soft_root, seq.executor.next_soft_index
    seq.close()
    again = open_sequencer(tmp_path)
    assert again.executor.soft_root == root and again.executor.next_soft_index == soft
    assert [e.hash for e in again.mempool.get_queued(2)] == [entries[-1].hash]
    dup = again.submit([transfer(config, 1, 2, 100, 0, fee=1)])[0]
    assert isinstance(dup, Admission) and dup.duplicate and dup.entry.soft_index == 0
    again.close()


def test_sealed_batch_matches_derivation_and_survives_restart(tmp_path: Path) -> None:
    seq = open_sequencer(tmp_path, batch_max_txs=4)
    config = seq.config
    txs: list[Transaction] = [transfer(config, 1, 2, 100, n, fee=2) for n in range(5)]
    txs.append(withdraw(config, 3, config.preset.min_withdrawal_amount, 0, fee=1))
    entries = _submit_all(seq, txs)
    sealed = seq.seal_due_batch()
    assert sealed is not None and sealed.number == 0
    assert sealed.tx_hashes == tuple(e.hash for e in entries[:4])
    assert seq.seal_due_batch() is None  # 2 left, below the size, interval not reached
    assert seq.seal_due_batch(force=True) is not None
    # Derivation from the posted data alone reaches the same roots, without findings.
    batches = []
    with seq.store.read() as conn:
        records = seq.store.list_batches(conn, 0, 10)
    for record in [seq.load_sealed_batch(b) for b in records]:
        blobs = record.compute_blobs(config)
        assert list(record.commitment.blob_versioned_hashes) == compute_test_versioned_hashes(blobs)
        batches.append(BatchInput(record.commitment, tuple(blobs), ()))
    derived = derive_state(seq.genesis, batches, config)
    assert derived.get_findings() == ()
    assert derived.get_state() == seq.executor.state
    root = seq.executor.soft_root
    seq.close()
    again = open_sequencer(tmp_path, batch_max_txs=4)
    assert again.next_batch_number == 2 and again.executor.unbatched == []
    assert again.executor.soft_root == root
    heads = again.get_heads()
    assert heads["soft"].batch == 1 and heads["soft"].soft_index == 5
    assert heads["safe"].batch is None and heads["final"].batch is None  # NullPoster
    assert heads["safe"].state_root == again.genesis.get_root()
    again.close()


def test_batch_commitment_is_the_pure_one(tmp_path: Path) -> None:
    seq = open_sequencer(tmp_path, batch_max_txs=2)
    config = seq.config
    txs = [transfer(config, 4, 5, 7, n) for n in range(2)]
    _submit_all(seq, txs)
    sealed = seq.seal_due_batch()
    assert sealed is not None
    state = seq.genesis.copy()
    result = apply_batch(state, txs, config)
    assert sealed.commitment.new_root == result.post_root == state.get_root()
    assert sealed.commitment.prev_root == seq.genesis.get_root()
    assert sealed.commitment.tx_count == 2
    hashes = compute_test_versioned_hashes(compute_batch_blobs(txs))
    assert sealed.commitment.blob_versioned_hashes == tuple(hashes)
    assert BatchCommitment.deserialize(sealed.commitment.serialize()) == sealed.commitment
    seq.close()


def test_second_instance_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    seq = open_sequencer(tmp_path)
    with pytest.raises(StartupError, match="another sequencer"):
        open_sequencer(tmp_path)
    seq.close()
    open_sequencer(tmp_path).close()  # released on close


def test_data_dir_of_another_rollup_is_refused(tmp_path: Path) -> None:
    open_sequencer(tmp_path).close()
    with pytest.raises(StartupError, match="another rollup or genesis"):
        open_sequencer(tmp_path, chain_id=99)


def test_an_old_store_gains_the_batch_accounts_columns_on_open(tmp_path: Path) -> None:
    """A store written before SubmitBatch carried the accounts root: ``Store`` adds the two
    columns and fills them from each batch's post-state snapshot."""
    seq = open_sequencer(tmp_path)
    seq.submit([transfer(seq.config, 1, 2, 10, 0)])
    sealed = seq.seal_due_batch(force=True)
    assert sealed is not None
    url = seq.store.url
    seq.close()
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:  # the schema of the previous release
        conn.execute(sqlalchemy.text("ALTER TABLE batches DROP COLUMN accounts_root"))
        conn.execute(sqlalchemy.text("ALTER TABLE batches DROP COLUMN next_account_index"))
    engine.dispose()

    seq = open_sequencer(tmp_path)
    try:
        with seq.store.read() as conn:
            record = seq.store.get_batch(conn, 0)
        assert record is not None
        assert (record.accounts_root, record.next_account_index) == (
            sealed.new_accounts_root,
            sealed.new_next_account_index,
        )
        assert seq.load_sealed_batch(record).new_accounts_root == sealed.new_accounts_root
    finally:
        seq.close()
