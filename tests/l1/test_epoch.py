"""Epochs, difficulty adjustment and primary issuance (RFC 0020 with C_o = 0, RFC 0015).

Expected values are worked out here from the RFC 0020 equations (and CKB's
``Consensus::next_epoch_ext`` / ``build_genesis_epoch_ext``), with difficulties that are powers
of two so that the lossy compact encoding round-trips exactly and every assertion is exact.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from l1.ckb.compact import compact_to_difficulty, difficulty_to_compact
from l1.ckb.epoch import EpochNumberWithFraction
from l1.core.epoch import (
    EpochExt,
    compute_block_epoch,
    compute_genesis_epoch_ext,
    compute_next_epoch_ext,
    compute_primary_epoch_reward,
)
from l1.core.errors import InvalidCompactTarget
from l1.core.preset import MAINNET_LIKE
from tests.l1.chainkit import CKB, Chain, pinned_preset, rebuild, seal

#: L_ideal = 8 s, epoch lengths 2..8, τ = 2, 4_000 CKB per epoch halving every 4 epochs.
PERMANENT = pinned_preset()
ADJUSTING = pinned_preset(permanent_difficulty=False)
D = 1 << 20
LAST_HASH = b"\x11" * 32
T0 = 1_000_000


def make_epoch(
    preset=ADJUSTING, *, length=8, difficulty=D, previous_rate=None, number=3, start=100
) -> EpochExt:
    """An epoch whose previous hash rate is the steady state for ``difficulty`` and ``length``
    (H = D·C/L_ideal) unless given."""
    if previous_rate is None:
        previous_rate = difficulty * length * 1000 // preset.epoch_duration_target_ms
    reward = compute_primary_epoch_reward(preset, number)
    return EpochExt(
        number=number,
        start_number=start,
        length=length,
        compact_target=difficulty_to_compact(difficulty),
        base_block_reward=reward // length,
        remainder_reward=reward % length,
        previous_epoch_hash_rate=previous_rate,
        last_block_hash_in_previous_epoch=b"\x22" * 32,
    )


def next_after(epoch: EpochExt, duration_ms: int, preset=ADJUSTING) -> EpochExt:
    return compute_next_epoch_ext(preset, epoch, LAST_HASH, T0 + duration_ms, T0)


def difficulty_of(epoch: EpochExt) -> int:
    return compact_to_difficulty(epoch.compact_target)


def test_powers_of_two_round_trip_through_compact():
    # Precondition for the exact assertions below.
    for d in (D // 4, D // 2, D, 2 * D, 8 * D):
        assert compact_to_difficulty(difficulty_to_compact(d)) == d


# ----------------------------------------------------------------------------- adjustment
@pytest.mark.parametrize(
    ("duration_ms", "expected_difficulty", "why"),
    [
        (8_000, D, "on target: unchanged"),
        (4_000, 2 * D, "twice too fast: doubled"),
        (2_000, 2 * D, "four times too fast: clamped at tau"),
        (1_000, 2 * D, "eight times too fast: clamped at tau"),
        (16_000, D // 2, "twice too slow: halved"),
        (64_000, D // 2, "eight times too slow: clamped at 1/tau"),
        (5_000, D * 8 // 5, "1.6 times too fast: proportional"),
    ],
)
def test_difficulty_follows_measured_hash_rate_bounded_by_tau(
    duration_ms, expected_difficulty, why
):
    epoch = make_epoch()  # length already at the maximum (8), so it stays 8
    assert epoch.previous_epoch_hash_rate == D
    nxt = next_after(epoch, duration_ms)
    assert nxt.length == 8
    # H_i = clamp(D·C/L_i, H_{i-1}/τ, H_{i-1}·τ); D_{i+1} = H_i·L_ideal/C_{i+1}
    assert nxt.previous_epoch_hash_rate == expected_difficulty, why
    assert nxt.compact_target == difficulty_to_compact(expected_difficulty), why
    assert difficulty_of(nxt) == expected_difficulty, why


def test_next_epoch_bookkeeping():
    epoch = make_epoch(number=3, start=100, length=8)
    nxt = next_after(epoch, 8_000)
    assert nxt.number == 4
    assert nxt.start_number == 108
    assert nxt.last_block_hash_in_previous_epoch == LAST_HASH
    assert nxt.epoch_of_block(108) == EpochNumberWithFraction(4, 0, 8)
    assert nxt.is_last_block(115) and not nxt.is_last_block(114)
    assert nxt.contains(108) and nxt.contains(115)
    assert not nxt.contains(107) and not nxt.contains(116)


def test_zero_duration_counts_as_the_shortest_and_is_clamped():
    nxt = compute_next_epoch_ext(ADJUSTING, make_epoch(), LAST_HASH, T0, T0)
    assert difficulty_of(nxt) == 2 * D


def test_timestamps_going_backwards_do_not_break_adjustment():
    nxt = compute_next_epoch_ext(ADJUSTING, make_epoch(), LAST_HASH, T0 - 5_000, T0)
    assert difficulty_of(nxt) == 2 * D


def test_without_a_previous_hash_rate_there_is_no_clamp():
    # CKB's bounding_hash_rate: a zero previous hash rate leaves the measurement as is.
    nxt = next_after(make_epoch(previous_rate=0), 1_000)
    assert nxt.previous_epoch_hash_rate == 8 * D
    assert difficulty_of(nxt) == 8 * D


def test_epoch_duration_is_measured_in_whole_seconds_like_ckb():
    """CKB: ``L_i = max((ts_last − ts_prev) / 1000, 1)`` in integer seconds (ckb-facts §4.4,
    ``Consensus::next_epoch_ext``), so 8.999 s counts as 8 s, exactly on target."""
    nxt = next_after(make_epoch(), 8_999)
    assert nxt.previous_epoch_hash_rate == D
    assert difficulty_of(nxt) == D


def test_length_doubles_until_the_maximum():
    lengths = []
    epoch = make_epoch(length=2)
    for _ in range(4):
        # on target for its own length: the hash rate stays D·2/8 = D/4 throughout
        epoch = next_after(epoch, 8_000)
        lengths.append(epoch.length)
    assert lengths == [4, 8, 8, 8]


def test_doubling_the_length_halves_block_difficulty_at_the_same_hash_rate():
    # H = D/4 (steady for length 2); C_{i+1} = 4 so D_{i+1} = (D/4)·8 s / 4 = D/2.
    nxt = next_after(make_epoch(length=2), 8_000)
    assert nxt.length == 4
    assert nxt.previous_epoch_hash_rate == D // 4
    assert difficulty_of(nxt) == D // 2


def test_min_difficulty_is_a_floor():
    preset = replace(ADJUSTING, min_difficulty=D)
    nxt = next_after(make_epoch(preset), 64_000, preset)
    assert nxt.previous_epoch_hash_rate == D // 2  # the hash rate itself is not floored
    assert difficulty_of(nxt) == D
    # and without the floor the same epoch would have halved
    assert difficulty_of(next_after(make_epoch(), 64_000)) == D // 2


@pytest.mark.parametrize("duration_ms", [1, 1_000, 8_000, 10**9])
def test_permanent_difficulty_keeps_target_and_length(duration_ms):
    assert PERMANENT.permanent_difficulty
    epoch = make_epoch(PERMANENT, length=4)
    nxt = next_after(epoch, duration_ms, PERMANENT)
    assert nxt.compact_target == epoch.compact_target
    assert nxt.length == 4
    assert nxt.previous_epoch_hash_rate == epoch.previous_epoch_hash_rate
    assert (nxt.number, nxt.start_number) == (4, 104)
    assert nxt.last_block_hash_in_previous_epoch == LAST_HASH


def test_compute_block_epoch_only_changes_after_the_last_block():
    epoch = make_epoch(start=100, length=8)
    for parent in range(100, 107):
        assert compute_block_epoch(ADJUSTING, epoch, parent, LAST_HASH, T0 + 1_000, T0) is epoch
    nxt = compute_block_epoch(ADJUSTING, epoch, 107, LAST_HASH, T0 + 4_000, T0)
    assert nxt.number == epoch.number + 1
    assert difficulty_of(nxt) == 2 * D


# ----------------------------------------------------------------------------- genesis epoch
def test_genesis_epoch_of_the_test_preset():
    epoch = compute_genesis_epoch_ext(PERMANENT)
    assert (epoch.number, epoch.start_number, epoch.length) == (0, 0, 4)
    assert epoch.compact_target == 0x20FFFFFF
    assert epoch.base_block_reward == 1_000 * CKB
    assert epoch.remainder_reward == 0
    assert epoch.last_block_hash_in_previous_epoch == bytes(32)


def test_genesis_hash_rate_floors_the_orphan_count_like_ckb():
    """``build_genesis_epoch_ext``: orphans = length / 40 (integer), then
    H_0 = D_0·(length + orphans) / L_ideal (seconds)."""
    preset = MAINNET_LIKE
    d0 = compact_to_difficulty(preset.genesis_compact_target)
    expected = d0 * (1_743 + 1_743 // 40) // 14_400
    assert compute_genesis_epoch_ext(preset).previous_epoch_hash_rate == expected


def test_genesis_hash_rate_small_case():
    # D_0 = 1024, 40 blocks (1 orphan), 8 s: 1024·(40 + 1) / 8 = 5248 under either rounding.
    preset = pinned_preset(
        genesis_compact_target=difficulty_to_compact(1024), genesis_epoch_length=40
    )
    assert compact_to_difficulty(preset.genesis_compact_target) == 1024
    assert compute_genesis_epoch_ext(preset).previous_epoch_hash_rate == 5_248


def test_genesis_epoch_reward_split_of_mainnet():
    epoch = compute_genesis_epoch_ext(MAINNET_LIKE)
    reward = 1_917_808_21917808
    assert epoch.base_block_reward == reward // 1_743
    assert epoch.remainder_reward == reward % 1_743
    assert epoch.remainder_reward != 0  # the remainder rule matters on mainnet
    assert sum(epoch.block_reward(n) for n in range(1_743)) == reward


# ----------------------------------------------------------------------------- issuance
def test_primary_reward_halves_every_interval():
    initial = PERMANENT.initial_primary_epoch_reward
    assert PERMANENT.primary_epoch_reward_halving_interval == 4
    rewards = [compute_primary_epoch_reward(PERMANENT, n) for n in range(13)]
    assert rewards == [initial] * 4 + [initial // 2] * 4 + [initial // 4] * 4 + [initial // 8]
    assert compute_primary_epoch_reward(PERMANENT, 4 * 64) == 0
    assert compute_primary_epoch_reward(PERMANENT, 4 * 1_000) == 0


def test_next_epoch_carries_the_halved_reward():
    preset = ADJUSTING
    epoch = make_epoch(number=3, length=8)
    assert epoch.base_block_reward == preset.initial_primary_epoch_reward // 8
    nxt = next_after(epoch, 8_000)
    assert nxt.number == 4
    assert nxt.base_block_reward == preset.initial_primary_epoch_reward // 2 // 8
    # the permanent-difficulty branch halves too
    assert next_after(
        make_epoch(PERMANENT, number=3, length=4), 8_000, PERMANENT
    ).base_block_reward == (PERMANENT.initial_primary_epoch_reward // 2 // 4)


@pytest.mark.parametrize("length", [2, 3, 4, 5, 7, 8])
@pytest.mark.parametrize("reward", [4_000 * CKB + 3, 4_000 * CKB + 1, 4_000 * CKB, 7, 5])
def test_block_reward_remainder_rule(length, reward):
    """The first ``reward % length`` blocks get one extra shannon; the epoch pays exactly R."""
    epoch = EpochExt(2, 50, length, 0x20FFFFFF, reward // length, reward % length, 1, bytes(32))
    per_block = [epoch.block_reward(n) for n in range(50, 50 + length)]
    remainder = reward % length
    assert per_block == [reward // length + 1] * remainder + [reward // length] * (
        length - remainder
    )
    assert sum(per_block) == reward


def test_remainder_shannons_are_paid_by_the_cellbase():
    """On a chain whose epoch reward does not divide evenly, block 3 pays block 1 its extra
    shannon and block 5 pays block 3 (past the remainder) the base reward."""
    base = 1_000 * CKB
    preset = replace(PERMANENT, initial_primary_epoch_reward=4 * base + 3)
    chain = Chain(preset)
    rewards = {}
    for _ in range(5):
        block, verdict = chain.mine()
        rewards[block.header.raw.number] = verdict.primary_reward
        outputs = block.transactions[0].raw.outputs
        if block.header.raw.number == 3:
            assert outputs[0].capacity == base + 1  # block 1's reward
        if block.header.raw.number == 5:
            assert outputs[0].capacity == base  # block 3's reward
    assert rewards == {1: base + 1, 2: base + 1, 3: base, 4: base + 1, 5: base + 1}


# ----------------------------------------------------------------------------- on a chain
def test_slow_genesis_epoch_lowers_difficulty_of_block_4():
    """Difficulty 4 at genesis, blocks every 10 s (the test preset targets 2 s): epoch 1 must
    carry difficulty 1 and the doubled length, and a block keeping the old target is invalid."""
    preset = replace(ADJUSTING, genesis_compact_target=difficulty_to_compact(4))
    chain = Chain(preset)
    # genesis hash rate: 4·(4 + 0) / 8 s = 2
    assert chain.blocks[0].epoch.previous_epoch_hash_rate == 2
    for _ in range(3):
        chain.mine(timestamp=chain.tip.timestamp + 10_000)
    assert chain.tip.number == 3
    # duration 30 s: H' = 4·4/30 = 0, clamped to 2/τ = 1; D_1 = 1·8 s / 8 = 1
    stale = chain.assemble(timestamp=chain.tip.timestamp + 10_000).block
    assert stale.header.raw.compact_target == difficulty_to_compact(1)
    assert EpochNumberWithFraction.from_full_value(stale.header.raw.epoch) == (
        EpochNumberWithFraction(1, 0, 8)
    )
    old_target = rebuild(stale, compact_target=preset.genesis_compact_target)
    with chain.rejects(InvalidCompactTarget, "compact_target must be 0x20ffffff"):
        chain.verify(old_target)
    block = seal(stale)
    chain.apply(block, chain.verify(block))
    assert chain.tip.epoch.number == 1
    assert chain.tip.epoch.length == 8


# ----------------------------------------------------------------------------- fractions
@pytest.mark.parametrize(
    ("child", "parent", "expected"),
    [
        ((5, 3, 8), (5, 2, 8), True),  # next block, same epoch
        ((6, 0, 4), (5, 7, 8), True),  # first block of the next epoch after the last one
        ((6, 0, 8), (5, 7, 8), True),  # the next epoch may change length
        ((5, 4, 8), (5, 2, 8), False),  # skipped a block
        ((5, 2, 8), (5, 2, 8), False),  # same block
        ((5, 3, 9), (5, 2, 8), False),  # length changed inside an epoch
        ((6, 0, 8), (5, 6, 8), False),  # next epoch before the last block
        ((6, 1, 8), (5, 7, 8), False),  # next epoch not starting at index 0
        ((7, 0, 8), (5, 7, 8), False),  # skipped an epoch
        ((4, 0, 8), (5, 7, 8), False),  # going backwards
    ],
)
def test_epoch_number_with_fraction_successor(child, parent, expected):
    assert (
        EpochNumberWithFraction(*child).is_successor_of(EpochNumberWithFraction(*parent))
        is expected
    )


def test_epoch_number_with_fraction_packing_rfc0017_example():
    # RFC 0023's since 0x20068d02880000b6 carries epoch 182 + 648/1677.
    value = 0x20068D02880000B6 & 0x00FF_FFFF_FFFF_FFFF
    epoch = EpochNumberWithFraction.from_full_value(value)
    assert epoch == EpochNumberWithFraction(182, 648, 1677)
    assert epoch.full_value() == value


def test_epoch_fraction_rationals():
    # RFC 0030: the zero fraction 0/0 reads as 0/1; equal fractions compare equal across lengths.
    assert EpochNumberWithFraction(3, 0, 0).to_rational() == 3
    assert (
        EpochNumberWithFraction(3, 2, 4).to_rational()
        == EpochNumberWithFraction(3, 4, 8).to_rational()
    )
    assert (
        EpochNumberWithFraction(3, 7, 8).to_rational()
        < EpochNumberWithFraction(4, 0, 2).to_rational()
    )
