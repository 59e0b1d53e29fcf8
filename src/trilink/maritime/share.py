"""Engine results as report payloads (pure): events as ``maritime.event``, cleaned tracks as
``maritime.track`` for the common picture.

A vessel's track is thinned to at most ``max_points`` positions, evenly in time, always
keeping the newest fix, so a report stays small however long the vessel was watched.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def track_payloads(
    tracks: pl.DataFrame, *, max_points: int = 120, source: str = ""
) -> list[dict[str, Any]]:
    """One payload per MMSI of ``tracks`` (the cleaned positions of a run)."""
    if tracks.height == 0:
        return []
    frame = tracks.sort(["mmsi", "timestamp"]).with_columns(
        pl.col("timestamp").dt.epoch("ms").alias("t_ms")
    )
    out: list[dict[str, Any]] = []
    for (mmsi,), group in frame.group_by(["mmsi"], maintain_order=True):
        n = group.height
        keep = np.unique(np.linspace(0, n - 1, min(n, max_points)).round().astype(int))
        thin = group[keep.tolist()]
        last = group.row(n - 1, named=True)
        payload: dict[str, Any] = {
            "mmsi": int(mmsi),
            "start": _iso(int(group.get_column("t_ms")[0])),
            "end": _iso(int(last["t_ms"])),
            "lat": round(float(last["lat"]), 6),
            "lon": round(float(last["lon"]), 6),
            "track": [
                [round(float(lon), 5), round(float(lat), 5)]
                for lon, lat in zip(thin.get_column("lon"), thin.get_column("lat"), strict=True)
            ],
            "positions_total": n,
            "source": source,
        }
        for key in ("name", "imo", "callsign", "flag", "ship_type", "sog_kn", "cog_deg"):
            value = _clean(last.get(key))
            if value is not None and value != "":
                payload[key] = str(value) if key == "imo" else value
        if "ship_type" in payload:
            payload["ship_type"] = int(payload["ship_type"])
        out.append(payload)
    return out


def event_payloads(events: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows of events.csv as ``maritime.event`` payloads (no NaN, ISO-8601 UTC times)."""
    out = []
    for r in events.with_columns(
        pl.col("start").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
        pl.col("end").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
    ).iter_rows(named=True):
        details = {
            k: v
            for k, v in json.loads(r["details"] or "{}").items()
            if isinstance(v, str | int | float | bool) or v is None
        }
        details = {k: v for k, v in details.items() if not (isinstance(v, float) and v != v)}
        payload = {
            k: r[k]
            for k in (
                "type",
                "start",
                "end",
                "mmsi",
                "other_mmsi",
                "lat",
                "lon",
                "name",
                "flag",
                "other_name",
                "duration_h",
            )
        }
        payload["details"] = details
        payload = {k: v for k, v in payload.items() if v is not None}
        out.append(payload)
    return out
