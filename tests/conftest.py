"""Shared fixtures: real processes on 127.0.0.1 (see tests/support/procs.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.procs import Proc


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    """Register started processes here; all are stopped at teardown, even on failure."""
    started: list[Proc] = []
    yield started
    for proc in started:
        proc.stop()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path
