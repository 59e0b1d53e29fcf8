"""Backups and restores of a node's store, on both engines and across them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import Network, drop_pg_schema, pg_schema_url
from trilink.errors import StoreError
from trilink.store import open_store
from trilink.store.audit import verify_chain
from trilink.store.backup import backup, read_info, restore

SHARED = "SECRET//REL TO USA, JPN, KOR"


def content(url: str) -> dict[str, object]:
    store = open_store(url)
    try:
        return {
            "reports": [(s.seq, s.report.signed) for s in store.reports()],
            "audit": [(r.seq, r.hash) for r in store.audit_rows()],
            "head": store.audit_head(),
            "outbox": [
                (i.pseq, i.envelope) for p in ("USA", "KOR") for i in store.outbox_after(p, 0, 99)
            ],
            "chain": store.outbox_chain_at("USA", store.outbox_head("USA")),
            "cursors": [store.inbound_anchor(p) for p in ("USA", "KOR")],
            "keys": sorted(k.key_id for k in store.keys()),
            "schema": store.schema_version(),
        }
    finally:
        store.close()


def test_backup_then_restore_gives_back_the_same_store_on_either_engine(
    network: Network, tmp_path: Path
) -> None:
    jpn = network["JPN"]
    jpn.publish_many("note", SHARED, [{"title": f"n{i}"} for i in range(7)])
    network["USA"].publish("note", SHARED, {"title": "from USA"})
    network.deliver_all()
    before = content(network.db_url("JPN"))
    out = tmp_path / "jpn.backup"
    info = backup(jpn.store, "JPN", out)
    assert (info.nation, info.reports) == ("JPN", 8)
    assert read_info(out) == info
    # the backup is a plain SQLite file anyone can open
    with sqlite3.connect(out) as conn:
        assert conn.execute("SELECT COUNT(*) FROM reports").fetchone()[0] == 8

    jpn.publish("note", SHARED, {"title": "after the backup"})
    network._nodes.pop("JPN").close()
    for target in ("sqlite", "postgres"):
        url = str(tmp_path / "restored.db") if target == "sqlite" else pg_schema_url()
        try:
            restore(out, url, "JPN")
            assert content(url) == before
            store = open_store(url)
            try:
                assert verify_chain(store.audit_rows(), store.audit_head()) == []
                # new rows go after the restored ones
                assert store.insert_reports([], received_from=None) == []
            finally:
                store.close()
        finally:
            if target == "postgres":
                drop_pg_schema(url)


def test_restore_refuses_another_nations_backup_and_a_damaged_file(
    network: Network, tmp_path: Path
) -> None:
    out = tmp_path / "usa.backup"
    backup(network["USA"].store, "USA", out)
    with pytest.raises(StoreError, match="backup of USA's node, not of JPN's"):
        restore(out, str(tmp_path / "x.db"), "JPN")
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(StoreError, match="not a trilink backup"):
        restore(junk, str(tmp_path / "y.db"), "USA")
    assert not (tmp_path / "y.db").exists()
