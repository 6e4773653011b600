"""Validity-mode benchmarks (not tests): what proving a batch costs the prover, what verifying
it costs the L1, and what re-executing the batch would cost the L1 instead -- the headline of
validity mode (docs/validity.md).

For each circuit preset: the setup (cached under the data directory, keyed by the circuit hash;
timed only when it runs), the circuit's constraints, the time to build the witness and prove a
full batch of signed transfers (per batch and per transaction), and the L1's work for the proof
(``SubmitProvenBatch``'s proof part: recompute the public input from the records, validate every
point, four Miller loops and one final exponentiation with py_ecc).  Then the L1's alternative,
re-executing the batch with the STF of the validity profile (Poseidon tree, EdDSA-Poseidon
signatures), for the circuit's batch and for larger batches: verification is constant, so the
ratio grows with the batch.

    python bench/bench_validity.py [--presets test,devnet] [--data-dir .cache] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from l1.core import groth16  # noqa: E402
from l2.config import RollupConfig  # noqa: E402
from l2.preset import SHANNONS_PER_CKB, L2Preset, get_preset  # noqa: E402
from l2.profile import VALIDITY  # noqa: E402
from l2.state import Account, L2State, create_genesis_state  # noqa: E402
from l2.stf import apply_batch  # noqa: E402
from l2.tx import Transfer, encode_record, sign_transaction  # noqa: E402
from l2.validity import compute_batch_input  # noqa: E402
from l2.witness import compute_batch_witness  # noqa: E402
from prover.artifacts import run_setup  # noqa: E402
from prover.engine import prove  # noqa: E402
from prover.presets import get_circuit_preset  # noqa: E402

SENDERS = 8


def _config(preset: L2Preset) -> RollupConfig:
    return RollupConfig(1, bytes(range(32)), 0, preset, VALIDITY)


def _state(config: RollupConfig, keys: list[bytes]) -> L2State:
    return create_genesis_state(
        config,
        [Account(VALIDITY.compute_public_key(k), 10**6 * SHANNONS_PER_CKB, 0) for k in keys],
    )


def _records(config: RollupConfig, keys: list[bytes], count: int) -> list[bytes]:
    """``count`` signed transfers round-robin over the senders, each paying a fee."""
    nonces = [0] * len(keys)
    records = []
    for i in range(count):
        sender = i % len(keys)
        tx = Transfer(sender, (sender + 1) % len(keys), 1000 + i, 10, nonces[sender])
        nonces[sender] += 1
        records.append(encode_record(sign_transaction(tx, keys[sender], config)))
    return records


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def _reexecute(config: RollupConfig, keys: list[bytes], records: list[bytes], runs: int) -> float:
    times = []
    for _ in range(runs):
        state = _state(config, keys)
        started = time.process_time()
        result = apply_batch(state, records, config)
        times.append(time.process_time() - started)
        if result.rejections:
            raise RuntimeError(f"bench batch rejected: {result.rejections[0]}")
    return _median(times)


def bench_preset(name: str, data_dir: Path, runs: int) -> dict[str, float]:
    circuit = get_circuit_preset(name)
    preset = get_preset(circuit.l2_preset)
    config = _config(preset)
    keys = [bytes([i + 1]) * 32 for i in range(SENDERS)]

    started = time.monotonic()
    setup = run_setup(circuit.get_spec(), data_dir)
    setup_s = time.monotonic() - started
    artifacts = setup.artifacts
    constraints = artifacts.manifest.get("constraints") or {}
    total_constraints = int(
        constraints.get("total", constraints.get("non_linear", 0)) if constraints else 0
    )

    n = circuit.batch_size
    records = _records(config, keys, n)
    witness_times, prove_times = [], []
    proof = None
    for _ in range(runs):
        state = _state(config, keys)
        t0 = time.monotonic()
        witness = compute_batch_witness(state, records, config)
        t1 = time.monotonic()
        proof = prove(artifacts, witness.inputs)
        t2 = time.monotonic()
        witness_times.append(t1 - t0)
        prove_times.append(t2 - t1)
    assert proof is not None
    state = _state(config, keys)
    pre_root = state.get_root()
    apply_batch(state, records, config)
    post_root = state.get_root()

    vk = groth16.decode_verifying_key(
        groth16.encode_verifying_key(
            groth16.decode_verifying_key_json(artifacts.verification_key_json)
        )
    )
    verify_times = []
    for _ in range(runs):
        started_cpu = time.process_time()
        batch_input = compute_batch_input(pre_root, post_root, records, config)
        groth16.validate_proof(vk, groth16.decode_proof(proof.proof), [batch_input])
        verify_times.append(time.process_time() - started_cpu)
    verify_s = _median(verify_times)
    reexec_s = _reexecute(config, keys, records, runs)

    print(
        f"\n== circuit preset {name} (L2 preset {preset.name}: depth {preset.tree_depth}, "
        f"batch {n}) =="
    )
    print(
        f"setup: {setup_s:.1f} s ({'cache hit' if setup.cache_hit else 'ran now'}; "
        f"{artifacts.manifest.get('setup_kind', 'single-party')})"
    )
    if total_constraints:
        print(f"constraints: {total_constraints:,} ({total_constraints / n:,.0f} per transaction)")
    prove_s = _median(prove_times)
    witness_s = _median(witness_times)
    print(f"witness (Python replay + STF check): {witness_s * 1000:.0f} ms")
    print(
        f"prove (groth16py, witness generation + Groth16): {prove_s:.2f} s per batch, "
        f"{prove_s / n:.2f} s per transaction"
    )
    print(
        f"L1 verification per proof (public input + py_ecc pairing check): "
        f"{verify_s * 1000:.0f} ms CPU"
    )
    print(
        f"L1 re-execution of the same batch (validity-profile STF): {reexec_s * 1000:.1f} ms CPU "
        f"-> ratio re-execution/verification {reexec_s / verify_s:.3f}x"
    )
    return {"verify_s": verify_s, "prove_s": prove_s, "n": n}


def bench_reexecution(sizes: list[int], verify_s: float) -> None:
    """Re-executing larger batches (same profile, same STF) against the constant verification."""
    preset = L2Preset(
        name="bench",
        tree_depth=16,
        max_txs_per_batch=max(sizes),
        max_blobs_per_batch=2,
        min_withdrawal_amount=61 * SHANNONS_PER_CKB,
        profile="validity",
    )
    config = _config(preset)
    keys = [bytes([i + 1]) * 32 for i in range(64)]
    print("\n== verification is constant; re-execution grows with the batch (depth-16 tree) ==")
    print(f"{'records':>8} {'re-execution ms':>16} {'verification ms':>16} {'ratio':>8}")
    for n in sizes:
        records = _records(config, keys, n)
        reexec = _reexecute(config, keys, records, 1)
        print(f"{n:>8} {reexec * 1000:>16.1f} {verify_s * 1000:>16.0f} {reexec / verify_s:>7.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="test,devnet")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".cache")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="16,64,256,1024")
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    verify_s = 0.0
    for name in args.presets.split(","):
        verify_s = bench_preset(name.strip(), args.data_dir, args.runs)["verify_s"]
    bench_reexecution([int(s) for s in args.sizes.split(",")], verify_s)


if __name__ == "__main__":
    main()
