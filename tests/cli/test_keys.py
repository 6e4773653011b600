"""``rollcourt keys``: key generation, key files (0600, never overwritten), ``--key`` parsing."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import coincurve
import pytest

from l1.ckb.hashing import blake160
from l1.devnet_keys import DEVNET_KEY_WARNING, DEVNET_KEYS
from rollcourt.errors import InvalidKey, InvalidLockArgs, KeyFileExists
from rollcourt.keys import (
    DEFAULT_LOCK_CODE_HASH,
    generate_key,
    load_key,
    parse_lock_args,
    write_key_file,
)
from tests.cli.clitools import invoke
from tests.support.procs import free_port

SECP_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _rows(stdout: str) -> dict[str, str]:
    rows = {}
    for line in stdout.splitlines():
        label, _, value = line.partition("  ")
        rows[label.strip()] = value.strip()
    return rows


def test_keys_new_prints_a_consistent_key() -> None:
    result = invoke("keys", "new")
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    private_key = bytes.fromhex(rows["private key"].removeprefix("0x"))
    public_key = coincurve.PrivateKey(private_key).public_key.format(compressed=True)
    assert rows["public key"] == "0x" + public_key.hex()
    assert rows["lock args"] == "0x" + blake160(public_key).hex()
    assert json.loads(rows["lock script"]) == {
        "code_hash": DEFAULT_LOCK_CODE_HASH,
        "hash_type": "type",
        "args": "0x" + blake160(public_key).hex(),
    }


def test_keys_new_out_writes_a_0600_file_and_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "alice.json"
    result = invoke("keys", "new", "--out", str(path), "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = json.loads(path.read_text())
    assert content["private_key"] == printed["private_key"]
    assert content["lock_args"] == printed["lock_args"]
    assert content["lock_script"]["args"] == printed["lock_args"]
    assert load_key(str(path)).lock_args.hex() == printed["lock_args"][2:]

    before = path.read_bytes()
    again = invoke("keys", "new", "--out", str(path))
    assert again.exit_code == 1
    assert again.stderr.startswith("error: ")
    assert "already exists; refusing to overwrite" in again.stderr
    assert "Traceback" not in again.output
    assert path.read_bytes() == before


def test_keys_new_unreachable_rpc_falls_back_to_the_default_code_hash() -> None:
    result = invoke("keys", "new", "--rpc", f"http://127.0.0.1:{free_port()}", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["lock_script"]["code_hash"] == DEFAULT_LOCK_CODE_HASH
    assert "warning: using the default code hash" in result.stderr


def test_keys_devnet_lists_the_public_keys_with_a_warning() -> None:
    result = invoke("keys", "devnet")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"WARNING: {DEVNET_KEY_WARNING}"
    assert lines[1:] == [
        f"({k.index}) private key 0x{k.private_key.hex()}  lock args 0x{k.lock_args.hex()}"
        for k in DEVNET_KEYS
    ]
    as_json = json.loads(invoke("keys", "devnet", "--json").stdout)
    assert as_json["public"] is True
    assert [k["lock_args"] for k in as_json["keys"]] == [
        "0x" + k.lock_args.hex() for k in DEVNET_KEYS
    ]


def test_generate_key_is_valid_and_fresh() -> None:
    keys = {generate_key().private_key for _ in range(20)}
    assert len(keys) == 20
    assert all(0 < int.from_bytes(k, "big") < SECP_N for k in keys)


def test_load_key_forms(tmp_path: Path) -> None:
    devnet = load_key("devnet:3")
    assert devnet.private_key == DEVNET_KEYS[3].private_key
    assert devnet.is_public
    hex_key = DEVNET_KEYS[2].private_key.hex()
    assert load_key(hex_key).lock_args == DEVNET_KEYS[2].lock_args
    assert load_key("0x" + hex_key).lock_args == DEVNET_KEYS[2].lock_args
    path = tmp_path / "k.json"
    key = generate_key()
    write_key_file(path, key, {})
    assert load_key(str(path)).private_key == key.private_key
    with pytest.raises(KeyFileExists):
        write_key_file(path, generate_key(), {})


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("devnet:10", "devnet keys are devnet:0 to devnet:9"),
        ("devnet:x", "devnet keys are devnet:0 to devnet:9"),
        ("0x" + "00" * 32, "out of range"),
        ("0x" + "ff" * 32, "out of range"),
        ("0x1234", "neither a key file"),
        ("/nonexistent/key.json", "neither a key file"),
    ],
)
def test_load_key_rejects(spec: str, fragment: str) -> None:
    with pytest.raises(InvalidKey, match=fragment):
        load_key(spec)


def test_load_key_rejects_bad_files(tmp_path: Path) -> None:
    not_json = tmp_path / "a.json"
    not_json.write_text("nope")
    with pytest.raises(InvalidKey, match="is not JSON"):
        load_key(str(not_json))
    no_key = tmp_path / "b.json"
    no_key.write_text("{}")
    with pytest.raises(InvalidKey, match="no 32-byte hex 'private_key'"):
        load_key(str(no_key))
    tampered = tmp_path / "c.json"
    tampered.write_text(
        json.dumps(
            {
                "private_key": "0x" + DEVNET_KEYS[0].private_key.hex(),
                "lock_args": "0x" + DEVNET_KEYS[1].lock_args.hex(),
            }
        )
    )
    with pytest.raises(InvalidKey, match="inconsistent"):
        load_key(str(tampered))


def test_parse_lock_args() -> None:
    args = DEVNET_KEYS[1].lock_args
    assert parse_lock_args("0x" + args.hex()) == args
    assert parse_lock_args(args.hex()) == args
    assert parse_lock_args("devnet:1") == args
    for bad in ("0x12", "0x" + "zz" * 20, "0x" + "00" * 21, ""):
        with pytest.raises(InvalidLockArgs):
            parse_lock_args(bad)
