"""Dark vessels: SAR/radar detections with no AIS vessel nearby at the detection time.

Each detection is compared with every vessel whose track brackets the detection time: the
track is interpolated linearly to that instant (silences up to ``max_interp_gap_h``), or its
nearest end fix is used when it lies within ``max_extrapolate_min``. The nearest vessel within
``max_distance_km`` (WGS-84 geodesic) matches; a detection nobody matches is a dark vessel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from trilink.maritime.config import DarkConfig
from trilink.maritime.events.base import Event, Tracks
from trilink.maritime.geodesy import KN_MS, geodesic_m
from trilink.maritime.tables import epoch_ms

MAX_SHIP_SPEED_KN = 40.0


@dataclass
class Match:
    detection: int
    mmsi: int | None
    distance_m: float


def match_detections(
    tracks: Tracks, detections: pl.DataFrame, cfg: DarkConfig
) -> tuple[list[Event], list[Match]]:
    """``detections``: columns timestamp, lat, lon and optionally length_m, id."""
    best_d, best_m = nearest_vessels(tracks, detections, cfg)
    return decide_detections(detections, best_d, best_m, cfg)


def nearest_vessels(
    tracks: Tracks, detections: pl.DataFrame, cfg: DarkConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Per detection, the nearest vessel of ``tracks`` at its time: (distance m, MMSI), with
    (inf, -1) when none is near; of equal distances the lower MMSI. For tracks split by
    vessel, the nearest over the parts is the minimum of (distance, MMSI) of each part."""
    t_det = epoch_ms(detections)
    lat_det = detections.get_column("lat").to_numpy()
    lon_det = detections.get_column("lon").to_numpy()
    out_d = np.full(t_det.size, np.inf)
    out_m = np.full(t_det.size, -1, dtype=np.int64)
    if tracks.size == 0:
        return out_d, out_m
    gap_ms = int(cfg.max_interp_gap_h * 3_600_000)
    tol_ms = int(cfg.max_extrapolate_min * 60_000)
    window = max(gap_ms, tol_ms)
    order = np.argsort(tracks.t_ms, kind="stable")
    t_sorted = tracks.t_ms[order]
    firsts = tracks.first_index
    ends = np.append(firsts[1:], tracks.size)
    vessel_of_row = np.cumsum(tracks.start) - 1
    reach_deg = (MAX_SHIP_SPEED_KN * KN_MS * window / 1000.0 + cfg.max_distance_km * 1000) / 111e3
    for k in range(t_det.size):
        t = int(t_det[k])
        lo, hi = np.searchsorted(t_sorted, [t - window, t + window + 1])
        rows = order[lo:hi]
        coslat = max(np.cos(np.radians(lat_det[k])), 0.05)
        near = rows[
            (np.abs(tracks.lat[rows] - lat_det[k]) <= reach_deg)
            & (np.abs(((tracks.lon[rows] - lon_det[k] + 540) % 360) - 180) <= reach_deg / coslat)
        ]
        cand_lon: list[float] = []
        cand_lat: list[float] = []
        cand_mmsi: list[int] = []
        for v in np.unique(vessel_of_row[near]).tolist():
            a, b = int(firsts[v]), int(ends[v])
            tt = tracks.t_ms[a:b]
            j = int(np.searchsorted(tt, t, side="right"))  # tt[j-1] <= t < tt[j]
            pos: tuple[float, float] | None = None
            if 0 < j < tt.size and tt[j] - tt[j - 1] <= gap_ms:
                f = (t - tt[j - 1]) / max(int(tt[j] - tt[j - 1]), 1)
                i = a + j - 1
                pos = (
                    tracks.lon[i] + f * (tracks.lon[i + 1] - tracks.lon[i]),
                    tracks.lat[i] + f * (tracks.lat[i + 1] - tracks.lat[i]),
                )
            else:
                best_i = None
                if j > 0 and t - tt[j - 1] <= tol_ms:
                    best_i = a + j - 1
                if (
                    j < tt.size
                    and tt[j] - t <= tol_ms
                    and (best_i is None or tt[j] - t < t - tt[j - 1])
                ):
                    best_i = a + j
                if best_i is not None:
                    pos = (float(tracks.lon[best_i]), float(tracks.lat[best_i]))
            if pos is not None:
                cand_lon.append(float(pos[0]))
                cand_lat.append(float(pos[1]))
                cand_mmsi.append(int(tracks.mmsi[a]))
        if cand_mmsi:
            d = geodesic_m(
                np.asarray(cand_lon),
                np.asarray(cand_lat),
                np.full(len(cand_lon), lon_det[k]),
                np.full(len(cand_lon), lat_det[k]),
            )
            j = int(np.argmin(d))  # vessels come in MMSI order: the first is the lowest
            out_d[k], out_m[k] = float(d[j]), cand_mmsi[j]
    return out_d, out_m


def decide_detections(
    detections: pl.DataFrame, best_d_all: np.ndarray, best_m_all: np.ndarray, cfg: DarkConfig
) -> tuple[list[Event], list[Match]]:
    """Match each detection to its nearest vessel, or make it a dark-vessel event."""
    t_det = epoch_ms(detections)
    lat_det = detections.get_column("lat").to_numpy()
    lon_det = detections.get_column("lon").to_numpy()
    length = (
        detections.get_column("length_m").to_numpy()
        if "length_m" in detections.columns
        else np.full(detections.height, np.nan)
    )
    ids = (
        detections.get_column("id").cast(pl.String).to_list()
        if "id" in detections.columns
        else [str(i + 1) for i in range(detections.height)]
    )
    events: list[Event] = []
    matches: list[Match] = []
    for k in range(t_det.size):
        t = int(t_det[k])
        best_d = float(best_d_all[k])
        best_m = None if best_m_all[k] < 0 else int(best_m_all[k])
        if best_d <= cfg.max_distance_km * 1000:
            matches.append(Match(k, best_m, best_d))
            continue
        matches.append(Match(k, None, best_d))
        details: dict[str, object] = {"detection_id": ids[k]}
        if np.isfinite(length[k]):
            details["length_m"] = float(length[k])
        if best_m is not None:
            details["nearest_ais_mmsi"] = best_m
            details["nearest_ais_distance_km"] = round(best_d / 1000, 3)
        events.append(
            Event("dark_vessel", t, t, None, float(lat_det[k]), float(lon_det[k]), details=details)
        )
    return events, matches
