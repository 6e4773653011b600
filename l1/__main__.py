"""``python -m l1 node ...``: run an L1 full node; ``python -m l1 light ...``: a light client."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn

from l1.devnet_keys import DEVNET_KEY_WARNING, DEVNET_KEYS

app = typer.Typer(
    add_completion=False, help="rollcourt L1: a minimal CKB-compatible verification chain."
)


@app.callback()
def main() -> None:
    """rollcourt L1 node commands."""


@app.command()
def node(
    data_dir: Annotated[Path, typer.Option(help="directory for the node's database")] = Path(
        "./devnet-data/l1"
    ),
    rpc_port: Annotated[int, typer.Option(help="port of the JSON-RPC / P2P HTTP server")] = 8114,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    peer: Annotated[list[str] | None, typer.Option(help="URL of a peer node (repeatable)")] = None,
    mine: Annotated[bool, typer.Option(help="run the background miner")] = False,
    mine_duty: Annotated[float, typer.Option(help="fraction of time the miner hashes (0-1]")] = 0.5,
    mine_interval: Annotated[
        float, typer.Option(help="seconds to pause after each mined block")
    ] = 0.0,
    miner_lock_args: Annotated[
        str | None, typer.Option(help="blake160 lock args (hex) paid by mining")
    ] = None,
    spec: Annotated[Path | None, typer.Option(help="chain spec JSON (default: devnet)")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (default: SQLite in data dir)")
    ] = None,
    public_url: Annotated[str | None, typer.Option(help="URL peers use to reach this node")] = None,
    dev_rpc: Annotated[bool, typer.Option(help="enable test-only RPC (generate_block)")] = False,
    sync_interval: Annotated[float, typer.Option(help="seconds between sync rounds")] = 1.0,
    challenge_window: Annotated[
        int, typer.Option(help="longest challenge window (blocks) this node must keep data for")
    ] = 0,
    fault: Annotated[
        str | None,
        typer.Option(help="TEST ONLY fault: withhold-cells | corrupt-cells | withhold-sidecars"),
    ] = None,
    max_request_bytes: Annotated[
        int, typer.Option(help="largest accepted request body")
    ] = 8_000_000,
    log_level: Annotated[str, typer.Option(help="logging level")] = "info",
) -> None:
    """Run a full node: verify blocks, keep the cell set, serve RPC, gossip, optionally mine."""
    from l1.node.app import create_app
    from l1.node.config import NodeConfig
    from l1.node.node import Node

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
    }
    if fault is not None:
        overrides["fault"] = fault
    if peer:
        overrides["peers"] = peer
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
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if instance.preset.name in ("devnet", "test"):
        typer.echo(f"Devnet keys ({DEVNET_KEY_WARNING}):")
        for devnet_key in DEVNET_KEYS[:3]:
            typer.echo(
                f"  ({devnet_key.index}) private key 0x{devnet_key.private_key.hex()}"
                f"  lock args 0x{devnet_key.lock_args.hex()}"
            )
        typer.echo(f"  ... {len(DEVNET_KEYS)} keys in all: `rollcourt keys devnet` lists them")
    uvicorn.run(
        create_app(instance),
        host=config.host,
        port=config.rpc_port,
        log_level=log_level.lower(),
        access_log=False,
    )


@app.command()
def light(
    peer: Annotated[
        list[str] | None, typer.Option(help="URL of a full node to follow (repeatable)")
    ] = None,
    port: Annotated[int, typer.Option(help="port of the light client's HTTP API")] = 8124,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    samples: Annotated[int, typer.Option(help="random cells sampled per blob (1-128)")] = 8,
    spec: Annotated[Path | None, typer.Option(help="chain spec JSON (default: devnet)")] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="where to write availability.json on shutdown (state is in memory)"),
    ] = None,
    interval: Annotated[float, typer.Option(help="seconds between sync rounds")] = 1.0,
    max_attempts: Annotated[
        int, typer.Option(help="sampling attempts before a block stays unavailable")
    ] = 3,
    all_peers: Annotated[
        bool, typer.Option(help="ask every peer for every blob's cells (audit mode)")
    ] = False,
    log_level: Annotated[str, typer.Option(help="logging level")] = "info",
) -> None:
    """Run a light client: follow headers (PoW, difficulty, heaviest chain) and sample blob
    cells of every recent block to decide whether its data is available."""
    from l1.light.app import create_app as create_light_app
    from l1.light.service import LightClient, LightConfig

    try:
        if not 1 <= samples <= 128:
            raise ValueError(f"--samples must be 1 to 128, got {samples}")
        if max_attempts < 1:
            raise ValueError("--max-attempts must be at least 1")
        client = LightClient(
            LightConfig(
                peers=list(peer or []),
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
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(
        create_light_app(client),
        host=host,
        port=port,
        log_level=log_level.lower(),
        access_log=False,
    )


if __name__ == "__main__":
    app()
