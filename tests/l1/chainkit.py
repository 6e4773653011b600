"""A small, pure, in-memory L1 chain for unit tests of the ledger and consensus core.

``Chain`` builds genesis from ``l1/specs/test.json``, seeds a ``MemoryCellProvider`` from the
genesis cellbase, and grows block by block exactly as a node would: it derives the
``ParentContext`` of its tip (epoch via ``compute_block_epoch``, median time over the last
``median_time_block_count`` timestamps, the reward owed for block N − ``finalization_delay_length``
from recorded verdicts), assembles, mines (``find_nonce``), verifies, then applies the verdict.

Other helpers: ``seal``/``rebuild`` re-mine a block after a test tampered with it (so the test hits
the rule it means to, not ``InvalidTransactionsRoot`` or ``InvalidPow``); ``Chain.transfer`` signs
with the devnet keys; ``expect_error`` checks the exact error class and message fragments;
``Chain.unchanged`` checks that a rejection left the ledger untouched.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from l1.ckb.hashes import compute_pow_hash, compute_transactions_root, compute_tx_hash
from l1.ckb.hashing import ckbhash
from l1.ckb.pow import find_nonce
from l1.ckb.types import (
    ZERO_HASH,
    Block,
    CellbaseWitness,
    CellDep,
    CellInput,
    CellOutput,
    Header,
    OutPoint,
    RawTransaction,
    Script,
    Transaction,
)
from l1.core.block import (
    AssembledBlock,
    BlockVerdict,
    ParentContext,
    RewardTarget,
    assemble_block,
    compute_median_time,
    verify_block,
)
from l1.core.cells import CellMeta, MemoryCellProvider
from l1.core.epoch import EpochExt, compute_block_epoch, compute_genesis_epoch_ext
from l1.core.genesis import ChainSpec, Genesis, SystemScript, build_genesis, chain_spec_from_json
from l1.core.preset import Preset
from l1.core.scripts import ScriptRegistry, build_default_registry
from l1.core.scripts.secp256k1 import sign_sighash_all
from l1.core.transaction import TransactionVerdict, TxEnv, verify_transaction
from l1.devnet_keys import DEVNET_KEYS, DevnetKey

__all__ = [
    "CKB",
    "DEVNET_KEYS",
    "PINNED",
    "SPEC_PATH",
    "BlockRecord",
    "Chain",
    "MemoryHeaders",
    "expect_error",
    "load_test_spec",
    "pinned_preset",
    "rebuild",
    "seal",
    "sign",
    "snapshot",
]

SPEC_PATH = Path(__file__).resolve().parents[2] / "l1" / "specs" / "test.json"
CKB = 100_000_000
#: Default spacing of the chain's blocks (the pinned preset targets 8 s epochs of 4 blocks).
BLOCK_INTERVAL_MS = 2_000

#: The consensus arithmetic these unit tests are written against, pinned over the spec's preset
#: so that tuning the shared ``test`` preset for other suites cannot silently change what a test
#: means: 4-block epochs of 8 s at a trivial, permanent difficulty; 4_000 CKB per epoch (1_000
#: per block) halving every 4 epochs; block N pays block N - 2; cellbase outputs mature after one
#: epoch. Limits (cycles, bytes, blobs, median window, future drift) are the preset's own:
#: tests read them from ``chain.preset``.
PINNED = {
    "epoch_duration_target_ms": 8_000,
    "min_epoch_length": 2,
    "max_epoch_length": 8,
    "genesis_epoch_length": 4,
    "genesis_compact_target": 0x20FFFFFF,
    "min_difficulty": 1,
    "orphan_rate_target": (1, 40),
    "tau": 2,
    "initial_primary_epoch_reward": 4_000 * CKB,
    "primary_epoch_reward_halving_interval": 4,
    "finalization_delay_length": 2,
    "cellbase_maturity_epochs": 1,
    "allow_always_success": True,
    "permanent_difficulty": True,
}


def load_test_spec(preset: Preset | None = None) -> ChainSpec:
    """The ``l1/specs/test.json`` chain spec, with ``preset`` (default: the pinned one)."""
    spec = chain_spec_from_json(json.loads(SPEC_PATH.read_text()))
    return replace(spec, preset=preset if preset is not None else pinned_preset(spec.preset))


def pinned_preset(base: Preset | None = None, **overrides: Any) -> Preset:
    """``base`` (default: the spec's preset) with ``PINNED`` and then ``overrides`` applied."""
    if base is None:
        base = chain_spec_from_json(json.loads(SPEC_PATH.read_text())).preset
    return replace(base, **{**PINNED, **overrides})


# ----------------------------------------------------------------------------- assertions
@contextmanager
def expect_error(cls: type[BaseException], *fragments: str) -> Iterator[Any]:
    """Expect exactly ``cls`` (not a subclass, not a parent) with every message fragment."""
    with pytest.raises(cls) as info:
        yield info
    assert type(info.value) is cls, f"expected {cls.__name__}, got {type(info.value).__name__}"
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in error message {message!r}"


def snapshot(cells: MemoryCellProvider) -> tuple[dict[OutPoint, CellMeta], frozenset[OutPoint]]:
    return dict(cells.live), frozenset(cells.dead)


# ----------------------------------------------------------------------------- mining
def seal(block: Block, start: int = 0) -> Block:
    """Find a nonce for the block's header (trivial on the test preset)."""
    raw = block.header.raw
    nonce = find_nonce(compute_pow_hash(raw), raw.compact_target, start, 1_000_000)
    assert nonce is not None, "no nonce found"
    return replace(block, header=Header(raw, nonce))


def rebuild(
    block: Block, *, transactions: Sequence[Transaction] | None = None, **raw_changes: Any
) -> Block:
    """Replace transactions and/or raw header fields, recompute transactions_root (unless given
    explicitly) and re-mine, so that only the intended rule is broken."""
    if transactions is not None:
        block = replace(block, transactions=tuple(transactions))
        raw_changes.setdefault("transactions_root", compute_transactions_root(block))
    raw = replace(block.header.raw, **raw_changes)
    return seal(replace(block, header=Header(raw, 0)))


def sign(tx: Transaction, key: DevnetKey, indices: Sequence[int] | None = None) -> Transaction:
    """Sign the lock group made of ``indices`` (all inputs by default) with ``key``."""
    group = list(range(len(tx.raw.inputs))) if indices is None else list(indices)
    return sign_sighash_all(tx, group, key.private_key)


# ----------------------------------------------------------------------------- the chain
class MemoryHeaders:
    """``HeaderProvider`` over the chain's main-chain headers."""

    def __init__(self) -> None:
        self.by_hash: dict[bytes, Header] = {}

    def get_header(self, block_hash: bytes) -> Header | None:
        return self.by_hash.get(block_hash)


@dataclass(frozen=True)
class BlockRecord:
    """A committed block and what later blocks need from it."""

    block: Block
    hash: bytes
    epoch: EpochExt
    primary_reward: int
    fees: int
    cellbase_lock: Script

    @property
    def number(self) -> int:
        return self.block.header.raw.number

    @property
    def timestamp(self) -> int:
        return self.block.header.raw.timestamp


class Chain:
    """Genesis from the test spec plus whatever blocks the test mines on top.

    ``preset`` replaces the spec's (default: ``pinned_preset()``); derive variants with
    ``pinned_preset(field=value)`` or ``dataclasses.replace(chain.preset, ...)``.
    ``kzg_settings`` (a getter, e.g. ``l1.kzg.get_kzg_settings``) reaches the verifiers that
    check KZG point evaluations (the rollup game's one-step proof).
    """

    def __init__(
        self, preset: Preset | None = None, *, kzg_settings: Callable[[], Any] | None = None
    ) -> None:
        self.spec = load_test_spec(preset)
        self.preset = self.spec.preset
        self.genesis: Genesis = build_genesis(self.spec)
        self.registry: ScriptRegistry = build_default_registry(
            allow_always_success=self.preset.allow_always_success, kzg_settings=kzg_settings
        )
        self.cells = MemoryCellProvider()
        self.headers = MemoryHeaders()
        self._fake_tx_counter = itertools.count()
        block = self.genesis.block
        epoch = compute_genesis_epoch_ext(self.preset)
        cellbase = block.transactions[0]
        record = BlockRecord(
            block,
            self.genesis.hash,
            epoch,
            epoch.block_reward(0),
            0,
            CellbaseWitness.deserialize(cellbase.witnesses[0]).lock,
        )
        self.blocks: list[BlockRecord] = [record]
        self.by_hash: dict[bytes, BlockRecord] = {record.hash: record}
        self.headers.by_hash[record.hash] = block.header
        tx_hash = compute_tx_hash(cellbase)
        self.genesis_tx_hash = tx_hash
        for index, (output, data) in enumerate(
            zip(cellbase.raw.outputs, cellbase.raw.outputs_data, strict=True)
        ):
            out_point = OutPoint(tx_hash, index)
            self.cells.live[out_point] = CellMeta(
                out_point,
                output,
                data,
                0,
                record.hash,
                block.header.raw.epoch,
                block.header.raw.timestamp,
                is_cellbase=True,
            )

    # --------------------------------------------------------------- system scripts, keys
    @property
    def secp(self) -> SystemScript:
        return self.genesis.system_scripts["secp256k1_blake160_sighash_all"]

    @property
    def always_success(self) -> SystemScript:
        return self.genesis.system_scripts["always_success"]

    def lock_of(self, key: DevnetKey) -> Script:
        return self.secp.script(key.lock_args)

    def genesis_cell(self, key: DevnetKey) -> OutPoint:
        """The prefunded genesis cell locked by ``key``."""
        lock = self.lock_of(key)
        for out_point, cell in self.cells.live.items():
            if out_point.tx_hash == self.genesis_tx_hash and cell.output.lock == lock:
                return out_point
        raise LookupError(f"no live genesis cell for devnet key {key.index}")

    def capacity(self, out_point: OutPoint) -> int:
        return self.cells.live[out_point].output.capacity

    def add_cell(
        self,
        output: CellOutput,
        data: bytes = b"",
        *,
        block_number: int = 0,
        block_epoch: int = 0,
        timestamp: int = 0,
        is_cellbase: bool = False,
    ) -> OutPoint:
        """Put a cell straight into the live set, with the commit info that ``since`` and
        maturity measure from (for ledger tests that do not need real blocks)."""
        tx_hash = ckbhash(b"chainkit fake tx %d" % next(self._fake_tx_counter))
        out_point = OutPoint(tx_hash, 0)
        block_hash = ckbhash(b"chainkit fake block %d" % block_number)
        self.cells.live[out_point] = CellMeta(
            out_point, output, data, block_number, block_hash, block_epoch, timestamp, is_cellbase
        )
        return out_point

    # --------------------------------------------------------------- transactions
    def transfer(
        self,
        key: DevnetKey,
        out_point: OutPoint,
        to: Script,
        amount: int,
        fee: int = 1_000,
        *,
        since: int = 0,
    ) -> Transaction:
        """Spend ``out_point`` (locked by ``key``): ``amount`` to ``to``, change back to ``key``."""
        change = self.capacity(out_point) - amount - fee
        outputs = [CellOutput(amount, to)]
        if change:
            outputs.append(CellOutput(change, self.lock_of(key)))
        tx = Transaction(
            RawTransaction(
                cell_deps=(self.secp.cell_dep,),
                inputs=(CellInput(out_point, since),),
                outputs=tuple(outputs),
                outputs_data=tuple(b"" for _ in outputs),
            )
        )
        return sign(tx, key)

    def always_success_tx(
        self,
        inputs: Sequence[OutPoint | CellInput],
        outputs: Sequence[CellOutput],
        *,
        cell_deps: Sequence[CellDep] = (),
        outputs_data: Sequence[bytes] | None = None,
    ) -> Transaction:
        """An unsigned transaction whose inputs are locked by ``always_success``."""
        return Transaction(
            RawTransaction(
                cell_deps=(self.always_success.cell_dep, *cell_deps),
                inputs=tuple(i if isinstance(i, CellInput) else CellInput(i) for i in inputs),
                outputs=tuple(outputs),
                outputs_data=tuple(
                    outputs_data if outputs_data is not None else [b""] * len(outputs)
                ),
            )
        )

    # --------------------------------------------------------------- the tip's context
    @property
    def tip(self) -> BlockRecord:
        return self.blocks[-1]

    def parent_context(self) -> ParentContext:
        tip = self.tip
        window = self.blocks[-self.preset.median_time_block_count :]
        median = compute_median_time([record.timestamp for record in window])
        previous_hash = tip.epoch.last_block_hash_in_previous_epoch
        previous_timestamp = (
            self.blocks[0].timestamp
            if previous_hash == ZERO_HASH
            else self.by_hash[previous_hash].timestamp
        )
        target = None
        target_number = tip.number + 1 - self.preset.finalization_delay_length
        if target_number >= 1:
            owed = self.blocks[target_number]
            target = RewardTarget(
                owed.hash, target_number, owed.cellbase_lock, owed.primary_reward, owed.fees
            )
        return ParentContext(
            tip.block.header, tip.hash, tip.epoch, median, previous_timestamp, target
        )

    def next_epoch(self) -> EpochExt:
        ctx = self.parent_context()
        return compute_block_epoch(
            self.preset,
            ctx.epoch,
            ctx.number,
            ctx.hash,
            ctx.header.raw.timestamp,
            ctx.previous_epoch_last_timestamp_ms,
        )

    def tx_env(self) -> TxEnv:
        """Where a transaction lands if it goes into the next block."""
        number = self.tip.number + 1
        epoch = self.next_epoch()
        return TxEnv(
            self.preset, number, epoch.epoch_of_block(number), self.parent_context().median_time_ms
        )

    def verify_tx(self, tx: Transaction) -> TransactionVerdict:
        return verify_transaction(tx, self.cells, self.headers, self.tx_env(), self.registry)

    # --------------------------------------------------------------- blocks
    def assemble(
        self,
        txs: Sequence[Transaction] = (),
        *,
        miner_lock: Script | None = None,
        timestamp: int | None = None,
    ) -> AssembledBlock:
        return assemble_block(
            self.preset,
            self.parent_context(),
            txs,
            self.cells,
            self.headers,
            self.registry,
            miner_lock if miner_lock is not None else self.lock_of(DEVNET_KEYS[0]),
            timestamp if timestamp is not None else self.tip.timestamp + BLOCK_INTERVAL_MS,
        )

    def candidate(self, txs: Sequence[Transaction] = (), **kwargs: Any) -> Block:
        """A mined block on the tip with every one of ``txs`` (fails if one is rejected)."""
        assembled = self.assemble(txs, **kwargs)
        assert not assembled.rejected, f"assemble_block rejected {assembled.rejected}"
        assert len(assembled.block.transactions) == len(txs) + 1, "assemble_block left txs out"
        return seal(assembled.block)

    def verify(
        self, block: Block, *, preset: Preset | None = None, now_ms: int | None = None
    ) -> BlockVerdict:
        return verify_block(
            preset if preset is not None else self.preset,
            block,
            self.parent_context(),
            self.cells,
            self.headers,
            self.registry,
            now_ms,
        )

    def apply(self, block: Block, verdict: BlockVerdict) -> BlockRecord:
        self.cells.apply([cell.out_point for cell in verdict.consumed], list(verdict.created))
        record = BlockRecord(
            block,
            verdict.block_hash,
            verdict.epoch,
            verdict.primary_reward,
            verdict.fees,
            verdict.cellbase_lock,
        )
        self.blocks.append(record)
        self.by_hash[record.hash] = record
        self.headers.by_hash[record.hash] = block.header
        return record

    def mine(self, txs: Sequence[Transaction] = (), **kwargs: Any) -> tuple[Block, BlockVerdict]:
        """Assemble, mine, verify and apply one block holding ``txs``."""
        block = self.candidate(txs, **kwargs)
        verdict = self.verify(block)
        self.apply(block, verdict)
        return block, verdict

    def mine_until(self, number: int, **kwargs: Any) -> None:
        while self.tip.number < number:
            self.mine(**kwargs)

    # --------------------------------------------------------------- state checks
    def state(self) -> tuple[Any, ...]:
        live, dead = snapshot(self.cells)
        return live, dead, len(self.blocks), dict(self.headers.by_hash)

    @contextmanager
    def unchanged(self) -> Iterator[None]:
        """Assert that the body left the live set, spent set, blocks and headers untouched."""
        before = self.state()
        try:
            yield
        finally:
            assert self.state() == before, "a rejected transaction or block changed the ledger"

    @contextmanager
    def rejects(self, cls: type[BaseException], *fragments: str) -> Iterator[Any]:
        """``expect_error`` plus ``unchanged``: the house rule for every invalid case."""
        with self.unchanged(), expect_error(cls, *fragments) as info:
            yield info
