"""The explorer's API against real processes: an L1 node (test spec, mined by the test), a
sequencer, a follower, and a challenger URL where nothing listens (a role that is down)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from l1.devnet_keys import DEVNET_KEYS, derive_devnet_key
from l2.preset import SHANNONS_PER_CKB
from tests.explorer.support import explorer_proc, get, sequencer_for
from tests.sequencer.procs import L1TestNode, running_l1_node
from tests.sequencer.test_follower_e2e import follower_proc
from tests.support.procs import Proc, free_port, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DEPOSIT = 1_000 * SHANNONS_PER_CKB


@dataclass
class Stack:
    node: L1TestNode
    sequencer: Proc
    follower: Proc
    explorer: Proc
    rollup_id: bytes
    dead_url: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("explorer-api")
    with running_l1_node(base / "l1") as node:
        sequencer = sequencer_for(node, base / "seq").start()
        started = [sequencer]
        try:
            sequencer.wait_healthy()
            rollup_id = bytes.fromhex(get(sequencer.url, "/v1/status")["rollup_id"][2:])
            node.mine()  # the rollup's creation
            follower = follower_proc(base / "follower", node.proc.url, rollup_id).start()
            started.append(follower)
            follower.wait_healthy()
            dead = f"http://127.0.0.1:{free_port()}"
            explorer = explorer_proc(
                base,
                node.proc.url,
                sequencer=sequencer.url,
                follower=follower.url,
                challenger=dead,
            ).start()
            started.append(explorer)
            explorer.wait_healthy()
            yield Stack(node, sequencer, follower, explorer, rollup_id, dead)
        finally:
            for proc in reversed(started):
                proc.stop()


def overview(stack: Stack) -> dict[str, Any]:
    response = httpx.get(stack.explorer.url + "/api/overview", timeout=15)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_overview_reports_every_role_and_a_down_one_without_failing(stack: Stack) -> None:
    data = overview(stack)
    roles = data["roles"]
    assert roles["l1"]["ok"] and roles["sequencer"]["ok"] and roles["follower"]["ok"]
    assert roles["challenger"] == {
        "url": stack.dead_url,
        "configured": True,
        "ok": False,
        "error": roles["challenger"]["error"],
    }
    assert "unreachable" in roles["challenger"]["error"]
    assert not roles["light"]["configured"] and roles["light"]["ok"] is None
    assert data["disputes"] is None and data["light"] is None and data["prover"] is None
    l1 = data["l1"]
    assert l1["tip"]["number"] >= 2 and l1["blocks"][0]["number"] == l1["tip"]["number"]
    assert all(b["tx_count"] >= 1 for b in l1["blocks"])  # every block has its cellbase
    assert l1["mempool"] is not None and l1["mempool"]["pending"] >= 0
    rollup = data["rollup"]
    assert rollup["rollup_id"] == "0x" + stack.rollup_id.hex()
    assert (rollup["mode"], rollup["chain_id"], rollup["windows"]["game_clock"]) == (
        "optimistic",
        7,
        8,
    )
    assert rollup["next_batch_number"] >= 0 and rollup["pending_forced"] == 0
    assert data["follower"]["findings"] == 0


def test_a_deposit_shows_up_as_a_batch_with_its_blob(stack: Stack) -> None:
    node = stack.node
    key = derive_devnet_key(600)
    node.l1.deposit(DEVNET_KEYS[1].private_key, stack.rollup_id, key.public_key, DEPOSIT)

    def posted() -> dict[str, Any] | None:
        data = overview(stack)
        batches = [b for b in data["batches"] if b["number"] == 0]
        return data if batches and batches[0]["status"] in ("safe", "final") else None

    data = node.mine_until(posted, "batch 0 safe in the overview")
    [batch] = [b for b in data["batches"] if b["number"] == 0]
    assert batch["tx_count"] == 1 and batch["l1_tx_hash"]
    assert any(a["balance"] == DEPOSIT for a in data["accounts"])
    # The batch's L1 transaction carries its blob.
    [blob_hash] = batch["blob_versioned_hashes"]
    response = httpx.get(f"{stack.explorer.url}/api/blob/{blob_hash}", timeout=10)
    assert response.status_code == 200, response.text
    blob = response.json()
    assert (blob["record_count"], blob["record_kinds"], blob["size"]) == (1, ["deposit"], 131072)
    assert blob["tx_hash"] == batch["l1_tx_hash"]
    # The follower, from L1 alone, derives the same root.
    wait_until(
        lambda: (
            next(b for b in overview(stack)["batches"] if b["number"] == 0)["derived_root"]
            == batch["new_root"]
        ),
        30,
        0.5,
        "the follower's root",
    )


def test_blob_errors_are_4xx(stack: Stack) -> None:
    url = stack.explorer.url + "/api/blob/"
    assert httpx.get(url + "0x1234", timeout=10).status_code == 400
    missing = httpx.get(url + "0x01" + "00" * 31, timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "blob_not_found"


def test_the_page_and_metrics_are_served(stack: Stack) -> None:
    page = httpx.get(stack.explorer.url + "/", timeout=10)
    assert page.status_code == 200 and 'id="batches"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http" not in page.text.replace('lang="en"', "")  # no external URL
    for asset in ("/static/app.js", "/static/style.css"):
        response = httpx.get(stack.explorer.url + asset, timeout=10)
        assert response.status_code == 200 and "http://" not in response.text
        assert "https://" not in response.text
    overview(stack)
    metrics = httpx.get(stack.explorer.url + "/metrics", timeout=10).text
    assert 'rollcourt_explorer_upstream_errors_total{role="challenger"}' in metrics
    assert 'rollcourt_explorer_requests_total{route="/api/overview"}' in metrics
    assert "rollcourt_explorer_last_refresh_seconds" in metrics


def test_an_explorer_whose_l1_is_down_still_answers(tmp_path: Path) -> None:
    """Configured from the environment only (ROLLCOURT_EXPLORER_*)."""
    port = free_port()
    dead = f"http://127.0.0.1:{free_port()}"
    proc = explorer_proc(tmp_path, dead)
    proc.args = [a for a in proc.args if a not in ("--l1", dead)]
    proc.args = proc.args[: proc.args.index("--port")] + proc.args[proc.args.index("--port") + 2 :]
    proc.url = f"http://127.0.0.1:{port}"
    proc.env = {"ROLLCOURT_EXPLORER_L1": dead, "ROLLCOURT_EXPLORER_PORT": str(port)}
    assert "ROLLCOURT_EXPLORER_L1" not in os.environ
    proc.start()
    try:
        proc.wait_healthy()
        response = httpx.get(proc.url + "/api/overview", timeout=15)
        assert response.status_code == 200
        data = response.json()
        assert data["roles"]["l1"]["ok"] is False and data["roles"]["l1"]["url"] == dead
        assert data["l1"] is None and data["rollup"] is None and data["batches"] == []
        assert httpx.get(proc.url + "/api/blob/0x" + "00" * 32, timeout=10).status_code == 502
    finally:
        proc.stop()
