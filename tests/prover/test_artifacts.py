"""Setup artifacts: caching, the circuit hash, load errors, concurrent setups."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from prover.artifacts import (
    SINGLE_PARTY_LABEL,
    Artifacts,
    compute_circuit_hash,
    compute_main_source,
    get_artifacts_dir,
    get_input_signal_names,
    load_artifacts,
    run_setup,
)
from prover.errors import ProverError, SetupFailed, SetupMissing
from prover.presets import (
    DEVNET,
    TEST,
    CircuitSpec,
    get_circuit_preset,
    parse_circuit_spec,
)
from tests.prover.conftest import TOY_SPEC, requires_circomlib

pytestmark = requires_circomlib

ROOT = Path(__file__).resolve().parents[2]


def copy_toy(tmp_path: Path) -> CircuitSpec:
    source = tmp_path / "toy.circom"
    shutil.copy(ROOT / TOY_SPEC.source, source)
    return CircuitSpec("custom", str(source), "Toy", (2,))


def test_presets() -> None:
    assert get_circuit_preset("test") is TEST
    assert TEST.get_spec().params == (4, 2, 61 * 10**8)
    assert DEVNET.l2_preset == "validity-devnet"
    assert DEVNET.get_spec().source == "prover/circuits/rollup.circom"
    with pytest.raises(ProverError, match="known presets: test, devnet"):
        get_circuit_preset("mainnet")


def test_parse_circuit_spec() -> None:
    spec = parse_circuit_spec("a/b.circom:Toy:2,0x10:x,y")
    assert spec == CircuitSpec("custom", "a/b.circom", "Toy", (2, 16), ("x", "y"))
    assert parse_circuit_spec("a.circom:T").public_signals == ("batch_input",)
    with pytest.raises(ProverError, match="must be integers"):
        parse_circuit_spec("a.circom:T:two")
    with pytest.raises(ProverError, match="PATH:TEMPLATE"):
        parse_circuit_spec("a.circom")


def test_main_source() -> None:
    text = compute_main_source(TEST.get_spec())
    assert 'include "prover/circuits/rollup.circom";' in text
    assert "component main {public [batch_input]} = RollupBatch(4, 2, 6100000000);" in text
    assert text.startswith("pragma circom 2.1.")


def test_input_signal_names() -> None:
    assert get_input_signal_names(TOY_SPEC) == ["preimage", "batch_input"]


def test_hash_covers_source_params_and_includes(tmp_path: Path) -> None:
    spec = copy_toy(tmp_path)
    first = compute_circuit_hash(spec)
    assert compute_circuit_hash(spec) == first
    # the checkout's location does not matter, only the content
    assert compute_circuit_hash(CircuitSpec("custom", str(ROOT / TOY_SPEC.source), "Toy", (2,)))
    assert compute_circuit_hash(CircuitSpec("custom", spec.source, "Toy", (3,))) != first
    Path(spec.source).write_text(Path(spec.source).read_text() + "\n// changed\n")
    assert compute_circuit_hash(spec) != first
    # an included file of our own is covered too
    (tmp_path / "extra.circom").write_text("pragma circom 2.1.0;\n")
    Path(spec.source).write_text(
        Path(spec.source)
        .read_text()
        .replace(
            'include "poseidon.circom";', 'include "poseidon.circom";\ninclude "extra.circom";'
        )
    )
    with_include = compute_circuit_hash(spec)
    (tmp_path / "extra.circom").write_text("pragma circom 2.1.0;\n// edited\n")
    assert compute_circuit_hash(spec) != with_include


def test_missing_source_and_include(tmp_path: Path) -> None:
    with pytest.raises(SetupFailed, match="not found"):
        compute_circuit_hash(CircuitSpec("custom", str(tmp_path / "nope.circom"), "T", ()))
    source = tmp_path / "bad.circom"
    source.write_text('pragma circom 2.1.0;\ninclude "missing.circom";\n')
    with pytest.raises(SetupFailed, match=r"cannot find included file 'missing\.circom'"):
        compute_circuit_hash(CircuitSpec("custom", str(source), "T", ()))


def test_setup_is_cached(toy_artifacts: Artifacts, toy_data_dir: Path) -> None:
    assert toy_artifacts.directory == get_artifacts_dir(toy_data_dir, TOY_SPEC)
    assert toy_artifacts.directory.name.startswith("custom-")
    for name in ("proving_key.bin", "verification_key.json", "manifest.json"):
        assert (toy_artifacts.directory / name).is_file()
    manifest = json.loads((toy_artifacts.directory / "manifest.json").read_text())
    assert manifest["setup_kind"] == SINGLE_PARTY_LABEL
    assert manifest["circuit_hash"] == toy_artifacts.circuit_hash
    assert manifest["constraints"]["total"] > 200  # Poseidon(2) is ~240
    assert toy_artifacts.verifying_key_hash.startswith("0x")
    vk = json.loads((toy_artifacts.directory / "verification_key.json").read_text())
    assert vk["protocol"] == "groth16" and vk["nPublic"] == 1
    mtime = (toy_artifacts.directory / "proving_key.bin").stat().st_mtime_ns
    started = time.monotonic()
    again = run_setup(TOY_SPEC, toy_data_dir)
    print(f"\ncached setup: {time.monotonic() - started:.3f} s")
    assert again.cache_hit
    assert (toy_artifacts.directory / "proving_key.bin").stat().st_mtime_ns == mtime
    assert not [p for p in toy_data_dir.joinpath("prover").iterdir() if p.name.startswith(".tmp")]


def test_changed_source_sets_up_again(tmp_path: Path) -> None:
    spec = copy_toy(tmp_path)
    first = run_setup(spec, tmp_path / "data")
    assert not first.cache_hit
    Path(spec.source).write_text(Path(spec.source).read_text() + "\n// changed\n")
    second = run_setup(spec, tmp_path / "data")
    assert not second.cache_hit
    assert second.artifacts.directory != first.artifacts.directory
    assert first.artifacts.directory.is_dir()


def test_concurrent_setups_run_once(tmp_path: Path) -> None:
    spec = copy_toy(tmp_path)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(run_setup(spec, tmp_path / "data")))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(r.cache_hit for r in results) == [False, True]


def test_load_missing_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(SetupMissing, match=r"rollcourt prover setup --preset test"):
        load_artifacts(TEST.get_spec(), tmp_path) if (
            ROOT / TEST.source
        ).is_file() else _raise_missing_for_test(tmp_path)
    with pytest.raises(SetupMissing, match="--setup-if-missing"):
        load_artifacts(TOY_SPEC, tmp_path)


def _raise_missing_for_test(tmp_path: Path) -> None:
    """The rollup circuit may not exist yet: check the message with the hash given."""
    load_artifacts(TEST.get_spec(), tmp_path, circuit_hash="0" * 64)


def test_load_corrupt(toy_artifacts: Artifacts, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(toy_artifacts.directory, get_artifacts_dir(data, TOY_SPEC))
    (get_artifacts_dir(data, TOY_SPEC) / "proving_key.bin").write_bytes(b"garbage")
    artifacts = load_artifacts(TOY_SPEC, data)  # the proving key is read on first use
    with pytest.raises(SetupMissing, match=r"proving key .* is unreadable"):
        _ = artifacts.proving_key
    (get_artifacts_dir(data, TOY_SPEC) / "proving_key.bin").unlink()
    with pytest.raises(SetupMissing, match=r"proving_key\.bin is missing"):
        load_artifacts(TOY_SPEC, data)
    (get_artifacts_dir(data, TOY_SPEC) / "verification_key.json").write_text("{")
    with pytest.raises(SetupMissing, match="unreadable"):
        load_artifacts(TOY_SPEC, data)


def test_setup_of_a_broken_circuit(tmp_path: Path) -> None:
    source = tmp_path / "broken.circom"
    source.write_text("pragma circom 2.1.0;\ntemplate T() { signal input batch_input; x <== 1; }\n")
    with pytest.raises(SetupFailed, match="compile"):
        run_setup(CircuitSpec("custom", str(source), "T", ()), tmp_path / "data")
    assert not list((tmp_path / "data" / "prover").glob("custom-*"))
