"""Shared pieces of the event detectors: the Event record, track arrays, run finding.

Detectors read one ``Tracks`` (numpy views of the cleaned positions, sorted by vessel and
time) and return lists of ``Event``. Events are few; positions are many, so only events are
Python objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, get_args

import numpy as np
import polars as pl
from numba import njit, prange

from trilink.maritime.geodesy import KN_MS, haversine_m
from trilink.model.payloads.maritime import EventType

# The event types are declared once, with the payload the node validates.
EVENT_TYPES: tuple[str, ...] = get_args(EventType)


@njit(cache=True, parallel=True)
def _speeds(
    start: np.ndarray, t_ms: np.ndarray, lat: np.ndarray, lon: np.ndarray, sog: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Speed per fix (SOG, else implied speed to the next fix, or from the previous one for
    a track's last fix) and segment lengths, in one pass without temporaries."""
    n = t_ms.size
    # float32: a speed in knots and a step in metres need no more, and it halves the memory
    speed = np.empty(n, dtype=np.float32)
    seg = np.zeros(max(n - 1, 0), dtype=np.float32)
    for i in prange(n - 1):
        if not start[i + 1]:
            seg[i] = haversine_m(lon[i], lat[i], lon[i + 1], lat[i + 1])
    for i in prange(n):
        if not np.isnan(sog[i]):
            speed[i] = sog[i]
        elif i + 1 < n and not start[i + 1]:
            speed[i] = seg[i] / max((t_ms[i + 1] - t_ms[i]) / 1000.0, 1.0) / KN_MS
        elif not start[i]:
            speed[i] = seg[i - 1] / max((t_ms[i] - t_ms[i - 1]) / 1000.0, 1.0) / KN_MS
        else:
            speed[i] = np.nan
    return speed, seg


@dataclass
class Event:
    """One detected event. Times are epoch milliseconds UTC; details are JSON-able."""

    type: str
    start_ms: int
    end_ms: int
    mmsi: int | None
    lat: float
    lon: float
    other_mmsi: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Tracks:
    """Cleaned positions as arrays, sorted by (mmsi, time); ``start[i]`` opens a vessel."""

    mmsi: np.ndarray
    t_ms: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    speed_kn: np.ndarray  # reported SOG, or the implied speed where SOG is missing
    start: np.ndarray
    first_index: np.ndarray  # first row of each vessel
    seg_len_m: np.ndarray  # length of segment i → i+1 (0 across vessels), size n-1
    last_t_ms: int

    @property
    def size(self) -> int:
        return int(self.mmsi.size)

    @classmethod
    def from_frame(cls, df: pl.DataFrame) -> Tracks:
        mmsi = df.get_column("mmsi").to_numpy()
        t_ms = df.get_column("timestamp").to_physical().to_numpy()
        lat = df.get_column("lat").to_numpy()
        lon = df.get_column("lon").to_numpy()
        n = mmsi.size
        start = np.ones(n, dtype=np.bool_)
        if n:
            start[1:] = mmsi[1:] != mmsi[:-1]
        sog_col = df.get_column("sog_kn")
        sog = (
            sog_col.to_numpy()
            if sog_col.null_count() == 0
            else sog_col.fill_null(np.nan).to_numpy()
        ).astype(np.float64, copy=False)
        speed, seg_len = _speeds(start, t_ms, lat, lon, sog)
        return cls(
            mmsi=mmsi,
            t_ms=t_ms,
            lat=lat,
            lon=lon,
            speed_kn=speed,
            start=start,
            first_index=np.flatnonzero(start),
            seg_len_m=seg_len,
            last_t_ms=int(t_ms.max()) if n else 0,
        )

    def same_vessel_next(self) -> np.ndarray:
        """Segment i → i+1 stays on one vessel (length n-1)."""
        return ~self.start[1:]


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the runs of True in a boolean array."""
    padded = np.concatenate(([False], mask.astype(bool), [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return edges[0::2], edges[1::2]
