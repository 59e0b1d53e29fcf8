"""Cleaned tracks as ``maritime.track`` payloads for the common picture (pure).

A vessel's track is thinned to at most ``max_points`` positions, evenly in time, always
keeping the newest fix, so a report stays small however long the vessel was watched.
"""

from __future__ import annotations

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
