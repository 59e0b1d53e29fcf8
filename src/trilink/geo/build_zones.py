"""Build script (run once, output committed): national land and approximate maritime zones.

    python -m trilink.geo.build_zones [--workers 2]

Reads the bundled Natural Earth land, populated places, GFW anchorages and WPI ports from
``trilink/geo/data`` and writes

* ``land_east_asia.geojson.gz``: every land part with its nation (see :mod:`.nations`);
* ``shore_distance_grid_east_asia.npz``: exact distance to shore on a 0.1 degree grid, used
  by :func:`trilink.geo.far_from_shore` to decide threshold questions without measuring;
* ``zones_east_asia.geojson``: territorial sea (0-12 nm), contiguous zone (12-24 nm) and EEZ
  (12-200 nm) per nation, for every view of the disputed islands (:mod:`.disputed`). The
  stored territorial sea still contains the nation's own land (its coastline would double the
  file); :func:`trilink.geo.load_zones` subtracts the land when loading.

APPROXIMATION: normal baselines only (no straight baselines, no low-tide elevations), Natural
Earth 1:10M coasts, the median line against every other coast in the data, no treaty or
agreed boundary, no special 3 nm limits (e.g. Japan's specified straits), zones clipped to the
data box 115-155 E, 20-50 N. Good for alerting and maps, not for legal use.

Method: the box is cut into 5 x 5 degree tiles. Each tile is worked in an azimuthal
equidistant projection centred on it, using the land within 200 nm (+ margin) of it, so that
buffers and the nearest-coast partition are metric to well under 0.3 %. The median line is the
nearest-coast (Voronoi) partition of points spaced <= 2 km along every coast, labelled by
nation. Tiles that no disputed group can reach are computed once for all views.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import box, mapping
from shapely.geometry.base import BaseGeometry

from trilink.geo.disputed import DISPUTED_GROUPS, VIEWS, owner_in_view
from trilink.geo.io import DATA_DIR, read_labels, read_raw_land
from trilink.geo.nations import LandPart, assign_nations, land_parts
from trilink.geo.proj import NM_M, aeqd_pair, transform_geom
from trilink.geo.shore import GRID_FILE, build_shore_grid

BBOX = (115.0, 20.0, 155.0, 50.0)
TILE_DEG = 5.0
ZONE_NATIONS = ("CHN", "JPN", "KOR", "PRK", "RUS", "TWN")
TS_M = 12 * NM_M
CZ_M = 24 * NM_M
EEZ_M = 200 * NM_M
COAST_STEP_M = 2_000.0
LAND_SIMPLIFY_M = 100.0
EEZ_LAND_SIMPLIFY_M = 500.0
OUT_SIMPLIFY_DEG = 0.0009  # about 100 m
OUT_DECIMALS = 4
NOTE = (
    "APPROXIMATION built by trilink.geo.build_zones from Natural Earth 1:10M land: normal "
    "baselines, median line against all other coasts in the data, no agreed boundaries; "
    "not for legal use"
)

Piece = tuple[str, str, BaseGeometry]  # nation, zone_type, lon/lat geometry


def _tiles() -> list[tuple[float, float, float, float]]:
    lon0, lat0, lon1, lat1 = BBOX
    out = []
    for lat in np.arange(lat0, lat1, TILE_DEG):
        for lon in np.arange(lon0, lon1, TILE_DEG):
            out.append((float(lon), float(lat), float(lon + TILE_DEG), float(lat + TILE_DEG)))
    return out


def _expanded(tile: tuple[float, float, float, float]) -> BaseGeometry:
    lon0, lat0, lon1, lat1 = tile
    margin_lat = EEZ_M / 111_000.0 + 0.6
    worst_lat = min(89.0, max(abs(lat0), abs(lat1)) + margin_lat)
    margin_lon = margin_lat / math.cos(math.radians(worst_lat))
    return box(lon0 - margin_lon, lat0 - margin_lat, lon1 + margin_lon, lat1 + margin_lat)


def view_labels(parts: list[LandPart], view: str) -> list[str]:
    """Nation of every part in ``view``; disputed parts counted for nobody become "NONE"."""
    groups = {g.feature_id: g for g in DISPUTED_GROUPS}
    out = []
    for part in parts:
        if part.disputed is None:
            out.append(part.nation)
        else:
            owner = owner_in_view(groups[part.disputed], view)
            out.append(owner if owner is not None else "NONE")
    return out


def _tile_job(
    tile: tuple[float, float, float, float], land: list[tuple[str, BaseGeometry]]
) -> list[Piece]:
    """All zone pieces inside one tile; ``land`` is (label, lon/lat geometry) near the tile."""
    lon0, lat0, lon1, lat1 = tile
    fwd, inv = aeqd_pair((lon0 + lon1) / 2, (lat0 + lat1) / 2)
    tile_ll = shapely.segmentize(box(*tile), 0.05)
    tile_p = transform_geom(tile_ll, fwd)
    by_label: dict[str, list[BaseGeometry]] = defaultdict(list)
    for label, geom in land:
        by_label[label].append(transform_geom(geom, fwd))
    merged = {k: shapely.union_all(v) for k, v in sorted(by_label.items())}
    # Nearest-coast partition from points along every coast, labelled by nation.
    xs: list[np.ndarray] = []
    labs: list[np.ndarray] = []
    for k, geom in merged.items():
        ring = shapely.segmentize(shapely.simplify(geom.boundary, LAND_SIMPLIFY_M), COAST_STEP_M)
        coords = shapely.get_coordinates(ring)
        xs.append(coords)
        labs.append(np.full(len(coords), k, dtype=object))
    pts = np.concatenate(xs)
    lab = np.concatenate(labs)
    pts_r, first = np.unique(np.round(pts, 0), axis=0, return_index=True)
    lab = lab[first]
    extent = shapely.buffer(tile_p.envelope, EEZ_M * 2)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(pts_r), extend_to=extent, ordered=True)
    )
    out: list[Piece] = []
    for nation in ZONE_NATIONS:
        if nation not in merged:
            continue
        cell = shapely.intersection(shapely.coverage_union_all(cells[lab == nation]), tile_p)
        if cell.is_empty:
            continue
        land_n = merged[nation]
        ts_buf = shapely.buffer(shapely.simplify(land_n, LAND_SIMPLIFY_M), TS_M, quad_segs=16)
        cz_buf = shapely.buffer(shapely.simplify(land_n, LAND_SIMPLIFY_M), CZ_M, quad_segs=16)
        eez_buf = shapely.buffer(
            shapely.simplify(land_n, EEZ_LAND_SIMPLIFY_M), EEZ_M, quad_segs=16
        )
        zones = {
            "territorial_sea": ts_buf,
            "contiguous_zone": shapely.difference(cz_buf, ts_buf),
            "eez": shapely.difference(eez_buf, ts_buf),
        }
        for zone_type, geom in zones.items():
            # Land is not subtracted here (it would copy every coastline vertex into the file);
            # only the territorial sea touches land, and load_zones() removes it at load time.
            piece = shapely.make_valid(shapely.intersection(geom, cell))
            polys = [g for g in shapely.get_parts(piece) if g.geom_type == "Polygon"]
            if polys:
                out.append((nation, zone_type, transform_geom(shapely.multipolygons(polys), inv)))
    return out


def _finish(pieces: Iterable[BaseGeometry]) -> BaseGeometry:
    snapped = [shapely.set_precision(g, 1e-7) for g in pieces]
    merged = shapely.union_all(snapped)
    simple = shapely.simplify(merged, OUT_SIMPLIFY_DEG, preserve_topology=True)
    simple = shapely.set_precision(simple, 10.0**-OUT_DECIMALS)
    simple = shapely.make_valid(simple)
    polys = [g for g in shapely.get_parts(simple) if g.geom_type == "Polygon" and g.area > 0]
    return shapely.multipolygons(polys)


def build(workers: int = 2, views: tuple[str, ...] = VIEWS) -> tuple[list[LandPart], dict]:  # type: ignore[type-arg]
    """Assign land and compute every view's zones; returns (land parts, GeoJSON dict)."""
    parts = assign_nations(land_parts(read_raw_land("east_asia")), read_labels())
    tree = shapely.STRtree([p.geometry for p in parts])
    tiles = _tiles()
    jobs: dict[tuple[object, ...], tuple[tuple[float, float, float, float], list]] = {}  # type: ignore[type-arg]
    plan: dict[str, list[tuple[object, ...]]] = defaultdict(list)
    for view in views:
        labels = view_labels(parts, view)
        for tile in tiles:
            exp = _expanded(tile)
            idx = sorted(int(i) for i in tree.query(exp, predicate="intersects"))
            if not idx:
                continue
            key_disp = tuple((i, labels[i]) for i in idx if parts[i].disputed is not None)
            key: tuple[object, ...] = (tile, key_disp)
            plan[view].append(key)
            if key not in jobs:
                land = [(labels[i], shapely.intersection(parts[i].geometry, exp)) for i in idx]
                jobs[key] = (tile, [(lab, g) for lab, g in land if not g.is_empty])
    keys = list(jobs)
    tiles_arg = [jobs[k][0] for k in keys]
    land_arg = [jobs[k][1] for k in keys]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = dict(zip(keys, pool.map(_tile_job, tiles_arg, land_arg), strict=True))
    features = []
    # Group identical (nation, zone_type) geometries across views to keep the file small.
    by_geom: dict[tuple[str, str, bytes], list[str]] = defaultdict(list)
    geoms: dict[tuple[str, str, bytes], BaseGeometry] = {}
    for view in views:
        acc: dict[tuple[str, str], list[BaseGeometry]] = defaultdict(list)
        for key in plan[view]:
            for nation, zone_type, geom in results[key]:
                acc[(nation, zone_type)].append(geom)
        for (nation, zone_type), pieces in sorted(acc.items()):
            final = _finish(pieces)
            wkb = shapely.to_wkb(shapely.normalize(final))
            by_geom[(nation, zone_type, wkb)].append(view)
            geoms[(nation, zone_type, wkb)] = final
    for (nation, zone_type, wkb), view_list in by_geom.items():
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "nation": nation,
                    "zone_type": zone_type,
                    "views": view_list,
                    "source": NOTE,
                },
                "geometry": mapping(geoms[(nation, zone_type, wkb)]),
            }
        )
    collection = {
        "type": "FeatureCollection",
        "name": "zones_east_asia",
        "note": NOTE,
        "bbox": list(BBOX),
        "features": features,
    }
    return parts, collection


def land_collection(parts: list[LandPart]) -> dict:  # type: ignore[type-arg]
    """GeoJSON of assigned land parts."""
    feats = []
    for part in parts:
        geom = shapely.set_precision(part.geometry, 1e-6)
        feats.append(
            {
                "type": "Feature",
                "properties": {
                    "nation": part.nation,
                    "method": part.method,
                    "disputed": part.disputed,
                },
                "geometry": mapping(geom),
            }
        )
    return {"type": "FeatureCollection", "name": "land_east_asia", "features": feats}


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: build and write the two files into ``trilink/geo/data``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    parts, zones = build(workers=args.workers)
    args.out.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(args.out / "land_east_asia.geojson.gz", "wb", mtime=0) as fh:
        fh.write(json.dumps(land_collection(parts), separators=(",", ":")).encode())
    (args.out / "zones_east_asia.geojson").write_text(
        json.dumps(zones, separators=(",", ":")), encoding="utf-8"
    )
    # The threshold grid is measured on the land now in the package (rerun after a land change).
    grid = build_shore_grid()
    np.savez_compressed(
        args.out / GRID_FILE, lats=grid["lats"], lons=grid["lons"], d20m=grid["d20m"]
    )
    dt = time.perf_counter() - t0
    n = len(zones["features"])
    size = (args.out / "zones_east_asia.geojson").stat().st_size
    sys.stderr.write(f"{len(parts)} land parts, {n} zone features, {size} bytes, {dt:.0f} s\n")


if __name__ == "__main__":
    main()
