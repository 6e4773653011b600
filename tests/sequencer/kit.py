"""Helpers for the sequencer tests: a test configuration, devnet keys, signed transactions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from l1.devnet_keys import DEVNET_KEYS
from l2.config import RollupConfig
from l2.profile import SECP256K1_N
from l2.tx import Transfer, Withdraw, sign_transaction
from sequencer.batcher import compute_test_versioned_hashes
from sequencer.config import DEVNET_GENESIS_BALANCE, SequencerConfig
from sequencer.service import Sequencer

BALANCE = DEVNET_GENESIS_BALANCE
RECIPIENT = bytes(range(20))


def settings(data_dir: Path, **overrides: Any) -> SequencerConfig:
    values: dict[str, Any] = {"data_dir": data_dir, "batch_interval": 3600.0}
    values.update(overrides)
    return SequencerConfig(**values)


def open_sequencer(data_dir: Path, **overrides: Any) -> Sequencer:
    return Sequencer(
        settings(data_dir, **overrides), versioned_hashes=compute_test_versioned_hashes
    ).open()


def transfer(
    config: RollupConfig,
    frm: int,
    to: int,
    amount: int,
    nonce: int,
    fee: int = 0,
    *,
    key: int | None = None,
) -> Transfer:
    tx = Transfer(frm, to, amount, fee, nonce)
    return sign_transaction(tx, DEVNET_KEYS[frm if key is None else key].private_key, config)


def withdraw(config: RollupConfig, frm: int, amount: int, nonce: int, fee: int = 0) -> Withdraw:
    tx = Withdraw(frm, amount, fee, nonce, RECIPIENT)
    return sign_transaction(tx, DEVNET_KEYS[frm].private_key, config)


def high_s(signature: bytes) -> bytes:
    """The malleated twin ``(r, n - s)``: also a valid ECDSA signature, but not canonical."""
    r, s = signature[:32], int.from_bytes(signature[32:], "big")
    return r + (SECP256K1_N - s).to_bytes(32, "big")


def transfer_json(tx: Transfer) -> dict[str, Any]:
    return {
        "kind": "transfer",
        "from_index": tx.from_index,
        "to_index": tx.to_index,
        "amount": tx.amount,
        "fee": tx.fee,
        "nonce": tx.nonce,
        "signature": "0x" + tx.signature.hex(),
    }
