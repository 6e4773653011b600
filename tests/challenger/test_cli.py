"""``python -m challenger`` in-process (typer's runner): refusals and their exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from challenger.__main__ import EXIT_CONFIG, EXIT_L1_UNREACHABLE, cli

ROLLUP_ID = "11" * 32


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KEY", "ROLLUP_ID", "DEVNET_JSON", "L1_URL", "FAULT"):
        monkeypatch.delenv(f"ROLLCOURT_CHALLENGER_{name}", raising=False)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_missing_key() -> None:
    code, output = run("--rollup-id", ROLLUP_ID)
    assert code == EXIT_CONFIG == 2
    assert "a key is required" in output


def test_missing_rollup() -> None:
    code, output = run("--key", "devnet:1")
    assert code == EXIT_CONFIG
    assert "exactly one of --rollup-id HEX or --devnet-json PATH" in output


def test_bad_fault_syntax() -> None:
    code, output = run("--key", "devnet:1", "--rollup-id", ROLLUP_ID, "--fault", "dishonest 3")
    assert code == EXIT_CONFIG
    assert "fault must be 'dishonest-at N" in output


def test_unreadable_devnet_json(tmp_path: Path) -> None:
    code, output = run(
        "--key",
        "devnet:1",
        "--devnet-json",
        str(tmp_path / "none.json"),
        "--data-dir",
        str(tmp_path),
    )
    assert code == EXIT_CONFIG
    assert "cannot read" in output


def test_unreachable_l1(tmp_path: Path) -> None:
    code, output = run(
        "--key",
        "devnet:1",
        "--rollup-id",
        ROLLUP_ID,
        "--l1",
        "http://127.0.0.1:1",
        "--l1-wait",
        "0",
        "--data-dir",
        str(tmp_path),
    )
    assert code == EXIT_L1_UNREACHABLE == 1
    assert "did not answer" in output
    assert (tmp_path / "LOCK").exists()
