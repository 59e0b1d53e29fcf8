"""Distances on the Earth for the maritime kernels.

Decisions (is it within 500 m? how far from shore?) use WGS-84 geodesics (pyproj ``Geod``,
vectorised in C). Fast pre-filters use the sphere: haversine inside numba loops (cleaning's
implied speeds, where 0.5 % does not matter) and ECEF chords for KD-tree neighbour search,
with a margin so the exact test sees every true candidate.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from pyproj import Geod

WGS84 = Geod(ellps="WGS84")
EARTH_RADIUS_M = 6_371_008.8
NM_M = 1852.0
KN_MS = NM_M / 3600.0


def geodesic_m(
    lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray
) -> np.ndarray:
    """WGS-84 geodesic distance in metres, element-wise."""
    _, _, dist = WGS84.inv(
        np.asarray(lon1, dtype=np.float64),
        np.asarray(lat1, np.float64),
        np.asarray(lon2, dtype=np.float64),
        np.asarray(lat2, np.float64),
    )
    return np.asarray(dist, dtype=np.float64)


@njit(cache=True, fastmath=False)
def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2.0 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def haversine_arr(
    lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray
) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    out: np.ndarray = 2.0 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    return out


def ecef_unit_m(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Points on the mean sphere as (n, 3) ECEF metres (chord ≈ arc below a few km)."""
    lo, la = np.radians(lon), np.radians(lat)
    c = np.cos(la)
    return np.column_stack((c * np.cos(lo), c * np.sin(lo), np.sin(la))) * EARTH_RADIUS_M
