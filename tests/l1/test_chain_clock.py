"""A block from too far in the future is refused for now but not remembered as invalid
(RFC 0027: the future-time bound is not a consensus rule); once the node's clock catches up, the
same block is accepted."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from l1.ckb.hashes import compute_pow_hash
from l1.ckb.pow import find_nonce
from l1.ckb.types import Header
from l1.core.block import assemble_block
from l1.core.errors import BlockTimeTooNew
from l1.core.genesis import build_genesis, chain_spec_from_json
from l1.core.scripts import build_default_registry
from l1.devnet_keys import DEVNET_KEYS
from l1.node.chain import Chain, MainChainHeaders, StoreCellProvider
from l1.node.store import Store

ROOT = Path(__file__).resolve().parents[2]


def test_future_block_is_refused_then_accepted_when_the_clock_catches_up(tmp_path: Path) -> None:
    spec = chain_spec_from_json(json.loads((ROOT / "l1/specs/test.json").read_text()))
    genesis = build_genesis(spec)
    now = [genesis.block.header.raw.timestamp + 60_000]
    chain = Chain(
        Store(f"sqlite:///{tmp_path / 'c.sqlite'}"),
        genesis,
        spec.preset,
        build_default_registry(allow_always_success=True),
        clock_ms=lambda: now[0],
    )
    context = chain.parent_context(chain.tip.hash)
    lock = genesis.system_scripts["secp256k1_blake160_sighash_all"].script(DEVNET_KEYS[0].lock_args)
    with chain.store.read() as conn:
        assembled = assemble_block(
            spec.preset,
            context,
            [],
            StoreCellProvider(chain.store, conn),
            MainChainHeaders(chain, chain.main),
            chain.registry,
            lock,
            now[0] + 20_000,
        )
    block = assembled.block
    nonce = find_nonce(compute_pow_hash(block.header.raw), block.header.raw.compact_target, 0, 4096)
    assert nonce is not None
    block = replace(block, header=Header(block.header.raw, nonce))
    with pytest.raises(BlockTimeTooNew, match="too far in the future"):
        chain.process_block(block)
    assert chain.tip.number == 0
    now[0] += 10_000  # now the block is within the allowed 15 s drift
    assert chain.process_block(block).status == "tip"
    assert chain.tip.number == 1
