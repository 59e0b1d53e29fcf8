"""Archive edge: ``trilink maritime events`` over a directory of files on Dask distributed.

The steps (``trilink.maritime.partition`` explains why each is exact):

1. **split** — one task per batch of input files (about 2 million rows, consecutive in
   name order): read them (same readers as the single-machine run) and write their
   positions and statics into ``partitions`` files by MMSI hash
   (``WORK/pos/p<k>/f<batch>.parquet``). Memory: one batch (or one larger file).
2. **detect** — one task per partition: clean, single-vessel events, the grid points for
   encounters (written per day, ``WORK/grid/c<day>/p<k>.parquet``), cleaned tracks to
   ``OUT/tracks/part-<k>.parquet``. Memory: one partition (about archive / partitions).
3. **pair** — one task per day: pairs of close slow grid points of that day, written per
   pair bucket (``WORK/pairs/b<j>/c<day>.parquet``). Memory: one day's slow points.
4. **encounters** — one task per pair bucket: runs of each vessel pair become encounters.
5. **identity** — IMO-under-new-MMSI changes, found on the driver from one row per vessel,
   located by the partition that holds the vessel.

The driver holds only small tables: per-file counts, one row per vessel, the events. On a
real cluster ``WORK`` and ``OUT`` must be a filesystem every worker sees at the same path,
and so must the input, zone, port and area files.
"""

from __future__ import annotations

import contextlib
import functools
import math
import resource
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from trilink.maritime.clean import QualityReport
from trilink.maritime.config import MaritimeConfig
from trilink.maritime.errors import MaritimeInputError
from trilink.maritime.events import Geography, events_frame
from trilink.maritime.events.base import Event
from trilink.maritime.events.dark import decide_detections
from trilink.maritime.events.encounter import close_pairs, encounter_events
from trilink.maritime.events.identity import imo_changes, locate_changes
from trilink.maritime.geoio import build_geography
from trilink.maritime.ingest import read_inputs
from trilink.maritime.nmea import MALFORMED, ProblemLog
from trilink.maritime.partition import (
    combine,
    detect_partition,
    merge_quality,
    nearest_overall,
    pair_bucket,
    partition_of,
    time_chunk,
)
from trilink.maritime.tables import bbox_of

# Default partition size: a worker peaked at about 1 GB with it over 30 days and 348 M
# positions (0.75 GB for one day); partitions of 2 M were 25 % slower there (fewer to balance).
ROWS_PER_PARTITION = 1_000_000
_ORDER_SHIFT = 40  # statics arrival order: file index << 40 | row in file


@dataclass(frozen=True)
class GeoSpec:
    """How each worker builds the geography (the same call as the single-machine run)."""

    bbox: tuple[float, float, float, float] | None
    zones_path: Path | None = None
    ports_path: Path | None = None
    aoi_path: Path | None = None
    bundled: bool = True
    default_zones: bool = True
    zone_view: str = "neutral"


@functools.lru_cache(maxsize=4)
def _geography(spec: GeoSpec) -> Geography:
    geo, _ = build_geography(
        spec.bbox,
        zones_path=spec.zones_path,
        ports_path=spec.ports_path,
        aoi_path=spec.aoi_path,
        bundled=spec.bundled,
        default_zones=spec.default_zones,
        zone_view=spec.zone_view,
    )
    return geo


@dataclass
class ArchiveResult:
    events: pl.DataFrame
    quality: QualityReport
    files: int
    batches: int
    partitions: int
    positions: int
    seconds: dict[str, float] = field(default_factory=dict)
    worker_peak_rss: dict[str, int] = field(default_factory=dict)  # bytes, per worker


ARCHIVE_SUFFIXES = (".parquet", ".csv", ".csv.gz", ".nmea", ".nmea.gz", ".ais", ".aivdm")


def archive_files(directory: Path) -> list[Path]:
    """The AIS files of an archive directory and its subdirectories (``ARCHIVE_SUFFIXES``;
    other files such as READMEs are left alone), in path order."""
    return sorted(
        p for p in directory.rglob("*") if p.is_file() and p.name.endswith(ARCHIVE_SUFFIXES)
    )


def estimate_rows(path: Path) -> int:
    """Rows of a Parquet file (its metadata); for text files, about one per 60 bytes."""
    if path.name.endswith(".parquet"):
        return int(pl.scan_parquet(path).select(pl.len()).collect().item())
    return path.stat().st_size // 60


def batches(rows: Sequence[int], target: int) -> list[range]:
    """Consecutive runs of files of about ``target`` rows together (at least one file):
    one split task each, so many small files do not make tasks × partitions tiny files."""
    out: list[range] = []
    start, acc = 0, 0
    for i, r in enumerate(rows):
        if i > start and acc + r > target:
            out.append(range(start, i))
            start, acc = i, 0
        acc += r
    if start < len(rows):
        out.append(range(start, len(rows)))
    return out


def _write(df: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.write_parquet(path, compression="lz4")


def _read_dir(directory: Path) -> pl.DataFrame | None:
    files = sorted(directory.glob("*.parquet")) if directory.is_dir() else []
    return pl.concat([pl.read_parquet(f) for f in files]) if files else None


# --- tasks (run on the workers) -----------------------------------------------------------


def split_files(index: int, paths: Sequence[Path], partitions: int, work: Path) -> dict[str, Any]:
    """Step 1: a batch of input files (the ``index``-th, in archive order) → their rows in
    each partition's directory, archive order kept (statics number it in ``_order``)."""
    data = read_inputs(list(paths))
    pos = data.positions.with_columns(partition_of(pl.col("mmsi"), partitions).alias("_p"))
    st = data.statics.with_row_index("_order").with_columns(
        (pl.col("_order").cast(pl.Int64) + (index << _ORDER_SHIFT)),
        partition_of(pl.col("mmsi"), partitions).alias("_p"),
    )
    for name, df in (("pos", pos), ("st", st)):
        for (k,), part in df.partition_by("_p", as_dict=True, maintain_order=True).items():
            _write(part.drop("_p"), work / name / f"p{k:05d}" / f"f{index:06d}.parquet")
    bbox = bbox_of(data.positions)
    return {
        "problems": data.problems,
        "notes": data.notes,
        "layouts": data.layouts,
        "ids_are_mmsi": data.ids_are_mmsi,
        "rows": data.positions.height,
        "bbox": bbox,
    }


def detect_one(
    k: int,
    work: Path,
    out: Path,
    spec: GeoSpec,
    config: MaritimeConfig,
    now_ms: int,
    detections: pl.DataFrame | None,
) -> dict[str, Any]:
    """Step 2: one partition → single-vessel events, grid points per day, cleaned tracks."""
    from trilink.maritime.tables import empty_positions, empty_statics

    pos = _read_dir(work / "pos" / f"p{k:05d}")
    st = _read_dir(work / "st" / f"p{k:05d}")
    res = detect_partition(
        pos if pos is not None else empty_positions(),
        st if st is not None else empty_statics().with_columns(pl.lit(0).alias("_order")),
        _geography(spec),
        config,
        now_ms=now_ms,
        detections=detections,
    )
    del pos
    tracks_path = out / "tracks" / f"part-{k:05d}.parquet"
    tracks_path.parent.mkdir(parents=True, exist_ok=True)
    res.tracks.lazy().join(
        res.vessels.lazy(), on="mmsi", how="left", maintain_order="left"
    ).sink_parquet(tracks_path)
    chunks: list[int] = []
    if res.grid.height:
        grid = res.grid.with_columns(
            time_chunk(pl.col("bin"), config.encounter.resample_min).alias("_c")
        )
        for (c,), part in grid.partition_by("_c", as_dict=True, maintain_order=True).items():
            _write(part.drop("_c"), work / "grid" / f"c{c}" / f"p{k:05d}.parquet")
            chunks.append(int(c))
    return {
        "events": res.events,
        "imo": res.imo,
        "latest": res.latest,
        "nearest": res.nearest,
        "quality": res.quality,
        "last_t_ms": res.last_t_ms,
        "chunks": chunks,
        "grid_points": res.grid.height,
    }


def pair_day(c: int, work: Path, config: MaritimeConfig, buckets: int) -> int:
    """Step 3: one day's slow grid points of every vessel → close pairs per pair bucket."""
    grid = _read_dir(work / "grid" / f"c{c}")
    if grid is None:
        return 0
    pairs = close_pairs(grid, config.encounter)
    if pairs.height:
        pairs = pairs.with_columns(pair_bucket(pl.col("a"), pl.col("b"), buckets).alias("_b"))
        for (j,), part in pairs.partition_by("_b", as_dict=True, maintain_order=True).items():
            _write(part.drop("_b"), work / "pairs" / f"b{j:05d}" / f"c{c}.parquet")
    return pairs.height


def encounters_of(j: int, work: Path, spec: GeoSpec, config: MaritimeConfig) -> list[Event]:
    """Step 4: every pair row of a bucket of vessel pairs → encounters."""
    pairs = _read_dir(work / "pairs" / f"b{j:05d}")
    if pairs is None:
        return []
    return encounter_events(pairs, config.encounter, _geography(spec).ports)


def locate_in(k: int, out: Path, changes: list[dict[str, object]]) -> list[Event]:
    """Step 5: IMO changes of vessels in partition ``k``, located on their cleaned tracks."""
    mmsis = sorted({int(c["mmsi"]) for c in changes})  # type: ignore[call-overload]
    tracks = (
        pl.scan_parquet(out / "tracks" / f"part-{k:05d}.parquet")
        .select("mmsi", "timestamp", "lat", "lon")
        .filter(pl.col("mmsi").is_in(mmsis))
        .collect()
    )
    return locate_changes(changes, tracks)


def peak_rss() -> int:
    """Peak resident memory of this process, bytes.

    ``VmHWM`` where Linux gives it: ``ru_maxrss`` survives fork and exec, so a worker started
    by a driver that once held 2 GB would report the driver's 2 GB as its own peak."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # KiB on Linux


# --- driver --------------------------------------------------------------------------------


def run_archive(
    paths: Sequence[Path],
    out: Path,
    client: Any,
    *,
    spec: GeoSpec,
    config: MaritimeConfig,
    now_ms: int,
    detections: pl.DataFrame | None = None,
    partitions: int | None = None,
    work: Path | None = None,
    keep_work: bool = False,
    batch_rows: int = ROWS_PER_PARTITION,
    progress: Callable[[str], None] | None = None,
) -> ArchiveResult:
    """Run ``paths`` on the Dask ``client`` (a ``distributed.Client``); write cleaned tracks
    under ``out/tracks`` and return the events and quality report, exactly those of
    ``run_batch`` on the same files. ``spec.bbox`` None: taken from the data."""

    def say(msg: str) -> None:
        if progress is not None:
            progress(msg)

    out.mkdir(parents=True, exist_ok=True)
    work = work if work is not None else out / "_work"
    _clear(work)
    shutil.rmtree(out / "tracks", ignore_errors=True)
    paths = list(paths)
    rows = [estimate_rows(p) for p in paths]
    n = partitions or max(1, math.ceil(sum(rows) / ROWS_PER_PARTITION))
    seconds: dict[str, float] = {}
    groups = [[paths[i] for i in b] for b in batches(rows, batch_rows)]

    say(f"split {len(paths)} files ({len(groups)} batches) into {n} partitions")
    t0 = time.perf_counter()
    futs = client.map(
        split_files,
        range(len(groups)),
        groups,
        [n] * len(groups),
        [work] * len(groups),
        pure=False,
    )
    split = _gather(client, futs, "a batch of input files", "split the archive into smaller files")
    seconds["split"] = time.perf_counter() - t0

    problems = ProblemLog()
    notes: dict[str, int] = {}
    layouts: dict[str, str] = {}
    ids_are_mmsi = True
    boxes = []
    for s in split:
        problems.merge(s["problems"])
        for key, v in s["notes"].items():
            notes[key] = notes.get(key, 0) + v
        layouts.update(s["layouts"])
        ids_are_mmsi = ids_are_mmsi and s["ids_are_mmsi"]
        if s["bbox"] is not None:
            boxes.append(s["bbox"])
    if spec.bbox is None and boxes:
        b = np.asarray(boxes, dtype=np.float64)
        spec = replace(
            spec,
            bbox=(
                float(b[:, 0].min()),
                float(b[:, 1].min()),
                float(b[:, 2].max()),
                float(b[:, 3].max()),
            ),
        )
    quality = QualityReport(layouts=layouts)
    cfg = config
    if not ids_are_mmsi and cfg.clean.check_mmsi:  # as run_batch
        cfg = replace(cfg, clean=replace(cfg.clean, check_mmsi=False))
        quality.notes.append(
            "vessel ids are not MMSIs in some inputs (layout "
            + ", ".join(sorted(set(layouts.values())))
            + "): MMSI check skipped, flags unknown"
        )
    from collections import Counter

    quality.add_ingest(problems, Counter(notes))
    unknown = set(problems.counts) - set(MALFORMED)
    if unknown:
        quality.notes.append("unparsable values by column: " + ", ".join(sorted(unknown)))

    say(f"clean and detect {n} partitions")
    t0 = time.perf_counter()
    det_f = client.scatter(detections, broadcast=True) if detections is not None else None
    futs = client.map(
        detect_one,
        range(n),
        [work] * n,
        [out] * n,
        [spec] * n,
        [cfg] * n,
        [now_ms] * n,
        [det_f] * n,
        pure=False,
    )
    parts = _gather(client, futs, "a partition", f"give more --partitions than {n}")
    seconds["detect"] = time.perf_counter() - t0

    say("pair vessels day by day")
    t0 = time.perf_counter()
    days = sorted({c for p in parts for c in p["chunks"]})
    buckets = n
    futs = client.map(
        pair_day, days, [work] * len(days), [cfg] * len(days), [buckets] * len(days), pure=False
    )
    pair_rows = sum(client.gather(futs))
    futs = client.map(
        encounters_of,
        range(buckets),
        [work] * buckets,
        [spec] * buckets,
        [cfg] * buckets,
        pure=False,
    )
    events: list[Event] = [e for p in parts for e in p["events"]]
    for evs in client.gather(futs):
        events += evs
    seconds["encounters"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    imo = pl.concat([p["imo"] for p in parts])
    changes = imo_changes(imo)
    by_part: dict[int, list[dict[str, object]]] = {}
    if changes:
        where = pl.DataFrame({"mmsi": [c["mmsi"] for c in changes]}).select(
            partition_of(pl.col("mmsi"), n)
        )
        for c, k in zip(changes, where.to_series().to_list(), strict=True):
            by_part.setdefault(int(k), []).append(c)
    futs = [client.submit(locate_in, k, out, ch, pure=False) for k, ch in sorted(by_part.items())]
    for evs in client.gather(futs):
        events += evs
    geo_notes = client.submit(_geo_notes, spec, pure=False).result()
    if detections is not None and detections.height:
        best_d, best_m = nearest_overall([p["nearest"] for p in parts])
        dark, _ = decide_detections(detections, best_d, best_m, cfg.dark)
        events += dark
    last_t = max((p["last_t_ms"] for p in parts), default=0)
    events = combine(events, last_t)
    latest = pl.concat([p["latest"] for p in parts])
    frame = events_frame(events, latest=latest)
    merge_quality([p["quality"] for p in parts], quality)
    quality.notes.extend(geo_notes)
    seconds["combine"] = time.perf_counter() - t0
    peaks = client.run(peak_rss)
    if not keep_work:
        _clear(work)
        with contextlib.suppress(OSError):
            work.rmdir()  # only if nothing else is in it: --work may name a shared directory
    say(
        f"{sum(s['rows'] for s in split)} positions, "
        f"{sum(p['grid_points'] for p in parts)} slow grid points, {pair_rows} close pairs"
    )
    return ArchiveResult(
        events=frame,
        quality=quality,
        files=len(paths),
        batches=len(groups),
        partitions=n,
        positions=sum(s["rows"] for s in split),
        seconds=seconds,
        worker_peak_rss=dict(peaks),
    )


WORK_SUBDIRS = ("pos", "st", "grid", "pairs")


def _clear(work: Path) -> None:
    """Remove this run's scratch (and nothing else a user keeps in ``work``)."""
    for sub in WORK_SUBDIRS:
        shutil.rmtree(work / sub, ignore_errors=True)


def _gather(client: Any, futs: Any, what: str, fix: str) -> Any:
    """Results of ``futs``; a worker killed over and over (out of memory) becomes a typed
    error saying what to change."""
    from distributed import KilledWorker

    try:
        return client.gather(futs)
    except KilledWorker as err:
        raise MaritimeInputError(
            f"{what} did not fit in a worker's memory (the worker was killed: {err}); "
            f"{fix}, or raise the workers' memory limit"
        ) from None


def _geo_notes(spec: GeoSpec) -> list[str]:
    """The notes ``detect_all`` adds (geography used, rules not applied)."""
    geo = _geography(spec)
    notes = list(geo.notes)
    if geo.ports is None:
        notes.append("no ports given: port visits not detected, encounters not port-filtered")
    if geo.shore_m is None:
        notes.append("no shoreline given: loitering and gap shore-distance rules not applied")
    return notes
