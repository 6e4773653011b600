"""Capacity transfers with CKB's default lock, over the node's JSON-RPC.

Inputs come from ``get_cells`` (the indexer view of the sender's live cells). Cells already spent
by a transaction waiting in the node's pool are left out, so two transfers sent back to back do
not pick the same input and conflict. The transaction itself is built and signed by
``l1.client.build_transfer`` (sighash_all, RFC 0024), change back to the sender.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from l1.ckb.hashes import compute_tx_hash
from l1.ckb.json import bytes_to_json, out_point_from_json
from l1.ckb.types import CellDep, CellOutput, OutPoint, Script, Transaction
from l1.client import L1Client, LiveCell, build_transfer
from l1.core.capacity import compute_occupied_capacity
from rollcourt.amounts import format_ckb
from rollcourt.errors import NodeRpcError, TransferFailed
from rollcourt.keys import KeyPair
from rollcourt.rpc import reading_answer

__all__ = [
    "SECP256K1_SCRIPT_NAME",
    "Balance",
    "PreparedTransfer",
    "get_balance",
    "get_pool_spent_out_points",
    "get_secp_lock",
    "prepare_transfer",
]

SECP256K1_SCRIPT_NAME = "secp256k1_blake160_sighash_all"
#: Reading every pooled transaction is fine on a devnet; past this many we do not bother.
MAX_POOL_SCAN = 500


def get_secp_lock(client: L1Client, lock_args: bytes) -> Script:
    code_hash, _dep = _get_secp_script(client)
    return Script(code_hash, 1, lock_args)


def _get_secp_script(client: L1Client) -> tuple[bytes, CellDep]:
    try:
        return client.get_system_script(SECP256K1_SCRIPT_NAME)
    except (KeyError, TypeError, ValueError):
        raise NodeRpcError(
            f"the L1 node does not list the {SECP256K1_SCRIPT_NAME} system script"
        ) from None


@dataclass(frozen=True, slots=True)
class Balance:
    lock: Script
    capacity: int
    cells: int


def get_balance(client: L1Client, lock_args: bytes) -> Balance:
    """Capacity and number of live cells locked by the default lock with these args."""
    lock = get_secp_lock(client, lock_args)
    cells = _get_live_cells(client, lock)
    return Balance(lock, sum(cell.output.capacity for cell in cells), len(cells))


def _get_live_cells(client: L1Client, lock: Script) -> list[LiveCell]:
    with reading_answer("cell list"):
        return client.get_spendable_cells(lock)


def get_pool_spent_out_points(client: L1Client) -> set[OutPoint]:
    """Out points consumed by transactions waiting in the node's pool."""
    raw_pool = client.call("get_raw_tx_pool")
    with reading_answer("pool listing"):
        pending = [str(tx_hash) for tx_hash in raw_pool["pending"]]
    spent: set[OutPoint] = set()
    for tx_hash in pending[:MAX_POOL_SCAN]:
        answer = client.call("get_transaction", tx_hash)
        with reading_answer("pool transaction"):
            spent |= _pooled_inputs(answer)
    return spent


def _pooled_inputs(answer: dict[str, Any]) -> set[OutPoint]:
    tx = answer.get("transaction")
    if not tx or answer["tx_status"]["status"] != "pending":
        return set()  # committed or dropped since get_raw_tx_pool
    return {out_point_from_json(item["previous_output"]) for item in tx["inputs"]}


@dataclass(frozen=True, slots=True)
class PreparedTransfer:
    tx: Transaction
    tx_hash: bytes
    fee: int
    inputs: int


def prepare_transfer(
    client: L1Client, key: KeyPair, to_args: bytes, amount: int, fee_rate: int
) -> PreparedTransfer:
    """Select inputs, build and sign a transfer of ``amount`` shannons; nothing is sent."""
    code_hash, cell_dep = _get_secp_script(client)
    to_lock = Script(code_hash, 1, to_args)
    minimum = compute_occupied_capacity(CellOutput(amount, to_lock), b"")
    if amount < minimum:
        raise TransferFailed(
            f"amount {format_ckb(amount)} CKB is below the {format_ckb(minimum)} CKB a cell with "
            "this lock must hold (its occupied capacity)"
        )
    sender_lock = Script(code_hash, 1, key.lock_args)
    cells = _get_live_cells(client, sender_lock)
    exclude = get_pool_spent_out_points(client)
    spendable = [
        c for c in cells if not c.data and c.output.type is None and c.out_point not in exclude
    ]
    available = sum(c.output.capacity for c in spendable)
    if available < amount:
        in_pool = [c for c in cells if c.out_point in exclude]
        pending = (
            f" ({format_ckb(sum(c.output.capacity for c in in_pool))} CKB more is being spent by "
            "pending transactions: wait until they commit)"
            if in_pool
            else ""
        )
        raise TransferFailed(
            f"insufficient capacity: 0x{key.lock_args.hex()} has {format_ckb(available)} CKB "
            f"spendable in {len(spendable)} cells, the transfer needs {format_ckb(amount)} CKB "
            f"plus the fee{pending}"
        )
    try:
        tx = build_transfer(
            spendable, key.private_key, code_hash, cell_dep, to_lock, amount, fee_rate
        )
    except ValueError as exc:
        raise TransferFailed(f"cannot build the transfer: {exc}") from None
    spent = sum(c.output.capacity for c in spendable if c.out_point in _inputs(tx))
    fee = spent - sum(output.capacity for output in tx.raw.outputs)
    return PreparedTransfer(tx, compute_tx_hash(tx), fee, len(tx.raw.inputs))


def _inputs(tx: Transaction) -> set[OutPoint]:
    return {cell_input.previous_output for cell_input in tx.raw.inputs}


def send_transfer(client: L1Client, prepared: PreparedTransfer) -> bytes:
    tx_hash = client.send_transaction(prepared.tx)
    if tx_hash != prepared.tx_hash:
        raise NodeRpcError(
            f"the node returned tx hash {bytes_to_json(tx_hash)}, "
            f"expected {bytes_to_json(prepared.tx_hash)}"
        )
    return tx_hash
