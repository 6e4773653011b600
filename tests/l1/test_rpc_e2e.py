"""The node's JSON-RPC against a real process: CKB shapes, the transaction life cycle, and bad
input answered with clear errors (never a 500) that leave the chain and pool unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from l1.ckb.json import block_from_json, transaction_to_json
from l1.ckb.types import CellOutput, Script, Transaction
from l1.client import L1Client, L1RpcError, build_transfer
from l1.core.scripts.secp256k1 import sign_sighash_all
from l1.devnet_keys import DEVNET_KEYS
from tests.support.procs import Proc, l1_node

pytestmark = pytest.mark.e2e

CKB = 100_000_000


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    proc = l1_node(tmp_path_factory.mktemp("rpc"))
    proc.start().wait_healthy()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def client(node: Proc) -> Iterator[L1Client]:
    with L1Client(node.url) as c:
        yield c


def lock_of(client: L1Client, index: int) -> Script:
    code_hash, _ = client.get_system_script()
    return Script(code_hash, 1, DEVNET_KEYS[index].lock_args)


def transfer(
    client: L1Client, sender: int, recipient: int, amount: int, **kwargs: object
) -> Transaction:
    code_hash, dep = client.get_system_script()
    return build_transfer(
        client.get_live_cells(lock_of(client, sender)),
        DEVNET_KEYS[sender].private_key,
        code_hash,
        dep,
        lock_of(client, recipient),
        amount,
        **kwargs,  # type: ignore[arg-type]
    )


def snapshot(client: L1Client) -> tuple[str, list[str], int]:
    return (
        client.call("get_tip_header")["hash"],
        client.call("get_raw_tx_pool")["pending"],
        client.get_balance(lock_of(client, 2)),
    )


def raw_post(node: Proc, content: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(
        node.url + "/",
        content=content,
        headers=headers or {"content-type": "application/json"},
        timeout=10,
    )


def test_ckb_shapes(client: L1Client) -> None:
    header = client.call("get_tip_header")
    assert set(header) == {
        "version",
        "compact_target",
        "timestamp",
        "number",
        "epoch",
        "parent_hash",
        "transactions_root",
        "proposals_hash",
        "extra_hash",
        "dao",
        "nonce",
        "hash",
    }
    genesis = client.call("get_block_by_number", "0x0")
    assert genesis["header"]["number"] == "0x0"
    assert client.call("get_block_by_number", "0xffffff") is None
    assert client.call("get_header", genesis["header"]["hash"])["number"] == "0x0"
    info = client.call("get_blockchain_info")
    assert info["chain"] == "rollcourt-test"
    assert client.call("local_node_info")["version"].startswith("rollcourt-l1")
    assert client.call("get_peers") == []


def test_transaction_life_cycle(client: L1Client) -> None:
    tx = transfer(client, 1, 3, 500 * CKB)
    tx_hash = client.send_transaction(tx)
    status = client.call("get_transaction", "0x" + tx_hash.hex())
    assert status["tx_status"]["status"] == "pending"
    spent = tx.raw.inputs[0].previous_output
    out_point = {"tx_hash": "0x" + spent.tx_hash.hex(), "index": hex(spent.index)}
    assert client.call("get_live_cell", out_point, False)["status"] == "live"
    before = client.get_balance(lock_of(client, 3))
    client.generate_block()
    committed = client.call("get_transaction", "0x" + tx_hash.hex())["tx_status"]
    assert committed["status"] == "committed"
    assert committed["block_number"] == client.call("get_tip_block_number")
    assert client.get_balance(lock_of(client, 3)) == before + 500 * CKB
    assert client.call("get_live_cell", out_point, False) == {"cell": None, "status": "dead"}
    created = {"tx_hash": "0x" + tx_hash.hex(), "index": "0x0"}
    live = client.call("get_live_cell", created, True)
    assert live["status"] == "live"
    assert live["cell"]["output"]["capacity"] == hex(500 * CKB)
    assert live["cell"]["data"] == {"content": "0x", "hash": "0x" + "00" * 32}
    unknown = {"tx_hash": "0x" + "ab" * 32, "index": "0x0"}
    assert client.call("get_live_cell", unknown, False) == {"cell": None, "status": "unknown"}


def test_get_cells_paginates(client: L1Client) -> None:
    for _ in range(3):
        client.send_transaction(transfer(client, 4, 6, 100 * CKB))
        client.generate_block()
    search = {
        "script": {
            "code_hash": "0x" + lock_of(client, 6).code_hash.hex(),
            "hash_type": "type",
            "args": "0x" + DEVNET_KEYS[6].lock_args.hex(),
        },
        "script_type": "lock",
    }
    first = client.call("get_cells", search, "asc", "0x2")
    second = client.call("get_cells", search, "asc", "0x2", first["last_cursor"])
    seen = [
        o["out_point"]["tx_hash"] + o["out_point"]["index"]
        for o in first["objects"] + second["objects"]
    ]
    assert len(first["objects"]) == 2 and len(second["objects"]) == 2
    assert len(set(seen)) == 4  # genesis cell + three transfers, no repeats across pages
    everything = client.call("get_cells", search, "desc", "0x64")
    assert len(everything["objects"]) == 4


@pytest.mark.parametrize(
    ("mutate", "code", "fragment"),
    [
        pytest.param(
            lambda tx, c: replace(
                tx.raw, outputs=(CellOutput(60 * CKB, tx.raw.outputs[0].lock),) + tx.raw.outputs[1:]
            ),
            -302,
            "InsufficientCellCapacity",
            id="below-occupied-capacity",
        ),
        pytest.param(
            lambda tx, c: replace(
                tx.raw,
                outputs=(replace(tx.raw.outputs[0], capacity=tx.raw.outputs[0].capacity + 10**18),)
                + tx.raw.outputs[1:],
            ),
            -302,
            "OutputsExceedInputs",
            id="outputs-exceed-inputs",
        ),
        pytest.param(
            lambda tx, c: replace(
                tx.raw,
                inputs=(
                    replace(
                        tx.raw.inputs[0],
                        previous_output=replace(
                            tx.raw.inputs[0].previous_output, tx_hash=b"\x11" * 32
                        ),
                    ),
                ),
            ),
            -301,
            "UnknownCell",
            id="unknown-input",
        ),
        pytest.param(
            lambda tx, c: replace(tx.raw, cell_deps=()),
            -302,
            "ScriptNotFound",
            id="missing-code-cell-dep",
        ),
    ],
)
def test_invalid_transactions_are_refused_without_state_change(
    client: L1Client, mutate, code, fragment
) -> None:  # type: ignore[no-untyped-def]
    tx = transfer(client, 2, 7, 100 * CKB)
    before = snapshot(client)
    bad = sign_sighash_all(
        Transaction(mutate(tx, client)), list(range(len(tx.raw.inputs))), DEVNET_KEYS[2].private_key
    )
    with pytest.raises(L1RpcError) as info:
        client.send_transaction(bad)
    assert info.value.code == code
    assert fragment in info.value.message
    assert snapshot(client) == before


def test_signature_and_pool_policy_errors(client: L1Client) -> None:
    tx = transfer(client, 2, 7, 100 * CKB)
    before = snapshot(client)
    wrong_key = sign_sighash_all(Transaction(tx.raw), [0], DEVNET_KEYS[3].private_key)
    with pytest.raises(L1RpcError) as info:
        client.send_transaction(wrong_key)
    assert info.value.code == -302
    assert "not by the key this lock names" in info.value.message
    free = transfer(client, 2, 7, 100 * CKB, fee_rate=0)
    with pytest.raises(L1RpcError) as info:
        client.send_transaction(free)
    assert info.value.code == -1102 and "below the minimum" in info.value.message
    assert snapshot(client) == before

    tx_hash = client.send_transaction(tx)
    with pytest.raises(L1RpcError) as info:
        client.send_transaction(tx)
    assert info.value.code == -1107
    conflicting = transfer(client, 2, 8, 100 * CKB)  # same largest input, same fee: no replacement
    assert conflicting.raw.inputs[0] == tx.raw.inputs[0]
    with pytest.raises(L1RpcError) as info:
        client.send_transaction(conflicting)
    assert info.value.code == -1111 and "already spent by pool transaction" in info.value.message
    assert client.call("get_raw_tx_pool")["pending"] == ["0x" + tx_hash.hex()]
    client.generate_block()


@pytest.mark.parametrize(
    ("body", "status", "code", "fragment"),
    [
        (b'{"jsonrpc": "2.0", "id": 1, "method":', 400, -32700, "not valid JSON"),
        (b"\xff\xfe\x00", 400, -32700, "not valid JSON"),
        (b"[]", 400, -32600, "batch"),
        (b'"hello"', 400, -32600, "must be an object"),
        (b'{"jsonrpc": "1.0", "id": 1, "method": "get_tip_header"}', 400, -32600, "jsonrpc"),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "no_such_method"}', 200, -32601, "does not exist"),
        (
            b'{"jsonrpc": "2.0", "id": 1, "method": "get_block_by_number", "params": [5]}',
            200,
            -32602,
            "block_number",
        ),
        (
            b'{"jsonrpc": "2.0", "id": 1, "method": "get_block_by_number", "params": ["0x05"]}',
            200,
            -32602,
            "leading zeros",
        ),
        (
            b'{"jsonrpc": "2.0", "id": 1, "method": "get_block_by_number", "params": ["0x10000000000000000"]}',
            200,
            -32602,
            "u64",
        ),
        (
            b'{"jsonrpc": "2.0", "id": 1, "method": "get_block", "params": ["0x1234"]}',
            200,
            -32602,
            "32 bytes",
        ),
        (
            b'{"jsonrpc": "2.0", "id": 1, "method": "get_tip_header", "params": [1, 2]}',
            200,
            -32602,
            "at most",
        ),
        (
            b'{"jsonrpc": "2.0", "id": 1, "method": "send_transaction", "params": [{"version": "0x0"}]}',
            200,
            -32602,
            "missing field",
        ),
        (
            b'{"jsonrpc": "2.0", "id": 1, "method": "get_cells", "params": [{"script": null, "script_type": "lock"}, "asc", "0x1"]}',
            200,
            -32602,
            "search_key.script",
        ),
        (
            b'{"jsonrpc": "2.0", "id": 1, "method": "get_cells", "params": [{"script": {"code_hash": "0x'
            + b"00" * 32
            + b'", "hash_type": "type", "args": "0x"}, "script_type": "lock"}, "asc", "0x0"]}',
            200,
            -32602,
            "limit",
        ),
    ],
)
def test_malformed_requests_get_clear_errors(
    node: Proc, client: L1Client, body: bytes, status: int, code: int, fragment: str
) -> None:
    before = snapshot(client)
    response = raw_post(node, body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert fragment in error["message"]
    assert "Traceback" not in response.text
    assert snapshot(client) == before


def test_oversized_bodies_are_refused_before_buffering(node: Proc, client: L1Client) -> None:
    big = (
        b'{"jsonrpc": "2.0", "id": 1, "method": "get_tip_header", "params": ["'
        + b"a" * 9_000_000
        + b'"]}'
    )
    response = raw_post(node, big)
    assert response.status_code == 413
    assert "larger than" in response.json()["error"]["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(50):
            yield b"x" * 200_000

    streamed = httpx.post(node.url + "/", content=chunks(), timeout=10)
    assert streamed.status_code == 413
    assert client.call("get_tip_block_number").startswith("0x")  # still serving


def test_batch_requests(node: Proc) -> None:
    response = raw_post(
        node,
        b'[{"jsonrpc": "2.0", "id": 1, "method": "get_tip_block_number"}, {"jsonrpc": "2.0", "id": 2, "method": "nope"}]',
    )
    assert response.status_code == 200
    first, second = response.json()
    assert first["id"] == 1 and first["result"].startswith("0x")
    assert second["id"] == 2 and second["error"]["code"] == -32601


def test_bad_blocks_from_peers_do_not_poison_the_store(node: Proc, client: L1Client) -> None:
    before = snapshot(client)
    garbage = httpx.post(node.url + "/p2p/block", json={"block": "zz"}, timeout=10)
    assert garbage.status_code == 400
    tip = client.call("get_block_by_number", client.call("get_tip_block_number"))
    block = block_from_json(tip)
    # Same body, a forged header (timestamp before the median): refused, tip unchanged.
    forged_raw = replace(block.header.raw, timestamp=1)
    forged = replace(block, header=replace(block.header, raw=forged_raw))
    response = httpx.post(
        node.url + "/p2p/block", json={"block": forged.serialize().hex()}, timeout=10
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "InvalidTimestamp"
    assert snapshot(client) == before
    # A new header whose body does not match its transactions_root: refused as that, not stored.
    new_header = replace(
        block.header, raw=replace(block.header.raw, timestamp=block.header.raw.timestamp + 1)
    )
    wrong_body = replace(block, header=new_header, transactions=block.transactions[:1] * 2)
    response = httpx.post(
        node.url + "/p2p/block", json={"block": wrong_body.serialize().hex()}, timeout=10
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "InvalidTransactionsRoot"
    assert snapshot(client) == before


def test_raw_transaction_json_round_trip(client: L1Client) -> None:
    tx = transfer(client, 9, 1, 100 * CKB)
    payload = transaction_to_json(tx, with_hash=False)
    assert (
        client.call("send_transaction", payload, "passthrough") == transaction_to_json(tx)["hash"]
    )
    client.generate_block()
    assert client.call("get_transaction", transaction_to_json(tx)["hash"])[
        "transaction"
    ] == transaction_to_json(tx)


def test_wallet_skips_immature_cellbase_outputs(tmp_path: Path) -> None:
    """Mining rewards are spendable only after cellbase_maturity epochs; a wallet must not pick
    them earlier (the node would refuse with ImmatureCell)."""
    proc = l1_node(tmp_path / "maturity").start().wait_healthy()
    try:
        with L1Client(proc.url) as c:
            miner_lock = lock_of(c, 0)
            maturity = int(c.call("get_consensus")["cellbase_maturity"], 16)
            assert maturity & 0xFFFFFF == 1  # one epoch on the test preset
            for _ in range(4):
                c.generate_block()
            # Genesis cells have tx_index 0 too but are exempt: rewards are block > 0.
            rewards = [
                c_ for c_ in c.get_live_cells(miner_lock) if c_.is_cellbase and c_.block_number
            ]
            assert rewards, "the miner has been paid"
            spendable = c.get_spendable_cells(miner_lock)
            assert not any(cell.is_cellbase and cell.block_number for cell in spendable)
            assert len(spendable) == len(c.get_live_cells(miner_lock)) - len(rewards)
            for _ in range(8):
                c.generate_block()
            matured = c.get_spendable_cells(miner_lock)
            assert any(cell.is_cellbase and cell.block_number for cell in matured)
    finally:
        proc.stop()
