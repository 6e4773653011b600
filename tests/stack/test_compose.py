"""``docker-compose.yml`` and the ``Dockerfile``, proved right without a Docker engine (none runs
on the development machine: ``docker`` there is only a client).

1. Structure (fast): the YAML parsed with PyYAML -- every service, the package it runs, its
   healthcheck, ports, volumes, ``depends_on`` targets and order, the one image built from the
   Dockerfile, distinct host ports, the ``validity`` profile; each command parsed by the role's
   own command-line parser and each environment built into the role's own settings class; the
   Dockerfile read as text (base image, ``pip install .[prover]``, ``npm ci`` in prover/,
   ``CMD``, no ``ENTRYPOINT``, every served port exposed).
2. Smoke (``slow``, ``e2e``): every service of the default profile started as a local process
   from the compose file's own ``command`` and ``environment`` -- service host names mapped to
   127.0.0.1, container ports to free local ports, volumes to tmp dirs, ``python`` to this
   interpreter -- in ``depends_on`` order, each waited for with its own healthcheck command; then
   an L1 deposit, an L2 transfer, its batch safe on L1, the follower at the sequencer's root, the
   three L1 nodes on one tip, the light client on their chain, and the explorer's /healthz (when
   its package exists). No timing is overridden: the devnet spec's own blocks (~1.5 s).
"""

from __future__ import annotations

import graphlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
import yaml

from tests.support.procs import ROOT, Proc, free_port, wait_until

COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
#: Where every role's named volume is mounted in its container.
DATA = "/data"
#: A stand-in for the rollup id the follower and challenger read from the sequencer at start.
SOME_ROLLUP_ID = "11" * 32

#: Service -> (package run by ``python -m``, container port it serves on, needs a volume).
ROLES: dict[str, tuple[str, int, bool]] = {
    "l1-a": ("l1", 8114, True),
    "l1-b": ("l1", 8114, True),
    "l1-c": ("l1", 8114, True),
    "light": ("l1", 8124, True),
    "sequencer": ("sequencer", 8200, True),
    "follower": ("sequencer", 8201, True),
    "challenger": ("challenger", 8300, True),
    "explorer": ("explorer", 8500, False),
    "prover": ("prover", 8400, True),
    "sequencer-validity": ("sequencer", 8200, True),
}
VALIDITY_PROFILE = {"prover", "sequencer-validity"}
#: Packages a colleague is still writing: accepted if absent, skipped by the smoke test then.
PENDING_PACKAGES = {"explorer"}
#: Each service's environment prefix: every role is configured through ROLLCOURT_* variables.
ENV_PREFIXES = {
    "l1-a": "ROLLCOURT_L1_",
    "l1-b": "ROLLCOURT_L1_",
    "l1-c": "ROLLCOURT_L1_",
    "light": "ROLLCOURT_LIGHT_",
    "sequencer": "ROLLCOURT_SEQ_",
    "follower": "ROLLCOURT_FOLLOWER_",
    "challenger": "ROLLCOURT_CHALLENGER_",
    "explorer": "ROLLCOURT_EXPLORER_",
    "prover": "ROLLCOURT_PROVER_",
    "sequencer-validity": "ROLLCOURT_SEQ_",
}
#: The variable a ``sh -c`` wrapper sets from the sequencer's /v1/status before exec'ing.
DISCOVERED = {
    "follower": "ROLLCOURT_FOLLOWER_ROLLUP_ID",
    "challenger": "ROLLCOURT_CHALLENGER_ROLLUP_ID",
}


# ----------------------------------------------------------------------------- reading
def load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


def services(profile: str | None = "all") -> dict[str, dict[str, Any]]:
    """The services; ``profile=None``: the default profile's only (what ``up`` starts)."""
    every: dict[str, dict[str, Any]] = load_compose()["services"]
    if profile == "all":
        return every
    return {
        name: svc
        for name, svc in every.items()
        if (profile is None and not svc.get("profiles")) or profile in svc.get("profiles", [])
    }


def unescape(text: str) -> str:
    """Compose interpolation: ``$$`` is a literal ``$`` (the file uses no ``${VAR}``)."""
    assert not re.search(r"\$(?!\$)\{", text.replace("$$", "")), text
    return text.replace("$$", "$")


def role_argv(svc: dict[str, Any]) -> list[str]:
    """The role's own command line: the command, or what its ``sh -c`` wrapper execs."""
    command = svc["command"]
    assert isinstance(command, list) and all(isinstance(part, str) for part in command)
    if command[:2] != ["sh", "-c"]:
        return list(command)
    assert len(command) == 3, command
    script = unescape(command[2])
    assert script.count("exec ") == 1, script
    return shlex.split(script.split("exec ", 1)[1])


def package_of(svc: dict[str, Any]) -> str:
    argv = role_argv(svc)
    assert argv[:2] == ["python", "-m"], argv
    return argv[2]


def has_package(package: str) -> bool:
    return (ROOT / package / "__main__.py").exists()


def environment(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment", {})
    assert isinstance(env, dict), "environment as a mapping"
    return {key: unescape(str(value)) for key, value in env.items()}


def host_port(svc: dict[str, Any]) -> tuple[int, int]:
    [mapping] = svc["ports"]
    host, container = str(mapping).split(":")
    return int(host), int(container)


def depends_on(svc: dict[str, Any]) -> dict[str, Any]:
    deps = svc.get("depends_on", {})
    assert isinstance(deps, dict), "depends_on in the long form (with a condition)"
    return deps


def healthcheck_argv(svc: dict[str, Any]) -> list[str]:
    test = svc["healthcheck"]["test"]
    assert test[0] == "CMD", test
    return list(test[1:])


def duration(text: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|m)", text)
    assert match, text
    return int(match[1]) * {"ms": 0.001, "s": 1.0, "m": 60.0}[match[2]]


def click_command(package: str, argv: list[str]) -> tuple[Any, list[str]]:
    """The role's click command (Typer's, which vendors click) and the arguments it parses."""
    if package == "l1":
        from l1.__main__ import app

        group: Any = typer.main.get_command(app)
        return group.commands[argv[0]], argv[1:]
    module = __import__(f"{package}.__main__", fromlist=["cli"])
    return typer.main.get_command(module.cli), argv


# ----------------------------------------------------------------------------- structure
def test_services_profiles_and_packages() -> None:
    every = services()
    assert set(every) == set(ROLES)
    assert set(services("validity")) == VALIDITY_PROFILE
    assert set(services(None)) == set(ROLES) - VALIDITY_PROFILE
    for name, svc in every.items():
        package = package_of(svc)
        assert package == ROLES[name][0], name
        assert has_package(package) or package in PENDING_PACKAGES, (name, package)
    # the prover is validity-only; so is the sequencer that needs it
    assert every["prover"]["profiles"] == ["validity"]
    validity_env = environment(every["sequencer-validity"])
    assert validity_env["ROLLCOURT_SEQ_PRESET"] == "validity-devnet"
    assert validity_env["ROLLCOURT_SEQ_PROVER_URL"] == "http://prover:8400"
    assert environment(every["prover"])["ROLLCOURT_PROVER_PRESET"] == "devnet"
    # three L1 nodes on the devnet spec, each peering with the two others; at least one mines
    nodes = [name for name in every if name.startswith("l1-")]
    assert len(nodes) == 3
    for name in nodes:
        env = environment(every[name])
        peers = set(env["ROLLCOURT_L1_PEERS"].replace(",", " ").split())
        assert peers == {f"http://{other}:8114" for other in nodes if other != name}
        assert env["ROLLCOURT_L1_PUBLIC_URL"] == f"http://{name}:8114"
        assert env["ROLLCOURT_L1_SPEC"] == "l1/specs/devnet.json"
    assert any(environment(every[name]).get("ROLLCOURT_L1_MINE") == "true" for name in nodes)
    assert environment(every["light"])["ROLLCOURT_LIGHT_SPEC"] == "l1/specs/devnet.json"


def test_one_image_built_from_the_dockerfile() -> None:
    for name, svc in services().items():
        assert svc["build"] == {"context": ".", "dockerfile": "Dockerfile"}, name
        assert svc["image"] == "rollcourt:local", name
        assert "entrypoint" not in svc, name
        assert svc["restart"] == "unless-stopped", name
    assert (ROOT / "Dockerfile").is_file()


def test_commands_parse_with_each_roles_own_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every flag exists and every value converts: click parses the command line (no run),
    with the service's environment (options may read it)."""
    for key in list(os.environ):
        if key.startswith("ROLLCOURT_"):
            monkeypatch.delenv(key)
    for name, svc in services().items():
        package = package_of(svc)
        if not has_package(package):
            continue
        args = [arg.replace("$ROLLUP_ID", SOME_ROLLUP_ID) for arg in role_argv(svc)[3:]]
        command, rest = click_command(package, args)
        with monkeypatch.context() as scoped:
            for key, value in environment(svc).items():
                scoped.setenv(key, value)
            with command.make_context(name, rest):
                pass


def test_environments_build_each_roles_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every variable has the role's ``ROLLCOURT_*`` prefix, is one the role reads, and the
    role's own settings (pydantic settings, Typer options or the follower's reader) accept it:
    bound to 0.0.0.0 on its container port with its data under /data."""
    from challenger.config import ChallengerConfig
    from prover.config import ProverConfig
    from sequencer.config import SequencerConfig

    settings: dict[str, Any] = {
        "sequencer": SequencerConfig,
        "sequencer-validity": SequencerConfig,
        "challenger": ChallengerConfig,
        "prover": ProverConfig,
    }
    for key in list(os.environ):
        if key.startswith("ROLLCOURT_"):
            monkeypatch.delenv(key)
    for name, svc in services().items():
        package, env, prefix = package_of(svc), environment(svc), ENV_PREFIXES[name]
        assert env and all(key.startswith(prefix) for key in env), name
        if name in DISCOVERED:  # set by the wrapper from the sequencer's /v1/status
            assert f"export {DISCOVERED[name]} &&" in svc["command"][2], name
            env = {**env, DISCOVERED[name]: SOME_ROLLUP_ID}
        if not has_package(package):
            continue
        with monkeypatch.context() as scoped:
            for key, value in env.items():
                scoped.setenv(key, value)
            values = _settings_of(name, svc, settings.get(name), set(env))
        assert str(values["host"]) == "0.0.0.0", name
        assert int(values["port"]) == ROLES[name][1], name
        assert str(values.get("data_dir", DATA)) == DATA, name


def _settings_of(name: str, svc: dict[str, Any], cls: Any, keys: set[str]) -> dict[str, Any]:
    """The role's settings from the current environment, as the role itself reads them."""
    from sequencer.__main__ import FOLLOWER_ENV, follower_options

    if cls is not None:  # pydantic settings: every variable is a field
        prefix = ENV_PREFIXES[name]
        assert {key.removeprefix(prefix).lower() for key in keys} <= set(cls.model_fields), name
        return dict(cls().model_dump())
    if name == "follower":  # shares the sequencer's flags, reads its own variables itself
        assert keys <= set(FOLLOWER_ENV.values()), name
        return follower_options()
    command, rest = click_command(package_of(svc), role_argv(svc)[3:])
    envvars: set[str] = set()
    for param in command.params:  # a str, a list of str, or None
        envvars.update([param.envvar] if isinstance(param.envvar, str) else param.envvar or [])
    assert keys <= envvars, (name, keys - envvars)
    with command.make_context(name, rest) as ctx:
        params = dict(ctx.params)
    if "rpc_port" in params:
        params["port"] = params["rpc_port"]
    return params


def test_ports_distinct_and_bound_to_what_the_role_serves() -> None:
    host_ports: list[int] = []
    for name, svc in services().items():
        host, container = host_port(svc)
        assert container == ROLES[name][1], name
        host_ports.append(host)
        argv, env = role_argv(svc), environment(svc)
        flags = " ".join(argv)
        served = re.findall(r"--(?:rpc-)?port[= ](\d+)", flags) + [
            value for key, value in env.items() if key.endswith("_PORT")
        ]
        assert served == [str(container)], (name, served)
        binds = re.findall(r"--host[= ](\S+)", flags) + [
            value for key, value in env.items() if key.endswith("_HOST")
        ]
        assert binds == ["0.0.0.0"], (name, binds)  # reachable from the other containers
    assert len(host_ports) == len(set(host_ports)), host_ports


def test_healthchecks_probe_healthz_without_curl() -> None:
    for name, svc in services().items():
        argv = healthcheck_argv(svc)
        assert argv[:2] == ["python", "-c"], name
        assert "urllib.request" in argv[2] and "curl" not in argv[2], name
        port = ROLES[name][1]
        assert f"'http://127.0.0.1:{port}/healthz'" in argv[2], name
        check = svc["healthcheck"]
        for key in ("interval", "timeout", "start_period"):
            duration(check[key])
        assert check["retries"] >= 3, name
    assert duration(services()["prover"]["healthcheck"]["start_period"]) >= 600  # the setup


def test_volumes_named_per_role() -> None:
    compose = load_compose()
    declared = set(compose["volumes"])
    used: list[str] = []
    for name, svc in services().items():
        volumes = svc.get("volumes", [])
        if not ROLES[name][2]:
            assert volumes == [], name
            continue
        [volume] = volumes
        source, target = volume.split(":")
        assert (source, target) == (f"{name}-data", DATA), name
        used.append(source)
        argv, env = role_argv(svc), environment(svc)
        data_dirs = [
            arg.split("=", 1)[1] if "=" in arg else argv[i + 1]
            for i, arg in enumerate(argv)
            if arg.split("=", 1)[0] == "--data-dir"
        ] + [value for key, value in env.items() if key.endswith("_DATA_DIR")]
        assert data_dirs == [DATA], (name, data_dirs)
    assert sorted(used) == sorted(declared)


def test_depends_on_healthy_targets_in_a_startable_order() -> None:
    every = services()
    graph: dict[str, set[str]] = {}
    for name, svc in every.items():
        deps = depends_on(svc)
        for target, spec in deps.items():
            assert target in every, (name, target)
            assert spec == {"condition": "service_healthy"}, (name, target)
            # a default-profile service never waits for a profile-only one
            if not svc.get("profiles"):
                assert not every[target].get("profiles"), (name, target)
        graph[name] = set(deps)
    order = list(graphlib.TopologicalSorter(graph).static_order())  # raises on a cycle
    # every service URL in a command or environment names a service it waits for (directly
    # or through another one), at that service's container port -- but the L1 nodes, which
    # peer with each other both ways (a node keeps retrying a peer that is not up yet)
    for name, svc in every.items():
        text = " ".join(role_argv(svc)) + " " + unescape(" ".join(svc["command"]))
        text += " " + " ".join(environment(svc).values())
        before = set(order[: order.index(name)])
        for host, port in re.findall(r"http://([a-z][a-z0-9-]*):(\d+)", text):
            assert host in every, (name, host)
            assert int(port) == ROLES[host][1], (name, host, port)
            if name.startswith("l1-") and host.startswith("l1-"):
                continue
            assert host == name or host in before, (name, host)
            if host != name:
                assert host in _closure(graph, name), (name, host)


def _closure(graph: dict[str, set[str]], name: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[name])
    while todo:
        item = todo.pop()
        if item not in seen:
            seen.add(item)
            todo.extend(graph[item])
    return seen


def test_dockerfile_consistent_with_the_compose_file() -> None:
    text = DOCKERFILE.read_text()
    lines = [line.strip() for line in text.replace("\\\n", " ").splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert instructions[0] == "FROM python:3.11-slim"
    runs = [line for line in instructions if line.startswith("RUN ")]
    assert any(re.search(r"""pip install ["']?\.\[prover\]["']?""", run) for run in runs), runs
    assert any("npm ci --prefix prover" in run for run in runs), runs
    assert any("apt-get install" in run and " nodejs " in f"{run} " for run in runs), runs
    assert "WORKDIR /app" in instructions
    assert "COPY prover/package.json prover/package-lock.json prover/" in instructions
    assert not any(line.startswith("ENTRYPOINT") for line in instructions)
    [cmd] = [line for line in instructions if line.startswith("CMD ")]
    import json

    argv = json.loads(cmd.removeprefix("CMD "))
    assert argv[:2] == ["python", "-m"] and has_package(argv[2]), argv
    # the compose commands name the interpreter the image puts on PATH
    for name, svc in services().items():
        assert role_argv(svc)[0] == "python", name
    [expose] = [line for line in instructions if line.startswith("EXPOSE ")]
    exposed = {int(port) for port in expose.split()[1:]}
    assert {host_port(svc)[1] for svc in services().values()} <= exposed
    # the extra the image installs exists; the context leaves local state out
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "prover" in project["optional-dependencies"]
    ignored = set(DOCKERIGNORE.read_text().split())
    assert {".venv", ".git", "prover/node_modules", "devnet-data"} <= ignored
    assert "README.md" not in ignored  # pyproject's readme: pip install needs it


# ----------------------------------------------------------------------------- smoke
class Localizer:
    """Turns one service's compose settings into a local process's: service host names and
    container ports to 127.0.0.1 and free ports, ``/data`` to a tmp dir, ``0.0.0.0`` to
    127.0.0.1, ``python`` to this interpreter."""

    def __init__(self, name: str, ports: dict[str, int], data_dir: Path) -> None:
        self.name, self.ports, self.data_dir = name, ports, data_dir
        self.own = ports[name]

    def text(self, value: str) -> str:
        value = unescape(value)

        def url(match: re.Match[str]) -> str:
            host = match[1]
            port = self.own if host in ("127.0.0.1", "localhost") else self.ports[host]
            return f"http://127.0.0.1:{port}"

        value = re.sub(r"http://([a-z0-9.-]+):\d+", url, value)
        value = re.sub(r"(--(?:rpc-)?port[= ])\d+", rf"\g<1>{self.own}", value)
        value = value.replace("0.0.0.0", "127.0.0.1")
        value = re.sub(rf"(?<![\w/.-]){DATA}(?![\w-])", str(self.data_dir), value)
        return re.sub(r"(?<![\w/.-])python(?= -)", shlex.quote(sys.executable), value)

    def argv(self, command: list[str]) -> list[str]:
        if command[:2] == ["sh", "-c"]:
            return ["sh", "-c", self.text(command[2])]
        return [sys.executable if part == "python" else self.text(part) for part in command]

    def env(self, env: dict[str, str]) -> dict[str, str]:
        return {
            key: str(self.own) if key.endswith("_PORT") else self.text(value)
            for key, value in env.items()
        }


def test_localizer_rewrites() -> None:
    ports = {"l1-a": 9001, "sequencer": 9002}
    local = Localizer("l1-a", ports, Path("/tmp/x"))
    assert local.argv(["python", "-m", "l1", "node", "--data-dir=/data", "--rpc-port=8114",
                       "--host=0.0.0.0", "--peer=http://sequencer:8200"]) == [
        sys.executable, "-m", "l1", "node", "--data-dir=/tmp/x", "--rpc-port=9001",
        "--host=127.0.0.1", "--peer=http://127.0.0.1:9002",
    ]  # fmt: skip
    script = local.argv(["sh", "-c", "X=$$(python -c 'p' http://sequencer:8200/v1) && "
                         "exec python -m a --port 8201 --data-dir /data/sub"])[2]  # fmt: skip
    assert script == (
        f"X=$({shlex.quote(sys.executable)} -c 'p' http://127.0.0.1:9002/v1) && "
        f"exec {shlex.quote(sys.executable)} -m a --port 9001 --data-dir /tmp/x/sub"
    )
    assert local.env({"ROLLCOURT_SEQ_PORT": "8200", "ROLLCOURT_SEQ_DATA_DIR": "/data"}) == {
        "ROLLCOURT_SEQ_PORT": "9001",
        "ROLLCOURT_SEQ_DATA_DIR": "/tmp/x",
    }
    assert local.text("urlopen('http://127.0.0.1:8114/healthz')") == (
        "urlopen('http://127.0.0.1:9001/healthz')"
    )


def _get(url: str) -> Any:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, (url, response.status_code, response.text)
    return response.json()


def _healthy(proc: Proc, check: list[str]) -> bool:
    assert proc.process is not None
    if proc.process.poll() is not None:
        raise RuntimeError(f"exited with {proc.process.returncode}:\n{proc.log_tail()}")
    done = subprocess.run(check, capture_output=True, timeout=10, cwd=ROOT)
    return done.returncode == 0


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The runner's own ROLLCOURT_* settings never reach the stack."""
    for key in list(os.environ):
        if key.startswith("ROLLCOURT_"):
            monkeypatch.delenv(key)
    yield


def start_services(
    chosen: dict[str, dict[str, Any]],
    tmp_path: Path,
    procs: list[Proc],
    timings: dict[str, float],
) -> dict[str, Proc]:
    """Start ``chosen`` services as local processes in ``depends_on`` order, each waited for
    with its own healthcheck command within its start period plus retries x interval."""
    t0 = time.monotonic()
    ports = {name: free_port() for name in services()}  # others: peers that are not up
    graph = {name: set(depends_on(svc)) for name, svc in chosen.items()}
    started: dict[str, Proc] = {}
    for name in graphlib.TopologicalSorter(graph).static_order():
        svc = chosen[name]
        if not has_package(package_of(svc)):
            assert package_of(svc) in PENDING_PACKAGES
            assert not any(name in deps for deps in graph.values())  # nothing waits for it
            continue
        data_dir = tmp_path / name
        data_dir.mkdir(exist_ok=True)  # a test may have seeded it, as a kept volume
        local = Localizer(name, ports, data_dir)
        proc = Proc(
            local.argv(svc["command"]),
            tmp_path / "logs" / f"{name}.log",
            f"http://127.0.0.1:{ports[name]}",
            local.env(environment(svc)),
        )
        procs.insert(0, proc.start())  # stopped in reverse order, the L1 nodes last
        started[name] = proc
        check = local.argv(healthcheck_argv(svc))
        health = svc["healthcheck"]
        timeout = duration(health["start_period"]) + health["retries"] * duration(
            health["interval"]
        )
        wait_until(lambda p=proc, c=check: _healthy(p, c), timeout, 0.5, f"{name} healthy")
        timings[f"{name} healthy"] = time.monotonic() - t0
    return started


@pytest.mark.slow
@pytest.mark.e2e
def test_default_profile_runs_locally_and_settles_a_transfer(
    tmp_path: Path, procs: list[Proc], clean_env: None
) -> None:
    from l1.client import L1Client
    from l1.devnet_keys import DEVNET_KEYS
    from l2.client.bridge import RollupL1
    from l2.client.sequencer import SequencerClient
    from l2.preset import SHANNONS_PER_CKB
    from l2.profile import OPTIMISTIC

    t0 = time.monotonic()
    timings: dict[str, float] = {}
    default = services(None)
    started = start_services(default, tmp_path, procs, timings)
    url = {name: proc.url for name, proc in started.items()}

    # The follower and challenger found the sequencer's rollup by themselves.
    status = _get(url["sequencer"] + "/v1/status")
    rollup_hex: str = status["rollup_id"]
    rollup_id = bytes.fromhex(rollup_hex.removeprefix("0x"))
    assert _get(url["follower"] + "/v1/status")["rollup_id"] == rollup_hex
    l1 = {name: L1Client(url[name]) for name in ("l1-a", "l1-b", "l1-c")}
    bridge = RollupL1(l1["l1-a"])
    wait_until(lambda: bridge.find_rollup_cell(rollup_id), 120, 0.5, "the rollup cell")

    # Two L1 deposits (devnet keys 1 and 2, each to its own key's L2 account).
    ckb = SHANNONS_PER_CKB
    amounts = {1: 1_000 * ckb, 2: 500 * ckb}
    for key_index, amount in amounts.items():
        private = DEVNET_KEYS[key_index].private_key
        bridge.deposit(private, rollup_id, OPTIMISTIC.compute_public_key(private), amount)
    wait_until(
        lambda: _get(url["sequencer"] + "/v1/status")["deposits_credited"] == 2,
        180,
        0.5,
        "the deposits credited on L2",
    )
    timings["deposits credited"] = time.monotonic() - t0
    credited = _get(url["sequencer"] + "/v1/deposits")["deposits"]
    index_of = {d["amount"]: d["to_index"] for d in credited}
    sender, receiver = index_of[amounts[1]], index_of[amounts[2]]

    # An L2 transfer, soft at once, then safe once its batch is on L1.
    with SequencerClient(url["sequencer"]) as sdk:
        view = sdk.submit_transfer(DEVNET_KEYS[1].private_key, sender, receiver, 100 * ckb)
        assert view.status == "soft"
        safe = sdk.wait_for_status(view.hash, "safe", timeout=240, poll_interval=0.5)
        assert safe.status in ("safe", "final")
    timings["transfer safe"] = time.monotonic() - t0
    seq_status = _get(url["sequencer"] + "/v1/status")
    safe_root = seq_status["heads"]["safe"]["state_root"]
    batches = _get(url["sequencer"] + "/v1/batches")["batches"]
    assert batches and batches[-1]["new_root"] == safe_root

    # The follower derives the same root from L1 data alone (read from another node).
    def follower_agrees() -> dict[str, Any] | None:
        followed: dict[str, Any] = _get(url["follower"] + "/v1/status")
        return followed if followed["heads"]["safe"]["state_root"] == safe_root else None

    followed = wait_until(follower_agrees, 120, 0.5, "the follower at the sequencer's safe root")
    assert followed["derivation"]["findings"] == 0
    for index, expected in ((sender, 900 * ckb), (receiver, 600 * ckb)):
        assert _get(f"{url['follower']}/v1/accounts/{index}")["balance"] == expected
        assert _get(f"{url['sequencer']}/v1/accounts/{index}")["balance"] == expected
    timings["follower agrees"] = time.monotonic() - t0

    # The three L1 nodes on one tip (blocks keep coming: wait for a moment they agree).
    def one_tip() -> str | None:
        hashes = {client.call("get_tip_header")["hash"] for client in l1.values()}
        return hashes.pop() if len(hashes) == 1 else None

    tip = wait_until(one_tip, 60, 0.05, "the three L1 nodes on one tip")
    assert int(l1["l1-a"].call("get_header", tip)["number"], 16) > 0
    # ... peered as the file says (each knows the two others), mined by l1-a and l1-b
    for name, client in l1.items():
        peers = {peer["node_id"] for peer in client.call("get_peers") if peer["connected"]}
        assert peers == {url[other] for other in l1 if other != name}, (name, peers)
    for name in l1:
        metrics = httpx.get(url[name] + "/metrics", timeout=10).text
        mined = re.search(r'^rollcourt_l1_blocks_verified_total\{source="mined"\} (\S+)$',
                          metrics, re.M)  # fmt: skip
        mining = environment(default[name]).get("ROLLCOURT_L1_MINE") == "true"
        assert (mined is not None and float(mined[1]) > 0) == mining, name

    # The light client follows their chain; the challenger saw nothing to dispute.
    head = _get(url["light"] + "/v1/head")
    assert l1["l1-c"].call("get_block_hash", hex(head["number"])) == head["hash"]
    disputes = _get(url["challenger"] + "/v1/disputes")
    assert not disputes.get("games"), disputes
    if "explorer" in url:
        _get(url["explorer"] + "/healthz")
    for name, base in url.items():  # the OpenAPI docs the README links to, on every port
        assert httpx.get(base + "/docs", timeout=10).status_code == 200, name
        assert _get(base + "/openapi.json")["paths"], name
    for name, proc in started.items():
        assert proc.process is not None and proc.process.poll() is None, name
    timings["done"] = time.monotonic() - t0
    print("stack smoke timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))


@pytest.mark.slow
@pytest.mark.e2e
def test_validity_profile_starts_a_validity_rollup(
    tmp_path: Path, procs: list[Proc], clean_env: None
) -> None:
    """The ``validity`` profile's services and what they wait for (``l1-a``), from the file:
    the prover turns healthy on the ``devnet`` circuit, the validity sequencer registers the
    prover's verification key and deploys its rollup (proving itself is tested in tests/prover
    and tests/sequencer).

    The prover's volume is seeded with the ``devnet`` circuit's artifacts from the tests' shared
    cache (``tests.support.validity``; set up once, about two minutes here), as a volume kept from
    an earlier start would hold them -- the setup itself is tested in tests/prover."""
    from l1.client import L1Client
    from l2.client.bridge import RollupL1
    from prover.artifacts import run_setup
    from prover.presets import get_circuit_preset
    from tests.support.validity import get_test_prover_data_dir

    preset = environment(services()["prover"])["ROLLCOURT_PROVER_PRESET"]
    cached = run_setup(get_circuit_preset(preset).get_spec(), get_test_prover_data_dir())
    source = cached.artifacts.directory
    shutil.copytree(source, tmp_path / "prover" / source.parent.name / source.name)

    every = services()
    chosen = set(VALIDITY_PROFILE)
    for name in VALIDITY_PROFILE:
        chosen |= _closure({n: set(depends_on(svc)) for n, svc in every.items()}, name)
    assert chosen == VALIDITY_PROFILE | {"l1-a"}
    timings: dict[str, float] = {}
    started = start_services({n: every[n] for n in chosen}, tmp_path, procs, timings)
    status = _get(started["sequencer-validity"].url + "/v1/status")
    assert status["preset"] == "validity-devnet" and status["poster"] == "l1"
    assert _get(started["prover"].url + "/v1/health")
    rollup_id = bytes.fromhex(status["rollup_id"].removeprefix("0x"))
    bridge = RollupL1(L1Client(started["l1-a"].url))
    cell = wait_until(lambda: bridge.find_rollup_cell(rollup_id), 120, 0.5, "the rollup cell")
    assert cell.state.l2_preset == "validity-devnet"
    print("validity profile timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
