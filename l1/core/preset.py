"""Protocol parameters: one frozen ``Preset`` per network (consensus-specs' presets).

Nothing in the pure core reads a clock or an environment variable; everything that differs
between networks lives here. ``mainnet_like`` carries CKB's own values (``ckb:spec/src/consensus.rs``)
for reference; ``devnet`` shortens epochs so a laptop sees difficulty adjustment in minutes;
``test`` is tiny so unit tests mine instantly.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEVNET", "MAINNET_LIKE", "PRESETS", "TEST", "Preset", "get_preset"]

SHANNONS_PER_CKB = 100_000_000


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    #: RFC 0020 epoch duration target L_ideal, in milliseconds.
    epoch_duration_target_ms: int
    #: Bounds on the epoch length in blocks (CKB: 300..1800, from 8 s / 48 s block intervals).
    min_epoch_length: int
    max_epoch_length: int
    genesis_epoch_length: int
    #: Genesis compact target (tiny difficulty on devnet/test).
    genesis_compact_target: int
    #: Lower bound on difficulty so a fast burst cannot make work meaningless.
    min_difficulty: int
    #: RFC 0020 orphan rate target (numerator, denominator); used for the genesis hash rate.
    orphan_rate_target: tuple[int, int]
    #: τ, the hash-rate clamp factor between epochs.
    tau: int
    #: Primary issuance per epoch (shannons) and its halving interval (epochs), RFC 0015.
    initial_primary_epoch_reward: int
    primary_epoch_reward_halving_interval: int
    #: The cellbase of block N pays block N - delay (CKB: w_far + 1 = 11).
    finalization_delay_length: int
    #: Cellbase outputs spendable after this many epochs (CKB: 4).
    cellbase_maturity_epochs: int
    median_time_block_count: int
    #: Non-consensus bound on timestamps in the future (CKB ALLOWED_FUTURE_BLOCKTIME, 15 s).
    allowed_future_blocktime_ms: int
    max_block_bytes: int
    max_block_cycles: int
    #: Per-transaction cycle limit (tx-pool policy in CKB, consensus here: bounded verifiers).
    max_tx_verify_cycles: int
    #: Whether the ``always_success`` lock may be deployed and run (devnet/test only).
    allow_always_success: bool
    #: Keep the genesis difficulty forever (CKB's dev chain ``permanent_difficulty_in_dummy``).
    permanent_difficulty: bool = False
    #: Blob parameters (EIP-4844 analogue): per-transaction and per-block limits.
    max_blobs_per_tx: int = 2
    max_blobs_per_block: int = 6
    #: Blocks a full node keeps blob sidecars for before pruning them.
    blob_retention_blocks: int = 4096

    @property
    def min_block_interval_ms(self) -> int:
        return self.epoch_duration_target_ms // self.max_epoch_length


MAINNET_LIKE = Preset(
    name="mainnet_like",
    epoch_duration_target_ms=14_400_000,
    min_epoch_length=300,
    max_epoch_length=1_800,
    genesis_epoch_length=1_743,
    genesis_compact_target=0x1A08A97E,
    min_difficulty=1,
    orphan_rate_target=(1, 40),
    tau=2,
    initial_primary_epoch_reward=1_917_808_21917808,
    primary_epoch_reward_halving_interval=8_760,
    finalization_delay_length=11,
    cellbase_maturity_epochs=4,
    median_time_block_count=37,
    allowed_future_blocktime_ms=15_000,
    max_block_bytes=597_000,
    max_block_cycles=3_500_000_000,
    max_tx_verify_cycles=70_000_000,
    allow_always_success=False,
)

DEVNET = Preset(
    name="devnet",
    epoch_duration_target_ms=30_000,
    min_epoch_length=5,
    max_epoch_length=20,
    genesis_epoch_length=10,
    genesis_compact_target=0x1F040000,
    min_difficulty=16,
    orphan_rate_target=(1, 40),
    tau=2,
    initial_primary_epoch_reward=1_917_808_21917808 // 100,
    primary_epoch_reward_halving_interval=8_760,
    finalization_delay_length=3,
    cellbase_maturity_epochs=1,
    median_time_block_count=37,
    allowed_future_blocktime_ms=15_000,
    max_block_bytes=2_000_000,
    max_block_cycles=10_000_000_000,
    max_tx_verify_cycles=200_000_000,
    allow_always_success=True,
    blob_retention_blocks=600,
)

TEST = Preset(
    name="test",
    epoch_duration_target_ms=8_000,
    min_epoch_length=2,
    max_epoch_length=8,
    genesis_epoch_length=4,
    genesis_compact_target=0x20FFFFFF,
    min_difficulty=1,
    orphan_rate_target=(1, 40),
    tau=2,
    initial_primary_epoch_reward=1_000 * SHANNONS_PER_CKB * 4,
    primary_epoch_reward_halving_interval=4,
    finalization_delay_length=2,
    cellbase_maturity_epochs=1,
    median_time_block_count=37,
    allowed_future_blocktime_ms=15_000,
    max_block_bytes=2_000_000,
    max_block_cycles=200_000_000,
    max_tx_verify_cycles=70_000_000,
    allow_always_success=True,
    permanent_difficulty=True,
    blob_retention_blocks=16,
)

PRESETS = {preset.name: preset for preset in (MAINNET_LIKE, DEVNET, TEST)}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None
