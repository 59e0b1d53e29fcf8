"""Measurement → missile.warning report stored at all three nodes, on three real local nodes.

Per scenario cycle (the measurements of the last ``cycle_s`` handed to the trackers): the three
national trackers, track sharing, CI fusion, estimates and warning logic run (one process, one
after the other: conservative, the real nodes would run in parallel), each nation's tracks are
published on its own node and the nodes woken; once partner tracks have replicated, each nation
publishes its warnings derived from them; the clock stops when every warning report of the
cycle is stored at all three nodes (their SQLite databases are polled every 2 ms).
Warning thresholds are set so that nearly every cycle updates every warning (≥ 50 warnings).

Baseline in the same run: the pure pipeline alone (same scenario, no nodes): the decision time
without signing, storage and replication.

    .venv/bin/python bench/bench_missile_warning.py [--min-warnings 60]
"""

from __future__ import annotations

import argparse
import copy
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_line  # noqa: E402
from trilink.federation import localnet  # noqa: E402
from trilink.missile.live import ScenarioPublisher, open_nodes  # noqa: E402
from trilink.missile.run import iter_cycles  # noqa: E402
from trilink.missile.sim.scenario import parse_scenario  # noqa: E402
from trilink.missile.warn.zones import japan_zones  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "missile_warning.md"

SCENARIO: dict[str, Any] = {
    "scenario": {
        "name": "bench SRBM salvo",
        "seed": 7,
        "duration_s": 560,
        "cycle_s": 2,
        "exercise": True,
    },  # fmt: skip
    "launch": [
        {
            "id": "S1",
            "site": "Wonsan Kalma International Airport",
            "impact": [39.6, 134.2],
            "apogee_km": 250,
        },
        {
            "id": "S2",
            "site": "Wonsan Kalma International Airport",
            "impact": [39.2, 134.6],
            "apogee_km": 250,
            "t_s": 20,
        },
    ],  # fmt: skip
    "sensors": {"sites": ["JP-FPS5-SADO", "KR-GREENPINE-NCHUNGCHEONG", "KR-THAAD-SEONGJU"]},
    # nearly every cycle is a material change: many warning reports to time
    "warning": {
        "max_semi_major_km": 40,
        "min_updates": 8,
        "update_shift_km": 0.05,
        "update_semi_major_ratio": 0.99,
        "update_time_s": 0.2,
    },  # fmt: skip
}


def load_average() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def pure(sc: Any, zones: Any) -> tuple[list[float], int]:
    times: list[float] = []
    n_warn = 0
    it = iter_cycles(sc, zones)
    while True:
        t0 = time.perf_counter()
        try:
            cycle = next(it)
        except StopIteration:
            break
        times.append(time.perf_counter() - t0)
        n_warn += sum(len(nc.warnings) for nc in cycle.nations.values())
    return times, n_warn


class Poller(threading.Thread):
    """Records when each warning report id is stored at every node (polls every 2 ms)."""

    def __init__(self, root: Path) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.pending: dict[str, set[str]] = {}
        self.stored: dict[str, float] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def add(self, rid: str) -> None:
        with self.lock:
            self.pending[rid] = set(localnet.NATIONS)

    def run(self) -> None:
        dbs = {
            n: sqlite3.connect(f"file:{self.root / n / 'node.db'}?mode=ro", uri=True)
            for n in localnet.NATIONS
        }
        while not self.stop.is_set():
            with self.lock:
                wanted = {n: [r for r, ns in self.pending.items() if n in ns] for n in dbs}
            held: dict[str, set[str]] = {}
            for n, rids in wanted.items():
                if rids:
                    # one query per database, so the poller takes little of the process's time
                    marks = ",".join("?" * len(rids))
                    sql = f"SELECT id FROM reports WHERE id IN ({marks})"
                    held[n] = {r for (r,) in dbs[n].execute(sql, rids)}
            now = time.perf_counter()
            with self.lock:
                for n, rids in held.items():
                    for rid in rids:
                        if rid in self.pending:
                            self.pending[rid].discard(n)
                for rid in [r for r, ns in self.pending.items() if not ns]:
                    del self.pending[rid]
                    self.stored[rid] = now
            time.sleep(0.002)
        for db in dbs.values():
            db.close()


def live(
    root: Path, sc: Any, zones: Any, period_s: float
) -> tuple[list[float], dict[str, list[float]]]:
    """Cycles start every ``period_s`` (0: back to back, each cycle's replication overlapping
    the next cycle's computation)."""
    nodes = open_nodes(root)
    poller = Poller(root)
    poller.start()
    published: dict[str, float] = {}

    def on_event(e: dict[str, Any]) -> None:
        if e["kind"] == "missile.warning":
            published[e["report_id"]] = time.perf_counter()
            poller.add(e["report_id"])

    pub = ScenarioPublisher(nodes, timeout_s=30.0, on_event=on_event)
    cycle_start: dict[str, float] = {}
    compute: dict[str, float] = {}
    it = iter_cycles(sc, zones)
    start = time.perf_counter()
    k = 0
    try:
        while True:
            delay = start + k * period_s - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            k += 1
            t0 = time.perf_counter()
            try:
                cycle = next(it)
            except StopIteration:
                break
            t1 = time.perf_counter()
            before = set(published)
            pub.publish_cycle(cycle, sc)
            for rid in set(published) - before:
                cycle_start[rid] = t0
                compute[rid] = t1 - t0
        deadline = time.perf_counter() + 30.0
        while poller.pending and time.perf_counter() < deadline:
            time.sleep(0.01)
        if poller.pending:
            raise RuntimeError(f"warnings not replicated: {sorted(poller.pending)[:3]}")
    finally:
        poller.stop.set()
        poller.join()
        pub.close()
        for node in nodes.values():
            node.close()
    names = ("compute (3 nations)", "publish tracks, wait for partners, publish warning",
             "warning reaches all 3 nodes")  # fmt: skip
    parts: dict[str, list[float]] = {k: [] for k in names}
    latencies = []
    for rid, t0 in cycle_start.items():
        latencies.append(poller.stored[rid] - t0)
        parts[names[0]].append(compute[rid])
        parts[names[1]].append(published[rid] - t0 - compute[rid])
        parts[names[2]].append(poller.stored[rid] - published[rid])
    return latencies, parts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--min-warnings", type=int, default=50)
    ap.add_argument("--period-s", type=float, default=0.5, help="start a cycle every ... s")
    args = ap.parse_args()
    sc = parse_scenario(copy.deepcopy(SCENARIO), "bench")
    zones, note = japan_zones(sc.view)
    if zones is None:
        raise SystemExit(note)
    pure_times, n_pure = pure(sc, zones)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "net"
        t_up = time.perf_counter()
        localnet.net_up(root)
        t_up = time.perf_counter() - t_up
        try:
            lat, parts = live(root, sc, zones, args.period_s)
            lat_b2b, _ = live(root, sc, zones, 0.0)
        finally:
            for n in localnet.NATIONS:
                localnet.stop_node(root, n)
    if len(lat) < args.min_warnings:
        raise SystemExit(f"only {len(lat)} warnings (< {args.min_warnings}); adjust the scenario")
    ms = [v * 1e3 for v in lat]
    rows = [
        ("pure pipeline per cycle (baseline, no nodes)", [v * 1e3 for v in pure_times]),
        ("measurement -> warning stored at USA, JPN and KOR", ms),
        *[(f"  of which: {k}", [v * 1e3 for v in vs]) for k, vs in parts.items()],
        ("same, cycles back to back (each overlapping the previous one's replication)",
         [v * 1e3 for v in lat_b2b]),
    ]  # fmt: skip
    table = ["| what | n | p50 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|"]
    for name, vals in rows:
        table.append(
            f"| {name} | {len(vals)} | {statistics.median(vals):.1f} | {pct(vals, 99):.1f} | "
            f"{max(vals):.1f} |"
        )
    p99 = pct(ms, 99)
    verdict = "met" if p99 <= 250.0 else "**not met**"
    text = "\n".join(
        [
            "## Missile warning latency (`bench/bench_missile_warning.py`)",
            "",
            f"Machine: {machine_line()}. Three real local nodes (`localnet.net_up`, SQLite, "
            f"mutual TLS on loopback; start-up {t_up:.1f} s, not counted).",
            "",
            f"Scenario: two SRBMs, three radars (one per nation), {sc.cycle_s:g} s cycles, "
            f"{len(pure_times)} cycles started every {args.period_s:g} s "
            f"({sc.cycle_s / args.period_s:g}x real time when positive); {n_pure} warning reports "
            "(issue/update/cancel) over the flight, thresholds set so nearly every cycle updates "
            "every warning. Latency per warning: from the cycle's measurements entering the "
            "trackers to the warning report stored at all three nodes (compute of all three "
            "nations in one process, publish tracks, wake, wait for partner tracks, publish "
            "warnings, replication; a thread polls the three databases every 2 ms and stamps "
            "each warning when all hold it).",
            "",
            *table,
            "",
            f"Goal p99 ≤ 250 ms on loopback: {verdict} (p99 {p99:.1f} ms over {len(ms)} "
            f"warnings; load average at the end {load_average()}).",
            "",
            "Notes. The compute row runs all three nations one after the other in one process; "
            "on the real nodes each runs only its own (about a third). A warning derives from "
            "the partners' track reports of the same cycle, so its path holds two replication "
            "hops (partner tracks in, warning out). Earlier runs: p99 249-279 ms (cycles back "
            "to back) and 256-280 ms (paced) before the index on report ids (migration 3); "
            "until then every lookup of a report by id (derivation checks, waits for partner "
            "reports) scanned the whole table, so publishing slowed as the stores grew. "
            "Back to back, each cycle's computation "
            "competes for the 2 cores with the previous cycle's replication: an overload that "
            "a 2 s cycle does not have, shown for comparison.",
            "",
        ]
    )
    print(text)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text + "\n", "utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
