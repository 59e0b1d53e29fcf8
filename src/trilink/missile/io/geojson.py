"""GeoJSON geometries as RFC 7946 wants them: longitude first and within -180..180, lines that
cross the antimeridian cut there (section 3.1.9), polygon exterior rings counterclockwise
(right-hand rule, section 3.1.6), no ``crs`` member (WGS-84 is implied)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from trilink.geo.ellipse import ellipse_ring as geo_ellipse_ring
from trilink.geo.ellipse import ring_is_counterclockwise
from trilink.missile.frames import ecef_to_geodetic
from trilink.missile.sim.scenario import Truth

__all__ = [
    "ellipse_ring",
    "feature",
    "line_geometry",
    "point_geometry",
    "ring_is_counterclockwise",
    "truth_features",
    "wrap_lon",
]


def wrap_lon(lon: float) -> float:
    """Longitude in degrees within [-180, 180)."""
    return (lon + 180.0) % 360.0 - 180.0


def line_geometry(coords: Sequence[Sequence[float]]) -> dict[str, Any]:
    """A LineString of ``[lon, lat(, alt)]`` points (wrapped to -180..180), or a
    MultiLineString cut at the antimeridian when the line crosses it (the point on the cut is
    interpolated and ends one part and starts the next)."""
    parts: list[list[list[float]]] = [[]]
    prev: list[float] | None = None
    for c in coords:
        cur = [wrap_lon(float(c[0])), *(float(v) for v in c[1:])]
        if prev is not None and abs(cur[0] - prev[0]) > 180.0:
            east = prev[0] > 0.0  # crossing eastwards over +180, or westwards over -180
            span = (
                (180.0 - prev[0]) + (cur[0] + 180.0)
                if east
                else (prev[0] + 180.0) + (180.0 - cur[0])
            )
            f = ((180.0 - prev[0]) if east else (prev[0] + 180.0)) / span
            mid = [prev[k] + f * (cur[k] - prev[k]) for k in range(1, len(cur))]
            edge = 180.0 if east else -180.0
            parts[-1].append([edge, *mid])
            parts.append([[-edge, *mid]])
        parts[-1].append(cur)
        prev = cur
    if len(parts) == 1:
        return {"type": "LineString", "coordinates": parts[0]}
    return {"type": "MultiLineString", "coordinates": parts}


def point_geometry(lon: float, lat: float, *rest: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [wrap_lon(lon), lat, *rest]}


def ellipse_ring(
    lat: float, lon: float, semi_major_m: float, semi_minor_m: float, az_deg: float, n: int = 48
) -> list[list[float]]:
    """Closed, counterclockwise lon/lat ring of an ellipse (major axis along ``az_deg``,
    clockwise from north): ``trilink.geo.ellipse``'s, the one every output of trilink uses."""
    return geo_ellipse_ring(lon, lat, semi_major_m, semi_minor_m, az_deg, vertices=n)


def feature(geometry: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def truth_features(truths: Sequence[Truth], *, impacts: bool = False) -> list[dict[str, Any]]:
    """Each launch's true flight as a 3-D line (at most 400 vertices, ``t_s`` per vertex in
    scenario seconds) and its launch point; with ``impacts`` its impact point too."""
    feats = []
    for t in truths:
        tr = t.obj.trajectory
        idx = np.unique(np.linspace(0, tr.t_s.size - 1, 400).astype(int))
        lat, lon, alt = ecef_to_geodetic(tr.pos_ecef_m[idx])
        coords = [
            [round(float(x), 5), round(float(y), 5), round(float(z), 1)]
            for x, y, z in zip(lon, lat, alt, strict=True)
        ]
        times = [round(float(s) + t.spec.t_launch_s, 3) for s in tr.t_s[idx]]
        who = {"launch_id": t.spec.launch_id, "site": t.spec.site}
        feats.append(feature(line_geometry(coords), {"kind": "truth", **who, "t_s": times}))
        feats.append(
            feature(
                point_geometry(t.spec.lon_deg, t.spec.lat_deg), {"kind": "truth_launch", **who}
            )
        )
        if impacts:
            ilat, ilon, _ = ecef_to_geodetic(tr.pos_ecef_m[-1])
            feats.append(
                feature(
                    point_geometry(round(float(ilon), 5), round(float(ilat), 5)),
                    {
                        "kind": "truth_impact",
                        **who,
                        "t_s": round(float(tr.t_s[-1]) + t.spec.t_launch_s, 3),
                    },
                )
            )
    return feats
