"""The dispute game from the players' side: honest play over a batch and its L1 transactions.

``BatchEvidence`` is what a player knows about one posted batch once it has derived the state
before it from L1 data: the records read from the blobs, the honest trace (docs/disputes.md §1),
and, on demand, the state at any position and a one-step proof for any record. It answers the
two questions a player has -- which move to make, and who wins the one step -- with the same
pure rules the L1 runs (``l2.dispute``, ``l2.onestep``).

``DisputeL1`` builds and sends the game's transactions (challenge, move, timeout, one-step,
revert) over a node's JSON-RPC, on top of ``RollupL1``'s funding and signing. The L1's
``rollup_game`` and ``rollup_state`` scripts check everything; these builders only put the
cells where the rules say, so a wrong move is refused by the node with the script's message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from l1.ckb.types import (
    CellDep,
    CellInput,
    CellOutput,
    OutPoint,
    RawTransaction,
    Script,
    WitnessArgs,
)
from l1.ckb.types import Transaction as L1Transaction
from l1.client import LiveCell
from l1.core.capacity import compute_occupied_capacity
from l1.core.scripts.rollup.layout import (
    BURN_LOCK,
    NO_TURN_START,
    Abandon,
    GameAction,
    GameCell,
    OneStep,
    RevertBatches,
    RollupState,
    Timeout,
    compute_burn,
    encode_action,
    encode_game_action,
)
from l1.core.scripts.rollup.layout import Move as MoveAction
from l1.core.scripts.secp256k1 import sign_sighash_all
from l2.batch import BatchCommitment, compute_next_withdrawals_chain, get_batch_records
from l2.client.bridge import BatchCellView, RollupL1, relative_blocks
from l2.config import RollupConfig
from l2.dispute import (
    ZERO_HASH,
    GameState,
    Move,
    Side,
    apply_move,
    choose_move,
    compute_trace_hash,
    get_midpoint,
    open_game,
)
from l2.errors import InvalidRecord, InvalidTransaction
from l2.onestep import (
    OneStepProof,
    build_one_step_proof,
    compute_batch_trace,
    compute_l1_deposit_hash,
)
from l2.state import L2State
from l2.stf import apply_batch, apply_record, compute_deposit_queue
from l2.tx import L1Deposit

__all__ = [
    "BatchEvidence",
    "DisputeL1",
    "GameCellView",
    "compute_claimed_hash",
    "get_timeout_height",
]

GAME_SCRIPT = "rollup_game"


def compute_claimed_hash(commitment: BatchCommitment) -> bytes:
    """The trace hash a commitment claims at its last position."""
    return compute_trace_hash(commitment.new_root, commitment.withdrawals_root)


# ----------------------------------------------------------------------------- evidence
@dataclass(frozen=True, slots=True)
class BatchEvidence:
    """One posted batch with the honest trace over it (derived from L1 data alone)."""

    commitment: BatchCommitment
    pre_state: L2State
    blobs: tuple[bytes, ...]
    #: The L1 deposits the batch consumed, ``[deposit_start, deposit_end)`` in queue order.
    deposits: tuple[L1Deposit, ...]
    config: RollupConfig
    records: tuple[bytes, ...]
    trace: tuple[bytes, ...]

    @classmethod
    def compute(
        cls,
        pre_state: L2State,
        commitment: BatchCommitment,
        blobs: Sequence[bytes],
        deposits: Sequence[L1Deposit],
        config: RollupConfig,
    ) -> BatchEvidence:
        """Apply the batch's records (read positionally, as the L1 reads them) to a copy of
        ``pre_state``; ``pre_state`` itself is kept for replays."""
        records = get_batch_records(blobs, commitment.tx_count)
        state = pre_state.copy()
        result = apply_batch(state, records, config, compute_deposit_queue(deposits))
        return cls(
            commitment,
            pre_state.copy(),
            tuple(blobs),
            tuple(deposits),
            config,
            records,
            compute_batch_trace(result, config),
        )

    @property
    def is_honest(self) -> bool:
        """The commitment's claim equals the honest trace's end (and its start is the
        rollup's root, which SubmitBatch checks)."""
        return self.trace[-1] == compute_claimed_hash(self.commitment)

    def get_first_divergence(self, claimed: Sequence[bytes]) -> int | None:
        """The first position where ``claimed`` differs from the honest trace (None if none)."""
        for index, (ours, theirs) in enumerate(zip(self.trace, claimed, strict=True)):
            if ours != theirs:
                return index
        return None

    def get_opening_mid_hash(self) -> bytes:
        """The challenger's claim at the first midpoint (zero for a single record)."""
        n = self.commitment.tx_count
        return ZERO_HASH if n == 1 else self.trace[get_midpoint(0, n)]

    def choose_move(self, game: GameState) -> Move:
        return choose_move(game, self.trace)

    def get_one_step_winner(self, game: GameState) -> Side:
        """Who the one-step proof over record ``game.lo`` makes win, when the agreed position
        is an honest one (an honest player only ever agrees to those)."""
        return Side.PROPOSER if self.trace[game.hi] == game.hi_hash else Side.CHALLENGER

    def get_state_at(self, position: int) -> tuple[L2State, bytes]:
        """The state and withdrawal chain before record ``position`` (a replay)."""
        state = self.pre_state.copy()
        queue = compute_deposit_queue(self.deposits)
        chain = ZERO_HASH
        for record in self.records[:position]:
            try:
                receipt = apply_record(state, record, self.config, queue)
            except (InvalidRecord, InvalidTransaction):
                continue
            if receipt.withdrawal is not None:
                chain = compute_next_withdrawals_chain(chain, receipt.withdrawal, self.config)
        return state, chain

    def build_one_step(self, record_index: int, settings: Any) -> OneStepProof:
        state, chain = self.get_state_at(record_index)
        return build_one_step_proof(
            state,
            chain,
            record_index,
            self.blobs,
            self.commitment,
            self.deposits,
            self.config,
            settings,
        )


# ----------------------------------------------------------------------------- cell views
@dataclass(frozen=True, slots=True)
class GameCellView:
    out_point: OutPoint
    output: CellOutput
    data: bytes
    cell: GameCell
    block_number: int

    @property
    def game(self) -> GameState:
        return self.cell.game

    @property
    def to_move(self) -> Side:
        return self.cell.game.turn


# ----------------------------------------------------------------------------- transactions
@dataclass(slots=True)
class DisputeL1:
    """The game's transactions for one rollup, over ``RollupL1``'s node connection."""

    l1: RollupL1
    rollup_id: bytes
    _settings: Any = field(default=None, repr=False)

    # ------------------------------------------------------------------ scripts and reads
    @property
    def game_type(self) -> Script:
        return self.l1.script(GAME_SCRIPT, self.rollup_id)

    def _deps(self, *extra: CellDep) -> tuple[CellDep, ...]:
        """The system code cells (``RollupL1.all_deps``, the game's included) and ``extra``."""
        return (*self.l1.all_deps, *extra)

    def get_kzg_settings(self) -> Any:
        if self._settings is None:
            from l1.kzg import get_kzg_settings

            self._settings = get_kzg_settings()
        return self._settings

    def list_batches(self) -> list[BatchCellView]:
        """The live batch cells (not final, not reverted), by batch number."""
        return self.l1.find_batch_cells(self.rollup_id)

    def list_games(self) -> list[GameCellView]:
        """The live game cells of this rollup."""
        cells: list[LiveCell] = self.l1._cells_by_type(self.game_type, limit=None)
        return [
            GameCellView(c.out_point, c.output, c.data, GameCell.decode(c.data), c.block_number)
            for c in cells
        ]

    def get_rollup_state(self) -> RollupState:
        return self.l1.find_rollup_cell(self.rollup_id).state

    def _block_hash(self, number: int) -> bytes:
        return bytes.fromhex(self.l1.client.call("get_block_hash", hex(number))[2:])

    # ------------------------------------------------------------------ assembly
    def _send(
        self,
        *,
        inputs: Sequence[tuple[CellInput, bytes]],
        outputs: Sequence[tuple[CellOutput, bytes]],
        payer_key: bytes,
        cell_deps: Sequence[CellDep],
        header_deps: Sequence[bytes] = (),
        input_capacity: int,
    ) -> bytes:
        """Inputs with their witnesses, then the payer's funding; outputs, then change; the
        payer's group signed (the payer's lock is the mover's or challenger's authorization)."""
        spent = sum(o.capacity for o, _d in outputs) + self.l1.fee
        funding = self.l1._fund(payer_key, max(spent - input_capacity, 1))
        all_inputs = [i for i, _w in inputs] + [CellInput(c.out_point) for c in funding.cells]
        all_outputs = list(outputs)
        change = input_capacity + funding.total - spent
        if change:
            all_outputs.append((CellOutput(change, funding.lock), b""))
        witnesses = [w for _i, w in inputs]
        tx = L1Transaction(
            RawTransaction(
                cell_deps=tuple(cell_deps),
                header_deps=tuple(header_deps),
                inputs=tuple(all_inputs),
                outputs=tuple(o for o, _d in all_outputs),
                outputs_data=tuple(d for _o, d in all_outputs),
            ),
            tuple(witnesses),
        )
        tx = sign_sighash_all(tx, list(range(len(inputs), len(all_inputs))), payer_key)
        return self.l1.send(tx)

    @staticmethod
    def _witness(action: GameAction) -> bytes:
        return WitnessArgs(input_type=encode_game_action(action)).serialize()

    @staticmethod
    def _payout(lock: Script, capacity: int) -> tuple[CellOutput, bytes]:
        return CellOutput(
            max(capacity, compute_occupied_capacity(CellOutput(0, lock), b"")), lock
        ), b""

    def _burn_outputs(self, amount: int) -> list[tuple[CellOutput, bytes]]:
        return [self._payout(BURN_LOCK, amount)] if amount else []

    # ------------------------------------------------------------------ moves
    def challenge(self, challenger_key: bytes, batch: BatchCellView, mid_hash: bytes) -> bytes:
        """Open a game on ``batch`` with the challenger's hash at the first midpoint: the batch
        cell gains an open game, a game cell holds the bond."""
        rollup = self.l1.find_rollup_cell(self.rollup_id)
        state = rollup.state
        commitment = batch.batch.commitment
        challenger_lock = self.l1.lock_of(challenger_key)
        game = GameCell(
            batch_number=batch.number,
            batch_hash=batch.batch.batch_hash,
            bond=state.bond,
            proposer_clock=state.game_clock,
            challenger_clock=state.game_clock,
            previous_turn_start=NO_TURN_START,
            game=open_game(
                commitment.tx_count,
                compute_trace_hash(commitment.prev_root, ZERO_HASH),
                compute_claimed_hash(commitment),
                mid_hash,
            ),
            challenger_lock=challenger_lock,
            proposer_lock=batch.batch.proposer_lock,
        )
        data = game.encode()
        game_output = CellOutput(0, self.l1.custodian_lock(self.rollup_id), self.game_type)
        game_output = replace(
            game_output, capacity=state.bond + compute_occupied_capacity(game_output, data)
        )
        new_batch = replace(batch.batch, open_games=batch.batch.open_games + 1).encode()
        return self._send(
            inputs=[(CellInput(batch.out_point), b"")],
            outputs=[(batch.output, new_batch), (game_output, data)],
            payer_key=challenger_key,
            cell_deps=self._deps(CellDep(rollup.out_point)),
            input_capacity=batch.output.capacity,
        )

    def move(self, mover_key: bytes, game: GameCellView, move: Move) -> bytes:
        """Bisect: the game input's block is a header dep (the chess clock reads it)."""
        rollup = self.l1.find_rollup_cell(self.rollup_id)
        block_hash = self._block_hash(game.block_number)
        cell = game.cell
        mover = cell.game.turn
        opponent = mover.other
        clock = cell.clock_of(opponent)
        if cell.previous_turn_start != NO_TURN_START:
            clock -= min(clock, max(0, game.block_number - cell.previous_turn_start))
        clocks = (
            {"proposer_clock": clock} if opponent is Side.PROPOSER else {"challenger_clock": clock}
        )
        moved = replace(
            cell,
            previous_turn_start=game.block_number,
            game=apply_move(cell.game, mover, move),
            **clocks,  # type: ignore[arg-type]
        )
        return self._send(
            inputs=[
                (
                    CellInput(game.out_point),
                    self._witness(MoveAction(move.hash_at_mid, move.next_mid_hash)),
                )
            ],
            outputs=[(game.output, moved.encode())],
            payer_key=mover_key,
            cell_deps=self._deps(CellDep(rollup.out_point)),
            header_deps=[block_hash],
            input_capacity=game.output.capacity,
        )

    # ------------------------------------------------------------------ settlement
    def settle(
        self,
        payer_key: bytes,
        game: GameCellView,
        action: Timeout | OneStep,
        winner: Side,
        deposits: Mapping[int, L1Deposit] | None = None,
    ) -> bytes:
        """End ``game`` with a timeout or a one-step proof. A proposer's win settles alone; a
        challenger's win is a RevertBatches of the game's batch and everything built on it
        (``deposits``: the L1 deposit queue by index, for the reverted batches' lists)."""
        if winner is Side.PROPOSER:
            return self._settle_proposer_win(payer_key, game, action)
        if deposits is None:
            raise ValueError("a challenger's win reverts batches: pass the L1 deposit queue")
        return self._revert(payer_key, game, action, deposits)

    def _game_input(self, game: GameCellView, action: Timeout | OneStep) -> CellInput:
        if isinstance(action, Timeout):
            clock = game.cell.clock_of(game.cell.game.turn)
            return CellInput(game.out_point, relative_blocks(clock))
        return CellInput(game.out_point)

    def _settle_proposer_win(
        self, payer_key: bytes, game: GameCellView, action: Timeout | OneStep
    ) -> bytes:
        rollup = self.l1.find_rollup_cell(self.rollup_id)
        state = rollup.state
        batch = self._find_batch(game)
        burn = compute_burn(game.cell.bond, state.burn_permille)
        new_batch = replace(batch.batch, open_games=batch.batch.open_games - 1).encode()
        outputs = [
            (batch.output, new_batch),
            self._payout(game.cell.proposer_lock, game.output.capacity - burn),
            *self._burn_outputs(burn),
        ]
        return self._send(
            inputs=[
                (self._game_input(game, action), self._witness(action)),
                (CellInput(batch.out_point), b""),
            ],
            outputs=outputs,
            payer_key=payer_key,
            cell_deps=self._deps(CellDep(rollup.out_point)),
            input_capacity=game.output.capacity + batch.output.capacity,
        )

    def _find_batch(self, game: GameCellView) -> BatchCellView:
        for batch in self.list_batches():
            if (
                batch.number == game.cell.batch_number
                and batch.batch.batch_hash == game.cell.batch_hash
            ):
                return batch
        raise LookupError(f"batch {game.cell.batch_number} of the game is not live")

    def _revert(
        self,
        payer_key: bytes,
        game: GameCellView,
        action: Timeout | OneStep,
        deposits: Mapping[int, L1Deposit],
    ) -> bytes:
        rollup = self.l1.find_rollup_cell(self.rollup_id)
        state = rollup.state
        k = game.cell.batch_number
        batches = [b for b in self.list_batches() if b.number >= k]
        if [b.number for b in batches] != list(range(k, state.next_batch_number)):
            raise LookupError(
                f"reverting batch {k} needs live batch cells {k}..{state.next_batch_number - 1}, "
                f"found {[b.number for b in batches]}"
            )
        hashes = {b.batch.batch_hash for b in batches}
        others = [
            g
            for g in self.list_games()
            if g.out_point != game.out_point and g.cell.batch_hash in hashes
        ]
        lists = []
        for batch in batches:
            c = batch.batch.commitment
            items = []
            for index in range(c.deposit_start, c.deposit_end):
                deposit = deposits.get(index)
                if deposit is None:
                    raise LookupError(f"deposit {index} of batch {batch.number} is unknown")
                items.append(
                    compute_l1_deposit_hash(deposit.out_point, deposit.public_key, deposit.amount)
                )
            lists.append(tuple(items))
        revert = RevertBatches(k, tuple(lists))
        new_state = replace(
            state,
            next_batch_number=k,
            state_root=batches[0].batch.commitment.prev_root,
            next_deposit_index=batches[0].batch.commitment.deposit_start,
            pending_forced=tuple(h for items in lists for h in items) + state.pending_forced,
        )
        new_data = new_state.encode()
        rollup_output = replace(
            rollup.output,
            capacity=max(
                rollup.output.capacity, compute_occupied_capacity(rollup.output, new_data)
            ),
        )
        burn = compute_burn(state.bond, state.burn_permille)
        outputs: list[tuple[CellOutput, bytes]] = [(rollup_output, new_data)]
        outputs.append(
            self._payout(
                game.cell.challenger_lock, game.output.capacity + batches[0].output.capacity - burn
            )
        )
        outputs.extend(self._burn_outputs(burn))
        for other in others:
            outputs.append(self._payout(other.cell.challenger_lock, other.output.capacity))
        for batch in batches[1:]:
            outputs.append(self._payout(batch.batch.proposer_lock, batch.output.capacity))
        inputs: list[tuple[CellInput, bytes]] = [
            (
                CellInput(rollup.out_point),
                WitnessArgs(input_type=encode_action(revert)).serialize(),
            ),
            *((CellInput(b.out_point), b"") for b in batches),
            (self._game_input(game, action), self._witness(action)),
            *((CellInput(g.out_point), self._witness(Abandon())) for g in others),
        ]
        capacity = (
            rollup.output.capacity
            + sum(b.output.capacity for b in batches)
            + game.output.capacity
            + sum(g.output.capacity for g in others)
        )
        return self._send(
            inputs=inputs,
            outputs=outputs,
            payer_key=payer_key,
            cell_deps=self._deps(),
            input_capacity=capacity,
        )

    def one_step(
        self,
        payer_key: bytes,
        game: GameCellView,
        evidence: BatchEvidence,
        deposits: Mapping[int, L1Deposit] | None = None,
    ) -> tuple[bytes, Side]:
        """Settle a one-step game with a proof built from ``evidence``; returns the tx hash and
        the winner the proof makes."""
        proof = evidence.build_one_step(game.game.lo, self.get_kzg_settings())
        winner = evidence.get_one_step_winner(game.game)
        tx_hash = self.settle(payer_key, game, OneStep(proof.encode()), winner, deposits)
        return tx_hash, winner

    def claim_timeout(
        self,
        payer_key: bytes,
        game: GameCellView,
        deposits: Mapping[int, L1Deposit] | None = None,
    ) -> tuple[bytes, Side]:
        """The side to move ran out of clock: its opponent wins."""
        winner = game.to_move.other
        return self.settle(payer_key, game, Timeout(), winner, deposits), winner


def get_timeout_height(game: GameCellView) -> int:
    """The first L1 block at which the side to move has lost on time."""
    return game.block_number + game.cell.clock_of(game.to_move)
