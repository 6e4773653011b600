"""Groth16 proof verification over BN254 (alt_bn128), the validity-mode verifier of the L1.

The verifier checks Groth16's equation (Groth, "On the Size of Pairing-based Non-interactive
Arguments", EUROCRYPT 2016, §3.2) in the form used by snarkjs and by Ethereum's Solidity
verifiers, with every pairing moved to one side:

    e(-A, B) · e(alpha, beta) · e(vk_x, gamma) · e(C, delta) == 1,
    vk_x = IC[0] + Σ input_i · IC[i+1].

The four Miller loops are multiplied and *one* final exponentiation is applied to the product,
which is what EIP-197's ``ecPairing`` precompile does and roughly halves the work against four
full pairings. The arithmetic is py_ecc's ``optimized_bn128`` (homogeneous projective points;
``pairing(Q, P, final_exponentiate=False)`` is the Miller loop, then ``final_exponentiate``).

Points are held as affine integers: a G1 point is ``(x, y)``, a G2 point is ``(x, y)`` with each
coordinate an Fp2 element ``(c0, c1)`` = ``c0 + c1·u`` (``u² = -1``), the order snarkjs writes.
The point at infinity is ``(0, 0)`` (resp. ``((0, 0), (0, 0))``), EIP-196's encoding of it; it is
refused everywhere (see ``PointAtInfinity``).

Every point of the proof *and* of the verifying key is checked before the pairing: coordinates
below the base-field modulus ``q``, on the curve, and for G2 in the order-``r`` subgroup (the
twist has cofactor ``2q - r``, so on-curve is not enough: a point outside the subgroup would be
an attack surface for the pairing). G1 of BN254 has prime order ``r`` (cofactor 1), so for G1
being on the curve is membership in the group. Public inputs must be canonical scalars ``< r``
(snarkjs's ``publicInputsAreValid``; without it ``x`` and ``x + r`` would both verify).

Wire formats:

- snarkjs JSON: ``verification_key.json`` and ``proof.json`` as written by snarkjs 0.7
  (projective decimal strings with ``z = "1"``; ``vk_alphabeta_12`` is redundant — it is
  ``e(alpha, beta)`` — and is neither read nor written; snarkjs's verifier does not use it);
- compact binary for L1 cell data and witnesses: 32-byte big-endian coordinates; the proof is the
  256-byte layout of EIP-197 / Solidity verifiers / groth16py (G2 coordinates as ``c1 ‖ c0``),
  the verifying key is ``alpha ‖ beta ‖ gamma ‖ delta ‖ u32 LE IC count ‖ IC``.

Pure: no I/O.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

# py_ecc raises the interpreter's recursion limit to 100,000 when it is imported. Every service
# that verifies or builds proofs imports this module, and the limit is what stops the json
# module (and pydantic) on a deeply nested request body: at 100,000 a body of nested brackets
# overflows the C stack and kills the process instead of raising RecursionError (a 4xx). The
# optimized BN254 functions used here recurse at most ~256 frames (double-and-add over a
# 254-bit scalar), so the limit is put back.
_RECURSION_LIMIT: Final = sys.getrecursionlimit()

from py_ecc.fields import optimized_bn128_FQ as FQ  # noqa: E402
from py_ecc.fields import optimized_bn128_FQ2 as FQ2  # noqa: E402
from py_ecc.fields import optimized_bn128_FQ12 as FQ12  # noqa: E402
from py_ecc.optimized_bn128.optimized_curve import (  # noqa: E402
    add,
    b2,
    curve_order,
    field_modulus,
    is_inf,
    multiply,
    neg,
    normalize,
)
from py_ecc.optimized_bn128.optimized_pairing import final_exponentiate, pairing  # noqa: E402
from py_ecc.typing import Optimized_Point3D  # noqa: E402

sys.setrecursionlimit(_RECURSION_LIMIT)

from l1.core.errors import L1Error  # noqa: E402

__all__ = [
    "CURVE_ORDER",
    "FIELD_MODULUS",
    "G1_POINT_SIZE",
    "G2_POINT_SIZE",
    "PROOF_SIZE",
    "CoordinateOutOfRange",
    "EmptyInputCommitments",
    "G1Affine",
    "G2Affine",
    "Groth16EncodingError",
    "Groth16Error",
    "InvalidEncodingLength",
    "InvalidPoint",
    "InvalidPublicInput",
    "MalformedJson",
    "NonCanonicalNumber",
    "PointAtInfinity",
    "PointNotInSubgroup",
    "PointNotOnCurve",
    "Proof",
    "ProofRejected",
    "PublicInputCountMismatch",
    "PublicInputOutOfRange",
    "UnsupportedProtocol",
    "VerifyingKey",
    "compute_verification_cycles",
    "compute_vk_x",
    "decode_proof",
    "decode_proof_json",
    "decode_public_inputs_json",
    "decode_verifying_key",
    "decode_verifying_key_json",
    "encode_proof",
    "encode_proof_json",
    "encode_public_inputs_json",
    "encode_verifying_key",
    "encode_verifying_key_json",
    "is_valid_proof",
    "validate_proof",
    "validate_public_inputs",
    "validate_verifying_key",
]

#: Base-field modulus ``q`` of BN254 (EIP-196 ``P``): coordinates are elements of F_q.
FIELD_MODULUS: Final[int] = field_modulus
#: Group order ``r`` of G1 and G2 (EIP-197), the scalar field of the circuit.
CURVE_ORDER: Final[int] = curve_order

#: Size of one coordinate (EIP-196: 32-byte big-endian words).
WORD_SIZE: Final = 32
G1_POINT_SIZE: Final = 2 * WORD_SIZE
G2_POINT_SIZE: Final = 4 * WORD_SIZE
#: EIP-197 / Solidity-verifier proof layout: A (G1) ‖ B (G2) ‖ C (G1).
PROOF_SIZE: Final = 2 * G1_POINT_SIZE + G2_POINT_SIZE
#: alpha (G1) ‖ beta, gamma, delta (G2) ‖ u32 IC count; the IC points follow.
VERIFYING_KEY_HEADER_SIZE: Final = G1_POINT_SIZE + 3 * G2_POINT_SIZE + 4
#: Longest decimal string a coordinate can have (``q`` has 77 digits); bounds int() parsing.
MAX_DECIMAL_DIGITS: Final = 78

PROTOCOL: Final = "groth16"
CURVE: Final = "bn128"

Fq2 = tuple[int, int]
"""An Fp2 element ``(c0, c1)`` = ``c0 + c1·u`` with ``u² = -1`` (py_ecc's and snarkjs's order)."""
G1Affine = tuple[int, int]
"""Affine G1 point ``(x, y)``; ``(0, 0)`` is the point at infinity (EIP-196)."""
G2Affine = tuple[Fq2, Fq2]
"""Affine G2 point on the twist ``y² = x³ + 3/(9+u)``; ``((0, 0), (0, 0))`` is infinity."""

G1_INFINITY: Final[G1Affine] = (0, 0)
G2_INFINITY: Final[G2Affine] = ((0, 0), (0, 0))


# ----------------------------------------------------------------------------- errors
class Groth16Error(L1Error):
    """Root of every Groth16 decoding or verification failure."""


class Groth16EncodingError(Groth16Error):
    """A verifying key, proof or public-input list is not a well-formed encoding."""


class InvalidEncodingLength(Groth16EncodingError):
    """Binary data is not exactly the size its layout (and IC count) implies."""


class MalformedJson(Groth16EncodingError):
    """Not JSON, or JSON missing a field or with a field of the wrong shape or type."""


class UnsupportedProtocol(Groth16EncodingError):
    """The JSON names a protocol other than ``groth16`` or a curve other than ``bn128``."""


class NonCanonicalNumber(Groth16EncodingError):
    """A decimal string that is not the canonical form (leading zeros, sign, spaces, hex …)."""


class InvalidPoint(Groth16Error):
    """A curve point of the proof or verifying key is not a valid group element."""


class CoordinateOutOfRange(InvalidPoint):
    """A coordinate is not a canonical element of F_q (it is ``>= q``; EIP-196 rejects it)."""


class PointNotOnCurve(InvalidPoint):
    """A point does not satisfy ``y² = x³ + 3`` (G1) or ``y² = x³ + 3/(9+u)`` (G2)."""


class PointNotInSubgroup(InvalidPoint):
    """A G2 point is on the twist but not in its order-``r`` subgroup (EIP-197 requires it)."""


class PointAtInfinity(InvalidPoint):
    """The identity where a proper point is required.

    No honest proof or key contains it: A, B, C are randomised by the prover's ``r``, ``s``;
    alpha, beta, gamma, delta are toxic-waste multiples of the generators; an identity IC[i]
    would make input ``i`` unconstrained by the proof.
    """


class EmptyInputCommitments(Groth16Error):
    """A verifying key without IC[0] (the constant term of ``vk_x``)."""


class InvalidPublicInput(Groth16Error):
    """The public inputs do not fit the verifying key."""


class PublicInputOutOfRange(InvalidPublicInput):
    """A public input is negative or ``>= r`` (not a canonical scalar)."""


class PublicInputCountMismatch(InvalidPublicInput):
    """The number of public inputs is not ``len(IC) - 1``."""


class ProofRejected(Groth16Error):
    """Every point is valid but the pairing equation does not hold."""


# ----------------------------------------------------------------------------- wire objects
@dataclass(frozen=True, slots=True)
class VerifyingKey:
    """Groth16 verifying key (snarkjs ``verification_key.json`` without ``vk_alphabeta_12``).

    ``ic[0]`` is the constant term of ``vk_x`` and ``ic[i + 1]`` multiplies public input ``i``
    (snarkjs orders public signals as outputs, then public inputs).
    """

    alpha1: G1Affine
    beta2: G2Affine
    gamma2: G2Affine
    delta2: G2Affine
    ic: tuple[G1Affine, ...]

    @property
    def public_input_count(self) -> int:
        """``nPublic`` of snarkjs: one IC point per public input plus IC[0]."""
        return len(self.ic) - 1


@dataclass(frozen=True, slots=True)
class Proof:
    """Groth16 proof ``(A, B, C)`` with A, C in G1 and B in G2 (snarkjs ``pi_a, pi_b, pi_c``)."""

    a: G1Affine
    b: G2Affine
    c: G1Affine


# ----------------------------------------------------------------------------- point checks
def _validate_coordinate(value: int, what: str) -> None:
    if not 0 <= value < FIELD_MODULUS:
        raise CoordinateOutOfRange(f"{what}: coordinate {value} is not below the field modulus")


def _to_g1(point: G1Affine, what: str) -> Optimized_Point3D[FQ]:
    """Check ``point`` is a non-identity G1 element and lift it to py_ecc's projective form.

    BN254's G1 has cofactor 1 (``#E(F_q) = r``), so being on ``y² = x³ + 3`` already means
    being in the order-``r`` group; no subgroup check is needed (EIP-196).
    """
    x, y = point
    _validate_coordinate(x, what)
    _validate_coordinate(y, what)
    if point == G1_INFINITY:
        raise PointAtInfinity(f"{what} is the point at infinity")
    if (y * y - x * x * x - 3) % FIELD_MODULUS != 0:
        raise PointNotOnCurve(f"{what} is not on the curve y^2 = x^3 + 3")
    return (FQ(x), FQ(y), FQ.one())


def _to_g2(point: G2Affine, what: str) -> Optimized_Point3D[FQ2]:
    """Check ``point`` is a non-identity element of G2 and lift it to py_ecc's projective form.

    The twist ``E'(F_q²): y² = x³ + 3/(9+u)`` has ``r · (2q - r)`` points, so on-curve points
    outside the order-``r`` subgroup exist; ``[r]P == O`` is the (slow but simple) membership
    test EIP-197 demands.
    """
    (x0, x1), (y0, y1) = point
    for value in (x0, x1, y0, y1):
        _validate_coordinate(value, what)
    if point == G2_INFINITY:
        raise PointAtInfinity(f"{what} is the point at infinity")
    x, y = FQ2([x0, x1]), FQ2([y0, y1])
    if y * y - x * x * x != b2:
        raise PointNotOnCurve(f"{what} is not on the twist y^2 = x^3 + 3/(9+u)")
    lifted = (x, y, FQ2.one())
    if not is_inf(multiply(lifted, CURVE_ORDER)):
        raise PointNotInSubgroup(f"{what} is on the twist but not in the order-r subgroup")
    return lifted


@dataclass(frozen=True, slots=True)
class _LiftedKey:
    """A checked verifying key as py_ecc projective points, with the Miller loop of
    ``e(alpha, beta)``: both depend on the key alone (snarkjs keeps the latter as
    ``vk_alphabeta_12``)."""

    alpha: Optimized_Point3D[FQ]
    beta: Optimized_Point3D[FQ2]
    gamma: Optimized_Point3D[FQ2]
    delta: Optimized_Point3D[FQ2]
    ic: tuple[Optimized_Point3D[FQ], ...]
    alpha_beta: FQ12


@lru_cache(maxsize=16)
def _lift_verifying_key(vk: VerifyingKey) -> _LiftedKey:
    """Check and lift ``vk`` once per key: a rollup verifies every batch under the same key,
    and the three G2 subgroup checks plus one Miller loop are about a third of a verification.
    A key that fails raises and is not cached (pure: the result depends on ``vk`` alone)."""
    if not vk.ic:
        raise EmptyInputCommitments("verifying key has no IC[0]")
    alpha = _to_g1(vk.alpha1, "vk.alpha1")
    beta = _to_g2(vk.beta2, "vk.beta2")
    return _LiftedKey(
        alpha=alpha,
        beta=beta,
        gamma=_to_g2(vk.gamma2, "vk.gamma2"),
        delta=_to_g2(vk.delta2, "vk.delta2"),
        ic=tuple(_to_g1(point, f"vk.ic[{i}]") for i, point in enumerate(vk.ic)),
        alpha_beta=pairing(beta, alpha, final_exponentiate=False),
    )


def validate_verifying_key(vk: VerifyingKey) -> None:
    """Check every point of ``vk``: in range, on the curve, in G2's subgroup, not infinity."""
    _lift_verifying_key(vk)


def validate_public_inputs(vk: VerifyingKey, public_inputs: Sequence[int]) -> None:
    """Check the inputs are ``nPublic`` canonical scalars (snarkjs ``publicInputsAreValid``)."""
    if len(public_inputs) != vk.public_input_count:
        raise PublicInputCountMismatch(
            f"{len(public_inputs)} public inputs, the verifying key expects {vk.public_input_count}"
        )
    for i, value in enumerate(public_inputs):
        if not 0 <= value < CURVE_ORDER:
            raise PublicInputOutOfRange(f"public input {i} is not below the curve order")


def _compute_vk_x(
    ic: tuple[Optimized_Point3D[FQ], ...], public_inputs: Sequence[int]
) -> Optimized_Point3D[FQ]:
    acc = ic[0]
    for point, value in zip(ic[1:], public_inputs, strict=True):
        acc = add(acc, multiply(point, value))
    return acc


def compute_vk_x(vk: VerifyingKey, public_inputs: Sequence[int]) -> G1Affine:
    """``vk_x = IC[0] + Σ input_i · IC[i+1]``, Groth16's commitment to the public inputs.

    Validates ``vk`` and the inputs first; the result may be the identity ``(0, 0)``.
    """
    lifted = _lift_verifying_key(vk)
    validate_public_inputs(vk, public_inputs)
    point = _compute_vk_x(lifted.ic, public_inputs)
    if is_inf(point):
        return G1_INFINITY
    x, y = normalize(point)
    return (int(x), int(y))


def validate_proof(vk: VerifyingKey, proof: Proof, public_inputs: Sequence[int]) -> None:
    """Raise unless ``proof`` is a valid Groth16 proof of ``public_inputs`` under ``vk``.

    Order of checks: the key's points, the inputs, the proof's points, then the pairing
    equation ``e(-A, B) · e(alpha, beta) · e(vk_x, gamma) · e(C, delta) == 1`` as four Miller
    loops and one final exponentiation (EIP-197's product-of-pairings check). py_ecc's
    ``pairing(Q, P, final_exponentiate=False)`` is the Miller loop of ``(Q in G2, P in G1)``.
    """
    key = _lift_verifying_key(vk)
    validate_public_inputs(vk, public_inputs)
    a = _to_g1(proof.a, "proof.a")
    b = _to_g2(proof.b, "proof.b")
    c = _to_g1(proof.c, "proof.c")
    vk_x = _compute_vk_x(key.ic, public_inputs)
    product = (
        pairing(b, neg(a), final_exponentiate=False)
        * key.alpha_beta
        * pairing(key.gamma, vk_x, final_exponentiate=False)
        * pairing(key.delta, c, final_exponentiate=False)
    )
    if final_exponentiate(product) != FQ12.one():
        raise ProofRejected("the Groth16 pairing equation does not hold")


def is_valid_proof(vk: VerifyingKey, proof: Proof, public_inputs: Sequence[int]) -> bool:
    """``validate_proof`` as a predicate: ``False`` for any ``Groth16Error``."""
    try:
        validate_proof(vk, proof, public_inputs)
    except Groth16Error:
        return False
    return True


# ----------------------------------------------------------------------------- cycle cost
#: CKB-VM cycles of one Montgomery multiplication in F_q (4×64-bit limbs: ~32 MUL/MULHU for the
#: product plus ~32 for the reduction at 5 cycles each in CKB-VM's cost model, plus carries).
FQ_MUL_CYCLES: Final = 400
#: F_q multiplications of one optimal-ate Miller loop on BN254 (65-step loop with sparse line
#: multiplications into F_q¹²), of the final exponentiation (easy part with its F_q¹² inversion
#: plus the hard part), of ``[r]B`` (the G2 subgroup check of the proof's B, over F_q²) and of
#: a 254-bit G1 double-and-add scalar multiplication.
MILLER_LOOP_FQ_MULS: Final = 7_000
FINAL_EXPONENTIATION_FQ_MULS: Final = 7_000
G2_SUBGROUP_CHECK_FQ_MULS: Final = 10_000
G1_SCALAR_MUL_FQ_MULS: Final = 3_300
#: Generic (non-assembly) library code against the operation counts above: calls, copies,
#: loads/stores, branches.
IMPLEMENTATION_OVERHEAD: Final = 2


def compute_verification_cycles(public_input_count: int) -> int:
    """Estimated CKB-VM cycles of one Groth16 verification with ``public_input_count`` inputs.

    An *estimate* of what a RISC-V verifier script (CKB-VM running a compiled alt_bn128
    library such as arkworks' or substrate-bn) would be charged, so that validity-mode scripts
    bill a realistic amount rather than what py_ecc takes in Python:

    - base: 4 Miller loops + 1 final exponentiation + the subgroup check of B
      = (4·7 000 + 7 000 + 10 000) F_q mults ≈ 45 000 · 400 cycles · 2 ≈ 36 M cycles;
    - per public input: one G1 scalar multiplication ≈ 3 300 · 400 · 2 ≈ 2.6 M cycles.

    The validity circuit has one public input, ≈ 38.6 M cycles: inside the 70 M
    ``max_tx_verify_cycles`` of the presets. It is an operation count times a per-multiplication
    price, not a measurement; the constants above are where to adjust it once a real RISC-V
    verifier has been benchmarked. The verifying key's points are
    checked too, but a real deployment checks them once when the key cell is created, so they
    are not charged per proof.
    """
    if public_input_count < 0:
        raise PublicInputCountMismatch("a negative number of public inputs")
    base_muls = 4 * MILLER_LOOP_FQ_MULS + FINAL_EXPONENTIATION_FQ_MULS + G2_SUBGROUP_CHECK_FQ_MULS
    muls = base_muls + public_input_count * G1_SCALAR_MUL_FQ_MULS
    return muls * FQ_MUL_CYCLES * IMPLEMENTATION_OVERHEAD


# ----------------------------------------------------------------------------- binary codec
def _encode_word(value: int) -> bytes:
    return value.to_bytes(WORD_SIZE, "big")


def _decode_word(data: bytes, offset: int, what: str) -> int:
    value = int.from_bytes(data[offset : offset + WORD_SIZE], "big")
    _validate_coordinate(value, what)
    return value


def _encode_g1(point: G1Affine) -> bytes:
    return _encode_word(point[0]) + _encode_word(point[1])


def _decode_g1(data: bytes, offset: int, what: str) -> G1Affine:
    return (_decode_word(data, offset, what), _decode_word(data, offset + WORD_SIZE, what))


def _encode_g2(point: G2Affine) -> bytes:
    """EIP-197 order: ``x.c1 ‖ x.c0 ‖ y.c1 ‖ y.c0`` (imaginary part first)."""
    (x0, x1), (y0, y1) = point
    return b"".join(_encode_word(v) for v in (x1, x0, y1, y0))


def _decode_g2(data: bytes, offset: int, what: str) -> G2Affine:
    x1, x0, y1, y0 = (_decode_word(data, offset + i * WORD_SIZE, what) for i in range(4))
    return ((x0, x1), (y0, y1))


def encode_proof(proof: Proof) -> bytes:
    """The 256-byte EIP-197 layout: ``a.x, a.y, b.x.c1, b.x.c0, b.y.c1, b.y.c0, c.x, c.y``.

    The same bytes Solidity verifiers (snarkjs ``exportsoliditycalldata``) and groth16py use.
    """
    return _encode_g1(proof.a) + _encode_g2(proof.b) + _encode_g1(proof.c)


def decode_proof(data: bytes) -> Proof:
    """Inverse of ``encode_proof``; refuses a wrong length or a coordinate ``>= q``.

    Curve and subgroup membership are left to ``validate_proof``.
    """
    if len(data) != PROOF_SIZE:
        raise InvalidEncodingLength(f"a proof is {PROOF_SIZE} bytes, got {len(data)}")
    return Proof(
        a=_decode_g1(data, 0, "proof.a"),
        b=_decode_g2(data, G1_POINT_SIZE, "proof.b"),
        c=_decode_g1(data, G1_POINT_SIZE + G2_POINT_SIZE, "proof.c"),
    )


def encode_verifying_key(vk: VerifyingKey) -> bytes:
    """``alpha1 ‖ beta2 ‖ gamma2 ‖ delta2 ‖ u32 LE len(ic) ‖ ic[0] ‖ …`` (G2 as in EIP-197).

    The count is little-endian like every integer of the L1's cell layouts.
    """
    return b"".join(
        [
            _encode_g1(vk.alpha1),
            _encode_g2(vk.beta2),
            _encode_g2(vk.gamma2),
            _encode_g2(vk.delta2),
            len(vk.ic).to_bytes(4, "little"),
            *(_encode_g1(point) for point in vk.ic),
        ]
    )


def decode_verifying_key(data: bytes) -> VerifyingKey:
    """Inverse of ``encode_verifying_key``; the length must match the IC count exactly."""
    if len(data) < VERIFYING_KEY_HEADER_SIZE:
        raise InvalidEncodingLength(
            f"a verifying key is at least {VERIFYING_KEY_HEADER_SIZE} bytes, got {len(data)}"
        )
    count_offset = VERIFYING_KEY_HEADER_SIZE - 4
    count = int.from_bytes(data[count_offset:VERIFYING_KEY_HEADER_SIZE], "little")
    if count == 0:
        raise EmptyInputCommitments("verifying key has no IC[0]")
    expected = VERIFYING_KEY_HEADER_SIZE + count * G1_POINT_SIZE
    if len(data) != expected:
        raise InvalidEncodingLength(
            f"a verifying key with {count} IC points is {expected} bytes, got {len(data)}"
        )
    g2_offsets = [G1_POINT_SIZE + i * G2_POINT_SIZE for i in range(3)]
    return VerifyingKey(
        alpha1=_decode_g1(data, 0, "vk.alpha1"),
        beta2=_decode_g2(data, g2_offsets[0], "vk.beta2"),
        gamma2=_decode_g2(data, g2_offsets[1], "vk.gamma2"),
        delta2=_decode_g2(data, g2_offsets[2], "vk.delta2"),
        ic=tuple(
            _decode_g1(data, VERIFYING_KEY_HEADER_SIZE + i * G1_POINT_SIZE, f"vk.ic[{i}]")
            for i in range(count)
        ),
    )


# ----------------------------------------------------------------------------- snarkjs JSON
JsonInput = bytes | str | Mapping[str, Any]


def _load_json(data: bytes | str | Any) -> Any:
    if isinstance(data, bytes | str):
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedJson(f"not JSON: {exc}") from exc
    return data


def _load_object(data: JsonInput) -> Mapping[str, Any]:
    obj = _load_json(data)
    if not isinstance(obj, Mapping):
        raise MalformedJson("expected a JSON object")
    return obj


def _field(obj: Mapping[str, Any], key: str) -> Any:
    if key not in obj:
        raise MalformedJson(f"missing field {key!r}")
    return obj[key]


def _check_protocol(obj: Mapping[str, Any]) -> None:
    """snarkjs writes ``protocol`` and ``curve``; when present they must name Groth16/BN254."""
    if obj.get("protocol", PROTOCOL) != PROTOCOL:
        raise UnsupportedProtocol(f"protocol {obj['protocol']!r} is not {PROTOCOL!r}")
    if obj.get("curve", CURVE) != CURVE:
        raise UnsupportedProtocol(f"curve {obj['curve']!r} is not {CURVE!r}")


def _parse_decimal(value: Any, what: str) -> int:
    """A canonical decimal string (snarkjs's ``stringifyBigInts``): ``0`` or no leading zero."""
    if not isinstance(value, str):
        raise MalformedJson(f"{what}: expected a decimal string, got {type(value).__name__}")
    if (
        not value
        or len(value) > MAX_DECIMAL_DIGITS
        or not all("0" <= ch <= "9" for ch in value)
        or (value[0] == "0" and len(value) > 1)
    ):
        raise NonCanonicalNumber(f"{what}: {value[:100]!r} is not a canonical decimal number")
    return int(value)


def _list(value: Any, length: int, what: str) -> list[Any]:
    if not isinstance(value, list) or len(value) != length:
        raise MalformedJson(f"{what}: expected a list of {length}")
    return value


def _parse_g1_json(value: Any, what: str) -> G1Affine:
    """snarkjs projective G1 ``[x, y, "1"]``, or ``["0", "1", "0"]`` for infinity."""
    x, y, z = (_parse_decimal(v, what) for v in _list(value, 3, what))
    if z == 0 and (x, y) == (0, 1):
        return G1_INFINITY
    if z != 1:
        raise NonCanonicalNumber(f"{what}: only affine points (z = 1) are accepted")
    _validate_coordinate(x, what)
    _validate_coordinate(y, what)
    return (x, y)


def _parse_fq2_json(value: Any, what: str) -> Fq2:
    c0, c1 = (_parse_decimal(v, what) for v in _list(value, 2, what))
    _validate_coordinate(c0, what)
    _validate_coordinate(c1, what)
    return (c0, c1)


def _parse_g2_json(value: Any, what: str) -> G2Affine:
    """snarkjs projective G2 ``[[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]`` (infinity: y = 1, z = 0)."""
    x, y, z = (_parse_fq2_json(v, what) for v in _list(value, 3, what))
    if z == (0, 0) and x == (0, 0) and y == (1, 0):
        return G2_INFINITY
    if z != (1, 0):
        raise NonCanonicalNumber(f"{what}: only affine points (z = 1) are accepted")
    return (x, y)


def _g1_json(point: G1Affine) -> list[str]:
    if point == G1_INFINITY:
        return ["0", "1", "0"]
    return [str(point[0]), str(point[1]), "1"]


def _g2_json(point: G2Affine) -> list[list[str]]:
    if point == G2_INFINITY:
        return [["0", "0"], ["1", "0"], ["0", "0"]]
    (x0, x1), (y0, y1) = point
    return [[str(x0), str(x1)], [str(y0), str(y1)], ["1", "0"]]


def decode_verifying_key_json(data: JsonInput) -> VerifyingKey:
    """Decode snarkjs's ``verification_key.json`` (``zkey export verificationkey``).

    ``nPublic`` must equal ``len(IC) - 1``; ``vk_alphabeta_12`` is ignored (it is derived).
    """
    obj = _load_object(data)
    _check_protocol(obj)
    ic_json = _field(obj, "IC")
    if not isinstance(ic_json, list):
        raise MalformedJson("IC: expected a list")
    if not ic_json:
        raise EmptyInputCommitments("verifying key has no IC[0]")
    n_public = _field(obj, "nPublic")
    if not isinstance(n_public, int) or isinstance(n_public, bool):
        raise MalformedJson("nPublic: expected an integer")
    if n_public != len(ic_json) - 1:
        raise MalformedJson(f"nPublic is {n_public} but IC has {len(ic_json)} points")
    return VerifyingKey(
        alpha1=_parse_g1_json(_field(obj, "vk_alpha_1"), "vk_alpha_1"),
        beta2=_parse_g2_json(_field(obj, "vk_beta_2"), "vk_beta_2"),
        gamma2=_parse_g2_json(_field(obj, "vk_gamma_2"), "vk_gamma_2"),
        delta2=_parse_g2_json(_field(obj, "vk_delta_2"), "vk_delta_2"),
        ic=tuple(_parse_g1_json(p, f"IC[{i}]") for i, p in enumerate(ic_json)),
    )


def encode_verifying_key_json(vk: VerifyingKey) -> str:
    """snarkjs ``verification_key.json`` (without ``vk_alphabeta_12``, unused by its verifier)."""
    obj = {
        "protocol": PROTOCOL,
        "curve": CURVE,
        "nPublic": vk.public_input_count,
        "vk_alpha_1": _g1_json(vk.alpha1),
        "vk_beta_2": _g2_json(vk.beta2),
        "vk_gamma_2": _g2_json(vk.gamma2),
        "vk_delta_2": _g2_json(vk.delta2),
        "IC": [_g1_json(p) for p in vk.ic],
    }
    return json.dumps(obj, indent=1)


def decode_proof_json(data: JsonInput) -> Proof:
    """Decode snarkjs's ``proof.json`` (``pi_a``, ``pi_b``, ``pi_c``, ``protocol``, ``curve``)."""
    obj = _load_object(data)
    _check_protocol(obj)
    return Proof(
        a=_parse_g1_json(_field(obj, "pi_a"), "pi_a"),
        b=_parse_g2_json(_field(obj, "pi_b"), "pi_b"),
        c=_parse_g1_json(_field(obj, "pi_c"), "pi_c"),
    )


def encode_proof_json(proof: Proof) -> str:
    """snarkjs ``proof.json``."""
    obj = {
        "pi_a": _g1_json(proof.a),
        "pi_b": _g2_json(proof.b),
        "pi_c": _g1_json(proof.c),
        "protocol": PROTOCOL,
        "curve": CURVE,
    }
    return json.dumps(obj, indent=1)


def decode_public_inputs_json(data: bytes | str | Sequence[Any]) -> tuple[int, ...]:
    """Decode snarkjs's ``public.json``: a list of canonical decimal strings, each ``< r``."""
    values = _load_json(data)
    if not isinstance(values, list | tuple):
        raise MalformedJson("public inputs: expected a JSON list")
    inputs = tuple(_parse_decimal(v, f"public input {i}") for i, v in enumerate(values))
    for i, value in enumerate(inputs):
        if value >= CURVE_ORDER:
            raise PublicInputOutOfRange(f"public input {i} is not below the curve order")
    return inputs


def encode_public_inputs_json(public_inputs: Sequence[int]) -> str:
    """snarkjs ``public.json``."""
    return json.dumps([str(v) for v in public_inputs], indent=1)
