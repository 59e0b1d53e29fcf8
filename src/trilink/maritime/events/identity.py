"""Identity changes: same MMSI with a new name / IMO / flag, or one IMO under a new MMSI.

Works on the static-data history (one row per static report, in time order). Names are
compared after upper-casing and collapsing spaces so AIS padding is not a "change".
"""

from __future__ import annotations

import polars as pl

from trilink.maritime.events.base import Event
from trilink.maritime.tables import TS

Change = dict[str, object]


def detect_identity_changes(statics: pl.DataFrame, positions: pl.DataFrame) -> list[Event]:
    """``positions`` (cleaned) gives each change a location: the vessel's fix nearest in time."""
    if statics.height == 0:
        return []
    st = prepare_statics(statics)
    return locate_changes(field_changes(st) + imo_changes(imo_firsts(st)), positions)


def prepare_statics(statics: pl.DataFrame) -> pl.DataFrame:
    """Normalised names, sorted by (mmsi, time, arrival). Arrival is the ``_order`` column
    when the caller gives one (an archive split by vessel keeps the archive's order), else
    the row order."""
    if "_order" not in statics.columns:
        statics = statics.with_row_index("_order")
    return statics.with_columns(
        pl.col("_order").cast(pl.Int64),
        pl.col("name").str.to_uppercase().str.replace_all(r"\s+", " ").str.strip_chars(),
    ).sort("mmsi", "timestamp", "_order", nulls_last=False)


def field_changes(st: pl.DataFrame) -> list[Change]:
    """A new name, IMO or flag under one MMSI (needs only that vessel's statics)."""
    changes: list[Change] = []
    for fld in ("name", "imo", "flag"):
        sub = st.filter(pl.col(fld).is_not_null()).select("mmsi", "timestamp", fld)
        sub = sub.with_columns(pl.col(fld).shift(1).over("mmsi").alias("_prev"))
        for r in sub.filter(
            pl.col("_prev").is_not_null() & (pl.col(fld) != pl.col("_prev"))
        ).iter_rows(named=True):
            changes.append(
                {
                    "mmsi": r["mmsi"],
                    "other": None,
                    "t": r["timestamp"],
                    "field": fld,
                    "old": str(r["_prev"]),
                    "new": str(r[fld]),
                }
            )
    return changes


def imo_firsts(st: pl.DataFrame) -> pl.DataFrame:
    """First time (and arrival) each (IMO, MMSI) was seen: one row per vessel and IMO, so
    the tables of vessel partitions concatenate to the whole archive's."""
    return (
        st.filter(pl.col("imo").is_not_null())
        .group_by("imo", "mmsi")
        .agg(pl.col("timestamp").min().alias("t"), pl.col("_order").min().alias("o"))
    )


def imo_changes(firsts: pl.DataFrame) -> list[Change]:
    """An IMO seen under a new MMSI (``other`` = the previous MMSI)."""
    by_imo = firsts.sort("imo", "t", "o", nulls_last=False).with_columns(
        pl.col("mmsi").shift(1).over("imo").alias("_prev")
    )
    changes: list[Change] = []
    for r in by_imo.filter(pl.col("_prev").is_not_null()).iter_rows(named=True):
        changes.append(
            {
                "mmsi": r["mmsi"],
                "other": r["_prev"],
                "t": r["t"],
                "field": "mmsi",
                "old": str(r["_prev"]),
                "new": str(r["mmsi"]),
                "imo": r["imo"],
            }
        )
    return changes


def locate_changes(changes: list[Change], positions: pl.DataFrame) -> list[Event]:
    """Events at each changed vessel's fix nearest in time (its last fix when untimed)."""
    if not changes:
        return []
    ch = pl.DataFrame(
        [{k: v for k, v in c.items() if k in ("mmsi", "t")} for c in changes],
        schema={"mmsi": pl.Int64, "t": TS},
    ).with_row_index("_k")
    located = {}
    if positions.height:
        pos = positions.select("mmsi", pl.col("timestamp").alias("t"), "lat", "lon").sort("t")
        timed = ch.filter(pl.col("t").is_not_null()).sort("t")
        if timed.height:
            joined = timed.join_asof(pos, on="t", by="mmsi", strategy="nearest")
            located = {r["_k"]: (r["lat"], r["lon"]) for r in joined.iter_rows(named=True)}
        last = pos.group_by("mmsi").agg(pl.col("lat").last(), pl.col("lon").last())
        last_map = {r["mmsi"]: (r["lat"], r["lon"]) for r in last.iter_rows(named=True)}
    else:
        last_map = {}
    events = []
    for k, c in enumerate(changes):
        lat, lon = located.get(k, (None, None))
        if lat is None:
            lat, lon = last_map.get(c["mmsi"], (float("nan"), float("nan")))
        t = c["t"]
        t_ms = int(t.timestamp() * 1000) if t is not None else 0  # type: ignore[attr-defined]
        details = {"field": c["field"], "old": c["old"], "new": c["new"]}
        if "imo" in c:
            details["imo"] = str(c["imo"])
        events.append(
            Event(
                "identity_change",
                t_ms,
                t_ms,
                int(c["mmsi"]),  # type: ignore[call-overload]
                float(lat),
                float(lon),
                other_mmsi=None if c["other"] is None else int(c["other"]),  # type: ignore[call-overload]
                details=details,
            )
        )
    return events
