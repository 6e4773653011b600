"""The node's chain over both supported stores: SQLite (the default) and PostgreSQL (any
SQLAlchemy URL). Mining, a reorg that returns a spent cell to life, and reopening the store
must give the same results on both."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from l1.ckb.hashes import (
    compute_header_hash,
    compute_pow_hash,
    compute_script_hash,
    compute_tx_hash,
)
from l1.ckb.pow import find_nonce
from l1.ckb.types import Block, CellInput, CellOutput, Header, OutPoint, RawTransaction, Transaction
from l1.core.block import assemble_block
from l1.core.genesis import build_genesis, chain_spec_from_json
from l1.core.scripts import build_default_registry
from l1.core.scripts.secp256k1 import sign_sighash_all
from l1.devnet_keys import DEVNET_KEYS
from l1.node.chain import Chain, MainChainHeaders, StoreCellProvider
from l1.node.store import Store

ROOT = Path(__file__).resolve().parents[2]
SPEC = chain_spec_from_json(json.loads((ROOT / "l1/specs/test.json").read_text()))
GENESIS = build_genesis(SPEC)
SECP = GENESIS.system_scripts["secp256k1_blake160_sighash_all"]
POSTGRES_ADMIN_URL = os.environ.get(
    "ROLLCOURT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1/postgres"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'a.sqlite'}", f"sqlite:///{tmp_path / 'b.sqlite'}"
        return
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    names = [f"rollcourt_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f"CREATE DATABASE {name}"))
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _chain(url: str) -> Chain:
    return Chain(
        Store(url), GENESIS, SPEC.preset, build_default_registry(allow_always_success=True)
    )


def _mine(chain: Chain, key: int, txs: list[Transaction] | None = None) -> Block:
    context = chain.parent_context(chain.tip.hash)
    with chain.store.read() as conn:
        assembled = assemble_block(
            SPEC.preset,
            context,
            txs or [],
            StoreCellProvider(chain.store, conn),
            MainChainHeaders(chain, chain.main),
            chain.registry,
            SECP.script(DEVNET_KEYS[key].lock_args),
            context.header.raw.timestamp + 1000,
        )
    assert not assembled.rejected
    block = assembled.block
    nonce = find_nonce(
        compute_pow_hash(block.header.raw), block.header.raw.compact_target, 0, 1 << 16
    )
    assert nonce is not None
    block = replace(block, header=Header(block.header.raw, nonce))
    assert chain.process_block(block).status == "tip"
    return block


def test_reorg_restores_spent_cells_and_survives_reopen(store_urls: tuple[str, str]) -> None:
    url_a, url_b = store_urls
    a, b = _chain(url_a), _chain(url_b)
    for block in [_mine(a, 0) for _ in range(3)]:
        b.process_block(block)
    cellbase = GENESIS.block.transactions[0]
    genesis_cell = OutPoint(compute_tx_hash(cellbase), 4)
    capacity = cellbase.raw.outputs[4].capacity
    transfer = sign_sighash_all(
        Transaction(
            RawTransaction(
                cell_deps=(SECP.cell_dep,),
                inputs=(CellInput(genesis_cell),),
                outputs=(CellOutput(capacity - 10_000, SECP.script(DEVNET_KEYS[1].lock_args)),),
                outputs_data=(b"",),
            )
        ),
        [0],
        DEVNET_KEYS[0].private_key,
    )
    minority = [_mine(a, 0, [transfer])] + [_mine(a, 0)]
    majority = [_mine(b, 1) for _ in range(4)]
    with a.store.read() as conn:
        assert a.store.get_live_cell(conn, genesis_cell) is None
    for block in majority:
        a.process_block(block)
    for block in minority:
        b.process_block(block)
    assert a.tip.hash == b.tip.hash == compute_header_hash(majority[-1].header)
    with a.store.read() as conn:
        assert a.store.get_live_cell(conn, genesis_cell) is not None  # the spend was undone
        assert a.store.get_transaction_location(conn, compute_tx_hash(transfer)) is None
        recipient = compute_script_hash(SECP.script(DEVNET_KEYS[1].lock_args))
        balance_before_reopen = a.store.total_capacity_by_lock(conn, recipient)
    reopened = _chain(url_a)
    assert reopened.tip.hash == a.tip.hash
    assert reopened.main == a.main
    with reopened.store.read() as conn:
        assert reopened.store.total_capacity_by_lock(conn, recipient) == balance_before_reopen
    for chain in (a, b, reopened):
        chain.store.engine.dispose()
