"""Epochs, difficulty adjustment and primary issuance (RFC 0020 "Dynamic Difficulty Adjustment",
RFC 0015 "Token Issuance"; ``ckb:spec/src/consensus.rs`` ``next_epoch_ext``).

rollcourt has no uncles, so every epoch has C_o = 0 orphans and takes the branch of CKB's
formula for that case: the next epoch doubles its length (bounded by the preset), and the
difficulty is set so that the measured hash rate fills ``epoch_duration_target`` exactly
(o' = 0). The hash-rate clamp τ still damps sudden swings.
"""

from __future__ import annotations

from dataclasses import dataclass

from l1.ckb.compact import compact_to_difficulty, difficulty_to_compact
from l1.ckb.epoch import EpochNumberWithFraction
from l1.ckb.types import ZERO_HASH
from l1.core.preset import Preset

__all__ = [
    "EpochExt",
    "compute_block_epoch",
    "compute_genesis_epoch_ext",
    "compute_next_epoch_ext",
    "compute_primary_epoch_reward",
]


@dataclass(frozen=True, slots=True)
class EpochExt:
    """CKB's ``EpochExt``: what every block of an epoch shares."""

    number: int
    start_number: int
    length: int
    compact_target: int
    base_block_reward: int
    remainder_reward: int
    #: Hashes per second measured over the previous epoch (RFC 0020 H_{i-1}).
    previous_epoch_hash_rate: int
    #: Hash of the block before ``start_number``; its timestamp starts this epoch's clock.
    last_block_hash_in_previous_epoch: bytes

    def epoch_of_block(self, block_number: int) -> EpochNumberWithFraction:
        return EpochNumberWithFraction(self.number, block_number - self.start_number, self.length)

    def block_reward(self, block_number: int) -> int:
        """Primary reward: base, plus one shannon for the first ``remainder`` blocks."""
        index = block_number - self.start_number
        return self.base_block_reward + (1 if index < self.remainder_reward else 0)

    def is_last_block(self, block_number: int) -> bool:
        return block_number == self.start_number + self.length - 1

    def contains(self, block_number: int) -> bool:
        return self.start_number <= block_number < self.start_number + self.length


def compute_primary_epoch_reward(preset: Preset, epoch_number: int) -> int:
    """Halving every ``primary_epoch_reward_halving_interval`` epochs (RFC 0015)."""
    halvings = epoch_number // preset.primary_epoch_reward_halving_interval
    return preset.initial_primary_epoch_reward >> halvings if halvings < 64 else 0


def compute_genesis_epoch_ext(preset: Preset) -> EpochExt:
    """Genesis hash rate = D_0 · (len + len·o_ideal) / L_ideal (``build_genesis_epoch_ext``)."""
    length = preset.genesis_epoch_length
    difficulty = compact_to_difficulty(preset.genesis_compact_target)
    num, den = preset.orphan_rate_target
    orphans = length * num // den  # integer division, as ``build_genesis_epoch_ext``
    hash_rate = difficulty * (length + orphans) * 1000 // preset.epoch_duration_target_ms
    reward = compute_primary_epoch_reward(preset, 0)
    return EpochExt(
        number=0,
        start_number=0,
        length=length,
        compact_target=preset.genesis_compact_target,
        base_block_reward=reward // length,
        remainder_reward=reward % length,
        previous_epoch_hash_rate=max(hash_rate, 1),
        last_block_hash_in_previous_epoch=ZERO_HASH,
    )


def compute_next_epoch_ext(
    preset: Preset,
    epoch: EpochExt,
    last_block_hash: bytes,
    last_block_timestamp_ms: int,
    previous_epoch_last_timestamp_ms: int,
) -> EpochExt:
    """The epoch after ``epoch``, from the timestamps bounding it (RFC 0020 eqs. with C_o = 0)."""
    next_number = epoch.number + 1
    if preset.permanent_difficulty:
        length = epoch.length
        compact = epoch.compact_target
        hash_rate = epoch.previous_epoch_hash_rate
    else:
        difficulty = compact_to_difficulty(epoch.compact_target)
        # L_i in whole seconds, at least 1, as CKB's ``next_epoch_ext`` measures it.
        duration_s = max((last_block_timestamp_ms - previous_epoch_last_timestamp_ms) // 1000, 1)
        # H'_i = D_i · C_i,m / L_i, in hashes per second.
        raw_rate = max(difficulty * epoch.length // duration_s, 1)
        previous = epoch.previous_epoch_hash_rate
        if previous:
            raw_rate = min(max(raw_rate, previous // preset.tau), previous * preset.tau)
        hash_rate = max(raw_rate, 1)
        # No orphans: C_{i+1} = min(max, 2·C_i,m), bounded below by the preset minimum.
        length = max(preset.min_epoch_length, min(preset.max_epoch_length, 2 * epoch.length))
        # D_{i+1} = H_i · L_ideal / C_{i+1}  (o' = 0 when the epoch had no orphans).
        next_difficulty = hash_rate * preset.epoch_duration_target_ms // (1000 * length)
        compact = difficulty_to_compact(max(next_difficulty, preset.min_difficulty))
    reward = compute_primary_epoch_reward(preset, next_number)
    return EpochExt(
        number=next_number,
        start_number=epoch.start_number + epoch.length,
        length=length,
        compact_target=compact,
        base_block_reward=reward // length,
        remainder_reward=reward % length,
        previous_epoch_hash_rate=hash_rate,
        last_block_hash_in_previous_epoch=last_block_hash,
    )


def compute_block_epoch(
    preset: Preset,
    parent_epoch: EpochExt,
    parent_number: int,
    parent_hash: bytes,
    parent_timestamp_ms: int,
    previous_epoch_last_timestamp_ms: int,
) -> EpochExt:
    """The epoch of the child of ``parent``: the same one, or the next when the parent ended it.

    ``previous_epoch_last_timestamp_ms`` is the timestamp of the block whose hash is
    ``parent_epoch.last_block_hash_in_previous_epoch`` (genesis' own for epoch 0).
    """
    if not parent_epoch.is_last_block(parent_number):
        return parent_epoch
    return compute_next_epoch_ext(
        preset, parent_epoch, parent_hash, parent_timestamp_ms, previous_epoch_last_timestamp_ms
    )
