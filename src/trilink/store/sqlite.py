"""SQLite (WAL) store: the embedded default, one file per node."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trilink.errors import StoreError
from trilink.store.base import Store

_WRITE_LOCK_TIMEOUT_S = 30.0


class SqliteStore(Store):
    types = {
        "INT_PK": "INTEGER PRIMARY KEY",
        "AUTOINC_PK": "INTEGER PRIMARY KEY",
        "BLOB": "BLOB",
    }

    def __init__(self, path: str | Path):
        super().__init__()
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN IMMEDIATE ourselves so that concurrent
            # writers (the node and a CLI) queue on the write lock instead of failing mid-way.
            self._conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                timeout=_WRITE_LOCK_TIMEOUT_S,
                check_same_thread=False,
            )
            self._switch_to_wal()
            self._conn.execute("PRAGMA synchronous=NORMAL")
        except (sqlite3.Error, OSError) as err:
            raise StoreError(
                f"cannot open SQLite database {self.path}: {err}. Check that the directory "
                "exists and is writable, or pass another --db"
            ) from err

    def _switch_to_wal(self) -> None:
        # Switching a new file to WAL can meet SQLITE_BUSY without the busy handler when
        # another process opens the same file at the same moment: retry briefly.
        for attempt in range(50):
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) or attempt == 49:
                    raise
                time.sleep(0.05)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        try:
            return self._conn.execute(sql, params)
        except sqlite3.IntegrityError as err:
            raise StoreError(f"integrity violation: {err}") from err
        except sqlite3.Error as err:
            raise StoreError(f"database error on {self.path}: {err}") from err

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            self._conn.executemany(sql, rows)
        except sqlite3.IntegrityError as err:
            raise StoreError(f"integrity violation: {err}") from err
        except sqlite3.Error as err:
            raise StoreError(f"database error on {self.path}: {err}") from err

    def _begin(self) -> None:
        # Wait for the write lock in short steps of our own: SQLite's busy handler sleeps 25,
        # 50 then 100 ms at a time after a few tries, so a writer that meets another process's
        # 5 ms commit could sleep ten times that (the warning latency tail, measured).
        self._conn.execute("PRAGMA busy_timeout=0")
        try:
            deadline = time.monotonic() + _WRITE_LOCK_TIMEOUT_S
            pause = 0.0002
            while True:
                try:
                    self._conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as err:
                    if "locked" not in str(err) and "busy" not in str(err):
                        raise StoreError(f"database error on {self.path}: {err}") from err
                    if time.monotonic() > deadline:
                        raise StoreError(
                            f"{self.path} stayed locked by another writer for "
                            f"{_WRITE_LOCK_TIMEOUT_S:.0f} s; is a stuck trilink process "
                            "holding it? ('fuser' on the file shows which)"
                        ) from err
                    time.sleep(pause)
                    pause = min(2 * pause, 0.002)
        finally:
            self._conn.execute(f"PRAGMA busy_timeout={int(_WRITE_LOCK_TIMEOUT_S * 1000)}")

    def _commit(self) -> None:
        self._execute("COMMIT")

    def _rollback(self) -> None:
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def _table_exists(self, name: str) -> bool:
        cur = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        )
        return cur.fetchone() is not None

    def close(self) -> None:
        self._conn.close()

    def columns(self, table: str) -> list[str]:
        with self._lock:
            rows = self._conn.execute(f"PRAGMA table_info({table})").fetchall()
        return [str(r[1]) for r in rows]

    def copy_to(self, target: sqlite3.Connection) -> None:
        """A consistent copy of the whole database into ``target`` (online backup API)."""
        with self._lock:
            try:
                self._conn.backup(target)
            except sqlite3.Error as err:
                raise StoreError(f"backup of {self.path} failed: {err}") from err

    def integrity_problems(self) -> list[str]:
        with self._lock:
            try:
                rows = self._conn.execute("PRAGMA quick_check").fetchall()
            except sqlite3.DatabaseError as err:
                return [str(err)]
        found = [str(r[0]) for r in rows]
        return [] if found == ["ok"] else found
