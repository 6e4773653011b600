"""Real processes on 127.0.0.1 for end-to-end tests: free ports, start, health-wait, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
TEST_SPEC = ROOT / "l1" / "specs" / "test.json"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    predicate: Any, timeout: float = 60.0, interval: float = 0.1, what: str = "condition"
) -> Any:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(
        f"timed out waiting for {what}" + (f" (last error: {last_error})" if last_error else "")
    )


@dataclass
class Proc:
    """A child process with a log file; ``url`` is its HTTP base URL."""

    args: list[str]
    log_path: Path
    url: str
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONPATH": str(ROOT), **self.env}
        self.process = subprocess.Popen(
            self.args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT
        )
        log.close()
        return self

    def wait_healthy(self, timeout: float = 60.0) -> Proc:
        def healthy() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"process exited with {self.process.returncode}; log:\n{self.log_tail()}"
                )
            return httpx.get(self.url + "/healthz", timeout=2).status_code == 200

        wait_until(healthy, timeout, 0.1, f"{self.url}/healthz")
        return self

    def kill(self) -> None:
        """SIGKILL: the crash case."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def l1_node(
    data_dir: Path,
    port: int | None = None,
    *,
    peers: tuple[str, ...] = (),
    mine: bool = False,
    mine_interval: float = 0.2,
    dev_rpc: bool = True,
    spec: Path = TEST_SPEC,
    extra: tuple[str, ...] = (),
) -> Proc:
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        sys.executable,
        "-m",
        "l1",
        "node",
        "--data-dir",
        str(data_dir),
        "--rpc-port",
        str(port),
        "--spec",
        str(spec),
        "--sync-interval",
        "0.5",
        "--log-level",
        "warning",
    ]
    for peer in peers:
        args += ["--peer", peer]
    if mine:
        args += ["--mine", "--mine-interval", str(mine_interval)]
    if dev_rpc:
        args.append("--dev-rpc")
    args += list(extra)
    return Proc(args, data_dir / "node.log", url)
