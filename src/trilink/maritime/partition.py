"""A run split by vessel: the pure steps of a partitioned (Dask) archive run.

An archive too large for one machine's memory is cut into partitions by a hash of the MMSI,
so each vessel's whole track lies in one partition and every single-vessel rule (cleaning,
loitering, gaps, port visits, zones, a vessel's own identity changes) runs on one partition
as it would on the whole archive. What crosses partitions is handled by small tables:

- **encounters** (two vessels): each partition gives the slow 10-minute grid points of its
  vessels (``grid_points``). Only points of the same time bin can pair, so the points are
  regrouped by day (``time_chunk``) and paired per day (``close_pairs``); the pair rows are
  regrouped by vessel pair (``pair_bucket``) and each pair's runs become events
  (``encounter_events``) — a run crossing midnight is whole again there.
- **IMO under a new MMSI**: each partition gives the first time it saw each (IMO, MMSI);
  the driver concatenates these (one row per vessel) and finds the changes (``imo_changes``)
  which the owning partition then locates (``locate_changes``).
- **dark vessels**: each partition gives the nearest of its vessels to every detection
  (``nearest_vessels``); the driver keeps the nearest over partitions (``nearest_overall``).
- **open port visits**: "open at the end" means "ends at the archive's last fix";
  each partition only knows its own last fix, so ``combine`` corrects it with the global one.

Every function here is pure: tables in, tables out. Reading and writing the partitions and
running them on Dask is ``trilink.maritime.archive``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from trilink.maritime.clean import QualityReport, clean_positions
from trilink.maritime.config import MaritimeConfig
from trilink.maritime.events import Geography, Tracks, event_order, zone_vessels
from trilink.maritime.events.base import Event
from trilink.maritime.events.behaviour import detect_gaps, detect_loitering
from trilink.maritime.events.dark import nearest_vessels
from trilink.maritime.events.encounter import grid_points
from trilink.maritime.events.identity import (
    field_changes,
    imo_firsts,
    locate_changes,
    prepare_statics,
)
from trilink.maritime.events.ports import detect_port_visits
from trilink.maritime.events.zones import detect_zone_events
from trilink.maritime.tables import latest_statics

_MIX = 2654435761  # Knuth's multiplicative hash constant


def partition_of(mmsi: pl.Expr, partitions: int) -> pl.Expr:
    """Partition of each row by its MMSI (a null MMSI goes to partition 0, where cleaning
    counts it). Deterministic across processes and polars versions."""
    m = mmsi.fill_null(0).cast(pl.Int64) % 2_147_483_648
    return ((m * _MIX) % 2_147_483_648 % partitions).cast(pl.Int32)


def pair_bucket(a: pl.Expr, b: pl.Expr, buckets: int) -> pl.Expr:
    """Bucket of a vessel pair (every row of one pair lands in one bucket)."""
    return partition_of(a * 1_000_003 + b, buckets)


def time_chunk(bins: pl.Expr, cfg_resample_min: float) -> pl.Expr:
    """UTC day of a grid bin: grid points are paired one day at a time."""
    per_day = max(1, int(round(24 * 60 / cfg_resample_min)))
    return (bins // per_day).cast(pl.Int64)


@dataclass
class PartitionResult:
    """What one vessel partition hands on. ``tracks`` and ``grid`` are large (written to
    files by the edge); the rest is small and goes back to the driver."""

    tracks: pl.DataFrame  # cleaned positions, sorted by (mmsi, time)
    vessels: pl.DataFrame  # one row per MMSI of the partition: latest statics and flag
    grid: pl.DataFrame  # slow grid points for encounters
    events: list[Event]  # the partition's single-vessel events
    imo: pl.DataFrame  # first (IMO, MMSI) sightings
    latest: pl.DataFrame  # latest statics per MMSI (names for the events table)
    nearest: tuple[np.ndarray, np.ndarray] | None  # per detection (distance m, MMSI)
    quality: QualityReport
    last_t_ms: int  # newest cleaned fix of the partition (0 when empty)
    notes: list[str] = field(default_factory=list)


def detect_partition(
    positions: pl.DataFrame,
    statics: pl.DataFrame,
    geo: Geography,
    config: MaritimeConfig,
    *,
    now_ms: int,
    detections: pl.DataFrame | None = None,
) -> PartitionResult:
    """Clean and detect one partition (whole vessels, archive order kept within a vessel;
    ``statics`` may carry the archive-wide arrival order as ``_order``)."""
    from trilink.maritime.tables import vessel_table

    cleaned, quality = clean_positions(positions, config.clean, now_ms=now_ms)
    tracks = Tracks.from_frame(cleaned)
    events: list[Event] = []
    events += detect_loitering(tracks, config.loitering, geo.shore_m)
    events += detect_gaps(tracks, config.gap, geo.shore_m, geo.aois)
    if geo.ports is not None:
        events += detect_port_visits(tracks, config.port_visit, geo.ports)
    if geo.zones:
        vessels = zone_vessels(tracks, statics)
        events += detect_zone_events(tracks, geo.zones, config.zones, vessels, geo.ports)
    st = prepare_statics(statics)
    events += locate_changes(field_changes(st), cleaned)
    nearest = None
    if detections is not None and detections.height:
        nearest = nearest_vessels(tracks, detections, config.dark)
    return PartitionResult(
        tracks=cleaned,
        vessels=vessel_table(cleaned, statics.drop("_order", strict=False)),
        grid=grid_points(tracks, config.encounter),
        events=events,
        imo=imo_firsts(st),
        latest=latest_statics(statics.drop("_order", strict=False)),
        nearest=nearest,
        quality=quality,
        last_t_ms=tracks.last_t_ms,
    )


def nearest_overall(
    parts: Sequence[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """Per detection, the least (distance, MMSI) over the partitions' nearest vessels."""
    d = np.stack([p[0] for p in parts])
    m = np.stack([p[1] for p in parts])
    # No vessel (-1) only ever comes with an infinite distance, so it never wins a tie.
    m_key = np.where(m < 0, np.iinfo(np.int64).max, m)
    cols = np.arange(d.shape[1])
    best = np.lexsort((m_key, d), axis=0)[0]
    return d[best, cols], m[best, cols]


def merge_quality(reports: Sequence[QualityReport], into: QualityReport) -> QualityReport:
    """Sum the partitions' cleaning counts into ``into`` (which holds the ingest counts)."""
    firsts = [r.t_first for r in reports if r.t_first]
    lasts = [r.t_last for r in reports if r.t_last]
    for r in reports:
        into.input_rows += r.input_rows
        into.output_rows += r.output_rows
        into.vessels += r.vessels  # partitions hold disjoint vessels
        into.removed.update(r.removed)
        into.flagged.update(r.flagged)
    into.t_first = min(firsts) if firsts else None
    into.t_last = max(lasts) if lasts else None
    return into


def combine(events: list[Event], last_t_ms: int) -> list[Event]:
    """All partitions' events in the single run's order; port visits open at the end only
    if they end at the archive's newest fix (a partition knew only its own)."""
    for e in events:
        if e.type == "port_visit" and e.details.get("open_at_end") and e.end_ms != last_t_ms:
            e.details["open_at_end"] = False
    events.sort(key=event_order)
    return events
