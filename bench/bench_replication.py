"""Replication throughput and latency across three real local nodes (SQLite).

Throughput: reports/s from publish on JPN until stored on both USA and KOR, including
signing, verification, policy, audit and storage, publishing through JPN's node API (the one
way in: HTTPS, token). Baseline, in the same run: the same benchmark of trilink at commit
``c28c117`` (the issue "Sovereign by construction" holds the API to >= 90 % of its 6,382
reports/s), where a process opened JPN's node itself and woke it; it runs from a temporary
``git worktree`` of that commit with this venv, before this code's rounds (both use ports
8101-8103). Upper bound: the raw SQLite insert rate of the same rows. Latency: publish ->
stored on both partners for single reports, p50/p99, through the API.

    .venv/bin/python bench/bench_replication.py [--reports 20000] [--singles 200]
        [--transport https|nats] [--db sqlite|postgres]

With ``--db postgres`` each node keeps its store in its own schema of the ``test`` database
on 127.0.0.1 (dropped afterwards); the upper bound is then a raw PostgreSQL COPY of the same
rows, and the commit baseline (which has no such option) is not run.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import baseline_tree, machine_line  # noqa: E402
from trilink.client import item  # noqa: E402
from trilink.federation import localnet  # noqa: E402
from trilink.node.service import NodeService  # noqa: E402

LABEL = "SECRET//REL TO USA, JPN, KOR"
PG = os.environ.get("TRILINK_TEST_PG", "postgresql://127.0.0.1:5432/test")
BASELINE_REF = "c28c117"
PAYLOAD_BODY = "x" * 300  # envelopes of ~640-700 bytes, as in the measurements


def count(db: Path) -> int:
    """Rows stored (reports are never deleted, so the newest rowid is the count); O(log n),
    so polling does not steal CPU from the nodes being measured."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM reports").fetchone()[0])
    finally:
        conn.close()


def pg_count(schema: str) -> int:
    with psycopg.connect(PG, autocommit=True) as conn:
        row = conn.execute(f'SELECT COALESCE(MAX(seq), 0) FROM "{schema}".reports').fetchone()
        return int(row[0]) if row else 0


def pg_has(conn: psycopg.Connection, sql: str, report_id: str) -> bool:
    return conn.execute(sql, (report_id,)).fetchone() is not None


def counters(root: Path, pg_schemas: dict[str, str] | None) -> list[Callable[[], int]]:
    """Stored-row counts at USA and KOR, on whichever engine the nodes use."""
    if pg_schemas is None:
        return [partial(count, root / n / "node.db") for n in ("USA", "KOR")]
    return [partial(pg_count, pg_schemas[n]) for n in ("USA", "KOR")]


def has(conn: sqlite3.Connection, report_id: str) -> bool:
    return conn.execute("SELECT 1 FROM reports WHERE id = ?", (report_id,)).fetchone() is not None


def _payloads(start: int, n: int) -> list[dict[str, str]]:
    return [{"title": f"bench {start + i}", "body": PAYLOAD_BODY} for i in range(n)]


def throughput(root: Path, n: int, batch: int, pg_schemas: dict[str, str] | None) -> float:
    dbs = counters(root, pg_schemas)
    start_counts = [c() for c in dbs]
    t0 = time.perf_counter()
    with localnet.client_for(root, "JPN") as client:
        for start in range(0, n, batch):
            client.publish_payloads(
                "note", LABEL, _payloads(start, min(batch, n - start)), batch=batch
            )
    while any(c() - s < n for c, s in zip(dbs, start_counts, strict=True)):
        time.sleep(0.02)
    return n / (time.perf_counter() - t0)


def envelope_size(root: Path) -> int:
    with NodeService.open_local(root, "JPN") as jpn:
        return len(next(iter(jpn.store.reports(limit=1))).report.signed)


_RATE = re.compile(r"\(range ([\d,]+)-([\d,]+)\) \| ([\d,]+) reports/s")


def baseline_rate(ref: str, n: int, batch: int, rounds: int) -> tuple[float, float, float]:
    """Median (and range) reports/s of ``bench/bench_replication.py`` at commit ``ref``,
    run from a temporary worktree with this venv's packages."""
    with baseline_tree(ref) as tree:
        env = {**os.environ, "PYTHONPATH": str(tree / "src")}
        env.pop("TRILINK_PORT_OFFSET", None)
        done = subprocess.run(
            [
                sys.executable,
                "bench/bench_replication.py",
                "--reports",
                str(n),
                "--batch",
                str(batch),
                "--singles",
                "2",  # its latency part is not compared; two samples is its minimum
                "--rounds",
                str(rounds),
                "--out",
                str(tree / "out.md"),
            ],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise SystemExit(f"the baseline run at {ref} failed:\n{done.stdout}\n{done.stderr}")
    found = _RATE.search(done.stdout)
    if found is None:
        raise SystemExit(f"no rate in the baseline's output:\n{done.stdout}\n{done.stderr}")
    low, high, rate = (float(g.replace(",", "")) for g in found.groups())
    return rate, low, high


def stored_rows(root: Path, n: int) -> list[tuple[object, ...]]:
    """The first ``n`` reports JPN stored, as the rows the raw-insert upper bounds write."""
    with NodeService.open_local(root, "JPN") as jpn:
        return [
            (
                s.report.envelope.origin,
                s.report.envelope.id,
                s.report.envelope.version,
                s.report.envelope.origin_seq,
                s.report.envelope.kind,
                s.report.envelope.label,
                s.report.envelope.created,
                s.report.signed,
            )
            for s in jpn.store.reports(limit=n)
        ]


def drop_schemas(schemas: list[str]) -> None:
    with psycopg.connect(PG, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def raw_sqlite_rate(root: Path, n: int) -> float:
    rows = stored_rows(root, n)
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "raw.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(
            "CREATE TABLE r (origin TEXT, id TEXT, version INT, origin_seq INT, "
            "kind TEXT, label TEXT, created TEXT, envelope BLOB, "
            "UNIQUE (origin, id, version))"
        )
        t0 = time.perf_counter()
        for start in range(0, len(rows), 1000):
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO r VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows[start : start + 1000]
            )
            conn.execute("COMMIT")
        rate = len(rows) / (time.perf_counter() - t0)
        conn.close()
    return rate


def raw_postgres_rate(root: Path, n: int) -> float:
    """COPY of the same rows into a bare table with the same unique key (one connection)."""
    rows = stored_rows(root, n)
    table = f"bench_raw_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE {table} (origin TEXT, id TEXT, version INT, origin_seq BIGINT, "
            "kind TEXT, label TEXT, created TEXT, envelope BYTEA, UNIQUE (origin, id, version))"
        )
        try:
            t0 = time.perf_counter()
            for start in range(0, len(rows), 1000):
                with conn.transaction(), conn.cursor() as cur:
                    with cur.copy(f"COPY {table} FROM STDIN") as copy:
                        for row in rows[start : start + 1000]:
                            copy.write_row(row)
            rate = len(rows) / (time.perf_counter() - t0)
        finally:
            conn.execute(f"DROP TABLE {table}")
    return rate


def latency(root: Path, n: int, pg_schemas: dict[str, str] | None) -> list[float]:
    closers: list[Callable[[], None]] = []
    holds: list[Callable[[str], bool]] = []
    for nation in ("USA", "KOR"):
        if pg_schemas is None:
            lite = sqlite3.connect(f"file:{root / nation / 'node.db'}?mode=ro", uri=True)
            holds.append(partial(has, lite))
            closers.append(lite.close)
        else:
            pg = psycopg.connect(PG, autocommit=True)
            sql = f'SELECT 1 FROM "{pg_schemas[nation]}".reports WHERE id = %s'
            holds.append(partial(pg_has, pg, sql))
            closers.append(pg.close)
    samples = []
    with localnet.client_for(root, "JPN") as client:
        for i in range(n):
            t0 = time.perf_counter()
            done = client.publish(
                [item("note", LABEL, {"title": f"single {i}", "body": PAYLOAD_BODY})]
            )
            report_id = done.ids[0]
            pending = list(holds)
            while pending:
                pending = [h for h in pending if not h(report_id)]
                if pending:
                    time.sleep(0.0005)
            samples.append((time.perf_counter() - t0) * 1000)
    for close in closers:
        close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--singles", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="throughput runs (median)")
    parser.add_argument("--transport", choices=["https", "nats"], default="https")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--baseline", default=BASELINE_REF, help="commit of the baseline run")
    args = parser.parse_args()
    if args.out is None:
        suffix = "" if args.transport == "https" else f"-{args.transport}"
        suffix += "" if args.db == "sqlite" else f"-{args.db}"
        args.out = Path(f"docs/benchmarks/replication{suffix}.md")
    carrier = {"https": "HTTPS with mutual TLS", "nats": "NATS JetStream"}[args.transport]
    engine = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[args.db]
    baseline = None
    if args.db == "sqlite":
        baseline = baseline_rate(args.baseline, args.reports, args.batch, args.rounds)
    pg_schemas = None
    template = None
    if args.db == "postgres":
        tag = uuid.uuid4().hex[:8]
        pg_schemas = {n: f"bench_{tag}_{n.lower()}" for n in localnet.NATIONS}
        template = f"{PG}?schema=bench_{tag}_{{nation}}"
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "net"
        localnet.ensure_network(root, template, transport=args.transport)
        localnet.net_up(root)
        try:
            rates = [
                throughput(root, args.reports, args.batch, pg_schemas) for _ in range(args.rounds)
            ]
            rate = statistics.median(rates)
            size = envelope_size(root)
            if pg_schemas is None:
                raw, raw_what = raw_sqlite_rate(root, args.reports), "SQLite insert"
            else:
                raw, raw_what = raw_postgres_rate(root, args.reports), "PostgreSQL COPY"
            lat = latency(root, args.singles, pg_schemas)
        finally:
            localnet.net_down(root)
            if pg_schemas is not None:
                drop_schemas(list(pg_schemas.values()))
    load_end = os.getloadavg()[0]
    q = statistics.quantiles(lat, n=100)
    p50, p99 = statistics.median(lat), q[98]
    command = (
        f"`.venv/bin/python bench/bench_replication.py --reports {args.reports} "
        f"--batch {args.batch} --singles {args.singles} --rounds {args.rounds}"
        + ("" if args.transport == "https" else f" --transport {args.transport}")
        + ("" if args.db == "sqlite" else f" --db {args.db}")
        + "`"
    )
    versus = f" ({rate / baseline[0]:.0%} of the baseline)" if baseline else ""
    goal = ">= 90 % of the baseline; 10,000 reports/s" if baseline else "10,000 reports/s"
    lines = [
        f"## Replication across three local nodes ({engine}, {carrier})",
        "",
        f"Machine: {machine_line()}",
        "",
        f"Command: {command}",
        "",
        "| measure | value | goal |",
        "|---|---|---|",
        f"| publish through JPN's node API -> stored on USA and KOR, {args.reports} reports of "
        f"{size} bytes, batches of {args.batch}, median of {args.rounds} runs "
        f"(range {min(rates):,.0f}-{max(rates):,.0f}) | {rate:,.0f} reports/s{versus} "
        f"| {goal} ({'met' if rate >= 10_000 else 'MISSED'}) |",
    ]
    if baseline:
        direct, direct_low, direct_high = baseline
        lines.append(
            f"| baseline: the same benchmark of trilink at `{args.baseline}` (a process opened "
            f"JPN's node and woke it), run first in this run (range {direct_low:,.0f}-"
            f"{direct_high:,.0f}) | {direct:,.0f} reports/s | |"
        )
    lines += [
        f"| raw {raw_what} of the same rows (upper bound, one process) | {raw:,.0f} rows/s | |",
        f"| single report published through the API -> stored on both partners, p50 "
        f"({args.singles} reports) | {p50:.1f} ms | |",
        f"| single report published through the API -> stored on both partners, p99 "
        f"| {p99:.1f} ms | <= 100 ms |",
        "",
        "Every report is signed (one Ed25519 signature per batch, RFC 9162 inclusion proof per "
        "report), decided per partner, audited (publish + 2 release rows at the origin, 1 "
        "inbound row at each receiver), verified and stored by both partners. 1-minute load "
        f"average {load_start:.1f} at the start and {load_end:.1f} at the end (2 cores).",
        "",
    ]
    text = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
