"""``rollcourt devnet up``: run the devnet's roles as child processes and keep them running.

A ``Role`` says how to run one service: its command (a ``python -m <package>`` entry point, the
same ones docker compose uses, DESIGN §6), the URL that answers when it is healthy, its log file
and the URLs it publishes in ``devnet.json``. The ``Supervisor`` starts roles in order, waiting for
each to be healthy before the next (a sequencer needs its L1), restarts a role that dies
unexpectedly (a few times, then gives up), and stops them in reverse order: SIGTERM, a grace
period, then SIGKILL. Adding the sequencer, challenger or prover is adding a ``Role``.

Children run in their own session so a terminal's Ctrl-C reaches only the supervisor, which then
stops them in order; and each is tied to the supervisor's life (``rollcourt._launch``), so nothing
outlives a killed supervisor.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any

import httpx
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.text import Text

import l1
from l1.devnet_keys import DEVNET_KEY_WARNING, DEVNET_KEYS
from l1.node.config import default_spec_path
from rollcourt.config import DEVNET_FILE_NAME
from rollcourt.errors import DevnetError, RollcourtError
from rollcourt.rpc import NodeClient, TipSummary, get_tip_summary

__all__ = [
    "DEFAULT_MINE_INTERVALS",
    "PRESETS",
    "DevnetOptions",
    "Role",
    "Supervisor",
    "build_devnet_file",
    "build_l1_role",
    "is_port_free",
    "run_devnet",
    "write_json_atomically",
]

PRESETS = ("devnet", "test")
#: The test preset keeps its tiny difficulty forever, so an unpaced miner would produce blocks
#: as fast as the CPU allows; the devnet preset's difficulty adjustment paces itself.
DEFAULT_MINE_INTERVALS = {"devnet": 0.0, "test": 1.0}
#: Rollup windows (L1 blocks) per preset: short enough to watch a batch become final. The game
#: clock is what each side of a dispute game has for all its moves (docs/disputes.md §4).
DEVNET_WINDOWS: dict[str, dict[str, int]] = {
    "devnet": {
        "challenge_window": 20,
        "forced_inclusion_window": 40,
        "escape_timeout": 200,
        "game_clock": 20,
    },
    "test": {
        "challenge_window": 4,
        "forced_inclusion_window": 8,
        "escape_timeout": 12,
        "game_clock": 6,
    },
}
#: Share of a lost bond burnt (per mille) on the devnet rollup.
DEVNET_BURN_PERMILLE = 500
PROJECT_ROOT = Path(l1.__file__).resolve().parent.parent


@dataclass
class Role:
    """How to run one devnet service."""

    name: str
    command: list[str]
    health_url: str
    log_path: Path
    #: Published in devnet.json under ``roles.<name>`` (e.g. ``{"rpc": "http://..."}``).
    urls: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)
    startup_timeout: float = 120.0


@dataclass
class _Running:
    role: Role
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0


class _Stopped(Exception):
    """A stop was requested while waiting for a role."""


class Supervisor:
    def __init__(
        self,
        roles: list[Role],
        *,
        stop_event: threading.Event,
        report: Callable[[str], None],
        max_restarts: int = 3,
        stop_grace: float = 15.0,
    ) -> None:
        self.running = [_Running(role) for role in roles]
        self.stop_event = stop_event
        self.force_event = threading.Event()
        self.report = report
        self.max_restarts = max_restarts
        self.stop_grace = stop_grace

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> bool:
        """Start every role in order, each healthy before the next; False if a stop came first."""
        try:
            for entry in self.running:
                self._spawn(entry)
                self._wait_healthy(entry)
        except _Stopped:
            return False
        return True

    def add(self, role: Role) -> bool:
        """Start one more role (healthy before returning); False if a stop came first."""
        entry = _Running(role)
        self.running.append(entry)
        try:
            self._spawn(entry)
            self._wait_healthy(entry)
        except _Stopped:
            return False
        return True

    def check(self) -> bool:
        """Restart roles that died; True if one was restarted. Raises once a role gave up."""
        restarted = False
        for entry in self.running:
            try:
                restarted |= self._revive(entry)
            except _Stopped:
                return restarted
        return restarted

    def _revive(self, entry: _Running) -> bool:
        role = entry.role
        revived = False
        while (
            entry.process is not None
            and entry.process.poll() is not None
            and not self.stop_event.is_set()
        ):
            code = entry.process.returncode
            if entry.restarts >= self.max_restarts:
                raise DevnetError(
                    f"{role.name} exited with code {code} after {entry.restarts} restarts; "
                    f"giving up (log: {role.log_path})"
                )
            entry.restarts += 1
            self.report(
                f"{role.name} exited unexpectedly with code {code}; restarting "
                f"({entry.restarts}/{self.max_restarts}), log: {role.log_path}"
            )
            if self.stop_event.wait(float(entry.restarts - 1)):  # back off: 0 s, 1 s, 2 s...
                raise _Stopped
            self._spawn(entry)
            try:
                self._wait_healthy(entry)
            except DevnetError as exc:
                self.report(str(exc))
                if entry.process.poll() is None:  # alive but never healthy: count it as dead
                    _signal_group(entry.process, signal.SIGKILL)
                    entry.process.wait()
                continue  # the loop counts another restart
            self.report(f"{role.name} is back (pid {entry.process.pid})")
            revived = True
        return revived

    def stop(self) -> None:
        """Stop roles in reverse start order: SIGTERM, wait, then SIGKILL."""
        for entry in reversed(self.running):
            process = entry.process
            if process is None:
                continue
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
                deadline = time.monotonic() + self.stop_grace
                while process.poll() is None and time.monotonic() < deadline:
                    if self.force_event.wait(0.1):
                        break
                if process.poll() is None:
                    self.report(f"{entry.role.name} did not stop in time; killing it")
                    _signal_group(process, signal.SIGKILL)
            process.wait()

    def pid(self, name: str) -> int | None:
        for entry in self.running:
            if entry.role.name == name and entry.process is not None:
                return entry.process.pid
        return None

    def restarts(self, name: str) -> int:
        return next((e.restarts for e in self.running if e.role.name == name), 0)

    # ------------------------------------------------------------------ internals
    def _spawn(self, entry: _Running) -> None:
        role = entry.role
        role.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **role.env}
        env["PYTHONPATH"] = os.pathsep.join(
            part for part in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if part
        )
        launcher = [sys.executable, "-m", "rollcourt._launch", str(os.getpid()), "--"]
        with role.log_path.open("ab") as log:
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            log.write(f"\n=== {stamp} starting {role.name}: {' '.join(role.command)}\n".encode())
            log.flush()
            entry.process = subprocess.Popen(
                launcher + role.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

    def _wait_healthy(self, entry: _Running) -> None:
        role, process = entry.role, entry.process
        if process is None:
            raise DevnetError(f"{role.name} was never started")
        deadline = time.monotonic() + role.startup_timeout
        with httpx.Client(timeout=2.0) as http:
            while True:
                if self.stop_event.is_set():
                    raise _Stopped
                if process.poll() is not None:
                    raise DevnetError(
                        f"{role.name} exited with code {process.returncode} while starting; "
                        f"last log lines:\n{_tail(role.log_path)}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(role.health_url).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise DevnetError(
                        f"{role.name} did not answer {role.health_url} within "
                        f"{role.startup_timeout:g} s (log: {role.log_path})"
                    )
                self.stop_event.wait(0.2)


def _signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    # The child leads its own session, so its process group id is its pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join("  " + line for line in text.splitlines()[-lines:])


# ---------------------------------------------------------------------- the devnet's roles
@dataclass(frozen=True, slots=True)
class DevnetOptions:
    data_dir: Path
    rpc_port: int
    preset: str
    mine_duty: float
    mine_interval: float
    sequencer_port: int = 8200
    follower_port: int = 8201
    light_port: int = 8124
    #: L1 blocks; the devnet preset mines a block about every 1.5 s.
    challenge_window: int = 20
    forced_inclusion_window: int = 40
    escape_timeout: int = 200
    game_clock: int = 20
    burn_permille: int = DEVNET_BURN_PERMILLE
    #: Devnet key whose L1 funds post batches and bonds (public devnet keys only).
    proposer_key: str = "devnet:9"
    challenger_port: int = 8300
    #: Devnet key whose L1 funds the challenger's bonds.
    challenger_key: str = "devnet:8"
    #: Test-only faults (devnet/test presets): the sequencer's ``--fault`` (e.g.
    #: ``wrong-root inflate-balance 1``) and the challenger's (``dishonest-at N``).
    fault: str | None = None
    challenger_fault: str | None = None
    #: ``optimistic`` (challenger, dispute games) or ``validity`` (prover, proofs verified by
    #: the L1; docs/validity.md).
    mode: str = "optimistic"
    prover_port: int = 8400

    @property
    def l2_preset(self) -> str:
        """The sequencer's L2 preset: the chain preset's name, ``validity-`` prefixed in validity
        mode (a validity circuit fixes the tree depth and batch size)."""
        return self.preset if self.mode == "optimistic" else f"validity-{self.preset}"

    @property
    def prover_url(self) -> str:
        return f"http://127.0.0.1:{self.prover_port}"

    @property
    def l1_url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}"

    @property
    def sequencer_url(self) -> str:
        return f"http://127.0.0.1:{self.sequencer_port}"

    @property
    def follower_url(self) -> str:
        return f"http://127.0.0.1:{self.follower_port}"

    @property
    def light_url(self) -> str:
        return f"http://127.0.0.1:{self.light_port}"

    @property
    def challenger_url(self) -> str:
        return f"http://127.0.0.1:{self.challenger_port}"

    @property
    def ports(self) -> dict[str, int]:
        ports = {
            "--rpc-port": self.rpc_port,
            "--sequencer-port": self.sequencer_port,
            "--follower-port": self.follower_port,
            "--light-port": self.light_port,
        }
        if self.mode == "validity":
            ports["--prover-port"] = self.prover_port
        else:
            ports["--challenger-port"] = self.challenger_port
        return ports


def build_l1_role(options: DevnetOptions) -> Role:
    data_dir = options.data_dir.resolve()
    command = [
        sys.executable,
        "-m",
        "l1",
        "node",
        "--data-dir",
        str(data_dir / "l1"),
        "--rpc-port",
        str(options.rpc_port),
        "--spec",
        str(default_spec_path(options.preset)),
        "--mine",
        "--mine-duty",
        repr(options.mine_duty),
        "--mine-interval",
        repr(options.mine_interval),
    ]
    return Role(
        name="l1",
        command=command,
        health_url=options.l1_url + "/healthz",
        log_path=data_dir / "logs" / "l1.log",
        urls={"rpc": options.l1_url},
    )


def build_sequencer_role(options: DevnetOptions) -> Role:
    """The sequencer: deploys the rollup on its first start (then reuses it), posts batches."""
    data_dir = options.data_dir.resolve()
    command = [
        sys.executable,
        "-m",
        "sequencer",
        "--data-dir",
        str(data_dir / "sequencer"),
        "--port",
        str(options.sequencer_port),
        "--l1",
        options.l1_url,
        "--proposer-key",
        options.proposer_key,
        "--preset",
        options.l2_preset,
        "--challenge-window",
        str(options.challenge_window),
        "--forced-inclusion-window",
        str(options.forced_inclusion_window),
        "--escape-timeout",
        str(options.escape_timeout),
        "--game-clock",
        str(options.game_clock),
        "--burn-permille",
        str(options.burn_permille),
        "--deposit-confirmations",
        "1",
        "--safe-confirmations",
        "1",
    ]
    if options.fault is not None:
        command += ["--fault", options.fault]
    if options.mode == "validity":
        command += ["--prover-url", options.prover_url]
    return Role(
        name="sequencer",
        command=command,
        health_url=options.sequencer_url + "/healthz",
        log_path=data_dir / "logs" / "sequencer.log",
        urls={"url": options.sequencer_url},
    )


def build_prover_role(options: DevnetOptions) -> Role:
    """Validity mode: the prover service. Its first start runs the circuit's single-party devnet
    setup (tens of seconds) and caches the artifacts under ``<data dir>/prover``."""
    data_dir = options.data_dir.resolve()
    command = [
        sys.executable,
        "-m",
        "prover",
        "--data-dir",
        str(data_dir),
        "--preset",
        options.preset,
        "--port",
        str(options.prover_port),
        "--setup-if-missing",
    ]
    return Role(
        name="prover",
        command=command,
        health_url=options.prover_url + "/healthz",
        log_path=data_dir / "logs" / "prover.log",
        urls={"url": options.prover_url},
        startup_timeout=900.0,
    )


def get_prover_status(url: str) -> dict[str, Any] | None:
    """The prover's ``/v1/health`` (None if it does not answer)."""
    try:
        response = httpx.get(url + "/v1/health", timeout=2.0)
        return response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None


def build_follower_role(options: DevnetOptions, rollup_id: str) -> Role:
    """The follower: derives the L2 from L1 data alone — the independent check."""
    data_dir = options.data_dir.resolve()
    command = [
        sys.executable,
        "-m",
        "sequencer",
        "--follow",
        "--l1",
        options.l1_url,
        "--rollup-id",
        rollup_id,
        "--data-dir",
        str(data_dir / "follower"),
        "--port",
        str(options.follower_port),
    ]
    return Role(
        name="follower",
        command=command,
        health_url=options.follower_url + "/healthz",
        log_path=data_dir / "logs" / "follower.log",
        urls={"url": options.follower_url},
    )


def build_challenger_role(options: DevnetOptions, rollup_id: str) -> Role:
    """The challenger: re-derives every batch from L1 data and disputes wrong ones."""
    data_dir = options.data_dir.resolve()
    command = [
        sys.executable,
        "-m",
        "challenger",
        "--l1",
        options.l1_url,
        "--key",
        options.challenger_key,
        "--rollup-id",
        rollup_id,
        "--data-dir",
        str(data_dir / "challenger"),
        "--port",
        str(options.challenger_port),
    ]
    if options.challenger_fault is not None:
        command += ["--fault", options.challenger_fault]
    return Role(
        name="challenger",
        command=command,
        health_url=options.challenger_url + "/healthz",
        log_path=data_dir / "logs" / "challenger.log",
        urls={"url": options.challenger_url},
    )


def get_disputes(url: str) -> dict[str, Any] | None:
    """The challenger's ``/v1/disputes`` (None if it does not answer)."""
    try:
        response = httpx.get(url + "/v1/disputes", timeout=2.0)
        return response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None


def build_light_role(options: DevnetOptions) -> Role:
    """A light client sampling blob cells from the L1 node (data-availability sampling)."""
    data_dir = options.data_dir.resolve()
    command = [
        sys.executable,
        "-m",
        "l1",
        "light",
        "--peer",
        options.l1_url,
        "--port",
        str(options.light_port),
        "--spec",
        str(default_spec_path(options.preset)),
        "--data-dir",
        str(data_dir / "light"),
    ]
    return Role(
        name="light",
        command=command,
        health_url=options.light_url + "/healthz",
        log_path=data_dir / "logs" / "light.log",
        urls={"url": options.light_url},
    )


def get_rollup_id(sequencer_url: str) -> str:
    """The rollup id the sequencer deployed (or resumed), from its /v1/status."""
    import httpx

    try:
        status = httpx.get(sequencer_url + "/v1/status", timeout=10.0).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise DevnetError(
            f"the sequencer at {sequencer_url} did not report its rollup: {exc}"
        ) from None
    rollup_id = status.get("rollup_id") if isinstance(status, dict) else None
    if not isinstance(rollup_id, str):
        raise DevnetError(f"the sequencer at {sequencer_url} has no rollup id yet")
    return rollup_id.removeprefix("0x")


def get_l2_status(url: str) -> dict[str, Any] | None:
    import httpx

    try:
        status = httpx.get(url + "/v1/status", timeout=2.0).json()
    except (httpx.HTTPError, ValueError):
        return None
    return status if isinstance(status, dict) else None


def is_port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on host:port (SO_REUSEADDR, as uvicorn binds)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def write_json_atomically(path: Path, content: dict[str, Any]) -> None:
    """Readers never see a half-written file: write a sibling, then rename over."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(content, indent=2) + "\n")
    os.replace(temporary, path)


def build_devnet_file(
    options: DevnetOptions,
    roles: list[Role],
    pids: dict[str, int | None],
    chain: dict[str, Any],
    system_scripts: Any,
) -> dict[str, Any]:
    """devnet.json: what other tools need to talk to this devnet."""
    return {
        "version": 1,
        "supervisor_pid": os.getpid(),
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_dir": str(options.data_dir.resolve()),
        "mode": options.mode,
        "chain": chain,
        "roles": {
            role.name: {**role.urls, "pid": pids.get(role.name), "log": str(role.log_path)}
            for role in roles
        },
        "system_scripts": system_scripts,
        "devnet_keys": {
            "public": True,
            "warning": DEVNET_KEY_WARNING,
            "keys": [
                {
                    "index": key.index,
                    "private_key": "0x" + key.private_key.hex(),
                    "lock_args": "0x" + key.lock_args.hex(),
                }
                for key in DEVNET_KEYS
            ],
        },
    }


def read_recorded_preset(devnet_file: Path) -> str | None:
    try:
        preset = json.loads(devnet_file.read_text())["chain"]["preset"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return preset if isinstance(preset, str) else None


def read_recorded_mode(devnet_file: Path) -> str | None:
    try:
        mode = json.loads(devnet_file.read_text()).get("mode", "optimistic")
    except (OSError, ValueError, AttributeError):
        return None
    return mode if isinstance(mode, str) else None


@contextlib.contextmanager
def exclusive_data_dir(data_dir: Path) -> Iterator[None]:
    """One ``devnet up`` per data directory: two nodes on one SQLite file would corrupt it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = (data_dir / "devnet.lock").open("w")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise DevnetError(
                f"another `rollcourt devnet up` is already using {data_dir}"
            ) from None
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()


@contextlib.contextmanager
def stop_on_signals(stop_event: threading.Event, force_event: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM ask for a clean stop; a second one skips the grace period."""
    received: list[int] = []

    def handle(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        if stop_event.is_set():
            force_event.set()
        stop_event.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def get_l1_status(url: str) -> TipSummary | None:
    try:
        with NodeClient(url, timeout=2.0) as client:
            return get_tip_summary(client, with_pool=True)
    except RollcourtError:
        return None


def format_status(
    summary: TipSummary | None,
    supervisor: Supervisor,
    l2: dict[str, Any] | None = None,
    follower: dict[str, Any] | None = None,
    disputes: dict[str, Any] | None = None,
    prover: dict[str, Any] | None = None,
) -> str:
    restarts = sum(supervisor.restarts(entry.role.name) for entry in supervisor.running)
    suffix = f"  restarts {restarts}" if restarts else ""
    if summary is None:
        return f"l1: not answering{suffix}"
    epoch = summary.epoch
    line = (
        f"l1 tip {summary.number}  epoch {epoch.number} ({epoch.index}/{epoch.length})  "
        f"difficulty {summary.difficulty}  pool {summary.pool_pending}"
    )
    heads = (l2 or {}).get("heads")
    if isinstance(heads, dict):
        soft_head = heads.get("soft")
        soft: dict[str, Any] = soft_head if isinstance(soft_head, dict) else {}
        line += (
            f"  |  l2 soft tx {soft.get('soft_index') if soft.get('soft_index') is not None else '-'}"
            f"  safe batch {_head_number(heads.get('safe'))}"
            f"  final batch {_head_number(heads.get('final'))}"
        )
    follower_heads = (follower or {}).get("heads")
    if isinstance(follower_heads, dict):
        line += f"  |  follower safe {_head_number(follower_heads.get('safe'))}"
        findings = (follower or {}).get("derivation", {}).get("findings")
        if findings:
            line += f"  findings {findings}"
    if disputes is not None:
        games = disputes.get("games") or []
        stats = disputes.get("stats") or {}
        line += f"  |  disputes open {len(games)} won {stats.get('games_won', 0)}"
        for game in games[:2]:
            line += (
                f"  [batch {game.get('batch_number')} range {game.get('lo')}..{game.get('hi')}"
                f" move {game.get('moves')}/{game.get('max_moves')} {game.get('turn')} to move]"
            )
    if prover is not None:
        counts = prover.get("jobs") or {}
        line += (
            f"  |  prover queue {prover.get('queue_length', 0)}"
            f"  proved {counts.get('done', 0)}  failed {counts.get('failed', 0)}"
        )
    return line + suffix


def _head_number(head: Any) -> str:
    if isinstance(head, dict) and head.get("batch") is not None:
        return str(head["batch"])
    return "-"


def devnet_file_path(data_dir: Path) -> Path:
    return data_dir / DEVNET_FILE_NAME


# ---------------------------------------------------------------------- devnet up
class _StatusDisplay:
    """A live one-line status on a terminal; an occasional plain line when output is a file."""

    PLAIN_INTERVAL = 10.0

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live: Live | None = None
        self.last_plain = 0.0

    def __enter__(self) -> _StatusDisplay:
        if self.console.is_terminal:
            self.live = Live(
                Text("starting..."), console=self.console, refresh_per_second=4, transient=True
            )
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)

    def update(self, line: str) -> None:
        if self.live is not None:
            self.live.update(Text(line, style="cyan"))
        elif time.monotonic() - self.last_plain >= self.PLAIN_INTERVAL:
            self.last_plain = time.monotonic()
            self.console.print(line, markup=False, highlight=False)


def _describe_chain(url: str, preset: str) -> tuple[dict[str, Any], Any]:
    with NodeClient(url, timeout=10.0) as client:
        system_scripts = client.call("get_system_scripts")
        info = client.call("get_blockchain_info")
        genesis_hash = client.call("get_block_hash", "0x0")
        tip = client.get_tip_block_number()
    chain = {
        "name": info.get("chain") if isinstance(info, dict) else None,
        "preset": preset,
        "spec": str(default_spec_path(preset)),
        "genesis_hash": genesis_hash,
        "tip_at_start": tip,
    }
    return chain, system_scripts


def _print_banner(
    console: Console, options: DevnetOptions, roles: list[Role], chain: dict[str, Any]
) -> None:
    from rollcourt.config import resolve_l1_rpc

    data_dir = options.data_dir.resolve()
    resumed = chain["resumed"]
    console.print(
        f"[bold green]rollcourt devnet is up[/]: chain {chain['name']} (preset {options.preset}), "
        f"{options.mode} rollup (L2 preset {options.l2_preset}), "
        + (f"resumed at block {chain['tip_at_start']}" if resumed else "new chain"),
        highlight=False,
    )
    for role in roles:
        urls = "  ".join(f"{key} {url}" for key, url in role.urls.items())
        console.print(f"  {role.name:<12} {urls}   log {role.log_path}", markup=False)
    console.print(f"  {'devnet.json':<12} {devnet_file_path(data_dir)}", markup=False)
    console.print()
    console.print(f"[bold yellow]Devnet keys[/] ({DEVNET_KEY_WARNING}):", highlight=False)
    for key in DEVNET_KEYS[:3]:
        console.print(
            f"  ({key.index}) private key 0x{key.private_key.hex()}  "
            f"lock args 0x{key.lock_args.hex()}",
            markup=False,
            highlight=False,
        )
    console.print(
        f"  ... {len(DEVNET_KEYS)} keys in all: `rollcourt keys devnet` lists them",
        markup=False,
        highlight=False,
    )
    console.print()
    rpc_flag = "" if resolve_l1_rpc(None) == options.l1_url else f" --rpc {options.l1_url}"
    console.print(
        f"try: rollcourt l1 transfer --key devnet:0 --to 0x{DEVNET_KEYS[1].lock_args.hex()} "
        f"--amount 100{rpc_flag}",
        markup=False,
        highlight=False,
    )
    console.print("Press Ctrl-C to stop (the chain is kept; run again to resume).", markup=False)


def run_devnet(options: DevnetOptions, console: Console) -> None:
    """Bring the devnet up and supervise it until SIGINT/SIGTERM; raises ``DevnetError``."""
    data_dir = options.data_dir
    devnet_file = devnet_file_path(data_dir)
    with exclusive_data_dir(data_dir):
        recorded = read_recorded_preset(devnet_file)
        if recorded is not None and recorded != options.preset:
            raise DevnetError(
                f"{data_dir} holds a {recorded!r} chain; run with --preset {recorded} "
                "or use another --data-dir"
            )
        recorded_mode = read_recorded_mode(devnet_file) if recorded is not None else None
        if recorded_mode is not None and recorded_mode != options.mode:
            raise DevnetError(
                f"{data_dir} holds a {recorded_mode} rollup; run with --mode {recorded_mode} "
                "or use another --data-dir"
            )
        for flag, port in options.ports.items():
            if not is_port_free(port):
                raise DevnetError(
                    f"port {port} on 127.0.0.1 is already in use; choose another with {flag}"
                )
        validity = options.mode == "validity"
        roles = [build_l1_role(options)]
        if validity:
            roles.append(build_prover_role(options))
        roles += [build_sequencer_role(options), build_light_role(options)]
        stop_event = threading.Event()

        def report(message: str) -> None:
            console.print(f"[yellow]devnet:[/] {escape(message)}", highlight=False)

        supervisor = Supervisor(roles, stop_event=stop_event, report=report)
        with stop_on_signals(stop_event, supervisor.force_event):
            try:
                checker = (
                    f"the prover on {options.prover_url} (its first start runs the circuit's "
                    "devnet setup, about a minute)"
                    if validity
                    else f"the challenger on {options.challenger_url}"
                )
                console.print(
                    f"starting the L1 node on {options.l1_url}, {checker}, the sequencer on "
                    f"{options.sequencer_url}, the follower on {options.follower_url} and a "
                    f"light client on {options.light_url} (data in {data_dir.resolve()})",
                    markup=False,
                    highlight=False,
                )
                resumed = (data_dir / "l1" / "chain.sqlite").exists()
                if not supervisor.start():
                    return
                rollup_id = get_rollup_id(options.sequencer_url)
                sequencer_role = next(r for r in roles if r.name == "sequencer")
                sequencer_role.urls["rollup_id"] = "0x" + rollup_id
                follower = build_follower_role(options, rollup_id)
                roles.append(follower)
                if not supervisor.add(follower):
                    return
                if not validity:
                    challenger = build_challenger_role(options, rollup_id)
                    roles.append(challenger)
                    if not supervisor.add(challenger):
                        return
                chain, system_scripts = _describe_chain(options.l1_url, options.preset)
                chain["resumed"] = resumed

                def write_devnet_file() -> None:
                    pids = {role.name: supervisor.pid(role.name) for role in roles}
                    content = build_devnet_file(options, roles, pids, chain, system_scripts)
                    write_json_atomically(devnet_file, content)

                write_devnet_file()
                _print_banner(console, options, roles, chain)

                def status_line() -> str:
                    return format_status(
                        get_l1_status(options.l1_url),
                        supervisor,
                        get_l2_status(options.sequencer_url),
                        get_l2_status(options.follower_url),
                        None if validity else get_disputes(options.challenger_url),
                        get_prover_status(options.prover_url) if validity else None,
                    )

                with _StatusDisplay(console) as display:
                    display.update(status_line())
                    while not stop_event.wait(1.0):
                        if supervisor.check():
                            write_devnet_file()
                        display.update(status_line())
            finally:
                if stop_event.is_set():
                    console.print("stopping the devnet...", markup=False)
                supervisor.stop()
        console.print(
            f"devnet stopped; its data stays in {data_dir.resolve()} (run again to resume)",
            markup=False,
            highlight=False,
        )
