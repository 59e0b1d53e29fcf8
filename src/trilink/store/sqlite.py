"""SQLite (WAL) store: the embedded default, one file per node."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trilink.errors import StoreError
from trilink.store.base import Store, one_line

_WRITE_LOCK_TIMEOUT_S = 30.0
# Pages (4 KiB) of cache per connection: the b-trees a busy node writes stay in memory as its
# tables grow past a few hundred thousand reports (SQLite's default is 2 MiB).
_CACHE_KIB = 65_536
# WAL pages after which the writer checkpoints by itself, should the background checkpointer
# fall behind (the WAL only starts again from its beginning after a checkpoint the writer
# finishes); a WAL file left larger than _WAL_KEEP_BYTES is cut back to it.
_WRITER_CHECKPOINT_PAGES = 10_000
_WAL_KEEP_BYTES = 64 << 20
# The background checkpointer runs at most this often while commits keep coming.
_CHECKPOINT_EVERY_S = 0.1
_TREE_RE = re.compile(r"\bTree (\d+)\b")
_NOT_UTF8_RE = re.compile(r"Could not decode to UTF-8 column '([^']*)'")


class SqliteStore(Store):
    types = {
        "INT_PK": "INTEGER PRIMARY KEY",
        "AUTOINC_PK": "INTEGER PRIMARY KEY",
        "BLOB": "BLOB",
    }
    engine_errors = (sqlite3.Error,)

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
        except (sqlite3.Error, OSError) as err:
            raise StoreError(
                f"cannot open SQLite database {self.path}: {err}. Check that the directory "
                "exists and is writable, or pass another --db"
            ) from err
        self._checkpointer: _Checkpointer | None = None
        try:
            self._switch_to_wal()
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
            self._conn.execute(f"PRAGMA wal_autocheckpoint={_WRITER_CHECKPOINT_PAGES}")
            self._conn.execute(f"PRAGMA journal_size_limit={_WAL_KEEP_BYTES}")
            # sanity-check each b-tree page as it is read: damage is met where it is, before
            # a bad cell offset sends a read elsewhere (a small CPU cost per page read)
            self._conn.execute("PRAGMA cell_size_check=ON")
        except sqlite3.Error as err:
            self._conn.close()
            raise self._store_error(err) from err

    @property
    def name(self) -> str:
        return str(self.path)

    def size_bytes(self) -> int:
        """The database file and its write-ahead log."""
        total = 0
        for suffix in ("", "-wal", "-shm"):
            try:
                total += Path(f"{self.path}{suffix}").stat().st_size
            except OSError:
                pass
        return total

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

    def _store_error(self, err: Exception) -> StoreError:
        code = getattr(err, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        text = str(err)
        not_utf8 = _NOT_UTF8_RE.search(text)
        if not_utf8:
            # the message goes on to quote the undecodable bytes: name the column only
            return self.damaged(f"column {not_utf8.group(1)!r}", "text that is not UTF-8")
        if primary == sqlite3.SQLITE_NOTADB:
            return self.damaged("the file header", text)
        if primary == sqlite3.SQLITE_CORRUPT:
            return self.damaged("a page", text)
        if isinstance(err, sqlite3.IntegrityError):
            return StoreError(f"integrity violation in {self.path}: {one_line(text)}")
        if primary == sqlite3.SQLITE_FULL:
            return StoreError(
                f"the disk holding {self.path} is full ({text}): free space there; nothing "
                "was lost, the write that failed was rolled back"
            )
        if primary == sqlite3.SQLITE_IOERR:
            return StoreError(
                f"I/O error on {self.path} ({text}): check the disk (dmesg), then run "
                f"'trilink node check --db {self.path}'"
            )
        if primary in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
            return StoreError(
                f"cannot write {self.path} ({text}): check that it and its directory are "
                "writable by this user"
            )
        if text.startswith(("no such table", "no such column")):
            return StoreError(
                f"{self.path} lacks what trilink needs ({text}): it is damaged or not a "
                f"trilink node database; run 'trilink node check --db {self.path}'"
            )
        return StoreError(f"database error on {self.path}: {one_line(text)}")

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(sql, params)

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

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
                        raise
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
        self._conn.execute("COMMIT")
        # Copying the WAL back into the database (a checkpoint) was a fifth of a receiving
        # node's time when the committing writer did it (measured: 48.9 -> 39.2 us per
        # ingested report): a thread of its own does it on the other core, as SQLite
        # releases the GIL while it works.
        if self._checkpointer is None:
            self._checkpointer = _Checkpointer(self.path)
        self._checkpointer.wake()

    def _durable_commits(self, on: bool) -> None:
        # WAL with synchronous=NORMAL syncs at WAL checkpoints only; FULL syncs the WAL at
        # commit, which makes every earlier commit (earlier frames) durable too
        self._conn.execute(f"PRAGMA synchronous={'FULL' if on else 'NORMAL'}")

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

    def engine_problems(self, *, full: bool) -> tuple[list[str], list[str]]:
        """SQLite's own check of the file: ``PRAGMA quick_check`` (every page and b-tree,
        O(file size)) or, ``full``, ``PRAGMA integrity_check`` (also that every index matches
        its table). Returns (problems, notes); no problem means the check said ok."""
        pragma = "integrity_check" if full else "quick_check"
        # quick_check visits pages in b-tree order, which on a cold cache is random I/O:
        # 12 s for 1 GB here, against 1.2 s with the file read in order alongside it
        # (docs/benchmarks/store.md)
        reader = _read_through(self.path)
        try:
            with self._lock:
                lines = self._pragma_lines(pragma)
        except sqlite3.Error as err:
            # the check itself stops at some damage (a row it cannot read): find which
            # tables, one by one
            return self._damaged_tables(pragma, err), []
        finally:
            reader.wait()
        if lines == ["ok"]:
            return [], [f"PRAGMA {pragma}: ok"]
        return [self._with_table_names(line) for line in lines], []

    def _pragma_lines(self, pragma: str, table: str | None = None) -> list[str]:
        argument = f'("{table}")' if table else ""
        return [str(r[0]) for r in self._conn.execute(f"PRAGMA {pragma}{argument}").fetchall()]

    def _damaged_tables(self, pragma: str, err: sqlite3.Error) -> list[str]:
        problems: list[str] = []
        try:
            tables = [
                str(r[0])
                for r in self._conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                ).fetchall()
            ]
        except sqlite3.Error:
            return [f"SQLite cannot read the file: {one_line(str(err))}"]
        for table in tables:
            try:
                lines = self._pragma_lines(pragma, table)
            except sqlite3.Error as table_err:
                problems.append(f"table {table}: {one_line(str(table_err))}")
                continue
            if lines != ["ok"]:
                problems.extend(self._with_table_names(line) for line in lines)
        return problems or [f"SQLite cannot read the file: {one_line(str(err))}"]

    def _with_table_names(self, line: str) -> str:
        """SQLite names b-trees by root page ("Tree 3 page 644 ..."): say which table."""

        def named(match: re.Match[str]) -> str:
            try:
                rows = self._conn.execute(
                    "SELECT name FROM sqlite_master WHERE rootpage = ?", (int(match.group(1)),)
                ).fetchall()
            except sqlite3.Error:
                rows = []
            return f"{rows[0][0]} ({match.group(0)})" if rows else match.group(0)

        return one_line(_TREE_RE.sub(named, line))

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
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


class _Checkpointer:
    """Background WAL checkpoints on a connection of their own (PASSIVE: never waits for,
    nor blocks, the writer or readers). Started by the first commit, so read-only opens
    start no thread."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._wanted = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"checkpoint {path.name}", daemon=True
        )
        self._thread.start()

    def wake(self) -> None:
        self._wanted.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wanted.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            return  # the writer's own checkpoints (wal_autocheckpoint) still run
        try:
            conn.execute("PRAGMA synchronous=NORMAL")
            while True:
                self._wanted.wait()
                if self._stopping.is_set():
                    return
                self._wanted.clear()
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    pass  # busy or damaged: the writer's own checkpoints take over
                # at most one checkpoint per interval while commits keep coming; a stop
                # ends the wait at once
                if self._stopping.wait(_CHECKPOINT_EVERY_S):
                    return
        finally:
            conn.close()


_READER = """
import sys
buffer = bytearray(4 << 20)
for name in sys.argv[1:]:
    try:
        with open(name, "rb", buffering=0) as f:
            while f.readinto(buffer):
                pass
    except OSError:
        pass
"""


def _read_through(path: Path) -> subprocess.Popen[bytes]:
    """Read the database file and its WAL in order, so they are in the page cache, in a
    child process. Never in this one: closing any descriptor of the database file drops
    every POSIX lock this process holds on it, and then another process closing its last
    connection deletes the WAL under our feet (our later writes were lost that way)."""
    return subprocess.Popen(
        [sys.executable, "-c", _READER, str(path), f"{path}-wal"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
