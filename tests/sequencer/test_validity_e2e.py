"""Validity mode end to end (docs/validity.md), every role its own process on 127.0.0.1: a real L1
node (test spec, mined by the test), the prover service on the ``test`` circuit, a sequencer on
the ``validity-test`` preset that deploys the prover's verification key and its rollup, and a
follower deriving the L2 from L1 alone.

Deposit, transfers and a withdrawal; the prover is killed with SIGKILL while the batch waits
for its proof and restarted (its job survives); the batch lands on L1 *with* its proof and is
final in that very block (no challenge window); the withdrawal cell is claimed on L1 in the next
block; the follower derives the same root.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from l1.ckb.types import OutPoint
from l1.core.scripts.rollup.layout import SubmitProvenBatch
from l1.devnet_keys import DEVNET_KEYS
from l2.client.sequencer import SequencerClient
from l2.preset import SHANNONS_PER_CKB
from l2.profile import VALIDITY
from tests.sequencer.procs import running_l1_node, sequencer_proc
from tests.support.procs import Proc, free_port, wait_until
from tests.support.validity import get_test_artifacts

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CKB = SHANNONS_PER_CKB
ALICE, BOB, RECIPIENT = DEVNET_KEYS[1], DEVNET_KEYS[2], DEVNET_KEYS[5]


def prover_proc(data_dir: Path, port: int) -> Proc:
    args = [sys.executable, "-m", "prover", "--data-dir", str(data_dir), "--preset", "test",
            "--port", str(port), "--log-level", "warning"]  # fmt: skip
    return Proc(args, data_dir / "prover.log", f"http://127.0.0.1:{port}")


def prover_data_dir(tmp_path: Path) -> Path:
    """A data dir of its own (lock, job database) holding the shared cached setup of the
    ``test`` circuit (a symlink: the setup is ~15 s and identical)."""
    artifacts = get_test_artifacts()
    data_dir = tmp_path / "prover-data"
    (data_dir / "prover").mkdir(parents=True)
    os.symlink(artifacts.directory, data_dir / "prover" / artifacts.directory.name)
    return data_dir


def is_healthy(proc: Proc) -> bool:
    try:
        return httpx.get(proc.url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def get(url: str, path: str) -> Any:
    response = httpx.get(url + path, timeout=10)
    assert response.status_code == 200, (path, response.text)
    return response.json()


def test_validity_rollup_end_to_end(tmp_path: Path, procs: list[Proc]) -> None:
    with running_l1_node(tmp_path / "l1") as node:
        prover_port = free_port()
        prover_dir = prover_data_dir(tmp_path)
        prover = prover_proc(prover_dir, prover_port).start()
        procs.append(prover)
        prover.wait_healthy()
        seq = sequencer_proc(
            tmp_path / "seq",
            env={
                "ROLLCOURT_SEQ_L1_URL": node.proc.url,
                "ROLLCOURT_SEQ_PROPOSER_KEY": "devnet:7",
                "ROLLCOURT_SEQ_PRESET": "validity-test",
                "ROLLCOURT_SEQ_PROVER_URL": prover.url,
                "ROLLCOURT_SEQ_SAFE_CONFIRMATIONS": "1",
                "ROLLCOURT_SEQ_DEPOSIT_CONFIRMATIONS": "1",
                "ROLLCOURT_SEQ_L1_POLL_INTERVAL": "0.2",
                "ROLLCOURT_SEQ_BATCH_INTERVAL": "0.5",
            },
        )
        # The sequencer deploys the verification key (and waits for it to commit) at start.
        procs.append(seq.start())
        node.mine_until(lambda: is_healthy(seq), "the sequencer deployed", blocks=40)
        status = get(seq.url, "/v1/status")
        assert status["preset"] == "validity-test"
        rollup_id = bytes.fromhex(status["rollup_id"][2:])
        cell = node.mine_until(
            lambda: node.l1.find_rollup_cell(rollup_id), "the rollup deployed", blocks=10
        )
        vk_hash = get(prover.url, "/v1/health")["verifying_key_hash"]
        assert cell.state.verifying_key_hash.hex() == vk_hash.removeprefix("0x")
        follower_port = free_port()
        follower = Proc(
            [sys.executable, "-m", "sequencer", "--follow", "--l1", node.proc.url,
             "--rollup-id", rollup_id.hex(), "--data-dir", str(tmp_path / "follower"),
             "--port", str(follower_port), "--poll-interval", "0.2", "--log-level", "warning"],
            tmp_path / "follower" / "follower.log",
            f"http://127.0.0.1:{follower_port}",
        )  # fmt: skip
        procs.append(follower.start())
        follower.wait_healthy()

        # Deposits name Baby Jubjub keys (32 bytes) derived from the same private keys.
        alice_l2 = VALIDITY.compute_public_key(ALICE.private_key)
        bob_l2 = VALIDITY.compute_public_key(BOB.private_key)
        node.l1.deposit(ALICE.private_key, rollup_id, alice_l2, 1_000 * CKB)
        node.mine()
        node.l1.deposit(BOB.private_key, rollup_id, bob_l2, 400 * CKB)
        node.mine()
        sdk = SequencerClient(seq.url)
        node.mine_until(
            lambda: get(seq.url, "/v1/status")["deposits_credited"] == 2, "deposits credited"
        )
        assert sdk.get_account(0).public_key == alice_l2

        # The first batch (the two deposits) is proven and posted: final at once.
        node.mine_until(
            lambda: get(seq.url, "/v1/status")["heads"]["final"]["batch"] == 0,
            "batch 0 final",
            blocks=60,
        )

        # A transfer and a withdrawal: one batch of two; the prover dies while it waits.
        sdk.submit_transfer(BOB.private_key, 1, 0, 100 * CKB, fee=1000)
        view = sdk.submit_withdraw(ALICE.private_key, 0, 300 * CKB, RECIPIENT.lock_args)
        wait_until(
            lambda: (
                get(prover.url, "/v1/health")["jobs"]["queued"]
                + get(prover.url, "/v1/health")["jobs"]["proving"]
                > 0
            ),
            60,
            0.2,
            "the batch's job queued at the prover",
        )
        prover.kill()
        assert sdk.get_transaction(view.hash).status == "soft"
        prover = prover_proc(prover_dir, prover_port).start()
        procs.append(prover)
        prover.wait_healthy()
        final = node.mine_until(
            lambda: sdk.get_transaction(view.hash).status == "final", "withdrawal final", 80
        )
        assert final
        batch = sdk.get_transaction(view.hash).batch
        assert batch is not None

        # On L1: a SubmitProvenBatch, final in its own block.
        scan = node.l1.scan(rollup_id)
        proven = [b for b in scan.batches if b.batch_number == batch["number"]]
        assert len(proven) == 1 and isinstance(proven[0].action, SubmitProvenBatch)
        assert proven[0].state.next_final_batch == batch["number"] + 1
        assert scan.is_final(proven[0])

        # The withdrawal cell is claimable at once (the next block).
        withdrawal = sdk.get_withdrawals(account=0)[0]
        assert withdrawal["claimable"] is True
        out_point = OutPoint(
            bytes.fromhex(withdrawal["l1_out_point"]["tx_hash"][2:]),
            withdrawal["l1_out_point"]["index"],
        )
        before = node.client.get_balance(node.l1.lock_of(RECIPIENT.private_key))
        node.l1.claim_withdrawal(RECIPIENT.private_key, out_point)
        node.mine_until(
            lambda: node.client.get_balance(node.l1.lock_of(RECIPIENT.private_key)) > before,
            "the claim committed",
        )
        gained = node.client.get_balance(node.l1.lock_of(RECIPIENT.private_key)) - before
        assert 299 * CKB < gained <= 300 * CKB

        # The follower, from L1 blocks and blobs alone, agrees.
        seq_final = get(seq.url, "/v1/status")["heads"]["final"]
        node.mine_until(
            lambda: (
                get(follower.url, "/v1/status")["heads"]["final"]["batch"] == seq_final["batch"]
            ),
            "the follower caught up",
        )
        follower_status = get(follower.url, "/v1/status")
        assert follower_status["heads"]["final"]["state_root"] == seq_final["state_root"]
        assert follower_status["derivation"]["findings"] == 0
        # Account 0 is also the fee account: it received the transfer's fee.
        assert sdk.get_account(0).balance == 1_000 * CKB + 100 * CKB - 300 * CKB + 1000
        assert get(prover.url, "/v1/health")["jobs"]["failed"] == 0
