"""Maritime archives on Dask: a partitioned run gives exactly the single-machine events.

A small synthetic archive (2 days, about 60 vessels, 3 parts of Parquet per day) runs once
in this process (``run_batch``) and once on a real ``distributed.LocalCluster`` split into
vessel partitions, and the two event tables must be equal row by row. Encounters, whose two
vessels may sit in different partitions and whose runs may cross midnight, also have a pure
test of the split (per-vessel grids, pairs per day, runs per pair bucket).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from distributed import Client, LocalCluster
from typer.testing import CliRunner

from trilink.cli.app import app
from trilink.maritime.archive import GeoSpec, archive_files, batches, run_archive
from trilink.maritime.config import MaritimeConfig, load_config
from trilink.maritime.events import Tracks
from trilink.maritime.events.encounter import (
    close_pairs,
    detect_encounters,
    encounter_events,
    grid_points,
)
from trilink.maritime.geoio import build_geography
from trilink.maritime.ingest import read_inputs
from trilink.maritime.io import read_detections
from trilink.maritime.partition import (
    detect_partition,
    nearest_overall,
    pair_bucket,
    partition_of,
    time_chunk,
)
from trilink.maritime.pipeline import RunResult, run_batch
from trilink.maritime.tables import TS, bbox_of
from trilink.sim.io import write_archive
from trilink.sim.scenario import ScenarioConfig

NOW_MS = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("archive")
    cfg = ScenarioConfig(seed=3, hours=48.0, vessels=40)
    _, counts = write_archive(cfg, root, part_vessels=20)
    assert counts["parts"] == 2 and counts["files"] == 4
    return root


@pytest.fixture(scope="module")
def single(archive: Path) -> RunResult:
    data = read_inputs(archive_files(archive / "archive"))
    geo, _ = build_geography(bbox_of(data.positions), ports_path=archive / "ports.csv")
    return run_batch(
        data,
        geo,
        load_config(None),
        now_ms=NOW_MS,
        detections=read_detections(archive / "sar_detections.csv"),
    )


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=":0", memory_limit="1GB"
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def test_sim_archive_is_one_parquet_file_per_day_and_part(archive: Path) -> None:
    files = archive_files(archive / "archive")
    assert [f.name for f in files] == [
        f"positions_2026-05-0{d}_p000{p}.parquet" for d in (1, 2) for p in (0, 1)
    ]
    parts = [pl.read_parquet(f) for f in files]
    for f, df in zip(files, parts, strict=True):
        day = f.name.split("_")[1]
        assert df.get_column("timestamp").dt.strftime("%Y-%m-%d").unique().to_list() == [day]
    # no MMSI or IMO drawn twice: each vessel belongs to one part
    p0 = set(parts[0]["mmsi"]) | set(parts[2]["mmsi"])
    p1 = set(parts[1]["mmsi"]) | set(parts[3]["mmsi"])
    assert p0 and p1 and not p0 & p1
    imos = pl.concat(parts).select("mmsi", "imo").unique().drop_nulls()
    assert imos["imo"].n_unique() == imos.height
    assert (archive / "ground_truth.json").exists() and (archive / "ports.csv").exists()


def _splitting(events: pl.DataFrame) -> int:
    """The smallest partition count ≥ 3 that puts the two vessels of every encounter in
    different partitions (so the test crosses partitions for sure)."""
    enc = events.filter(pl.col("type") == "encounter")
    assert enc.height
    for n in range(3, 40):
        a = enc.select(partition_of(pl.col("mmsi"), n)).to_series()
        b = enc.select(partition_of(pl.col("other_mmsi"), n)).to_series()
        if (a != b).all():
            return n
    raise AssertionError("no partition count separates the encounter pairs")


@pytest.mark.parametrize("split_pairs", [False, True])
def test_dask_run_gives_exactly_the_single_machine_events(
    archive: Path, single: RunResult, client: Client, split_pairs: bool, tmp_path: Path
) -> None:
    partitions = _splitting(single.events) if split_pairs else 1
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "keep.txt").write_text("someone else's file\n")
    res = run_archive(
        archive_files(archive / "archive"),
        tmp_path / "out",
        client,
        spec=GeoSpec(None, ports_path=archive / "ports.csv"),
        config=load_config(None),
        now_ms=NOW_MS,
        detections=read_detections(archive / "sar_detections.csv"),
        partitions=partitions,
        batch_rows=100_000 if split_pairs else 10**9,  # one file per split task, or all in one
        work=shared if split_pairs else None,
    )
    assert res.batches == (4 if split_pairs else 1)
    types = set(single.events["type"])
    assert {"encounter", "dark_vessel", "port_visit", "loitering", "incursion"} <= types
    assert res.events.height == single.events.height
    for k, (a, b) in enumerate(
        zip(single.events.iter_rows(named=True), res.events.iter_rows(named=True), strict=True)
    ):
        assert a == b, f"event {k} differs"
    assert res.events.equals(single.events)
    q, s = res.quality, single.quality
    assert (q.input_rows, q.output_rows, q.vessels) == (s.input_rows, s.output_rows, s.vessels)
    assert (q.removed, q.flagged, q.t_first, q.t_last) == (
        s.removed,
        s.flagged,
        s.t_first,
        s.t_last,
    )
    tracks = pl.read_parquet(tmp_path / "out" / "tracks" / "*.parquet")
    assert tracks.height == single.tracks.height
    assert len(list((tmp_path / "out" / "tracks").glob("*.parquet"))) == partitions
    assert not (tmp_path / "out" / "_work").exists()
    assert sorted(p.name for p in shared.iterdir()) == ["keep.txt"]
    assert len(res.worker_peak_rss) == 2


def test_worker_peak_memory_is_its_own_not_its_parents() -> None:
    """A Dask worker is started by fork and exec from a driver that may have held gigabytes
    (making the archive): ``ru_maxrss`` survives both, so the peak reported must be the
    process's own (the 30-day benchmark once reported the driver's 2,140 MB for every
    worker)."""
    script = (
        "import os, sys, numpy as np\n"
        "held = np.ones(80_000_000)  # 640 MB touched\n"
        "os.execv(sys.executable, [sys.executable, '-c', "
        "'from trilink.maritime.archive import peak_rss; print(peak_rss())'])\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=120)  # fmt: skip
    assert 0 < int(out.stdout) < 500 * 2**20


def _stationary(mmsi: int, lat: float, lon: float, t0: int, t1: int) -> pl.DataFrame:
    t = np.arange(t0, t1 + 1, 120_000, dtype=np.int64)
    return pl.DataFrame(
        {
            "mmsi": np.full(t.size, mmsi),
            "timestamp": pl.Series(t).cast(TS),
            "lat": np.full(t.size, lat) + np.linspace(0, 1e-4, t.size),
            "lon": np.full(t.size, lon),
            "sog_kn": np.full(t.size, 0.3),
        }
    )


def test_split_encounters_equal_whole_across_midnight_and_partitions() -> None:
    cfg = MaritimeConfig().encounter
    midnight = int(datetime(2026, 5, 2, tzinfo=UTC).timestamp() * 1000)
    h = 3_600_000
    # 211000001/412000002 meet 23:00-01:30 (2.5 h: an encounter only if both days join);
    # 211000003/412000004 meet 01:00-02:00 (too short); 9 others scattered.
    frames = [
        _stationary(211_000_001, 30.0, 125.0, midnight - h, midnight + 5 * h // 2),
        _stationary(412_000_002, 30.001, 125.001, midnight - 2 * h, midnight + 3 * h // 2 + h),
        _stationary(211_000_003, 31.0, 126.0, midnight + h, midnight + 2 * h),
        _stationary(412_000_004, 31.0005, 126.0, midnight + h, midnight + 2 * h),
    ]
    frames += [
        _stationary(431_000_000 + k, 20.0 + k, 130.0, midnight - 3 * h, midnight + 3 * h)
        for k in range(9)
    ]
    whole = pl.concat(frames).sort("mmsi", "timestamp")
    expected = detect_encounters(Tracks.from_frame(whole), cfg)
    assert [(e.mmsi, e.other_mmsi) for e in expected] == [(211_000_001, 412_000_002)]
    assert expected[0].start_ms < midnight < expected[0].end_ms
    # each vessel alone, as if in its own partition
    grid = pl.concat([grid_points(Tracks.from_frame(f), cfg) for f in frames])
    days = grid.with_columns(time_chunk(pl.col("bin"), cfg.resample_min).alias("c"))
    assert days["c"].n_unique() == 2
    pairs = pl.concat([close_pairs(d.drop("c"), cfg) for d in days.partition_by("c")])
    buckets = pairs.with_columns(pair_bucket(pl.col("a"), pl.col("b"), 3).alias("j"))
    got = [e for part in buckets.partition_by("j") for e in encounter_events(part.drop("j"), cfg)]
    assert got == expected


def test_batches_keep_file_order_and_size() -> None:
    assert batches([5, 5, 5, 20, 1], 10) == [range(2), range(2, 3), range(3, 4), range(4, 5)]
    assert batches([5, 5, 5], 100) == [range(3)]
    assert batches([], 10) == []


def test_nearest_overall_takes_least_distance_then_lowest_mmsi() -> None:
    inf = np.inf
    parts = [
        (np.array([5.0, inf, 7.0, inf]), np.array([30, -1, 9, -1])),
        (np.array([5.0, 2.0, 8.0, inf]), np.array([20, 40, 1, -1])),
    ]
    d, m = nearest_overall(parts)
    assert d.tolist() == [5.0, 2.0, 7.0, inf]
    assert m.tolist() == [20, 40, 9, -1]


def test_partition_of_is_stable_and_spreads() -> None:
    mmsi = pl.DataFrame({"mmsi": np.arange(211_000_000, 211_010_000)})
    p = mmsi.select(partition_of(pl.col("mmsi"), 8)).to_series()
    assert p.min() == 0 and p.max() == 7
    assert p.value_counts()["count"].min() > 1_000
    assert (
        pl.DataFrame({"mmsi": [None, 211_000_000]}, schema={"mmsi": pl.Int64})
        .select(partition_of(pl.col("mmsi"), 8))
        .to_series()
        .to_list()[0]
        == 0
    )


@pytest.mark.parametrize("on", ["local", "scheduler"])
def test_cli_runs_a_directory_on_dask(
    archive: Path, single: RunResult, client: Client, on: str, tmp_path: Path
) -> None:
    where = ["--workers", "1"] if on == "local" else ["--scheduler", client.scheduler.address]
    (archive / "archive" / "README.txt").write_text("not AIS: left alone\n")
    t0 = time.time()
    res = CliRunner().invoke(
        app,
        [
            "maritime",
            "events",
            str(archive / "archive"),
            "--out",
            str(tmp_path / "run"),
            "--ports",
            str(archive / "ports.csv"),
            "--detections",
            str(archive / "sar_detections.csv"),
            *where,
            "--partitions",
            "2",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "partitions" in res.output and "peak worker memory" in res.output
    got = pl.read_parquet(tmp_path / "run" / "events.parquet")
    assert got.equals(single.events), f"{time.time() - t0:.0f} s"
    assert (tmp_path / "run" / "quality.json").exists()


def test_a_directory_without_ais_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.txt").write_text("hello\n")
    res = CliRunner().invoke(
        app, ["maritime", "events", str(tmp_path / "in"), "--out", str(tmp_path / "out")]
    )
    assert res.exit_code != 0
    assert "no AIS files" in res.output + str(res.exception)


def test_single_refuses_a_directory(archive: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        ["maritime", "events", str(archive / "archive"), "--out", str(tmp_path), "--single"],
    )
    assert res.exit_code != 0


def _fixes(mmsi: int, imo: int | None, name: str, t0: int, hours: float, lat: float) -> dict:
    n = int(hours * 30)
    return {
        "mmsi": [mmsi] * n,
        "timestamp": [
            datetime.fromtimestamp((t0 + k * 120_000) / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for k in range(n)
        ],
        "lat": [lat + k * (1e-5 if lat == 35.0 else 1e-3) for k in range(n)],
        "lon": [135.0] * n,
        "sog_kn": [0.1 if lat == 35.0 else 3.0] * n,
        "cog_deg": [0.0] * n,
        "heading_deg": [0] * n,
        "name": [name] * n,
        "imo": [imo] * n,
        "callsign": ["ABCD"] * n,
        "ship_type": [70] * n,
        "flag": [None] * n,
    }


def test_cross_partition_identity_and_open_port_visit_match_single(
    client: Client, tmp_path: Path
) -> None:
    """An IMO moving to an MMSI in another partition, a renamed vessel, and a port visit
    open at its partition's last fix but not at the archive's."""
    t0 = int(datetime(2026, 5, 1, tzinfo=UTC).timestamp() * 1000)
    h = 3_600_000
    a, b, c, d = 211_000_001, 412_000_002, 431_000_003, 440_000_004
    day1 = [
        _fixes(a, 9_000_001, "OLD NAME", t0, 2, 30.0),
        _fixes(c, None, "PORT SITTER", t0, 2, 35.0),
        _fixes(d, None, "RENAMED", t0, 2, 32.0),
    ]
    day2 = [
        _fixes(b, 9_000_001, "NEW HULL", t0 + 3 * h, 2, 31.0),
        _fixes(d, None, "RENAMED TWICE", t0 + 3 * h, 3, 32.5),
    ]
    arch = tmp_path / "arch"
    arch.mkdir()
    for k, day in enumerate((day1, day2)):
        pl.concat(
            [pl.DataFrame(v, infer_schema_length=None) for v in day], how="vertical_relaxed"
        ).write_parquet(arch / f"day{k}.parquet")
    ports = tmp_path / "ports.csv"
    ports.write_text("name,lat,lon\nTESTPORT,35.0,135.0\n")
    n = next(
        n
        for n in range(2, 60)
        if len({int(pl.select(partition_of(pl.lit(m), n)).item()) for m in (a, b, c, d)}) == 4
    )
    files = archive_files(arch)
    data = read_inputs(files)
    geo, _ = build_geography(bbox_of(data.positions), ports_path=ports, bundled=False)
    single = run_batch(data, geo, load_config(None), now_ms=NOW_MS)
    kinds = single.events.group_by("type").len()
    assert dict(kinds.iter_rows()) == {"identity_change": 2, "port_visit": 1}
    moved = single.events.filter(pl.col("other_mmsi") == a)
    assert moved["mmsi"].to_list() == [b] and '"field": "mmsi"' in moved["details"][0]
    visit = single.events.filter(pl.col("type") == "port_visit").row(0, named=True)
    assert '"open_at_end": false' in visit["details"]
    alone = detect_partition(
        data.positions.filter(pl.col("mmsi") == c),
        data.statics.filter(pl.col("mmsi") == c),
        geo,
        load_config(None),
        now_ms=NOW_MS,
    )  # its own partition thinks the visit is still open: the driver must correct it
    assert [e.details["open_at_end"] for e in alone.events if e.type == "port_visit"] == [True]
    res = run_archive(
        files,
        tmp_path / "out",
        client,
        spec=GeoSpec(None, ports_path=ports, bundled=False),
        config=load_config(None),
        now_ms=NOW_MS,
        partitions=n,
    )
    assert res.events.equals(single.events)
