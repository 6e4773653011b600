"""The optimistic rollup's L1 bridge (docs/rollup-on-l1.md): the rollup cell and its actions
(SubmitBatch, ForceDeposit, EscapeHatch), deposits, the custodian, batch cells and withdrawal
claims, on chainkit's in-memory chain. Every invalid case asserts the exact error, the verifier's
message and an unchanged ledger."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from l1.ckb.hashes import compute_script_hash, compute_tx_hash
from l1.ckb.hashing import ckbhash
from l1.ckb.since import SinceMetric, encode_since
from l1.ckb.types import (
    CellDep,
    CellInput,
    CellOutput,
    OutPoint,
    RawTransaction,
    Script,
    Transaction,
    WitnessArgs,
)
from l1.core.errors import DeadCell, ScriptValidationFailure, SinceNotMet
from l1.core.scripts.rollup import (
    DepositArgs,
    EscapeHatch,
    ForceDeposit,
    RollupAction,
    RollupState,
    SubmitBatch,
    WithdrawalArgs,
    WithdrawalEntry,
    compute_deposit_hash,
    decode_action,
    encode_action,
)
from l1.core.scripts.rollup.layout import InvalidRollupEncoding
from l1.core.scripts.type_id import compute_type_id_args
from l1.devnet_keys import DevnetKey
from l2.batch import BatchCommitment, compute_withdrawals_root
from l2.config import RollupConfig
from l2.preset import get_preset
from l2.profile import OPTIMISTIC
from l2.tx import Withdrawal
from tests.l1.chainkit import CKB, DEVNET_KEYS, Chain, sign

PROPOSER, ALICE, BOB = DEVNET_KEYS[:3]
CHALLENGE, FORCED, ESCAPE = 6, 4, 10
BOND = 500 * CKB
GENESIS_ROOT = ckbhash(b"l2 genesis root")
FEE = 10_000


def relative_blocks(n: int) -> int:
    return encode_since(True, SinceMetric.BLOCK_NUMBER, n)


def root(n: int) -> bytes:
    return ckbhash(b"l2 root %d" % n)


def versioned(n: int) -> bytes:
    return b"\x01" + ckbhash(b"blob %d" % n)[1:]


@dataclass
class Bridge:
    """A rollup on a fresh chain, with helpers that build its transactions."""

    chain: Chain
    rollup_id: bytes = b""
    rollup_type: Script | None = None
    rollup_cell: OutPoint | None = None

    # ------------------------------------------------------------------ scripts and deps
    def script(self, name: str, args: bytes) -> Script:
        return self.chain.genesis.system_scripts[name].script(args)

    def dep(self, name: str) -> CellDep:
        return self.chain.genesis.system_scripts[name].cell_dep

    @property
    def deps(self) -> tuple[CellDep, ...]:
        names = (
            "secp256k1_blake160_sighash_all",
            "rollup_state",
            "rollup_deposit_lock",
            "rollup_custodian_lock",
            "rollup_batch",
            "rollup_withdrawal_lock",
        )
        return tuple(self.dep(n) for n in names)

    @property
    def custodian_lock(self) -> Script:
        return self.script("rollup_custodian_lock", self.rollup_id)

    @property
    def batch_type(self) -> Script:
        return self.script("rollup_batch", self.rollup_id)

    def withdrawal_lock(self, batch_number: int, owner: DevnetKey) -> Script:
        args = WithdrawalArgs(self.rollup_id, batch_number, owner.lock_args).encode()
        return self.script("rollup_withdrawal_lock", args)

    def deposit_lock(
        self, owner: DevnetKey, cancel: int = 0, public_key: bytes | None = None
    ) -> Script:
        key = owner.public_key if public_key is None else public_key
        args = DepositArgs(self.rollup_id, key, owner.lock_args, cancel).encode()
        return self.script("rollup_deposit_lock", args)

    @property
    def state(self) -> RollupState:
        assert self.rollup_cell is not None
        return RollupState.decode(self.chain.cells.live[self.rollup_cell].data)

    @property
    def config(self) -> RollupConfig:
        return RollupConfig(0, self.rollup_id, 0, get_preset("test"), OPTIMISTIC)

    def funds(self, key: DevnetKey, capacity: int = 5_000 * CKB) -> OutPoint:
        return self.chain.add_cell(CellOutput(capacity, self.chain.lock_of(key)))

    # ------------------------------------------------------------------ creation
    def create(self) -> None:
        chain = self.chain
        source = self.funds(PROPOSER, 10_000 * CKB)
        first = CellInput(source)
        args = compute_type_id_args(first.serialize(), 0)
        self.rollup_type = self.script("rollup_state", args)
        self.rollup_id = compute_script_hash(self.rollup_type)
        state = RollupState(
            chain_id=0,
            proposer_lock_hash=compute_script_hash(chain.lock_of(PROPOSER)),
            bond=BOND,
            challenge_window=CHALLENGE,
            forced_inclusion_window=FORCED,
            escape_timeout=ESCAPE,
            l2_preset="test",
            next_batch_number=0,
            state_root=GENESIS_ROOT,
            next_deposit_index=0,
            idle_blocks=0,
        )
        outputs = (
            CellOutput(2_000 * CKB, self.custodian_lock, self.rollup_type),
            CellOutput(8_000 * CKB - FEE, chain.lock_of(PROPOSER)),
        )
        tx = Transaction(
            RawTransaction(
                cell_deps=self.deps,
                inputs=(first,),
                outputs=outputs,
                outputs_data=(state.encode(), b""),
            )
        )
        tx = sign(tx, PROPOSER)
        chain.mine([tx])
        self.rollup_cell = OutPoint(compute_tx_hash(tx), 0)

    # ------------------------------------------------------------------ deposits
    def deposit(self, owner: DevnetKey, amount: int = 1_000 * CKB, **kwargs: object) -> OutPoint:
        lock = self.deposit_lock(owner, **kwargs)  # type: ignore[arg-type]
        tx = self.chain.transfer(owner, self.funds(owner), lock, amount)
        self.chain.mine([tx])
        return OutPoint(compute_tx_hash(tx), 0)

    # ------------------------------------------------------------------ rollup transactions
    def rollup_tx(
        self,
        action: RollupAction,
        new_state: RollupState,
        *,
        inputs: list[CellInput] = (),  # type: ignore[assignment]
        outputs: list[tuple[CellOutput, bytes]] = (),  # type: ignore[assignment]
        payer: DevnetKey | None = None,
        rollup_since: int = 0,
        blob_hashes: tuple[bytes, ...] = (),
        rollup_capacity: int | None = None,
    ) -> Transaction:
        """Rollup cell first (its witness names ``action``), then ``inputs``, then a cell of
        ``payer`` (signed) funding the outputs' extra capacity; change goes back to ``payer``."""
        assert self.rollup_cell is not None and self.rollup_type is not None
        chain = self.chain
        rollup_in = chain.cells.live[self.rollup_cell]
        capacity = rollup_capacity if rollup_capacity is not None else rollup_in.output.capacity
        all_inputs = [CellInput(self.rollup_cell, rollup_since), *inputs]
        all_outputs = [
            (CellOutput(capacity, self.custodian_lock, self.rollup_type), new_state.encode()),
            *outputs,
        ]
        if payer is not None:
            funding = self.funds(payer)
            all_inputs.append(CellInput(funding))
            spent_in = sum(chain.cells.live[i.previous_output].output.capacity for i in all_inputs)
            spent_out = sum(o.capacity for o, _d in all_outputs)
            all_outputs.append((CellOutput(spent_in - spent_out - FEE, chain.lock_of(payer)), b""))
        witnesses = [WitnessArgs(input_type=encode_action(action)).serialize()]
        tx = Transaction(
            RawTransaction(
                cell_deps=self.deps,
                inputs=tuple(all_inputs),
                outputs=tuple(o for o, _d in all_outputs),
                outputs_data=tuple(d for _o, d in all_outputs),
                blob_versioned_hashes=blob_hashes,
            ),
            tuple(witnesses),
        )
        if payer is not None:
            tx = sign(tx, payer, [len(all_inputs) - 1])
        return tx

    def commitment(
        self,
        *,
        deposits: int = 0,
        withdrawals: tuple[Withdrawal, ...] = (),
        blobs: tuple[bytes, ...] = (versioned(0),),
        **changes: object,
    ) -> BatchCommitment:
        state = self.state
        commitment = BatchCommitment(
            batch_number=state.next_batch_number,
            prev_root=state.state_root,
            new_root=root(state.next_batch_number + 1),
            l1_block_hash=self.chain.tip.hash,
            tx_count=deposits + len(withdrawals),
            deposit_start=state.next_deposit_index,
            deposit_end=state.next_deposit_index + deposits,
            withdrawals_root=compute_withdrawals_root(withdrawals, self.config),
            blob_versioned_hashes=blobs,
        )
        return replace(commitment, **changes)  # type: ignore[arg-type]

    def submit_batch(
        self,
        deposits: list[OutPoint] = (),  # type: ignore[assignment]
        withdrawals: tuple[Withdrawal, ...] = (),
        *,
        proposer: DevnetKey = PROPOSER,
        commitment: BatchCommitment | None = None,
        custodian: list[OutPoint] = (),  # type: ignore[assignment]
        custodian_delta: int = 0,
        bond: int = BOND,
        blob_hashes: tuple[bytes, ...] | None = None,
        new_state: RollupState | None = None,
        entries: tuple[WithdrawalEntry, ...] | None = None,
    ) -> Transaction:
        """A SubmitBatch absorbing ``deposits`` (plus every pending forced one), paying
        ``withdrawals`` from the custodian, with a bonded batch cell; the defaults are valid and
        each keyword breaks one rule."""
        state = self.state
        pending = len(state.pending_forced)
        if commitment is None:
            commitment = self.commitment(deposits=pending + len(deposits), withdrawals=withdrawals)
        cells = self.chain.cells.live
        custodian_in = sum(cells[o].output.capacity for o in custodian)
        deposit_total = sum(cells[o].output.capacity for o in deposits)
        custodian_out = custodian_in + deposit_total - sum(w.amount for w in withdrawals)
        custodian_out += custodian_delta
        outputs = [
            (CellOutput(bond, self.custodian_lock, self.batch_type), commitment.serialize()),
            *(
                (
                    CellOutput(w.amount, self.withdrawal_lock(commitment.batch_number, _key_of(w))),
                    b"",
                )
                for w in withdrawals
            ),
        ]
        if custodian_out > 0:
            outputs.append((CellOutput(custodian_out, self.custodian_lock), b""))
        if new_state is None:
            new_state = replace(
                state,
                next_batch_number=state.next_batch_number + 1,
                state_root=commitment.new_root,
                next_deposit_index=commitment.deposit_end,
                idle_blocks=0,
                pending_forced=(),
            )
        if entries is None:
            entries = tuple(WithdrawalEntry(w.from_index, w.nonce, w.amount) for w in withdrawals)
        return self.rollup_tx(
            SubmitBatch(entries),
            new_state,
            inputs=[CellInput(o) for o in [*deposits, *custodian]],
            outputs=outputs,
            payer=proposer,
            blob_hashes=commitment.blob_versioned_hashes if blob_hashes is None else blob_hashes,
        )

    def force_deposit(
        self,
        deposits: list[OutPoint],
        *,
        since: int = FORCED,
        rollup_since: int = 0,
        payer: DevnetKey = BOB,
    ) -> Transaction:
        state = self.state
        cells = self.chain.cells.live
        hashes = tuple(
            compute_deposit_hash(
                o,
                DepositArgs.decode(cells[o].output.lock.args).public_key,
                cells[o].output.capacity,
            )
            for o in deposits
        )
        total = sum(cells[o].output.capacity for o in deposits)
        new_state = replace(
            state,
            pending_forced=state.pending_forced + hashes,
            idle_blocks=state.idle_blocks + rollup_since,
        )
        return self.rollup_tx(
            ForceDeposit(),
            new_state,
            inputs=[CellInput(o, relative_blocks(since)) for o in deposits],
            outputs=[(CellOutput(total, self.custodian_lock), b"")],
            payer=payer,
            rollup_since=relative_blocks(rollup_since) if rollup_since else 0,
        )

    def escape_hatch(self, new: DevnetKey, *, since: int = ESCAPE) -> Transaction:
        new_hash = compute_script_hash(self.chain.lock_of(new))
        new_state = replace(self.state, proposer_lock_hash=new_hash, idle_blocks=0)
        return self.rollup_tx(
            EscapeHatch(new_hash), new_state, payer=new, rollup_since=relative_blocks(since)
        )

    def commit(self, tx: Transaction) -> None:
        """Mine ``tx`` and follow the rollup cell to its new output 0."""
        self.chain.mine([tx])
        self.rollup_cell = OutPoint(compute_tx_hash(tx), 0)

    def claim(self, withdrawal: OutPoint, owner: DevnetKey, since: int = CHALLENGE) -> Transaction:
        assert self.rollup_cell is not None
        capacity = self.chain.capacity(withdrawal)
        tx = Transaction(
            RawTransaction(
                cell_deps=(self.dep("rollup_withdrawal_lock"), CellDep(self.rollup_cell)),
                inputs=(CellInput(withdrawal, relative_blocks(since)),),
                outputs=(CellOutput(capacity - FEE, self.chain.lock_of(owner)),),
                outputs_data=(b"",),
            )
        )
        return sign(tx, owner, [0])


KEYS_BY_ARGS = {key.lock_args: key for key in DEVNET_KEYS}


def _key_of(withdrawal: Withdrawal) -> DevnetKey:
    return KEYS_BY_ARGS[withdrawal.l1_recipient]


@pytest.fixture
def bridge() -> Bridge:
    bridge = Bridge(Chain())
    bridge.create()
    return bridge


def rejects(
    bridge: Bridge,
    tx: Transaction,
    *fragments: str,
    cls: type[BaseException] = ScriptValidationFailure,
) -> None:
    with bridge.chain.rejects(cls, *fragments):
        bridge.chain.verify_tx(tx)


# ----------------------------------------------------------------------------- layouts
def test_rollup_state_layout_round_trips_and_is_strict(bridge: Bridge) -> None:
    state = bridge.state
    data = state.encode()
    assert len(data) == 141 and data[0] == 1
    assert data[5:37] == state.proposer_lock_hash and data[93:125] == GENESIS_ROOT
    assert RollupState.decode(data) == state
    forced = replace(state, pending_forced=(ckbhash(b"a"), ckbhash(b"b")))
    assert RollupState.decode(forced.encode()) == forced
    with pytest.raises(InvalidRollupEncoding, match="2 pending forced deposits is 205 bytes"):
        RollupState.decode(forced.encode()[:-1])
    with pytest.raises(InvalidRollupEncoding, match="unknown rollup state version 2"):
        RollupState.decode(b"\x02" + data[1:])
    with pytest.raises(InvalidRollupEncoding, match="unknown L2 preset"):
        RollupState.decode(data[:69] + b"nope".ljust(16, b"\x00") + data[85:])


def test_action_encoding_round_trips_and_is_strict() -> None:
    actions = [
        SubmitBatch(),
        SubmitBatch((WithdrawalEntry(1, 2, 3), WithdrawalEntry(4, 5, 6))),
        ForceDeposit(),
        EscapeHatch(bytes(range(32))),
    ]
    for action in actions:
        assert decode_action(encode_action(action)) == action
    assert encode_action(SubmitBatch((WithdrawalEntry(1, 2, 3),)))[:5] == b"\x01\x01\x00\x00\x00"
    for bad, message in [
        (b"", "empty rollup action"),
        (b"\x00", "unknown rollup action tag 0"),
        (b"\x04", "unknown rollup action tag 4"),
        (b"\x01\x01\x00\x00\x00", "must be 21 bytes"),
        (b"\x02\x00", "no payload"),
        (b"\x03" + bytes(31), "32-byte lock hash"),
    ]:
        with pytest.raises(InvalidRollupEncoding, match=message):
            decode_action(bad)


def test_genesis_deploys_the_rollup_code_cells_after_the_existing_outputs(bridge: Bridge) -> None:
    scripts = bridge.chain.genesis.system_scripts
    cellbase = bridge.chain.genesis.block.transactions[0]
    issued = len(bridge.chain.spec.issued_cells)
    names = [
        "rollup_state",
        "rollup_deposit_lock",
        "rollup_custodian_lock",
        "rollup_batch",
        "rollup_withdrawal_lock",
    ]
    first = 4 + issued  # message, secp256k1, reserved DAO, always_success, issued cells
    assert [scripts[n].cell_dep.out_point.index for n in names] == list(range(first, first + 5))
    assert len(cellbase.raw.outputs) == first + 5
    assert scripts["secp256k1_blake160_sighash_all"].cell_dep.out_point.index == 1


# ----------------------------------------------------------------------------- creation
def test_rollup_cell_is_created_with_type_id_and_its_own_custodian_lock(bridge: Bridge) -> None:
    cell = bridge.chain.cells.live[bridge.rollup_cell]  # type: ignore[index]
    assert cell.output.lock == bridge.custodian_lock
    assert compute_script_hash(cell.output.type) == bridge.rollup_id  # type: ignore[arg-type]
    assert bridge.state.next_batch_number == 0 and bridge.state.state_root == GENESIS_ROOT


def test_creation_with_forged_type_id_or_foreign_lock_is_rejected() -> None:
    chain = Chain()
    bridge = Bridge(chain)
    source = bridge.funds(PROPOSER)
    state = RollupState(
        0, bytes(32), BOND, CHALLENGE, FORCED, ESCAPE, "test", 0, GENESIS_ROOT, 0, 0
    )
    rollup_type = bridge.script("rollup_state", ckbhash(b"not a type id"))
    bridge.rollup_id = compute_script_hash(rollup_type)

    def make(type_: Script, lock: Script, data: bytes = state.encode()) -> Transaction:
        tx = Transaction(
            RawTransaction(
                cell_deps=bridge.deps,
                inputs=(CellInput(source),),
                outputs=(
                    CellOutput(2_000 * CKB, lock, type_),
                    CellOutput(3_000 * CKB - FEE, chain.lock_of(PROPOSER)),
                ),
                outputs_data=(data, b""),
            )
        )
        return sign(tx, PROPOSER)

    rejects(bridge, make(rollup_type, bridge.custodian_lock), "rollup id args do not match")
    good_type = bridge.script(
        "rollup_state", compute_type_id_args(CellInput(source).serialize(), 0)
    )
    bridge.rollup_id = compute_script_hash(good_type)
    rejects(
        bridge, make(good_type, chain.lock_of(PROPOSER)), "must be locked by rollup_custodian_lock"
    )
    started = replace(state, next_batch_number=3).encode()
    rejects(
        bridge, make(good_type, bridge.custodian_lock, started), "a new rollup starts at batch 0"
    )
    no_window = replace(state, challenge_window=0).encode()
    rejects(
        bridge,
        make(good_type, bridge.custodian_lock, no_window),
        "challenge window must be in 1..2^56-1",
    )
    chain.verify_tx(make(good_type, bridge.custodian_lock))


# ----------------------------------------------------------------------------- the happy path
def alice_withdrawal(amount: int = 200 * CKB, nonce: int = 0) -> Withdrawal:
    return Withdrawal(0, nonce, ALICE.lock_args, amount)


def test_deposit_batch_withdraw_claim(bridge: Bridge) -> None:
    chain = bridge.chain
    deposit = bridge.deposit(ALICE, 1_000 * CKB)
    withdrawal = alice_withdrawal()
    tx = bridge.submit_batch([deposit], (withdrawal,))
    assert tx.raw.blob_versioned_hashes == (versioned(0),)
    verdict = chain.verify_tx(tx)
    assert verdict.cycles > 0
    bridge.commit(tx)
    state = bridge.state
    assert (state.next_batch_number, state.state_root, state.next_deposit_index) == (1, root(1), 1)
    batch_hash = bridge.rollup_cell.tx_hash  # type: ignore[union-attr]
    batch_cell = chain.cells.live[OutPoint(batch_hash, 1)]
    assert batch_cell.output.capacity == BOND
    assert BatchCommitment.deserialize(batch_cell.data).deposit_end == 1
    withdrawal_cell = OutPoint(batch_hash, 2)
    assert chain.capacity(withdrawal_cell) == 200 * CKB
    custodian = OutPoint(batch_hash, 3)
    assert chain.cells.live[custodian].output.lock == bridge.custodian_lock
    assert chain.capacity(custodian) == 800 * CKB

    # Before the challenge window: a short since fails the lock, the full one the ledger.
    committed = chain.tip.number
    chain.mine_until(committed + CHALLENGE - 2)
    rejects(
        bridge,
        bridge.claim(withdrawal_cell, ALICE, since=CHALLENGE - 1),
        "withdrawal input 0 is not final",
        f"challenge window of {CHALLENGE} blocks",
    )
    rejects(bridge, bridge.claim(withdrawal_cell, ALICE), "is not yet satisfied", cls=SinceNotMet)
    chain.mine()
    rejects(bridge, bridge.claim(withdrawal_cell, BOB), "signature is not by the owner")
    claim = bridge.claim(withdrawal_cell, ALICE)
    chain.mine([claim])
    assert chain.cells.live.get(withdrawal_cell) is None
    assert chain.capacity(OutPoint(compute_tx_hash(claim), 0)) == 200 * CKB - FEE
    rejects(bridge, claim, "is already spent", cls=DeadCell)


def test_claim_needs_the_rollup_cell_as_dep(bridge: Bridge) -> None:
    deposit = bridge.deposit(ALICE)
    bridge.commit(bridge.submit_batch([deposit], (alice_withdrawal(),)))
    withdrawal_cell = OutPoint(bridge.rollup_cell.tx_hash, 2)  # type: ignore[union-attr]
    bridge.chain.mine_until(bridge.chain.tip.number + CHALLENGE)
    claim = bridge.claim(withdrawal_cell, ALICE)
    other = bridge.funds(BOB)  # a cell dep that is not the rollup cell
    deps = (bridge.dep("rollup_withdrawal_lock"), CellDep(other))
    claim = sign(Transaction(replace(claim.raw, cell_deps=deps)), ALICE, [0])
    rejects(bridge, claim, "no cell dep is the rollup cell of rollup")


def test_second_batch_chains_on_the_first(bridge: Bridge) -> None:
    bridge.commit(bridge.submit_batch([bridge.deposit(ALICE)]))
    custodian = OutPoint(bridge.rollup_cell.tx_hash, 2)  # type: ignore[union-attr]
    tx = bridge.submit_batch(
        [bridge.deposit(BOB, 300 * CKB)], (alice_withdrawal(150 * CKB),), custodian=[custodian]
    )
    bridge.commit(tx)
    assert bridge.state.next_batch_number == 2 and bridge.state.next_deposit_index == 2


# ----------------------------------------------------------------------------- SubmitBatch rules
def test_batch_by_someone_else_than_the_proposer_is_rejected(bridge: Bridge) -> None:
    tx = bridge.submit_batch([bridge.deposit(ALICE)], proposer=BOB)
    rejects(bridge, tx, "SubmitBatch needs the proposer's lock", "among the input locks")


def test_batch_with_wrong_prev_root_is_rejected(bridge: Bridge) -> None:
    commitment = bridge.commitment(prev_root=root(99))
    rejects(
        bridge,
        bridge.submit_batch(commitment=commitment),
        "commitment prev_root 0x" + root(99).hex(),
        "is not the rollup's state root",
    )


def test_batch_that_skips_a_number_is_rejected(bridge: Bridge) -> None:
    rejects(
        bridge,
        bridge.submit_batch(commitment=bridge.commitment(batch_number=1)),
        "commitment is batch 1, expected batch 0",
    )


def test_batch_with_mismatched_versioned_hashes_is_rejected(bridge: Bridge) -> None:
    rejects(
        bridge,
        bridge.submit_batch(blob_hashes=(versioned(1),)),
        "blob versioned hash(es) are not the transaction's",
    )
    rejects(bridge, bridge.submit_batch(blob_hashes=()), "are not the transaction's 0")


def test_batch_with_deposits_out_of_order_is_rejected(bridge: Bridge) -> None:
    deposit = bridge.deposit(ALICE)
    skipped = bridge.commitment(deposits=1, deposit_start=1, deposit_end=2)
    rejects(
        bridge,
        bridge.submit_batch([deposit], commitment=skipped),
        "deposit range starts at 1, expected 0",
    )
    short = bridge.commitment(deposits=0)
    rejects(
        bridge,
        bridge.submit_batch([deposit], commitment=short),
        "commitment consumes deposits [0, 0) but the transaction provides [0, 1)",
    )


def test_batch_that_underpays_the_custodian_is_rejected(bridge: Bridge) -> None:
    tx = bridge.submit_batch([bridge.deposit(ALICE)], custodian_delta=-CKB)
    rejects(bridge, tx, f"custodian outputs hold {999 * CKB} shannons, expected {1_000 * CKB}")


def test_batch_paying_more_than_the_custodian_holds_is_rejected(bridge: Bridge) -> None:
    tx = bridge.submit_batch([], (alice_withdrawal(),))
    rejects(bridge, tx, f"less than the {200 * CKB} its withdrawals pay")


def test_batch_whose_withdrawals_do_not_match_the_root_is_rejected(bridge: Bridge) -> None:
    deposit = bridge.deposit(ALICE)
    withdrawal = alice_withdrawal()
    other = bridge.commitment(deposits=1, withdrawals=(alice_withdrawal(nonce=1),))
    rejects(
        bridge,
        bridge.submit_batch([deposit], (withdrawal,), commitment=other),
        "withdrawal cells hash to root",
        "but the commitment's withdrawals root",
    )
    lying_amount = (WithdrawalEntry(0, 0, 100 * CKB),)
    rejects(
        bridge,
        bridge.submit_batch([deposit], (withdrawal,), entries=lying_amount),
        "withdrawal cells hash to root",
    )
    rejects(
        bridge,
        bridge.submit_batch([deposit], (withdrawal,), entries=()),
        "the action lists 0 withdrawal(s) but the transaction creates 1 withdrawal cell(s)",
    )


def test_batch_without_the_bond_is_rejected(bridge: Bridge) -> None:
    rejects(
        bridge,
        bridge.submit_batch(bond=BOND - 1),
        f"holds {BOND - 1} shannons, less than the bond of {BOND}",
    )


def test_batch_with_a_wrong_new_state_is_rejected(bridge: Bridge) -> None:
    wrong = replace(bridge.state, next_batch_number=1, state_root=root(7))
    rejects(
        bridge,
        bridge.submit_batch(new_state=wrong),
        "the new rollup state has state_root = 0x" + root(7).hex(),
    )


def test_deposit_with_an_invalid_l2_key_is_never_absorbed(bridge: Bridge) -> None:
    deposit = bridge.deposit(ALICE, public_key=b"\x02" + bytes(32))
    rejects(
        bridge, bridge.submit_batch([deposit]), "deposit input 1 names an invalid L2 public key"
    )


def test_custodian_and_batch_cells_cannot_be_spent_without_the_rollup(bridge: Bridge) -> None:
    chain = bridge.chain
    bridge.commit(bridge.submit_batch([bridge.deposit(ALICE)]))
    batch_tx = bridge.rollup_cell.tx_hash  # type: ignore[union-attr]
    custodian = OutPoint(batch_tx, 2)
    steal = Transaction(
        RawTransaction(
            cell_deps=bridge.deps,
            inputs=(CellInput(custodian),),
            outputs=(CellOutput(chain.capacity(custodian) - FEE, chain.lock_of(BOB)),),
            outputs_data=(b"",),
        )
    )
    rejects(
        bridge, steal, "rollup_custodian_lock", "can only be spent or created with the rollup cell"
    )
    forged = Transaction(
        RawTransaction(
            cell_deps=bridge.deps,
            inputs=(CellInput(bridge.funds(BOB)),),
            outputs=(
                CellOutput(1_000 * CKB, bridge.custodian_lock, bridge.batch_type),
                CellOutput(4_000 * CKB - FEE, chain.lock_of(BOB)),
            ),
            outputs_data=(bridge.commitment().serialize(), b""),
        )
    )
    rejects(bridge, sign(forged, BOB), "rollup_batch", "a batch cell can only be spent or created")


# ----------------------------------------------------------------------------- deposits: refund
def test_deposit_refund_after_the_cancel_timeout(bridge: Bridge) -> None:
    chain = bridge.chain
    deposit = bridge.deposit(ALICE, cancel=relative_blocks(3))

    def refund(since: int, key: DevnetKey = ALICE) -> Transaction:
        tx = Transaction(
            RawTransaction(
                cell_deps=bridge.deps,
                inputs=(CellInput(deposit, since),),
                outputs=(CellOutput(chain.capacity(deposit) - FEE, chain.lock_of(ALICE)),),
                outputs_data=(b"",),
            )
        )
        return sign(tx, key, [0])

    rejects(bridge, refund(0), "deposit refund of input 0 needs a relative block_number since >= 3")
    chain.mine_until(chain.tip.number + 3)
    rejects(bridge, refund(relative_blocks(3), BOB), "signature is not by the owner")
    chain.verify_tx(refund(relative_blocks(3)))
    no_refund = bridge.deposit(ALICE)
    tx = Transaction(replace(refund(0).raw, inputs=(CellInput(no_refund),)))
    rejects(bridge, sign(tx, ALICE, [0]), "deposit has no refund path")


# ----------------------------------------------------------------------------- forced inclusion
def test_force_deposit_before_the_window_is_rejected_after_accepted(bridge: Bridge) -> None:
    chain = bridge.chain
    deposit = bridge.deposit(ALICE)
    chain.mine_until(chain.tip.number + FORCED - 2)
    rejects(
        bridge,
        bridge.force_deposit([deposit], since=FORCED - 1),
        "deposit input 1 is not yet forceable",
        f"forced-inclusion window of {FORCED} blocks",
    )
    rejects(bridge, bridge.force_deposit([deposit]), "is not yet satisfied", cls=SinceNotMet)
    chain.mine()
    tx = bridge.force_deposit([deposit])
    bridge.commit(tx)
    cell = chain.cells.live[OutPoint(bridge.rollup_cell.tx_hash, 1)]  # type: ignore[union-attr]
    assert cell.output.lock == bridge.custodian_lock and cell.output.capacity == 1_000 * CKB
    assert bridge.state.pending_forced == (
        compute_deposit_hash(deposit, ALICE.public_key, 1_000 * CKB),
    )


def forced(bridge: Bridge) -> OutPoint:
    """Force one deposit into the pending list; returns the custodian cell it created."""
    deposit = bridge.deposit(ALICE)
    bridge.chain.mine_until(bridge.chain.tip.number + FORCED - 1)
    bridge.commit(bridge.force_deposit([deposit]))
    return OutPoint(bridge.rollup_cell.tx_hash, 1)  # type: ignore[union-attr]


def test_batch_that_ignores_pending_forced_deposits_is_refused(bridge: Bridge) -> None:
    custodian = forced(bridge)
    fresh = bridge.deposit(BOB)
    ignoring = bridge.commitment(deposits=0)
    rejects(
        bridge,
        bridge.submit_batch(custodian=[custodian], commitment=ignoring),
        "the batch ignores pending forced deposits",
        "the 1 forced one(s) at queue indices 0..0 come first",
    )
    # Counting the fresh deposit in place of the forced one leaves the fresh input unaccounted.
    swapped = bridge.commitment(deposits=1)
    rejects(
        bridge,
        bridge.submit_batch([fresh], custodian=[custodian], commitment=swapped),
        "provides [0, 2): 1 pending forced deposit(s) then 1 deposit input(s)",
    )
    bridge.commit(bridge.submit_batch([fresh], custodian=[custodian]))
    assert bridge.state.next_deposit_index == 2 and bridge.state.pending_forced == ()


def test_force_deposit_must_move_the_deposits_into_the_custodian(bridge: Bridge) -> None:
    deposit = bridge.deposit(ALICE)
    bridge.chain.mine_until(bridge.chain.tip.number + FORCED - 1)
    tx = bridge.force_deposit([deposit])
    diverted = tx.raw.outputs[1]
    outputs = (
        tx.raw.outputs[0],
        replace(diverted, lock=bridge.chain.lock_of(BOB)),
        *tx.raw.outputs[2:],
    )
    tx = sign(Transaction(replace(tx.raw, outputs=outputs), tx.witnesses), BOB, [2])
    rejects(bridge, tx, "custodian outputs hold 0 shannons, expected")


# ----------------------------------------------------------------------------- escape hatch
def test_escape_hatch_before_the_timeout_is_rejected_after_accepted(bridge: Bridge) -> None:
    chain = bridge.chain
    chain.mine_until(chain.tip.number + ESCAPE - 2)
    rejects(
        bridge,
        bridge.escape_hatch(BOB, since=ESCAPE - 1),
        f"the escape hatch opens after {ESCAPE} idle blocks",
    )
    rejects(bridge, bridge.escape_hatch(BOB), "is not yet satisfied", cls=SinceNotMet)
    chain.mine()
    tx = bridge.escape_hatch(BOB)
    witness = WitnessArgs(input_type=encode_action(EscapeHatch(bytes(32)))).serialize()
    not_in_inputs = Transaction(tx.raw, (witness, *tx.witnesses[1:]))
    rejects(
        bridge, not_in_inputs, "the new proposer's lock 0x" + "00" * 32, "among the input locks"
    )
    bridge.commit(tx)
    assert bridge.state.proposer_lock_hash == compute_script_hash(chain.lock_of(BOB))
    rejects(bridge, bridge.submit_batch([bridge.deposit(ALICE)]), "SubmitBatch needs the proposer")
    bridge.commit(bridge.submit_batch([bridge.deposit(ALICE)], proposer=BOB))
    assert bridge.state.next_batch_number == 1


def test_forced_deposits_do_not_restart_the_escape_clock(bridge: Bridge) -> None:
    chain = bridge.chain
    deposit = bridge.deposit(ALICE)
    chain.mine_until(chain.tip.number + FORCED - 1)
    # The forcer proves the rollup cell was idle for FORCED blocks; the state keeps the credit.
    bridge.commit(bridge.force_deposit([deposit], rollup_since=FORCED))
    assert bridge.state.idle_blocks == FORCED
    chain.mine_until(chain.tip.number + ESCAPE - FORCED - 2)
    rejects(bridge, bridge.escape_hatch(BOB, since=ESCAPE - FORCED - 1), "prove 9")
    chain.mine()
    bridge.commit(bridge.escape_hatch(BOB, since=ESCAPE - FORCED))
    assert bridge.state.idle_blocks == 0


def test_escape_hatch_may_not_touch_deposits(bridge: Bridge) -> None:
    chain = bridge.chain
    deposit = bridge.deposit(ALICE)
    chain.mine_until(chain.tip.number + ESCAPE)
    tx = bridge.escape_hatch(BOB)
    raw = tx.raw
    stolen = CellOutput(chain.capacity(deposit), chain.lock_of(BOB))
    raw = replace(
        raw,
        inputs=(raw.inputs[0], CellInput(deposit), *raw.inputs[1:]),
        outputs=(*raw.outputs, stolen),
        outputs_data=(*raw.outputs_data, b""),
    )
    tx = sign(Transaction(raw, tx.witnesses[:1]), BOB, [2])
    rejects(bridge, tx, "EscapeHatch consumes no deposit, got input 1")


def test_the_rollup_cell_is_a_singleton_that_is_never_destroyed(bridge: Bridge) -> None:
    chain = bridge.chain
    chain.mine_until(chain.tip.number + ESCAPE)
    tx = bridge.escape_hatch(BOB)
    raw = tx.raw
    rollup_out = raw.outputs[0]
    burned = replace(
        raw, outputs=(replace(rollup_out, type=None, lock=chain.lock_of(BOB)), *raw.outputs[1:])
    )
    rejects(bridge, sign(Transaction(burned, tx.witnesses[:1]), BOB, [1]), "can never be destroyed")
