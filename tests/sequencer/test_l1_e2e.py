"""The sequencer on a real L1 (a test-spec node with ``--dev-rpc``; blocks are mined by the test
with ``generate_block``): the sequencer deploys its rollup, credits L1 deposits, posts batches
(soft -> posted -> safe -> final as blocks are mined), reports withdrawal cells that are then
claimed on L1; and a SIGKILL at ``after_l1_submit`` never leads to a second batch (R2)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from l1.ckb.types import OutPoint
from l1.devnet_keys import DEVNET_KEYS, derive_devnet_key
from l2.config import RollupConfig
from l2.preset import SHANNONS_PER_CKB, TEST
from l2.profile import OPTIMISTIC
from l2.tx import Transaction, Transfer, Withdraw, encode_record, sign_transaction
from tests.sequencer.procs import L1TestNode, running_l1_node, sequencer_proc
from tests.support.procs import Proc, free_port, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CKB = SHANNONS_PER_CKB
CHAIN_ID = 7
CHALLENGE = 4
SAFE = 1
PROPOSER = "devnet:7"
ALICE_L1, BOB_L1, OWNER, FEE_PAYER = (DEVNET_KEYS[i] for i in (1, 2, 3, 4))
#: L2 keys (account 0 = Alice, created by her deposit; account 1 = Bob).
ALICE_L2, BOB_L2 = (derive_devnet_key(i) for i in (100, 101))
ALICE_DEPOSIT, BOB_DEPOSIT = 1_000 * CKB, 400 * CKB
WITHDRAWAL = 300 * CKB


Node = L1TestNode


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with running_l1_node(tmp_path_factory.mktemp("l1-node")) as running:
        yield running


def start_sequencer(node: Node, data_dir: Path, **env: str) -> Proc:
    values = {
        "ROLLCOURT_SEQ_L1_URL": node.proc.url,
        "ROLLCOURT_SEQ_PROPOSER_KEY": PROPOSER,
        "ROLLCOURT_SEQ_PRESET": "test",
        "ROLLCOURT_SEQ_CHAIN_ID": str(CHAIN_ID),
        "ROLLCOURT_SEQ_CHALLENGE_WINDOW": str(CHALLENGE),
        "ROLLCOURT_SEQ_FORCED_INCLUSION_WINDOW": "50",
        "ROLLCOURT_SEQ_ESCAPE_TIMEOUT": "500",
        "ROLLCOURT_SEQ_SAFE_CONFIRMATIONS": str(SAFE),
        "ROLLCOURT_SEQ_DEPOSIT_CONFIRMATIONS": "1",
        "ROLLCOURT_SEQ_L1_POLL_INTERVAL": "0.2",
        "ROLLCOURT_SEQ_BATCH_INTERVAL": "0.5",
        **env,
    }
    return sequencer_proc(data_dir, env=values).start()


def get(proc: Proc, path: str) -> Any:
    response = httpx.get(proc.url + path, timeout=10)
    response.raise_for_status()
    return response.json()


def post_tx(proc: Proc, tx: Transaction) -> dict[str, Any]:
    response = httpx.post(
        proc.url + "/v1/transactions",
        json={"kind": "record", "record": "0x" + encode_record(tx).hex()},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def rollup_config(proc: Proc) -> RollupConfig:
    status = get(proc, "/v1/status")
    return RollupConfig(
        status["chain_id"], bytes.fromhex(status["rollup_id"][2:]), 0, TEST, OPTIMISTIC
    )


def balance(proc: Proc, index: int) -> int | None:
    response = httpx.get(f"{proc.url}/v1/accounts/{index}", timeout=10)
    return response.json()["balance"] if response.status_code == 200 else None


def l1_balance(node: Node, key_index: int) -> int:
    return node.client.get_balance(node.l1.lock_of(DEVNET_KEYS[key_index].private_key))


def batches(proc: Proc) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = get(proc, "/v1/batches")["batches"]
    return out


def all_final(proc: Proc) -> bool:
    listed = batches(proc)
    return (
        bool(listed)
        and get(proc, "/v1/status")["unbatched"] == 0
        and all(b["status"] == "final" for b in listed)
    )


def assert_batches_on_l1_once(node: Node, proc: Proc, acked: list[str]) -> None:
    """Every acknowledged transaction is in exactly one batch, and the L1 holds each of the
    sequencer's batches exactly once (same commitment)."""
    rollup_id = bytes.fromhex(get(proc, "/v1/status")["rollup_id"][2:])
    listed = [get(proc, f"/v1/batches/{b['number']}") for b in batches(proc)]
    included = Counter(h for b in listed for h in b["transactions"])
    assert all(included[h] == 1 for h in acked), included
    scan = node.l1.scan(rollup_id)
    on_l1 = [b.commitment for b in scan.batches]
    assert [c.serialize().hex() for c in on_l1 if c is not None] == [
        b["commitment"][2:] for b in listed
    ]
    assert [b["l1_tx_hash"] for b in listed] == ["0x" + b.tx_hash.hex() for b in scan.batches]


# ----------------------------------------------------------------------------- the flow
def test_deposit_transfer_post_finalize_withdraw_and_claim(node: Node, tmp_path: Path) -> None:
    proc = start_sequencer(node, tmp_path / "seq")
    try:
        proc.wait_healthy()
        config = rollup_config(proc)
        assert get(proc, "/v1/status")["poster"] == "l1"
        node.mine()  # the rollup's creation
        node.l1.find_rollup_cell(config.rollup_id)

        started = time.monotonic()
        node.l1.deposit(ALICE_L1.private_key, config.rollup_id, ALICE_L2.public_key, ALICE_DEPOSIT)
        node.mine()  # one block each: the queue order (hence the accounts) is Alice, then Bob
        node.l1.deposit(BOB_L1.private_key, config.rollup_id, BOB_L2.public_key, BOB_DEPOSIT)
        node.mine_until(lambda: balance(proc, 1) == BOB_DEPOSIT, "deposits credited on L2")
        deposit_latency = time.monotonic() - started
        assert balance(proc, 0) == ALICE_DEPOSIT
        # Polling again credits nothing twice (B1).
        time.sleep(1.0)
        node.mine()
        time.sleep(1.0)
        assert (balance(proc, 0), balance(proc, 1)) == (ALICE_DEPOSIT, BOB_DEPOSIT)
        assert get(proc, "/v1/status")["deposits_credited"] == 2

        acked = [
            post_tx(
                proc,
                sign_transaction(Transfer(0, 1, 100 * CKB, 0, 0), ALICE_L2.private_key, config),
            )["hash"],
            post_tx(
                proc,
                sign_transaction(
                    Withdraw(1, WITHDRAWAL, 0, 0, OWNER.lock_args), BOB_L2.private_key, config
                ),
            )["hash"],
        ]
        assert balance(proc, 1) == BOB_DEPOSIT + 100 * CKB - WITHDRAWAL

        # Posted, then safe, then final as blocks are mined.
        seen: list[str] = []

        def withdrawal_status() -> str:
            status: str = get(proc, f"/v1/transactions/{acked[1]}")["status"]
            if not seen or seen[-1] != status:
                seen.append(status)
            return status

        started = time.monotonic()
        node.mine_until(lambda: withdrawal_status() == "final", "the withdrawal final", 40)
        final_latency = time.monotonic() - started
        assert seen[0] == "soft" and seen[-2:] == ["safe", "final"], seen
        node.mine_until(lambda: all_final(proc), "every batch final", 40)
        assert get(proc, "/v1/status")["health"] == "ok"
        deposits = get(proc, "/v1/deposits")["deposits"]
        assert [
            (d["deposit_index"], d["to_index"], d["amount"], d["status"]) for d in deposits
        ] == [
            (0, 0, ALICE_DEPOSIT, "final"),
            (1, 1, BOB_DEPOSIT, "final"),
        ]
        assert get(proc, f"/v1/transactions/{deposits[0]['hash']}")["kind"] == "deposit"

        [withdrawal] = get(proc, f"/v1/withdrawals?l1_recipient=0x{OWNER.lock_args.hex()}")[
            "withdrawals"
        ]
        assert withdrawal["claimable"] is True
        assert withdrawal["amount"] == WITHDRAWAL
        out_point = OutPoint(
            bytes.fromhex(withdrawal["l1_out_point"]["tx_hash"][2:]),
            withdrawal["l1_out_point"]["index"],
        )
        before = l1_balance(node, OWNER.index)
        claim = node.l1.claim_withdrawal(
            OWNER.private_key, out_point, fee_payer_key=FEE_PAYER.private_key
        )
        node.mine()
        assert node.l1.get_tx_status(claim) == "committed"
        assert l1_balance(node, OWNER.index) - before == WITHDRAWAL

        assert_batches_on_l1_once(node, proc, acked)
        print(
            f"deposit credited after {deposit_latency:.2f}s; withdrawal soft->final in "
            f"{final_latency:.2f}s; statuses {seen}"
        )
    finally:
        proc.stop()


@pytest.mark.parametrize("mine_before_restart", [True, False], ids=["committed", "in-pool"])
def test_kill_at_after_l1_submit_posts_the_batch_once(
    node: Node, tmp_path: Path, mine_before_restart: bool
) -> None:
    data_dir = tmp_path / "seq"
    proc = start_sequencer(node, data_dir, ROLLCOURT_CRASHPOINT="after_l1_submit")
    proc.wait_healthy()
    config = rollup_config(proc)
    node.mine()
    node.l1.deposit(ALICE_L1.private_key, config.rollup_id, ALICE_L2.public_key, ALICE_DEPOSIT)
    node.mine()
    assert proc.process is not None
    wait_until(lambda: proc.process.poll() is not None, 30, 0.1, "the crash at after_l1_submit")
    # The SubmitBatch is out (in the pool) and the store says "sealed".  Committed before the
    # restart: the L1 says batch 0 is taken -> reconcile from the scan.  Still in the pool: the
    # recorded intent is found there -> no second transaction.  Never a second batch 0.
    if mine_before_restart:
        node.mine()
        assert node.l1.find_rollup_cell(config.rollup_id).state.next_batch_number == 1

    proc = start_sequencer(node, data_dir)
    try:
        proc.wait_healthy()
        wait_until(lambda: batches(proc)[0]["status"] != "sealed", 20, 0.2, "reconciled")
        [batch0] = batches(proc)
        assert batch0["l1_tx_hash"] is not None
        if not mine_before_restart:
            node.mine()
            assert node.l1.get_tx_status(bytes.fromhex(batch0["l1_tx_hash"][2:])) == "committed"
        # The sequencer continues: a transfer lands in batch 1, posted after batch 0.
        acked = [
            post_tx(
                proc,
                sign_transaction(Transfer(0, 0, CKB, 0, 0), ALICE_L2.private_key, config),
            )["hash"]
        ]
        node.mine_until(lambda: all_final(proc) and len(batches(proc)) == 2, "batch 1 final", 40)
        assert node.l1.find_rollup_cell(config.rollup_id).state.next_batch_number == 2
        assert_batches_on_l1_once(node, proc, acked)
    finally:
        proc.stop()


def test_an_unreachable_l1_degrades_without_a_crash(tmp_path: Path) -> None:
    """R6: the L1 is down (nothing listens): the sequencer runs, says why it is degraded, keeps
    retrying with backoff, and serves the API."""
    proc = sequencer_proc(
        tmp_path,
        env={
            "ROLLCOURT_SEQ_L1_URL": f"http://127.0.0.1:{free_port()}",
            "ROLLCOURT_SEQ_PROPOSER_KEY": PROPOSER,
            "ROLLCOURT_SEQ_ROLLUP_ID": "ab" * 32,
            "ROLLCOURT_SEQ_PRESET": "test",
            "ROLLCOURT_SEQ_L1_POLL_INTERVAL": "0.1",
            "ROLLCOURT_SEQ_L1_MAX_BACKOFF": "0.5",
        },
    ).start()
    try:
        proc.wait_healthy()
        status = wait_until(
            lambda: (s := get(proc, "/v1/status"))["health"] == "degraded" and s,
            10,
            0.1,
            "degraded",
        )
        assert any("l1 watcher" in r and "ConnectError" in r for r in status["degraded_reasons"])
        time.sleep(1.5)
        assert proc.process is not None and proc.process.poll() is None
        assert get(proc, "/healthz")["status"] == "degraded"
        assert status["rollup_id"] == "0x" + "ab" * 32 and status["heads"]["safe"]["batch"] is None
    finally:
        proc.stop()
