"""The engine on the toy circuit: a proof that snarkjs accepts (the interoperability check),
and clear errors for inputs that are malformed or do not satisfy the circuit."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from l1.core import groth16 as l1_groth16
from prover.artifacts import Artifacts
from prover.engine import (
    BN254_FIELD_MODULUS,
    NODE_MODULES,
    compute_inputs_id,
    normalize_inputs,
    prove,
)
from prover.errors import InvalidInputs, InvalidWitness
from tests.prover.conftest import compute_toy_inputs, requires_circomlib

pytestmark = requires_circomlib

SNARKJS = NODE_MODULES / ".bin" / "snarkjs"
requires_snarkjs = pytest.mark.skipif(
    shutil.which("node") is None or not SNARKJS.exists(),
    reason="node and prover/node_modules (make install) needed",
)


def test_prove_gives_a_verifying_proof(toy_artifacts: Artifacts) -> None:
    inputs = compute_toy_inputs(1, 2)
    timings = []
    for _ in range(3):
        started = time.monotonic()
        result = prove(toy_artifacts, inputs)
        timings.append(time.monotonic() - started)
    print(f"\ntoy prove: {', '.join(f'{t * 1000:.0f} ms' for t in timings)}")
    assert len(result.proof) == 256
    assert result.public_signals == (inputs["batch_input"],)
    assert result.proof_json["protocol"] == "groth16"
    vk = l1_groth16.decode_verifying_key_json(json.dumps(toy_artifacts.verification_key_json))
    assert l1_groth16.is_valid_proof(
        vk, l1_groth16.decode_proof(result.proof), [inputs["batch_input"]]
    )
    assert result.to_json()["public_signals"] == [str(inputs["batch_input"])]


@requires_snarkjs
def test_snarkjs_accepts_our_proof(toy_artifacts: Artifacts, tmp_path: Path) -> None:
    """snarkjs verifies our verification_key.json, proof JSON and public signals."""
    result = prove(toy_artifacts, compute_toy_inputs(7, 8))
    encoded = result.to_json()
    (tmp_path / "proof.json").write_text(json.dumps(encoded["proof"]))
    (tmp_path / "public.json").write_text(json.dumps(encoded["public_signals"]))
    vk_path = toy_artifacts.directory / "verification_key.json"

    def verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["node", str(SNARKJS), "groth16", "verify", str(vk_path), "public.json", "proof.json"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    run = verify()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "OK" in run.stdout
    # and it rejects the proof for another public signal
    (tmp_path / "public.json").write_text(json.dumps([str(result.public_signals[0] + 1)]))
    assert verify().returncode != 0


def test_unsatisfied_constraint_is_named(toy_artifacts: Artifacts) -> None:
    inputs = compute_toy_inputs(1, 2)
    inputs["batch_input"] = int(str(inputs["batch_input"])) + 1
    with pytest.raises(InvalidWitness) as caught:
        prove(toy_artifacts, inputs)
    message = str(caught.value)
    print(f"\n{message}")
    assert "do not satisfy Toy" in message
    if shutil.which("node") and SNARKJS.exists():
        assert "template Toy" in message and "line 17" in message  # hash.out === batch_input


def test_failed_assert_is_named(toy_artifacts: Artifacts) -> None:
    with pytest.raises(InvalidWitness) as caught:
        prove(toy_artifacts, compute_toy_inputs(13, 2))
    if shutil.which("node") and SNARKJS.exists():
        assert "assert/constraint failed in template Toy" in str(caught.value)
        assert "line 11" in str(caught.value)  # assert(preimage[0] != 13)


def test_witness_generator_refusal(toy_artifacts: Artifacts) -> None:
    inputs = compute_toy_inputs(1, 2)
    inputs["preimage"] = [1]
    with pytest.raises(InvalidWitness, match=r"witness generator refused.*preimage.*2 values"):
        prove(toy_artifacts, inputs)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "'abc' is not an integer"),
        (-1, "negative"),
        (BN254_FIELD_MODULUS, "not below the BN254 scalar field modulus"),
        (1.5, "expected an integer"),
        (True, "expected an integer"),
        ({"x": 1}, "expected an integer"),
    ],
)
def test_malformed_inputs(value: object, message: str) -> None:
    with pytest.raises(InvalidInputs, match=message):
        normalize_inputs({"preimage": [1, value], "batch_input": 1})
    with pytest.raises(InvalidInputs, match=r"inputs\.preimage\[1\]"):
        normalize_inputs({"preimage": [1, value], "batch_input": 1})


def test_unknown_and_missing_signals() -> None:
    names = ["preimage", "batch_input"]
    with pytest.raises(InvalidInputs, match=r"unknown input signal.*extra"):
        normalize_inputs({"preimage": [1, 2], "batch_input": 1, "extra": 1}, names)
    with pytest.raises(InvalidInputs, match=r"missing input signal.*batch_input"):
        normalize_inputs({"preimage": [1, 2]}, names)


def test_inputs_id_is_canonical() -> None:
    a = normalize_inputs({"preimage": [1, "0x10"], "batch_input": "255"})
    b = normalize_inputs({"batch_input": 0xFF, "preimage": ["1", 16]})
    assert a == b
    assert compute_inputs_id("h", a) == compute_inputs_id("h", b)
    assert compute_inputs_id("h", a) != compute_inputs_id("other circuit", a)
