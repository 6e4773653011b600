"""The Groth16/BN254 verifier (``l1.core.groth16``) against real snarkjs 0.7.6 artifacts.

The circuit (``tests/l1/groth16/multiplier.circom``) is compiled with circom2 and set up with a
throw-away powers of tau at test time, in a session-scoped temporary directory: nothing binary
is committed. Its public signals are ``[Poseidon(a, b), c]`` with ``c = a·b``, two of them, so
a verifier that permutes inputs is caught.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from py_ecc.fields import optimized_bn128_FQ as FQ
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.optimized_bn128 import optimized_curve as curve

from l1.core import groth16
from l1.core.groth16 import (
    CURVE_ORDER,
    FIELD_MODULUS,
    PROOF_SIZE,
    CoordinateOutOfRange,
    EmptyInputCommitments,
    G1Affine,
    G2Affine,
    Groth16EncodingError,
    Groth16Error,
    InvalidEncodingLength,
    MalformedJson,
    NonCanonicalNumber,
    PointAtInfinity,
    PointNotInSubgroup,
    PointNotOnCurve,
    Proof,
    ProofRejected,
    PublicInputCountMismatch,
    PublicInputOutOfRange,
    UnsupportedProtocol,
    VerifyingKey,
)

ROOT = Path(__file__).resolve().parents[2]
PROVER_DIR = ROOT / "prover"
BIN = PROVER_DIR / "node_modules" / ".bin"
CIRCUIT_DIR = Path(__file__).resolve().parent / "groth16"
CIRCOMLIB = PROVER_DIR / "node_modules" / "circomlib" / "circuits"
#: 2^9 points suffice for the 241 constraints of the circuit compiled with --O2.
PTAU_POWER = 9


# ----------------------------------------------------------------------------- fixture
@dataclass(frozen=True)
class Artifacts:
    dir: Path
    vk_json: str
    proof_json: str
    public_json: str
    other_proof_json: str
    other_public_json: str
    vk: VerifyingKey
    proof: Proof
    public: tuple[int, ...]
    other_proof: Proof
    other_public: tuple[int, ...]


def _run(*args: str | Path, cwd: Path) -> str:
    """Run a node tool; snarkjs sometimes exits 0 after logging an error, so check for that too."""
    done = subprocess.run(
        ["node", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    output = done.stdout + done.stderr
    if done.returncode != 0 or "[ERROR]" in output:
        raise RuntimeError(f"{args[0]} {args[1]} failed ({done.returncode}):\n{output}")
    return output


def _snarkjs(*args: str | Path, cwd: Path) -> str:
    return _run(BIN / "snarkjs", *args, cwd=cwd)


def _need(path: Path) -> Path:
    if not path.is_file():
        raise RuntimeError(f"the build did not produce {path}")
    return path


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    if shutil.which("node") is None or not (BIN / "snarkjs").exists():
        pytest.skip("node and prover/node_modules (snarkjs, circom2, circomlib) are needed")
    d = tmp_path_factory.mktemp("groth16")
    start = time.perf_counter()
    # circom2 is a WASI build that only sees files below its working directory: run it from
    # the repository root (an include path outside it is "not found").
    _run(
        BIN / "circom2",
        (CIRCUIT_DIR / "multiplier.circom").relative_to(ROOT),
        "--r1cs",
        "--wasm",
        "--O2",
        "-l",
        CIRCOMLIB.relative_to(ROOT),
        "-o",
        d,
        cwd=ROOT,
    )
    wasm = _need(d / "multiplier_js" / "multiplier.wasm")
    _snarkjs("powersoftau", "new", "bn128", str(PTAU_POWER), "pot0.ptau", cwd=d)
    _snarkjs("powersoftau", "contribute", "pot0.ptau", "pot1.ptau", "--name=t", "-e=tau", cwd=d)
    _snarkjs("powersoftau", "prepare", "phase2", "pot1.ptau", "pot.ptau", cwd=d)
    _snarkjs(
        "groth16", "setup", _need(d / "multiplier.r1cs"), _need(d / "pot.ptau"), "0.zkey", cwd=d
    )
    _snarkjs("zkey", "contribute", _need(d / "0.zkey"), "1.zkey", "--name=t", "-e=zk", cwd=d)
    _snarkjs("zkey", "export", "verificationkey", _need(d / "1.zkey"), "vk.json", cwd=d)
    for name in ("input", "other_input"):
        _snarkjs(
            "groth16",
            "fullprove",
            CIRCUIT_DIR / f"{name}.json",
            wasm,
            "1.zkey",
            f"{name}_proof.json",
            f"{name}_public.json",
            cwd=d,
        )
    print(f"\ngroth16 fixture build (circom2 + snarkjs): {time.perf_counter() - start:.1f} s")
    texts = {
        name: _need(d / name).read_text()
        for name in (
            "vk.json",
            "input_proof.json",
            "input_public.json",
            "other_input_proof.json",
            "other_input_public.json",
        )
    }
    return Artifacts(
        dir=d,
        vk_json=texts["vk.json"],
        proof_json=texts["input_proof.json"],
        public_json=texts["input_public.json"],
        other_proof_json=texts["other_input_proof.json"],
        other_public_json=texts["other_input_public.json"],
        vk=groth16.decode_verifying_key_json(texts["vk.json"]),
        proof=groth16.decode_proof_json(texts["input_proof.json"]),
        public=groth16.decode_public_inputs_json(texts["input_public.json"]),
        other_proof=groth16.decode_proof_json(texts["other_input_proof.json"].encode()),
        other_public=groth16.decode_public_inputs_json(texts["other_input_public.json"]),
    )


# ----------------------------------------------------------------------------- point helpers
def _g1_times(point: G1Affine, k: int) -> G1Affine:
    x, y = curve.normalize(curve.multiply((FQ(point[0]), FQ(point[1]), FQ.one()), k))
    return (int(x), int(y))


def _g2_times(point: G2Affine, k: int) -> G2Affine:
    (x0, x1), (y0, y1) = point
    x, y = curve.normalize(curve.multiply((FQ2([x0, x1]), FQ2([y0, y1]), FQ2.one()), k))
    return ((int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1])))


def _fq_sqrt(a: int) -> int | None:
    """q ≡ 3 (mod 4): a^((q+1)/4) is a square root when one exists."""
    s = pow(a, (FIELD_MODULUS + 1) // 4, FIELD_MODULUS)
    return s if s * s % FIELD_MODULUS == a % FIELD_MODULUS else None


def _fq2_sqrt(a0: int, a1: int) -> tuple[int, int] | None:
    """Square root in F_q[u]/(u² + 1) via the norm: (x0 + x1·u)² = a with x0² = (a0 ± √N)/2."""
    q = FIELD_MODULUS
    s = _fq_sqrt((a0 * a0 + a1 * a1) % q)
    if s is None:
        return None
    half = pow(2, -1, q)
    for t in ((a0 + s) * half % q, (a0 - s) * half % q):
        x0 = _fq_sqrt(t)
        if x0 is None or x0 == 0:
            continue
        x1 = a1 * pow(2 * x0, -1, q) % q
        if ((x0 * x0 - x1 * x1) % q, 2 * x0 * x1 % q) == (a0 % q, a1 % q):
            return (x0, x1)
    return None


def _twist_point_outside_subgroup() -> G2Affine:
    """A point of y² = x³ + 3/(9+u) that is not in G2: the twist has r·(2q − r) points."""
    for k in range(1, 100):
        x = FQ2([k, 1])
        rhs = x * x * x + curve.b2
        root = _fq2_sqrt(int(rhs.coeffs[0]), int(rhs.coeffs[1]))
        if root is None:
            continue
        y = FQ2(list(root))
        assert y * y == rhs
        if not curve.is_inf(curve.multiply((x, y, FQ2.one()), CURVE_ORDER)):
            return ((k, 1), root)
    raise AssertionError("no twist point found")


# ----------------------------------------------------------------------------- acceptance
def test_snarkjs_proof_is_accepted(artifacts: Artifacts) -> None:
    start = time.perf_counter()
    groth16.validate_proof(artifacts.vk, artifacts.proof, artifacts.public)
    print(
        f"\ngroth16 validate_proof (py_ecc, 2 public inputs): {time.perf_counter() - start:.2f} s"
    )
    assert len(artifacts.public) == 2
    assert artifacts.public[1] == 33


def test_other_snarkjs_proof_is_accepted(artifacts: Artifacts) -> None:
    assert groth16.is_valid_proof(artifacts.vk, artifacts.other_proof, artifacts.other_public)
    assert artifacts.other_public[1] == 35


def test_json_codecs_match_snarkjs(artifacts: Artifacts) -> None:
    proof_obj = json.loads(groth16.encode_proof_json(artifacts.proof))
    assert proof_obj == json.loads(artifacts.proof_json)
    vk_obj = json.loads(artifacts.vk_json)
    del vk_obj["vk_alphabeta_12"]
    assert json.loads(groth16.encode_verifying_key_json(artifacts.vk)) == vk_obj
    assert json.loads(groth16.encode_public_inputs_json(artifacts.public)) == json.loads(
        artifacts.public_json
    )
    assert groth16.decode_verifying_key_json(vk_obj) == artifacts.vk


def test_snarkjs_verifies_our_json(artifacts: Artifacts, tmp_path: Path) -> None:
    """Interoperability: what we write, snarkjs's own verifier reads and accepts."""
    (tmp_path / "vk.json").write_text(groth16.encode_verifying_key_json(artifacts.vk))
    (tmp_path / "proof.json").write_text(groth16.encode_proof_json(artifacts.proof))
    (tmp_path / "public.json").write_text(groth16.encode_public_inputs_json(artifacts.public))
    output = _snarkjs("groth16", "verify", "vk.json", "public.json", "proof.json", cwd=tmp_path)
    assert "OK!" in output


def test_binary_proof_is_the_solidity_calldata_layout(artifacts: Artifacts) -> None:
    """snarkjs's Solidity calldata is the EIP-197 order (Fp2 as c1, c0); ours must be too."""
    output = _snarkjs(
        "zkey",
        "export",
        "soliditycalldata",
        artifacts.dir / "input_public.json",
        artifacts.dir / "input_proof.json",
        cwd=artifacts.dir,
    )
    a, b, c, public = json.loads(f"[{output.strip()}]")
    words = [*a, *b[0], *b[1], *c]
    assert groth16.encode_proof(artifacts.proof) == b"".join(
        int(w, 16).to_bytes(32, "big") for w in words
    )
    assert tuple(int(w, 16) for w in public) == artifacts.public


def test_binary_round_trips(artifacts: Artifacts) -> None:
    raw_proof = groth16.encode_proof(artifacts.proof)
    assert len(raw_proof) == PROOF_SIZE == 256
    assert groth16.decode_proof(raw_proof) == artifacts.proof
    raw_vk = groth16.encode_verifying_key(artifacts.vk)
    assert len(raw_vk) == 64 + 3 * 128 + 4 + 3 * 64
    assert groth16.decode_verifying_key(raw_vk) == artifacts.vk
    assert groth16.is_valid_proof(
        groth16.decode_verifying_key(raw_vk), groth16.decode_proof(raw_proof), artifacts.public
    )


_coord = st.integers(0, FIELD_MODULUS - 1)
_g1 = st.tuples(_coord, _coord)
_g2 = st.tuples(st.tuples(_coord, _coord), st.tuples(_coord, _coord))


@given(a=_g1, b=_g2, c=_g1)
def test_proof_codecs_round_trip_any_coordinates(a: G1Affine, b: G2Affine, c: G1Affine) -> None:
    proof = Proof(a=a, b=b, c=c)
    assert groth16.decode_proof(groth16.encode_proof(proof)) == proof
    assert groth16.decode_proof_json(groth16.encode_proof_json(proof)) == proof


@given(alpha=_g1, g2s=st.tuples(_g2, _g2, _g2), ic=st.lists(_g1, min_size=1, max_size=4))
def test_vk_codecs_round_trip_any_coordinates(
    alpha: G1Affine, g2s: tuple[G2Affine, G2Affine, G2Affine], ic: list[G1Affine]
) -> None:
    vk = VerifyingKey(alpha1=alpha, beta2=g2s[0], gamma2=g2s[1], delta2=g2s[2], ic=tuple(ic))
    assert groth16.decode_verifying_key(groth16.encode_verifying_key(vk)) == vk
    assert groth16.decode_verifying_key_json(groth16.encode_verifying_key_json(vk)) == vk


# ----------------------------------------------------------------------------- rejections
@pytest.mark.parametrize("field", ["a", "b", "c"])
def test_tampered_point_on_curve_is_rejected(artifacts: Artifacts, field: str) -> None:
    proof = artifacts.proof
    doubled = {
        "a": lambda: replace(proof, a=_g1_times(proof.a, 2)),
        "b": lambda: replace(proof, b=_g2_times(proof.b, 2)),
        "c": lambda: replace(proof, c=_g1_times(proof.c, 2)),
    }[field]()
    with pytest.raises(ProofRejected):
        groth16.validate_proof(artifacts.vk, doubled, artifacts.public)
    assert not groth16.is_valid_proof(artifacts.vk, doubled, artifacts.public)


def test_swapped_public_inputs_are_rejected(artifacts: Artifacts) -> None:
    h, c = artifacts.public
    with pytest.raises(ProofRejected):
        groth16.validate_proof(artifacts.vk, artifacts.proof, (c, h))


def test_altered_public_input_is_rejected(artifacts: Artifacts) -> None:
    h, c = artifacts.public
    with pytest.raises(ProofRejected):
        groth16.validate_proof(artifacts.vk, artifacts.proof, (h, c + 1))


def test_proof_for_other_inputs_is_rejected(artifacts: Artifacts) -> None:
    with pytest.raises(ProofRejected):
        groth16.validate_proof(artifacts.vk, artifacts.other_proof, artifacts.public)


def test_point_off_curve_is_rejected(artifacts: Artifacts) -> None:
    proof = artifacts.proof
    (bx, (by0, by1)) = proof.b
    for bad in (
        replace(proof, a=(proof.a[0], (proof.a[1] + 1) % FIELD_MODULUS)),
        replace(proof, b=(bx, (by0, (by1 + 1) % FIELD_MODULUS))),
        replace(proof, c=(proof.c[0], 0)),
    ):
        with pytest.raises(PointNotOnCurve):
            groth16.validate_proof(artifacts.vk, bad, artifacts.public)
    vk = replace(artifacts.vk, ic=(artifacts.vk.ic[0], (1, 1), artifacts.vk.ic[2]))
    with pytest.raises(PointNotOnCurve, match=r"vk\.ic\[1\]"):
        groth16.validate_proof(vk, proof, artifacts.public)


def test_twist_point_outside_the_subgroup_is_rejected(artifacts: Artifacts) -> None:
    point = _twist_point_outside_subgroup()
    with pytest.raises(PointNotInSubgroup, match=r"proof\.b"):
        groth16.validate_proof(artifacts.vk, replace(artifacts.proof, b=point), artifacts.public)
    with pytest.raises(PointNotInSubgroup, match=r"vk\.delta2"):
        groth16.validate_proof(
            replace(artifacts.vk, delta2=point), artifacts.proof, artifacts.public
        )
    # It survives the binary codec: only validation can refuse it.
    raw = groth16.encode_proof(replace(artifacts.proof, b=point))
    assert not groth16.is_valid_proof(artifacts.vk, groth16.decode_proof(raw), artifacts.public)


def test_point_at_infinity_is_rejected(artifacts: Artifacts) -> None:
    proof, vk = artifacts.proof, artifacts.vk
    for bad_proof in (
        replace(proof, a=(0, 0)),
        replace(proof, b=((0, 0), (0, 0))),
        replace(proof, c=(0, 0)),
    ):
        with pytest.raises(PointAtInfinity):
            groth16.validate_proof(vk, bad_proof, artifacts.public)
    with pytest.raises(PointAtInfinity, match=r"vk\.gamma2"):
        groth16.validate_proof(replace(vk, gamma2=((0, 0), (0, 0))), proof, artifacts.public)
    with pytest.raises(PointAtInfinity, match=r"vk\.ic\[0\]"):
        groth16.validate_verifying_key(replace(vk, ic=((0, 0), *vk.ic[1:])))
    # snarkjs writes infinity as ["0", "1", "0"]; it decodes, then fails validation.
    obj = json.loads(artifacts.proof_json)
    obj["pi_a"] = ["0", "1", "0"]
    assert groth16.decode_proof_json(obj).a == (0, 0)
    assert groth16.decode_proof_json(groth16.encode_proof_json(replace(proof, a=(0, 0)))).a == (
        0,
        0,
    )


def test_coordinate_not_below_q_is_rejected(artifacts: Artifacts) -> None:
    """x + q is x modulo q — still "on the curve" — and must not be a second encoding of A."""
    proof = artifacts.proof
    (bx0, bx1), by = proof.b
    for bad in (
        replace(proof, a=(proof.a[0] + FIELD_MODULUS, proof.a[1])),
        replace(proof, b=((bx0, bx1 + FIELD_MODULUS), by)),
        replace(proof, c=(proof.c[0], -1)),
    ):
        with pytest.raises(CoordinateOutOfRange):
            groth16.validate_proof(artifacts.vk, bad, artifacts.public)
    raw = bytearray(groth16.encode_proof(proof))
    raw[0:32] = (proof.a[0] + FIELD_MODULUS).to_bytes(32, "big")
    with pytest.raises(CoordinateOutOfRange):
        groth16.decode_proof(bytes(raw))
    raw_vk = bytearray(groth16.encode_verifying_key(artifacts.vk))
    raw_vk[-32:] = FIELD_MODULUS.to_bytes(32, "big")
    with pytest.raises(CoordinateOutOfRange):
        groth16.decode_verifying_key(bytes(raw_vk))
    obj = json.loads(artifacts.proof_json)
    obj["pi_c"][0] = str(proof.c[0] + FIELD_MODULUS)
    with pytest.raises(CoordinateOutOfRange):
        groth16.decode_proof_json(obj)


def test_public_input_not_below_r_is_rejected(artifacts: Artifacts) -> None:
    h, c = artifacts.public
    for bad in ((h, c + CURVE_ORDER), (h + CURVE_ORDER, c), (h, -1)):
        with pytest.raises(PublicInputOutOfRange):
            groth16.validate_proof(artifacts.vk, artifacts.proof, bad)
    with pytest.raises(PublicInputOutOfRange):
        groth16.decode_public_inputs_json(json.dumps([str(h), str(c + CURVE_ORDER)]))


def test_wrong_input_count_is_rejected(artifacts: Artifacts) -> None:
    h, c = artifacts.public
    for bad in ((), (h,), (h, c, 0)):
        with pytest.raises(PublicInputCountMismatch):
            groth16.validate_proof(artifacts.vk, artifacts.proof, bad)


def test_empty_ic_is_rejected(artifacts: Artifacts) -> None:
    vk = replace(artifacts.vk, ic=())
    with pytest.raises(EmptyInputCommitments):
        groth16.validate_proof(vk, artifacts.proof, ())
    raw = groth16.encode_verifying_key(vk)
    with pytest.raises(EmptyInputCommitments):
        groth16.decode_verifying_key(raw)


def test_binary_lengths_are_enforced(artifacts: Artifacts) -> None:
    raw = groth16.encode_proof(artifacts.proof)
    for bad in (b"", raw[:-1], raw + b"\x00"):
        with pytest.raises(InvalidEncodingLength):
            groth16.decode_proof(bad)
    raw_vk = groth16.encode_verifying_key(artifacts.vk)
    for bad in (raw_vk[:100], raw_vk[:-1], raw_vk + bytes(64)):
        with pytest.raises(InvalidEncodingLength):
            groth16.decode_verifying_key(bad)
    header = 64 + 3 * 128
    inflated = raw_vk[:header] + (4).to_bytes(4, "little") + raw_vk[header + 4 :]
    with pytest.raises(InvalidEncodingLength):
        groth16.decode_verifying_key(inflated)


def _patched(text: str, **changes: object) -> dict[str, object]:
    obj: dict[str, object] = json.loads(text)
    obj.update(changes)
    return obj


def test_malformed_json_is_rejected(artifacts: Artifacts) -> None:
    proof_json, vk_json = artifacts.proof_json, artifacts.vk_json
    pi_a = json.loads(proof_json)["pi_a"]
    cases: list[tuple[type[Groth16Error], object]] = [
        (MalformedJson, b"{"),
        (MalformedJson, b"\xff"),
        (MalformedJson, "[]"),
        (MalformedJson, {"pi_b": [], "pi_c": []}),
        (MalformedJson, _patched(proof_json, pi_a=pi_a[:2])),
        (MalformedJson, _patched(proof_json, pi_a=[int(pi_a[0]), pi_a[1], "1"])),
        (NonCanonicalNumber, _patched(proof_json, pi_a=["0" + pi_a[0], pi_a[1], "1"])),
        (NonCanonicalNumber, _patched(proof_json, pi_a=[hex(int(pi_a[0])), pi_a[1], "1"])),
        (NonCanonicalNumber, _patched(proof_json, pi_a=["-" + pi_a[0], pi_a[1], "1"])),
        (NonCanonicalNumber, _patched(proof_json, pi_a=[pi_a[0], pi_a[1], "2"])),
        (NonCanonicalNumber, _patched(proof_json, pi_a=[" " + pi_a[0], pi_a[1], "1"])),
        (UnsupportedProtocol, _patched(proof_json, protocol="plonk")),
        (UnsupportedProtocol, _patched(proof_json, curve="bls12381")),
    ]
    for error, data in cases:
        with pytest.raises(error):
            groth16.decode_proof_json(data)  # type: ignore[arg-type]
    vk_cases: list[tuple[type[Groth16Error], object]] = [
        (MalformedJson, "not json"),
        (MalformedJson, _patched(vk_json, nPublic=3)),
        (MalformedJson, _patched(vk_json, nPublic="2")),
        (MalformedJson, _patched(vk_json, IC="x")),
        (MalformedJson, {k: v for k, v in json.loads(vk_json).items() if k != "vk_delta_2"}),
        (EmptyInputCommitments, _patched(vk_json, IC=[], nPublic=-1)),
        (UnsupportedProtocol, _patched(vk_json, protocol="fflonk")),
    ]
    for error, data in vk_cases:
        with pytest.raises(error):
            groth16.decode_verifying_key_json(data)  # type: ignore[arg-type]
    for bad_public in ('["01"]', "{}", '["1", 2]', "["):
        with pytest.raises(Groth16EncodingError):
            groth16.decode_public_inputs_json(bad_public)


def test_error_tree() -> None:
    leaves = [
        CoordinateOutOfRange,
        PointNotOnCurve,
        PointNotInSubgroup,
        PointAtInfinity,
        PublicInputOutOfRange,
        PublicInputCountMismatch,
        ProofRejected,
        InvalidEncodingLength,
        MalformedJson,
        NonCanonicalNumber,
        UnsupportedProtocol,
        EmptyInputCommitments,
    ]
    assert all(issubclass(leaf, Groth16Error) for leaf in leaves)


def test_verification_cycles_estimate() -> None:
    one = groth16.compute_verification_cycles(1)
    assert 10_000_000 <= groth16.compute_verification_cycles(0) < one < 70_000_000
    per_input = groth16.compute_verification_cycles(2) - one
    assert groth16.compute_verification_cycles(5) == one + 4 * per_input


def test_importing_the_verifier_keeps_the_recursion_limit() -> None:
    """py_ecc raises the process's recursion limit to 100,000 on import; the verifier puts it
    back, so a deeply nested JSON body still fails with RecursionError (a 4xx in every service)
    instead of overflowing the C stack."""
    import subprocess
    import sys

    code = (
        "import sys; before = sys.getrecursionlimit(); import l1.core.groth16; "
        "import l1.core.scripts.rollup; print(before, sys.getrecursionlimit())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    before, after = done.stdout.split()
    assert before == after == "1000", done.stderr
