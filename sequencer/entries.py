"""The sequencer's records of transactions and batches, and their JSON forms.

A ``TxEntry`` is mutable bookkeeping (its status moves); the transaction inside it is the frozen
``l2`` object.  Statuses stored: ``pending`` (queued behind a nonce gap, not executed), ``soft``
(executed, receipt given), and the terminal ``replaced`` / ``dropped`` / ``evicted``.  ``safe`` and
``final`` are not stored per transaction: they follow from the status of the batch holding it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, Literal

from l2.config import RollupConfig
from l2.stf import Receipt
from l2.tx import Transfer, Withdraw, compute_withdrawal_hash

__all__ = [
    "BATCH_STATUSES",
    "LIVE_STATUSES",
    "BatchRecord",
    "BatchStatus",
    "SignedTx",
    "TxEntry",
    "receipt_to_json",
]

SignedTx = Transfer | Withdraw
BatchStatus = Literal["sealed", "posted", "safe", "final", "reverted"]
#: ``final``: FinalizeBatch for it is committed on L1; ``reverted``: the L1 reverted it (a
#: challenger won a game on it or an earlier batch); the sequencer then re-sequences.
BATCH_STATUSES: Final = ("sealed", "posted", "safe", "final", "reverted")
#: Statuses of a transaction that still holds its (sender, nonce).
LIVE_STATUSES: Final = frozenset({"pending", "soft"})


@dataclass(slots=True)
class TxEntry:
    hash: bytes
    tx: SignedTx
    record: bytes
    status: str
    received_at: float
    soft_index: int | None = None
    post_root: bytes | None = None
    #: JSON text of the receipt (``receipt_to_json``), fixed at execution.
    receipt: str | None = None
    error: str | None = None
    replaced_by: bytes | None = None
    batch_number: int | None = None
    position: int | None = None

    @property
    def sender(self) -> int:
        return self.tx.from_index

    @property
    def nonce(self) -> int:
        return self.tx.nonce

    @property
    def fee(self) -> int:
        return self.tx.fee


@dataclass(frozen=True, slots=True)
class BatchRecord:
    number: int
    status: BatchStatus
    commitment: bytes
    commitment_hash: bytes
    first_soft_index: int
    tx_count: int
    prev_root: bytes
    new_root: bytes
    #: ``L2State.encode()`` after the batch: where a restart resumes from.
    state: bytes
    l1_tx_hash: bytes | None
    sealed_at: float
    #: The post-state's accounts root and next account index (SubmitBatch carries them).
    accounts_root: bytes = bytes(32)
    next_account_index: int = 0

    @property
    def last_soft_index(self) -> int:
        return self.first_soft_index + self.tx_count - 1


def receipt_to_json(receipt: Receipt, config: RollupConfig) -> str:
    withdrawal: dict[str, Any] | None = None
    if receipt.withdrawal is not None:
        w = receipt.withdrawal
        withdrawal = {
            "from_index": w.from_index,
            "nonce": w.nonce,
            "l1_recipient": "0x" + w.l1_recipient.hex(),
            "amount": w.amount,
            "hash": "0x" + compute_withdrawal_hash(w, config).hex(),
        }
    return json.dumps(
        {
            "kind": receipt.kind.name.lower(),
            "fee": receipt.fee,
            "created_account": receipt.created_account,
            "withdrawal": withdrawal,
        },
        sort_keys=True,
    )
