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
        [--transport https|nats]
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import baseline_tree, machine_line  # noqa: E402
from trilink.client import item  # noqa: E402
from trilink.federation import localnet  # noqa: E402
from trilink.node.service import NodeService  # noqa: E402

LABEL = "SECRET//REL TO USA, JPN, KOR"
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


def has(conn: sqlite3.Connection, report_id: str) -> bool:
    return conn.execute("SELECT 1 FROM reports WHERE id = ?", (report_id,)).fetchone() is not None


def _payloads(start: int, n: int) -> list[dict[str, str]]:
    return [{"title": f"bench {start + i}", "body": PAYLOAD_BODY} for i in range(n)]


def throughput(root: Path, n: int, batch: int) -> float:
    dbs = [root / "USA" / "node.db", root / "KOR" / "node.db"]
    start_counts = [count(d) for d in dbs]
    t0 = time.perf_counter()
    with localnet.client_for(root, "JPN") as client:
        for start in range(0, n, batch):
            client.publish_payloads(
                "note", LABEL, _payloads(start, min(batch, n - start)), batch=batch
            )
    while any(count(d) - s < n for d, s in zip(dbs, start_counts, strict=True)):
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


def raw_sqlite_rate(root: Path, n: int) -> float:
    with NodeService.open_local(root, "JPN") as jpn:
        rows = [
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


def latency(root: Path, n: int) -> list[float]:
    readers = [
        sqlite3.connect(f"file:{root / nat / 'node.db'}?mode=ro", uri=True)
        for nat in ("USA", "KOR")
    ]
    samples = []
    with localnet.client_for(root, "JPN") as client:
        for i in range(n):
            t0 = time.perf_counter()
            done = client.publish(
                [item("note", LABEL, {"title": f"single {i}", "body": PAYLOAD_BODY})]
            )
            report_id = done.ids[0]
            pending = list(readers)
            while pending:
                pending = [c for c in pending if not has(c, report_id)]
                if pending:
                    time.sleep(0.0005)
            samples.append((time.perf_counter() - t0) * 1000)
    for conn in readers:
        conn.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--singles", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="throughput runs (median)")
    parser.add_argument("--transport", choices=["https", "nats"], default="https")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--baseline", default=BASELINE_REF, help="commit of the baseline run")
    args = parser.parse_args()
    if args.out is None:
        suffix = "" if args.transport == "https" else f"-{args.transport}"
        args.out = Path(f"docs/benchmarks/replication{suffix}.md")
    carrier = {"https": "HTTPS with mutual TLS", "nats": "NATS JetStream"}[args.transport]
    direct, direct_low, direct_high = baseline_rate(
        args.baseline, args.reports, args.batch, args.rounds
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "net"
        localnet.ensure_network(root, transport=args.transport)
        localnet.net_up(root)
        try:
            rates = [throughput(root, args.reports, args.batch) for _ in range(args.rounds)]
            rate = statistics.median(rates)
            size = envelope_size(root)
            raw = raw_sqlite_rate(root, args.reports)
            lat = latency(root, args.singles)
        finally:
            localnet.net_down(root)
    q = statistics.quantiles(lat, n=100)
    p50, p99 = statistics.median(lat), q[98]
    lines = [
        f"## Replication across three local nodes (SQLite, {carrier})",
        "",
        f"Machine: {machine_line()}",
        "",
        f"Command: `.venv/bin/python bench/bench_replication.py --reports {args.reports} "
        f"--batch {args.batch} --singles {args.singles} --rounds {args.rounds}"
        + ("`" if args.transport == "https" else f" --transport {args.transport}`"),
        "",
        "| measure | value | goal |",
        "|---|---|---|",
        f"| publish through JPN's node API -> stored on USA and KOR, {args.reports} reports of "
        f"{size} bytes, batches of {args.batch}, median of {args.rounds} runs "
        f"(range {min(rates):,.0f}-{max(rates):,.0f}) | {rate:,.0f} reports/s "
        f"({rate / direct:.0%} of the baseline) | >= 90 % of the baseline; 10,000 reports/s |",
        f"| baseline: the same benchmark of trilink at `{args.baseline}` (a process opened "
        f"JPN's node and woke it), run first in this run (range {direct_low:,.0f}-"
        f"{direct_high:,.0f}) | {direct:,.0f} reports/s | |",
        f"| raw SQLite insert of the same rows (upper bound, one process) | {raw:,.0f} rows/s | |",
        f"| single report published through the API -> stored on both partners, p50 "
        f"({args.singles} reports) | {p50:.1f} ms | |",
        f"| single report published through the API -> stored on both partners, p99 "
        f"| {p99:.1f} ms | <= 100 ms |",
        "",
        "Every report is signed (one Ed25519 signature per batch, RFC 9162 inclusion proof per "
        "report), decided per partner, audited (publish + 2 release rows at the origin, 1 "
        "inbound row at each receiver), verified and stored by both partners.",
        "",
    ]
    text = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
