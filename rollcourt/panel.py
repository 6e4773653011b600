"""The devnet's status: what ``rollcourt devnet up`` shows live and ``devnet status`` once.

``probe_devnet`` asks every role of a running devnet (its devnet.json) for its state in parallel
-- each L1 node's tip, the sequencer's and the follower's heads and batches, the challenger's
games, the light client's sampling, the prover's queue -- ``collect_status`` turns the answers
into plain data (also ``devnet status --json``), and ``render_status`` draws the rich panel.  A
role that does not answer is shown as such; nothing here raises on a bad answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from rollcourt.errors import RollcourtError
from rollcourt.rpc import NodeClient, TipSummary, get_tip_summary


def get_l1_status(url: str) -> TipSummary | None:
    try:
        with NodeClient(url, timeout=2.0) as client:
            return get_tip_summary(client, with_pool=True)
    except RollcourtError:
        return None


#: Recent L1 blocks the DA line summarizes (the light client's ``/v1/blocks`` default).
DA_WINDOW = 20
#: Recent batches the batch line counts by status (the sequencer's page size).
BATCH_WINDOW = 50


def _get_json(http: httpx.Client, url: str) -> Any:
    """One GET's JSON body, or None: a role that does not answer is shown as such, never
    raised (the panel must keep drawing while a role restarts)."""
    try:
        response = http.get(url)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def get_role_url(content: dict[str, Any], name: str, key: str = "url") -> str | None:
    role = (content.get("roles") or {}).get(name)
    value = role.get(key) if isinstance(role, dict) else None
    return value if isinstance(value, str) else None


def _l1_role_names(content: dict[str, Any]) -> list[str]:
    """``l1``, ``l1-1``, ... in node order."""
    names = [
        name
        for name in content.get("roles") or {}
        if name == "l1" or (name.startswith("l1-") and name[3:].isdigit())
    ]
    return sorted(names, key=lambda name: 0 if name == "l1" else int(name[3:]))


@dataclass
class StatusProbe:
    """One round of answers from the devnet's roles (None where a role did not answer)."""

    summary: TipSummary | None
    #: Each L1 node: ``{"name", "url", "tip", "hash", "peers"}`` (tip None if not answering).
    nodes: list[dict[str, Any]]
    sequencer: dict[str, Any] | None = None
    batches: list[dict[str, Any]] | None = None
    follower: dict[str, Any] | None = None
    disputes: dict[str, Any] | None = None
    light: dict[str, Any] | None = None
    light_blocks: list[dict[str, Any]] | None = None
    prover: dict[str, Any] | None = None

    @property
    def node_tips(self) -> list[int | None]:
        return [node["tip"] for node in self.nodes]


def probe_devnet(content: dict[str, Any], timeout: float = 2.0) -> StatusProbe:
    """Ask every role of the devnet described by ``content`` (devnet.json) how it is doing."""
    nodes: list[dict[str, Any]] = []
    with httpx.Client(timeout=timeout) as http:
        for name in _l1_role_names(content):
            url = get_role_url(content, name, "rpc") or ""
            health = (_as_dict(_get_json(http, url + "/healthz")) if url else None) or {}
            tip = health.get("tip_number")
            answered = isinstance(tip, int)
            nodes.append(
                {
                    "name": name,
                    "url": url,
                    "tip": tip if answered else None,
                    "hash": health.get("tip_hash") if answered else None,
                    "peers": health.get("peers") if answered else None,
                }
            )

        def ask(role: str, path: str) -> Any:
            url = get_role_url(content, role)
            return None if url is None else _get_json(http, url + path)

        sequencer = ask("sequencer", "/v1/status")
        batches: Any = None
        if isinstance(sequencer, dict):
            batches = []  # answering, no batch sealed yet
            last = ((sequencer.get("heads") or {}).get("soft") or {}).get("batch")
            if isinstance(last, int):
                start = max(0, last - BATCH_WINDOW + 1)
                page = ask("sequencer", f"/v1/batches?start={start}&limit={BATCH_WINDOW}")
                batches = page.get("batches") if isinstance(page, dict) else None
        light_page = ask("light", f"/v1/blocks?limit={DA_WINDOW}")
        probe = StatusProbe(
            summary=None,
            nodes=nodes,
            sequencer=sequencer if isinstance(sequencer, dict) else None,
            batches=batches if isinstance(batches, list) else None,
            follower=_as_dict(ask("follower", "/v1/status")),
            disputes=_as_dict(ask("challenger", "/v1/disputes")),
            light=_as_dict(ask("light", "/healthz")),
            light_blocks=light_page.get("blocks") if isinstance(light_page, dict) else None,
            prover=_as_dict(ask("prover", "/v1/health")),
        )
    if nodes and nodes[0]["tip"] is not None:
        probe.summary = get_l1_status(nodes[0]["url"])
    return probe


def _as_dict(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def collect_status(
    content: dict[str, Any], roles: list[dict[str, Any]], probe: StatusProbe | None = None
) -> dict[str, Any]:
    """The status panel's content as plain JSON (also ``rollcourt devnet status --json``):
    L1 tips per node, L2 heads, batches, disputes, data availability, the prover, the roles."""
    probe = probe_devnet(content) if probe is None else probe
    status: dict[str, Any] = {
        "data_dir": content.get("data_dir"),
        "mode": content.get("mode", "optimistic"),
        "preset": (content.get("chain") or {}).get("preset"),
        "supervisor_pid": content.get("supervisor_pid"),
        "explorer": get_role_url(content, "explorer"),
        "l1": _l1_view(probe),
        "l2": {
            "sequencer": _heads_view(probe.sequencer),
            "follower": _heads_view(probe.follower),
        },
        "batches": _batches_view(probe),
        "disputes": _disputes_view(probe.disputes) if "challenger" in content["roles"] else None,
        "da": _da_view(probe),
        "prover": _prover_view(probe.prover) if "prover" in content["roles"] else None,
        "roles": roles,
    }
    return status


def _l1_view(probe: StatusProbe) -> dict[str, Any]:
    answering = [node for node in probe.nodes if node["tip"] is not None]
    tips = [node["tip"] for node in answering]
    view: dict[str, Any] = {
        "nodes": probe.nodes,
        # Agreement is on the tip hash: equal numbers on two forks do not agree.
        "agree": bool(answering)
        and len(answering) == len(probe.nodes)
        and len({node["hash"] for node in answering}) == 1,
        "spread": max(tips) - min(tips) if tips else None,
        "epoch": None,
        "difficulty": None,
        "pool": None,
    }
    if probe.summary is not None:
        epoch = probe.summary.epoch
        view.update(
            epoch={"number": epoch.number, "index": epoch.index, "length": epoch.length},
            difficulty=probe.summary.difficulty,
            pool=probe.summary.pool_pending,
        )
    return view


def _heads_view(status: dict[str, Any] | None) -> dict[str, Any] | None:
    if status is None or not isinstance(status.get("heads"), dict):
        return None
    heads = status["heads"]

    def field_of(head: str, key: str) -> Any:
        value = heads.get(head)
        return value.get(key) if isinstance(value, dict) else None

    view = {
        "soft_tx": field_of("soft", "soft_index"),
        "soft_batch": field_of("soft", "batch"),
        "safe_batch": field_of("safe", "batch"),
        "final_batch": field_of("final", "batch"),
        "state_root": field_of("soft", "state_root"),
        "findings": None,
    }
    derivation = status.get("derivation")
    if isinstance(derivation, dict):
        view["findings"] = derivation.get("findings")
    return view


def _batches_view(probe: StatusProbe) -> dict[str, Any] | None:
    if probe.batches is None:
        return None
    by_status: dict[str, int] = {}
    for batch in probe.batches:
        status = str(batch.get("status"))
        by_status[status] = by_status.get(status, 0) + 1
    last = probe.batches[-1] if probe.batches else None
    return {
        "count": 0 if last is None else int(last.get("number", -1)) + 1,
        "posted": sum(by_status.get(s, 0) for s in ("posted", "safe", "final")),
        "by_status": by_status,
        "last": None
        if last is None
        else {
            "number": last.get("number"),
            "status": last.get("status"),
            "tx_count": last.get("tx_count"),
        },
    }


def _disputes_view(disputes: dict[str, Any] | None) -> dict[str, Any] | None:
    if disputes is None:
        return None
    stats = disputes.get("stats") or {}
    games = [
        {
            key: game.get(key)
            for key in (
                "batch_number",
                "lo",
                "hi",
                "moves",
                "max_moves",
                "turn",
                "proposer_clock",
                "challenger_clock",
                "timeout_at_block",
                "ours",
            )
        }
        for game in disputes.get("games") or []
        if isinstance(game, dict)
    ]
    return {
        "open": len(games),
        "games": games,
        "won": stats.get("games_won", 0),
        "lost": stats.get("games_lost", 0),
        "challenges": stats.get("challenges", 0),
    }


def _da_view(probe: StatusProbe) -> dict[str, Any] | None:
    if probe.light is None:
        return None
    blocks = probe.light_blocks or []
    with_blobs = [block for block in blocks if block.get("blobs")]
    counts = {"available": 0, "pending": 0, "unavailable": 0, "expired": 0}
    for block in with_blobs:
        state = str(block.get("availability"))
        counts[state] = counts.get(state, 0) + 1
    last = with_blobs[-1] if with_blobs else None
    return {
        "head": probe.light.get("head_number"),
        "peers": probe.light.get("peers"),
        "window": len(blocks),
        "blocks_with_blobs": len(with_blobs),
        **counts,
        "last": None
        if last is None
        else {
            "number": last.get("number"),
            "availability": last.get("availability"),
            "blobs": last.get("blobs"),
            "cells_sampled": last.get("cells_sampled"),
        },
    }


def _prover_view(prover: dict[str, Any] | None) -> dict[str, Any] | None:
    if prover is None:
        return None
    jobs = prover.get("jobs") or {}
    return {
        "preset": prover.get("preset"),
        "queue": prover.get("queue_length", 0),
        "proved": jobs.get("done", 0),
        "failed": jobs.get("failed", 0),
    }


def _or_dash(value: Any) -> str:
    return "-" if value is None else str(value)


def _short_hash(value: Any) -> str:
    return "-" if not isinstance(value, str) else "0x" + value.removeprefix("0x")[:12] + "…"


def _describe_role_state(role: dict[str, Any]) -> Text:
    state = str(role.get("state"))
    restarts = role.get("restarts") or 0
    style = {"up": "green", "starting": "yellow", "restarting": "yellow"}.get(state, "red")
    label = state
    if restarts:
        label += f" (restarted {restarts}×)" if state == "up" else f" ({restarts} restarts)"
    return Text(label, style=style)


def render_status(status: dict[str, Any]) -> RenderableType:
    """The live panel (``rollcourt devnet up`` on a terminal, ``rollcourt devnet status``)."""
    parts: list[RenderableType] = []
    l1 = status["l1"]
    nodes = l1["nodes"]
    tips = [node["tip"] for node in nodes if node["tip"] is not None]
    if not tips:
        headline = Text("L1  not answering", style="red")
    else:
        headline = Text.assemble(("L1  ", "bold"), f"tip {max(tips)}")
        if len(nodes) > 1:
            if l1["agree"]:
                headline.append(f"  all {len(nodes)} nodes agree", style="green")
            else:
                headline.append(
                    f"  nodes differ by {l1['spread']} block(s) (converging)", style="yellow"
                )
        if l1["epoch"] is not None:
            epoch = l1["epoch"]
            headline.append(
                f"  epoch {epoch['number']} ({epoch['index']}/{epoch['length']})"
                f"  difficulty {l1['difficulty']}  pool {_or_dash(l1['pool'])}"
            )
    parts.append(headline)
    node_table = Table(box=None, padding=(0, 2), pad_edge=False, show_edge=False)
    for column in ("node", "url", "tip", "tip hash", "peers"):
        node_table.add_column(column, style="dim" if column == "url" else None)
    for node in nodes:
        node_table.add_row(
            node["name"],
            node["url"],
            _or_dash(node["tip"]) if node["tip"] is not None else Text("down", style="red"),
            _short_hash(node["hash"]),
            _or_dash(node["peers"]),
        )
    parts.append(node_table)

    parts.append(Text(""))
    heads = Table(box=None, padding=(0, 2), pad_edge=False, show_edge=False)
    for column in ("L2", "soft tx", "soft batch", "safe batch", "final batch", "state root"):
        heads.add_column(column, style="bold" if column == "L2" else None)
    for name in ("sequencer", "follower"):
        view = status["l2"][name]
        if view is None:
            heads.add_row(name, Text("not answering", style="red"), "", "", "", "")
            continue
        root = _short_hash(view["state_root"])
        if view.get("findings"):
            root += f"  findings {view['findings']}"
        heads.add_row(
            name,
            _or_dash(view["soft_tx"]),
            _or_dash(view["soft_batch"]),
            _or_dash(view["safe_batch"]),
            _or_dash(view["final_batch"]),
            root,
        )
    parts.append(heads)

    batches = status["batches"]
    line = Text.assemble(("batches  ", "bold"))
    if batches is None:
        line.append("-")
    else:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(batches["by_status"].items()))
        line.append(f"{batches['count']} sealed, {batches['posted']} posted ({counts or 'none'})")
        last = batches["last"]
        if last is not None:
            line.append(
                f"; last #{last['number']} {last['status']} ({_or_dash(last['tx_count'])} txs)"
            )
    parts.append(line)

    if status["mode"] != "validity":
        disputes = status["disputes"]
        line = Text.assemble(("disputes  ", "bold"))
        if disputes is None:
            line.append("challenger not answering", style="red")
            parts.append(line)
        else:
            line.append(
                f"open {disputes['open']}  won {disputes['won']}  lost {disputes['lost']}"
                f"  challenges {disputes['challenges']}"
            )
            parts.append(line)
            if disputes["games"]:
                games = Table(box=None, padding=(0, 2), pad_edge=False, show_edge=False)
                for column in ("  batch", "range", "moves", "turn", "clocks P/C", "timeout at"):
                    games.add_column(column)
                for game in disputes["games"]:
                    games.add_row(
                        f"  {game['batch_number']}",
                        f"{game['lo']}..{game['hi']}",
                        f"{game['moves']}/{game['max_moves']}",
                        f"{game['turn']} to move",
                        f"{game['proposer_clock']}/{game['challenger_clock']}",
                        _or_dash(game["timeout_at_block"]),
                    )
                parts.append(games)

    da = status["da"]
    line = Text.assemble(("DA  ", "bold"))
    if da is None:
        line.append("light client not answering", style="red")
    else:
        line.append(
            f"light head {_or_dash(da['head'])}, {_or_dash(da['peers'])} peers; last "
            f"{da['window']} blocks: {da['blocks_with_blobs']} with blobs, "
            f"{da['available']} available, {da['pending']} pending, "
            f"{da['unavailable']} unavailable"
        )
        last = da["last"]
        if last is not None:
            line.append(
                f"; latest blob block {last['number']} {last['availability']}"
                f" ({_or_dash(last['cells_sampled'])} cells sampled)"
            )
    parts.append(line)

    if status["mode"] == "validity":
        prover = status["prover"]
        line = Text.assemble(("prover  ", "bold"))
        if prover is None:
            line.append("not answering", style="red")
        else:
            line.append(
                f"queue {prover['queue']}  proved {prover['proved']}  failed {prover['failed']}"
            )
        parts.append(line)

    parts.append(Text(""))
    roles = Table(box=None, padding=(0, 2), pad_edge=False, show_edge=False)
    for column in ("role", "state", "pid", "url", "log"):
        roles.add_column(column, style="dim" if column == "log" else None)
    for role in status["roles"]:
        roles.add_row(
            role["name"],
            _describe_role_state(role),
            _or_dash(role.get("pid")),
            _or_dash(role.get("url")),
            _or_dash(role.get("log")),
        )
    parts.append(roles)

    title = f"rollcourt devnet: {status['mode']}, preset {_or_dash(status['preset'])}"
    subtitle = None
    if status.get("explorer"):
        subtitle = f"explorer: open {status['explorer']} in a browser"
    return Panel(Group(*parts), title=title, subtitle=subtitle, title_align="left", expand=False)
