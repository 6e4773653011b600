"""Challenger configuration: one settings object, from ``ROLLCOURT_CHALLENGER_*`` environment
variables or ``python -m challenger`` flags (one configuration object per service, like the
sequencer's ``ROLLCOURT_SEQ_*``).

The challenger's identity on the L2 (chain id, preset, fee account) is *not* configured: it is
read from the rollup cell on L1 (``challenger.service``), so a challenger can never play with
rules other than the ones the L1 enforces.  What is configured here is where to find the rollup,
whose bond to risk, and the test-only fault.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sequencer.config import parse_private_key as parse_key

__all__ = [
    "DEFAULT_L1_URL",
    "DISHONEST_AT",
    "FAULT_PRESETS",
    "ChallengerConfig",
    "ConfigError",
    "FaultNotAllowed",
    "check_fault_allowed",
    "format_validation_error",
    "parse_fault",
    "parse_private_key",
    "parse_rollup_id",
    "read_devnet_rollup_id",
]

DEFAULT_L1_URL: Final = "http://127.0.0.1:8114"
#: L2 presets on which a test-only fault may be injected (the sequencer's rule too).
FAULT_PRESETS: Final = ("devnet", "test")
#: The one fault: ``dishonest-at N[,M...]`` -- challenge these batch numbers although honest.
DISHONEST_AT: Final = "dishonest-at"


class ConfigError(ValueError):
    """A setting the challenger cannot start with; the message says which and why."""


class FaultNotAllowed(ConfigError):
    """A fault was asked for on a rollup whose preset is not a devnet/test one: a dishonest
    challenger on a real rollup only burns its own bonds, so it is refused outright."""


class ChallengerConfig(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ROLLCOURT_CHALLENGER_", extra="forbid", hide_input_in_errors=True
    )

    #: JSON-RPC URL of the L1 node.
    l1_url: str = DEFAULT_L1_URL
    #: The challenger's L1 private key (it pays fees and bonds): 32 bytes hex or ``devnet:N``.
    key: str | None = None
    #: The rollup to watch: 32 bytes hex; or ``devnet_json`` naming a devnet.json whose
    #: ``roles.sequencer.rollup_id`` is it.  Exactly one of the two.
    rollup_id: str | None = None
    devnet_json: Path | None = None
    #: ``devnet`` or a JSON file ``[{"public_key", "balance"}, ...]``, as for the sequencer.
    #: ``devnet`` means what it means to a sequencer on an L1: the empty genesis (balances come
    #: from deposits); the devnet accounts are tried too, and the set whose root is the rollup's
    #: genesis root on L1 wins.
    genesis_accounts: str = "devnet"
    data_dir: Path = Field(
        default=Path("./devnet-data/challenger"),
        description="lock file, player snapshots and (by default) the event database",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite file in data_dir"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8300, ge=1, lt=1 << 16)
    #: Seconds between two polls of the L1 (each poll plays every move that is due).
    poll_interval: float = Field(default=1.0, gt=0)
    #: Seconds to keep retrying an unreachable L1 at start (the devnet starts roles together).
    l1_wait: float = Field(default=30.0, ge=0)
    log_level: str = "info"
    #: TEST ONLY: ``dishonest-at N[,M...]`` (devnet/test presets only, checked against the
    #: rollup cell at start): challenge those batches although they are honest -- the
    #: challenger then loses those games and its bonds.
    fault: str | None = None

    @field_validator("key")
    @classmethod
    def _check_key(cls, value: str | None) -> str | None:
        if value is not None:
            parse_private_key(value)
        return value

    @field_validator("rollup_id")
    @classmethod
    def _check_rollup_id(cls, value: str | None) -> str | None:
        return None if value is None else parse_rollup_id(value).hex()

    @field_validator("fault")
    @classmethod
    def _check_fault(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parse_fault(value)
        return " ".join(value.split())

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        if value.lower() not in ("critical", "error", "warning", "info", "debug"):
            raise ValueError("log_level must be one of critical, error, warning, info, debug")
        return value.lower()

    @model_validator(mode="after")
    def _check_required(self) -> ChallengerConfig:
        if self.key is None:
            raise ValueError("a key is required: --key HEX or --key devnet:N")
        if (self.rollup_id is None) == (self.devnet_json is None):
            raise ValueError("give exactly one of --rollup-id HEX or --devnet-json PATH")
        return self

    # ------------------------------------------------------------------ derived values
    def private_key(self) -> bytes:
        assert self.key is not None  # checked by _check_required
        return parse_private_key(self.key)

    def resolved_rollup_id(self) -> bytes:
        """The rollup id, read from the devnet file if that is how it was given."""
        if self.rollup_id is not None:
            return bytes.fromhex(self.rollup_id)
        if self.devnet_json is None:  # the model validator requires one of the two
            raise ConfigError("give --rollup-id or --devnet-json")
        return read_devnet_rollup_id(self.devnet_json)

    def dishonest_batches(self) -> frozenset[int]:
        return frozenset() if self.fault is None else parse_fault(self.fault)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'challenger.sqlite').resolve()}"

    @property
    def player_dir(self) -> Path:
        """Where the dispute player keeps its states and deposit queue."""
        return self.data_dir / "player"


# ----------------------------------------------------------------------------- parsers
def parse_private_key(value: str) -> bytes:
    """``devnet:N`` (devnet key N, ``l1.devnet_keys``) or 32 bytes of hex.

    The messages never repeat the value: it is a secret."""
    try:
        return parse_key(value)
    except ValueError as exc:  # the messages never repeat the value
        raise ConfigError(str(exc)) from None


def parse_rollup_id(value: str) -> bytes:
    """32 bytes of hex, with or without ``0x``."""
    try:
        raw = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise ConfigError("rollup id must be hex") from None
    if len(raw) != 32:
        raise ConfigError(f"rollup id must be 32 bytes, got {len(raw)}")
    return raw


def read_devnet_rollup_id(path: Path) -> bytes:
    """``roles.sequencer.rollup_id`` of a devnet.json (written by ``rollcourt devnet up`` once
    the sequencer has deployed its rollup)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    try:
        value = data["roles"]["sequencer"]["rollup_id"]
    except (KeyError, TypeError):
        raise ConfigError(
            f"{path} has no roles.sequencer.rollup_id (has the devnet's sequencer deployed "
            "its rollup yet?)"
        ) from None
    if not isinstance(value, str):
        raise ConfigError(f"{path}: roles.sequencer.rollup_id is not a string")
    return parse_rollup_id(value)


def parse_fault(value: str) -> frozenset[int]:
    """``dishonest-at N[,M...]`` -> the batch numbers to dispute dishonestly."""
    parts = value.split(maxsplit=1)
    if len(parts) != 2 or parts[0] != DISHONEST_AT:
        raise ConfigError(f"fault must be '{DISHONEST_AT} N[,M...]', got {value!r}")
    numbers: set[int] = set()
    for item in parts[1].replace(" ", "").split(","):
        try:
            number = int(item)
        except ValueError:
            raise ConfigError(f"fault: {item!r} is not a batch number") from None
        if number < 0:
            raise ConfigError(f"fault: batch number {number} is negative")
        numbers.add(number)
    return frozenset(numbers)


def check_fault_allowed(fault: str | None, preset: str) -> None:
    """Refuse a fault unless the rollup's L2 preset (read from its rollup cell) is a devnet or
    test one (``FaultNotAllowed``)."""
    if fault is not None and preset not in FAULT_PRESETS:
        raise FaultNotAllowed(
            f"fault injection ({fault!r}) is only allowed on rollups with the "
            f"{' or '.join(FAULT_PRESETS)} L2 preset; this rollup's preset is {preset!r}"
        )


def format_validation_error(exc: ValidationError) -> str:
    """One line per bad setting, without the input (a key must never reach a log)."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)
