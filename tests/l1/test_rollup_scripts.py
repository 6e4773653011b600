"""The optimistic rollup's L1 bridge (docs/rollup-on-l1.md, docs/disputes.md): the rollup cell and
its actions (SubmitBatch, ForceDeposit, EscapeHatch, FinalizeBatch), deposits, the custodian,
batch cells and withdrawal claims, on chainkit's in-memory chain. Every invalid case asserts the
exact error, the verifier's message and an unchanged ledger. ``Bridge`` also builds the dispute
game's transactions for tests/l1/test_rollup_game.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

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
from l1.core.capacity import compute_occupied_capacity
from l1.core.errors import DeadCell, ScriptValidationFailure, SinceNotMet
from l1.core.scripts.rollup import (
    BURN_LOCK,
    BatchCell,
    DepositArgs,
    EscapeHatch,
    FinalizeBatch,
    ForceDeposit,
    GameAction,
    RevertBatches,
    RollupAction,
    RollupState,
    SubmitBatch,
    WithdrawalArgs,
    WithdrawalEntry,
    compute_deposit_hash,
    compute_deposits_root,
    decode_action,
    encode_action,
    encode_game_action,
)
from l1.core.scripts.rollup.layout import InvalidRollupEncoding, compute_burn
from l1.core.scripts.type_id import compute_type_id_args
from l1.devnet_keys import DevnetKey
from l2.batch import RECORDS_PER_BLOB, BatchCommitment, compute_withdrawals_root
from l2.config import RollupConfig
from l2.preset import get_preset
from l2.profile import OPTIMISTIC
from l2.state import compute_state_root
from l2.tx import Withdrawal
from tests.l1.chainkit import CKB, DEVNET_KEYS, Chain, sign

PROPOSER, ALICE, BOB, CAROL = DEVNET_KEYS[:4]
CHALLENGE, FORCED, ESCAPE, GAME_CLOCK = 6, 4, 10, 8
BURN_PERMILLE = 100
BOND = 500 * CKB
GENESIS_ACCOUNTS = ckbhash(b"l2 genesis accounts")
GENESIS_ROOT = compute_state_root(GENESIS_ACCOUNTS, 1, 0, OPTIMISTIC)
FEE = 10_000


def relative_blocks(n: int) -> int:
    return encode_since(True, SinceMetric.BLOCK_NUMBER, n)


def accounts(n: int) -> bytes:
    return ckbhash(b"l2 accounts %d" % n)


def versioned(n: int) -> bytes:
    return b"\x01" + ckbhash(b"blob %d" % n)[1:]


def blob_count(tx_count: int) -> int:
    return (tx_count + RECORDS_PER_BLOB) // RECORDS_PER_BLOB


Inputs = Sequence[tuple[CellInput, bytes | None]]
Outputs = Sequence[tuple[CellOutput, bytes]]


@dataclass
class Bridge:
    """A rollup on a fresh chain, with helpers that build its transactions."""

    chain: Chain
    rollup_id: bytes = b""
    rollup_type: Script | None = None
    rollup_cell: OutPoint | None = None
    l2_preset: str = "test"
    genesis_root: bytes = GENESIS_ROOT
    #: Live batch cells by batch number, and the deposit hashes each consumed.
    batches: dict[int, OutPoint] = field(default_factory=dict)
    consumed: dict[int, tuple[bytes, ...]] = field(default_factory=dict)
    _staged: dict[bytes, tuple[int, tuple[bytes, ...]]] = field(default_factory=dict)

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
            "rollup_game",
        )
        return tuple(self.dep(n) for n in names)

    @property
    def custodian_lock(self) -> Script:
        return self.script("rollup_custodian_lock", self.rollup_id)

    @property
    def batch_type(self) -> Script:
        return self.script("rollup_batch", self.rollup_id)

    @property
    def game_type(self) -> Script:
        return self.script("rollup_game", self.rollup_id)

    def withdrawal_lock(self, batch_number: int, owner: DevnetKey) -> Script:
        args = WithdrawalArgs(self.rollup_id, batch_number, owner.lock_args).encode()
        return self.script("rollup_withdrawal_lock", args)

    def deposit_lock(
        self, owner: DevnetKey, cancel: int = 0, public_key: bytes | None = None
    ) -> Script:
        key = owner.public_key if public_key is None else public_key
        args = DepositArgs(self.rollup_id, key, owner.lock_args, cancel).encode()
        return self.script("rollup_deposit_lock", args)

    def lock_hash(self, key: DevnetKey) -> bytes:
        return compute_script_hash(self.chain.lock_of(key))

    @property
    def state(self) -> RollupState:
        assert self.rollup_cell is not None
        return RollupState.decode(self.chain.cells.live[self.rollup_cell].data)

    @property
    def config(self) -> RollupConfig:
        return RollupConfig(0, self.rollup_id, 0, get_preset(self.l2_preset), OPTIMISTIC)

    def batch(self, number: int) -> BatchCell:
        return BatchCell.decode(self.chain.cells.live[self.batches[number]].data)

    def funds(self, key: DevnetKey, capacity: int = 5_000 * CKB) -> OutPoint:
        return self.chain.add_cell(CellOutput(capacity, self.chain.lock_of(key)))

    # ------------------------------------------------------------------ creation
    def initial_state(self, proposer: bytes) -> RollupState:
        return RollupState(
            chain_id=0,
            proposer_lock_hash=proposer,
            bond=BOND,
            challenge_window=CHALLENGE,
            forced_inclusion_window=FORCED,
            escape_timeout=ESCAPE,
            game_clock=GAME_CLOCK,
            burn_permille=BURN_PERMILLE,
            fee_account=0,
            l2_preset=self.l2_preset,
            next_batch_number=0,
            next_final_batch=0,
            state_root=self.genesis_root,
            next_deposit_index=0,
            idle_blocks=0,
        )

    def create(self) -> None:
        chain = self.chain
        source = self.funds(PROPOSER, 10_000 * CKB)
        first = CellInput(source)
        args = compute_type_id_args(first.serialize(), 0)
        self.rollup_type = self.script("rollup_state", args)
        self.rollup_id = compute_script_hash(self.rollup_type)
        state = self.initial_state(self.lock_hash(PROPOSER))
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

    def deposit_hash(self, out_point: OutPoint) -> bytes:
        cell = self.chain.cells.live[out_point]
        args = DepositArgs.decode(cell.output.lock.args)
        return compute_deposit_hash(out_point, args.public_key, cell.output.capacity)

    # ------------------------------------------------------------------ transactions
    def build(
        self,
        inputs: Inputs,
        outputs: Outputs,
        *,
        payer: DevnetKey | None = None,
        cell_deps: Sequence[CellDep] = (),
        header_deps: Sequence[bytes] = (),
        blob_hashes: tuple[bytes, ...] = (),
    ) -> Transaction:
        """``inputs`` (each with its ``WitnessArgs.input_type``, if any), then a cell of
        ``payer`` (signed) funding the outputs' extra capacity; change goes back to ``payer``."""
        chain = self.chain
        all_inputs = [cell_input for cell_input, _w in inputs]
        all_outputs = list(outputs)
        if payer is not None:
            all_inputs.append(CellInput(self.funds(payer)))
            spent_in = sum(chain.cells.live[i.previous_output].output.capacity for i in all_inputs)
            spent_out = sum(o.capacity for o, _d in all_outputs)
            all_outputs.append((CellOutput(spent_in - spent_out - FEE, chain.lock_of(payer)), b""))
        witnesses = [
            b"" if input_type is None else WitnessArgs(input_type=input_type).serialize()
            for _i, input_type in inputs
        ]
        while witnesses and witnesses[-1] == b"":
            witnesses.pop()
        tx = Transaction(
            RawTransaction(
                cell_deps=(*self.deps, *cell_deps),
                header_deps=tuple(header_deps),
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

    def rollup_tx(
        self,
        action: RollupAction,
        new_state: RollupState,
        *,
        inputs: Inputs = (),
        outputs: Outputs = (),
        payer: DevnetKey | None = None,
        rollup_since: int = 0,
        blob_hashes: tuple[bytes, ...] = (),
        rollup_capacity: int | None = None,
    ) -> Transaction:
        """Rollup cell first (its witness names ``action``), then ``inputs``, then the payer."""
        assert self.rollup_cell is not None and self.rollup_type is not None
        rollup_in = self.chain.cells.live[self.rollup_cell]
        capacity = rollup_capacity if rollup_capacity is not None else rollup_in.output.capacity
        return self.build(
            [(CellInput(self.rollup_cell, rollup_since), encode_action(action)), *inputs],
            [
                (CellOutput(capacity, self.custodian_lock, self.rollup_type), new_state.encode()),
                *outputs,
            ],
            payer=payer,
            blob_hashes=blob_hashes,
        )

    def commitment(
        self,
        *,
        deposits: int = 0,
        tx_count: int | None = None,
        accounts_root: bytes | None = None,
        next_account: int = 1,
        withdrawals: tuple[Withdrawal, ...] = (),
        **changes: object,
    ) -> tuple[BatchCommitment, SubmitBatch]:
        """A commitment whose new root has the right counters, and the SubmitBatch naming them."""
        state = self.state
        number = state.next_batch_number
        count = max(1, deposits + len(withdrawals)) if tx_count is None else tx_count
        accounts_root = accounts(number + 1) if accounts_root is None else accounts_root
        deposit_end = state.next_deposit_index + deposits
        commitment = BatchCommitment(
            batch_number=number,
            prev_root=state.state_root,
            new_root=compute_state_root(accounts_root, next_account, deposit_end, OPTIMISTIC),
            l1_block_hash=self.chain.tip.hash,
            tx_count=count,
            deposit_start=state.next_deposit_index,
            deposit_end=deposit_end,
            withdrawals_root=compute_withdrawals_root(withdrawals, self.config),
            blob_versioned_hashes=tuple(versioned(i) for i in range(blob_count(count))),
        )
        return replace(commitment, **changes), SubmitBatch(accounts_root, next_account)  # type: ignore[arg-type]

    def batch_output(self, cell: BatchCell, bond: int = BOND) -> tuple[CellOutput, bytes]:
        data = cell.encode()
        output = CellOutput(0, self.custodian_lock, self.batch_type)
        return replace(output, capacity=bond + compute_occupied_capacity(output, data)), data

    def submit_batch(
        self,
        deposits: Sequence[OutPoint] = (),
        *,
        withdrawals: tuple[Withdrawal, ...] = (),
        proposer: DevnetKey = PROPOSER,
        claim: tuple[BatchCommitment, SubmitBatch] | None = None,
        custodian: Sequence[OutPoint] = (),
        custodian_delta: int = 0,
        bond: int = BOND,
        blob_hashes: tuple[bytes, ...] | None = None,
        new_state: RollupState | None = None,
        deposits_root: bytes | None = None,
        open_games: int = 0,
    ) -> Transaction:
        """A SubmitBatch absorbing the pending deposits then ``deposits``, with a bonded batch
        cell; the defaults are valid and each keyword breaks one rule."""
        state = self.state
        pending = state.pending_forced
        limit = get_preset(self.l2_preset).max_txs_per_batch
        used = min(len(pending), limit)
        if claim is None:
            claim = self.commitment(deposits=used + len(deposits), withdrawals=withdrawals)
        commitment, action = claim
        hashes = pending[:used] + tuple(self.deposit_hash(o) for o in deposits)
        cells = self.chain.cells.live
        custodian_in = sum(cells[o].output.capacity for o in custodian)
        custodian_out = custodian_in + sum(cells[o].output.capacity for o in deposits)
        custodian_out += custodian_delta
        batch = BatchCell(
            open_games,
            compute_deposits_root(hashes) if deposits_root is None else deposits_root,
            self.chain.lock_of(proposer),
            commitment,
        )
        outputs = [self.batch_output(batch, bond)]
        if custodian_out > 0:
            outputs.append((CellOutput(custodian_out, self.custodian_lock), b""))
        if new_state is None:
            new_state = replace(
                state,
                next_batch_number=state.next_batch_number + 1,
                state_root=commitment.new_root,
                next_deposit_index=commitment.deposit_end,
                idle_blocks=0,
                pending_forced=pending[used:],
            )
        tx = self.rollup_tx(
            action,
            new_state,
            inputs=[(CellInput(o), None) for o in [*deposits, *custodian]],
            outputs=outputs,
            payer=proposer,
            blob_hashes=commitment.blob_versioned_hashes if blob_hashes is None else blob_hashes,
        )
        self._staged[compute_tx_hash(tx)] = (commitment.batch_number, hashes)
        return tx

    def commit(self, tx: Transaction) -> None:
        """Mine ``tx`` and follow the rollup cell to its new output 0 (and a new batch cell to
        output 1)."""
        self.chain.mine([tx])
        tx_hash = compute_tx_hash(tx)
        self.rollup_cell = OutPoint(tx_hash, 0)
        if tx_hash in self._staged:
            number, hashes = self._staged.pop(tx_hash)
            self.batches[number] = OutPoint(tx_hash, 1)
            self.consumed[number] = hashes

    def custodian_cells(self) -> list[OutPoint]:
        return [
            op
            for op, cell in self.chain.cells.live.items()
            if cell.output.lock == self.custodian_lock and cell.output.type is None
        ]

    def finalize(
        self,
        number: int | None = None,
        withdrawals: tuple[Withdrawal, ...] = (),
        *,
        since: int = CHALLENGE,
        payer: DevnetKey = PROPOSER,
        entries: tuple[WithdrawalEntry, ...] | None = None,
        new_state: RollupState | None = None,
        custodian_delta: int = 0,
    ) -> Transaction:
        state = self.state
        number = state.next_final_batch if number is None else number
        custodian = self.custodian_cells()
        cells = self.chain.cells.live
        custodian_out = sum(cells[o].output.capacity for o in custodian)
        custodian_out -= sum(w.amount for w in withdrawals) - custodian_delta
        outputs = [
            (CellOutput(w.amount, self.withdrawal_lock(number, _key_of(w))), b"")
            for w in withdrawals
        ]
        if custodian_out > 0:
            outputs.append((CellOutput(custodian_out, self.custodian_lock), b""))
        if entries is None:
            entries = tuple(WithdrawalEntry(w.from_index, w.nonce, w.amount) for w in withdrawals)
        if new_state is None:
            new_state = replace(state, next_final_batch=state.next_final_batch + 1)
        return self.rollup_tx(
            FinalizeBatch(entries),
            new_state,
            inputs=[
                (CellInput(self.batches[number], relative_blocks(since)), None),
                *((CellInput(o), None) for o in custodian),
            ],
            outputs=outputs,
            payer=payer,
        )

    def commit_finalize(self, tx: Transaction, number: int) -> None:
        self.commit(tx)
        del self.batches[number]

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
        hashes = tuple(self.deposit_hash(o) for o in deposits)
        total = sum(cells[o].output.capacity for o in deposits)
        new_state = replace(
            state,
            pending_forced=state.pending_forced + hashes,
            idle_blocks=state.idle_blocks + rollup_since,
        )
        return self.rollup_tx(
            ForceDeposit(),
            new_state,
            inputs=[(CellInput(o, relative_blocks(since)), None) for o in deposits],
            outputs=[(CellOutput(total, self.custodian_lock), b"")],
            payer=payer,
            rollup_since=relative_blocks(rollup_since) if rollup_since else 0,
        )

    def escape_hatch(self, new: DevnetKey, *, since: int = ESCAPE) -> Transaction:
        new_hash = self.lock_hash(new)
        new_state = replace(self.state, proposer_lock_hash=new_hash, idle_blocks=0)
        return self.rollup_tx(
            EscapeHatch(new_hash), new_state, payer=new, rollup_since=relative_blocks(since)
        )

    def claim(self, withdrawal: OutPoint, owner: DevnetKey) -> Transaction:
        capacity = self.chain.capacity(withdrawal)
        tx = Transaction(
            RawTransaction(
                cell_deps=(self.dep("rollup_withdrawal_lock"),),
                inputs=(CellInput(withdrawal),),
                outputs=(CellOutput(capacity - FEE, self.chain.lock_of(owner)),),
                outputs_data=(b"",),
            )
        )
        return sign(tx, owner, [0])

    # ------------------------------------------------------------------ reverts
    def revert(
        self,
        k: int,
        games: Sequence[tuple[OutPoint, GameAction, int]],
        *,
        payer: DevnetKey,
        payouts: Outputs = (),
        batches: Sequence[int] | None = None,
        deposit_lists: tuple[tuple[bytes, ...], ...] | None = None,
        new_state: RollupState | None = None,
        pay_descendants: bool = True,
    ) -> Transaction:
        """RevertBatches(k): batch cells ``batches`` (default k..next-1), ``games`` as (game cell,
        its action, its since), the burn and each descendant proposer's bond, then ``payouts``
        (the payer's change pays the rest)."""
        state = self.state
        numbers = list(range(k, state.next_batch_number)) if batches is None else list(batches)
        if deposit_lists is None:
            deposit_lists = tuple(self.consumed[n] for n in numbers)
        if new_state is None:
            first = self.batch(k).commitment
            new_state = replace(
                state,
                next_batch_number=k,
                state_root=first.prev_root,
                next_deposit_index=first.deposit_start,
                pending_forced=tuple(h for hs in deposit_lists for h in hs) + state.pending_forced,
            )
        burn = compute_burn(BOND, BURN_PERMILLE)
        burn_out = [(CellOutput(burn, BURN_LOCK), b"")] if burn else []
        if pay_descendants:
            for n in numbers[1:]:
                lock = self.batch(n).proposer_lock
                burn_out.append((CellOutput(BOND, lock), b""))
        return self.rollup_tx(
            RevertBatches(k, deposit_lists),
            new_state,
            inputs=[
                *((CellInput(self.batches[n]), None) for n in numbers),
                *(
                    (CellInput(game, since), encode_game_action(action))
                    for game, action, since in games
                ),
            ],
            outputs=[*burn_out, *payouts],
            payer=payer,
        )

    def commit_revert(self, tx: Transaction, k: int) -> None:
        self.commit(tx)
        for n in [n for n in self.batches if n >= k]:
            del self.batches[n]


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
    assert len(data) == 195 and data[0] == 3
    assert data[5:37] == state.proposer_lock_hash and data[147:179] == GENESIS_ROOT
    assert data[99:131] == bytes(32) and not state.is_validity
    assert int.from_bytes(data[69:77], "little") == GAME_CLOCK
    assert int.from_bytes(data[77:79], "little") == BURN_PERMILLE
    assert RollupState.decode(data) == state
    forced = replace(state, pending_forced=(ckbhash(b"a"), ckbhash(b"b")))
    assert RollupState.decode(forced.encode()) == forced
    with pytest.raises(InvalidRollupEncoding, match="2 pending deposits is 259 bytes"):
        RollupState.decode(forced.encode()[:-1])
    with pytest.raises(InvalidRollupEncoding, match="unknown rollup state version 2"):
        RollupState.decode(b"\x02" + data[1:])
    with pytest.raises(InvalidRollupEncoding, match="unknown L2 preset"):
        RollupState.decode(data[:83] + b"nope".ljust(16, b"\x00") + data[99:])
    too_many = data[:191] + (65_537).to_bytes(4, "little")
    with pytest.raises(InvalidRollupEncoding, match="65537 pending deposits, more than 65536"):
        RollupState.decode(too_many)
    with pytest.raises(InvalidRollupEncoding, match=r"burn permille must be in 0\.\.1000"):
        RollupState.decode(data[:77] + (1001).to_bytes(2, "little") + data[79:])


def test_batch_cell_layout_round_trips_and_is_strict(bridge: Bridge) -> None:
    commitment, _action = bridge.commitment(tx_count=3)
    cell = BatchCell(2, ckbhash(b"d"), bridge.chain.lock_of(PROPOSER), commitment)
    data = cell.encode()
    assert data[:4] == b"\x02\x00\x00\x00" and data[4:36] == ckbhash(b"d")
    assert BatchCell.decode(data) == cell and cell.batch_hash == commitment.compute_hash()
    with pytest.raises(InvalidRollupEncoding, match="at least 40 bytes"):
        BatchCell.decode(data[:39])
    with pytest.raises(InvalidRollupEncoding, match="batch cell commitment"):
        BatchCell.decode(data[:-1])
    with pytest.raises(InvalidRollupEncoding, match="script of 4294967295 bytes is truncated"):
        BatchCell.decode(data[:36] + b"\xff" * 4 + data[40:])


def test_action_encoding_round_trips_and_is_strict() -> None:
    actions: list[RollupAction] = [
        SubmitBatch(ckbhash(b"a"), 7),
        ForceDeposit(),
        EscapeHatch(bytes(range(32))),
        FinalizeBatch(),
        FinalizeBatch((WithdrawalEntry(1, 2, 3), WithdrawalEntry(4, 5, 6))),
        RevertBatches(3),
        RevertBatches(3, ((), (ckbhash(b"x"), ckbhash(b"y")))),
    ]
    for action in actions:
        assert decode_action(encode_action(action)) == action
    assert encode_action(FinalizeBatch((WithdrawalEntry(1, 2, 3),)))[:5] == b"\x04\x01\x00\x00\x00"
    for bad, message in [
        (b"", "empty rollup action"),
        (b"\x00", "unknown rollup action tag 0"),
        (b"\x07", "unknown rollup action tag 7"),
        (b"\x01" + bytes(35), "32-byte accounts root and a u32"),
        (b"\x04\x01\x00\x00\x00", "must be 21 bytes"),
        (b"\x02\x00", "no payload"),
        (b"\x03" + bytes(31), "32-byte lock hash"),
        (b"\x05" + bytes(7), "u64 batch number"),
        (b"\x05" + bytes(8) + b"\x01\x00\x00\x00", "deposit list 0 of 1 hashes is truncated"),
        (b"\x05" + bytes(8) + b"\x01", "deposit list 0 needs a u32 count"),
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
        "rollup_game",
    ]
    first = 4 + issued  # message, secp256k1, reserved DAO, always_success, issued cells
    assert [scripts[n].cell_dep.out_point.index for n in names] == list(range(first, first + 6))
    assert len(cellbase.raw.outputs) == first + 6
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
    state = bridge.initial_state(bytes(32))
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
    for started in (replace(state, next_batch_number=3), replace(state, next_final_batch=1)):
        rejects(
            bridge,
            make(good_type, bridge.custodian_lock, started.encode()),
            "a new rollup starts at batch 0",
        )
    no_window = replace(state, challenge_window=0).encode()
    rejects(
        bridge,
        make(good_type, bridge.custodian_lock, no_window),
        "challenge window must be in 1..2^56-1",
    )
    no_clock = replace(state, game_clock=0).encode()
    rejects(bridge, make(good_type, bridge.custodian_lock, no_clock), "game clock must be in")
    far_fee = replace(state, fee_account=1 << 16).encode()
    rejects(
        bridge,
        make(good_type, bridge.custodian_lock, far_fee),
        "the rollup's L2 config is invalid: fee account 65536",
    )
    chain.verify_tx(make(good_type, bridge.custodian_lock))


# ----------------------------------------------------------------------------- the happy path
def alice_withdrawal(amount: int = 200 * CKB, nonce: int = 0) -> Withdrawal:
    return Withdrawal(1, nonce, ALICE.lock_args, amount)


def test_deposit_batch_finalize_claim(bridge: Bridge) -> None:
    chain = bridge.chain
    deposit = bridge.deposit(ALICE, 1_000 * CKB)
    withdrawal = alice_withdrawal()
    tx = bridge.submit_batch([deposit], withdrawals=(withdrawal,))
    assert tx.raw.blob_versioned_hashes == (versioned(0),)
    assert chain.verify_tx(tx).cycles > 0
    bridge.commit(tx)
    state = bridge.state
    assert (state.next_batch_number, state.next_final_batch, state.next_deposit_index) == (1, 0, 1)
    batch = bridge.batch(0)
    assert batch.open_games == 0 and batch.proposer_lock == chain.lock_of(PROPOSER)
    assert batch.deposits_root == bridge.consumed[0][0]  # the CBMT root of one leaf is the leaf
    custodian = OutPoint(bridge.rollup_cell.tx_hash, 2)  # type: ignore[union-attr]
    assert chain.capacity(custodian) == 1_000 * CKB  # no withdrawal cell at submission

    # Finalization: only after the challenge window, then the withdrawal cells appear.
    committed = chain.tip.number
    chain.mine_until(committed + CHALLENGE - 2)
    rejects(
        bridge,
        bridge.finalize(0, (withdrawal,), since=CHALLENGE - 1),
        "batch input 1 is still in its challenge window",
        f"since >= {CHALLENGE} blocks",
    )
    rejects(bridge, bridge.finalize(0, (withdrawal,)), "is not yet satisfied", cls=SinceNotMet)
    chain.mine()
    finalize = bridge.finalize(0, (withdrawal,))
    bridge.commit_finalize(finalize, 0)
    assert bridge.state.next_final_batch == 1
    withdrawal_cell = OutPoint(compute_tx_hash(finalize), 1)
    assert chain.capacity(withdrawal_cell) == 200 * CKB
    rejects(bridge, bridge.claim(withdrawal_cell, BOB), "signature is not by the owner")
    claim = bridge.claim(withdrawal_cell, ALICE)
    chain.mine([claim])
    assert chain.cells.live.get(withdrawal_cell) is None
    assert chain.capacity(OutPoint(compute_tx_hash(claim), 0)) == 200 * CKB - FEE
    rejects(bridge, claim, "is already spent", cls=DeadCell)


def test_second_batch_chains_on_the_first(bridge: Bridge) -> None:
    bridge.commit(bridge.submit_batch([bridge.deposit(ALICE)]))
    bridge.commit(bridge.submit_batch([bridge.deposit(BOB, 300 * CKB)]))
    assert bridge.state.next_batch_number == 2 and bridge.state.next_deposit_index == 2
    assert set(bridge.batches) == {0, 1}


# ----------------------------------------------------------------------------- SubmitBatch rules
def test_batch_by_someone_else_than_the_proposer_is_rejected(bridge: Bridge) -> None:
    tx = bridge.submit_batch([bridge.deposit(ALICE)], proposer=BOB)
    rejects(bridge, tx, "SubmitBatch needs the proposer's lock", "among the input locks")


def test_batch_with_wrong_prev_root_is_rejected(bridge: Bridge) -> None:
    wrong = accounts(99)
    commitment, action = bridge.commitment(prev_root=wrong)
    rejects(
        bridge,
        bridge.submit_batch(claim=(commitment, action)),
        "commitment prev_root 0x" + wrong.hex(),
        "is not the rollup's state root",
    )


def test_batch_that_skips_a_number_is_rejected(bridge: Bridge) -> None:
    rejects(
        bridge,
        bridge.submit_batch(claim=bridge.commitment(batch_number=1)),
        "commitment is batch 1, expected batch 0",
    )


def test_batch_with_mismatched_versioned_hashes_is_rejected(bridge: Bridge) -> None:
    rejects(
        bridge,
        bridge.submit_batch(blob_hashes=(versioned(1),)),
        "blob versioned hash(es) are not the transaction's",
    )
    rejects(bridge, bridge.submit_batch(blob_hashes=()), "are not the transaction's 0")


def test_batch_with_the_wrong_number_of_blobs_or_records_is_rejected(bridge: Bridge) -> None:
    one_blob = (versioned(0),)
    commitment, action = bridge.commitment(
        tx_count=3, blob_versioned_hashes=(*one_blob, versioned(1))
    )
    rejects(bridge, bridge.submit_batch(claim=(commitment, action)), "spans exactly 1 blob(s)")
    rejects(
        bridge,
        bridge.submit_batch(claim=bridge.commitment(tx_count=65)),
        "claims 65 records, more than the L2 preset's 64",
    )


def test_empty_batch_keeps_the_root_and_has_no_withdrawals(bridge: Bridge) -> None:
    state = bridge.state
    _c, action = bridge.commitment(tx_count=0)
    moved, _ = bridge.commitment(tx_count=0)
    rejects(
        bridge,
        bridge.submit_batch(claim=(moved, action)),
        "a batch of 0 records keeps the state root",
    )
    kept, _ = bridge.commitment(tx_count=0, new_root=state.state_root)
    keep_action = SubmitBatch(GENESIS_ACCOUNTS, 1)
    bridge.commit(bridge.submit_batch(claim=(kept, keep_action)))
    assert bridge.state.state_root == GENESIS_ROOT and bridge.state.next_batch_number == 1


def test_batch_whose_root_has_the_wrong_counters_is_rejected(bridge: Bridge) -> None:
    deposit = bridge.deposit(ALICE)
    commitment, action = bridge.commitment(deposits=1)
    rejects(
        bridge,
        bridge.submit_batch(
            [deposit], claim=(commitment, replace(action, new_next_account_index=5))
        ),
        "the new root is not hash_node(accounts root, counters(next account 5, next deposit 1))",
    )
    # Claiming no deposit while the root counts one: the range must be what the records consume.
    skipping, _ = bridge.commitment(deposits=0)
    counted = replace(skipping, new_root=commitment.new_root)
    rejects(bridge, bridge.submit_batch(claim=(counted, action)), "the new root is not hash_node")
    assert blob_count(1023) == 1 and blob_count(1024) == 2  # the header takes one record slot


def test_batch_with_deposits_out_of_order_is_rejected(bridge: Bridge) -> None:
    deposit = bridge.deposit(ALICE)
    commitment, action = bridge.commitment(deposits=1)
    skipped = replace(commitment, deposit_start=1, deposit_end=2)
    rejects(
        bridge,
        bridge.submit_batch([deposit], claim=(skipped, action)),
        "deposit range starts at 1, expected 0",
    )
    rejects(
        bridge,
        bridge.submit_batch([deposit], claim=bridge.commitment(deposits=0)),
        "commitment consumes deposits [0, 0) but the transaction provides [0, 1)",
    )
    rejects(
        bridge,
        bridge.submit_batch([deposit], deposits_root=ckbhash(b"other")),
        "is not the CBMT root",
        "of the 1 deposit(s) it consumes",
    )


def test_batch_that_underpays_the_custodian_is_rejected(bridge: Bridge) -> None:
    tx = bridge.submit_batch([bridge.deposit(ALICE)], custodian_delta=-CKB)
    rejects(bridge, tx, f"custodian outputs hold {999 * CKB} shannons, expected {1_000 * CKB}")


def test_batch_without_the_bond_or_with_open_games_is_rejected(bridge: Bridge) -> None:
    tx = bridge.submit_batch(bond=BOND - 1)
    rejects(bridge, tx, f"less than the bond of {BOND} plus its")
    rejects(bridge, bridge.submit_batch(open_games=1), "a new batch has no open game, got 1")


def test_batch_with_a_wrong_new_state_is_rejected(bridge: Bridge) -> None:
    wrong = replace(bridge.state, next_batch_number=1, state_root=accounts(7))
    rejects(
        bridge,
        bridge.submit_batch(new_state=wrong),
        "the new rollup state has state_root = 0x" + accounts(7).hex(),
    )


def test_deposit_with_an_invalid_l2_key_is_never_absorbed(bridge: Bridge) -> None:
    deposit = bridge.deposit(ALICE, public_key=b"\x02" + bytes(32))
    rejects(
        bridge, bridge.submit_batch([deposit]), "deposit input 1 names an invalid L2 public key"
    )


def test_custodian_and_batch_cells_cannot_be_spent_without_the_rollup(bridge: Bridge) -> None:
    chain = bridge.chain
    bridge.commit(bridge.submit_batch([bridge.deposit(ALICE)]))
    custodian = OutPoint(bridge.rollup_cell.tx_hash, 2)  # type: ignore[union-attr]
    steal = bridge.build(
        [(CellInput(custodian), None)],
        [(CellOutput(chain.capacity(custodian) - FEE, chain.lock_of(BOB)), b"")],
    )
    rejects(
        bridge, steal, "rollup_custodian_lock", "can only be spent or created with the rollup cell"
    )
    commitment, _action = bridge.commitment()
    forged_cell = BatchCell(0, bytes(32), chain.lock_of(BOB), commitment)
    forged = bridge.build([], [bridge.batch_output(forged_cell)], payer=BOB)
    rejects(bridge, forged, "rollup_batch", "a batch cell moves only with the rollup cell")
    batch = bridge.batches[0]
    taken = bridge.build(
        [(CellInput(batch), None)],
        [(CellOutput(chain.capacity(batch) - FEE, chain.lock_of(BOB)), b"")],
    )
    rejects(bridge, taken, "rollup_batch", "a batch cell moves only with the rollup cell")


def test_finalize_rules(bridge: Bridge) -> None:
    chain = bridge.chain
    deposit = bridge.deposit(ALICE)
    withdrawal = alice_withdrawal()
    bridge.commit(bridge.submit_batch([deposit], withdrawals=(withdrawal,)))
    bridge.commit(bridge.submit_batch())
    chain.mine_until(chain.tip.number + CHALLENGE)
    rejects(
        bridge,
        bridge.finalize(1),
        "batch 1 cannot be finalized before batch 0 (batches finalize in order)",
    )
    rejects(
        bridge,
        bridge.finalize(0, (alice_withdrawal(nonce=1),)),
        "withdrawal cells fold to",
        "but the commitment's withdrawals root",
    )
    rejects(
        bridge,
        bridge.finalize(0, (withdrawal,), entries=()),
        "the action lists 0 withdrawal(s) but the transaction creates 1 withdrawal cell(s)",
    )
    rejects(
        bridge,
        bridge.finalize(0, (withdrawal,), custodian_delta=-CKB),
        "custodian outputs hold",
    )
    rejects(
        bridge,
        bridge.finalize(0, (withdrawal,), payer=BOB),
        "FinalizeBatch pays the proposer",
        f"less than the {BOND} owed",
    )
    bridge.commit_finalize(bridge.finalize(0, (withdrawal,), payer=PROPOSER), 0)
    bridge.commit_finalize(bridge.finalize(1), 1)
    assert bridge.state.next_final_batch == 2


# ----------------------------------------------------------------------------- forced inclusion
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
        bridge.submit_batch(custodian=[custodian], claim=ignoring),
        "the batch ignores pending deposits",
        "the 1 pending one(s) at queue indices 0..0 come first",
    )
    # Counting the fresh deposit in place of the forced one leaves the fresh input unaccounted.
    swapped = bridge.commitment(deposits=1)
    rejects(
        bridge,
        bridge.submit_batch([fresh], custodian=[custodian], claim=swapped),
        "provides [0, 2): 1 pending deposit(s) then 1 deposit input(s)",
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
