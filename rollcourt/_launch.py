"""``python -m rollcourt._launch PARENT_PID -- CMD...``: exec CMD, tied to the supervisor's life.

On Linux the child asks the kernel for SIGTERM when its parent dies (``PR_SET_PDEATHSIG``), so
even a ``kill -9`` of ``rollcourt devnet up`` leaves no node running behind it. This is done here,
after a fresh exec, rather than in a ``preexec_fn`` (unsafe once the supervisor has threads).
PDEATHSIG survives ``execve`` for ordinary binaries, so CMD keeps it.
"""

from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def _set_parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the supervisor's own cleanup still applies
        pass


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--" or not argv[0].isdigit():
        print("usage: python -m rollcourt._launch PARENT_PID -- CMD...", file=sys.stderr)
        return 2
    _set_parent_death_signal()
    if os.getppid() != int(argv[0]):
        return 1  # the supervisor died before we could tie ourselves to it
    command = argv[2:]
    os.execvp(command[0], command)
    return 0  # unreachable


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
