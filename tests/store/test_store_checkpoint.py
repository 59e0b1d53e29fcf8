"""SQLite's write-ahead log is copied back into the database by a thread of the store's own
(``trilink.store.sqlite._Checkpointer``), not by the committing writer, and stays bounded
under a steady stream of commits."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from trilink.store import sqlite as sqlite_store
from trilink.store.audit import AuditEntry
from trilink.store.sqlite import SqliteStore


def _write(store: SqliteStore, rows: int, size: int = 1000) -> None:
    with store.transaction():
        store.audit(
            [
                AuditEntry(event="test", outcome="ok", reason=os.urandom(size // 2).hex())
                for _ in range(rows)
            ]
        )


def test_commits_reach_the_database_file_without_the_writer_checkpointing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "node.db"
    store = SqliteStore(path)
    store.migrate()
    try:
        before = path.stat().st_size
        # 3 MB: far below the writer's own checkpoint threshold (10,000 pages, 40 MB), so
        # only the background checkpointer can have copied it into the database file
        _write(store, 3000)
        assert store._checkpointer is not None
        deadline = time.monotonic() + 10
        while path.stat().st_size <= before + 2_500_000 and time.monotonic() < deadline:
            time.sleep(0.05)  # the thread runs on its own schedule: poll, bounded
        assert path.stat().st_size > before + 2_500_000
        store._checkpointer.stop()  # let a checkpoint still copying finish
        # nothing holds the log back: another connection's checkpoint finds every frame
        # copyable (busy 0, frames in the log = frames copied)
        other = sqlite3.connect(path)
        try:
            busy, wal_frames, copied = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            other.close()
        assert busy == 0
        assert wal_frames == copied
    finally:
        store.close()
    # a fresh connection sees every row (nothing was lost between the two connections)
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT count(*) FROM audit WHERE event = 'test'").fetchone()[0]
        assert rows == 3000
    finally:
        conn.close()


def test_the_log_stays_bounded_under_steady_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "_WRITER_CHECKPOINT_PAGES", 100)
    monkeypatch.setattr(sqlite_store, "_WAL_KEEP_BYTES", 1 << 20)
    path = tmp_path / "node.db"
    store = SqliteStore(path)
    store.migrate()
    try:
        wal = Path(f"{path}-wal")
        largest = 0
        for _ in range(300):  # 6 MB in 300 commits, with no pause for the checkpointer
            _write(store, 20)
            largest = max(largest, wal.stat().st_size)
        # the writer's own fallback checkpoint (100 pages) and the log's size limit (1 MiB)
        # hold it, whatever the background thread managed meanwhile
        assert largest < 2 << 20
    finally:
        store.close()


def test_a_store_only_read_starts_no_thread(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    writer = SqliteStore(path)
    writer.migrate()
    writer.close()
    reader = SqliteStore(path)
    try:
        assert reader.audit_rows(limit=1) is not None
        assert reader._checkpointer is None
    finally:
        reader.close()


def test_close_stops_the_checkpointer(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "node.db")
    store.migrate()
    _write(store, 10)
    checkpointer = store._checkpointer
    assert checkpointer is not None and checkpointer._thread.is_alive()
    store.close()
    assert not checkpointer._thread.is_alive()
