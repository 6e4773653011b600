"""The I/O-doing part of the L2 SDK (httpx through ``l1.client.L1Client``), as ``l1/client.py`` is
for the L1. The rest of ``l2`` is a pure core; this subpackage is the declared exception
(``tests/test_purity.py``)."""

from __future__ import annotations

from l2.client.bridge import (
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

__all__ = [
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
]
