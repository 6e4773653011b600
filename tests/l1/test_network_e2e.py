"""Real L1 nodes on 127.0.0.1: partitions heal onto the heaviest chain, reorged transactions
return to the pool, and a node killed with SIGKILL restarts on a valid chain and catches up."""

from __future__ import annotations

from pathlib import Path

import pytest

from l1.ckb.types import Script
from l1.client import L1Client, build_transfer
from l1.devnet_keys import DEVNET_KEYS
from tests.support.procs import Proc, l1_node, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _start(procs: list[Proc], proc: Proc) -> L1Client:
    procs.append(proc.start())
    proc.wait_healthy()
    return L1Client(proc.url)


def _tip(client: L1Client) -> tuple[int, str]:
    header = client.call("get_tip_header")
    return int(header["number"], 16), header["hash"]


def _transfer(client: L1Client, key_index: int, to_index: int, amount_ckb: int) -> bytes:
    code_hash, dep = client.get_system_script()
    sender = Script(code_hash, 1, DEVNET_KEYS[key_index].lock_args)
    recipient = Script(code_hash, 1, DEVNET_KEYS[to_index].lock_args)
    tx = build_transfer(
        client.get_live_cells(sender),
        DEVNET_KEYS[key_index].private_key,
        code_hash,
        dep,
        recipient,
        amount_ckb * 100_000_000,
    )
    return client.send_transaction(tx)


def test_three_nodes_partition_heal_and_reorg(procs: list[Proc], tmp_path: Path) -> None:
    a = l1_node(tmp_path / "a")
    b = l1_node(tmp_path / "b", peers=(a.url,))
    c = l1_node(tmp_path / "c", peers=(a.url, b.url))
    ca, cb, cc = (_start(procs, p) for p in (a, b, c))
    for _ in range(3):
        ca.generate_block()
    wait_until(lambda: _tip(cb) == _tip(ca) == _tip(cc), 60, what="initial convergence")

    # Partition: c goes dark (refuses and stops gossip), both sides mine.
    cc.call("set_network_active", False)
    tx_hash = _transfer(ca, 0, 5, 1234)
    wait_until(lambda: cb.get_transaction_status(tx_hash) == "pending", 30, what="tx relayed to b")
    ca.generate_block()
    ca.generate_block()
    wait_until(lambda: _tip(cb) == _tip(ca), 30, what="a and b agree")
    assert ca.get_transaction_status(tx_hash) == "committed"
    for _ in range(5):
        cc.generate_block()
    assert _tip(cc)[0] == _tip(ca)[0] + 3
    minority_tip = _tip(ca)

    # Heal: the heavier side (c, 3 more blocks at equal difficulty) wins everywhere.
    cc.call("set_network_active", True)
    cc.call("add_node", a.url, a.url)
    wait_until(lambda: _tip(ca) == _tip(cb) == _tip(cc), 60, what="convergence after heal")
    assert _tip(ca) != minority_tip
    assert _tip(ca)[0] == minority_tip[0] + 3
    # The transfer's block was abandoned: the transaction is back in a pool, then commits again.
    assert ca.get_transaction_status(tx_hash) == "pending"
    ca.generate_block()
    wait_until(lambda: cc.get_transaction_status(tx_hash) == "committed", 60, what="re-commit")
    code_hash, _ = ca.get_system_script()
    assert (
        cc.get_balance(Script(code_hash, 1, DEVNET_KEYS[5].lock_args))
        == (20_000_000 + 1234) * 100_000_000
    )


def test_node_killed_mid_mining_restarts_valid_and_catches_up(
    procs: list[Proc], tmp_path: Path
) -> None:
    miner = l1_node(tmp_path / "m", mine=True, mine_interval=0.05)
    cm = _start(procs, miner)
    follower = l1_node(tmp_path / "f", peers=(miner.url,))
    cf = _start(procs, follower)
    wait_until(lambda: _tip(cf)[0] >= 20, 90, what="follower syncing")
    follower.kill()  # SIGKILL while blocks keep arriving
    height_at_kill = _tip(cm)[0]
    wait_until(lambda: _tip(cm)[0] >= height_at_kill + 10, 90, what="miner continues")

    restarted = l1_node(
        tmp_path / "f", port=int(follower.url.rsplit(":", 1)[1]), peers=(miner.url,)
    )
    cr = _start(procs, restarted)
    number, block_hash = _tip(cr)
    assert number >= 20  # nothing committed before the crash was lost
    wait_until(lambda: _tip(cr)[0] >= height_at_kill + 10, 90, what="catch-up after restart")
    # The restarted chain is the miner's chain, block by block.
    for height in range(0, _tip(cr)[0] + 1, 7):
        assert cr.call("get_block_hash", hex(height)) == cm.call("get_block_hash", hex(height))
    assert block_hash == cm.call("get_block_hash", hex(number))
