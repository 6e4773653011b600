"""``python -m challenger --key devnet:1 --devnet-json devnet-data/devnet.json``: watch a rollup on
L1 and challenge every batch our own derivation contradicts (docs/disputes.md).

Exit codes: 0 after a clean stop; 2 for a configuration the challenger refuses (bad flag, a
fault on a non-devnet rollup, wrong genesis, data dir in use or of another rollup); 1 when the
L1 did not answer within ``--l1-wait`` seconds (a supervisor may simply restart us).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from challenger.config import ChallengerConfig, format_validation_error
from challenger.service import ChallengerStartupError, L1Unreachable
from challenger.store import StoreMismatch
from l1.logs import LOG_FORMAT_ENV, LogFormat, announce, configure_logging, serve

cli = typer.Typer(
    add_completion=False, help="rollcourt challenger: plays the dispute game against bad batches."
)

#: Exit code for a refused configuration; the L1 being unreachable exits 1.
EXIT_CONFIG = 2
EXIT_L1_UNREACHABLE = 1


def _overrides(**values: Any) -> dict[str, Any]:
    """Flags given on the command line (unset ones fall back to the environment)."""
    return {key: value for key, value in values.items() if value is not None}


@cli.command()
def main(
    l1: Annotated[
        str | None, typer.Option("--l1", help="L1 node JSON-RPC URL [http://127.0.0.1:8114]")
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="the challenger's L1 private key: hex or devnet:N")
    ] = None,
    rollup_id: Annotated[str | None, typer.Option(help="32-byte rollup id, hex")] = None,
    devnet_json: Annotated[
        Path | None, typer.Option(help="read the rollup id from this devnet.json")
    ] = None,
    genesis_accounts: Annotated[
        str | None, typer.Option(help="'devnet' or a JSON file of {public_key, balance}")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="lock, player snapshots, default SQLite database")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (default: SQLite in the data dir)")
    ] = None,
    host: Annotated[str | None, typer.Option(help="address to bind [127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port [8300]")] = None,
    poll_interval: Annotated[float | None, typer.Option(help="seconds between L1 polls")] = None,
    l1_wait: Annotated[
        float | None, typer.Option(help="seconds to retry an unreachable L1 at start [30]")
    ] = None,
    log_level: Annotated[str | None, typer.Option(help="logging level")] = None,
    log_format: Annotated[
        LogFormat,
        typer.Option(
            help="log lines: text (human) or json (one object per line)", envvar=LOG_FORMAT_ENV
        ),
    ] = LogFormat.TEXT,
    fault: Annotated[
        str | None,
        typer.Option(
            help="TEST ONLY (devnet/test presets): 'dishonest-at N[,M]' challenges those "
            "honest batches (and loses the bonds)"
        ),
    ] = None,
) -> None:
    """Run the challenger (flags override ROLLCOURT_CHALLENGER_* environment variables)."""
    from challenger.app import create_app
    from challenger.service import open_challenger

    try:
        config = ChallengerConfig(
            **_overrides(
                l1_url=l1,
                key=key,
                rollup_id=rollup_id,
                devnet_json=devnet_json,
                genesis_accounts=genesis_accounts,
                data_dir=data_dir,
                database_url=database_url,
                host=host,
                port=port,
                poll_interval=poll_interval,
                l1_wait=l1_wait,
                log_level=log_level,
                fault=fault,
            )
        )
    except ValidationError as exc:
        typer.echo(f"error: {format_validation_error(exc)}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    configure_logging(config.log_level, log_format.value)  # the level is validated already
    if config.log_level != "debug":  # one poll is dozens of RPC calls: keep them out of INFO
        logging.getLogger("httpx").setLevel(logging.WARNING)
    if config.fault is not None:
        logging.getLogger("challenger").warning(
            "FAULT INJECTION (test only): %s -- this challenger disputes honest batches",
            config.fault,
        )
    try:
        challenger = open_challenger(config)
    except L1Unreachable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_L1_UNREACHABLE) from None
    except (ValueError, ChallengerStartupError, StoreMismatch, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    announce(
        logging.getLogger("challenger"),
        f"challenger on http://{config.host}:{config.port} (L1 {config.l1_url}, rollup "
        f"0x{challenger.rollup_id.hex()}, data dir {config.data_dir})",
        log_format.value,
    )
    try:
        serve(create_app(challenger), config.host, config.port, config.log_level)
    finally:
        challenger.close()  # idempotent: releases the lock even if the server never started


if __name__ == "__main__":
    cli(prog_name="python -m challenger")
    sys.exit(0)
