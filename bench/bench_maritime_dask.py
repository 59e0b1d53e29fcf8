"""Benchmark: maritime archive on Dask distributed vs the single-machine engine.

Two measurements on one synthetic archive (``trilink sim maritime --archive``, made here
unless ``--dir`` already holds one):

1. **Same data** — the first ``--baseline-days`` days (what fits in one process's memory):
   the single-machine engine (``read_inputs`` + ``run_batch``, in a fresh subprocess) and the
   Dask run (``trilink.maritime.archive.run_archive`` on a ``LocalCluster``) over the same
   files, both writing the events and the cleaned tracks; events compared row by row;
   throughput per core = positions per CPU-second
   (all processes: driver, workers; the single run's numba threads included).
2. **Whole archive** on Dask only: positions/s, positions per CPU-second, and the peak
   resident memory of each worker process (``ru_maxrss``).

Small check (minutes, what CI-like runs should use):

    .venv/bin/python bench/bench_maritime_dask.py --days 2 --vessels 60 --no-write

Full run, for a quiet machine (issue #19: 30 days, ≥ 300 M positions, per-core throughput
within 2× of the single-machine engine, ≤ 2 GB per worker). About 6 GB of Parquet for the
archive and twice that of scratch and tracks, so point ``--dir`` at a disk with 30 GB free.
Making the archive took 496 s for this one (348 M positions, 2026-12-06, AMD EPYC); it is
kept in ``--dir`` and reused by later runs:

    .venv/bin/python bench/bench_maritime_dask.py --days 30 --vessels 1750 \\
        --part-vessels 25 --baseline-days 1 --workers 2 --dir /var/tmp/trilink-archive-30d
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
DOC = ROOT / "docs" / "benchmarks" / "maritime.md"
HEADING = "## Archives on Dask"
NOW_MS = int(datetime(2027, 1, 1, tzinfo=UTC).timestamp() * 1000)


def _cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def warm() -> float:
    """Load the numba kernels and modules a run uses (a tiny run); returns its CPU-s.
    Both sides are warmed, so the tables compare steady work, not process start-up."""
    import numpy as np

    from trilink.maritime.config import load_config
    from trilink.maritime.events import Geography
    from trilink.maritime.ingest import Ingested
    from trilink.maritime.pipeline import run_batch
    from trilink.maritime.tables import POSITION_SCHEMA, STATIC_SCHEMA, TS, conform

    c0 = _cpu_s()
    t = np.arange(40, dtype=np.int64) * 60_000
    pos = pl.DataFrame(
        {
            "mmsi": np.repeat([211_000_001, 211_000_002], 20),
            "timestamp": pl.Series(np.concatenate([t[:20], t[:20]])).cast(TS),
            "lat": np.full(40, 30.0),
            "lon": np.full(40, 125.0),
            "sog_kn": np.full(40, 0.5),
        }
    )
    data = Ingested(
        positions=conform(pos, POSITION_SCHEMA).select(list(POSITION_SCHEMA)),
        statics=conform(pl.DataFrame(), STATIC_SCHEMA),
    )
    run_batch(data, Geography(), load_config(None), now_ms=NOW_MS)
    import trilink.maritime.archive  # noqa: F401

    return _cpu_s() - c0


def single_child(files_json: str, ports: str, out: str) -> None:
    """One single-machine run in this (fresh) process; print a JSON line."""
    from trilink.maritime.archive import peak_rss
    from trilink.maritime.config import load_config
    from trilink.maritime.geoio import build_geography
    from trilink.maritime.ingest import read_inputs
    from trilink.maritime.pipeline import run_batch
    from trilink.maritime.tables import bbox_of

    files = [Path(f) for f in json.loads(files_json)]
    warm()
    rss0 = peak_rss()
    c0, t0 = _cpu_s(), time.perf_counter()
    data = read_inputs(files)
    geo, _ = build_geography(bbox_of(data.positions), ports_path=Path(ports))
    res = run_batch(data, geo, load_config(None), now_ms=NOW_MS)
    # the cleaned tracks, written as the Dask run writes them (one file here)
    res.tracks.lazy().join(
        res.vessels.lazy(), on="mmsi", how="left", maintain_order="left"
    ).sink_parquet(Path(out).with_name("single_tracks.parquet"))
    seconds, cpu = time.perf_counter() - t0, _cpu_s() - c0
    res.events.write_parquet(out)
    print(
        json.dumps(
            {
                "positions": data.positions.height,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "peak_rss": peak_rss(),
                "rss_before": rss0,
                "events": res.events.height,
            }
        )
    )


def _worker_cpu() -> float:
    return _cpu_s()


def dask_run(
    client: object, files: list[Path], ports: Path, out: Path, partitions: int, rows: int
) -> dict[str, object]:
    from trilink.maritime.archive import GeoSpec, run_archive
    from trilink.maritime.config import load_config

    client.run(warm)  # type: ignore[attr-defined]
    before = client.run(_worker_cpu)  # type: ignore[attr-defined]
    c0, t0 = _cpu_s(), time.perf_counter()
    res = run_archive(
        files,
        out,
        client,
        spec=GeoSpec(None, ports_path=ports),
        config=load_config(None),
        now_ms=NOW_MS,
        partitions=partitions,
        batch_rows=rows,
        progress=print,
    )
    seconds = time.perf_counter() - t0
    after = client.run(_worker_cpu)  # type: ignore[attr-defined]
    cpu = _cpu_s() - c0 + sum(after[w] - before.get(w, 0.0) for w in after)
    return {
        "positions": res.positions,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "partitions": res.partitions,
        "steps": {k: round(v, 2) for k, v in res.seconds.items()},
        "peak_rss": sorted(res.worker_peak_rss.values()),
        "events": res.events,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, help="Where the archive is (or is made); default: temp")
    ap.add_argument("--days", type=float, default=2.0)
    ap.add_argument("--vessels", type=int, default=60)
    ap.add_argument("--part-vessels", type=int, default=25)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--baseline-days", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="2GB")
    ap.add_argument(
        "--partition-rows",
        type=int,
        default=1_000_000,
        help="Positions per partition (the run's default); both Dask runs use partitions of "
        "this size, so their peak memory per worker should match whatever the archive size.",
    )
    ap.add_argument("--no-write", action="store_true", help="Do not update docs/benchmarks.")
    ap.add_argument("--single-child", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.single_child:
        single_child(*a.single_child)
        return

    from distributed import Client, LocalCluster

    from machine import machine_line
    from trilink.maritime.archive import archive_files, estimate_rows
    from trilink.sim.io import write_archive
    from trilink.sim.scenario import ScenarioConfig

    root = a.dir or Path(tempfile.mkdtemp(prefix="bench_maritime_dask_"))
    if not archive_files(root / "archive"):
        t0 = time.perf_counter()
        _, counts = write_archive(
            ScenarioConfig(seed=a.seed, hours=a.days * 24, vessels=a.vessels),
            root,
            part_vessels=a.part_vessels,
        )
        print(f"archive: {counts} in {time.perf_counter() - t0:.0f} s")
    files = archive_files(root / "archive")
    days = sorted({f.name.split("_")[1] for f in files})
    base_files = [f for f in files if f.name.split("_")[1] in days[: a.baseline_days]]
    ports = root / "ports.csv"

    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--single-child",
            json.dumps([str(f) for f in base_files]),
            str(ports),
            str(root / "single_events.parquet"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    single = json.loads(proc.stdout.strip().splitlines()[-1])
    single_events = pl.read_parquet(root / "single_events.parquet")
    print("single", single)

    def parts(fs: list[Path]) -> int:
        return max(1, -(-sum(estimate_rows(f) for f in fs) // a.partition_rows))

    load = os.getloadavg()[0]
    with (
        LocalCluster(
            n_workers=a.workers,
            threads_per_worker=1,
            memory_limit=a.memory_limit,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):
        same = dask_run(
            client, base_files, ports, root / "dask_same", parts(base_files), a.partition_rows
        )
        equal = same["events"].equals(single_events)  # type: ignore[attr-defined]
        print("dask, same data", {k: v for k, v in same.items() if k != "events"}, equal)
        whole = None
        if len(base_files) < len(files):
            with (
                LocalCluster(
                    n_workers=a.workers,
                    threads_per_worker=1,
                    memory_limit=a.memory_limit,
                    dashboard_address=":0",
                ) as cluster2,
                Client(cluster2) as client2,
            ):
                whole = dask_run(
                    client2, files, ports, root / "dask_whole", parts(files), a.partition_rows
                )
            print("dask, whole", {k: v for k, v in whole.items() if k != "events"})

    def per_cpu(r: dict[str, object]) -> float:
        return float(r["positions"]) / float(r["cpu_seconds"])  # type: ignore[arg-type]

    def row(name: str, r: dict[str, object], peak: str) -> str:
        pos, sec = float(r["positions"]), float(r["seconds"])  # type: ignore[arg-type]
        return (
            f"| {name} | {int(pos):,} | {sec:.1f} | {float(r['cpu_seconds']):.1f} | "  # type: ignore[arg-type]
            f"{pos / sec:,.0f} | {per_cpu(r):,.0f} | {peak} |"
        )

    mb = 1 / 2**20
    lines = [
        f"{HEADING} (`bench/bench_maritime_dask.py`)",
        "",
        f"Run on {machine_line()}; load {load:.1f} at the start.",
        f"Archive: `trilink sim maritime --archive` seed {a.seed}, {len(days)} days, "
        f"{a.vessels} background vessels + planted ones, {len(files)} Parquet files. "
        f"Dask: `LocalCluster` of {a.workers} worker processes × 1 thread, "
        f"memory limit {a.memory_limit}, partitions (and split batches) of about "
        f"{a.partition_rows:,} positions. "
        "CPU-s = every process of the run (driver + workers; "
        "the single run's numba threads included), after a tiny warm-up run in every process "
        "(imports, numba kernels: a fixed cost per process). Peak memory = `VmHWM` of the "
        "process (single) / of each worker (Dask): its own peak, not one inherited from the "
        "process that started it.",
        "",
        "| run | positions | seconds | CPU s | positions/s | positions/CPU-s | peak memory MB |",
        "|---|---:|---:|---:|---:|---:|---|",
        row(
            f"single machine, first {a.baseline_days} day(s)",
            single,
            f"{single['peak_rss'] * mb:.0f}",
        ),
        row(
            f"Dask, same files ({same['partitions']} partitions)",
            same,
            ", ".join(f"{x * mb:.0f}" for x in same["peak_rss"]),  # type: ignore[attr-defined]
        ),
    ]
    if whole is not None:
        lines.append(
            row(
                f"Dask, whole archive ({whole['partitions']} partitions)",
                whole,
                ", ".join(f"{x * mb:.0f}" for x in whole["peak_rss"]),  # type: ignore[attr-defined]
            )
        )
    lines += [
        "",
        f"Same events as the single-machine run on the same files: {'yes' if equal else 'NO'} "
        f"({single['events']} events). Per-core throughput, single / Dask: "
        f"{per_cpu(single) / per_cpu(same):.2f}× on the same files"
        + (
            f", {per_cpu(single) / per_cpu(whole):.2f}× over the whole archive"
            if whole is not None
            else ""
        )  # fmt: skip
        + f" (goal: within 2×). Dask steps (s): {same['steps']}"
        + (f"; whole archive: {whole['steps']}" if whole is not None else "")
        + ".",
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    if not a.no_write:
        DOC.parent.mkdir(parents=True, exist_ok=True)
        text = DOC.read_text("utf-8") if DOC.exists() else "# Maritime engine benchmarks\n\n"
        start = text.find(HEADING)
        if start >= 0:
            end = text.find("\n## ", start + 1)
            text = text[:start] + section + ("\n" + text[end + 1 :] if end >= 0 else "")
        else:
            text = text.rstrip("\n") + "\n\n" + section
        DOC.write_text(text, "utf-8")


if __name__ == "__main__":
    main()
