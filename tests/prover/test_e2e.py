"""``python -m prover`` as a real process: jobs over HTTP, bad input, SIGKILL mid-queue and a
restart that proves every acknowledged job; the CLI's refusals."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from l2.client.prover import InvalidJobInputs, JobFailed, JobNotFound, ProverClient
from prover.__main__ import EXIT_CONFIG, cli
from tests.prover.conftest import TOY_CIRCUIT_FLAG, compute_toy_inputs, requires_circomlib
from tests.support.procs import ROOT, Proc, free_port, wait_until

pytestmark = requires_circomlib


def prover_proc(data_dir: Path, port: int | None = None) -> Proc:
    port = port or free_port()
    args = [
        sys.executable,
        "-m",
        "prover",
        "--data-dir",
        str(data_dir),
        "--preset",
        "custom",
        "--circuit",
        TOY_CIRCUIT_FLAG,
        "--port",
        str(port),
        "--setup-if-missing",
        "--log-level",
        "warning",
    ]
    return Proc(args, data_dir / "prover.log", f"http://127.0.0.1:{port}")


def test_cli_refusals(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--data-dir", str(tmp_path), "--preset", "custom"])
    assert result.exit_code == EXIT_CONFIG
    assert "--circuit is required with --preset custom" in result.output
    result = runner.invoke(cli, ["--data-dir", str(tmp_path), "--preset", "mainnet"])
    assert result.exit_code == EXIT_CONFIG and "preset must be one of test, devnet" in result.output
    result = runner.invoke(
        cli, ["--data-dir", str(tmp_path), "--preset", "custom", "--circuit", TOY_CIRCUIT_FLAG]
    )
    assert result.exit_code == EXIT_CONFIG
    assert "no setup for circuit custom" in result.output and "--setup-if-missing" in result.output


@pytest.mark.slow
@pytest.mark.e2e
def test_jobs_survive_sigkill(tmp_path: Path, procs: list[Proc]) -> None:
    data_dir = tmp_path / "data"
    started = time.monotonic()
    first = prover_proc(data_dir)
    procs.append(first.start())
    first.wait_healthy(120)
    print(f"\nstart with setup: {time.monotonic() - started:.2f} s")

    # a second prover on the same data dir is refused
    port = free_port()
    second = subprocess.run(
        prover_proc(data_dir, port).args, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert second.returncode == EXIT_CONFIG
    assert "another prover" in second.stderr

    client = ProverClient(first.url)
    job_id = client.submit(compute_toy_inputs(1, 1), label="first")
    proof = client.wait_for_proof(job_id, timeout=60, poll=0.05)
    assert len(proof.proof) == 256 and proof.public_signals == (
        compute_toy_inputs(1, 1)["batch_input"],
    )
    assert client.submit(compute_toy_inputs(1, 1)) == job_id  # the same inputs: the same job

    with pytest.raises(InvalidJobInputs, match="not an integer"):
        client.submit({"preimage": ["one", 2], "batch_input": 3})
    with pytest.raises(JobNotFound):
        client.get_job("f" * 64)
    bad = client.submit(compute_toy_inputs(13, 1))
    with pytest.raises(JobFailed, match="do not satisfy Toy"):
        client.wait_for_proof(bad, timeout=60, poll=0.05)

    # a burst of jobs, then SIGKILL while most are still queued
    acknowledged = [client.submit(compute_toy_inputs(100 + i, i), label=f"b{i}") for i in range(60)]
    statuses = [client.get_job(j)["status"] for j in acknowledged]
    first.kill()
    pending = sum(s != "done" for s in statuses)
    print(f"killed with {pending} of {len(acknowledged)} jobs not done")
    assert pending > 0

    restarted = prover_proc(data_dir, port)
    procs.append(restarted.start())
    restarted.wait_healthy(120)
    client = ProverClient(restarted.url)
    wait_until(
        lambda: all(client.get_job(j)["status"] == "done" for j in acknowledged),
        120,
        0.2,
        "every acknowledged job to be proved after the restart",
    )
    for job in acknowledged[:3]:
        assert len(client.wait_for_proof(job, timeout=5).proof) == 256
    assert client.get_job(bad)["status"] == "failed"
    client.close()
