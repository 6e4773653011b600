"""A ``python -m sequencer`` process for end-to-end tests."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from l1.client import L1Client
from l2.client.bridge import RollupL1
from tests.support.procs import Proc, free_port, l1_node, wait_until


def sequencer_proc(
    data_dir: Path,
    *,
    port: int | None = None,
    extra: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    log_name: str = "sequencer.log",
) -> Proc:
    port = port or free_port()
    args = [
        sys.executable,
        "-m",
        "sequencer",
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
        "--genesis-accounts",
        "devnet",
        "--log-level",
        "warning",
        *extra,
    ]
    return Proc(args, data_dir / log_name, f"http://127.0.0.1:{port}", env=env or {})


@dataclass
class L1TestNode:
    """A real L1 node (test spec, --dev-rpc) with the bridge SDK, mined on demand."""

    proc: Proc
    client: L1Client
    l1: RollupL1

    def mine(self, count: int = 1) -> None:
        for _ in range(count):
            self.client.generate_block()

    def mine_until(self, predicate: Callable[[], Any], what: str, blocks: int = 30) -> Any:
        """Mine one block at a time (letting services poll in between) until ``predicate``."""
        for _ in range(blocks):
            try:
                value = wait_until(predicate, 1.5, 0.1, what)
            except TimeoutError:
                self.mine()
                continue
            return value
        return wait_until(predicate, 5, 0.1, what)


@contextmanager
def running_l1_node(data_dir: Path) -> Iterator[L1TestNode]:
    proc = l1_node(data_dir).start()
    try:
        proc.wait_healthy()
        client = L1Client(proc.url)
        client.generate_block()
        yield L1TestNode(proc, client, RollupL1(client))
        client.close()
    finally:
        proc.stop()
