"""Where the CLI finds things: the L1 RPC URL and the devnet's data directory.

The L1 URL comes from, in order: ``--rpc``; the ``ROLLCOURT_L1_RPC`` environment variable; the
``l1`` role of ``./devnet-data/devnet.json`` (written by ``rollcourt devnet up``); the CKB default
``http://127.0.0.1:8114``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = [
    "DEFAULT_DATA_DIR",
    "DEFAULT_L1_RPC",
    "DEVNET_FILE_NAME",
    "L1_RPC_ENV",
    "get_devnet_role_url",
    "resolve_l1_rpc",
]

DEFAULT_L1_RPC = "http://127.0.0.1:8114"
L1_RPC_ENV = "ROLLCOURT_L1_RPC"
DEFAULT_DATA_DIR = Path("devnet-data")
DEVNET_FILE_NAME = "devnet.json"


def get_devnet_role_url(devnet_file: Path, role: str, key: str = "rpc") -> str | None:
    """A role's URL from a devnet.json, or None when the file is absent or has no such entry."""
    try:
        content = json.loads(devnet_file.read_text())
        url = content["roles"][role][key]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url if isinstance(url, str) and url else None


def resolve_l1_rpc(explicit: str | None = None) -> str:
    if explicit:
        return explicit
    from_env = os.environ.get(L1_RPC_ENV, "").strip()
    if from_env:
        return from_env
    from_devnet = get_devnet_role_url(DEFAULT_DATA_DIR / DEVNET_FILE_NAME, "l1")
    return from_devnet or DEFAULT_L1_RPC
