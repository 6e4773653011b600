"""Where the CLI finds the L1 node: --rpc, then $ROLLCOURT_L1_RPC, then devnet.json, then 8114."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rollcourt.config import DEFAULT_L1_RPC, resolve_l1_rpc


def test_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ROLLCOURT_L1_RPC", raising=False)
    assert resolve_l1_rpc(None) == DEFAULT_L1_RPC == "http://127.0.0.1:8114"

    (tmp_path / "devnet-data").mkdir()
    devnet_file = tmp_path / "devnet-data" / "devnet.json"
    devnet_file.write_text("{not json")
    assert resolve_l1_rpc(None) == DEFAULT_L1_RPC  # a broken file is ignored
    devnet_file.write_text(json.dumps({"roles": {"l1": {"rpc": "http://127.0.0.1:9001"}}}))
    assert resolve_l1_rpc(None) == "http://127.0.0.1:9001"

    monkeypatch.setenv("ROLLCOURT_L1_RPC", "http://127.0.0.1:9002")
    assert resolve_l1_rpc(None) == "http://127.0.0.1:9002"
    assert resolve_l1_rpc("http://127.0.0.1:9003") == "http://127.0.0.1:9003"
