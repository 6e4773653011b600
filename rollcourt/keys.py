"""secp256k1 keys for CKB's default lock: generation, key files, and ``--key`` parsing.

A key is usable three ways on the command line: a key file written by ``rollcourt keys new
--out``, a raw 32-byte hex private key, or ``devnet:N`` for the well-known devnet keys
(``l1.devnet_keys``; public, like anvil's). Lock args are blake160(compressed public key), the
args of ``secp256k1_blake160_sighash_all`` (RFC 0024).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import coincurve

from l1.core.scripts.secp256k1 import SECP256K1_N, compute_lock_args
from l1.devnet_keys import DEVNET_KEYS
from rollcourt.errors import InvalidKey, InvalidLockArgs, KeyFileError, KeyFileExists

__all__ = [
    "DEFAULT_LOCK_CODE_HASH",
    "DEFAULT_LOCK_HASH_TYPE",
    "KEY_FILE_KIND",
    "KeyPair",
    "compute_default_lock_json",
    "generate_key",
    "get_key_file_permissions_warning",
    "key_from_private",
    "load_key",
    "parse_lock_args",
    "write_key_file",
]

#: ``secp256k1_blake160_sighash_all``'s type-id code hash: CKB mainnet's value, which the
#: rollcourt devnet and test specs deploy too (``l1/specs/*.json``).
DEFAULT_LOCK_CODE_HASH = "0x9bd7e06f3ecf4be0f2fcd2188b23f1b9fcc88e5d4b65a8637b17723bbda3cce8"
DEFAULT_LOCK_HASH_TYPE = "type"
KEY_FILE_KIND = "rollcourt-secp256k1-key"
DEVNET_PREFIX = "devnet:"
_HEX32 = re.compile(r"(0x)?[0-9a-fA-F]{64}")
_HEX20 = re.compile(r"(0x)?[0-9a-fA-F]{40}")


@dataclass(frozen=True, slots=True)
class KeyPair:
    private_key: bytes
    public_key: bytes
    lock_args: bytes
    #: Where the key came from, for messages ("devnet:0", a file path, "hex key").
    source: str = ""
    #: True for the published devnet keys.
    is_public: bool = False


def key_from_private(private_key: bytes, source: str = "", is_public: bool = False) -> KeyPair:
    """Check the scalar is a valid secp256k1 private key (1 <= k < n), derive the rest."""
    if len(private_key) != 32:
        raise InvalidKey(f"a private key is 32 bytes, got {len(private_key)}")
    if not 0 < int.from_bytes(private_key, "big") < SECP256K1_N:
        raise InvalidKey("private key is out of range for secp256k1 (must be in [1, n))")
    public_key = coincurve.PrivateKey(private_key).public_key.format(compressed=True)
    return KeyPair(private_key, public_key, compute_lock_args(public_key), source, is_public)


def generate_key() -> KeyPair:
    """A fresh key from the OS CSPRNG (rejection sampling keeps it uniform in [1, n))."""
    while True:
        candidate = secrets.token_bytes(32)
        if 0 < int.from_bytes(candidate, "big") < SECP256K1_N:
            return key_from_private(candidate, "new key")


def compute_default_lock_json(
    lock_args: bytes,
    code_hash: str = DEFAULT_LOCK_CODE_HASH,
    hash_type: str = DEFAULT_LOCK_HASH_TYPE,
) -> dict[str, str]:
    """The key's default-lock script in CKB JSON shape."""
    return {"code_hash": code_hash, "hash_type": hash_type, "args": "0x" + lock_args.hex()}


def parse_lock_args(text: str) -> bytes:
    """20 bytes of hex (``0x`` optional), or ``devnet:N`` for a devnet key's lock args."""
    value = text.strip()
    if value.startswith(DEVNET_PREFIX):
        return _devnet_key(value).lock_args
    if not _HEX20.fullmatch(value):
        raise InvalidLockArgs(
            f"lock args must be 20 bytes of hex (40 hex digits, blake160 of a public key), "
            f"got {text!r}"
        )
    return bytes.fromhex(value.removeprefix("0x"))


def _devnet_key(text: str) -> KeyPair:
    index_text = text[len(DEVNET_PREFIX) :]
    if not index_text.isdigit() or int(index_text) >= len(DEVNET_KEYS):
        raise InvalidKey(
            f"{text!r}: devnet keys are devnet:0 to devnet:{len(DEVNET_KEYS) - 1} "
            "(`rollcourt keys devnet` lists them)"
        )
    key = DEVNET_KEYS[int(index_text)]
    return KeyPair(key.private_key, key.public_key, key.lock_args, text, is_public=True)


def load_key(spec: str) -> KeyPair:
    """A ``--key`` value: ``devnet:N``, a 32-byte hex private key, or a key file path."""
    value = spec.strip()
    if value.startswith(DEVNET_PREFIX):
        return _devnet_key(value)
    if _HEX32.fullmatch(value):
        return key_from_private(bytes.fromhex(value.removeprefix("0x")), "hex key")
    path = Path(value).expanduser()
    if not path.is_file():
        raise InvalidKey(f"{spec!r} is neither a key file, a 32-byte hex private key, nor devnet:N")
    return _read_key_file(path)


def _read_key_file(path: Path) -> KeyPair:
    try:
        content: Any = json.loads(path.read_text())
    except OSError as exc:
        raise InvalidKey(f"cannot read key file {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidKey(f"key file {path} is not JSON") from None
    private_hex = content.get("private_key") if isinstance(content, dict) else None
    if not isinstance(private_hex, str) or not _HEX32.fullmatch(private_hex):
        raise InvalidKey(f"key file {path} has no 32-byte hex 'private_key'")
    key = key_from_private(bytes.fromhex(private_hex.removeprefix("0x")), str(path))
    recorded = content.get("lock_args")
    if recorded is not None and recorded != "0x" + key.lock_args.hex():
        raise InvalidKey(
            f"key file {path} is inconsistent: its lock_args do not match its private key"
        )
    return key


def get_key_file_permissions_warning(path: Path) -> str | None:
    """A warning when a key file is readable by group or others (as ssh does for id_*)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return (
            f"key file {path} is accessible by others (mode {stat.S_IMODE(mode):o}); chmod 600 it"
        )
    return None


def write_key_file(path: Path, key: KeyPair, lock_script: dict[str, str]) -> None:
    """Write the key as JSON, mode 0600; refuse to replace an existing file.

    ``O_CREAT | O_EXCL`` makes "does it exist?" and "create it" one atomic step, so a race
    cannot clobber another key, and the file never exists with wider permissions.
    """
    content = {
        "kind": KEY_FILE_KIND,
        "version": 1,
        "private_key": "0x" + key.private_key.hex(),
        "public_key": "0x" + key.public_key.hex(),
        "lock_args": "0x" + key.lock_args.hex(),
        "lock_script": lock_script,
    }
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileExists(f"{path} already exists; refusing to overwrite a key file") from None
    except OSError as exc:
        raise KeyFileError(f"cannot create key file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        json.dump(content, handle, indent=2)
        handle.write("\n")
