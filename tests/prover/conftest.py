"""A toy circuit for the prover's tests (tests/prover/circuits/toy.circom): ``Toy(2)`` checks
``Poseidon(preimage) == batch_input`` (the one public input) and asserts ``preimage[0] != 13``.
The artifacts are set up once per test session (per xdist worker)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from l2.poseidon import compute_poseidon
from prover.artifacts import CIRCOMLIB_DIR, Artifacts, run_setup
from prover.presets import CircuitSpec

TOY_SOURCE = "tests/prover/circuits/toy.circom"
TOY_SPEC = CircuitSpec("custom", TOY_SOURCE, "Toy", (2,))
#: The ``--circuit`` flag value selecting it.
TOY_CIRCUIT_FLAG = f"{TOY_SOURCE}:Toy:2"

requires_circomlib = pytest.mark.skipif(
    not CIRCOMLIB_DIR.is_dir(), reason="circomlib not installed (run `make install`)"
)


def compute_toy_inputs(a: int, b: int) -> dict[str, Any]:
    """Inputs that satisfy the toy circuit."""
    return {"preimage": [a, b], "batch_input": compute_poseidon([a, b])}


@pytest.fixture(scope="session")
def toy_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prover-data")


@pytest.fixture(scope="session")
def toy_artifacts(toy_data_dir: Path) -> Artifacts:
    if shutil.which("node") is None and not CIRCOMLIB_DIR.is_dir():
        pytest.skip("circomlib not installed")
    started = time.monotonic()
    result = run_setup(TOY_SPEC, toy_data_dir)
    print(
        f"\ntoy circuit setup: {time.monotonic() - started:.2f} s (cache hit: {result.cache_hit})"
    )
    return result.artifacts
