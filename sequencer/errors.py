"""The sequencer's exception tree (DESIGN.md §8.5): every refusal carries a stable machine code,
a precise human message and the HTTP status the API answers with.  Never a 500 for bad input.
"""

from __future__ import annotations

import re

from l2.errors import L2Error, NonceMismatch

__all__ = ["Rejected", "SequencerError", "StartupError", "Unavailable", "rejection_from_l2"]


class SequencerError(Exception):
    """Root of the sequencer's own errors."""


class Rejected(SequencerError):
    """A request or transaction the sequencer refuses; nothing changed."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def to_json(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


class Unavailable(Rejected):
    """The sequencer cannot take the request right now (storage failure); retry later."""

    def __init__(self, message: str) -> None:
        super().__init__("unavailable", message, 503)


class StartupError(SequencerError):
    """The sequencer refuses to start (lock held, data dir of another rollup, corrupt store)."""


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def rejection_from_l2(exc: L2Error) -> Rejected:
    """The API form of an L2 protocol error: its class name as the code, its message verbatim
    (the STF's messages already say exactly what was wrong, docs/protocol.md §10)."""
    message = str(exc)
    if isinstance(exc, NonceMismatch):
        code = "nonce_too_low" if message.startswith("nonce too low") else "nonce_too_high"
        return Rejected(code, message)
    return Rejected(_snake(type(exc).__name__), message)
