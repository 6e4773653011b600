"""``python -m l1 node ...``: run an L1 full node; ``python -m l1 light ...``: a light client."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from l1.devnet_keys import DEVNET_KEY_WARNING, DEVNET_KEYS
from l1.logs import LOG_FORMAT_ENV, LogFormat, announce, configure_logging, serve

app = typer.Typer(
    add_completion=False, help="rollcourt L1: a minimal CKB-compatible verification chain."
)


@app.callback()
def main() -> None:
    """rollcourt L1 node commands."""


#: Help text shared by every role's ``--log-format``.
LOG_FORMAT_HELP = "log lines: text (human) or json (one object per line; env ROLLCOURT_LOG_FORMAT)"


def _split_urls(values: list[str] | None) -> list[str]:
    """Peer URLs from repeated flags or one environment variable: click splits an envvar of a
    repeatable option on whitespace; commas are accepted too (``a,b`` or ``a, b``)."""
    return [url for value in values or [] for url in value.replace(",", " ").split() if url]


def _env(prefix: str, name: str) -> str:
    return f"ROLLCOURT_{prefix}_{name}"


def _node_env(name: str) -> str:
    return _env("L1", name)


@app.command()
def node(
    data_dir: Annotated[
        Path,
        typer.Option(help="directory for the node's database", envvar=_node_env("DATA_DIR")),
    ] = Path("./devnet-data/l1"),
    rpc_port: Annotated[
        int,
        typer.Option(help="port of the JSON-RPC / P2P HTTP server", envvar=_node_env("RPC_PORT")),
    ] = 8114,
    host: Annotated[str, typer.Option(help="address to bind", envvar=_node_env("HOST"))] = (
        "127.0.0.1"
    ),
    peer: Annotated[
        list[str] | None,
        typer.Option(
            help="URL of a peer node (repeatable; env: space- or comma-separated list)",
            envvar=_node_env("PEERS"),
        ),
    ] = None,
    mine: Annotated[
        bool, typer.Option(help="run the background miner", envvar=_node_env("MINE"))
    ] = False,
    mine_duty: Annotated[
        float,
        typer.Option(help="fraction of time the miner hashes (0-1]", envvar=_node_env("MINE_DUTY")),
    ] = 0.5,
    mine_interval: Annotated[
        float,
        typer.Option(
            help="seconds to pause after each mined block", envvar=_node_env("MINE_INTERVAL")
        ),
    ] = 0.0,
    miner_lock_args: Annotated[
        str | None,
        typer.Option(
            help="blake160 lock args (hex) paid by mining", envvar=_node_env("MINER_LOCK_ARGS")
        ),
    ] = None,
    spec: Annotated[
        Path | None,
        typer.Option(help="chain spec JSON (default: devnet)", envvar=_node_env("SPEC")),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="SQLAlchemy URL (default: SQLite in data dir)", envvar=_node_env("DATABASE_URL")
        ),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(help="URL peers use to reach this node", envvar=_node_env("PUBLIC_URL")),
    ] = None,
    dev_rpc: Annotated[
        bool,
        typer.Option(help="enable test-only RPC (generate_block)", envvar=_node_env("DEV_RPC")),
    ] = False,
    sync_interval: Annotated[
        float,
        typer.Option(help="seconds between sync rounds", envvar=_node_env("SYNC_INTERVAL")),
    ] = 1.0,
    challenge_window: Annotated[
        int,
        typer.Option(
            help="longest challenge window (blocks) this node must keep data for",
            envvar=_node_env("CHALLENGE_WINDOW"),
        ),
    ] = 0,
    fault: Annotated[
        str | None,
        typer.Option(
            help="TEST ONLY fault: withhold-cells | corrupt-cells | withhold-sidecars",
            envvar=_node_env("FAULT"),
        ),
    ] = None,
    max_request_bytes: Annotated[
        int,
        typer.Option(help="largest accepted request body", envvar=_node_env("MAX_REQUEST_BYTES")),
    ] = 8_000_000,
    log_level: Annotated[
        str, typer.Option(help="logging level", envvar=_node_env("LOG_LEVEL"))
    ] = "info",
    log_format: Annotated[
        LogFormat,
        typer.Option(help=LOG_FORMAT_HELP, envvar=[_node_env("LOG_FORMAT"), LOG_FORMAT_ENV]),
    ] = LogFormat.TEXT,
) -> None:
    """Run a full node: verify blocks, keep the cell set, serve RPC, gossip, optionally mine.

    Every option can also be set with an environment variable ROLLCOURT_L1_<OPTION> (e.g.
    ROLLCOURT_L1_RPC_PORT; the repeatable --peer is ROLLCOURT_L1_PEERS, a space- or
    comma-separated list); a flag given on the command line wins.
    """
    from l1.node.app import create_app
    from l1.node.config import NodeConfig
    from l1.node.node import Node

    try:
        configure_logging(log_level, log_format.value)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    overrides: dict[str, Any] = {
        "data_dir": data_dir,
        "rpc_port": rpc_port,
        "host": host,
        "mine": mine,
        "mine_duty": mine_duty,
        "mine_interval": mine_interval,
        "dev_rpc": dev_rpc,
        "sync_interval": sync_interval,
        "log_level": log_level,
        "challenge_window": challenge_window,
        "max_request_bytes": max_request_bytes,
        # Always given (possibly empty) so the settings never parse ROLLCOURT_L1_PEERS again.
        "peers": _split_urls(peer),
    }
    if fault is not None:
        overrides["fault"] = fault
    for key, value in (
        ("miner_lock_args", miner_lock_args),
        ("spec", spec),
        ("database_url", database_url),
        ("public_url", public_url),
    ):
        if value is not None:
            overrides[key] = value
    try:
        config = NodeConfig(**overrides)
        instance = Node(config)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError too
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if instance.preset.name in ("devnet", "test"):
        lines = [f"Devnet keys ({DEVNET_KEY_WARNING}):"]
        for devnet_key in DEVNET_KEYS[:3]:
            lines.append(
                f"  ({devnet_key.index}) private key 0x{devnet_key.private_key.hex()}"
                f"  lock args 0x{devnet_key.lock_args.hex()}"
            )
        lines.append(f"  ... {len(DEVNET_KEYS)} keys in all: `rollcourt keys devnet` lists them")
        announce(logging.getLogger("l1.node"), "\n".join(lines), log_format.value)
    serve(create_app(instance), config.host, config.rpc_port, log_level)


def _light_env(name: str) -> str:
    return _env("LIGHT", name)


@app.command()
def light(
    peer: Annotated[
        list[str] | None,
        typer.Option(
            help="URL of a full node to follow (repeatable; env: space- or comma-separated list)",
            envvar=_light_env("PEERS"),
        ),
    ] = None,
    port: Annotated[
        int, typer.Option(help="port of the light client's HTTP API", envvar=_light_env("PORT"))
    ] = 8124,
    host: Annotated[str, typer.Option(help="address to bind", envvar=_light_env("HOST"))] = (
        "127.0.0.1"
    ),
    samples: Annotated[
        int,
        typer.Option(help="random cells sampled per blob (1-128)", envvar=_light_env("SAMPLES")),
    ] = 8,
    spec: Annotated[
        Path | None,
        typer.Option(help="chain spec JSON (default: devnet)", envvar=_light_env("SPEC")),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="where to write availability.json on shutdown (state is in memory)",
            envvar=_light_env("DATA_DIR"),
        ),
    ] = None,
    interval: Annotated[
        float, typer.Option(help="seconds between sync rounds", envvar=_light_env("INTERVAL"))
    ] = 1.0,
    max_attempts: Annotated[
        int,
        typer.Option(
            help="sampling attempts before a block stays unavailable",
            envvar=_light_env("MAX_ATTEMPTS"),
        ),
    ] = 3,
    all_peers: Annotated[
        bool,
        typer.Option(
            help="ask every peer for every blob's cells (audit mode)",
            envvar=_light_env("ALL_PEERS"),
        ),
    ] = False,
    log_level: Annotated[
        str, typer.Option(help="logging level", envvar=_light_env("LOG_LEVEL"))
    ] = "info",
    log_format: Annotated[
        LogFormat,
        typer.Option(help=LOG_FORMAT_HELP, envvar=[_light_env("LOG_FORMAT"), LOG_FORMAT_ENV]),
    ] = LogFormat.TEXT,
) -> None:
    """Run a light client: follow headers (PoW, difficulty, heaviest chain) and sample blob
    cells of every recent block to decide whether its data is available.

    Every option can also be set with an environment variable ROLLCOURT_LIGHT_<OPTION> (the
    repeatable --peer is ROLLCOURT_LIGHT_PEERS, a space- or comma-separated list).
    """
    from l1.light.app import create_app as create_light_app
    from l1.light.service import LightClient, LightConfig

    try:
        configure_logging(log_level, log_format.value)
        if not 1 <= samples <= 128:
            raise ValueError(f"--samples must be 1 to 128, got {samples}")
        if max_attempts < 1:
            raise ValueError("--max-attempts must be at least 1")
        client = LightClient(
            LightConfig(
                peers=_split_urls(peer),
                spec=spec,
                samples=samples,
                interval=interval,
                max_attempts=max_attempts,
                query_all_peers=all_peers,
                data_dir=data_dir,
            )
        )
    except (ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    serve(create_light_app(client), host, port, log_level)


if __name__ == "__main__":
    app()
