"""The L2 bridge SDK (``l2.client.bridge``) against a real L1 node process (test spec,
``--dev-rpc``): deploy a rollup, deposit, build batch 0 purely with ``l2`` and submit it as a blob
transaction (a bonded batch cell, no withdrawal cell yet), derive the same root from L1 alone
(scan + blobs), finalize it once the challenge window passed (FinalizeBatch creates the withdrawal
cells and refunds the bond), claim a withdrawal exactly once, and the L1 refusing a batch with a
wrong ``prev_root`` or one that ignores a forced deposit; then the escape hatch.

The tests of this module run in order on one node and one rollup (module-scoped ``World``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from l1.ckb.hashes import compute_header_hash, compute_tx_hash
from l1.ckb.hashing import ckbhash
from l1.ckb.types import CellOutput, OutPoint
from l1.client import L1Client, L1RpcError
from l1.core.capacity import compute_occupied_capacity
from l1.core.scripts.rollup.layout import (
    EscapeHatch,
    FinalizeBatch,
    WithdrawalEntry,
    compute_deposits_root,
)
from l1.devnet_keys import DEVNET_KEYS
from l2.batch import BatchCommitment, compute_batch_blobs, compute_batch_commitment
from l2.client.bridge import (
    DepositCell,
    RollupL1,
    RollupParams,
    ScanResult,
    WithdrawalCell,
    derive_l1_deposits,
)
from l2.config import RollupConfig
from l2.derive import derive_state
from l2.preset import SHANNONS_PER_CKB, TEST
from l2.profile import OPTIMISTIC
from l2.state import L2State, create_genesis_state
from l2.stf import apply_batch, compute_deposit_queue
from l2.tx import Deposit, Transaction, Transfer, Withdraw, sign_transaction
from tests.support.procs import Proc, l1_node

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CKB = SHANNONS_PER_CKB
CHAIN_ID = 0
CHALLENGE, FORCED, ESCAPE, GAME_CLOCK = 4, 6, 20, 6
BOND = 500 * CKB
PROPOSER, ALICE_L1, BOB_L1, OWNER, FEE_PAYER, FORCER = (DEVNET_KEYS[i] for i in (7, 1, 2, 3, 4, 5))
NEW_PROPOSER = DEVNET_KEYS[8]
L2_KEYS = tuple(ckbhash(b"bridge e2e l2 key %d" % i) for i in range(2))
L2_PUBS = tuple(OPTIMISTIC.compute_public_key(k) for k in L2_KEYS)
ALICE_DEPOSIT, BOB_DEPOSIT = 1_000 * CKB, 500 * CKB
BIG_WITHDRAWAL, SMALL_WITHDRAWAL = 300 * CKB, 70 * CKB  # 70 CKB < a withdrawal cell's 101 CKB
TRANSFERRED = 100 * CKB
VERIFY_FAILED = -302
RESOLVE_FAILED = -301


def _genesis_config(rollup_id: bytes = bytes(32)) -> RollupConfig:
    return RollupConfig(CHAIN_ID, rollup_id, 0, TEST, OPTIMISTIC)


@dataclass
class World:
    """One node, one rollup, and the L2 state the test's sequencer keeps."""

    client: L1Client
    l1: RollupL1
    rollup_id: bytes = b""
    config: RollupConfig = field(default_factory=_genesis_config)
    l2: L2State | None = None
    deposits: list[DepositCell] = field(default_factory=list)
    batch0: BatchCommitment | None = None
    #: The L2 state after batch 0 and the L1 block batch 0 was committed in.
    after_batch0: L2State | None = None
    batch0_block: int = 0
    entries0: list[tuple[WithdrawalEntry, bytes]] = field(default_factory=list)
    withdrawals: list[WithdrawalCell] = field(default_factory=list)

    def mine(self, count: int = 1) -> None:
        for _ in range(count):
            self.client.generate_block()

    def committed(self, tx_hash: bytes) -> None:
        self.mine()
        assert self.l1.get_tx_status(tx_hash) == "committed"

    def scan(self) -> ScanResult:
        return self.l1.scan(self.rollup_id)

    def batch(
        self, txs: list[Transaction], pending: list[DepositCell]
    ) -> tuple[BatchCommitment, list[bytes], list[tuple[WithdrawalEntry, bytes]]]:
        """Apply ``txs`` to the L2 state (deposits from the L1 queue plus ``pending``) and
        compute the next batch's blobs and commitment."""
        assert self.l2 is not None
        rollup = self.l1.find_rollup_cell(self.rollup_id)
        queue = compute_deposit_queue(list(derive_l1_deposits(self.scan(), pending)))
        result = apply_batch(self.l2, txs, self.config, queue)
        assert result.rejections == ()
        blobs = compute_batch_blobs(txs)
        sidecars = self.l1.compute_sidecars(blobs)
        commitment = compute_batch_commitment(
            rollup.state.next_batch_number,
            result,
            [s.versioned_hash for s in sidecars],
            _tip_hash(self),
            self.config,
        )
        entries = [
            (WithdrawalEntry(w.from_index, w.nonce, w.amount), w.l1_recipient)
            for w in result.withdrawals
        ]
        return commitment, blobs, entries


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir: Path = tmp_path_factory.mktemp("bridge-node")
    proc: Proc = l1_node(data_dir).start()
    try:
        proc.wait_healthy()
        client = L1Client(proc.url)
        client.generate_block()
        yield World(client, RollupL1(client))
        client.close()
    finally:
        proc.stop()


def _rpc_error(call: object, *args: object, **kwargs: object) -> L1RpcError:
    with pytest.raises(L1RpcError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return info.value


def _tip_hash(world: World) -> bytes:
    return compute_header_hash(world.client.get_tip_header())


def _balance(world: World, key_index: int) -> int:
    return world.client.get_balance(world.l1.lock_of(DEVNET_KEYS[key_index].private_key))


# ----------------------------------------------------------------------------- the flow
def test_deploy_and_deposit(world: World) -> None:
    l1 = world.l1
    genesis = create_genesis_state(_genesis_config())
    params = RollupParams(
        chain_id=CHAIN_ID,
        bond=BOND,
        challenge_window=CHALLENGE,
        forced_inclusion_window=FORCED,
        escape_timeout=ESCAPE,
        l2_preset="test",
        genesis_root=genesis.get_root(),
        proposer_lock_hash=l1.lock_hash_of(PROPOSER.private_key),
        game_clock=GAME_CLOCK,
        burn_permille=500,
    )
    handle = l1.deploy_rollup(PROPOSER.private_key, params)
    world.committed(handle.creation_tx_hash)
    world.rollup_id = handle.rollup_id
    world.config = _genesis_config(handle.rollup_id)
    world.l2 = create_genesis_state(world.config)
    assert world.l2.get_root() == genesis.get_root()  # the root does not depend on the id

    rollup = l1.find_rollup_cell(world.rollup_id)
    assert rollup.state == params.initial_state()
    assert rollup.out_point == OutPoint(handle.creation_tx_hash, 0)
    # Without the type script, the cell is found through the rollup's custodian lock.
    assert RollupL1(world.client).find_rollup_cell(world.rollup_id) == rollup

    alice_tx = l1.deposit(ALICE_L1.private_key, world.rollup_id, L2_PUBS[0], ALICE_DEPOSIT)
    bob_tx = l1.deposit(BOB_L1.private_key, world.rollup_id, L2_PUBS[1], BOB_DEPOSIT)
    world.mine()
    assert l1.get_tx_status(alice_tx) == l1.get_tx_status(bob_tx) == "committed"
    pending = l1.list_pending_deposits(world.rollup_id)
    assert {(c.out_point, c.amount, c.args.public_key) for c in pending} == {
        (OutPoint(alice_tx, 0), ALICE_DEPOSIT, L2_PUBS[0]),
        (OutPoint(bob_tx, 0), BOB_DEPOSIT, L2_PUBS[1]),
    }
    world.deposits = sorted(pending, key=lambda c: c.amount, reverse=True)  # Alice first
    with pytest.raises(ValueError, match="refuses this public key"):
        l1.deposit(ALICE_L1.private_key, world.rollup_id, bytes(33), ALICE_DEPOSIT)


def test_batch_zero_commits_and_derives_from_l1_alone(world: World) -> None:
    l1 = world.l1
    assert world.l2 is not None
    alice, bob = world.deposits
    queue = list(derive_l1_deposits(world.scan(), world.deposits))
    assert [(d.deposit_index, d.amount, d.public_key) for d in queue] == [
        (0, ALICE_DEPOSIT, L2_PUBS[0]),
        (1, BOB_DEPOSIT, L2_PUBS[1]),
    ]
    owner = OWNER.lock_args
    txs: list[Transaction] = [
        Deposit(0, 0, ALICE_DEPOSIT, L2_PUBS[0]),
        Deposit(1, 1, BOB_DEPOSIT, L2_PUBS[1]),
        sign_transaction(Transfer(0, 1, TRANSFERRED, 0, 0), L2_KEYS[0], world.config),
        sign_transaction(Withdraw(1, BIG_WITHDRAWAL, 0, 0, owner), L2_KEYS[1], world.config),
        sign_transaction(Withdraw(0, SMALL_WITHDRAWAL, 0, 1, owner), L2_KEYS[0], world.config),
    ]
    genesis = world.l2.copy()
    commitment, blobs, entries = world.batch(txs, world.deposits)
    assert len(entries) == 2
    tx_hash = l1.submit_batch(
        world.rollup_id,
        PROPOSER.private_key,
        commitment,
        l1.compute_sidecars(blobs),
        world.l2.get_accounts_root(),
        world.l2.next_account_index,
        world.deposits,
    )
    world.committed(tx_hash)
    world.batch0 = commitment
    world.after_batch0 = world.l2.copy()
    world.entries0 = entries

    # The batch cell: open games 0, the deposits it consumed, the proposer, the bond.
    [cell] = l1.find_batch_cells(world.rollup_id)
    assert cell.out_point == OutPoint(tx_hash, 1) and cell.number == 0
    assert cell.batch.open_games == 0 and cell.commitment == commitment
    assert cell.batch.deposits_root == compute_deposits_root(
        [c.deposit_hash() for c in (alice, bob)]
    )
    assert cell.batch.proposer_lock == l1.lock_of(PROPOSER.private_key)
    assert cell.output.capacity == BOND + compute_occupied_capacity(
        cell.output, cell.batch.encode()
    )

    state = l1.find_rollup_cell(world.rollup_id).state
    assert (state.next_batch_number, state.state_root, state.next_deposit_index) == (
        1,
        commitment.new_root,
        2,
    )
    assert l1.list_pending_deposits(world.rollup_id) == []
    custodian = l1.find_custodian_cells(world.rollup_id)
    assert [c.output.capacity for c in custodian] == [ALICE_DEPOSIT + BOB_DEPOSIT]
    assert l1.get_blob(commitment.blob_versioned_hashes[0]) == blobs[0]

    # Derive from L1 alone: the scan finds the batch and its queue, the blobs come back by
    # versioned hash, and l2.derive reproduces the committed root with no fraud finding.
    scan = world.scan()
    assert [b.commitment for b in scan.batches] == [commitment]
    world.batch0_block = scan.batches[0].block_number
    assert [(d.out_point, d.deposit_index) for d in derive_l1_deposits(scan)] == [
        (alice.out_point.serialize(), 0),
        (bob.out_point.serialize(), 1),
    ]
    assert scan.rollup_txs[0].state.state_root == genesis.get_root()
    derivation = derive_state(genesis, l1.fetch_batch_inputs(scan), world.config)
    assert derivation.get_findings() == ()
    assert derivation.get_state().get_root() == commitment.new_root == world.l2.get_root()

    # No withdrawal cell before finalization.
    assert scan.withdrawals == () and scan.finalizations == ()
    assert [b.tx_hash for b in scan.valid_batches] == [tx_hash]
    assert not scan.is_final(scan.batches[0])


def test_claims_wait_for_the_batch_to_be_finalized(world: World) -> None:
    l1 = world.l1
    [batch] = l1.find_batch_cells(world.rollup_id)
    # Before finalization the withdrawal cell does not exist: a claim has nothing to spend.
    # (Its out point is known in advance: output 1 of the FinalizeBatch transaction.)
    finalize = l1.build_finalize_batch(world.rollup_id, FEE_PAYER.private_key, world.entries0)
    would_be = OutPoint(compute_tx_hash(finalize), 1)
    assert l1.get_live_cell(would_be) is None
    with pytest.raises(LookupError, match="not live"):
        l1.claim_withdrawal(OWNER.private_key, would_be)
    # Finalizing inside the challenge window is refused by the batch input's since.
    error = _rpc_error(l1.finalize_batch, world.rollup_id, FEE_PAYER.private_key, world.entries0)
    assert error.code == VERIFY_FAILED and error.data == "SinceNotMet", error
    # Wrong withdrawals (one left out) are refused by the rollup script.
    world.mine(CHALLENGE)
    error = _rpc_error(
        l1.finalize_batch, world.rollup_id, FEE_PAYER.private_key, world.entries0[:1]
    )
    assert error.code == VERIFY_FAILED and error.data == "ScriptValidationFailure", error
    world.mine()
    proposer_before = _balance(world, PROPOSER.index)
    tx_hash = l1.finalize_batch(world.rollup_id, FEE_PAYER.private_key, world.entries0)
    world.committed(tx_hash)
    # The bond (the whole batch cell) went back to the proposer; the batch cell is gone.
    assert _balance(world, PROPOSER.index) - proposer_before == batch.output.capacity
    assert l1.find_batch_cells(world.rollup_id) == []
    state = l1.find_rollup_cell(world.rollup_id).state
    assert (state.next_final_batch, state.next_batch_number) == (1, 1)
    custodian = l1.find_custodian_cells(world.rollup_id)
    assert [c.output.capacity for c in custodian] == [
        ALICE_DEPOSIT + BOB_DEPOSIT - BIG_WITHDRAWAL - SMALL_WITHDRAWAL
    ]

    scan = world.scan()
    [final] = scan.finalizations
    assert final.tx_hash == tx_hash and final.batch_number == 0
    assert final.action == FinalizeBatch(tuple(e for e, _a in world.entries0))
    assert scan.is_final(scan.batches[0]) and scan.next_final_batch == 1
    withdrawals = scan.withdrawals
    owner = OWNER.lock_args
    assert [(w.entry, w.args.owner_lock_args, w.args.batch_number) for w in withdrawals] == [
        (WithdrawalEntry(1, 0, BIG_WITHDRAWAL), owner, 0),
        (WithdrawalEntry(0, 1, SMALL_WITHDRAWAL), owner, 0),
    ]
    assert [w.out_point for w in withdrawals] == [OutPoint(tx_hash, 1), OutPoint(tx_hash, 2)]
    # The small one was topped up by the finalizer to a withdrawal cell's occupied capacity.
    small_occupied = compute_occupied_capacity(CellOutput(0, withdrawals[1].output.lock), b"")
    assert small_occupied == 101 * CKB
    assert [w.output.capacity for w in withdrawals] == [BIG_WITHDRAWAL, 101 * CKB]
    world.withdrawals = list(withdrawals)


def test_withdrawal_claims_exactly_once(world: World) -> None:
    l1 = world.l1
    big = world.withdrawals[0]
    owner_before = _balance(world, OWNER.index)
    # Someone else's signature does not open it.
    error = _rpc_error(
        l1.claim_withdrawal, FEE_PAYER.private_key, big, fee_payer_key=FEE_PAYER.private_key
    )
    assert error.code == VERIFY_FAILED and error.data == "ScriptValidationFailure", error
    tx_hash = l1.claim_withdrawal(OWNER.private_key, big, fee_payer_key=FEE_PAYER.private_key)
    world.committed(tx_hash)
    assert _balance(world, OWNER.index) - owner_before == BIG_WITHDRAWAL
    error = _rpc_error(
        l1.claim_withdrawal, OWNER.private_key, big, fee_payer_key=FEE_PAYER.private_key
    )
    assert error.code == RESOLVE_FAILED and error.data == "DeadCell", error
    # Without a fee payer the fee comes out of the withdrawal.
    small = world.withdrawals[1]
    tx_hash = l1.claim_withdrawal(OWNER.private_key, small.out_point)
    world.committed(tx_hash)
    assert _balance(world, OWNER.index) - owner_before == BIG_WITHDRAWAL + 101 * CKB - l1.fee


def test_a_batch_with_a_wrong_prev_root_is_refused(world: World) -> None:
    l1 = world.l1
    before = l1.find_rollup_cell(world.rollup_id)
    blobs = compute_batch_blobs([])
    sidecars = l1.compute_sidecars(blobs)
    commitment = BatchCommitment(
        batch_number=1,
        prev_root=ckbhash(b"not the state root"),
        new_root=ckbhash(b"anything"),
        l1_block_hash=_tip_hash(world),
        tx_count=0,
        deposit_start=2,
        deposit_end=2,
        withdrawals_root=bytes(32),
        blob_versioned_hashes=tuple(s.versioned_hash for s in sidecars),
    )
    error = _rpc_error(
        l1.submit_batch,
        world.rollup_id,
        PROPOSER.private_key,
        commitment,
        sidecars,
        ckbhash(b"accounts"),
        2,
    )
    assert error.code == VERIFY_FAILED and error.data == "ScriptValidationFailure", error
    assert "rollup_state" in error.message
    assert "is not the rollup's state root" in error.message
    world.mine()
    assert l1.find_rollup_cell(world.rollup_id) == before


def test_forced_deposit_must_be_included(world: World) -> None:
    l1 = world.l1
    assert world.l2 is not None
    amount = 200 * CKB
    tx_hash = l1.deposit(ALICE_L1.private_key, world.rollup_id, L2_PUBS[0], amount)
    world.committed(tx_hash)
    [cell] = l1.list_pending_deposits(world.rollup_id)
    # Too early: the deposit input's since is not met yet.
    error = _rpc_error(l1.force_deposit, world.rollup_id, FORCER.private_key, [cell])
    assert error.code == VERIFY_FAILED and error.data == "SinceNotMet", error
    world.mine(FORCED)
    tx_hash = l1.force_deposit(world.rollup_id, FORCER.private_key, [cell])
    world.committed(tx_hash)
    state = l1.find_rollup_cell(world.rollup_id).state
    assert state.pending_forced == (cell.deposit_hash(),)
    scan = world.scan()
    assert [[c.out_point for c in f.absorbed] for f in scan.forced] == [[cell.out_point]]
    forced = list(derive_l1_deposits(scan))[-1]
    assert (forced.out_point, forced.deposit_index, forced.amount) == (
        cell.out_point.serialize(),
        2,
        amount,
    )

    # A batch that ignores it is refused, and nothing moves.
    before = l1.find_rollup_cell(world.rollup_id)
    ignoring = world.l2.copy()
    transfer = sign_transaction(Transfer(1, 0, CKB, 0, 1), L2_KEYS[1], world.config)
    result = apply_batch(ignoring, [transfer], world.config)
    blobs = compute_batch_blobs([transfer])
    sidecars = l1.compute_sidecars(blobs)
    commitment = compute_batch_commitment(
        1,
        result,
        [s.versioned_hash for s in sidecars],
        _tip_hash(world),
        world.config,
    )
    error = _rpc_error(
        l1.submit_batch,
        world.rollup_id,
        PROPOSER.private_key,
        commitment,
        sidecars,
        ignoring.get_accounts_root(),
        ignoring.next_account_index,
    )
    assert error.code == VERIFY_FAILED and error.data == "ScriptValidationFailure", error
    assert "the batch ignores pending deposits" in error.message
    world.mine()
    assert l1.find_rollup_cell(world.rollup_id) == before

    # Including it works: the forced deposit is queue index 2, first in the batch.
    txs: list[Transaction] = [Deposit(2, 0, amount, L2_PUBS[0]), transfer]
    commitment, blobs, _entries = world.batch(txs, [])
    assert (commitment.deposit_start, commitment.deposit_end) == (2, 3)
    tx_hash = l1.submit_batch(
        world.rollup_id,
        PROPOSER.private_key,
        commitment,
        l1.compute_sidecars(blobs),
        world.l2.get_accounts_root(),
        world.l2.next_account_index,
    )
    world.committed(tx_hash)
    state = l1.find_rollup_cell(world.rollup_id).state
    assert (state.next_batch_number, state.next_deposit_index, state.pending_forced) == (2, 3, ())
    assert state.state_root == world.l2.get_root()
    # Derivation from a later block (batch 0's blob is pruned after the test preset's 16
    # blocks): the queue indices come from the rollup state each scanned transaction consumed.
    assert world.after_batch0 is not None
    scan = l1.scan(world.rollup_id, world.batch0_block + 1)
    assert [b.commitment for b in scan.batches] == [commitment]
    derivation = derive_state(
        world.after_batch0, l1.fetch_batch_inputs(scan), world.config, first_batch_number=1
    )
    assert derivation.get_findings() == ()
    assert derivation.get_state().get_root() == state.state_root


def test_escape_hatch_replaces_an_idle_proposer(world: World) -> None:
    l1 = world.l1
    error = _rpc_error(l1.escape_hatch, world.rollup_id, NEW_PROPOSER.private_key)
    assert error.code == VERIFY_FAILED and error.data == "SinceNotMet", error
    world.mine(ESCAPE)
    tx_hash = l1.escape_hatch(world.rollup_id, NEW_PROPOSER.private_key)
    world.committed(tx_hash)
    state = l1.find_rollup_cell(world.rollup_id).state
    assert state.proposer_lock_hash == l1.lock_hash_of(NEW_PROPOSER.private_key)
    assert state.idle_blocks == 0
    last = world.scan().rollup_txs[-1]
    assert last.action == EscapeHatch(state.proposer_lock_hash)
