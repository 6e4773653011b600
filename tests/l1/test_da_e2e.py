"""Data availability against real L1 node processes: blob transactions through the RPC, a block
whose sidecars are withheld is not accepted until the data arrives, blobs are pruned after the
retention window (and stay pruned across a restart), and a node refuses a challenge window longer
than its retention.

Sidecars are computed in the test process on the same pinned trusted setup the nodes load, and
every answer a node gives about blob data is checked with the KZG library, not just compared.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from l1.ckb.json import transaction_to_json
from l1.ckb.types import Block, Script, Transaction
from l1.client import L1Client, L1RpcError, build_transfer
from l1.core import errors
from l1.core.blobs import (
    BLS_MODULUS,
    BlobSidecar,
    compute_blob_sidecar,
    compute_cells_and_proofs,
    pack_data_into_blobs,
    unpack_data_from_blobs,
    verify_cells,
)
from l1.core.preset import TEST
from l1.core.scripts.secp256k1 import sign_sighash_all
from l1.devnet_keys import DEVNET_KEYS
from l1.kzg import get_kzg_settings
from l1.node.wire import Sidecars, sidecar_to_json, sidecars_to_json
from tests.support.procs import Proc, l1_node, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

#: Blocks the test preset keeps blob data for (``l1/specs/test.json`` uses the ``test`` preset).
RETENTION = TEST.blob_retention_blocks
TRANSACTION_FAILED_TO_VERIFY = -302
INVALID_PARAMS = -32602
BLOB_NOT_FOUND = -1201
BLOB_PRUNED = -1202


@pytest.fixture(scope="module")
def kzg() -> Any:
    return get_kzg_settings()


# ----------------------------------------------------------------------------- helpers
def _start(procs: list[Proc], proc: Proc) -> L1Client:
    procs.append(proc.start())
    proc.wait_healthy()
    return L1Client(proc.url)


def _tip(client: L1Client) -> int:
    return client.get_tip_block_number()


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _sidecars(kzg: Any, data: bytes) -> list[BlobSidecar]:
    return [compute_blob_sidecar(blob, kzg) for blob in pack_data_into_blobs(data)]


def _blob_tx(client: L1Client, key_index: int, sidecars: Sequence[BlobSidecar]) -> Transaction:
    """A signed capacity transfer from a devnet key to itself that commits to ``sidecars``."""
    key = DEVNET_KEYS[key_index]
    code_hash, dep = client.get_system_script()
    lock = Script(code_hash, 1, key.lock_args)
    transfer = build_transfer(
        client.get_live_cells(lock), key.private_key, code_hash, dep, lock, 1_000 * 10**8, 2_000
    )
    raw = replace(transfer.raw, blob_versioned_hashes=tuple(s.versioned_hash for s in sidecars))
    return sign_sighash_all(Transaction(raw), list(range(len(raw.inputs))), key.private_key)


def _send_blob_tx(client: L1Client, tx: Transaction, sidecars: Sequence[BlobSidecar]) -> bytes:
    result = client.call(
        "send_blob_transaction",
        transaction_to_json(tx, with_hash=False),
        [sidecar_to_json(s) for s in sidecars],
    )
    return bytes.fromhex(result[2:])


def _rpc_error(call: Any, *args: Any) -> L1RpcError:
    with pytest.raises(L1RpcError) as info:
        call(*args)
    return info.value


def _pending(client: L1Client) -> list[str]:
    return list(client.call("get_raw_tx_pool")["pending"])


def _post_block(proc: Proc, block: Block, sidecars: Sidecars) -> httpx.Response:
    payload = {"block": block.serialize().hex(), "sidecars": sidecars_to_json(sidecars)}
    return httpx.post(proc.url + "/p2p/block", json=payload, timeout=30)


# ----------------------------------------------------------------------------- the RPC
def test_blob_transaction_life_cycle(procs: list[Proc], tmp_path: Path, kzg: Any) -> None:
    client = _start(procs, l1_node(tmp_path / "node"))
    client.generate_block()
    batch = bytes(range(256)) * 600  # 153_600 bytes: two blobs
    sidecars = _sidecars(kzg, batch)
    assert len(sidecars) == 2
    other = _sidecars(kzg, b"another batch")[0]
    tx = _blob_tx(client, 1, sidecars)
    tx_json = transaction_to_json(tx, with_hash=False)
    tip_before = _tip(client)

    # Bad sidecars: a JSON-RPC error naming the problem, and the pool does not change.
    first = sidecars[0]
    flipped = first.blob[:500] + bytes([first.blob[500] ^ 1]) + first.blob[501:]
    non_canonical = BLS_MODULUS.to_bytes(32, "big") + first.blob[32:]
    bad_cases = [
        ([replace(first, blob=flipped), sidecars[1]], "InvalidBlobProof"),
        ([replace(first, proof=sidecars[1].proof), sidecars[1]], "InvalidBlobProof"),
        ([replace(first, proof=other.proof), sidecars[1]], "InvalidBlobProof"),
        ([replace(first, commitment=other.commitment), sidecars[1]], "BlobVersionedHashMismatch"),
        ([sidecars[1], first], "BlobVersionedHashMismatch"),
        ([replace(first, blob=non_canonical), sidecars[1]], "MalformedBlob"),
        (sidecars[:1], "MissingBlobData"),
        ([*sidecars, other], "MissingBlobData"),
    ]
    for bad, name in bad_cases:
        error = _rpc_error(_send_blob_tx, client, tx, bad)
        assert error.code == TRANSACTION_FAILED_TO_VERIFY, error
        assert error.data == name, error
        assert error.message.startswith(f"{name}: "), error
        assert _pending(client) == []
    # A blob of the wrong size never reaches the KZG code: the params are invalid.
    short = {**sidecar_to_json(first), "blob": _hex(first.blob[:-32])}
    error = _rpc_error(
        client.call, "send_blob_transaction", tx_json, [short, sidecar_to_json(sidecars[1])]
    )
    assert error.code == INVALID_PARAMS
    assert "sidecars[0].blob" in error.message
    # A blob transaction without its sidecars, through the ordinary method.
    error = _rpc_error(client.send_transaction, tx)
    assert error.code == TRANSACTION_FAILED_TO_VERIFY
    assert error.data == "MissingBlobData"
    assert "2 blobs are committed but 0 sidecars" in error.message
    assert _pending(client) == []
    assert _tip(client) == tip_before

    # The valid transaction: pending, then committed with its data retrievable.
    tx_hash = _send_blob_tx(client, tx, sidecars)
    assert client.get_transaction_status(tx_hash) == "pending"
    assert _pending(client) == [_hex(tx_hash)]
    error = _rpc_error(client.call, "get_blob", _hex(first.versioned_hash))
    assert error.code == BLOB_NOT_FOUND  # the pool's data is not served as committed blob data
    block_hash = client.generate_block()
    status = client.call("get_transaction", _hex(tx_hash))["tx_status"]
    assert status["status"] == "committed"
    assert status["block_hash"] == _hex(block_hash)
    committed = client.get_block(block_hash)
    assert committed is not None
    assert committed.transactions[1].raw.blob_versioned_hashes == tuple(
        s.versioned_hash for s in sidecars
    )

    blobs = []
    for sidecar in sidecars:
        got = client.call("get_blob", _hex(sidecar.versioned_hash))
        assert got["blob"] == _hex(sidecar.blob)
        assert got["commitment"] == _hex(sidecar.commitment)
        assert got["proof"] == _hex(sidecar.proof)
        assert got["block_hash"] == _hex(block_hash)
        assert got["block_number"] == hex(tip_before + 1)
        assert got["tx_hash"] == _hex(tx_hash)
        blobs.append(bytes.fromhex(got["blob"][2:]))
    assert unpack_data_from_blobs(blobs) == batch  # the rollup reads its batch back

    listed = client.call("get_blob_sidecars", _hex(block_hash))
    assert [(item["tx_hash"], item["index"]) for item in listed] == [
        (_hex(tx_hash), "0x0"),
        (_hex(tx_hash), "0x1"),
    ]
    assert [item["versioned_hash"] for item in listed] == [_hex(s.versioned_hash) for s in sidecars]
    assert [item["blob"] for item in listed] == [_hex(s.blob) for s in sidecars]
    assert client.call("get_blob_sidecars", _hex(bytes(32))) is None

    # Cells for light-client sampling: they verify against the commitment the tx commits to.
    indices = [0, 5, 63, 64, 127]
    for _attempt in range(2):  # the second answer comes from the node's cache
        answer = client.call(
            "get_blob_cells", _hex(first.versioned_hash), [hex(i) for i in indices]
        )
        assert answer["commitment"] == _hex(first.commitment)
        assert [int(c["index"], 16) for c in answer["cells"]] == indices
        cells = [bytes.fromhex(c["cell"][2:]) for c in answer["cells"]]
        proofs = [bytes.fromhex(c["proof"][2:]) for c in answer["cells"]]
        verify_cells(first.commitment, indices, cells, proofs, kzg)
    local_cells, local_proofs = compute_cells_and_proofs(first.blob, kzg)
    assert cells == [local_cells[i] for i in indices]
    assert proofs == [local_proofs[i] for i in indices]

    for bad_indices in ([], ["0x80"], ["0x1", "0x1"]):
        error = _rpc_error(client.call, "get_blob_cells", _hex(first.versioned_hash), bad_indices)
        assert error.code == INVALID_PARAMS
    error = _rpc_error(client.call, "get_blob", _hex(other.versioned_hash))
    assert error.code == BLOB_NOT_FOUND
    assert other.versioned_hash.hex() in error.message


# ----------------------------------------------------------------------------- withheld data
def test_block_with_withheld_sidecars_waits_for_its_data(
    procs: list[Proc], tmp_path: Path, kzg: Any
) -> None:
    a = l1_node(tmp_path / "a")
    ca = _start(procs, a)
    ca.generate_block()
    sidecars = _sidecars(kzg, b"batch one " * 1000)
    tx = _blob_tx(ca, 1, sidecars)
    tx_hash = _send_blob_tx(ca, tx, sidecars)
    blob_hash = ca.generate_block()
    blob_height = _tip(ca)
    ca.generate_block()
    ca.generate_block()
    versioned = _hex(sidecars[0].versioned_hash)

    # B syncs from A with the data, but (fault) serves blocks without it.
    b = l1_node(tmp_path / "b", peers=(a.url,), extra=("--fault", "withhold-sidecars"))
    cb = _start(procs, b)
    wait_until(lambda: _tip(cb) == _tip(ca), 60, what="B syncing from A")
    assert cb.call("get_blob", versioned)["blob"] == _hex(sidecars[0].blob)
    assert httpx.get(f"{b.url}/p2p/sidecars/{blob_hash.hex()}", timeout=10).status_code == 404
    parent_hash = ca.call("get_block_hash", hex(blob_height - 1))[2:]
    located = httpx.post(
        b.url + "/p2p/locate", json={"locator": [parent_hash], "limit": 1}, timeout=10
    ).json()
    assert located["sidecars"] == [None]
    block = ca.get_block(blob_hash)
    assert block is not None
    assert Block.deserialize(bytes.fromhex(located["blocks"][0])) == block

    # C, peered only with B, receives the block without its data and does not accept it.
    c = l1_node(tmp_path / "c", peers=(b.url,))
    cc = _start(procs, c)
    wait_until(
        lambda: cc.call("get_header", _hex(blob_hash)) is not None, 60, what="C sees the header"
    )
    time.sleep(2.0)  # several sync rounds: nothing may change
    assert _tip(cc) == blob_height - 1
    assert cc.call("get_block_by_number", hex(blob_height)) is None
    assert cc.call("get_transaction", _hex(tx_hash))["tx_status"]["status"] != "committed"
    assert _rpc_error(cc.call, "get_blob", versioned).code == BLOB_NOT_FOUND
    assert [p["node_id"] for p in cc.call("get_peers")] == [b.url]

    # Wrong data beside the block: 422 with the specific Blob* error, nothing stored.
    other = _sidecars(kzg, b"not batch one")[0]
    good = sidecars[0]
    wrong_cases: list[tuple[Sidecars, str]] = [
        ({tx_hash: (other,)}, "BlobVersionedHashMismatch"),
        ({tx_hash: (replace(good, proof=other.proof),)}, "InvalidBlobProof"),
        ({tx_hash: (replace(good, blob=other.blob),)}, "InvalidBlobProof"),
        ({tx_hash: ()}, "MissingBlobData"),
        ({tx_hash: (good, other)}, "MissingBlobData"),
        ({tx_hash: (good,), bytes(32): (other,)}, "MissingBlobData"),
    ]
    for wrong, code in wrong_cases:
        response = _post_block(c, block, wrong)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == code, error
        assert issubclass(getattr(errors, code), errors.BlobError)
        assert _tip(cc) == blob_height - 1
        assert _rpc_error(cc.call, "get_blob", versioned).code == BLOB_NOT_FOUND

    # The right data is still accepted, and the chain on top of the block with it.
    response = _post_block(c, block, {tx_hash: tuple(sidecars)})
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "tip"}
    wait_until(lambda: _tip(cc) == _tip(ca), 30, what="C reaching A's tip")
    assert cc.call("get_block_hash", hex(blob_height)) == _hex(blob_hash)
    assert cc.call("get_blob", versioned)["blob"] == _hex(good.blob)
    assert cc.get_transaction_status(tx_hash) == "committed"

    # A second blob block, again withheld by B: this time C gets the data from a new peer.
    sidecars2 = _sidecars(kzg, b"batch two " * 2000)
    tx2_hash = _send_blob_tx(ca, _blob_tx(ca, 2, sidecars2), sidecars2)
    blob2_hash = ca.generate_block()
    blob2_height = _tip(ca)
    ca.generate_block()
    wait_until(lambda: _tip(cb) == _tip(ca), 60, what="B following A")
    wait_until(
        lambda: cc.call("get_header", _hex(blob2_hash)) is not None, 60, what="C sees block 2"
    )
    time.sleep(1.5)
    assert _tip(cc) == blob2_height - 1
    cc.call("add_node", a.url, a.url)
    wait_until(lambda: _tip(cc) == _tip(ca), 60, what="C fetching the data from A")
    assert cc.call("get_block_hash", hex(blob2_height)) == _hex(blob2_hash)
    assert cc.call("get_blob", _hex(sidecars2[0].versioned_hash))["blob"] == _hex(sidecars2[0].blob)
    assert cc.get_transaction_status(tx2_hash) == "committed"


# ----------------------------------------------------------------------------- pruning
def test_blobs_are_pruned_after_the_retention_window(
    procs: list[Proc], tmp_path: Path, kzg: Any
) -> None:
    data_dir = tmp_path / "node"
    node = l1_node(data_dir)
    client = _start(procs, node)
    sidecars = _sidecars(kzg, b"short-lived batch " * 100)
    versioned = _hex(sidecars[0].versioned_hash)
    tx_hash = _send_blob_tx(client, _blob_tx(client, 1, sidecars), sidecars)
    blob_hash = client.generate_block()
    blob_height = _tip(client)
    assert client.call("get_blob_cells", versioned, ["0x0"])["cells"]  # computed and cached

    for _ in range(RETENTION):
        client.generate_block()
    # Exactly RETENTION blocks later the data is still kept ...
    assert _tip(client) == blob_height + RETENTION
    assert client.call("get_blob", versioned)["blob"] == _hex(sidecars[0].blob)
    # ... and one more block prunes it.
    client.generate_block()

    def assert_pruned(c: L1Client) -> None:
        for method, params in (
            ("get_blob", [versioned]),
            ("get_blob_cells", [versioned, ["0x0", "0x1"]]),
            ("get_blob_sidecars", [_hex(blob_hash)]),
        ):
            error = _rpc_error(c.call, method, *params)
            assert error.code == BLOB_PRUNED, (method, error)
            assert "pruned" in error.message, (method, error)
        # Headers and transactions stay: only the blob bytes are gone.
        block = c.get_block(blob_hash)
        assert block is not None
        assert block.transactions[1].raw.blob_versioned_hashes == (sidecars[0].versioned_hash,)
        assert c.call("get_header", _hex(blob_hash))["number"] == hex(blob_height)
        assert c.get_transaction_status(tx_hash) == "committed"

    assert_pruned(client)
    message = _rpc_error(client.call, "get_blob", versioned).message
    assert f"keeps blobs for {RETENTION} blocks" in message
    assert f"block {blob_height}" in message

    # The pruning is persistent: a restart on the same data directory still says pruned.
    node.stop()
    restarted = l1_node(data_dir)
    client2 = _start(procs, restarted)
    assert _tip(client2) == blob_height + RETENTION + 1
    assert_pruned(client2)


# ----------------------------------------------------------------------------- retention check
def test_challenge_window_must_fit_in_the_retention(procs: list[Proc], tmp_path: Path) -> None:
    too_long = l1_node(tmp_path / "long", extra=("--challenge-window", str(RETENTION + 1)))
    too_long.start()
    assert too_long.process is not None
    try:
        returncode = too_long.process.wait(60)
    finally:
        too_long.kill()
    assert returncode != 0
    output = too_long.log_tail()
    assert "retention" in output
    assert f"({RETENTION} blocks" in output
    assert f"challenge window this node serves ({RETENTION + 1} blocks)" in output
    assert not (tmp_path / "long" / "chain.sqlite").exists()

    fits = l1_node(tmp_path / "fits", extra=("--challenge-window", str(RETENTION)))
    client = _start(procs, fits)
    assert _tip(client) == 0


def test_pruned_history_syncs_through_a_node_that_never_had_the_data(
    procs: list[Proc], tmp_path: Path, kzg: Any
) -> None:
    """A blob block older than the retention window syncs without its data (A pruned it, so B
    accepts it bare); B must then pass it on as "no data" (``null``), not as an empty sidecar
    set that C would reject as ``MissingBlobData``."""
    a = l1_node(tmp_path / "a")
    ca = _start(procs, a)
    sidecars = _sidecars(kzg, b"old batch " * 100)
    _send_blob_tx(ca, _blob_tx(ca, 1, sidecars), sidecars)
    blob_hash = ca.generate_block()
    for _ in range(RETENTION + 2):
        ca.generate_block()
    versioned = _hex(sidecars[0].versioned_hash)
    assert _rpc_error(ca.call, "get_blob", versioned).code == BLOB_PRUNED

    b = l1_node(tmp_path / "b", peers=(a.url,))
    cb = _start(procs, b)
    wait_until(lambda: _tip(cb) == _tip(ca), 60, what="B syncing pruned history from A")
    assert cb.call("get_block_hash", hex(1)) == _hex(blob_hash)
    assert httpx.get(f"{b.url}/p2p/sidecars/{blob_hash.hex()}", timeout=10).status_code == 404
    located = httpx.post(
        b.url + "/p2p/locate", json={"locator": [ca.call("get_block_hash", "0x0")[2:]]}, timeout=10
    ).json()
    assert located["sidecars"][0] is None

    c = l1_node(tmp_path / "c", peers=(b.url,))
    cc = _start(procs, c)
    wait_until(lambda: _tip(cc) == _tip(ca), 60, what="C syncing from B")
