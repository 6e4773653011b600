"""L2 benchmarks (not tests): STF throughput, bytes per transfer on L1, and HTTP ingestion
into a real sequencer process (single and bulk). Prints a table; numbers are for this machine.

    python bench/bench_l2.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from l1.core.blobs import BYTES_PER_BLOB  # noqa: E402
from l1.devnet_keys import DEVNET_KEYS  # noqa: E402
from l2.batch import compute_batch_blobs, encode_batch  # noqa: E402
from l2.client.sequencer import SequencerClient  # noqa: E402
from l2.profile import OPTIMISTIC  # noqa: E402
from l2.stf import apply_transaction  # noqa: E402
from l2.tx import RECORD_SIZE, Transfer, sign_transaction  # noqa: E402
from sequencer.config import DEFAULT_CHAIN_ID, DEFAULT_ROLLUP_ID  # noqa: E402
from tests.sequencer.procs import sequencer_proc  # noqa: E402

CKB = 100_000_000


def _devnet_state() -> tuple[object, object]:
    from l2.config import RollupConfig
    from l2.preset import get_preset
    from l2.state import Account, create_genesis_state

    config = RollupConfig(
        DEFAULT_CHAIN_ID, bytes.fromhex(DEFAULT_ROLLUP_ID), 0, get_preset("devnet"), OPTIMISTIC
    )
    accounts = [
        Account(OPTIMISTIC.compute_public_key(key.private_key), 10**15, 0) for key in DEVNET_KEYS
    ]
    return config, create_genesis_state(config, accounts)


def bench_stf(count: int) -> tuple[float, float]:
    """(transfers/s including signature verification, signing ms per transfer)."""
    config, state = _devnet_state()
    keys = [key.private_key for key in DEVNET_KEYS]
    start = time.perf_counter()
    txs = []
    for n in range(count):
        sender = 1 + n % 9
        tx = Transfer(sender, 1 + (n + 1) % 9, 1000, 10, n // 9, b"")
        txs.append(sign_transaction(tx, keys[sender], config))  # type: ignore[arg-type]
    signing = (time.perf_counter() - start) / count * 1000
    start = time.perf_counter()
    for tx in txs:
        apply_transaction(state, tx, config, ())  # type: ignore[arg-type]
    return count / (time.perf_counter() - start), signing


def bench_bytes() -> dict[str, float]:
    config, _state = _devnet_state()
    records = [
        sign_transaction(Transfer(1, 2, 1000, 10, n, b""), DEVNET_KEYS[1].private_key, config)  # type: ignore[arg-type]
        for n in range(1023)
    ]
    data = encode_batch(records)  # type: ignore[arg-type]
    blobs = compute_batch_blobs(records)  # type: ignore[arg-type]
    return {
        "record bytes per transfer": float(RECORD_SIZE),
        "batch bytes per transfer, 1023 transfers": len(data) / len(records),
        "blob bytes per transfer, 1 full blob": len(blobs) * BYTES_PER_BLOB / len(records),
        "blobs for 1023 transfers": float(len(blobs)),
    }


def bench_http(count: int, bulk_size: int) -> tuple[float, float]:
    """(single-request tx/s, bulk tx/s) against a real sequencer process (no L1)."""
    with tempfile.TemporaryDirectory() as tmp:
        proc = sequencer_proc(Path(tmp) / "seq", extra=("--batch-interval", "3600"))
        proc.start().wait_healthy()
        try:
            with SequencerClient(proc.url) as client:
                config = client.rollup_config()
                nonce = client.get_account(1).pending_nonce
                start = time.perf_counter()
                for n in range(count):
                    client.submit_transfer(DEVNET_KEYS[1].private_key, 1, 2, 1000, 10, nonce + n)
                single = count / (time.perf_counter() - start)
                nonce = client.get_account(3).pending_nonce
                signed = [
                    sign_transaction(
                        Transfer(3, 4, 1000, 10, nonce + n, b""), DEVNET_KEYS[3].private_key, config
                    )
                    for n in range(count)
                ]
                start = time.perf_counter()
                for i in range(0, count, bulk_size):
                    client.submit_bulk(signed[i : i + bulk_size])
                bulk = count / (time.perf_counter() - start)
        finally:
            proc.stop()
    return single, bulk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    count = 300 if args.quick else 2000
    print(f"rollcourt L2 benchmarks on {os.cpu_count()} cores, CPython {sys.version.split()[0]}\n")
    stf, signing = bench_stf(count)
    print(f"{'STF transfers/s (signature check + 2 SMT updates)':52s} {stf:10,.0f}")
    print(f"{'client signing ms per transfer':52s} {signing:10.2f}")
    for name, value in bench_bytes().items():
        print(f"{name:52s} {value:10,.1f}")
    single, bulk = bench_http(count // 2, 100)
    print(f"{'HTTP ingestion tx/s, one request per tx':52s} {single:10,.0f}")
    print(f"{'HTTP ingestion tx/s, bulk of 100':52s} {bulk:10,.0f}")


if __name__ == "__main__":
    main()
