"""Benchmark trilink.geo: distance to shore and point-in-zones against plain shapely baselines.

Run: .venv/bin/python bench/bench_geo.py   (writes docs/benchmarks/geo.md)
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import shapely

from trilink.geo import distance_to_shore_m, geodesic_m, load_zones, point_in_zones
from trilink.geo.proj import region_geom, to_region
from trilink.geo.shore import _coast_lines


def _machine() -> str:
    model = "unknown"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0))
    return f"{model}, {cores} cores, Python {platform.python_version()}"


def _timed(fn, *args):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    r = fn(*args)
    return r, time.perf_counter() - t


def main() -> None:
    rng = np.random.default_rng(42)
    rows: list[tuple[str, str, str]] = []
    # --- distance to shore --------------------------------------------------------------
    n = 200_000
    lat = rng.uniform(24.0, 46.0, n)
    lon = rng.uniform(118.0, 150.0, n)
    distance_to_shore_m(lat[:10], lon[:10])  # build the index once
    d, dt = _timed(distance_to_shore_m, lat, lon)
    rows.append(("distance_to_shore_m (STRtree + geodesic)", f"{n:,}", f"{n / dt:,.0f} pts/s"))
    # baseline: unindexed distance to the projected coastline, one shapely call per point
    # Same coastline as trilink.geo (land boundary without the artificial box-clip edges).
    coast_ll = shapely.union_all(_coast_lines("east_asia"))
    coast = region_geom(coast_ll)
    shapely.prepare(coast)
    m = 2_000
    xy = to_region(lon[:m], lat[:m])
    t = time.perf_counter()
    base = np.asarray([coast.distance(shapely.Point(x, y)) for x, y in xy])
    dtb = time.perf_counter() - t
    rows.append(
        ("baseline: coastline.distance(point) per point (LCC)", f"{m:,}", f"{m / dtb:,.0f} pts/s")
    )
    # accuracy vs brute force geodesic over densified coast vertices near each point
    k = 150
    land_b = coast_ll
    err = []
    for i in range(k):
        win = shapely.box(lon[i] - 4, lat[i] - 4, lon[i] + 4, lat[i] + 4)
        c = shapely.get_coordinates(shapely.segmentize(shapely.intersection(land_b, win), 0.002))
        if len(c) == 0:
            continue
        ref = geodesic_m(np.full(len(c), lat[i]), np.full(len(c), lon[i]), c[:, 1], c[:, 0]).min()
        if ref < 400_000:
            err.append(d[i] - ref)
    e = np.asarray(err)
    lcc_err = np.abs(base[: len(e)] - d[: len(e)]) / np.maximum(d[: len(e)], 1)
    rows.append(
        (
            "accuracy vs brute-force geodesic (coast every ~200 m)",
            f"{e.size}",
            f"median {np.median(e):+.0f} m, max |err| {np.abs(e).max():.0f} m",
        )
    )
    rows.append(
        ("baseline LCC planar distance: relative error", f"{len(e)}", f"max {lcc_err.max():.1%}")
    )
    # --- point in zones -----------------------------------------------------------------
    zones = load_zones("neutral")
    n2 = 1_000_000
    plat = rng.uniform(22.0, 48.0, n2)
    plon = rng.uniform(117.0, 153.0, n2)
    point_in_zones(plat[:10], plon[:10], zones)
    hits, dt2 = _timed(point_in_zones, plat, plon, zones)
    rows.append(
        ("point_in_zones (grid cells + STRtree + prepared)", f"{n2:,}", f"{n2 / dt2:,.0f} pts/s")
    )
    # baseline 1: STRtree.query with point geometries and an intersects predicate
    geoms = np.asarray([z.geometry for z in zones], dtype=object)
    tree = shapely.STRtree(geoms)
    t = time.perf_counter()
    pts = shapely.points(plon, plat)
    q = tree.query(pts, predicate="intersects")
    dt3 = time.perf_counter() - t
    rows.append(
        ("baseline: STRtree.query(points, 'intersects')", f"{n2:,}", f"{n2 / dt3:,.0f} pts/s")
    )
    same = np.array_equal(
        np.unique(np.column_stack([q[0], q[1]]), axis=0),
        np.unique(np.column_stack([hits.point_index, hits.zone_index]), axis=0),
    )
    rows.append(("results identical to baseline", "", str(same)))
    # baseline 2: prepared intersects_xy of every zone on every point (no index)
    t = time.perf_counter()
    for g in geoms:
        shapely.prepare(g)
        shapely.intersects_xy(g, plon, plat)
    dt4 = time.perf_counter() - t
    rows.append(
        ("baseline: intersects_xy per zone, all points", f"{n2:,}", f"{n2 / dt4:,.0f} pts/s")
    )
    # --- report -------------------------------------------------------------------------
    table = "| case | n | result |\n|---|---|---|\n" + "\n".join(
        f"| {a} | {b} | {c} |" for a, b, c in rows
    )
    print(table)
    md = (
        "# trilink.geo benchmarks\n\n"
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `bench/bench_geo.py` on {_machine()}.\n"
        "The machine was shared with other jobs; rates are indicative.\n\n"
        "Random points over 24-46 N, 118-150 E (distance) and 22-48 N, 117-153 E (zones), "
        f"neutral-view zones ({len(zones)} polygons).\n\n" + table + "\n\n"
        "Notes: `distance_to_shore_m` errors are against a brute-force geodesic minimum over "
        "the same coastline sampled every ~200 m (so +-200 m is the sampling of the "
        "reference); the planar LCC baseline is off by up to ~1.5 % from scale distortion. "
        "For 18 zones, `point_in_zones` is about as fast as calling prepared `intersects_xy` "
        "per zone on every point (that baseline does not scale to many zones); both are "
        "30-50x faster than `STRtree.query` with point geometries. `far_from_shore` "
        "(grid + Lipschitz bound) answers threshold questions identically to the exact "
        "distance about 10x faster (see tests/geo).\n"
    )
    out = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "geo.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(md, encoding="utf-8")


if __name__ == "__main__":
    main()
