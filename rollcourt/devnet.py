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
import importlib.machinery
import importlib.util
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
from rich.console import Console, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.text import Text

import l1
from l1.devnet_keys import DEVNET_KEY_WARNING, DEVNET_KEYS
from l1.node.config import default_spec_path
from rollcourt.config import DEVNET_FILE_NAME
from rollcourt.errors import DevnetError
from rollcourt.panel import (
    collect_status,
    get_role_url,
    probe_devnet,
    render_status,
)
from rollcourt.rpc import NodeClient, TipSummary

__all__ = [
    "DEFAULT_EXPLORER_PORT",
    "DEFAULT_MINE_INTERVALS",
    "MAX_L1_NODES",
    "PRESETS",
    "DevnetOptions",
    "Role",
    "Supervisor",
    "build_devnet_file",
    "build_l1_role",
    "build_l1_roles",
    "collect_status",
    "explorer_available",
    "format_status",
    "get_devnet_status",
    "is_port_free",
    "render_status",
    "run_devnet",
    "start_detached",
    "stop_devnet",
    "write_json_atomically",
]

PRESETS = ("devnet", "test")
#: More L1 nodes only show convergence better; each is a full node verifying every block.
MAX_L1_NODES = 5
DEFAULT_EXPLORER_PORT = 8500
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
    #: ``starting``, ``up``, ``restarting``, ``down`` (gave up) or ``stopped``: what the status
    #: panel and devnet.json show, so a crash loop is visible while it happens.
    state: str = "starting"


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
        #: Called (from the supervising thread) whenever a role's process or state changes, so
        #: devnet.json can follow restarts; set once the file has been written the first time.
        self.on_change: Callable[[], None] | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> bool:
        """Start every role in order, each healthy before the next; False if a stop came first."""
        try:
            for entry in self.running:
                self._spawn(entry)
                self._wait_healthy(entry)
                self._set_state(entry, "up")
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
            self._set_state(entry, "up")
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
                self._set_state(entry, "down")
                raise DevnetError(
                    f"{role.name} exited with code {code} after {entry.restarts} restarts; "
                    f"giving up (log: {role.log_path})"
                )
            entry.restarts += 1
            self._set_state(entry, "restarting")
            self.report(
                f"{role.name} exited unexpectedly with code {code}; restarting "
                f"({entry.restarts}/{self.max_restarts}), log: {role.log_path}"
            )
            if self.stop_event.wait(float(entry.restarts - 1)):  # back off: 0 s, 1 s, 2 s...
                raise _Stopped
            self._spawn(entry)
            self._notify()  # the new pid
            try:
                self._wait_healthy(entry)
            except DevnetError as exc:
                self.report(str(exc))
                if entry.process.poll() is None:  # alive but never healthy: count it as dead
                    _signal_group(entry.process, signal.SIGKILL)
                    entry.process.wait()
                continue  # the loop counts another restart
            self.report(f"{role.name} is back (pid {entry.process.pid})")
            self._set_state(entry, "up")
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
            entry.state = "stopped"

    def pid(self, name: str) -> int | None:
        for entry in self.running:
            if entry.role.name == name and entry.process is not None:
                return entry.process.pid
        return None

    def restarts(self, name: str) -> int:
        return next((e.restarts for e in self.running if e.role.name == name), 0)

    def state(self, name: str) -> str | None:
        return next((e.state for e in self.running if e.role.name == name), None)

    def role_states(self) -> list[dict[str, Any]]:
        """Each role as the status panel shows it (the same shape ``probe_roles`` gives for a
        devnet run by another process)."""
        return [
            {
                "name": entry.role.name,
                "state": entry.state,
                "restarts": entry.restarts,
                "pid": None if entry.process is None else entry.process.pid,
                "url": next(iter(entry.role.urls.values()), None),
                "log": str(entry.role.log_path),
            }
            for entry in list(self.running)
        ]

    def _set_state(self, entry: _Running, state: str) -> None:
        entry.state = state
        self._notify()

    def _notify(self) -> None:
        if self.on_change is not None:
            self.on_change()

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
    #: L1 full nodes, peering with each other on ports ``rpc_port``, ``rpc_port + 1``, ...; the
    #: services talk to node 0, the light client samples from all of them.
    l1_nodes: int = 1
    #: How many of the nodes (node 0 first) run a miner.
    miners: int = 1
    explorer_port: int = DEFAULT_EXPLORER_PORT

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
    def l1_urls(self) -> list[str]:
        """Every L1 node's URL, node 0 (the one the services use) first."""
        return [f"http://127.0.0.1:{self.rpc_port + index}" for index in range(self.l1_nodes)]

    @property
    def explorer_url(self) -> str:
        return f"http://127.0.0.1:{self.explorer_port}"

    @property
    def ports(self) -> list[tuple[int, str]]:
        """Every port this devnet will listen on, with the flag that moves it."""
        ports = [(self.rpc_port, "--rpc-port")]
        ports += [
            (self.rpc_port + index, f"--rpc-port (L1 node {index} listens on rpc-port + {index})")
            for index in range(1, self.l1_nodes)
        ]
        ports += [
            (self.sequencer_port, "--sequencer-port"),
            (self.follower_port, "--follower-port"),
            (self.light_port, "--light-port"),
        ]
        if self.mode == "validity":
            ports.append((self.prover_port, "--prover-port"))
        else:
            ports.append((self.challenger_port, "--challenger-port"))
        if explorer_available():
            ports.append((self.explorer_port, "--explorer-port"))
        return ports


def l1_role_name(index: int) -> str:
    """``l1`` for node 0 (the name tools read from devnet.json), ``l1-N`` for the others."""
    return "l1" if index == 0 else f"l1-{index}"


def explorer_available() -> bool:
    """Whether ``python -m explorer`` can run: the package with a ``__main__`` in the project
    (where the children import from) or on this interpreter's path. The explorer is optional
    until it lands; once present it always starts."""
    spec = importlib.machinery.PathFinder.find_spec("explorer", [str(PROJECT_ROOT)])
    if spec is None:
        spec = importlib.util.find_spec("explorer")
    locations = [] if spec is None else list(spec.submodule_search_locations or [])
    return any((Path(location) / "__main__.py").is_file() for location in locations)


def build_l1_role(options: DevnetOptions, index: int = 0) -> Role:
    """L1 node ``index``: its own data dir (``l1`` for node 0, as a single-node devnet always
    had, so old data dirs resume) and port, every other node as a peer; the first
    ``options.miners`` nodes mine."""
    data_dir = options.data_dir.resolve()
    name = l1_role_name(index)
    urls = options.l1_urls
    command = [
        sys.executable,
        "-m",
        "l1",
        "node",
        "--data-dir",
        str(data_dir / name),
        "--rpc-port",
        str(options.rpc_port + index),
        "--spec",
        str(default_spec_path(options.preset)),
    ]
    for peer, url in enumerate(urls):
        if peer != index:
            command += ["--peer", url]
    if index < options.miners:
        command += [
            "--mine",
            "--mine-duty",
            repr(options.mine_duty),
            "--mine-interval",
            repr(options.mine_interval),
        ]
    return Role(
        name=name,
        command=command,
        health_url=urls[index] + "/healthz",
        log_path=data_dir / "logs" / f"{name}.log",
        urls={"rpc": urls[index]},
    )


def build_l1_roles(options: DevnetOptions) -> list[Role]:
    return [build_l1_role(options, index) for index in range(options.l1_nodes)]


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
        *(part for url in options.l1_urls for part in ("--peer", url)),
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


def build_explorer_role(options: DevnetOptions) -> Role:
    """The explorer (``python -m explorer``): one page over every other role's API."""
    data_dir = options.data_dir.resolve()
    command = [
        sys.executable,
        "-m",
        "explorer",
        "--port",
        str(options.explorer_port),
        "--host",
        "127.0.0.1",
        "--l1",
        options.l1_url,
        "--sequencer",
        options.sequencer_url,
        "--follower",
        options.follower_url,
        "--light",
        options.light_url,
    ]
    if options.mode == "validity":
        command += ["--prover", options.prover_url]
    else:
        command += ["--challenger", options.challenger_url]
    return Role(
        name="explorer",
        command=command,
        health_url=options.explorer_url + "/healthz",
        log_path=data_dir / "logs" / "explorer.log",
        urls={"url": options.explorer_url},
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
    states: dict[str, dict[str, Any]] | None = None,
    state: str = "up",
) -> dict[str, Any]:
    """devnet.json: what other tools need to talk to this devnet. ``state`` (``up`` or
    ``stopped``) and each role's health URL, state and restarts are what ``rollcourt devnet
    status`` reads from another process."""
    return {
        "version": 1,
        "supervisor_pid": os.getpid(),
        "state": state,
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_dir": str(options.data_dir.resolve()),
        "mode": options.mode,
        "chain": chain,
        "roles": {
            role.name: {
                **role.urls,
                "pid": pids.get(role.name),
                "log": str(role.log_path),
                "health": role.health_url,
                **(states or {}).get(role.name, {}),
            }
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
    # Opened without truncating: the holder's pid in it is how `devnet status` and `devnet down`
    # find the supervisor, so a refused second start must not erase it.
    handle: IO[str] = (data_dir / "devnet.lock").open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise DevnetError(
                f"another `rollcourt devnet up` is already using {data_dir}"
            ) from None
        handle.seek(0)
        handle.truncate()
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


def format_status(
    summary: TipSummary | None,
    supervisor: Supervisor,
    l2: dict[str, Any] | None = None,
    follower: dict[str, Any] | None = None,
    disputes: dict[str, Any] | None = None,
    prover: dict[str, Any] | None = None,
    node_tips: list[int | None] | None = None,
) -> str:
    """The one-line status printed every few seconds when stdout is not a terminal (logs,
    tests); ``node_tips`` (every L1 node's tip, node 0 first) shows convergence when there are
    several nodes."""
    restarts = sum(supervisor.restarts(entry.role.name) for entry in supervisor.running)
    suffix = f"  restarts {restarts}" if restarts else ""
    if summary is None:
        return f"l1: not answering{suffix}"
    epoch = summary.epoch
    line = (
        f"l1 tip {summary.number}  epoch {epoch.number} ({epoch.index}/{epoch.length})  "
        f"difficulty {summary.difficulty}  pool {summary.pool_pending}"
    )
    if node_tips is not None and len(node_tips) > 1:
        line += "  nodes " + " ".join("-" if tip is None else str(tip) for tip in node_tips)
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


# ---------------------------------------------------------------------- status, down, detach
def _pid_alive(pid: Any) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not reaped by its parent, does not)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def find_supervisor(data_dir: Path) -> int | None:
    """The pid of the ``devnet up`` holding ``data_dir``'s lock, or None if none does. The lock
    (not devnet.json) is the truth: it is held from the first moment of a start, and the
    kernel releases it the instant the supervisor exits, however it exits."""
    path = data_dir / "devnet.lock"
    try:
        handle = path.open("r")
    except FileNotFoundError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            text = handle.read().strip()
            if text.isdigit():
                return int(text)
            recorded = _read_devnet_file(data_dir).get("supervisor_pid")
            return recorded if isinstance(recorded, int) else -1
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


def _read_devnet_file(data_dir: Path) -> dict[str, Any]:
    try:
        content = json.loads(devnet_file_path(data_dir).read_text())
    except (OSError, ValueError):
        return {}
    return content if isinstance(content, dict) else {}


def _require_supervisor(data_dir: Path, action: str) -> int:
    pid = find_supervisor(data_dir)
    if pid is not None:
        return pid
    if devnet_file_path(data_dir).exists():
        raise DevnetError(
            f"no devnet is running in {data_dir} ({action}); start it with "
            f"`rollcourt devnet up --data-dir {data_dir}`"
        )
    raise DevnetError(
        f"no devnet in {data_dir} (no {DEVNET_FILE_NAME} there); start one with "
        f"`rollcourt devnet up --data-dir {data_dir}`"
    )


def probe_roles(content: dict[str, Any], timeout: float = 2.0) -> list[dict[str, Any]]:
    """Each role of a devnet run by another process: up when its health URL answers 200,
    else restarting (as the supervisor recorded), unhealthy (alive) or down."""
    states = []
    with httpx.Client(timeout=timeout) as http:
        for name, role in (content.get("roles") or {}).items():
            if not isinstance(role, dict):
                continue
            health = role.get("health")
            healthy = False
            if isinstance(health, str):
                with contextlib.suppress(httpx.HTTPError):
                    healthy = http.get(health).status_code == 200
            pid = role.get("pid")
            if healthy:
                state = "up"
            elif role.get("state") == "restarting":
                state = "restarting"
            else:
                state = "unhealthy" if _pid_alive(pid) else "down"
            states.append(
                {
                    "name": name,
                    "state": state,
                    "restarts": role.get("restarts", 0),
                    "pid": pid,
                    "url": role.get("rpc") or role.get("url"),
                    "log": role.get("log"),
                }
            )
    return states


def get_devnet_status(data_dir: Path) -> dict[str, Any]:
    """``rollcourt devnet status``: the panel's content for the devnet running in
    ``data_dir``, or ``{"state": "starting", ...}`` while its supervisor is still starting it;
    ``DevnetError`` when none runs there."""
    pid = _require_supervisor(data_dir, "nothing to show")
    content = _read_devnet_file(data_dir)
    if content.get("supervisor_pid") != pid or content.get("state", "up") != "up":
        return {
            "state": "starting",
            "supervisor_pid": pid,
            "data_dir": str(data_dir.resolve()),
            "log": str(data_dir.resolve() / "logs" / DETACHED_LOG_NAME),
        }
    return {"state": "up", **collect_status(content, probe_roles(content))}


def stop_devnet(
    data_dir: Path, timeout: float, warn: Callable[[str], None]
) -> tuple[int, list[int]]:
    """``rollcourt devnet down``: SIGTERM the supervisor (it stops every role in order, as on
    Ctrl-C) and wait; after ``timeout`` seconds SIGKILL its process group and each role's.
    Returns the supervisor's pid and the role pids that were recorded."""
    pid = _require_supervisor(data_dir, "nothing to stop")
    content = _read_devnet_file(data_dir)
    role_pids = [
        role["pid"]
        for role in (content.get("roles") or {}).values()
        if isinstance(role, dict) and isinstance(role.get("pid"), int)
    ]
    if pid > 0:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    if _wait_released(data_dir, timeout):
        return pid, role_pids
    warn(
        f"the devnet supervisor (pid {pid}) did not stop within {timeout:g} s; killing it and "
        "its roles"
    )
    for group in ([pid] if pid > 0 else []) + role_pids:
        if _pid_alive(group):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
    if not _wait_released(data_dir, 10.0):
        raise DevnetError(f"the devnet supervisor (pid {pid}) is still running after SIGKILL")
    return pid, role_pids


def _wait_released(data_dir: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while find_supervisor(data_dir) is not None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


DETACHED_LOG_NAME = "devnet.log"
#: How long ``up --detach`` waits for the devnet (a validity devnet's first start runs the
#: circuit's setup, up to the prover's own 900 s startup timeout).
DETACH_TIMEOUT = 1200.0


def devnet_up_arguments(options: DevnetOptions) -> list[str]:
    """The ``rollcourt devnet up`` arguments that run ``options`` again (``--detach`` runs the
    supervisor as ``python -m rollcourt devnet up`` with these)."""
    arguments = [
        "--data-dir", str(options.data_dir.resolve()),
        "--rpc-port", str(options.rpc_port),
        "--preset", options.preset,
        "--mode", options.mode,
        "--mine-duty", repr(options.mine_duty),
        "--mine-interval", repr(options.mine_interval),
        "--sequencer-port", str(options.sequencer_port),
        "--follower-port", str(options.follower_port),
        "--light-port", str(options.light_port),
        "--challenger-port", str(options.challenger_port),
        "--prover-port", str(options.prover_port),
        "--explorer-port", str(options.explorer_port),
        "--challenge-window", str(options.challenge_window),
        "--l1-nodes", str(options.l1_nodes),
        "--miners", str(options.miners),
    ]  # fmt: skip
    if options.fault is not None:
        arguments += ["--fault", options.fault]
    if options.challenger_fault is not None:
        arguments += ["--challenger-fault", options.challenger_fault]
    return arguments


def start_detached(
    options: DevnetOptions, progress: Callable[[str], None], timeout: float = DETACH_TIMEOUT
) -> dict[str, Any]:
    """``rollcourt devnet up --detach``: run the supervisor in a new session (it outlives this
    command and the terminal), its output in ``<data-dir>/logs/devnet.log``, and wait until
    its devnet.json says it is up. Returns that devnet.json."""
    data_dir = options.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    if find_supervisor(data_dir) is not None:
        raise DevnetError(f"another `rollcourt devnet up` is already using {data_dir}")
    check_can_start(options)
    log_path = data_dir.resolve() / "logs" / DETACHED_LOG_NAME
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "rollcourt", "devnet", "up", *devnet_up_arguments(options)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if part
    )
    with log_path.open("ab") as log:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        log.write(f"\n=== {stamp} rollcourt devnet up --detach: {' '.join(command)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    progress(
        f"starting the devnet in the background (supervisor pid {process.pid}, log {log_path})"
    )
    deadline = time.monotonic() + timeout
    while True:
        code = process.poll()
        if code is not None:
            raise DevnetError(_describe_detached_failure(code, log_path))
        content = _read_devnet_file(data_dir)
        if content.get("supervisor_pid") == process.pid and content.get("state") == "up":
            return content
        if time.monotonic() > deadline:
            raise DevnetError(
                f"the devnet is not up after {timeout:g} s; it keeps starting in the background "
                f"(pid {process.pid}, log {log_path}): see `rollcourt devnet status`, or stop "
                "it with `rollcourt devnet down`"
            )
        time.sleep(0.2)


def _describe_detached_failure(code: int, log_path: Path) -> str:
    """The supervisor's own ``error:`` line when it printed one, else the log's tail."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    errors = [line for line in lines if line.startswith("error: ")]
    if errors:
        return f"the devnet did not start: {errors[-1].removeprefix('error: ')} (log: {log_path})"
    return f"the devnet did not start (exit code {code}); last log lines:\n" + "\n".join(
        "  " + line for line in lines[-15:]
    )


def print_urls(console: Console, content: dict[str, Any], data_dir: Path) -> None:
    """What a detached ``up`` prints once the devnet is up: every role's URLs and log."""
    chain = content.get("chain") or {}
    resumed = chain.get("resumed")
    console.print(
        f"[bold green]rollcourt devnet is up[/] in the background (supervisor pid "
        f"{content.get('supervisor_pid')}): {content.get('mode')} rollup, preset "
        f"{chain.get('preset')}, "
        + (f"resumed at block {chain.get('tip_at_start')}" if resumed else "new chain"),
        highlight=False,
    )
    for name, role in (content.get("roles") or {}).items():
        urls = "  ".join(
            f"{key} {value}" for key, value in role.items() if key in ("rpc", "url", "rollup_id")
        )
        console.print(f"  {name:<12} {urls}   log {role.get('log')}", markup=False)
    console.print(f"  {'devnet.json':<12} {devnet_file_path(data_dir.resolve())}", markup=False)
    explorer = get_role_url(content, "explorer")
    if explorer is not None:
        console.print(f"open {explorer} in a browser", markup=False, highlight=False)
    console.print(
        f"status: rollcourt devnet status --data-dir {data_dir}   "
        f"stop: rollcourt devnet down --data-dir {data_dir}",
        markup=False,
        highlight=False,
    )


# ---------------------------------------------------------------------- devnet up
class _StatusDisplay:
    """The live panel on a terminal, redrawn each second; an occasional plain one-line status
    when output is a file (logs, tests, ``--detach``), which a panel would flood."""

    PLAIN_INTERVAL = 10.0

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live: Live | None = None
        self.last_plain = 0.0

    @property
    def is_live(self) -> bool:
        return self.live is not None

    def __enter__(self) -> _StatusDisplay:
        if self.console.is_terminal:
            self.live = Live(
                Text("starting..."), console=self.console, auto_refresh=False, transient=True
            )
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)

    def show(self, panel: RenderableType) -> None:
        if self.live is not None:
            self.live.update(panel, refresh=True)

    def update(self, line: str) -> None:
        if self.live is not None:
            self.live.update(Text(line, style="cyan"), refresh=True)
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
    explorer = next((role for role in roles if role.name == "explorer"), None)
    if explorer is not None:
        console.print(
            f"[bold]open {explorer.urls['url']} in a browser[/] (the explorer)", highlight=False
        )
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


def check_can_start(options: DevnetOptions) -> None:
    """Refuse a start that cannot work before any process runs: a data dir holding another
    preset or mode, or a port already taken."""
    data_dir = options.data_dir
    devnet_file = devnet_file_path(data_dir)
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
    for port, flag in options.ports:
        if not is_port_free(port):
            raise DevnetError(
                f"port {port} on 127.0.0.1 is already in use; choose another with {flag}"
            )


def run_devnet(options: DevnetOptions, console: Console) -> None:
    """Bring the devnet up and supervise it until SIGINT/SIGTERM; raises ``DevnetError``."""
    data_dir = options.data_dir
    devnet_file = devnet_file_path(data_dir)
    with exclusive_data_dir(data_dir):
        check_can_start(options)
        validity = options.mode == "validity"
        roles = build_l1_roles(options)
        if validity:
            roles.append(build_prover_role(options))
        roles += [build_sequencer_role(options), build_light_role(options)]
        stop_event = threading.Event()

        def report(message: str) -> None:
            console.print(f"[yellow]devnet:[/] {escape(message)}", highlight=False)

        supervisor = Supervisor(roles, stop_event=stop_event, report=report)
        written: dict[str, Any] = {}
        with stop_on_signals(stop_event, supervisor.force_event):
            try:
                checker = (
                    f"the prover on {options.prover_url} (its first start runs the circuit's "
                    "devnet setup, about a minute)"
                    if validity
                    else f"the challenger on {options.challenger_url}"
                )
                nodes = (
                    f"the L1 node on {options.l1_url}"
                    if options.l1_nodes == 1
                    else f"{options.l1_nodes} L1 nodes on {', '.join(options.l1_urls)}"
                )
                console.print(
                    f"starting {nodes}, {checker}, the sequencer on "
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
                later = [build_follower_role(options, rollup_id)]
                if not validity:
                    later.append(build_challenger_role(options, rollup_id))
                if explorer_available():
                    later.append(build_explorer_role(options))
                for role in later:
                    roles.append(role)
                    if not supervisor.add(role):
                        return
                chain, system_scripts = _describe_chain(options.l1_url, options.preset)
                chain["resumed"] = resumed

                def write_devnet_file(state: str = "up") -> None:
                    pids = {role.name: supervisor.pid(role.name) for role in roles}
                    states = {
                        entry["name"]: {"state": entry["state"], "restarts": entry["restarts"]}
                        for entry in supervisor.role_states()
                    }
                    content = build_devnet_file(
                        options, roles, pids, chain, system_scripts, states, state
                    )
                    write_json_atomically(devnet_file, content)
                    written["content"] = content

                write_devnet_file()
                supervisor.on_change = write_devnet_file
                _print_banner(console, options, roles, chain)
                with _StatusDisplay(console) as display:
                    _supervise(supervisor, display, written, stop_event)
            finally:
                if stop_event.is_set():
                    console.print("stopping the devnet...", markup=False)
                supervisor.on_change = None
                supervisor.stop()
                if written:
                    write_devnet_file("stopped")
        console.print(
            f"devnet stopped; its data stays in {data_dir.resolve()} (run again to resume)",
            markup=False,
            highlight=False,
        )


def _supervise(
    supervisor: Supervisor,
    display: _StatusDisplay,
    written: dict[str, Any],
    stop_event: threading.Event,
) -> None:
    """Restart dead roles until a stop is asked (or a role gives up: ``DevnetError``), while a
    second thread keeps the status current: a role being restarted blocks this loop for as long
    as it takes to become healthy, and the panel should show that meanwhile."""
    done = threading.Event()

    def show() -> None:
        while True:
            try:
                probe = probe_devnet(written["content"])
                if display.is_live:
                    display.show(
                        render_status(
                            collect_status(written["content"], supervisor.role_states(), probe)
                        )
                    )
                else:
                    display.update(
                        format_status(
                            probe.summary,
                            supervisor,
                            probe.sequencer,
                            probe.follower,
                            probe.disputes,
                            probe.prover,
                            node_tips=probe.node_tips,
                        )
                    )
            except Exception as exc:  # a display bug must not end supervision, nor print a trace
                display.update(f"status unavailable: {type(exc).__name__}: {exc}")
            if done.wait(1.0):
                return

    thread = threading.Thread(target=show, name="devnet-status", daemon=True)
    thread.start()
    try:
        while not stop_event.wait(1.0):
            supervisor.check()
    finally:
        done.set()
        thread.join(timeout=10.0)
