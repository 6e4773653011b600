"""``rollcourt transfer / withdraw / balance / tx status`` against a real sequencer process
(devnet genesis accounts, no L1), ``deposit`` against a real L1 node with a deployed rollup, and
argument errors: one ``error:`` line, a non-zero exit code, never a traceback."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import Result

from l1.ckb.types import OutPoint
from l1.devnet_keys import DEVNET_KEYS
from l2.client.bridge import RollupL1, RollupParams
from l2.config import RollupConfig
from l2.preset import TEST
from l2.profile import OPTIMISTIC
from l2.state import create_genesis_state
from sequencer.config import DEVNET_GENESIS_BALANCE
from tests.cli.clitools import Node, invoke, run_cli
from tests.sequencer.procs import sequencer_proc
from tests.support.procs import Proc, free_port

pytestmark = [pytest.mark.e2e]

HASH = re.compile(r"0x[0-9a-f]{64}")


@pytest.fixture(scope="module")
def seq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    proc = sequencer_proc(tmp_path_factory.mktemp("seq"), extra=("--batch-interval", "3600"))
    proc.start().wait_healthy()
    yield proc
    proc.stop()


def l2(*args: str, env: dict[str, str] | None = None) -> Result:
    return invoke(*args, env={"ROLLCOURT_SEQUENCER_URL": "", **(env or {})})


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def one_error(result: Result, message: str, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    assert result.stderr == f"error: {message}\n"
    assert result.stdout == ""


def balance_json(seq: Proc, account: int) -> dict[str, object]:
    return dict(json.loads(ok(l2("balance", "--account", str(account), "--sequencer", seq.url,
                                 "--json")).stdout))  # fmt: skip


def test_transfer_then_balance_and_tx_status(seq: Proc) -> None:
    before = balance_json(seq, 1)
    assert before == {
        "account": 1,
        "public_key": "0x" + DEVNET_KEYS[1].public_key.hex(),
        "balance": "1000000",
        "balance_shannons": DEVNET_GENESIS_BALANCE,
        "nonce": 0,
        "pending_nonce": 0,
        "queued_nonces": [],
    }
    sent = ok(l2("transfer", "--key", "devnet:1", "--from", "1", "--to", "2",
                 "--amount", "12.5", "--fee", "0.001", "--sequencer", seq.url))  # fmt: skip
    lines = sent.stdout.splitlines()
    assert re.fullmatch(r"tx hash     0x[0-9a-f]{64}", lines[0]), lines
    assert lines[1:] == ["status      soft", "soft index  0"]
    assert sent.stderr == ("sent 12.5 CKB from account 1 to account 2 (fee 0.001 CKB, nonce 0)\n")
    tx_hash = lines[0].split()[-1]
    after = balance_json(seq, 1)
    assert after["balance_shannons"] == DEVNET_GENESIS_BALANCE - 1_250_000_000 - 100_000
    assert after["nonce"] == 1
    text = ok(l2("balance", "--account", "2", "--sequencer", seq.url))
    assert text.stdout.splitlines() == [
        "account     2",
        f"public key  0x{DEVNET_KEYS[2].public_key.hex()}",
        "balance     1000012.5 CKB (100001250000000 shannons)",
        "nonce       0",
    ]
    status = ok(l2("tx", "status", tx_hash, "--sequencer", seq.url))
    assert status.stdout.splitlines() == [
        f"tx hash     {tx_hash}", "status      soft", "soft index  0",
    ]  # fmt: skip
    waited = ok(l2("tx", "status", tx_hash, "--wait", "soft", "--sequencer", seq.url, "--json"))
    assert json.loads(waited.stdout)["hash"] == tx_hash
    # The environment variable names the sequencer too.
    env = ok(l2("tx", "status", tx_hash, "--json", env={"ROLLCOURT_SEQUENCER_URL": seq.url}))
    assert json.loads(env.stdout)["status"] == "soft"


def test_transfer_json_and_withdraw(seq: Proc) -> None:
    sent = ok(l2("transfer", "--key", "devnet:3", "--from", "3", "--to", "4", "--amount", "1",
                 "--sequencer", seq.url, "--json", "--wait", "soft"))  # fmt: skip
    body = json.loads(sent.stdout)
    assert (body["status"], body["amount"], body["fee"], body["nonce"]) == ("soft", 10**8, 0, 0)
    withdrawn = ok(l2("withdraw", "--key", "devnet:3", "--from", "3", "--amount", "61",
                      "--to-l1", "devnet:5", "--sequencer", seq.url, "--json"))  # fmt: skip
    body = json.loads(withdrawn.stdout)
    assert body["kind"] == "withdraw" and body["nonce"] == 1
    assert body["l1_recipient"] == "0x" + DEVNET_KEYS[5].lock_args.hex()
    assert body["receipt"]["withdrawal"]["amount"] == 61 * 10**8


def test_sequencer_refusals_are_one_line(seq: Proc) -> None:
    url = ("--sequencer", seq.url)
    one_error(l2("balance", "--account", "500", *url),
              "sequencer refused account 500: account 500 does not exist (unknown_account)")  # fmt: skip
    one_error(
        l2("transfer", "--key", "devnet:6", "--from", "6", "--to", "9999", "--amount", "1", *url),
        "sequencer refused the transfer: recipient account 9999 does not exist "
        "(next free index 10) (unknown_account)",
    )
    one_error(
        l2("withdraw", "--key", "devnet:6", "--from", "6", "--amount", "60", "--to-l1",
           "devnet:1", *url),
        "sequencer refused the withdrawal: withdrawal of 6000000000 is below the minimum "
        "6100000000 (an L1 cell's capacity) (amount_below_minimum)",
    )  # fmt: skip
    result = l2("transfer", "--key", "devnet:6", "--from", "6", "--to", "7",
                "--amount", "2000000", *url)  # fmt: skip
    assert result.exit_code == 1 and result.stderr.startswith(
        "error: sequencer refused the transfer: "
    ) and result.stderr.endswith("(insufficient_balance)\n")  # fmt: skip
    one_error(l2("tx", "status", "0x" + "ab" * 32, *url),
              f"sequencer refused the query: no transaction 0x{'ab' * 32} (not_found)")  # fmt: skip


def test_argument_errors(seq: Proc) -> None:
    url = ("--sequencer", seq.url)
    transfer = ("transfer", "--key", "devnet:6", "--from", "6", "--to", "7")
    one_error(l2(*transfer, "--amount", "1.5x", *url),
              "'1.5x' is not a CKB amount (write a decimal number like 12.5)", 2)  # fmt: skip
    one_error(l2(*transfer, "--amount", "0", *url), "amount must be positive, got '0'", 2)
    one_error(l2(*transfer, "--amount", "1", "--fee", "-1", *url),
              "--fee: amount must be positive, got '-1'", 2)  # fmt: skip
    one_error(l2(*transfer, "--amount", "1", "--wait", "posted", *url),
              "--wait must be one of soft, safe, final, got 'posted'", 2)  # fmt: skip
    one_error(
        l2("transfer", "--key", "devnet:7", "--from", "6", "--to", "7", "--amount", "1", *url),
        f"devnet:7 is not account 6's key (its public key is 0x{DEVNET_KEYS[6].public_key.hex()}"
        f", this key's is 0x{DEVNET_KEYS[7].public_key.hex()})",
        2,
    )
    one_error(l2("withdraw", "--key", "devnet:6", "--from", "6", "--amount", "61",
                 "--to-l1", "0x1234", *url),
              "lock args must be 20 bytes of hex (40 hex digits, blake160 of a public key), "
              "got '0x1234'", 2)  # fmt: skip
    one_error(l2("balance", "--account", "-1", *url),
              "--account must be an account index in 0..4294967295, got -1", 2)  # fmt: skip
    one_error(l2("tx", "status", "0x12", *url),
              "the transaction hash must be 32 bytes of hex (64 hex digits), got '0x12'", 2)  # fmt: skip
    dead = f"http://127.0.0.1:{free_port()}"
    one_error(l2("balance", "--account", "1", "--sequencer", dead),
              f"cannot connect to the sequencer at {dead} (is one running there?) "
              "(start one with `python -m sequencer`, or pass --sequencer URL)")  # fmt: skip
    one_error(l2("balance", "--account", "1", "--sequencer", "localhost:1"),
              "sequencer URL must start with http:// or https://, got 'localhost:1' "
              "(start one with `python -m sequencer`, or pass --sequencer URL)")  # fmt: skip
    one_error(l2("claim", "--key", "devnet:1"), "give exactly one of --withdrawal or --all", 2)
    one_error(l2("claim", "--key", "devnet:1", "--withdrawal", "0x12:0"),
              "--withdrawal must be TX_HASH:INDEX (0x + 64 hex digits), got '0x12:0'", 2)  # fmt: skip
    one_error(l2("deposit", "--key", "devnet:1", "--amount", "100", "--l2-key", "devnet:2",
                 "--rollup-id", "0x12"),
              "--rollup-id must be 32 bytes of hex (64 hex digits), got '0x12'", 2)  # fmt: skip
    one_error(l2("deposit", "--key", "devnet:1", "--amount", "100", "--l2-key", "nope",
                 "--rollup-id", "00" * 32),
              "--l2-key: 'nope' is neither a key file, a 32-byte hex private key, nor devnet:N "
              "(or a public key: pub:HEX)", 2)  # fmt: skip


def test_subprocess_error_has_no_traceback(seq: Proc, tmp_path: Path) -> None:
    done = run_cli("balance", "--account", "500", "--sequencer", seq.url, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == (
        "error: sequencer refused account 500: account 500 does not exist (unknown_account)\n"
    )
    assert "Traceback" not in done.stderr
    devnet = tmp_path / "devnet-data"
    devnet.mkdir()
    (devnet / "devnet.json").write_text(json.dumps({"roles": {"sequencer": {"url": seq.url}}}))
    done = run_cli("balance", "--account", "0", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["account"] == 0


@pytest.mark.slow
def test_deposit_into_a_deployed_rollup(node: Node, tmp_path: Path) -> None:
    l1 = RollupL1(node.client)
    proposer = DEVNET_KEYS[7]
    genesis = create_genesis_state(RollupConfig(0, bytes(32), 0, TEST, OPTIMISTIC))
    params = RollupParams(
        chain_id=0, bond=500 * 10**8, challenge_window=4, forced_inclusion_window=6,
        escape_timeout=20, l2_preset="test", genesis_root=genesis.get_root(),
        proposer_lock_hash=l1.lock_hash_of(proposer.private_key),
    )  # fmt: skip
    handle = l1.deploy_rollup(proposer.private_key, params)
    node.mine_until_committed("0x" + handle.creation_tx_hash.hex())
    rid = "0x" + handle.rollup_id.hex()
    one_error(l2("deposit", "--key", "devnet:1", "--amount", "200", "--l2-key", "devnet:2",
                 "--rollup-id", "00" * 32, "--rpc", node.url),
              f"no rollup 0x{'00' * 32} on the L1 at {node.url} (check --rollup-id)", 2)  # fmt: skip
    done = ok(l2("deposit", "--key", "devnet:1", "--amount", "200", "--l2-key", "devnet:2",
                 "--rollup-id", rid, "--rpc", node.url, "--json"))  # fmt: skip
    body = json.loads(done.stdout)
    assert HASH.fullmatch(body["tx_hash"]) and body["deposit_out_point"] == body["tx_hash"] + ":0"
    node.mine_until_committed(body["tx_hash"])
    # devnet.json's sequencer role names the rollup when --rollup-id is left out.
    devnet = tmp_path / "devnet-data"
    devnet.mkdir()
    (devnet / "devnet.json").write_text(json.dumps({"roles": {"sequencer": {"rollup_id": rid}}}))
    key_hex = "0x" + DEVNET_KEYS[3].public_key.hex()
    second = run_cli("deposit", "--key", "devnet:1", "--amount", "150", "--l2-key", key_hex,
                     "--rpc", node.url, "--json", cwd=tmp_path)  # fmt: skip
    assert second.returncode == 0, second.stderr
    second_hash = json.loads(second.stdout)["tx_hash"]
    node.mine_until_committed(second_hash)
    pending = l1.list_pending_deposits(handle.rollup_id)
    assert {(c.out_point, c.amount, c.args.public_key) for c in pending} == {
        (OutPoint(bytes.fromhex(body["tx_hash"][2:]), 0), 200 * 10**8, DEVNET_KEYS[2].public_key),
        (OutPoint(bytes.fromhex(second_hash[2:]), 0), 150 * 10**8, DEVNET_KEYS[3].public_key),
    }
    # No withdrawal cells yet: --all says so; an unknown cell is refused by name.
    one_error(l2("claim", "--key", "devnet:5", "--all", "--rollup-id", rid, "--rpc", node.url),
              f"no live withdrawal cells of 0x{DEVNET_KEYS[5].lock_args.hex()} in rollup {rid}")  # fmt: skip
    cell = f"0x{'cd' * 32}:0"
    one_error(l2("claim", "--key", "devnet:5", "--withdrawal", cell, "--rpc", node.url),
              f"withdrawal cell {cell} is not live (already claimed, or its batch is not "
              "finalized on L1 yet)")  # fmt: skip
