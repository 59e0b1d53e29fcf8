"""Two-vessel events: encounters (rendezvous / ship-to-ship transfer) and closest approach.

Encounters follow Global Fishing Watch's method: every slow vessel track is resampled onto a
common 10-minute grid (linear interpolation across silences ≤ 1 h), all slow grid points are
put in one KD-tree with time as a far-apart fourth axis so only same-time points can pair,
pairs within the distance are confirmed with WGS-84 geodesics, and runs of consecutive paired
bins lasting ≥ 2 h become events unless they happen near a port.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from pyproj import CRS, Transformer
from scipy.spatial import cKDTree

from trilink.maritime.config import EncounterConfig
from trilink.maritime.events.base import Event, Tracks
from trilink.maritime.events.context import Ports
from trilink.maritime.geodesy import ecef_unit_m, geodesic_m


def resample(
    tracks: Tracks, step_ms: int, max_gap_ms: int, max_speed_kn: float
) -> tuple[np.ndarray, ...]:
    """Grid points (vessel row, bin, lat, lon, speed) of the slow parts of every track.

    A grid time g lies in segment i when t[i] <= g < t[i+1] (same vessel, gap ≤ max_gap);
    the last fix of a track contributes when it sits exactly on the grid.
    """
    t = tracks.t_ms
    n = tracks.size
    empty = (np.empty(0, np.int64),) * 2 + (np.empty(0),) * 3
    if n < 2:
        return empty
    ok = tracks.same_vessel_next() & ((t[1:] - t[:-1]) <= max_gap_ms)
    # Both ends slow: a transfer needs both ships nearly stopped.
    spd = np.nan_to_num(tracks.speed_kn, nan=np.inf)
    ok &= (spd[:-1] < max_speed_kn) & (spd[1:] < max_speed_kn)
    seg = np.flatnonzero(ok)
    first_bin = -(-t[seg] // step_ms)  # ceil
    end_bin = -(-t[seg + 1] // step_ms)  # bins strictly before t[i+1]
    count = np.maximum(end_bin - first_bin, 0)
    total = int(count.sum())
    if total == 0 and not (t % step_ms == 0).any():
        return empty
    seg_rep = np.repeat(seg, count)
    offs = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    bins = np.repeat(first_bin, count) + offs
    g = bins * step_ms
    t0, t1 = t[seg_rep], t[seg_rep + 1]
    f = (g - t0) / np.maximum(t1 - t0, 1)
    lat = tracks.lat[seg_rep] + f * (tracks.lat[seg_rep + 1] - tracks.lat[seg_rep])
    dlon = ((tracks.lon[seg_rep + 1] - tracks.lon[seg_rep] + 540.0) % 360.0) - 180.0
    lon = ((tracks.lon[seg_rep] + f * dlon + 540.0) % 360.0) - 180.0
    speed = spd[seg_rep] + f * (spd[seg_rep + 1] - spd[seg_rep])
    # A track's newest fix lying exactly on the grid is a grid point too: on a live feed the
    # rule is then met with that fix, not only when the next one arrives.
    last = np.flatnonzero(np.append(tracks.start[1:], True))
    last = last[(t[last] % step_ms == 0) & (spd[last] < max_speed_kn)]
    if last.size:
        seg_rep = np.concatenate((seg_rep, last))
        bins = np.concatenate((bins, t[last] // step_ms))
        lat = np.concatenate((lat, tracks.lat[last]))
        lon = np.concatenate((lon, tracks.lon[last]))
        speed = np.concatenate((speed, spd[last]))
    return seg_rep, bins, lat, lon, speed


def detect_encounters(
    tracks: Tracks, cfg: EncounterConfig, ports: Ports | None = None
) -> list[Event]:
    grid = grid_points(tracks, cfg)
    return encounter_events(close_pairs(grid, cfg), cfg, ports)


def grid_points(tracks: Tracks, cfg: EncounterConfig) -> pl.DataFrame:
    """The slow grid points of every track (``mmsi, bin, lat, lon, speed``): all an
    encounter needs from one vessel. Each vessel has at most one point per bin."""
    step = int(cfg.resample_min * 60_000)
    row, bins, lat, lon, speed = resample(
        tracks, step, int(cfg.max_interp_gap_h * 3_600_000), cfg.max_speed_kn
    )
    return pl.DataFrame(
        {"mmsi": tracks.mmsi[row], "bin": bins, "lat": lat, "lon": lon, "speed": speed},
        schema=GRID_SCHEMA,
    )


GRID_SCHEMA = {
    "mmsi": pl.Int64,
    "bin": pl.Int64,
    "lat": pl.Float64,
    "lon": pl.Float64,
    "speed": pl.Float64,
}
PAIR_SCHEMA = {
    "a": pl.Int64,
    "b": pl.Int64,
    "bin": pl.Int64,
    "d": pl.Float64,
    "lat": pl.Float64,
    "lon": pl.Float64,
    "sa": pl.Float64,
    "sb": pl.Float64,
}


def close_pairs(grid: pl.DataFrame, cfg: EncounterConfig) -> pl.DataFrame:
    """Same-bin grid points of two vessels within ``max_distance_m`` (geodesic): one row per
    (a, b, bin) with ``a`` the lower MMSI, measured from a to b.

    Only points of the same bin pair, so any split of the grid by bin gives the same rows.
    """
    empty = pl.DataFrame(schema=PAIR_SCHEMA)
    if grid.height < 2:
        return empty
    mmsi = grid.get_column("mmsi").to_numpy()
    bins = grid.get_column("bin").to_numpy()
    lat = grid.get_column("lat").to_numpy()
    lon = grid.get_column("lon").to_numpy()
    speed = grid.get_column("speed").to_numpy()
    xyz = ecef_unit_m(lon, lat)
    # Time as a 4th axis spaced far beyond the search radius: only same-bin points pair.
    pts = np.column_stack((xyz, (bins - bins.min()).astype(np.float64) * 1e7))
    tree = cKDTree(pts)
    pairs = tree.query_pairs(cfg.max_distance_m * 1.01, output_type="ndarray")
    if not pairs.size:
        return empty
    a, b = pairs[:, 0], pairs[:, 1]
    two = mmsi[a] != mmsi[b]
    a, b = a[two], b[two]
    # Orient every pair from the lower MMSI: the result does not depend on point order.
    swap = mmsi[a] > mmsi[b]
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    d = geodesic_m(lon[a], lat[a], lon[b], lat[b])
    close = d <= cfg.max_distance_m
    a, b, d = a[close], b[close], d[close]
    return pl.DataFrame(
        {
            "a": mmsi[a],
            "b": mmsi[b],
            "bin": bins[a],
            "d": d,
            "lat": (lat[a] + lat[b]) / 2,
            "lon": (lon[a] + lon[b]) / 2,
            "sa": speed[a],
            "sb": speed[b],
        },
        schema=PAIR_SCHEMA,
    )


def encounter_events(
    pairs: pl.DataFrame, cfg: EncounterConfig, ports: Ports | None = None
) -> list[Event]:
    """Runs of consecutive paired bins of one vessel pair lasting ≥ ``min_duration_h``,
    away from ports. Needs every row of a pair (any split by pair gives the same events)."""
    if not pairs.height:
        return []
    step = int(cfg.resample_min * 60_000)
    df = pairs.unique(subset=["a", "b", "bin"], keep="first").sort("a", "b", "bin")
    new_run = (
        (pl.col("a") != pl.col("a").shift(1))
        | (pl.col("b") != pl.col("b").shift(1))
        | (pl.col("bin") - pl.col("bin").shift(1) > cfg.max_bin_gap + 1)
    ).fill_null(True)
    agg = (
        df.with_columns(new_run.cum_sum().alias("run"))
        .group_by("run", maintain_order=True)
        .agg(
            pl.col("a").first(),
            pl.col("b").first(),
            pl.col("bin").min().alias("b0"),
            pl.col("bin").max().alias("b1"),
            pl.col("d").min().alias("min_d"),
            pl.col("d").median().alias("med_d"),
            pl.col("lat").median(),
            pl.col("lon").median(),
            ((pl.col("sa") + pl.col("sb")) / 2).mean().alias("avg_speed"),
            pl.len().alias("bins"),
        )
        .filter((pl.col("b1") - pl.col("b0")) * step >= cfg.min_duration_h * 3_600_000)
    )
    if not agg.height:
        return []
    elat = agg.get_column("lat").to_numpy()
    elon = agg.get_column("lon").to_numpy()
    port_km = np.full(agg.height, np.inf)
    port_name: list[str | None] = [None] * agg.height
    if ports is not None:
        port_km, pidx = ports.nearest(elon, elat, max_km=max(cfg.min_port_distance_km, 1.0))
        port_name = [ports.names[i] if i >= 0 else None for i in pidx.tolist()]
    events = []
    for k, r in enumerate(agg.iter_rows(named=True)):
        if port_km[k] < cfg.min_port_distance_km:
            continue
        details = {
            "duration_h": round((r["b1"] - r["b0"]) * step / 3_600_000, 3),
            "min_distance_m": round(float(r["min_d"]), 1),
            "median_distance_m": round(float(r["med_d"]), 1),
            "avg_speed_kn": round(float(r["avg_speed"]), 3),
            "bins": int(r["bins"]),
        }
        if np.isfinite(port_km[k]):
            details["nearest_port"] = port_name[k]
            details["port_distance_km"] = round(float(port_km[k]), 2)
        events.append(
            Event(
                "encounter",
                int(r["b0"]) * step,
                int(r["b1"]) * step,
                int(r["a"]),
                float(r["lat"]),
                float(r["lon"]),
                other_mmsi=int(r["b"]),
                details=details,
            )
        )
    return events


def utm_crs(lon: float, lat: float) -> CRS:
    """The UTM zone CRS containing a point (a conformal local projection, < 0.1 % scale)."""
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def closest_approach(
    t_a_ms: np.ndarray,
    lon_a: np.ndarray,
    lat_a: np.ndarray,
    t_b_ms: np.ndarray,
    lon_b: np.ndarray,
    lat_b: np.ndarray,
) -> tuple[float, int]:
    """Closest point of approach of two tracks over their common time span.

    Both tracks are linear between fixes in the UTM zone of their mean position; between
    consecutive fix times of either ship the separation is linear in time, so the minimum is
    found exactly per interval. Returns (distance_m, time_ms); (inf, -1) if no overlap.
    """
    mid_lon = float(np.mean(np.concatenate((lon_a, lon_b))))
    mid_lat = float(np.mean(np.concatenate((lat_a, lat_b))))
    fwd = Transformer.from_crs("EPSG:4326", utm_crs(mid_lon, mid_lat), always_xy=True)
    xa, ya = fwd.transform(np.asarray(lon_a, float), np.asarray(lat_a, float))
    xb, yb = fwd.transform(np.asarray(lon_b, float), np.asarray(lat_b, float))
    ta = np.asarray(t_a_ms, np.float64)
    tb = np.asarray(t_b_ms, np.float64)
    lo, hi = max(ta[0], tb[0]), min(ta[-1], tb[-1])
    ts = np.union1d(ta, tb)
    ts = ts[(ts >= lo) & (ts <= hi)]
    if not ts.size:
        return float("inf"), -1
    dx = np.interp(ts, tb, xb) - np.interp(ts, ta, xa)
    dy = np.interp(ts, tb, yb) - np.interp(ts, ta, ya)
    dist = np.hypot(dx, dy)
    k = int(np.argmin(dist))
    best, best_t = float(dist[k]), float(ts[k])
    vx, vy = np.diff(dx), np.diff(dy)
    vv = vx * vx + vy * vy
    with np.errstate(invalid="ignore", divide="ignore"):
        s = -(dx[:-1] * vx + dy[:-1] * vy) / vv
    inner = np.flatnonzero((vv > 0) & (s > 0) & (s < 1))
    if inner.size:
        d_in = np.hypot(dx[inner] + s[inner] * vx[inner], dy[inner] + s[inner] * vy[inner])
        j = int(np.argmin(d_in))
        if d_in[j] < best:
            i = inner[j]
            best = float(d_in[j])
            best_t = float(ts[i] + s[i] * (ts[i + 1] - ts[i]))
    return best, int(round(best_t))
