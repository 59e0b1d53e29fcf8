"""The production option: the same three-node network with each node on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.federation.conftest import stop_network, wait_until
from trilink.federation import localnet
from trilink.node.service import NodeService
from trilink.store.postgres import PostgresStore

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PG = os.environ.get("TRILINK_TEST_PG", "postgresql://127.0.0.1:5432/test")


@pytest.fixture
def pg_net(tmp_path: Path, transport: str) -> Iterator[Path]:
    root = tmp_path / "pgnet"
    tag = uuid.uuid4().hex[:8]
    localnet.ensure_network(
        root, db_template=f"{PG}?schema=t{tag}_{{nation}}", transport=transport
    )
    try:
        localnet.net_up(root)
        yield root
    finally:
        stop_network(root)
        for nation in localnet.NATIONS:
            store = PostgresStore(f"{PG}?schema=t{tag}_{nation.lower()}")
            store.drop_schema()
            store.close()


def test_replication_between_postgresql_nodes(pg_net: Path) -> None:
    with NodeService.open_local(pg_net, "KOR") as kor:
        assert kor.store.url.startswith("postgresql://")
    with localnet.client_for(pg_net, "KOR") as client:
        shared_id = client.publish_payloads(
            "note", "SECRET//REL TO USA, JPN, KOR", [{"title": "to both"}]
        ).ids[0]
        bilateral_id = client.publish_payloads(
            "note", "SECRET//REL TO USA, KOR", [{"title": "to USA only"}]
        ).ids[0]

    def ids(nation: str) -> set[str]:
        with NodeService.open_local(pg_net, nation) as node:
            return {s.report.envelope.id for s in node.store.reports()}

    both = {shared_id, bilateral_id}
    wait_until(lambda: ids("USA") == both, 30, "USA (PostgreSQL) to receive both")
    wait_until(lambda: ids("JPN") == {shared_id}, 30, "JPN to receive one")
    assert bilateral_id not in ids("JPN")
