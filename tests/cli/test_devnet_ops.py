"""``rollcourt devnet``: several L1 nodes, the status panel, ``up --detach``, ``status``, ``down``."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from l1.ckb.epoch import EpochNumberWithFraction
from l1.client import L1Client
from rollcourt.devnet import _pid_alive, find_supervisor, stop_devnet
from rollcourt.panel import StatusProbe, collect_status, render_status
from rollcourt.rpc import TipSummary
from tests.cli.clitools import healthz, invoke, run_cli
from tests.cli.test_devnet import Devnet, _explorer_role, _other_ports
from tests.support.procs import free_port, wait_until


# ---------------------------------------------------------------------- the panel
def _sample_status() -> dict[str, Any]:
    """A two-node optimistic devnet in the middle of a dispute game, as the roles answer."""
    content = {
        "supervisor_pid": 4242,
        "data_dir": "/tmp/d",
        "mode": "optimistic",
        "chain": {"preset": "test"},
        "roles": {
            "l1": {"rpc": "http://127.0.0.1:8114"},
            "l1-1": {"rpc": "http://127.0.0.1:8115"},
            "sequencer": {"url": "http://127.0.0.1:8200"},
            "follower": {"url": "http://127.0.0.1:8201"},
            "challenger": {"url": "http://127.0.0.1:8300"},
            "light": {"url": "http://127.0.0.1:8124"},
            "explorer": {"url": "http://127.0.0.1:8500"},
        },
    }
    probe = StatusProbe(
        summary=TipSummary(
            chain="rollcourt-test",
            number=72,
            hash=b"\x11" * 32,
            epoch=EpochNumberWithFraction(18, 0, 4),
            difficulty=1,
            timestamp_ms=0,
            pool_pending=2,
        ),
        nodes=[
            {
                "name": "l1",
                "url": "http://127.0.0.1:8114",
                "tip": 72,
                "hash": "11" * 32,
                "peers": 1,
            },
            {
                "name": "l1-1",
                "url": "http://127.0.0.1:8115",
                "tip": 71,
                "hash": "22" * 32,
                "peers": 1,
            },
        ],
        sequencer={
            "heads": {
                "soft": {"batch": 1, "state_root": "0x" + "ab" * 32, "soft_index": 5},
                "safe": {"batch": 1, "state_root": "0x" + "ab" * 32, "soft_index": 5},
                "final": {"batch": None, "state_root": "0x" + "cd" * 32, "soft_index": None},
            }
        },
        batches=[
            {"number": 0, "status": "safe", "tx_count": 1},
            {"number": 1, "status": "posted", "tx_count": 3},
        ],
        follower={
            "heads": {
                "soft": {"batch": 0, "state_root": "0x" + "ef" * 32, "soft_index": 0},
                "safe": {"batch": 0, "state_root": "0x" + "ef" * 32, "soft_index": 0},
                "final": {"batch": None, "state_root": None, "soft_index": None},
            },
            "derivation": {"findings": 1},
        },
        disputes={
            "games": [
                {
                    "batch_number": 0,
                    "lo": 0,
                    "hi": 2,
                    "moves": 1,
                    "max_moves": 3,
                    "turn": "proposer",
                    "proposer_clock": 6,
                    "challenger_clock": 5,
                    "timeout_at_block": 80,
                    "ours": True,
                }
            ],
            "stats": {"games_won": 2, "games_lost": 1, "challenges": 3},
        },
        light={"status": "ok", "head_number": 71, "peers": 2},
        light_blocks=[
            {"number": 69, "blobs": 0, "availability": "available"},
            {"number": 70, "blobs": 2, "availability": "available", "cells_sampled": 16},
            {"number": 71, "blobs": 1, "availability": "pending", "cells_sampled": 0},
        ],
    )
    roles = [
        {"name": "l1", "state": "up", "restarts": 0, "pid": 11, "url": "http://127.0.0.1:8114",
         "log": "/tmp/d/logs/l1.log"},
        {"name": "sequencer", "state": "restarting", "restarts": 2, "pid": 12,
         "url": "http://127.0.0.1:8200", "log": "/tmp/d/logs/sequencer.log"},
        {"name": "challenger", "state": "up", "restarts": 1, "pid": 13,
         "url": "http://127.0.0.1:8300", "log": "/tmp/d/logs/challenger.log"},
    ]  # fmt: skip
    return collect_status(content, roles, probe)


def _render(status: dict[str, Any]) -> str:
    console = Console(record=True, width=200, color_system=None)
    console.print(render_status(status))
    return console.export_text()


def test_the_panel_shows_tips_heads_batches_disputes_da_and_roles() -> None:
    status = _sample_status()
    text = _render(status)
    assert "L1  tip 72  nodes differ by 1 block(s) (converging)  epoch 18 (0/4)" in text
    assert "difficulty 1  pool 2" in text
    lines = [" ".join(line.strip("│ ").split()) for line in text.splitlines()]
    assert "l1 http://127.0.0.1:8114 72 0x111111111111… 1" in lines
    assert "l1-1 http://127.0.0.1:8115 71 0x222222222222… 1" in lines
    assert "L2 soft tx soft batch safe batch final batch state root" in lines
    assert "sequencer 5 1 1 - 0xabababababab…" in lines
    assert "follower 0 0 0 - 0xefefefefefef… findings 1" in lines
    assert "batches 2 sealed, 2 posted (1 posted, 1 safe); last #1 posted (3 txs)" in lines
    assert "disputes open 1 won 2 lost 1 challenges 3" in lines
    assert "batch range moves turn clocks P/C timeout at" in lines
    assert "0 0..2 1/3 proposer to move 6/5 80" in lines
    assert (
        "DA light head 71, 2 peers; last 3 blocks: 2 with blobs, 1 available, 1 pending, "
        "0 unavailable; latest blob block 71 pending (0 cells sampled)"
    ) in lines
    assert (
        "sequencer restarting (2 restarts) 12 http://127.0.0.1:8200 /tmp/d/logs/sequencer.log"
        in (lines)
    )
    assert "challenger up (restarted 1×) 13 http://127.0.0.1:8300 /tmp/d/logs/challenger.log" in (
        lines
    )
    assert "explorer: open http://127.0.0.1:8500 in a browser" in text
    assert "prover" not in text  # optimistic mode


def test_the_panel_marks_agreement_roles_not_answering_and_the_prover() -> None:
    status = _sample_status()
    status["l1"]["nodes"][1].update(tip=72, hash="11" * 32)
    status["l1"].update(agree=True, spread=0)
    status["l2"]["follower"] = None
    status["da"] = None
    status["mode"] = "validity"
    status["disputes"] = None
    status["prover"] = {"preset": "test", "queue": 1, "proved": 4, "failed": 0}
    text = _render(status)
    assert "L1  tip 72  all 2 nodes agree" in text
    lines = [" ".join(line.strip("│ ").split()) for line in text.splitlines()]
    assert "follower not answering" in lines
    assert "DA light client not answering" in lines
    assert "prover queue 1 proved 4 failed 0" in lines
    assert "disputes" not in text
    # The same content is what `devnet status --json` prints.
    assert json.loads(json.dumps(status)) == status


# ---------------------------------------------------------------------- no devnet
def test_status_and_down_without_a_devnet(tmp_path: Path) -> None:
    for command in ("status", "down"):
        result = invoke("devnet", command, "--data-dir", str(tmp_path))
        assert result.exit_code == 1
        assert result.stdout == ""
        assert result.stderr == (
            f"error: no devnet in {tmp_path} (no devnet.json there); start one with "
            f"`rollcourt devnet up --data-dir {tmp_path}`\n"
        )
    # A devnet that ran and stopped: its devnet.json stays, its lock is free.
    (tmp_path / "devnet.json").write_text(json.dumps({"supervisor_pid": 1, "state": "stopped"}))
    (tmp_path / "devnet.lock").write_text("1\n")
    result = invoke("devnet", "status", "--data-dir", str(tmp_path), "--json")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: no devnet is running in {tmp_path} (nothing to show); start it with "
        f"`rollcourt devnet up --data-dir {tmp_path}`\n"
    )
    result = invoke("devnet", "down", "--data-dir", str(tmp_path))
    assert result.exit_code == 1
    assert "no devnet is running in" in result.stderr and "(nothing to stop)" in result.stderr


def test_devnet_up_checks_the_node_counts(tmp_path: Path) -> None:
    for args, message in (
        (("--l1-nodes", "6"), "--l1-nodes must be 1 to 5, got 6"),
        (("--l1-nodes", "0"), "--l1-nodes must be 1 to 5, got 0"),
        (("--l1-nodes", "2", "--miners", "3"), "--miners must be 1 to --l1-nodes (2), got 3"),
        (("--rpc-port", "65535", "--l1-nodes", "2"), "--rpc-port 65535 leaves no room for 2"),
    ):
        result = invoke("devnet", "up", "--data-dir", str(tmp_path), *args)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"error: {message}")
        assert result.stderr.count("\n") == 1


def test_devnet_up_refuses_a_port_taken_for_a_second_l1_node(tmp_path: Path) -> None:
    with _listener_after_a_free_port() as listener:
        taken = listener.getsockname()[1]
        for detach in ((), ("--detach",)):
            result = invoke(
                "devnet", "up", "--data-dir", str(tmp_path / "d"), "--rpc-port", str(taken - 1),
                "--l1-nodes", "2", "--preset", "test", *_other_ports(), *detach,
            )  # fmt: skip
            assert result.exit_code == 1
            assert result.stderr == (
                f"error: port {taken} on 127.0.0.1 is already in use; choose another with "
                "--rpc-port (L1 node 1 listens on rpc-port + 1)\n"
            )


def _listener_after_a_free_port() -> socket.socket:
    """A listening socket on a port whose predecessor is free: node 0 would get that one, node 1
    finds its port taken."""
    while True:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        if listener.getsockname()[1] > 1025 and _is_free(listener.getsockname()[1] - 1):
            listener.listen()
            return listener
        listener.close()


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# ---------------------------------------------------------------------- real devnets
@pytest.fixture
def devnets() -> Iterator[list[Devnet]]:
    started: list[Devnet] = []
    yield started
    for devnet in started:
        devnet.cleanup()


@pytest.mark.e2e
def test_two_l1_nodes_peer_and_converge(tmp_path: Path, devnets: list[Devnet]) -> None:
    port = free_port()
    while not _is_free(port + 1):
        port = free_port()
    devnet = Devnet(tmp_path, port, "--l1-nodes", "2")
    devnets.append(devnet)
    content = devnet.wait_up()
    roles = content["roles"]
    assert set(roles) == {
        "l1", "l1-1", "sequencer", "follower", "challenger", "light", *_explorer_role()
    }  # fmt: skip
    node0, node1 = roles["l1"]["rpc"], roles["l1-1"]["rpc"]
    assert (node0, node1) == (f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}")
    assert roles["l1-1"]["log"] == str(devnet.data_dir.resolve() / "logs" / "l1-1.log")
    assert (devnet.data_dir / "l1-1" / "chain.sqlite").exists()
    assert healthz(node1)["peers"] == 1 and healthz(node0)["peers"] == 1

    # Only node 0 mines: a block it mined reaches node 1, same hash.
    target = healthz(node0)["tip_number"] + 3

    def converged() -> bool:
        with L1Client(node0) as zero, L1Client(node1) as one:
            if one.get_tip_block_number() < target:
                return False
            return bool(
                zero.call("get_block_hash", hex(target)) == one.call("get_block_hash", hex(target))
            )

    wait_until(converged, timeout=120, what="node 1 at node 0's block")
    with L1Client(node1) as one:
        miner = one.call("get_block", one.call("get_block_hash", hex(target)))
    assert miner["header"]["number"] == hex(target)
    assert "--mine" in _start_line(devnet.data_dir / "logs" / "l1.log")
    assert "--mine" not in _start_line(devnet.data_dir / "logs" / "l1-1.log")
    assert f"--peer {node0}" in _start_line(devnet.data_dir / "logs" / "l1-1.log")
    # The light client samples from both nodes.
    peers = httpx.get(roles["light"]["url"] + "/v1/peers", timeout=10).json()
    assert sorted(peer["url"] for peer in peers) == [node0, node1]
    # The one-line status (stdout is not a terminal) shows both tips.
    wait_until(lambda: "  nodes " in devnet.output, timeout=30, what="the status line")
    assert devnet.stop() == 0
    assert "Traceback" not in devnet.output


def _start_line(log: Path) -> str:
    """The supervisor's ``=== ... starting ROLE: COMMAND`` line in a role's log."""
    return next(line for line in log.read_text().splitlines() if line.startswith("=== "))


def _detached_up(workdir: Path, rpc_port: int, ports: tuple[str, ...]) -> Any:
    return run_cli(
        "devnet", "up", "--detach", "--data-dir", "devnet-data", "--rpc-port", str(rpc_port),
        "--preset", "test", "--mine-interval", "0.2", *ports, cwd=workdir, timeout=300,
    )  # fmt: skip


@pytest.fixture
def detached_dirs() -> Iterator[list[Path]]:
    """Data dirs of detached devnets: whatever a failed test left running is stopped."""
    dirs: list[Path] = []
    yield dirs
    for data_dir in dirs:
        if find_supervisor(data_dir) is not None:
            stop_devnet(data_dir, 30.0, print)


@pytest.mark.e2e
@pytest.mark.slow
def test_detach_status_down_and_resume(tmp_path: Path, detached_dirs: list[Path]) -> None:
    data_dir = tmp_path / "devnet-data"
    detached_dirs.append(data_dir)
    port, ports = free_port(), _other_ports()
    up = _detached_up(tmp_path, port, ports)
    assert up.returncode == 0, up.stderr + up.stdout
    assert "starting the devnet in the background" in up.stderr
    assert "rollcourt devnet is up in the background" in up.stdout
    assert f"rpc http://127.0.0.1:{port}" in up.stdout
    if _explorer_role():
        assert "in a browser" in up.stdout
    content = json.loads((data_dir / "devnet.json").read_text())
    supervisor = content["supervisor_pid"]
    assert content["state"] == "up" and find_supervisor(data_dir) == supervisor
    assert content["chain"]["resumed"] is False
    pids = [supervisor] + [role["pid"] for role in content["roles"].values()]
    assert all(_pid_alive(pid) for pid in pids)

    status = run_cli("devnet", "status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    for expected in ("L1  tip", "sequencer", "follower", "disputes  open 0", "DA  light head"):
        assert expected in status.stdout
    as_json = run_cli("devnet", "status", "--json", cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    snapshot = json.loads(as_json.stdout)
    assert snapshot["state"] == "up" and snapshot["supervisor_pid"] == supervisor
    assert isinstance(snapshot["l1"]["nodes"][0]["tip"], int)
    assert {role["name"]: role["state"] for role in snapshot["roles"]} == {
        name: "up" for name in content["roles"]
    }
    assert snapshot["disputes"]["open"] == 0

    # A second start on the same data dir is refused before anything runs.
    clash = _detached_up(tmp_path, free_port(), _other_ports())
    assert clash.returncode == 1
    assert clash.stderr == "error: another `rollcourt devnet up` is already using devnet-data\n"

    down = run_cli("devnet", "down", cwd=tmp_path, timeout=200)
    assert down.returncode == 0, down.stderr
    assert down.stdout.startswith(f"devnet stopped (supervisor pid {supervisor})")
    assert down.stderr == ""  # stopped cleanly, no SIGKILL warning
    wait_until(lambda: not any(_pid_alive(pid) for pid in pids), timeout=10, what="all gone")
    assert (data_dir / "l1" / "chain.sqlite").exists()
    stopped = json.loads((data_dir / "devnet.json").read_text())
    assert stopped["state"] == "stopped"
    log = (data_dir / "logs" / "devnet.log").read_text()
    assert "stopping the devnet..." in log and "Traceback" not in log
    again = run_cli("devnet", "down", cwd=tmp_path)
    assert again.returncode == 1 and "no devnet is running in devnet-data" in again.stderr

    # Up again: the same chain, resumed.
    resumed = _detached_up(tmp_path, port, ports)
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    content2 = json.loads((data_dir / "devnet.json").read_text())
    assert content2["chain"]["resumed"] is True
    assert content2["chain"]["genesis_hash"] == content["chain"]["genesis_hash"]
    assert "resumed at block" in resumed.stdout
    assert run_cli("devnet", "down", cwd=tmp_path, timeout=200).returncode == 0
