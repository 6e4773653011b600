"""L1 benchmarks (not tests): Eaglesong throughput, block validation time versus transactions
per block, and sync speed between two real nodes. Prints a table; numbers are for this machine.

    python bench/bench_l1.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from l1.ckb.eaglesong import EaglesongMidstate, eaglesong  # noqa: E402
from l1.ckb.hashes import compute_pow_hash, compute_tx_hash  # noqa: E402
from l1.ckb.pow import find_nonce  # noqa: E402
from l1.ckb.types import CellInput, CellOutput, Header, OutPoint, RawTransaction, Transaction  # noqa: E402
from l1.core.block import assemble_block, verify_block  # noqa: E402
from l1.core.genesis import build_genesis, chain_spec_from_json  # noqa: E402
from l1.core.scripts import build_default_registry  # noqa: E402
from l1.core.scripts.secp256k1 import sign_sighash_all  # noqa: E402
from l1.devnet_keys import DEVNET_KEYS  # noqa: E402
from l1.node.chain import Chain, MainChainHeaders, StoreCellProvider  # noqa: E402
from l1.node.store import Store  # noqa: E402

CKB = 100_000_000


def bench_eaglesong(seconds: float) -> dict[str, float]:
    message = bytes(range(48))
    results = {}
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        eaglesong(message)
        count += 1
    results["eaglesong (one 48-byte message) hashes/s"] = count / (time.perf_counter() - start)
    midstate = EaglesongMidstate(message[:32])
    nonces = [n.to_bytes(16, "little") for n in range(2048)]
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        midstate.hash_many(nonces)
        count += len(nonces)
    results["miner path (midstate, lane-parallel) hashes/s"] = count / (time.perf_counter() - start)
    return results


def _fresh_chain(tmp: Path) -> tuple[Chain, object]:
    spec = chain_spec_from_json(json.loads((ROOT / "l1/specs/test.json").read_text()))
    preset = replace(spec.preset, max_block_cycles=10**12, max_block_bytes=50_000_000)
    spec = replace(spec, preset=preset)
    genesis = build_genesis(spec)
    registry = build_default_registry(allow_always_success=True)
    return Chain(Store(f"sqlite:///{tmp / 'bench.sqlite'}"), genesis, preset, registry), genesis


def _mine(chain: Chain, txs: list[Transaction], lock: object) -> object:
    context = chain.parent_context(chain.tip.hash)
    with chain.store.read() as conn:
        assembled = assemble_block(
            chain.preset,
            context,
            txs,
            StoreCellProvider(chain.store, conn),
            MainChainHeaders(chain, chain.main),
            chain.registry,
            lock,
            context.header.raw.timestamp + 1000,  # type: ignore[arg-type]
        )
    block = assembled.block
    nonce = find_nonce(
        compute_pow_hash(block.header.raw), block.header.raw.compact_target, 0, 1 << 20
    )
    return replace(block, header=Header(block.header.raw, nonce or 0))


def bench_block_validation(sizes: list[int]) -> list[tuple[int, float, float]]:
    """(txs per block, ms to verify the block (pure core), ms per transaction)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        chain, genesis = _fresh_chain(Path(tmp))
        secp = genesis.system_scripts["secp256k1_blake160_sighash_all"]  # type: ignore[attr-defined]
        key = DEVNET_KEYS[0]
        lock = secp.script(key.lock_args)
        # Split one genesis cell into many so each benchmark transaction has its own input.
        cellbase = genesis.block.transactions[0]  # type: ignore[attr-defined]
        source_index = next(i for i, o in enumerate(cellbase.raw.outputs) if o.lock == lock)
        pieces = max(sizes)
        split = Transaction(
            RawTransaction(
                cell_deps=(secp.cell_dep,),
                inputs=(CellInput(OutPoint(compute_tx_hash(cellbase), source_index)),),
                outputs=tuple(CellOutput(1000 * CKB, lock) for _ in range(pieces)),
                outputs_data=tuple(b"" for _ in range(pieces)),
            )
        )
        split = sign_sighash_all(split, [0], key.private_key)
        chain.process_block(_mine(chain, [split], lock))  # type: ignore[arg-type]
        split_hash = compute_tx_hash(split)
        used = 0
        for size in sizes:
            txs = []
            for i in range(used, used + size):
                tx = Transaction(
                    RawTransaction(
                        cell_deps=(secp.cell_dep,),
                        inputs=(CellInput(OutPoint(split_hash, i)),),
                        outputs=(CellOutput(999 * CKB, lock),),
                        outputs_data=(b"",),
                    )
                )
                txs.append(sign_sighash_all(tx, [0], key.private_key))
            used += size
            block = _mine(chain, txs, lock)
            context = chain.parent_context(chain.tip.hash)
            timings = []
            for _ in range(3):
                with chain.store.read() as conn:
                    start = time.perf_counter()
                    verify_block(
                        chain.preset,
                        block,
                        context,
                        StoreCellProvider(chain.store, conn),  # type: ignore[arg-type]
                        MainChainHeaders(chain, chain.main),
                        chain.registry,
                        None,
                    )
                    timings.append(time.perf_counter() - start)
            chain.process_block(block)  # type: ignore[arg-type]
            ms = statistics.median(timings) * 1000
            rows.append((size, ms, ms / size))
    return rows


def bench_sync(blocks: int) -> float:
    """Blocks/s for a fresh node catching up from a peer over HTTP (real processes)."""
    from l1.client import L1Client
    from tests.support.procs import l1_node, wait_until

    with tempfile.TemporaryDirectory() as tmp:
        source = l1_node(Path(tmp) / "source").start().wait_healthy()
        try:
            client = L1Client(source.url)
            for _ in range(blocks):
                client.generate_block()
            target = l1_node(Path(tmp) / "target", peers=(source.url,))
            start = time.perf_counter()
            target.start()
            try:
                target_client = L1Client(target.url)
                wait_until(
                    lambda: target_client.get_tip_block_number() >= blocks, 600, 0.05, "sync"
                )
                elapsed = time.perf_counter() - start
            finally:
                target.stop()
        finally:
            source.stop()
    return blocks / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seconds = 1.0 if args.quick else 3.0
    print(f"rollcourt L1 benchmarks on {os.cpu_count()} cores, CPython {sys.version.split()[0]}\n")
    for name, value in bench_eaglesong(seconds).items():
        print(f"{name:48s} {value:12,.0f}")
    print("\nblock validation (pure core, secp256k1 transfers, SQLite cell reads)")
    print(f"{'txs/block':>10} {'ms/block':>10} {'ms/tx':>8}")
    for size, ms, per_tx in bench_block_validation([1, 10, 50] if args.quick else [1, 10, 50, 200]):
        print(f"{size:>10} {ms:>10.1f} {per_tx:>8.2f}")
    blocks = 100 if args.quick else 300
    print(
        f"\nsync: fresh node from a peer over HTTP, {blocks} blocks: {bench_sync(blocks):,.1f} blocks/s "
        "(includes process start-up)"
    )


if __name__ == "__main__":
    main()
