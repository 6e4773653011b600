"""``rollcourt devnet up`` as a real process: devnet.json, health, clean stop, resume, restarts."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from l1.devnet_keys import DEVNET_KEY_WARNING, DEVNET_KEYS
from rollcourt.devnet import explorer_available
from rollcourt.keys import DEFAULT_LOCK_CODE_HASH
from tests.cli.clitools import cli_env, healthz, invoke, run_cli
from tests.support.procs import free_port, wait_until


class Devnet:
    """One ``python -m rollcourt devnet up`` process, its output in a file."""

    def __init__(self, workdir: Path, port: int, *extra: str) -> None:
        self.workdir = workdir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.data_dir = workdir / "devnet-data"
        self.devnet_file = self.data_dir / "devnet.json"
        self.output_path = workdir / f"devnet-up-{port}-{os.urandom(3).hex()}.out"
        with self.output_path.open("wb") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable, "-m", "rollcourt", "devnet", "up",
                    "--data-dir", "devnet-data", "--rpc-port", str(port), "--preset", "test",
                    "--mine-interval", "0.2", *_other_ports(), *extra,
                ],
                cwd=workdir, env=cli_env(), stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip

    @property
    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def wait_up(self) -> dict[str, Any]:
        """Wait for *this* supervisor's devnet.json, then for the node's health."""

        def written() -> dict[str, Any] | None:
            if self.process.poll() is not None:
                raise AssertionError(f"devnet up exited early:\n{self.output}")
            content = json.loads(self.devnet_file.read_text())
            return content if content["supervisor_pid"] == self.process.pid else None

        content: dict[str, Any] = wait_until(written, timeout=180, what="devnet.json")
        healthz(self.url)
        return content

    def child_pid(self) -> int:
        return int(json.loads(self.devnet_file.read_text())["roles"]["l1"]["pid"])

    def stop(self, signum: int = signal.SIGINT) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout=120)

    def cleanup(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def devnets() -> Iterator[list[Devnet]]:
    started: list[Devnet] = []
    yield started
    for devnet in started:
        devnet.cleanup()


@pytest.mark.e2e
def test_devnet_up_writes_devnet_json_stops_on_sigint_and_resumes(
    tmp_path: Path, devnets: list[Devnet]
) -> None:
    port = free_port()
    first = Devnet(tmp_path, port)
    devnets.append(first)
    content = first.wait_up()

    assert content["roles"]["l1"]["rpc"] == first.url
    assert content["roles"]["l1"]["log"] == str(first.data_dir.resolve() / "logs" / "l1.log")
    assert content["chain"]["name"] == "rollcourt-test"
    assert content["chain"]["preset"] == "test"
    assert content["chain"]["resumed"] is False
    # Every role is up and published: the sequencer with the rollup it deployed on L1, the
    # follower deriving that rollup from L1, the challenger watching it, and the light client
    # sampling the L1 node (and the explorer, once its package is there).
    assert set(content["roles"]) == {
        "l1", "sequencer", "follower", "challenger", "light", *_explorer_role()
    }  # fmt: skip
    disputes = httpx.get(content["roles"]["challenger"]["url"] + "/v1/disputes", timeout=10)
    assert disputes.status_code == 200 and disputes.json()["games"] == []
    sequencer = content["roles"]["sequencer"]
    status = httpx.get(sequencer["url"] + "/v1/status", timeout=10).json()
    assert sequencer["rollup_id"] == status["rollup_id"]
    assert len(bytes.fromhex(sequencer["rollup_id"].removeprefix("0x"))) == 32
    follower_status = httpx.get(content["roles"]["follower"]["url"] + "/v1/status", timeout=10)
    assert follower_status.status_code == 200
    assert httpx.get(content["roles"]["light"]["url"] + "/healthz", timeout=10).status_code == 200
    assert content["system_scripts"]["secp256k1_blake160_sighash_all"]["code_hash"] == (
        DEFAULT_LOCK_CODE_HASH
    )
    keys = content["devnet_keys"]
    assert keys["public"] is True
    assert keys["warning"] == DEVNET_KEY_WARNING
    assert keys["keys"] == [
        {
            "index": k.index,
            "private_key": "0x" + k.private_key.hex(),
            "lock_args": "0x" + k.lock_args.hex(),
        }
        for k in DEVNET_KEYS
    ]
    assert (first.data_dir / "logs" / "l1.log").read_text().count("starting l1:") == 1

    # The banner: first three keys and a copy-paste hint (no --rpc: devnet.json resolves it).
    output = first.output
    for key in DEVNET_KEYS[:3]:
        assert f"({key.index}) private key 0x{key.private_key.hex()}" in output
    assert f"({DEVNET_KEYS[3].index}) private key" not in output
    assert (
        f"try: rollcourt l1 transfer --key devnet:0 --to 0x{DEVNET_KEYS[1].lock_args.hex()} "
        "--amount 100\n"
    ) in output

    # The miner is running, and the CLI finds the node through ./devnet-data/devnet.json.
    wait_until(lambda: healthz(first.url)["tip_number"] >= 2, timeout=180, what="mined blocks")
    tip = run_cli("l1", "tip", "--json", cwd=tmp_path)
    assert tip.returncode == 0, tip.stderr
    assert json.loads(tip.stdout)["tip_number"] >= 2

    child = first.child_pid()
    assert _is_alive(child)
    tip_before_stop = healthz(first.url)["tip_number"]
    genesis = content["chain"]["genesis_hash"]
    assert first.stop(signal.SIGINT) == 0
    assert not _is_alive(child)
    assert "devnet stopped" in first.output
    assert "Traceback" not in first.output
    assert "Shutting down" in (first.data_dir / "logs" / "l1.log").read_text()

    # Same data dir: the same chain, at least as long as before.
    second = Devnet(tmp_path, port)
    devnets.append(second)
    resumed = second.wait_up()
    assert resumed["chain"]["genesis_hash"] == genesis
    assert resumed["chain"]["resumed"] is True
    assert healthz(second.url)["tip_number"] >= tip_before_stop
    assert resumed["chain"]["tip_at_start"] >= tip_before_stop
    assert "resumed at block" in second.output
    second_child = second.child_pid()
    assert second.stop(signal.SIGTERM) == 0
    assert not _is_alive(second_child)


@pytest.mark.e2e
def test_devnet_restarts_a_role_that_dies(tmp_path: Path, devnets: list[Devnet]) -> None:
    devnet = Devnet(tmp_path, free_port())
    devnets.append(devnet)
    devnet.wait_up()
    child = devnet.child_pid()
    os.kill(child, signal.SIGKILL)

    def restarted() -> bool:
        return devnet.child_pid() != child and healthz(devnet.url)["status"] == "ok"

    wait_until(restarted, timeout=180, what="the l1 role restarted")
    assert "l1 exited unexpectedly with code -9; restarting (1/3)" in devnet.output
    assert (devnet.data_dir / "logs" / "l1.log").read_text().count("starting l1:") == 2

    # devnet.json follows: `rollcourt devnet status` shows the restart.
    def recorded() -> tuple[str, int]:
        role = json.loads(devnet.devnet_file.read_text())["roles"]["l1"]
        return role["state"], role["restarts"]

    wait_until(lambda: recorded() == ("up", 1), timeout=30, what="devnet.json: l1 up again")

    # A second supervisor on the same data dir would corrupt the chain: refused.
    clash = run_cli(
        "devnet", "up", "--data-dir", "devnet-data", "--rpc-port", str(free_port()),
        "--preset", "test", *_other_ports(), cwd=tmp_path,
    )  # fmt: skip
    assert clash.returncode == 1
    assert clash.stderr == ("error: another `rollcourt devnet up` is already using devnet-data\n")
    new_child = devnet.child_pid()
    assert devnet.stop() == 0
    assert not _is_alive(new_child)


@pytest.mark.e2e
def test_devnet_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = run_cli(
            "devnet", "up", "--data-dir", "d", "--rpc-port", str(port), "--preset", "test",
            *_other_ports(), cwd=tmp_path,
        )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: port {port} on 127.0.0.1 is already in use; choose another with --rpc-port\n"
    )


def test_devnet_refuses_another_preset_on_the_same_data_dir(tmp_path: Path) -> None:
    (tmp_path / "devnet.json").write_text(json.dumps({"chain": {"preset": "devnet"}}))
    result = invoke(
        "devnet", "up", "--data-dir", str(tmp_path), "--rpc-port", str(free_port()),
        "--preset", "test", *_other_ports(),
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {tmp_path} holds a 'devnet' chain; run with --preset devnet "
        "or use another --data-dir\n"
    )


def test_devnet_rejects_an_unknown_preset(tmp_path: Path) -> None:
    result = invoke("devnet", "up", "--data-dir", str(tmp_path), "--preset", "mainnet")
    assert result.exit_code == 2
    assert result.stderr == "error: --preset must be one of devnet, test, got 'mainnet'\n"


def _other_ports() -> tuple[str, ...]:
    """Free ports for the sequencer, follower, challenger, light client and explorer, so tests
    never collide with a devnet a developer runs on the default ports."""
    return (
        "--sequencer-port", str(free_port()),
        "--follower-port", str(free_port()),
        "--light-port", str(free_port()),
        "--challenger-port", str(free_port()),
        "--explorer-port", str(free_port()),
    )  # fmt: skip


def _explorer_role() -> set[str]:
    """The explorer role starts whenever its package exists (it landed after the devnet)."""
    return {"explorer"} if explorer_available() else set()


@pytest.mark.e2e
@pytest.mark.slow
def test_devnet_up_in_validity_mode(tmp_path: Path, devnets: list[Devnet]) -> None:
    """``--mode validity``: a prover instead of a challenger, the sequencer on the validity
    preset with the prover's verification key registered on L1. The ``test`` circuit's cached
    setup is linked into the data dir (its first start would otherwise run the setup)."""
    from tests.support.validity import get_test_artifacts

    artifacts = get_test_artifacts()
    (tmp_path / "devnet-data" / "prover").mkdir(parents=True)
    os.symlink(artifacts.directory, tmp_path / "devnet-data" / "prover" / artifacts.directory.name)
    devnet = Devnet(tmp_path, free_port(), "--mode", "validity", "--prover-port", str(free_port()))
    devnets.append(devnet)
    content = devnet.wait_up()
    assert content["mode"] == "validity"
    assert set(content["roles"]) == {
        "l1", "prover", "sequencer", "follower", "light", *_explorer_role()
    }  # fmt: skip
    prover = httpx.get(content["roles"]["prover"]["url"] + "/v1/health", timeout=10).json()
    assert prover["preset"] == "test" and prover["verifying_key_hash"] == (
        artifacts.verifying_key_hash
    )
    status = httpx.get(content["roles"]["sequencer"]["url"] + "/v1/status", timeout=10).json()
    assert status["preset"] == "validity-test"
    wait_until(lambda: "prover queue" in devnet.output, timeout=60, what="the status line")
    assert "validity rollup (L2 preset validity-test)" in devnet.output
    assert devnet.stop() == 0
    # The data dir now holds a validity rollup: an optimistic start is refused.
    result = invoke(
        "devnet", "up", "--data-dir", str(tmp_path / "devnet-data"), "--rpc-port",
        str(free_port()), "--preset", "test", *_other_ports(),
    )  # fmt: skip
    assert result.exit_code == 1
    assert "holds a validity rollup; run with --mode validity" in result.stderr


def test_devnet_refuses_faults_in_validity_mode(tmp_path: Path) -> None:
    result = invoke(
        "devnet", "up", "--data-dir", str(tmp_path), "--mode", "validity", "--fault",
        "wrong-root inflate-balance",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "a validity rollup has none (a wrong batch cannot be proven)" in result.stderr
    result = invoke("devnet", "up", "--data-dir", str(tmp_path), "--mode", "zk")
    assert result.exit_code == 2
    assert result.stderr == "error: --mode must be optimistic or validity, got 'zk'\n"
