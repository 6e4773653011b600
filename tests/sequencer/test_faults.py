"""The test-only wrong-root faults (``sequencer.faults``): each kind executes consistently (soft
execution, the cut's re-execution and a replay agree) and yields a root the L1's one-step proof
exposes at the faulty record."""

from __future__ import annotations

import ckzg
import pytest

from l1.core.blobs import compute_versioned_hash
from l1.kzg import get_kzg_settings
from l2.batch import compute_batch_blobs, compute_batch_commitment
from l2.config import RollupConfig
from l2.dispute import ZERO_HASH
from l2.onestep import build_one_step_proof, compute_batch_trace, verify_one_step
from l2.preset import SHANNONS_PER_CKB, TEST
from l2.profile import OPTIMISTIC
from l2.state import Account, L2State, create_genesis_state
from l2.stf import apply_batch
from l2.tx import Transaction, Transfer, Withdraw, encode_record, sign_transaction
from sequencer.faults import (
    FaultKind,
    FaultyExecutor,
    WrongRootFault,
    apply_faulty_batch,
    parse_wrong_root_fault,
)

CKB = SHANNONS_PER_CKB
KEYS = (b"\x11" * 32, b"\x22" * 32, b"\x33" * 32)
CONFIG = RollupConfig(0, b"\x07" * 32, 2, TEST, OPTIMISTIC)


def _genesis() -> L2State:
    return create_genesis_state(
        CONFIG, [Account(OPTIMISTIC.compute_public_key(k), 1_000 * CKB, 0) for k in KEYS]
    )


def _txs(kind: FaultKind) -> list[Transaction]:
    """Two honest transfers, then the record the fault acts on, then one more."""
    good = [
        sign_transaction(Transfer(0, 1, 5 * CKB, CKB // 10, 0), KEYS[0], CONFIG),
        sign_transaction(Transfer(1, 0, 3 * CKB, CKB // 10, 0), KEYS[1], CONFIG),
    ]
    if kind is FaultKind.SKIP_SIGNATURE_CHECK:  # a forged transfer out of account 1
        target: Transaction = sign_transaction(Transfer(1, 2, 500 * CKB, 0, 1), KEYS[2], CONFIG)
    elif kind is FaultKind.WRONG_NONCE:  # a replay of account 0's first transfer
        target = good[0]
    elif kind is FaultKind.WRONG_FEE:
        target = sign_transaction(Withdraw(0, 70 * CKB, CKB, 1, bytes(20)), KEYS[0], CONFIG)
    else:
        target = sign_transaction(Transfer(2, 0, 10 * CKB, 0, 0), KEYS[2], CONFIG)
    tail = sign_transaction(
        Transfer(2, 1, 1 * CKB, 0, 0 if kind is not FaultKind.INFLATE_BALANCE else 1),
        KEYS[2],
        CONFIG,
    )
    return [*good, target, tail]


@pytest.mark.parametrize("kind", list(FaultKind))
def test_each_fault_is_exposed_by_the_one_step_at_its_record(kind: FaultKind) -> None:
    txs = _txs(kind)
    records = [encode_record(tx) for tx in txs]
    honest_state, faulty_state = _genesis(), _genesis()
    honest = apply_batch(honest_state, records, CONFIG)
    faulty = apply_faulty_batch(faulty_state, records, CONFIG, {}, kind)
    honest_trace, faulty_trace = (compute_batch_trace(r, CONFIG) for r in (honest, faulty))
    assert faulty_trace[-1] != honest_trace[-1]
    first_wrong = next(
        i for i, (a, b) in enumerate(zip(honest_trace, faulty_trace, strict=True)) if a != b
    )
    # Inflation and double fees hit the first transfer; a forged signature or a replayed nonce
    # only the forged or replayed record.
    record = first_wrong - 1
    expected = {FaultKind.SKIP_SIGNATURE_CHECK: 2, FaultKind.WRONG_NONCE: 2}.get(kind, 0)
    assert record == expected

    settings = get_kzg_settings()
    blobs = compute_batch_blobs(txs)

    hashes = [
        compute_versioned_hash(bytes(ckzg.blob_to_kzg_commitment(b, settings))) for b in blobs
    ]
    commitment = compute_batch_commitment(0, faulty, hashes, bytes(32), CONFIG)
    pre = _genesis()
    apply_batch(pre, records[:record], CONFIG)
    proof = build_one_step_proof(pre, ZERO_HASH, record, blobs, commitment, (), CONFIG, settings)
    post = verify_one_step(
        proof,
        record_index=record,
        lo_hash=honest_trace[record],
        commitment=commitment,
        deposits_root=ZERO_HASH,
        config=CONFIG,
        settings=settings,
    )
    assert post == honest_trace[record + 1] != faulty_trace[record + 1]


def test_the_faulty_executor_seals_its_own_root_consistently() -> None:
    executor = FaultyExecutor(CONFIG, _genesis(), WrongRootFault(FaultKind.INFLATE_BALANCE, 1))
    assert not executor.arm_if_due(0)  # batch 0 stays honest
    assert executor.arm_if_due(1) and executor.armed
    tx = sign_transaction(Transfer(0, 1, 5 * CKB, 0, 0), KEYS[0], CONFIG)
    executed = executor.execute(tx)
    honest = _genesis()
    apply_batch(honest, [tx], CONFIG)
    assert executed.post_root != honest.get_root()
    assert executor.state.get_account(1).balance == 1_010 * CKB  # type: ignore[union-attr]
    executor.disarm()
    assert executor.spent and not executor.arm_if_due(5)


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["wrong-root"], "KIND"),
        (["wrong-root", "steal-everything"], "unknown wrong-root kind"),
        (["wrong-root", "wrong-fee", "two"], "batch number"),
    ],
)
def test_bad_fault_specs_are_refused_with_the_choices(words: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_wrong_root_fault(words)


def test_a_fault_spec_parses() -> None:
    assert parse_wrong_root_fault(["wrong-root", "wrong-nonce", "3"]) == WrongRootFault(
        FaultKind.WRONG_NONCE, 3
    )
