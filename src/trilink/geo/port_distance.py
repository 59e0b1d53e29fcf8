"""Distance to the nearest port or anchorage, vectorised (encounter rule: >= 10 km from port).

Points are compared on the unit sphere with a k-d tree (chord distance), then converted to a
great-circle distance on a sphere of the mean Earth radius: within 0.5 % of the WGS84
geodesic, which is ample for a "10 km from port" rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from trilink.geo.features import Port
from trilink.geo.io import anchorages, ports
from trilink.geo.land import as_lat_lon

EARTH_R_M = 6_371_008.8


def _unit(lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.float64]:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


@lru_cache(maxsize=4)
def _default_tree() -> tuple[cKDTree, tuple[Port, ...]]:
    pts = ports() + anchorages()
    lat = np.asarray([p.lat for p in pts])
    lon = np.asarray([p.lon for p in pts])
    return cKDTree(_unit(lat, lon)), pts


def distance_to_port_m(
    lats: ArrayLike, lons: ArrayLike, extra: Sequence[Port] = ()
) -> tuple[NDArray[np.float64], list[Port]]:
    """Distance (m) from each point to the nearest port/anchorage, and which one it is.

    The set is Natural Earth ports + World Port Index ports + GFW named anchorages, plus
    ``extra`` (user ports, e.g. the ``ports.csv`` written by ``trilink sim maritime``).
    """
    lat, lon = as_lat_lon(lats, lons)
    if extra:
        pts = ports() + anchorages() + tuple(extra)
        tree = cKDTree(_unit(np.asarray([p.lat for p in pts]), np.asarray([p.lon for p in pts])))
    else:
        tree, pts = _default_tree()
    chord, idx = tree.query(_unit(lat, lon))
    d = 2 * EARTH_R_M * np.arcsin(np.minimum(np.asarray(chord) / 2, 1.0))
    return d, [pts[int(i)] for i in np.atleast_1d(idx)]
