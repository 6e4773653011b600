"""``python -m explorer --l1 http://127.0.0.1:8114 --sequencer http://127.0.0.1:8200 ...``: serve
the explorer page and its aggregated API (``explorer.app``).

Every flag can also come from the environment as ``ROLLCOURT_EXPLORER_<FLAG>`` (for instance
``ROLLCOURT_EXPLORER_L1``, ``ROLLCOURT_EXPLORER_PORT``), so a compose file or a supervisor can
configure it without a command line.  Only the L1 is required; a role left out is shown as not
configured, and a role given but down is shown as unreachable.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated, Any

import typer

from l1.logs import LOG_FORMAT_ENV, LogFormat, announce, configure_logging, serve

cli = typer.Typer(add_completion=False, help="rollcourt explorer: the devnet on one live page.")

_ENV = "ROLLCOURT_EXPLORER_"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def _role(name: str, what: str) -> Any:
    return typer.Option(f"--{name}", envvar=f"{_ENV}{name.upper()}", help=f"{what} base URL")


@cli.command()
def main(
    l1: Annotated[
        str, typer.Option("--l1", envvar=f"{_ENV}L1", help="L1 node JSON-RPC URL (required)")
    ],
    sequencer: Annotated[str | None, _role("sequencer", "sequencer REST API")] = None,
    follower: Annotated[str | None, _role("follower", "follower (sequencer --follow)")] = None,
    challenger: Annotated[str | None, _role("challenger", "challenger")] = None,
    light: Annotated[str | None, _role("light", "L1 light client")] = None,
    prover: Annotated[str | None, _role("prover", "prover (validity mode)")] = None,
    rollup_id: Annotated[
        str | None,
        typer.Option(
            envvar=f"{_ENV}ROLLUP_ID",
            help="rollup id (hex); only needed without a sequencer and a follower",
        ),
    ] = None,
    host: Annotated[str, typer.Option(envvar=f"{_ENV}HOST", help="address to bind")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(envvar=f"{_ENV}PORT", help="HTTP port")] = 8500,
    log_level: Annotated[
        str, typer.Option(envvar=f"{_ENV}LOG_LEVEL", help="logging level")
    ] = "info",
    log_format: Annotated[
        LogFormat,
        typer.Option(
            help="log lines: text (human) or json (one object per line)", envvar=LOG_FORMAT_ENV
        ),
    ] = LogFormat.TEXT,
) -> None:
    """Run the explorer (flags, or ROLLCOURT_EXPLORER_* environment variables)."""
    from explorer.app import create_app
    from explorer.overview import Aggregator, Upstreams

    level = log_level.lower()
    if level not in LOG_LEVELS:
        typer.echo(f"error: --log-level must be one of {', '.join(LOG_LEVELS)}", err=True)
        raise typer.Exit(2)
    if rollup_id is not None:
        try:
            if len(bytes.fromhex(rollup_id.removeprefix("0x"))) != 32:
                raise ValueError
        except ValueError:
            typer.echo("error: --rollup-id must be 32 bytes of hex", err=True)
            raise typer.Exit(2) from None
        rollup_id = "0x" + rollup_id.removeprefix("0x").lower()
    configure_logging(level, log_format.value)
    if level != "debug":  # one refresh is dozens of upstream requests: keep them out of INFO
        logging.getLogger("httpx").setLevel(logging.WARNING)
    upstreams = Upstreams(l1, sequencer, follower, challenger, light, prover, rollup_id)
    aggregator = Aggregator(upstreams)
    given = ", ".join(
        f"{r} {u}"
        for r in ("sequencer", "follower", "challenger", "light", "prover")
        if (u := upstreams.get_url(r)) is not None
    )
    announce(
        logging.getLogger("explorer"),
        f"explorer on http://{host}:{port} (L1 {l1}{', ' + given if given else ''})",
        log_format.value,
    )
    serve(create_app(aggregator), host, port, level)


if __name__ == "__main__":
    cli(prog_name="python -m explorer")
    sys.exit(0)
