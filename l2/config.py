"""``RollupConfig``: what identifies one rollup instance and how it runs.

The chain id and rollup id enter every signing domain (catalogue S3): a signature made for one
rollup -- or the same rollup on another L1 -- never verifies on another.  The rollup id is the
32-byte type hash of the rollup's L1 cell once the bridge exists; until then any 32 bytes.
The fee account is the sequencer's L2 account that every transaction's fee is credited to.

The preset (tree depth, batch limits) and the profile (hash and signature scheme) travel with
the config so the STF has a single parameter to be "parameterized by" (DESIGN.md §3).
"""

from __future__ import annotations

from dataclasses import dataclass

from l2.errors import FieldOutOfRange
from l2.preset import L2Preset
from l2.profile import Profile

__all__ = ["RollupConfig"]

_U32 = 1 << 32


@dataclass(frozen=True, slots=True)
class RollupConfig:
    #: u32, the L1 network (devnet, testnet, ...).
    chain_id: int
    #: 32 bytes, the rollup instance on that L1.
    rollup_id: bytes
    #: u32 account index credited with every fee.
    fee_account: int
    preset: L2Preset
    profile: Profile

    def __post_init__(self) -> None:
        if isinstance(self.chain_id, bool) or not 0 <= self.chain_id < _U32:
            raise FieldOutOfRange(f"chain id must be a u32, got {self.chain_id}")
        if not isinstance(self.rollup_id, bytes) or len(self.rollup_id) != 32:
            raise FieldOutOfRange("rollup id must be 32 bytes")
        if (
            isinstance(self.fee_account, bool)
            or not 0 <= self.fee_account < 1 << self.preset.tree_depth
        ):
            raise FieldOutOfRange(
                f"fee account {self.fee_account} is outside the {self.preset.tree_depth}-deep tree"
            )
