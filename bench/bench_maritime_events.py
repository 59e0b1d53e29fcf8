"""Benchmark: maritime cleaning + event detection on decoded positions.

Measures positions/s end to end (``run_batch``: clean, every detector, vessel statics
table) and peak memory against the input's in-memory size, on the real files (Suez 2021,
Gothenburg 2017) and on a synthetic East-Asian day of 10 million positions made here with
numpy (2,000 vessels, one fix every ~17 s, 30 % slow/drifting, planted ship-to-ship pairs;
headings are random, so many cross territorial seas and land). Each case runs in its own
subprocess so peak RSS is that case's alone. Optionally compares with MovingPandas
(stop detection on the Suez file) when it is installed in the venv.

    .venv/bin/python bench/bench_maritime_events.py [--positions 10000000] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "maritime"
DOC = ROOT / "docs" / "benchmarks" / "maritime.md"
T0_MS = 1_772_323_200_000  # 2026-03-01T00:00Z


def synth(n_positions: int, seed: int = 20260301) -> pl.DataFrame:
    """A day of AIS in the Yellow / East China / Japan seas, columnar, sorted by vessel."""
    rng = np.random.default_rng(seed)
    n_vessels = max(2, n_positions // 5000)
    per = n_positions // n_vessels
    dt_s = 86_400 / per
    mmsi = np.repeat(
        rng.choice(np.arange(412_000_000, 441_999_999), n_vessels, replace=False), per
    )
    kind = rng.random(n_vessels)
    speed_kn = np.where(
        kind < 0.3, rng.uniform(0.1, 1.5, n_vessels), rng.uniform(8.0, 16.0, n_vessels)
    )
    lat0 = rng.uniform(28.0, 40.0, n_vessels)
    lon0 = rng.uniform(122.0, 135.0, n_vessels)
    # Planted ship-to-ship pairs: every 50th vessel drifts 300 m north of the previous one.
    pair = np.arange(1, n_vessels, 50)
    lat0[pair] = lat0[pair - 1] + 300 / 111_195.0
    lon0[pair] = lon0[pair - 1]
    speed_kn[pair] = speed_kn[pair - 1] = 0.5
    heading = rng.uniform(0, 2 * np.pi, n_vessels)
    turn = rng.normal(0, 0.01, (n_vessels, per)).cumsum(axis=1) + heading[:, None]
    turn[pair] = turn[pair - 1]  # the pair drifts together
    step_m = (speed_kn * 0.514444 * dt_s)[:, None] * np.ones((1, per))
    north = np.cumsum(step_m * np.cos(turn), axis=1)
    east = np.cumsum(step_m * np.sin(turn), axis=1)
    lat = (lat0[:, None] + north / 111_195.0).ravel()
    lon = (lon0[:, None] + east / (111_195.0 * np.cos(np.radians(lat0)))[:, None]).ravel()
    t = (T0_MS + (np.arange(per) * dt_s * 1000).astype(np.int64))[None, :].repeat(n_vessels, 0)
    t = t.ravel() + rng.integers(0, 2000, t.size)
    sog = np.repeat(speed_kn, per) + rng.normal(0, 0.1, n_vessels * per)
    return pl.DataFrame(
        {
            "mmsi": mmsi.astype(np.int64),
            "timestamp": t,
            "lat": lat,
            "lon": lon,
            "sog_kn": np.abs(sog),
            "cog_deg": np.degrees(turn.ravel()) % 360.0,
        }
    ).with_columns(pl.col("timestamp").cast(pl.Datetime("ms", "UTC")))


def _rss_mb() -> float:
    """Current resident set size (not the high-water mark)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


class PeakRss:
    """Samples RSS every 5 ms in a thread: the peak of one run, not of the process's life."""

    def __enter__(self) -> PeakRss:
        import threading

        self.before = _rss_mb()
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss_mb())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())


def child(path: str, geo_kind: str) -> None:
    """Run one case in this process; print a JSON line with timings and memory."""

    from trilink.maritime.config import CleanConfig, MaritimeConfig
    from trilink.maritime.geoio import build_geography
    from trilink.maritime.ingest import Ingested, read_inputs
    from trilink.maritime.pipeline import run_batch
    from trilink.maritime.tables import POSITION_SCHEMA, STATIC_SCHEMA, conform

    if path.endswith(".parquet"):
        pos = conform(pl.read_parquet(path), POSITION_SCHEMA).select(list(POSITION_SCHEMA))
        data = Ingested(positions=pos, statics=conform(pl.DataFrame(), STATIC_SCHEMA))
    else:
        data = read_inputs([Path(path)])
    cfg = MaritimeConfig(clean=CleanConfig(check_mmsi=data.ids_are_mmsi))
    pos = data.positions
    bbox = (
        float(pos["lon"].min()),
        float(pos["lat"].min()),  # type: ignore[arg-type]
        float(pos["lon"].max()),
        float(pos["lat"].max()),
    )  # type: ignore[arg-type]
    geo, _ = build_geography(bbox, bundled=geo_kind != "none")
    # warm the numba kernels and caches on a small slice so compile time is not measured
    run_batch(
        Ingested(positions=pos.sample(min(5000, pos.height), seed=1), statics=data.statics),
        geo,
        cfg,
        now_ms=int(time.time() * 1000),
    )
    in_mb = pos.estimated_size() / 2**20
    load = open("/proc/loadavg").read().split()[0]
    with PeakRss() as mem:
        t0, c0 = time.perf_counter(), time.process_time()
        result = run_batch(data, geo, cfg, now_ms=int(time.time() * 1000))
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    counts = dict(result.events.group_by("type").len().iter_rows())
    print(
        json.dumps(
            {
                "positions": pos.height,
                "seconds": secs,
                "cpu_seconds": cpu,
                "input_mb": in_mb,
                "rss_before_mb": mem.before,
                "rss_peak_mb": mem.peak,
                "events": counts,
                "load": load,
            }
        )
    )


def movingpandas_child(path: str) -> None:
    import geopandas as gpd  # noqa: F401
    import movingpandas as mpd
    import pandas as pd

    df = pd.read_csv(path)
    df["t"] = pd.to_datetime(df["ais_pos_timestamp"], format="%d/%m/%Y %H:%M")
    with PeakRss() as mem:
        t0 = time.perf_counter()
        tc = mpd.TrajectoryCollection(
            df, "ID", t="t", x="longitude", y="latitude", crs="EPSG:4326"
        )
        stops = mpd.TrajectoryStopDetector(tc).get_stop_points(
            min_duration=dt.timedelta(hours=4), max_diameter=2 * 1852 * 0.5
        )
        secs = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "positions": len(df),
                "seconds": secs,
                "rss_before_mb": mem.before,
                "rss_peak_mb": mem.peak,
                "stops": len(stops),
            }
        )
    )


def run_case(args: list[str]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    model = "unknown"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    import os

    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--positions", type=int, default=10_000_000)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--child", nargs=2)
    ap.add_argument("--mpd-child")
    a = ap.parse_args()
    if a.child:
        child(*a.child)
        return
    if a.mpd_child:
        movingpandas_child(a.mpd_child)
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench_maritime_"))
    suez = tmp / "suez_2021_part1.csv"
    suez.write_bytes(gzip.decompress((DATA / "suez_2021_part1.csv.gz").read_bytes()))
    synth_path = tmp / "synthetic.parquet"
    t0 = time.perf_counter()
    synth(a.positions).write_parquet(synth_path)
    print(f"synthesised {a.positions:,} positions in {time.perf_counter() - t0:.1f} s")
    cases = [
        ("Suez 2021 part 1 (real CSV)", str(suez), "bundled"),
        ("Gothenburg 2017 (real CSV)", str(DATA / "dk_gothenburg_2017_cpa_wgs84.csv"), "bundled"),
        (f"synthetic East Asia day, {a.positions:,} positions", str(synth_path), "bundled"),
    ]
    rows = []
    for name, path, geo_kind in cases:
        r = run_case(["--child", path, geo_kind])
        rows.append((name, r))
        print(name, r)
    mpd = run_case(["--mpd-child", str(suez)])
    print("movingpandas", mpd)
    lines = [
        "## Event detection on decoded positions (`bench/bench_maritime_events.py`)",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
        "",
        "End to end = `trilink.maritime.pipeline.run_batch` on a positions table already in",
        "memory: cleaning (all checks, sort, dedupe, jump filter), encounters, loitering, gaps,",
        "port visits (bundled ports + anchorages, 28,645 points), zone incursions and foreign",
        "fishing (the bundled approximate East Asian zones of `trilink.geo`, 13 polygons, on",
        "the synthetic day), identity changes, vessel statics table. Numba kernels are warmed",
        "on a 5,000-row sample first.",
        "Peak memory = highest RSS sampled every 5 ms during the run minus RSS just before",
        "it (fresh subprocess per case); input size = polars `estimated_size()` of the",
        "positions table. The outputs (cleaned tracks, vessel table, events) are included.",
        "",
        "`seconds` is wall time; `CPU s` counts both cores (numba `prange` kernels). The",
        "machine is shared with other benchmark runs: `load` is the 1-minute load average",
        "when the case started (2 cores; above 2 means the wall time is inflated).",
        "",
        "| case | positions | seconds | CPU s | positions/s (wall) | positions/CPU-s | load | "
        "input MB | extra peak RSS MB | peak / input | events |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in rows:
        if "error" in r:
            lines.append(f"| {name} | error: {r['error']} | | | | | | | | | |")
            continue
        extra = float(r["rss_peak_mb"]) - float(r["rss_before_mb"])  # type: ignore[arg-type]
        lines.append(
            f"| {name} | {r['positions']:,} | {float(r['seconds']):.2f} | "  # type: ignore[arg-type]
            f"{float(r['cpu_seconds']):.2f} | "  # type: ignore[arg-type]
            f"{float(r['positions']) / float(r['seconds']):,.0f} | "  # type: ignore[arg-type]
            f"{float(r['positions']) / float(r['cpu_seconds']):,.0f} | {r['load']} | "  # type: ignore[arg-type]
            f"{float(r['input_mb']):.0f} | {extra:.0f} | "  # type: ignore[arg-type]
            f"{extra / max(float(r['input_mb']), 1e-9):.2f} | "  # type: ignore[arg-type]
            f"{', '.join(f'{k} {v}' for k, v in sorted(r['events'].items()))} |"  # type: ignore[union-attr]
        )
    if "error" in mpd:
        lines += ["", f"MovingPandas baseline not run: {mpd['error']}."]
    else:
        sec = float(mpd["seconds"])  # type: ignore[arg-type]
        lines += [
            "",
            "Baseline, same run: MovingPandas `TrajectoryStopDetector` (stops ≥ 4 h within a",
            f"926 m diameter) on the Suez file: {mpd['positions']:,} positions in {sec:.2f} s = "
            f"{float(mpd['positions']) / sec:,.0f} positions/s, {mpd['stops']} stops, "  # type: ignore[arg-type]
            f"extra peak RSS {float(mpd['rss_peak_mb']) - float(mpd['rss_before_mb']):.0f} MB.",  # type: ignore[arg-type]
        ]
    section = "\n".join(lines) + "\n"
    print(section)
    if not a.no_write:
        write_section(section, "## Event detection")


def write_section(section: str, heading: str) -> None:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text("utf-8") if DOC.exists() else "# Maritime engine benchmarks\n\n"
    start = text.find(heading)
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + ("\n" + text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOC.write_text(text, "utf-8")


if __name__ == "__main__":
    main()
