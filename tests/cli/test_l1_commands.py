"""``rollcourt l1`` against a real node process: transfers, balances, the tip, and errors."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from l1.devnet_keys import DEVNET_KEYS
from tests.cli.clitools import Node, cli_env, invoke
from tests.support.procs import ROOT, free_port, wait_until


def _new_key_file(tmp_path: Path, name: str = "bob.json") -> tuple[Path, str]:
    path = tmp_path / name
    result = invoke("keys", "new", "--out", str(path), "--json")
    assert result.exit_code == 0, result.output
    return path, json.loads(result.stdout)["lock_args"]


def _balance(node: Node, *args: str) -> dict[str, object]:
    result = invoke("l1", "balance", *args, "--rpc", node.url, "--json")
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


@pytest.mark.e2e
def test_transfer_then_balance_shows_exactly_the_amount(node: Node, tmp_path: Path) -> None:
    key_file, lock_args = _new_key_file(tmp_path)
    assert _balance(node, "--lock-args", lock_args) == {
        "lock_args": lock_args,
        "lock": {
            "code_hash": "0x9bd7e06f3ecf4be0f2fcd2188b23f1b9fcc88e5d4b65a8637b17723bbda3cce8",
            "hash_type": "type",
            "args": lock_args,
        },
        "capacity": "0",
        "capacity_shannons": 0,
        "cells": 0,
    }

    sent = invoke(
        "l1", "transfer", "--key", "devnet:0", "--to", lock_args, "--amount", "100.12345678",
        "--rpc", node.url,
    )  # fmt: skip
    assert sent.exit_code == 0, sent.output
    assert re.fullmatch(r"tx hash    0x[0-9a-f]{64}\n", sent.stdout), sent.stdout
    tx_hash = sent.stdout.split()[-1]
    assert sent.stderr == (
        f"sent 100.12345678 CKB from 0x{DEVNET_KEYS[0].lock_args.hex()} to {lock_args} "
        "(fee 0.00000658 CKB, 1 input)\n"
    )
    assert node.client.call("get_transaction", tx_hash)["tx_status"]["status"] == "pending"

    node.mine_until_committed(tx_hash)
    assert _balance(node, "--key", str(key_file))["capacity_shannons"] == 10_012_345_678
    text = invoke("l1", "balance", "--lock-args", lock_args, "--rpc", node.url)
    assert text.exit_code == 0, text.output
    assert text.stdout.splitlines() == [
        f"lock args  {lock_args}",
        "capacity   100.12345678 CKB (10012345678 shannons)",
        "cells      1",
    ]


@pytest.mark.e2e
def test_sender_pays_exactly_amount_plus_fee(node: Node, tmp_path: Path) -> None:
    # devnet:1 is not the miner (rewards go to devnet:0), so its balance moves only by the tx.
    before = _balance(node, "--key", "devnet:1")["capacity_shannons"]
    _, lock_args = _new_key_file(tmp_path)
    sent = invoke(
        "l1", "transfer", "--key", "devnet:1", "--to", lock_args, "--amount", "61",
        "--fee-rate", "2000", "--rpc", node.url, "--json",
    )  # fmt: skip
    assert sent.exit_code == 0, sent.output
    receipt = json.loads(sent.stdout)
    assert receipt["amount_shannons"] == 6_100_000_000
    assert receipt["from"] == "0x" + DEVNET_KEYS[1].lock_args.hex()
    assert receipt["block_number"] is None
    node.mine_until_committed(receipt["tx_hash"])
    after = _balance(node, "--key", "devnet:1")["capacity_shannons"]
    assert isinstance(before, int) and isinstance(after, int)
    assert before - after == 6_100_000_000 + receipt["fee_shannons"]
    assert receipt["fee_shannons"] > 0
    assert _balance(node, "--lock-args", lock_args)["capacity_shannons"] == 6_100_000_000


@pytest.mark.e2e
def test_transfer_wait_reports_the_committing_block(node: Node, tmp_path: Path) -> None:
    _, lock_args = _new_key_file(tmp_path)
    process = subprocess.Popen(
        [
            sys.executable, "-m", "rollcourt", "l1", "transfer", "--key", "devnet:2",
            "--to", lock_args, "--amount", "70", "--wait", "--timeout", "300",
            "--rpc", node.url,
        ],
        cwd=ROOT, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        # Mine only once the transfer is in the pool, then until --wait returns.
        wait_until(
            lambda: node.client.call("get_raw_tx_pool")["pending"] or process.poll() is not None,
            timeout=120,
            what="the transfer in the pool",
        )
        while process.poll() is None:
            node.client.call("generate_block")
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(0.5)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    lines = stdout.splitlines()
    tx_hash = lines[0].split()[-1]
    status = node.client.call("get_transaction", tx_hash)["tx_status"]
    assert status["status"] == "committed"
    assert lines[1] == f"committed  block {int(status['block_number'], 16)} {status['block_hash']}"
    assert _balance(node, "--lock-args", lock_args)["capacity_shannons"] == 7_000_000_000


@pytest.mark.e2e
def test_back_to_back_transfers_do_not_reuse_pooled_inputs(node: Node, tmp_path: Path) -> None:
    # devnet:3 holds one genesis cell: once a transfer spends it in the pool, nothing is left.
    _, lock_args = _new_key_file(tmp_path)
    first = invoke(
        "l1", "transfer", "--key", "devnet:3", "--to", lock_args, "--amount", "100",
        "--rpc", node.url,
    )  # fmt: skip
    assert first.exit_code == 0, first.output
    second = invoke(
        "l1", "transfer", "--key", "devnet:3", "--to", lock_args, "--amount", "100",
        "--rpc", node.url,
    )  # fmt: skip
    assert second.exit_code == 1
    assert second.stderr.startswith("error: insufficient capacity: ")
    assert "20000000 CKB more is being spent by pending transactions" in second.stderr
    node.mine_until_committed(first.stdout.split()[-1])
    third = invoke(
        "l1", "transfer", "--key", "devnet:3", "--to", lock_args, "--amount", "100",
        "--rpc", node.url,
    )  # fmt: skip
    assert third.exit_code == 0, third.output
    node.mine_until_committed(third.stdout.split()[-1])
    balance = _balance(node, "--lock-args", lock_args)
    assert (balance["capacity_shannons"], balance["cells"]) == (20_000_000_000, 2)


@pytest.mark.e2e
def test_transfer_errors_from_the_node_side(node: Node, tmp_path: Path) -> None:
    key_file, lock_args = _new_key_file(tmp_path)
    empty = invoke(
        "l1", "transfer", "--key", str(key_file), "--to", "devnet:0", "--amount", "100",
        "--rpc", node.url,
    )  # fmt: skip
    assert empty.exit_code == 1
    assert empty.stderr == (
        f"error: insufficient capacity: {lock_args} has 0 CKB spendable in 0 cells, "
        "the transfer needs 100 CKB plus the fee\n"
    )
    too_small = invoke(
        "l1", "transfer", "--key", "devnet:0", "--to", lock_args, "--amount", "60.99999999",
        "--rpc", node.url,
    )  # fmt: skip
    assert too_small.exit_code == 1
    assert too_small.stderr == (
        "error: amount 60.99999999 CKB is below the 61 CKB a cell with this lock must hold "
        "(its occupied capacity)\n"
    )
    low_fee = invoke(
        "l1", "transfer", "--key", "devnet:4", "--to", lock_args, "--amount", "100",
        "--fee-rate", "0", "--rpc", node.url,
    )  # fmt: skip
    assert low_fee.exit_code == 1
    assert low_fee.stderr.startswith("error: L1 node rejected send_transaction: ")
    assert "PoolFeeRateTooLow" in low_fee.stderr
    for result in (empty, too_small, low_fee):
        assert "Traceback" not in result.output
        assert result.stdout == ""


@pytest.mark.e2e
def test_tip(node: Node) -> None:
    node.client.call("generate_block")
    tip = node.client.get_tip_header()
    result = invoke("l1", "tip", "--rpc", node.url, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    number = summary["tip_number"]
    assert number >= tip.raw.number >= 1
    header = node.client.call("get_header_by_number", hex(number))
    assert summary["tip_hash"] == header["hash"]
    assert summary["chain"] == "rollcourt-test"
    assert summary["difficulty"] == 1  # the test preset's permanent difficulty
    epoch = int(header["epoch"], 16)
    assert summary["epoch"] == {
        "number": epoch & 0xFFFFFF,
        "index": (epoch >> 24) & 0xFFFF,
        "length": (epoch >> 40) & 0xFFFF,
    }
    text = invoke("l1", "tip", "--rpc", node.url)
    assert text.exit_code == 0
    assert text.stdout.splitlines()[0] == "chain       rollcourt-test"
    assert text.stdout.splitlines()[4] == "difficulty  1"


# ---------------------------------------------------------------------------- no node needed
@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "error: amount must be positive, got '0'"),
        ("-5", "error: amount must be positive, got '-5'"),
        ("1.000000001", "more than 8 decimal places"),
        ("ten", "error: 'ten' is not a CKB amount"),
        ("1e2", "error: '1e2' is not a CKB amount"),
    ],
)
def test_amount_validation(amount: str, message: str) -> None:
    # Input is checked before any RPC: the (unreachable) node is never asked.
    rpc = f"http://127.0.0.1:{free_port()}"
    result = invoke(
        "l1", "transfer", "--key", "devnet:0", "--to", "devnet:1", "--amount", amount,
        "--rpc", rpc,
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.output and result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["l1", "tip"],
        ["l1", "balance", "--key", "devnet:0"],
        ["l1", "transfer", "--key", "devnet:0", "--to", "devnet:1", "--amount", "100"],
    ],
)
def test_unreachable_node_is_one_clear_line(args: list[str]) -> None:
    rpc = f"http://127.0.0.1:{free_port()}"
    result = invoke(*args, "--rpc", rpc)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: cannot connect to the L1 node at {rpc} (is a node running there? start one "
        "with `rollcourt devnet up`, or pass --rpc URL)\n"
    )
    assert result.stdout == ""


def test_unreachable_node_as_a_process(tmp_path: Path) -> None:
    rpc = f"http://127.0.0.1:{free_port()}"
    result = subprocess.run(
        [sys.executable, "-m", "rollcourt", "l1", "tip", "--rpc", rpc],
        cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot connect to the L1 node at {rpc}")
    assert "Traceback" not in result.stderr


def test_bad_arguments() -> None:
    both = invoke("l1", "balance", "--key", "devnet:0", "--lock-args", "devnet:1")
    assert both.exit_code == 2
    assert both.stderr == "error: give exactly one of --key or --lock-args\n"
    neither = invoke("l1", "balance")
    assert neither.exit_code == 2
    bad_url = invoke("l1", "tip", "--rpc", "localhost:8114")
    assert bad_url.exit_code == 1
    assert bad_url.stderr == (
        "error: L1 RPC URL must start with http:// or https://, got 'localhost:8114'\n"
    )
    bad_to = invoke("l1", "transfer", "--key", "devnet:0", "--to", "0x12", "--amount", "100")
    assert bad_to.exit_code == 2
    assert bad_to.stderr.startswith("error: lock args must be 20 bytes of hex")
