"""Maritime zones (approximate, precomputed) and vectorised point-in-zone tests.

The zones come from ``data/zones_east_asia.geojson`` written by
:mod:`trilink.geo.build_zones` (see its docstring for every approximation). Types follow
UNCLOS: ``territorial_sea`` is 0-12 nm, ``contiguous_zone`` the 12-24 nm band and ``eez`` the
12-200 nm band (arts. 33, 55, 57), so a point 18 nm out is in both the contiguous zone and the
EEZ, and "within 200 nm" is territorial sea + EEZ.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
import shapely
import shapely.geometry
from numpy.typing import ArrayLike, NDArray

from trilink.geo.disputed import check_view
from trilink.geo.features import Zone, ZoneType
from trilink.geo.io import zone_features
from trilink.geo.land import as_lat_lon, load_land


@lru_cache(maxsize=16)
def _load_zones(view: str, include_land: bool) -> tuple[Zone, ...]:
    check_view(view)
    land = None if include_land else load_land(None)
    out = []
    for nation, zone_type, views, source, geom in zone_features():
        if view not in views:
            continue
        if land is not None and zone_type == "territorial_sea":
            geom = shapely.difference(geom, land)
        zt: ZoneType = zone_type  # type: ignore[assignment]
        out.append(
            Zone(
                nation=nation,
                zone_type=zt,
                geometry=geom,
                source=f"{source}; view={view}",
                name=f"{nation} {zone_type.replace('_', ' ')} (approx., view {view})",
            )
        )
    for g in out:
        shapely.prepare(g.geometry)
    return tuple(sorted(out, key=lambda z: (z.nation, z.zone_type)))


def load_zones(view: str = "neutral", include_land: bool = False) -> list[Zone]:
    """Approximate territorial sea / contiguous zone / EEZ of CHN, JPN, KOR, PRK, RUS, TWN.

    ``view`` decides the disputed islands (``"neutral"``: nobody's; ``"administering"``; or a
    nation code: that nation's claims). ``include_land=True`` keeps the nation's own land
    inside its territorial-sea polygon, which is faster to load and tolerant of ports that
    Natural Earth draws inland.
    """
    return list(_load_zones(view, include_land))


def zones_to_geojson(zones: list[Zone], decimals: int = 5) -> dict[str, object]:
    """A FeatureCollection in the user zone-file layout (readable by ``load_zone_file``)."""
    feats: list[dict[str, object]] = []
    for z in zones:
        geom = shapely.set_precision(z.geometry, 10.0**-decimals)
        feats.append(
            {
                "type": "Feature",
                "properties": {
                    "owner": z.nation,
                    "zone_type": z.zone_type,
                    "allowed_flags": list(z.allowed_flags),
                    "name": z.name,
                    "source": z.source,
                },
                "geometry": shapely.geometry.mapping(geom),
            }
        )
    return {"type": "FeatureCollection", "features": feats}


class ZoneHits(NamedTuple):
    """Which point is in which zone: parallel index arrays, sorted by point then zone."""

    point_index: NDArray[np.int64]
    zone_index: NDArray[np.int64]

    def matrix(self, n_points: int, n_zones: int) -> NDArray[np.bool_]:
        """Dense (n_points, n_zones) boolean matrix; mind the memory for big inputs."""
        out = np.zeros((n_points, n_zones), dtype=bool)
        out[self.point_index, self.zone_index] = True
        return out


def point_in_zones(lats: ArrayLike, lons: ArrayLike, zones: list[Zone]) -> ZoneHits:
    """Vectorised point-in-polygon of many points against many zones.

    An STRtree over the zones' polygon parts picks candidates by bounding box, then each
    candidate part tests its points with prepared ``intersects_xy`` (a point exactly on a
    zone's edge counts as inside).
    """
    lat, lon = as_lat_lon(lats, lons)
    parts: list[shapely.Geometry] = []
    owner: list[int] = []
    for zi, zone in enumerate(zones):
        for part in shapely.get_parts(zone.geometry):
            parts.append(part)
            owner.append(zi)
    if not parts or lat.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return ZoneHits(empty, empty)
    part_arr = np.asarray(parts, dtype=object)
    owner_arr = np.asarray(owner, dtype=np.int64)
    shapely.prepare(part_arr)
    tree = shapely.STRtree(part_arr)
    bounds = shapely.bounds(part_arr)
    # Group points by tree candidates without building point objects: a coarse grid of cells
    # whose box is queried once, then each candidate part tests the cell's points.
    hit_p: list[NDArray[np.int64]] = []
    hit_z: list[NDArray[np.int64]] = []
    cell_deg = 1.0
    cx = np.floor(lon / cell_deg).astype(np.int64)
    cy = np.floor(lat / cell_deg).astype(np.int64)
    key = (cx + 1000) * 4000 + (cy + 1000)
    order = np.argsort(key, kind="stable")
    sk = key[order]
    starts = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]])
    ends = np.r_[starts[1:], sk.size]
    for s, e in zip(starts, ends, strict=True):
        idx = order[s:e]
        x0, y0 = float(cx[idx[0]]) * cell_deg, float(cy[idx[0]]) * cell_deg
        cand = tree.query(shapely.box(x0, y0, x0 + cell_deg, y0 + cell_deg))
        for pi in cand:
            b = bounds[pi]
            px, py = lon[idx], lat[idx]
            m = (px >= b[0]) & (px <= b[2]) & (py >= b[1]) & (py <= b[3])
            if not m.any():
                continue
            sub = idx[m]
            inside = shapely.intersects_xy(part_arr[pi], lon[sub], lat[sub])
            if inside.any():
                got = sub[inside]
                hit_p.append(got.astype(np.int64))
                hit_z.append(np.full(got.size, owner_arr[pi], dtype=np.int64))
    if not hit_p:
        empty = np.zeros(0, dtype=np.int64)
        return ZoneHits(empty, empty)
    p = np.concatenate(hit_p)
    z = np.concatenate(hit_z)
    pairs = np.unique(np.column_stack([p, z]), axis=0)
    return ZoneHits(pairs[:, 0], pairs[:, 1])
