"""The user story end to end, through the ``rollcourt`` CLI (``python -m rollcourt`` subprocesses)
wherever a command exists; the SDK and the REST APIs are only used to check.

A real L1 node (test spec, ``--dev-rpc``; the test mines with ``generate_block``), a sequencer
that deploys its rollup on it (challenge window of 4 blocks), and a follower started with the
sequencer's rollup id:

1. three devnet L1 keys deposit to three fresh L2 keys (``rollcourt keys new --out``);
2. transfers between the three accounts (``--wait soft``), a batch posted and safe
   (``rollcourt tx status --wait safe`` while blocks are mined);
3. the follower derives the sequencer's roots and balances;
4. a withdrawal to ``devnet:5``: while its batch is only posted there is no withdrawal cell to
   claim; once the sequencer finalized the batch on L1 (after the challenge window, no open
   game) the claim succeeds (the L1 balance grows by the amount minus the claim's L1 fee), and
   is refused once spent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from l1.ckb.types import OutPoint
from l1.client import L1Client
from l1.devnet_keys import DEVNET_KEYS
from l2.client.bridge import DEFAULT_FEE, RollupL1
from l2.client.sequencer import SequencerClient
from l2.preset import SHANNONS_PER_CKB
from tests.sequencer.procs import sequencer_proc
from tests.support.procs import ROOT, Proc, free_port, l1_node, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CKB = SHANNONS_PER_CKB
CHALLENGE = 4
PROPOSER = "devnet:7"
#: The L1 keys paying the deposits (one L2 account each, in this order) and the withdrawal's
#: L1 recipient, which takes part in nothing else.
DEPOSITORS = (1, 2, 3)
DEPOSITS = (1_000 * CKB, 400 * CKB, 250 * CKB)
RECIPIENT = 5
WITHDRAWAL = 300 * CKB
FEE = CKB // 1000  # 0.001 CKB, to the sequencer's fee account (account 0)


# ----------------------------------------------------------------------------- helpers
@dataclass
class Net:
    """The L1 (mined by hand) and a way to run the CLI against it and the sequencer."""

    client: L1Client
    bridge: RollupL1
    seq_url: str
    tmp: Path

    def mine(self, count: int = 1) -> None:
        for _ in range(count):
            self.client.generate_block()

    def mine_until(self, predicate: Callable[[], Any], what: str, blocks: int = 30) -> Any:
        """Mine one block at a time, letting the processes poll in between, until
        ``predicate``."""
        for _ in range(blocks):
            try:
                return wait_until(predicate, 1.0, 0.1, what)
            except TimeoutError:
                self.mine()
        return wait_until(predicate, 5, 0.1, what)

    def cli(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "rollcourt", *args],
            cwd=self.tmp,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if ok:
            assert done.returncode == 0, (args, done.stdout, done.stderr)
            assert "Traceback" not in done.stderr
        return done

    def env(self) -> dict[str, str]:
        """The test runner's environment without its ROLLCOURT_* settings; the sequencer URL
        through ``$ROLLCOURT_SEQUENCER_URL``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLCOURT_")}
        env["PYTHONPATH"] = str(ROOT)
        env["ROLLCOURT_SEQUENCER_URL"] = self.seq_url
        return env

    def l1_balance(self, key_index: int) -> int:
        return self.client.get_balance(self.bridge.lock_of(DEVNET_KEYS[key_index].private_key))


def get(proc: Proc, path: str, **params: Any) -> Any:
    response = httpx.get(proc.url + path, params=params, timeout=10)
    assert response.status_code == 200, (path, response.status_code, response.text)
    return response.json()


def follower_proc(data_dir: Path, l1_url: str, rollup_id: str) -> Proc:
    port = free_port()
    args = [sys.executable, "-m", "sequencer", "--follow", "--l1", l1_url,
            "--rollup-id", rollup_id.removeprefix("0x"), "--data-dir", str(data_dir),
            "--port", str(port), "--poll-interval", "0.2", "--log-level", "warning"]  # fmt: skip
    return Proc(args, data_dir / "follower.log", f"http://127.0.0.1:{port}")


def rows(stdout: str) -> dict[str, str]:
    """The ``label  value`` lines of the CLI's text output."""
    out: dict[str, str] = {}
    for line in stdout.splitlines():
        label, _, value = line.partition("  ")
        out[label.strip()] = value.strip()
    return out


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0].removeprefix("error: ")


def balances(proc: Proc, count: int) -> list[int]:
    return [get(proc, f"/v1/accounts/{i}")["balance"] for i in range(count)]


# ----------------------------------------------------------------------------- the story
def test_deposit_transfer_follow_withdraw_and_claim(tmp_path: Path, procs: list[Proc]) -> None:
    # 1. An L1 node, a sequencer that deploys its rollup there, a follower of that rollup.
    l1 = l1_node(tmp_path / "l1").start()
    procs.append(l1)
    l1.wait_healthy()
    client = L1Client(l1.url)
    client.generate_block()
    seq = sequencer_proc(
        tmp_path / "seq",
        env={
            "ROLLCOURT_SEQ_L1_URL": l1.url,
            "ROLLCOURT_SEQ_PROPOSER_KEY": PROPOSER,
            "ROLLCOURT_SEQ_PRESET": "test",
            "ROLLCOURT_SEQ_CHAIN_ID": "9",
            "ROLLCOURT_SEQ_CHALLENGE_WINDOW": str(CHALLENGE),
            "ROLLCOURT_SEQ_FORCED_INCLUSION_WINDOW": "50",
            "ROLLCOURT_SEQ_ESCAPE_TIMEOUT": "500",
            "ROLLCOURT_SEQ_SAFE_CONFIRMATIONS": "1",
            "ROLLCOURT_SEQ_DEPOSIT_CONFIRMATIONS": "1",
            "ROLLCOURT_SEQ_L1_POLL_INTERVAL": "0.2",
            "ROLLCOURT_SEQ_BATCH_INTERVAL": "0.5",
        },
    )
    procs.append(seq.start())
    seq.wait_healthy()
    status = get(seq, "/v1/status")
    assert (status["poster"], status["fee_account"]) == ("l1", 0)
    rollup_id: str = status["rollup_id"]
    bridge = RollupL1(client)
    net = Net(client, bridge, seq.url, tmp_path)
    sdk = SequencerClient(seq.url)
    net.mine_until(
        lambda: bridge.find_rollup_cell(bytes.fromhex(rollup_id[2:])), "the rollup deployed"
    )
    follower = follower_proc(tmp_path / "follower", l1.url, rollup_id)
    procs.append(follower.start())
    follower.wait_healthy()
    assert get(follower, "/v1/status")["rollup_id"] == rollup_id

    # 2. Deposits from three devnet L1 keys to three fresh L2 keys.
    keys: list[Path] = []
    public_keys: list[str] = []
    for name in ("alice", "bob", "carol"):
        path = tmp_path / f"{name}.json"
        made = json.loads(net.cli("keys", "new", "--out", str(path), "--json").stdout)
        assert made["key_file"] == str(path) and path.exists()
        keys.append(path)
        public_keys.append(made["public_key"])
    for depositor, key, amount in zip(DEPOSITORS, keys, DEPOSITS, strict=True):
        done = net.cli("deposit", "--key", f"devnet:{depositor}", "--amount",
                       str(amount // CKB), "--l2-key", str(key), "--rollup-id", rollup_id,
                       "--rpc", l1.url)  # fmt: skip
        tx_hash = rows(done.stdout)["tx hash"]
        assert rows(done.stdout)["deposit"] == f"{tx_hash}:0"
        assert done.stderr.startswith(f"deposited {amount // CKB} CKB for L2 key ")
        net.mine()  # one block each: the deposit queue (and account) order is the CLI order
        assert bridge.get_tx_status(bytes.fromhex(tx_hash[2:])) == "committed"
    net.mine_until(
        lambda: get(seq, "/v1/status")["deposits_credited"] == 3, "the deposits credited"
    )
    deposits = get(seq, "/v1/deposits")["deposits"]
    assert [(d["to_index"], d["amount"]) for d in deposits] == list(enumerate(DEPOSITS))
    for index, (public_key, amount) in enumerate(zip(public_keys, DEPOSITS, strict=True)):
        shown = rows(net.cli("balance", "--account", str(index)).stdout)
        assert shown == {
            "account": str(index),
            "public key": public_key,
            "balance": f"{amount // CKB} CKB ({amount} shannons)",
            "nonce": "0",
        }

    # 3. Transfers from every account, a fee to account 0; a batch posted, then safe.
    transfers = [(0, 1, 100 * CKB, "0"), (1, 2, 50 * CKB, "0.001"), (2, 0, 25 * CKB, "0")]
    hashes = []
    for sender, to, amount, fee in transfers:
        done = net.cli("transfer", "--key", str(keys[sender]), "--from", str(sender), "--to",
                       str(to), "--amount", str(amount // CKB), "--fee", fee,
                       "--wait", "soft")  # fmt: skip
        shown = rows(done.stdout)
        assert shown["status"] == "soft"
        assert done.stderr == (
            f"sent {amount // CKB} CKB from account {sender} to account {to} (fee {fee} CKB, "
            "nonce 0)\n"
        )
        hashes.append(shown["tx hash"])
    expected = [
        DEPOSITS[0] - 100 * CKB + 25 * CKB + FEE,
        DEPOSITS[1] + 100 * CKB - 50 * CKB - FEE,
        DEPOSITS[2] + 50 * CKB - 25 * CKB,
    ]
    assert balances(seq, 3) == expected
    assert sum(expected) == sum(DEPOSITS)

    # `tx status --wait safe` waits while blocks are mined.
    waiting = subprocess.Popen(
        [sys.executable, "-m", "rollcourt", "tx", "status", hashes[-1], "--wait", "safe",
         "--timeout", "90"],
        cwd=tmp_path, env=net.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        net.mine_until(lambda: waiting.poll() is not None, "`tx status --wait safe` to return")
        stdout, stderr = waiting.communicate(timeout=10)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.communicate()
    assert waiting.returncode == 0, stderr
    shown = rows(stdout)
    assert (shown["tx hash"], shown["status"]) == (hashes[-1], "safe")
    batch_number = int(shown["batch"].split()[0])
    assert shown["batch"] == f"{batch_number} (safe)"
    for tx_hash in hashes:
        view = sdk.get_transaction(tx_hash)
        assert view.status == "safe" and view.batch is not None
        assert view.batch["number"] <= batch_number
    assert get(seq, "/v1/status")["unbatched"] == 0

    # 4. The follower derives the same roots and the same balances.
    seq_batches = get(seq, "/v1/batches")["batches"]
    assert [b["number"] for b in seq_batches] == list(range(batch_number + 1))
    tip = client.get_tip_block_number()

    def follower_caught_up() -> dict[str, Any] | None:
        status = get(follower, "/v1/status")
        if (
            status["l1"]["processed_block"] >= tip
            and status["derivation"]["batches"] == batch_number + 1
        ):
            return status  # type: ignore[no-any-return]
        return None

    followed = wait_until(follower_caught_up, 60, 0.2, "the follower at the sequencer's batch")
    assert followed["derivation"]["findings"] == 0
    derived = get(follower, "/v1/batches")["batches"]
    assert [(b["number"], b["derived_root"], b["new_root"]) for b in derived] == [
        (b["number"], b["new_root"], b["new_root"]) for b in seq_batches
    ]
    assert followed["heads"]["safe"]["state_root"] == seq_batches[-1]["new_root"]
    assert get(seq, "/v1/status")["heads"]["safe"]["state_root"] == seq_batches[-1]["new_root"]
    assert balances(follower, 3) == expected
    assert [get(follower, f"/v1/accounts/{i}")["nonce"] for i in range(3)] == [1, 1, 1]

    # 5. A withdrawal to devnet:5; its claim waits for the batch's finalization on L1.
    l1_before = net.l1_balance(RECIPIENT)
    done = net.cli("withdraw", "--key", str(keys[1]), "--from", "1", "--amount",
                   str(WITHDRAWAL // CKB), "--to-l1", f"devnet:{RECIPIENT}",
                   "--wait", "soft")  # fmt: skip
    withdrawal_hash = rows(done.stdout)["tx hash"]
    lock_args = "0x" + DEVNET_KEYS[RECIPIENT].lock_args.hex()
    assert done.stderr == (
        f"withdrawing {WITHDRAWAL // CKB} CKB from account 1 to L1 lock args {lock_args} "
        "(fee 0 CKB, nonce 1)\n"
    )
    expected[1] -= WITHDRAWAL

    def withdrawal_safe() -> dict[str, Any] | None:
        [entry] = get(seq, "/v1/withdrawals", l1_recipient=lock_args)["withdrawals"]
        return entry if entry["status"] == "safe" else None

    entry = net.mine_until(withdrawal_safe, "the withdrawal's batch committed on L1")
    assert (entry["tx_hash"], entry["amount"], entry["claimable"], entry["l1_out_point"]) == (
        withdrawal_hash,
        WITHDRAWAL,
        False,
        None,
    )
    claim = ("claim", "--key", f"devnet:{RECIPIENT}", "--rollup-id", rollup_id, "--rpc", l1.url)
    # Too early: the batch is not finalized, so its withdrawal cell does not exist yet.
    no_cell = f"no live withdrawal cells of {lock_args} in rollup {rollup_id}"
    assert one_error_line(net.cli(*claim, "--all", ok=False)) == no_cell
    assert net.l1_balance(RECIPIENT) == l1_before

    # The sequencer finalizes the batch once its window passed: the cell exists, claimable.
    def withdrawal_claimable() -> dict[str, Any] | None:
        [entry] = get(seq, "/v1/withdrawals", l1_recipient=lock_args)["withdrawals"]
        point = entry["l1_out_point"]
        if not entry["claimable"] or point is None:
            return None
        cell = OutPoint(bytes.fromhex(point["tx_hash"][2:]), point["index"])
        return entry if bridge.get_live_cell(cell) is not None else None

    entry = net.mine_until(withdrawal_claimable, "the withdrawal claimable")
    assert entry["status"] == "final"
    cell = f"{entry['l1_out_point']['tx_hash']}:{entry['l1_out_point']['index']}"
    assert sdk.get_transaction(withdrawal_hash).status == "final"
    done = net.cli(*claim, "--all", "--json")
    [claimed] = json.loads(done.stdout)["claims"]
    assert claimed["withdrawal"] == cell
    claim_tx = bytes.fromhex(claimed["tx_hash"][2:])
    # Again while the claim is in the L1 pool: refused in one line that names the pending claim.
    pending = one_error_line(net.cli(*claim, "--withdrawal", cell, ok=False))
    assert pending.startswith(f"a claim of {cell} is already pending on L1"), pending
    assert f"PoolDuplicate: transaction {claim_tx.hex()} is already in the pool" in pending
    net.mine_until(lambda: bridge.get_tx_status(claim_tx) == "committed", "the claim committed")
    assert net.l1_balance(RECIPIENT) - l1_before == WITHDRAWAL - DEFAULT_FEE
    assert balances(seq, 3) == expected

    # Spent: claiming again is refused, by name and with --all.
    again = one_error_line(net.cli(*claim, "--withdrawal", cell, ok=False))
    assert again == (
        f"withdrawal cell {cell} is not live (already claimed, or its batch is not finalized on "
        "L1 yet)"
    )
    again_all = one_error_line(net.cli(*claim, "--all", ok=False))
    assert again_all == f"no live withdrawal cells of {lock_args} in rollup {rollup_id}"
    assert net.l1_balance(RECIPIENT) - l1_before == WITHDRAWAL - DEFAULT_FEE

    # The follower agrees on the final state too.
    seq_batches = get(seq, "/v1/batches")["batches"]
    last = seq_batches[-1]
    tip = client.get_tip_block_number()
    wait_until(
        lambda: (
            (s := get(follower, "/v1/status"))["l1"]["processed_block"] >= tip
            and s["derivation"]["batches"] == len(seq_batches)
        ),
        60,
        0.2,
        "the follower at the withdrawal's batch",
    )
    assert get(follower, f"/v1/batches/{last['number']}")["derived_root"] == last["new_root"]
    assert balances(follower, 3) == expected
    client.close()
    sdk.close()
