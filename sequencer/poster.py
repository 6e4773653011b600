"""The L1 poster: sealed batches become SubmitBatch transactions on the rollup's L1, and
FinalizeBatch transactions once their challenge window passed (docs/disputes.md §3;
``l2.client.bridge.RollupL1`` builds them).

``L1Poster`` implements ``sequencer.batcher.BatchPoster``:

- ``post(batch)``: only when the live rollup cell's ``next_batch_number`` is the batch's number
  (batches go in order, one per L1 block); carries the batch's new accounts root and next
  account index (the L1 checks the new root's counters with them), consumes the pending deposits
  first, then exactly the deposit cells of the rest of the batch's ``deposit_start..deposit_end``,
  carries the batch blobs as sidecars and the bond in the batch cell. No withdrawal cell: those
  are created at finalization.
- R2 (crash between "sent" and "recorded"; crash point ``after_l1_submit``): before sending, the
  built transaction's hash is written to the store's meta (``post_intent:<n>``).  On the next
  ``post`` of that batch: if the rollup cell is already past it, the batch's SubmitBatch is
  found by scanning the L1 and its commitment must equal ours (a different one is refused,
  loudly: never a second, different batch for a number); if the intent transaction is still in
  the pool or committed, it is the answer; otherwise it is built and sent again.
- ``status(batch)``: ``posted`` (sent, not committed), ``safe`` (committed with at least
  ``safe_confirmations`` blocks on top), ``final`` (FinalizeBatch for it is committed: its
  withdrawal cells exist and can be claimed), ``reverted`` (the rollup cell's
  ``next_batch_number`` dropped to or below it, or its batch cell holds another commitment: a
  challenger won a game on it or on an earlier batch).  A transaction the L1 no longer knows (a
  reorg dropped it, the pool lost it) sends the batch back to ``sealed``: the next round
  reconciles (scan) or posts it again.
- Finalization: while reporting the status of the oldest unfinalized batch (the rollup's
  ``next_final_batch``), once its batch cell is ``challenge_window`` blocks old with no open game,
  the poster sends its FinalizeBatch (the batch's withdrawals in order; one per L1 block; the
  proposer pays the fee and gets the bond back). The FinalizeBatch transaction's hash is kept in
  the store's meta (``finalize_tx:<n>``): the batch's withdrawal cells are its outputs
  ``1 ..`` (``withdrawal_out_point``).
- Refusal: a batch the L1's rollup state can never accept as sealed (``prev_root`` is not the
  rollup's state root, another deposit start, pending deposits ignored) raises
  ``UnpostableBatch`` before anything is built or sent; the service re-sequences
  (``Sequencer.recover_refused``).  After a revert, ``revert_refusal`` gives the service the same
  thing for the reverted batches (the reverted deposits are pending again at their indices).
- R6: every L1 failure raises to the batcher, which keeps the error in ``/v1/status``
  (``degraded``) and retries with capped exponential backoff; nothing in the store changes.

``bootstrap_l1`` (called by ``Sequencer.open``) finds or deploys the rollup and wires the
poster and the deposit watcher (``sequencer.l1watch``).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from l1.ckb.hashes import compute_data_hash, compute_header_hash, compute_tx_hash
from l1.ckb.types import CellDep, OutPoint
from l1.client import L1Client, L1RpcError
from l1.core import groth16
from l1.core.scripts.rollup.layout import DepositArgs, WithdrawalEntry
from l2.batch import compute_withdrawals_root
from l2.client.bridge import (
    BatchCellView,
    DepositCell,
    RollupCell,
    RollupHandle,
    RollupL1,
    RollupParams,
    RollupTxSeen,
)
from l2.client.prover import ProverClient
from l2.config import RollupConfig
from l2.state import create_genesis_state
from l2.tx import L1Deposit, Withdraw, Withdrawal, decode_record
from sequencer.batcher import NullPoster, SealedBatch, UnpostableBatch
from sequencer.crash import crashpoint
from sequencer.entries import BatchStatus
from sequencer.errors import StartupError
from sequencer.proving import BatchProver
from sequencer.store import Store

if TYPE_CHECKING:
    from sequencer.service import Sequencer

__all__ = [
    "L1Access",
    "L1Poster",
    "RollupInfo",
    "bootstrap_l1",
    "finalize_meta_key",
    "withdrawal_out_point",
]

log = logging.getLogger("sequencer.poster")

ROLLUP_META = "l1_rollup"
LIVE_TX_STATUSES = ("pending", "proposed", "committed")
#: Outputs of a FinalizeBatch: the rollup cell, then the withdrawal cells.
FIRST_WITHDRAWAL_OUTPUT = 1


def withdrawal_out_point(finalize_tx_hash: bytes, withdrawal_position: int) -> OutPoint:
    """The L1 withdrawal cell of the batch's ``withdrawal_position``-th withdrawal, created by
    the batch's FinalizeBatch transaction ``finalize_tx_hash``."""
    return OutPoint(finalize_tx_hash, FIRST_WITHDRAWAL_OUTPUT + withdrawal_position)


def finalize_meta_key(batch_number: int) -> str:
    """The store meta key holding the FinalizeBatch transaction hash of a final batch."""
    return f"finalize_tx:{batch_number}"


@dataclass(frozen=True, slots=True)
class RollupInfo:
    """What the store's meta keeps about the rollup (``l1_rollup``)."""

    rollup_id: bytes
    #: The rollup cell's type script args (Type ID) and creation transaction, when known.
    type_args: bytes | None
    creation_tx: bytes | None
    #: Scans start here (the tip when the rollup was deployed; 0 for a given rollup id).
    start_block: int
    #: Validity rollups: the cell holding the verification key (a cell dep of every proven
    #: batch), when this data dir deployed it.
    verifying_key_cell: OutPoint | None = None

    def to_json(self) -> str:
        vk_cell = self.verifying_key_cell
        return json.dumps(
            {
                "rollup_id": self.rollup_id.hex(),
                "type_args": None if self.type_args is None else self.type_args.hex(),
                "creation_tx": None if self.creation_tx is None else self.creation_tx.hex(),
                "start_block": self.start_block,
                "verifying_key_cell": None if vk_cell is None else vk_cell.serialize().hex(),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> RollupInfo:
        raw = json.loads(text)
        vk_cell = raw.get("verifying_key_cell")
        return cls(
            bytes.fromhex(raw["rollup_id"]),
            None if raw["type_args"] is None else bytes.fromhex(raw["type_args"]),
            None if raw["creation_tx"] is None else bytes.fromhex(raw["creation_tx"]),
            int(raw["start_block"]),
            None if vk_cell is None else OutPoint.deserialize(bytes.fromhex(vk_cell)),
        )


class L1Access:
    """A ``RollupL1`` made on first use (the L1 may be down when the sequencer starts: R6) and
    attached to the rollup's type script when known.  One per thread that uses it."""

    def __init__(self, url: str, info: RollupInfo, timeout: float = 10.0) -> None:
        self.url = url
        self.info = info
        self.timeout = timeout
        self._l1: RollupL1 | None = None

    def get(self) -> RollupL1:
        if self._l1 is None:
            client = L1Client(self.url, timeout=self.timeout)
            try:
                l1 = RollupL1(client)
            except Exception:
                client.close()
                raise
            info = self.info
            if info.type_args is not None:
                handle = RollupHandle(
                    info.rollup_id,
                    l1.script("rollup_state", info.type_args),
                    info.creation_tx or bytes(32),
                    None if info.verifying_key_cell is None else CellDep(info.verifying_key_cell),
                )
                l1.attach(handle)
            self._l1 = l1
        return self._l1

    def close(self) -> None:
        if self._l1 is not None:
            self._l1.client.close()
            self._l1 = None


class L1Poster:
    """``BatchPoster`` over a real L1 (see the module docstring)."""

    name = "l1"

    def __init__(
        self,
        access: L1Access,
        store: Store,
        config: RollupConfig,
        proposer_key: bytes,
        *,
        safe_confirmations: int,
        let_l1_refuse_ignored_forced: bool = False,
        prover: BatchProver | None = None,
    ) -> None:
        self.access = access
        #: Validity rollups: where sealed batches get their proofs (``sequencer.proving``).
        self.prover = prover
        #: Test-only (set with the ``ignore-deposits-of`` fault): a batch that ignores pending
        #: forced deposits is sent anyway, so the L1 -- not this process -- refuses it.
        self.let_l1_refuse_ignored_forced = let_l1_refuse_ignored_forced
        self.store = store
        self.config = config
        self.proposer_key = proposer_key
        self.safe_confirmations = safe_confirmations
        self.rollup_id = access.info.rollup_id
        self._origin: bytes | None = None
        self.last_error: str | None = None
        #: FinalizeBatch transactions sent and not yet seen committed, by batch number.
        self._finalizing: dict[int, bytes] = {}
        #: The last rollup-cell transaction this process sent (SubmitBatch or FinalizeBatch):
        #: the rollup cell is a singleton, so the next one waits until it is committed.
        self._last_rollup_tx: bytes | None = None

    # ------------------------------------------------------------------ BatchPoster
    def get_l1_origin(self) -> bytes:
        """The L1 tip's hash (the last one seen if the L1 is unreachable right now)."""
        try:
            self._origin = compute_header_hash(self.access.get().client.get_tip_header())
        except Exception as exc:
            if self._origin is None:
                raise
            log.warning("L1 tip unavailable (%s); the batch builds on the last one seen", exc)
        return self._origin

    def post(self, batch: SealedBatch) -> bytes | None:
        l1 = self.access.get()
        rollup = l1.find_rollup_cell(self.rollup_id)
        on_l1 = rollup.state.next_batch_number
        if on_l1 > batch.number:
            return self._reconcile(l1, batch)
        if on_l1 < batch.number:
            return None  # the previous batch is not committed yet
        intent = self._get_intent(batch.number)
        if intent is not None:
            status = self._tx_status(l1, intent)
            if status in LIVE_TX_STATUSES:
                log.warning(
                    "batch %d: its L1 transaction 0x%s is already out (%s); not sending another",
                    batch.number,
                    intent.hex(),
                    status,
                )
                return intent
        if self._rollup_busy(l1):
            return None
        problem = self._unpostable_reason(batch, rollup.state)
        if problem is not None:
            raise UnpostableBatch(
                batch.number,
                problem,
                state_root=rollup.state.state_root,
                next_deposit_index=rollup.state.next_deposit_index,
                pending_forced=tuple(rollup.state.pending_forced),
            )
        commitment = batch.commitment
        proof = None
        if self.prover is not None:
            # Validity mode: the batch goes to L1 with its proof, or not yet (in order).
            proof = self.prover.get_proof(batch)
            if proof is None:
                return None
        sidecars = l1.compute_sidecars(batch.compute_blobs(self.config))
        if [s.versioned_hash for s in sidecars] != list(commitment.blob_versioned_hashes):
            raise RuntimeError(f"batch {batch.number}: blob versioned hashes differ from its seal")
        deposit_cells = self._deposit_cells(
            l1, batch, rollup.state.next_deposit_index, rollup.state
        )
        if proof is not None:
            tx = l1.build_submit_proven_batch(
                self.rollup_id,
                self.proposer_key,
                commitment,
                batch.new_accounts_root,
                batch.new_next_account_index,
                proof,
                deposit_cells,
                self._withdrawals(batch),
                pending_out_points=self._pending_out_points(batch, rollup.state),
                rollup=rollup,
            )
        else:
            tx = l1.build_submit_batch(
                self.rollup_id,
                self.proposer_key,
                commitment,
                batch.new_accounts_root,
                batch.new_next_account_index,
                deposit_cells,
                rollup=rollup,
            )
        tx_hash = compute_tx_hash(tx)
        self._set_intent(batch.number, tx_hash)
        try:
            l1.send(tx, sidecars)
        except L1RpcError:
            if self._tx_status(l1, tx_hash) not in LIVE_TX_STATUSES:
                raise
        self._last_rollup_tx = tx_hash
        crashpoint("after_l1_submit")
        log.info("batch %d posted in L1 transaction 0x%s", batch.number, tx_hash.hex())
        return tx_hash

    def status(self, batch: SealedBatch) -> BatchStatus:
        if batch.l1_tx_hash is None:
            return "sealed"
        l1 = self.access.get()
        tx_status = l1.client.call("get_transaction", "0x" + batch.l1_tx_hash.hex())["tx_status"]
        status = tx_status["status"]
        if status == "committed":
            block = int(tx_status["block_number"], 16)
            tip = l1.client.get_tip_block_number()
            # The batch cells first, then the rollup cell: a FinalizeBatch or a revert landing
            # in between then shows in the rollup state, never as a batch cell gone missing.
            cell = l1.find_batch_cell(self.rollup_id, batch.number)
            rollup = l1.find_rollup_cell(self.rollup_id)
            state = rollup.state
            if batch.number < state.next_final_batch:
                if self.prover is not None:
                    # A proven batch is final in the block that includes it, and its
                    # withdrawal cells are that transaction's outputs 1 .. (docs/validity.md).
                    self._note_proven(batch.number, batch.l1_tx_hash)
                else:
                    self._note_finalized(l1, batch.number)
                return "final"
            if (
                batch.number >= state.next_batch_number
                or cell is None
                or cell.commitment != batch.commitment
            ):
                return "reverted"
            if batch.number == state.next_final_batch:
                self._finalize_when_due(l1, batch, cell, rollup, tip)
            return "safe" if tip - block >= self.safe_confirmations else "posted"
        if status in LIVE_TX_STATUSES:
            return "posted"
        log.warning(
            "batch %d: L1 transaction 0x%s is %s (reorged out or dropped); it goes back to sealed",
            batch.number,
            batch.l1_tx_hash.hex(),
            status,
        )
        return "sealed"

    def revert_refusal(self) -> UnpostableBatch:
        """The L1 reverted batches (``status`` said ``reverted``): the rollup state they must be
        re-sequenced against, from its ``next_batch_number`` on."""
        state = self.access.get().find_rollup_cell(self.rollup_id).state
        return UnpostableBatch(
            state.next_batch_number,
            f"the L1 reverted the batches from {state.next_batch_number} (a challenger won a "
            "dispute game)",
            state_root=state.state_root,
            next_deposit_index=state.next_deposit_index,
            pending_forced=tuple(state.pending_forced),
        )

    # ------------------------------------------------------------------ finalization
    def _finalize_when_due(
        self, l1: RollupL1, batch: SealedBatch, cell: BatchCellView, rollup: RollupCell, tip: int
    ) -> None:
        """Send the FinalizeBatch of ``batch`` (the rollup's ``next_final_batch``) once its batch
        cell is a challenge window old with no open game -- unless one is already out."""
        state = rollup.state
        if cell.batch.open_games or tip - cell.block_number < state.challenge_window:
            return
        sent = self._finalizing.get(batch.number)
        if sent is not None and self._tx_status(l1, sent) in LIVE_TX_STATUSES:
            return
        if self._rollup_busy(l1):
            return
        withdrawals = self._withdrawals(batch)
        root = compute_withdrawals_root(
            [Withdrawal(e.from_index, e.nonce, owner, e.amount) for e, owner in withdrawals],
            self.config,
        )
        if root != batch.commitment.withdrawals_root:
            raise RuntimeError(
                f"batch {batch.number}: its withdrawals fold to 0x{root.hex()}, not the "
                f"commitment's 0x{batch.commitment.withdrawals_root.hex()}: cannot finalize"
            )
        tx = l1.build_finalize_batch(
            self.rollup_id, self.proposer_key, withdrawals, batch=cell, rollup=rollup
        )
        tx_hash = compute_tx_hash(tx)
        try:
            l1.send(tx)
        except L1RpcError:
            if self._tx_status(l1, tx_hash) not in LIVE_TX_STATUSES:
                raise
        self._finalizing[batch.number] = tx_hash
        self._last_rollup_tx = tx_hash
        with self.store.begin() as conn:
            self.store.set_meta(conn, finalize_meta_key(batch.number), tx_hash.hex())
        log.info("batch %d: FinalizeBatch sent in L1 transaction 0x%s", batch.number, tx_hash.hex())

    def _note_finalized(self, l1: RollupL1, number: int) -> None:
        """Make sure the store knows the committed FinalizeBatch of final batch ``number`` (the
        one we sent, or -- if someone else finalized it or a crash lost the record -- the one
        found by scanning the L1)."""
        self._finalizing.pop(number, None)
        key = finalize_meta_key(number)
        with self.store.read() as conn:
            raw = self.store.get_meta(conn, key)
        if raw is not None and self._tx_status(l1, bytes.fromhex(raw)) == "committed":
            return
        found = l1.scan(self.rollup_id, self.access.info.start_block).get_finalization(number)
        if found is None:
            log.warning("batch %d is final but its FinalizeBatch was not found on L1", number)
            return
        with self.store.begin() as conn:
            self.store.set_meta(conn, key, found.tx_hash.hex())

    def _note_proven(self, number: int, tx_hash: bytes) -> None:
        key = finalize_meta_key(number)
        with self.store.read() as conn:
            known = self.store.get_meta(conn, key)
        if known != tx_hash.hex():
            with self.store.begin() as conn:
                self.store.set_meta(conn, key, tx_hash.hex())

    # ------------------------------------------------------------------ helpers
    def _pending_out_points(self, batch: SealedBatch, state: Any) -> list[OutPoint]:
        """The out points of the pending (forced) deposits ``batch`` consumes: the L1 keeps them
        only as hashes, so a SubmitProvenBatch names them (from the store's deposit queue)."""
        commitment = batch.commitment
        end = min(commitment.deposit_end, state.next_deposit_index + len(state.pending_forced))
        with self.store.read() as conn:
            queue = {d.deposit_index: d for d in self.store.load_deposits(conn)}
        out_points = []
        for index in range(commitment.deposit_start, end):
            deposit = queue.get(index)
            if deposit is None:
                raise RuntimeError(f"pending deposit {index} of batch {batch.number} is not stored")
            out_points.append(OutPoint.deserialize(deposit.out_point))
        return out_points

    def _reconcile(self, l1: RollupL1, batch: SealedBatch) -> bytes:
        """The rollup cell is past ``batch``: find its SubmitBatch on L1 (R2)."""
        seen = self._find_batch_tx(l1, batch.number)
        if seen is None:
            raise RuntimeError(
                f"the rollup cell is past batch {batch.number} but no SubmitBatch for it was found"
            )
        if seen.commitment != batch.commitment:
            raise RuntimeError(
                f"L1 holds a different batch {batch.number} (0x{seen.tx_hash.hex()}) than the "
                "one sealed in the store: refusing to post anything (operator action needed)"
            )
        log.warning(
            "batch %d is already on L1 in 0x%s (reconciled)", batch.number, seen.tx_hash.hex()
        )
        return seen.tx_hash

    def _find_batch_tx(self, l1: RollupL1, number: int) -> RollupTxSeen | None:
        scan = l1.scan(self.rollup_id, self.access.info.start_block)
        found = [
            b
            for b in scan.batches
            if b.commitment is not None and b.commitment.batch_number == number
        ]
        return found[-1] if found else None

    def _unpostable_reason(self, batch: SealedBatch, state: Any) -> str | None:
        """Why the L1 can never accept ``batch`` as sealed on the rollup ``state`` (the rollup
        cell is at this batch's number), or ``None``."""
        commitment = batch.commitment
        if commitment.prev_root != state.state_root:
            return (
                f"batch {batch.number} builds on root 0x{commitment.prev_root.hex()} but the "
                f"rollup's state root is 0x{state.state_root.hex()}"
            )
        if commitment.deposit_start != state.next_deposit_index:
            return (
                f"batch {batch.number} starts at deposit {commitment.deposit_start}, the L1 "
                f"queue is at {state.next_deposit_index}"
            )
        required = min(len(state.pending_forced), self.config.preset.max_txs_per_batch)
        if commitment.deposit_count < required and not self.let_l1_refuse_ignored_forced:
            return (
                f"batch {batch.number} consumes {commitment.deposit_count} deposits but "
                f"{len(state.pending_forced)} deposits are pending from "
                f"{state.next_deposit_index} (at least {required} must come first)"
            )
        return None

    def _deposit_cells(
        self, l1: RollupL1, batch: SealedBatch, next_index: int, state: Any
    ) -> list[DepositCell]:
        """The deposit inputs: the batch's deposits after the pending forced ones."""
        commitment = batch.commitment
        if commitment.deposit_start != next_index:
            raise RuntimeError(
                f"batch {batch.number} starts at deposit {commitment.deposit_start}, the L1 "
                f"queue is at {next_index}"
            )
        first_input = next_index + len(state.pending_forced)
        required = min(len(state.pending_forced), self.config.preset.max_txs_per_batch)
        if commitment.deposit_count < required and self.let_l1_refuse_ignored_forced:
            log.warning(
                "FAULT: batch %d ignores %d pending forced deposits; sent anyway for the L1 to "
                "refuse",
                batch.number,
                len(state.pending_forced),
            )
            return []
        if commitment.deposit_count < required:
            raise RuntimeError(
                f"batch {batch.number} ends at deposit {commitment.deposit_end} but "
                f"{len(state.pending_forced)} deposits are pending from {next_index}"
            )
        if commitment.deposit_end <= first_input:
            return []  # only pending deposits: they are in the custodian already
        with self.store.read() as conn:
            queue = {d.deposit_index: d for d in self.store.load_deposits(conn)}
        cells = []
        for index in range(first_input, commitment.deposit_end):
            deposit: L1Deposit | None = queue.get(index)
            if deposit is None:
                raise RuntimeError(f"deposit {index} of batch {batch.number} is not in the store")
            out_point = OutPoint.deserialize(deposit.out_point)
            live = l1.get_live_cell(out_point)
            if live is None:
                raise RuntimeError(
                    f"deposit {index} (cell {out_point}) of batch {batch.number} is no longer "
                    "live on L1"
                )
            cells.append(
                DepositCell(out_point, live.output, DepositArgs.decode(live.output.lock.args))
            )
        return cells

    def _withdrawals(self, batch: SealedBatch) -> list[tuple[WithdrawalEntry, bytes]]:
        out = []
        for record in batch.records:
            tx = decode_record(record, self.config.profile)
            if isinstance(tx, Withdraw):
                out.append((WithdrawalEntry(tx.from_index, tx.nonce, tx.amount), tx.l1_recipient))
        return out

    def _rollup_busy(self, l1: RollupL1) -> bool:
        """Whether our last rollup-cell transaction is still uncommitted in the pool."""
        last = self._last_rollup_tx
        return last is not None and self._tx_status(l1, last) in ("pending", "proposed")

    @staticmethod
    def _tx_status(l1: RollupL1, tx_hash: bytes) -> str:
        return l1.get_tx_status(tx_hash)

    def _get_intent(self, number: int) -> bytes | None:
        with self.store.read() as conn:
            raw = self.store.get_meta(conn, f"post_intent:{number}")
        return None if raw is None else bytes.fromhex(raw)

    def _set_intent(self, number: int, tx_hash: bytes) -> None:
        with self.store.begin() as conn:
            self.store.set_meta(conn, f"post_intent:{number}", tx_hash.hex())


# ----------------------------------------------------------------------------- bootstrap
def bootstrap_l1(seq: Sequencer) -> None:
    """Find (store meta, or the configured rollup id) or deploy the rollup; then give the
    sequencer its rollup config, an ``L1Poster`` (unless a poster was injected) and a
    ``DepositWatcher``.  Deploying needs the L1 reachable (``StartupError`` otherwise)."""
    from sequencer.l1watch import DepositWatcher

    settings = seq.settings
    assert settings.l1_url is not None
    store = seq.store
    try:
        proposer_key = settings.proposer_private_key()
    except ValueError as exc:
        raise StartupError(str(exc)) from None
    with store.read() as conn:
        raw = store.get_meta(conn, ROLLUP_META)
    if raw is not None:
        info = RollupInfo.from_json(raw)
        if settings.rollup_id is not None and bytes.fromhex(settings.rollup_id) != info.rollup_id:
            raise StartupError(
                f"the data dir belongs to rollup {info.rollup_id.hex()}, "
                f"not the configured {settings.rollup_id}"
            )
    else:
        if settings.rollup_id is not None:
            info = RollupInfo(bytes.fromhex(settings.rollup_id), None, None, 0)
        else:
            info = _deploy(seq, settings.l1_url, proposer_key)
        with store.begin() as conn:
            store.set_meta(conn, ROLLUP_META, info.to_json())
    seq._build_core(settings.rollup_config(info.rollup_id))
    seq.batcher.max_backoff = settings.l1_max_backoff
    if isinstance(seq.poster, NullPoster):
        prover = None
        if settings.prover_url is not None:
            prover = BatchProver(
                ProverClient(settings.prover_url),
                store,
                seq.config,
                seq.genesis,
                timeout=settings.proof_timeout,
            )
        seq.poster = L1Poster(
            L1Access(settings.l1_url, info),
            store,
            seq.config,
            proposer_key,
            safe_confirmations=settings.safe_confirmations,
            let_l1_refuse_ignored_forced=settings.ignored_deposit_key() is not None,
            prover=prover,
        )
    seq.watcher = DepositWatcher(
        seq,
        L1Access(settings.l1_url, info),
        confirmations=settings.deposit_confirmations,
        interval=settings.l1_poll_interval,
        max_backoff=settings.l1_max_backoff,
    )


def _deploy(seq: Sequencer, url: str, proposer_key: bytes) -> RollupInfo:
    settings = seq.settings
    client = L1Client(url, timeout=10.0)
    try:
        l1 = RollupL1(client)
        start = client.get_tip_block_number()
        genesis = create_genesis_state(seq.config, settings.genesis())
        vk_cell, vk_hash = None, bytes(32)
        if settings.prover_url is not None:
            vk_cell, vk_hash = _deploy_verifying_key(l1, settings.prover_url, proposer_key)
        params = RollupParams(
            chain_id=settings.chain_id,
            bond=settings.bond,
            challenge_window=settings.challenge_window,
            forced_inclusion_window=settings.forced_inclusion_window,
            escape_timeout=settings.escape_timeout,
            l2_preset=settings.preset,
            genesis_root=genesis.get_root(),
            proposer_lock_hash=l1.lock_hash_of(proposer_key),
            game_clock=settings.game_clock,
            burn_permille=settings.burn_permille,
            fee_account=settings.fee_account,
            verifying_key_hash=vk_hash,
        )
        handle = l1.deploy_rollup(proposer_key, params)
    except StartupError:
        raise
    except Exception as exc:
        raise StartupError(f"cannot deploy the rollup on the L1 at {url}: {exc}") from None
    finally:
        client.close()
    log.warning(
        "deployed rollup 0x%s (creation tx 0x%s); it is usable once that transaction commits",
        handle.rollup_id.hex(),
        handle.creation_tx_hash.hex(),
    )
    return RollupInfo(
        handle.rollup_id, handle.type_script.args, handle.creation_tx_hash, start, vk_cell
    )


#: How long the deployment waits for the verification-key cell to commit (seconds).
VERIFYING_KEY_COMMIT_TIMEOUT = 120.0


def _deploy_verifying_key(
    l1: RollupL1, prover_url: str, proposer_key: bytes
) -> tuple[OutPoint, bytes]:
    """A validity rollup registers the prover's verification key: fetch it (snarkjs JSON) from
    the prover service, put its compact encoding in a cell, and wait until that cell is
    committed (the rollup's creation is funded from the same key).  Returns the cell and the
    key's data hash, which the rollup cell registers."""
    with ProverClient(prover_url) as client:
        try:
            vk_json = client.get_verification_key()
        except Exception as exc:
            raise StartupError(
                f"the prover at {prover_url} did not give its verification key: {exc}"
            ) from None
    vk_bytes = groth16.encode_verifying_key(groth16.decode_verifying_key_json(vk_json))
    out_point = l1.deploy_verifying_key(proposer_key, vk_bytes)
    deadline = time.monotonic() + VERIFYING_KEY_COMMIT_TIMEOUT
    while l1.get_tx_status(out_point.tx_hash) != "committed":
        if time.monotonic() > deadline:
            raise StartupError(
                f"the verification key cell 0x{out_point.tx_hash.hex()} did not commit within "
                f"{VERIFYING_KEY_COMMIT_TIMEOUT:g} s"
            )
        time.sleep(0.5)
    log.info("verification key deployed in cell %s", out_point)
    return out_point, compute_data_hash(vk_bytes)
