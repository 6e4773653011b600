"""The light client: header following (unit tests on forged headers), the proof that binds a
block's blob transactions to its header, cell sampling against fake peers, and end to end against
real full nodes — an honest one, one that withholds cells and one that corrupts them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from l1.ckb.cbmt import build_cbmt_proof, cbmt_root
from l1.ckb.compact import compact_to_difficulty
from l1.ckb.hashes import (
    compute_header_hash,
    compute_pow_hash,
    compute_tx_hash,
    compute_witness_hash,
)
from l1.ckb.json import bytes_to_json, header_from_json, quantity_to_json, transaction_to_json
from l1.ckb.pow import find_nonce, verify_pow
from l1.ckb.types import (
    Block,
    CellInput,
    CellOutput,
    Header,
    RawHeader,
    RawTransaction,
    Script,
    Transaction,
)
from l1.client import L1Client, L1RpcError
from l1.core.blobs import (
    BYTES_PER_BLOB,
    BlobSidecar,
    compute_blob_sidecar,
    compute_cells_and_proofs,
    pack_data_into_blobs,
)
from l1.core.errors import (
    InvalidCompactTarget,
    InvalidEpoch,
    InvalidNumber,
    InvalidParent,
    InvalidPow,
    InvalidTimestamp,
)
from l1.core.scripts.secp256k1 import sign_sighash_all
from l1.devnet_keys import DEVNET_KEYS
from l1.kzg import get_kzg_settings
from l1.light.headers import HeaderChain, OrphanHeader
from l1.light.peers import ByteMeter, PeerClient, PeerRpcError, PeerUnreachable
from l1.light.proofs import BlobTransactionsProofError, verify_block_blob_transactions
from l1.light.sampler import SAMPLE_BYTES, Sampler
from l1.node.wire import sidecar_to_json
from tests.l1.chainkit import Chain, pinned_preset
from tests.support.procs import TEST_SPEC, Proc, free_port, l1_node, wait_until

#: Roughly 256 hashes per block: mining stays instant, and a random nonce fails 255 times in 256.
HARDER = 0x2000FFFF


# ============================================================================ header following
def mine_header(raw: RawHeader) -> Header:
    nonce = find_nonce(compute_pow_hash(raw), raw.compact_target, 0, 1_000_000)
    assert nonce is not None
    return Header(raw, nonce)


def failing_nonce(raw: RawHeader) -> int:
    for nonce in range(1_000):
        if not verify_pow(Header(raw, nonce)):
            return nonce
    raise AssertionError("every nonce solves this target")


@pytest.fixture(scope="module")
def grown() -> Chain:
    """12 blocks over three epochs with difficulty adjustment on (epochs of 4, then 8)."""
    chain = Chain(pinned_preset(genesis_compact_target=HARDER, permanent_difficulty=False))
    for n in range(12):
        # The first epoch runs twice as fast as the target: the next difficulty doubles.
        chain.mine(timestamp=chain.tip.timestamp + (1_000 if n < 4 else 2_000))
    return chain


def follower_of(chain: Chain) -> HeaderChain:
    return HeaderChain(chain.spec)


def headers_of(chain: Chain) -> list[Header]:
    return [record.block.header for record in chain.blocks[1:]]


def test_follower_accepts_a_valid_chain_across_difficulty_changes(grown: Chain) -> None:
    follower = follower_of(grown)
    assert follower.tip.hash == grown.blocks[0].hash  # same genesis from the same spec
    for header in headers_of(grown):
        update = follower.add_header(header, now_ms=header.raw.timestamp)
        assert update.status == "tip"
    assert follower.tip.hash == grown.tip.hash
    targets = {h.raw.compact_target for h in headers_of(grown)}
    assert len(targets) > 1, "the test chain should cross a difficulty adjustment"
    expected_td = sum(
        compact_to_difficulty(r.block.header.raw.compact_target) for r in grown.blocks
    )
    assert follower.tip.total_difficulty == expected_td
    assert follower.tip.epoch == grown.tip.epoch
    assert follower.add_header(headers_of(grown)[3]).status == "duplicate"


def test_follower_refuses_bad_pow_and_its_descendants(grown: Chain) -> None:
    follower = follower_of(grown)
    headers = headers_of(grown)
    for header in headers[:5]:
        follower.add_header(header)
    good = headers[5]
    forged = Header(good.raw, failing_nonce(good.raw))
    with pytest.raises(InvalidPow):
        follower.add_header(forged)
    assert follower.tip.number == 5
    child = mine_header(replace(headers[6].raw, parent_hash=compute_header_hash(forged)))
    with pytest.raises(InvalidParent, match="refused"):
        follower.add_header(child)
    assert follower.add_header(good).status == "tip"  # the honest header still goes through


def test_follower_refuses_wrong_parent_number_epoch_target_and_time(grown: Chain) -> None:
    follower = follower_of(grown)
    headers = headers_of(grown)
    for header in headers[:4]:
        follower.add_header(header)
    raw = headers[4].raw
    with pytest.raises(OrphanHeader, match="not a known header"):
        follower.add_header(mine_header(replace(raw, parent_hash=b"\x42" * 32)))
    with pytest.raises(InvalidNumber):
        follower.add_header(mine_header(replace(raw, number=raw.number + 1)))
    with pytest.raises(InvalidEpoch):
        follower.add_header(mine_header(replace(raw, epoch=headers[3].raw.epoch)))
    with pytest.raises(InvalidCompactTarget):
        # Even an easier target with real work behind it is refused: difficulty is a rule.
        follower.add_header(mine_header(replace(raw, compact_target=0x20FFFFFF)))
    with pytest.raises(InvalidTimestamp, match="median"):
        follower.add_header(mine_header(replace(raw, timestamp=headers[0].raw.timestamp)))
    with pytest.raises(InvalidTimestamp, match="future"):
        follower.add_header(headers[4], now_ms=raw.timestamp - 60_000)
    assert follower.tip.number == 4
    # An orphan is not condemned: once its parent is known it is checked on its merits.
    assert follower.add_header(headers[4]).status == "tip"


def test_follower_takes_the_heaviest_branch() -> None:
    preset = pinned_preset(genesis_compact_target=HARDER)
    a, b = Chain(preset), Chain(preset)
    for _ in range(3):
        a.mine(timestamp=a.tip.timestamp + 2_000)
    for _ in range(4):
        b.mine(timestamp=b.tip.timestamp + 2_500, miner_lock=b.lock_of(DEVNET_KEYS[1]))
    follower = follower_of(a)
    for header in headers_of(a):
        follower.add_header(header)
    b_headers = headers_of(b)
    assert [follower.add_header(h).status for h in b_headers[:3]] == ["side"] * 3
    assert follower.tip.hash == a.tip.hash  # equal work: the first seen stays
    update = follower.add_header(b_headers[3])
    assert update.status == "tip"
    assert update.detached == tuple(r.hash for r in a.blocks[1:])
    assert update.attached == tuple(r.hash for r in b.blocks[1:])
    assert follower.tip.hash == b.tip.hash
    assert [follower.get_main(n).hash for n in range(5)] == [r.hash for r in b.blocks]  # type: ignore[union-attr]


# ============================================================================ the tx proof
def blob_transactions_payload(block: Block) -> dict[str, Any]:
    """What ``get_block_blob_transactions`` answers (built independently of the node)."""
    tx_hashes = [compute_tx_hash(tx) for tx in block.transactions]
    chosen = [i for i, tx in enumerate(block.transactions) if tx.raw.blob_versioned_hashes]
    proof = build_cbmt_proof(tx_hashes, chosen)
    return {
        "block_hash": bytes_to_json(compute_header_hash(block.header)),
        "block_number": quantity_to_json(block.header.raw.number),
        "transactions": [
            {**transaction_to_json(block.transactions[i]), "tx_index": quantity_to_json(i)}
            for i in chosen
        ],
        "tx_hashes_root": bytes_to_json(cbmt_root(tx_hashes)),
        "tx_hashes_proof": {
            "indices": [quantity_to_json(i) for i in proof.indices],
            "lemmas": [bytes_to_json(x) for x in proof.lemmas],
        },
        "witnesses_root": bytes_to_json(
            cbmt_root([compute_witness_hash(tx) for tx in block.transactions])
        ),
    }


@pytest.fixture(scope="module")
def blob_block() -> Block:
    """A block of six transactions, three of them carrying blobs (fake versioned hashes: the
    ledger does not look at blob data)."""
    chain = Chain()
    txs = []
    for n, key in enumerate(DEVNET_KEYS[1:6]):
        tx = chain.transfer(key, chain.genesis_cell(key), chain.lock_of(key), 200 * 10**8)
        if n in (0, 2, 3):
            hashes = tuple(b"\x01" + bytes([n, i]) * 15 + b"\x00" for i in range(1 + n % 2))
            tx = sign_sighash_all(
                Transaction(replace(tx.raw, blob_versioned_hashes=hashes)), [0], key.private_key
            )
        txs.append(tx)
    block, _ = chain.mine(txs)
    return block


def test_blob_transactions_proof_binds_versioned_hashes_to_the_header(blob_block: Block) -> None:
    payload = blob_transactions_payload(blob_block)
    proven = verify_block_blob_transactions(blob_block.header, payload)
    assert [tx.tx_index for tx in proven] == [1, 3, 4]
    assert [tx.versioned_hashes for tx in proven] == [
        blob_block.transactions[i].raw.blob_versioned_hashes for i in (1, 3, 4)
    ]
    # Leaves may come in any order: the proof pairs sorted leaves with its indices.
    shuffled = dict(payload, transactions=list(reversed(payload["transactions"])))
    assert verify_block_blob_transactions(blob_block.header, shuffled) == proven


def _tampered(payload: dict[str, Any], what: str) -> dict[str, Any]:
    payload = json.loads(json.dumps(payload))
    if what == "versioned_hash":
        tx = payload["transactions"][0]
        tx["blob_versioned_hashes"][0] = "0x01" + "ee" * 31
        tx.pop("hash")
    elif what == "omitted":
        payload["transactions"].pop(1)
    elif what == "tx_index":
        payload["transactions"][0]["tx_index"] = "0x2"
    elif what == "lemma":
        payload["tx_hashes_proof"]["lemmas"][0] = "0x" + "00" * 32
    elif what == "witnesses_root":
        payload["witnesses_root"] = "0x" + "11" * 32
    elif what == "block_hash":
        payload["block_hash"] = "0x" + "22" * 32
    elif what == "no_blobs":
        payload["transactions"][0].pop("blob_versioned_hashes")
        payload["transactions"][0].pop("hash")
    elif what == "garbage":
        payload["tx_hashes_proof"] = {"indices": ["zz"], "lemmas": []}
    return payload


@pytest.mark.parametrize(
    "what",
    [
        "versioned_hash",
        "omitted",
        "tx_index",
        "lemma",
        "witnesses_root",
        "block_hash",
        "no_blobs",
        "garbage",
    ],
)
def test_a_tampered_blob_transactions_proof_is_refused(blob_block: Block, what: str) -> None:
    with pytest.raises(BlobTransactionsProofError):
        verify_block_blob_transactions(
            blob_block.header, _tampered(blob_transactions_payload(blob_block), what)
        )


# ============================================================================ sampling, fake peers
@pytest.fixture(scope="module")
def settings() -> Any:
    return get_kzg_settings()


class FakePeer:
    """Serves one block's proof and one blob's cells, honestly or with one fault."""

    def __init__(
        self,
        url: str,
        header: Header,
        payload: Any,
        sidecar: BlobSidecar,
        cells: Any,
        fault: str | None = None,
    ) -> None:
        self.url = url
        self.header = header
        self.payload = payload
        self.sidecar = sidecar
        self.cells, self.proofs = cells
        self.fault = fault
        self.asked: list[list[int]] = []

    def call(self, kind: str, method: str, *params: Any) -> tuple[Any, int]:
        if self.fault == "unreachable":
            raise PeerUnreachable("ConnectError: connection refused")
        if method == "get_block_blob_transactions":
            return self.payload, 1_000
        assert method == "get_blob_cells"
        indices = [int(i, 16) for i in params[1]]
        self.asked.append(indices)
        if self.fault == "withhold":
            raise PeerRpcError(-1201, "cells are not available")
        if self.fault == "omit":
            indices = indices[1:]
        commitment = self.sidecar.commitment
        if self.fault == "commitment":
            commitment = compute_blob_sidecar(
                pack_data_into_blobs(b"other")[0], get_kzg_settings()
            ).commitment
        cells = []
        for i in indices:
            cell = self.cells[i]
            if self.fault == "proofs":
                cell = cell[:100] + bytes([cell[100] ^ 1]) + cell[101:]
            cells.append(
                {
                    "index": hex(i),
                    "cell": bytes_to_json(cell),
                    "proof": bytes_to_json(self.proofs[i]),
                }
            )
        return {
            "versioned_hash": bytes_to_json(self.sidecar.versioned_hash),
            "commitment": bytes_to_json(commitment),
            "cells": cells,
        }, 9_000


@pytest.fixture(scope="module")
def sampled_block(settings: Any) -> tuple[Header, Any, BlobSidecar, Any]:
    """A block with one real blob: its header, proof payload, sidecar and cells."""
    sidecar = compute_blob_sidecar(pack_data_into_blobs(b"sampled batch" * 100)[0], settings)
    chain = Chain()
    key = DEVNET_KEYS[2]
    tx = chain.transfer(key, chain.genesis_cell(key), chain.lock_of(key), 200 * 10**8)
    tx = sign_sighash_all(
        Transaction(replace(tx.raw, blob_versioned_hashes=(sidecar.versioned_hash,))),
        [0],
        key.private_key,
    )
    block, _ = chain.mine([tx])
    return (
        block.header,
        blob_transactions_payload(block),
        sidecar,
        compute_cells_and_proofs(sidecar.blob, settings),
    )


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (None, None),
        ("withhold", "withheld"),
        ("omit", "withheld"),
        ("proofs", "invalid_proof"),
        ("commitment", "wrong_commitment"),
        ("unreachable", "unreachable"),
    ],
)
def test_sampler_names_the_failing_peer(
    sampled_block: Any, settings: Any, fault: str | None, code: str | None
) -> None:
    header, payload, sidecar, cells = sampled_block
    peer = FakePeer("http://peer.test", header, payload, sidecar, cells, fault)
    sampler = Sampler([peer], lambda: settings, k=8)
    result = sampler.check(header, compute_header_hash(header), None)
    if fault is None:
        assert result.status == "available"
        assert result.blobs == 1 and result.cells_sampled == 8
        assert len(peer.asked) == 1 and len(set(peer.asked[0])) == 8
        assert result.reason is None
        return
    expected = "pending" if fault == "unreachable" else "unavailable"
    assert result.status == expected
    assert result.failed_peers == ["http://peer.test"]
    assert [s.code for s in result.samples if not s.ok] == [code]
    assert result.reason is not None and "http://peer.test" in result.reason


def test_sampler_falls_back_to_an_honest_peer_and_audit_mode_asks_everyone(
    sampled_block: Any, settings: Any
) -> None:
    header, payload, sidecar, cells = sampled_block
    bad = FakePeer("http://bad.test", header, payload, sidecar, cells, "proofs")
    good = FakePeer("http://good.test", header, payload, sidecar, cells)
    for _ in range(5):
        result = Sampler([bad, good], lambda: settings, k=4).check(
            header, compute_header_hash(header), None
        )
        assert result.status == "available"
    audit = Sampler([good, bad], lambda: settings, k=4, query_all_peers=True).check(
        header, compute_header_hash(header), None
    )
    assert audit.status == "available"
    assert audit.failed_peers == ["http://bad.test"]
    # Every sample picks fresh random cells.
    assert len({tuple(a) for a in good.asked}) > 1


# ============================================================================ end to end
def light_client(data_dir: Path, peers: list[str], *extra: str) -> Proc:
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "l1",
        "light",
        "--port",
        str(port),
        "--spec",
        str(TEST_SPEC),
        "--interval",
        "0.3",
        "--samples",
        "8",
        "--data-dir",
        str(data_dir),
        "--log-level",
        "warning",
    ]
    for peer in peers:
        args += ["--peer", peer]
    return Proc([*args, *extra], data_dir / "light.log", f"http://127.0.0.1:{port}")


def get(proc: Proc, path: str) -> httpx.Response:
    return httpx.get(proc.url + path, timeout=10)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Proc]]:
    honest = l1_node(tmp_path_factory.mktemp("honest")).start()
    procs = {"honest": honest}
    try:
        honest.wait_healthy()
        for name, fault in (("withhold", "withhold-cells"), ("corrupt", "corrupt-cells")):
            procs[name] = l1_node(
                tmp_path_factory.mktemp(name), peers=(honest.url,), extra=("--fault", fault)
            ).start()
        for proc in procs.values():
            proc.wait_healthy()
        yield procs
    finally:
        for proc in procs.values():
            proc.stop()


def blob_transaction(client: L1Client, key_index: int, sidecars: list[BlobSidecar]) -> Transaction:
    key = DEVNET_KEYS[key_index]
    code_hash, dep = client.get_system_script()
    lock = Script(code_hash, 1, key.lock_args)
    cell = client.get_live_cells(lock)[0]
    tx = Transaction(
        RawTransaction(
            cell_deps=(dep,),
            inputs=(CellInput(cell.out_point),),
            outputs=(CellOutput(cell.output.capacity - 100_000, lock),),
            outputs_data=(b"",),
            blob_versioned_hashes=tuple(s.versioned_hash for s in sidecars),
        )
    )
    return sign_sighash_all(tx, [0], key.private_key)


@pytest.fixture(scope="module")
def chain_with_blobs(nodes: dict[str, Proc], settings: Any) -> dict[str, Any]:
    """One block carrying three blobs in two transactions, then one block without blobs; the
    faulty nodes sync both (with the blob data: only their cell serving is faulty)."""
    honest = nodes["honest"]
    sidecars = [
        compute_blob_sidecar(
            pack_data_into_blobs(f"rollup batch {n} ".encode() * (2_000 + n))[0], settings
        )
        for n in range(3)
    ]
    with L1Client(honest.url) as client:
        client.generate_block()
        for key_index, group in ((5, sidecars[:1]), (6, sidecars[1:])):
            tx = blob_transaction(client, key_index, group)
            client.call(
                "send_blob_transaction",
                transaction_to_json(tx, with_hash=False),
                [sidecar_to_json(s) for s in group],
            )
        blob_hash = client.generate_block()
        empty_hash = client.generate_block()
        tip = client.get_tip_block_number()
    for name in ("withhold", "corrupt"):
        with L1Client(nodes[name].url) as client:
            wait_until(lambda c=client: c.get_tip_block_number() >= tip, 60, 0.2, f"{name} syncs")
            blob = client.call("get_blob", bytes_to_json(sidecars[2].versioned_hash))
            assert blob["block_hash"] == bytes_to_json(blob_hash)
    return {"blob_hash": blob_hash, "empty_hash": empty_hash, "tip": tip, "sidecars": sidecars}


def wait_for_verdict(light: Proc, block_hash: bytes, timeout: float = 60.0) -> dict[str, Any]:
    def decided() -> dict[str, Any] | None:
        view = get(light, f"/v1/blocks/0x{block_hash.hex()}")
        if view.status_code != 200:
            return None
        body = view.json()
        return body if body["availability"] in ("available", "unavailable") else None

    return wait_until(decided, timeout, 0.2, f"availability of {block_hash.hex()[:12]}")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def lights(
    nodes: dict[str, Proc],
    chain_with_blobs: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Proc]]:
    procs = {
        name: light_client(tmp_path_factory.mktemp(f"light-{name}"), [nodes[name].url]).start()
        for name in ("honest", "withhold", "corrupt")
    }
    procs["both"] = light_client(
        tmp_path_factory.mktemp("light-both"),
        [nodes["withhold"].url, nodes["honest"].url],
        "--all-peers",
    ).start()
    try:
        for proc in procs.values():
            proc.wait_healthy()
        yield procs
    finally:
        for proc in procs.values():
            proc.stop()


@pytest.mark.e2e
@pytest.mark.slow
def test_node_serves_blob_transactions_with_a_proof(
    nodes: dict[str, Proc], chain_with_blobs: dict[str, Any]
) -> None:
    with L1Client(nodes["honest"].url) as client:
        block_hash = chain_with_blobs["blob_hash"]
        header = header_from_json(client.call("get_header", bytes_to_json(block_hash)))
        payload = client.call("get_block_blob_transactions", bytes_to_json(block_hash))
        proven = verify_block_blob_transactions(header, payload)
        assert sorted(len(tx.versioned_hashes) for tx in proven) == [1, 2]
        assert {h for tx in proven for h in tx.versioned_hashes} == {
            s.versioned_hash for s in chain_with_blobs["sidecars"]
        }
        empty = client.call(
            "get_block_blob_transactions", bytes_to_json(chain_with_blobs["empty_hash"])
        )
        assert empty["transactions"] == [] and empty["tx_hashes_proof"] is None
        empty_header = header_from_json(
            client.call("get_header", bytes_to_json(chain_with_blobs["empty_hash"]))
        )
        assert verify_block_blob_transactions(empty_header, empty) == ()
        assert client.call("get_block_blob_transactions", "0x" + "ab" * 32) is None
        with pytest.raises(L1RpcError, match="block_hash"):
            client.call("get_block_blob_transactions", "0x1234")


@pytest.mark.e2e
@pytest.mark.slow
def test_light_client_with_an_honest_peer_finds_the_block_available(
    nodes: dict[str, Proc], chain_with_blobs: dict[str, Any], lights: dict[str, Proc]
) -> None:
    light = lights["honest"]
    view = wait_for_verdict(light, chain_with_blobs["blob_hash"])
    assert view["availability"] == "available", view
    assert view["blobs"] == 3 and view["reason"] is None and view["failed_peers"] == []
    cell_samples = [s for s in view["samples"] if s["stage"] == "cells"]
    assert len(cell_samples) == 3
    assert all(
        s["ok"] and s["peer"] == nodes["honest"].url and len(s["indices"]) == 8
        for s in cell_samples
    )
    assert view["cells_sampled"] == 24
    # The head follows the node's tip, with the node's total difficulty.
    wait_until(
        lambda: get(light, "/v1/head").json()["number"] == chain_with_blobs["tip"], 30, 0.2, "head"
    )
    head = get(light, "/v1/head").json()
    with L1Client(nodes["honest"].url) as client:
        assert head["hash"] == client.call("get_tip_header")["hash"]
    status = httpx.get(nodes["honest"].url + "/p2p/status", timeout=5).json()
    assert head["total_difficulty"] == status["total_difficulty"]
    empty = wait_for_verdict(light, chain_with_blobs["empty_hash"])
    assert empty["availability"] == "available" and empty["blobs"] == 0
    by_number = get(light, f"/v1/blocks/{view['number']}").json()
    assert by_number["hash"] == view["hash"]
    listing = get(light, "/v1/blocks?from=0&limit=50").json()
    assert [b["number"] for b in listing["blocks"]] == list(range(chain_with_blobs["tip"] + 1))
    metrics = get(light, "/metrics").text
    assert f"light_head_number {chain_with_blobs['tip']}" in metrics
    assert "light_blocks_unavailable 0" in metrics
    assert 'light_bytes_downloaded_total{kind="cells"}' in metrics
    # What sampling cost against what downloading the blobs would have.
    full = 3 * BYTES_PER_BLOB
    print(
        f"\nlight client, block with 3 blobs, k=8: {view['bytes_downloaded']} bytes on the wire "
        f"({view['bytes_downloaded'] / full:.3f} of {full} blob bytes), raw samples "
        f"{view['cells_sampled'] * SAMPLE_BYTES} bytes ({view['cells_sampled'] * SAMPLE_BYTES / full:.3f}), "
        f"sampling took {view['sample_seconds'] * 1000:.1f} ms"
    )
    assert view["bytes_downloaded"] < full / 2
    # Warm figures (the node computes a blob's 128 cells once, ~0.5 s, then serves from cache).
    block_hash = chain_with_blobs["blob_hash"]
    with L1Client(nodes["honest"].url) as client:
        header = header_from_json(client.call("get_header", bytes_to_json(block_hash)))
    peer = PeerClient(nodes["honest"].url, ByteMeter())
    try:
        runs = [
            Sampler([peer], get_kzg_settings, k=8).check(header, block_hash, None) for _ in range(5)
        ]
    finally:
        peer.close()
    assert all(run.status == "available" for run in runs)
    seconds = sorted(run.seconds for run in runs)[2]
    print(
        f"warm: median {seconds * 1000:.1f} ms per block, {runs[0].bytes_downloaded} bytes "
        f"(tx proof {peer.meter.snapshot()['blob_txs'] // 5} bytes); "
        + " ".join(line for line in metrics.splitlines() if line.startswith("light_bytes"))
    )


@pytest.mark.e2e
@pytest.mark.slow
def test_light_client_marks_withheld_cells_unavailable_and_names_the_peer(
    nodes: dict[str, Proc], chain_with_blobs: dict[str, Any], lights: dict[str, Proc]
) -> None:
    view = wait_for_verdict(lights["withhold"], chain_with_blobs["blob_hash"])
    url = nodes["withhold"].url
    assert view["availability"] == "unavailable", view
    assert view["failed_peers"] == [url]
    assert url in view["reason"] and "withheld" in view["reason"]
    failures = [s for s in view["samples"] if not s["ok"]]
    assert failures and all(s["peer"] == url and s["code"] == "withheld" for s in failures)
    # The header chain itself is fine, and a block without blobs is available.
    assert (
        wait_for_verdict(lights["withhold"], chain_with_blobs["empty_hash"])["availability"]
        == "available"
    )
    assert "light_blocks_unavailable 1" in get(lights["withhold"], "/metrics").text


@pytest.mark.e2e
@pytest.mark.slow
def test_light_client_marks_corrupt_cells_unavailable_with_an_invalid_proof(
    nodes: dict[str, Proc], chain_with_blobs: dict[str, Any], lights: dict[str, Proc]
) -> None:
    view = wait_for_verdict(lights["corrupt"], chain_with_blobs["blob_hash"])
    url = nodes["corrupt"].url
    assert view["availability"] == "unavailable", view
    assert view["failed_peers"] == [url]
    assert url in view["reason"] and "invalid proof" in view["reason"]
    assert {s["code"] for s in view["samples"] if not s["ok"]} == {"invalid_proof"}


@pytest.mark.e2e
@pytest.mark.slow
def test_one_honest_peer_is_enough_and_the_withholder_is_still_named(
    nodes: dict[str, Proc], chain_with_blobs: dict[str, Any], lights: dict[str, Proc]
) -> None:
    view = wait_for_verdict(lights["both"], chain_with_blobs["blob_hash"])
    assert view["availability"] == "available", view
    assert view["failed_peers"] == [nodes["withhold"].url]  # audit mode asks every peer
    peers = get(lights["both"], "/v1/peers").json()
    assert {p["url"] for p in peers} == {nodes["withhold"].url, nodes["honest"].url}


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/blocks/notablock", 400),
        ("/v1/blocks/-1", 400),
        ("/v1/blocks/" + "9" * 30, 400),
        ("/v1/blocks/0x" + "ab" * 32, 404),
        ("/v1/blocks/999999", 404),
        ("/v1/blocks?limit=0", 400),
        ("/v1/blocks?limit=abc", 400),
        ("/v1/blocks?from=-3", 400),
        ("/v1/nothing", 404),
    ],
)
def test_light_api_answers_bad_input_with_4xx(
    lights: dict[str, Proc], path: str, status: int
) -> None:
    response = get(lights["honest"], path)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] and error["message"]


@pytest.mark.e2e
@pytest.mark.slow
def test_light_cli_refuses_bad_options(tmp_path: Path) -> None:
    for args in ([], ["--peer", "http://127.0.0.1:1", "--samples", "0"], ["--peer", "ftp://x"]):
        done = subprocess.run(
            [sys.executable, "-m", "l1", "light", "--spec", str(TEST_SPEC), *args],
            capture_output=True,
            timeout=60,
        )
        assert done.returncode == 2, done
        assert b"error:" in done.stderr
