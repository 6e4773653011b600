"""The explorer as a process, a stack to point it at, and headless Chromium to read its page."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx

from tests.sequencer.procs import L1TestNode, sequencer_proc
from tests.support.procs import Proc, free_port

CHAIN_ID = 7
PROPOSER = "devnet:7"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--mute-audio",
)


def explorer_proc(data_dir: Path, l1_url: str, **roles: str | None) -> Proc:
    """``python -m explorer`` on a free port; ``roles`` maps role -> URL (None: left out)."""
    port = free_port()
    args = [sys.executable, "-m", "explorer", "--l1", l1_url, "--port", str(port)]
    for role, url in roles.items():
        if url is not None:
            args += [f"--{role.replace('_', '-')}", url]
    args += ["--log-level", "warning"]
    return Proc(args, data_dir / "explorer.log", f"http://127.0.0.1:{port}")


def sequencer_for(
    node: L1TestNode,
    data_dir: Path,
    *,
    fault: str | None = None,
    challenge_window: int = 16,
    game_clock: int = 8,
) -> Proc:
    """A sequencer on ``node`` with the revert tests' settings (short windows, fast polls)."""
    env = {
        "ROLLCOURT_SEQ_L1_URL": node.proc.url,
        "ROLLCOURT_SEQ_PROPOSER_KEY": PROPOSER,
        "ROLLCOURT_SEQ_PRESET": "test",
        "ROLLCOURT_SEQ_CHAIN_ID": str(CHAIN_ID),
        "ROLLCOURT_SEQ_CHALLENGE_WINDOW": str(challenge_window),
        "ROLLCOURT_SEQ_GAME_CLOCK": str(game_clock),
        "ROLLCOURT_SEQ_FORCED_INCLUSION_WINDOW": "50",
        "ROLLCOURT_SEQ_ESCAPE_TIMEOUT": "500",
        "ROLLCOURT_SEQ_SAFE_CONFIRMATIONS": "1",
        "ROLLCOURT_SEQ_DEPOSIT_CONFIRMATIONS": "1",
        "ROLLCOURT_SEQ_L1_POLL_INTERVAL": "0.2",
        "ROLLCOURT_SEQ_BATCH_INTERVAL": "0.5",
    }
    extra = ("--fault", fault) if fault is not None else ()
    return sequencer_proc(data_dir, env=env, extra=extra)


def challenger_proc(data_dir: Path, l1_url: str, rollup_id: bytes, key: str = "devnet:3") -> Proc:
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "challenger",
        "--l1",
        l1_url,
        "--key",
        key,
        "--rollup-id",
        rollup_id.hex(),
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
        "--poll-interval",
        "0.2",
        "--log-level",
        "info",
    ]
    return Proc(args, data_dir.parent / "challenger.log", f"http://127.0.0.1:{port}")


def get(url: str, path: str = "") -> Any:
    response = httpx.get(url + path, timeout=10)
    response.raise_for_status()
    return response.json()


# ----------------------------------------------------------------------------- the browser
def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def run_chromium(
    url: str, profile: Path, *extra: str, budget_ms: int = 5000, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    """Chromium headless on ``url`` with its own profile dir; the page's JS runs for
    ``budget_ms`` of virtual time (fetches complete, timers fire) before the output."""
    chromium = find_chromium()
    assert chromium is not None, "chromium is not installed: run `make browser`"
    profile.mkdir(parents=True, exist_ok=True)
    args = [
        chromium,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        f"--virtual-time-budget={budget_ms}",
        *extra,
        url,
    ]
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)


def dump_dom(url: str, profile: Path) -> str:
    """The DOM after the page's JS ran (``--dump-dom``)."""
    return run_chromium(url, profile, "--dump-dom").stdout


def screenshot(url: str, profile: Path, path: Path) -> None:
    run_chromium(url, profile, f"--screenshot={path}", "--window-size=1400,1000")


@dataclass(frozen=True)
class Element:
    tag: str
    attrs: dict[str, str]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}))


def parse_elements(html: str) -> list[Element]:
    collector = _Collector()
    collector.feed(html)
    return collector.elements


def select(html: str, tag: str | None = None, **attrs: str) -> list[Element]:
    """Elements of ``tag`` whose attributes include ``attrs`` (``data_batch`` means
    ``data-batch``; the value ``"*"`` only requires the attribute)."""
    wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
    return [
        e
        for e in parse_elements(html)
        if (tag is None or e.tag == tag)
        and all(k in e.attrs and (v == "*" or e.attrs[k] == v) for k, v in wanted.items())
    ]
