"""The layering contract (ARCHITECTURE §1), read from the import graph of src/trilink.

Every package of trilink may import only the packages its row of ``ALLOWED`` names; the pure
core and the engines never reach for the network or a database; no two packages import each
other, even through a third; ``web`` writes no SQL; no module reaches into another module's
private names. A failure names the file and the offending import.

Adding a package means adding its row here: a package without a row fails the test.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "trilink"

CORE = {"errors", "model", "policy", "provenance"}
ENGINES = {"geo", "sim", "maritime", "sanctions", "missile", "crisis", "cyber"}
EDGES_ENGINES_NEVER_IMPORT = {
    "node", "federation", "web", "cli", "store", "demo", "daemon", "api", "client", "runners"
}  # fmt: skip

# package -> the trilink packages it may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "model": {"errors"},
    "policy": {"errors", "model"},
    "provenance": {"errors", "model"},
    "store": CORE - {"policy"},
    **{engine: CORE | ENGINES for engine in ENGINES},
    # crisis management: playbooks, rosters, incidents, CAP; reads payloads and geo's ellipse
    "crisis": {"errors", "model", "geo"},
    "node": CORE | {"store"},
    # exports for the tools users have (GeoJSON, KML, CoT/TAK, GeoParquet, CSV): pure writers
    # over the kind registry's items; geo draws the ellipses
    "interop": {"errors", "model", "policy", "geo"},
    "federation": CORE | {"store", "node", "client"},
    # the crisis board merges incident records with trilink.crisis.board (pure)
    "web": CORE | {"store", "node", "geo", "interop", "crisis"},
    # the TAXII 2.1 server writes STIX with trilink.cyber's markings; /match answers with
    # trilink.sanctions' screener (yente's request and response shapes)
    "api": CORE | {"store", "node", "cyber", "sanctions"},
    "client": {"errors", "model"},
    "runners": CORE | ENGINES | {"client"},
    "daemon": CORE | {"store", "node", "federation", "web", "api", "interop"},
    # JSON log lines for the node process (stdlib logging only)
    "logs": set(),
    "demo": CORE | ENGINES | {"store", "node", "federation", "web", "client", "runners"},
    "cli": CORE
    | ENGINES
    | {"store", "node", "federation", "web", "demo", "daemon", "client", "runners", "interop"}
    | {"logs"},
    "__main__": {"cli"},
}

# Third-party modules that mean network or database access.
IO_MODULES = ("httpx", "fastapi", "starlette", "uvicorn", "nats", "sqlite3", "psycopg")
NO_IO = CORE | ENGINES

# Imports that break the contract today and the work that removes them (issue #13: engines
# publish through their node's API; the engine glue moves out of node). Each entry must
# still be needed: a stale entry fails ``test_pending_exceptions_are_still_needed``.
PENDING: dict[str, set[str]] = {}


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    module: str
    names: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(SRC)}:{self.line}"


def package_of(path: Path) -> str:
    return path.relative_to(SRC).parts[0].removesuffix(".py")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["trilink", *parts])


def imports_of(path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text("utf-8"))
    here = module_name(path).split(".")
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, alias.name, ())
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here if is_package else here[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield Import(path, node.lineno, module, tuple(a.name for a in node.names))


def trilink_package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "trilink" and len(parts) > 1 else None


SOURCES = sorted(SRC.rglob("*.py"))
PACKAGES = sorted({package_of(p) for p in SOURCES} - {"__init__"})


def _pending(imp: Import, target: str) -> bool:
    return target in PENDING.get(str(imp.path.relative_to(SRC)), set())


def test_every_package_has_a_row() -> None:
    assert [p for p in PACKAGES if p not in ALLOWED] == []


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_what_its_row_allows(package: str) -> None:
    offenders = []
    for path in SRC.joinpath(package).rglob("*.py") if SRC.joinpath(package).is_dir() else []:
        for imp in imports_of(path):
            target = trilink_package(imp.module)
            if target is None or target == package or target in ALLOWED[package]:
                continue
            if not _pending(imp, target):
                offenders.append(f"{imp.where} imports {imp.module}")
    assert offenders == []


@pytest.mark.parametrize("package", sorted(NO_IO))
def test_core_and_engines_do_no_io(package: str) -> None:
    offenders = [
        f"{imp.where} imports {imp.module}"
        for path in SRC.joinpath(package).rglob("*.py")
        for imp in imports_of(path)
        if imp.module.split(".")[0] in IO_MODULES and not _pending(imp, imp.module.split(".")[0])
    ]
    assert offenders == []


def test_engines_never_import_the_edges() -> None:
    for engine in ENGINES:
        assert not ALLOWED[engine] & EDGES_ENGINES_NEVER_IMPORT, engine
    assert ALLOWED["model"] == {"errors"} and ALLOWED["policy"] == {"errors", "model"}
    assert "web" not in ALLOWED["federation"]


def test_no_import_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {p: set() for p in PACKAGES}
    for path in SOURCES:
        source = package_of(path)
        for imp in imports_of(path):
            target = trilink_package(imp.module)
            if target and target != source and target in graph:
                graph[source].add(target)
    cycles: list[list[str]] = []

    def walk(node: str, trail: list[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in trail:
                cycle = trail[trail.index(nxt) :] + [nxt]
                if min(cycle[:-1]) == cycle[0]:
                    cycles.append(cycle)
            else:
                walk(nxt, trail + [nxt])

    for start in PACKAGES:
        walk(start, [start])
    assert [" -> ".join(c) for c in cycles] == []


# Methods that hand SQL text to a database (the store's generic ones and DB-API's).
RAW_SQL_CALLS = {"execute", "executemany", "executescript", "query", "_rows", "_run", "_run_many"}
SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER)\s", re.IGNORECASE)


def test_web_writes_no_sql() -> None:
    offenders = []
    for path in SRC.joinpath("web").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if SQL.match(node.value):
                    offenders.append(f"{path.relative_to(SRC)}:{node.lineno} {node.value[:40]!r}")
            if isinstance(node, ast.Attribute) and node.attr in RAW_SQL_CALLS:
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno} calls .{node.attr}()")
    assert offenders == []


def test_no_module_imports_private_names_of_another() -> None:
    offenders = [
        f"{imp.where} imports {name} from {imp.module}"
        for path in SOURCES
        for imp in imports_of(path)
        if imp.module.startswith("trilink") and imp.module != module_name(path)
        for name in imp.names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert offenders == []


def test_pending_exceptions_are_still_needed() -> None:
    stale = []
    for rel, targets in PENDING.items():
        path = SRC / rel
        imports = list(imports_of(path)) if path.exists() else []
        used = {trilink_package(i.module) or i.module.split(".")[0] for i in imports}
        stale += [f"{rel}: {t}" for t in sorted(targets - used)]
    assert stale == []


def test_the_contract_catches_what_it_forbids(tmp_path: Path) -> None:
    """The checks above would fail on each import the issue lists (checked on copies)."""
    cases = {
        "missile/x.py": "from trilink.node.service import NodeService\n",
        "federation/x.py": "from trilink.web import create_cop_app\n",
        "demo/x.py": "from trilink.cli.maritime import app\n",
        "model/x.py": "import httpx\n",
    }
    for rel, text in cases.items():
        path = SRC / rel
        imp = next(imports_of_text(path, text))
        target = trilink_package(imp.module)
        package = package_of(path)
        broken = (target is not None and target not in ALLOWED[package] | {package}) or (
            imp.module.split(".")[0] in IO_MODULES and package in NO_IO
        )
        assert broken, rel


def imports_of_text(path: Path, text: str) -> Iterator[Import]:
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            yield Import(path, node.lineno, node.names[0].name, ())
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield Import(path, node.lineno, node.module, tuple(a.name for a in node.names))
