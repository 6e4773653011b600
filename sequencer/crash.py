"""Named crash points and the data-dir lock (catalogue R1, R2, R7).

``crashpoint(name)`` is a no-op unless ``ROLLCOURT_CRASHPOINT`` names it (a comma-separated list
is accepted), in which case the process SIGKILLs itself: the test harness's way of dying at an
exact durable boundary.  The points so far: ``after_tx_commit`` (a submission is committed but
not yet acknowledged) and ``after_batch_seal`` (a batch is committed as sealed, nothing posted).
The L1 poster adds ``after_l1_submit``.
"""

from __future__ import annotations

import fcntl
import os
import signal
from pathlib import Path
from typing import IO

from sequencer.errors import StartupError

__all__ = ["CRASHPOINTS", "CRASHPOINT_ENV", "DataDirLock", "crashpoint"]

CRASHPOINT_ENV = "ROLLCOURT_CRASHPOINT"
CRASHPOINTS = ("after_tx_commit", "after_batch_seal")


def crashpoint(name: str) -> None:
    wanted = os.environ.get(CRASHPOINT_ENV, "")
    if wanted and name in wanted.split(","):
        os.kill(os.getpid(), signal.SIGKILL)


class DataDirLock:
    """An exclusive ``flock`` on ``<path>``, held for the process's life (R7: a second sequencer
    on the same data dir or SQLite file refuses to start).  The kernel drops the lock when the
    process dies, even by SIGKILL, so a crash never leaves a stale lock behind."""

    def __init__(
        self, path: Path, *, role: str = "sequencer", error: type[Exception] = StartupError
    ) -> None:
        self.path = path
        #: Who holds it, for the refusal message, and what that refusal raises (each service
        #: has its own start-up error).
        self.role = role
        self.error = error
        self._file: IO[str] | None = None

    def acquire(self) -> DataDirLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise self.error(
                f"another {self.role} (pid {holder}) holds {self.path}; "
                f"two {self.role}s must never share a data dir or database"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle
        return self

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
