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
import hashlib
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

import msgspec

from trilink.errors import ReportError, StoreError
from trilink.model.ids import utc_timestamp
from trilink.model.report import Report, Signature, decode_envelope
from trilink.model.wire import GENESIS_CHAIN, chain_next
from trilink.provenance.pki import CertifiedKey, load_certified_key
from trilink.store.audit import (
    ENTRY_FIELDS,
    GENESIS,
    AuditEntry,
    AuditRow,
    entry_from_values,
    entry_values,
    hash_of_values,
    storable,
)

# (version, name, statements). Never edit a shipped migration: add a new one.
_AUDIT_COLUMN_NAMES = ("seq", "at", *ENTRY_FIELDS, "prev_hash", "hash")
_AUDIT_COLUMNS = ", ".join(_AUDIT_COLUMN_NAMES)
_REPORT_INSERT_COLUMNS = (
    "origin", "id", "version", "origin_seq", "kind", "label", "created",
    "tombstone", "envelope", "signature", "received_from", "stored_at",
)  # fmt: skip

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
    (
        4,
        "outbox hash chain per partner; the chain value at each inbound cursor",
        # Receivers record where in a sender's chain they are, so a sender whose history
        # went back (restored from an older copy) is recognised instead of its new items
        # being dropped as duplicates (trilink.model.wire). Chains of existing outbox rows
        # are computed after the schema change (see _fill_outbox_chains).
        [
            "ALTER TABLE outbox ADD COLUMN chain TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE cursors ADD COLUMN inbound_chain TEXT NOT NULL DEFAULT ''",
        ],
    ),
    (
        5,
        "signed revocation statements of signing keys",
        [
            """CREATE TABLE revocations (
                key_id TEXT PRIMARY KEY,
                nation TEXT NOT NULL,
                revoked_at TEXT NOT NULL,
                statement TEXT NOT NULL,
                added_at TEXT NOT NULL
            )""",
        ],
    ),
    (
        6,
        "node API tokens",
        [
            """CREATE TABLE api_tokens (
                token_hash TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                role TEXT NOT NULL,
                created_at TEXT NOT NULL,
                revoked INTEGER NOT NULL DEFAULT 0
            )""",
        ],
    ),
    (
        7,
        "signed audit heads: this node's own checkpoints, and each partner's newest head",
        # trilink.node.anchors: a node signs its audit head now and then and partners keep the
        # newest one they verified, so a rewritten or truncated log is seen from outside it
        [
            """CREATE TABLE audit_checkpoints (
                seq BIGINT PRIMARY KEY,
                epoch BIGINT NOT NULL,
                hash TEXT NOT NULL,
                starts_epoch INTEGER NOT NULL,
                statement TEXT NOT NULL,
                signed_at TEXT NOT NULL
            )""",
            """CREATE TABLE audit_witness (
                nation TEXT PRIMARY KEY,
                epoch BIGINT NOT NULL,
                seq BIGINT NOT NULL,
                hash TEXT NOT NULL,
                statement TEXT NOT NULL,
                epoch_start TEXT NOT NULL,
                received_at TEXT NOT NULL
            )""",
        ],
    ),
    (
        8,
        "partners' CA certificates learned through CA rollover links",
        # trilink.provenance.pki.follow_links: a partner's next CA, vouched for by a CA this
        # node already trusted for that partner; kept so a restart still trusts it
        [
            """CREATE TABLE trust_anchors (
                fingerprint TEXT PRIMARY KEY,
                nation TEXT NOT NULL,
                cert_pem TEXT NOT NULL,
                added_at TEXT NOT NULL
            )""",
        ],
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


class OutboxItem(NamedTuple):
    """One item of a partner's feed (a tuple: a feed batch reads a thousand at a time)."""

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
    # Times the connection to a database server was lost and opened again (PostgreSQL).
    reconnects: int = 0

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

    def migrate(self, up_to: int | None = None) -> list[int]:
        """Apply every migration not yet applied (up to version ``up_to``); returns the
        versions applied now."""
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
                if version in done or (up_to is not None and version > up_to):
                    continue
                for statement in statements:
                    self._run(statement)
                if version == 4:
                    self._fill_outbox_chains()
                self._run(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, utc_timestamp()),
                )
                applied_now.append(version)
        return applied_now

    def migrate_to(self, version: int) -> None:
        """Bring a new store to exactly schema ``version`` (restoring an older backup)."""
        newest = max(v for v, _n, _s in MIGRATIONS)
        if version > newest:
            raise StoreError(
                f"the backup has schema version {version}; this trilink knows up to {newest}: "
                "restore it with the trilink release that made it, or a newer one"
            )
        self.migrate(up_to=version)

    # -- bulk copy (backups) --------------------------------------------------------------
    @abc.abstractmethod
    def columns(self, table: str) -> list[str]:
        """The column names of ``table`` in table order."""

    def table_rows(
        self, table: str, columns: Sequence[str], batch: int
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Every row of ``table`` (trusted name), ``batch`` rows at a time."""
        names = ", ".join(columns)
        offset = 0
        while True:
            rows = self._rows(
                f"SELECT {names} FROM {table} ORDER BY {columns[0]} LIMIT ? OFFSET ?",
                (batch, offset),
            )
            if rows:
                yield rows
            if len(rows) < batch:
                return
            offset += batch

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert rows as they are, generated columns included (restore)."""
        self._insert_many(table, columns, rows)

    def _insert_many(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert a batch of rows, explicit values for generated columns included (trusted
        names). Engine hook: PostgreSQL streams them with COPY."""
        marks = ", ".join("?" * len(columns))
        self._run_many(
            f"INSERT INTO {table} ({', '.join(columns)}) {self._overriding()}VALUES ({marks})",
            rows,
        )

    def clear(self, table: str) -> None:
        """Remove every row of ``table`` (trusted name; restore into a new store)."""
        self._run(f"DELETE FROM {table}")

    def _overriding(self) -> str:
        return ""

    def after_bulk_insert(self, identity: dict[str, str]) -> None:
        """Move generated keys past the rows inserted with explicit values (SQLite's
        INTEGER PRIMARY KEY follows the largest key by itself)."""
        return None

    def table_exists(self, name: str) -> bool:
        with self._lock, self._engine_errors():
            return self._table_exists(name)

    def schema_version(self) -> int:
        rows = self._rows("SELECT MAX(version) FROM schema_migrations")
        return int(rows[0][0] or 0)

    # -- counters -------------------------------------------------------------------------
    def next_counter(self, name: str, count: int = 1, *, floor: int = 1) -> int:
        """Reserve ``count`` consecutive values of counter ``name``, none below ``floor``;
        returns the first."""
        top = floor + count - 1
        rows = self._rows(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) "
            "DO UPDATE SET value = CASE WHEN counters.value + ? > ? THEN counters.value + ? "
            "ELSE ? END RETURNING value",
            (name, top, count, top, count, top),
        )
        return int(rows[0][0]) - count + 1

    def set_counter(self, name: str, value: int) -> None:
        self._run(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) "
            "DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def counter(self, name: str) -> int:
        rows = self._rows("SELECT value FROM counters WHERE name = ?", (name,))
        return int(rows[0][0]) if rows else 0

    # -- reports --------------------------------------------------------------------------
    def insert_reports(self, reports: Sequence[Report], received_from: str | None) -> list[int]:
        """Store reports; returns their local sequence numbers."""
        now = utc_timestamp()
        self._insert_many(
            "reports",
            _REPORT_INSERT_COLUMNS,
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

    def partners_queued(self, origin: str, report_id: str, version: int) -> set[str]:
        """Partners this version of a report was queued for."""
        rows = self._rows(
            "SELECT DISTINCT o.partner FROM outbox o JOIN reports r ON r.seq = o.report_seq "
            "WHERE r.origin = ? AND r.id = ? AND r.version = ?",
            (origin, report_id, version),
        )
        return {r[0] for r in rows}

    def last_seq(self) -> int:
        """The local sequence number of the newest stored report (0: none)."""
        return int(self._rows("SELECT COALESCE(MAX(seq), 0) FROM reports")[0][0])

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

    def reports_of_origin(self, origin: str, after_origin_seq: int, limit: int) -> list[Report]:
        """``origin``'s reports (every version) with origin_seq above ``after_origin_seq``,
        in origin_seq order: what a node restored from an older copy learns back."""
        rows = self._rows(
            "SELECT envelope, signature FROM reports WHERE origin = ? AND origin_seq > ? "
            "ORDER BY origin_seq LIMIT ?",
            (origin, after_origin_seq, limit),
        )
        return [
            Report(
                envelope=decode_envelope(bytes(env)),
                signature=_signature_decoder.decode(sig),
                signed=bytes(env),
            )
            for env, sig in rows
        ]

    def max_origin_seq(self, origin: str) -> int:
        rows = self._rows("SELECT MAX(origin_seq) FROM reports WHERE origin = ?", (origin,))
        return int(rows[0][0] or 0)

    def report_count(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM reports")[0][0])

    @abc.abstractmethod
    def size_bytes(self) -> int:
        """What the store takes on disk (for the node's metrics)."""

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
    def enqueue(self, partner: str, items: Sequence[tuple[int, bytes]]) -> None:
        """Queue reports for ``partner``: (local seq, SHA-256 of the signed envelope) each,
        extending the partner's outbox chain. Must run inside the caller's transaction."""
        if not items:
            return
        first = self.next_counter(f"pseq:{partner}", len(items))
        chain = self.outbox_chain_at(partner, first - 1)
        now = utc_timestamp()
        rows = []
        for i, (seq, digest) in enumerate(items):
            chain = chain_next(chain, first + i, digest)
            rows.append((partner, first + i, seq, now, chain))
        self._insert_many("outbox", ("partner", "pseq", "report_seq", "queued_at", "chain"), rows)

    def outbox_after(self, partner: str, after: int, limit: int) -> list[OutboxItem]:
        rows = self._rows(
            "SELECT o.pseq, r.envelope, r.signature FROM outbox o "
            "JOIN reports r ON r.seq = o.report_seq "
            "WHERE o.partner = ? AND o.pseq > ? ORDER BY o.pseq LIMIT ?",
            (partner, after, limit),
        )
        return [OutboxItem(p, bytes(e), s) for p, e, s in rows]

    def oldest_queued_at(self, partner: str, after: int) -> str | None:
        """When the oldest item of ``partner``'s outbox above ``after`` (its acknowledged
        cursor) was queued (``utc_timestamp``); None when nothing waits."""
        rows = self._rows(
            "SELECT queued_at FROM outbox WHERE partner = ? AND pseq > ? ORDER BY pseq LIMIT 1",
            (partner, after),
        )
        return str(rows[0][0]) if rows else None

    def outbox_head(self, partner: str) -> int:
        return self.counter(f"pseq:{partner}")

    def outbox_chain_at(self, partner: str, pseq: int) -> str:
        """The chain value of ``partner``'s outbox after item ``pseq`` (0: the start)."""
        if pseq <= 0:
            return GENESIS_CHAIN
        rows = self._rows(
            "SELECT chain FROM outbox WHERE partner = ? AND pseq = ?", (partner, pseq)
        )
        if not rows or not rows[0][0]:
            raise StoreError(
                f"outbox for {partner} has no item {pseq}: the outbox is damaged; "
                "restore the node from a backup ('trilink node restore')"
            )
        return str(rows[0][0])

    def _fill_outbox_chains(self) -> None:
        """Chain values for outbox rows written before migration 4."""
        partners = [r[0] for r in self._rows("SELECT DISTINCT partner FROM outbox")]
        for partner in partners:
            chain = GENESIS_CHAIN
            rows = self._rows(
                "SELECT o.pseq, r.envelope FROM outbox o JOIN reports r ON r.seq = o.report_seq "
                "WHERE o.partner = ? ORDER BY o.pseq",
                (partner,),
            )
            updates = []
            for pseq, envelope in rows:
                chain = chain_next(chain, int(pseq), hashlib.sha256(bytes(envelope)).digest())
                updates.append((chain, partner, int(pseq)))
            self._run_many("UPDATE outbox SET chain = ? WHERE partner = ? AND pseq = ?", updates)

    def cursor(self, partner: str) -> tuple[int, int]:
        """(last pseq received from ``partner``, last pseq ``partner`` acknowledged from us)."""
        rows = self._rows("SELECT inbound, push_acked FROM cursors WHERE partner = ?", (partner,))
        return (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)

    def inbound_anchor(self, partner: str) -> tuple[int, str]:
        """(last pseq received from ``partner``, its outbox chain value there; '' when it
        was received before chains existed)."""
        rows = self._rows(
            "SELECT inbound, inbound_chain FROM cursors WHERE partner = ?", (partner,)
        )
        if not rows:
            return 0, GENESIS_CHAIN
        cursor, chain = int(rows[0][0]), str(rows[0][1])
        return cursor, (GENESIS_CHAIN if cursor == 0 else chain)

    def set_inbound_cursor(self, partner: str, value: int, chain: str) -> None:
        self._run(
            "INSERT INTO cursors (partner, inbound, push_acked, updated_at, inbound_chain) "
            "VALUES (?, ?, 0, ?, ?) "
            "ON CONFLICT (partner) DO UPDATE SET inbound = excluded.inbound, "
            "inbound_chain = excluded.inbound_chain, updated_at = excluded.updated_at",
            (partner, value, utc_timestamp(), chain),
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
            values = entry_values(storable(entry))
            seq += 1
            digest = hash_of_values(prev, seq, at, values)
            rows.append((seq, at, *values, prev, digest))
            prev = digest
        self._insert_many("audit", _AUDIT_COLUMN_NAMES, rows)
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
        rows = self._rows(f"SELECT {_AUDIT_COLUMNS} FROM audit " + where, params)
        last = 2 + len(ENTRY_FIELDS)
        return [
            AuditRow(
                seq=int(r[0]),
                at=r[1],
                entry=entry_from_values(r[2:last]),
                prev_hash=r[last],
                hash=r[last + 1],
            )
            for r in rows
        ]

    def audit_head(self) -> tuple[int, str] | None:
        rows = self._rows("SELECT seq, hash FROM audit_head WHERE id = 1")
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    def locked_audit_head(self) -> tuple[int, str]:
        """The audit head, locked until the caller's transaction ends (no row is appended
        meanwhile): what a signed checkpoint states must still be the head when it is kept."""
        rows = self._rows(self._lock_head_sql())
        if not rows:
            raise self.damaged("the audit head record", "audit_head row 1 is missing")
        return int(rows[0][0]), str(rows[0][1])

    def audit_hash_at(self, seq: int) -> str | None:
        """The hash of audit row ``seq``, or None if there is no such row."""
        if not 0 < seq < 2**63:
            return None
        rows = self._rows("SELECT hash FROM audit WHERE seq = ?", (seq,))
        return str(rows[0][0]) if rows else None

    # -- signed audit heads (trilink.node.anchors) ----------------------------------------
    @contextmanager
    def durable_transaction(self) -> Iterator[None]:
        """A transaction whose commit, and every commit before it, is on disk when it ends.
        A signed audit head leaves the node once it is kept: a power failure must not take
        back rows a partner then holds the head of (a false "history truncated")."""
        with self._lock:
            with self._engine_errors():
                self._durable_commits(True)
            try:
                with self.transaction():
                    yield
            finally:
                with self._engine_errors():
                    self._durable_commits(False)

    def _durable_commits(self, on: bool) -> None:
        """Engine hook: make commits durable (PostgreSQL's are, synchronous_commit on)."""
        return None

    def add_checkpoint(
        self, seq: int, epoch: int, digest: str, statement: str, *, starts_epoch: bool
    ) -> None:
        """Keep one of this node's own signed audit heads."""
        self._run(
            "INSERT INTO audit_checkpoints (seq, epoch, hash, starts_epoch, statement, "
            "signed_at) VALUES (?, ?, ?, ?, ?, ?)",
            (seq, epoch, digest, int(starts_epoch), statement, utc_timestamp()),
        )

    def checkpoints(
        self,
        *,
        after: int = 0,
        limit: int | None = None,
        newest: int | None = None,
        epoch_starts: bool = False,
    ) -> list[tuple[int, str]]:
        """(seq, signed statement) of this node's own signed heads in seq order: those
        after row ``after`` (the first ``limit``), the ``newest`` N, or only those that
        began an epoch (restores)."""
        where = "WHERE seq > ?" + (" AND starts_epoch = 1" if epoch_starts else "")
        sql = f"SELECT seq, statement FROM audit_checkpoints {where} ORDER BY seq"
        params: list[Any] = [after]
        if newest is not None:
            sql += " DESC LIMIT ?"
            params.append(newest)
        elif limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        rows = self._rows(sql, params)
        if newest is not None:
            rows.reverse()
        return [(int(seq), str(text)) for seq, text in rows]

    def witnessed_head(self, nation: str) -> tuple[str, str, str] | None:
        """(signed head, signed start of its epoch or '', when it was received) of
        ``nation``'s newest audit head that this node verified, or None."""
        rows = self._rows(
            "SELECT statement, epoch_start, received_at FROM audit_witness WHERE nation = ?",
            (nation,),
        )
        return (str(rows[0][0]), str(rows[0][1]), str(rows[0][2])) if rows else None

    def set_witnessed_head(
        self, nation: str, head: tuple[int, int, str], statement: str, epoch_start: str
    ) -> None:
        """Keep ``nation``'s newest verified audit head: (epoch, seq, hash) and its texts."""
        epoch, seq, digest = head
        self._run(
            "INSERT INTO audit_witness (nation, epoch, seq, hash, statement, epoch_start, "
            "received_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (nation) DO UPDATE SET "
            "epoch = excluded.epoch, seq = excluded.seq, hash = excluded.hash, "
            "statement = excluded.statement, epoch_start = excluded.epoch_start, "
            "received_at = excluded.received_at",
            (nation, epoch, seq, digest, statement, epoch_start, utc_timestamp()),
        )

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

    def add_revocation(self, key_id: str, nation: str, revoked_at: str, statement: str) -> bool:
        """Remember a verified revocation statement; False if this key's was known."""
        if self._rows("SELECT 1 FROM revocations WHERE key_id = ?", (key_id,)):
            return False
        self._run(
            "INSERT INTO revocations (key_id, nation, revoked_at, statement, added_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (key_id, nation, revoked_at, statement, utc_timestamp()),
        )
        return True

    def revocations(self) -> list[tuple[str, str]]:
        """(nation, statement text) of every revocation this node holds."""
        rows = self._rows("SELECT nation, statement FROM revocations ORDER BY added_at")
        return [(str(n), str(t)) for n, t in rows]

    def add_anchor(self, nation: str, fingerprint: str, cert_pem: str) -> bool:
        """Remember a partner's CA certificate learned in-band; False if it was known."""
        if self._rows("SELECT 1 FROM trust_anchors WHERE fingerprint = ?", (fingerprint,)):
            return False
        self._run(
            "INSERT INTO trust_anchors (fingerprint, nation, cert_pem, added_at) "
            "VALUES (?, ?, ?, ?)",
            (fingerprint, nation, cert_pem, utc_timestamp()),
        )
        return True

    def learned_anchors(self) -> list[tuple[str, str]]:
        """(nation, CA certificate PEM) of every CA learned through a rollover link."""
        rows = self._rows("SELECT nation, cert_pem FROM trust_anchors ORDER BY added_at")
        return [(str(n), str(t)) for n, t in rows]


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
