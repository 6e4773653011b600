"""The KZG trusted setup: Ethereum's mainnet ceremony output, shipped in the package, checked
by hash and loaded once per process (loading takes seconds).

The file is the text format ckzg loads (4096 G1 points in Lagrange form, 65 G2 points, then
4096 monomial G1 points); its sha256 is pinned, so a corrupted or substituted setup is refused
rather than silently producing commitments nobody else can check.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import ckzg

__all__ = ["TRUSTED_SETUP_PATH", "TRUSTED_SETUP_SHA256", "TrustedSetupError", "get_kzg_settings"]

TRUSTED_SETUP_PATH = Path(__file__).resolve().parent / "data" / "kzg_trusted_setup.txt"
TRUSTED_SETUP_SHA256 = "d39b9f2d047cc9dca2de58f264b6a09448ccd34db967881a6713eacacf0f26b7"

_lock = threading.Lock()
_settings: Any = None


class TrustedSetupError(RuntimeError):
    """The trusted-setup file is missing or is not the pinned one."""


def get_kzg_settings(path: Path = TRUSTED_SETUP_PATH) -> Any:
    """The process-wide ckzg settings, loaded on first use after checking the file's hash."""
    global _settings
    with _lock:
        if _settings is None:
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError as exc:
                raise TrustedSetupError(
                    f"cannot read the KZG trusted setup at {path}: {exc}"
                ) from None
            if digest != TRUSTED_SETUP_SHA256:
                raise TrustedSetupError(
                    f"KZG trusted setup {path} has sha256 {digest}, expected {TRUSTED_SETUP_SHA256}"
                )
            _settings = ckzg.load_trusted_setup(str(path), 0)
        return _settings
