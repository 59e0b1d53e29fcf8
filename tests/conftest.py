"""Shared fixtures for the foundation tests: a store on each engine, an in-process network.

``store`` runs a test once on SQLite (WAL file in ``tmp_path``) and once on PostgreSQL (a
fresh schema ``t_<random>`` in the ``test`` database, dropped afterwards), so the same test
body checks both engines. ``network`` builds the three-nation deployment (CA, TLS and signing
keys, node.toml files) in ``tmp_path`` and opens NodeServices lazily, joined by the in-memory
transport: ``net.deliver("JPN", "USA")`` is USA's replicator pulling from JPN, now.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# make test runs two pytest-xdist workers: each moves its local networks' ports (nodes, COP,
# API, NATS) by its own thousand, before trilink.federation reads the offset at import.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER.startswith("gw"):
    # xdist sets COLUMNS=80 in its workers: tests see the CLI as CI does, piped, unlimited.
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)
    _base = int(os.environ.get("TRILINK_PORT_OFFSET") or 0)
    os.environ["TRILINK_PORT_OFFSET"] = str(_base + 1000 * (int(_WORKER[2:]) + 1))

from trilink.federation.localnet import ensure_network  # noqa: E402
from trilink.federation.memory import MemoryNetwork  # noqa: E402
from trilink.node.service import IngestResult, NodeService  # noqa: E402
from trilink.store import Store, open_store  # noqa: E402
from trilink.store.postgres import PostgresStore, split_schema  # noqa: E402

PG_URL = os.environ.get("TRILINK_TEST_PG", "postgresql://127.0.0.1:5432/test")
NATIONS = ["USA", "JPN", "KOR"]
ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]

_pg_checked: list[str] = []


def _require_postgres() -> None:
    """Fail, saying how to fix it, when the server is not there: the store tests claim the
    PostgreSQL engine works, so they must not pass without it (make test starts it)."""
    if _pg_checked:
        if _pg_checked[0] != "ok":
            pytest.fail(_pg_checked[0])
        return
    import psycopg

    try:
        with psycopg.connect(PG_URL, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
        _pg_checked.append("ok")
    except psycopg.Error as err:
        _pg_checked.append(
            f"PostgreSQL not reachable at {PG_URL}: {err}. Start it (scripts/ensure-services.sh"
            " or pg_ctlcluster 15 main start) or point TRILINK_TEST_PG at a server"
        )
        pytest.fail(_pg_checked[0])


def pg_schema_url() -> str:
    """A URL with a schema name no other test uses."""
    return f"{PG_URL}?schema=t_{uuid.uuid4().hex[:16]}"


def drop_pg_schema(url: str) -> None:
    """Drop the schema named in ``url`` (without creating it first, as opening would)."""
    import psycopg

    conninfo, schema = split_schema(url)
    assert schema is not None and schema.startswith("t_")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests (real processes, minutes of waiting) first, the rest after in their own
    order: the two xdist workers of make test then end together instead of one of them
    starting a two-minute test when the other has nothing left."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "postgres":
        _require_postgres()
    return name


@pytest.fixture
def store_url(engine: str, tmp_path: Path) -> Iterator[str]:
    """A database URL for ``engine``; a PostgreSQL schema made under it is dropped after."""
    if engine == "sqlite":
        yield str(tmp_path / "store.db")
        return
    url = pg_schema_url()
    yield url
    drop_pg_schema(url)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated, empty store on each engine (ids ``sqlite`` / ``postgres``)."""
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()


class Network:
    """Three nations' nodes in one process, opened on first use."""

    def __init__(self, root: Path, engine: str):
        self.root = root
        self.engine = engine
        self._nodes: dict[str, NodeService] = {}
        self._urls: dict[str, str] = {}
        self.memory = MemoryNetwork()
        ensure_network(root)  # each nation's own PKI, bundles exchanged by fingerprint

    def db_url(self, nation: str) -> str:
        if nation not in self._urls:
            self._urls[nation] = (
                str(self.root / nation / "node.db") if self.engine == "sqlite" else pg_schema_url()
            )
        return self._urls[nation]

    def node(self, nation: str) -> NodeService:
        if nation not in self._nodes:
            self._nodes[nation] = NodeService.open_local(
                self.root, nation, db_url=self.db_url(nation)
            )
            self.memory.add(self._nodes[nation])
        return self._nodes[nation]

    __getitem__ = node

    def reopen(self, nation: str) -> NodeService:
        """Close and reopen a node on the same database (as a restart would)."""
        old = self._nodes.pop(nation, None)
        if old is not None:
            old.close()
        self.memory = MemoryNetwork(self._nodes.values())
        return self.node(nation)

    def deliver(self, src: str, dst: str) -> IngestResult:
        """Everything ``src`` has queued for ``dst`` beyond ``dst``'s cursor, ingested."""
        self.node(src)
        self.node(dst)
        return self.memory.deliver(src, dst)

    def deliver_all(self) -> None:
        for src in NATIONS:
            for dst in NATIONS:
                if src != dst:
                    self.deliver(src, dst)

    def close(self) -> None:
        open_urls = set()
        for node in self._nodes.values():
            if isinstance(node.store, PostgresStore):
                open_urls.add(node.store.url)
                try:
                    node.store.drop_schema()
                finally:
                    node.close()
            else:
                node.close()
        self._nodes.clear()
        if self.engine == "postgres":
            for url in set(self._urls.values()) - open_urls:
                drop_pg_schema(url)


@pytest.fixture
def network(engine: str, tmp_path: Path) -> Iterator[Network]:
    """USA, JPN and KOR nodes in-process on ``engine`` (SECRET ceilings, all partners)."""
    net = Network(tmp_path / "net", engine)
    try:
        yield net
    finally:
        net.close()


@contextmanager
def running(root: Path, *nations: str) -> Iterator[Path]:
    """The local network in ``root`` with these nations' node processes running (all
    three when none is named); every node is stopped afterwards. Commands that publish go
    through a node's API, so they need its node running."""
    from trilink.federation import localnet

    localnet.net_up(root, list(nations) or None)
    try:
        yield root
    finally:
        for nation in localnet.NATIONS:
            localnet.stop_node(root, nation, kill=True)


# What a clone of the repository does not have (gitignored) when no git repository is at
# hand (a snapshot made with `git archive`).
_NOT_IN_A_CLONE = {".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache",
                   ".hypothesis", ".benchmarks", "node_modules", "out", "demo-net", "dist",
                   "build", "test-artifacts"}  # fmt: skip


def clone_files(root: Path, dest: Path) -> Path:
    """Copy into ``dest`` the files a fresh clone of the repository in ``root`` has: what git
    tracks and new files it does not ignore (or, outside a git repository, every file but
    the gitignored folders and the built map library)."""
    import shutil
    import subprocess

    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root, capture_output=True,
    )  # fmt: skip
    if listed.returncode == 0:
        names = [os.fsdecode(n) for n in listed.stdout.split(b"\0") if n]
    else:
        vendor = Path("src/trilink/web/static/vendor")
        names = [
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file()
            and not _NOT_IN_A_CLONE & set(p.relative_to(root).parts)
            and not p.relative_to(root).is_relative_to(vendor)
            and p.suffix != ".pyc"
        ]
    for name in names:
        src = root / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest
