"""Distance to shore, vectorised: used by the maritime engine (loitering and AIS-gap rules are
"far from shore") and by the scenario generator.

Shore = the boundary of Natural Earth 10 m land + minor islands in the bundled boxes (East
Asia, Suez, Solent), without the artificial edges where the land was clipped to the box.
Each box has its own projected index (conformal conic for East Asia, azimuthal equidistant
for the small boxes); the nearest coast segment is found there with an STRtree and the
distance to the nearest point on it is then measured on the WGS84 ellipsoid, so projection
scale error only affects which coast point is picked, not the metres returned.
Points more than :data:`REGION_MARGIN_DEG` outside every box get NaN: no coast data there.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer
from shapely.geometry import box

from trilink.geo.io import DATA_DIR, REGION_BOXES, land_features, read_raw_land
from trilink.geo.land import as_lat_lon
from trilink.geo.proj import GEOD, REGION_CRS, aeqd_pair

REGION_MARGIN_DEG = 5.0
CHUNK_VERTICES = 16


@dataclass(frozen=True)
class _CoastIndex:
    fwd: Transformer
    inv: Transformer
    lines: NDArray[np.object_]
    tree: shapely.STRtree


def _coast_lines(region: str) -> list[shapely.LineString]:
    if region == "east_asia":
        geoms = [g for _, _, g in land_features()]
    else:
        geoms = read_raw_land(region)
    boundary = shapely.union_all([shapely.boundary(g) for g in geoms])
    clip_edge = shapely.buffer(shapely.boundary(box(*REGION_BOXES[region])), 1e-6)
    coast = shapely.line_merge(shapely.difference(boundary, clip_edge))
    out: list[shapely.LineString] = []
    for line in shapely.get_parts(coast):
        coords = shapely.get_coordinates(line)
        # Short chunks make the tree's boxes tight, so nearest queries test few segments.
        for start in range(0, len(coords) - 1, CHUNK_VERTICES):
            chunk = coords[start : start + CHUNK_VERTICES + 1]
            if len(chunk) >= 2:
                out.append(shapely.linestrings(chunk))
    return out


@lru_cache(maxsize=4)
def _index(region: str) -> _CoastIndex:
    if region == "east_asia":
        fwd = Transformer.from_crs("EPSG:4326", REGION_CRS, always_xy=True)
        inv = Transformer.from_crs(REGION_CRS, "EPSG:4326", always_xy=True)
    else:
        lon0, lat0, lon1, lat1 = REGION_BOXES[region]
        fwd, inv = aeqd_pair((lon0 + lon1) / 2, (lat0 + lat1) / 2)
    lines_ll = _coast_lines(region)

    def _tx(c: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = fwd.transform(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    lines = np.asarray([shapely.transform(g, _tx) for g in lines_ll], dtype=object)
    return _CoastIndex(fwd, inv, lines, shapely.STRtree(lines))


def _region_of(lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.int_]:
    """Index into REGION_BOXES order of the box each point is in or nearest to; -1 if none."""
    names = list(REGION_BOXES)
    best = np.full(lat.shape, -1, dtype=np.int_)
    best_d = np.full(lat.shape, np.inf)
    for k, name in enumerate(names):
        lon0, lat0, lon1, lat1 = REGION_BOXES[name]
        dlon = np.maximum(np.maximum(lon0 - lon, lon - lon1), 0.0)
        dlat = np.maximum(np.maximum(lat0 - lat, lat - lat1), 0.0)
        d = np.hypot(dlon, dlat)
        take = (d <= REGION_MARGIN_DEG) & (d < best_d)
        best[take] = k
        best_d[take] = d[take]
    return best


def distance_to_shore_m(lats: ArrayLike, lons: ArrayLike) -> NDArray[np.float64]:
    """Geodesic distance (m) from each point to the nearest Natural Earth 10 m coastline.

    Points on land also get their distance to the coast (use ``is_on_land`` to tell them
    apart). NaN for points outside every bundled box (+5 degrees): no coast data there.
    Within that margin, coasts outside the box (e.g. Luzon south of 20 N) are unknown, so
    the value is an upper bound there.
    """
    lat, lon = as_lat_lon(lats, lons)
    out = np.full(lat.shape, np.nan)
    region = _region_of(lat, lon)
    for k, name in enumerate(REGION_BOXES):
        sel = np.flatnonzero(region == k)
        if sel.size == 0:
            continue
        idx = _index(name)
        x, y = idx.fwd.transform(lon[sel], lat[sel])
        pts = shapely.points(np.asarray(x), np.asarray(y))
        pairs = idx.tree.query_nearest(pts, all_matches=False)
        # one nearest line per point, in input order
        order = np.argsort(pairs[0], kind="stable")
        line = idx.lines[pairs[1][order]]
        near = shapely.line_interpolate_point(line, shapely.line_locate_point(line, pts))
        nxy = shapely.get_coordinates(near)
        nlon, nlat = idx.inv.transform(nxy[:, 0], nxy[:, 1])
        _, _, dist = GEOD.inv(lon[sel], lat[sel], np.asarray(nlon), np.asarray(nlat))
        out[sel] = np.asarray(dist, dtype=np.float64)
    return out


#: Precomputed grid of exact distances (East Asia) used to decide threshold questions fast.
GRID_FILE = "shore_distance_grid_east_asia.npz"
GRID_BOX = (112.0, 17.0, 158.0, 53.0)  # data box + 3 degrees (inside the 5 degree margin)
GRID_STEP_DEG = 0.1
GRID_UNIT_M = 20.0


def build_shore_grid() -> dict[str, NDArray[np.float64] | NDArray[np.uint16]]:
    """Exact distance to shore on the grid nodes (run by ``build_zones``; about 200k nodes)."""
    lon0, lat0, lon1, lat1 = GRID_BOX
    lats = np.round(np.arange(lat0, lat1 + 1e-9, GRID_STEP_DEG), 6)
    lons = np.round(np.arange(lon0, lon1 + 1e-9, GRID_STEP_DEG), 6)
    glat, glon = np.meshgrid(lats, lons, indexing="ij")
    d = distance_to_shore_m(glat.ravel(), glon.ravel()).reshape(glat.shape)
    q = np.clip(np.round(d / GRID_UNIT_M), 0, np.iinfo(np.uint16).max).astype(np.uint16)
    return {"lats": lats, "lons": lons, "d20m": q}


@lru_cache(maxsize=1)
def _grid() -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    with np.load(DATA_DIR / GRID_FILE) as z:
        return (
            np.asarray(z["lats"], dtype=np.float64),
            np.asarray(z["lons"], dtype=np.float64),
            np.asarray(z["d20m"], dtype=np.float64) * GRID_UNIT_M,
        )


def _grid_estimate(
    lat: NDArray[np.float64], lon: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Bilinear estimate, the nearest node's distance, and whether the point is on the grid."""
    lats, lons, d = _grid()
    fi = (lat - lats[0]) / GRID_STEP_DEG
    fj = (lon - lons[0]) / GRID_STEP_DEG
    on = (fi >= 0) & (fi <= len(lats) - 1.001) & (fj >= 0) & (fj <= len(lons) - 1.001)
    fi = np.clip(fi, 0, len(lats) - 1.001)
    fj = np.clip(fj, 0, len(lons) - 1.001)
    i = fi.astype(np.int64)
    j = fj.astype(np.int64)
    u = fi - i
    v = fj - j
    est = (
        d[i, j] * (1 - u) * (1 - v)
        + d[i + 1, j] * u * (1 - v)
        + d[i, j + 1] * (1 - u) * v
        + d[i + 1, j + 1] * u * v
    )
    ni = np.rint(fi).astype(np.int64)
    nj = np.rint(fj).astype(np.int64)
    return est, d[ni, nj], on


def far_from_shore(lats: ArrayLike, lons: ArrayLike, min_distance_m: float) -> NDArray[np.bool_]:
    """``distance_to_shore_m(lats, lons) >= min_distance_m``, fast and with the same answer.

    The precomputed grid decides every point whose distance is certainly above or below the
    threshold (Lipschitz bound); only points within a few km of it are measured exactly.
    NaN distances (no coast data) count as not far.
    """
    lat, lon = as_lat_lon(lats, lons)
    _, node, on = _grid_estimate(lat, lon)
    # Distance to a set is 1-Lipschitz: |d(p) - d(c)| <= dist(p, c) for the nearest node c,
    # which is at most half a cell diagonal away (measured at the cell's equatorward edge,
    # +0.5 % for the ellipsoid) plus the 20 m quantisation of the stored value.
    half_lat_m = 0.5 * GRID_STEP_DEG * 111_700.0
    half_lon_m = 0.5 * GRID_STEP_DEG * 111_700.0 * np.cos(np.radians(np.abs(lat) - GRID_STEP_DEG))
    r = np.hypot(half_lat_m, half_lon_m) * 1.005 + GRID_UNIT_M
    out = node - r >= min_distance_m
    unsure = ~on | (np.abs(node - min_distance_m) <= r)
    if unsure.any():
        exact = distance_to_shore_m(lat[unsure], lon[unsure])
        out[unsure] = np.nan_to_num(exact, nan=-1.0) >= min_distance_m
    return np.asarray(out, dtype=bool)


def distance_to_shore_approx_m(lats: ArrayLike, lons: ArrayLike) -> NDArray[np.float64]:
    """Bilinear interpolation of the precomputed 0.1 degree grid (measured on 300k random
    points: 99 % within 2.7 km, worst 10 km, near intricate coasts).

    For maps and coarse filters; use :func:`distance_to_shore_m` or :func:`far_from_shore`
    when a rule depends on the value. Points off the grid are computed exactly.
    """
    lat, lon = as_lat_lon(lats, lons)
    est, _, on = _grid_estimate(lat, lon)
    if (~on).any():
        est[~on] = distance_to_shore_m(lat[~on], lon[~on])
    return est
