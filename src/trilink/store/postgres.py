"""PostgreSQL store (psycopg 3): the production option, ``--db postgresql://...``.

``?schema=NAME`` in the URL keeps a node in its own schema, so several nodes (or test runs)
can share one database.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg_pool import ConnectionPool

from trilink.errors import StoreError
from trilink.store.audit import AuditEntry
from trilink.store.base import Store, one_line

log = logging.getLogger(__name__)

_SCHEMA_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}")  # fullmatch: '$' accepts a trailing newline
_MIGRATION_LOCK = 0x7472696C  # "tril": advisory lock key shared by every trilink process
# Connections that serve reads while this process's one writing connection is busy.
READERS = 4
# Lookups by report id (ingest's duplicate check, owners) use an index only once PostgreSQL
# knows how many rows a table holds; until autovacuum first analyses a new table (a minute
# or more) they read every row of the origin. The store analyses its growing tables itself,
# each time they have grown by as many rows as it last saw (so about log2(n) times), only
# the columns lookups filter on (the envelopes are wide and worth no statistics), from a
# small sample, and on a reader connection in the background: run inside the writer's
# transaction, an analyse of a million-row table held every write of the node for seconds.
GROWING_TABLES = {
    "reports": "origin, id, version, origin_seq, kind",
    "outbox": "partner, pseq",
    "audit": "seq, report_id",
}
ANALYZE_FIRST_ROWS = 2000
ANALYZE_SAMPLE_TARGET = 10  # default_statistics_target for it: 3,000 rows sampled


def split_schema(url: str) -> tuple[str, str | None]:
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    schema = next((v for k, v in query if k == "schema"), None)
    # libpq percent-decodes URIs but does not read '+' as a space: encode spaces as %20.
    rest = urlencode([(k, v) for k, v in query if k != "schema"], quote_via=quote)
    return urlunsplit(parts._replace(query=rest)), schema


class PostgresStore(Store):
    """One connection writes, in this process's order (as on SQLite: writers never race each
    other into deadlocks). A plain SELECT that finds that connection busy in another thread
    (a batch being stored, say) runs at once on a pooled reader connection instead of
    waiting, and so does a read snapshot: reads of committed data never queue behind
    writes. Batches of rows are streamed with COPY."""

    placeholder = "%s"
    types = {
        "INT_PK": "BIGINT PRIMARY KEY",
        "AUTOINC_PK": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "BLOB": "BYTEA",
    }
    engine_errors = (psycopg.Error,)

    def __init__(self, url: str):
        super().__init__()
        self.url = url
        conninfo, self.schema = split_schema(url)
        if self.schema is not None and not _SCHEMA_RE.fullmatch(self.schema):
            raise StoreError(f"schema name {self.schema!r} must match [a-z_][a-z0-9_]*")
        self._conninfo = conninfo
        self._readers: ConnectionPool | None = None
        self._readers_lock = threading.Lock()
        self._grown: dict[str, int] = {}
        self._analyzed_rows: dict[str, int] = {}
        self._analyzing: set[str] = set()
        self._closed = False
        self.reconnects = 0
        try:
            self._conn = psycopg.connect(conninfo, **self._connect_options())
        except psycopg.Error as err:
            raise StoreError(
                f"cannot connect to PostgreSQL at {conninfo}: {err}. Is the server running "
                "(pg_ctlcluster 15 main start) and does the database exist?"
            ) from err
        try:
            if self.schema:
                # Two processes creating the same schema at once must both succeed.
                with self._conn.transaction():
                    self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                    self._conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                self._conn.execute(f'SET search_path TO "{self.schema}"')
        except psycopg.Error as err:
            self._conn.close()
            raise StoreError(f"cannot prepare schema {self.schema!r}: {err}") from err

    def size_bytes(self) -> int:
        """This node's tables with their indexes and TOAST (its schema of the database)."""
        rows = self._rows(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        )
        return int(rows[0][0])

    def _store_error(self, err: Exception) -> StoreError:
        state = getattr(err, "sqlstate", None) or ""
        text = one_line(str(err))
        where = self.name
        if state.startswith("XX"):  # data_corrupted, index_corrupted, internal error
            return self.damaged("data", f"{state} {text}")
        if state.startswith("23"):
            return StoreError(f"integrity violation in {where}: {text}")
        if state.startswith("53"):  # disk full, out of memory, too many connections
            return StoreError(
                f"PostgreSQL at {where} is out of resources ({state} {text}): free disk space "
                "or connections on the server; the write that failed was rolled back"
            )
        if state.startswith("58"):
            return StoreError(
                f"PostgreSQL at {where} reports an I/O or system error ({state} {text}): check "
                f"the server's disk and log, then run 'trilink node check --db {where}'"
            )
        if state in ("42P01", "42703"):  # undefined table / column
            return StoreError(
                f"{where} lacks what trilink needs ({text}): the schema is damaged or is not a "
                f"trilink node's; run 'trilink node check --db {where}'"
            )
        if isinstance(err, psycopg.OperationalError) or self._conn.closed:
            return StoreError(
                f"lost the connection to PostgreSQL at {where} ({text}): is the server "
                "running? The write in progress was rolled back"
            )
        return StoreError(f"database error on {where}: {state} {text}".rstrip())

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._writer().execute(sql, params)

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._writer().cursor() as cur:
            cur.executemany(sql, rows)

    def _connect_options(self) -> dict[str, Any]:
        # pg_stat_activity then tells which node a session is (its schema).
        name = f"trilink {self.schema}" if self.schema else "trilink"
        return {"autocommit": True, "connect_timeout": 10, "application_name": name}

    def _writer(self) -> psycopg.Connection[Any]:
        """The writing connection, opened again if the server dropped it (a restart): only
        between transactions, so a transaction the server lost fails as a whole (its caller
        sees the error; a partner's batch is then sent again, a publish refused) and the
        next one runs on the new connection."""
        if self._conn.broken and not getattr(self._local, "in_tx", False):
            self._reconnect()
        return self._conn

    def _reconnect(self) -> None:
        try:
            self._conn.close()
        except psycopg.Error:
            pass
        conn = psycopg.connect(self._conninfo, **self._connect_options())
        if self.schema:
            conn.execute(f'SET search_path TO "{self.schema}"')
        self._conn = conn
        self.reconnects += 1
        log.warning("connection to PostgreSQL at %s lost; connected again", self.name)
        with self.transaction():
            self.audit(
                [
                    AuditEntry(
                        event="store",
                        outcome="reconnected",
                        reason=f"the connection to PostgreSQL at {self.name} was lost "
                        f"(server restarted?) and opened again ({self.reconnects} so far)",
                    )
                ]
            )

    def _insert_many(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        # COPY writes the values given for identity columns too (as OVERRIDING SYSTEM VALUE).
        if not rows:
            return
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with self._lock, self._engine_errors(), self._writer().cursor() as cur:
            with cur.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
            if table in GROWING_TABLES:
                self._note_growth(table, len(rows))

    def _note_growth(self, table: str, added: int) -> None:
        grown = self._grown.get(table, 0) + added
        seen = self._analyzed_rows.get(table, 0)
        if grown >= max(ANALYZE_FIRST_ROWS, seen) and table not in self._analyzing:
            self._analyzed_rows[table] = seen + grown
            grown = 0
            self._analyzing.add(table)
            threading.Thread(
                target=self._analyze, args=(table,), name=f"analyse {table}", daemon=True
            ).start()
        self._grown[table] = grown

    def _analyze(self, table: str) -> None:
        try:
            with self._reader() as conn, conn.transaction():
                conn.execute(f"SET LOCAL default_statistics_target = {ANALYZE_SAMPLE_TARGET}")
                conn.execute(f"ANALYZE {table} ({GROWING_TABLES[table]})")
        except (StoreError, psycopg.Error) as err:  # autovacuum will do it later
            log.warning("analysing %s in %s failed: %s", table, self.name, err)
        finally:
            self._analyzing.discard(table)

    # -- reads beside the writer -----------------------------------------------------------
    def _reader_pool(self) -> ConnectionPool:
        with self._readers_lock:
            if self._closed:
                raise StoreError(f"the store {self.name} is closed")
            if self._readers is None:
                schema = self.schema

                def configure(conn: psycopg.Connection[Any]) -> None:
                    if schema:
                        conn.execute(f'SET search_path TO "{schema}"')

                self._readers = ConnectionPool(
                    self._conninfo,
                    min_size=1,
                    max_size=READERS,
                    kwargs=self._connect_options(),
                    check=ConnectionPool.check_connection,
                    configure=configure,
                    open=True,
                    name=f"trilink readers {self.name}",
                    num_workers=1,
                )
            return self._readers

    @contextmanager
    def _reader(self) -> Iterator[psycopg.Connection[Any]]:
        with self._engine_errors(), self._reader_pool().connection(timeout=30) as conn:
            yield conn

    @staticmethod
    def _plain_read(sql: str) -> bool:
        head = sql.lstrip()[:6].upper()
        return head == "SELECT" and "FOR UPDATE" not in sql.upper()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        pinned = getattr(self._local, "reader", None)
        if pinned is not None:
            with self._engine_errors():
                return list(pinned.execute(self._sql(sql), params).fetchall())
        # Blocking unless a plain read: writes keep this process's order on one connection.
        if self._lock.acquire(blocking=not self._plain_read(sql)):
            try:
                return super()._rows(sql, params)
            finally:
                self._lock.release()
        with self._reader() as conn, self._engine_errors():
            return list(conn.execute(self._sql(sql), params).fetchall())

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        if self._lock.acquire(blocking=False):
            try:
                with super().read_snapshot():
                    yield
            finally:
                self._lock.release()
            return
        with self._reader() as conn:
            with self._engine_errors():
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            self._local.reader = conn
            try:
                yield
            finally:
                self._local.reader = None
                try:
                    conn.execute("ROLLBACK")
                except psycopg.Error:
                    pass

    def _begin(self) -> None:
        self._execute("BEGIN")

    def _begin_read(self) -> None:
        self._execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def _commit(self) -> None:
        self._execute("COMMIT")

    def _rollback(self) -> None:
        try:
            self._conn.execute("ROLLBACK")
        except psycopg.Error:
            pass

    def _lock_for_migration(self) -> None:
        self._execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))

    def _lock_head_sql(self) -> str:
        # Serialises audit appends across concurrent writers on the same node.
        return "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"

    def _table_exists(self, name: str) -> bool:
        cur = self._writer().execute(
            "SELECT 1 FROM information_schema.tables WHERE table_name = %s "
            "AND table_schema = current_schema()",
            (name,),
        )
        return cur.fetchone() is not None

    def engine_problems(self, *, full: bool) -> tuple[list[str], list[str]]:
        """What PostgreSQL can say about this schema's storage. Quick: nothing beyond what
        every query meets (a page failing its checksum, if the cluster has them, raises
        XX001 when read). Full: amcheck, when the extension is installed and usable,
        checks every B-tree index (``bt_index_check`` with ``heapallindexed``) and every
        table's heap (``verify_heapam``). Returns (problems, notes)."""
        with self._lock, self._engine_errors():
            checksums = self._writer().execute("SHOW data_checksums").fetchone()
            notes = [
                "data checksums are on: a damaged page fails when it is read"
                if checksums and checksums[0] == "on"
                else "data checksums are off in this cluster: PostgreSQL cannot tell a damaged "
                "table page from a good one until amcheck reads it"
            ]
            if not full:
                return [], notes
            row = self._conn.execute(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                "ON n.oid = e.extnamespace WHERE e.extname = 'amcheck'"
            ).fetchone()
            if row is None:
                notes.append(
                    "amcheck is not installed in this database, so table and index pages were "
                    "not checked; a superuser can enable it with 'CREATE EXTENSION amcheck'"
                )
                return [], notes
            return self._amcheck(str(row[0]), notes), notes

    def _amcheck(self, ext_schema: str, notes: list[str]) -> list[str]:
        ns = f'"{ext_schema}"'
        relations = self._conn.execute(
            "SELECT c.relname, c.relkind FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_am a ON a.oid = c.relam "
            "WHERE n.nspname = current_schema() "
            "AND (c.relkind = 'r' OR (c.relkind = 'i' AND a.amname = 'btree')) "
            "ORDER BY c.relkind DESC, c.relname"
        ).fetchall()
        problems: list[str] = []
        for relname, relkind in relations:
            qualified = f'"{self.schema}"."{relname}"' if self.schema else f'"{relname}"'
            try:
                if relkind == "r":
                    for blkno, offnum, attnum, msg in self._conn.execute(
                        f"SELECT blkno, offnum, attnum, msg FROM {ns}.verify_heapam(%s::regclass)",
                        (qualified,),
                    ):
                        problems.append(
                            f"table {relname} block {blkno} item {offnum}"
                            f"{f' column {attnum}' if attnum is not None else ''}: {msg}"
                        )
                else:
                    self._conn.execute(
                        f"SELECT {ns}.bt_index_check(%s::regclass, true)", (qualified,)
                    )
            except psycopg.errors.InsufficientPrivilege as err:
                notes.append(f"amcheck is installed but this user may not run it: {err}")
                return problems
            except psycopg.Error as err:
                kind = "table" if relkind == "r" else "index"
                problems.append(f"{kind} {relname}: {one_line(str(err))}")
        notes.append(f"amcheck: {len(relations)} tables and B-tree indexes checked")
        return problems

    def close(self) -> None:
        with self._readers_lock:
            self._closed = True
            if self._readers is not None:
                self._readers.close()
                self._readers = None
        self._conn.close()

    def columns(self, table: str) -> list[str]:
        rows = self._rows(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND table_schema = current_schema() ORDER BY ordinal_position",
            (table,),
        )
        return [str(r[0]) for r in rows]

    def _overriding(self) -> str:
        return "OVERRIDING SYSTEM VALUE "

    def after_bulk_insert(self, identity: dict[str, str]) -> None:
        for table, column in identity.items():
            self._run(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                f"COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
            )

    def drop_schema(self) -> None:
        """Remove this store's schema and everything in it (tests, decommissioning)."""
        if self.schema:
            with self._engine_errors():
                self._execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
