"""Block verification (RFC 0020/0022/0027/0031; ``HeaderVerifier``, ``BlockVerifier``,
``CellbaseVerifier``, ``RewardVerifier``): header rules, body commitments, the cellbase and its
reward, budgets and the dao field.

Each invalid block is built from a valid one, with transactions_root recomputed and the nonce
re-mined after tampering (``rebuild``), so that it breaks exactly the rule under test; each asserts
the exact error class, a message fragment and an unchanged chain.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

import pytest

from l1.ckb.epoch import EpochNumberWithFraction
from l1.ckb.hashes import (
    compute_extra_hash,
    compute_header_hash,
    compute_pow_hash,
    compute_proposals_hash,
    compute_tx_hash,
)
from l1.ckb.hashing import ckbhash
from l1.ckb.pow import is_pow_hash_valid, verify_pow
from l1.ckb.types import (
    HASH_TYPE_TYPE,
    Block,
    CellbaseWitness,
    CellDep,
    CellOutput,
    Header,
    OutPoint,
    RawTransaction,
    Script,
    Transaction,
    UncleBlock,
    WitnessArgs,
)
from l1.core.block import RewardTarget
from l1.core.capacity import compute_occupied_capacity
from l1.core.dao import DaoData
from l1.core.errors import (
    BlockCyclesExceeded,
    BlockTimeTooNew,
    BlockTooLarge,
    CellbaseError,
    DaoMismatch,
    DuplicateTransaction,
    InvalidBlockVersion,
    InvalidCompactTarget,
    InvalidEpoch,
    InvalidExtraHash,
    InvalidNumber,
    InvalidParent,
    InvalidPow,
    InvalidProposalsHash,
    InvalidReward,
    InvalidTimestamp,
    InvalidTransactionsRoot,
    InvalidTxVersion,
    OutputsExceedInputs,
    UnknownCell,
    UnsupportedFeature,
)
from l1.core.scripts.secp256k1 import SECP256K1_CYCLES
from tests.l1.chainkit import CKB, DEVNET_KEYS, Chain, pinned_preset, rebuild, seal, sign

K0, K1, K2, K3 = DEVNET_KEYS[:4]
BLOCK_REWARD = 1_000 * CKB  # the test preset: 4_000 CKB per 4-block epoch, no remainder


@pytest.fixture
def chain() -> Chain:
    """Tip at block 3, so the next block (4) owes block 2's reward."""
    chain = Chain()
    chain.mine_until(3)
    return chain


@pytest.fixture
def fresh() -> Chain:
    return Chain()


def transfer(chain: Chain, key=K0, amount=100 * CKB, fee=1_000, to=None) -> Transaction:
    return chain.transfer(key, chain.genesis_cell(key), to or chain.lock_of(K3), amount, fee)


def with_cellbase(block: Block, cellbase: Transaction) -> Block:
    return rebuild(block, transactions=[cellbase, *block.transactions[1:]])


# ----------------------------------------------------------------------------- a valid block
def test_mined_block_verifies_and_reports_its_effects(chain):
    tx = transfer(chain, fee=4_321)
    block = chain.candidate([tx])
    assert verify_pow(block.header)
    parent = chain.parent_context()
    verdict = chain.verify(block)
    assert verdict.block_hash == compute_header_hash(block.header)
    assert verdict.tx_hashes == tuple(compute_tx_hash(t) for t in block.transactions)
    assert verdict.fees == 4_321
    assert verdict.cycles == SECP256K1_CYCLES
    assert verdict.primary_reward == BLOCK_REWARD
    assert verdict.cellbase_lock == chain.lock_of(K0)
    assert verdict.epoch.epoch_of_block(4) == EpochNumberWithFraction(1, 0, 4)
    assert [cell.out_point for cell in verdict.consumed] == [chain.genesis_cell(K0)]
    cellbase_cell = OutPoint(compute_tx_hash(block.transactions[0]), 0)
    created = {cell.out_point: cell for cell in verdict.created}
    assert created[cellbase_cell].is_cellbase
    assert created[cellbase_cell].output.capacity == parent.reward_target.total
    assert not created[OutPoint(compute_tx_hash(tx), 0)].is_cellbase
    assert all(cell.block_hash == verdict.block_hash for cell in verdict.created)
    assert all(cell.block_epoch == block.header.raw.epoch for cell in verdict.created)


def test_verifying_does_not_touch_the_ledger(chain):
    block = chain.candidate([transfer(chain)])
    with chain.unchanged():
        chain.verify(block)


def test_a_chain_of_blocks_crosses_epochs(fresh):
    epochs = []
    for _ in range(9):
        block, _ = fresh.mine()
        epochs.append(EpochNumberWithFraction.from_full_value(block.header.raw.epoch))
    assert epochs == [
        EpochNumberWithFraction(0, 1, 4),
        EpochNumberWithFraction(0, 2, 4),
        EpochNumberWithFraction(0, 3, 4),
        EpochNumberWithFraction(1, 0, 4),
        EpochNumberWithFraction(1, 1, 4),
        EpochNumberWithFraction(1, 2, 4),
        EpochNumberWithFraction(1, 3, 4),
        EpochNumberWithFraction(2, 0, 4),
        EpochNumberWithFraction(2, 1, 4),
    ]
    assert all(child.is_successor_of(parent) for parent, child in pairwise(epochs))


# ----------------------------------------------------------------------------- header rules
def test_block_version_must_be_0(chain):
    block = rebuild(chain.candidate(), version=1)
    with chain.rejects(InvalidBlockVersion, "block version must be 0, got 1"):
        chain.verify(block)


@pytest.mark.parametrize("which", ["random", "grandparent"])
def test_parent_hash_must_be_the_tip(chain, which):
    wrong = ckbhash(b"not the tip") if which == "random" else chain.blocks[-2].hash
    block = rebuild(chain.candidate(), parent_hash=wrong)
    with chain.rejects(InvalidParent, f"parent_hash {wrong.hex()} is not {chain.tip.hash.hex()}"):
        chain.verify(block)


@pytest.mark.parametrize("number", [3, 5, 0])
def test_block_number_must_follow_the_parent(chain, number):
    block = rebuild(chain.candidate(), number=number)
    with chain.rejects(InvalidNumber, f"block number must be 4, got {number}"):
        chain.verify(block)


@pytest.mark.parametrize("epoch", [(1, 1, 4), (0, 4, 4), (1, 0, 8), (2, 0, 4)])
def test_epoch_field_must_match(chain, epoch):
    value = EpochNumberWithFraction(*epoch).full_value()
    block = rebuild(chain.candidate(), epoch=value)
    expected = EpochNumberWithFraction(1, 0, 4).full_value()
    with chain.rejects(InvalidEpoch, f"epoch field must be {expected:#x}, got {value:#x}"):
        chain.verify(block)


def test_compact_target_must_be_the_epochs(chain):
    block = rebuild(chain.candidate(), compact_target=0x20FFFFFE)
    with chain.rejects(InvalidCompactTarget, "compact_target must be 0x20ffffff, got 0x20fffffe"):
        chain.verify(block)


def test_timestamp_must_be_after_the_median(chain):
    median = chain.parent_context().median_time_ms
    # CKB's block_median_time: sort the window (here blocks 0..3) and take element len >> 1
    assert median == sorted(record.timestamp for record in chain.blocks)[len(chain.blocks) >> 1]
    assert median == chain.blocks[2].timestamp
    at_median = rebuild(chain.candidate(), timestamp=median)
    with chain.rejects(
        InvalidTimestamp, f"timestamp {median} is not after the median time {median}"
    ):
        chain.verify(at_median)
    older = rebuild(chain.candidate(), timestamp=median - 1)
    with chain.rejects(InvalidTimestamp, "not after the median time"):
        chain.verify(older)
    # one millisecond later is fine, even though it is before the parent's own timestamp
    just_after = rebuild(chain.candidate(), timestamp=median + 1)
    assert just_after.header.raw.timestamp < chain.tip.timestamp
    chain.verify(just_after)


def test_median_uses_the_last_median_time_block_count_blocks():
    chain = Chain(pinned_preset(median_time_block_count=5))
    for offset in (5_000, 1, 1, 1, 1, 1, 1):  # one early jump, then crawling timestamps
        chain.mine(timestamp=chain.tip.timestamp + offset)
    stamps = [record.timestamp for record in chain.blocks[-5:]]
    median = sorted(stamps)[2]
    assert median == chain.blocks[-3].timestamp
    assert chain.parent_context().median_time_ms == median
    # a window of the whole chain would have had an older median
    everything = sorted(record.timestamp for record in chain.blocks)
    assert everything[len(everything) >> 1] < median
    at_median = rebuild(chain.candidate(), timestamp=median)
    with chain.rejects(InvalidTimestamp, "not after the median time"):
        chain.verify(at_median)


def test_timestamp_must_not_be_too_far_in_the_future(chain):
    block = chain.candidate()
    timestamp = block.header.raw.timestamp
    allowed = chain.preset.allowed_future_blocktime_ms
    chain.verify(block, now_ms=timestamp - allowed)  # exactly at the bound
    with chain.rejects(BlockTimeTooNew, f"timestamp {timestamp} is too far in the future"):
        chain.verify(block, now_ms=timestamp - allowed - 1)
    chain.verify(block, now_ms=None)  # without a clock the rule is not applied


def test_nonce_must_solve_the_pow():
    preset = pinned_preset(genesis_compact_target=0x207FFFFF)  # about half of hashes pass
    chain = Chain(preset)
    block = chain.candidate()
    raw = block.header.raw
    bad = next(
        n
        for n in range(1_000)
        if not is_pow_hash_valid(compute_pow_hash(raw), n, raw.compact_target)
    )
    unsolved = replace(block, header=Header(raw, bad))
    with chain.rejects(InvalidPow, "nonce does not solve Eaglesong"):
        chain.verify(unsolved)
    chain.verify(block)


# ----------------------------------------------------------------------------- body commitments
def test_transactions_root_must_commit_to_the_transactions(chain):
    block = chain.candidate([transfer(chain)])
    wrong_root = rebuild(block, transactions_root=ckbhash(b"wrong"))
    with chain.rejects(InvalidTransactionsRoot, "transactions_root does not match"):
        chain.verify(wrong_root)
    dropped = rebuild(
        block,
        transactions=block.transactions[:1],
        transactions_root=block.header.raw.transactions_root,
    )
    with chain.rejects(InvalidTransactionsRoot, "transactions_root does not match"):
        chain.verify(dropped)


def test_transactions_root_commits_to_witnesses(chain):
    block = chain.candidate([transfer(chain)])
    tx = block.transactions[1]
    other_witness = Transaction(tx.raw, (*tx.witnesses, b"extra"))
    assert compute_tx_hash(other_witness) == compute_tx_hash(tx)
    malleated = rebuild(
        block,
        transactions=[block.transactions[0], other_witness],
        transactions_root=block.header.raw.transactions_root,
    )
    with chain.rejects(InvalidTransactionsRoot, "transactions_root does not match"):
        chain.verify(malleated)


def test_proposals_are_not_supported(chain):
    block = chain.candidate()
    proposals = (b"\x01" * 10,)
    with_proposals = rebuild(
        replace(block, proposals=proposals), proposals_hash=compute_proposals_hash(proposals)
    )
    with chain.rejects(UnsupportedFeature, "no proposal zone; proposals must be empty"):
        chain.verify(with_proposals)


def test_uncles_are_not_supported(chain):
    block = chain.candidate()
    uncle = UncleBlock(chain.blocks[2].block.header)
    with_uncle = replace(block, uncles=(uncle,))
    with_uncle = rebuild(with_uncle, extra_hash=compute_extra_hash(with_uncle))
    with chain.rejects(UnsupportedFeature, "no uncles; the uncles list must be empty"):
        chain.verify(with_uncle)


def test_proposals_hash_must_be_zero_without_proposals(chain):
    block = rebuild(chain.candidate(), proposals_hash=ckbhash(b"phantom proposals"))
    with chain.rejects(InvalidProposalsHash, "proposals_hash does not match"):
        chain.verify(block)


def test_extra_hash_must_match(chain):
    block = rebuild(chain.candidate(), extra_hash=ckbhash(b"no uncles, no extension"))
    with chain.rejects(InvalidExtraHash, "extra_hash does not match"):
        chain.verify(block)


def test_extension_must_be_committed_by_extra_hash(chain):
    uncommitted = rebuild(replace(chain.candidate(), extension=b"\x01" * 8))
    with chain.rejects(InvalidExtraHash, "extra_hash does not match"):
        chain.verify(uncommitted)


@pytest.mark.parametrize(("size", "valid"), [(0, False), (1, True), (96, True), (97, False)])
def test_extension_size_rfc0031(chain, size, valid):
    with_extension = replace(chain.candidate(), extension=b"\x07" * size)
    block = rebuild(with_extension, extra_hash=compute_extra_hash(with_extension))
    assert block.header.raw.extra_hash == ckbhash(bytes(32) + ckbhash(b"\x07" * size))
    if valid:
        chain.verify(block)
    else:
        with chain.rejects(InvalidExtraHash, "extension is 1 to 96 bytes"):
            chain.verify(block)


# ----------------------------------------------------------------------------- the cellbase
def test_cellbase_must_be_present(chain):
    block = chain.candidate([transfer(chain)])
    for transactions in ([], block.transactions[1:]):
        without = rebuild(block, transactions=transactions)
        with chain.rejects(CellbaseError, "the first transaction must be the cellbase"):
            chain.verify(without)


def test_cellbase_must_be_first(chain):
    block = chain.candidate([transfer(chain)])
    swapped = rebuild(block, transactions=[block.transactions[1], block.transactions[0]])
    with chain.rejects(CellbaseError, "the first transaction must be the cellbase"):
        chain.verify(swapped)


def test_only_one_cellbase(chain):
    block = chain.candidate()
    cellbase = block.transactions[0]
    # a second, distinct cellbase (no outputs, another witness) after the real one
    second = Transaction(
        replace(cellbase.raw, outputs=(), outputs_data=()),
        (CellbaseWitness(chain.lock_of(K1), b"again").serialize(),),
    )
    assert second.is_cellbase and compute_tx_hash(second) != compute_tx_hash(cellbase)
    doubled = rebuild(block, transactions=[cellbase, second])
    with chain.rejects(CellbaseError, "only the first transaction may be a cellbase"):
        chain.verify(doubled)


@pytest.mark.parametrize("since", [0, 3, 5, 1 << 63])
def test_cellbase_since_must_be_the_block_number(chain, since):
    block = chain.candidate()
    cellbase = block.transactions[0]
    raw = replace(cellbase.raw, inputs=(replace(cellbase.raw.inputs[0], since=since),))
    with chain.rejects(CellbaseError, "cellbase input since must be the block number 4"):
        chain.verify(with_cellbase(block, Transaction(raw, cellbase.witnesses)))


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"cell_deps": "secp"}, "no cell deps, header deps or blobs"),
        ({"header_deps": "genesis"}, "no cell deps, header deps or blobs"),
        ({"blob_versioned_hashes": (b"\x01" * 32,)}, "no cell deps, header deps or blobs"),
        ({"outputs": "two"}, "at most one output"),
        ({"outputs_data": ()}, "at most one output, with matching outputs_data"),
        ({"outputs_data": (b"\x00",)}, "no type script and no data"),
        ({"outputs": "typed"}, "no type script and no data"),
    ],
)
def test_cellbase_shape(chain, change, fragment):
    block = chain.candidate()
    cellbase = block.transactions[0]
    output = cellbase.raw.outputs[0]
    values = {
        "secp": (chain.secp.cell_dep,),
        "genesis": (chain.genesis.hash,),
        "two": (output, CellOutput(100 * CKB, chain.lock_of(K1))),
        "typed": (replace(output, type=Script(b"\x01" * 32, HASH_TYPE_TYPE, b"")),),
    }
    fields = {
        key: values.get(value, value) if isinstance(value, str) else value
        for key, value in change.items()
    }
    if fields.get("outputs") is not None and "outputs_data" not in fields:
        fields["outputs_data"] = tuple(b"" for _ in fields["outputs"])
    tampered = Transaction(replace(cellbase.raw, **fields), cellbase.witnesses)
    with chain.rejects(CellbaseError, fragment):
        chain.verify(with_cellbase(block, tampered))


@pytest.mark.parametrize(
    ("witnesses", "fragment"),
    [
        ((), "exactly one witness"),
        ("two", "exactly one witness"),
        ((b"",), "is not a CellbaseWitness"),
        ((b"\x00\x01\x02",), "is not a CellbaseWitness"),
        ((WitnessArgs(b"\x00" * 65).serialize(),), "is not a CellbaseWitness"),
    ],
)
def test_cellbase_witness_must_be_one_cellbase_witness(chain, witnesses, fragment):
    block = chain.candidate()
    cellbase = block.transactions[0]
    if witnesses == "two":
        witnesses = (cellbase.witnesses[0], cellbase.witnesses[0])
    with chain.rejects(CellbaseError, fragment):
        chain.verify(with_cellbase(block, Transaction(cellbase.raw, witnesses)))


def test_cellbase_witness_lock_must_use_an_enabled_hash_type(chain):
    """``CellbaseVerifier`` (ckb verification/src/block_verifier.rs) rejects a witness lock whose
    hash_type is not in ENABLED_SCRIPT_HASH_TYPE {0, 1, 2, 4} (``CellbaseError::InvalidWitness``):
    otherwise the reward paid 2 blocks later would create an output no transaction could."""
    block = chain.candidate()
    cellbase = block.transactions[0]
    bad_lock = Script(chain.secp.code_hash, 3, K1.lock_args)
    witness = CellbaseWitness(bad_lock, b"").serialize()
    with chain.rejects(CellbaseError, "hash_type"):
        chain.verify(with_cellbase(block, Transaction(cellbase.raw, (witness,))))


def test_cellbase_version_must_be_0(chain):
    """CKB runs ``NonContextualTransactionVerifier`` (version, size, ...) over every transaction
    of a block, the cellbase included."""
    block = chain.candidate()
    cellbase = block.transactions[0]
    tampered = Transaction(replace(cellbase.raw, version=1), cellbase.witnesses)
    with chain.rejects(InvalidTxVersion, "version must be 0, got 1"):
        chain.verify(with_cellbase(block, tampered))


# ----------------------------------------------------------------------------- the reward
@pytest.mark.parametrize("number", [1, 2])
def test_no_reward_is_owed_before_the_finalization_delay(fresh, number):
    assert fresh.preset.finalization_delay_length == 2
    fresh.mine_until(number - 1)
    assert fresh.parent_context().reward_target is None
    block = fresh.candidate()
    assert block.transactions[0].raw.outputs == ()
    fresh.verify(block)
    paying = Transaction(
        RawTransaction(
            inputs=block.transactions[0].raw.inputs,
            outputs=(CellOutput(BLOCK_REWARD, fresh.lock_of(K0)),),
            outputs_data=(b"",),
        ),
        block.transactions[0].witnesses,
    )
    with fresh.rejects(InvalidReward, "no reward is owed at this height"):
        fresh.verify(with_cellbase(block, paying))


def test_cellbase_pays_primary_reward_plus_fees_of_block_n_minus_delay(fresh):
    """Block 1 (miner K1) collects fee F; block 3's cellbase must pay exactly 1000 CKB + F to
    the lock in block 1's cellbase witness, and block 4 pays block 2 (miner K2, no fees)."""
    fee = 123_456
    _, verdict1 = fresh.mine([transfer(fresh, fee=fee)], miner_lock=fresh.lock_of(K1))
    assert verdict1.fees == fee and verdict1.cellbase_lock == fresh.lock_of(K1)
    fresh.mine(miner_lock=fresh.lock_of(K2))
    target = fresh.parent_context().reward_target
    assert target == RewardTarget(fresh.blocks[1].hash, 1, fresh.lock_of(K1), BLOCK_REWARD, fee)
    block3, _ = fresh.mine(miner_lock=fresh.lock_of(K0))
    (reward,) = block3.transactions[0].raw.outputs
    assert reward == CellOutput(BLOCK_REWARD + fee, fresh.lock_of(K1))
    assert fresh.cells.live[OutPoint(compute_tx_hash(block3.transactions[0]), 0)].is_cellbase
    block4, _ = fresh.mine()
    assert block4.transactions[0].raw.outputs == (CellOutput(BLOCK_REWARD, fresh.lock_of(K2)),)


@pytest.mark.parametrize("delta", [-1, 1, -BLOCK_REWARD])
def test_cellbase_paying_the_wrong_amount_is_rejected(chain, delta):
    block = chain.candidate()
    cellbase = block.transactions[0]
    (output,) = cellbase.raw.outputs
    wrong = replace(output, capacity=output.capacity + delta)
    tampered = Transaction(replace(cellbase.raw, outputs=(wrong,)), cellbase.witnesses)
    with chain.rejects(InvalidReward, f"cellbase pays {wrong.capacity} shannons; block 2 earned"):
        chain.verify(with_cellbase(block, tampered))


def test_cellbase_paying_the_wrong_lock_is_rejected(chain):
    block = chain.candidate()
    cellbase = block.transactions[0]
    (output,) = cellbase.raw.outputs
    assert output.lock == chain.lock_of(K0)  # block 2's miner
    stolen = replace(output, lock=chain.lock_of(K1))
    # the thief even names itself in its own witness: that only decides block 6's payee
    witness = CellbaseWitness(chain.lock_of(K1)).serialize()
    tampered = Transaction(replace(cellbase.raw, outputs=(stolen,)), (witness,))
    with chain.rejects(InvalidReward, "must pay the lock named by block 2's cellbase"):
        chain.verify(with_cellbase(block, tampered))


def test_owed_reward_cannot_be_skipped(chain):
    block = chain.candidate()
    cellbase = block.transactions[0]
    skipped = Transaction(replace(cellbase.raw, outputs=(), outputs_data=()), cellbase.witnesses)
    with chain.rejects(InvalidReward, "must pay 100000000000 shannons to block 2's miner"):
        chain.verify(with_cellbase(block, skipped))


def test_reward_too_small_for_its_lock_is_not_paid(fresh):
    """If the owed total cannot even cover the payee cell's occupied capacity, the cellbase
    has no output (``RewardVerifier``)."""
    huge_lock = Script(b"\x05" * 32, HASH_TYPE_TYPE, b"\x00" * 968)  # occupies 1_009 CKB
    assert compute_occupied_capacity(CellOutput(0, huge_lock), b"") > BLOCK_REWARD
    fresh.mine(miner_lock=huge_lock)
    fresh.mine()
    block = fresh.candidate()
    assert block.transactions[0].raw.outputs == ()
    fresh.verify(block)
    paying = Transaction(
        replace(
            block.transactions[0].raw,
            outputs=(CellOutput(BLOCK_REWARD, huge_lock),),
            outputs_data=(b"",),
        ),
        block.transactions[0].witnesses,
    )
    with fresh.rejects(InvalidReward, "no reward is owed"):
        fresh.verify(with_cellbase(block, paying))


# ----------------------------------------------------------------------------- transactions
def test_invalid_transaction_invalidates_the_block(chain):
    good = chain.candidate([transfer(chain)])
    source = chain.genesis_cell(K1)
    greedy = chain.transfer(K1, source, chain.lock_of(K3), 100 * CKB, fee=0)
    out0, out1 = greedy.raw.outputs
    greedy = Transaction(
        replace(greedy.raw, outputs=(out0, replace(out1, capacity=out1.capacity + 1)))
    )
    greedy = sign(greedy, K1)
    block = rebuild(good, transactions=[*good.transactions, greedy])
    with chain.rejects(OutputsExceedInputs, f"transaction 2 ({compute_tx_hash(greedy).hex()})"):
        chain.verify(block)


def test_duplicate_transaction_is_rejected(chain):
    block = chain.candidate([transfer(chain)])
    tx = block.transactions[1]
    doubled = rebuild(block, transactions=[*block.transactions, tx])
    with chain.rejects(
        DuplicateTransaction, f"transaction {compute_tx_hash(tx).hex()} appears twice"
    ):
        chain.verify(doubled)


def test_block_cycle_limit(chain):
    block = chain.candidate([transfer(chain, K0), transfer(chain, K1)])
    two = 2 * SECP256K1_CYCLES
    assert chain.verify(block, preset=replace(chain.preset, max_block_cycles=two)).cycles == two
    with chain.rejects(BlockCyclesExceeded, f"more than {two - 1} cycles"):
        chain.verify(block, preset=replace(chain.preset, max_block_cycles=two - 1))


def test_assembler_leaves_out_what_does_not_fit_the_cycle_budget():
    preset = pinned_preset(max_block_cycles=SECP256K1_CYCLES)
    chain = Chain(preset)
    first, second = transfer(chain, K0), transfer(chain, K1)
    assembled = chain.assemble([first, second])
    assert assembled.block.transactions[1:] == (first,)
    assert assembled.rejected == []  # not invalid, just not this block
    block = seal(assembled.block)
    chain.apply(block, chain.verify(block))


def test_block_size_limit(chain):
    block = chain.candidate([transfer(chain)])
    size = len(block.serialize())
    chain.verify(block, preset=replace(chain.preset, max_block_bytes=size))
    with chain.rejects(BlockTooLarge, f"block is {size} bytes, over the limit of {size - 1}"):
        chain.verify(block, preset=replace(chain.preset, max_block_bytes=size - 1))


def test_block_blob_limit(chain):
    per_tx = chain.preset.max_blobs_per_tx
    keys = DEVNET_KEYS[: chain.preset.max_blobs_per_block // per_tx + 1]
    txs = []
    for index, key in enumerate(keys):
        hashes = tuple(b"\x01" + bytes([index, i]) * 15 + b"\x00" for i in range(per_tx))
        tx = chain.transfer(key, chain.genesis_cell(key), chain.lock_of(K3), 100 * CKB)
        tx = Transaction(replace(tx.raw, blob_versioned_hashes=hashes))
        txs.append(sign(tx, key))
    total = per_tx * len(keys)
    assert total > chain.preset.max_blobs_per_block
    fits = chain.candidate(txs[:-1])
    chain.verify(fits)
    block = rebuild(fits, transactions=[*fits.transactions, txs[-1]])
    with chain.rejects(BlockTooLarge, f"block carries {total} blobs"):
        chain.verify(block)


# ----------------------------------------------------------------------------- the dao field
def test_dao_tracks_issuance_and_occupied_capacity(chain):
    parent = DaoData.unpack(chain.tip.block.header.raw.dao)
    tx = chain.transfer(K0, chain.genesis_cell(K0), chain.lock_of(K3), 100 * CKB)
    block = chain.candidate([tx])
    dao = DaoData.unpack(block.header.raw.dao)
    assert dao.c == parent.c + BLOCK_REWARD
    assert (dao.ar, dao.s) == (parent.ar, parent.s)
    # outputs: reward cell (61) + recipient (61) + change (61); input: one 61-byte cell
    assert dao.u == parent.u + (61 + 61 + 61 - 61) * CKB
    chain.verify(block)


def test_dao_field_must_match(chain):
    block = chain.candidate([transfer(chain)])
    dao = DaoData.unpack(block.header.raw.dao)
    for wrong in (
        replace(dao, u=dao.u + 1),
        replace(dao, c=dao.c - 1),
        replace(dao, ar=dao.ar + 1),
    ):
        tampered = rebuild(block, dao=wrong.pack())
        with chain.rejects(DaoMismatch, f"dao field must be {dao.pack().hex()}"):
            chain.verify(tampered)


def test_genesis_dao_counts_all_issued_capacity(fresh):
    genesis = fresh.genesis.block
    dao = DaoData.unpack(genesis.header.raw.dao)
    outputs = genesis.transactions[0].raw.outputs
    data = genesis.transactions[0].raw.outputs_data
    assert dao.c == sum(o.capacity for o in outputs) + BLOCK_REWARD
    assert dao.u == sum(compute_occupied_capacity(o, d) for o, d in zip(outputs, data, strict=True))
    assert dao.ar == 10**16 and dao.s == 0


def test_cell_deps_of_a_block_transaction_resolve_against_the_block(chain):
    """A dep created earlier in the same block resolves through the block's overlay."""
    first = transfer(chain, K0)
    dep = CellDep(OutPoint(compute_tx_hash(first), 0))
    second = chain.transfer(K1, chain.genesis_cell(K1), chain.lock_of(K3), 100 * CKB)
    second = Transaction(replace(second.raw, cell_deps=(*second.raw.cell_deps, dep)))
    second = sign(second, K1)
    with chain.rejects(UnknownCell, "cell dep", "does not exist"):  # not on its own
        chain.verify_tx(second)
    _, verdict = chain.mine([first, second])
    assert verdict.fees == 2_000
    assert dep.out_point in chain.cells.live  # a dep is read, not consumed
