"""Helpers for the CLI tests: a real L1 node handle and ways to run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner, Result

from l1.client import L1Client
from rollcourt.cli import app
from tests.support.procs import ROOT, Proc


@dataclass
class Node:
    proc: Proc
    url: str
    client: L1Client

    def mine_until_committed(self, tx_hash: str, max_blocks: int = 20) -> dict[str, Any]:
        """Mine with ``generate_block`` until the transaction is committed; its tx_status."""
        for _ in range(max_blocks):
            self.client.call("generate_block")
            status = self.client.call("get_transaction", tx_hash)["tx_status"]
            if status["status"] == "committed":
                return dict(status)
        raise AssertionError(f"{tx_hash} not committed after {max_blocks} blocks")


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run the CLI in-process; the ROLLCOURT_L1_RPC of the test runner never leaks in."""
    return CliRunner().invoke(app, list(args), env={"ROLLCOURT_L1_RPC": "", **(env or {})})


def run_cli(*args: str, cwd: Path, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run ``python -m rollcourt`` as a separate process (as a user would)."""
    return subprocess.run(
        [sys.executable, "-m", "rollcourt", *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "ROLLCOURT_L1_RPC"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    return env


def healthz(url: str) -> dict[str, Any]:
    response = httpx.get(url + "/healthz", timeout=5)
    response.raise_for_status()
    return dict(response.json())
