"""The L1 poster, the deposit watcher and deposit crediting in-process, against a fake L1:
status from confirmations (posted/safe/final), reorg -> sealed -> posted again, R2 reconciliation
(same batch found, a different one refused, an intent in the pool not resent), R6 backoff and
``degraded``, B1 (a deposit credited once, across restarts), forced deposits first."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from l1.ckb.types import CellOutput, OutPoint, Script
from l1.core.scripts.rollup.layout import DepositArgs
from l1.devnet_keys import DEVNET_KEYS, derive_devnet_key
from l2.client.bridge import DepositCell, DepositSeen
from l2.tx import L1Deposit
from sequencer.batcher import Batcher, SealedBatch, compute_test_versioned_hashes
from sequencer.config import SequencerConfig, parse_private_key
from sequencer.entries import BatchStatus
from sequencer.l1watch import DepositWatcher
from sequencer.poster import L1Poster, RollupInfo, withdrawal_out_point
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
    next_deposit: int = 0
    pending_forced: tuple[bytes, ...] = ()
    on_l1: list[Any] = field(default_factory=list)
    sent: list[Any] = field(default_factory=list)
    live: set[OutPoint] = field(default_factory=set)

    def find_rollup_cell(self, rollup_id: bytes) -> Any:
        self.client._check()
        state = SimpleNamespace(
            next_batch_number=self.next_batch,
            next_deposit_index=self.next_deposit,
            pending_forced=self.pending_forced,
            challenge_window=4,
        )
        return SimpleNamespace(state=state)

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
def test_status_follows_confirmations_and_a_reorg_reposts(tmp_path: Path) -> None:
    seq = open_sequencer(tmp_path)
    l1 = FakeL1()
    _poster(seq, l1, safe=2)
    _sealed(seq)
    seq.advance_batches()
    status, tx_hash = _status(seq, 0)
    assert status == "posted" and tx_hash is not None and len(l1.sent) == 1
    seq.advance_batches()  # still in the pool: nothing is sent again
    assert len(l1.sent) == 1

    l1.client.txs[tx_hash] = ("committed", 100)
    l1.next_batch = 1
    seq.advance_batches()
    assert _status(seq, 0) == ("posted", tx_hash)
    l1.client.tip = 102
    seq.advance_batches()
    assert _status(seq, 0) == ("safe", tx_hash)
    assert seq.get_heads()["safe"].batch == 0 and seq.get_heads()["final"].batch is None

    # An L1 reorg drops the transaction: back to sealed, then posted again (a new tx).
    del l1.client.txs[tx_hash]
    l1.next_batch = 0
    seq.advance_batches()
    assert _status(seq, 0) == ("sealed", None)
    seq.advance_batches()
    status, reposted = _status(seq, 0)
    assert status == "posted" and reposted not in (None, tx_hash) and len(l1.sent) == 2
    assert reposted is not None
    l1.client.txs[reposted] = ("committed", 103)
    l1.next_batch = 1
    l1.client.tip = 107
    seq.advance_batches()
    assert _status(seq, 0) == ("final", reposted)
    assert seq.get_heads()["final"].batch == 0
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


def test_withdrawal_out_points_follow_the_batch_cell() -> None:
    assert withdrawal_out_point(bytes(32), 0) == OutPoint(bytes(32), 2)
    assert withdrawal_out_point(bytes(32), 3) == OutPoint(bytes(32), 5)


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
