"""The store's integrity checks on a generated 1 GB node database (SQLite), and on a smaller
PostgreSQL one.

Start-up check (``open_store(check=True)``): SQLite ``PRAGMA quick_check`` with the file
read in order alongside it, the schema, the newest 1,000 reports and audit rows. Measured
with the file evicted from the page cache (a node starting after a reboot) and cached (a
restart), against the same pragma on a cold cache without the read-ahead, and against
opening without any check (what a node paid before). Full check (``trilink node check``):
``PRAGMA integrity_check`` plus every report's envelope, payload hash and signature, the
outbox and the whole audit chain.

The database is made by publishing real signed reports through a node (batches of 1,000,
``SECRET//REL TO USA, JPN, KOR``, so each has two outbox rows and three audit rows); it is
generated in a temporary directory unless ``--db`` names one to keep and reuse.

    .venv/bin/python bench/bench_store_check.py [--size-mb 1024] [--rounds 3]
        [--db PATH] [--pg-reports 50000] [--pg-url postgresql://127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_line  # noqa: E402
from trilink.federation.localnet import ensure_network  # noqa: E402
from trilink.node.config import load_node_config  # noqa: E402
from trilink.node.service import NodeService  # noqa: E402
from trilink.store import open_store  # noqa: E402
from trilink.store.check import check_store  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LABEL = "SECRET//REL TO USA, JPN, KOR"
BODY = "x" * 380  # envelopes of about 700 bytes, as in the replication benchmark


def publish_until(node: NodeService, size_of: Callable[[], int], target: int, limit: int) -> int:
    """Publish batches of 1,000 reports until ``size_of()`` reaches ``target`` bytes or
    ``limit`` reports; returns how many were published."""
    published = 0
    while size_of() < target and published < limit:
        node.publish_many(
            "note",
            LABEL,
            [{"title": f"report {published + i}", "body": BODY} for i in range(1000)],
            actor="bench",
        )
        published += 1000
        if published % 50_000 == 0:
            print(f"  {published:,} reports, {size_of() / 2**20:,.0f} MiB", flush=True)
    return published


def sqlite_size(db: Path) -> int:
    wal = db.with_name(db.name + "-wal")
    return db.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def make_sqlite_store(root: Path, size_mb: int) -> tuple[Path, int, float]:
    ensure_network(root)
    db = root / "JPN" / "node.db"
    started = time.perf_counter()
    with NodeService.open_local(root, "JPN") as node:
        count = publish_until(node, lambda: sqlite_size(db), size_mb * 2**20, 10**9)
    return db, count, time.perf_counter() - started


def evict(db: Path) -> None:
    """Drop this file (only) from the page cache: what a node meets after a reboot."""
    fd = os.open(db, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def open_and_close(url: str, *, check: bool) -> None:
    open_store(url, check=check).close()


def plain_quick_check(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        result = conn.execute("PRAGMA quick_check").fetchall()
        assert result == [("ok",)], result
    finally:
        conn.close()


def full_check(url: str) -> None:
    store = open_store(url, migrate=False)
    try:
        result = check_store(store, full=True)
        assert result.healthy, [p.line() for p in result.problems]
    finally:
        store.close()


def median_range(values: list[float]) -> str:
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.2f} s"
    return f"{med:.2f} s ({min(values):.2f}-{max(values):.2f})"


def measure_sqlite(db: Path, rounds: int) -> list[tuple[str, str, str]]:
    url = str(db)
    cold, warm, unchecked, pragma_warm = [], [], [], []
    for _ in range(rounds):
        evict(db)
        cold.append(timed(lambda: open_and_close(url, check=True)))
        warm.append(timed(lambda: open_and_close(url, check=True)))
        pragma_warm.append(timed(lambda: plain_quick_check(db)))
        evict(db)
        unchecked.append(timed(lambda: open_and_close(url, check=False)))
    evict(db)
    no_read_ahead = timed(lambda: plain_quick_check(db))
    evict(db)
    full_cold = timed(lambda: full_check(url))
    full_warm = timed(lambda: full_check(url))
    return [
        ("start-up check, file not cached (after a reboot)", median_range(cold), "<= 2 s"),
        ("start-up check, file cached (a restart)", median_range(warm), "<= 2 s"),
        ("opening without a check (before), file not cached", median_range(unchecked), ""),
        ("baseline: PRAGMA quick_check alone, file cached", median_range(pragma_warm), ""),
        (
            "baseline: PRAGMA quick_check alone, not cached, no read-ahead",
            f"{no_read_ahead:.2f} s",
            "",
        ),
        ("full check (`trilink node check`), file not cached", f"{full_cold:.2f} s", ""),
        ("full check, file cached", f"{full_warm:.2f} s", ""),
    ]


def measure_postgres(
    pg_url: str, reports: int, root: Path
) -> tuple[list[tuple[str, str, str]], int]:
    url = f"{pg_url}?schema=bench_check_{uuid.uuid4().hex[:8]}"
    ensure_network(root, db_template=url)
    config = load_node_config(root / "JPN" / "node.toml")
    with NodeService(config) as node:
        publish_until(node, lambda: 0, 1, reports)
        size = int(
            node.store.query(
                "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            )[0][0]
        )
    try:
        quick = [timed(lambda: open_and_close(url, check=True)) for _ in range(3)]
        full = timed(lambda: full_check(url))
    finally:
        from trilink.store.postgres import PostgresStore

        store = PostgresStore(url)
        store.drop_schema()
        store.close()
    return [
        (f"PostgreSQL start-up check, {reports:,} reports", median_range(quick), ""),
        (
            f"PostgreSQL full check (amcheck if installed), {reports:,} reports",
            f"{full:.2f} s",
            "",
        ),
    ], size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", type=Path, help="keep (or reuse) the generated network here")
    parser.add_argument("--pg-reports", type=int, default=50_000, help="0: skip PostgreSQL")
    parser.add_argument("--pg-url", default="postgresql://127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trilink-bench-store-") as tmp:
        root = args.db or Path(tmp) / "net"
        db = root / "JPN" / "node.db"
        if db.exists():
            with NodeService.open_local(root, "JPN") as node:
                count = node.store.report_count()
            made = "made by an earlier run of this script"
        else:
            print(f"generating a {args.size_mb:,} MiB store in {root} ...", flush=True)
            db, count, seconds = make_sqlite_store(root, args.size_mb)
            made = f"generated in {seconds:.0f} s"
        size = sqlite_size(db)
        load_before = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"{db}: {size / 2**20:,.0f} MiB, {count:,} reports ({made})", flush=True)
        rows = measure_sqlite(db, args.rounds)
        pg_note = ""
        if args.pg_reports:
            pg_rows, pg_size = measure_postgres(args.pg_url, args.pg_reports, Path(tmp) / "pg")
            rows += pg_rows
            pg_note = f"; the PostgreSQL schema held {pg_size / 2**20:,.0f} MiB of tables"
    lines = [
        "## Store integrity checks (start-up and `trilink node check`)",
        "",
        f"Machine: {machine_line()}",
        "",
        f"Command: `.venv/bin/python bench/bench_store_check.py --size-mb {args.size_mb} "
        f"--rounds {args.rounds} --pg-reports {args.pg_reports}`",
        "",
        f"SQLite store: {size / 2**20:,.0f} MiB, {count:,} signed reports published through a "
        f"node (2 outbox rows and 3 audit rows each; {made}){pg_note}. Median of {args.rounds} "
        "rounds "
        "(range); 'not cached' means the file was evicted from the page cache first. Load "
        f"average of the shared machine during the run: {load_before} before, "
        f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())} after.",
        "",
        "| measure | value | goal |",
        "|---|---|---|",
        *[f"| {name} | {value} | {goal} |" for name, value, goal in rows],
        "",
        "The start-up check reads the whole file (SQLite's quick_check visits every page), so "
        "its time grows with the file and is mostly SQLite's own pragma (compare the cached "
        "rows); it reads the file in order alongside the pragma, which otherwise walks the "
        "b-trees in random order on a cold cache. What it checks and what only the full check "
        "finds: docs/store.md.",
    ]
    out = ROOT / "docs" / "benchmarks" / "store.md"
    out.write_text("\n".join(lines) + "\n", "utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
