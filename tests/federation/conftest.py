"""Real node processes on 127.0.0.1:8101-8103 (moved by TRILINK_PORT_OFFSET) for the
federation tests, on each transport: HTTPS with mutual TLS between the nodes, and NATS
JetStream through the local network's own nats-server (127.0.0.1:4300 + offset, with the
users and permissions of trilink.federation.natsserver).

``TRILINK_TEST_DB=postgres`` puts every node of these networks in its own PostgreSQL schema
(dropped afterwards) instead of a SQLite file: ``make test-postgres`` runs the federation
suite so, on both transports."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from trilink.federation import localnet, natsserver
from trilink.model.report import report_json
from trilink.node.service import NodeService

TRANSPORTS = ["https", "nats"]


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "nats" and shutil.which("nats-server") is None:
        pytest.skip("nats-server is not installed (apt-get install -y nats-server)")
    return name


ON_POSTGRES = os.environ.get("TRILINK_TEST_DB", "sqlite") == "postgres"
PG = os.environ.get("TRILINK_TEST_PG", "postgresql://127.0.0.1:5432/test")
_PG_SCHEMA_FILE = "pg-schema-template"


def start_network(root: Path, transport: str) -> Path:
    template = None
    if ON_POSTGRES:
        template = f"{PG}?schema=t_{uuid.uuid4().hex[:8]}_{{nation}}"
        root.mkdir(parents=True, exist_ok=True)
        (root / _PG_SCHEMA_FILE).write_text(template)
    localnet.ensure_network(root, template, transport=transport)
    localnet.net_up(root)
    return root


def stop_network(root: Path) -> None:
    for nation in localnet.NATIONS:
        localnet.stop_node(root, nation, kill=True)
    natsserver.stop_nats(root, kill=True)
    marker = root / _PG_SCHEMA_FILE
    if marker.exists():
        from tests.conftest import drop_pg_schema

        for nation in localnet.NATIONS:
            drop_pg_schema(marker.read_text().format(nation=nation.lower()))


@pytest.fixture
def net(tmp_path: Path, transport: str) -> Iterator[Path]:
    """The local network on each transport in turn."""
    root = tmp_path / "net"
    try:
        yield start_network(root, transport)
    finally:
        stop_network(root)


@pytest.fixture
def https_net(tmp_path: Path) -> Iterator[Path]:
    """The local network over HTTPS only: for what only the HTTPS endpoint does."""
    root = tmp_path / "net"
    try:
        yield start_network(root, "https")
    finally:
        stop_network(root)


def holdings(root: Path, nation: str) -> list[dict[str, object]]:
    """Every stored version on a node, read straight from its database."""
    with NodeService.open_local(root, nation) as node:
        return [report_json(s.report) for s in node.store.reports()]


def wait_until(check: Callable[[], bool], timeout_s: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``trilink ARGS`` as its own process, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "trilink", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
