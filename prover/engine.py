"""Proving: inputs in, a Groth16 proof (Ethereum 256-byte layout and snarkjs JSON) out.

The engine (``groth16py.prove``) computes the witness without checking the circuit's
``assert``s or ``===`` constraints, so an unsatisfiable witness would come back as a proof that
simply does not verify.  Every proof is therefore verified before it is returned (a few
milliseconds); a failing one means the inputs do not satisfy the circuit, and the failing
template and line are then found by replaying the witness computation with circom's own
JavaScript witness calculator (node + snarkjs from prover/node_modules), which does check them.
That replay only runs on the failure path and is skipped, with a note, when node is missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import groth16py

from l1.core import groth16 as l1_groth16
from prover.artifacts import CIRCOMLIB_DIR, Artifacts, _exclusive, compute_main_source
from prover.errors import InvalidInputs, InvalidWitness
from prover.presets import REPO_ROOT

__all__ = [
    "BN254_FIELD_MODULUS",
    "ProofResult",
    "compute_inputs_id",
    "compute_public_signals",
    "encode_proof_json",
    "normalize_inputs",
    "prove",
]

#: The BN254 scalar field: every signal value must be below it (docs/validity.md §1).
BN254_FIELD_MODULUS: Final = (
    21888242871839275222246405745257275088548364400416034343698204186575808495617
)
NODE_MODULES: Final = REPO_ROOT / "prover" / "node_modules"
#: Seconds the failure diagnosis may take (compiling the witness wasm once, then replaying).
DIAGNOSE_TIMEOUT: Final = 600.0
MAX_NESTING: Final = 8

InputValue = int | list["InputValue"]


@dataclass(frozen=True, slots=True)
class ProofResult:
    """A verified proof: ``proof`` is the 256-byte Ethereum layout (``a``, ``b`` with c1 before
    c0, ``c``; 32-byte big-endian words), ``proof_json`` snarkjs's ``proof.json``."""

    proof: bytes
    proof_json: dict[str, Any]
    public_signals: tuple[int, ...]
    elapsed_s: float

    def to_json(self) -> dict[str, Any]:
        return {
            "proof": self.proof_json,
            "public_signals": [str(v) for v in self.public_signals],
            "proof_hex": self.proof.hex(),
        }


# ----------------------------------------------------------------------------- inputs
def _normalize_value(value: Any, where: str, depth: int) -> InputValue:
    if isinstance(value, list):
        if depth >= MAX_NESTING:
            raise InvalidInputs(f"{where}: arrays nested deeper than {MAX_NESTING} levels")
        return [_normalize_value(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInputs(
            f"{where}: expected an integer, a decimal or 0x-hex string, or a list, got "
            f"{type(value).__name__} {json.dumps(value)[:40]}"
        )
    if isinstance(value, int):
        number = value
    else:
        text = value.strip()
        try:
            number = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
        except ValueError:
            raise InvalidInputs(
                f"{where}: {value[:40]!r} is not an integer (decimal or 0x-hex string)"
            ) from None
    if number < 0:
        raise InvalidInputs(f"{where}: {number} is negative; signal values are field elements")
    if number >= BN254_FIELD_MODULUS:
        raise InvalidInputs(
            f"{where}: {number} is not below the BN254 scalar field modulus {BN254_FIELD_MODULUS}"
        )
    return number


def normalize_inputs(inputs: Any, input_signals: list[str] | None = None) -> dict[str, InputValue]:
    """Check and convert submitted inputs to ints (strings accepted, decimal or 0x-hex).
    ``InvalidInputs`` says exactly which value is wrong; with ``input_signals`` (the main
    template's input names, from the manifest) unknown and missing signals are refused too."""
    if not isinstance(inputs, dict):
        raise InvalidInputs(
            f"inputs must be an object of signal values, got {type(inputs).__name__}"
        )
    if not inputs:
        raise InvalidInputs("inputs is empty")
    normalized: dict[str, InputValue] = {}
    for name, value in inputs.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise InvalidInputs(f"inputs: {name!r} is not a signal name")
        normalized[name] = _normalize_value(value, f"inputs.{name}", 0)
    if input_signals is not None:
        unknown = [n for n in normalized if n not in input_signals]
        if unknown:
            raise InvalidInputs(
                f"unknown input signal(s) {', '.join(unknown)}; the circuit's inputs are "
                f"{', '.join(input_signals)}"
            )
        missing = [n for n in input_signals if n not in normalized]
        if missing:
            raise InvalidInputs(f"missing input signal(s) {', '.join(missing)}")
    return normalized


def _canonical(value: InputValue) -> Any:
    return [_canonical(v) for v in value] if isinstance(value, list) else str(value)


def compute_inputs_id(circuit_hash: str, inputs: dict[str, InputValue]) -> str:
    """The job id: sha256 of the circuit hash and the canonical inputs (decimal strings, sorted
    keys, no spaces), so the same inputs for the same circuit are always the same job, however
    they were spelled (hex or decimal, key order)."""
    canonical = json.dumps(
        {k: _canonical(v) for k, v in inputs.items()}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(f"{circuit_hash}\n{canonical}".encode()).hexdigest()


def compute_public_signals(
    public_names: tuple[str, ...], inputs: dict[str, InputValue]
) -> tuple[int, ...]:
    """The public signals in circuit order, read from the inputs (public signals are inputs)."""
    values = []
    for name in public_names:
        value = inputs.get(name)
        if value is None:
            raise InvalidInputs(f"missing public input signal {name}")
        if not isinstance(value, int):
            raise InvalidInputs(f"inputs.{name}: the public signal must be a single value")
        values.append(value)
    return tuple(values)


# ----------------------------------------------------------------------------- proof formats
def encode_proof_json(proof: bytes) -> dict[str, Any]:
    """snarkjs ``proof.json`` of a 256-byte Ethereum-layout proof (``l1.core.groth16``, the
    format code the L1's verifier uses, so the two can never disagree)."""
    return dict(json.loads(l1_groth16.encode_proof_json(l1_groth16.decode_proof(proof))))


# ----------------------------------------------------------------------------- proving
def prove(artifacts: Artifacts, inputs: dict[str, Any]) -> ProofResult:
    """Prove ``inputs`` (a verified proof) or raise ``InvalidInputs`` / ``InvalidWitness``."""
    values = normalize_inputs(inputs, artifacts.manifest.get("input_signals"))
    public = compute_public_signals(artifacts.spec.public_signals, values)
    started = time.monotonic()
    try:
        proof = groth16py.prove(artifacts.proving_key, dict(values))
    except groth16py.WitnessError as exc:
        raise InvalidWitness(f"the witness generator refused the inputs: {exc}") from None
    if not groth16py.Verifier(artifacts.verifying_key).verify(proof, list(public)):
        reason = get_witness_failure(artifacts, values)
        raise InvalidWitness(
            f"the inputs do not satisfy {artifacts.spec.template} "
            f"({artifacts.spec.source}): {reason}"
        )
    elapsed = time.monotonic() - started
    return ProofResult(proof, encode_proof_json(proof), public, elapsed)


def _relative_to_root(path: Path) -> str:
    """circom2 (WASI) sees the file system through relative paths only: run it from ``/``."""
    return os.path.relpath(path.resolve(), "/")


def _compile_witness_wasm(artifacts: Artifacts, node: str) -> Path:
    """circom's JavaScript witness calculator for the circuit, compiled once per artifacts
    directory (under its lock, written aside and renamed)."""
    target = artifacts.directory / "witness"
    wasm = target / "main_js" / "main.wasm"
    with _exclusive(artifacts.directory / ".witness.lock"):
        if wasm.is_file():
            return wasm
        work = Path(tempfile.mkdtemp(prefix=".tmp-witness-", dir=artifacts.directory))
        try:
            source = artifacts.spec.get_source_path().resolve()
            main = work / "main.circom"
            main.write_text(compute_main_source(artifacts.spec, source.name))
            command = [
                node,
                str(NODE_MODULES / ".bin" / "circom2"),
                _relative_to_root(main),
                "--wasm",
                "-l",
                _relative_to_root(source.parent),
                "-l",
                _relative_to_root(CIRCOMLIB_DIR),
                "-o",
                _relative_to_root(work),
            ]
            run = subprocess.run(
                command, cwd="/", capture_output=True, text=True, timeout=DIAGNOSE_TIMEOUT
            )
            if run.returncode != 0 or not (work / "main_js" / "main.wasm").is_file():
                raise RuntimeError(f"circom2 failed: {(run.stdout + run.stderr)[-500:]}")
            os.rename(work, target)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    return wasm


def get_witness_failure(artifacts: Artifacts, values: dict[str, InputValue]) -> str:
    """Which ``assert``/``===`` fails, from circom's witness calculator ("Assert Failed. Error
    in template T_3 line: 42"), or a plain statement when that cannot be found out."""
    plain = "a constraint or assert fails (the proof does not verify)"
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / ".bin" / "snarkjs").exists():
        return f"{plain}; install node and run `make install` to see which one"
    try:
        wasm = _compile_witness_wasm(artifacts, node)
        with tempfile.TemporaryDirectory() as scratch:
            input_path = Path(scratch) / "input.json"
            input_path.write_text(json.dumps({k: _canonical(v) for k, v in values.items()}))
            run = subprocess.run(
                [
                    node,
                    str(NODE_MODULES / ".bin" / "snarkjs"),
                    "wtns",
                    "calculate",
                    str(wasm),
                    str(input_path),
                    str(Path(scratch) / "witness.wtns"),
                ],
                capture_output=True,
                text=True,
                timeout=DIAGNOSE_TIMEOUT,
            )
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        return f"{plain}; finding which one failed: {exc}"
    output = re.sub(r"\x1b\[[0-9;]*m", "", run.stdout + run.stderr)
    found = re.search(r"(Assert Failed\.\s*)?Error in template (\w+) line: (\d+)", output)
    if found is None:
        return f"{plain}; circom's witness calculator did not say which"
    kind = "assert/constraint failed" if found.group(1) else "error"
    template = re.sub(r"_\d+$", "", found.group(2))  # circom numbers template instances
    return f"{kind} in template {template} line {found.group(3)} (circom: {found.group(0)})"
