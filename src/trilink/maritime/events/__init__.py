"""Event detection over cleaned tracks (ARCHITECTURE §7): one call runs every detector.

``detect_all`` is pure: positions, statics and the geography come in as arguments, a list of
``Event`` comes out, ordered by start time. ``events_frame`` turns them into the polars table
the outputs and reports are built from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from trilink.maritime.config import MaritimeConfig
from trilink.maritime.events.base import EVENT_TYPES, Event, Tracks
from trilink.maritime.events.behaviour import detect_gaps, detect_loitering
from trilink.maritime.events.context import Ports, ShoreDistance, Zone
from trilink.maritime.events.dark import Match, match_detections
from trilink.maritime.events.encounter import closest_approach, detect_encounters
from trilink.maritime.events.identity import detect_identity_changes
from trilink.maritime.events.ports import detect_port_visits
from trilink.maritime.events.zones import detect_zone_events
from trilink.maritime.tables import TS, latest_statics

__all__ = [
    "EVENT_TYPES",
    "Event",
    "Geography",
    "Tracks",
    "closest_approach",
    "detect_all",
    "event_order",
    "events_frame",
    "zone_vessels",
]


@dataclass
class Geography:
    ports: Ports | None = None
    shore_m: ShoreDistance | None = None
    zones: Sequence[Zone] = ()
    aois: Sequence[Any] = ()
    notes: list[str] = field(default_factory=list)


@dataclass
class Detection:
    events: list[Event]
    matches: list[Match]
    notes: list[str]


def detect_all(
    positions: pl.DataFrame,
    statics: pl.DataFrame,
    geo: Geography,
    config: MaritimeConfig,
    detections: pl.DataFrame | None = None,
) -> Detection:
    """Run every detector on cleaned positions (sorted by mmsi, time)."""
    tracks = Tracks.from_frame(positions)
    notes = list(geo.notes)
    events: list[Event] = []
    events += detect_encounters(tracks, config.encounter, geo.ports)
    events += detect_loitering(tracks, config.loitering, geo.shore_m)
    events += detect_gaps(tracks, config.gap, geo.shore_m, geo.aois)
    if geo.ports is not None:
        events += detect_port_visits(tracks, config.port_visit, geo.ports)
    else:
        notes.append("no ports given: port visits not detected, encounters not port-filtered")
    if geo.shore_m is None:
        notes.append("no shoreline given: loitering and gap shore-distance rules not applied")
    if geo.zones:
        vessels = zone_vessels(tracks, statics)
        events += detect_zone_events(tracks, geo.zones, config.zones, vessels, geo.ports)
    matches: list[Match] = []
    if detections is not None and detections.height:
        dark, matches = match_detections(tracks, detections, config.dark)
        events += dark
    events += detect_identity_changes(statics, positions)
    events.sort(key=event_order)
    return Detection(events, matches, notes)


def event_order(e: Event) -> tuple[int, str, int, int, int, str]:
    """Order of events in every output: by start, type, vessel, other vessel, end, details
    (total, so a run split by vessel lists its events in exactly the same order)."""
    return (
        e.start_ms,
        e.type,
        e.mmsi or 0,
        e.other_mmsi or 0,
        e.end_ms,
        json.dumps(e.details, sort_keys=True, default=str),
    )


def zone_vessels(tracks: Tracks, statics: pl.DataFrame) -> pl.DataFrame:
    """One row per vessel of ``tracks``: latest statics, flag falling back to the MID."""
    from trilink.maritime.flags import flag_from_mmsi_expr

    all_mmsi = pl.DataFrame({"mmsi": tracks.mmsi[tracks.first_index]}, schema={"mmsi": pl.Int64})
    return all_mmsi.join(
        latest_statics(statics.drop("_order", strict=False)), on="mmsi", how="left"
    ).with_columns(pl.coalesce(pl.col("flag"), flag_from_mmsi_expr(pl.col("mmsi"))).alias("flag"))


EVENT_COLUMNS = (
    "type",
    "start",
    "end",
    "mmsi",
    "other_mmsi",
    "lat",
    "lon",
    "duration_h",
    "name",
    "flag",
    "other_name",
    "details",
)


def events_frame(
    events: Sequence[Event],
    statics: pl.DataFrame | None = None,
    *,
    latest: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Events as a table with vessel names/flags attached and details as JSON text.

    Names come from ``statics`` (the history) or, already reduced to one row per MMSI by
    ``latest_statics``, from ``latest``."""
    df = pl.DataFrame(
        {
            "type": [e.type for e in events],
            "start_ms": [e.start_ms for e in events],
            "end_ms": [e.end_ms for e in events],
            "mmsi": [e.mmsi for e in events],
            "other_mmsi": [e.other_mmsi for e in events],
            "lat": [e.lat for e in events],
            "lon": [e.lon for e in events],
            "details": [json.dumps(e.details, sort_keys=True, default=str) for e in events],
        },
        schema={
            "type": pl.String,
            "start_ms": pl.Int64,
            "end_ms": pl.Int64,
            "mmsi": pl.Int64,
            "other_mmsi": pl.Int64,
            "lat": pl.Float64,
            "lon": pl.Float64,
            "details": pl.String,
        },
    ).with_columns(
        pl.col("start_ms").cast(TS).alias("start"),
        pl.col("end_ms").cast(TS).alias("end"),
        ((pl.col("end_ms") - pl.col("start_ms")) / 3_600_000).round(3).alias("duration_h"),
        pl.col("lat").fill_nan(None),
        pl.col("lon").fill_nan(None),
    )
    from trilink.maritime.flags import flag_from_mmsi_expr

    st = latest if latest is not None else latest_statics(statics) if statics is not None else None
    if st is not None and st.height:
        names = st.select("mmsi", "name", "flag")
        df = df.join(names, on="mmsi", how="left").join(
            names.select("mmsi", pl.col("name").alias("other_name")),
            left_on="other_mmsi",
            right_on="mmsi",
            how="left",
        )
    else:
        df = df.with_columns(
            pl.lit(None, pl.String).alias("name"),
            pl.lit(None, pl.String).alias("flag"),
            pl.lit(None, pl.String).alias("other_name"),
        )
    df = df.with_columns(
        pl.coalesce(pl.col("flag"), flag_from_mmsi_expr(pl.col("mmsi"))).alias("flag")
    )
    return df.select(list(EVENT_COLUMNS))
