"""Measurement → missile.warning stored at every node that may hold it, through three
separate engine processes and real federation (issue #13's target: p99 <= 250 ms).

Three local nodes; each nation's tracker runs as `trilink missile track` against its own node
only, fed its own radars' plot feed at a scaled real time, fusing the partner tracks its node
received. Latency of each warning version: from the wall-clock moment its cycle's plots
entered the nation's tracker (the runner's timeline) to the moment the last node allowed to
hold it stored it (each node's `stored_at`). Baseline in the same run: the pure pipeline per
cycle, no nodes. (This replaces bench_missile_warning.py, which ran the three nations in one
process: 106 ms p99 there, session 4.)

    .venv/bin/python bench/bench_missile_engines.py [--speed 4]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import tomli_w

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_line  # noqa: E402
from trilink.federation import localnet  # noqa: E402
from trilink.missile.run import iter_cycles  # noqa: E402
from trilink.missile.sim.scenario import parse_scenario  # noqa: E402
from trilink.missile.warn.zones import japan_zones  # noqa: E402
from trilink.model.label import parse_label  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "missile_engines.md"

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


def stored_at(root: Path, nation: str, report_id: str, version: int) -> float | None:
    conn = sqlite3.connect(f"file:{root / nation / 'node.db'}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT stored_at, label FROM reports WHERE id = ? AND version = ?",
            (report_id, version),
        ).fetchone()
    finally:
        conn.close()
    return datetime.fromisoformat(row[0]).timestamp() if row else None


def label_of(root: Path, origin: str, report_id: str, version: int) -> str:
    conn = sqlite3.connect(f"file:{root / origin / 'node.db'}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT label FROM reports WHERE id = ? AND version = ?", (report_id, version)
        ).fetchone()
    finally:
        conn.close()
    return str(row[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--speed", type=float, default=4.0, help="times real time")
    args = ap.parse_args()
    sc = parse_scenario(copy.deepcopy(SCENARIO), "bench")
    zones, note = japan_zones(sc.view)
    if zones is None:
        raise SystemExit(note)
    pure_ms = [v * 1e3 for v in pure(sc, zones)[0]]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "scenario.toml").write_text(tomli_w.dumps(SCENARIO))
        done = subprocess.run(
            [sys.executable, "-m", "trilink", "sim", "missile", str(work / "scenario.toml"),
             "--out", str(work / "feeds")],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode:
            raise SystemExit(done.stderr)
        root = work / "net"
        localnet.net_up(root)
        try:
            procs = {
                n: subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "trilink",
                        "missile",
                        "track",
                        "--config",
                        str(root / n / "node.toml"),
                        "--plots",
                        str(work / "feeds" / f"{n}.plots.jsonl"),
                        "--speed",
                        str(args.speed),
                        "--json",
                        "--timeline",
                        str(work / f"{n}.jsonl"),
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )  # fmt: skip
                for n in localnet.NATIONS
            }
            for n, proc in procs.items():
                out, err = proc.communicate(timeout=1800)
                if proc.returncode:
                    raise SystemExit(f"{n} tracker failed: {err}")
            time.sleep(3.0)  # the last pushes land
            latencies: list[float] = []
            missing = 0
            for origin in localnet.NATIONS:
                for line in (work / f"{origin}.jsonl").read_text().splitlines():
                    entry = json.loads(line)
                    for report_id, version in entry["warnings"]:
                        label = parse_label(label_of(root, origin, report_id, version))
                        holders = [origin, *sorted(label.rel_to - {origin})]
                        times = [stored_at(root, n, report_id, version) for n in holders]
                        if any(t is None for t in times):
                            missing += 1
                            continue
                        latencies.append((max(t for t in times if t) - entry["wall"]) * 1e3)
        finally:
            for n in localnet.NATIONS:
                localnet.stop_node(root, n)
    rows = [
        ("pure pipeline per cycle, three nations (baseline, no nodes)", pure_ms),
        ("measurement -> warning version stored at every node allowed to hold it", latencies),
    ]
    table = ["| what | n | p50 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|"]
    for name, vals in rows:
        table.append(
            f"| {name} | {len(vals)} | {statistics.median(vals):.1f} | {pct(vals, 99):.1f} | "
            f"{max(vals):.1f} |"
        )
    p99 = pct(latencies, 99)
    text = "\n".join(
        [
            "## Missile warning latency through three engine processes "
            "(`bench/bench_missile_engines.py`)",
            "",
            f"Machine: {machine_line()}; load average at the end {load_average()}.",
            "",
            f"Scenario: two SRBMs, three radars (one per nation), {sc.cycle_s:g} s "
            f"cycles) at {args.speed:g}x real time. Each nation's `trilink missile track` "
            "runs as its own process against its own node (API over HTTPS), fusing the partner "
            "tracks its node received; the three nodes replicate over mutual TLS. Latency: "
            "from a cycle's plots entering the tracker to the warning version stored at the "
            f"last node its label allows. Warning versions not found at a node: {missing}.",
            "",
            *table,
            "",
            f"Target p99 <= 250 ms: {'met' if p99 <= 250 else '**not met**'} ({p99:.1f} ms).",
            "",
        ]
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
