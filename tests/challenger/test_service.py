"""Start-up pieces of the challenger service that need no L1: genesis choice, the rollup's
rules from its cell, the data-dir lock, the L1 wait."""

from __future__ import annotations

from pathlib import Path

import pytest

from challenger.service import (
    ChallengerStartupError,
    DataDirLock,
    L1Unreachable,
    build_rollup_config,
    choose_genesis,
    connect_l1,
    genesis_candidates,
)
from l1.ckb.types import CellOutput, OutPoint, Script
from l1.core.scripts.rollup.layout import RollupState
from l2.client.bridge import RollupCell
from l2.config import RollupConfig
from l2.preset import get_preset
from l2.profile import OPTIMISTIC
from l2.state import create_genesis_state
from sequencer.config import load_genesis_accounts

ROLLUP_ID = bytes(range(32))


def make_config() -> RollupConfig:
    return RollupConfig(
        chain_id=7,
        rollup_id=ROLLUP_ID,
        fee_account=0,
        preset=get_preset("test"),
        profile=OPTIMISTIC,
    )


def rollup_cell(preset: str, chain_id: int = 9, fee_account: int = 2) -> RollupCell:
    state = RollupState(
        chain_id=chain_id,
        proposer_lock_hash=b"\x00" * 32,
        bond=1,
        challenge_window=10,
        forced_inclusion_window=10,
        escape_timeout=10,
        game_clock=10,
        burn_permille=0,
        fee_account=fee_account,
        l2_preset=preset,
        next_batch_number=0,
        next_final_batch=0,
        state_root=b"\x00" * 32,
        next_deposit_index=0,
        idle_blocks=0,
        pending_forced=(),
    )
    output = CellOutput(0, Script(b"\x00" * 32, 1, b""))
    return RollupCell(OutPoint(b"\x00" * 32, 0), output, state.encode(), state, 1)


# ----------------------------------------------------------------------------- genesis
def test_devnet_means_empty_first_then_devnet_accounts() -> None:
    names = [name for name, _accounts in genesis_candidates("devnet")]
    assert names == ["empty", "devnet"]
    assert genesis_candidates("devnet")[0][1] == []


def test_genesis_file_is_the_only_candidate(tmp_path: Path) -> None:
    path = tmp_path / "genesis.json"
    path.write_text('[{"public_key": "0x' + "02" + "11" * 32 + '", "balance": 5}]')
    [(name, accounts)] = genesis_candidates(str(path))
    assert name == str(path)
    assert accounts[0].balance == 5


def test_bad_genesis_file_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read genesis accounts"):
        genesis_candidates(str(tmp_path / "missing.json"))


def test_choose_genesis_by_root() -> None:
    config = make_config()
    candidates = genesis_candidates("devnet")
    devnet_root = create_genesis_state(config, load_genesis_accounts("devnet")).get_root()
    name, state = choose_genesis(config, candidates, devnet_root)
    assert name == "devnet"
    assert state.get_root() == devnet_root
    empty_root = create_genesis_state(config, []).get_root()
    assert choose_genesis(config, candidates, empty_root)[0] == "empty"


def test_choose_genesis_unknown_root_takes_the_sequencers_reading() -> None:
    name, _state = choose_genesis(make_config(), genesis_candidates("devnet"), None)
    assert name == "empty"


def test_choose_genesis_mismatch_is_fatal() -> None:
    with pytest.raises(ChallengerStartupError, match="pass the rollup's --genesis-accounts"):
        choose_genesis(make_config(), genesis_candidates("devnet"), b"\x42" * 32)


# ----------------------------------------------------------------------------- the rules
def test_rollup_config_comes_from_the_cell() -> None:
    config = build_rollup_config(ROLLUP_ID, rollup_cell("devnet", chain_id=9, fee_account=2))
    assert (config.chain_id, config.fee_account, config.rollup_id) == (9, 2, ROLLUP_ID)
    assert config.preset == get_preset("devnet")
    assert config.profile is OPTIMISTIC


# ----------------------------------------------------------------------------- lock, L1
def test_one_challenger_per_data_dir(tmp_path: Path) -> None:
    first = DataDirLock(tmp_path / "LOCK").acquire()
    try:
        with pytest.raises(ChallengerStartupError, match="another challenger"):
            DataDirLock(tmp_path / "LOCK").acquire()
    finally:
        first.release()
    DataDirLock(tmp_path / "LOCK").acquire().release()  # free again


def test_unreachable_l1_gives_up_after_the_wait() -> None:
    pauses: list[float] = []
    with pytest.raises(L1Unreachable, match=r"did not answer within 0\.5 s"):
        connect_l1("http://127.0.0.1:1", 0.5, sleep=pauses.append)
    assert pauses and pauses == sorted(pauses)  # backoff grows


def test_no_wait_fails_at_once() -> None:
    with pytest.raises(L1Unreachable, match="is the node running"):
        connect_l1("http://127.0.0.1:1", 0.0, sleep=lambda _s: None)
