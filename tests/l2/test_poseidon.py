"""``l2.poseidon`` against circomlibjs 0.1.7 ``buildPoseidon`` (run with node at test time).

``run_vectors`` is the one way these tests talk to ``prover/js/vectors.js``; the Baby Jubjub and
validity-profile tests import it.  Each module sends one request (node startup plus the
circomlibjs build take about a second)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from l2.errors import FieldOutOfRange
from l2.poseidon import BN254_SCALAR_FIELD, POSEIDON_MAX_INPUTS, compute_poseidon

PROVER_DIR = Path(__file__).resolve().parents[2] / "prover"
P = BN254_SCALAR_FIELD


def run_vectors(request: dict[str, Any]) -> dict[str, Any]:
    """circomlibjs's answers to ``request`` (format in ``prover/js/vectors.js``)."""
    if shutil.which("node") is None or not (PROVER_DIR / "node_modules" / "circomlibjs").is_dir():
        pytest.skip("node and prover/node_modules (circomlibjs) are needed for the test vectors")
    result = subprocess.run(
        ["node", "js/vectors.js"],
        cwd=PROVER_DIR,
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def _inputs() -> list[list[int]]:
    cases: list[list[int]] = []
    for n in range(1, POSEIDON_MAX_INPUTS + 1):
        cases.append([0] * n)
        cases.append([P - 1] * n)
        cases.append(list(range(1, n + 1)))
        cases.append([(P - 1 - i) if i % 2 else i for i in range(n)])
        cases.append([pow(7, 100 + 13 * i + n, P) for i in range(n)])
    return cases


INPUTS = _inputs()


@pytest.fixture(scope="module")
def expected() -> list[int]:
    answer = run_vectors({"poseidon": [[str(x) for x in case] for case in INPUTS]})
    return [int(value) for value in answer["poseidon"]]


def test_poseidon_matches_circomlibjs(expected: list[int]) -> None:
    assert [compute_poseidon(case) for case in INPUTS] == expected


def test_known_values() -> None:
    # circomlibjs test/poseidon.js and the iden3 Go implementation publish these two.
    assert compute_poseidon([1, 2]) == int(
        "115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a", 16
    )
    assert compute_poseidon([1, 2, 3, 4]) == int(
        "299c867db6c1fdd79dcefa40e4510b9837e60ebb1ce0663dbaa525df65250465", 16
    )


@pytest.mark.parametrize("inputs", [[], [0] * (POSEIDON_MAX_INPUTS + 1)], ids=["0", "6"])
def test_refuses_bad_input_counts(inputs: list[int]) -> None:
    with pytest.raises(FieldOutOfRange, match="inputs"):
        compute_poseidon(inputs)


@pytest.mark.parametrize("value", [P, P + 1, 2**256, -1])
def test_refuses_values_outside_the_field(value: int) -> None:
    with pytest.raises(FieldOutOfRange, match="field element"):
        compute_poseidon([1, value])


def test_refuses_non_integers() -> None:
    with pytest.raises(FieldOutOfRange):
        compute_poseidon([True, 2])


def test_constants_module_is_what_the_script_generates() -> None:
    """``l2/poseidon_constants.py`` is exactly ``prover/js/poseidon_constants.js``'s output."""
    if shutil.which("node") is None or not (PROVER_DIR / "node_modules" / "circomlibjs").is_dir():
        pytest.skip("node and prover/node_modules (circomlibjs) are needed")
    generated = subprocess.run(
        ["node", "js/poseidon_constants.js"],
        cwd=PROVER_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    committed = (PROVER_DIR.parent / "l2" / "poseidon_constants.py").read_text()
    assert generated == committed
