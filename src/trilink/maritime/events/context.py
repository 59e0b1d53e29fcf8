"""Geography the detectors need, passed in explicitly: ports, shore distance, zones, AOIs.

Keeping these as arguments makes every detector pure and testable; the CLI fills them from
``trilink.geo`` (bundled Natural Earth / GFW data) or from files the user gives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numba import njit, prange
from scipy.spatial import cKDTree

from trilink.maritime.errors import MaritimeInputError
from trilink.maritime.geodesy import EARTH_RADIUS_M, ecef_unit_m, geodesic_m

ShoreDistance = Callable[[np.ndarray, np.ndarray], np.ndarray]


@njit(cache=True, parallel=True)
def _in_cells(lon: np.ndarray, lat: np.ndarray, cells: np.ndarray, cell_deg: float) -> np.ndarray:
    out = np.zeros(lon.size, dtype=np.bool_)
    for i in prange(lon.size):
        ci = int(np.floor((lon[i] + 180.0) / cell_deg)) % 3600
        cj = min(max(int(np.floor((lat[i] + 90.0) / cell_deg)), 0), 1799)
        out[i] = cells[ci, cj]
    return out


@dataclass
class Ports:
    """Port / anchorage points with a nearest-port index (KD-tree on ECEF, grid prefilter)."""

    lon: np.ndarray
    lat: np.ndarray
    names: list[str]
    iso3: list[str]
    _tree: cKDTree = field(init=False, repr=False)
    _cells: np.ndarray = field(init=False, repr=False)

    CELL_DEG = 0.1

    def __post_init__(self) -> None:
        self.lon = np.asarray(self.lon, dtype=np.float64)
        self.lat = np.asarray(self.lat, dtype=np.float64)
        self._tree = (
            cKDTree(ecef_unit_m(self.lon, self.lat))
            if self.lon.size
            else cKDTree(np.zeros((1, 3)) + 1e12)
        )
        # Cells within one cell (≥ 5.5 km up to 60° latitude) of a port: only fixes there are
        # sent to the KD-tree, so port checks cost one lookup for the open sea.
        self._cells = np.zeros((3600, 1800), dtype=bool)
        ci, cj = self._cell(self.lon, self.lat)
        for di in (-2, -1, 0, 1, 2):
            for dj in (-1, 0, 1):
                self._cells[(ci + di) % 3600, np.clip(cj + dj, 0, 1799)] = True

    def _cell(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ci = np.floor((np.asarray(lon) + 180.0) / self.CELL_DEG).astype(np.int64) % 3600
        cj = np.clip(np.floor((np.asarray(lat) + 90.0) / self.CELL_DEG).astype(np.int64), 0, 1799)
        return ci, cj

    def nearest(
        self, lon: np.ndarray, lat: np.ndarray, max_km: float = 10.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """(distance_km, port index) of the nearest port; inf / -1 beyond ``max_km``."""
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        # float32 / int32: enough for km to ports and port rows, half the memory per fix
        dist = np.full(lon.size, np.inf, dtype=np.float32)
        idx = np.full(lon.size, -1, dtype=np.int32)
        if not self.lon.size or not lon.size:
            return dist, idx
        if max_km <= 5.0:
            cand = np.flatnonzero(_in_cells(lon, lat, self._cells, self.CELL_DEG))
        else:
            cand = np.arange(lon.size)
        if cand.size:
            d, k = self._tree.query(
                ecef_unit_m(lon[cand], lat[cand]), distance_upper_bound=max_km * 1000.0 * 1.01
            )
            ok = np.isfinite(d)
            dist[cand[ok]] = (
                2
                * EARTH_RADIUS_M
                * np.arcsin(np.minimum(d[ok] / (2 * EARTH_RADIUS_M), 1.0))
                / 1000.0
            )
            idx[cand[ok]] = k[ok]
        return dist, idx


@dataclass(frozen=True)
class Zone:
    """A maritime zone: who owns it and which flags may be there without an event."""

    name: str
    kind: str  # territorial_sea, contiguous_zone, eez, exercise_area, custom
    owner: str  # ISO 3166-1 alpha-3 of the coastal state / authority
    geometry: Any  # shapely Polygon/MultiPolygon in lon/lat
    allowed_flags: frozenset[str] | None = None  # None: every flag may be there

    def flag_allowed(self, flag: str | None) -> bool:
        if self.allowed_flags is None:
            return True
        return flag is not None and (flag == self.owner or flag in self.allowed_flags)


_OPEN_KINDS = {"eez", "contiguous_zone", "contiguous"}


def zones_from_geojson(data: dict[str, Any], source: str = "zones") -> list[Zone]:
    """Zones from a GeoJSON FeatureCollection (properties name, kind/zone_type, owner, ...).

    ``allowed_flags`` may be a list of ISO3 codes or ``"*"``; when absent, EEZ and contiguous
    zones allow every flag (freedom of navigation) and other zones only the owner's.
    """
    feats = data.get("features") if isinstance(data, dict) else None
    if not isinstance(feats, list):
        raise MaritimeInputError("zones file is not a GeoJSON FeatureCollection", path=source)
    zones: list[Zone] = []
    for n, feat in enumerate(feats):
        props = feat.get("properties") or {}
        try:
            geom = shapely.geometry.shape(feat["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise MaritimeInputError(
                f"feature {n} has no valid geometry: {err}", path=source
            ) from None
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise MaritimeInputError(
                f"feature {n} is a {geom.geom_type}, zones must be polygons", path=source
            )
        kind = (
            str(
                props.get("kind")
                or props.get("zone_type")
                or props.get("zone")
                or props.get("type")
                or "custom"
            )
            .lower()
            .replace(" ", "_")
        )
        owner = str(
            props.get("owner")
            or props.get("nation")
            or props.get("iso3")
            or props.get("sovereign")
            or ""
        ).upper()
        if not owner:
            raise MaritimeInputError(
                f"feature {n} ({props.get('name', 'unnamed')}) has no 'owner' property "
                "(ISO3 of the coastal state); add one",
                path=source,
                field="owner",
            )
        allowed_raw = props.get("allowed_flags")
        allowed: frozenset[str] | None
        if allowed_raw == "*" or (allowed_raw is None and kind in _OPEN_KINDS):
            allowed = None
        elif allowed_raw is None:
            allowed = frozenset({owner})
        elif isinstance(allowed_raw, list | str):
            items = allowed_raw.split(",") if isinstance(allowed_raw, str) else allowed_raw
            allowed = frozenset(str(x).strip().upper() for x in items) | {owner}
        else:
            raise MaritimeInputError(
                f"feature {n}: allowed_flags must be a list or '*'",
                path=source,
                field="allowed_flags",
            )
        name = str(props.get("name") or f"{owner} {kind} {n}")
        zones.append(
            Zone(
                name=name,
                kind=kind,
                owner=owner,
                geometry=shapely.make_valid(geom),
                allowed_flags=allowed,
            )
        )
    return zones


class ShoreIndex:
    """Distance from points to the nearest land polygon, in metres (0 on land).

    STRtree finds the candidate polygons near each point; the nearest boundary point is found
    in a local equirectangular frame centred on the point (conformal at the centre, so the
    nearest point is right to second order) and the distance to it is the WGS-84 geodesic.
    Meant for event end-points (hundreds), not for every position.
    """

    def __init__(self, land: Sequence[Any]):
        self.geoms = np.asarray([g for g in land if g is not None and not g.is_empty])
        self.tree = shapely.STRtree(self.geoms)

    def __call__(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        lon = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        out = np.full(lon.size, np.inf)
        if not self.geoms.size:
            return out
        pts = shapely.points(lon, lat)
        on_land = self.tree.query(pts, predicate="intersects")
        out[np.unique(on_land[0])] = 0.0
        _, d_deg = self.tree.query_nearest(pts, return_distance=True, all_matches=False)
        for i in np.flatnonzero(out != 0.0):
            coslat = max(float(np.cos(np.radians(lat[i]))), 0.05)
            r = float(d_deg[i]) / coslat * 1.05 + 1e-6
            x0, y0 = float(lon[i]), float(lat[i])
            cand = self.tree.query(shapely.box(x0 - r, y0 - r, x0 + r, y0 + r))

            def to_local(
                xy: np.ndarray, x0: float = x0, y0: float = y0, c: float = coslat
            ) -> np.ndarray:
                return np.column_stack(((xy[:, 0] - x0) * c, xy[:, 1] - y0))

            best_d, best_xy = np.inf, (x0, y0)
            for geom in self.geoms[cand]:
                part = shapely.clip_by_rect(geom, x0 - r, y0 - r, x0 + r, y0 + r)
                if part.is_empty:
                    continue
                local = shapely.transform(part, to_local)
                near = shapely.shortest_line(shapely.Point(0.0, 0.0), local)
                d = float(near.length)
                if d < best_d:
                    px, py = near.coords[1]
                    best_d, best_xy = d, (x0 + px / coslat, y0 + py)
            if np.isfinite(best_d):
                out[i] = float(
                    geodesic_m(
                        np.array([x0]),
                        np.array([y0]),
                        np.array([best_xy[0]]),
                        np.array([best_xy[1]]),
                    )[0]
                )
        return out
