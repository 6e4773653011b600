"""Follower pieces without an L1 node: the app before the rollup is seen, an unreachable L1
(degraded, no crash), the persisted snapshot round trip, the data-dir lock, and a revert (the
derived chain rolled back to the last valid batch; finality; a reorg undoing both)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from l1.ckb.hashing import ckbhash
from l1.ckb.types import OutPoint, Script
from l1.core.scripts.rollup.layout import (
    BatchCell,
    FinalizeBatch,
    RevertBatches,
    RollupState,
    SubmitBatch,
)
from l2.batch import BatchCommitment, compute_batch_blobs
from l2.client.bridge import RollupTxSeen, ScanResult
from l2.config import RollupConfig
from l2.preset import TEST
from l2.profile import OPTIMISTIC
from l2.state import Account, create_genesis_state
from l2.tx import L1Deposit
from sequencer.batcher import compute_test_versioned_hashes
from sequencer.errors import StartupError
from sequencer.follower import FollowedBatch, FollowedWithdrawal, Follower, FollowerSettings
from sequencer.follower_app import create_follower_app
from tests.support.procs import free_port

ROLLUP_ID = bytes(range(32))
PUBLIC_KEY = OPTIMISTIC.compute_public_key(b"\x01" * 32)


def _settings(data_dir: Path, **overrides: object) -> FollowerSettings:
    values: dict[str, object] = {
        "l1_url": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        "rollup_id": ROLLUP_ID,
        "data_dir": data_dir,
        "poll_interval": 0.05,
    }
    values.update(overrides)
    return FollowerSettings(**values)  # type: ignore[arg-type]


class _Client:
    """Synchronous GETs against the ASGI app (no server, no lifespan)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://follower") as c:
                return await c.get(path, params=params)

        return asyncio.run(call())


def test_the_app_before_the_rollup_is_seen(tmp_path: Path) -> None:
    follower = Follower(_settings(tmp_path)).open()
    try:
        client = _Client(create_follower_app(follower, manage_lifecycle=False))
        status = client.get("/v1/status").json()
        assert status["mode"] == "follower"
        assert status["derivation"]["ready"] is False
        assert status["heads"]["safe"] == {"batch": None, "state_root": None, "soft_index": None}
        response = client.get("/v1/accounts/0")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "not_ready"
        assert client.get("/v1/batches").json() == {"batches": []}
        assert client.get("/v1/findings").json() == {"findings": [], "unavailable": None}
        assert client.get("/healthz").json() == {"status": "ok"}
    finally:
        follower.close()


def test_an_unreachable_l1_degrades_without_crashing(tmp_path: Path) -> None:
    follower = Follower(_settings(tmp_path)).open()
    follower.start()
    try:
        deadline = time.monotonic() + 10
        while follower.poll_error is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert follower.poll_error is not None
        client = _Client(create_follower_app(follower, manage_lifecycle=False))
        assert client.get("/healthz").json() == {"status": "degraded"}
        assert client.get("/v1/status").json()["derivation"]["poll_error"]
        assert follower._thread is not None and follower._thread.is_alive()
    finally:
        follower.close()


def test_progress_round_trips_through_the_snapshot_file(tmp_path: Path) -> None:
    follower = Follower(_settings(tmp_path)).open()
    config = RollupConfig(0, ROLLUP_ID, 0, TEST, OPTIMISTIC)
    genesis = create_genesis_state(config)
    after = create_genesis_state(config, [Account(PUBLIC_KEY, 5, 1)])
    params = RollupState(
        chain_id=0,
        proposer_lock_hash=bytes(32),
        bond=1,
        challenge_window=4,
        forced_inclusion_window=6,
        escape_timeout=20,
        game_clock=6,
        burn_permille=500,
        fee_account=0,
        l2_preset="test",
        next_batch_number=1,
        next_final_batch=1,
        state_root=after.get_root(),
        next_deposit_index=1,
        idle_blocks=0,
    )
    commitment = BatchCommitment(
        0, genesis.get_root(), after.get_root(), bytes(32), 1, 0, 1, bytes(32), (b"\x01" * 32,)
    )
    follower.config, follower.genesis = config, genesis
    follower.chain.params, follower.chain.creation_block = params, 3
    follower.chain.next_block = 9
    follower.chain.hashes = {7: b"\x07" * 32, 8: b"\x08" * 32}
    follower.chain.deposits = {0: (L1Deposit(bytes(36), 0, PUBLIC_KEY, 5), 5)}
    batch = FollowedBatch(
        number=0,
        commitment=commitment,
        block_number=6,
        block_hash=b"\x06" * 32,
        l1_tx_hash=b"\xaa" * 32,
        pre_root=genesis.get_root(),
        derived_root=after.get_root(),
        tx_count=1,
        first_soft_index=0,
        tx_hashes=(b"\xbb" * 32,),
        findings=(("new_root", "claims x, derived y"),),
        withdrawals=(FollowedWithdrawal(0, b"\xbb" * 32, 0, 0, bytes(20), 3, b"\xcc" * 32),),
        state=after,
        finalized_at=8,
    )
    follower.chain.batches = [batch]
    follower.chain.final_batches = 1
    # A batch 1 that a RevertBatches in block 8 removed.
    reverted = replace(
        batch,
        number=1,
        commitment=replace(commitment, batch_number=1, prev_root=after.get_root()),
        block_number=7,
        state=None,
        reverted_at=8,
        finalized_at=None,
    )
    follower.chain.reverted = [reverted]
    follower._persist()
    follower.close()

    restored = Follower(_settings(tmp_path)).open()
    try:
        assert restored.chain == follower.chain
        assert restored.resumed == {
            "from_block": 9,
            "batches": 1,
            "snapshot": str(tmp_path / "follower.json"),
        }
        client = _Client(create_follower_app(restored, manage_lifecycle=False))
        assert client.get("/v1/accounts/0").json()["balance"] == 5
        # Findings are those of the valid chain only (the reverted batch is settled).
        assert [f["batch"] for f in client.get("/v1/findings").json()["findings"]] == [0]
        assert client.get("/v1/batches/0").json()["status"] == "final"
        derivation = client.get("/v1/status").json()["derivation"]
        assert derivation["final_batches"] == 1
        assert [
            (r["number"], r["status"], r["reverted_at_block"]) for r in derivation["reverted"]
        ] == [(1, "reverted", 8)]
        assert restored.batch_status(restored.chain.reverted[0]) == "reverted"
        assert client.get("/v1/status").json()["heads"]["final"]["batch"] == 0
        assert (
            client.get("/v1/withdrawals", params={"account": 0}).json()["withdrawals"][0]["amount"]
            == 3
        )
    finally:
        restored.close()
    with pytest.raises(ValueError, match="follows rollup"):
        Follower(_settings(tmp_path, rollup_id=bytes(32))).open()


def test_two_followers_never_share_a_data_dir(tmp_path: Path) -> None:
    first = Follower(_settings(tmp_path)).open()
    try:
        with pytest.raises(StartupError):
            Follower(_settings(tmp_path)).open()
    finally:
        first.close()


# ----------------------------------------------------------------------------- reverts
class _Blobs:
    """What ``Follower._apply_scan`` uses of ``RollupL1``: blobs by versioned hash."""

    def __init__(self) -> None:
        self.blobs: dict[bytes, bytes] = {}

    def get_blob(self, versioned_hash: bytes) -> bytes:
        return self.blobs[versioned_hash]


def _empty_batch(
    blobs: _Blobs, number: int, prev_root: bytes, new_root: bytes | None = None
) -> BatchCommitment:
    """A batch of no record (a lie when ``new_root`` is not ``prev_root``)."""
    [blob] = compute_batch_blobs([])
    [versioned_hash] = compute_test_versioned_hashes([blob])
    blobs.blobs[versioned_hash] = blob
    return BatchCommitment(
        number, prev_root, new_root or prev_root, bytes(32), 0, 0, 0, bytes(32), (versioned_hash,)
    )


def _seen(
    block: int,
    action: Any,
    before: RollupState,
    after: RollupState,
    commitment: BatchCommitment | None = None,
) -> RollupTxSeen:
    batch = None
    if commitment is not None:
        batch = BatchCell(0, bytes(32), Script(bytes(32), 1, b""), commitment)
    return RollupTxSeen(
        block_number=block,
        tx_hash=bytes([block]) * 32,
        action=action,
        prev_state=before,
        state=after,
        rollup_out_point=OutPoint(bytes([block]) * 32, 0),
        commitment=commitment if isinstance(action, SubmitBatch) else None,
        batch=batch,
    )


def test_a_revert_rolls_the_derived_chain_back_and_a_reorg_undoes_it(tmp_path: Path) -> None:
    follower = Follower(_settings(tmp_path)).open()
    try:
        config = RollupConfig(0, ROLLUP_ID, 0, TEST, OPTIMISTIC)
        genesis = create_genesis_state(config)
        root = genesis.get_root()
        state0 = RollupState(0, bytes(32), 1, 4, 6, 20, 6, 500, 0, "test", 0, 0, root, 0, 0)
        follower.config, follower.genesis = config, genesis
        follower.chain.params, follower.chain.creation_block = state0, 1
        follower.chain.next_block = 2
        blobs = _Blobs()
        lie_root = ckbhash(b"a lie")
        batch0 = _empty_batch(blobs, 0, root)
        lie = _empty_batch(blobs, 1, root, lie_root)
        state1 = replace(state0, next_batch_number=1)
        state2 = replace(state0, next_batch_number=2, state_root=lie_root)
        submit = SubmitBatch(bytes(32), 0)
        first = ScanResult(
            ROLLUP_ID,
            2,
            5,
            (
                _seen(3, submit, state0, state1, batch0),
                _seen(4, submit, state1, state2, lie),
            ),
        )
        l1: Any = blobs
        follower._apply_scan(l1, first, {n: bytes([n]) * 32 for n in range(2, 6)})
        assert [b.number for b in follower.chain.batches] == [0, 1]
        assert [f["batch"] for f in follower.findings()] == [1]

        # Batch 0 finalized; a challenger wins on batch 1: RevertBatches(1); an honest batch 1.
        final1 = replace(state2, next_final_batch=1)
        reverted = replace(final1, next_batch_number=1, state_root=root)
        honest = _empty_batch(blobs, 1, root)
        again = replace(reverted, next_batch_number=2)
        second = ScanResult(
            ROLLUP_ID,
            6,
            9,
            (
                _seen(7, FinalizeBatch(), state2, final1, batch0),
                _seen(8, RevertBatches(1, ((),)), final1, reverted),
                _seen(9, submit, reverted, again, honest),
            ),
        )
        follower._apply_scan(l1, second, {n: bytes([n]) * 32 for n in range(6, 10)})
        chain = follower.chain
        assert [(b.number, b.commitment) for b in chain.batches] == [(0, batch0), (1, honest)]
        assert [(b.commitment, b.reverted_at) for b in chain.reverted] == [(lie, 8)]
        assert [follower.batch_status(b) for b in chain.batches] == ["final", "safe"]
        assert follower.batch_status(chain.reverted[0]) == "reverted"
        assert follower.findings() == []  # the lie is settled
        assert chain.batches[-1].derived_root == root
        assert follower.counters["batches_dropped"] == 1

        # An L1 reorg back to block 6 undoes the finalization, the revert and the new batch.
        follower._rollback(6)
        chain = follower.chain
        assert [(b.number, b.commitment) for b in chain.batches] == [(0, batch0), (1, lie)]
        assert chain.reverted == [] and chain.final_batches == 0
        assert [follower.batch_status(b) for b in chain.batches] == ["safe", "safe"]
        assert [f["batch"] for f in follower.findings()] == [1]
    finally:
        follower.close()
