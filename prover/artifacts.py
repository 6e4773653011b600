"""Setup artifacts: the proving key, the snarkjs verification key and a manifest, per circuit.

Layout (``get_artifacts_dir``): ``<data dir>/prover/<preset>-<circuit hash[:16]>/`` holding

- ``proving_key.bin`` (``groth16py.ProvingKey.save``: CRS + witness wasm + constraints),
- ``verification_key.json`` (snarkjs ``verification_key.json``, what the L1 registers),
- ``manifest.json`` (circuit hash, parameters, how the setup was made, timings).

The directory name carries the circuit hash, which covers the generated main file, the circuit
source and everything it includes, and the circomlib version: any change to the circuit lands
in a new directory, so stale keys are never used, and an unchanged circuit is a cache hit that
costs nothing.  A setup is written to a temporary directory and renamed into place, under a
per-circuit file lock, so two processes (pytest-xdist workers, the CLI next to the service)
never both run it and nobody ever sees half an artifacts directory.

A single-party setup knows its toxic waste: whoever ran it can forge proofs.  It is labelled
``SINGLE_PARTY_LABEL`` everywhere; anything holding real value must import a ceremony zkey.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import groth16py

from l1.ckb.hashes import compute_data_hash
from l1.core.groth16 import decode_verifying_key_json, encode_verifying_key
from prover.errors import CircuitMismatch, SetupFailed, SetupMissing, ToolMissing
from prover.presets import REPO_ROOT, CircuitSpec

__all__ = [
    "CIRCOMLIB_DIR",
    "MANIFEST_FORMAT",
    "SINGLE_PARTY_LABEL",
    "Artifacts",
    "ProgressCallback",
    "SetupResult",
    "compute_circuit_hash",
    "compute_main_source",
    "compute_verifying_key_hash",
    "get_artifacts_dir",
    "get_circomlib_version",
    "get_included_files",
    "get_input_signal_names",
    "load_artifacts",
    "run_setup",
]

#: circomlib 2.0.5 circuit sources, installed by ``make install`` from prover/package-lock.json.
CIRCOMLIB_DIR: Final = REPO_ROOT / "prover" / "node_modules" / "circomlib" / "circuits"
CIRCOM_PRAGMA: Final = "2.1.0"
MANIFEST_FORMAT: Final = 1
SINGLE_PARTY_LABEL: Final = "single-party devnet setup — NOT SAFE for real value"
PROVING_KEY_FILE: Final = "proving_key.bin"
VERIFICATION_KEY_FILE: Final = "verification_key.json"
MANIFEST_FILE: Final = "manifest.json"

#: ``progress(stage)``: called when a stage starts (``compile+setup``, ``write artifacts``).
ProgressCallback = Callable[[str], None]

_INCLUDE = re.compile(r'\binclude\s+"([^"]+)"\s*;')
_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True, eq=False)
class Artifacts:
    """A loaded artifacts directory, ready to prove with.  The proving key (tens of MB for
    the rollup circuit, seconds to read) is loaded on first use, so a cache hit of
    ``run_setup`` or a health check costs nothing."""

    directory: Path
    spec: CircuitSpec
    circuit_hash: str
    manifest: dict[str, Any]
    verifying_key: groth16py.VerifyingKey
    verification_key_json: dict[str, Any]

    @functools.cached_property
    def proving_key(self) -> groth16py.ProvingKey:
        path = self.directory / PROVING_KEY_FILE
        try:
            return groth16py.ProvingKey.load(str(path))
        except (OSError, ValueError, groth16py.SetupError, groth16py.EncodingError) as exc:
            raise SetupMissing(
                f"the proving key {path} is unreadable ({exc}); remove {self.directory} and "
                f"run `{get_setup_command(self.spec, self.directory.parent.parent)}`"
            ) from None

    @property
    def verifying_key_hash(self) -> str:
        """What a validity rollup cell registers (``compute_verifying_key_hash``)."""
        return str(self.manifest["verifying_key_hash"])

    @property
    def is_single_party(self) -> bool:
        return bool(self.manifest.get("single_party", True))


@dataclass(frozen=True, slots=True, eq=False)
class SetupResult:
    artifacts: Artifacts
    #: True when the directory already existed: nothing was compiled.
    cache_hit: bool


# ----------------------------------------------------------------------------- circuit identity
def get_circomlib_version(circomlib_dir: Path = CIRCOMLIB_DIR) -> str:
    """The installed circomlib's version (its package.json), part of every circuit hash."""
    try:
        package = json.loads((circomlib_dir.parent / "package.json").read_text())
        return str(package["version"])
    except (OSError, ValueError, KeyError) as exc:
        raise ToolMissing(
            f"circomlib is not installed at {circomlib_dir} ({exc}); run `make install`"
        ) from None


def compute_main_source(spec: CircuitSpec, include_path: str | None = None) -> str:
    """The generated main file.  ``include_path`` defaults to ``spec.source`` as written (what
    the circuit hash covers, independent of the checkout's location); compilation passes the
    absolute path."""
    include = spec.source if include_path is None else include_path
    params = ", ".join(str(p) for p in spec.params)
    public = ", ".join(spec.public_signals)
    return (
        f"pragma circom {CIRCOM_PRAGMA};\n\n"
        f'include "{include}";\n\n'
        f"component main {{public [{public}]}} = {spec.template}({params});\n"
    )


def _resolve_include(name: str, including_dir: Path, include_dirs: tuple[Path, ...]) -> Path:
    for base in (including_dir, *include_dirs):
        candidate = (base / name).resolve()
        if candidate.is_file():
            return candidate
    raise SetupFailed(
        f"cannot find included file {name!r} (from {including_dir}; searched "
        f"{', '.join(str(d) for d in include_dirs)})"
    )


def get_included_files(
    spec: CircuitSpec, include_dirs: tuple[Path, ...] = (CIRCOMLIB_DIR,)
) -> list[Path]:
    """The circuit source and every file it includes, transitively, in a stable order (each
    once), resolved the way circom does: next to the including file, then the include dirs."""
    source = spec.get_source_path().resolve()
    if not source.is_file():
        raise SetupFailed(f"circuit source {spec.source} not found ({source})")
    seen: dict[Path, None] = {}
    pending = [source]
    while pending:
        path = pending.pop(0)
        if path in seen:
            continue
        seen[path] = None
        text = _COMMENTS.sub("", path.read_text())
        pending.extend(
            _resolve_include(name, path.parent, include_dirs) for name in _INCLUDE.findall(text)
        )
    return list(seen)


def compute_circuit_hash(
    spec: CircuitSpec, include_dirs: tuple[Path, ...] = (CIRCOMLIB_DIR,)
) -> str:
    """sha256 over the main source, every circuit file (by its name and content) and the
    circomlib version: equal hashes mean the same constraint system, so the same keys."""
    digest = hashlib.sha256()

    def feed(label: str, data: bytes) -> None:
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    feed("main", compute_main_source(spec).encode())
    feed("circomlib", get_circomlib_version(include_dirs[0]).encode())
    for path in get_included_files(spec, include_dirs):
        feed(_display_name(path, include_dirs), path.read_bytes())
    return digest.hexdigest()


def _display_name(path: Path, include_dirs: tuple[Path, ...]) -> str:
    """A location-independent name for a circuit file (the hash must not depend on where the
    checkout lives)."""
    for base in (REPO_ROOT, *include_dirs):
        with contextlib.suppress(ValueError):
            return path.relative_to(base.resolve()).as_posix()
    return path.name


def get_input_signal_names(
    spec: CircuitSpec, include_dirs: tuple[Path, ...] = (CIRCOMLIB_DIR,)
) -> list[str] | None:
    """The main template's ``signal input`` names, read from the source (best effort: None
    when the template cannot be found).  Lets the API refuse an unknown or missing signal at
    submission instead of failing the job later."""
    pattern = re.compile(rf"\btemplate\s+{re.escape(spec.template)}\s*\([^)]*\)\s*\{{")
    for path in get_included_files(spec, include_dirs):
        text = _COMMENTS.sub("", path.read_text())
        match = pattern.search(text)
        if match is None:
            continue
        depth, end = 1, match.end()
        while depth and end < len(text):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            end += 1
        body = text[match.end() : end]
        names: list[str] = []
        for declaration in re.findall(r"\bsignal\s+input\s+([^;]+);", body):
            for item in declaration.split(","):
                name = re.match(r"\s*(?:\{[^}]*\}\s*)?([A-Za-z_$][\w$]*)", item)
                if name and name.group(1) not in names:
                    names.append(name.group(1))
        return names
    return None


def get_artifacts_dir(data_dir: Path, spec: CircuitSpec, circuit_hash: str | None = None) -> Path:
    digest = compute_circuit_hash(spec) if circuit_hash is None else circuit_hash
    return data_dir / "prover" / f"{spec.name}-{digest[:16]}"


# ----------------------------------------------------------------------------- setup
@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """A blocking ``flock``: the second process waits for the first setup, then finds it."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """Send fds 1 and 2 to ``path`` for the block: the in-process circom compiler prints its
    report and its errors there, which would tear a progress display apart; the report holds
    the constraint counts (``_parse_constraints``) and the errors go into ``SetupFailed``."""
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    with path.open("wb") as target:
        os.dup2(target.fileno(), 1)
        os.dup2(target.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip((1, 2), saved, strict=True):
                os.dup2(copy, fd)
                os.close(copy)


def _parse_constraints(report: str) -> dict[str, int] | None:
    """Constraint counts from the circom compiler's report (free: it is printed anyway)."""
    text = _ANSI.sub("", report)
    non_linear = re.search(r"non-linear constraints:\s*(\d+)", text)
    linear = re.search(r"(?<!non-)linear constraints:\s*(\d+)", text)
    if non_linear is None or linear is None:
        return None
    counts = {"non_linear": int(non_linear.group(1)), "linear": int(linear.group(1))}
    counts["total"] = counts["non_linear"] + counts["linear"]
    return counts


def compute_verifying_key_hash(verification_key_json: str) -> str:
    """``0x`` + the CKB data hash of the key's compact encoding: the ``verifying_key_hash`` a
    validity rollup cell registers (``l1.core.groth16.encode_verifying_key``)."""
    vk = decode_verifying_key_json(verification_key_json)
    return "0x" + compute_data_hash(encode_verifying_key(vk)).hex()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_setup(
    spec: CircuitSpec,
    data_dir: Path,
    *,
    zkey: Path | None = None,
    progress: ProgressCallback | None = None,
    include_dirs: tuple[Path, ...] = (CIRCOMLIB_DIR,),
) -> SetupResult:
    """Make sure the artifacts of ``spec`` exist under ``data_dir`` and load them.

    Without ``zkey``: compile and run a single-party setup (``SINGLE_PARTY_LABEL``).  With
    ``zkey``: import that snarkjs ceremony key (the circuit must be the one it was made for).
    An existing directory is a cache hit (no work) -- an imported zkey is never silently
    replaced by a later call, nor a single-party one by an import: remove the directory first.
    """
    report = progress or (lambda _stage: None)
    circuit_hash = compute_circuit_hash(spec, include_dirs)
    final = get_artifacts_dir(data_dir, spec, circuit_hash)
    with _exclusive(final.parent / f".{final.name}.lock"):
        if (final / MANIFEST_FILE).is_file():
            return SetupResult(load_artifacts(spec, data_dir, circuit_hash=circuit_hash), True)
        work = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=final.parent))
        try:
            _write_artifacts(spec, work, circuit_hash, zkey, report, include_dirs)
            if final.exists():  # a half-written leftover without manifest: replace it
                shutil.rmtree(final)
            os.rename(work, final)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    return SetupResult(load_artifacts(spec, data_dir, circuit_hash=circuit_hash), False)


def _write_artifacts(
    spec: CircuitSpec,
    work: Path,
    circuit_hash: str,
    zkey: Path | None,
    report: ProgressCallback,
    include_dirs: tuple[Path, ...],
) -> None:
    main = work / "main.circom"
    main.write_text(compute_main_source(spec, str(spec.get_source_path().resolve())))
    links = [str(d) for d in include_dirs]
    report("compile+setup")
    started = time.monotonic()
    try:
        with _output_to(work / "compile.log"):
            if zkey is None:
                proving_key, verifying_key = groth16py.setup_circom(str(main), links)
            else:
                proving_key, verifying_key = groth16py.import_zkey(str(zkey), str(main), links)
    except (
        groth16py.SetupError,
        groth16py.WitnessError,  # what groth16py raises for a circom compile error
        groth16py.EncodingError,
        ValueError,
        OSError,
    ) as exc:
        log_text = _ANSI.sub("", (work / "compile.log").read_text(errors="replace")).strip()
        detail = f"\n{log_text[-2000:]}" if log_text else ""
        what = "importing the zkey" if zkey is not None else "compile+setup"
        raise SetupFailed(
            f"{what} of {spec.source} ({spec.template}) failed: {exc}{detail}"
        ) from exc
    setup_seconds = time.monotonic() - started
    if verifying_key.n_public != len(spec.public_signals):
        raise CircuitMismatch(
            f"{spec.template} has {verifying_key.n_public} public signals, the spec names "
            f"{len(spec.public_signals)} ({', '.join(spec.public_signals)}); public outputs are "
            "not supported: make every public value a public input"
        )
    report("write artifacts")
    started = time.monotonic()
    proving_key.save(str(work / PROVING_KEY_FILE))
    vk_path = work / VERIFICATION_KEY_FILE
    vk_path.write_text(json.dumps(json.loads(verifying_key.to_json()), indent=1) + "\n")
    constraints = _parse_constraints((work / "compile.log").read_text(errors="replace"))
    kind = SINGLE_PARTY_LABEL if zkey is None else f"imported zkey {_sha256_file(zkey)}"
    manifest = {
        "format": MANIFEST_FORMAT,
        "circuit_hash": circuit_hash,
        "preset": spec.name,
        "source": spec.source,
        "template": spec.template,
        "params": list(spec.params),
        "public_signals": list(spec.public_signals),
        "input_signals": get_input_signal_names(spec, include_dirs),
        "circomlib_version": get_circomlib_version(include_dirs[0]),
        "groth16py_version": groth16py.__version__,
        "setup_kind": kind,
        "single_party": zkey is None,
        "constraints": constraints,
        "verification_key_sha256": _sha256_file(vk_path),
        "verifying_key_hash": compute_verifying_key_hash(vk_path.read_text()),
        "timings_s": {
            "compile_setup": round(setup_seconds, 3),
            "write": round(time.monotonic() - started, 3),
        },
        "created_at": time.time(),
    }
    (work / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1) + "\n")
    for path in (work / PROVING_KEY_FILE, vk_path, work / MANIFEST_FILE):
        with path.open("rb") as handle:
            os.fsync(handle.fileno())


# ----------------------------------------------------------------------------- loading
def get_setup_command(spec: CircuitSpec, data_dir: Path) -> str:
    if spec.name in ("test", "devnet"):
        return f"rollcourt prover setup --preset {spec.name} --data-dir {data_dir}"
    return f"python -m prover --preset {spec.name} --data-dir {data_dir} --setup-if-missing ..."


def load_artifacts(
    spec: CircuitSpec, data_dir: Path, *, circuit_hash: str | None = None
) -> Artifacts:
    """The artifacts of exactly this circuit; ``SetupMissing`` (naming the command to run)
    when there are none, ``CircuitMismatch`` when the directory holds another circuit."""
    digest = compute_circuit_hash(spec) if circuit_hash is None else circuit_hash
    directory = get_artifacts_dir(data_dir, spec, digest)
    manifest_path = directory / MANIFEST_FILE
    if not manifest_path.is_file():
        others = sorted(p.name for p in (data_dir / "prover").glob(f"{spec.name}-*") if p.is_dir())
        hint = f" (other versions of the circuit: {', '.join(others)})" if others else ""
        raise SetupMissing(
            f"no setup for circuit {spec.name} ({spec.template}, hash {digest[:16]}) in "
            f"{data_dir}{hint}; run `{get_setup_command(spec, data_dir)}`"
        )
    try:
        manifest = json.loads(manifest_path.read_text())
        vk_json = json.loads((directory / VERIFICATION_KEY_FILE).read_text())
        verifying_key = groth16py.VerifyingKey.from_snarkjs(json.dumps(vk_json))
        if not (directory / PROVING_KEY_FILE).is_file():
            raise OSError(f"{PROVING_KEY_FILE} is missing")
    except (OSError, ValueError, groth16py.SetupError, groth16py.EncodingError) as exc:
        raise SetupMissing(
            f"the artifacts in {directory} are unreadable ({exc}); remove the directory and "
            f"run `{get_setup_command(spec, data_dir)}`"
        ) from None
    if manifest.get("circuit_hash") != digest:
        raise CircuitMismatch(
            f"{manifest_path} is for circuit hash {manifest.get('circuit_hash')}, not {digest}"
        )
    return Artifacts(directory, spec, digest, manifest, verifying_key, vk_json)
