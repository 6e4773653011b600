"""Shared fixtures: real processes on 127.0.0.1 (see tests/support/procs.py).

Some tests need tools ``make install`` / ``make browser`` provide (node with prover/node_modules,
groth16py, Debian's chromium) and skip, naming the command, when run by hand without them.
``make test`` (CI) sets ``ROLLCOURT_NO_SKIPS=1``: there a skip is a failure, so a missing
install step can never pass as green.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.procs import Proc


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if os.environ.get("ROLLCOURT_NO_SKIPS") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under ROLLCOURT_NO_SKIPS (make test): {report.longrepr}"


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
