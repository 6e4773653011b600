"""A ``python -m sequencer`` process for end-to-end tests."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support.procs import Proc, free_port


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
