"""One repository interface over SQLite (embedded default) and PostgreSQL (production).

The SQL is written once with ``?`` placeholders and a few type tokens; each engine supplies
its connection, placeholder style and type names. Every write happens inside
``with store.transaction():`` so a report, its release decisions, its audit rows and its
outbox rows commit together or not at all (the transactional outbox of ARCHITECTURE §6).

Every statement runs inside ``_engine_errors``: whatever the engine raises (a damaged page,
a full disk, a lost connection) leaves the store as one ``StoreError`` line that names the
database and says what to do, never as a driver traceback.
"""

from __future__ import annotations

import abc
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec

from trilink.errors import ReportError, StoreError
from trilink.model.ids import utc_timestamp
from trilink.model.report import Report, Signature, decode_envelope
from trilink.provenance.pki import CertifiedKey, load_certified_key
from trilink.store.audit import GENESIS, AuditEntry, AuditRow, row_hash, storable

# (version, name, statements). Never edit a shipped migration: add a new one.
MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (
        1,
        "reports, outbox, cursors, counters, audit, keys",
        [
            """CREATE TABLE reports (
                seq {AUTOINC_PK},
                origin TEXT NOT NULL,
                id TEXT NOT NULL,
                version INTEGER NOT NULL,
                origin_seq BIGINT NOT NULL,
                kind TEXT NOT NULL,
                label TEXT NOT NULL,
                created TEXT NOT NULL,
                tombstone INTEGER NOT NULL,
                envelope {BLOB} NOT NULL,
                signature TEXT NOT NULL,
                received_from TEXT,
                stored_at TEXT NOT NULL,
                UNIQUE (origin, id, version),
                UNIQUE (origin, origin_seq)
            )""",
            "CREATE INDEX reports_kind ON reports (kind)",
            """CREATE TABLE outbox (
                partner TEXT NOT NULL,
                pseq BIGINT NOT NULL,
                report_seq BIGINT NOT NULL,
                queued_at TEXT NOT NULL,
                PRIMARY KEY (partner, pseq)
            )""",
            """CREATE TABLE cursors (
                partner TEXT PRIMARY KEY,
                inbound BIGINT NOT NULL DEFAULT 0,
                push_acked BIGINT NOT NULL DEFAULT 0,
                updated_at TEXT NOT NULL
            )""",
            "CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
            """CREATE TABLE audit (
                seq {INT_PK} CHECK (seq > 0),
                at TEXT NOT NULL,
                event TEXT NOT NULL,
                outcome TEXT NOT NULL,
                reason TEXT NOT NULL,
                partner TEXT NOT NULL,
                origin TEXT NOT NULL,
                report_id TEXT NOT NULL,
                version INTEGER NOT NULL,
                actor TEXT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL
            )""",
            "CREATE INDEX audit_report ON audit (report_id)",
            """CREATE TABLE audit_head (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                seq BIGINT NOT NULL,
                hash TEXT NOT NULL
            )""",
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '" + GENESIS + "')",
            """CREATE TABLE keys (
                key_id TEXT PRIMARY KEY,
                nation TEXT NOT NULL,
                cert_pem TEXT NOT NULL,
                not_before TEXT NOT NULL,
                not_after TEXT NOT NULL,
                added_at TEXT NOT NULL
            )""",
        ],
    ),
    (
        2,
        "COP users and sessions",
        [
            """CREATE TABLE users (
                username TEXT PRIMARY KEY,
                password_hash TEXT NOT NULL,
                role TEXT NOT NULL,
                created_at TEXT NOT NULL,
                disabled INTEGER NOT NULL DEFAULT 0
            )""",
            """CREATE TABLE sessions (
                token_hash TEXT PRIMARY KEY,
                username TEXT NOT NULL,
                csrf TEXT NOT NULL,
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL
            )""",
        ],
    ),
    (
        3,
        "index reports by id",
        # UNIQUE (origin, id, version) cannot serve a lookup by id alone (derivation checks,
        # the COP's report panel, waits for partner reports): without this index each one
        # scanned the whole table, and publishing slowed as the store grew (measured)
        ["CREATE INDEX reports_id ON reports (id, version)"],
    ),
]


class DamagedStoreError(StoreError):
    """The stored data itself is damaged: says where, and that the remedy is a backup."""

    def __init__(self, database: str, what: str, detail: str):
        self.database = database
        self.damage = f"{what} is damaged ({detail})"
        super().__init__(
            f"{what} in {database} is damaged ({detail}). Stop the node, list the damage with "
            f"'trilink node check --db {database}', and restore the database from a backup "
            "(docs/store.md)"
        )


@dataclass(frozen=True, slots=True)
class StoredReport:
    report: Report
    seq: int
    received_from: str | None
    stored_at: str


@dataclass(frozen=True, slots=True)
class OutboxItem:
    pseq: int
    envelope: bytes
    signature: str


_signature_decoder = msgspec.json.Decoder(Signature)


class Store(abc.ABC):
    """The node's database. Subclasses connect; the SQL lives here."""

    placeholder = "?"
    types: dict[str, str] = {}
    url: str
    # What the engine's driver raises; ``_store_error`` turns each into a StoreError.
    engine_errors: tuple[type[Exception], ...] = ()

    def __init__(self) -> None:
        # One connection per Store: a transaction belongs to the thread that opened it and
        # other threads wait for it to end rather than joining it.
        self._lock = threading.RLock()
        self._local = threading.local()

    # -- engine hooks ---------------------------------------------------------------------
    @abc.abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    @abc.abstractmethod
    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    @abc.abstractmethod
    def _begin(self) -> None: ...

    @abc.abstractmethod
    def _commit(self) -> None: ...

    @abc.abstractmethod
    def _rollback(self) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def _table_exists(self, name: str) -> bool: ...

    @abc.abstractmethod
    def engine_problems(self, *, full: bool) -> tuple[list[str], list[str]]:
        """The engine's own check of its storage: (problems found, notes on what was or
        could not be checked)."""

    @abc.abstractmethod
    def _store_error(self, err: Exception) -> StoreError:
        """One line for an engine error: what went wrong with which database, what to do."""

    @property
    def name(self) -> str:
        """The database as messages show it (a URL without its password)."""
        return redacted_url(self.url)

    def damaged(self, what: str, detail: str) -> DamagedStoreError:
        """The error for damage found in the stored data itself."""
        return DamagedStoreError(self.name, what, one_line(detail))

    @contextmanager
    def _engine_errors(self) -> Iterator[None]:
        try:
            yield
        except self.engine_errors as err:
            raise self._store_error(err) from err

    def _sql(self, sql: str) -> str:
        for token, value in self.types.items():
            sql = sql.replace("{" + token + "}", value)
        if self.placeholder != "?":
            sql = sql.replace("?", self.placeholder)
        return sql

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run SQL written with ``?`` placeholders (for modules that own their own tables,
        such as the COP's users and sessions)."""
        return self._rows(sql, params)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._run(sql, params)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        # fetchall inside: a damaged page or a text column that is not UTF-8 is met while
        # rows are read, not when the statement starts
        with self._lock, self._engine_errors():
            cur = self._execute(self._sql(sql), params)
            rows: list[tuple[Any, ...]] = cur.fetchall()
        return rows

    def _run(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self._lock, self._engine_errors():
            self._execute(self._sql(sql), params)

    def _run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self._lock, self._engine_errors():
                self._executemany(self._sql(sql), rows)

    # -- transactions and schema ----------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A transaction; nested blocks in the same thread join the outer one."""
        with self._lock:
            if getattr(self._local, "in_tx", False):
                yield
                return
            with self._engine_errors():
                self._begin()
            self._local.in_tx = True
            try:
                yield
            except BaseException:
                self._local.in_tx = False
                self._rollback()
                raise
            self._local.in_tx = False
            with self._engine_errors():
                self._commit()

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """Reads inside see the database at one moment, without blocking writers (SQLite WAL
        readers never do; PostgreSQL: a read-only REPEATABLE READ transaction)."""
        with self._lock:
            with self._engine_errors():
                self._begin_read()
            try:
                yield
            finally:
                self._rollback()

    def _begin_read(self) -> None:
        self._execute("BEGIN")

    def migrate(self) -> list[int]:
        """Apply every migration not yet applied; returns the versions applied now."""
        applied_now: list[int] = []
        with self.transaction():
            with self._engine_errors():
                self._lock_for_migration()
            if not self.table_exists("schema_migrations"):
                self._run(
                    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                    "name TEXT NOT NULL, applied_at TEXT NOT NULL)"
                )
            done = {r[0] for r in self._rows("SELECT version FROM schema_migrations")}
            for version, name, statements in MIGRATIONS:
                if version in done:
                    continue
                for statement in statements:
                    self._run(statement)
                self._run(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, utc_timestamp()),
                )
                applied_now.append(version)
        return applied_now

    def table_exists(self, name: str) -> bool:
        with self._lock, self._engine_errors():
            return self._table_exists(name)

    def schema_version(self) -> int:
        rows = self._rows("SELECT MAX(version) FROM schema_migrations")
        return int(rows[0][0] or 0)

    # -- counters -------------------------------------------------------------------------
    def next_counter(self, name: str, count: int = 1) -> int:
        """Reserve ``count`` consecutive values of counter ``name``; returns the first."""
        rows = self._rows(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) "
            "DO UPDATE SET value = counters.value + excluded.value RETURNING value",
            (name, count),
        )
        return int(rows[0][0]) - count + 1

    def counter(self, name: str) -> int:
        rows = self._rows("SELECT value FROM counters WHERE name = ?", (name,))
        return int(rows[0][0]) if rows else 0

    # -- reports --------------------------------------------------------------------------
    def insert_reports(self, reports: Sequence[Report], received_from: str | None) -> list[int]:
        """Store reports; returns their local sequence numbers."""
        now = utc_timestamp()
        self._run_many(
            "INSERT INTO reports (origin, id, version, origin_seq, kind, label, created, "
            "tombstone, envelope, signature, received_from, stored_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    r.envelope.origin,
                    r.envelope.id,
                    r.envelope.version,
                    r.envelope.origin_seq,
                    r.envelope.kind,
                    r.envelope.label,
                    r.envelope.created,
                    int(r.envelope.is_tombstone),
                    r.signed,
                    msgspec.json.encode(r.signature).decode("ascii"),
                    received_from,
                    now,
                )
                for r in reports
            ],
        )
        by_origin: dict[str, list[int]] = {}
        for r in reports:
            by_origin.setdefault(r.envelope.origin, []).append(r.envelope.origin_seq)
        seq_of: dict[tuple[str, int], int] = {}
        for origin, origin_seqs in by_origin.items():
            for seq, origin_seq in self._rows(
                "SELECT seq, origin_seq FROM reports "
                "WHERE origin = ? AND origin_seq BETWEEN ? AND ?",
                (origin, min(origin_seqs), max(origin_seqs)),
            ):
                seq_of[(origin, int(origin_seq))] = int(seq)
        return [seq_of[(r.envelope.origin, r.envelope.origin_seq)] for r in reports]

    def stored_bytes(self, origin: str, report_id: str, version: int) -> bytes | None:
        if not 0 < version < 2**63:  # no such row can exist in either engine
            return None
        rows = self._rows(
            "SELECT envelope FROM reports WHERE origin = ? AND id = ? AND version = ?",
            (origin, report_id, version),
        )
        return bytes(rows[0][0]) if rows else None

    def stored_versions(
        self, origin: str, keys: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], bytes]:
        """Signed bytes of those (id, version) of ``origin`` already stored."""
        found: dict[tuple[str, int], bytes] = {}
        wanted = set(keys)
        ids = sorted({k[0] for k in keys})
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for rid, version, env in self._rows(
                f"SELECT id, version, envelope FROM reports WHERE origin = ? AND id IN ({marks})",
                [origin, *chunk],
            ):
                if (rid, int(version)) in wanted:
                    found[(rid, int(version))] = bytes(env)
        return found

    def taken_origin_seqs(self, origin: str, low: int, high: int) -> set[int]:
        rows = self._rows(
            "SELECT origin_seq FROM reports WHERE origin = ? AND origin_seq BETWEEN ? AND ?",
            (origin, low, high),
        )
        return {int(r[0]) for r in rows}

    def origin_seq_taken(self, origin: str, origin_seq: int) -> bool:
        rows = self._rows(
            "SELECT 1 FROM reports WHERE origin = ? AND origin_seq = ?", (origin, origin_seq)
        )
        return bool(rows)

    def latest_version(self, report_id: str, origin: str | None = None) -> StoredReport | None:
        found = self.versions(report_id, origin)
        return found[-1] if found else None

    def versions(self, report_id: str, origin: str | None = None) -> list[StoredReport]:
        """Every stored version of a report. Ingest guarantees one origin per id."""
        if origin is None:
            return self._select_reports("WHERE id = ? ORDER BY version", (report_id,))
        return self._select_reports(
            "WHERE id = ? AND origin = ? ORDER BY version", (report_id, origin)
        )

    def owners(self, report_ids: Sequence[str]) -> dict[str, str]:
        """The origin each of these report ids is stored under (ids not held are absent)."""
        found: dict[str, str] = {}
        ids = sorted(set(report_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for rid, origin in self._rows(
                f"SELECT DISTINCT id, origin FROM reports WHERE id IN ({marks})", chunk
            ):
                found[rid] = origin
        return found

    def partners_sent(self, origin: str, report_id: str) -> set[str]:
        """Partners any version of this report was queued for."""
        rows = self._rows(
            "SELECT DISTINCT o.partner FROM outbox o JOIN reports r ON r.seq = o.report_seq "
            "WHERE r.origin = ? AND r.id = ?",
            (origin, report_id),
        )
        return {r[0] for r in rows}

    def reports(
        self, *, after_seq: int = 0, limit: int | None = None, kind: str | None = None
    ) -> list[StoredReport]:
        where = "WHERE seq > ?"
        params: list[Any] = [after_seq]
        if kind is not None:
            where += " AND kind = ?"
            params.append(kind)
        where += " ORDER BY seq"
        if limit is not None:
            where += " LIMIT ?"
            params.append(limit)
        return self._select_reports(where, params)

    def report_count(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM reports")[0][0])

    def _select_reports(self, where: str, params: Sequence[Any]) -> list[StoredReport]:
        rows = self._rows(
            "SELECT seq, envelope, signature, received_from, stored_at FROM reports " + where,
            params,
        )
        out = []
        for seq, env, sig, received_from, stored_at in rows:
            data = bytes(env)
            try:
                report = Report(
                    envelope=decode_envelope(data),
                    signature=_signature_decoder.decode(sig),
                    signed=data,
                )
            except (ReportError, msgspec.DecodeError, msgspec.ValidationError) as err:
                raise self.damaged(f"report row {seq}", str(err)) from None
            out.append(StoredReport(report, int(seq), received_from, stored_at))
        return out

    # -- outbox and cursors ---------------------------------------------------------------
    def enqueue(self, partner: str, report_seqs: Sequence[int]) -> None:
        if not report_seqs:
            return
        first = self.next_counter(f"pseq:{partner}", len(report_seqs))
        now = utc_timestamp()
        self._run_many(
            "INSERT INTO outbox (partner, pseq, report_seq, queued_at) VALUES (?, ?, ?, ?)",
            [(partner, first + i, seq, now) for i, seq in enumerate(report_seqs)],
        )

    def outbox_after(self, partner: str, after: int, limit: int) -> list[OutboxItem]:
        rows = self._rows(
            "SELECT o.pseq, r.envelope, r.signature FROM outbox o "
            "JOIN reports r ON r.seq = o.report_seq "
            "WHERE o.partner = ? AND o.pseq > ? ORDER BY o.pseq LIMIT ?",
            (partner, after, limit),
        )
        return [OutboxItem(int(p), bytes(e), s) for p, e, s in rows]

    def outbox_head(self, partner: str) -> int:
        return self.counter(f"pseq:{partner}")

    def cursor(self, partner: str) -> tuple[int, int]:
        """(last pseq received from ``partner``, last pseq ``partner`` acknowledged from us)."""
        rows = self._rows("SELECT inbound, push_acked FROM cursors WHERE partner = ?", (partner,))
        return (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)

    def set_inbound_cursor(self, partner: str, value: int) -> None:
        self._run(
            "INSERT INTO cursors (partner, inbound, push_acked, updated_at) VALUES (?, ?, 0, ?) "
            "ON CONFLICT (partner) DO UPDATE SET inbound = excluded.inbound, "
            "updated_at = excluded.updated_at",
            (partner, value, utc_timestamp()),
        )

    def set_push_acked(self, partner: str, value: int) -> None:
        self._run(
            "INSERT INTO cursors (partner, inbound, push_acked, updated_at) VALUES (?, 0, ?, ?) "
            "ON CONFLICT (partner) DO UPDATE SET push_acked = excluded.push_acked, "
            "updated_at = excluded.updated_at",
            (partner, value, utc_timestamp()),
        )

    # -- audit ----------------------------------------------------------------------------
    def audit(self, entries: Sequence[AuditEntry]) -> None:
        """Append entries to the hash chain. Must run inside the caller's transaction."""
        if not entries:
            return
        head = self._rows(self._lock_head_sql())
        seq, prev = int(head[0][0]), str(head[0][1])
        at = utc_timestamp()
        rows = []
        for entry in entries:
            entry = storable(entry)
            seq += 1
            digest = row_hash(prev, seq, at, entry)
            rows.append(
                (
                    seq,
                    at,
                    entry.event,
                    entry.outcome,
                    entry.reason,
                    entry.partner,
                    entry.origin,
                    entry.report_id,
                    entry.version,
                    entry.actor,
                    prev,
                    digest,
                )
            )
            prev = digest
        self._run_many(
            "INSERT INTO audit (seq, at, event, outcome, reason, partner, origin, report_id, "
            "version, actor, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        self._run("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev))

    def _lock_for_migration(self) -> None:
        """Serialise migrations between processes (SQLite: BEGIN IMMEDIATE already does)."""
        return None

    def _lock_head_sql(self) -> str:
        return "SELECT seq, hash FROM audit_head WHERE id = 1"

    def audit_rows(
        self, *, report_id: str | None = None, after: int | None = None, limit: int | None = None
    ) -> list[AuditRow]:
        """Audit rows in sequence order; by default every row, whatever its seq, so a
        verifier also sees rows forged outside the chain's numbering."""
        clauses: list[str] = []
        params: list[Any] = []
        if after is not None:
            clauses.append("seq > ?")
            params.append(after)
        if report_id is not None:
            clauses.append("report_id = ?")
            params.append(report_id)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        where += " ORDER BY seq"
        if limit is not None:
            where += " LIMIT ?"
            params.append(limit)
        rows = self._rows(
            "SELECT seq, at, event, outcome, reason, partner, origin, report_id, version, "
            "actor, prev_hash, hash FROM audit " + where,
            params,
        )
        return [
            AuditRow(
                seq=int(r[0]),
                at=r[1],
                entry=AuditEntry(
                    event=r[2],
                    outcome=r[3],
                    reason=r[4],
                    partner=r[5],
                    origin=r[6],
                    report_id=r[7],
                    version=int(r[8]),
                    actor=r[9],
                ),
                prev_hash=r[10],
                hash=r[11],
            )
            for r in rows
        ]

    def audit_head(self) -> tuple[int, str] | None:
        rows = self._rows("SELECT seq, hash FROM audit_head WHERE id = 1")
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    # -- keys -----------------------------------------------------------------------------
    def add_key(self, key: CertifiedKey) -> bool:
        """Remember a verified signing key; False if it was already known."""
        if self._rows("SELECT 1 FROM keys WHERE key_id = ?", (key.key_id,)):
            return False
        self._run(
            "INSERT INTO keys (key_id, nation, cert_pem, not_before, not_after, added_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                key.key_id,
                key.nation,
                key.cert_pem,
                key.not_before.isoformat(),
                key.not_after.isoformat(),
                utc_timestamp(),
            ),
        )
        return True

    def keys(self) -> list[CertifiedKey]:
        rows = self._rows("SELECT cert_pem FROM keys ORDER BY added_at")
        return [load_certified_key(r[0]) for r in rows]


def open_store(url: str, *, check: bool = False, migrate: bool = True) -> Store:
    """Open a store. ``url`` is a SQLite file path, ``sqlite:///path``, or
    ``postgresql://host/db[?schema=name]``.

    ``migrate``: apply pending migrations (False: open an existing database as it is, for
    ``trilink node check``). ``check``: the quick integrity check a node runs at start-up
    (``trilink.store.check``); a damaged store is refused with a StoreError naming the damage.
    """
    if url.startswith(("postgresql://", "postgres://")):
        from trilink.store.postgres import PostgresStore

        store: Store = PostgresStore(url)
    else:
        from trilink.store.sqlite import SqliteStore

        path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
        if not migrate and not Path(path).is_file():
            raise StoreError(f"there is no SQLite database at {path}")
        store = SqliteStore(path)
    try:
        if check:
            from trilink.store.check import refuse_if_damaged

            # the engine's own check first: a damaged file is not written to by migrations
            refuse_if_damaged(store, stage="engine")
        if migrate:
            store.migrate()
        if check:
            refuse_if_damaged(store, stage="content")
    except Exception as err:
        store.close()
        if isinstance(err, StoreError):
            raise
        raise StoreError(f"could not prepare the database at {redacted_url(url)}: {err}") from err
    return store


def driver_error(err: BaseException) -> StoreError | None:
    """A StoreError for a database driver's exception that did not pass through a store
    (None for any other exception). The store names its database; this cannot."""
    import sqlite3

    psycopg = sys.modules.get("psycopg")  # never imported just to be tested against
    engine_errors: tuple[type[BaseException], ...] = (sqlite3.Error,)
    if psycopg is not None:
        engine_errors += (psycopg.Error,)
    if not isinstance(err, engine_errors):
        return None
    return StoreError(
        f"database error ({type(err).__name__}: {one_line(str(err))}). Check the node's "
        "database with 'trilink node check --config DIR/node.toml'; if it is damaged, restore "
        "it from a backup (docs/store.md)"
    )


def redacted_url(url: str) -> str:
    """``url`` without a password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def one_line(text: str, limit: int = 300) -> str:
    """An engine's message on one line, cut to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
