"""Prover configuration: one settings object, from ``ROLLCOURT_PROVER_*`` environment
variables or ``python -m prover`` flags (as every service has).

The data dir is the devnet's (``./devnet-data`` by default, what ``rollcourt prover setup``
writes to): everything the prover keeps lives under ``<data dir>/prover/`` -- the artifacts of
each circuit, the lock and the job database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from prover.errors import ProverError
from prover.presets import (
    CUSTOM_PRESET,
    PRESETS,
    CircuitSpec,
    get_circuit_preset,
    parse_circuit_spec,
)

__all__ = ["DEFAULT_DATA_DIR", "DEFAULT_PORT", "ProverConfig", "format_validation_error"]

DEFAULT_DATA_DIR: Final = Path("devnet-data")
DEFAULT_PORT: Final = 8400


class ProverConfig(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ROLLCOURT_PROVER_", extra="forbid", hide_input_in_errors=True
    )

    data_dir: Path = DEFAULT_DATA_DIR
    #: ``test`` or ``devnet`` (docs/validity.md §2); ``custom`` takes ``circuit`` (tests).
    preset: str = "test"
    #: TEST ONLY, with preset ``custom``: ``PATH:TEMPLATE[:P1,P2,...[:PUB1,...]]``.
    circuit: str | None = None
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite file in <data dir>/prover"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=1, lt=1 << 16)
    #: Run the (single-party) setup at start when the artifacts are missing.
    setup_if_missing: bool = False
    log_level: str = "info"

    @field_validator("preset")
    @classmethod
    def _check_preset(cls, value: str) -> str:
        if value != CUSTOM_PRESET and value not in PRESETS:
            raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {value!r}")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        if value.lower() not in ("critical", "error", "warning", "info", "debug"):
            raise ValueError("log_level must be one of critical, error, warning, info, debug")
        return value.lower()

    @model_validator(mode="after")
    def _check_circuit(self) -> ProverConfig:
        if (self.preset == CUSTOM_PRESET) != (self.circuit is not None):
            raise ValueError("--circuit is required with --preset custom and allowed only there")
        if self.circuit is not None:
            try:
                parse_circuit_spec(self.circuit)
            except ProverError as exc:
                raise ValueError(str(exc)) from None
        return self

    def get_spec(self) -> CircuitSpec:
        if self.circuit is not None:
            return parse_circuit_spec(self.circuit)
        return get_circuit_preset(self.preset).get_spec()

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        path = (self.data_dir / "prover" / "jobs.sqlite").resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"


def format_validation_error(exc: ValidationError) -> str:
    """One line per bad setting."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)
