"""A small JSON-RPC client for an L1 node (httpx), plus a wallet helper for capacity transfers.

Used by the CLI, the sequencer and the tests; it speaks CKB's method names, so it also works
against the shapes a real CKB node serves.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import httpx

from l1.ckb.epoch import EpochNumberWithFraction
from l1.ckb.json import (
    block_from_json,
    bytes_to_json,
    cell_output_from_json,
    header_from_json,
    out_point_from_json,
    quantity_from_json,
    quantity_to_json,
    script_to_json,
    transaction_to_json,
)
from l1.ckb.types import (
    Block,
    CellDep,
    CellInput,
    CellOutput,
    Header,
    OutPoint,
    RawTransaction,
    Script,
    Transaction,
)
from l1.core.capacity import compute_occupied_capacity
from l1.core.scripts.secp256k1 import compute_lock_args, sign_sighash_all

__all__ = ["L1Client", "L1RpcError", "LiveCell", "build_transfer"]


class L1RpcError(Exception):
    """The node answered with a JSON-RPC error."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message
        self.data = data


@dataclass(frozen=True, slots=True)
class LiveCell:
    out_point: OutPoint
    output: CellOutput
    data: bytes
    block_number: int
    #: Index of the creating transaction in its block; 0 means a cellbase (mining reward).
    tx_index: int = -1

    @property
    def is_cellbase(self) -> bool:
        return self.tx_index == 0


class L1Client:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(timeout=timeout)
        self._ids = itertools.count(1)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> L1Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def call(self, method: str, *params: Any) -> Any:
        request = {
            "jsonrpc": "2.0",
            "id": next(self._ids),
            "method": method,
            "params": list(params),
        }
        response = self.http.post(self.url + "/", json=request)
        try:
            payload = response.json()
        except ValueError:
            raise L1RpcError(
                0, f"{self.url} answered HTTP {response.status_code} with a body that is not JSON"
            ) from None
        if not isinstance(payload, dict) or ("result" not in payload and "error" not in payload):
            raise L1RpcError(0, f"{self.url} did not answer as a JSON-RPC server")
        if payload.get("error") is not None:
            error = payload["error"]
            raise L1RpcError(error.get("code", 0), error.get("message", ""), error.get("data"))
        return payload["result"]

    # ------------------------------------------------------------------ typed helpers
    def get_tip_block_number(self) -> int:
        return quantity_from_json(self.call("get_tip_block_number"), "result")

    def get_tip_header(self) -> Header:
        return header_from_json(self.call("get_tip_header"))

    def get_block_by_number(self, number: int) -> Block | None:
        result = self.call("get_block_by_number", quantity_to_json(number))
        return None if result is None else block_from_json(result)

    def get_block(self, block_hash: bytes) -> Block | None:
        result = self.call("get_block", bytes_to_json(block_hash))
        return None if result is None else block_from_json(result)

    def send_transaction(self, tx: Transaction) -> bytes:
        return bytes.fromhex(
            self.call("send_transaction", transaction_to_json(tx, with_hash=False))[2:]
        )

    def get_transaction_status(self, tx_hash: bytes) -> str:
        return str(self.call("get_transaction", bytes_to_json(tx_hash))["tx_status"]["status"])

    def get_system_script(
        self, name: str = "secp256k1_blake160_sighash_all"
    ) -> tuple[bytes, CellDep]:
        scripts = self.call("get_system_scripts")
        if name not in scripts:
            raise L1RpcError(
                0, f"the node deploys no system script {name!r} (it has {sorted(scripts)})"
            )
        info = scripts[name]
        out_point = out_point_from_json(info["cell_dep"]["out_point"])
        return bytes.fromhex(info["code_hash"][2:]), CellDep(out_point)

    def get_live_cells(self, lock: Script, limit: int = 200) -> list[LiveCell]:
        cells: list[LiveCell] = []
        cursor = None
        while True:
            params: list[Any] = [
                {"script": script_to_json(lock), "script_type": "lock"},
                "asc",
                quantity_to_json(limit),
            ]
            if cursor is not None:
                params.append(cursor)
            page = self.call("get_cells", *params)
            for obj in page["objects"]:
                cells.append(
                    LiveCell(
                        out_point_from_json(obj["out_point"]),
                        cell_output_from_json(obj["output"]),
                        bytes.fromhex(obj["output_data"][2:]),
                        quantity_from_json(obj["block_number"], "block_number"),
                        quantity_from_json(obj["tx_index"], "tx_index", 32),
                    )
                )
            if len(page["objects"]) < limit:
                return cells
            cursor = page["last_cursor"]

    def get_spendable_cells(self, lock: Script) -> list[LiveCell]:
        """Live cells of ``lock`` minus cellbase outputs that have not matured yet (CKB's
        ``cellbase_maturity``): what a wallet may actually spend now."""
        cells = self.get_live_cells(lock)
        if not any(cell.is_cellbase and cell.block_number > 0 for cell in cells):
            return cells
        consensus = self.call("get_consensus")
        maturity = EpochNumberWithFraction.from_full_value(
            quantity_from_json(consensus["cellbase_maturity"], "cellbase_maturity")
        ).to_rational()
        tip_epoch = EpochNumberWithFraction.from_full_value(
            quantity_from_json(self.call("get_tip_header")["epoch"], "epoch")
        ).to_rational()
        epochs: dict[int, Fraction] = {}
        spendable = []
        for cell in cells:
            if cell.is_cellbase and cell.block_number > 0:
                if cell.block_number not in epochs:
                    header = self.call("get_header_by_number", quantity_to_json(cell.block_number))
                    epochs[cell.block_number] = EpochNumberWithFraction.from_full_value(
                        quantity_from_json(header["epoch"], "epoch")
                    ).to_rational()
                # Judged at the tip: the next block's epoch is the same or later, so this is safe.
                if epochs[cell.block_number] + maturity > tip_epoch:
                    continue
            spendable.append(cell)
        return spendable

    def get_balance(self, lock: Script) -> int:
        result = self.call(
            "get_cells_capacity", {"script": script_to_json(lock), "script_type": "lock"}
        )
        return quantity_from_json(result["capacity"], "capacity")

    def generate_block(self) -> bytes:
        return bytes.fromhex(self.call("generate_block")[2:])


def build_transfer(
    cells: list[LiveCell],
    private_key: bytes,
    secp_code_hash: bytes,
    secp_cell_dep: CellDep,
    to_lock: Script,
    amount: int,
    fee_rate: int = 1_000,
    exclude: set[OutPoint] | None = None,
) -> Transaction:
    """A signed transfer of ``amount`` shannons from the key's secp256k1 cells to ``to_lock``,
    with change back to the sender; fee = fee_rate shannons per 1000 bytes (rounded up)."""
    from coincurve import PrivateKey

    sender_lock = Script(
        secp_code_hash, 1, compute_lock_args(PrivateKey(private_key).public_key.format())
    )
    usable = [
        c
        for c in cells
        if not c.data and c.output.type is None and (not exclude or c.out_point not in exclude)
    ]
    recipient = CellOutput(amount, to_lock)
    if amount < compute_occupied_capacity(recipient, b""):
        raise ValueError(
            f"amount {amount} is below the recipient cell's occupied capacity "
            f"{compute_occupied_capacity(recipient, b'')} shannons"
        )
    chosen: list[LiveCell] = []
    total = 0
    fee = 0
    for cell in sorted(usable, key=lambda c: -c.output.capacity):
        chosen.append(cell)
        total += cell.output.capacity
        fee = _estimate_fee(len(chosen), fee_rate)
        change = total - amount - fee
        if change == 0 or change >= compute_occupied_capacity(CellOutput(change, sender_lock), b""):
            break
    else:
        raise ValueError(
            f"insufficient capacity: have {total} shannons, need {amount + fee} plus change"
        )
    change = total - amount - fee
    outputs = [recipient] + ([CellOutput(change, sender_lock)] if change else [])
    tx = Transaction(
        RawTransaction(
            cell_deps=(secp_cell_dep,),
            inputs=tuple(CellInput(c.out_point) for c in chosen),
            outputs=tuple(outputs),
            outputs_data=tuple(b"" for _ in outputs),
        )
    )
    return sign_sighash_all(tx, list(range(len(chosen))), private_key)


def _estimate_fee(inputs: int, fee_rate: int) -> int:
    # Upper bound of a transfer's size: header + per-input 44 + witness 85 + two 97-byte outputs.
    size = 300 + inputs * 48 + 90 + 2 * 110
    return (size * fee_rate + 999) // 1000
