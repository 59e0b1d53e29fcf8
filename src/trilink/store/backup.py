"""Backups of a node's store, and restoring one: ``trilink node backup`` / ``restore``.

A backup is one SQLite file, whatever the node's engine, holding every table of the store
at one consistent moment plus a ``backup_info`` row (nation, time, schema version, counts).
So a PostgreSQL node can be restored into SQLite and back, and a backup can be opened and
read with any SQLite tool.

Restoring replaces the node's store with the backup's content. What the node published or
received after the backup was taken is not in it: the node learns it back from its
partners when it starts (replication notices that its history went back, see
``trilink.model.wire``, and the partners return the node's own reports to it).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from trilink.errors import StoreError
from trilink.model.ids import utc_timestamp
from trilink.store.base import Store
from trilink.store.check import expected_tables
from trilink.store.postgres import PostgresStore
from trilink.store.sqlite import SqliteStore

# Identity columns PostgreSQL generates: set explicitly on restore, then moved past.
IDENTITY = {"reports": "seq"}
BATCH_ROWS = 5000


@dataclass(frozen=True)
class BackupInfo:
    nation: str
    taken_at: str
    schema_version: int
    reports: int
    audit_seq: int
    audit_hash: str

    def describe(self) -> str:
        return (
            f"{self.nation} backup taken {self.taken_at}: {self.reports} reports, audit "
            f"up to row {self.audit_seq}, schema version {self.schema_version}"
        )


def backup(store: Store, nation: str, out: Path) -> BackupInfo:
    """Write a consistent copy of ``store`` to the SQLite file ``out`` (replaced)."""
    tmp = out.with_name(out.name + ".partial")
    tmp.unlink(missing_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(store, SqliteStore):
        # The SQLite online backup API copies a consistent snapshot while the node writes.
        target = sqlite3.connect(tmp)
        try:
            store.copy_to(target)
        finally:
            target.close()
        copy = SqliteStore(tmp)
    else:
        copy = SqliteStore(tmp)
        copy.migrate_to(store.schema_version())
        with store.read_snapshot():
            for table in expected_tables():
                copy.clear(table)
                columns = store.columns(table)
                for rows in store.table_rows(table, columns, BATCH_ROWS):
                    copy.insert_rows(table, columns, rows)
    try:
        info = _describe(copy, nation)
        copy.execute(
            "CREATE TABLE backup_info (nation TEXT, taken_at TEXT, schema_version INTEGER, "
            "reports INTEGER, audit_seq INTEGER, audit_hash TEXT)"
        )
        copy.execute(
            "INSERT INTO backup_info VALUES (?, ?, ?, ?, ?, ?)",
            (
                info.nation,
                info.taken_at,
                info.schema_version,
                info.reports,
                info.audit_seq,
                info.audit_hash,
            ),
        )
    finally:
        copy.close()
    tmp.replace(out)
    return info


def read_info(path: Path) -> BackupInfo:
    """What a backup file holds, or ``StoreError`` saying why it is not a trilink backup."""
    if not path.is_file():
        raise StoreError(f"backup {path} does not exist")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute(
                "SELECT nation, taken_at, schema_version, reports, audit_seq, audit_hash "
                "FROM backup_info"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error as err:
        raise StoreError(f"{path} is not a trilink backup ({err})") from None
    if row is None:
        raise StoreError(f"{path} is not a trilink backup (no backup_info row)")
    return BackupInfo(*row)


def restore(path: Path, db_url: str, nation: str) -> BackupInfo:
    """Replace the store at ``db_url`` by the backup at ``path`` (the node must be stopped)."""
    info = read_info(path)
    if info.nation != nation:
        raise StoreError(f"{path} is a backup of {info.nation}'s node, not of {nation}'s")
    source = SqliteStore(path)
    try:
        problems, _notes = source.engine_problems(full=False)
        if problems:
            raise StoreError(f"backup {path} is damaged: {problems[0]}")
        target = _empty_store(db_url)
        try:
            target.migrate_to(info.schema_version)
            with target.transaction():
                for table in [t for t in expected_tables() if source.table_exists(t)]:
                    target.clear(table)  # rows a new schema starts with (its audit head)
                    columns = source.columns(table)
                    for rows in source.table_rows(table, columns, BATCH_ROWS):
                        target.insert_rows(table, columns, rows)
                target.after_bulk_insert(IDENTITY)
            target.migrate()  # a backup taken before an upgrade: bring it to today's schema
        finally:
            target.close()
    finally:
        source.close()
    return info


def _empty_store(db_url: str) -> Store:
    """The store at ``db_url`` emptied (SQLite: a new file; PostgreSQL: a new schema)."""
    if db_url.startswith(("postgresql://", "postgres://")):
        existing = PostgresStore(db_url)
        existing.drop_schema()
        existing.close()
        return PostgresStore(db_url)
    path = Path(db_url.removeprefix("sqlite:///"))
    for extra in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        extra.unlink(missing_ok=True)
    return SqliteStore(path)


def _describe(store: Store, nation: str) -> BackupInfo:
    head = store.audit_head() or (0, "")
    return BackupInfo(
        nation=nation,
        taken_at=utc_timestamp(),
        schema_version=store.schema_version(),
        reports=store.report_count(),
        audit_seq=head[0],
        audit_hash=head[1],
    )


__all__ = ["BackupInfo", "backup", "read_info", "restore"]
