"""The Cell model's ledger rules (RFC 0022; ``ckb:verification/src/transaction_verifier.rs``):
occupied capacity, capacity conservation and fees, resolution of inputs and deps, cellbase
maturity, ``since`` (RFC 0017/0028/0030) and spending inside one block.

Every rejection asserts the exact error class, a helpful message fragment and an unchanged ledger.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from l1.ckb.epoch import EpochNumberWithFraction
from l1.ckb.hashes import compute_tx_hash
from l1.ckb.hashing import ckbhash
from l1.ckb.json import transaction_from_json
from l1.ckb.molecule import pack_fixvec
from l1.ckb.since import SinceMetric, encode_since
from l1.ckb.types import (
    DEP_TYPE_DEP_GROUP,
    HASH_TYPE_DATA,
    HASH_TYPE_DATA1,
    HASH_TYPE_DATA2,
    HASH_TYPE_TYPE,
    CellDep,
    CellInput,
    CellOutput,
    OutPoint,
    RawTransaction,
    Script,
    Transaction,
)
from l1.core.capacity import compute_occupied_capacity, is_capacity_sufficient
from l1.core.errors import (
    CapacityOverflow,
    DeadCell,
    DoubleSpend,
    DuplicateCellDeps,
    DuplicateHeaderDeps,
    EmptyInputs,
    EmptyOutputs,
    HeaderDepNotFound,
    ImmatureCell,
    InsufficientCellCapacity,
    InvalidDepGroup,
    InvalidHashType,
    InvalidOutputsData,
    InvalidSince,
    InvalidTxVersion,
    OutputsExceedInputs,
    SinceNotMet,
    TransactionTooLarge,
    UnknownCell,
)
from l1.core.scripts.secp256k1 import SECP256K1_CYCLES
from l1.core.transaction import (
    TxEnv,
    validate_transaction_structure,
    verify_transaction,
)
from tests.l1.chainkit import CKB, DEVNET_KEYS, Chain, expect_error, rebuild, sign

K0, K1, K2 = DEVNET_KEYS[:3]
VECTORS = Path(__file__).parent / "vectors"
MISSING = OutPoint(ckbhash(b"no such transaction"), 0)


@pytest.fixture
def chain() -> Chain:
    return Chain()


def signed(chain: Chain, outputs, *, key=K0, inputs=None, **raw_fields) -> Transaction:
    """A transaction spending ``key``'s genesis cell (or ``inputs``), signed by ``key``."""
    if inputs is None:
        inputs = (CellInput(chain.genesis_cell(key)),)
    raw_fields.setdefault("outputs_data", tuple(b"" for _ in outputs))
    raw_fields.setdefault("cell_deps", (chain.secp.cell_dep,))
    tx = Transaction(RawTransaction(inputs=tuple(inputs), outputs=tuple(outputs), **raw_fields))
    return sign(tx, key)


# ----------------------------------------------------------------------------- occupied capacity
def test_secp_lock_cell_occupies_61_ckb(chain):
    # 8 (capacity) + 32 (code_hash) + 1 (hash_type) + 20 (args)
    output = CellOutput(0, chain.lock_of(K0))
    assert compute_occupied_capacity(output, b"") == 61 * CKB


def test_rfc0023_dao_deposit_cell_occupies_102_ckb():
    vector = json.loads((VECTORS / "rfc0023_nervos_dao_mainnet.json").read_text())
    deposit = transaction_from_json(vector["transactions"][0])
    output, data = deposit.raw.outputs[0], deposit.raw.outputs_data[0]
    assert output.type is not None and output.type.args == b""
    assert data == bytes(8)
    # 8 + 53 (secp lock) + 33 (DAO type, empty args) + 8 (data)
    assert compute_occupied_capacity(output, data) == 10_200_000_000
    assert is_capacity_sufficient(output, data)


def test_occupied_capacity_counts_data_and_every_script_byte():
    lock = Script(b"\x01" * 32, HASH_TYPE_TYPE, b"\x02" * 20)
    type_ = Script(b"\x03" * 32, HASH_TYPE_DATA1, b"\x04" * 7)
    output = CellOutput(0, lock, type_)
    assert compute_occupied_capacity(output, b"\x05" * 100) == (8 + 100 + 53 + 40) * CKB


def test_output_exactly_at_occupied_capacity_is_accepted(chain):
    tx = chain.transfer(K0, chain.genesis_cell(K0), chain.lock_of(K1), 61 * CKB)
    assert chain.verify_tx(tx).fee == 1_000


def test_output_below_occupied_capacity_is_rejected(chain):
    tx = chain.transfer(K0, chain.genesis_cell(K0), chain.lock_of(K1), 61 * CKB - 1)
    with chain.rejects(
        InsufficientCellCapacity, "output 0 holds 6099999999 shannons but occupies 6100000000"
    ):
        chain.verify_tx(tx)


def test_data_raises_the_minimum(chain):
    source = chain.genesis_cell(K0)
    outputs = [CellOutput(70 * CKB, chain.lock_of(K1)), CellOutput(100 * CKB, chain.lock_of(K0))]
    ok = signed(chain, outputs, outputs_data=(b"\x00" * 9, b""))
    chain.verify_tx(ok)
    too_much_data = signed(chain, outputs, outputs_data=(b"\x00" * 10, b""))
    with chain.rejects(InsufficientCellCapacity, "output 0", "occupies 7100000000"):
        chain.verify_tx(too_much_data)
    assert source in chain.cells.live


# ----------------------------------------------------------------------------- capacity and fees
@pytest.mark.parametrize("fee", [0, 1, 12_345, 5 * CKB])
def test_fee_is_inputs_minus_outputs(chain, fee):
    source = chain.genesis_cell(K0)
    tx = chain.transfer(K0, source, chain.lock_of(K1), 1_000 * CKB, fee=fee)
    assert sum(o.capacity for o in tx.raw.outputs) == chain.capacity(source) - fee
    verdict = chain.verify_tx(tx)
    assert verdict.fee == fee
    assert verdict.cycles == SECP256K1_CYCLES
    assert verdict.size == len(tx.serialize()) + 4
    assert [cell.out_point for cell in verdict.resolved.inputs] == [source]


def test_outputs_exceeding_inputs_are_rejected(chain):
    source = chain.genesis_cell(K0)
    total = chain.capacity(source)
    tx = signed(
        chain,
        [
            CellOutput(1_000 * CKB, chain.lock_of(K1)),
            CellOutput(total - 1_000 * CKB + 1, chain.lock_of(K0)),
        ],
    )
    with chain.rejects(OutputsExceedInputs, f"more than the inputs' {total}"):
        chain.verify_tx(tx)


def test_capacity_sum_overflowing_u64_is_rejected(chain):
    half = 1 << 63
    tx = signed(chain, [CellOutput(half, chain.lock_of(K1)), CellOutput(half, chain.lock_of(K0))])
    with chain.rejects(CapacityOverflow, "overflows u64"):
        chain.verify_tx(tx)


# ----------------------------------------------------------------------------- structure
def test_empty_inputs_are_rejected(chain):
    tx = Transaction(
        RawTransaction(outputs=(CellOutput(100 * CKB, chain.lock_of(K0)),), outputs_data=(b"",))
    )
    with chain.rejects(EmptyInputs, "at least one input"):
        chain.verify_tx(tx)


def test_empty_outputs_are_rejected(chain):
    tx = signed(chain, [])
    with chain.rejects(EmptyOutputs, "at least one output"):
        chain.verify_tx(tx)


@pytest.mark.parametrize(("n_data", "fragment"), [(1, "2 outputs but 1"), (3, "2 outputs but 3")])
def test_outputs_data_must_match_outputs(chain, n_data, fragment):
    outputs = [CellOutput(100 * CKB, chain.lock_of(K1)), CellOutput(100 * CKB, chain.lock_of(K0))]
    tx = signed(chain, outputs, outputs_data=tuple(b"" for _ in range(n_data)))
    with chain.rejects(InvalidOutputsData, fragment):
        chain.verify_tx(tx)


def test_duplicate_cell_deps_are_rejected(chain):
    dep = chain.secp.cell_dep
    tx = signed(chain, [CellOutput(100 * CKB, chain.lock_of(K1))], cell_deps=(dep, dep))
    with chain.rejects(DuplicateCellDeps, "cell dep is listed twice"):
        chain.verify_tx(tx)


def test_same_out_point_as_code_and_as_dep_group_is_not_a_duplicate(chain):
    # A CellDep is (out_point, dep_type): the pair must be unique, not the out point alone.
    code = chain.secp.cell_dep
    as_group = CellDep(code.out_point, DEP_TYPE_DEP_GROUP)
    tx = signed(chain, [CellOutput(100 * CKB, chain.lock_of(K1))], cell_deps=(code, as_group))
    validate_transaction_structure(tx, chain.preset)  # passes the duplicate rule ...
    with chain.rejects(InvalidDepGroup, "not an OutPointVec"):  # ... and fails on the data
        chain.verify_tx(tx)


def test_duplicate_header_deps_are_rejected(chain):
    genesis = chain.genesis.hash
    tx = signed(chain, [CellOutput(100 * CKB, chain.lock_of(K1))], header_deps=(genesis, genesis))
    with chain.rejects(DuplicateHeaderDeps, "header dep is listed twice"):
        chain.verify_tx(tx)


@pytest.mark.parametrize("where", ["lock", "type"])
def test_unknown_hash_type_in_an_output_is_rejected(chain, where):
    bad = Script(b"\x07" * 32, 3, b"")
    good = chain.lock_of(K1)
    output = CellOutput(200 * CKB, bad) if where == "lock" else CellOutput(200 * CKB, good, bad)
    tx = signed(chain, [CellOutput(100 * CKB, chain.lock_of(K0)), output])
    with chain.rejects(InvalidHashType, "output 1 uses hash_type 3"):
        chain.verify_tx(tx)


@pytest.mark.parametrize(
    "hash_type", [HASH_TYPE_DATA, HASH_TYPE_TYPE, HASH_TYPE_DATA1, HASH_TYPE_DATA2]
)
def test_enabled_hash_types_pass_the_structure_rules(chain, hash_type):
    output = CellOutput(100 * CKB, Script(b"\x07" * 32, hash_type, b""))
    validate_transaction_structure(signed(chain, [output]), chain.preset)


@pytest.mark.parametrize("version", [1, 0xFFFFFFFF])
def test_transaction_version_must_be_0(chain, version):
    tx = signed(chain, [CellOutput(100 * CKB, chain.lock_of(K1))], version=version)
    with chain.rejects(InvalidTxVersion, f"version must be 0, got {version}"):
        chain.verify_tx(tx)


def test_transaction_larger_than_a_block_is_rejected(chain):
    tx = chain.transfer(K0, chain.genesis_cell(K0), chain.lock_of(K1), 100 * CKB)
    size = len(tx.serialize()) + 4
    env = replace(chain.tx_env(), preset=replace(chain.preset, max_block_bytes=size - 1))
    with chain.rejects(TransactionTooLarge, f"transaction is {size} bytes"):
        verify_transaction(tx, chain.cells, chain.headers, env, chain.registry)
    at_limit = replace(chain.tx_env(), preset=replace(chain.preset, max_block_bytes=size))
    verify_transaction(tx, chain.cells, chain.headers, at_limit, chain.registry)


def test_too_many_blobs_in_one_transaction_are_rejected(chain):
    hashes = tuple(b"\x01" + bytes([i]) * 31 for i in range(chain.preset.max_blobs_per_tx + 1))
    tx = signed(chain, [CellOutput(100 * CKB, chain.lock_of(K1))], blob_versioned_hashes=hashes)
    with chain.rejects(TransactionTooLarge, f"{len(hashes)} blobs"):
        chain.verify_tx(tx)


# ----------------------------------------------------------------------------- resolution
def test_unknown_input_is_rejected(chain):
    tx = signed(chain, [CellOutput(100 * CKB, chain.lock_of(K1))], inputs=(CellInput(MISSING),))
    with chain.rejects(UnknownCell, f"input {MISSING.tx_hash.hex()}:0 does not exist"):
        chain.verify_tx(tx)


def test_unknown_cell_dep_is_rejected(chain):
    tx = signed(
        chain,
        [CellOutput(100 * CKB, chain.lock_of(K1))],
        cell_deps=(chain.secp.cell_dep, CellDep(MISSING)),
    )
    with chain.rejects(UnknownCell, "cell dep", "does not exist"):
        chain.verify_tx(tx)


def test_spent_input_is_rejected(chain):
    source = chain.genesis_cell(K0)
    first = chain.transfer(K0, source, chain.lock_of(K1), 100 * CKB)
    chain.mine([first])
    assert source in chain.cells.dead
    # the same input, different outputs (a fresh transaction, not a replay of ``first``)
    again = signed(chain, [CellOutput(200 * CKB, chain.lock_of(K2))], inputs=(CellInput(source),))
    with chain.rejects(DeadCell, f"input {source.tx_hash.hex()}:{source.index} is already spent"):
        chain.verify_tx(again)


def test_spent_cell_dep_is_rejected(chain):
    # A cell used only as a dep is not consumed, but a spent cell cannot be a dep.
    source = chain.genesis_cell(K1)
    chain.mine([chain.transfer(K1, source, chain.lock_of(K2), 100 * CKB)])
    tx = signed(
        chain,
        [CellOutput(100 * CKB, chain.lock_of(K1))],
        cell_deps=(chain.secp.cell_dep, CellDep(source)),
    )
    with chain.rejects(DeadCell, "cell dep", "already spent"):
        chain.verify_tx(tx)


def test_cell_deps_are_not_consumed(chain):
    dep = chain.genesis_cell(K1)
    tx = signed(
        chain,
        [CellOutput(100 * CKB, chain.lock_of(K1))],
        cell_deps=(chain.secp.cell_dep, CellDep(dep)),
    )
    _, verdict = chain.mine([tx])
    assert dep in chain.cells.live
    assert dep not in [cell.out_point for cell in verdict.consumed]


def test_same_input_twice_is_a_double_spend(chain):
    source = chain.genesis_cell(K0)
    tx = signed(
        chain,
        [CellOutput(100 * CKB, chain.lock_of(K1))],
        inputs=(CellInput(source), CellInput(source)),
    )
    with chain.rejects(DoubleSpend, f"input {source.tx_hash.hex()}:{source.index} is spent twice"):
        chain.verify_tx(tx)


def test_two_transactions_of_one_block_spending_the_same_cell(chain):
    """RFC 0020 Def. 4(3): the block is invalid; ``DoubleSpend`` is documented (errors.py) as
    "two inputs of one block (or one transaction) spend the same cell"."""
    source = chain.genesis_cell(K0)
    first = chain.transfer(K0, source, chain.lock_of(K1), 100 * CKB)
    second = chain.transfer(K0, source, chain.lock_of(K2), 200 * CKB)
    assembled = chain.assemble([first, second])
    assert [tx_hash for tx_hash, _ in assembled.rejected] == [compute_tx_hash(second)]
    block = rebuild(assembled.block, transactions=[*assembled.block.transactions, second])
    with chain.rejects(DoubleSpend, "transaction 2", f"{source.tx_hash.hex()}:{source.index}"):
        chain.verify(block)


def test_header_dep_must_be_on_the_chain(chain):
    unknown = ckbhash(b"no such block")
    tx = signed(chain, [CellOutput(100 * CKB, chain.lock_of(K1))], header_deps=(unknown,))
    with chain.rejects(HeaderDepNotFound, f"header dep {unknown.hex()} is not on the main chain"):
        chain.verify_tx(tx)


def test_header_dep_on_the_chain_is_resolved(chain):
    block, _ = chain.mine()
    tx = signed(
        chain,
        [CellOutput(100 * CKB, chain.lock_of(K1))],
        header_deps=(chain.genesis.hash, chain.tip.hash),
    )
    verdict = chain.verify_tx(tx)
    assert verdict.resolved.header_deps == (chain.genesis.block.header, block.header)


# ----------------------------------------------------------------------------- dep groups
def dep_group_cell(chain: Chain, members: list[OutPoint]) -> OutPoint:
    data = pack_fixvec([m.serialize() for m in members])
    output = CellOutput(0, chain.lock_of(K2))
    output = CellOutput(compute_occupied_capacity(output, data), chain.lock_of(K2))
    return chain.add_cell(output, data)


def test_dep_group_is_expanded_into_its_members(chain):
    group = dep_group_cell(chain, [chain.secp.cell_dep.out_point, chain.genesis_cell(K2)])
    tx = signed(
        chain,
        [CellOutput(100 * CKB, chain.lock_of(K1))],
        cell_deps=(CellDep(group, DEP_TYPE_DEP_GROUP),),
    )
    verdict = chain.verify_tx(tx)  # the secp code is found through the group
    assert [cell.out_point for cell in verdict.resolved.cell_deps] == [
        group,
        chain.secp.cell_dep.out_point,
        chain.genesis_cell(K2),
    ]


def test_dep_group_with_malformed_data_is_rejected(chain):
    output = CellOutput(100 * CKB, chain.lock_of(K2))
    group = chain.add_cell(output, b"\x01\x00\x00\x00" + b"\x00" * 35)  # one item, 35 bytes
    tx = signed(
        chain,
        [CellOutput(100 * CKB, chain.lock_of(K1))],
        cell_deps=(chain.secp.cell_dep, CellDep(group, DEP_TYPE_DEP_GROUP)),
    )
    with chain.rejects(InvalidDepGroup, "dep group data is not an OutPointVec"):
        chain.verify_tx(tx)


def test_dep_group_member_must_exist(chain):
    group = dep_group_cell(chain, [chain.secp.cell_dep.out_point, MISSING])
    tx = signed(
        chain,
        [CellOutput(100 * CKB, chain.lock_of(K1))],
        cell_deps=(CellDep(group, DEP_TYPE_DEP_GROUP),),
    )
    with chain.rejects(UnknownCell, "dep group member", MISSING.tx_hash.hex()):
        chain.verify_tx(tx)


def test_unknown_dep_type_is_rejected(chain):
    tx = signed(
        chain,
        [CellOutput(100 * CKB, chain.lock_of(K1))],
        cell_deps=(chain.secp.cell_dep, CellDep(chain.genesis_cell(K2), 2)),
    )
    with chain.rejects(InvalidDepGroup, "unknown dep_type 2"):
        chain.verify_tx(tx)


# ----------------------------------------------------------------------------- maturity
def env_at(chain: Chain, *, number=100, epoch=(10, 0, 4), median_ms=0) -> TxEnv:
    return TxEnv(chain.preset, number, EpochNumberWithFraction(*epoch), median_ms)


def verify_at(chain: Chain, tx: Transaction, **env):
    return verify_transaction(tx, chain.cells, chain.headers, env_at(chain, **env), chain.registry)


def test_cellbase_output_matures_after_cellbase_maturity_epochs(chain):
    assert chain.preset.cellbase_maturity_epochs == 1
    committed = EpochNumberWithFraction(2, 3, 4)
    reward = chain.add_cell(
        CellOutput(1_000 * CKB, chain.always_success.script(b"")),
        block_number=11,
        block_epoch=committed.full_value(),
        is_cellbase=True,
    )
    tx = chain.always_success_tx([reward], [CellOutput(999 * CKB, chain.lock_of(K1))])
    with chain.rejects(ImmatureCell, f"input {reward.tx_hash.hex()}:0 is an immature cellbase"):
        verify_at(chain, tx, epoch=(3, 2, 4))
    with chain.rejects(ImmatureCell, "committed in epoch 2"):
        verify_at(chain, tx, epoch=(3, 5, 8))  # 3 + 5/8 < 3 + 3/4
    verify_at(chain, tx, epoch=(3, 3, 4))  # exactly 1 epoch later
    verify_at(chain, tx, epoch=(3, 6, 8))  # the same point in an epoch of another length
    verify_at(chain, tx, epoch=(4, 0, 4))


def test_immature_cellbase_output_cannot_be_a_cell_dep(chain):
    reward = chain.add_cell(
        CellOutput(1_000 * CKB, chain.lock_of(K2)),
        block_number=11,
        block_epoch=EpochNumberWithFraction(2, 3, 4).full_value(),
        is_cellbase=True,
    )
    tx = signed(
        chain,
        [CellOutput(100 * CKB, chain.lock_of(K1))],
        cell_deps=(chain.secp.cell_dep, CellDep(reward)),
    )
    with chain.rejects(ImmatureCell, "cell dep", "immature cellbase output"):
        verify_at(chain, tx, epoch=(3, 2, 4))
    verify_at(chain, tx, epoch=(3, 3, 4))


def test_ordinary_outputs_and_genesis_cells_are_always_mature(chain):
    plain = chain.add_cell(
        CellOutput(1_000 * CKB, chain.always_success.script(b"")),
        block_number=11,
        block_epoch=EpochNumberWithFraction(2, 3, 4).full_value(),
    )
    tx = chain.always_success_tx([plain], [CellOutput(999 * CKB, chain.lock_of(K1))])
    verify_at(chain, tx, epoch=(2, 3, 4))
    assert chain.cells.live[
        chain.genesis_cell(K0)
    ].is_cellbase  # genesis cells are cellbase outputs
    verify_at(
        chain,
        chain.transfer(K0, chain.genesis_cell(K0), chain.lock_of(K1), 100 * CKB),
        number=1,
        epoch=(0, 1, 4),
    )


def test_mined_cellbase_reward_matures_on_the_chain(chain):
    """Block 3 (epoch 0, 3/4) pays block 1's reward to K0; with 1-epoch maturity and 4-block
    epochs it can be spent from block 7 (epoch 1, 3/4) on, not in block 6."""
    chain.mine_until(3)
    reward_cellbase = chain.blocks[3].block.transactions[0]
    reward = OutPoint(compute_tx_hash(reward_cellbase), 0)
    assert chain.cells.live[reward].is_cellbase
    assert chain.cells.live[reward].output.lock == chain.lock_of(K0)
    chain.mine_until(5)
    tx = chain.transfer(K0, reward, chain.lock_of(K1), 500 * CKB)
    assert chain.tx_env().epoch == EpochNumberWithFraction(1, 2, 4)
    with chain.rejects(ImmatureCell, "immature cellbase output (committed in epoch 0)"):
        chain.verify_tx(tx)
    assert [type(exc) for _, exc in chain.assemble([tx]).rejected] == [ImmatureCell]
    chain.mine()
    assert chain.tx_env().epoch == EpochNumberWithFraction(1, 3, 4)
    _, verdict = chain.mine([tx])
    assert reward in [cell.out_point for cell in verdict.consumed]


# ----------------------------------------------------------------------------- since
def since_tx(chain: Chain, since: int, **cell_info) -> Transaction:
    cell = chain.add_cell(CellOutput(1_000 * CKB, chain.always_success.script(b"")), **cell_info)
    return chain.always_success_tx(
        [CellInput(cell, since)], [CellOutput(999 * CKB, chain.lock_of(K1))]
    )


ABS, REL = False, True


def test_since_zero_is_disabled(chain):
    verify_at(chain, since_tx(chain, 0, block_number=99), number=0, epoch=(0, 0, 4))


def test_absolute_block_number(chain):
    tx = since_tx(chain, encode_since(ABS, SinceMetric.BLOCK_NUMBER, 10))
    with chain.rejects(SinceNotMet, "input 0", "absolute block_number", "not yet satisfied"):
        verify_at(chain, tx, number=9)
    verify_at(chain, tx, number=10)
    verify_at(chain, tx, number=11)


def test_relative_block_number_counts_from_the_commit_block(chain):
    tx = since_tx(chain, encode_since(REL, SinceMetric.BLOCK_NUMBER, 3), block_number=5)
    with chain.rejects(SinceNotMet, "relative block_number"):
        verify_at(chain, tx, number=7)
    verify_at(chain, tx, number=8)


def test_absolute_epoch_with_fraction(chain):
    threshold = EpochNumberWithFraction(2, 1, 4)
    tx = since_tx(chain, encode_since(ABS, SinceMetric.EPOCH, threshold.full_value()))
    with chain.rejects(SinceNotMet, "absolute epoch"):
        verify_at(chain, tx, epoch=(2, 0, 4))
    with chain.rejects(SinceNotMet, "absolute epoch"):
        verify_at(chain, tx, epoch=(2, 1, 5))  # 2.2 < 2.25
    verify_at(chain, tx, epoch=(2, 1, 4))
    verify_at(chain, tx, epoch=(2, 2, 8))  # the same rational point
    verify_at(chain, tx, epoch=(3, 0, 4))


def test_rfc0023_since_example(chain):
    tx = since_tx(chain, 0x20068D02880000B6)  # absolute epoch 182 + 648/1677
    with chain.rejects(SinceNotMet, "since 0x20068d02880000b6"):
        verify_at(chain, tx, epoch=(182, 647, 1677))
    verify_at(chain, tx, epoch=(182, 648, 1677))


def test_relative_epoch_counts_from_the_commit_epoch(chain):
    committed = EpochNumberWithFraction(1, 2, 4)  # 1.5
    since = encode_since(REL, SinceMetric.EPOCH, EpochNumberWithFraction(1, 1, 2).full_value())
    tx = since_tx(chain, since, block_epoch=committed.full_value())
    with chain.rejects(SinceNotMet, "relative epoch"):
        verify_at(chain, tx, epoch=(2, 3, 4))  # 2.75 < 3
    verify_at(chain, tx, epoch=(3, 0, 4))


def test_zero_epoch_fraction_reads_as_a_whole_epoch(chain):
    # RFC 0030: 0/0 is well formed and means 0/1.
    tx = since_tx(
        chain, encode_since(ABS, SinceMetric.EPOCH, EpochNumberWithFraction(3, 0, 0).full_value())
    )
    with chain.rejects(SinceNotMet, "absolute epoch"):
        verify_at(chain, tx, epoch=(2, 3, 4))
    verify_at(chain, tx, epoch=(3, 0, 4))


def test_absolute_timestamp_is_in_seconds_against_the_median_in_ms(chain):
    seconds = 1_764_374_500
    tx = since_tx(chain, encode_since(ABS, SinceMetric.TIMESTAMP, seconds))
    with chain.rejects(SinceNotMet, "absolute timestamp"):
        verify_at(chain, tx, median_ms=seconds * 1000 - 1)
    verify_at(chain, tx, median_ms=seconds * 1000)
    # were the value read as milliseconds it would long have passed
    with chain.rejects(SinceNotMet, "absolute timestamp"):
        verify_at(chain, tx, median_ms=seconds * 10)


def test_relative_timestamp_counts_from_the_commit_block_timestamp_rfc0028(chain):
    committed_ms = 1_764_374_400_123
    tx = since_tx(chain, encode_since(REL, SinceMetric.TIMESTAMP, 60), timestamp=committed_ms)
    with chain.rejects(SinceNotMet, "relative timestamp"):
        verify_at(chain, tx, median_ms=committed_ms + 59_999)
    verify_at(chain, tx, median_ms=committed_ms + 60_000)


def test_timestamp_since_measures_the_median_not_the_new_block(chain):
    """The target of a timestamp since is the median of the previous blocks (RFC 0017), which
    lags the tip: a block whose own timestamp passed the lock is not enough."""
    chain.mine_until(4)
    median = chain.parent_context().median_time_ms
    assert median < chain.tip.timestamp
    seconds = -(-median // 1000) + 1  # first whole second after the median ... plus one
    tx = since_tx(chain, encode_since(ABS, SinceMetric.TIMESTAMP, seconds))
    assert seconds * 1000 <= chain.tip.timestamp  # even the tip's own timestamp passed it
    with chain.rejects(SinceNotMet, "absolute timestamp"):
        chain.verify_tx(tx)


@pytest.mark.parametrize(
    ("since", "fragment"),
    [
        ((1 << 56) | 5, "reserved bits"),
        ((1 << 60) | 5, "reserved bits"),
        ((1 << 63) | (1 << 58) | 5, "reserved bits"),
        ((3 << 61) | 5, "invalid metric 0b11"),
        ((1 << 63) | (3 << 61) | 5, "invalid metric 0b11"),
        (
            encode_since(ABS, SinceMetric.EPOCH, EpochNumberWithFraction(1, 5, 4).full_value()),
            "malformed epoch fraction",
        ),
        (
            encode_since(ABS, SinceMetric.EPOCH, EpochNumberWithFraction(1, 4, 4).full_value()),
            "malformed epoch fraction",
        ),
        (
            encode_since(REL, SinceMetric.EPOCH, EpochNumberWithFraction(0, 1, 0).full_value()),
            "malformed epoch fraction",
        ),
    ],
)
def test_malformed_since_is_rejected(chain, since, fragment):
    tx = since_tx(chain, since)
    with chain.rejects(InvalidSince, "input 0", fragment):
        verify_at(chain, tx, number=10**9, epoch=(10**6, 0, 1), median_ms=10**18)


def test_since_is_checked_for_every_input(chain):
    ok = chain.add_cell(CellOutput(1_000 * CKB, chain.always_success.script(b"")))
    locked = chain.add_cell(CellOutput(1_000 * CKB, chain.always_success.script(b"")))
    tx = chain.always_success_tx(
        [CellInput(ok), CellInput(locked, encode_since(ABS, SinceMetric.BLOCK_NUMBER, 50))],
        [CellOutput(1_999 * CKB, chain.lock_of(K1))],
    )
    with chain.rejects(SinceNotMet, "input 1"):
        verify_at(chain, tx, number=49)
    verify_at(chain, tx, number=50)


# ----------------------------------------------------------------------------- within a block
def test_a_transaction_may_spend_an_output_of_an_earlier_one_in_the_same_block(chain):
    source = chain.genesis_cell(K0)
    first = chain.transfer(K0, source, chain.lock_of(K1), 1_000 * CKB, fee=1_000)
    first_hash = compute_tx_hash(first)
    middle = OutPoint(first_hash, 0)
    second = Transaction(
        RawTransaction(
            cell_deps=(chain.secp.cell_dep,),
            inputs=(CellInput(middle),),
            outputs=(CellOutput(999 * CKB, chain.lock_of(K2)),),
            outputs_data=(b"",),
        )
    )
    second = sign(second, K1)
    # Not valid on its own: the output it spends does not exist yet.
    with expect_error(UnknownCell, "does not exist"):
        chain.verify_tx(second)
    block, verdict = chain.mine([first, second])
    assert verdict.fees == 1_000 + 1 * CKB
    assert [cell.out_point for cell in verdict.consumed] == [source]
    created = {cell.out_point for cell in verdict.created}
    second_hash = compute_tx_hash(second)
    assert middle not in created  # created and spent inside the block
    assert {OutPoint(first_hash, 1), OutPoint(second_hash, 0)} <= created
    assert middle not in chain.cells.live
    assert chain.cells.live[OutPoint(second_hash, 0)].output.lock == chain.lock_of(K2)
    assert chain.cells.live[OutPoint(second_hash, 0)].block_number == block.header.raw.number
    assert source not in chain.cells.live


def test_a_transaction_cannot_spend_an_output_of_a_later_one_in_the_same_block(chain):
    first = chain.transfer(K0, chain.genesis_cell(K0), chain.lock_of(K1), 1_000 * CKB)
    second = sign(
        Transaction(
            RawTransaction(
                cell_deps=(chain.secp.cell_dep,),
                inputs=(CellInput(OutPoint(compute_tx_hash(first), 0)),),
                outputs=(CellOutput(999 * CKB, chain.lock_of(K2)),),
                outputs_data=(b"",),
            )
        ),
        K1,
    )
    good = chain.candidate([first, second])
    cellbase = good.transactions[0]
    block = rebuild(good, transactions=[cellbase, second, first])
    with chain.rejects(UnknownCell, "transaction 1", "does not exist"):
        chain.verify(block)
