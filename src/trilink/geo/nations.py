"""Assigning Natural Earth land (which has no country attribute) to nations.

Method (documented in data/SOURCES.md, run once by ``build_zones``):

1. Land = union of ``ne_10m_land`` and ``ne_10m_minor_islands`` (the two layers repeat some
   islands), exploded into parts.
2. Labelled points: Natural Earth populated places (``adm0_a3``), GFW named anchorages and WPI
   ports (``iso3``) in the region, plus a few hand-placed seeds either side of the coastal end
   of each land border (:data:`BORDER_SEEDS`) because PRK has no anchorages in the GFW list.
3. Parts inside one of the :data:`OVERRIDES` boxes take that box's nation. These are island
   groups administered by a state the labels cannot show: remote Japanese islands with no
   label (Nanpo, Daito), the Kurils north of the disputed group, the ROK Northwest Islands
   next to the DPRK coast, Kinmen and Matsu next to the PRC coast, and the US Northern
   Mariana islets at the corner of the box. They state administration, not a view on
   sovereignty.
4. A part whose labels within :data:`NEAR_M` all name one nation gets that nation. A small
   part with labels of several nations goes to the majority; a large one is split between
   them by the nearest-label (Voronoi) partition, computed in the regional conformal CRS.
5. Remaining parts are chained nearest-first (single linkage): repeatedly, the unassigned
   part closest to any assigned part takes that part's nation, if within
   :data:`CHAIN_MAX_M`; islands out of reach stay ``"UNK"``.
6. Disputed groups (:mod:`trilink.geo.disputed`) are tagged and decided only by a view.

Land borders inland are therefore approximate (tens of km); what matters for maritime zones is
where a coast changes nation, which the seeds pin to within a few km.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from trilink.geo.disputed import DISPUTED_GROUPS
from trilink.geo.proj import region_geom, region_transformers, to_region, transform_geom

NEAR_M = 3_000.0
CHAIN_MAX_M = 150_000.0
#: Parts below this area (km2) with labels of several nations go to the majority label
#: instead of being split (a small island belongs to one state).
SPLIT_MIN_AREA_KM2 = 2_000.0

#: (nation, lat, lon, why): seeds on each side of the coastal end of land borders. Positions
#: are approximate (about 5 km) from general geographic knowledge, not from a survey.
BORDER_SEEDS: tuple[tuple[str, float, float, str], ...] = (
    ("KOR", 38.55, 128.40, "south of the MDL at the East Sea coast (Goseong)"),
    ("PRK", 38.70, 128.30, "north of the MDL at the East Sea coast"),
    ("KOR", 37.70, 126.48, "Ganghwa, south of the Han estuary"),
    ("PRK", 37.88, 126.52, "Kaepung, north of the Han estuary"),
    ("CHN", 39.88, 124.12, "Donggang, west of the Yalu mouth"),
    ("PRK", 39.78, 124.52, "east of the Yalu mouth"),
    ("PRK", 42.22, 130.56, "south-west of the Tumen mouth"),
    ("RUS", 42.40, 130.72, "Khasan, north-east of the Tumen mouth"),
    ("CHN", 42.60, 130.45, "Fangchuan, China's strip short of the sea on the Tumen"),
)


#: (nation, (lon0, lat0, lon1, lat1), name): parts whose representative point is in the box.
OVERRIDES: tuple[tuple[str, tuple[float, float, float, float], str], ...] = (
    ("JPN", (139.0, 24.0, 154.5, 34.2), "Nanpo: southern Izu, Ogasawara, Volcano Is., Minamitori"),
    ("JPN", (130.9, 24.3, 131.5, 26.1), "Daito Islands"),
    ("RUS", (149.1, 45.0, 155.0, 50.0), "Kuril Islands north of the disputed group"),
    ("USA", (144.0, 20.0, 146.5, 21.0), "Northern Mariana Islands (Farallon de Pajaros, Maug)"),
    ("KOR", (124.55, 37.70, 124.85, 38.02), "Baengnyeong, Daecheong, Socheong (Northwest Is.)"),
    ("KOR", (125.60, 37.58, 125.78, 37.70), "Yeonpyeong (Northwest Islands)"),
    ("TWN", (118.22, 24.38, 118.48, 24.50), "Kinmen and Lieyu"),
    ("TWN", (119.88, 26.13, 120.05, 26.26), "Matsu: Nangan, Beigan"),
    ("TWN", (119.90, 25.93, 120.00, 26.00), "Matsu: Juguang"),
    ("TWN", (120.45, 26.33, 120.53, 26.40), "Matsu: Dongyin"),
)


@dataclass(frozen=True, slots=True)
class Labels:
    """Labelled points: nation codes with lon/lat."""

    nation: NDArray[np.str_]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LandPart:
    """One assigned land polygon (lon/lat)."""

    geometry: BaseGeometry
    nation: str
    method: str
    disputed: str | None = None


def land_parts(geoms: list[BaseGeometry]) -> list[BaseGeometry]:
    """Union the input land layers (removing the duplicated islands) and explode to parts."""
    merged = shapely.union_all(np.asarray(geoms, dtype=object))
    parts = list(shapely.get_parts(merged))
    # Sort by descending area, then position, so part order is deterministic.
    parts.sort(key=lambda g: (-round(g.area, 9), round(g.bounds[0], 6), round(g.bounds[1], 6)))
    return parts


def _disputed_group(part: BaseGeometry) -> str | None:
    rp = part.representative_point()
    for group in DISPUTED_GROUPS:
        lon0, lat0, lon1, lat1 = group.box
        if lon0 <= rp.x <= lon1 and lat0 <= rp.y <= lat1 and part.area < group.max_part_area_deg2:
            return group.feature_id
    return None


def _override(part: BaseGeometry) -> tuple[str, str] | None:
    rp = part.representative_point()
    for nation, (lon0, lat0, lon1, lat1), name in OVERRIDES:
        if lon0 <= rp.x <= lon1 and lat0 <= rp.y <= lat1 and part.area < 1.0:
            return nation, f"override: {name}"
    return None


def assign_nations(parts: list[BaseGeometry], labels: Labels) -> list[LandPart]:
    """Assign each land part to a nation (see module docstring); may split multi-nation parts."""
    xy = to_region(labels.lon, labels.lat)
    tree = shapely.STRtree(shapely.points(xy))
    inv = region_transformers()[1]
    assigned: list[LandPart] = []
    pending: list[BaseGeometry] = []
    voronoi_cells: dict[str, BaseGeometry] | None = None
    for part in parts:
        disputed = _disputed_group(part)
        if disputed is not None:
            assigned.append(LandPart(part, "DISPUTED", "disputed group", disputed))
            continue
        forced = _override(part)
        if forced is not None:
            assigned.append(LandPart(part, forced[0], forced[1]))
            continue
        proj = region_geom(part)
        near = tree.query(proj, predicate="dwithin", distance=NEAR_M)
        nations = Counter(str(labels.nation[i]) for i in near)
        if len(nations) == 1:
            assigned.append(LandPart(part, next(iter(nations)), f"{len(near)} labels near"))
        elif len(nations) > 1 and proj.area / 1e6 < SPLIT_MIN_AREA_KM2:
            nation, count = nations.most_common(1)[0]
            assigned.append(LandPart(part, nation, f"majority of labels ({count}/{len(near)})"))
        elif len(nations) > 1:
            if voronoi_cells is None:
                voronoi_cells = _nation_cells(xy, labels.nation)
            for nation, cell in voronoi_cells.items():
                piece = shapely.intersection(proj, cell)
                for sub in shapely.get_parts(piece):
                    if sub.area > 0:
                        geom = transform_geom(sub, inv)
                        assigned.append(LandPart(geom, nation, "split by nearest label"))
        else:
            pending.append(part)
    return assigned + _chain(assigned, pending)


def _chain(assigned: list[LandPart], pending: list[BaseGeometry]) -> list[LandPart]:
    """Nearest-first single-linkage assignment of unlabelled parts (see module docstring)."""
    if not pending:
        return []
    anchors = [p for p in assigned if p.nation != "DISPUTED"]
    a_proj = np.asarray([region_geom(p.geometry) for p in anchors], dtype=object)
    p_proj = np.asarray([region_geom(g) for g in pending], dtype=object)
    dist = shapely.distance(p_proj[:, None], a_proj[None, :])
    best_j = np.argmin(dist, axis=1)
    best_d = dist[np.arange(len(pending)), best_j]
    best_n = np.asarray([anchors[j].nation for j in best_j], dtype=object)
    pp = shapely.distance(p_proj[:, None], p_proj[None, :])
    done = np.zeros(len(pending), dtype=bool)
    out: list[LandPart] = []
    while not done.all():
        cand = np.where(done, np.inf, best_d)
        k = int(np.argmin(cand))
        if cand[k] > CHAIN_MAX_M:
            break
        done[k] = True
        out.append(LandPart(pending[k], str(best_n[k]), f"chained {cand[k]:.0f} m"))
        closer = (~done) & (pp[k] < best_d)
        best_d[closer] = pp[k][closer]
        best_n[closer] = best_n[k]
    for rest in np.flatnonzero(~done):
        out.append(
            LandPart(pending[int(rest)], "UNK", f"no assigned land within {CHAIN_MAX_M:.0f} m")
        )
    return out


def _nation_cells(xy: NDArray[np.float64], nation: NDArray[np.str_]) -> dict[str, BaseGeometry]:
    uniq, idx = np.unique(np.round(xy, 1), axis=0, return_index=True)
    pts = shapely.multipoints(uniq)
    cells = shapely.get_parts(shapely.voronoi_polygons(pts, ordered=True))
    nat = nation[idx]
    return {str(n): shapely.coverage_union_all(cells[nat == n]) for n in sorted(set(nat.tolist()))}
