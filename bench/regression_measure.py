"""One measurement of ``bench/bench_regression.py``, run in a fresh process against whichever
trilink is first on ``PYTHONPATH`` (this tree's ``src`` or a worktree of the baseline commit).

    PYTHONPATH=<tree>/src .venv/bin/python bench/regression_measure.py <measure>

with <measure> one of decode, events, sanctions, missile.

Prints one JSON line: ``{"values": {row: number}, "check": {...}}``; ``check`` describes the
work done (messages, positions, events, hits, tracks) so both commits can be seen to do the
same work. Every input is read from this file's tree (tests/data, the bundled sanctions
files) or generated here with fixed seeds, so both commits get the same bytes. Only public
functions that exist with the same meaning at ``c28c117`` and at HEAD are called, so no
adapter is needed: what changed in between is not used here (``TrackManager`` took
``filter_params=``/``motion=`` and now takes ``filter=``: both default to the EKF, used
with its defaults; ``predict_all`` moved from ``track.manager`` to ``track.ekf``), and
bench_missile_tracker.py is not imported because it imports modules only HEAD has.
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NMEA = ROOT / "tests" / "data" / "maritime" / "nmea"
SANCTIONS_TESTS = ROOT / "tests" / "data" / "sanctions"
SANCTIONS_DATA = ROOT / "src" / "trilink" / "sanctions" / "data"
# The four samples recorded from real receivers (as bench/bench_maritime_decode.py).
CAPTURES = (
    "pyais__tests_nmea_data_sample.txt",
    "gpsd__test_daemon_ais-nmea.log",
    "gpsd__test_daemon_ais-nmea-type6-fid55.log",
    "gpsd__test_daemon_ais-raw-messages.log",
)
EVENT_POSITIONS = 3_000_000
SANCTIONS_QUERIES = 20_000
MISSILE_TARGETS, MISSILE_WARM, MISSILE_TIMED = 100, 20, 20


def _best(fn, runs: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    best, result = float("inf"), None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def decode() -> dict[str, object]:
    """``read_nmea`` (engine types decoded, best of 5 passes) over the two feeds of
    bench_maritime_decode.py: single-part position reports (x reps to ~300k lines) and the
    receiver captures (x 80)."""
    from trilink.maritime.ingest import read_nmea

    corpus = b"".join(p.read_bytes().rstrip(b"\n") + b"\n" for p in sorted(NMEA.iterdir()))
    singles = [
        ln
        for ln in corpus.splitlines()
        if ln.startswith(b"!AIVDM,1,1,")
        and len(ln.split(b",")) >= 7
        and ln.split(b",")[5][:1] in (b"1", b"2", b"3", b"B")
        and len(ln.split(b",")[5]) == 28
    ]
    receivers = b"".join((NMEA / n).read_bytes().rstrip(b"\n") + b"\n" for n in CAPTURES)
    values: dict[str, float] = {}
    check: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        positions = Path(tmp) / "positions.nmea"
        positions.write_bytes(b"\n".join(singles * (300_000 // len(singles))) + b"\n")
        captures = Path(tmp) / "receivers.nmea"
        captures.write_bytes(receivers * 80)
        read_nmea(captures)  # warm numba and caches
        for row, path in (("decode_positions", positions), ("decode_receivers", captures)):
            secs, data = _best(lambda path=path: read_nmea(path), 5)
            n = int(data.messages)  # type: ignore[attr-defined]
            values[row] = n / secs
            check[row + "_messages"] = n
    return {"values": values, "check": check}


def events() -> dict[str, object]:
    """``run_batch`` (clean + every detector + statics) on the synthetic East Asian day of
    bench_maritime_events.py (same generator and seed), 3 million positions, bundled
    geography, best of 3 passes; numba warmed on a 5,000-row sample first, as that
    benchmark does."""
    import polars as pl

    from bench_maritime_events import synth
    from trilink.maritime.config import CleanConfig, MaritimeConfig
    from trilink.maritime.geoio import build_geography
    from trilink.maritime.ingest import Ingested
    from trilink.maritime.pipeline import run_batch
    from trilink.maritime.tables import POSITION_SCHEMA, STATIC_SCHEMA, conform

    pos = conform(synth(EVENT_POSITIONS), POSITION_SCHEMA).select(list(POSITION_SCHEMA))
    statics = conform(pl.DataFrame(), STATIC_SCHEMA)
    data = Ingested(positions=pos, statics=statics)
    cfg = MaritimeConfig(clean=CleanConfig(check_mmsi=True))
    bbox = (
        float(pos["lon"].min()),  # type: ignore[arg-type]
        float(pos["lat"].min()),  # type: ignore[arg-type]
        float(pos["lon"].max()),  # type: ignore[arg-type]
        float(pos["lat"].max()),  # type: ignore[arg-type]
    )
    geo, _ = build_geography(bbox, bundled=True)
    now_ms = 1_772_409_600_000  # fixed (2026-03-02T00:00Z), the end of the synthetic day
    warm = Ingested(positions=pos.sample(5000, seed=1), statics=statics)
    run_batch(warm, geo, cfg, now_ms=now_ms)
    secs, result = _best(lambda: run_batch(data, geo, cfg, now_ms=now_ms), 3)
    counts = dict(result.events.group_by("type").len().iter_rows())  # type: ignore[attr-defined]
    return {
        "values": {"events": pos.height / secs},
        "check": {"positions": pos.height, "events": dict(sorted(counts.items()))},
    }


def sanctions() -> dict[str, object]:
    """``Screener.screen_many`` names only, batches of 2,000, best of 5 passes, over the
    vessels of the two vessel lists bundled at both commits (OFAC SDN 2024-05-03, UN 1718);
    20,000 queries drawn with seed 1 from the labelled sets, as bench_sanctions.py does.
    (HEAD bundles more lists, so "vessels of all bundled lists" would differ in size.)"""
    from trilink.sanctions.io import parse_list_bytes
    from trilink.sanctions.screen import Query, Screener

    vessels = []
    for fname, published in (
        ("ofac_sdn_2024-05-03.csv.gz", "2024-05-03"),
        ("un_1718_designated_vessels_2020-06-04.html.gz", None),
    ):
        sl = parse_list_bytes((SANCTIONS_DATA / fname).read_bytes(), fname, published=published)
        vessels += sl.vessels
    cases = []
    for name in ("eval_set.csv", "eval_set_holdout.csv"):
        with (SANCTIONS_TESTS / name).open(newline="") as fh:
            cases += list(csv.DictReader(fh))
    idx = np.random.default_rng(1).integers(0, len(cases), size=SANCTIONS_QUERIES)
    queries = [Query(name=cases[i]["name"]) for i in idx.tolist() if cases[i]["name"]]
    screener = Screener(vessels)

    def run() -> int:
        hits = 0
        for start in range(0, len(queries), 2000):
            results = screener.screen_many(queries[start : start + 2000])
            hits += sum(1 for r in results if r.matched)
        return hits

    run()  # warm
    secs, hits = _best(run, 5)
    return {
        "values": {"sanctions": len(queries) / secs},
        "check": {"vessels": len(vessels), "queries": len(queries), "queries_with_a_hit": hits},
    }


def missile() -> dict[str, object]:
    """The "fused scan at one node" of bench_missile_tracker.py: 100 ballistic targets, 9
    radars (3 per nation), 1 Hz; per scan, JPN's TrackManager takes its three radars'
    PlotScans and JPN's TrackFuser fuses the three nations' tracks (KOR and USA trackers run
    too, untimed). Median wall time over 20 scans after 20 warm-up scans (seed 42)."""
    from trilink.missile.fuse.ci import TrackFuser
    from trilink.missile.track.manager import TrackManager
    from trilink.missile.track.synthetic import (
        SITES,
        SyntheticSensor,
        ballistic_truth,
        make_plots,
        state_from_geodetic,
    )
    from trilink.missile.types import PlotScan

    # The radars of bench_missile_tracker._sensors (that module is not imported: it needs
    # modules HEAD added, such as trilink.missile.track.filter).
    SITES.setdefault("JP-FPS5-OMINATO", (41.27889, 141.11972, 878.0))
    SITES.setdefault("JP-FPS5-SHIMOKOSHIKI", (31.72, 129.75, 604.0))
    SITES.setdefault("JP-TPY2-SHARIKI", (40.98333, 140.35861, 50.0))
    SITES.setdefault("KR-GREENPINE-SCHUNGCHEONG", (36.5, 126.8, 100.0))
    radars = [
        ("JP-FPS5-SADO", "JPN", 30.0, 1.5e-3, 2.0),
        ("JP-FPS5-OMINATO", "JPN", 30.0, 1.5e-3, 2.0),
        ("JP-FPS5-SHIMOKOSHIKI", "JPN", 30.0, 1.5e-3, 2.0),
        ("JP-TPY2-SHARIKI", "USA", 10.0, 0.5e-3, 0.5),
        ("JP-TPY2-KYOGAMISAKI", "USA", 10.0, 0.5e-3, 0.5),
        ("KR-THAAD-SEONGJU", "USA", 10.0, 0.5e-3, 0.5),
        ("KR-GREENPINE-NCHUNGCHEONG", "KOR", 30.0, 2e-3, 2.0),
        ("KR-GREENPINE-SCHUNGCHEONG", "KOR", 30.0, 2e-3, 2.0),
        ("KR-GREENPINE-BUSAN", "KOR", 30.0, 2e-3, 2.0),
    ]

    def _sensors() -> list[SyntheticSensor]:
        return [
            SyntheticSensor.at_site(
                site,
                nation,
                sigma_range_m=sr,
                sigma_azimuth_rad=sa,
                sigma_elevation_rad=sa,
                sigma_range_rate_mps=srr,
                max_range_m=3.0e6,
            )  # fmt: skip
            for site, nation, sr, sa, srr in radars
        ]

    def scans_ms(n_targets: int, warm: int, timed: int) -> tuple[list[float], int]:
        rng = np.random.default_rng(42)
        sensors = _sensors()
        times = np.arange(0.0, warm + timed + 1.0)
        truths = []
        for _ in range(n_targets):
            x0 = state_from_geodetic(
                rng.uniform(38.5, 41.5), rng.uniform(125.0, 129.5), rng.uniform(120e3, 250e3),
                rng.uniform(2500.0, 4000.0), rng.uniform(15.0, 40.0), rng.uniform(70.0, 130.0),
                0.2,
            )  # fmt: skip
            truths.append(ballistic_truth(x0, times))
        plots_at: dict[float, list] = {t: [] for t in times}  # type: ignore[type-arg]
        for s in sensors:
            for k, (ts, xs) in enumerate(truths):
                for p in make_plots(s, ts, xs, rng, truth_id=f"T{k}"):
                    plots_at[p.t_s].append(p)
        nations = ("JPN", "KOR", "USA")
        scans_at = {}
        for t in times:
            by_sensor: dict[str, list] = {}  # type: ignore[type-arg]
            for p in plots_at[t]:
                by_sensor.setdefault(p.sensor_id, []).append(p)
            scans_at[t] = {n: [] for n in nations}
            for group in by_sensor.values():
                scans_at[t][group[0].nation].append(PlotScan.from_plots(group))
        managers = {n: TrackManager(n) for n in nations}
        fuser = TrackFuser("JPN")
        out: list[float] = []
        fused: list = []  # type: ignore[type-arg]
        for t in times:
            own = 0.0
            for n in nations:
                t0 = time.perf_counter()
                for scan in scans_at[t][n]:
                    managers[n].process_scan(scan)
                if n == "JPN":
                    own = time.perf_counter() - t0
            t0 = time.perf_counter()
            fused = fuser.fuse({n: m.tracks() for n, m in managers.items()}, float(t))
            if t > warm:
                out.append(1e3 * (own + time.perf_counter() - t0))
        return out, len(fused)

    scans_ms(10, 3, 2)  # warm the JIT
    ms, n_fused = scans_ms(MISSILE_TARGETS, MISSILE_WARM, MISSILE_TIMED)
    return {
        "values": {"missile": statistics.median(ms)},
        "check": {"timed_scans": len(ms), "fused_tracks": n_fused},
    }


MEASURES = {"decode": decode, "events": events, "sanctions": sanctions, "missile": missile}

if __name__ == "__main__":
    print(json.dumps(MEASURES[sys.argv[1]]()))
