"""Crash safety with real processes (catalogue R1, R7): SIGKILL after k acknowledgements, named
crash points at durable boundaries, and a second instance on the same data dir."""

from __future__ import annotations

import random
import subprocess
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from l1.devnet_keys import DEVNET_KEYS
from l2.state import Account, create_genesis_state
from l2.stf import apply_transaction
from l2.tx import compute_tx_hash
from sequencer.config import DEVNET_GENESIS_BALANCE, SequencerConfig
from tests.sequencer.kit import transfer, transfer_json
from tests.sequencer.procs import sequencer_proc
from tests.support.procs import Proc, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONFIG = SequencerConfig().rollup_config()
SENDERS = (1, 2, 3, 4, 5)


def get(proc: Proc, path: str) -> Any:
    response = httpx.get(proc.url + path, timeout=10)
    response.raise_for_status()
    return response.json()


def test_kill_after_k_acks_loses_nothing_and_includes_nothing_twice(tmp_path: Path) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"seed {seed}")
    per_sender = 12
    txs = {
        s: [transfer(CONFIG, s, (s % 9) + 1, 1000 + n, n, fee=n % 3) for n in range(per_sender)]
        for s in SENDERS
    }
    kill_after = rng.randrange(5, len(SENDERS) * per_sender - 5)
    proc = sequencer_proc(tmp_path, extra=("--batch-max-txs", "7", "--batch-interval", "0.3"))
    proc.start().wait_healthy()
    acked: dict[bytes, dict[str, Any]] = {}
    lock = threading.Lock()
    killed = threading.Event()

    def worker(sender: int) -> None:
        with httpx.Client(timeout=10) as client:
            for tx in txs[sender]:
                try:
                    response = client.post(proc.url + "/v1/transactions", json=transfer_json(tx))
                except httpx.HTTPError:
                    return
                if response.status_code != 200:
                    return
                with lock:
                    acked[compute_tx_hash(tx, CONFIG)] = response.json()
                    if len(acked) >= kill_after and not killed.is_set():
                        killed.set()
                        proc.kill()

    threads = [threading.Thread(target=worker, args=(s,)) for s in SENDERS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert killed.is_set(), f"only {len(acked)} acks (seed {seed})"
    assert proc.process is not None and proc.process.returncode == -9

    proc = sequencer_proc(
        tmp_path,
        port=int(proc.url.rsplit(":", 1)[1]),
        extra=("--batch-max-txs", "7", "--batch-interval", "0.3"),
    )
    proc.start().wait_healthy()
    try:
        for tx_hash, ack in acked.items():
            now = get(proc, f"/v1/transactions/0x{tx_hash.hex()}")
            for key in ("status", "soft_index", "post_root", "receipt"):
                assert now[key] == ack[key], (key, seed)
        # Every soft transaction (acked or not) holds one soft index; a pure replay agrees.
        soft = []
        for sender in SENDERS:
            for tx in txs[sender]:
                response = httpx.get(
                    f"{proc.url}/v1/transactions/0x{compute_tx_hash(tx, CONFIG).hex()}"
                )
                if response.status_code == 200 and response.json()["status"] == "soft":
                    soft.append((response.json()["soft_index"], tx))
        soft.sort(key=lambda item: item[0])
        assert [i for i, _ in soft] == list(range(len(soft))), seed
        state = create_genesis_state(
            CONFIG, [Account(k.public_key, DEVNET_GENESIS_BALANCE, 0) for k in DEVNET_KEYS]
        )
        for _, tx in soft:
            apply_transaction(state, tx, CONFIG)
        for index in range(len(DEVNET_KEYS)):
            account = get(proc, f"/v1/accounts/{index}")
            expected = state.get_account(index)
            assert expected is not None
            assert (account["balance"], account["nonce"]) == (expected.balance, expected.nonce)
        assert (
            get(proc, "/v1/status")["heads"]["soft"]["state_root"] == "0x" + state.get_root().hex()
        )

        # Everything gets batched, each transaction exactly once.
        def all_batched() -> list[dict[str, Any]] | None:
            batches = get(proc, "/v1/batches?limit=500")["batches"]
            total = sum(b["tx_count"] for b in batches)
            return batches if total == len(soft) else None

        batches = wait_until(all_batched, 60, 0.2, "every soft tx batched")
        included = Counter(
            h for b in batches for h in get(proc, f"/v1/batches/{b['number']}")["transactions"]
        )
        assert all(count == 1 for count in included.values())
        for tx_hash in acked:
            assert included["0x" + tx_hash.hex()] == 1, seed
    finally:
        proc.stop()


def test_crashpoint_after_tx_commit_keeps_the_unacknowledged_tx_once(tmp_path: Path) -> None:
    proc = sequencer_proc(tmp_path, env={"ROLLCOURT_CRASHPOINT": "after_tx_commit"})
    proc.start().wait_healthy()
    tx = transfer(CONFIG, 1, 2, 10, 0)
    with pytest.raises(httpx.HTTPError):
        httpx.post(proc.url + "/v1/transactions", json=transfer_json(tx), timeout=10)
    assert proc.process is not None and proc.process.wait(10) == -9
    proc = sequencer_proc(tmp_path, port=int(proc.url.rsplit(":", 1)[1]))
    proc.start().wait_healthy()
    try:
        stored = get(proc, f"/v1/transactions/0x{compute_tx_hash(tx, CONFIG).hex()}")
        assert stored["status"] == "soft" and stored["soft_index"] == 0
        again = httpx.post(proc.url + "/v1/transactions", json=transfer_json(tx), timeout=10)
        assert again.status_code == 200 and again.json()["duplicate"] is True
        assert get(proc, "/v1/accounts/1")["nonce"] == 1
    finally:
        proc.stop()


def test_crashpoint_after_batch_seal(tmp_path: Path) -> None:
    extra = ("--batch-max-txs", "2", "--batch-interval", "3600")
    proc = sequencer_proc(tmp_path, extra=extra, env={"ROLLCOURT_CRASHPOINT": "after_batch_seal"})
    proc.start().wait_healthy()
    first = [transfer(CONFIG, 1, 2, 10, n) for n in range(2)]
    for tx in first:
        response = httpx.post(proc.url + "/v1/transactions", json=transfer_json(tx), timeout=10)
        assert response.status_code == 200
    assert proc.process is not None and proc.process.wait(60) == -9  # died right after sealing
    proc = sequencer_proc(tmp_path, port=int(proc.url.rsplit(":", 1)[1]), extra=extra)
    proc.start().wait_healthy()
    try:
        batch = get(proc, "/v1/batches/0")
        assert batch["transactions"] == [f"0x{compute_tx_hash(t, CONFIG).hex()}" for t in first]
        assert get(proc, "/v1/status")["unbatched"] == 0
        second = [transfer(CONFIG, 1, 2, 10, n) for n in (2, 3)]
        for tx in second:
            assert (
                httpx.post(proc.url + "/v1/transactions", json=transfer_json(tx)).status_code == 200
            )
        wait_until(lambda: httpx.get(proc.url + "/v1/batches/1").status_code == 200, 60)
        batch1 = get(proc, "/v1/batches/1")
        assert batch1["first_soft_index"] == 2 and batch1["prev_root"] == batch["new_root"]
        assert batch1["transactions"] == [f"0x{compute_tx_hash(t, CONFIG).hex()}" for t in second]
    finally:
        proc.stop()


def test_second_instance_on_the_same_data_dir_refuses_to_start(tmp_path: Path) -> None:
    first = sequencer_proc(tmp_path)
    first.start().wait_healthy()
    try:
        second = sequencer_proc(tmp_path, log_name="second.log")
        second.start()
        assert second.process is not None
        try:
            code = second.process.wait(60)
        except subprocess.TimeoutExpired:
            second.kill()
            raise
        assert code != 0
        assert "another sequencer" in second.log_tail()
        assert httpx.get(first.url + "/healthz").status_code == 200
    finally:
        first.stop()
