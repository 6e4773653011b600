"""Pure cores do no I/O (DESIGN.md §1): they import no web, database, network, clock or
environment modules, as execution-specs keeps its specs free of them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PURE_PACKAGES = ["l1/ckb", "l1/core", "l2"]
#: ``l2.client`` is the I/O-doing SDK (httpx through ``l1.client``), the declared exception.
IMPURE_SUBPACKAGES = ["l2/client"]
FORBIDDEN = {
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "httpx",
    "requests",
    "asyncio",
    "socket",
    "subprocess",
    "threading",
    "time",
    "datetime",
    "os",
    "random",
    "pathlib",
    "logging",
    "l1.node",
    "l1.client",
    "sequencer",
    "prover",
    "challenger",
    "rollcourt",
}


def _pure_modules() -> list[Path]:
    excluded = [ROOT / package for package in IMPURE_SUBPACKAGES]
    return sorted(
        p
        for package in PURE_PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if not any(p.is_relative_to(e) for e in excluded)
    )


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", _pure_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_core_imports_no_io(path: Path) -> None:
    bad = {
        name
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    }
    assert not bad, f"{path.relative_to(ROOT)} imports I/O modules {sorted(bad)}"


def test_the_purity_check_sees_the_cores() -> None:
    assert len(_pure_modules()) >= 20
