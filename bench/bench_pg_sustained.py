"""An hour of steady load on three nodes stored in PostgreSQL: latency, size, vacuum.

Three real local nodes (HTTPS with mutual TLS), each in its own PostgreSQL schema of the
``test`` database. JPN publishes ``--rate`` reports/s through its node API, in batches every
``--tick`` seconds on a fixed schedule (a late batch does not shift the next), for
``--minutes`` minutes, label REL TO USA, JPN, KOR. A checker thread polls USA's and KOR's
schemas for each batch's reports; a batch's latency runs from the start of its publish call
until both partners hold every report of it. Each minute: p50/p99/max latency of the
batches published in it, the three schemas' size, and what PostgreSQL's statistics say of
dead rows and autovacuum in them.

Writes docs/benchmarks/pg_sustained.md, and out/bench/pg_sustained.csv and .png.

    .venv/bin/python bench/bench_pg_sustained.py [--minutes 60] [--rate 500] [--tick 0.1]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from rich.progress import Progress

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_replication import LABEL, PAYLOAD_BODY, PG, drop_schemas  # noqa: E402
from machine import machine_line  # noqa: E402
from trilink.client import item  # noqa: E402
from trilink.federation import localnet  # noqa: E402


@dataclass
class Minute:
    latencies_ms: list[float] = field(default_factory=list)
    published: int = 0
    late_ticks: int = 0
    size_mb: float = 0.0
    dead_rows: int = 0
    live_rows: int = 0
    autovacuums: int = 0
    autoanalyzes: int = 0


def schema_stats(conn: psycopg.Connection, schemas: list[str]) -> tuple[float, int, int, int, int]:
    """(size MB, dead rows, live rows, autovacuum runs, autoanalyze runs) of the schemas."""
    size = conn.execute(
        "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = ANY(%s) AND c.relkind = 'r'",
        (schemas,),
    ).fetchone()
    stats = conn.execute(
        "SELECT COALESCE(SUM(n_dead_tup), 0), COALESCE(SUM(n_live_tup), 0), "
        "COALESCE(SUM(autovacuum_count), 0), COALESCE(SUM(autoanalyze_count), 0) "
        "FROM pg_stat_user_tables WHERE schemaname = ANY(%s)",
        (schemas,),
    ).fetchone()
    assert size is not None and stats is not None
    return float(size[0]) / 1e6, int(stats[0]), int(stats[1]), int(stats[2]), int(stats[3])


class Checker(threading.Thread):
    """Polls the partners' schemas for each published batch, oldest first."""

    def __init__(self, partner_schemas: list[str], minutes: list[Minute], start: float):
        super().__init__(daemon=True)
        self.pending: deque[tuple[float, list[str]]] = deque()
        self.lock = threading.Lock()
        self.partner_schemas = partner_schemas
        self.minutes = minutes
        self.start_at = start
        self.stop = threading.Event()

    def add(self, published_at: float, ids: list[str]) -> None:
        with self.lock:
            self.pending.append((published_at, ids))

    def run(self) -> None:
        with psycopg.connect(PG, autocommit=True) as conn:
            while not (self.stop.is_set() and not self.pending):
                with self.lock:
                    head = self.pending[0] if self.pending else None
                if head is None:
                    time.sleep(0.005)
                    continue
                published_at, ids = head
                if all(
                    conn.execute(
                        f'SELECT COUNT(*) FROM "{schema}".reports '
                        "WHERE origin = 'JPN' AND id = ANY(%s)",
                        (ids,),
                    ).fetchone()
                    == (len(ids),)
                    for schema in self.partner_schemas
                ):
                    seen = time.perf_counter()
                    minute = int((published_at - self.start_at) // 60)
                    self.minutes[minute].latencies_ms.append((seen - published_at) * 1000)
                    with self.lock:
                        self.pending.popleft()
                else:
                    time.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--rate", type=int, default=500, help="reports per second")
    parser.add_argument("--tick", type=float, default=0.1, help="seconds between batches")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks/pg_sustained.md"))
    parser.add_argument("--data", type=Path, default=Path("out/bench"))
    args = parser.parse_args()
    per_tick = max(1, round(args.rate * args.tick))
    tag = uuid.uuid4().hex[:8]
    schemas = {n: f"bench_{tag}_{n.lower()}" for n in localnet.NATIONS}
    template = f"{PG}?schema=bench_{tag}_{{nation}}"
    minutes = [Minute() for _ in range(args.minutes + 1)]
    load_start = os.getloadavg()[0]
    body = PAYLOAD_BODY
    with tempfile.TemporaryDirectory() as tmp, Progress() as progress:
        root = Path(tmp) / "net"
        localnet.ensure_network(root, template, transport="https")
        localnet.net_up(root)
        stats_conn = psycopg.connect(PG, autocommit=True)
        try:
            task = progress.add_task("steady load", total=args.minutes * 60)
            start = time.perf_counter()
            checker = Checker([schemas["USA"], schemas["KOR"]], minutes, start)
            checker.start()
            next_tick = start
            next_minute = start + 60
            sent = 0
            with localnet.client_for(root, "JPN") as client:
                while (now := time.perf_counter()) < start + args.minutes * 60:
                    if now < next_tick:
                        time.sleep(next_tick - now)
                    elif now - next_tick > args.tick:
                        minutes[int((now - start) // 60)].late_ticks += 1
                    published_at = time.perf_counter()
                    batch = [
                        item("note", LABEL, {"title": f"steady {sent + i}", "body": body})
                        for i in range(per_tick)
                    ]
                    ids = client.publish(batch).ids
                    checker.add(published_at, ids)
                    sent += per_tick
                    minutes[int((published_at - start) // 60)].published += per_tick
                    next_tick += args.tick
                    if time.perf_counter() >= next_minute:
                        m = minutes[int((next_minute - start) // 60) - 1]
                        (m.size_mb, m.dead_rows, m.live_rows, m.autovacuums, m.autoanalyzes) = (
                            schema_stats(stats_conn, list(schemas.values()))
                        )
                        next_minute += 60
                    progress.update(task, completed=time.perf_counter() - start)
            checker.stop.set()
            checker.join(timeout=120)
            last = minutes[args.minutes - 1]
            if last.size_mb == 0.0:
                (last.size_mb, last.dead_rows, last.live_rows, last.autovacuums,
                 last.autoanalyzes) = schema_stats(stats_conn, list(schemas.values()))  # fmt: skip
        finally:
            stats_conn.close()
            localnet.net_down(root)
            drop_schemas(list(schemas.values()))
    load_end = os.getloadavg()[0]
    rows = []
    for index, m in enumerate(minutes[: args.minutes]):
        lat = sorted(m.latencies_ms)
        p99 = statistics.quantiles(lat, n=100)[98] if len(lat) >= 2 else float("nan")
        rows.append(
            {
                "minute": index + 1,
                "published": m.published,
                "batches_seen": len(lat),
                "p50_ms": round(statistics.median(lat), 1) if lat else float("nan"),
                "p99_ms": round(p99, 1),
                "max_ms": round(lat[-1], 1) if lat else float("nan"),
                "late_ticks": m.late_ticks,
                "size_mb": round(m.size_mb, 1),
                "dead_rows": m.dead_rows,
                "live_rows": m.live_rows,
                "autovacuums": m.autovacuums,
                "autoanalyzes": m.autoanalyzes,
            }
        )
    args.data.mkdir(parents=True, exist_ok=True)
    csv_path = args.data / "pg_sustained.csv"
    with csv_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    png_path = args.data / "pg_sustained.png"
    plot(rows, png_path)
    all_lat = sorted(x for m in minutes for x in m.latencies_ms)
    total = sum(m.published for m in minutes)
    worst = max(rows, key=lambda r: r["p99_ms"])
    shown = [r for r in rows if r["minute"] in (1, 2, 5) or r["minute"] % 10 == 0]
    lines = [
        "## PostgreSQL under an hour of steady load (three nodes, HTTPS)",
        "",
        f"Machine: {machine_line()}; PostgreSQL "
        f"{psycopg.connect(PG).info.server_version // 10000} on the same machine",
        "",
        f"Command: `.venv/bin/python bench/bench_pg_sustained.py --minutes {args.minutes} "
        f"--rate {args.rate} --tick {args.tick:g}`",
        "",
        f"JPN published {total:,} reports ({per_tick} per batch every {args.tick:g} s, "
        f"{args.rate} reports/s) through its node API for {args.minutes} min; each batch "
        "counted as arrived once USA and KOR both held all of it. Latency: publish call "
        f"start -> stored at both partners, per batch. Over the whole run: p50 "
        f"{statistics.median(all_lat):.1f} ms, p99 {statistics.quantiles(all_lat, n=100)[98]:.1f}"
        f" ms, max {all_lat[-1]:.0f} ms; the worst minute's p99 was {worst['p99_ms']} ms "
        f"(minute {worst['minute']}). Batches that started late (the publisher fell behind its "
        f"schedule by more than one tick): {sum(r['late_ticks'] for r in rows)}.",
        "",
        "| minute | reports | p50 ms | p99 ms | max ms | 3 schemas' size | dead rows | "
        "live rows | autovacuum runs (cumulative) |",
        "|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {r['minute']} | {r['published']:,} | {r['p50_ms']} | {r['p99_ms']} | "
            f"{r['max_ms']} | {r['size_mb']:,.0f} MB | {r['dead_rows']:,} | {r['live_rows']:,} "
            f"| {r['autovacuums']} |"
            for r in shown
        ),
        "",
        f"Every minute is in `{csv_path}` and plotted in `{png_path}` (written by the run, "
        "not kept in git). Dead rows and autovacuum runs are PostgreSQL's own statistics "
        "(`pg_stat_user_tables`) for the three schemas. 1-minute load average "
        f"{load_start:.1f} at the start and {load_end:.1f} at the end (2 cores).",
        "",
    ]
    text = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


def plot(rows: list[dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    minutes = [r["minute"] for r in rows]
    top.plot(minutes, [r["p50_ms"] for r in rows], label="p50")
    top.plot(minutes, [r["p99_ms"] for r in rows], label="p99")
    top.set_ylabel("publish -> both partners (ms)")
    top.legend()
    bottom.plot(minutes, [r["size_mb"] for r in rows], color="tab:green", label="size (MB)")
    bottom.set_ylabel("3 schemas (MB)")
    twin = bottom.twinx()
    twin.plot(minutes, [r["dead_rows"] for r in rows], color="tab:red", label="dead rows")
    twin.set_ylabel("dead rows")
    bottom.set_xlabel("minute")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
