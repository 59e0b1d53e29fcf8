"""Measurement → missile.warning stored at every node that may hold it, through three
separate engine processes and real federation (issue #13's target: p99 <= 250 ms).

Three local nodes; each nation's tracker runs as `trilink missile track` against its own node
only, fed its own radars' plot feed at a scaled real time, fusing the partner tracks its node
received. Latency of each warning version: from the wall-clock moment its cycle's plots
entered the nation's tracker (the runner's timeline) to the moment the last node allowed to
hold it stored it (each node's `stored_at`). Baseline in the same run: the pure pipeline per
cycle, no nodes (bench_missile_warning's scenario and `pure`).

    .venv/bin/python bench/bench_missile_engines.py [--speed 4]
"""

from __future__ import annotations

import argparse
import copy
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import tomli_w

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_missile_warning import SCENARIO, load_average, pct, pure  # noqa: E402
from machine import machine_line  # noqa: E402
from trilink.federation import localnet  # noqa: E402
from trilink.missile.sim.scenario import parse_scenario  # noqa: E402
from trilink.missile.warn.zones import japan_zones  # noqa: E402
from trilink.model.label import parse_label  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "missile_engines.md"


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
            f"Scenario: bench_missile_warning's (two SRBMs, three radars, {sc.cycle_s:g} s "
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
