"""The rollup circuit against the STF (docs/validity.md §4), on the ``test`` circuit preset.

Every batch the STF accepts must prove, with the public input the L1 recomputes; every rule the
STF enforces must also stop the circuit (a witness that breaks it cannot be proven, and the
prover says which constraint failed); and snarkjs itself verifies one of our rollup proofs.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from l1.core import groth16
from l2.config import RollupConfig
from l2.errors import UnprovableBatch
from l2.preset import get_preset
from l2.profile import VALIDITY
from l2.state import Account, L2State, create_genesis_state
from l2.stf import apply_batch
from l2.tx import (
    Deposit,
    L1Deposit,
    Transaction,
    Transfer,
    Withdraw,
    encode_record,
    sign_transaction,
)
from l2.validity import compute_batch_input
from l2.witness import compute_batch_witness
from prover.artifacts import Artifacts
from prover.engine import NODE_MODULES, ProofResult, prove
from prover.errors import InvalidWitness
from prover.presets import REPO_ROOT
from tests.support.validity import get_test_artifacts

pytestmark = pytest.mark.slow

CONFIG = RollupConfig(7, bytes(range(32)), 0, get_preset("validity-test"), VALIDITY)
KEYS = [bytes([i + 1]) * 32 for i in range(4)]
PUBLIC_KEYS = [VALIDITY.compute_public_key(k) for k in KEYS]
CKB = 10**8


@pytest.fixture(scope="module")
def artifacts() -> Artifacts:
    return get_test_artifacts()


def _genesis() -> L2State:
    # Account 0 is the fee account (fee_account = 0), account 1 a funded user.
    return create_genesis_state(
        CONFIG, [Account(PUBLIC_KEYS[0], 0, 0), Account(PUBLIC_KEYS[1], 1000 * CKB, 0)]
    )


def _signed(tx: Transfer | Withdraw, key: int) -> Transfer | Withdraw:
    return sign_transaction(tx, KEYS[key], CONFIG)


def _prove_batch(
    artifacts: Artifacts,
    state: L2State,
    txs: list[Transaction],
    deposits: dict[int, L1Deposit] | None = None,
) -> ProofResult:
    """Prove ``txs`` on ``state`` (then apply them) and check what the L1 would check."""
    records = [encode_record(tx) for tx in txs]
    witness = compute_batch_witness(state, records, CONFIG, deposits or {})
    pre_root = state.get_root()
    result = apply_batch(state, records, CONFIG, deposits or {})
    assert not result.rejections
    assert witness.pre_root == pre_root
    assert witness.post_root == state.get_root()
    expected_input = compute_batch_input(pre_root, state.get_root(), records, CONFIG)
    assert witness.batch_input == expected_input
    proof = prove(artifacts, witness.inputs)
    assert proof.public_signals == (expected_input,)
    vk = groth16.decode_verifying_key_json(artifacts.verification_key_json)
    groth16.validate_proof(vk, groth16.decode_proof(proof.proof), [expected_input])
    return proof


def test_every_kind_of_valid_batch_proves(artifacts: Artifacts) -> None:
    state = _genesis()
    deposits = {
        0: L1Deposit(bytes(36), 0, PUBLIC_KEYS[2], 500 * CKB),
        1: L1Deposit(bytes([1]) * 36, 1, PUBLIC_KEYS[1], 7 * CKB),
    }
    # A deposit creating account 2, then a transfer 1 -> 2 paying a fee.
    _prove_batch(
        artifacts,
        state,
        [
            Deposit(0, 2, 500 * CKB, PUBLIC_KEYS[2]),
            _signed(Transfer(1, 2, 3 * CKB, 1000, 0), 1),
        ],
        deposits,
    )
    # A deposit to an existing account (same key), a self-transfer paying a fee (three
    # updates of which two touch the same leaf in sequence).
    _prove_batch(
        artifacts,
        state,
        [
            Deposit(1, 1, 7 * CKB, PUBLIC_KEYS[1]),
            _signed(Transfer(2, 2, 10, 5, 0), 2),
        ],
        deposits,
    )
    # The fee account pays a fee to itself; a withdrawal with a fee.
    _prove_batch(
        artifacts,
        state,
        [
            _signed(Transfer(0, 1, 100, 200, 0), 0),
            _signed(Withdraw(1, 61 * CKB, 7, 1, b"\x09" * 20), 1),
        ],
    )
    # A partial batch (one padding slot): a withdrawal without fee.
    _prove_batch(artifacts, state, [_signed(Withdraw(2, 100 * CKB, 0, 1, b"\x07" * 20), 2)])
    # An empty batch: both slots are padding, the root does not move.
    before = state.get_root()
    _prove_batch(artifacts, state, [])
    assert state.get_root() == before
    assert state.get_account(2) == Account(
        PUBLIC_KEYS[2], 500 * CKB + 3 * CKB - 10 - 5 + 10 - 100 * CKB, 2
    )


def test_a_rule_breaking_batch_is_reported_before_proving() -> None:
    state = _genesis()
    snapshot = state.encode()
    bad_signature = replace(_signed(Transfer(1, 0, 5, 0, 0), 1), signature=bytes(64))
    with pytest.raises(UnprovableBatch, match=r"record 0 is invalid \(InvalidSignature"):
        compute_batch_witness(state, [encode_record(bad_signature)], CONFIG)
    overspend = _signed(Transfer(1, 0, 1001 * CKB, 0, 0), 1)
    with pytest.raises(UnprovableBatch, match=r"record 0 is invalid \(InsufficientBalance"):
        compute_batch_witness(state, [encode_record(overspend)], CONFIG)
    too_many = [encode_record(_signed(Transfer(1, 0, 1, 0, n), 1)) for n in range(3)]
    with pytest.raises(UnprovableBatch, match="3 records, but the circuit has 2 slots"):
        compute_batch_witness(state, too_many, CONFIG)
    assert state.encode() == snapshot


def _tampered(witness_inputs: dict[str, object], slot: int, record: bytes) -> dict[str, object]:
    """``record`` swapped into slot ``slot``, with its signature's R8 unpacked as the witness
    builder would (so only the rule under test is broken)."""
    inputs = dict(witness_inputs)
    records = [list(r) for r in inputs["record"]]  # type: ignore[attr-defined]
    records[slot] = list(record)
    inputs["record"] = records
    r8s = [list(p) for p in inputs["r8"]]  # type: ignore[attr-defined]
    r8x, r8y, _s = VALIDITY.unpack_signature(record[60:124])
    r8s[slot] = [r8x, r8y]
    inputs["r8"] = r8s
    return inputs


def _line_of(statement: str) -> str:
    """``RollupSlot line N``: where ``statement`` is in the circuit (the prover names it)."""
    lines = (REPO_ROOT / "prover/circuits/rollup.circom").read_text().splitlines()
    return f"RollupSlot line {lines.index(statement) + 1}"


@pytest.mark.parametrize(
    ("name", "make", "constraint"),
    [
        # The signature no longer matches the record (one byte of S flipped).
        (
            "bad signature",
            lambda tx: (
                encode_record(tx)[:100]
                + bytes([encode_record(tx)[100] ^ 1])
                + encode_record(tx)[101:]
            ),
            "ForceEqualIfEnabled",  # EdDSAPoseidonVerifier's final check
        ),
        # A validly signed transfer of more than the balance: the debit underflows.
        (
            "overspend",
            lambda tx: encode_record(_signed(replace(tx, amount=1001 * CKB), 1)),
            "Num2Bits",  # the sender's new balance (balance_bits[0]) underflows
        ),
        # A validly signed transfer with the next nonce but the leaf's is 0.
        (
            "wrong nonce",
            lambda tx: encode_record(_signed(replace(tx, nonce=1), 1)),
            _line_of("    signed * (nonce - leaf_nonce[0]) === 0;"),
        ),
    ],
)
def test_the_circuit_itself_refuses_a_broken_rule(
    artifacts: Artifacts, name: str, make: object, constraint: str
) -> None:
    """The STF check is bypassed (the record is swapped into a valid witness): the circuit must
    refuse on its own, and the error names the failing template."""
    state = _genesis()
    good = _signed(Transfer(1, 0, 5 * CKB, 0, 0), 1)
    witness = compute_batch_witness(state, [encode_record(good)], CONFIG)
    inputs = _tampered(witness.inputs, 0, make(good))  # type: ignore[operator]
    with pytest.raises(InvalidWitness, match=constraint):
        prove(artifacts, inputs)


def test_a_proof_is_bound_to_its_public_input(artifacts: Artifacts) -> None:
    state = _genesis()
    witness = compute_batch_witness(
        state, [encode_record(_signed(Transfer(1, 0, 5, 0, 0), 1))], CONFIG
    )
    inputs = dict(witness.inputs)
    inputs["batch_input"] = witness.batch_input + 1
    with pytest.raises(InvalidWitness):
        prove(artifacts, inputs)


def test_snarkjs_verifies_a_rollup_proof(artifacts: Artifacts, tmp_path: Path) -> None:
    """Interoperability: snarkjs's own verifier accepts our verification key and our proof of a
    real rollup batch, in its JSON formats."""
    snarkjs = NODE_MODULES / ".bin" / "snarkjs"
    if not snarkjs.exists():
        pytest.skip("snarkjs not installed (make install)")
    state = _genesis()
    proof = _prove_batch(artifacts, state, [_signed(Transfer(1, 0, 5, 1, 0), 1)])
    (tmp_path / "vk.json").write_text(json.dumps(artifacts.verification_key_json))
    (tmp_path / "proof.json").write_text(json.dumps(proof.proof_json))
    (tmp_path / "public.json").write_text(json.dumps([str(v) for v in proof.public_signals]))
    run = subprocess.run(
        ["node", str(snarkjs), "groth16", "verify", "vk.json", "public.json", "proof.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and "OK" in run.stdout, run.stdout + run.stderr
    # And refuses it for another public input.
    (tmp_path / "public.json").write_text(json.dumps([str(proof.public_signals[0] + 1)]))
    run = subprocess.run(
        ["node", str(snarkjs), "groth16", "verify", "vk.json", "public.json", "proof.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "OK" not in run.stdout
