"""Data-availability benchmarks (not tests): KZG costs on the real trusted setup, and what a light
client downloads per block when it samples EIP-7594 cells instead of fetching blobs. Prints two
tables; timings are for this machine (median of repeated runs, single thread).

    python bench/bench_da.py [--quick]

The light-client table is computed from sizes, not measured on the wire: a cell is 2048 bytes
with a 48-byte KZG proof, a blob is 131072 bytes, a header is CKB's 208-byte molecule ``Header``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from math import comb
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ckzg  # noqa: E402

from l1.ckb.types import Header, RawHeader  # noqa: E402
from l1.core.blobs import (  # noqa: E402
    BYTES_PER_BLOB,
    BYTES_PER_CELL,
    CELLS_PER_EXT_BLOB,
    FIELD_ELEMENTS_PER_BLOB,
    BlobSidecar,
    compute_blob_sidecar,
    compute_cells_and_proofs,
    recover_cells,
    validate_blob,
    validate_blob_sidecars,
    verify_cells,
    verify_point_evaluation,
)
from l1.core.preset import TEST  # noqa: E402
from l1.kzg import get_kzg_settings  # noqa: E402

BYTES_PER_PROOF = 48
BYTES_PER_COMMITMENT = 48


def _blob(seed: int) -> bytes:
    rng = random.Random(seed)
    return b"".join(b"\x00" + rng.randbytes(31) for _ in range(FIELD_ELEMENTS_PER_BLOB))


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def timings(quick: bool) -> tuple[list[tuple[str, float, str]], float]:
    start = time.perf_counter()
    settings = get_kzg_settings()
    load_ms = (time.perf_counter() - start) * 1000
    repeat = 3 if quick else 10
    sidecars = [compute_blob_sidecar(_blob(seed), settings) for seed in range(6)]
    one = sidecars[0]
    rows: list[tuple[str, float, str]] = []

    rows.append(
        (
            "verify_blob_kzg_proof, one blob",
            _median_ms(
                lambda: ckzg.verify_blob_kzg_proof(one.blob, one.commitment, one.proof, settings),
                repeat,
            ),
            "per blob",
        )
    )
    for count in (1, 2, 6):
        batch: list[BlobSidecar] = sidecars[:count]
        hashes = [s.versioned_hash for s in batch]
        total = _median_ms(partial(validate_blob_sidecars, hashes, batch, settings), repeat)
        rows.append((f"validate_blob_sidecars, batch of {count}", total / count, "per blob"))
    for count in (1, 6):
        batch = sidecars[:count]
        blobs = b"".join(s.blob for s in batch)
        commitments = b"".join(s.commitment for s in batch)
        proofs = b"".join(s.proof for s in batch)
        total = _median_ms(
            partial(ckzg.verify_blob_kzg_proof_batch, blobs, commitments, proofs, settings), repeat
        )
        rows.append((f"  of which ckzg batch verify ({count})", total / count, "per blob"))
    rows.append(
        (
            "  of which validate_blob (range check)",
            _median_ms(lambda: validate_blob(one.blob), repeat),
            "per blob",
        )
    )

    def commit_and_prove() -> None:
        commitment = ckzg.blob_to_kzg_commitment(one.blob, settings)
        ckzg.compute_blob_kzg_proof(one.blob, commitment, settings)

    rows.append(("commitment + blob proof", _median_ms(commit_and_prove, repeat), "per blob"))
    cells_repeat = 2 if quick else 4
    rows.append(
        (
            "cells + cell proofs (128 of each)",
            _median_ms(lambda: compute_cells_and_proofs(one.blob, settings), cells_repeat),
            "per blob",
        )
    )
    cells, cell_proofs = compute_cells_and_proofs(one.blob, settings)
    indices = random.Random(1).sample(range(CELLS_PER_EXT_BLOB), 8)
    rows.append(
        (
            "verify_cells, k = 8 cells",
            _median_ms(
                lambda: verify_cells(
                    one.commitment,
                    indices,
                    [cells[i] for i in indices],
                    [cell_proofs[i] for i in indices],
                    settings,
                ),
                repeat,
            ),
            "per 8 cells",
        )
    )
    half = list(range(0, CELLS_PER_EXT_BLOB, 2))
    rows.append(
        (
            "recover_cells from 64 cells",
            _median_ms(
                lambda: recover_cells(half, [cells[i] for i in half], settings), cells_repeat
            ),
            "per blob",
        )
    )
    z = (123456789).to_bytes(32, "big")
    point_proof, y = ckzg.compute_kzg_proof(one.blob, z, settings)
    rows.append(
        (
            "verify_point_evaluation (dispute)",
            _median_ms(
                lambda: verify_point_evaluation(
                    one.versioned_hash, z, bytes(y), one.commitment, bytes(point_proof), settings
                ),
                repeat,
            ),
            "per opening",
        )
    )
    return rows, load_ms


def light_client_rows() -> list[tuple[int, int, int, int, float, float]]:
    """(k, blobs per block, light bytes, full bytes, ratio, P[fooled]) for each configuration."""
    header_bytes = len(Header(RawHeader(0, 0, 0, 0, 0, bytes(32), bytes(32))).serialize())
    rows = []
    for blobs in (1, TEST.max_blobs_per_block):
        for k in (4, 8, 16):
            sampled = k * (BYTES_PER_CELL + BYTES_PER_PROOF)
            light = header_bytes + blobs * (BYTES_PER_COMMITMENT + sampled)
            full = header_bytes + blobs * (BYTES_PER_BLOB + BYTES_PER_COMMITMENT + BYTES_PER_PROOF)
            # Data is unrecoverable when fewer than half the cells exist; a withholder then serves
            # at most 63 of 128, and k distinct uniform samples all hit served cells with this
            # probability (per blob).
            fooled = comb(CELLS_PER_EXT_BLOB // 2 - 1, k) / comb(CELLS_PER_EXT_BLOB, k)
            rows.append((k, blobs, light, full, sampled / BYTES_PER_BLOB, fooled))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    wall = time.perf_counter()
    rows, load_ms = timings(args.quick)
    print(f"KZG on the mainnet trusted setup (loaded and hash-checked in {load_ms:.0f} ms)")
    print()
    print(f"| {'operation':<42} | {'ms':>8} | {'unit':<11} |")
    print(f"|{'-' * 44}|{'-' * 10}|{'-' * 13}|")
    for name, ms, unit in rows:
        print(f"| {name:<42} | {ms:>8.2f} | {unit:<11} |")
    print()
    print("Light client vs full node, bytes per block (computed from sizes, not measured):")
    print("light = header + per blob (commitment + k x (2048-byte cell + 48-byte proof));")
    print("full  = header + per blob (131072-byte blob + commitment + proof); bodies excluded.")
    print()
    print(
        f"| {'k':>3} | {'blobs/block':>11} | {'light bytes':>11} | {'full bytes':>10} "
        f"| {'k*2096/131072':>13} | {'light/full':>10} | {'P[fooled]/blob':>14} |"
    )
    print(f"|{'-' * 5}|{'-' * 13}|{'-' * 13}|{'-' * 12}|{'-' * 15}|{'-' * 12}|{'-' * 16}|")
    for k, blobs, light, full, ratio, fooled in light_client_rows():
        print(
            f"| {k:>3} | {blobs:>11} | {light:>11,} | {full:>10,} | {ratio:>13.4f} "
            f"| {light / full:>10.4f} | {fooled:>14.2e} |"
        )
    print()
    print(f"total bench time {time.perf_counter() - wall:.1f} s")


if __name__ == "__main__":
    main()
