"""Identity changes: same MMSI with a new name / IMO / flag, or one IMO under a new MMSI.

Works on the static-data history (one row per static report, in time order). Names are
compared after upper-casing and collapsing spaces so AIS padding is not a "change".
"""

from __future__ import annotations

import polars as pl

from trilink.maritime.events.base import Event
from trilink.maritime.tables import TS


def detect_identity_changes(statics: pl.DataFrame, positions: pl.DataFrame) -> list[Event]:
    """``positions`` (cleaned) gives each change a location: the vessel's fix nearest in time."""
    if statics.height == 0:
        return []
    st = (
        statics.with_row_index("_order")
        .with_columns(
            pl.col("name").str.to_uppercase().str.replace_all(r"\s+", " ").str.strip_chars(),
        )
        .sort("mmsi", "timestamp", "_order", nulls_last=False)
    )
    changes: list[dict[str, object]] = []
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
    by_imo = (
        st.filter(pl.col("imo").is_not_null())
        .group_by("imo", "mmsi")
        .agg(pl.col("timestamp").min().alias("t"), pl.col("_order").min().alias("o"))
        .sort("imo", "t", "o", nulls_last=False)
        .with_columns(pl.col("mmsi").shift(1).over("imo").alias("_prev"))
    )
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
