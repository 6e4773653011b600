"""Dispute benchmarks (not tests): what the L1 pays to settle a dispute over a batch of n
records, against what re-executing the batch would cost it -- the headline of optimistic mode.

For each n, a wrong root is planted at a record in the second half and the game is played to
the end with the real rules (``l2.dispute``): the challenge, ``ceil(log2 n)`` bisection moves,
and the one-step proof, built and verified with real KZG openings (``l2.onestep``). Measured:

- moves and L1 bytes: every game transaction is built in the exact shape the players send
  (``l2.client.disputes``: inputs, cell deps, header dep, witnesses, the game cell) and
  serialized; the batch's bytes on L1 are its blobs;
- verifier CPU: the work the ``rollup_game`` script does -- decoding the game cell and applying
  the move per move, and ``verify_one_step`` for the last -- timed natively;
- re-execution CPU: what a court that re-executes would do -- verify the blobs' KZG proofs,
  read the records, and run the STF over the whole batch.

    python bench/bench_disputes.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ckzg  # noqa: E402

from l1.ckb.hashing import ckbhash  # noqa: E402
from l1.ckb.types import (  # noqa: E402
    HASH_TYPE_TYPE,
    CellDep,
    CellInput,
    CellOutput,
    OutPoint,
    RawTransaction,
    Script,
    Transaction,
    WitnessArgs,
)
from l1.core.blobs import compute_blob_sidecar  # noqa: E402
from l1.core.scripts.rollup.layout import (  # noqa: E402
    NO_TURN_START,
    GameCell,
    Move,
    OneStep,
    encode_game_action,
)
from l1.kzg import get_kzg_settings  # noqa: E402
from l2.batch import compute_batch_blobs, compute_batch_commitment, get_batch_records  # noqa: E402
from l2.config import RollupConfig  # noqa: E402
from l2.dispute import (  # noqa: E402
    ZERO_HASH,
    Side,
    apply_move,
    choose_move,
    compute_max_moves,
    compute_trace_hash,
    open_game,
)
from l2.onestep import build_one_step_proof, compute_batch_trace, verify_one_step  # noqa: E402
from l2.preset import SHANNONS_PER_CKB, L2Preset  # noqa: E402
from l2.profile import OPTIMISTIC  # noqa: E402
from l2.state import Account, L2State, create_genesis_state  # noqa: E402
from l2.stf import apply_batch  # noqa: E402
from l2.tx import Transaction as L2Transaction  # noqa: E402
from l2.tx import Transfer, sign_transaction  # noqa: E402

CKB = SHANNONS_PER_CKB
BENCH = L2Preset("bench", 16, 4096, 5, 61 * CKB)
USERS = tuple(ckbhash(b"bench dispute user %d" % i) for i in range(16))
SIGNATURE_WITNESS = 85  # a WitnessArgs holding a 65-byte secp256k1 signature
DUMMY = OutPoint(bytes(32), 0)
LOCK = Script(bytes(32), HASH_TYPE_TYPE, bytes(20))


def _setup(n: int) -> tuple[RollupConfig, L2State, list[L2Transaction]]:
    config = RollupConfig(0, bytes(32), 0, BENCH, OPTIMISTIC)
    accounts = [Account(OPTIMISTIC.compute_public_key(k), 10**15, 0) for k in USERS]
    state = create_genesis_state(config, accounts)
    nonces = [0] * len(USERS)
    txs: list[L2Transaction] = []
    for i in range(n):
        sender, to = i % len(USERS), (i + 7) % len(USERS)
        tx = Transfer(sender, to, CKB, CKB // 100, nonces[sender])
        nonces[sender] += 1
        txs.append(sign_transaction(tx, USERS[sender], config))
    return config, state, txs


def _tx_bytes(game_data: bytes, witness: bytes, *, header_dep: bool, extra_inputs: int) -> int:
    """Serialized size of a game transaction of the players' shape: the game cell (and
    ``extra_inputs`` more cells) in, one funding input, the game cell or payouts out, change,
    the eight system cell deps plus the rollup cell, and the signatures."""
    inputs = tuple(CellInput(DUMMY) for _ in range(2 + extra_inputs))
    game_output = CellOutput(0, Script(bytes(32), HASH_TYPE_TYPE, bytes(32)), LOCK)
    tx = Transaction(
        RawTransaction(
            cell_deps=tuple(CellDep(DUMMY) for _ in range(9)),
            header_deps=(bytes(32),) if header_dep else (),
            inputs=inputs,
            outputs=(game_output, CellOutput(0, LOCK)),
            outputs_data=(game_data, b""),
        ),
        (WitnessArgs(input_type=witness).serialize(), bytes(SIGNATURE_WITNESS)),
    )
    return len(tx.serialize())


def bench_dispute(n: int, settings: object) -> dict[str, float]:
    config, genesis, txs = _setup(n)
    fault_at = n * 2 // 3
    state = genesis.copy()
    result = apply_batch(state, txs, config)
    honest = compute_batch_trace(result, config)
    lie = tuple(h if i <= fault_at else ckbhash(b"lie" + h) for i, h in enumerate(honest))
    blobs = compute_batch_blobs(txs)
    sidecars = [compute_blob_sidecar(b, settings) for b in blobs]
    commitment = compute_batch_commitment(
        0, result, [s.versioned_hash for s in sidecars], bytes(32), config
    )
    # The claim is the lie's end: rebuild the commitment's roots as the liar would post them.
    claimed_end = lie[-1]

    # ---- the game, with the script's per-move work timed
    verify_s = 0.0
    game = open_game(
        n, compute_trace_hash(commitment.prev_root, ZERO_HASH), claimed_end,
        honest[n // 2] if n > 1 else ZERO_HASH,
    )  # fmt: skip
    cell = GameCell(0, bytes(32), 500 * CKB, 20, 20, NO_TURN_START, game, LOCK, LOCK)
    total_bytes = _tx_bytes(cell.encode(), b"", header_dep=False, extra_inputs=0)
    traces = {Side.PROPOSER: lie, Side.CHALLENGER: honest}
    while not game.is_one_step:
        mover = game.turn
        move = choose_move(game, traces[mover])
        start = time.perf_counter()
        decoded = GameCell.decode(cell.encode())
        game = apply_move(decoded.game, mover, move)
        cell = GameCell(0, bytes(32), 500 * CKB, 20, 20, 1, game, LOCK, LOCK)
        encoded = cell.encode()
        verify_s += time.perf_counter() - start
        witness = encode_game_action(Move(move.hash_at_mid, move.next_mid_hash))
        total_bytes += _tx_bytes(encoded, witness, header_dep=True, extra_inputs=0)
    moves = game.moves
    # ---- the one-step proof: built by the challenger, verified by the script
    pre = genesis.copy()
    apply_batch(pre, txs[: game.lo], config)
    proof = build_one_step_proof(pre, ZERO_HASH, game.lo, blobs, commitment, (), config, settings)
    encoded_proof = proof.encode()
    start = time.perf_counter()
    post = verify_one_step(
        proof,
        record_index=game.lo,
        lo_hash=game.lo_hash,
        commitment=commitment,
        deposits_root=ZERO_HASH,
        config=config,
        settings=settings,
    )
    one_step_s = time.perf_counter() - start
    if post == game.hi_hash or game.lo != fault_at:
        raise SystemExit("the one-step proof did not expose the planted fault")
    verify_s += one_step_s
    witness = encode_game_action(OneStep(encoded_proof))
    total_bytes += _tx_bytes(b"", witness, header_dep=False, extra_inputs=1)

    # ---- re-execution: what a court without disputes would run
    start = time.perf_counter()
    ckzg.verify_blob_kzg_proof_batch(
        b"".join(blobs),
        b"".join(s.commitment for s in sidecars),
        b"".join(s.proof for s in sidecars),
        settings,
    )
    records = get_batch_records(blobs, n)
    apply_batch(genesis.copy(), records, config)
    reexec_s = time.perf_counter() - start
    return {
        "n": n,
        "moves": moves + 1,
        "bound": compute_max_moves(n),
        "dispute_bytes": total_bytes,
        "proof_bytes": len(encoded_proof),
        "batch_bytes": sum(len(b) for b in blobs),
        "verify_ms": verify_s * 1000,
        "one_step_ms": one_step_s * 1000,
        "reexec_ms": reexec_s * 1000,
    }


def _row(cells: Sequence[object]) -> str:
    return " | ".join(str(c) for c in cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="sizes 16 and 256 only")
    args = parser.parse_args()
    sizes = (16, 256) if args.quick else (16, 64, 256, 1024, 4096)
    settings = get_kzg_settings()
    print(
        _row(
            [
                "n", "moves (bound)", "dispute L1 bytes", "one-step proof bytes",
                "batch blob bytes", "verifier CPU ms (one-step)", "re-execution CPU ms",
                "re-exec / dispute CPU",
            ]
        )
    )  # fmt: skip
    print(_row(["---"] * 8))
    ratios = []
    for n in sizes:
        r = bench_dispute(n, settings)
        ratio = r["reexec_ms"] / r["verify_ms"]
        ratios.append(ratio)
        print(
            _row(
                [
                    n,
                    f"{r['moves']:.0f} ({r['bound']:.0f})",
                    f"{r['dispute_bytes']:,.0f}",
                    f"{r['proof_bytes']:,.0f}",
                    f"{r['batch_bytes']:,.0f}",
                    f"{r['verify_ms']:.1f} ({r['one_step_ms']:.1f})",
                    f"{r['reexec_ms']:.1f}",
                    f"{ratio:.1f}x",
                ]
            )
        )
    print(f"median ratio {statistics.median(ratios):.1f}x")


if __name__ == "__main__":
    main()
