"""Validity mode on L1 (docs/validity.md §5, docs/rollup-on-l1.md "Validity rollups"): a rollup
cell with a verifying key hash, SubmitProvenBatch, and the optimistic actions it refuses, on
chainkit's in-memory chain with the real verifiers. Every invalid case asserts the verifier's
message and an unchanged ledger.

The proofs here are real Groth16 proofs under a *test* verification key whose trapdoor we know
(``TrapdoorKey``): the L1 verifier cannot tell them from a circuit's proofs, so every L1 check
-- including that the proof is for the ``batch_input`` the L1 recomputes from the rollup cell,
the commitment and the blobs -- runs for real. A proof of the rollup circuit itself (prover/)
is the job of ``test_submit_proven_batch_with_a_circuit_proof``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import pytest
from py_ecc.bn128 import G1, G2, curve_order, multiply

from l1.ckb.hashes import compute_data_hash, compute_tx_hash
from l1.ckb.hashing import ckbhash
from l1.ckb.json import transaction_to_json
from l1.ckb.types import CellDep, CellInput, CellOutput, OutPoint, RawTransaction, Transaction
from l1.core.blobs import compute_blob_sidecar, pack_data_into_blobs
from l1.core.block import assemble_block, verify_block
from l1.core.errors import DeadCell, ScriptValidationFailure
from l1.core.groth16 import (
    G1Affine,
    G2Affine,
    Proof,
    VerifyingKey,
    decode_verifying_key_json,
    encode_proof,
    encode_verifying_key,
)
from l1.core.scripts.rollup import (
    BURN_LOCK,
    FinalizeBatch,
    RevertBatches,
    RollupState,
    SubmitBatch,
    WithdrawalEntry,
    compute_deposit_hash,
    decode_action,
    encode_action,
)
from l1.core.scripts.rollup.layout import (
    PROOF_SIZE,
    DepositArgs,
    InvalidRollupEncoding,
    SubmitProvenBatch,
)
from l1.core.scripts.rollup.state import compute_rollup_config
from l1.core.transaction import TransactionVerdict, verify_transaction
from l1.devnet_keys import DevnetKey
from l1.kzg import get_kzg_settings
from l2.batch import BatchCommitment, compute_withdrawals_root, encode_batch_records
from l2.client.bridge import RollupL1, ScanResult, derive_l1_deposits
from l2.preset import get_preset
from l2.profile import VALIDITY
from l2.state import L2State, compute_state_root
from l2.stf import apply_batch
from l2.tx import (
    Deposit,
    L1Deposit,
    Transfer,
    Withdraw,
    Withdrawal,
    encode_record,
    sign_transaction,
)
from l2.tx import Transaction as L2Transaction
from l2.validity import compute_batch_input
from tests.l1.chainkit import BLOCK_INTERVAL_MS, CKB, DEVNET_KEYS, Chain, seal, sign
from tests.l1.test_rollup_scripts import (
    ALICE,
    BOB,
    CAROL,
    PROPOSER,
    Bridge,
)

VALIDITY_PRESET = "validity-test"
GENESIS_ACCOUNTS = (12_345).to_bytes(32, "big")
GENESIS_ROOT = compute_state_root(GENESIS_ACCOUNTS, 1, 0, VALIDITY)


# ----------------------------------------------------------------------------- a test key
def _g1(k: int) -> G1Affine:
    point = multiply(G1, k % curve_order)
    assert point is not None
    return (int(point[0].n), int(point[1].n))


def _g2(k: int) -> G2Affine:
    point = multiply(G2, k % curve_order)
    assert point is not None
    (x0, x1), (y0, y1) = point[0].coeffs, point[1].coeffs
    return ((int(x0), int(x1)), (int(y0), int(y1)))


@dataclass(frozen=True)
class TrapdoorKey:
    """A one-input Groth16 key whose discrete logs we chose: alpha = a·G1, beta = b·G2,
    gamma = delta = G2, IC = (i0·G1, i1·G1). Then ``A = s·G1, B = G2, C = c·G1`` with
    ``s = a·b + i0 + i1·x + c`` satisfies ``e(A, B) = e(alpha, beta)·e(vk_x, gamma)·e(C, delta)``
    for any public input ``x``: a valid proof the L1 verifies exactly as a circuit's."""

    a: int = 3
    b: int = 5
    i0: int = 7
    i1: int = 11
    c: int = 13

    @property
    def vk(self) -> VerifyingKey:
        return _verifying_key(self)

    def prove(self, public_input: int) -> bytes:
        s = self.a * self.b + self.i0 + self.i1 * public_input + self.c
        return encode_proof(Proof(_g1(s), _g2(1), _g1(self.c)))


@cache
def _verifying_key(key: TrapdoorKey) -> VerifyingKey:
    return VerifyingKey(_g1(key.a), _g2(key.b), _g2(1), _g2(1), (_g1(key.i0), _g1(key.i1)))


TRAPDOOR = TrapdoorKey()


@cache
def _kzg() -> Any:
    return get_kzg_settings()


def validity_key(n: int) -> bytes:
    """A BabyJubJub L2 key (32 bytes, circomlibjs packing)."""
    return VALIDITY.compute_public_key(ckbhash(b"validity key %d" % n))


def padded(key: bytes) -> bytes:
    """A 32-byte validity key in the deposit lock's 33-byte slot."""
    return key + b"\x00"


# ----------------------------------------------------------------------------- the bridge
@dataclass
class ProvenBatch:
    """A SubmitProvenBatch transaction and the blobs the node passes its verifiers."""

    tx: Transaction
    blobs: tuple[bytes, ...]
    action: SubmitProvenBatch
    new_state: RollupState


@dataclass
class ValidityBridge(Bridge):
    """``Bridge`` for a validity rollup: a verification key cell, then the rollup cell."""

    l2_preset: str = VALIDITY_PRESET
    genesis_root: bytes = GENESIS_ROOT
    vk_data: bytes = b""
    vk_cell: OutPoint | None = None

    def install_key(self, data: bytes | None = None) -> None:
        """The key cell: under the burn lock, so nobody can spend it (the rollup cell pins its
        hash forever, and a spent key cell would halt the rollup)."""
        self.vk_data = encode_verifying_key(TRAPDOOR.vk) if data is None else data
        output = CellOutput(0, BURN_LOCK)
        capacity = (8 + 32 + 1 + len(self.vk_data)) * CKB
        self.vk_cell = self.chain.add_cell(replace(output, capacity=capacity), self.vk_data)

    def initial_state(self, proposer: bytes) -> RollupState:
        state = super().initial_state(proposer)
        return replace(state, verifying_key_hash=compute_data_hash(self.vk_data))

    @property
    def vk_dep(self) -> CellDep:
        assert self.vk_cell is not None
        return CellDep(self.vk_cell)

    def validity_deposit(self, owner: DevnetKey, key: bytes, amount: int = 1_000 * CKB) -> OutPoint:
        return self.deposit(owner, amount, public_key=padded(key))

    def deposit_hash(self, out_point: OutPoint) -> bytes:
        """Over the 32-byte key the validity profile reads from the deposit's slot."""
        cell = self.chain.cells.live[out_point]
        args = DepositArgs.decode(cell.output.lock.args)
        return compute_deposit_hash(out_point, args.public_key[:32], cell.output.capacity)

    def deposit_record(self, out_point: OutPoint, index: int, to_index: int) -> Deposit:
        cell = self.chain.cells.live[out_point]
        args = DepositArgs.decode(cell.output.lock.args)
        return Deposit(index, to_index, cell.output.capacity, args.public_key[:32])

    def proven(
        self,
        records: Sequence[L2Transaction],
        *,
        deposits: Sequence[OutPoint] = (),
        pending_out_points: Sequence[OutPoint] = (),
        owners: Sequence[DevnetKey] = (),
        out_points: Sequence[OutPoint] | None = None,
        entries: tuple[WithdrawalEntry, ...] | None = None,
        withdrawal_capacity: Sequence[int] | None = None,
        withdrawals_root: bytes | None = None,
        proof: bytes | None = None,
        vk_dep: CellDep | bool | None = True,
        new_state: RollupState | None = None,
        deposit_count: int | None = None,
        raw_records: Sequence[bytes] | None = None,
        next_account: int = 2,
        accounts_root: bytes | None = None,
        proposer: DevnetKey = PROPOSER,
    ) -> ProvenBatch:
        """A SubmitProvenBatch of ``records`` absorbing the pending deposits (whose out points
        are ``pending_out_points``) then ``deposits``, paying each Withdraw record to the next
        of ``owners``; the defaults are valid (with a trapdoor proof) and each keyword breaks
        one rule."""
        state = self.state
        used = len(state.pending_forced)
        cells = self.chain.cells.live
        count = used + len(deposits) if deposit_count is None else deposit_count
        withdraws = [r for r in records if isinstance(r, Withdraw)]
        withdrawals = tuple(
            Withdrawal(w.from_index, w.nonce, w.l1_recipient, w.amount) for w in withdraws
        )
        data = [encode_record(r) for r in records] if raw_records is None else list(raw_records)
        blobs = tuple(pack_data_into_blobs(encode_batch_records(data)))
        hashes = tuple(compute_blob_sidecar(b, _kzg()).versioned_hash for b in blobs)
        if accounts_root is None:
            accounts_root = (len(data) + 100).to_bytes(32, "big")
        deposit_end = state.next_deposit_index + count
        commitment = BatchCommitment(
            batch_number=state.next_batch_number,
            prev_root=state.state_root,
            new_root=compute_state_root(accounts_root, next_account, deposit_end, VALIDITY),
            l1_block_hash=self.chain.tip.hash,
            tx_count=len(data),
            deposit_start=state.next_deposit_index,
            deposit_end=deposit_end,
            withdrawals_root=(
                compute_withdrawals_root(withdrawals, self.config)
                if withdrawals_root is None
                else withdrawals_root
            ),
            blob_versioned_hashes=hashes,
        )
        config = compute_rollup_config(state, self.rollup_id)
        if proof is None:
            proof = TRAPDOOR.prove(
                compute_batch_input(state.state_root, commitment.new_root, data, config)
            )
        if entries is None:
            entries = tuple(WithdrawalEntry(w.from_index, w.nonce, w.amount) for w in withdraws)
        if out_points is None:
            out_points = (*pending_out_points, *deposits)
        action = SubmitProvenBatch(
            accounts_root, next_account, commitment, tuple(out_points), entries, proof
        )
        custodian = self.custodian_cells()
        custodian_out = sum(cells[o].output.capacity for o in [*custodian, *deposits])
        custodian_out -= sum(w.amount for w in withdrawals)
        capacities = (
            [w.amount for w in withdrawals]
            if withdrawal_capacity is None
            else list(withdrawal_capacity)
        )
        outputs = [
            (CellOutput(capacity, self.withdrawal_lock(state.next_batch_number, owner)), b"")
            for capacity, owner in zip(capacities, owners, strict=True)
        ]
        if custodian_out > 0:
            outputs.append((CellOutput(custodian_out, self.custodian_lock), b""))
        if new_state is None:
            new_state = replace(
                state,
                next_batch_number=state.next_batch_number + 1,
                next_final_batch=state.next_final_batch + 1,
                state_root=commitment.new_root,
                next_deposit_index=deposit_end,
                idle_blocks=0,
                pending_forced=state.pending_forced[used:],
            )
        assert self.rollup_cell is not None and self.rollup_type is not None
        rollup_in = cells[self.rollup_cell]
        extra: tuple[CellDep, ...] = ()
        if vk_dep is True:
            extra = (self.vk_dep,)
        elif isinstance(vk_dep, CellDep):
            extra = (vk_dep,)
        tx = self.build(
            [
                (CellInput(self.rollup_cell), encode_action(action)),
                *((CellInput(o), None) for o in [*deposits, *custodian]),
            ],
            [
                (
                    CellOutput(rollup_in.output.capacity, self.custodian_lock, self.rollup_type),
                    new_state.encode(),
                ),
                *outputs,
            ],
            payer=proposer,
            cell_deps=extra,
            blob_hashes=hashes,
        )
        return ProvenBatch(tx, blobs, action, new_state)

    def verify(self, batch: ProvenBatch) -> TransactionVerdict:
        chain = self.chain
        return verify_transaction(
            batch.tx, chain.cells, chain.headers, chain.tx_env(), chain.registry, batch.blobs
        )

    def rejects(self, batch: ProvenBatch, *fragments: str) -> None:
        with self.chain.rejects(ScriptValidationFailure, *fragments):
            self.verify(batch)

    def commit_proven(self, batch: ProvenBatch) -> None:
        """Mine ``batch`` in a block whose verifiers get its blobs (as the node passes them)."""
        chain = self.chain
        tx_hash = compute_tx_hash(batch.tx)
        blobs = {tx_hash: batch.blobs}
        assembled = assemble_block(
            chain.preset,
            chain.parent_context(),
            [batch.tx],
            chain.cells,
            chain.headers,
            chain.registry,
            chain.lock_of(DEVNET_KEYS[0]),
            chain.tip.timestamp + BLOCK_INTERVAL_MS,
            blobs,
        )
        assert not assembled.rejected, assembled.rejected
        block = seal(assembled.block)
        verdict = verify_block(
            chain.preset,
            block,
            chain.parent_context(),
            chain.cells,
            chain.headers,
            chain.registry,
            None,
            blobs,
        )
        chain.apply(block, verdict)
        self.rollup_cell = OutPoint(tx_hash, 0)


@pytest.fixture
def vbridge() -> ValidityBridge:
    bridge = ValidityBridge(Chain())
    bridge.install_key()
    bridge.create()
    return bridge


def alice_withdraw(amount: int = 200 * CKB, nonce: int = 0) -> Withdraw:
    return Withdraw(1, amount, 0, nonce, ALICE.lock_args)


# ----------------------------------------------------------------------------- layouts
def test_validity_state_and_action_round_trip(vbridge: ValidityBridge) -> None:
    state = vbridge.state
    assert state.is_validity and state.verifying_key_hash == ckbhash(vbridge.vk_data)
    data = state.encode()
    assert data[99:131] == state.verifying_key_hash and RollupState.decode(data) == state
    config = compute_rollup_config(state, vbridge.rollup_id)
    assert config.profile is VALIDITY and config.preset.name == VALIDITY_PRESET

    deposit = vbridge.validity_deposit(ALICE, validity_key(1))
    batch = vbridge.proven(
        [vbridge.deposit_record(deposit, 0, 1), alice_withdraw()],
        deposits=[deposit],
        owners=[ALICE],
    )
    action = batch.action
    encoded = encode_action(action)
    assert encoded[0] == 6 and len(action.proof) == PROOF_SIZE
    assert decode_action(encoded) == action
    assert decode_action(encoded[:-1]) == replace(action, proof=action.proof[:-1])
    for bad, message in [
        (encoded[:40], "a 32-byte accounts root, a u32 account index and a u32"),
        (encoded[:41], "-byte commitment and a u32 deposit count"),
        (encoded[:37] + b"\x05\x00\x00\x00" + encoded[41:], "SubmitProvenBatch action commitment"),
    ]:
        with pytest.raises(InvalidRollupEncoding, match=message):
            decode_action(bad)


# ----------------------------------------------------------------------------- creation
def test_a_validity_rollup_runs_a_validity_preset() -> None:
    bridge = ValidityBridge(Chain(), l2_preset="test")
    bridge.install_key()
    with pytest.raises(
        AssertionError, match="a validity rollup runs an L2 preset of the validity profile"
    ):
        bridge.create()  # chainkit's miner asserts that nothing was rejected


def test_an_optimistic_rollup_runs_an_optimistic_preset() -> None:
    bridge = Bridge(Chain(), l2_preset=VALIDITY_PRESET)
    with pytest.raises(
        AssertionError, match="an optimistic rollup runs an L2 preset of the optimistic profile"
    ):
        bridge.create()


# ----------------------------------------------------------------------------- the happy path
def test_proven_batch_is_final_at_once_and_its_withdrawal_claimable(
    vbridge: ValidityBridge,
) -> None:
    chain = vbridge.chain
    deposit = vbridge.validity_deposit(ALICE, validity_key(1), 1_000 * CKB)
    records = [vbridge.deposit_record(deposit, 0, 1), alice_withdraw(200 * CKB)]
    batch = vbridge.proven(records, deposits=[deposit], owners=[ALICE])
    assert vbridge.verify(batch).cycles > 38_000_000  # the pairing is charged
    vbridge.commit_proven(batch)
    state = vbridge.state
    assert state == batch.new_state
    assert (state.next_batch_number, state.next_final_batch, state.next_deposit_index) == (1, 1, 1)
    tx_hash = compute_tx_hash(batch.tx)
    withdrawal, custodian = OutPoint(tx_hash, 1), OutPoint(tx_hash, 2)
    assert chain.capacity(withdrawal) == 200 * CKB and chain.capacity(custodian) == 800 * CKB

    # The owner claims in the next block with a signature alone; only the owner can.
    with chain.rejects(ScriptValidationFailure, "signature is not by the owner"):
        chain.verify_tx(sign(vbridge.claim(withdrawal, ALICE), BOB, [0]))
    claim = vbridge.claim(withdrawal, ALICE)
    chain.mine([claim])
    with chain.rejects(DeadCell):
        chain.verify_tx(claim)


def test_forced_deposits_are_validity_keys_and_named_by_out_point(
    vbridge: ValidityBridge,
) -> None:
    deposit = vbridge.validity_deposit(BOB, validity_key(2), 300 * CKB)
    optimistic = vbridge.deposit(CAROL, 300 * CKB)  # a 33-byte secp256k1 key
    vbridge.chain.mine_until(vbridge.chain.tip.number + 4)
    rejects_tx(vbridge, vbridge.force_deposit([optimistic]), "deposit input 1 names an invalid L2")
    record, expected = vbridge.deposit_record(deposit, 0, 1), vbridge.deposit_hash(deposit)
    vbridge.commit(vbridge.force_deposit([deposit]))
    assert vbridge.state.pending_forced == (expected,)

    # A proven batch names the pending deposit's out point: a wrong one does not hash to it.
    wrong = vbridge.proven([record], pending_out_points=[optimistic])
    vbridge.rejects(wrong, "deposit record 0 (queue index 0) does not match its deposit")
    batch = vbridge.proven([record], pending_out_points=[deposit])
    vbridge.commit_proven(batch)
    assert vbridge.state.pending_forced == () and vbridge.state.next_deposit_index == 1


def rejects_tx(bridge: Bridge, tx: Transaction, *fragments: str) -> None:
    with bridge.chain.rejects(ScriptValidationFailure, *fragments):
        bridge.chain.verify_tx(tx)


# ----------------------------------------------------------------------------- rejections
@pytest.fixture
def funded(vbridge: ValidityBridge) -> tuple[ValidityBridge, OutPoint, list[L2Transaction]]:
    deposit = vbridge.validity_deposit(ALICE, validity_key(1), 1_000 * CKB)
    records: list[L2Transaction] = [
        vbridge.deposit_record(deposit, 0, 1),
        alice_withdraw(200 * CKB),
    ]
    return vbridge, deposit, records


def test_the_verification_key_cell_dep(
    funded: tuple[ValidityBridge, OutPoint, list[L2Transaction]],
) -> None:
    bridge, deposit, records = funded
    kwargs: dict[str, Any] = {"deposits": [deposit], "owners": [ALICE]}
    bridge.rejects(
        bridge.proven(records, vk_dep=False, **kwargs),
        "SubmitProvenBatch needs the verification key as a cell dep",
        f"0x{bridge.state.verifying_key_hash.hex()}",
    )
    other = bridge.chain.add_cell(
        CellOutput(1_000 * CKB, BURN_LOCK), encode_verifying_key(TrapdoorKey(a=4).vk)
    )
    bridge.rejects(
        bridge.proven(records, vk_dep=CellDep(other), **kwargs),
        "no cell dep's data hashes to the rollup's verifying key hash",
    )
    assert bridge.verify(bridge.proven(records, **kwargs)).cycles > 0


def test_an_undecodable_verification_key() -> None:
    bridge = ValidityBridge(Chain())
    bridge.install_key(b"not a verification key")
    bridge.create()
    batch = bridge.proven(
        [], next_account=1, accounts_root=GENESIS_ACCOUNTS, proof=bytes(PROOF_SIZE)
    )
    bridge.rejects(batch, "the verification key cell", "does not decode", "a verifying key is")


def test_every_record_decodes(
    funded: tuple[ValidityBridge, OutPoint, list[L2Transaction]],
) -> None:
    bridge, deposit, records = funded
    bad = bytearray(encode_record(records[1]))
    bad[5] = 1  # a withdraw record's 'to' field must be zero
    batch = bridge.proven(
        records,
        raw_records=[encode_record(records[0]), bytes(bad)],
        deposits=[deposit],
        owners=[ALICE],
    )
    bridge.rejects(
        batch,
        "record 1 does not decode (a withdraw record has a zero 'to' field)",
        "a validity batch holds only valid transactions",
    )
    no_op = bridge.proven(
        records,
        raw_records=[encode_record(records[0]), bytes(124)],
        deposits=[deposit],
        owners=[ALICE],
    )
    bridge.rejects(no_op, "record 1 does not decode (unknown transaction kind 0)")


def test_the_node_must_pass_the_blobs(
    funded: tuple[ValidityBridge, OutPoint, list[L2Transaction]],
) -> None:
    bridge, deposit, records = funded
    batch = bridge.proven(records, deposits=[deposit], owners=[ALICE])
    bridge.rejects(replace(batch, blobs=()), "1 are committed but the node passed 0 blob(s)")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount": 999 * CKB}, "does not match its deposit"),
        ({"public_key": validity_key(9)}, "does not match its deposit"),
        ({"deposit_index": 1}, "deposit record 0 reads queue index 1, expected 0"),
    ],
)
def test_deposit_records_are_the_consumed_deposits(
    funded: tuple[ValidityBridge, OutPoint, list[L2Transaction]],
    change: dict[str, Any],
    message: str,
) -> None:
    bridge, deposit, records = funded
    tampered = [replace(records[0], **change), records[1]]
    bridge.rejects(bridge.proven(tampered, deposits=[deposit], owners=[ALICE]), message)


def test_deposit_out_points_and_counts(
    funded: tuple[ValidityBridge, OutPoint, list[L2Transaction]],
) -> None:
    bridge, deposit, records = funded
    stranger = bridge.funds(BOB)
    bridge.rejects(
        bridge.proven(records, deposits=[deposit], owners=[ALICE], out_points=[stranger]),
        "deposit record 0 (queue index 0) does not match its deposit",
        f"{stranger.tx_hash.hex()[:16]}",
    )
    bridge.rejects(
        bridge.proven(records, deposits=[deposit], owners=[ALICE], out_points=[]),
        "the action names 0 deposit out point(s) for the 1 deposit(s) the batch consumes",
    )
    # A batch that absorbs a deposit but carries no deposit record for it.
    transfer = Transfer(1, 2, 10 * CKB, 0, 0)
    bridge.rejects(
        bridge.proven([transfer, records[1]], deposits=[deposit], owners=[ALICE]),
        "the batch has 0 deposit record(s) but consumes 1 deposit(s)",
    )
    # Deposit records for deposits the batch does not consume.
    bridge.rejects(
        bridge.proven(records, owners=[ALICE], out_points=[], deposit_count=0),
        "the batch has 1 deposit record(s) but consumes 0 deposit(s)",
    )


def test_withdrawals_are_the_withdraw_records(
    funded: tuple[ValidityBridge, OutPoint, list[L2Transaction]],
) -> None:
    bridge, deposit, records = funded
    kwargs: dict[str, Any] = {"deposits": [deposit], "owners": [ALICE]}
    bridge.rejects(
        bridge.proven(records, entries=(WithdrawalEntry(1, 0, 100 * CKB),), **kwargs),
        "withdrawal entry 0 is",
        "but withdraw record 0 makes",
    )
    bridge.rejects(
        bridge.proven(records, entries=(), deposits=[deposit], owners=[], withdrawal_capacity=[]),
        "the batch has 1 withdraw record(s) but the action lists 0 withdrawal(s)",
    )
    bridge.rejects(
        bridge.proven(records, withdrawals_root=ckbhash(b"wrong"), **kwargs),
        "withdrawal cells fold to",
        f"but the commitment's withdrawals root is 0x{ckbhash(b'wrong').hex()}",
    )
    bridge.rejects(
        bridge.proven(records, withdrawal_capacity=[200 * CKB - 1], **kwargs),
        f"withdrawal output 1 holds {200 * CKB - 1} shannons, less than its amount {200 * CKB}",
    )
    # A cell owned by someone else than the record's recipient (the root follows the cells).
    wrong_owner = Withdrawal(1, 0, BOB.lock_args, 200 * CKB)
    bridge.rejects(
        bridge.proven(
            records,
            withdrawals_root=compute_withdrawals_root([wrong_owner], bridge.config),
            deposits=[deposit],
            owners=[BOB],
        ),
        f"withdrawal output 1 is owned by 0x{BOB.lock_args.hex()}",
        f"but withdraw record 0 pays 0x{ALICE.lock_args.hex()}",
    )


def test_the_proof(funded: tuple[ValidityBridge, OutPoint, list[L2Transaction]]) -> None:
    bridge, deposit, records = funded
    kwargs: dict[str, Any] = {"deposits": [deposit], "owners": [ALICE]}
    bridge.rejects(
        bridge.proven(records, proof=bytes(PROOF_SIZE - 1), **kwargs),
        f"a SubmitProvenBatch proof is {PROOF_SIZE} bytes",
        f"got {PROOF_SIZE - 1}",
    )
    generators = encode_proof(Proof(_g1(1), _g2(1), _g1(1)))
    bridge.rejects(
        bridge.proven(records, proof=generators, **kwargs),
        "the batch proof is invalid: the Groth16 pairing equation does not hold",
    )
    # A valid proof of another public input: the L1 recomputes batch_input from its own data.
    bridge.rejects(
        bridge.proven(records, proof=TRAPDOOR.prove(1), **kwargs),
        "the Groth16 pairing equation does not hold",
    )
    bridge.rejects(
        bridge.proven(records, proof=bytes(PROOF_SIZE), **kwargs),
        "the batch proof is invalid",
    )


def test_custodian_pays_the_withdrawals(
    funded: tuple[ValidityBridge, OutPoint, list[L2Transaction]],
) -> None:
    bridge, deposit, records = funded
    batch = bridge.proven(records, deposits=[deposit], owners=[ALICE])
    tx = batch.tx
    outputs = list(tx.raw.outputs)
    outputs[2] = replace(outputs[2], capacity=outputs[2].capacity + 1)
    outputs[3] = replace(outputs[3], capacity=outputs[3].capacity - 1)
    raw = replace(tx.raw, outputs=tuple(outputs))
    tx = sign(replace(tx, raw=raw), PROPOSER, [len(raw.inputs) - 1])
    bridge.rejects(replace(batch, tx=tx), "custodian outputs hold", "withdrawals 20000000000")


def test_shared_submission_checks_apply(
    funded: tuple[ValidityBridge, OutPoint, list[L2Transaction]],
) -> None:
    bridge, deposit, records = funded
    bridge.rejects(
        bridge.proven(records, deposits=[deposit], owners=[ALICE], proposer=BOB),
        "SubmitProvenBatch needs the proposer's lock",
    )
    state = bridge.state
    bridge.rejects(
        bridge.proven(
            records,
            deposits=[deposit],
            owners=[ALICE],
            new_state=replace(state, next_batch_number=1, next_deposit_index=1),
        ),
        "the new rollup state has next_final_batch = 0, expected 1",
    )


# ----------------------------------------------------------------------------- modes
def test_a_validity_rollup_refuses_the_optimistic_actions(vbridge: ValidityBridge) -> None:
    state = vbridge.state
    for action in (
        SubmitBatch(bytes(32), 1),
        FinalizeBatch(),
        RevertBatches(0),
    ):
        rejects_tx(
            vbridge,
            vbridge.rollup_tx(action, state, payer=PROPOSER),
            f"{type(action).__name__} is an optimistic rollup's action",
            "SubmitProvenBatch",
        )
    # A challenge: a game cell created without the rollup cell, reading it as a dep.
    assert vbridge.rollup_cell is not None
    tx = vbridge.build(
        [],
        [(CellOutput(1_000 * CKB, vbridge.custodian_lock, vbridge.game_type), b"")],
        payer=BOB,
        cell_deps=(CellDep(vbridge.rollup_cell),),
    )
    rejects_tx(vbridge, tx, "a validity rollup has no dispute game")


def test_an_optimistic_rollup_refuses_proven_batches() -> None:
    bridge = Bridge(Chain())
    bridge.create()
    commitment, _action = bridge.commitment()
    action = SubmitProvenBatch(bytes(32), 1, commitment)
    tx = bridge.rollup_tx(action, bridge.state, payer=PROPOSER)
    rejects_tx(bridge, tx, "SubmitProvenBatch is a validity rollup's action", "optimistic")


def test_withdrawal_claims_need_no_since(vbridge: ValidityBridge) -> None:
    """A proven batch's withdrawal cell is final when it exists: the claim carries no since."""
    deposit = vbridge.validity_deposit(ALICE, validity_key(1))
    batch = vbridge.proven(
        [vbridge.deposit_record(deposit, 0, 1), alice_withdraw()],
        deposits=[deposit],
        owners=[ALICE],
    )
    vbridge.commit_proven(batch)
    claim = vbridge.claim(OutPoint(compute_tx_hash(batch.tx), 1), ALICE)
    assert all(i.since == 0 for i in claim.raw.inputs)
    vbridge.chain.mine([claim])


# ----------------------------------------------------------------------------- circuit proof
@pytest.mark.slow
def test_submit_proven_batch_with_a_circuit_proof() -> None:
    """The happy path with a real proof of prover/circuits/rollup.circom (docs/validity.md §4)
    under the circuit's own verification key, registered by the rollup cell: a deposit creates
    account 0 and a signed withdrawal leaves it, proven by the prover from the L2 state; the
    L1 recomputes the public input from its rollup cell, the commitment and the blobs, accepts,
    and the batch is final at once with its withdrawal cell claimable in the next block."""
    from l2.witness import compute_batch_witness
    from prover.engine import prove
    from tests.support.validity import get_test_artifacts

    artifacts = get_test_artifacts()
    vk = decode_verifying_key_json(artifacts.verification_key_json)
    state = L2State(get_preset(VALIDITY_PRESET).tree_depth, VALIDITY)
    bridge = ValidityBridge(Chain(), genesis_root=state.get_root())
    bridge.install_key(encode_verifying_key(vk))
    bridge.create()
    l2_private = ckbhash(b"validity key 1")
    deposit = bridge.validity_deposit(ALICE, validity_key(1), 1_000 * CKB)
    config = compute_rollup_config(bridge.state, bridge.rollup_id)
    withdraw = sign_transaction(Withdraw(0, 200 * CKB, 0, 0, ALICE.lock_args), l2_private, config)
    txs: list[L2Transaction] = [bridge.deposit_record(deposit, 0, 0), withdraw]
    records = [encode_record(tx) for tx in txs]
    queue = {0: L1Deposit(deposit.serialize(), 0, validity_key(1), 1_000 * CKB)}
    witness = compute_batch_witness(state, records, config, queue)
    proof = prove(artifacts, witness.inputs).proof
    apply_batch(state, records, config, queue)
    batch = bridge.proven(
        txs,
        deposits=[deposit],
        owners=[ALICE],
        proof=proof,
        accounts_root=state.get_accounts_root(),
        next_account=state.next_account_index,
    )
    assert batch.action.commitment.new_root == witness.post_root
    # The same proof under another public input (another batch) is refused first ...
    tampered = bridge.proven(
        txs,
        deposits=[deposit],
        owners=[ALICE],
        proof=proof,
        accounts_root=state.get_accounts_root(),
        next_account=state.next_account_index + 1,
    )
    before = bridge.chain.cells.live.copy()
    bridge.rejects(tampered, "the batch proof is invalid")
    assert bridge.chain.cells.live == before
    # ... and accepted for the batch it proves.
    bridge.commit_proven(batch)
    assert bridge.state.state_root == witness.post_root == state.get_root()
    assert bridge.state.next_final_batch == 1
    withdrawal = OutPoint(compute_tx_hash(batch.tx), 1)
    bridge.chain.mine([bridge.claim(withdrawal, ALICE)])


# ----------------------------------------------------------------------------- the scanner
class _FakeClient:
    """Just enough of ``L1Client`` for ``RollupL1`` to decode chainkit transactions."""

    def __init__(self, chain: Chain, txs: Sequence[Transaction]) -> None:
        self.chain = chain
        self.txs = {compute_tx_hash(tx): tx for tx in txs}

    def call(self, method: str, *params: Any) -> Any:
        if method == "get_system_scripts":
            return {
                name: {
                    "code_hash": "0x" + s.code_hash.hex(),
                    "cell_dep": {
                        "out_point": {
                            "tx_hash": "0x" + s.cell_dep.out_point.tx_hash.hex(),
                            "index": hex(s.cell_dep.out_point.index),
                        }
                    },
                }
                for name, s in self.chain.genesis.system_scripts.items()
            }
        if method == "get_transaction":
            tx = self.txs.get(bytes.fromhex(params[0][2:]))
            if tx is None:
                return None
            return {"transaction": transaction_to_json(tx), "tx_status": {"status": "committed"}}
        raise AssertionError(f"unexpected call {method}")


def test_the_scanner_sees_a_proven_batch_as_a_final_batch(vbridge: ValidityBridge) -> None:
    chain = vbridge.chain
    key = validity_key(1)
    deposit_tx = chain.transfer(
        ALICE,
        vbridge.funds(ALICE),
        vbridge.deposit_lock(ALICE, public_key=padded(key)),
        1_000 * CKB,
    )
    chain.mine([deposit_tx])
    deposit = OutPoint(compute_tx_hash(deposit_tx), 0)
    rollup_cell = chain.cells.live[vbridge.rollup_cell]  # type: ignore[index]
    batch = vbridge.proven(
        [vbridge.deposit_record(deposit, 0, 1), alice_withdraw()],
        deposits=[deposit],
        owners=[ALICE],
    )
    vbridge.commit_proven(batch)
    sources = [deposit_tx, batch.tx]
    rollup_l1 = RollupL1(_FakeClient(chain, sources))  # type: ignore[arg-type]
    # The previous rollup cell's transaction is not needed: only its output is read.
    rollup_l1._tx_cache[rollup_cell.out_point.tx_hash] = _creation_tx(rollup_cell)
    tx_hash = compute_tx_hash(batch.tx)
    seen = rollup_l1._decode_rollup_tx(vbridge.rollup_id, chain.tip.number, tx_hash, batch.tx)
    assert seen is not None and seen.action == batch.action
    assert seen.commitment == batch.action.commitment and seen.batch_number == 0
    assert seen.batch is None and seen.batch_out_point is None
    assert [c.out_point for c in seen.absorbed] == [deposit]
    assert [(w.out_point, w.entry) for w in seen.withdrawals] == [
        (OutPoint(tx_hash, 1), batch.action.withdrawals[0])
    ]
    scan = ScanResult(vbridge.rollup_id, 0, chain.tip.number, (seen,))
    assert scan.batches == scan.valid_batches == scan.finalizations == (seen,)
    assert scan.is_final(seen) and scan.get_finalization(0) is seen
    assert scan.withdrawals == seen.withdrawals
    (l1_deposit,) = derive_l1_deposits(scan)
    assert l1_deposit.public_key == key and l1_deposit.deposit_index == 0
    assert l1_deposit.out_point == deposit.serialize()


def _creation_tx(cell: Any) -> Transaction:
    """A stand-in transaction whose output ``cell.out_point.index`` is ``cell`` (what
    ``_decode_rollup_tx`` reads of a consumed input)."""
    outputs = [cell.output] * (cell.out_point.index + 1)
    data = [cell.data] * (cell.out_point.index + 1)
    return Transaction(RawTransaction(outputs=tuple(outputs), outputs_data=tuple(data)))
