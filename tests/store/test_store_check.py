"""The store's integrity checks against real damage: the quick one a node runs at start-up
(``open_store(check=True)``) and the full one of ``trilink node check``.

SQLite files are damaged on disk (random bytes over a page, or inside one stored value); on
both engines rows, tables and keys are changed through SQL the way a bad restore or an
insider would. Every driver error leaves the store as one StoreError line naming the
database.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.conftest import PG_URL, Network
from tests.store.damage import MARKER, overwrite, publish_with_marker
from trilink.errors import StoreError
from trilink.federation.localnet import ensure_network
from trilink.node.service import NodeService
from trilink.store import open_store
from trilink.store.base import DamagedStoreError, Store, driver_error
from trilink.store.check import CheckResult, check_store, expected_tables


def problems(store: Store, *, full: bool) -> list[str]:
    return [p.line() for p in check_store(store, full=full).problems]


# -- healthy stores ------------------------------------------------------------------------


def test_a_healthy_network_passes_both_checks(network: Network) -> None:
    publish_with_marker(network["JPN"], 40)
    network.deliver("JPN", "USA")
    for nation in ("JPN", "USA"):
        store = network[nation].store
        assert problems(store, full=False) == []
        result = check_store(store, full=True)
        assert result.problems == [], nation
        assert result.counts["reports"] == 40
        assert result.counts["signing keys"] >= 1
        assert result.counts["audit rows"] == store.audit_head()[0]  # type: ignore[index]


def test_open_store_with_the_check_accepts_a_new_then_a_used_database(store_url: str) -> None:
    open_store(store_url, check=True).close()
    store = open_store(store_url, check=True)
    store.close()


def test_the_schema_check_knows_every_table_the_migrations_create() -> None:
    tables = expected_tables()
    assert {"reports", "outbox", "cursors", "counters", "audit", "audit_head", "keys"} <= set(
        tables
    )
    assert "schema_migrations" in tables


# -- SQLite files damaged on disk ----------------------------------------------------------


@pytest.fixture
def jpn_db(tmp_path: Path) -> Path:
    """A closed SQLite node database with 300 reports; the middle one holds MARKER."""
    root = tmp_path / "net"
    ensure_network(root)
    with NodeService.open_local(root, "JPN") as node:
        publish_with_marker(node)
    return root / "JPN" / "node.db"


def test_random_bytes_over_a_page_are_refused_at_start(jpn_db: Path) -> None:
    """Issue 15 finding 7: the node started healthy on this file."""
    overwrite(jpn_db, whole_page=True)
    with pytest.raises(StoreError) as refused:
        open_store(str(jpn_db), check=True)
    message = str(refused.value)
    assert message.startswith(f"refusing to use {jpn_db}: it is damaged (engine: ")
    assert "trilink node check --db" in message and "backup" in message
    assert "\n" not in message


def test_random_bytes_over_a_page_are_named_by_the_full_check(jpn_db: Path) -> None:
    overwrite(jpn_db, whole_page=True)
    store = open_store(str(jpn_db), migrate=False)
    try:
        result = check_store(store, full=True)
    finally:
        store.close()
    assert not result.healthy
    engine = [p.message for p in result.problems if p.check == "engine"]
    assert engine and any("reports" in m for m in engine), engine
    assert all("\n" not in p.line() for p in result.problems)


def test_random_bytes_inside_a_stored_value_are_refused_at_start(jpn_db: Path) -> None:
    """Valid pages, wrong content: SQLite's own check cannot see it; reading the row can."""
    overwrite(jpn_db, whole_page=False)
    with pytest.raises(StoreError, match=r"it is damaged \(reports: report row 151 "):
        open_store(str(jpn_db), check=True)
    store = open_store(str(jpn_db), migrate=False)
    try:
        result = check_store(store, full=True)
    finally:
        store.close()
    assert [p.check for p in result.problems] == ["reports"]
    assert "report row 151" in result.problems[0].message
    assert "does not decode" in result.problems[0].message


@pytest.mark.parametrize("whole_page", [True, False])
def test_reading_a_damaged_file_raises_one_store_error_naming_it(
    jpn_db: Path, whole_page: bool
) -> None:
    """Before: sqlite3.DatabaseError out of fetchall (page) or a ReportError that blamed
    the envelope (value), neither saying that the database is damaged."""
    overwrite(jpn_db, whole_page=whole_page)
    store = open_store(str(jpn_db))
    try:
        with pytest.raises(DamagedStoreError) as damaged:
            store.reports()
    finally:
        store.close()
    message = str(damaged.value)
    assert str(jpn_db) in message and "damaged" in message and "backup" in message
    assert "\n" not in message and MARKER not in message


def test_a_file_that_is_not_a_database_is_called_damaged(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    path.write_bytes(b"this was a node database before the disk failed\n" * 200)
    with pytest.raises(DamagedStoreError, match="file is not a database"):
        open_store(str(path))


def test_checking_a_missing_sqlite_file_does_not_create_it(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    with pytest.raises(StoreError, match="there is no SQLite database at"):
        open_store(str(path), migrate=False)
    assert not path.exists()


# -- both engines: damage through SQL ------------------------------------------------------


def _jpn_with_reports(network: Network) -> tuple[Store, str]:
    node = network["JPN"]
    marked = publish_with_marker(node, 20)
    return node.store, marked


def _envelope(store: Store, report_id: str) -> bytes:
    return bytes(store.query("SELECT envelope FROM reports WHERE id = ?", (report_id,))[0][0])


def _set_envelope(store: Store, report_id: str, data: bytes) -> None:
    store.execute("UPDATE reports SET envelope = ? WHERE id = ?", (data, report_id))


def test_a_changed_payload_is_found_by_both_checks(network: Network) -> None:
    store, marked = _jpn_with_reports(network)
    _set_envelope(store, marked, _envelope(store, marked).replace(b"middle", b"MIDDLE"))
    for full in (False, True):
        found = problems(store, full=full)
        assert len(found) == 1 and "payload does not match its payload_sha256" in found[0]
        assert marked in found[0]


def test_a_payload_rewritten_with_its_hash_fails_only_the_signature(network: Network) -> None:
    store, marked = _jpn_with_reports(network)
    env = json.loads(_envelope(store, marked))
    env["payload"] = {"title": "nothing to see"}
    from trilink.model.canonical import canonical_json, sha256_hex

    env["payload_sha256"] = sha256_hex(canonical_json(env["payload"]))
    _set_envelope(store, marked, canonical_json(env))
    assert problems(store, full=False) == []  # the start-up check does not verify signatures
    found = problems(store, full=True)
    assert len(found) == 1 and "signature does not verify" in found[0] and marked in found[0]


def test_a_column_that_disagrees_with_the_signed_envelope_is_found(network: Network) -> None:
    store, marked = _jpn_with_reports(network)
    store.execute("UPDATE reports SET label = 'UNCLASSIFIED' WHERE id = ?", (marked,))
    found = problems(store, full=False)
    assert len(found) == 1 and "column label differs from the envelope" in found[0]


def test_a_damaged_signing_key_is_found(network: Network) -> None:
    store, _ = _jpn_with_reports(network)
    store.execute("UPDATE keys SET cert_pem = 'not a certificate'")
    found = problems(store, full=True)
    assert any(line.startswith("keys: signing key ") for line in found)
    assert any("unknown signing key" in line for line in found)  # every report's signature


def test_an_outbox_item_whose_report_is_gone_is_found(network: Network) -> None:
    store, marked = _jpn_with_reports(network)
    store.execute("DELETE FROM reports WHERE id = ?", (marked,))
    found = problems(store, full=True)
    assert found == ["outbox: item 11 queued for USA points at report row 11, which is not stored"]


def test_an_edited_newest_audit_row_is_found_at_start(network: Network) -> None:
    store, _ = _jpn_with_reports(network)
    last = store.audit_head()[0]  # type: ignore[index]
    store.execute("UPDATE audit SET reason = 'nothing happened' WHERE seq = ?", (last,))
    assert problems(store, full=False) == [f"audit: row {last} was edited (hash mismatch)"]
    assert problems(store, full=True) == [f"audit: row {last} was edited (hash mismatch)"]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("DELETE FROM audit_head", "schema: the audit head record (audit_head row 1) is missing"),
        ("DROP TABLE cursors", "schema: table cursors is missing"),
        (
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'x', 'now')",
            "schema: migration 99 was applied by a newer trilink than this one",
        ),
    ],
)
def test_schema_damage_is_found_at_start(store_url: str, sql: str, expected: str) -> None:
    store = open_store(store_url)
    store.execute(sql)
    store.close()
    with pytest.raises(StoreError, match=re.escape(f"it is damaged ({expected}")):
        open_store(store_url, check=True)


def test_a_table_dropped_under_a_running_store_is_one_store_error(store: Store) -> None:
    store.execute("DROP TABLE reports")
    with pytest.raises(StoreError, match="lacks what trilink needs") as missing:
        store.reports()
    assert "\n" not in str(missing.value)


# -- PostgreSQL ----------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
def test_a_lost_postgres_connection_is_one_store_error(store: Store) -> None:
    pid = store.query("SELECT pg_backend_pid()")[0][0]
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(StoreError, match="lost the connection to PostgreSQL at") as lost:
        store.report_count()
    assert "\n" not in str(lost.value)


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
def test_the_full_postgres_check_runs_amcheck(network: Network) -> None:
    store, _ = _jpn_with_reports(network)
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        try:
            admin.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
        except psycopg.errors.UniqueViolation:
            pass  # another test run created it at the same moment
    result = check_store(store, full=True)
    assert result.problems == []
    assert any(note.startswith("amcheck: ") and "checked" in note for note in result.notes)
    assert any("data checksums" in note for note in result.notes)


def test_a_driver_error_that_escaped_a_store_becomes_one_store_error() -> None:
    import sqlite3

    error = driver_error(sqlite3.DatabaseError("database disk image is\nmalformed"))
    assert isinstance(error, StoreError)
    assert "database disk image is malformed" in str(error) and "\n" not in str(error)
    assert driver_error(ValueError("not a database error")) is None


def test_problems_past_the_listed_ones_are_counted() -> None:
    result = CheckResult(database="x", full=True)
    for i in range(80):
        result.add("reports", f"report row {i}: damaged")
    assert len(result.problems) == 50
    assert result.counts["reports problems not listed"] == 30


def _in_another_process(path: Path, code: str) -> str:
    script = (
        f"from trilink.store import open_store\ns = open_store({str(path)!r})\n{code}\ns.close()"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


def test_the_start_up_check_keeps_sqlite_locks_so_no_write_is_lost(tmp_path: Path) -> None:
    """The start-up check reads the file to warm the cache. Done in the node's own process,
    closing that file dropped SQLite's locks: a CLI closing its connection then deleted the
    WAL the node was writing to, and every later write of the node was lost to others."""
    path = tmp_path / "node.db"
    node = open_store(str(path), check=True)
    try:
        _in_another_process(path, "with s.transaction(): s.set_counter('cli', 1)")
        with node.transaction():
            node.set_counter("node", 2)
        seen = _in_another_process(path, "print(s.counter('node'), s.counter('cli'))")
        assert seen == "2 1"
    finally:
        node.close()
