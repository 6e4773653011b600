"""The ceremony path: a snarkjs zkey (phase 1 + 2 made here with snarkjs, as a ceremony would)
imported with ``run_setup(zkey=...)``; our proofs verify under the ceremony's own verification
key, exported by snarkjs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from prover.artifacts import CIRCOMLIB_DIR, compute_main_source, run_setup
from prover.engine import NODE_MODULES, prove
from tests.prover.conftest import TOY_SPEC, compute_toy_inputs, requires_circomlib

pytestmark = [
    requires_circomlib,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("node") is None, reason="node needed"),
]


def node(*args: str, cwd: Path | str) -> str:
    run = subprocess.run(
        ["node", *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    assert run.returncode == 0 and "ERROR" not in run.stdout, run.stdout + run.stderr
    return run.stdout


def rel(path: Path) -> str:
    return os.path.relpath(path.resolve(), "/")


def test_imported_zkey_proves_under_the_ceremony_key(tmp_path: Path) -> None:
    snarkjs = str(NODE_MODULES / ".bin" / "snarkjs")
    source = TOY_SPEC.get_source_path()
    (tmp_path / "main.circom").write_text(compute_main_source(TOY_SPEC, source.name))
    # groth16py compiles with circom's --O2: the ceremony's r1cs must be the same system
    node(
        str(NODE_MODULES / ".bin" / "circom2"),
        rel(tmp_path / "main.circom"),
        "--r1cs",
        "--O2",
        "-l",
        rel(source.parent),
        "-l",
        rel(CIRCOMLIB_DIR),
        "-o",
        rel(tmp_path),
        cwd="/",
    )
    node(snarkjs, "powersoftau", "new", "bn128", "10", "p0.ptau", cwd=tmp_path)
    node(
        snarkjs, "powersoftau", "contribute", "p0.ptau", "p1.ptau", "--name=t", "-e=t", cwd=tmp_path
    )
    node(snarkjs, "powersoftau", "prepare", "phase2", "p1.ptau", "final.ptau", cwd=tmp_path)
    node(snarkjs, "groth16", "setup", "main.r1cs", "final.ptau", "circuit.zkey", cwd=tmp_path)
    node(snarkjs, "zkey", "export", "verificationkey", "circuit.zkey", "vk.json", cwd=tmp_path)

    result = run_setup(TOY_SPEC, tmp_path / "data", zkey=tmp_path / "circuit.zkey")
    artifacts = result.artifacts
    assert artifacts.manifest["setup_kind"].startswith("imported zkey ")
    assert not artifacts.is_single_party
    ceremony_vk = json.loads((tmp_path / "vk.json").read_text())
    for key in ("vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2", "IC", "nPublic"):
        assert artifacts.verification_key_json[key] == ceremony_vk[key], key

    proof = prove(artifacts, compute_toy_inputs(5, 6)).to_json()
    (tmp_path / "proof.json").write_text(json.dumps(proof["proof"]))
    (tmp_path / "public.json").write_text(json.dumps(proof["public_signals"]))
    assert "OK" in node(
        snarkjs, "groth16", "verify", "vk.json", "public.json", "proof.json", cwd=tmp_path
    )
