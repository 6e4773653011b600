"""L2 protocol parameters: one frozen ``L2Preset`` per network (consensus-specs' presets).

A preset holds what differs between deployments of the *same* protocol -- tree size and batch
limits.  What identifies one rollup instance (chain id, rollup id, fee account) is not a preset
parameter; it lives in ``l2.config.RollupConfig``, so the same preset serves many rollups.

- ``test``: small batches so unit tests of limits are cheap.
- ``devnet``: batches up to two blobs (the L1 devnet allows two blobs per transaction).
- ``large``: a 2**24-account tree for measurements of deep-tree costs.
- ``validity-test`` and ``validity-devnet``: what the validity-mode circuits are compiled for
  (docs/validity.md §2).  A Groth16 circuit fixes the tree depth and the batch size, and its cost
  grows with both, so these are small: depth 4 / 2 transactions for CI, depth 10 / 4 transactions
  for ``rollcourt devnet up --mode validity``.  ``max_txs_per_batch`` *is* the circuit's batch
  size (short batches are padded with no-op slots); one blob holds that many records easily.

``min_withdrawal_amount`` is 61 CKB everywhere: a withdrawal becomes an L1 cell locked by the
recipient's secp256k1 lock, and such a cell occupies 8 + 32 + 1 + 20 = 61 bytes, so it must hold at
least 61 CKB (RFC 0022 occupied capacity).  A smaller withdrawal could never be paid out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from l2.errors import FieldOutOfRange

__all__ = [
    "DEVNET",
    "LARGE",
    "MAX_TREE_DEPTH",
    "PRESETS",
    "PROFILE_NAMES",
    "SHANNONS_PER_CKB",
    "TEST",
    "VALIDITY_DEVNET",
    "VALIDITY_TEST",
    "L2Preset",
    "get_preset",
]

SHANNONS_PER_CKB: Final = 100_000_000
#: The names of ``l2.profile.PROFILES`` (the profile module builds on this one, not vice versa).
PROFILE_NAMES: Final = ("optimistic", "validity")
#: Account indices are u32 on the wire, so a tree deeper than 32 could not be addressed.
MAX_TREE_DEPTH: Final = 32
#: Records per blob: a blob has 4096 elements, a record takes 4, the batch header the first 4
#: (see ``l2.batch``), so ``k`` blobs hold ``1024 * k - 1`` records.
_RECORDS_PER_BLOB: Final = 1024


@dataclass(frozen=True, slots=True)
class L2Preset:
    name: str
    #: Depth of the accounts tree: ``2**tree_depth`` account indices.
    tree_depth: int
    #: Upper bound on records in one batch (checked by ``apply_batch`` and the batch decoder).
    max_txs_per_batch: int
    #: Blobs one batch may span (the L1 allows ``max_blobs_per_tx`` per transaction).
    max_blobs_per_batch: int
    #: Smallest withdrawal, in shannons (see the module docstring).
    min_withdrawal_amount: int
    #: The profile (``l2.profile.PROFILES``) rollups on this preset run: a validity circuit is
    #: built for one tree depth and batch size, so the validity presets are its own.
    profile: str = "optimistic"

    def __post_init__(self) -> None:
        if not 1 <= self.tree_depth <= MAX_TREE_DEPTH:
            raise FieldOutOfRange(f"tree depth must be in 1..{MAX_TREE_DEPTH}")
        if self.max_blobs_per_batch < 1:
            raise FieldOutOfRange("a batch needs at least one blob")
        capacity = _RECORDS_PER_BLOB * self.max_blobs_per_batch - 1
        if not 1 <= self.max_txs_per_batch <= capacity:
            raise FieldOutOfRange(
                f"max_txs_per_batch must be in 1..{capacity} for {self.max_blobs_per_batch} blobs"
            )
        if self.min_withdrawal_amount < 1:
            raise FieldOutOfRange("min_withdrawal_amount must be positive")
        if self.profile not in PROFILE_NAMES:
            raise FieldOutOfRange(f"profile must be one of {PROFILE_NAMES}, got {self.profile!r}")


TEST: Final = L2Preset(
    name="test",
    tree_depth=16,
    max_txs_per_batch=64,
    max_blobs_per_batch=1,
    min_withdrawal_amount=61 * SHANNONS_PER_CKB,
)
DEVNET: Final = L2Preset(
    name="devnet",
    tree_depth=16,
    max_txs_per_batch=2047,
    max_blobs_per_batch=2,
    min_withdrawal_amount=61 * SHANNONS_PER_CKB,
)
LARGE: Final = L2Preset(
    name="large",
    tree_depth=24,
    max_txs_per_batch=2047,
    max_blobs_per_batch=2,
    min_withdrawal_amount=61 * SHANNONS_PER_CKB,
)
VALIDITY_TEST: Final = L2Preset(
    name="validity-test",
    tree_depth=4,
    max_txs_per_batch=2,
    max_blobs_per_batch=1,
    min_withdrawal_amount=61 * SHANNONS_PER_CKB,
    profile="validity",
)
VALIDITY_DEVNET: Final = L2Preset(
    name="validity-devnet",
    tree_depth=10,
    max_txs_per_batch=4,
    max_blobs_per_batch=1,
    min_withdrawal_amount=61 * SHANNONS_PER_CKB,
    profile="validity",
)
PRESETS: Final = {p.name: p for p in (TEST, DEVNET, LARGE, VALIDITY_TEST, VALIDITY_DEVNET)}


def get_preset(name: str) -> L2Preset:
    """The preset called ``name``; ``KeyError`` lists the known names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown L2 preset {name!r}; known: {sorted(PRESETS)}") from None
