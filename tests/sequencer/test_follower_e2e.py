"""Follower mode (``python -m sequencer --follow``) against real L1 nodes (catalogue T4, L1, D1,
D2): two batches built purely with ``l2`` are posted with the bridge SDK (batch 0 finalized); a follower started
before (following live) and one started afterwards reach the pure-l2 root and balances; a
restart resumes from the persisted snapshot; an L1 reorg (a second node mines a longer chain
without batch 1, then the nodes connect) drops batch 1 and the root goes back to batch 0's, and
returns when batch 1 is re-included; a batch posted with a wrong ``new_root`` shows up in
``/v1/findings`` (and an undecodable record is a no-op); batch statuses are ``final`` only once
FinalizeBatch landed; a fresh follower after the blob retention window reports the data as
unavailable instead of crashing; bad requests get 4xx in the error shape.

The tests of this module run in order on one pair of nodes and one rollup.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from l1.ckb.hashes import compute_header_hash
from l1.ckb.hashing import ckbhash
from l1.client import L1Client
from l1.core.blobs import pack_data_into_blobs
from l1.core.scripts.rollup.layout import WithdrawalEntry
from l1.devnet_keys import DEVNET_KEYS
from l2.batch import BatchCommitment, compute_batch_blobs, compute_batch_commitment
from l2.client.bridge import DepositCell, RollupL1, RollupParams, derive_l1_deposits
from l2.config import RollupConfig
from l2.preset import SHANNONS_PER_CKB, TEST
from l2.profile import OPTIMISTIC
from l2.state import L2State, compute_state_root, create_genesis_state
from l2.stf import apply_batch, compute_deposit_queue
from l2.tx import Deposit, Transaction, Transfer, Withdraw, sign_transaction
from tests.support.procs import Proc, free_port, l1_node, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CKB = SHANNONS_PER_CKB
CHAIN_ID = 0
CHALLENGE, FORCED, ESCAPE = 4, 6, 20
BOND = 500 * CKB
PROPOSER, ALICE_L1, BOB_L1, OWNER = (DEVNET_KEYS[i] for i in (7, 1, 2, 3))
L2_KEYS = tuple(ckbhash(b"follower e2e l2 key %d" % i) for i in range(2))
L2_PUBS = tuple(OPTIMISTIC.compute_public_key(k) for k in L2_KEYS)
ALICE_DEPOSIT, BOB_DEPOSIT = 1_000 * CKB, 500 * CKB
WITHDRAWAL = 300 * CKB


def follower_proc(data_dir: Path, l1_url: str, rollup_id: bytes, port: int | None = None) -> Proc:
    port = port or free_port()
    args = [
        sys.executable,
        "-m",
        "sequencer",
        "--follow",
        "--l1",
        l1_url,
        "--rollup-id",
        rollup_id.hex(),
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
        "--poll-interval",
        "0.2",
        "--log-level",
        "info",
    ]
    return Proc(args, data_dir / "follower.log", f"http://127.0.0.1:{port}")


def _config(rollup_id: bytes = bytes(32)) -> RollupConfig:
    return RollupConfig(CHAIN_ID, rollup_id, 0, TEST, OPTIMISTIC)


@dataclass
class World:
    a: Proc
    b: Proc
    client: L1Client
    client_b: L1Client
    l1: RollupL1
    tmp: Path
    procs: list[Proc]
    rollup_id: bytes = b""
    config: RollupConfig = field(default_factory=_config)
    l2: L2State | None = None
    deposits: list[DepositCell] = field(default_factory=list)
    followers: dict[str, Proc] = field(default_factory=dict)
    roots: list[bytes] = field(default_factory=list)
    states: list[L2State] = field(default_factory=list)
    batch1_tx: bytes = b""

    def mine(self, count: int = 1) -> None:
        for _ in range(count):
            self.client.generate_block()

    def batch(
        self, txs: list[Transaction], pending: list[DepositCell]
    ) -> tuple[BatchCommitment, list[bytes], list[tuple[WithdrawalEntry, bytes]]]:
        assert self.l2 is not None
        rollup = self.l1.find_rollup_cell(self.rollup_id)
        queue = compute_deposit_queue(
            list(derive_l1_deposits(self.l1.scan(self.rollup_id), pending))
        )
        result = apply_batch(self.l2, txs, self.config, queue)
        assert result.rejections == ()
        blobs = compute_batch_blobs(txs)
        sidecars = self.l1.compute_sidecars(blobs)
        commitment = compute_batch_commitment(
            rollup.state.next_batch_number,
            result,
            [s.versioned_hash for s in sidecars],
            compute_header_hash(self.client.get_tip_header()),
            self.config,
        )
        entries = [
            (WithdrawalEntry(w.from_index, w.nonce, w.amount), w.l1_recipient)
            for w in result.withdrawals
        ]
        return commitment, blobs, entries

    def start_follower(self, name: str, port: int | None = None) -> Proc:
        proc = follower_proc(self.tmp / name, self.a.url, self.rollup_id, port)
        self.procs.append(proc.start())
        proc.wait_healthy()
        self.followers[name] = proc
        return proc


def _get(proc: Proc, path: str, **params: Any) -> Any:
    response = httpx.get(proc.url + path, params=params, timeout=10)
    assert response.status_code == 200, (path, response.status_code, response.text)
    return response.json()


def _tip(client: L1Client) -> tuple[int, str]:
    header = client.call("get_tip_header")
    return int(header["number"], 16), header["hash"]


def _caught_up(world: World, proc: Proc, batches: int, root: bytes) -> dict[str, Any]:
    """Wait until ``proc`` processed the L1 tip and derived ``batches`` batches ending at
    ``root``; returns its status."""
    tip = world.client.get_tip_block_number()

    def check() -> dict[str, Any] | None:
        status = _get(proc, "/v1/status")
        derivation = status["derivation"]
        if (
            status["l1"]["processed_block"] >= tip
            and derivation["batches"] == batches
            and status["heads"]["safe"]["state_root"] == "0x" + root.hex()
        ):
            return status  # type: ignore[no-any-return]
        return None

    try:
        return wait_until(check, 60, 0.2, f"{proc.url} at {batches} batches")  # type: ignore[no-any-return]
    except TimeoutError:
        print(_get(proc, "/v1/status"), proc.log_tail())
        raise


def _assert_accounts(proc: Proc, state: L2State) -> None:
    for index, account in enumerate(state.get_accounts()):
        view = _get(proc, f"/v1/accounts/{index}")
        assert (view["balance"], view["nonce"], view["pending_nonce"]) == (
            account.balance,
            account.nonce,
            account.nonce,
        )
        assert view["public_key"] == "0x" + account.public_key.hex()
        proof = _get(proc, f"/v1/accounts/{index}/proof")
        assert proof["valid"] is True
        assert proof["state_root"] == "0x" + state.get_root().hex()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("follower")
    procs: list[Proc] = []
    try:
        a = l1_node(tmp / "a").start()
        procs.append(a)
        a.wait_healthy()
        b = l1_node(tmp / "b", peers=(a.url,)).start()
        procs.append(b)
        b.wait_healthy()
        client, client_b = L1Client(a.url), L1Client(b.url)
        client.generate_block()
        yield World(a, b, client, client_b, RollupL1(client), tmp, procs)
        client.close()
        client_b.close()
    finally:
        for proc in reversed(procs):
            proc.stop()


# ----------------------------------------------------------------------------- the flow
def test_deploy_and_start_a_live_follower(world: World) -> None:
    l1 = world.l1
    genesis = create_genesis_state(_config())
    params = RollupParams(
        chain_id=CHAIN_ID,
        bond=BOND,
        challenge_window=CHALLENGE,
        forced_inclusion_window=FORCED,
        escape_timeout=ESCAPE,
        l2_preset="test",
        genesis_root=genesis.get_root(),
        proposer_lock_hash=l1.lock_hash_of(PROPOSER.private_key),
    )
    handle = l1.deploy_rollup(PROPOSER.private_key, params)
    world.mine()
    world.rollup_id = handle.rollup_id
    world.config = _config(handle.rollup_id)
    world.l2 = create_genesis_state(world.config)
    world.roots.append(world.l2.get_root())
    world.states.append(world.l2.copy())
    alice_tx = l1.deposit(ALICE_L1.private_key, world.rollup_id, L2_PUBS[0], ALICE_DEPOSIT)
    bob_tx = l1.deposit(BOB_L1.private_key, world.rollup_id, L2_PUBS[1], BOB_DEPOSIT)
    world.mine()
    assert l1.get_tx_status(alice_tx) == l1.get_tx_status(bob_tx) == "committed"
    pending = l1.list_pending_deposits(world.rollup_id)
    world.deposits = sorted(pending, key=lambda c: c.amount, reverse=True)  # Alice first

    live = world.start_follower("live")
    status = _caught_up(world, live, 0, genesis.get_root())
    assert status["mode"] == "follower"
    assert status["rollup_id"] == "0x" + world.rollup_id.hex()
    assert (status["chain_id"], status["preset"], status["challenge_window"]) == (
        CHAIN_ID,
        "test",
        CHALLENGE,
    )
    assert status["genesis_root"] == "0x" + genesis.get_root().hex()
    assert status["data_window"]["blob_retention_blocks"] == 16
    assert status["data_window"]["within_retention"] is True
    assert _get(live, "/v1/batches") == {"batches": []}
    assert _get(live, "/v1/findings")["findings"] == []


def test_two_batches_derive_to_the_pure_l2_root(world: World) -> None:
    l1 = world.l1
    assert world.l2 is not None
    owner = OWNER.lock_args
    txs: list[Transaction] = [
        Deposit(0, 0, ALICE_DEPOSIT, L2_PUBS[0]),
        Deposit(1, 1, BOB_DEPOSIT, L2_PUBS[1]),
        sign_transaction(Transfer(0, 1, 100 * CKB, 0, 0), L2_KEYS[0], world.config),
        sign_transaction(Withdraw(1, WITHDRAWAL, 0, 0, owner), L2_KEYS[1], world.config),
    ]
    commitment, blobs, entries = world.batch(txs, world.deposits)
    tx0 = l1.submit_batch(
        world.rollup_id,
        PROPOSER.private_key,
        commitment,
        l1.compute_sidecars(blobs),
        world.l2.get_accounts_root(),
        world.l2.next_account_index,
        world.deposits,
    )
    world.mine()
    assert l1.get_tx_status(tx0) == "committed"
    world.roots.append(world.l2.get_root())
    world.states.append(world.l2.copy())
    # Batch 0's challenge window passes with no game: it is finalized on L1.
    world.mine(CHALLENGE)
    finalize0 = l1.finalize_batch(world.rollup_id, PROPOSER.private_key, entries)
    world.mine()
    assert l1.get_tx_status(finalize0) == "committed"

    # Node b has batch 0, then goes dark: batch 1 exists only on a's side.
    wait_until(lambda: _tip(world.client_b) == _tip(world.client), 60, what="b synced")
    world.client_b.call("set_network_active", False)

    transfer = sign_transaction(Transfer(1, 0, 25 * CKB, 0, 1), L2_KEYS[1], world.config)
    commitment, blobs, _entries = world.batch([transfer], [])
    world.batch1_tx = l1.submit_batch(
        world.rollup_id,
        PROPOSER.private_key,
        commitment,
        l1.compute_sidecars(blobs),
        world.l2.get_accounts_root(),
        world.l2.next_account_index,
    )
    world.mine()
    assert l1.get_tx_status(world.batch1_tx) == "committed"
    world.roots.append(world.l2.get_root())
    world.states.append(world.l2.copy())
    assert l1.find_rollup_cell(world.rollup_id).state.state_root == world.l2.get_root()

    late = world.start_follower("late")
    for proc in (world.followers["live"], late):
        status = _caught_up(world, proc, 2, world.roots[2])
        assert status["derivation"]["findings"] == 0
        assert status["derivation"]["unavailable"] is None
        _assert_accounts(proc, world.l2)
        batches = _get(proc, "/v1/batches")["batches"]
        assert [b["number"] for b in batches] == [0, 1]
        assert [b["derived_root"] for b in batches] == ["0x" + r.hex() for r in world.roots[1:]]
        assert [b["new_root"] for b in batches] == [b["derived_root"] for b in batches]
        assert [b["tx_count"] for b in batches] == [4, 1]
        assert [b["first_soft_index"] for b in batches] == [0, 4]
        one = _get(proc, "/v1/batches/1")
        assert one["l1_tx_hash"] == "0x" + world.batch1_tx.hex()
        assert len(one["transactions"]) == 1 and one["findings"] == []
        assert status["heads"]["soft"]["soft_index"] == 4
        withdrawals = _get(proc, "/v1/withdrawals", account=1)["withdrawals"]
        assert [(w["amount"], w["l1_recipient"], w["batch"]["number"]) for w in withdrawals] == [
            (WITHDRAWAL, "0x" + owner.hex(), 0)
        ]
        assert _get(proc, "/v1/withdrawals", l1_recipient="0x" + owner.hex())["withdrawals"] == (
            withdrawals
        )
    # Final only once FinalizeBatch landed: batch 0 is, batch 1 is not (its window passing is
    # not enough).
    world.mine(CHALLENGE)
    live = world.followers["live"]
    status = _caught_up(world, live, 2, world.roots[2])
    statuses = [b["status"] for b in _get(live, "/v1/batches")["batches"]]
    assert statuses == ["final", "safe"]
    assert status["heads"]["final"]["batch"] == 0
    assert status["derivation"]["final_batches"] == 1


def test_restart_resumes_from_the_snapshot(world: World) -> None:
    late = world.followers["late"]
    port = int(late.url.rsplit(":", 1)[1])
    late.stop()
    restarted = world.start_follower("late", port)
    status = _caught_up(world, restarted, 2, world.roots[2])
    assert status["derivation"]["resumed"]["batches"] == 2
    assert status["counters"]["batches_derived"] == 0  # nothing re-derived from genesis
    world.mine()
    status = _caught_up(world, restarted, 2, world.roots[2])
    assert status["counters"]["batches_derived"] == 0
    assert status["counters"]["blocks_scanned"] <= 3
    metrics = httpx.get(restarted.url + "/metrics", timeout=10).text
    assert "rollcourt_follower_batches_derived_total 0" in metrics
    assert "rollcourt_follower_batches 2" in metrics
    _assert_accounts(restarted, world.states[2])


def test_an_l1_reorg_drops_the_orphaned_batch(world: World) -> None:
    height_a, _ = _tip(world.client)
    height_b, _ = _tip(world.client_b)
    for _ in range(height_a - height_b + 2):
        world.client_b.generate_block()
    world.client_b.call("set_network_active", True)
    world.client_b.call("add_node", world.a.url, world.a.url)
    wait_until(
        lambda: _tip(world.client) == _tip(world.client_b), 60, what="a reorged onto b's chain"
    )
    assert world.l1.get_tx_status(world.batch1_tx) != "committed"
    for proc in world.followers.values():
        status = _caught_up(world, proc, 1, world.roots[1])
        assert status["derivation"]["last_reorg"]["dropped_batches"] == [1]
        assert status["counters"]["reorgs"] >= 1
        assert status["heads"]["final"]["batch"] == 0  # finalized before the fork
        _assert_accounts(proc, world.states[1])
        response = httpx.get(proc.url + "/v1/batches/1", timeout=10)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"

    # The batch transaction went back to the pool: re-included, it derives to the same root.
    assert world.l1.get_tx_status(world.batch1_tx) == "pending"
    world.mine()
    assert world.l1.get_tx_status(world.batch1_tx) == "committed"
    for proc in world.followers.values():
        _caught_up(world, proc, 2, world.roots[2])
        _assert_accounts(proc, world.states[2])


def test_a_batch_with_a_wrong_root_is_a_finding(world: World) -> None:
    l1 = world.l1
    assert world.l2 is not None
    transfer = sign_transaction(Transfer(0, 1, 7 * CKB, 0, 1), L2_KEYS[0], world.config)
    honest, blobs, _entries = world.batch([transfer], [])
    # The L1 checks the new root's counters, not its accounts root: a lie about the accounts.
    lie_accounts = ckbhash(b"an accounts root no data derives to")
    lie = replace(
        honest,
        new_root=compute_state_root(
            lie_accounts, world.l2.next_account_index, honest.deposit_end, OPTIMISTIC
        ),
    )
    tx_hash = l1.submit_batch(
        world.rollup_id,
        PROPOSER.private_key,
        lie,
        l1.compute_sidecars(blobs),
        lie_accounts,
        world.l2.next_account_index,
    )
    world.mine()
    assert l1.get_tx_status(tx_hash) == "committed"  # optimistic: the L1 takes any root
    world.roots.append(world.l2.get_root())
    world.states.append(world.l2.copy())
    for proc in world.followers.values():
        status = _caught_up(world, proc, 3, world.roots[3])  # the derived root, not the claim
        assert status["derivation"]["findings"] == 1
        findings = _get(proc, "/v1/findings")["findings"]
        assert [(f["batch"], f["kind"]) for f in findings] == [(2, "new_root")]
        assert findings[0]["claimed_root"] == "0x" + lie.new_root.hex()
        assert findings[0]["derived_root"] == "0x" + honest.new_root.hex()
        assert findings[0]["l1_tx_hash"] == "0x" + tx_hash.hex()
        two = _get(proc, "/v1/batches/2")
        assert [f["kind"] for f in two["findings"]] == ["new_root"]
        _assert_accounts(proc, world.states[3])


def test_an_undecodable_record_is_a_no_op(world: World) -> None:
    """Records are read by position (docs/disputes.md §1): a slot that does not decode is an
    invalid record, a no-op -- never a reason to drop the batch."""
    l1 = world.l1
    assert world.l2 is not None
    rollup = l1.find_rollup_cell(world.rollup_id).state
    # Header of an unknown data version, then one record slot of bytes no record decodes from.
    blobs = pack_data_into_blobs(b"\x07" + bytes(119) + b"\xff" * 124)
    sidecars = l1.compute_sidecars(blobs)
    commitment = BatchCommitment(
        batch_number=rollup.next_batch_number,
        prev_root=rollup.state_root,  # batch 2's (false) claim
        new_root=rollup.state_root,
        l1_block_hash=compute_header_hash(world.client.get_tip_header()),
        tx_count=1,
        deposit_start=rollup.next_deposit_index,
        deposit_end=rollup.next_deposit_index,
        withdrawals_root=bytes(32),
        blob_versioned_hashes=tuple(s.versioned_hash for s in sidecars),
    )
    lie_accounts = ckbhash(b"an accounts root no data derives to")
    tx_hash = l1.submit_batch(
        world.rollup_id,
        PROPOSER.private_key,
        commitment,
        sidecars,
        lie_accounts,
        world.l2.next_account_index,
    )
    world.mine()
    assert l1.get_tx_status(tx_hash) == "committed"
    world.roots.append(world.roots[-1])  # the state does not move
    world.states.append(world.states[-1])
    for proc in world.followers.values():
        _caught_up(world, proc, 4, world.roots[-1])
        three = _get(proc, "/v1/batches/3")
        assert three["tx_count"] == 1 and three["derived_root"] == "0x" + world.roots[-1].hex()
        kinds = {f["kind"] for f in _get(proc, "/v1/findings")["findings"] if f["batch"] == 3}
        # Built on batch 2's false root: that is the only thing wrong with it.
        assert kinds == {"prev_root", "new_root"}
        assert _get(proc, "/healthz") == {"status": "ok"}


def test_a_follower_behind_the_blob_window_reports_unavailable_data(world: World) -> None:
    world.mine(17)  # the test preset keeps blobs 16 blocks
    fresh = world.start_follower("fresh")

    def reported() -> dict[str, Any] | None:
        status = _get(fresh, "/v1/status")
        unavailable = status["derivation"]["unavailable"]
        return status if unavailable is not None else None

    status = wait_until(reported, 60, 0.2, "unavailable data reported")
    unavailable = status["derivation"]["unavailable"]
    assert (unavailable["batch"], unavailable["reason"]) == (0, "pruned")
    assert status["derivation"]["batches"] == 0
    assert status["data_window"]["within_retention"] is False
    assert _get(fresh, "/healthz") == {"status": "degraded"}
    assert _get(fresh, "/v1/findings")["unavailable"]["batch"] == 0
    # The followers with a persisted snapshot are past it and keep following.
    for name in ("live", "late"):
        _caught_up(world, world.followers[name], len(world.roots) - 1, world.roots[-1])
        assert _get(world.followers[name], "/healthz") == {"status": "ok"}


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/v1/accounts/-1", 400, "invalid_account_index"),
        ("GET", "/v1/accounts/99999999999999999999", 400, "invalid_account_index"),
        ("GET", "/v1/accounts/abc", 422, "invalid_request"),
        ("GET", "/v1/accounts/1000", 404, "unknown_account"),
        ("GET", "/v1/accounts/-5/proof", 400, "invalid_account_index"),
        ("GET", "/v1/batches/99", 404, "not_found"),
        ("GET", "/v1/batches/-1", 400, "invalid_batch_number"),
        ("GET", "/v1/batches/x", 422, "invalid_request"),
        ("GET", "/v1/batches?limit=0", 422, "invalid_request"),
        ("GET", "/v1/batches?start=-1", 422, "invalid_request"),
        ("GET", "/v1/withdrawals", 400, "invalid_query"),
        ("GET", "/v1/withdrawals?account=1&l1_recipient=0x00", 400, "invalid_query"),
        ("GET", "/v1/withdrawals?l1_recipient=0xZZ", 400, "invalid_query"),
        ("GET", "/v1/withdrawals?account=-1", 422, "invalid_request"),
        ("GET", "/v1/nothing", 404, "not_found"),
        ("POST", "/v1/transactions", 405, "read_only"),
        ("DELETE", "/v1/status", 405, "method_not_allowed"),
    ],
)
def test_bad_requests_get_4xx_in_the_error_shape(
    world: World, method: str, path: str, status: int, code: str
) -> None:
    live = world.followers["live"]
    response = httpx.request(method, live.url + path, timeout=10)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert set(response.json()["error"]) == {"code", "message"}
