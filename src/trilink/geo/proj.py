"""Projections for `trilink.geo`: one conformal CRS for the whole region and local equidistant
ones for metric work (buffers, median lines), plus the WGS84 geodesic for spot distances.

A single conic projection over 20-50 N distorts scale by up to about 2 % (measured with
``pyproj.Proj.get_factors``: 0.985 at 35 N, 1.021 at 50 N), which would move a 200 nm limit by
4 nm. Buffers are therefore computed tile by tile in an azimuthal equidistant projection
centred on each tile (error well under 0.3 %), and the regional CRS is only used for indexing.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Geod, Transformer
from shapely.geometry.base import BaseGeometry

NM_M = 1852.0
GEOD = Geod(ellps="WGS84")

#: Lambert conformal conic fitted to 20-50 N, 115-155 E: used for spatial indexing only.
REGION_CRS = CRS.from_proj4(
    "+proj=lcc +lat_1=25 +lat_2=45 +lat_0=35 +lon_0=135 +ellps=WGS84 +units=m +no_defs"
)


@lru_cache(maxsize=8)
def region_transformers() -> tuple[Transformer, Transformer]:
    fwd = Transformer.from_crs("EPSG:4326", REGION_CRS, always_xy=True)
    inv = Transformer.from_crs(REGION_CRS, "EPSG:4326", always_xy=True)
    return fwd, inv


@lru_cache(maxsize=128)
def aeqd_pair(lon0: float, lat0: float) -> tuple[Transformer, Transformer]:
    """Forward and inverse transformers of an azimuthal equidistant CRS centred on lon0/lat0."""
    crs = CRS.from_proj4(f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +ellps=WGS84 +units=m +no_defs")
    fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    inv = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return fwd, inv


def transform_geom(geom: BaseGeometry, transformer: Transformer) -> BaseGeometry:
    """Apply a pyproj transformer (always_xy) to every coordinate of a shapely geometry."""

    def _tx(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    out: BaseGeometry = shapely.transform(geom, _tx)
    return out


def to_region(lons: NDArray[np.float64], lats: NDArray[np.float64]) -> NDArray[np.float64]:
    """Project lon/lat arrays to the regional conformal CRS; returns an (n, 2) array in m."""
    fwd, _ = region_transformers()
    x, y = fwd.transform(lons, lats)
    return np.column_stack([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)])


def from_region(xy: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Inverse of :func:`to_region`: returns (lons, lats)."""
    _, inv = region_transformers()
    lon, lat = inv.transform(xy[:, 0], xy[:, 1])
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def region_geom(geom: BaseGeometry) -> BaseGeometry:
    """A lon/lat geometry in the regional CRS."""
    return transform_geom(geom, region_transformers()[0])


def geodesic_m(
    lat1: NDArray[np.float64] | float,
    lon1: NDArray[np.float64] | float,
    lat2: NDArray[np.float64] | float,
    lon2: NDArray[np.float64] | float,
) -> NDArray[np.float64]:
    """WGS84 geodesic distance in metres (vectorised)."""
    a = np.broadcast_arrays(
        np.asarray(lon1, dtype=np.float64),
        np.asarray(lat1, dtype=np.float64),
        np.asarray(lon2, dtype=np.float64),
        np.asarray(lat2, dtype=np.float64),
    )
    _, _, dist = GEOD.inv(a[0], a[1], a[2], a[3])
    return np.atleast_1d(np.asarray(dist, dtype=np.float64))
