"""``python -m prover --data-dir D --preset test|devnet --port 8400``: the Groth16 proving
service (job API over HTTP, see ``prover.app``).

Exit codes: 0 after a clean stop; 2 for a configuration the prover refuses (bad flag, data dir
in use, artifacts missing -- the message names the setup command).

Licence: the ``prover`` package is GPL-3.0-only (prover/LICENSE).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from l1.logs import LOG_FORMAT_ENV, LogFormat, announce, configure_logging, serve
from prover.config import ProverConfig, format_validation_error
from prover.errors import ProverError

cli = typer.Typer(add_completion=False, help="rollcourt prover: Groth16 proofs of batches.")

EXIT_CONFIG = 2


def _overrides(**values: Any) -> dict[str, Any]:
    """Flags given on the command line (unset ones fall back to the environment)."""
    return {key: value for key, value in values.items() if value is not None}


@cli.command()
def main(
    data_dir: Annotated[
        Path | None, typer.Option(help="the devnet data dir; the prover uses <dir>/prover")
    ] = None,
    preset: Annotated[str | None, typer.Option(help="circuit preset: test or devnet")] = None,
    circuit: Annotated[
        str | None,
        typer.Option(help="TEST ONLY, with --preset custom: PATH:TEMPLATE[:P1,...[:PUB1,...]]"),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (default: SQLite in the data dir)")
    ] = None,
    host: Annotated[str | None, typer.Option(help="address to bind [127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port [8400]")] = None,
    setup_if_missing: Annotated[
        bool | None,
        typer.Option(
            "--setup-if-missing/--no-setup-if-missing",
            help="run the single-party setup at start if there are no artifacts",
        ),
    ] = None,
    log_level: Annotated[str | None, typer.Option(help="logging level")] = None,
    log_format: Annotated[
        LogFormat,
        typer.Option(
            help="log lines: text (human) or json (one object per line)", envvar=LOG_FORMAT_ENV
        ),
    ] = LogFormat.TEXT,
) -> None:
    """Run the prover (flags override ROLLCOURT_PROVER_* environment variables)."""
    from prover.app import create_app
    from prover.service import open_prover

    try:
        config = ProverConfig(
            **_overrides(
                data_dir=data_dir,
                preset=preset,
                circuit=circuit,
                database_url=database_url,
                host=host,
                port=port,
                setup_if_missing=setup_if_missing,
                log_level=log_level,
            )
        )
    except ValidationError as exc:
        typer.echo(f"error: {format_validation_error(exc)}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    configure_logging(config.log_level, log_format.value)  # the level is validated already
    try:
        service = open_prover(config)
    except (ProverError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    announce(
        logging.getLogger("prover"),
        f"prover on http://{config.host}:{config.port} (circuit {service.artifacts.spec.name}, "
        f"hash {service.artifacts.circuit_hash[:16]}, data dir {config.data_dir})",
        log_format.value,
    )
    try:
        serve(create_app(service), config.host, config.port, config.log_level)
    finally:
        service.close()  # idempotent: releases the lock even if the server never started


if __name__ == "__main__":
    cli(prog_name="python -m prover")
    sys.exit(0)
