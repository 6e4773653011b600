"""``python -m sequencer --data-dir D --port P ...``: run the rollup sequencer."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from l1.logs import LOG_FORMAT_ENV, LogFormat, announce, configure_logging, serve
from sequencer.errors import StartupError

#: Environment variables of follower mode (``--follow``): flag name -> variable. The flags are
#: shared with the sequencer, whose own variables are ROLLCOURT_SEQ_*; a follower reads these.
FOLLOWER_ENV = {
    "l1": "ROLLCOURT_FOLLOWER_L1",
    "rollup_id": "ROLLCOURT_FOLLOWER_ROLLUP_ID",
    "data_dir": "ROLLCOURT_FOLLOWER_DATA_DIR",
    "from_block": "ROLLCOURT_FOLLOWER_FROM_BLOCK",
    "host": "ROLLCOURT_FOLLOWER_HOST",
    "port": "ROLLCOURT_FOLLOWER_PORT",
    "poll_interval": "ROLLCOURT_FOLLOWER_POLL_INTERVAL",
    "genesis_accounts": "ROLLCOURT_FOLLOWER_GENESIS_ACCOUNTS",
    "fee_account": "ROLLCOURT_FOLLOWER_FEE_ACCOUNT",
    "log_level": "ROLLCOURT_FOLLOWER_LOG_LEVEL",
}
#: Follower defaults, when neither the flag nor the variable is set.
FOLLOWER_DEFAULTS: dict[str, Any] = {
    "data_dir": Path("./devnet-data/follower"),
    "from_block": 0,
    "host": "127.0.0.1",
    "port": 8210,
    "poll_interval": 1.0,
    "genesis_accounts": None,
    "fee_account": 0,
    "log_level": "info",
}
_FOLLOWER_TYPES: dict[str, Any] = {
    "data_dir": Path,
    "from_block": int,
    "port": int,
    "poll_interval": float,
    "fee_account": int,
}


def follower_options(**flags: Any) -> dict[str, Any]:
    """``run_follower``'s arguments: each flag given wins, else its ROLLCOURT_FOLLOWER_*
    variable, else the default. The shared flags cannot carry a typer ``envvar`` (the sequencer
    reads ROLLCOURT_SEQ_* for them), so the follower's variables are read here."""
    values: dict[str, Any] = {}
    for name, env in FOLLOWER_ENV.items():
        value = flags.get(name)
        if value is None and os.environ.get(env, "") != "":
            raw = os.environ[env]
            try:
                value = _FOLLOWER_TYPES.get(name, str)(raw)
            except ValueError:
                raise ValueError(f"{env}={raw!r} is not a valid {name}") from None
        if value is None:
            value = FOLLOWER_DEFAULTS.get(name)
        values[name] = value
    if values["l1"] is None or values["rollup_id"] is None:
        raise ValueError(
            "--follow needs --l1 URL and --rollup-id HEX "
            "(or ROLLCOURT_FOLLOWER_L1 and ROLLCOURT_FOLLOWER_ROLLUP_ID)"
        )
    values["l1_url"] = values.pop("l1")
    return values


cli = typer.Typer(add_completion=False, help="rollcourt sequencer: the L2's HTTP API and batcher.")


@cli.command()
def main(
    data_dir: Annotated[
        Path | None, typer.Option(help="lock file and default SQLite database")
    ] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port")] = None,
    host: Annotated[str | None, typer.Option(help="address to bind")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (default: SQLite in the data dir)")
    ] = None,
    genesis_accounts: Annotated[
        str | None, typer.Option(help="'devnet' or a JSON file of {public_key, balance}")
    ] = None,
    chain_id: Annotated[int | None, typer.Option(help="u32 chain id (signing domain)")] = None,
    rollup_id: Annotated[str | None, typer.Option(help="32-byte rollup id, hex")] = None,
    preset: Annotated[
        str | None,
        typer.Option(help="L2 preset: test | devnet | large | validity-test | validity-devnet"),
    ] = None,
    fee_account: Annotated[int | None, typer.Option(help="account credited with fees")] = None,
    batch_max_txs: Annotated[int | None, typer.Option(help="seal at this many txs")] = None,
    batch_interval: Annotated[
        float | None, typer.Option(help="seal when the oldest unbatched tx is this old (s)")
    ] = None,
    max_nonce_gap: Annotated[int | None, typer.Option(help="queued nonces ahead")] = None,
    max_pending_per_account: Annotated[int | None, typer.Option()] = None,
    max_pending_total: Annotated[int | None, typer.Option()] = None,
    min_fee: Annotated[int | None, typer.Option(help="smallest accepted fee")] = None,
    max_request_bytes: Annotated[int | None, typer.Option(help="largest request body")] = None,
    max_bulk: Annotated[int | None, typer.Option(help="transactions per bulk request")] = None,
    log_level: Annotated[str | None, typer.Option(help="logging level")] = None,
    log_format: Annotated[
        LogFormat,
        typer.Option(
            help="log lines: text (human) or json (one object per line)", envvar=LOG_FORMAT_ENV
        ),
    ] = LogFormat.TEXT,
    follow: Annotated[
        bool, typer.Option("--follow", help="follower mode: derive from L1, serve the read API")
    ] = False,
    l1: Annotated[str | None, typer.Option("--l1", help="follower: L1 node URL")] = None,
    from_block: Annotated[
        int | None, typer.Option(help="follower: first L1 block to scan without a snapshot [0]")
    ] = None,
    poll_interval: Annotated[
        float | None, typer.Option(help="follower: L1 poll interval (s) [1.0]")
    ] = None,
    proposer_key: Annotated[
        str | None, typer.Option(help="with --l1: the proposer's L1 key (hex or devnet:N)")
    ] = None,
    challenge_window: Annotated[int | None, typer.Option(help="deploy: L1 blocks")] = None,
    forced_inclusion_window: Annotated[int | None, typer.Option(help="deploy: L1 blocks")] = None,
    escape_timeout: Annotated[int | None, typer.Option(help="deploy: L1 blocks")] = None,
    bond: Annotated[int | None, typer.Option(help="deploy: batch bond (shannons)")] = None,
    game_clock: Annotated[
        int | None, typer.Option(help="deploy: L1 blocks each side has in a dispute game")
    ] = None,
    burn_permille: Annotated[
        int | None, typer.Option(help="deploy: burnt share of a lost bond, per mille")
    ] = None,
    safe_confirmations: Annotated[
        int | None, typer.Option(help="L1 blocks on a safe batch")
    ] = None,
    deposit_confirmations: Annotated[
        int | None, typer.Option(help="L1 confirmations before a deposit is credited")
    ] = None,
    prover_url: Annotated[
        str | None,
        typer.Option(help="validity presets: URL of the prover service (python -m prover)"),
    ] = None,
    fault: Annotated[
        str | None,
        typer.Option(
            help="TEST ONLY (devnet/test presets), one quoted argument: "
            "'ignore-deposits-of HEX_L2_PUBKEY' censors that key's deposits (the L1 then "
            "refuses its batches); 'wrong-root KIND [FROM_BATCH]' executes wrongly from that "
            "batch on (KIND: inflate-balance, skip-signature-check, wrong-nonce, wrong-fee) and "
            "defends the wrong root in the dispute game"
        ),
    ] = None,
) -> None:
    """Run the sequencer (flags override ROLLCOURT_SEQ_* environment variables; with
    --follow, the follower's flags override ROLLCOURT_FOLLOWER_* ones)."""
    if follow:
        from sequencer.follower import run_follower

        try:
            values = follower_options(
                l1=l1,
                rollup_id=rollup_id,
                data_dir=data_dir,
                from_block=from_block,
                host=host,
                port=port,
                poll_interval=poll_interval,
                genesis_accounts=genesis_accounts,
                fee_account=fee_account,
                log_level=log_level,
            )
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        raise typer.Exit(run_follower(**values, log_format=log_format.value))
    from sequencer.app import create_app
    from sequencer.config import SequencerConfig
    from sequencer.service import Sequencer

    overrides: dict[str, Any] = {
        key: value
        for key, value in {
            "data_dir": data_dir,
            "port": port,
            "host": host,
            "database_url": database_url,
            "genesis_accounts": genesis_accounts,
            "chain_id": chain_id,
            "rollup_id": rollup_id,
            "preset": preset,
            "fee_account": fee_account,
            "batch_max_txs": batch_max_txs,
            "batch_interval": batch_interval,
            "max_nonce_gap": max_nonce_gap,
            "max_pending_per_account": max_pending_per_account,
            "max_pending_total": max_pending_total,
            "min_fee": min_fee,
            "max_request_bytes": max_request_bytes,
            "max_bulk": max_bulk,
            "log_level": log_level,
            "l1_url": l1,
            "proposer_key": proposer_key,
            "challenge_window": challenge_window,
            "forced_inclusion_window": forced_inclusion_window,
            "escape_timeout": escape_timeout,
            "bond": bond,
            "game_clock": game_clock,
            "burn_permille": burn_permille,
            "safe_confirmations": safe_confirmations,
            "deposit_confirmations": deposit_confirmations,
            "prover_url": prover_url,
            "fault": fault,
        }.items()
        if value is not None
    }
    try:
        config = SequencerConfig(**overrides)
        configure_logging(config.log_level, log_format.value)
        if config.fault is not None:
            logging.getLogger("sequencer").warning(
                "FAULT INJECTION (test only): %s -- this sequencer misbehaves on purpose",
                config.fault,
            )
        seq = Sequencer(config).open()
    except (ValueError, StartupError) as exc:  # pydantic's ValidationError is a ValueError
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    announce(
        logging.getLogger("sequencer"),
        f"sequencer on http://{config.host}:{config.port} (data dir {config.data_dir}, "
        f"soft index {seq.executor.next_soft_index - 1}, next batch {seq.next_batch_number})",
        log_format.value,
    )
    try:
        serve(create_app(seq), config.host, config.port, config.log_level)
    finally:
        seq.close()


if __name__ == "__main__":
    cli(prog_name="python -m sequencer")
    sys.exit(0)
