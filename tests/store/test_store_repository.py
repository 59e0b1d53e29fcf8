"""The store on both engines: migrations, reports, outbox, cursors, counters, keys, transactions.

Every test here runs twice, ``[sqlite]`` and ``[postgres]`` (see tests/conftest.py).
"""

from __future__ import annotations

import gc
import hashlib
import re
import threading
import time
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from trilink.errors import StoreError
from trilink.model import build_envelope, parse_label
from trilink.model.ids import uuid7
from trilink.model.report import Report
from trilink.model.wire import GENESIS_CHAIN, chain_next
from trilink.provenance.pki import init_nation, load_signing_key
from trilink.provenance.signing import Signer
from trilink.store import Store, open_store
from trilink.store.base import MIGRATIONS
from trilink.store.check import expected_tables
from trilink.store.postgres import PostgresStore, split_schema

LABEL = parse_label("SECRET//REL TO USA, JPN, KOR")


@pytest.fixture(scope="module")
def signers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Signer]:
    root = tmp_path_factory.mktemp("store-pki")
    for nation in ("USA", "JPN"):
        init_nation(root / nation, nation)
    return {n: Signer(*load_signing_key(root / n)) for n in ("USA", "JPN")}


def make_reports(
    signer: Signer,
    count: int,
    *,
    start: int = 1,
    kind: str = "note",
    report_id: str | None = None,
    version: int = 1,
) -> list[Report]:
    nation = signer.certified.nation
    envs = [
        build_envelope(
            origin=nation,
            origin_seq=start + i,
            kind=kind,
            label=LABEL,
            payload={"title": f"{nation} {start + i}"} if kind == "note" else {"reason": "x"},
            report_id=report_id,
            version=version + i if report_id else version,
        )
        for i in range(count)
    ]
    return signer.sign(envs)


# -- migrations --------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["sqlite"])
def test_sqlite_store_runs_in_wal_mode(store: Store) -> None:
    assert store.query("PRAGMA journal_mode") == [("wal",)]


def test_fresh_store_is_at_the_latest_migration(store: Store) -> None:
    assert store.schema_version() == max(v for v, _n, _s in MIGRATIONS)
    rows = store.query("SELECT version, name FROM schema_migrations ORDER BY version")
    assert [(int(v), n) for v, n in rows] == [(v, n) for v, n, _s in MIGRATIONS]


def test_reports_are_indexed_by_id(store: Store, engine: str) -> None:
    """Lookups by report id alone (derivation checks, the COP's report panel) must not scan
    the table: the (origin, id, version) constraint cannot serve them."""
    if engine == "sqlite":
        plan = store.query(
            "EXPLAIN QUERY PLAN SELECT seq FROM reports WHERE id = ? ORDER BY version", ("x",)
        )
        assert any("INDEX reports_id" in str(row[-1]) for row in plan), plan
    else:
        rows = store.query(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND indexname = 'reports_id'"
        )
        assert rows and "(id, version)" in rows[0][0], rows


def test_migrate_is_idempotent(store: Store, store_url: str) -> None:
    assert store.migrate() == []
    again = open_store(store_url)  # a second process opening the same database
    try:
        assert again.migrate() == []
        assert again.schema_version() == store.schema_version()
    finally:
        again.close()
    assert int(store.query("SELECT COUNT(*) FROM schema_migrations")[0][0]) == len(MIGRATIONS)


LATER = [v for v, _name, _statements in MIGRATIONS if v > 1]


def _back_to_version_1(store: Store) -> None:
    """Undo every migration after the first (tables, the index of 3, the columns of 4)."""
    first = set(re.findall(r"CREATE TABLE (\w+)", " ".join(MIGRATIONS[0][2])))
    for table in expected_tables():
        if table not in first | {"schema_migrations"}:
            store.execute(f"DROP TABLE {table}")
    store.execute("DROP INDEX reports_id")
    store.execute("ALTER TABLE outbox DROP COLUMN chain")
    store.execute("ALTER TABLE cursors DROP COLUMN inbound_chain")
    store.execute("DELETE FROM schema_migrations WHERE version > 1")


def test_only_missing_migrations_are_applied(store: Store) -> None:
    """A database left at version 1 gets exactly the later migrations and keeps its data."""
    _back_to_version_1(store)
    with store.transaction():
        store.next_counter("kept", 5)
    assert store.schema_version() == 1
    assert store.migrate() == LATER
    assert store.schema_version() == LATER[-1]
    assert store.counter("kept") == 5
    store.execute(
        "INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
        ("ana", "h", "analyst", "now"),
    )
    assert store.query("SELECT role FROM users WHERE username = ?", ("ana",)) == [("analyst",)]


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
# The losing PostgresStore leaks its connection (same note); collected below, inside the test.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_two_processes_opening_a_fresh_database_at_once(store_url: str) -> None:
    """A node and a CLI (or two nodes) starting together on a new database both succeed.
    (PostgreSQL only: on SQLite the same race failed once under heavy load but cannot be
    reproduced on demand, see the note.)"""

    def open_one(barrier: threading.Barrier, opened: list[Store], errors: list[str]) -> None:
        barrier.wait()
        try:
            opened.append(open_store(store_url))
        except StoreError as err:
            errors.append(str(err))

    for _trial in range(4):
        barrier = threading.Barrier(2)
        opened: list[Store] = []
        errors: list[str] = []
        threads = [
            threading.Thread(target=open_one, args=(barrier, opened, errors)) for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        try:
            assert errors == []
            newest = max(version for version, _name, _sql in MIGRATIONS)
            assert [s.schema_version() for s in opened] == [newest] * 2
        finally:
            for s in opened:
                s.close()
            gc.collect()
        fresh = PostgresStore(store_url)  # start the next trial from an empty schema
        fresh.drop_schema()
        fresh.close()


def test_migration_4_chains_the_outbox_written_before_it(
    store: Store, signers: dict[str, Signer]
) -> None:
    reports = make_reports(signers["USA"], 5)
    with store.transaction():
        seqs = store.insert_reports(reports, received_from=None)
        store.enqueue("JPN", queued(reports, seqs))
    chains = [store.outbox_chain_at("JPN", p) for p in range(1, 6)]
    store.execute("ALTER TABLE outbox DROP COLUMN chain")
    store.execute("ALTER TABLE cursors DROP COLUMN inbound_chain")
    store.execute("DELETE FROM schema_migrations WHERE version = 4")
    assert store.migrate() == [4]
    assert [store.outbox_chain_at("JPN", p) for p in range(1, 6)] == chains
    expected = GENESIS_CHAIN
    for pseq, report in enumerate(reports, start=1):
        expected = chain_next(expected, pseq, hashlib.sha256(report.signed).digest())
    assert chains[-1] == expected


def test_failed_migration_leaves_the_schema_unchanged(store: Store) -> None:
    store.execute("DELETE FROM schema_migrations WHERE version > 1")
    # users still exists, so re-running migration 2 fails on CREATE TABLE users.
    with pytest.raises(StoreError):
        store.migrate()
    assert store.schema_version() == 1


def test_open_store_reports_an_unusable_location(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError):
        open_store(str(blocker / "sub" / "node.db"))


def test_open_store_reports_an_unreachable_postgres() -> None:
    with pytest.raises(StoreError, match="cannot connect"):
        open_store("postgresql://127.0.0.1:1/test?schema=t_unreachable")
    with pytest.raises(StoreError, match="schema name"):
        open_store("postgresql://127.0.0.1:5432/test?schema=Robert'); DROP")


def test_postgres_url_schema_is_split_off() -> None:
    conninfo, schema = split_schema(
        "postgresql://127.0.0.1:5432/test?schema=t_abc&sslmode=disable"
    )
    assert schema == "t_abc"
    assert conninfo_to_dict(conninfo) == {
        "host": "127.0.0.1",
        "port": "5432",
        "dbname": "test",
        "sslmode": "disable",
    }
    assert split_schema("postgresql://127.0.0.1/test")[1] is None


def test_postgres_url_keeps_parameters_with_spaces() -> None:
    url = "postgresql://127.0.0.1:5432/test?options=-c%20statement_timeout%3D5000&schema=t_abc"
    conninfo, _schema = split_schema(url)
    assert conninfo_to_dict(conninfo)["options"] == "-c statement_timeout=5000"


# -- reports -----------------------------------------------------------------------------


def test_insert_and_read_back_reports(store: Store, signers: dict[str, Signer]) -> None:
    own = make_reports(signers["USA"], 3)
    received = make_reports(signers["JPN"], 2)
    with store.transaction():
        own_seqs = store.insert_reports(own, received_from=None)
        got_seqs = store.insert_reports(received, received_from="JPN")
    assert own_seqs == sorted(own_seqs) and len(set(own_seqs + got_seqs)) == 5
    assert min(got_seqs) > max(own_seqs)
    assert store.report_count() == 5

    stored = store.reports()
    assert [s.seq for s in stored] == own_seqs + got_seqs
    for item, original in zip(stored, own + received, strict=True):
        assert item.report == original
        assert item.report.signed == original.signed
        assert item.report.signature == original.signature
    assert [s.received_from for s in stored] == [None] * 3 + ["JPN"] * 2
    assert [s.seq for s in store.reports(after_seq=own_seqs[1], limit=2)] == [
        own_seqs[2],
        got_seqs[0],
    ]
    env = received[1].envelope
    assert store.stored_bytes(env.origin, env.id, env.version) == received[1].signed
    assert store.stored_bytes(env.origin, env.id, 2) is None
    assert store.stored_bytes("USA", env.id, env.version) is None
    assert store.origin_seq_taken("JPN", env.origin_seq)
    assert not store.origin_seq_taken("JPN", 99)


def test_insert_reports_returns_seqs_whatever_the_origin_seq_order(
    store: Store, signers: dict[str, Signer]
) -> None:
    jpn = [make_reports(signers["JPN"], 1, start=s)[0] for s in (5, 1, 9)]
    usa = make_reports(signers["USA"], 1, start=3)
    with store.transaction():
        seqs = store.insert_reports(jpn + usa, received_from=None)
    assert len(set(seqs)) == 4
    by_seq = {s.seq: s.report for s in store.reports()}
    assert [by_seq[s] for s in seqs] == jpn + usa


def test_versions_and_tombstones(store: Store, signers: dict[str, Signer]) -> None:
    rid = uuid7()
    v1_v2 = make_reports(signers["JPN"], 2, report_id=rid)
    v3 = make_reports(signers["JPN"], 1, start=3, kind="tombstone", report_id=rid, version=3)
    other = make_reports(signers["JPN"], 1, start=4)
    with store.transaction():
        store.insert_reports(v1_v2 + v3 + other, received_from="JPN")
    assert [s.report.envelope.version for s in store.versions(rid)] == [1, 2, 3]
    latest = store.latest_version(rid)
    assert latest is not None and latest.report.envelope.is_tombstone
    assert store.latest_version(uuid7()) is None
    assert [s.report.envelope.kind for s in store.reports(kind="tombstone")] == ["tombstone"]
    assert int(store.query("SELECT tombstone FROM reports WHERE version = 3")[0][0]) == 1


def test_same_report_twice_is_refused_and_rolls_back(
    store: Store, signers: dict[str, Signer]
) -> None:
    first = make_reports(signers["JPN"], 2)
    with store.transaction():
        store.insert_reports(first[:1], received_from="JPN")
    with pytest.raises(StoreError, match="integrity"), store.transaction():
        store.next_counter("during-failed-tx")
        store.insert_reports(first[1:], received_from="JPN")  # fine on its own
        store.insert_reports(first[:1], received_from="JPN")  # (origin, id, version) again
    assert store.report_count() == 1
    assert store.counter("during-failed-tx") == 0
    # The connection is usable after the rollback.
    with store.transaction():
        store.insert_reports(first[1:], received_from="JPN")
    assert store.report_count() == 2


def test_origin_seq_is_unique_per_origin(store: Store, signers: dict[str, Signer]) -> None:
    a = make_reports(signers["JPN"], 1, start=7)
    b = make_reports(signers["JPN"], 1, start=7)  # another report, same origin_seq
    c = make_reports(signers["USA"], 1, start=7)  # same origin_seq, other origin: fine
    with store.transaction():
        store.insert_reports(a + c, received_from=None)
    with pytest.raises(StoreError), store.transaction():
        store.insert_reports(b, received_from="JPN")
    assert store.report_count() == 2


def test_exception_inside_a_transaction_rolls_everything_back(
    store: Store, signers: dict[str, Signer]
) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), store.transaction():
        seqs = store.insert_reports(make_reports(signers["JPN"], 3), received_from="JPN")
        store.enqueue("USA", [(q, b"\0" * 32) for q in seqs])
        store.set_inbound_cursor("JPN", 3, GENESIS_CHAIN)
        with store.transaction():  # nested: joins the outer transaction
            store.next_counter("x", 4)
        raise Boom
    assert store.report_count() == 0
    assert store.outbox_head("USA") == 0
    assert store.cursor("JPN") == (0, 0)
    assert store.counter("x") == 0


def test_transactions_from_two_threads_do_not_mix(store: Store) -> None:
    """One Store used from a thread pool (the COP's request handlers): thread B's
    transaction must not silently join thread A's and vanish when A rolls back."""
    a_inside, b_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    class Abort(Exception):
        pass

    def thread_a() -> None:
        try:
            with store.transaction():
                store.next_counter("a")
                a_inside.set()
                b_done.wait(2.0)  # B finishes at once if it joins; otherwise it waits for A
                raise Abort
        except Abort:
            pass
        except BaseException as err:
            errors.append(err)

    def thread_b() -> None:
        try:
            a_inside.wait(5.0)
            with store.transaction():
                store.next_counter("b")
            b_done.set()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.counter("a") == 0  # A rolled back
    assert store.counter("b") == 1, "B's committed work was rolled back with A's transaction"


@pytest.mark.parametrize("engine", ["postgres"])
def test_postgres_reads_do_not_wait_for_another_threads_transaction(
    store: Store, signers: dict[str, Signer]
) -> None:
    """A node's API answers from committed data while its replicator holds the writing
    connection in a long transaction: the read runs on a pooled reader connection, sees
    the rows committed before, and none of the open transaction's."""
    store.insert_reports(make_reports(signers["USA"], 3), received_from=None)
    inside, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with store.transaction():
                store.insert_reports(make_reports(signers["JPN"], 2), received_from="JPN")
                inside.set()
                release.wait(10.0)
        except BaseException as err:
            errors.append(err)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert inside.wait(5.0)
        assert store.report_count() == 3
        with store.read_snapshot():
            assert len(store.reports(limit=10)) == 3
            assert store.max_origin_seq("JPN") == 0
        assert thread.is_alive(), "the writer's transaction ended before the reads"
    finally:
        release.set()
        thread.join()
    assert errors == []
    assert store.report_count() == 5


@pytest.mark.parametrize("engine", ["postgres"])
def test_postgres_tables_are_analysed_as_they_grow(
    store: Store, signers: dict[str, Signer]
) -> None:
    """Until PostgreSQL has statistics for a new table, a lookup by report id reads every
    row of the origin (the planner guesses): the store analyses the tables it fills."""
    assert isinstance(store, PostgresStore)

    def known_rows() -> float:
        row = store.query(
            "SELECT reltuples FROM pg_class WHERE relname = 'reports' "
            "AND relnamespace = current_schema()::regnamespace"
        )
        return float(row[0][0])

    assert known_rows() < 0  # never analysed
    store.insert_reports(make_reports(signers["JPN"], 2100), received_from="JPN")
    deadline = time.monotonic() + 30
    while known_rows() < 0 and time.monotonic() < deadline:  # analysed in the background
        time.sleep(0.05)
    assert known_rows() == 2100
    ids = [s.report.envelope.id for s in store.reports(limit=3)]
    plan = "\n".join(
        str(r[0])
        for r in store.query(
            "EXPLAIN SELECT id, version FROM reports WHERE origin = ? AND id IN (?, ?, ?)",
            ("JPN", *ids),
        )
    )
    assert "Index" in plan and "id = ANY" in plan.split("Index Cond:")[1], plan


@pytest.mark.parametrize("engine", ["postgres"])
def test_postgres_connection_lost_is_opened_again_and_audited(
    store: Store, signers: dict[str, Signer]
) -> None:
    """A server restart drops the node's session (here: pg_terminate_backend, what a restart
    does to it): the write in progress fails with a clear error and is rolled back whole;
    the next one runs on a new connection, and the audit says so."""
    import psycopg

    assert isinstance(store, PostgresStore)
    store.insert_reports(make_reports(signers["USA"], 5), received_from=None)
    conninfo, _schema = split_schema(store.url)
    with psycopg.connect(conninfo, autocommit=True) as admin:
        sessions = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
            (f"trilink {store.schema}",),
        ).fetchall()
        assert sessions, "the store's sessions are named after its schema"
        for (pid,) in sessions:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    batch = make_reports(signers["USA"], 5, start=6)
    try:
        store.insert_reports(batch, received_from=None)
    except StoreError as err:
        assert "lost the connection to PostgreSQL" in str(err)
        assert store.report_count() == 5  # nothing of the failed batch was kept
        store.insert_reports(batch, received_from=None)
    assert store.report_count() == 10
    assert store.reconnects == 1
    rows = [r for r in store.audit_rows() if r.entry.event == "store"]
    assert [r.entry.outcome for r in rows] == ["reconnected"]
    assert "was lost" in (rows[0].entry.reason or "")


@pytest.mark.parametrize("engine", ["sqlite"])
def test_sqlite_writer_waits_for_another_connections_write_lock(
    store: Store, store_url: str
) -> None:
    """Two connections to one file (the node process and a CLI or engine process): the
    second writer waits while the first holds the write lock, then commits its own work."""
    other = open_store(store_url)
    holding, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        with other.transaction():
            other.next_counter("first")
            holding.set()
            release.wait(5.0)

    t = threading.Thread(target=hold_lock)
    t.start()
    try:
        assert holding.wait(5.0)
        threading.Timer(0.05, release.set).start()
        with store.transaction():  # blocks until the other connection commits
            assert store.counter("first") == 1
            store.next_counter("second")
    finally:
        release.set()
        t.join()
        other.close()
    assert store.counter("second") == 1


@pytest.mark.parametrize("engine", ["sqlite"])
def test_sqlite_write_lock_held_too_long_is_a_clear_error(
    store: Store, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trilink.store.sqlite as sqlite_store

    monkeypatch.setattr(sqlite_store, "_WRITE_LOCK_TIMEOUT_S", 0.2)
    other = open_store(store_url)
    try:
        with other.transaction():
            other.next_counter("held")
            with pytest.raises(StoreError, match="stayed locked by another writer"):
                with store.transaction():
                    store.next_counter("blocked")
    finally:
        other.close()
    assert store.counter("held") == 1 and store.counter("blocked") == 0
    with store.transaction():  # the connection is usable again
        store.next_counter("blocked")
    assert store.counter("blocked") == 1


# -- outbox, cursors, counters -----------------------------------------------------------


def queued(reports: list[Report], seqs: list[int]) -> list[tuple[int, bytes]]:
    return [(q, hashlib.sha256(r.signed).digest()) for q, r in zip(seqs, reports, strict=True)]


def test_outbox_pseq_is_contiguous_per_partner(store: Store, signers: dict[str, Signer]) -> None:
    reports = make_reports(signers["USA"], 6)
    with store.transaction():
        seqs = store.insert_reports(reports, received_from=None)
        items = queued(reports, seqs)
        store.enqueue("JPN", items[:2])
        store.enqueue("KOR", items[1:4])
        store.enqueue("JPN", [])
    with store.transaction():
        store.enqueue("JPN", items[3:6])
    jpn = store.outbox_after("JPN", 0, 100)
    kor = store.outbox_after("KOR", 0, 100)
    assert [i.pseq for i in jpn] == [1, 2, 3, 4, 5]
    assert [i.pseq for i in kor] == [1, 2, 3]
    assert [i.envelope for i in jpn] == [reports[i].signed for i in (0, 1, 3, 4, 5)]
    assert [i.envelope for i in kor] == [reports[i].signed for i in (1, 2, 3)]
    assert store.outbox_head("JPN") == 5 and store.outbox_head("KOR") == 3
    assert store.outbox_head("USA") == 0
    page = store.outbox_after("JPN", 2, 2)
    assert [i.pseq for i in page] == [3, 4]
    assert store.outbox_after("JPN", 5, 10) == []


def test_cursors_start_at_zero_and_move_independently(store: Store) -> None:
    assert store.cursor("JPN") == (0, 0)
    with store.transaction():
        store.set_inbound_cursor("JPN", 7, "a" * 64)
    assert store.cursor("JPN") == (7, 0)
    with store.transaction():
        store.set_push_acked("JPN", 3)
        store.set_push_acked("KOR", 9)
    assert store.cursor("JPN") == (7, 3)
    assert store.cursor("KOR") == (0, 9)
    with store.transaction():
        store.set_inbound_cursor("JPN", 8, "b" * 64)
    assert store.cursor("JPN") == (8, 3)
    assert store.inbound_anchor("JPN") == (8, "b" * 64)
    assert store.inbound_anchor("USA") == (0, GENESIS_CHAIN)


def test_counters_reserve_consecutive_blocks(store: Store) -> None:
    with store.transaction():
        assert store.next_counter("a") == 1
        assert store.next_counter("a", 10) == 2
        assert store.next_counter("b", 3) == 1
        assert store.next_counter("a") == 12
    assert store.counter("a") == 12
    assert store.counter("b") == 3
    assert store.counter("never") == 0


# -- keys --------------------------------------------------------------------------------


def test_keys_are_remembered_once(store: Store, signers: dict[str, Signer]) -> None:
    jpn, usa = signers["JPN"].certified, signers["USA"].certified
    with store.transaction():
        assert store.add_key(jpn)
        assert not store.add_key(jpn)
        assert store.add_key(usa)
    keys = {k.key_id: k for k in store.keys()}
    assert set(keys) == {jpn.key_id, usa.key_id}
    assert keys[jpn.key_id].nation == "JPN"
    assert keys[jpn.key_id].not_after == jpn.not_after


def test_engine_errors_become_store_errors(store: Store) -> None:
    with pytest.raises(StoreError):
        store.query("SELECT * FROM no_such_table")
    # and the store still works afterwards
    assert store.counter("x") == 0
