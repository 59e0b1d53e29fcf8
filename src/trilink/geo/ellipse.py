"""Ellipses on the WGS-84 ellipsoid: the one ellipse function of trilink.

Every ellipse trilink draws or exports (a missile track's uncertainty, an impact ellipse, an
engine's own GeoJSON) is this ring: vertices placed by the direct geodesic problem (pyproj's
``Geod.fwd``, Karney's algorithm) from the centre along each vertex's bearing and distance, so
the semi-axes are true lengths on the ellipsoid. Rings are closed and counterclockwise (the
right-hand rule of RFC 7946 section 3.1.6), longitudes within [-180, 180).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from pyproj import Geod

GEOD = Geod(ellps="WGS84")
ELLIPSE_VERTICES = 64
# 1e-5 degrees is at most 1.1 m: well inside any uncertainty trilink draws.
RING_DECIMALS = 5


def ellipse_rings(
    lons: Sequence[float] | NDArray[np.float64],
    lats: Sequence[float] | NDArray[np.float64],
    semi_major_m: Sequence[float] | NDArray[np.float64],
    semi_minor_m: Sequence[float] | NDArray[np.float64],
    orientation_deg: Sequence[float] | NDArray[np.float64],
    vertices: int = ELLIPSE_VERTICES,
) -> NDArray[np.float64]:
    """Closed counterclockwise rings of k ellipses at once: an array (k, vertices + 1, 2) of
    (lon, lat). ``orientation_deg``: bearing of each major axis, clockwise from north."""
    lon0 = np.asarray(lons, dtype=np.float64)
    k = lon0.size
    lat0 = np.asarray(lats, dtype=np.float64)
    a = np.maximum(np.asarray(semi_major_m, dtype=np.float64), 1.0)
    b = np.maximum(np.asarray(semi_minor_m, dtype=np.float64), 1.0)
    az = np.radians(np.asarray(orientation_deg, dtype=np.float64))
    # decreasing parameter: east of north first, so the ring turns counterclockwise on a map
    th = np.linspace(2.0 * math.pi, 0.0, vertices, endpoint=False)
    along = a[:, None] * np.cos(th)[None, :]
    across = b[:, None] * np.sin(th)[None, :]
    east = along * np.sin(az)[:, None] + across * np.cos(az)[:, None]
    north = along * np.cos(az)[:, None] - across * np.sin(az)[:, None]
    lon_out, lat_out, _ = GEOD.fwd(
        np.repeat(lon0, vertices),
        np.repeat(lat0, vertices),
        np.degrees(np.arctan2(east, north)).ravel(),
        np.hypot(east, north).ravel(),
    )
    rings = np.empty((k, vertices + 1, 2))
    rings[:, :vertices, 0] = (np.asarray(lon_out).reshape(k, vertices) + 180.0) % 360.0 - 180.0
    rings[:, :vertices, 1] = np.asarray(lat_out).reshape(k, vertices)
    rings[:, vertices] = rings[:, 0]
    return rings


def ellipse_ring(
    lon: float,
    lat: float,
    semi_major_m: float,
    semi_minor_m: float,
    orientation_deg: float,
    vertices: int = ELLIPSE_VERTICES,
    decimals: int = RING_DECIMALS,
) -> list[list[float]]:
    """One closed counterclockwise ring of [lon, lat] vertices, rounded to ``decimals``."""
    ring = ellipse_rings([lon], [lat], [semi_major_m], [semi_minor_m], [orientation_deg], vertices)
    return np.round(ring[0], decimals).tolist()  # type: ignore[no-any-return]


def ring_is_counterclockwise(ring: Sequence[Sequence[float]]) -> bool:
    """Shoelace sign of a closed lon/lat ring (positive area: counterclockwise)."""
    area = 0.0
    for (x0, y0, *_), (x1, y1, *_) in zip(ring[:-1], ring[1:], strict=True):
        area += x0 * y1 - x1 * y0
    return area > 0.0
