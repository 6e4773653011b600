"""``rollcourt prover setup``: the artifacts, the label, the cache, the refusals."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prover import presets
from prover.presets import CircuitSpec
from rollcourt.cli import app
from tests.prover.conftest import TOY_SPEC, requires_circomlib

pytestmark = requires_circomlib


@dataclass(frozen=True)
class ToyPreset:
    """Stands in for the ``test`` preset (the rollup circuit is heavy, or not written yet)."""

    def get_spec(self) -> CircuitSpec:
        return TOY_SPEC


def test_setup_prints_artifacts_and_label(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(presets.PRESETS, "test", ToyPreset())
    runner = CliRunner()
    result = runner.invoke(
        app, ["prover", "setup", "--preset", "test", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert str(tmp_path / "prover" / "custom-") in result.output
    assert "verifying key hash  0x" in result.output
    assert "single-party devnet setup — not for real value" in result.output
    assert "--zkey" in result.output
    again = runner.invoke(app, ["prover", "setup", "--data-dir", str(tmp_path)])
    assert again.exit_code == 0 and "cached (nothing to do)" in again.output


def test_setup_refusals(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["prover", "setup", "--preset", "mainnet"])
    assert result.exit_code == 2 and "--preset must be one of test, devnet" in result.output
    result = runner.invoke(
        app, ["prover", "setup", "--data-dir", str(tmp_path), "--zkey", str(tmp_path / "no.zkey")]
    )
    assert result.exit_code == 2 and "no such file" in result.output
