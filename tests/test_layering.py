"""Engines and the pure core never reach for the network, a database or the federation layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "trilink"
PURE = ["model", "policy", "provenance", "geo", "sim", "maritime", "sanctions", "missile"]
FORBIDDEN = (
    "httpx",
    "fastapi",
    "uvicorn",
    "nats",
    "sqlite3",
    "psycopg",
    "trilink.federation",
    "trilink.store",
    "trilink.node",
    "trilink.web",
)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", PURE)
def test_pure_packages_do_no_io_imports(package: str) -> None:
    root = SRC / package
    assert root.is_dir()
    offenders = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in root.rglob("*.py")
        if "io" not in path.stem and path.stem not in {"ingest", "cli", "live"}
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert offenders == []
