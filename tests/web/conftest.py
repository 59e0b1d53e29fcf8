"""Fixtures of the COP tests: a real three-nation deployment (PKI made once per session,
fresh databases per test) and logged-in test clients. Helpers live in cop_helpers.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from cop_helpers import GEO_KIND, GEO_SPEC, NATIONS, PASSWORD, TestClient, login

from trilink.federation.localnet import ensure_network
from trilink.model import kinds
from trilink.node.service import NodeService
from trilink.web import auth, create_cop_app, create_user


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id, with tiny cost parameters so the suite stays fast."""
    hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    monkeypatch.setattr(auth, "_hasher", hasher)
    monkeypatch.setattr(auth, "_DUMMY_HASH", hasher.hash("no such user"))


@pytest.fixture(autouse=True)
def geo_kind() -> Iterator[str]:
    kinds.register(GEO_SPEC)
    yield GEO_KIND
    kinds.unregister(GEO_KIND)


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("copnet")
    # the test kinds too: which kinds a partner receives is each node's configuration
    ensure_network(root, kinds=sorted({*kinds.known_kinds(), GEO_KIND, "coptest.sonobuoy"}))
    return root


@pytest.fixture
def net(deployment: Path, tmp_path: Path) -> Iterator[dict[str, NodeService]]:
    """Three nodes with their own fresh databases; each has users 'watch' (viewer) and
    'ana' (analyst)."""
    nodes = {}
    for nation in NATIONS:
        nodes[nation] = NodeService.open_local(
            deployment, nation, db_url=str(tmp_path / f"{nation}.db")
        )
        create_user(nodes[nation].store, "watch", PASSWORD, "viewer")
        create_user(nodes[nation].store, "ana", PASSWORD, "analyst")
    yield nodes
    for node in nodes.values():
        node.close()


@pytest.fixture
def cop(net: dict[str, NodeService]) -> Iterator[dict[str, TestClient]]:
    """A logged-in (viewer) test client per nation's COP."""
    clients = {}
    for nation, node in net.items():
        client = TestClient(create_cop_app(node))
        client.__enter__()
        assert login(client).status_code == 303
        clients[nation] = client
    yield clients
    for client in clients.values():
        client.__exit__(None, None, None)
