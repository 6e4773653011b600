"""The ``rollcourt`` command line (typer + rich): keys, L1 wallet and queries, the devnet.

Every failure the user can cause or meet (bad amount, unreachable node, RPC error, insufficient
capacity) is printed as one ``error: ...`` line on stderr with a non-zero exit code: 2 for input
that is wrong, 1 for everything else. Never a traceback.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import httpx
import typer
from rich.console import Console
from rich.text import Text

from l1.ckb.json import bytes_to_json, script_to_json
from l1.client import L1RpcError
from l1.devnet_keys import DEVNET_KEY_WARNING, DEVNET_KEYS
from rollcourt import l2cmds
from rollcourt.amounts import MAX_SHANNONS, format_ckb, parse_ckb_amount
from rollcourt.config import DEFAULT_DATA_DIR, L1_RPC_ENV, resolve_l1_rpc
from rollcourt.errors import (
    InvalidAmount,
    InvalidArguments,
    InvalidKey,
    InvalidLockArgs,
    RollcourtError,
)
from rollcourt.keys import (
    DEFAULT_LOCK_CODE_HASH,
    DEFAULT_LOCK_HASH_TYPE,
    KeyPair,
    compute_default_lock_json,
    generate_key,
    get_key_file_permissions_warning,
    load_key,
    parse_lock_args,
    write_key_file,
)
from rollcourt.rpc import NodeClient, describe_error, get_tip_summary, wait_for_commit

__all__ = ["app"]

app = typer.Typer(
    name="rollcourt",
    help="rollcourt: a rollup framework (layer 2 computes, layer 1 verifies).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="secp256k1 keys for CKB's default lock.", no_args_is_help=True)
l1_app = typer.Typer(help="Talk to an L1 node: balances, transfers, the tip.", no_args_is_help=True)
devnet_app = typer.Typer(help="Run a local devnet.", no_args_is_help=True)
prover_app = typer.Typer(help="Groth16 setup for validity rollups.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(l1_app, name="l1")
app.add_typer(devnet_app, name="devnet")
app.add_typer(prover_app, name="prover")

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
_BAD_INPUT = (InvalidAmount, InvalidArguments, InvalidKey, InvalidLockArgs)

F = TypeVar("F", bound=Callable[..., Any])


def reports_errors(command: F) -> F:
    """Turn any expected failure into one ``error:`` line and a non-zero exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except RollcourtError as exc:
            _fail(str(exc), EXIT_BAD_INPUT if isinstance(exc, _BAD_INPUT) else EXIT_FAILURE)
        except KeyboardInterrupt:
            _fail("interrupted", EXIT_INTERRUPTED)
        except OSError as exc:  # a data dir or key file we cannot create, read or write
            where = f": {exc.filename}" if exc.filename else ""
            _fail(f"{exc.strerror or exc}{where}", EXIT_FAILURE)
        except (httpx.HTTPError, L1RpcError) as exc:  # escaped translation: still one line
            _fail(describe_error(exc), EXIT_FAILURE)

    return wrapper  # type: ignore[return-value]


def _fail(message: str, code: int) -> NoReturn:
    err.print(Text.assemble(("error: ", "bold red"), message))
    raise typer.Exit(code)


def _warn(message: str) -> None:
    err.print(Text.assemble(("warning: ", "bold yellow"), message))


def _print_json(content: Any) -> None:
    typer.echo(json.dumps(content, indent=2))


def _rows(rows: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        out.print(Text.assemble((f"{label:<{width}}  ", "bold"), value))


RpcOption = Annotated[
    str | None,
    typer.Option(
        "--rpc",
        help=f"L1 node JSON-RPC URL (default: ${L1_RPC_ENV}, else the l1 URL in "
        "./devnet-data/devnet.json, else http://127.0.0.1:8114)",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of text")]
KEY_HELP = (
    "key file (from `rollcourt keys new --out`), 32-byte hex private key, or devnet:N "
    "(a hex key on the command line lands in your shell history: prefer a key file)"
)


# ---------------------------------------------------------------------------- keys
@keys_app.command("new")
@reports_errors
def keys_new(
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="write a JSON key file (mode 0600; never overwrites)"),
    ] = None,
    rpc: Annotated[
        str | None,
        typer.Option(
            "--rpc",
            help="take the default lock's code hash from this node "
            f"(default: {DEFAULT_LOCK_CODE_HASH[:10]}…, CKB's secp256k1_blake160)",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Generate a secp256k1 key and show its lock args and default-lock script."""
    code_hash, hash_type = DEFAULT_LOCK_CODE_HASH, DEFAULT_LOCK_HASH_TYPE
    if rpc is not None:
        try:
            with NodeClient(rpc, timeout=10.0) as client:
                info = client.call("get_system_scripts")["secp256k1_blake160_sighash_all"]
                code_hash, hash_type = str(info["code_hash"]), str(info["hash_type"])
        except (RollcourtError, KeyError, TypeError) as exc:
            _warn(f"using the default code hash: could not read it from {rpc}: {exc}")
    key = generate_key()
    lock_script = compute_default_lock_json(key.lock_args, code_hash, hash_type)
    if out_file is not None:
        write_key_file(out_file, key, lock_script)
    if as_json:
        _print_json(
            {
                "private_key": "0x" + key.private_key.hex(),
                "public_key": "0x" + key.public_key.hex(),
                "lock_args": "0x" + key.lock_args.hex(),
                "lock_script": lock_script,
                "key_file": None if out_file is None else str(out_file),
            }
        )
        return
    _rows(
        [
            ("private key", "0x" + key.private_key.hex()),
            ("public key", "0x" + key.public_key.hex()),
            ("lock args", "0x" + key.lock_args.hex()),
            ("lock script", json.dumps(lock_script)),
        ]
    )
    if out_file is not None:
        err.print(f"wrote key file {out_file} (mode 0600)", markup=False)
    err.print("Keep the private key secret: whoever has it can spend what its lock holds.")


@keys_app.command("devnet")
@reports_errors
def keys_devnet(as_json: JsonOption = False) -> None:
    """List the well-known devnet keys. They are PUBLIC: never use them outside a devnet."""
    if as_json:
        _print_json(
            {
                "public": True,
                "warning": DEVNET_KEY_WARNING,
                "keys": [
                    {
                        "index": key.index,
                        "private_key": "0x" + key.private_key.hex(),
                        "public_key": "0x" + key.public_key.hex(),
                        "lock_args": "0x" + key.lock_args.hex(),
                    }
                    for key in DEVNET_KEYS
                ],
            }
        )
        return
    out.print(Text(f"WARNING: {DEVNET_KEY_WARNING}", style="bold red"))
    for key in DEVNET_KEYS:
        out.print(
            f"({key.index}) private key 0x{key.private_key.hex()}  "
            f"lock args 0x{key.lock_args.hex()}",
            markup=False,
        )


# ---------------------------------------------------------------------------- l1
def _load_key(spec: str) -> KeyPair:
    key = load_key(spec)
    if not key.is_public and key.source not in ("hex key", "new key"):
        warning = get_key_file_permissions_warning(Path(key.source))
        if warning:
            _warn(warning)
    return key


@l1_app.command("balance")
@reports_errors
def l1_balance(
    key: Annotated[str | None, typer.Option("--key", help=KEY_HELP, show_default=False)] = None,
    lock_args: Annotated[
        str | None,
        typer.Option("--lock-args", help="20-byte hex lock args (or devnet:N)", show_default=False),
    ] = None,
    rpc: RpcOption = None,
    as_json: JsonOption = False,
) -> None:
    """Capacity (CKB) and number of live cells under a default-lock owner."""
    from rollcourt.wallet import get_balance

    if (key is None) == (lock_args is None):
        raise InvalidArguments("give exactly one of --key or --lock-args")
    args = _load_key(key).lock_args if key is not None else parse_lock_args(str(lock_args))
    with NodeClient(resolve_l1_rpc(rpc)) as client:
        balance = get_balance(client, args)
    if as_json:
        _print_json(
            {
                "lock_args": "0x" + args.hex(),
                "lock": script_to_json(balance.lock),
                "capacity": format_ckb(balance.capacity),
                "capacity_shannons": balance.capacity,
                "cells": balance.cells,
            }
        )
        return
    _rows(
        [
            ("lock args", "0x" + args.hex()),
            ("capacity", f"{format_ckb(balance.capacity)} CKB ({balance.capacity} shannons)"),
            ("cells", str(balance.cells)),
        ]
    )


@l1_app.command("transfer")
@reports_errors
def l1_transfer(
    key: Annotated[str, typer.Option("--key", help=KEY_HELP, show_default=False)],
    to: Annotated[
        str,
        typer.Option("--to", help="recipient's 20-byte hex lock args (or devnet:N)"),
    ],
    amount: Annotated[
        str,
        typer.Option("--amount", help="CKB to send, up to 8 decimals (e.g. 12.5)"),
    ],
    fee_rate: Annotated[
        int, typer.Option("--fee-rate", help="fee in shannons per 1000 bytes", min=0)
    ] = 1_000,
    rpc: RpcOption = None,
    wait: Annotated[bool, typer.Option("--wait", help="wait until the transfer is committed")] = (
        False
    ),
    timeout: Annotated[
        float, typer.Option("--timeout", help="seconds --wait waits at most", min=0)
    ] = 120.0,
    as_json: JsonOption = False,
) -> None:
    """Send CKB to a default-lock owner; change goes back to the sender."""
    from rollcourt.wallet import prepare_transfer, send_transfer

    shannons = parse_ckb_amount(amount)
    to_args = parse_lock_args(to)
    sender = _load_key(key)
    if fee_rate > MAX_SHANNONS:
        raise InvalidArguments("--fee-rate is too large")
    with NodeClient(resolve_l1_rpc(rpc)) as client:
        prepared = prepare_transfer(client, sender, to_args, shannons, fee_rate)
        tx_hash = send_transfer(client, prepared)
        if not as_json:
            out.print(Text.assemble(("tx hash    ", "bold"), bytes_to_json(tx_hash)))
            err.print(
                f"sent {format_ckb(shannons)} CKB from 0x{sender.lock_args.hex()} to "
                f"0x{to_args.hex()} (fee {format_ckb(prepared.fee)} CKB, "
                f"{prepared.inputs} input{'s' if prepared.inputs != 1 else ''})",
                markup=False,
            )
        commit = wait_for_commit(client, tx_hash, timeout) if wait else None
    if as_json:
        _print_json(
            {
                "tx_hash": bytes_to_json(tx_hash),
                "amount": format_ckb(shannons),
                "amount_shannons": shannons,
                "fee_shannons": prepared.fee,
                "from": "0x" + sender.lock_args.hex(),
                "to": "0x" + to_args.hex(),
                "block_number": None if commit is None else commit.block_number,
                "block_hash": None if commit is None else bytes_to_json(commit.block_hash),
            }
        )
    elif commit is not None:
        out.print(
            Text.assemble(
                ("committed  ", "bold"),
                f"block {commit.block_number} {bytes_to_json(commit.block_hash)}",
            )
        )


@l1_app.command("tip")
@reports_errors
def l1_tip(rpc: RpcOption = None, as_json: JsonOption = False) -> None:
    """The node's tip: number, hash, epoch, difficulty."""
    with NodeClient(resolve_l1_rpc(rpc)) as client:
        summary = get_tip_summary(client)
    if as_json:
        _print_json(summary.to_json())
        return
    epoch = summary.epoch
    _rows(
        [
            ("chain", summary.chain),
            ("tip", str(summary.number)),
            ("hash", bytes_to_json(summary.hash)),
            ("epoch", f"{epoch.number} (block {epoch.index} of {epoch.length})"),
            ("difficulty", str(summary.difficulty)),
        ]
    )


# ---------------------------------------------------------------------------- devnet
@devnet_app.command("up")
@reports_errors
def devnet_up(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="where the devnet keeps chain data and logs")
    ] = DEFAULT_DATA_DIR,
    rpc_port: Annotated[
        int, typer.Option("--rpc-port", help="L1 JSON-RPC port", min=1, max=65535)
    ] = 8114,
    preset: Annotated[
        str, typer.Option("--preset", help="chain preset: devnet or test (tiny, for tests)")
    ] = "devnet",
    mine_duty: Annotated[
        float,
        typer.Option(
            "--mine-duty", help="fraction of time the miner hashes (0-1]", min=0.01, max=1.0
        ),
    ] = 0.5,
    mine_interval: Annotated[
        float | None,
        typer.Option(
            "--mine-interval",
            help="seconds the miner pauses after each block (default: devnet 0, test 1)",
            min=0.0,
            show_default=False,
        ),
    ] = None,
    sequencer_port: Annotated[
        int, typer.Option("--sequencer-port", help="sequencer REST port", min=1, max=65535)
    ] = 8200,
    follower_port: Annotated[
        int, typer.Option("--follower-port", help="follower REST port", min=1, max=65535)
    ] = 8201,
    light_port: Annotated[
        int, typer.Option("--light-port", help="light client port", min=1, max=65535)
    ] = 8124,
    challenge_window: Annotated[
        int | None,
        typer.Option(
            "--challenge-window",
            help="L1 blocks before a batch is final (default: devnet 20, test 4)",
            min=1,
            show_default=False,
        ),
    ] = None,
    challenger_port: Annotated[
        int, typer.Option("--challenger-port", help="challenger REST port", min=1, max=65535)
    ] = 8300,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="optimistic (a challenger disputes wrong batches) or validity (a prover proves "
            "every batch with Groth16; the L1 verifies the proof and the batch is final at once)",
        ),
    ] = "optimistic",
    prover_port: Annotated[
        int, typer.Option("--prover-port", help="validity mode: prover REST port", min=1, max=65535)
    ] = 8400,
    fault: Annotated[
        str | None,
        typer.Option(
            "--fault",
            help="TEST ONLY: a fault for the sequencer, e.g. 'wrong-root inflate-balance 1' "
            "(kinds: inflate-balance, skip-signature-check, wrong-nonce, wrong-fee) — watch "
            "the challenger win the dispute",
            show_default=False,
        ),
    ] = None,
    challenger_fault: Annotated[
        str | None,
        typer.Option(
            "--challenger-fault",
            help="TEST ONLY: 'dishonest-at N' makes the challenger dispute honest batch N "
            "(and lose its bond)",
            show_default=False,
        ),
    ] = None,
    l1_nodes: Annotated[
        int,
        typer.Option(
            "--l1-nodes",
            help="L1 full nodes peering with each other, on --rpc-port, --rpc-port + 1, ... "
            "(node 0 mines and serves the other roles; the light client samples them all)",
        ),
    ] = 1,
    miners: Annotated[
        int, typer.Option("--miners", help="how many of the L1 nodes mine (node 0 first)")
    ] = 1,
    explorer_port: Annotated[
        int, typer.Option("--explorer-port", help="explorer web page port", min=1, max=65535)
    ] = 8500,
    detach: Annotated[
        bool,
        typer.Option(
            "--detach",
            help="run in the background (log in <data-dir>/logs/devnet.log); see `rollcourt "
            "devnet status`, stop with `rollcourt devnet down`",
        ),
    ] = False,
) -> None:
    """Run a local devnet until Ctrl-C (rerun to resume): a mining L1 node, the sequencer (which
    deploys its rollup on L1), a follower deriving the L2 from L1 alone, a light client, the
    explorer, and in optimistic mode a challenger disputing wrong batches (the sequencer defends
    them), in validity mode a prover whose Groth16 proofs the L1 verifies."""
    from dataclasses import replace

    from rollcourt.devnet import (
        DEFAULT_MINE_INTERVALS,
        DEVNET_WINDOWS,
        MAX_L1_NODES,
        PRESETS,
        DevnetOptions,
        print_urls,
        run_devnet,
        start_detached,
    )

    if not 1 <= l1_nodes <= MAX_L1_NODES:
        raise InvalidArguments(f"--l1-nodes must be 1 to {MAX_L1_NODES}, got {l1_nodes}")
    if not 1 <= miners <= l1_nodes:
        raise InvalidArguments(f"--miners must be 1 to --l1-nodes ({l1_nodes}), got {miners}")
    if rpc_port + l1_nodes - 1 > 65535:
        raise InvalidArguments(
            f"--rpc-port {rpc_port} leaves no room for {l1_nodes} L1 nodes (ports up to 65535)"
        )
    if preset not in PRESETS:
        raise InvalidArguments(f"--preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    if mode not in ("optimistic", "validity"):
        raise InvalidArguments(f"--mode must be optimistic or validity, got {mode!r}")
    if mode == "validity" and (fault is not None or challenger_fault is not None):
        raise InvalidArguments(
            "--fault and --challenger-fault play the optimistic dispute game; a validity rollup "
            "has none (a wrong batch cannot be proven)"
        )
    options = DevnetOptions(
        data_dir=data_dir,
        rpc_port=rpc_port,
        preset=preset,
        mine_duty=mine_duty,
        mine_interval=(DEFAULT_MINE_INTERVALS[preset] if mine_interval is None else mine_interval),
        sequencer_port=sequencer_port,
        follower_port=follower_port,
        light_port=light_port,
        challenger_port=challenger_port,
        fault=fault,
        challenger_fault=challenger_fault,
        mode=mode,
        prover_port=prover_port,
        challenge_window=DEVNET_WINDOWS[preset]["challenge_window"],
        forced_inclusion_window=DEVNET_WINDOWS[preset]["forced_inclusion_window"],
        escape_timeout=DEVNET_WINDOWS[preset]["escape_timeout"],
        game_clock=DEVNET_WINDOWS[preset]["game_clock"],
        l1_nodes=l1_nodes,
        miners=miners,
        explorer_port=explorer_port,
    )
    if challenge_window is not None:
        options = replace(options, challenge_window=challenge_window)
    if detach:
        content = start_detached(options, lambda message: err.print(message, markup=False))
        print_urls(out, content, data_dir)
        return
    run_devnet(options, out)


DataDirOption = Annotated[
    Path, typer.Option("--data-dir", help="the devnet's data directory (as given to `up`)")
]


@devnet_app.command("status")
@reports_errors
def devnet_status(data_dir: DataDirOption = DEFAULT_DATA_DIR, as_json: JsonOption = False) -> None:
    """Show the devnet running in --data-dir once: L1 tips per node, L2 heads, batches,
    disputes, data availability, the prover, and each role's state."""
    from rollcourt.devnet import get_devnet_status, render_status

    status = get_devnet_status(data_dir)
    if as_json:
        _print_json(status)
        return
    if status["state"] == "starting":
        out.print(
            f"the devnet in {data_dir} is starting (supervisor pid {status['supervisor_pid']}, "
            f"log {status['log']})",
            markup=False,
        )
        return
    # A file or pipe gets a wide panel rather than one squeezed into 80 columns.
    console = out if out.is_terminal else Console(width=160, highlight=False)
    console.print(render_status(status))


@devnet_app.command("down")
@reports_errors
def devnet_down(
    data_dir: DataDirOption = DEFAULT_DATA_DIR,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", help="seconds to wait for a clean stop before killing it", min=1.0
        ),
    ] = 120.0,
) -> None:
    """Stop the devnet running in --data-dir (as Ctrl-C does: every role stops cleanly); its
    data stays, `rollcourt devnet up` resumes it."""
    from rollcourt.devnet import stop_devnet

    pid, _roles = stop_devnet(data_dir, timeout, _warn)
    out.print(
        f"devnet stopped (supervisor pid {pid}); its data stays in {data_dir} "
        "(`rollcourt devnet up` resumes it)",
        markup=False,
    )


# ---------------------------------------------------------------------------- prover
@prover_app.command("setup")
@reports_errors
def prover_setup(
    preset: Annotated[
        str, typer.Option("--preset", help="circuit preset: test or devnet (docs/validity.md)")
    ] = "test",
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="the devnet data dir; artifacts go to <dir>/prover")
    ] = DEFAULT_DATA_DIR,
    zkey: Annotated[
        Path | None,
        typer.Option("--zkey", help="import this snarkjs ceremony zkey instead of a local setup"),
    ] = None,
) -> None:
    """Compile the circuit and make its proving and verification keys (cached: a second run
    with the same circuit does nothing).  The prover package (GPL-3.0) is loaded only here."""
    import time

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from prover.artifacts import run_setup
    from prover.errors import ProverError
    from prover.presets import PRESETS

    if preset not in PRESETS:
        raise InvalidArguments(f"--preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    if zkey is not None and not zkey.is_file():
        raise InvalidArguments(f"--zkey {zkey}: no such file")
    started = time.monotonic()
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err
    ) as bar:
        tasks: list[Any] = []

        def on_stage(stage: str) -> None:
            if tasks:
                bar.update(tasks[-1], completed=1)
            tasks.append(bar.add_task(stage, total=1))

        try:
            result = run_setup(PRESETS[preset].get_spec(), data_dir, zkey=zkey, progress=on_stage)
        except ProverError as exc:
            raise RollcourtError(str(exc)) from None
        for task in tasks:
            bar.update(task, completed=1)
    artifacts = result.artifacts
    manifest = artifacts.manifest
    constraints = manifest.get("constraints") or {}
    _rows(
        [
            ("circuit", f"{preset} ({artifacts.spec.template}{artifacts.spec.params})"),
            ("artifacts", str(artifacts.directory)),
            ("circuit hash", artifacts.circuit_hash),
            ("verifying key hash", artifacts.verifying_key_hash),
            ("constraints", str(constraints.get("total", "unknown"))),
            ("setup", "cached (nothing to do)" if result.cache_hit else "new"),
            ("elapsed", f"{time.monotonic() - started:.1f} s"),
        ]
    )
    if artifacts.is_single_party:
        _warn(
            "single-party devnet setup — not for real value; import a ceremony zkey with "
            "--zkey for anything real"
        )
    else:
        out.print(f"setup: {manifest.get('setup_kind')}")


# ---------------------------------------------------------------------------- l2
l2cmds.register(app, reports_errors)


def main() -> None:
    app(prog_name="rollcourt")


if __name__ == "__main__":  # pragma: no cover
    main()
