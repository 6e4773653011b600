"""Fixtures for the CLI tests: one real L1 node per module (test spec, ``generate_block`` on)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from l1.client import L1Client
from tests.cli.clitools import Node
from tests.support.procs import l1_node


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """One L1 node per test module: test spec, no background miner, ``generate_block`` on."""
    proc = l1_node(tmp_path_factory.mktemp("l1"), mine=False, dev_rpc=True).start()
    try:
        proc.wait_healthy(timeout=120)
        with L1Client(proc.url) as client:
            yield Node(proc, proc.url, client)
    finally:
        proc.stop()
