"""The rollup's L1 bridge: native verifiers for the rollup cell, its satellites and the dispute
game (docs/rollup-on-l1.md, docs/disputes.md), and validity rollups' proven batches
(docs/validity.md §5). The only part of ``l1/core`` that
imports ``l2`` (pure)."""

from __future__ import annotations

from l1.core.scripts.rollup.cells import (
    ROLLUP_BATCH,
    ROLLUP_CUSTODIAN_LOCK,
    ROLLUP_DEPOSIT_LOCK,
    ROLLUP_WITHDRAWAL_LOCK,
)
from l1.core.scripts.rollup.game import ROLLUP_GAME
from l1.core.scripts.rollup.layout import (
    BURN_LOCK,
    ROLLUP_BATCH_CODE,
    ROLLUP_CUSTODIAN_LOCK_CODE,
    ROLLUP_DEPOSIT_LOCK_CODE,
    ROLLUP_GAME_CODE,
    ROLLUP_STATE_CODE,
    ROLLUP_WITHDRAWAL_LOCK_CODE,
    Abandon,
    BatchCell,
    DepositArgs,
    EscapeHatch,
    FinalizeBatch,
    ForceDeposit,
    GameAction,
    GameCell,
    Move,
    OneStep,
    RevertBatches,
    RollupAction,
    RollupState,
    SubmitBatch,
    SubmitProvenBatch,
    Timeout,
    WithdrawalArgs,
    WithdrawalEntry,
    compute_deposit_hash,
    compute_deposits_root,
    decode_action,
    decode_game_action,
    encode_action,
    encode_game_action,
)
from l1.core.scripts.rollup.state import ROLLUP_STATE

__all__ = [
    "BURN_LOCK",
    "ROLLUP_BATCH",
    "ROLLUP_BATCH_CODE",
    "ROLLUP_CUSTODIAN_LOCK",
    "ROLLUP_CUSTODIAN_LOCK_CODE",
    "ROLLUP_DEPOSIT_LOCK",
    "ROLLUP_DEPOSIT_LOCK_CODE",
    "ROLLUP_GAME",
    "ROLLUP_GAME_CODE",
    "ROLLUP_SCRIPT_CODES",
    "ROLLUP_STATE",
    "ROLLUP_STATE_CODE",
    "ROLLUP_VERIFIERS",
    "ROLLUP_WITHDRAWAL_LOCK",
    "ROLLUP_WITHDRAWAL_LOCK_CODE",
    "Abandon",
    "BatchCell",
    "DepositArgs",
    "EscapeHatch",
    "FinalizeBatch",
    "ForceDeposit",
    "GameAction",
    "GameCell",
    "Move",
    "OneStep",
    "RevertBatches",
    "RollupAction",
    "RollupState",
    "SubmitBatch",
    "SubmitProvenBatch",
    "Timeout",
    "WithdrawalArgs",
    "WithdrawalEntry",
    "compute_deposit_hash",
    "compute_deposits_root",
    "decode_action",
    "decode_game_action",
    "encode_action",
    "encode_game_action",
]

#: (system script name, code cell data) in genesis deployment order.
ROLLUP_SCRIPT_CODES: tuple[tuple[str, bytes], ...] = (
    ("rollup_state", ROLLUP_STATE_CODE),
    ("rollup_deposit_lock", ROLLUP_DEPOSIT_LOCK_CODE),
    ("rollup_custodian_lock", ROLLUP_CUSTODIAN_LOCK_CODE),
    ("rollup_batch", ROLLUP_BATCH_CODE),
    ("rollup_withdrawal_lock", ROLLUP_WITHDRAWAL_LOCK_CODE),
    ("rollup_game", ROLLUP_GAME_CODE),
)
#: (code cell data, verifier) for ``build_default_registry``.
ROLLUP_VERIFIERS = (
    (ROLLUP_STATE_CODE, ROLLUP_STATE),
    (ROLLUP_DEPOSIT_LOCK_CODE, ROLLUP_DEPOSIT_LOCK),
    (ROLLUP_CUSTODIAN_LOCK_CODE, ROLLUP_CUSTODIAN_LOCK),
    (ROLLUP_BATCH_CODE, ROLLUP_BATCH),
    (ROLLUP_WITHDRAWAL_LOCK_CODE, ROLLUP_WITHDRAWAL_LOCK),
    (ROLLUP_GAME_CODE, ROLLUP_GAME),
)
