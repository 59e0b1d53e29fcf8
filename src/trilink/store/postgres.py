"""PostgreSQL store (psycopg 3): the production option, ``--db postgresql://...``.

``?schema=NAME`` in the URL keeps a node in its own schema, so several nodes (or test runs)
can share one database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg

from trilink.errors import StoreError
from trilink.store.base import Store

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_MIGRATION_LOCK = 0x7472696C  # "tril": advisory lock key shared by every trilink process


def split_schema(url: str) -> tuple[str, str | None]:
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    schema = next((v for k, v in query if k == "schema"), None)
    # libpq percent-decodes URIs but does not read '+' as a space: encode spaces as %20.
    rest = urlencode([(k, v) for k, v in query if k != "schema"], quote_via=quote)
    return urlunsplit(parts._replace(query=rest)), schema


class PostgresStore(Store):
    placeholder = "%s"
    types = {
        "INT_PK": "BIGINT PRIMARY KEY",
        "AUTOINC_PK": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "BLOB": "BYTEA",
    }

    def __init__(self, url: str):
        super().__init__()
        self.url = url
        conninfo, self.schema = split_schema(url)
        if self.schema is not None and not _SCHEMA_RE.match(self.schema):
            raise StoreError(f"schema name {self.schema!r} must match [a-z_][a-z0-9_]*")
        try:
            self._conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
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

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        try:
            return self._conn.execute(sql, params)
        except psycopg.errors.IntegrityError as err:
            raise StoreError(f"integrity violation: {err}") from err
        except psycopg.Error as err:
            raise StoreError(f"database error: {err}") from err

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            with self._conn.cursor() as cur:
                cur.executemany(sql, rows)
        except psycopg.errors.IntegrityError as err:
            raise StoreError(f"integrity violation: {err}") from err
        except psycopg.Error as err:
            raise StoreError(f"database error: {err}") from err

    def _begin(self) -> None:
        self._execute("BEGIN")

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
        cur = self._conn.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_name = %s "
            "AND table_schema = current_schema()",
            (name,),
        )
        return cur.fetchone() is not None

    def close(self) -> None:
        self._conn.close()

    def columns(self, table: str) -> list[str]:
        rows = self._rows(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND table_schema = current_schema() ORDER BY ordinal_position",
            (table,),
        )
        return [str(r[0]) for r in rows]

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        with self._lock:
            self._execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield
            finally:
                self._rollback()

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
            self._execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
