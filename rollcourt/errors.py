"""The rollcourt CLI's exception tree (DESIGN §8.5): one base, specific leaves.

Every leaf carries a message written for the person at the terminal; the CLI prints it as one
line (``error: ...``) and exits non-zero, never with a traceback.
"""

from __future__ import annotations

__all__ = [
    "DevnetError",
    "InvalidAmount",
    "InvalidArguments",
    "InvalidKey",
    "InvalidLockArgs",
    "KeyFileError",
    "KeyFileExists",
    "NodeRpcError",
    "NodeUnreachable",
    "RollcourtError",
    "TransferFailed",
]


class RollcourtError(Exception):
    """A failure the CLI reports as one clear line."""


class InvalidArguments(RollcourtError, ValueError):
    """Options that contradict each other or are out of range."""


class InvalidAmount(RollcourtError, ValueError):
    """A CKB amount that is not a positive number with at most 8 decimal places."""


class InvalidKey(RollcourtError, ValueError):
    """A private key (hex, key file or ``devnet:N``) that cannot be used."""


class InvalidLockArgs(RollcourtError, ValueError):
    """Lock args that are not 20 bytes of hex (a secp256k1 blake160)."""


class KeyFileError(RollcourtError):
    """A key file that cannot be written."""


class KeyFileExists(KeyFileError):
    """``keys new --out`` never overwrites an existing file (it may hold the only copy of a key)."""


class NodeUnreachable(RollcourtError):
    """No answer from the L1 node (connection refused, timeout, not an HTTP JSON-RPC server)."""


class NodeRpcError(RollcourtError):
    """The L1 node answered with a JSON-RPC error or an answer we cannot read."""


class TransferFailed(RollcourtError):
    """A transfer could not be built (insufficient capacity) or was rejected / not committed."""


class DevnetError(RollcourtError):
    """The devnet could not start, or a role kept dying."""
