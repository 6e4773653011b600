"""Poseidon over the BN254 scalar field, bit for bit circomlib 2.0.5's ``Poseidon(n)``.

The hash of the validity profile (docs/validity.md §1): the accounts tree, leaves, signing
messages and the proof's public input all hash with it, so the circuit (circomlib
``circuits/poseidon.circom``) and this module must agree on every bit.

Parameters (Grassi et al., "Poseidon: A New Hash Function for Zero-Knowledge Proof Systems",
eprint 2019/458, tables 2 and 8, as circomlib instantiates them): width ``t = n + 1`` for ``n``
inputs, S-box ``x^5``, 8 full rounds and ``N_P = 56, 57, 56, 60, 60`` partial rounds for
``t = 2..6``, initial state ``[0, in_1, .., in_n]``, output ``state[0]``.  Constants: the Grain
LFSR ones of the paper's reference script, in the form circomlibjs 0.1.7
``src/poseidon_constants_opt.json`` stores them (``l2.poseidon_constants``).

The evaluation is the optimized one of circomlibjs ``src/poseidon_opt.js`` and circomlib's
``poseidon.circom`` (filecoin neptune's trick): the partial rounds' dense MDS multiplication is
folded into one pre-matrix ``P`` and a sparse matrix per round (``2t - 1`` products instead of
``t^2``).  It computes the same permutation as the textbook algorithm.  Sums of products are
reduced once, not per product: Python integers are unbounded, and one reduction of a 520-bit
sum is cheaper than ``t`` reductions.

Inputs must already be field elements: a value ``>= p`` raises ``FieldOutOfRange`` instead of
being reduced (circomlibjs would reduce it silently; two byte strings hashing alike is exactly
what a canonical encoding must exclude).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import mul
from typing import Final

from l2.errors import FieldOutOfRange
from l2.poseidon_constants import POSEIDON_C, POSEIDON_M, POSEIDON_P, POSEIDON_S

__all__ = [
    "BN254_SCALAR_FIELD",
    "POSEIDON_MAX_INPUTS",
    "compute_poseidon",
]

#: The BN254 (alt_bn128) group order: the field Groth16 circuits on that curve compute in.
BN254_SCALAR_FIELD: Final = (
    21888242871839275222246405745257275088548364400416034343698204186575808495617
)
#: Widths ``t = 2..6``: the constants module holds no more (circomlib goes up to 16).
POSEIDON_MAX_INPUTS: Final = 5
_FULL_ROUNDS: Final = 8
_PARTIAL_ROUNDS: Final = (56, 57, 56, 60, 60)

_P = BN254_SCALAR_FIELD


@dataclass(frozen=True, slots=True)
class _Width:
    """The constants of one width, rearranged once for the evaluation loop."""

    t: int
    #: Round constants added after the S-boxes of the first half's full rounds (the very first
    #: ``t`` are added before any round).
    first_constants: tuple[tuple[int, ...], ...]
    #: One constant per partial round (added to ``state[0]`` after its S-box).
    partial_constants: tuple[int, ...]
    last_constants: tuple[tuple[int, ...], ...]
    #: ``columns[i][j]``: the MDS entry that multiplies ``state[j]`` into the new ``state[i]``.
    mds_columns: tuple[tuple[int, ...], ...]
    pre_columns: tuple[tuple[int, ...], ...]
    #: Per partial round: the row that gives the new ``state[0]`` and the ``t - 1`` factors of
    #: the old ``state[0]`` added to ``state[1..]``.
    sparse: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]


def _columns(matrix: tuple[tuple[int, ...], ...]) -> tuple[tuple[int, ...], ...]:
    t = len(matrix)
    return tuple(tuple(matrix[j][i] for j in range(t)) for i in range(t))


def _compute_width(n_inputs: int) -> _Width:
    t = n_inputs + 1
    c = POSEIDON_C[t - 2]
    s = POSEIDON_S[t - 2]
    n_p = _PARTIAL_ROUNDS[t - 2]
    half = _FULL_ROUNDS // 2
    # Layout of ``C`` (circomlibjs poseidon_opt.js): t initial constants, t per full round of the
    # first half, one per partial round, then t per full round of the second half but the last.
    first = tuple(tuple(c[r * t : (r + 1) * t]) for r in range(half + 1))
    partial_base = (half + 1) * t
    partial = tuple(c[partial_base : partial_base + n_p])
    last_base = partial_base + n_p
    last = tuple(tuple(c[last_base + r * t : last_base + (r + 1) * t]) for r in range(half - 1))
    step = 2 * t - 1
    sparse = tuple(
        (tuple(s[step * r : step * r + t]), tuple(s[step * r + t : step * (r + 1)]))
        for r in range(n_p)
    )
    return _Width(
        t=t,
        first_constants=first,
        partial_constants=partial,
        last_constants=last,
        mds_columns=_columns(POSEIDON_M[t - 2]),
        pre_columns=_columns(POSEIDON_P[t - 2]),
        sparse=sparse,
    )


_WIDTHS: Final = tuple(_compute_width(n) for n in range(1, POSEIDON_MAX_INPUTS + 1))


def _full_round(
    state: list[int], constants: tuple[int, ...] | None, columns: tuple[tuple[int, ...], ...]
) -> list[int]:
    """S-box on every element, add ``constants`` (if any), multiply by the matrix."""
    boxed = []
    for x in state:
        x2 = x * x % _P
        boxed.append(x2 * x2 % _P * x)
    if constants is not None:
        boxed = [(x + k) % _P for x, k in zip(boxed, constants, strict=True)]
    else:
        boxed = [x % _P for x in boxed]
    return [sum(map(mul, column, boxed)) % _P for column in columns]


def compute_poseidon(inputs: Sequence[int]) -> int:
    """circomlib ``Poseidon(len(inputs))`` of ``inputs`` (1..5 field elements).

    Raises ``FieldOutOfRange`` for another input count or an input outside ``[0, p)``.
    """
    n = len(inputs)
    if not 1 <= n <= POSEIDON_MAX_INPUTS:
        raise FieldOutOfRange(f"Poseidon takes 1..{POSEIDON_MAX_INPUTS} inputs, got {n}")
    for value in inputs:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _P:
            raise FieldOutOfRange(f"a Poseidon input must be a field element, got {value!r}")
    width = _WIDTHS[n - 1]
    first = width.first_constants
    state = [(x + k) % _P for x, k in zip((0, *inputs), first[0], strict=True)]
    half = _FULL_ROUNDS // 2
    for r in range(1, half):
        state = _full_round(state, first[r], width.mds_columns)
    state = _full_round(state, first[half], width.pre_columns)
    for constant, (row, factors) in zip(width.partial_constants, width.sparse, strict=True):
        x = state[0]
        x2 = x * x % _P
        x = (x2 * x2 % _P * x + constant) % _P
        state[0] = x
        new0 = sum(map(mul, row, state)) % _P
        state = [new0, *((y + x * f) % _P for y, f in zip(state[1:], factors, strict=True))]
    for constants in width.last_constants:
        state = _full_round(state, constants, width.mds_columns)
    return _full_round(state, None, width.mds_columns)[0]
