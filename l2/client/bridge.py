"""Building and reading the rollup's L1 transactions over a real node (docs/rollup-on-l1.md is
the spec every transaction here is built for; validity rollups: docs/validity.md §5).

``RollupL1`` wraps an ``l1.client.L1Client``: it discovers the rollup's system scripts, deploys a
rollup cell, makes deposits, submits batches (a blob transaction whose sidecars carry the batch
data; the batch cell holds the bond), finalizes them once their challenge window passed with no
open game (FinalizeBatch creates the withdrawal cells), forces deposits, runs the escape hatch
and claims withdrawals (docs/disputes.md; the dispute transactions are ``l2.client.disputes``).
A validity rollup instead deploys its verification key cell (``deploy_verifying_key``) and
posts proven batches (``submit_proven_batch``), final at once with their withdrawal cells. ``RollupL1.scan`` reads the
rollup's history from L1 blocks alone, and ``derive_l1_deposits`` turns it into the L2's deposit
queue by the L1's rule (pending deposits first, in queue order; then each SubmitBatch's deposit
inputs in input order; a revert gives deposits back at their indices) -- what a follower needs, with the batch blobs
(``RollupL1.fetch_batch_inputs``), to derive the L2 state from L1 alone.

Conventions:

- Keys are 32-byte secp256k1 private keys; the wallet lock is the node's default lock
  (``secp256k1_blake160_sighash_all``). Every lock group that needs a signature is signed
  separately (rollup, custodian and deposit cells need none when the rollup cell is an input).
- One rollup transaction per block: the rollup cell is a singleton and ``find_rollup_cell`` reads
  the *committed* one, so callers mine (or wait for) a block between rollup transactions. Inputs
  of transactions this object sent are remembered and never selected again as funding.
- Fees are a flat ``fee`` shannons per transaction (far above the pool's minimum rate for the
  sizes built here).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import coincurve

from l1.ckb.hashes import compute_data_hash, compute_script_hash, compute_tx_hash
from l1.ckb.json import (
    bytes_to_json,
    cell_output_from_json,
    out_point_to_json,
    quantity_from_json,
    script_to_json,
    transaction_from_json,
    transaction_to_json,
)
from l1.ckb.molecule import MoleculeError
from l1.ckb.since import SinceMetric, encode_since
from l1.ckb.types import (
    HASH_TYPE_TYPE,
    CellDep,
    CellInput,
    CellOutput,
    OutPoint,
    RawTransaction,
    Script,
    Transaction,
    WitnessArgs,
)
from l1.client import L1Client, L1RpcError, LiveCell, build_transfer
from l1.core.blobs import BlobSidecar, compute_blob_sidecar
from l1.core.capacity import compute_occupied_capacity
from l1.core.scripts.rollup.layout import (
    BURN_LOCK,
    OPTIMISTIC_VERIFYING_KEY_HASH,
    BatchCell,
    DepositArgs,
    EscapeHatch,
    FinalizeBatch,
    ForceDeposit,
    InvalidRollupEncoding,
    RevertBatches,
    RollupAction,
    RollupState,
    SubmitBatch,
    SubmitProvenBatch,
    WithdrawalArgs,
    WithdrawalEntry,
    compute_deposit_hash,
    compute_deposits_root,
    decode_action,
    encode_action,
)
from l1.core.scripts.rollup.state import get_rollup_profile
from l1.core.scripts.secp256k1 import compute_lock_args, sign_sighash_all
from l1.core.scripts.type_id import compute_type_id_args
from l2.batch import BatchCommitment
from l2.derive import BatchInput
from l2.errors import InvalidPublicKey
from l2.profile import OPTIMISTIC, VALIDITY
from l2.tx import L1Deposit

__all__ = [
    "DEFAULT_FEE",
    "DEFAULT_ROLLUP_CAPACITY",
    "SECP256K1",
    "BatchCellView",
    "DepositCell",
    "DepositSeen",
    "RollupCell",
    "RollupHandle",
    "RollupL1",
    "RollupParams",
    "RollupTxSeen",
    "ScanResult",
    "WithdrawalCell",
    "derive_l1_deposits",
    "relative_blocks",
]

SECP256K1: Final = "secp256k1_blake160_sighash_all"
ROLLUP_SCRIPT_NAMES: Final = (
    "rollup_state",
    "rollup_deposit_lock",
    "rollup_custodian_lock",
    "rollup_batch",
    "rollup_withdrawal_lock",
    "rollup_game",
)
SHANNONS_PER_CKB: Final = 100_000_000
#: Flat fee per transaction, in shannons (0.001 CKB).
DEFAULT_FEE: Final = 100_000
#: The rollup cell's capacity at creation: enough for its v2 data with 32 pending deposits
#: (163 + 32·32 bytes of data, two 65-byte scripts, 8 bytes of capacity: 1,325 CKB), so
#: ForceDeposit never needs to grow it. A revert may give more deposits back to the pending
#: list; every builder here then raises the capacity to the occupied size from the payer's funds.
DEFAULT_ROLLUP_CAPACITY: Final = 2_000 * SHANNONS_PER_CKB


def relative_blocks(blocks: int) -> int:
    """A relative block-number ``since`` (RFC 0017) of ``blocks``."""
    return encode_since(True, SinceMetric.BLOCK_NUMBER, blocks)


def _public_key(private_key: bytes) -> bytes:
    return coincurve.PrivateKey(private_key).public_key.format(compressed=True)


def _decode_witness_action(tx: Transaction, index: int) -> RollupAction | None:
    """The action in input ``index``'s witness (None if absent or malformed: the L1 accepted
    the transaction, so this only happens for a transaction this module cannot read)."""
    try:
        witness = WitnessArgs.deserialize(tx.witnesses[index])
        return decode_action(witness.input_type or b"")
    except (IndexError, MoleculeError, InvalidRollupEncoding):
        return None


# ----------------------------------------------------------------------------- values
@dataclass(frozen=True, slots=True)
class RollupParams:
    """What a rollup is deployed with (its ``RollupState`` config and genesis root)."""

    chain_id: int
    bond: int
    challenge_window: int
    forced_inclusion_window: int
    escape_timeout: int
    l2_preset: str
    genesis_root: bytes
    proposer_lock_hash: bytes
    #: Blocks each side of a dispute game has for all its moves (docs/disputes.md §4).
    game_clock: int = 20
    #: Burnt share of a lost bond, per mille.
    burn_permille: int = 500
    #: The L2 account credited with fees (the one-step proof runs the STF with it).
    fee_account: int = 0
    #: ckbhash of the Groth16 verification key's cell data (``RollupL1.deploy_verifying_key``)
    #: for a validity rollup; all zero (the default) for an optimistic one.
    verifying_key_hash: bytes = OPTIMISTIC_VERIFYING_KEY_HASH

    def initial_state(self) -> RollupState:
        return RollupState(
            chain_id=self.chain_id,
            proposer_lock_hash=self.proposer_lock_hash,
            bond=self.bond,
            challenge_window=self.challenge_window,
            forced_inclusion_window=self.forced_inclusion_window,
            escape_timeout=self.escape_timeout,
            game_clock=self.game_clock,
            burn_permille=self.burn_permille,
            fee_account=self.fee_account,
            l2_preset=self.l2_preset,
            next_batch_number=0,
            next_final_batch=0,
            state_root=self.genesis_root,
            next_deposit_index=0,
            idle_blocks=0,
            verifying_key_hash=self.verifying_key_hash,
        )


@dataclass(frozen=True, slots=True)
class RollupHandle:
    """A deployed rollup: its id (the rollup cell's type hash) and that type script; for a
    validity rollup, the cell dep holding its verification key (what SubmitProvenBatch needs)."""

    rollup_id: bytes
    type_script: Script
    creation_tx_hash: bytes
    verifying_key_dep: CellDep | None = None


@dataclass(frozen=True, slots=True)
class RollupCell:
    """The live rollup cell and its decoded state."""

    out_point: OutPoint
    output: CellOutput
    data: bytes
    state: RollupState
    block_number: int


@dataclass(frozen=True, slots=True)
class DepositCell:
    """A deposit cell of a rollup: its amount is its whole capacity."""

    out_point: OutPoint
    output: CellOutput
    args: DepositArgs

    @property
    def amount(self) -> int:
        return self.output.capacity

    def l2_public_key(self, key_size: int = OPTIMISTIC.public_key_size) -> bytes:
        """The L2 key for a profile with ``key_size``-byte keys (the slot's prefix: a validity
        deposit's 32-byte key is followed by one zero byte)."""
        return self.args.l2_public_key(key_size)

    def deposit_hash(self, key_size: int = OPTIMISTIC.public_key_size) -> bytes:
        """What a ForceDeposit records in the rollup state's pending list (over the key as the
        rollup's profile reads it: pass ``VALIDITY.public_key_size`` for a validity rollup)."""
        return compute_deposit_hash(self.out_point, self.l2_public_key(key_size), self.amount)


@dataclass(frozen=True, slots=True)
class WithdrawalCell:
    """A withdrawal cell created by a FinalizeBatch; ``entry`` is the action's entry for it (its
    ``amount`` may be below the capacity when the finalizer topped the cell up)."""

    out_point: OutPoint
    output: CellOutput
    args: WithdrawalArgs
    entry: WithdrawalEntry | None = None


@dataclass(frozen=True, slots=True)
class BatchCellView:
    """A live batch cell of a rollup (``RollupL1.find_batch_cells``): committed in
    ``block_number`` (its challenge window runs from there: a challenge re-creates the cell)."""

    out_point: OutPoint
    output: CellOutput
    batch: BatchCell
    block_number: int

    @property
    def number(self) -> int:
        return self.batch.commitment.batch_number

    @property
    def commitment(self) -> BatchCommitment:
        return self.batch.commitment


@dataclass(frozen=True, slots=True)
class DepositSeen:
    """A deposit cell of the rollup created in block ``block_number``."""

    block_number: int
    tx_hash: bytes
    cell: DepositCell


@dataclass(frozen=True, slots=True)
class RollupTxSeen:
    """A transaction that created or updated the rollup cell.

    ``action`` is None for the creation. ``absorbed`` are the deposit inputs (ForceDeposit,
    SubmitBatch and SubmitProvenBatch) in input order. A SubmitBatch sets ``batch`` (the new
    batch cell), ``commitment`` and ``batch_out_point``; a FinalizeBatch sets ``batch`` (the
    consumed batch cell) and ``withdrawals`` (the withdrawal cells it created, with their
    entries). A SubmitProvenBatch is both: no batch cell, ``commitment`` from the action and
    ``withdrawals`` created at once. ``prev_state`` is the state of the consumed rollup cell
    (None at creation)."""

    block_number: int
    tx_hash: bytes
    action: RollupAction | None
    prev_state: RollupState | None
    state: RollupState
    rollup_out_point: OutPoint
    absorbed: tuple[DepositCell, ...] = ()
    commitment: BatchCommitment | None = None
    batch_out_point: OutPoint | None = None
    withdrawals: tuple[WithdrawalCell, ...] = ()
    batch: BatchCell | None = None

    @property
    def next_queue_index(self) -> int:
        """The deposit-queue index the next absorbed deposit gets after this transaction."""
        return self.state.next_deposit_index + len(self.state.pending_forced)

    @property
    def batch_number(self) -> int | None:
        """The batch a SubmitBatch created, a FinalizeBatch finalized or a SubmitProvenBatch
        created final (None otherwise)."""
        if self.batch is not None:
            return self.batch.commitment.batch_number
        if self.commitment is not None:
            return self.commitment.batch_number
        return None


ScanEvent = DepositSeen | RollupTxSeen


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What ``RollupL1.scan`` saw in blocks ``from_block..to_block``, in L1 order.

    Batch history: a SubmitBatch appends a batch, ``RevertBatches(k)`` removes the batches
    ``>= k`` (``valid_batches`` is what is left, ``reverted_batches`` what was removed), a
    FinalizeBatch makes the oldest unfinalized batch final (``is_final``). A SubmitProvenBatch
    (validity rollups) appends a batch that is final at once: it is among ``batches`` and
    ``finalizations``, and its withdrawal cells among ``withdrawals``."""

    rollup_id: bytes
    from_block: int
    to_block: int
    events: tuple[ScanEvent, ...] = ()

    @property
    def deposits(self) -> tuple[DepositSeen, ...]:
        return tuple(e for e in self.events if isinstance(e, DepositSeen))

    @property
    def rollup_txs(self) -> tuple[RollupTxSeen, ...]:
        return tuple(e for e in self.events if isinstance(e, RollupTxSeen))

    @property
    def batches(self) -> tuple[RollupTxSeen, ...]:
        """Every SubmitBatch and SubmitProvenBatch transaction seen (each with its
        ``commitment``), reverted ones included: see ``valid_batches``."""
        return tuple(
            e for e in self.rollup_txs if isinstance(e.action, SubmitBatch | SubmitProvenBatch)
        )

    @property
    def forced(self) -> tuple[RollupTxSeen, ...]:
        return tuple(e for e in self.rollup_txs if isinstance(e.action, ForceDeposit))

    @property
    def finalizations(self) -> tuple[RollupTxSeen, ...]:
        """The FinalizeBatch and SubmitProvenBatch transactions (each with its ``batch_number``
        and ``withdrawals``)."""
        return tuple(
            e for e in self.rollup_txs if isinstance(e.action, FinalizeBatch | SubmitProvenBatch)
        )

    @property
    def reverts(self) -> tuple[RollupTxSeen, ...]:
        """The RevertBatches transactions."""
        return tuple(e for e in self.rollup_txs if isinstance(e.action, RevertBatches))

    def _chain(self) -> tuple[list[RollupTxSeen], list[RollupTxSeen]]:
        valid: list[RollupTxSeen] = []
        reverted: list[RollupTxSeen] = []
        for event in self.rollup_txs:
            if (
                isinstance(event.action, SubmitBatch | SubmitProvenBatch)
                and event.commitment is not None
            ):
                valid.append(event)
            elif isinstance(event.action, RevertBatches):
                k = event.action.batch_number
                reverted.extend(b for b in valid if (b.batch_number or 0) >= k)
                valid = [b for b in valid if (b.batch_number or 0) < k]
        return valid, reverted

    @property
    def valid_batches(self) -> tuple[RollupTxSeen, ...]:
        """The SubmitBatch (or SubmitProvenBatch) transactions of the batches the L1 still
        holds, in batch order (every RevertBatches applied)."""
        return tuple(self._chain()[0])

    @property
    def reverted_batches(self) -> tuple[RollupTxSeen, ...]:
        """The SubmitBatch transactions a RevertBatches removed, in L1 order."""
        return tuple(self._chain()[1])

    @property
    def next_final_batch(self) -> int:
        """Every batch below this is final (the last rollup state seen; 0 if none)."""
        last = self.last_rollup_tx
        return 0 if last is None else last.state.next_final_batch

    def is_final(self, seen: RollupTxSeen) -> bool:
        """Whether the batch ``seen`` created is in the valid chain and final on L1."""
        number = seen.batch_number
        return (
            number is not None
            and number < self.next_final_batch
            and any(b.tx_hash == seen.tx_hash for b in self.valid_batches)
        )

    def is_reverted(self, seen: RollupTxSeen) -> bool:
        return any(b.tx_hash == seen.tx_hash for b in self.reverted_batches)

    def get_finalization(self, batch_number: int) -> RollupTxSeen | None:
        """The FinalizeBatch of ``batch_number`` (None if not seen)."""
        found = [f for f in self.finalizations if f.batch_number == batch_number]
        return found[-1] if found else None

    @property
    def withdrawals(self) -> tuple[WithdrawalCell, ...]:
        """The withdrawal cells created (by FinalizeBatch or SubmitProvenBatch), in L1 order."""
        return tuple(w for e in self.finalizations for w in e.withdrawals)

    @property
    def last_rollup_tx(self) -> RollupTxSeen | None:
        txs = self.rollup_txs
        return txs[-1] if txs else None


def derive_l1_deposits(
    scan: ScanResult, pending: Sequence[DepositCell] = ()
) -> Iterator[L1Deposit]:
    """The L2 ``L1Deposit``s of the scanned range in queue order (docs/rollup-on-l1.md "Deposit
    queue"): indices are assigned when the L1 absorbs a deposit -- a ForceDeposit's inputs in
    input order when forced, a SubmitBatch's deposit inputs in input order after the pending
    ones. A RevertBatches gives the reverted batches' deposits back to the front of the pending
    list: they keep their queue indices (``next_deposit_index + len(pending)`` does not move),
    so every deposit is yielded once, at the index it got when absorbed. ``pending`` are deposit cells a proposer is about to absorb with the next
    SubmitBatch, in the input order it will use; they get the indices after everything scanned
    (what the sequencer needs to build that batch).

    The first index comes from the first rollup transaction seen, so the scan must include one
    (scan from the rollup's creation for the whole queue). Forced deposits pending before the
    scanned range are not visible here: their indices are skipped, not invented. A
    SubmitProvenBatch's deposit inputs count exactly like a SubmitBatch's. Each deposit's key is
    the one the rollup's profile reads from the deposit's key slot (32 bytes for a validity
    rollup, ``DepositArgs.l2_public_key``).
    """
    index: int | None = None
    key_size = OPTIMISTIC.public_key_size
    for event in scan.rollup_txs:
        prev = event.prev_state
        key_size = get_rollup_profile(event.state).public_key_size
        index = 0 if prev is None else prev.next_deposit_index + len(prev.pending_forced)
        for cell in event.absorbed:
            yield L1Deposit(
                cell.out_point.serialize(), index, cell.l2_public_key(key_size), cell.amount
            )
            index += 1
        index = event.next_queue_index
    if pending:
        if index is None:
            raise ValueError(
                "the scan saw no rollup transaction, so the next queue index is unknown "
                "(scan from the rollup's creation block)"
            )
        for cell in pending:
            yield L1Deposit(
                cell.out_point.serialize(), index, cell.l2_public_key(key_size), cell.amount
            )
            index += 1


# ----------------------------------------------------------------------------- the client
@dataclass(slots=True)
class _Funding:
    cells: list[LiveCell]
    total: int
    lock: Script


@dataclass(slots=True)
class RollupL1:
    """The rollup's L1 side over a node's JSON-RPC (see the module docstring)."""

    client: L1Client
    fee: int = DEFAULT_FEE
    code_hashes: dict[str, bytes] = field(default_factory=dict)
    cell_deps: dict[str, CellDep] = field(default_factory=dict)
    _handles: dict[bytes, RollupHandle] = field(default_factory=dict)
    _spent: set[OutPoint] = field(default_factory=set)
    #: Which of our transactions spent each out point in ``_spent`` (see ``_release_dropped``).
    _spent_by: dict[OutPoint, bytes] = field(default_factory=dict)
    _tx_cache: dict[bytes, Transaction] = field(default_factory=dict)
    _kzg: Any = None
    #: Verification key cells by data hash (``deploy_verifying_key``).
    verifying_key_deps: dict[bytes, CellDep] = field(default_factory=dict)

    def __post_init__(self) -> None:
        scripts = self.client.call("get_system_scripts")
        for name in (SECP256K1, *ROLLUP_SCRIPT_NAMES):
            if name not in scripts:
                raise L1RpcError(
                    0, f"the node deploys no system script {name!r} (it has {sorted(scripts)})"
                )
            info = scripts[name]
            self.code_hashes[name] = bytes.fromhex(info["code_hash"][2:])
            out_point = info["cell_dep"]["out_point"]
            self.cell_deps[name] = CellDep(
                OutPoint(
                    bytes.fromhex(out_point["tx_hash"][2:]),
                    quantity_from_json(out_point["index"], "index", 32),
                )
            )

    # ------------------------------------------------------------------ scripts
    def script(self, name: str, args: bytes) -> Script:
        """The system script ``name`` (``hash_type`` type) with ``args``."""
        return Script(self.code_hashes[name], HASH_TYPE_TYPE, args)

    def lock_of(self, private_key: bytes) -> Script:
        """The default (secp256k1) lock of a key."""
        return self.script(SECP256K1, compute_lock_args(_public_key(private_key)))

    def lock_hash_of(self, private_key: bytes) -> bytes:
        return compute_script_hash(self.lock_of(private_key))

    def custodian_lock(self, rollup_id: bytes) -> Script:
        return self.script("rollup_custodian_lock", rollup_id)

    def batch_type(self, rollup_id: bytes) -> Script:
        return self.script("rollup_batch", rollup_id)

    def deposit_lock(self, args: DepositArgs) -> Script:
        return self.script("rollup_deposit_lock", args.encode())

    def withdrawal_lock(self, args: WithdrawalArgs) -> Script:
        return self.script("rollup_withdrawal_lock", args.encode())

    @property
    def all_deps(self) -> tuple[CellDep, ...]:
        """The secp256k1 and the five rollup code cells: every rollup transaction carries them
        (output locks do not run, so a withdrawal output needs its code dep explicitly)."""
        return tuple(self.cell_deps[n] for n in (SECP256K1, *ROLLUP_SCRIPT_NAMES))

    def _is(self, script: Script | None, name: str, rollup_id: bytes) -> bool:
        return (
            script is not None
            and script.code_hash == self.code_hashes[name]
            and script.hash_type == HASH_TYPE_TYPE
            and script.args[:32] == rollup_id
        )

    # ------------------------------------------------------------------ reading
    def get_live_cell(self, out_point: OutPoint) -> LiveCell | None:
        """The live cell at ``out_point`` (None if dead or unknown); ``block_number`` is not
        served by ``get_live_cell`` and is -1."""
        result = self.client.call("get_live_cell", out_point_to_json(out_point), True)
        if result["status"] != "live" or result["cell"] is None:
            return None
        cell = result["cell"]
        return LiveCell(
            out_point,
            cell_output_from_json(cell["output"]),
            bytes.fromhex(cell["data"]["content"][2:]),
            -1,
        )

    def get_transaction(self, tx_hash: bytes) -> Transaction | None:
        """A committed or pending transaction (cached: transactions never change)."""
        if tx_hash in self._tx_cache:
            return self._tx_cache[tx_hash]
        result = self.client.call("get_transaction", bytes_to_json(tx_hash))
        if result is None or result.get("transaction") is None:
            return None
        tx = transaction_from_json(result["transaction"])
        if result["tx_status"]["status"] == "committed":
            self._tx_cache[tx_hash] = tx
        return tx

    def get_tx_status(self, tx_hash: bytes) -> str:
        return self.client.get_transaction_status(tx_hash)

    def find_rollup_cell(self, rollup_id: bytes) -> RollupCell:
        """The live (committed) rollup cell of ``rollup_id`` and its decoded state.

        Searched by its type script when this object knows it (``deploy_rollup``/``attach``),
        else among the cells locked by the rollup's custodian lock (which also holds custodian
        and batch cells) for the one whose type hash is the rollup id."""
        handle = self._handles.get(rollup_id)
        if handle is not None:
            cells = self._cells_by_type(handle.type_script)
        else:
            cells = [
                c
                for c in self.client.get_live_cells(self.custodian_lock(rollup_id))
                if c.output.type is not None and compute_script_hash(c.output.type) == rollup_id
            ]
        if len(cells) != 1:
            raise LookupError(
                f"expected one live rollup cell for {rollup_id.hex()}, found {len(cells)}"
            )
        cell = cells[0]
        return RollupCell(
            cell.out_point, cell.output, cell.data, RollupState.decode(cell.data), cell.block_number
        )

    def _cells_by_type(self, type_script: Script, limit: int | None = 100) -> list[LiveCell]:
        """Live cells whose type script is exactly ``type_script`` (the first ``limit``; all of
        them, page by page, for ``None``)."""
        cells: list[LiveCell] = []
        cursor: Any = None
        while True:
            page = self.client.call(
                "get_cells",
                {"script": script_to_json(type_script), "script_type": "type"},
                "asc",
                hex(100),
                *(() if cursor is None else (cursor,)),
            )
            objects = page["objects"]
            cells.extend(self._live_cells_of(objects))
            cursor = page.get("last_cursor")
            if limit is not None or len(objects) < 100 or not cursor:
                return cells if limit is None else cells[:limit]

    @staticmethod
    def _live_cells_of(objects: list[Any]) -> list[LiveCell]:
        return [
            LiveCell(
                OutPoint(
                    bytes.fromhex(obj["out_point"]["tx_hash"][2:]),
                    quantity_from_json(obj["out_point"]["index"], "index", 32),
                ),
                cell_output_from_json(obj["output"]),
                bytes.fromhex(obj["output_data"][2:]),
                quantity_from_json(obj["block_number"], "block_number"),
                quantity_from_json(obj["tx_index"], "tx_index", 32),
            )
            for obj in objects
        ]

    def attach(self, handle: RollupHandle) -> None:
        """Remember a rollup deployed elsewhere (so its cell is searched by type script)."""
        self._handles[handle.rollup_id] = handle

    def find_custodian_cells(self, rollup_id: bytes) -> list[LiveCell]:
        """Live custodian cells (custodian lock, no type) not spent by a transaction we sent."""
        return [
            c
            for c in self.client.get_live_cells(self.custodian_lock(rollup_id))
            if c.output.type is None and c.out_point not in self._spent
        ]

    def list_pending_deposits(self, rollup_id: bytes, from_block: int = 0) -> list[DepositCell]:
        """Live deposit cells of the rollup created since ``from_block``, in L1 order.

        The node's ``get_cells`` matches exact scripts only, and a deposit lock's args carry the
        depositor's key, so deposits are found by scanning blocks (``scan``)."""
        pending = []
        for seen in self.scan(rollup_id, from_block).deposits:
            if seen.cell.out_point in self._spent:
                continue
            if self.get_live_cell(seen.cell.out_point) is not None:
                pending.append(seen.cell)
        return pending

    def get_blob(self, versioned_hash: bytes) -> bytes:
        """A committed blob by versioned hash (JSON-RPC error if unknown or pruned)."""
        result = self.client.call("get_blob", bytes_to_json(versioned_hash))
        return bytes.fromhex(result["blob"][2:])

    def fetch_batch_inputs(self, scan: ScanResult) -> list[BatchInput]:
        """Each batch of the scan's valid chain (``ScanResult.valid_batches``) as an
        ``l2.derive.BatchInput``: its commitment, its blobs read back from the L1 by versioned
        hash, and exactly the deposit-queue entries it consumes (``deposit_start ..
        deposit_end``) -- the input of ``l2.derive.derive_state``."""
        queue = {d.deposit_index: d for d in derive_l1_deposits(scan)}
        inputs = []
        for seen in scan.valid_batches:
            commitment = seen.commitment
            assert commitment is not None
            blobs = tuple(self.get_blob(h) for h in commitment.blob_versioned_hashes)
            deposits = tuple(
                queue[i]
                for i in range(commitment.deposit_start, commitment.deposit_end)
                if i in queue
            )
            inputs.append(BatchInput(commitment, blobs, deposits))
        return inputs

    def find_batch_cells(self, rollup_id: bytes) -> list[BatchCellView]:
        """The live batch cells of ``rollup_id`` (found by the batch type script, whose args are
        exactly the rollup id), in batch order. Cells that do not decode are skipped."""
        views = []
        for cell in self._cells_by_type(self.batch_type(rollup_id), limit=None):
            try:
                batch = BatchCell.decode(cell.data)
            except InvalidRollupEncoding:
                continue
            views.append(BatchCellView(cell.out_point, cell.output, batch, cell.block_number))
        return sorted(views, key=lambda v: v.number)

    def find_batch_cell(self, rollup_id: bytes, batch_number: int) -> BatchCellView | None:
        """The live batch cell of ``batch_number`` (None if finalized, reverted or unknown)."""
        found = [v for v in self.find_batch_cells(rollup_id) if v.number == batch_number]
        return found[-1] if found else None

    # ------------------------------------------------------------------ scanning
    def scan(
        self, rollup_id: bytes, from_block: int = 0, to_block: int | None = None
    ) -> ScanResult:
        """Read the rollup's history from L1 blocks ``from_block..to_block`` (default: the tip):
        deposits created (found by their lock's code hash and rollup-id args prefix) and every
        transaction that created or updated the rollup cell, decoded (action, states, absorbed
        deposits, the batch commitment from the batch cell, withdrawal cells), in L1 order."""
        tip = self.client.get_tip_block_number() if to_block is None else to_block
        events: list[ScanEvent] = []
        for number in range(from_block, tip + 1):
            block = self.client.get_block_by_number(number)
            if block is None:
                break
            for tx in block.transactions[1:] if number > 0 else block.transactions:
                tx_hash = compute_tx_hash(tx)
                self._tx_cache.setdefault(tx_hash, tx)
                for index, output in enumerate(tx.raw.outputs):
                    if self._is(output.lock, "rollup_deposit_lock", rollup_id):
                        try:
                            args = DepositArgs.decode(output.lock.args)
                        except InvalidRollupEncoding:
                            continue
                        cell = DepositCell(OutPoint(tx_hash, index), output, args)
                        events.append(DepositSeen(number, tx_hash, cell))
                seen = self._decode_rollup_tx(rollup_id, number, tx_hash, tx)
                if seen is not None:
                    events.append(seen)
        return ScanResult(rollup_id, from_block, tip, tuple(events))

    def _decode_rollup_tx(
        self, rollup_id: bytes, number: int, tx_hash: bytes, tx: Transaction
    ) -> RollupTxSeen | None:
        raw = tx.raw
        rollup_out = next(
            (
                i
                for i, o in enumerate(raw.outputs)
                if o.type is not None and compute_script_hash(o.type) == rollup_id
            ),
            None,
        )
        if rollup_out is None:
            return None
        state = RollupState.decode(raw.outputs_data[rollup_out])
        prev_state: RollupState | None = None
        action: RollupAction | None = None
        absorbed: list[DepositCell] = []
        consumed_batch: BatchCell | None = None
        for index, cell_input in enumerate(raw.inputs):
            previous = cell_input.previous_output
            source = self.get_transaction(previous.tx_hash)
            if source is None or previous.index >= len(source.raw.outputs):
                continue
            output = source.raw.outputs[previous.index]
            data = source.raw.outputs_data[previous.index]
            if output.type is not None and compute_script_hash(output.type) == rollup_id:
                prev_state = RollupState.decode(data)
                action = _decode_witness_action(tx, index)
            elif self._is(output.lock, "rollup_deposit_lock", rollup_id):
                absorbed.append(DepositCell(previous, output, DepositArgs.decode(output.lock.args)))
            elif self._is(output.type, "rollup_batch", rollup_id) and consumed_batch is None:
                with contextlib.suppress(InvalidRollupEncoding):
                    consumed_batch = BatchCell.decode(data)
        commitment = None
        batch_out_point = None
        batch: BatchCell | None = consumed_batch if isinstance(action, FinalizeBatch) else None
        if isinstance(action, SubmitProvenBatch):
            commitment = action.commitment
        withdrawals: list[WithdrawalCell] = []
        entries = (
            action.withdrawals if isinstance(action, FinalizeBatch | SubmitProvenBatch) else ()
        )
        for index, output in enumerate(raw.outputs):
            if self._is(output.type, "rollup_batch", rollup_id):
                if not isinstance(action, SubmitBatch):
                    continue
                try:
                    batch = BatchCell.decode(raw.outputs_data[index])
                except InvalidRollupEncoding:
                    continue
                commitment = batch.commitment
                batch_out_point = OutPoint(tx_hash, index)
            elif self._is(output.lock, "rollup_withdrawal_lock", rollup_id):
                entry = entries[len(withdrawals)] if len(withdrawals) < len(entries) else None
                withdrawals.append(
                    WithdrawalCell(
                        OutPoint(tx_hash, index),
                        output,
                        WithdrawalArgs.decode(output.lock.args),
                        entry,
                    )
                )
        return RollupTxSeen(
            block_number=number,
            tx_hash=tx_hash,
            action=action,
            prev_state=prev_state,
            state=state,
            rollup_out_point=OutPoint(tx_hash, rollup_out),
            absorbed=tuple(absorbed),
            commitment=commitment,
            batch_out_point=batch_out_point,
            withdrawals=tuple(withdrawals),
            batch=batch,
        )

    # ------------------------------------------------------------------ funding and sending
    def _release_dropped(self) -> None:
        """Forget the inputs of our transactions that are no longer in flight: committed ones
        (their inputs are dead anyway) and ones the L1 dropped -- a reorg that invalidated them,
        a pool eviction -- whose inputs are live again and must be spendable."""
        for tx_hash in set(self._spent_by.values()):
            if self.get_tx_status(tx_hash) in ("pending", "proposed"):
                continue
            for out_point in [o for o, h in self._spent_by.items() if h == tx_hash]:
                del self._spent_by[out_point]
                self._spent.discard(out_point)

    def _fund(self, private_key: bytes, needed: int) -> _Funding:
        """Plain cells of the key covering ``needed`` with no change or a change cell that
        holds at least its occupied capacity."""
        self._release_dropped()
        lock = self.lock_of(private_key)
        min_change = compute_occupied_capacity(CellOutput(0, lock), b"")
        usable = [
            c
            for c in self.client.get_spendable_cells(lock)
            if not c.data and c.output.type is None and c.out_point not in self._spent
        ]
        chosen: list[LiveCell] = []
        total = 0
        for cell in sorted(usable, key=lambda c: -c.output.capacity):
            chosen.append(cell)
            total += cell.output.capacity
            if total == needed or total >= needed + min_change:
                return _Funding(chosen, total, lock)
        raise ValueError(
            f"insufficient capacity: the key has {total} spendable shannons, the transaction "
            f"needs {needed} plus a change cell"
        )

    def _assemble(
        self,
        *,
        inputs: Sequence[CellInput],
        outputs: Sequence[tuple[CellOutput, bytes]],
        payer_key: bytes,
        first_witness: bytes | None = None,
        cell_deps: Sequence[CellDep] | None = None,
        blob_versioned_hashes: Sequence[bytes] = (),
        input_capacity: int = 0,
        signers: Sequence[tuple[Sequence[int], bytes]] = (),
    ) -> Transaction:
        """Inputs, then the payer's funding cells; outputs, then the payer's change; witness 0
        is ``first_witness``; every group in ``signers`` and the payer's group are signed."""
        spent = sum(o.capacity for o, _d in outputs) + self.fee
        funding = self._fund(payer_key, max(spent - input_capacity, 0))
        all_inputs = [*inputs, *(CellInput(c.out_point) for c in funding.cells)]
        all_outputs = list(outputs)
        change = input_capacity + funding.total - spent
        if change:
            all_outputs.append((CellOutput(change, funding.lock), b""))
        witnesses = [b"" if first_witness is None else first_witness]
        tx = Transaction(
            RawTransaction(
                cell_deps=tuple(self.all_deps if cell_deps is None else cell_deps),
                inputs=tuple(all_inputs),
                outputs=tuple(o for o, _d in all_outputs),
                outputs_data=tuple(d for _o, d in all_outputs),
                blob_versioned_hashes=tuple(blob_versioned_hashes),
            ),
            tuple(witnesses),
        )
        payer_group = list(range(len(inputs), len(all_inputs)))
        for group, key in [*signers, (payer_group, payer_key)]:
            if group:
                tx = sign_sighash_all(tx, list(group), key)
        return tx

    def send(self, tx: Transaction, sidecars: Sequence[BlobSidecar] = ()) -> bytes:
        """Send ``tx`` (with its blob sidecars if it commits to blobs); returns the tx hash.
        Its inputs are then never selected as funding again by this object."""
        if sidecars or tx.raw.blob_versioned_hashes:
            result = self.client.call(
                "send_blob_transaction",
                transaction_to_json(tx, with_hash=False),
                [
                    {
                        "blob": bytes_to_json(s.blob),
                        "commitment": bytes_to_json(s.commitment),
                        "proof": bytes_to_json(s.proof),
                        "versioned_hash": bytes_to_json(s.versioned_hash),
                    }
                    for s in sidecars
                ],
            )
            tx_hash = bytes.fromhex(result[2:])
        else:
            tx_hash = self.client.send_transaction(tx)
        for cell_input in tx.raw.inputs:
            self._spent.add(cell_input.previous_output)
            self._spent_by[cell_input.previous_output] = tx_hash
        return tx_hash

    def compute_sidecars(self, blobs: Sequence[bytes]) -> list[BlobSidecar]:
        """KZG sidecars of ``blobs`` (the trusted setup is loaded once, on first use)."""
        if self._kzg is None:
            from l1.kzg import get_kzg_settings

            self._kzg = get_kzg_settings()
        return [compute_blob_sidecar(blob, self._kzg) for blob in blobs]

    # ------------------------------------------------------------------ deployment
    def deploy_verifying_key(self, private_key: bytes, vk_bytes: bytes) -> OutPoint:
        """Send a cell holding a Groth16 verification key (``l1.core.groth16
        .encode_verifying_key``) and return its out point; a validity rollup's
        ``RollupParams.verifying_key_hash`` is ``ckbhash(vk_bytes)`` (its data hash).

        The cell is locked by ``BURN_LOCK``, which no code can unlock: neither the deployer nor
        anyone else can spend it, so the rollup never depends on the deployer keeping it live.
        (The verifier finds the key by data hash, not by out point, so a spent key cell could be
        re-created by anyone from the public bytes; burning the capacity simply makes sure the
        cell the proposers use never disappears.) The capacity -- exactly the occupied size --
        is gone for good. The cell dep is remembered for ``deploy_rollup`` and the proven-batch
        builders (``verifying_key_dep``)."""
        output = CellOutput(0, BURN_LOCK)
        output = replace(output, capacity=compute_occupied_capacity(output, vk_bytes))
        tx = self._assemble(
            inputs=[],
            outputs=[(output, vk_bytes)],
            payer_key=private_key,
            cell_deps=(self.cell_deps[SECP256K1],),
        )
        out_point = OutPoint(self.send(tx), 0)
        self.verifying_key_deps[compute_data_hash(vk_bytes)] = CellDep(out_point)
        return out_point

    def verifying_key_dep(self, rollup_id: bytes, state: RollupState | None = None) -> CellDep:
        """The cell dep holding the verification key of validity rollup ``rollup_id``: the
        handle's (``deploy_rollup``/``attach``), else one deployed by this object with the
        state's hash. ``LookupError`` when neither is known (attach a handle that carries it)."""
        handle = self._handles.get(rollup_id)
        if handle is not None and handle.verifying_key_dep is not None:
            return handle.verifying_key_dep
        state = self.find_rollup_cell(rollup_id).state if state is None else state
        dep = self.verifying_key_deps.get(state.verifying_key_hash)
        if dep is None:
            raise LookupError(
                f"no cell dep known for the verification key 0x{state.verifying_key_hash.hex()} "
                f"of rollup {rollup_id.hex()}: attach a RollupHandle with verifying_key_dep"
            )
        return dep

    def deploy_rollup(
        self,
        funder_key: bytes,
        params: RollupParams,
        capacity: int = DEFAULT_ROLLUP_CAPACITY,
        *,
        verifying_key_dep: CellDep | None = None,
    ) -> RollupHandle:
        """Send the creation transaction: a rollup cell (Type ID args from the first input,
        locked by its own custodian lock) holding ``params.initial_state()``. For a validity
        rollup (``params.verifying_key_hash`` non-zero) the handle carries the key's cell dep:
        ``verifying_key_dep``, or the one ``deploy_verifying_key`` sent with that hash."""
        state = params.initial_state()
        if verifying_key_dep is None and state.is_validity:
            verifying_key_dep = self.verifying_key_deps.get(state.verifying_key_hash)
        lock = self.lock_of(funder_key)
        funding = self._fund(funder_key, capacity + self.fee)
        first = CellInput(funding.cells[0].out_point)
        type_script = self.script("rollup_state", compute_type_id_args(first.serialize(), 0))
        rollup_id = compute_script_hash(type_script)
        rollup = CellOutput(capacity, self.custodian_lock(rollup_id), type_script)
        occupied = compute_occupied_capacity(rollup, state.encode())
        if capacity < occupied:
            raise ValueError(f"the rollup cell needs at least {occupied} shannons")
        outputs = [(rollup, state.encode())]
        change = funding.total - capacity - self.fee
        if change:
            outputs.append((CellOutput(change, lock), b""))
        tx = Transaction(
            RawTransaction(
                cell_deps=self.all_deps,
                inputs=tuple(CellInput(c.out_point) for c in funding.cells),
                outputs=tuple(o for o, _d in outputs),
                outputs_data=tuple(d for _o, d in outputs),
            )
        )
        tx = sign_sighash_all(tx, list(range(len(funding.cells))), funder_key)
        tx_hash = self.send(tx)
        handle = RollupHandle(rollup_id, type_script, tx_hash, verifying_key_dep)
        self._handles[rollup_id] = handle
        return handle

    # ------------------------------------------------------------------ deposits
    def deposit(
        self,
        key: bytes,
        rollup_id: bytes,
        l2_public_key: bytes,
        amount: int,
        cancel_timeout_since: int = 0,
    ) -> bytes:
        """Send a deposit: output 0 is a deposit cell whose capacity is ``amount`` (all of it
        is deposited), change goes back to ``key``. The refund key is ``key``;
        ``cancel_timeout_since`` is a relative ``since`` (0: no refund path). Returns the tx
        hash; the deposit's out point is ``(tx hash, 0)``. A 33-byte key is a secp256k1 key (an
        optimistic rollup's), a 32-byte one a BabyJubJub key (a validity rollup's), stored in the
        33-byte slot with a zero byte after it."""
        profile = VALIDITY if len(l2_public_key) == VALIDITY.public_key_size else OPTIMISTIC
        try:
            profile.validate_public_key(l2_public_key)
        except InvalidPublicKey as exc:
            raise ValueError(
                f"the L2 refuses this public key, the deposit would stall: {exc}"
            ) from None
        l2_public_key = l2_public_key.ljust(OPTIMISTIC.public_key_size, b"\x00")
        args = DepositArgs(
            rollup_id, l2_public_key, compute_lock_args(_public_key(key)), cancel_timeout_since
        )
        lock = self.lock_of(key)
        cells = [c for c in self.client.get_spendable_cells(lock) if c.out_point not in self._spent]
        tx = build_transfer(
            cells,
            key,
            self.code_hashes[SECP256K1],
            self.cell_deps[SECP256K1],
            self.deposit_lock(args),
            amount,
            fee_rate=self.fee,
        )
        return self.send(tx)

    # ------------------------------------------------------------------ SubmitBatch
    def _custodians(
        self, rollup_id: bytes, given: Sequence[LiveCell] | None, *, needed: bool
    ) -> Sequence[LiveCell]:
        """The custodian inputs: ``given``, else every live one when value enters or leaves the
        custodian (``needed``), else none."""
        if given is not None:
            return given
        return self.find_custodian_cells(rollup_id) if needed else ()

    @staticmethod
    def _next_rollup_cell(
        rollup: RollupCell, commitment: BatchCommitment, *, final: bool
    ) -> tuple[CellOutput, bytes]:
        """The rollup cell after accepting ``commitment`` (its pending deposits consumed first;
        ``final``: a proven batch, final at once), capacity raised to its occupied size."""
        state = rollup.state
        used = min(commitment.deposit_count, len(state.pending_forced))
        new_state = replace(
            state,
            next_batch_number=state.next_batch_number + 1,
            next_final_batch=state.next_final_batch + (1 if final else 0),
            state_root=commitment.new_root,
            next_deposit_index=commitment.deposit_end,
            idle_blocks=0,
            pending_forced=state.pending_forced[used:],
        )
        data = new_state.encode()
        capacity = max(rollup.output.capacity, compute_occupied_capacity(rollup.output, data))
        return replace(rollup.output, capacity=capacity), data

    def build_submit_batch(
        self,
        rollup_id: bytes,
        proposer_key: bytes,
        commitment: BatchCommitment,
        new_accounts_root: bytes,
        new_next_account_index: int,
        deposit_cells: Sequence[DepositCell] = (),
        *,
        custodian_cells: Sequence[LiveCell] | None = None,
        rollup: RollupCell | None = None,
    ) -> Transaction:
        """A signed SubmitBatch for ``commitment`` (docs/disputes.md §3).

        ``new_accounts_root`` and ``new_next_account_index`` are the parts of the commitment's
        new root the L1 checks the counters with. The batch consumes the pending deposits first
        (``min(pending, deposit_count)`` of them, the L1 requiring at least ``min(pending,
        max_txs_per_batch)``), then ``deposit_cells`` in order (their queue indices follow the
        pending ones, see ``derive_l1_deposits``); the new pending list is the rest.

        Inputs: the rollup cell (witness: the SubmitBatch action), ``deposit_cells``, the
        custodian cells when there are deposit inputs (default: all live ones), the proposer's
        funding. Outputs: the new rollup cell (capacity raised to its occupied size if needed),
        the batch cell (open games 0, the deposits root of what it consumes, the proposer's lock,
        the commitment; bond + occupied capacity), the custodian (in + deposits), change. No
        withdrawal cells: FinalizeBatch creates them. The L1 checks everything else; this
        builder does no validation of the commitment itself, so a wrong one is refused."""
        rollup = self.find_rollup_cell(rollup_id) if rollup is None else rollup
        pending = rollup.state.pending_forced
        used = min(commitment.deposit_count, len(pending))
        custodians = self._custodians(rollup_id, custodian_cells, needed=bool(deposit_cells))
        rollup_output, new_data = self._next_rollup_cell(rollup, commitment, final=False)
        consumed = [*pending[:used], *(c.deposit_hash() for c in deposit_cells)]
        batch = BatchCell(
            open_games=0,
            deposits_root=compute_deposits_root(consumed),
            proposer_lock=self.lock_of(proposer_key),
            commitment=commitment,
        )
        batch_data = batch.encode()
        batch_output = CellOutput(0, self.custodian_lock(rollup_id), self.batch_type(rollup_id))
        batch_output = replace(
            batch_output,
            capacity=rollup.state.bond + compute_occupied_capacity(batch_output, batch_data),
        )
        outputs: list[tuple[CellOutput, bytes]] = [
            (rollup_output, new_data),
            (batch_output, batch_data),
        ]
        custodian_in = sum(c.output.capacity for c in custodians)
        deposits_in = sum(c.amount for c in deposit_cells)
        custodian_out = custodian_in + deposits_in
        if custodian_out:
            outputs.append((CellOutput(custodian_out, self.custodian_lock(rollup_id)), b""))
        inputs = [
            CellInput(rollup.out_point),
            *(CellInput(c.out_point) for c in deposit_cells),
            *(CellInput(c.out_point) for c in custodians),
        ]
        action = SubmitBatch(new_accounts_root, new_next_account_index)
        return self._assemble(
            inputs=inputs,
            outputs=outputs,
            payer_key=proposer_key,
            first_witness=WitnessArgs(input_type=encode_action(action)).serialize(),
            blob_versioned_hashes=commitment.blob_versioned_hashes,
            input_capacity=rollup.output.capacity + custodian_in + deposits_in,
        )

    def submit_batch(
        self,
        rollup_id: bytes,
        proposer_key: bytes,
        commitment: BatchCommitment,
        sidecars: Sequence[BlobSidecar],
        new_accounts_root: bytes,
        new_next_account_index: int,
        deposit_cells: Sequence[DepositCell] = (),
        *,
        custodian_cells: Sequence[LiveCell] | None = None,
    ) -> bytes:
        """``build_submit_batch`` and send it with the batch blobs' ``sidecars`` (one per
        versioned hash of the commitment, in order); returns the tx hash."""
        tx = self.build_submit_batch(
            rollup_id,
            proposer_key,
            commitment,
            new_accounts_root,
            new_next_account_index,
            deposit_cells,
            custodian_cells=custodian_cells,
        )
        return self.send(tx, sidecars)

    # ------------------------------------------------------------------ SubmitProvenBatch
    def build_submit_proven_batch(
        self,
        rollup_id: bytes,
        proposer_key: bytes,
        commitment: BatchCommitment,
        new_accounts_root: bytes,
        new_next_account_index: int,
        proof: bytes,
        deposit_cells: Sequence[DepositCell] = (),
        withdrawals: Sequence[tuple[WithdrawalEntry, bytes]] = (),
        *,
        pending_out_points: Sequence[OutPoint] = (),
        custodian_cells: Sequence[LiveCell] | None = None,
        rollup: RollupCell | None = None,
        verifying_key_dep: CellDep | None = None,
    ) -> Transaction:
        """A signed SubmitProvenBatch of a validity rollup (docs/validity.md §5): the batch with
        its 256-byte Groth16 ``proof`` (``l1.core.groth16.encode_proof``), final at once.

        Deposits as ``build_submit_batch``: the pending ones first -- stored on L1 only as
        hashes, so ``pending_out_points`` names the out points of the ``min(pending,
        deposit_count)`` consumed ones, in queue order (``RollupTxSeen.absorbed`` of the
        ForceDeposits that queued them) -- then ``deposit_cells`` in order; the action lists
        all their out points. ``withdrawals`` are ``(entry, owner lock args)`` of the batch's
        Withdraw records in order, paid now, as ``build_finalize_batch`` pays them.

        Inputs: the rollup cell (witness: the action), ``deposit_cells``, the custodian cells
        when deposits come in or withdrawals go out (default: all live ones), the proposer's
        funding. Outputs: the new rollup cell (next batch and next final batch + 1), one
        withdrawal cell per withdrawal (topped up to its occupied capacity from the proposer's
        funds), the custodian (in + deposits - Σ amounts), change. Cell deps: the system
        scripts and the verification key cell (``verifying_key_dep``, default
        ``self.verifying_key_dep(rollup_id)``). Like ``build_submit_batch`` it does not check
        the commitment or the proof: the L1 does."""
        rollup = self.find_rollup_cell(rollup_id) if rollup is None else rollup
        state = rollup.state
        if verifying_key_dep is None:
            verifying_key_dep = self.verifying_key_dep(rollup_id, state)
        used = min(commitment.deposit_count, len(state.pending_forced))
        if len(pending_out_points) != used:
            raise ValueError(
                f"the batch consumes {used} pending deposit(s): name their out points "
                f"(pending_out_points), got {len(pending_out_points)}"
            )
        paid = sum(entry.amount for entry, _args in withdrawals)
        custodians = self._custodians(
            rollup_id, custodian_cells, needed=bool(deposit_cells or paid)
        )
        # A proven batch is final in the block that includes it (docs/validity.md).
        rollup_output, new_data = self._next_rollup_cell(rollup, commitment, final=True)
        outputs: list[tuple[CellOutput, bytes]] = [(rollup_output, new_data)]
        for entry, owner_lock_args in withdrawals:
            args = WithdrawalArgs(rollup_id, commitment.batch_number, owner_lock_args)
            lock = self.withdrawal_lock(args)
            occupied = compute_occupied_capacity(CellOutput(0, lock), b"")
            outputs.append((CellOutput(max(entry.amount, occupied), lock), b""))
        custodian_in = sum(c.output.capacity for c in custodians)
        deposits_in = sum(c.amount for c in deposit_cells)
        custodian_out = custodian_in + deposits_in - paid
        if custodian_out < 0:
            raise ValueError(
                f"the custodian holds {custodian_in + deposits_in} shannons with this batch's "
                f"deposits, less than the {paid} its withdrawals pay"
            )
        if custodian_out:
            outputs.append((CellOutput(custodian_out, self.custodian_lock(rollup_id)), b""))
        inputs = [
            CellInput(rollup.out_point),
            *(CellInput(c.out_point) for c in deposit_cells),
            *(CellInput(c.out_point) for c in custodians),
        ]
        action = SubmitProvenBatch(
            new_accounts_root,
            new_next_account_index,
            commitment,
            (*pending_out_points, *(c.out_point for c in deposit_cells)),
            tuple(entry for entry, _args in withdrawals),
            proof,
        )
        return self._assemble(
            inputs=inputs,
            outputs=outputs,
            payer_key=proposer_key,
            first_witness=WitnessArgs(input_type=encode_action(action)).serialize(),
            cell_deps=(*self.all_deps, verifying_key_dep),
            blob_versioned_hashes=commitment.blob_versioned_hashes,
            input_capacity=rollup.output.capacity + custodian_in + deposits_in,
        )

    def submit_proven_batch(
        self,
        rollup_id: bytes,
        proposer_key: bytes,
        commitment: BatchCommitment,
        sidecars: Sequence[BlobSidecar],
        new_accounts_root: bytes,
        new_next_account_index: int,
        proof: bytes,
        deposit_cells: Sequence[DepositCell] = (),
        withdrawals: Sequence[tuple[WithdrawalEntry, bytes]] = (),
        *,
        pending_out_points: Sequence[OutPoint] = (),
        custodian_cells: Sequence[LiveCell] | None = None,
    ) -> bytes:
        """``build_submit_proven_batch`` and send it with the batch blobs' ``sidecars`` (one per
        versioned hash of the commitment, in order: the L1 verifier reads the records from
        them); returns the tx hash. The withdrawal cells are outputs ``1 .. len(withdrawals)``
        and claimable in the next block."""
        tx = self.build_submit_proven_batch(
            rollup_id,
            proposer_key,
            commitment,
            new_accounts_root,
            new_next_account_index,
            proof,
            deposit_cells,
            withdrawals,
            pending_out_points=pending_out_points,
            custodian_cells=custodian_cells,
        )
        return self.send(tx, sidecars)

    # ------------------------------------------------------------------ FinalizeBatch
    def build_finalize_batch(
        self,
        rollup_id: bytes,
        payer_key: bytes,
        withdrawals: Sequence[tuple[WithdrawalEntry, bytes]] = (),
        *,
        batch: BatchCellView | None = None,
        rollup: RollupCell | None = None,
        custodian_cells: Sequence[LiveCell] | None = None,
    ) -> Transaction:
        """A signed FinalizeBatch of the oldest unfinalized batch (``next_final_batch``; found
        with ``find_batch_cells`` unless given) with its ``withdrawals`` -- ``(entry, owner lock
        args)`` in batch order (docs/disputes.md §3).

        Inputs: the rollup cell (witness: the action), the batch cell with a relative
        block-number ``since`` of the challenge window, the custodian cells when withdrawals are
        paid (default: all live ones), the payer's funding. Outputs: the rollup cell
        (``next_final_batch + 1``), one withdrawal cell per withdrawal in order (topped up to its
        occupied capacity from the payer's funds when the amount is below it), the custodian
        (in - Σ amounts; none when that is 0), the batch cell's capacity (bond + occupied) back
        to the batch's proposer lock, change. The batch must have no open game and its window
        must have passed (the L1 refuses it otherwise)."""
        rollup = self.find_rollup_cell(rollup_id) if rollup is None else rollup
        state = rollup.state
        if batch is None:
            batch = self.find_batch_cell(rollup_id, state.next_final_batch)
            if batch is None:
                raise LookupError(
                    f"no live batch cell for batch {state.next_final_batch} of rollup "
                    f"{rollup_id.hex()} (the next one to finalize)"
                )
        if batch.number != state.next_final_batch:
            raise ValueError(
                f"batch {batch.number} cannot be finalized: batch {state.next_final_batch} is next"
            )
        paid = sum(entry.amount for entry, _args in withdrawals)
        if paid:
            custodians = (
                self.find_custodian_cells(rollup_id) if custodian_cells is None else custodian_cells
            )
        else:
            custodians = () if custodian_cells is None else custodian_cells
        new_state = replace(state, next_final_batch=state.next_final_batch + 1)
        new_data = new_state.encode()
        rollup_output = replace(
            rollup.output,
            capacity=max(
                rollup.output.capacity, compute_occupied_capacity(rollup.output, new_data)
            ),
        )
        outputs: list[tuple[CellOutput, bytes]] = [(rollup_output, new_data)]
        for entry, owner_lock_args in withdrawals:
            lock = self.withdrawal_lock(WithdrawalArgs(rollup_id, batch.number, owner_lock_args))
            occupied = compute_occupied_capacity(CellOutput(0, lock), b"")
            outputs.append((CellOutput(max(entry.amount, occupied), lock), b""))
        custodian_in = sum(c.output.capacity for c in custodians)
        custodian_out = custodian_in - paid
        if custodian_out < 0:
            raise ValueError(
                f"the custodian holds {custodian_in} shannons, less than the {paid} the "
                "withdrawals pay"
            )
        if custodian_out:
            custodian = CellOutput(custodian_out, self.custodian_lock(rollup_id))
            occupied = compute_occupied_capacity(custodian, b"")
            if custodian_out < occupied:
                raise ValueError(
                    f"the custodian would keep {custodian_out} shannons, less than a custodian "
                    f"cell occupies ({occupied})"
                )
            outputs.append((custodian, b""))
        outputs.append((CellOutput(batch.output.capacity, batch.batch.proposer_lock), b""))
        inputs = [
            CellInput(rollup.out_point),
            CellInput(batch.out_point, relative_blocks(state.challenge_window)),
            *(CellInput(c.out_point) for c in custodians),
        ]
        action = FinalizeBatch(tuple(entry for entry, _args in withdrawals))
        return self._assemble(
            inputs=inputs,
            outputs=outputs,
            payer_key=payer_key,
            first_witness=WitnessArgs(input_type=encode_action(action)).serialize(),
            input_capacity=rollup.output.capacity + batch.output.capacity + custodian_in,
        )

    def finalize_batch(
        self,
        rollup_id: bytes,
        payer_key: bytes,
        withdrawals: Sequence[tuple[WithdrawalEntry, bytes]] = (),
        *,
        batch: BatchCellView | None = None,
    ) -> bytes:
        """``build_finalize_batch`` and send it; returns the tx hash. The withdrawal cells are
        outputs ``1 .. len(withdrawals)`` of that transaction."""
        return self.send(self.build_finalize_batch(rollup_id, payer_key, withdrawals, batch=batch))

    # ------------------------------------------------------------------ ForceDeposit
    def force_deposit(
        self,
        rollup_id: bytes,
        payer_key: bytes,
        deposit_cells: Sequence[DepositCell],
        *,
        rollup_since_blocks: int = 0,
    ) -> bytes:
        """Anyone forces deposits left alone for the forced-inclusion window: each deposit input
        carries a relative ``since`` of that window, their capacity goes to a new custodian
        cell and their hashes are appended to the pending list. ``rollup_since_blocks`` (a
        relative since on the rollup input, if the rollup cell is that old) is credited to
        ``idle_blocks``. ``payer_key`` pays the fee. Returns the tx hash."""
        rollup = self.find_rollup_cell(rollup_id)
        state = rollup.state
        key_size = get_rollup_profile(state).public_key_size
        new_state = replace(
            state,
            pending_forced=state.pending_forced
            + tuple(c.deposit_hash(key_size) for c in deposit_cells),
            idle_blocks=state.idle_blocks + rollup_since_blocks,
        )
        new_data = new_state.encode()
        rollup_output = replace(
            rollup.output,
            capacity=max(
                rollup.output.capacity, compute_occupied_capacity(rollup.output, new_data)
            ),
        )
        total = sum(c.amount for c in deposit_cells)
        window = relative_blocks(state.forced_inclusion_window)
        inputs = [
            CellInput(
                rollup.out_point,
                relative_blocks(rollup_since_blocks) if rollup_since_blocks else 0,
            ),
            *(CellInput(c.out_point, window) for c in deposit_cells),
        ]
        outputs = [
            (rollup_output, new_data),
            (CellOutput(total, self.custodian_lock(rollup_id)), b""),
        ]
        tx = self._assemble(
            inputs=inputs,
            outputs=outputs,
            payer_key=payer_key,
            first_witness=WitnessArgs(input_type=encode_action(ForceDeposit())).serialize(),
            input_capacity=rollup.output.capacity + total,
        )
        return self.send(tx)

    # ------------------------------------------------------------------ EscapeHatch
    def escape_hatch(
        self, rollup_id: bytes, new_proposer_key: bytes, *, since_blocks: int | None = None
    ) -> bytes:
        """Replace an idle proposer: the rollup input carries a relative ``since`` of
        ``since_blocks`` (default: the escape timeout minus the idle blocks already credited),
        the new proposer's lock is among the inputs (its funding, signed) and becomes the
        proposer. Returns the tx hash."""
        rollup = self.find_rollup_cell(rollup_id)
        state = rollup.state
        if since_blocks is None:
            since_blocks = max(state.escape_timeout - state.idle_blocks, 1)
        new_hash = self.lock_hash_of(new_proposer_key)
        new_state = replace(state, proposer_lock_hash=new_hash, idle_blocks=0)
        tx = self._assemble(
            inputs=[CellInput(rollup.out_point, relative_blocks(since_blocks))],
            outputs=[(rollup.output, new_state.encode())],
            payer_key=new_proposer_key,
            first_witness=WitnessArgs(input_type=encode_action(EscapeHatch(new_hash))).serialize(),
            input_capacity=rollup.output.capacity,
        )
        return self.send(tx)

    # ------------------------------------------------------------------ withdrawals
    def claim_withdrawal(
        self,
        owner_key: bytes,
        withdrawal: WithdrawalCell | OutPoint,
        *,
        fee_payer_key: bytes | None = None,
    ) -> bytes:
        """Claim a withdrawal cell to the owner's default lock. Withdrawal cells exist only once
        their batch is final (FinalizeBatch or SubmitProvenBatch created them), so the owner's signature is all the
        lock checks: no ``since``, no rollup cell dep. Without ``fee_payer_key`` the fee comes
        out of the withdrawal (the owner receives capacity - fee); with it, the owner receives
        the whole capacity and the payer's cells (their own lock group, signed) pay the fee.
        ``LookupError`` when the cell is not live (not created yet, or claimed)."""
        if isinstance(withdrawal, OutPoint):
            live = self.get_live_cell(withdrawal)
            if live is None:
                raise LookupError(
                    f"withdrawal cell {withdrawal} is not live (its batch is not finalized yet, "
                    "or it was claimed)"
                )
            withdrawal = WithdrawalCell(
                withdrawal, live.output, WithdrawalArgs.decode(live.output.lock.args)
            )
        owner_lock = self.lock_of(owner_key)
        capacity = withdrawal.output.capacity
        deps = (self.cell_deps["rollup_withdrawal_lock"], self.cell_deps[SECP256K1])
        inputs = [CellInput(withdrawal.out_point)]
        if fee_payer_key is None:
            tx = Transaction(
                RawTransaction(
                    cell_deps=deps,
                    inputs=tuple(inputs),
                    outputs=(CellOutput(capacity - self.fee, owner_lock),),
                    outputs_data=(b"",),
                )
            )
            tx = sign_sighash_all(tx, [0], owner_key)
        else:
            tx = self._assemble(
                inputs=inputs,
                outputs=[(CellOutput(capacity, owner_lock), b"")],
                payer_key=fee_payer_key,
                cell_deps=deps,
                input_capacity=capacity,
                signers=[([0], owner_key)],
            )
        return self.send(tx)
