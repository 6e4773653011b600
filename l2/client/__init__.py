"""The I/O-doing part of the L2 SDK (httpx through ``l1.client.L1Client``), as ``l1/client.py`` is
for the L1. The rest of ``l2`` is a pure core; this subpackage is the declared exception
(``tests/test_purity.py``)."""

from __future__ import annotations

from l2.client.bridge import (
    BatchCellView,
    DepositCell,
    DepositSeen,
    RollupCell,
    RollupHandle,
    RollupL1,
    RollupParams,
    RollupTxSeen,
    ScanResult,
    WithdrawalCell,
    derive_l1_deposits,
)
from l2.client.sequencer import (
    AccountProof,
    AccountView,
    AsyncSequencerClient,
    InvalidAccountProof,
    SequencerBadResponse,
    SequencerClient,
    SequencerError,
    SequencerUnreachable,
    TxFailed,
    TxView,
    WaitTimeout,
)

__all__ = [
    "AccountProof",
    "AccountView",
    "AsyncSequencerClient",
    "BatchCellView",
    "DepositCell",
    "DepositSeen",
    "InvalidAccountProof",
    "RollupCell",
    "RollupHandle",
    "RollupL1",
    "RollupParams",
    "RollupTxSeen",
    "ScanResult",
    "SequencerBadResponse",
    "SequencerClient",
    "SequencerError",
    "SequencerUnreachable",
    "TxFailed",
    "TxView",
    "WaitTimeout",
    "WithdrawalCell",
    "derive_l1_deposits",
]
