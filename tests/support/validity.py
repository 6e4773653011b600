"""The test preset's circuit artifacts, shared by every test that proves a batch.

The single-party setup of the ``test`` circuit (~35 k constraints, ~15 s here) is cached under
``.cache/prover`` in the checkout (ignored by git), keyed by the circuit hash like any data
directory, and guarded by ``prover.artifacts``' file lock, so pytest-xdist workers and later runs
share one setup and a changed circuit gets a new one.  ``ROLLCOURT_TEST_PROVER_CACHE`` moves it.
"""

from __future__ import annotations

import os
from pathlib import Path

from prover.artifacts import Artifacts, run_setup
from prover.presets import REPO_ROOT, TEST

__all__ = ["get_test_artifacts", "get_test_prover_data_dir"]


def get_test_prover_data_dir() -> Path:
    default = REPO_ROOT / ".cache"
    path = Path(os.environ.get("ROLLCOURT_TEST_PROVER_CACHE", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


def get_test_artifacts() -> Artifacts:
    """Set up (once) and load the ``test`` circuit's artifacts."""
    return run_setup(TEST.get_spec(), get_test_prover_data_dir()).artifacts
