"""Circuit presets (docs/validity.md §2) and the generic ``CircuitSpec`` the prover works on.

A circuit is fixed by its source file, its main template and the template's parameters; the
verifying key registered on L1 is only meaningful for exactly that triple.  A ``CircuitPreset``
is the rollup's view (tree depth, batch size, minimum withdrawal, the L2 preset it serves); the
rest of the prover sees only the ``CircuitSpec`` it yields, so tests can drive the whole
pipeline with a toy circuit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from prover.errors import ProverError

__all__ = [
    "CUSTOM_PRESET",
    "DEVNET",
    "PRESETS",
    "REPO_ROOT",
    "TEST",
    "CircuitPreset",
    "CircuitSpec",
    "get_circuit_preset",
    "parse_circuit_spec",
]

#: The checkout root: package paths such as ``prover/circuits/rollup.circom`` are relative to it.
REPO_ROOT: Final = Path(__file__).resolve().parents[1]
#: Preset name that selects a ``--circuit`` given on the command line (tests, experiments).
CUSTOM_PRESET: Final = "custom"


@dataclass(frozen=True, slots=True)
class CircuitSpec:
    """What to compile: ``component main {public [public_signals]} = template(params)`` over
    ``source``.  ``source`` is a package path (relative to the checkout) or absolute; it is kept
    as written so the circuit hash does not depend on where the checkout lives.

    ``public_signals`` are *input* signals of the main template, in the circuit's order; public
    outputs are not supported (their values would need the witness, which the engine does not
    expose)."""

    name: str
    source: str
    template: str
    params: tuple[int, ...]
    public_signals: tuple[str, ...] = ("batch_input",)

    def get_source_path(self) -> Path:
        path = Path(self.source)
        return path if path.is_absolute() else REPO_ROOT / path


@dataclass(frozen=True, slots=True)
class CircuitPreset:
    """A rollup circuit: ``RollupBatch(tree_depth, batch_size, min_withdrawal_amount)``; its
    ``l2_preset`` must be the L2 preset of any rollup that registers its verifying key."""

    name: str
    l2_preset: str
    tree_depth: int
    batch_size: int
    min_withdrawal_amount: int
    template: str = "RollupBatch"
    source: str = "prover/circuits/rollup.circom"

    def get_spec(self) -> CircuitSpec:
        return CircuitSpec(
            name=self.name,
            source=self.source,
            template=self.template,
            params=(self.tree_depth, self.batch_size, self.min_withdrawal_amount),
            public_signals=("batch_input",),
        )


#: 61 CKB: the smallest withdrawal cell the L1 accepts (docs/validity.md).
MIN_WITHDRAWAL_AMOUNT: Final = 61 * 10**8

TEST: Final = CircuitPreset("test", "validity-test", 4, 2, MIN_WITHDRAWAL_AMOUNT)
DEVNET: Final = CircuitPreset("devnet", "validity-devnet", 10, 4, MIN_WITHDRAWAL_AMOUNT)
PRESETS: Final = {preset.name: preset for preset in (TEST, DEVNET)}


def get_circuit_preset(name: str) -> CircuitPreset:
    """The preset called ``name``; ``ProverError`` listing the known ones otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ProverError(
            f"unknown circuit preset {name!r}; known presets: {', '.join(PRESETS)}"
        ) from None


def parse_circuit_spec(text: str) -> CircuitSpec:
    """``PATH:TEMPLATE[:P1,P2,...[:PUB1,PUB2,...]]`` -> a ``custom`` spec (the test-only
    ``--circuit`` flag).  Parameters are integers; public signals default to ``batch_input``."""
    parts = text.split(":")
    if not 2 <= len(parts) <= 4 or not parts[0] or not parts[1]:
        raise ProverError(f"--circuit must be PATH:TEMPLATE[:P1,P2,...[:PUB1,...]], got {text!r}")
    params: tuple[int, ...] = ()
    if len(parts) >= 3 and parts[2].strip():
        try:
            params = tuple(int(p, 0) for p in parts[2].split(","))
        except ValueError:
            raise ProverError(f"--circuit parameters must be integers, got {parts[2]!r}") from None
    public: tuple[str, ...] = ("batch_input",)
    if len(parts) == 4 and parts[3].strip():
        public = tuple(p.strip() for p in parts[3].split(",") if p.strip())
    if not parts[1].isidentifier() or not all(p.isidentifier() for p in public):
        raise ProverError(f"--circuit: template and signal names must be identifiers: {text!r}")
    return CircuitSpec(CUSTOM_PRESET, parts[0], parts[1], params, public)
