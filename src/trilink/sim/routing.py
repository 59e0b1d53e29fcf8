"""Sea routes between real East Asian ports for the scenario generator.

Ports are World Port Index entries (via GFW, bundled in trilink.geo). Open-water waypoints
(straits, capes, bay entrances) were placed by hand; an edge joins two nodes when the
great-circle leg between them stays at least :data:`CLEARANCE_DEG` from Natural Earth land,
except within :data:`PORT_SLACK_M` of a port (Natural Earth 1:10M draws many harbours inland).
Routes are shortest paths on that visibility graph, densified along great circles.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from trilink.geo import distance_to_shore_m, is_on_land, load_land
from trilink.geo.proj import GEOD

CLEARANCE_DEG = 0.005  # about 500 m
PORT_SLACK_M = 9_000.0
DENSIFY_M = 2_000.0

#: (name, iso3, lat, lon, kind) from WPI; kind: "cargo" (container/bulk/tanker) or "fishing".
PORTS: tuple[tuple[str, str, float, float, str], ...] = (
    ("PUSAN", "KOR", 35.1, 129.033333, "cargo"),
    ("ULSAN", "KOR", 35.45, 129.4, "cargo"),
    ("POHANG", "KOR", 36.05, 129.383333, "cargo"),
    ("PYEONGTAEK HANG", "KOR", 37.0, 126.8, "cargo"),
    ("CHEJU HANG", "KOR", 33.516667, 126.533333, "fishing"),
    ("TOKYO KO", "JPN", 35.666667, 139.75, "cargo"),
    ("YOKOHAMA KO", "JPN", 35.45, 139.583333, "cargo"),
    ("CHIBA KO", "JPN", 35.583333, 140.066667, "cargo"),
    ("NAGOYA KO", "JPN", 35.066667, 136.866667, "cargo"),
    ("KOBE", "JPN", 34.65, 135.183333, "cargo"),
    ("OSAKA", "JPN", 34.65, 135.433333, "cargo"),
    ("HAKATA", "JPN", 33.6, 130.4, "cargo"),
    ("NIIGATA KO", "JPN", 37.916667, 139.05, "cargo"),
    ("TOMAKOMAI KO", "JPN", 42.633333, 141.633333, "cargo"),
    ("KUSHIRO KO", "JPN", 42.983333, 144.366667, "fishing"),
    ("HACHINOHE KO", "JPN", 40.533333, 141.55, "fishing"),
    ("SAKAIMINATO", "JPN", 35.533333, 133.233333, "fishing"),
    ("NAGASAKI", "JPN", 32.716667, 129.85, "fishing"),
    ("NAHA KO", "JPN", 26.216667, 127.683333, "cargo"),
    ("SHANGHAI", "CHN", 31.216667, 121.5, "cargo"),
    ("NINGBO", "CHN", 29.883333, 121.55, "cargo"),
    ("QINGDAO GANG", "CHN", 36.033333, 120.266667, "cargo"),
    ("RIZHAO", "CHN", 35.383333, 119.566667, "cargo"),
    ("LIANYUNGANG", "CHN", 34.733333, 119.45, "cargo"),
    ("YANTAI", "CHN", 37.55, 121.45, "fishing"),
    ("DALIAN", "CHN", 38.916667, 121.666667, "cargo"),
    ("TIANJIN XIN GANG", "CHN", 38.966667, 117.833333, "cargo"),
    ("XIAMEN", "CHN", 24.45, 118.066667, "cargo"),
    ("KAOHSIUNG", "TWN", 22.616667, 120.283333, "cargo"),
    ("KEELUNG", "TWN", 25.15, 121.75, "cargo"),
    ("VLADIVOSTOK", "RUS", 43.116667, 131.9, "cargo"),
    ("NAKHODKA", "RUS", 42.8, 132.883333, "cargo"),
    ("VOSTOCHNYY", "RUS", 42.75, 133.083333, "cargo"),
)

#: Open-water waypoints (name, lat, lon), placed by hand off straits, capes and bay mouths.
WAYPOINTS: tuple[tuple[str, float, float], ...] = (
    ("korea_strait_w", 34.78, 129.05),
    ("korea_strait_e", 34.00, 129.50),
    ("busan_off", 34.95, 129.20),
    ("south_of_jeju", 32.90, 126.60),
    ("jeju_strait", 33.85, 126.70),
    ("south_korea_sw", 34.10, 125.30),
    ("yellow_sea_s", 34.50, 124.30),
    ("yellow_sea_c", 36.00, 124.20),
    ("yellow_sea_n", 37.20, 124.10),
    ("incheon_off", 37.25, 126.20),
    ("bohai_strait", 38.25, 121.10),
    ("bohai_c", 38.80, 119.50),
    ("tianjin_off", 38.95, 118.20),
    ("dalian_off", 38.75, 122.00),
    ("yantai_off", 37.75, 121.60),
    ("shandong_e", 37.30, 123.00),
    ("qingdao_off", 35.85, 120.60),
    ("rizhao_off", 35.30, 119.85),
    ("lianyungang_off", 34.80, 119.75),
    ("yangtze_mouth", 31.05, 122.50),
    ("yangtze_south_channel", 31.25, 122.00),
    ("zhoushan_off", 30.00, 122.90),
    ("ecs_n", 32.00, 125.00),
    ("ecs_c", 30.50, 125.50),
    ("ecs_s", 28.50, 124.00),
    ("taiwan_n", 26.30, 122.20),
    ("keelung_off", 25.30, 121.85),
    ("taiwan_strait_n", 25.30, 120.40),
    ("taiwan_strait_c", 24.20, 119.60),
    ("xiamen_off", 24.30, 118.20),
    ("kaohsiung_off", 22.55, 120.10),
    ("miyako_strait", 25.30, 126.30),
    ("naha_off", 26.20, 127.50),
    ("kyushu_w", 32.70, 129.40),
    ("nagasaki_off", 32.70, 129.70),
    ("hakata_off", 33.75, 130.20),
    ("osumi_strait", 30.85, 130.50),
    ("kyushu_se", 31.50, 131.80),
    ("shikoku_s", 32.60, 133.50),
    ("kii_channel", 33.90, 135.00),
    ("osaka_bay", 34.45, 135.20),
    ("kitan_strait", 34.29, 134.985),
    ("kii_s", 33.20, 135.80),
    ("ise_bay_mouth", 34.50, 137.00),
    ("irago_channel", 34.56, 136.93),
    ("ise_bay", 34.80, 136.75),
    ("omaezaki_off", 34.30, 138.20),
    ("izu_s", 34.40, 139.20),
    ("uraga_s", 35.10, 139.72),
    ("oshima_e", 34.70, 139.60),
    ("uraga_channel", 35.25, 139.77),
    ("tokyo_bay_s", 35.35, 139.78),
    ("tokyo_bay", 35.45, 139.85),
    ("boso_s", 34.75, 140.00),
    ("boso_e", 35.20, 141.00),
    ("fukushima_off", 37.00, 141.50),
    ("sanriku_off", 39.50, 142.30),
    ("tsugaru_e", 41.40, 141.80),
    ("tsugaru", 41.45, 140.50),
    ("tsugaru_w", 41.30, 139.80),
    ("tomakomai_off", 42.45, 141.60),
    ("erimo_off", 41.80, 143.40),
    ("kushiro_off", 42.80, 144.40),
    ("hachinohe_off", 40.60, 141.75),
    ("sea_of_japan_sw", 36.50, 130.50),
    ("sea_of_japan_oki", 36.70, 133.00),
    ("sakaiminato_off", 35.70, 133.30),
    ("sea_of_japan_c", 39.00, 134.00),
    ("sea_of_japan_e", 38.50, 137.50),
    ("niigata_off", 38.10, 138.80),
    ("noto_n", 37.80, 137.00),
    ("sea_of_japan_n", 41.50, 135.00),
    ("peter_the_great_bay", 42.70, 132.00),
    ("nakhodka_off", 42.65, 133.00),
    ("east_korea_c", 37.60, 130.20),
    ("pohang_off", 36.05, 129.60),
    ("ulsan_off", 35.40, 129.55),
)


@dataclass(frozen=True)
class Graph:
    """Visibility graph over ports and waypoints."""

    names: tuple[str, ...]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    is_port: NDArray[np.bool_]
    dist_m: NDArray[np.float64]  # dense (n, n), inf where no edge
    dropped: tuple[str, ...]


def great_circle(
    lat1: float, lon1: float, lat2: float, lon2: float, step_m: float = DENSIFY_M
) -> NDArray[np.float64]:
    """Points (n, 2) as lat, lon along the great circle, both ends included, <= step_m apart."""
    _, _, dist = GEOD.inv(lon1, lat1, lon2, lat2)
    n = max(1, int(np.ceil(dist / step_m)))
    if n == 1:
        return np.asarray([[lat1, lon1], [lat2, lon2]])
    mid = GEOD.npts(lon1, lat1, lon2, lat2, n - 1)
    pts = [(lat1, lon1)] + [(la, lo) for lo, la in mid] + [(lat2, lon2)]
    return np.asarray(pts, dtype=np.float64)


def leg_points(
    lat1: float, lon1: float, lat2: float, lon2: float, slack1_m: float, slack2_m: float
) -> NDArray[np.float64]:
    """Points (lat, lon) of a leg that must keep clear of land (port ends trimmed)."""
    pts = great_circle(lat1, lon1, lat2, lon2, 1_000.0)
    n = len(pts)
    keep = np.ones(n, dtype=bool)
    if slack1_m > 0:
        d1 = GEOD.inv(np.full(n, lon1), np.full(n, lat1), pts[:, 1], pts[:, 0])[2]
        keep &= np.asarray(d1) > slack1_m
    if slack2_m > 0:
        d2 = GEOD.inv(np.full(n, lon2), np.full(n, lat2), pts[:, 1], pts[:, 0])[2]
        keep &= np.asarray(d2) > slack2_m
    return pts[keep]


def legs_clear(legs: list[NDArray[np.float64]]) -> NDArray[np.bool_]:
    """For each leg (points lat, lon), True if no point is within CLEARANCE_DEG of land."""
    tree, _parts = _land_tree()
    lines: list[shapely.Geometry | None] = []
    for pts in legs:
        if len(pts) == 0:
            lines.append(None)
        elif len(pts) == 1:
            lines.append(shapely.Point(pts[0, 1], pts[0, 0]))
        else:
            lines.append(shapely.linestrings(pts[:, 1], pts[:, 0]))
    arr = np.asarray(lines, dtype=object)
    ok = np.ones(len(legs), dtype=bool)
    valid = np.flatnonzero([g is not None for g in lines])
    if valid.size:
        hits = tree.query(arr[valid], predicate="dwithin", distance=CLEARANCE_DEG)
        ok[valid[np.unique(hits[0])]] = False
    return ok


@lru_cache(maxsize=1)
def _land_tree() -> tuple[shapely.STRtree, NDArray[np.object_]]:
    parts = np.asarray(shapely.get_parts(load_land(None)), dtype=object)
    return shapely.STRtree(parts), parts


@lru_cache(maxsize=1)
def graph() -> Graph:
    """Build (once per process) the visibility graph; nodes on land are dropped."""
    names: list[str] = []
    lat: list[float] = []
    lon: list[float] = []
    is_port: list[bool] = []
    dropped: list[str] = []
    for name, _iso, la, lo, _kind in PORTS:
        names.append(name)
        lat.append(la)
        lon.append(lo)
        is_port.append(True)
    for name, la, lo in WAYPOINTS:
        if not legs_clear([np.asarray([[la, lo]])])[0]:
            dropped.append(name)
            continue
        names.append(name)
        lat.append(la)
        lon.append(lo)
        is_port.append(False)
    n = len(names)
    la_a = np.asarray(lat)
    lo_a = np.asarray(lon)
    port_a = np.asarray(is_port)
    # Ports drawn inland by Natural Earth need a longer unchecked stretch to reach open water.
    on_land = is_on_land(la_a, lo_a)
    shore = distance_to_shore_m(la_a, lo_a)
    slack = np.where(port_a, PORT_SLACK_M + np.where(on_land, shore, 0.0), 0.0)
    dist = np.full((n, n), np.inf)
    pairs: list[tuple[int, int, float]] = []
    legs: list[NDArray[np.float64]] = []
    for i in range(n):
        for j in range(i + 1, n):
            _, _, d = GEOD.inv(lo_a[i], la_a[i], lo_a[j], la_a[j])
            if d > 900_000 or (port_a[i] and port_a[j]):
                continue
            pairs.append((i, j, float(d)))
            legs.append(leg_points(la_a[i], lo_a[i], la_a[j], lo_a[j], slack[i], slack[j]))
    for (i, j, d), ok in zip(pairs, legs_clear(legs), strict=True):
        if ok:
            dist[i, j] = dist[j, i] = d
    return Graph(tuple(names), la_a, lo_a, port_a, dist, tuple(dropped))


@lru_cache(maxsize=4096)
def route(origin: str, destination: str) -> NDArray[np.float64] | None:
    """Densified (n, 2) lat/lon route between two ports, or None if they are not connected."""
    g = graph()
    i, j = g.names.index(origin), g.names.index(destination)
    w = np.where(np.isfinite(g.dist_m), g.dist_m, 0.0)
    dist, pred = dijkstra(csr_matrix(w), directed=False, indices=i, return_predecessors=True)
    if not np.isfinite(dist[j]):
        return None
    path = [j]
    while path[-1] != i:
        path.append(int(pred[path[-1]]))
    path.reverse()
    pts: list[NDArray[np.float64]] = []
    for a, b in zip(path[:-1], path[1:], strict=True):
        leg = great_circle(g.lat[a], g.lon[a], g.lat[b], g.lon[b])
        pts.append(leg if not pts else leg[1:])
    return np.concatenate(pts)


def port_info(name: str) -> tuple[str, float, float, str]:
    """(iso3, lat, lon, kind) of a named port in :data:`PORTS`."""
    for n, iso, la, lo, kind in PORTS:
        if n == name:
            return iso, la, lo, kind
    raise KeyError(name)
