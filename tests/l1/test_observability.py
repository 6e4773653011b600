"""Issue 7, observability of the L1 roles: ``/metrics`` of the full node and the light client,
JSON logs, and a node configured by ``ROLLCOURT_L1_*`` environment variables alone."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from l1.ckb.types import Block
from l1.client import L1Client
from l1.light.service import LightClient, LightConfig
from l1.logs import JsonFormatter, configure_logging
from l1.node.app import create_app
from l1.node.config import NodeConfig
from l1.node.node import Node
from tests.support.procs import ROOT, TEST_SPEC, Proc, free_port

REQUIRED_LOG_KEYS = {"ts", "level", "logger", "msg"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page by (name, sorted labels); parsing it at all
    checks the format."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(page: dict[Any, float], name: str, **labels: str) -> float:
    return page.get((name, tuple(sorted(labels.items()))), 0.0)


# ----------------------------------------------------------------------------- in-process nodes
@pytest.fixture
def two_nodes(tmp_path: Path) -> Iterator[tuple[Node, TestClient, Node, TestClient]]:
    nodes = [
        Node(NodeConfig(data_dir=tmp_path / name, spec=TEST_SPEC, dev_rpc=True))
        for name in ("a", "b")
    ]
    clients = [TestClient(create_app(node, manage_lifecycle=False)) for node in nodes]
    try:
        yield nodes[0], clients[0], nodes[1], clients[1]
    finally:
        for client in clients:
            client.close()
        for node in nodes:
            node.stop()


def rpc(client: TestClient, method: str, *params: Any) -> Any:
    answer = client.post(
        "/", json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    ).json()
    assert "error" not in answer, answer
    return answer["result"]


def metrics(client: TestClient) -> dict[Any, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def test_node_metrics_count_verified_blocks_by_source_and_reorgs(
    two_nodes: tuple[Node, TestClient, Node, TestClient],
) -> None:
    node_a, client_a, node_b, client_b = two_nodes
    before = metrics(client_b)
    for name in (
        "rollcourt_l1_tip_number",
        "rollcourt_l1_tip_total_difficulty",
        "rollcourt_l1_tip_age_seconds",
        "rollcourt_l1_block_verification_seconds_count",
        "rollcourt_l1_transactions_verified_total",
        "rollcourt_l1_blob_bytes_accepted_total",
        "rollcourt_l1_blobs_accepted_total",
        "rollcourt_l1_blobs_stored",
        "rollcourt_l1_mempool_bytes",
        "rollcourt_l1_peers",
        "rollcourt_l1_reorgs_total",
        "rollcourt_l1_pool_transactions_accepted_total",
    ):
        assert (name, ()) in before, name
    assert ("rollcourt_l1_mempool_transactions", (("state", "pending"),)) in before
    assert ("rollcourt_l1_mempool_transactions", (("state", "proposed"),)) in before
    assert value(before, "rollcourt_l1_tip_number") == 0

    # B mines one block itself (source rpc: generate_block), A mines two: A's chain is heavier.
    rpc(client_b, "generate_block")
    page = metrics(client_b)
    assert value(page, "rollcourt_l1_blocks_verified_total", source="rpc") == 1
    assert value(page, "rollcourt_l1_tip_number") == 1
    assert value(page, "rollcourt_l1_block_verification_seconds_count") == 1
    assert value(page, "rollcourt_l1_block_verification_seconds_sum") > 0
    for _ in range(2):
        rpc(client_a, "generate_block")
    for number in (1, 2):
        block_hash = bytes.fromhex(node_a.chain.main[number].hex())
        block = node_a.chain.get_block(block_hash)
        assert isinstance(block, Block)
        answer = client_b.post(
            "/p2p/block", json={"block": block.serialize().hex(), "sidecars": None}
        )
        assert answer.status_code == 200, answer.text
    page = metrics(client_b)
    assert node_b.chain.tip.hash == node_a.chain.tip.hash
    assert value(page, "rollcourt_l1_tip_number") == 2
    assert value(page, "rollcourt_l1_blocks_verified_total", source="peer") == 2
    assert value(page, "rollcourt_l1_reorgs_total") == 1
    assert value(page, "rollcourt_l1_reorg_detached_blocks_total") == 1
    assert value(page, "rollcourt_l1_block_verification_seconds_count") == 3
    # Each node keeps its own registry: A saw only its own two blocks.
    page_a = metrics(client_a)
    assert value(page_a, "rollcourt_l1_blocks_verified_total", source="rpc") == 2
    assert value(page_a, "rollcourt_l1_reorgs_total") == 0


# ----------------------------------------------------------------------------- light client
def test_light_client_metrics_are_prometheus_text(tmp_path: Path) -> None:
    # Not started: the page must parse before the first round (nothing listens at the peer).
    client = LightClient(LightConfig(peers=[f"http://127.0.0.1:{free_port()}"], spec=TEST_SPEC))
    page = samples(client.metrics_text())
    assert ("light_head_number", ()) in page
    assert ("light_rounds_total", ()) in page
    assert ("light_blocks_sampled", (("status", "available"),)) in page


# ----------------------------------------------------------------------------- JSON logs
def test_json_formatter_writes_one_object_with_extras_and_traceback() -> None:
    import logging

    record = logging.LogRecord("l1.test", logging.ERROR, __file__, 1, "x=%d", (3,), None)
    record.batch = 7
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry.keys() >= REQUIRED_LOG_KEYS
    assert entry["msg"] == "x=3" and entry["level"] == "ERROR" and entry["logger"] == "l1.test"
    assert entry["ts"].endswith("Z") and "T" in entry["ts"]
    assert entry["batch"] == 7
    assert "RuntimeError: boom" in entry["exc_info"]
    with pytest.raises(ValueError, match="log format"):
        configure_logging("info", "xml")


def assert_json_log(path: Path) -> list[dict[str, Any]]:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    assert lines, f"{path} is empty"
    entries = []
    for line in lines:
        entry = json.loads(line)  # every line is one JSON object
        assert isinstance(entry, dict) and entry.keys() >= REQUIRED_LOG_KEYS, line
        entries.append(entry)
    return entries


# ----------------------------------------------------------------------------- env-only node
@pytest.mark.e2e
def test_a_node_configured_only_by_environment_variables(tmp_path: Path) -> None:
    """ROLLCOURT_L1_* alone (no flags): port, data dir, spec, dev RPC, peers (a space- and
    comma-separated list); ROLLCOURT_LOG_FORMAT=json makes every output line JSON."""
    port = free_port()
    data_dir = tmp_path / "env-node"
    peers = [f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"]
    env = {
        "ROLLCOURT_L1_RPC_PORT": str(port),
        "ROLLCOURT_L1_DATA_DIR": str(data_dir),
        "ROLLCOURT_L1_SPEC": str(TEST_SPEC),
        "ROLLCOURT_L1_DEV_RPC": "true",
        "ROLLCOURT_L1_PEERS": f"{peers[0]}, {peers[1]}",
        "ROLLCOURT_L1_LOG_LEVEL": "info",
        "ROLLCOURT_L1_SYNC_INTERVAL": "0.5",
        "ROLLCOURT_LOG_FORMAT": "json",
    }
    proc = Proc(
        [sys.executable, "-m", "l1", "node"],
        tmp_path / "node.log",
        f"http://127.0.0.1:{port}",
        env=env,
    ).start()
    try:
        proc.wait_healthy()
        assert (data_dir / "chain.sqlite").exists() and (data_dir / "LOCK").exists()
        with L1Client(proc.url) as client:
            assert sorted(p["addresses"][0]["address"] for p in client.call("get_peers")) == sorted(
                peers
            )
            before = samples(httpx.get(proc.url + "/metrics", timeout=10).text)
            client.generate_block()
            client.generate_block()
        after = samples(httpx.get(proc.url + "/metrics", timeout=10).text)
        verified = "rollcourt_l1_blocks_verified_total"
        assert value(after, verified, source="rpc") == value(before, verified, source="rpc") + 2
        assert value(after, "rollcourt_l1_tip_number") == 2
    finally:
        proc.stop()
    entries = assert_json_log(proc.log_path)
    loggers = {entry["logger"] for entry in entries}
    assert "l1.node" in loggers
    assert any(e["logger"].startswith("uvicorn") for e in entries)  # uvicorn follows the format


@pytest.mark.parametrize(
    "command",
    [
        ["l1", "node"],
        ["l1", "light"],
        ["sequencer"],
        ["challenger"],
        ["prover"],
    ],
)
def test_every_entry_point_has_a_log_format_option(command: list[str]) -> None:
    if command == ["prover"]:
        pytest.importorskip("groth16py")
    result = subprocess.run(
        [sys.executable, "-m", *command, "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={"PYTHONPATH": str(ROOT), "COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "--log-format" in result.stdout
