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


def test_sessions_dropped_under_load_lose_nothing(pg_net: Path) -> None:
    """PostgreSQL drops USA's sessions twice (what a server restart does to them) while JPN
    publishes 2,000 reports to it: USA's node connects again, audits it, and holds every
    report exactly once."""
    import psycopg

    from trilink.node.config import load_node_config
    from trilink.store.postgres import split_schema

    conninfo, schema = split_schema(load_node_config(pg_net / "USA" / "node.toml").db_url)

    def drop_usa_sessions() -> int:
        with psycopg.connect(conninfo, autocommit=True) as admin:
            rows = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (f"trilink {schema}",),
            ).fetchall()
        return len(rows)

    dropped = 0
    with localnet.client_for(pg_net, "JPN") as client:
        for batch in range(10):
            client.publish_payloads(
                "note",
                "SECRET//REL TO USA, JPN, KOR",
                [{"title": f"load {batch}.{i}"} for i in range(200)],
            )
            if batch in (3, 6):
                dropped += drop_usa_sessions()
    assert dropped >= 2

    def usa_rows() -> tuple[int, int]:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            row = conn.execute(
                f'SELECT COUNT(*), COUNT(DISTINCT id) FROM "{schema}".reports '
                "WHERE origin = 'JPN'"
            ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    wait_until(lambda: usa_rows()[0] >= 2000, 90, "USA (PostgreSQL) to hold the 2,000")
    assert usa_rows() == (2000, 2000)
    with NodeService.open_local(pg_net, "USA") as usa:
        outcomes = [r.entry.outcome for r in usa.store.audit_rows() if r.entry.event == "store"]
    assert outcomes and set(outcomes) == {"reconnected"}
    status = next(s for s in localnet.net_status(pg_net) if s.nation == "USA")
    assert status.detail["store_reconnects"] == len(outcomes)
