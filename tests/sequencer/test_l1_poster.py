"""The L1 poster, the deposit watcher and deposit crediting in-process, against a fake L1:
status from confirmations (posted/safe), automatic FinalizeBatch once the window passed with no
open game (then final), reorg -> sealed -> posted again, an L1 revert -> re-sequenced and
re-posted, R2 reconciliation
(same batch found, a different one refused, an intent in the pool not resent), R6 backoff and
``degraded``, B1 (a deposit credited once, across restarts), forced deposits first, and the
recovery from sealed batches the L1 refuses (discarded, re-sequenced deposits first, re-sealed;
a transaction that no longer applies is dropped with the reason)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from l1.ckb.types import CellOutput, OutPoint, Script
from l1.core.scripts.rollup.layout import DepositArgs, compute_deposit_hash
from l1.devnet_keys import DEVNET_KEYS, derive_devnet_key
from l2.batch import BatchCommitment
from l2.client.bridge import DepositCell, DepositSeen
from l2.errors import InsufficientBalance
from l2.tx import L1Deposit, Transaction, compute_tx_hash
from sequencer.batcher import Batcher, SealedBatch, compute_test_versioned_hashes
from sequencer.config import SequencerConfig, parse_private_key
from sequencer.entries import BatchStatus
from sequencer.l1watch import DepositWatcher
from sequencer.poster import L1Poster, RollupInfo, finalize_meta_key, withdrawal_out_point
from sequencer.service import Sequencer
from tests.sequencer.kit import open_sequencer, settings, transfer
from tests.support.procs import wait_until

ROLLUP_ID = bytes(range(32))
NEW_KEY = derive_devnet_key(200)


# ----------------------------------------------------------------------------- fakes
@dataclass
class FakeClient:
    tip: int = 100
    txs: dict[bytes, tuple[str, int | None]] = field(default_factory=dict)
    down: bool = False

    def _check(self) -> None:
        if self.down:
            raise httpx.ConnectError("connection refused")

    def get_tip_block_number(self) -> int:
        self._check()
        return self.tip

    def get_tip_header(self) -> Any:
        self._check()
        return self.tip

    def call(self, method: str, *params: Any) -> Any:
        self._check()
        assert method == "get_transaction"
        status, block = self.txs.get(bytes.fromhex(params[0][2:]), ("unknown", None))
        return {
            "tx_status": {"status": status, "block_number": None if block is None else hex(block)}
        }


@dataclass
class FakeL1:
    """What ``L1Poster`` uses of ``RollupL1``."""

    client: FakeClient = field(default_factory=FakeClient)
    next_batch: int = 0
    next_final: int = 0
    next_deposit: int = 0
    pending_forced: tuple[bytes, ...] = ()
    state_root: bytes = bytes(32)
    on_l1: list[Any] = field(default_factory=list)
    sent: list[Any] = field(default_factory=list)
    live: set[OutPoint] = field(default_factory=set)
    #: Live batch cells by batch number.
    cells: dict[int, Any] = field(default_factory=dict)

    def find_rollup_cell(self, rollup_id: bytes) -> Any:
        self.client._check()
        state = SimpleNamespace(
            next_batch_number=self.next_batch,
            next_final_batch=self.next_final,
            next_deposit_index=self.next_deposit,
            pending_forced=self.pending_forced,
            state_root=self.state_root,
            challenge_window=4,
        )
        return SimpleNamespace(state=state)

    def find_batch_cell(self, rollup_id: bytes, number: int) -> Any:
        self.client._check()
        return self.cells.get(number)

    def commit(self, tx_hash: bytes, block: int, commitment: BatchCommitment) -> None:
        """The SubmitBatch ``tx_hash`` of ``commitment`` lands in ``block``."""
        self.client.txs[tx_hash] = ("committed", block)
        self.next_batch = commitment.batch_number + 1
        self.state_root = commitment.new_root
        self.cells[commitment.batch_number] = SimpleNamespace(
            commitment=commitment, batch=SimpleNamespace(open_games=0), block_number=block
        )

    def build_finalize_batch(self, rollup_id: bytes, key: bytes, withdrawals: Any, **k: Any) -> Any:
        return ("finalize", k["batch"].commitment.batch_number, len(self.sent), tuple(withdrawals))

    def scan(self, rollup_id: bytes, from_block: int = 0) -> Any:
        return SimpleNamespace(batches=tuple(self.on_l1))

    def get_tx_status(self, tx_hash: bytes) -> str:
        return str(self.client.call("get_transaction", "0x" + tx_hash.hex())["tx_status"]["status"])

    def compute_sidecars(self, blobs: list[bytes]) -> list[Any]:
        return [SimpleNamespace(versioned_hash=h) for h in compute_test_versioned_hashes(blobs)]

    def build_submit_batch(
        self, rollup_id: bytes, key: bytes, commitment: Any, *a: Any, **k: Any
    ) -> Any:
        return ("tx", commitment.batch_number, len(self.sent), a)

    def send(self, tx: Any, sidecars: Any = ()) -> bytes:
        self.client._check()
        self.sent.append(tx)
        self.client.txs[_fake_tx_hash(tx)] = ("pending", None)
        return _fake_tx_hash(tx)

    def get_live_cell(self, out_point: OutPoint) -> Any:
        return object() if out_point in self.live else None


class FakeAccess:
    def __init__(self, l1: FakeL1) -> None:
        self.l1 = l1
        self.info = RollupInfo(ROLLUP_ID, None, None, 0)

    def get(self) -> Any:
        return self.l1

    def close(self) -> None:
        pass


def _fake_tx_hash(tx: Any) -> bytes:
    return bytes([tx[1], tx[2]]) + bytes(30)


@pytest.fixture(autouse=True)
def _hash_fake_txs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sequencer.poster.compute_tx_hash", _fake_tx_hash)
    monkeypatch.setattr("sequencer.poster.compute_header_hash", lambda tip: bytes([7]) * 32)


def _poster(seq: Sequencer, l1: FakeL1, safe: int = 1) -> L1Poster:
    poster = L1Poster(
        FakeAccess(l1),  # type: ignore[arg-type]
        seq.store,
        seq.config,
        DEVNET_KEYS[7].private_key,
        safe_confirmations=safe,
    )
    if l1.state_root == bytes(32):
        l1.state_root = seq.genesis.get_root()
    seq.poster = poster
    return poster


def _sealed(seq: Sequencer) -> SealedBatch:
    txs = [transfer(seq.config, 1, 2, 10, 0)]
    seq.submit(list(txs))
    sealed = seq.seal_due_batch(force=True)
    assert sealed is not None
    return sealed


def _status(seq: Sequencer, number: int) -> tuple[BatchStatus, bytes | None]:
    with seq.store.read() as conn:
        record = seq.store.get_batch(conn, number)
    assert record is not None
    return record.status, record.l1_tx_hash


# ----------------------------------------------------------------------------- poster
def test_status_follows_confirmations_finalization_and_a_reorg_reposts(tmp_path: Path) -> None:
    seq = open_sequencer(tmp_path)
    l1 = FakeL1()
    _poster(seq, l1, safe=2)
    sealed = _sealed(seq)
    seq.advance_batches()
    status, tx_hash = _status(seq, 0)
    assert status == "posted" and tx_hash is not None and len(l1.sent) == 1
    # SubmitBatch carries the sealed post-state's accounts root and next account index.
    accounts_root, next_account = l1.sent[0][3][0], l1.sent[0][3][1]
    assert (accounts_root, next_account) == (
        seq.executor.state.get_accounts_root(),
        seq.executor.state.next_account_index,
    )
    assert (sealed.new_accounts_root, sealed.new_next_account_index) == (
        accounts_root,
        next_account,
    )
    seq.advance_batches()  # still in the pool: nothing is sent again
    assert len(l1.sent) == 1

    l1.commit(tx_hash, 100, sealed.commitment)
    seq.advance_batches()
    assert _status(seq, 0) == ("posted", tx_hash)
    l1.client.tip = 102
    seq.advance_batches()
    assert _status(seq, 0) == ("safe", tx_hash)
    assert seq.get_heads()["safe"].batch == 0 and seq.get_heads()["final"].batch is None

    # An L1 reorg drops the transaction: back to sealed, then posted again (a new tx).
    del l1.client.txs[tx_hash]
    l1.next_batch, l1.state_root = 0, sealed.commitment.prev_root
    del l1.cells[0]
    seq.advance_batches()
    assert _status(seq, 0) == ("sealed", None)
    seq.advance_batches()
    status, reposted = _status(seq, 0)
    assert status == "posted" and reposted not in (None, tx_hash) and len(l1.sent) == 2
    assert reposted is not None
    l1.commit(reposted, 103, sealed.commitment)

    # The window (4 blocks) passed but a game is open: no FinalizeBatch, still safe.
    l1.client.tip = 107
    l1.cells[0].batch.open_games = 1
    seq.advance_batches()
    assert _status(seq, 0) == ("safe", reposted) and len(l1.sent) == 2
    # The game settled (the proposer won; the batch cell re-created at block 106): its window
    # restarts from there.
    l1.cells[0].batch.open_games = 0
    l1.cells[0].block_number = 106
    seq.advance_batches()
    assert len(l1.sent) == 2
    l1.client.tip = 110
    seq.advance_batches()
    assert len(l1.sent) == 3 and l1.sent[2][:2] == ("finalize", 0)
    assert l1.sent[2][3] == ()  # batch 0 has no withdrawal
    finalize = _fake_tx_hash(l1.sent[2])
    assert _status(seq, 0) == ("safe", reposted)  # final only once FinalizeBatch commits
    assert seq.get_heads()["final"].batch is None
    seq.advance_batches()  # in the pool: not sent again
    assert len(l1.sent) == 3
    l1.client.txs[finalize] = ("committed", 111)
    l1.next_final = 1
    del l1.cells[0]
    seq.advance_batches()
    assert _status(seq, 0) == ("final", reposted)
    assert seq.get_heads()["final"].batch == 0
    with seq.store.read() as conn:
        assert seq.store.get_meta(conn, finalize_meta_key(0)) == finalize.hex()
    seq.close()


def test_an_l1_revert_resequences_and_reposts(tmp_path: Path) -> None:
    seq = open_sequencer(tmp_path)
    l1 = FakeL1()
    _poster(seq, l1, safe=1)
    first = _sealed(seq)
    seq.advance_batches()
    tx0 = _status(seq, 0)[1]
    assert tx0 is not None
    l1.commit(tx0, 100, first.commitment)
    seq.submit([transfer(seq.config, 1, 2, 10, 1)])
    second = seq.seal_due_batch(force=True)
    assert second is not None
    seq.advance_batches()
    tx1 = _status(seq, 1)[1]
    assert tx1 is not None and len(l1.sent) == 2
    l1.commit(tx1, 101, second.commitment)
    l1.client.tip = 102
    seq.advance_batches()
    assert _status(seq, 1) == ("safe", tx1)

    # A challenger won a game on batch 1: the L1 reverts it (the rollup cell is back at batch
    # 1 with batch 0's root). The sequencer re-sequences from batch 0 and re-seals batch 1.
    l1.next_batch = 1
    l1.state_root = first.commitment.new_root
    del l1.cells[1]
    seq.advance_batches()
    with seq.store.read() as conn:
        record = seq.store.get_batch(conn, 1)
        kept = seq.store.get_tx(conn, second.tx_hashes[0])
    assert record is not None and record.status == "sealed" and record.l1_tx_hash is None
    assert kept is not None and (kept.status, kept.batch_number) == ("soft", 1)
    assert record.prev_root == first.commitment.new_root
    assert _status(seq, 0) == ("safe", tx0)  # the valid batch is untouched
    seq.advance_batches()
    status, reposted = _status(seq, 1)
    assert status == "posted" and reposted not in (None, tx1) and len(l1.sent) == 3
    seq.close()


def test_a_batch_replaced_on_l1_is_reverted(tmp_path: Path) -> None:
    seq = open_sequencer(tmp_path)
    l1 = FakeL1()
    poster = _poster(seq, l1, safe=1)
    sealed = _sealed(seq)
    seq.advance_batches()
    tx_hash = _status(seq, 0)[1]
    assert tx_hash is not None
    l1.commit(tx_hash, 100, sealed.commitment)
    posted = replace(sealed, status="posted", l1_tx_hash=tx_hash)
    assert poster.status(posted) == "posted"
    # The batch cell of number 0 now holds another commitment: ours was reverted and replaced.
    l1.cells[0].commitment = replace(sealed.commitment, new_root=bytes(32))
    assert poster.status(posted) == "reverted"
    refusal = poster.revert_refusal()
    assert (refusal.number, refusal.state_root) == (1, sealed.commitment.new_root)
    seq.close()


def test_restart_reconciles_with_the_l1_never_a_second_batch(tmp_path: Path) -> None:
    seq = open_sequencer(tmp_path)
    l1 = FakeL1()
    poster = _poster(seq, l1)
    sealed = _sealed(seq)
    # As after a crash at after_l1_submit with the tx committed: the store says sealed, the
    # rollup cell is past batch 0, and the scan shows our commitment.
    l1.next_batch = 1
    theirs = bytes([9]) * 32
    l1.on_l1 = [SimpleNamespace(tx_hash=theirs, commitment=sealed.commitment)]
    assert poster.post(sealed) == theirs
    assert l1.sent == []
    # A different batch 0 on L1: refused loudly, nothing sent, the store unchanged.
    other = replace(sealed.commitment, new_root=bytes(32))
    l1.on_l1 = [SimpleNamespace(tx_hash=theirs, commitment=other)]
    with pytest.raises(RuntimeError, match="different batch 0"):
        seq.advance_batches()
    assert _status(seq, 0) == ("sealed", None) and l1.sent == []
    seq.close()


def test_an_intent_still_in_the_pool_is_not_sent_again(tmp_path: Path) -> None:
    seq = open_sequencer(tmp_path)
    l1 = FakeL1()
    poster = _poster(seq, l1)
    sealed = _sealed(seq)
    first = poster.post(sealed)
    assert first is not None and len(l1.sent) == 1
    l1.client.txs[first] = ("pending", None)
    # As after a crash before "posted" was stored: the intent is found in the pool.
    assert poster.post(sealed) == first and len(l1.sent) == 1
    l1.client.txs[first] = ("rejected", None)
    second = poster.post(sealed)
    assert second != first and len(l1.sent) == 2
    # A later batch waits for the earlier one to commit.
    later = SealedBatch(1, replace(sealed.commitment, batch_number=1), (), (), 1)
    assert poster.post(later) is None
    seq.close()


def test_l1_down_degrades_with_backoff_and_changes_nothing(tmp_path: Path) -> None:
    seq = open_sequencer(tmp_path)
    l1 = FakeL1()
    _poster(seq, l1)
    _sealed(seq)
    l1.client.down = True
    batcher = Batcher(seq, tick=0.05)
    batcher.max_backoff = 0.2
    seq.batcher = batcher
    batcher.start()
    try:
        wait_until(lambda: batcher.failures >= 3, 10, 0.05, "repeated failures")
        health, reasons = seq.health()
        assert health == "degraded" and "ConnectError" in reasons[0]
        assert _status(seq, 0) == ("sealed", None) and l1.sent == []
        l1.client.down = False
        wait_until(lambda: _status(seq, 0)[0] == "posted", 10, 0.05, "posted once the L1 is back")
        wait_until(lambda: seq.health()[0] == "ok", 10, 0.05, "healthy again")
    finally:
        batcher.stop()
    seq.close()


def test_withdrawal_out_points_follow_the_rollup_cell_of_the_finalize_batch() -> None:
    assert withdrawal_out_point(bytes(32), 0) == OutPoint(bytes(32), 1)
    assert withdrawal_out_point(bytes(32), 3) == OutPoint(bytes(32), 4)


def test_proposer_keys_parse() -> None:
    assert parse_private_key("devnet:7") == DEVNET_KEYS[7].private_key
    assert parse_private_key("0x" + "11" * 32) == bytes([0x11]) * 32
    for bad in ("devnet:x", "devnet:999", "12", "zz"):
        with pytest.raises(ValueError):
            parse_private_key(bad)
    with_l1 = SequencerConfig(l1_url="http://127.0.0.1:1", proposer_key="devnet:1")
    assert with_l1.genesis() == [] and SequencerConfig().genesis() != []


# ----------------------------------------------------------------------------- deposits
def _deposit(index: int, n: int = 0, amount: int = 500) -> L1Deposit:
    return L1Deposit(bytes([n]) * 32 + b"\0\0\0\0", index, NEW_KEY.public_key, amount)


def test_a_deposit_is_credited_once_across_restarts_and_sealed(tmp_path: Path) -> None:
    seq = open_sequencer(tmp_path)
    new_index = seq.executor.state.next_account_index
    assert seq.credit_deposits([(_deposit(0, 1), 5)]) == 1
    assert seq.credit_deposits([(_deposit(0, 1), 5)]) == 0  # seen again: nothing
    assert seq.executor.state.get_account(new_index).balance == 500  # type: ignore[union-attr]
    # Out of order (index 2 while 1 is next): waits.
    assert seq.credit_deposits([(_deposit(2, 3), 6)]) == 0
    seq.close()

    seq = open_sequencer(tmp_path)  # restart: replayed from the store, still credited once
    assert seq.executor.state.get_account(new_index).balance == 500  # type: ignore[union-attr]
    assert seq.credit_deposits([(_deposit(0, 1), 5), (_deposit(1, 2, 700), 6)]) == 1
    assert seq.executor.state.get_account(new_index).balance == 1200  # type: ignore[union-attr]
    seq.submit([transfer(seq.config, 1, 2, 10, 0)])
    sealed = seq.seal_due_batch(force=True)
    assert sealed is not None
    assert (sealed.commitment.deposit_start, sealed.commitment.deposit_end) == (0, 2)
    assert len(sealed.records) == 3
    root = seq.executor.soft_root
    seq.close()

    seq = open_sequencer(tmp_path)  # restart after the seal: base snapshot + deposit queue
    assert seq.executor.soft_root == root and seq.next_batch_number == 1
    assert seq.credit_deposits([(_deposit(1, 2, 700), 6)]) == 0
    seq.close()


def test_the_watcher_plans_forced_deposits_first(tmp_path: Path) -> None:
    seq = open_sequencer(tmp_path)
    l1 = FakeL1()
    watcher = DepositWatcher(
        seq,
        FakeAccess(l1),  # type: ignore[arg-type]
        confirmations=1,
        interval=0.1,
        max_backoff=1.0,
    )

    def seen(n: int, block: int, amount: int) -> DepositSeen:
        args = DepositArgs(ROLLUP_ID, NEW_KEY.public_key, bytes(20), 0)
        output = CellOutput(amount, Script(bytes(32), 1, args.encode()))
        return DepositSeen(
            block, bytes([n]) * 32, DepositCell(OutPoint(bytes([n]) * 32, 0), output, args)
        )

    early, forced, late = seen(1, 3, 300 * 10**8), seen(2, 4, 400 * 10**8), seen(3, 5, 500 * 10**8)
    for s in (early, forced, late):
        watcher.seen[s.cell.out_point] = s
    l1.live = {early.cell.out_point, late.cell.out_point}  # the forced one was absorbed
    plan = watcher.plan(0, (forced.cell.deposit_hash(),), l1)  # type: ignore[arg-type]
    assert [(d.out_point[:1], d.deposit_index, block) for d, block in plan] == [
        (b"\x02", 0, 4),
        (b"\x01", 1, 3),
        (b"\x03", 2, 5),
    ]
    assert seq.credit_deposits(plan) == 3
    assert watcher.plan(1, (), l1) == []  # type: ignore[arg-type]
    seq.close()


def test_settings_without_an_l1_keep_the_devnet_rollup(tmp_path: Path) -> None:
    assert settings(tmp_path).rollup_config() == SequencerConfig().rollup_config()


# ----------------------------------------------------------------------------- refused batches
def _forced_hash(deposit: L1Deposit) -> bytes:
    out_point = OutPoint.deserialize(deposit.out_point)
    return compute_deposit_hash(out_point, deposit.public_key, deposit.amount)


def _land(seq: Sequencer, l1: FakeL1, number: int) -> None:
    """The batch's posted transaction commits: the fake rollup cell moves past it."""
    status, tx_hash = _status(seq, number)
    assert status == "posted" and tx_hash is not None
    l1.client.txs[tx_hash] = ("committed", l1.client.tip - 1)
    with seq.store.read() as conn:
        record = seq.store.get_batch(conn, number)
    assert record is not None
    commitment = BatchCommitment.deserialize(record.commitment)
    absorbed = commitment.deposit_end - l1.next_deposit
    l1.pending_forced = l1.pending_forced[absorbed:]
    l1.commit(tx_hash, l1.client.tip - 1, commitment)
    l1.next_deposit = commitment.deposit_end
    seq.advance_batches()
    assert _status(seq, number)[0] == "safe"


def _batch_view(seq: Sequencer) -> list[tuple[int, str, list[bytes]]]:
    with seq.store.read() as conn:
        return [
            (b.number, b.status, seq.store.get_batch_tx_hashes(conn, b.number))
            for b in seq.store.list_batches(conn, 0, 100)
        ]


def _hash(seq: Sequencer, tx: Transaction) -> bytes:
    return compute_tx_hash(tx, seq.config)


def test_batches_refused_for_a_forced_deposit_are_resequenced_and_land(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seq = open_sequencer(tmp_path)
    l1 = FakeL1()
    _poster(seq, l1)
    zero = transfer(seq.config, 1, 2, 10, 0)
    seq.submit([zero])
    assert seq.seal_due_batch(force=True) is not None
    seq.advance_batches()
    _land(seq, l1, 0)

    # The L1 forces a deposit the sequencer has not credited; meanwhile it seals two batches
    # (they ignore it) and acknowledges one more transfer (unbatched) and a queued one.
    forced = _deposit(0, 1, amount=5_000)
    l1.pending_forced = (_forced_hash(forced),)
    a, b = transfer(seq.config, 1, 2, 20, 1), transfer(seq.config, 3, 1, 30, 0)
    c, queued = transfer(seq.config, 1, 2, 5, 2), transfer(seq.config, 3, 1, 1, 2)
    seq.submit([a])
    assert seq.seal_due_batch(force=True) is not None
    seq.submit([b])
    assert seq.seal_due_batch(force=True) is not None
    seq.submit([c, queued])
    sent = list(l1.sent)
    before = _batch_view(seq)
    root = seq.executor.soft_root
    assert [(n, status) for n, status, _ in before] == [(0, "safe"), (1, "sealed"), (2, "sealed")]

    # Refused, but the forced deposit is not credited yet: wait, nothing changes.
    with pytest.raises(RuntimeError, match="waiting for forced deposit 0 to be credited"):
        seq.advance_batches()
    assert _batch_view(seq) == before and l1.sent == sent and seq.executor.soft_root == root
    new_index = seq.executor.state.next_account_index
    assert seq.credit_deposits([(forced, 7)]) == 1
    root = seq.executor.soft_root

    # A storage failure in the middle of the recovery: rolled back, nothing changed.
    def broken_save(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk gone")

    with monkeypatch.context() as patch:
        patch.setattr(seq.store, "save_txs", broken_save)
        with pytest.raises(RuntimeError, match="disk gone"):
            seq.advance_batches()
    assert _batch_view(seq) == before and seq.executor.soft_root == root
    assert seq.next_batch_number == 3

    # The recovery: batches 1 and 2 discarded, the forced deposit first, then a, b, c in their
    # order, re-sealed as batch 1 on the rollup's state root; nothing dropped.
    seq.advance_batches()
    with seq.store.read() as conn:
        deposit_hash = seq.store.list_deposits(conn)[0]["tx_hash"]
        record = seq.store.get_batch(conn, 1)
        entries = [seq.store.get_tx(conn, _hash(seq, t)) for t in (a, b, c, queued)]
    assert record is not None
    assert _batch_view(seq) == [
        before[0],
        (1, "sealed", [deposit_hash, _hash(seq, a), _hash(seq, b), _hash(seq, c)]),
    ]
    commitment = BatchCommitment.deserialize(record.commitment)
    assert (commitment.prev_root, commitment.deposit_start, commitment.deposit_end) == (
        l1.state_root,
        0,
        1,
    )
    assert seq.executor.unbatched == [] and seq.next_batch_number == 2
    assert [e.status if e else None for e in entries] == ["soft", "soft", "soft", "pending"]
    assert seq.executor.state.get_account(new_index).balance == 5_000  # type: ignore[union-attr]
    assert seq.executor.soft_root == record.new_root
    with seq.store.read() as conn:
        assert seq.store.get_meta(conn, "post_intent:1") is None
        assert seq.store.count_by_status(conn).get("dropped", 0) == 0

    # Posted and landed; a restart resumes from the re-sealed batch.
    seq.advance_batches()
    assert len(l1.sent) == len(sent) + 1
    _land(seq, l1, 1)
    assert l1.pending_forced == () and l1.next_deposit == 1
    seq.close()
    seq = open_sequencer(tmp_path)
    assert seq.executor.soft_root == record.new_root and seq.next_batch_number == 2
    assert seq.mempool.pending_count == 1
    seq.close()


def test_a_transaction_that_no_longer_applies_is_dropped_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seq = open_sequencer(tmp_path)
    l1 = FakeL1()
    _poster(seq, l1)
    forced = _deposit(0, 1, amount=5_000)
    l1.pending_forced = (_forced_hash(forced),)
    a, a2, b = (
        transfer(seq.config, 1, 2, 20, 0),
        transfer(seq.config, 1, 2, 20, 1),
        transfer(seq.config, 3, 1, 30, 0),
    )
    seq.submit([a, a2, b])
    assert seq.seal_due_batch(force=True) is not None
    assert seq.credit_deposits([(forced, 7)]) == 1
    # Re-sequencing never makes a transaction invalid by itself (deposits only move earlier),
    # so the STF is made to refuse ``a`` on re-execution: its sender's next one follows it.
    import sequencer.service as service

    real = service.apply_transaction

    def refusing(state: Any, tx: Any, *args: Any) -> Any:
        if tx == a:
            raise InsufficientBalance("account 1 cannot pay 20 + fee 0")
        return real(state, tx, *args)

    with monkeypatch.context() as patch:
        patch.setattr(service, "apply_transaction", refusing)
        seq.advance_batches()
    with seq.store.read() as conn:
        dropped = [seq.store.get_tx(conn, _hash(seq, t)) for t in (a, a2)]
        kept = seq.store.get_tx(conn, _hash(seq, b))
        deposit_hash = seq.store.list_deposits(conn)[0]["tx_hash"]
    assert _batch_view(seq) == [(0, "sealed", [deposit_hash, _hash(seq, b)])]
    assert kept is not None and (kept.status, kept.batch_number, kept.soft_index) == ("soft", 0, 1)
    for entry, code in zip(dropped, ("insufficient_balance", "nonce_too_high"), strict=True):
        assert entry is not None and entry.status == "dropped"
        assert (entry.soft_index, entry.batch_number, entry.receipt) == (None, None, None)
        assert entry.error is not None and entry.error.startswith(code + ": "), entry.error
        assert "re-sequenced after the L1 refused batch 0" in entry.error
        assert "deposits are pending" in entry.error
    assert seq.executor.state.get_account(1).nonce == 0  # type: ignore[union-attr]
    # Nothing lost silently: the sender can send nonce 0 again, and it executes.
    [admission] = seq.submit([a])
    assert not isinstance(admission, Exception) and admission.entry.status == "soft"
    seq.advance_batches()
    assert _status(seq, 0)[0] == "posted"
    seq.close()


def test_a_crash_after_the_recovery_commit_resumes_from_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seq = open_sequencer(tmp_path)
    l1 = FakeL1()
    _poster(seq, l1)
    forced = _deposit(0, 1, amount=5_000)
    l1.pending_forced = (_forced_hash(forced),)
    a, b = transfer(seq.config, 1, 2, 20, 0), transfer(seq.config, 3, 1, 30, 0)
    seq.submit([a])
    assert seq.seal_due_batch(force=True) is not None
    seq.submit([b])
    assert seq.credit_deposits([(forced, 7)]) == 1

    def crash(name: str) -> None:
        if name == "after_recovery_commit":
            raise SystemExit("killed")

    with monkeypatch.context() as patch:
        patch.setattr("sequencer.service.crashpoint", crash)
        with pytest.raises(SystemExit):
            seq.advance_batches()
    seq.close()

    # The store holds the re-sequenced soft chain (deposit first) and no batch: a restart
    # replays it (post-roots checked) and the batcher re-seals it.
    seq = open_sequencer(tmp_path)
    _poster(seq, l1)
    with seq.store.read() as conn:
        deposit_hash = seq.store.list_deposits(conn)[0]["tx_hash"]
    assert _batch_view(seq) == [] and seq.next_batch_number == 0
    assert [e.hash for e in seq.executor.unbatched] == [deposit_hash, _hash(seq, a), _hash(seq, b)]
    assert [e.soft_index for e in seq.executor.unbatched] == [0, 1, 2]
    assert seq.seal_due_batch(force=True) is not None
    seq.advance_batches()
    assert _status(seq, 0)[0] == "posted"
    seq.close()
