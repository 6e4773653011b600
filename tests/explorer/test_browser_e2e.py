"""The explorer's page in headless Chromium (Debian's ``chromium``, installed by ``make
browser``), read back with ``--dump-dom`` (the DOM after the page's script ran) while the test
drives a real stack: the page must show what the roles say, through its stable test hooks
(``#l1-tip``, ``#batches tr[data-batch][data-status]``, ``#disputes [data-game]`` with
``data-lo``/``data-hi``/``data-moves``/``data-state``/``data-outcome``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from l1.devnet_keys import DEVNET_KEYS, derive_devnet_key
from l2.preset import SHANNONS_PER_CKB
from tests.explorer.support import (
    Element,
    challenger_proc,
    dump_dom,
    explorer_proc,
    find_chromium,
    get,
    screenshot,
    select,
    sequencer_for,
)
from tests.sequencer.procs import L1TestNode, running_l1_node
from tests.sequencer.test_follower_e2e import follower_proc
from tests.support.procs import Proc, wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(find_chromium() is None, reason="chromium is not installed: `make browser`"),
]

CKB = SHANNONS_PER_CKB
GAME_CLOCK = 8


def _until_dom(
    url: str, profile: Path, found: Callable[[str], Any], what: str, timeout: float = 120
) -> tuple[str, Any]:
    """Dump the page's DOM again and again until ``found(dom)``; returns both."""
    last: list[str] = [""]

    def probe() -> Any:
        last[0] = dump_dom(url, profile)
        return found(last[0])

    try:
        value = wait_until(probe, timeout, 0.5, what)
    except TimeoutError:
        raise AssertionError(f"{what}; last DOM:\n{last[0][-4000:]}") from None
    return last[0], value


def _batch_rows(dom: str, **attrs: str) -> list[Element]:
    """Rows of the batches table (``#batches tr[data-batch]``) with ``attrs``."""
    return select(dom, "tr", **{"data_batch": "*", **attrs})


def test_the_page_shows_the_stack_and_a_posted_batch(tmp_path: Path) -> None:
    with running_l1_node(tmp_path / "l1") as node:
        started: list[Proc] = []
        try:
            sequencer = sequencer_for(node, tmp_path / "seq").start()
            started.append(sequencer)
            sequencer.wait_healthy()
            rollup_id = bytes.fromhex(get(sequencer.url, "/v1/status")["rollup_id"][2:])
            node.mine()
            follower = follower_proc(tmp_path / "follower", node.proc.url, rollup_id).start()
            started.append(follower)
            follower.wait_healthy()
            explorer = explorer_proc(
                tmp_path, node.proc.url, sequencer=sequencer.url, follower=follower.url
            ).start()
            started.append(explorer)
            explorer.wait_healthy()
            page = explorer.url + "/"
            profile = tmp_path / "chromium"

            dom, _ = _until_dom(
                page, profile, lambda d: select(d, "body", data_loaded="true"), "the page loaded"
            )
            [tip] = select(dom, id="l1-tip")
            assert int(tip.attrs["data-number"]) >= 2
            [mode] = select(dom, id="rollup-mode")
            assert mode.attrs["data-mode"] == "optimistic"
            roles = {e.attrs["data-role"]: e.attrs for e in select(dom, "li", data_role="*")}
            assert (
                roles["sequencer"]["data-ok"] == "true" and roles["follower"]["data-ok"] == "true"
            )
            assert roles["challenger"]["data-configured"] == "false"

            key = derive_devnet_key(610)
            node.l1.deposit(DEVNET_KEYS[1].private_key, rollup_id, key.public_key, 700 * CKB)
            node.mine_until(
                lambda: any(
                    b["number"] == 0 and b["status"] in ("safe", "final")
                    for b in get(explorer.url, "/api/overview")["batches"]
                ),
                "batch 0 posted",
            )
            dom, [row] = _until_dom(
                page,
                profile,
                lambda d: [
                    r for r in _batch_rows(d, data_batch="0") if r.attrs["data-status"] != "soft"
                ],
                "batch 0 on the page",
            )
            assert (
                row.attrs["data-status"] in ("safe", "final") and row.attrs["data-tx-count"] == "1"
            )
            assert select(dom, "a", data_blob="*"), "the batch links its blob"
            assert select(dom, "tr", data_account="0", data_balance=str(700 * CKB))

            shot = tmp_path / "explorer.png"
            screenshot(page, profile, shot)
            data = shot.read_bytes()
            assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
        finally:
            for proc in reversed(started):
                proc.stop()


def test_the_page_shows_a_dispute_narrowing_and_its_resolution(tmp_path: Path) -> None:
    with running_l1_node(tmp_path / "l1") as node:
        started: list[Proc] = []
        try:
            _run_dispute(node, tmp_path, started)
        finally:
            for proc in reversed(started):
                proc.stop()


def _run_dispute(node: L1TestNode, tmp_path: Path, started: list[Proc]) -> None:
    sequencer = sequencer_for(
        node, tmp_path / "seq", fault="wrong-root inflate-balance", game_clock=GAME_CLOCK
    ).start()
    started.append(sequencer)
    sequencer.wait_healthy()
    rollup_id = bytes.fromhex(get(sequencer.url, "/v1/status")["rollup_id"][2:])
    node.mine()
    follower = follower_proc(tmp_path / "follower", node.proc.url, rollup_id).start()
    started.append(follower)
    follower.wait_healthy()
    # Two deposits: a batch of two records, so the game's range starts at 0..2 and narrows.
    alice, bob = derive_devnet_key(620), derive_devnet_key(621)
    node.l1.deposit(DEVNET_KEYS[1].private_key, rollup_id, alice.public_key, 500 * CKB)
    node.l1.deposit(DEVNET_KEYS[2].private_key, rollup_id, bob.public_key, 300 * CKB)
    node.mine_until(
        lambda: any(b["status"] == "safe" for b in get(sequencer.url, "/v1/batches")["batches"]),
        "the wrong batch on L1",
    )
    # The challenger starts once the wrong batch is on L1 (as tests/sequencer/test_revert_e2e).
    challenger = challenger_proc(tmp_path / "challenger", node.proc.url, rollup_id).start()
    started.append(challenger)
    challenger.wait_healthy()
    explorer = explorer_proc(
        tmp_path,
        node.proc.url,
        sequencer=sequencer.url,
        follower=follower.url,
        challenger=challenger.url,
    ).start()
    started.append(explorer)
    explorer.wait_healthy()
    page = explorer.url + "/"
    profile = tmp_path / "chromium"

    # A live game: the test stops mining while the page is read, so the game cannot move on.
    game = node.mine_until(
        lambda: next(iter(get(challenger.url, "/v1/disputes")["games"]), None),
        "a live game",
        6 * GAME_CLOCK,
    )
    dom, [shown] = _until_dom(
        page,
        profile,
        lambda d: select(d, "div", data_game="*", data_state="live"),
        "the live game on the page",
    )
    assert shown.attrs["data-batch"] == str(game["batch_number"])
    assert (shown.attrs["data-lo"], shown.attrs["data-hi"]) == (str(game["lo"]), str(game["hi"]))
    assert shown.attrs["data-moves"] == str(game["moves"]) and shown.attrs["data-max-moves"]
    width = int(shown.attrs["data-hi"]) - int(shown.attrs["data-lo"])
    assert 1 <= width <= int(shown.attrs["data-n"])
    clocks = select(dom, "div", data_clock="*")
    assert {c.attrs["data-clock"] for c in clocks} == {"proposer", "challenger"}
    assert sum(c.attrs["data-turn"] == "true" for c in clocks) == 1
    [open_count] = select(dom, id="open-disputes")
    assert open_count.attrs["data-open"] == "1"

    # Play it out: the range narrows to one record, the one-step proof wins, the L1 reverts.
    widths = {width}

    def won() -> bool:
        disputes = get(challenger.url, "/v1/disputes")
        for live in disputes["games"]:
            widths.add(live["hi"] - live["lo"])
        return bool(disputes["stats"]["games_won"] >= 1)

    node.mine_until(won, "the challenger's win", 12 * GAME_CLOCK)
    assert min(widths) == 1  # the range narrowed to a single record before the one step

    def resolved(d: str) -> Any:
        reverted = _batch_rows(d, data_batch="0", data_status="reverted")
        settled = select(d, "div", data_game="*", data_state="settled", data_outcome="won")
        won_stat = select(d, "span", data_stat="games_won", data_value="1")
        return reverted and settled and won_stat

    node.mine()  # the follower sees the revert in a block it processes
    dom, _ = _until_dom(page, profile, resolved, "the revert and the win on the page")
    [settled] = select(dom, "div", data_game="*", data_state="settled")
    assert settled.attrs["data-winner"] == "challenger"
    [reverted] = _batch_rows(dom, data_batch="0", data_status="reverted")
    assert reverted.attrs["data-l1-tx"].startswith("0x")
    assert select(dom, "li", data_kind="one_step") and select(dom, "li", data_kind="won")


def test_the_page_of_a_running_devnet_shows_its_batch(tmp_path: Path) -> None:
    """What a user does: `rollcourt devnet up` (here on the test preset and free ports), a
    deposit from the CLI's SDK, then the devnet's explorer page in the browser shows the batch
    posted on L1 and the account it created."""
    from l1.client import L1Client
    from l2.client.bridge import RollupL1
    from tests.cli.test_devnet import Devnet
    from tests.support.procs import free_port

    devnet = Devnet(tmp_path, free_port())
    try:
        content = devnet.wait_up()
        explorer_url = content["roles"]["explorer"]["url"] + "/"
        rollup_id = bytes.fromhex(content["roles"]["sequencer"]["rollup_id"][2:])
        with L1Client(content["roles"]["l1"]["rpc"]) as client:
            bridge = RollupL1(client)
            wait_until(lambda: bridge.find_rollup_cell(rollup_id), 60, 0.5, "the rollup deployed")
            key = derive_devnet_key(611)
            bridge.deposit(DEVNET_KEYS[2].private_key, rollup_id, key.public_key, 900 * CKB)
        profile = tmp_path / "chromium"
        dom, [row] = _until_dom(
            explorer_url,
            profile,
            lambda d: (
                [
                    r
                    for r in select(d, "tr", data_batch="0")
                    if r.attrs["data-status"] in ("safe", "final")
                ]
                or None
            ),
            "batch 0 posted, on the devnet's explorer page",
        )
        assert row.attrs["data-tx-count"] == "1"
        [account] = select(dom, "tr", data_account="0")
        assert account.attrs["data-balance"] == str(900 * CKB)
        roles = {e.attrs["data-role"]: e.attrs for e in select(dom, "li", data_role="*")}
        assert all(
            roles[name]["data-ok"] == "true"
            for name in ("l1", "sequencer", "follower", "challenger", "light")
        )
    finally:
        devnet.cleanup()
