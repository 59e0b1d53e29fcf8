"""Single-vessel behaviour events: loitering and AIS gaps ("going dark").

Both are vectorised over all vessels at once: conditions are evaluated on the segments
between consecutive fixes, runs of true segments are found with one diff, and the expensive
geography (distance from shore, areas of interest) is looked up only for the few candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely

from trilink.maritime.config import GapConfig, LoiterConfig
from trilink.maritime.events.base import Event, Tracks, runs
from trilink.maritime.events.context import ShoreDistance
from trilink.maritime.geodesy import NM_M, haversine_arr

_H_MS = 3_600_000.0


def detect_loitering(
    tracks: Tracks, cfg: LoiterConfig, shore_m: ShoreDistance | None = None
) -> list[Event]:
    """Runs of fixes slower than ``max_speed_kn`` lasting ≥ ``min_duration_h``, far from shore."""
    n = tracks.size
    if n < 2:
        return []
    t, spd = tracks.t_ms, tracks.speed_kn
    slow_pt = spd < cfg.max_speed_kn  # NaN speed (lone fix) is not slow
    seg = (
        tracks.same_vessel_next()
        & slow_pt[:-1]
        & slow_pt[1:]
        & ((t[1:] - t[:-1]) <= cfg.max_point_gap_h * _H_MS)
    )
    s, e = runs(seg)  # segment run [s, e) covers fixes s .. e
    dur_ms = t[e] - t[s]
    keep = dur_ms >= cfg.min_duration_h * _H_MS
    s, e = s[keep], e[keep]
    if not s.size:
        return []
    # Only the few long runs are summarised, one slice each (no full-length temporaries).
    cnt = (e - s + 1).astype(np.float64)
    lat_c = np.array([tracks.lat[a : b + 1].mean() for a, b in zip(s, e, strict=True)])
    lon_c = np.array([tracks.lon[a : b + 1].mean() for a, b in zip(s, e, strict=True)])
    dist_nm = np.array([tracks.seg_len_m[a:b].sum() for a, b in zip(s, e, strict=True)]) / NM_M
    shore_nm = (shore_m(lon_c, lat_c) / NM_M) if shore_m is not None else np.full(s.size, np.nan)
    events = []
    for k in range(s.size):
        if shore_m is not None and shore_nm[k] < cfg.min_shore_distance_nm:  # NaN: unknown
            continue
        hours = float(t[e[k]] - t[s[k]]) / _H_MS
        details: dict[str, Any] = {
            "duration_h": round(hours, 3),
            "distance_nm": round(float(dist_nm[k]), 3),
            "avg_speed_kn": round(float(dist_nm[k]) / hours, 3) if hours > 0 else 0.0,
            "fixes": int(cnt[k]),
        }
        if shore_m is not None and np.isfinite(shore_nm[k]):
            details["shore_distance_nm"] = round(float(shore_nm[k]), 2)
        events.append(
            Event(
                "loitering",
                int(t[s[k]]),
                int(t[e[k]]),
                int(tracks.mmsi[s[k]]),
                float(lat_c[k]),
                float(lon_c[k]),
                details=details,
            )
        )
    return events


def detect_gaps(
    tracks: Tracks, cfg: GapConfig, shore_m: ShoreDistance | None = None, aois: Sequence[Any] = ()
) -> list[Event]:
    """Silences ≥ ``min_gap_h`` starting and ending ≥ ``min_shore_distance_nm`` off shore,
    or ≥ ``aoi_min_gap_h`` when either end is inside an area of interest."""
    n = tracks.size
    if n < 2:
        return []
    t = tracks.t_ms
    dt = (t[1:] - t[:-1]).astype(np.float64)
    threshold = min(cfg.min_gap_h, cfg.aoi_min_gap_h if aois else cfg.min_gap_h)
    cand = np.flatnonzero(tracks.same_vessel_next() & (dt >= threshold * _H_MS))
    if not cand.size:
        return []
    i0, i1 = cand, cand + 1
    lon = np.concatenate((tracks.lon[i0], tracks.lon[i1]))
    lat = np.concatenate((tracks.lat[i0], tracks.lat[i1]))
    in_aoi = np.zeros(lon.size, dtype=bool)
    for geom in aois:
        in_aoi |= shapely.contains_xy(geom, lon, lat)
    aoi_any = in_aoi[: cand.size] | in_aoi[cand.size :]
    long_gap = dt[cand] >= cfg.min_gap_h * _H_MS
    need_shore = long_gap & ~aoi_any
    shore_nm = np.full(lon.size, np.nan)
    if shore_m is not None and need_shore.any():
        sel = np.concatenate((need_shore, need_shore))
        shore_nm[sel] = shore_m(lon[sel], lat[sel]) / NM_M
    # NaN = no coast data there: the shore rule cannot be applied, so it does not veto
    ok_nm = np.isnan(shore_nm) | (shore_nm >= cfg.min_shore_distance_nm)
    far = ok_nm[: cand.size] & ok_nm[cand.size :]

    if shore_m is None:
        far = np.ones(cand.size, dtype=bool)
    is_event = (long_gap & far) | (aoi_any & (dt[cand] >= cfg.aoi_min_gap_h * _H_MS))
    dist_km = haversine_arr(tracks.lon[i0], tracks.lat[i0], tracks.lon[i1], tracks.lat[i1]) / 1e3
    events = []
    for k in np.flatnonzero(is_event):
        hours = float(dt[cand[k]]) / _H_MS
        details: dict[str, Any] = {
            "gap_h": round(hours, 3),
            "end_lat": float(tracks.lat[i1[k]]),
            "end_lon": float(tracks.lon[i1[k]]),
            "distance_km": round(float(dist_km[k]), 3),
            "implied_speed_kn": round(float(dist_km[k]) * 1000 / NM_M / hours, 3),
            "in_area_of_interest": bool(aoi_any[k]),
        }
        for key, value in (
            ("start_shore_distance_nm", shore_nm[k]),
            ("end_shore_distance_nm", shore_nm[cand.size + k]),
        ):
            if np.isfinite(value):
                details[key] = round(float(value), 2)
        events.append(
            Event(
                "gap",
                int(t[i0[k]]),
                int(t[i1[k]]),
                int(tracks.mmsi[i0[k]]),
                float(tracks.lat[i0[k]]),
                float(tracks.lon[i0[k]]),
                details=details,
            )
        )
    return events
