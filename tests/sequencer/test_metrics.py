"""Issue 7, observability of the sequencer and the follower: ``/metrics`` through
prometheus-client (parsed with its parser, each app with its own registry), JSON logs of a real
``python -m sequencer``, and the follower's ROLLCOURT_FOLLOWER_* variables."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from sequencer.__main__ import follower_options
from sequencer.app import create_app
from sequencer.follower import Follower, FollowerSettings
from sequencer.follower_app import create_follower_app
from tests.sequencer.kit import open_sequencer, settings, transfer, transfer_json
from tests.sequencer.procs import sequencer_proc
from tests.support.procs import free_port

Page = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(text: str) -> Page:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(page: Page, name: str, **labels: str) -> float:
    return page.get((name, tuple(sorted(labels.items()))), 0.0)


def test_sequencer_metrics_move_with_transactions_and_batches(tmp_path: Path) -> None:
    seq = open_sequencer(tmp_path / "a", genesis_accounts="devnet")
    other = open_sequencer(tmp_path / "b", genesis_accounts="devnet")
    try:
        client = TestClient(create_app(seq, manage_lifecycle=False))
        other_client = TestClient(create_app(other, manage_lifecycle=False))
        before = scrape(client.get("/metrics").text)
        for name in (
            "rollcourt_seq_transactions_duplicate_total",
            "rollcourt_seq_batches_sealed_total",
            "rollcourt_seq_soft_index",
            "rollcourt_seq_mempool_pending",
            "rollcourt_seq_unbatched",
            "rollcourt_seq_next_batch_number",
            "rollcourt_seq_deposits_credited",
            "rollcourt_seq_batch_bytes_count",
            "rollcourt_seq_blobs_sealed_total",
            "rollcourt_seq_batches_posted_total",
            "rollcourt_seq_blob_bytes_posted_total",
        ):
            assert (name, ()) in before, name
        for status in ("sealed", "posted", "safe", "final", "reverted"):
            assert value(before, "rollcourt_seq_batches", status=status) == 0
        assert value(before, "rollcourt_seq_head_batch", head="final") == -1
        assert ("rollcourt_seq_transactions_accepted_total", (("kind", "transfer"),)) in before

        tx = transfer(seq.config, 0, 1, 100, 0)
        assert client.post("/v1/transactions", json=transfer_json(tx)).status_code == 200
        assert client.post("/v1/transactions", json=transfer_json(tx)).status_code == 200
        stale = transfer(seq.config, 0, 1, 100, 0, fee=5)  # nonce 0 again: used
        assert client.post("/v1/transactions", json=transfer_json(stale)).status_code >= 400
        page = scrape(client.get("/metrics").text)
        assert value(page, "rollcourt_seq_transactions_accepted_total", kind="transfer") == 1
        assert value(page, "rollcourt_seq_transactions_duplicate_total") == 1
        rejected = {
            labels: v
            for (name, labels), v in page.items()
            if name == "rollcourt_seq_transactions_rejected_total"
        }
        assert sum(rejected.values()) == 1, rejected
        assert value(page, "rollcourt_seq_soft_index") == 0
        assert value(page, "rollcourt_seq_unbatched") == 1

        sealed = seq.seal_due_batch(force=True)
        assert sealed is not None
        page = scrape(client.get("/metrics").text)
        assert value(page, "rollcourt_seq_batches_sealed_total") == 1
        assert value(page, "rollcourt_seq_batches", status="sealed") == 1
        assert value(page, "rollcourt_seq_batch_bytes_count") == 1
        assert value(page, "rollcourt_seq_batch_bytes_sum") == 124 * len(sealed.records)
        assert value(page, "rollcourt_seq_blobs_sealed_total") >= 1
        assert value(page, "rollcourt_seq_head_batch", head="soft") == 0
        # Another sequencer in the same process has its own registry.
        other_page = scrape(other_client.get("/metrics").text)
        assert value(other_page, "rollcourt_seq_batches_sealed_total") == 0
        assert value(other_page, "rollcourt_seq_batch_bytes_count") == 0
    finally:
        seq.close()
        other.close()


def test_follower_metrics_parse_and_show_progress(tmp_path: Path) -> None:
    settings = FollowerSettings(
        l1_url=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        rollup_id=bytes(range(32)),
        data_dir=tmp_path,
    )
    follower = Follower(settings).open()
    try:
        follower.tip = 12  # as a poll would have set it
        client = TestClient(create_follower_app(follower, manage_lifecycle=False))
        page = scrape(client.get("/metrics").text)
        for name in (
            "rollcourt_follower_batches_derived_total",
            "rollcourt_follower_reorgs_total",
            "rollcourt_follower_polls_total",
            "rollcourt_follower_batches",
            "rollcourt_follower_findings",
            "rollcourt_follower_processed_block",
            "rollcourt_follower_data_unavailable",
        ):
            assert (name, ()) in page, name
        assert value(page, "rollcourt_follower_l1_tip") == 12
        processed = value(page, "rollcourt_follower_processed_block")
        assert value(page, "rollcourt_follower_l1_lag_blocks") == 12 - processed
    finally:
        follower.close()


def test_follower_options_read_rollcourt_follower_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ROLLCOURT_FOLLOWER_L1", "http://l1:8114")
    monkeypatch.setenv("ROLLCOURT_FOLLOWER_ROLLUP_ID", "ab" * 32)
    monkeypatch.setenv("ROLLCOURT_FOLLOWER_PORT", "9999")
    monkeypatch.setenv("ROLLCOURT_FOLLOWER_POLL_INTERVAL", "0.25")
    monkeypatch.setenv("ROLLCOURT_FOLLOWER_DATA_DIR", "/data/follower")
    monkeypatch.setenv("ROLLCOURT_SEQ_PORT", "1234")  # the sequencer's: not the follower's
    values = follower_options(port=None, host=None, l1=None, rollup_id=None)
    assert values["l1_url"] == "http://l1:8114"
    assert values["rollup_id"] == "ab" * 32
    assert values["port"] == 9999
    assert values["poll_interval"] == 0.25
    assert values["data_dir"] == Path("/data/follower")
    assert values["host"] == "127.0.0.1" and values["from_block"] == 0
    assert follower_options(port=7000, l1="http://x", rollup_id="cd")["port"] == 7000  # flag wins
    monkeypatch.setenv("ROLLCOURT_FOLLOWER_PORT", "nope")
    with pytest.raises(ValueError, match="ROLLCOURT_FOLLOWER_PORT"):
        follower_options()
    monkeypatch.delenv("ROLLCOURT_FOLLOWER_L1")
    monkeypatch.delenv("ROLLCOURT_FOLLOWER_PORT")
    with pytest.raises(ValueError, match="--l1"):
        follower_options()


@pytest.mark.e2e
def test_a_sequencer_process_logs_json_and_serves_metrics(tmp_path: Path) -> None:
    proc = sequencer_proc(
        tmp_path, extra=("--log-level", "info"), env={"ROLLCOURT_LOG_FORMAT": "json"}
    ).start()
    try:
        proc.wait_healthy()
        config = settings(tmp_path / "unused", genesis_accounts="devnet").rollup_config()
        with httpx.Client(base_url=proc.url, timeout=10) as http:
            tx = transfer(config, 0, 1, 50, 0)
            assert http.post("/v1/transactions", json=transfer_json(tx)).status_code == 200
            page = scrape(http.get("/metrics").text)
        assert value(page, "rollcourt_seq_transactions_accepted_total", kind="transfer") == 1
    finally:
        proc.stop()
    lines = [line for line in proc.log_path.read_text().splitlines() if line.strip()]
    assert lines
    for line in lines:
        entry = json.loads(line)
        assert {"ts", "level", "logger", "msg"} <= entry.keys(), line
    assert any(json.loads(line)["msg"].startswith("sequencer on http://") for line in lines)
