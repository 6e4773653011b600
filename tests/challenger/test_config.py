"""Challenger settings: keys, rollup id sources, the test-only fault and its preset guard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from challenger.config import (
    DEFAULT_L1_URL,
    ChallengerConfig,
    ConfigError,
    FaultNotAllowed,
    check_fault_allowed,
    format_validation_error,
    parse_fault,
    parse_private_key,
    parse_rollup_id,
    read_devnet_rollup_id,
)
from l1.devnet_keys import DEVNET_KEYS

ROLLUP_ID = bytes(range(32))
SECRET = "ab" * 32


def make_config(**values: object) -> ChallengerConfig:
    base: dict[str, object] = {"key": "devnet:1", "rollup_id": ROLLUP_ID.hex()}
    base.update(values)
    return ChallengerConfig(**base)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- keys
@pytest.mark.parametrize("index", [0, 1, 9])
def test_devnet_key_is_that_devnet_key(index: int) -> None:
    assert parse_private_key(f"devnet:{index}") == DEVNET_KEYS[index].private_key


def test_hex_key_with_or_without_prefix() -> None:
    assert parse_private_key(SECRET) == bytes.fromhex(SECRET)
    assert parse_private_key("0x" + SECRET) == bytes.fromhex(SECRET)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("devnet:x", "devnet:N with N an integer"),
        ("devnet:10", "out of range 0..9"),
        ("devnet:-1", "out of range"),
        ("zz" * 32, "32 bytes of hex or devnet:N"),
        ("ab" * 31, "must be 32 bytes, got 31"),
    ],
)
def test_bad_key_is_a_clear_error(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_private_key(value)


def test_bad_key_is_never_echoed() -> None:
    secret = "cd" * 31  # a near-miss key must not land in a log
    with pytest.raises(ValidationError) as info:
        make_config(key=secret)
    assert secret not in str(info.value)
    assert secret not in format_validation_error(info.value)
    assert "key: key must be 32 bytes, got 31" in format_validation_error(info.value)


def test_private_key_from_config() -> None:
    assert make_config(key="devnet:3").private_key() == DEVNET_KEYS[3].private_key


# ----------------------------------------------------------------------------- required settings
def test_defaults() -> None:
    config = make_config()
    assert config.l1_url == DEFAULT_L1_URL == "http://127.0.0.1:8114"
    assert (config.host, config.port) == ("127.0.0.1", 8300)
    assert config.poll_interval == 1.0
    assert config.data_dir == Path("./devnet-data/challenger")
    assert config.genesis_accounts == "devnet"
    assert config.fault is None
    assert config.resolved_database_url().endswith("/devnet-data/challenger/challenger.sqlite")
    assert config.player_dir == Path("./devnet-data/challenger/player")


def test_key_is_required() -> None:
    with pytest.raises(ValidationError) as info:
        ChallengerConfig(rollup_id=ROLLUP_ID.hex())
    assert "a key is required" in format_validation_error(info.value)


def test_rollup_id_or_devnet_json_is_required(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        ChallengerConfig(key="devnet:1")
    assert "exactly one of --rollup-id HEX or --devnet-json PATH" in format_validation_error(
        info.value
    )
    with pytest.raises(ValidationError, match="exactly one of"):
        make_config(devnet_json=tmp_path / "devnet.json")


@pytest.mark.parametrize(
    ("value", "message"), [("zz", "must be hex"), ("00" * 31, "32 bytes, got 31")]
)
def test_bad_rollup_id(value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make_config(rollup_id=value)


def test_rollup_id_accepts_0x() -> None:
    assert make_config(rollup_id="0x" + ROLLUP_ID.hex()).resolved_rollup_id() == ROLLUP_ID
    assert parse_rollup_id(ROLLUP_ID.hex().upper()) == ROLLUP_ID


def test_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ROLLCOURT_CHALLENGER_KEY", "devnet:2")
    monkeypatch.setenv("ROLLCOURT_CHALLENGER_ROLLUP_ID", "0x" + ROLLUP_ID.hex())
    monkeypatch.setenv("ROLLCOURT_CHALLENGER_L1_URL", "http://l1:9000")
    monkeypatch.setenv("ROLLCOURT_CHALLENGER_PORT", "8399")
    monkeypatch.setenv("ROLLCOURT_CHALLENGER_POLL_INTERVAL", "0.5")
    monkeypatch.setenv("ROLLCOURT_CHALLENGER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ROLLCOURT_CHALLENGER_FAULT", "dishonest-at 4")
    config = ChallengerConfig()
    assert config.private_key() == DEVNET_KEYS[2].private_key
    assert config.resolved_rollup_id() == ROLLUP_ID
    assert (config.l1_url, config.port, config.poll_interval) == ("http://l1:9000", 8399, 0.5)
    assert config.resolved_database_url() == f"sqlite:///{tmp_path.resolve()}/challenger.sqlite"
    assert config.dishonest_batches() == frozenset({4})
    # a flag (constructor argument) wins over the environment
    assert ChallengerConfig(port=8301).port == 8301


def test_unknown_setting_is_refused() -> None:
    with pytest.raises(ValidationError):
        make_config(preset="devnet")


@pytest.mark.parametrize("value", [0, -1.0])
def test_poll_interval_must_be_positive(value: float) -> None:
    with pytest.raises(ValidationError, match="poll_interval"):
        make_config(poll_interval=value)


# ----------------------------------------------------------------------------- devnet.json
def write_devnet_file(path: Path, rollup_id: object) -> Path:
    roles = {"l1": {"rpc": "http://127.0.0.1:8114"}, "sequencer": {"url": "http://x"}}
    if rollup_id is not None:
        roles["sequencer"]["rollup_id"] = rollup_id  # type: ignore[assignment]
    path.write_text(json.dumps({"version": 1, "roles": roles}))
    return path


def test_rollup_id_from_devnet_json(tmp_path: Path) -> None:
    path = write_devnet_file(tmp_path / "devnet.json", "0x" + ROLLUP_ID.hex())
    assert read_devnet_rollup_id(path) == ROLLUP_ID
    config = ChallengerConfig(key="devnet:1", devnet_json=path)
    assert config.resolved_rollup_id() == ROLLUP_ID


def test_devnet_json_without_rollup_id(tmp_path: Path) -> None:
    path = write_devnet_file(tmp_path / "devnet.json", None)
    with pytest.raises(ConfigError, match=r"no roles\.sequencer\.rollup_id"):
        read_devnet_rollup_id(path)


def test_devnet_json_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        read_devnet_rollup_id(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read"):
        read_devnet_rollup_id(bad)


def test_devnet_json_bad_rollup_id(tmp_path: Path) -> None:
    path = write_devnet_file(tmp_path / "devnet.json", 7)
    with pytest.raises(ConfigError, match="not a string"):
        read_devnet_rollup_id(path)
    path = write_devnet_file(tmp_path / "devnet.json", "0x1234")
    with pytest.raises(ConfigError, match="32 bytes, got 2"):
        read_devnet_rollup_id(path)


# ----------------------------------------------------------------------------- the fault
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("dishonest-at 3", {3}),
        ("dishonest-at 0,5", {0, 5}),
        ("dishonest-at 2, 7", {2, 7}),
        ("  dishonest-at   1  ", {1}),
    ],
)
def test_parse_fault(value: str, expected: set[int]) -> None:
    assert parse_fault(value) == frozenset(expected)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("dishonest-at", "must be 'dishonest-at N"),
        ("ignore-deposits-of 3", "must be 'dishonest-at N"),
        ("dishonest-at x", "'x' is not a batch number"),
        ("dishonest-at 1,,2", "'' is not a batch number"),
        ("dishonest-at -1", "negative"),
    ],
)
def test_bad_fault(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_fault(value)


def test_fault_normalised_in_config() -> None:
    config = make_config(fault="dishonest-at   1,2")
    assert config.fault == "dishonest-at 1,2"
    assert config.dishonest_batches() == frozenset({1, 2})
    assert make_config(fault="").fault is None


@pytest.mark.parametrize("preset", ["devnet", "test"])
def test_fault_allowed_on_devnet_and_test(preset: str) -> None:
    check_fault_allowed("dishonest-at 1", preset)


@pytest.mark.parametrize("preset", ["large", "mainnet", ""])
def test_fault_refused_elsewhere(preset: str) -> None:
    with pytest.raises(FaultNotAllowed, match="only allowed on rollups with the devnet or test"):
        check_fault_allowed("dishonest-at 1", preset)


def test_no_fault_is_fine_on_any_preset() -> None:
    check_fault_allowed(None, "large")


def test_fault_refusal_is_a_config_error() -> None:
    """``python -m challenger`` maps ConfigError (a ValueError) to exit code 2."""
    assert issubclass(FaultNotAllowed, ConfigError)
    assert issubclass(ConfigError, ValueError)
