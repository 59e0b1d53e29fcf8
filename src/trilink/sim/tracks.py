"""Vessel kinematics for the scenario generator: keyframed tracks sampled at AIS report times.

A track is a sequence of keyframes (time, lat, lon, navigational status) no more than ~2 km
apart, so positions between keyframes are interpolated linearly. Speed over ground and course
come from the keyframe segment (so they are consistent with the positions), then sensor noise
is added. Report times follow the ITU-R M.1371 Class A schedule by speed and status; message
loss follows a receiver-coverage model by distance from shore.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from trilink.geo import distance_to_shore_m
from trilink.geo.proj import GEOD, NM_M
from trilink.sim.routing import great_circle

KN_MS = NM_M / 3600.0
STATUS_UNDER_WAY = 0
STATUS_ANCHORED = 1
STATUS_MOORED = 5
STATUS_FISHING = 7


@dataclass(frozen=True)
class Keyframes:
    """Track keyframes; ``status[k]`` applies to the segment from k to k+1."""

    t: NDArray[np.float64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    status: NDArray[np.int8]

    def __post_init__(self) -> None:
        if len(self.t) < 2 or np.any(np.diff(self.t) <= 0):
            raise ValueError("keyframes need >= 2 strictly increasing times")


class TrackBuilder:
    """Appends legs to a track, keeping keyframes <= 2 km apart."""

    def __init__(self, t0: float, lat: float, lon: float):
        self.t = [t0]
        self.lat = [lat]
        self.lon = [lon]
        self.status: list[int] = []

    @property
    def now(self) -> float:
        """Time of the last keyframe (s)."""
        return self.t[-1]

    @property
    def pos(self) -> tuple[float, float]:
        """(lat, lon) of the last keyframe."""
        return self.lat[-1], self.lon[-1]

    def _add(self, t: float, lat: float, lon: float, status: int) -> None:
        if t <= self.t[-1]:
            t = self.t[-1] + 1e-3
        self.t.append(t)
        self.lat.append(lat)
        self.lon.append(lon)
        self.status.append(status)

    def go_to(
        self, lat: float, lon: float, speed_kn: float, status: int = STATUS_UNDER_WAY
    ) -> None:
        """Great-circle leg at constant speed."""
        pts = great_circle(self.lat[-1], self.lon[-1], lat, lon)
        self.follow(pts, np.full(len(pts), speed_kn), status)

    def follow(
        self,
        pts: NDArray[np.float64],
        speed_kn: NDArray[np.float64],
        status: int = STATUS_UNDER_WAY,
    ) -> None:
        """Follow points (lat, lon) starting at the current position with speeds per point."""
        if len(pts) < 2:
            return
        _, _, seg = GEOD.inv(pts[:-1, 1], pts[:-1, 0], pts[1:, 1], pts[1:, 0])
        v = np.maximum(0.5 * (speed_kn[:-1] + speed_kn[1:]), 0.05) * KN_MS
        dt = np.asarray(seg) / v
        t = self.t[-1] + np.cumsum(dt)
        for k in range(1, len(pts)):
            self._add(float(t[k - 1]), float(pts[k, 0]), float(pts[k, 1]), status)

    def stay(self, duration_s: float, status: int = STATUS_MOORED) -> None:
        """Stay at the current position."""
        self._add(self.t[-1] + duration_s, self.lat[-1], self.lon[-1], status)

    def drift(
        self,
        duration_s: float,
        speed_kn: float,
        bearing_deg: float,
        step_s: float = 300.0,
        status: int = STATUS_UNDER_WAY,
    ) -> None:
        """Drift at a slow constant velocity (keyframes every ``step_s``)."""
        n = max(1, int(np.ceil(duration_s / step_s)))
        lat0, lon0 = self.lat[-1], self.lon[-1]
        t0 = self.t[-1]
        for k in range(1, n + 1):
            dist = speed_kn * KN_MS * duration_s * k / n
            lon1, lat1, _ = GEOD.fwd(lon0, lat0, bearing_deg, dist)
            self._add(t0 + duration_s * k / n, float(lat1), float(lon1), status)

    def build(self) -> Keyframes:
        """The finished keyframes."""
        return Keyframes(
            np.asarray(self.t, dtype=np.float64),
            np.asarray(self.lat, dtype=np.float64),
            np.asarray(self.lon, dtype=np.float64),
            np.asarray(self.status, dtype=np.int8),
        )


@dataclass(frozen=True)
class Sampled:
    """True kinematic state at report times (before noise)."""

    t: NDArray[np.float64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    sog_kn: NDArray[np.float64]
    cog_deg: NDArray[np.float64]
    status: NDArray[np.int8]


def segment_kinematics(kf: Keyframes) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Speed (kn) and course (deg) of every keyframe segment."""
    az, _, dist = GEOD.inv(kf.lon[:-1], kf.lat[:-1], kf.lon[1:], kf.lat[1:])
    sog = np.asarray(dist) / np.diff(kf.t) / KN_MS
    cog = np.mod(np.asarray(az), 360.0)
    return sog, cog


def sample(kf: Keyframes, t: NDArray[np.float64]) -> Sampled:
    """Interpolate the track at times ``t`` (inside the keyframe span)."""
    k = np.clip(np.searchsorted(kf.t, t, side="right") - 1, 0, len(kf.t) - 2)
    f = (t - kf.t[k]) / (kf.t[k + 1] - kf.t[k])
    lat = kf.lat[k] + f * (kf.lat[k + 1] - kf.lat[k])
    lon = kf.lon[k] + f * (kf.lon[k + 1] - kf.lon[k])
    sog, cog = segment_kinematics(kf)
    return Sampled(t, lat, lon, sog[k], cog[k], kf.status[k])


def report_interval_s(
    sog_kn: NDArray[np.float64], status: NDArray[np.int8]
) -> NDArray[np.float64]:
    """ITU-R M.1371-5 Class A reporting interval (course changes ignored)."""
    out = np.where(sog_kn > 23, 2.0, np.where(sog_kn > 14, 6.0, 10.0))
    still = ((status == STATUS_MOORED) | (status == STATUS_ANCHORED)) & (sog_kn <= 3)
    return np.where(still, 180.0, out)


def report_times(
    kf: Keyframes, t_start: float, t_end: float, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Report times (integer seconds) in [t_start, t_end) following the Class A schedule.

    The schedule is continuous: when the interval changes (speed class or status), the next
    report comes one new interval after the last one, as a transponder would send it.
    """
    sog, _ = segment_kinematics(kf)
    interval = report_interval_s(sog, kf.status)
    a = np.maximum(kf.t[:-1], t_start)
    b = np.minimum(kf.t[1:], t_end)
    ok = b > a
    a, b, interval = a[ok], b[ok], interval[ok]
    if a.size == 0:
        return np.zeros(0)
    change = np.flatnonzero(np.diff(interval) != 0) + 1
    run_start = np.concatenate([[0], change])
    run_end = np.concatenate([change, [a.size]])
    out: list[NDArray[np.float64]] = []
    nxt = float(a[0]) + float(rng.uniform(0, 1)) * float(interval[0])
    for r0, r1 in zip(run_start, run_end, strict=True):
        step = float(interval[r0])
        lo, hi = float(a[r0]), float(b[r1 - 1])
        nxt = max(nxt, lo)
        if nxt < hi:
            times = np.arange(nxt, hi, step)
            out.append(times)
            nxt = float(times[-1]) + step
    t = np.round(np.concatenate(out)).astype(np.float64) if out else np.zeros(0, dtype=np.float64)
    result: NDArray[np.float64] = np.unique(t[(t >= t_start) & (t < t_end)])
    return result


@lru_cache(maxsize=1)
def _shore_grid() -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    lats = np.arange(19.0, 51.01, 0.1)
    lons = np.arange(114.0, 156.01, 0.1)
    glat, glon = np.meshgrid(lats, lons, indexing="ij")
    d = distance_to_shore_m(glat.ravel(), glon.ravel()).reshape(glat.shape)
    return lats, lons, d


def shore_distance_fast_m(
    lat: NDArray[np.float64], lon: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Distance to shore from a 0.1 degree grid (bilinear; about +-5 km): for loss modelling."""
    lats, lons, d = _shore_grid()
    fi = np.clip((lat - lats[0]) / 0.1, 0, len(lats) - 1.001)
    fj = np.clip((lon - lons[0]) / 0.1, 0, len(lons) - 1.001)
    i = fi.astype(np.int64)
    j = fj.astype(np.int64)
    u = fi - i
    v = fj - j
    out: NDArray[np.float64] = (
        d[i, j] * (1 - u) * (1 - v)
        + d[i + 1, j] * u * (1 - v)
        + d[i, j + 1] * (1 - u) * v
        + d[i + 1, j + 1] * u * v
    )
    return out


def keep_probability(shore_m: NDArray[np.float64]) -> NDArray[np.float64]:
    """Chance a report is received: terrestrial coverage near shore, sparse satellite far out."""
    near, far = 30 * NM_M, 60 * NM_M
    frac = np.clip((shore_m - near) / (far - near), 0.0, 1.0)
    return 0.92 - frac * (0.92 - 0.15)


def add_noise(
    s: Sampled, rng: np.random.Generator, heading_bias_deg: float
) -> tuple[NDArray[np.float64], ...]:
    """GPS and sensor noise; returns lat, lon, sog_kn, cog_deg, heading_deg."""
    n = s.t.size
    pos_sd_m = 5.0
    lat = s.lat + rng.normal(0, pos_sd_m, n) / 111_320.0
    lon = s.lon + rng.normal(0, pos_sd_m, n) / (111_320.0 * np.cos(np.radians(s.lat)))
    slow = s.sog_kn < 0.5
    sog = np.where(slow, np.abs(rng.normal(0, 0.05, n)), s.sog_kn + rng.normal(0, 0.1, n))
    # Exact tenths (k / 10.0), so AIS encoders that truncate value * 10 get k back.
    sog = np.clip(np.round(sog * 10.0), 0, 1022) / 10.0
    cog = np.where(slow, rng.uniform(0, 360, n), s.cog_deg + rng.normal(0, 1.0, n))
    cog = np.mod(np.round(np.mod(cog, 360.0) * 10.0), 3600) / 10.0
    heading = np.mod(np.round(s.cog_deg + heading_bias_deg + rng.normal(0, 1.5, n)), 360.0)
    return lat, lon, sog, cog, heading
