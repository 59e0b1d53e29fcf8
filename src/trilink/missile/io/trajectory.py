"""File outputs of the missile engine: GeoJSON, CZML and PNG of a trajectory.

Edge module (writes files): used by ``trilink missile simulate --out`` and by the docs scripts.
The coastlines of the PNG come from the Natural Earth land bundled with the geodata package.
"""

from __future__ import annotations

import gzip
import importlib
import json
import math
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from trilink.errors import TrilinkError
from trilink.missile.frames import ecef_to_geodetic
from trilink.missile.sim.estimates import TrajectoryEstimates
from trilink.missile.sim.trajectory import Trajectory

MAX_POINTS = 1_500


def _thin(traj: Trajectory, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most ``max_points`` samples, always keeping burnout and impact."""
    n = traj.t_s.size
    idx = np.unique(
        np.concatenate(
            [
                np.linspace(0, n - 1, min(n, max_points)).round().astype(int),
                [traj.burnout_index, n - 1],
            ]
        )
    )
    return idx


def _rounded(props: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in props.items()}


def trajectory_geojson(
    traj: Trajectory, est: TrajectoryEstimates, epoch_utc: datetime
) -> dict[str, Any]:
    """GeoJSON FeatureCollection: the 3-D flight path plus launch/burnout/apogee/impact points."""
    idx = _thin(traj)
    lat, lon, alt = ecef_to_geodetic(traj.pos_ecef_m[idx])
    coords = [
        [round(float(a), 6), round(float(b), 6), round(float(c), 1)]
        for a, b, c in zip(lon, lat, alt, strict=True)
    ]
    full_lat, full_lon, full_alt = ecef_to_geodetic(traj.pos_ecef_m)
    apo = int(np.argmax(full_alt))

    def point(name: str, i: int) -> dict[str, Any]:
        t = float(traj.t_s[i])
        return {
            "type": "Feature",
            "geometry": {
                "type": "Point",
                "coordinates": [
                    round(float(full_lon[i]), 6),
                    round(float(full_lat[i]), 6),
                    round(float(full_alt[i]), 1),
                ],
            },
            "properties": {
                "event": name,
                "t_s": round(t, 3),
                "t_utc": (epoch_utc + timedelta(seconds=t)).isoformat(),
            },
        }

    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": coords},
                "properties": _rounded(
                    {
                        "kind": "trajectory",
                        "vehicle": traj.vehicle_name,
                        "launch_utc": epoch_utc.isoformat(),
                        **est.as_dict(),
                    }
                ),
            },
            point("launch", 0),
            point("burnout", traj.burnout_index),
            point("apogee", apo),
            point("impact", traj.t_s.size - 1),
        ],
    }


def trajectory_czml(
    traj: Trajectory, est: TrajectoryEstimates, epoch_utc: datetime
) -> list[dict[str, Any]]:
    """CZML document (Cesium): a time-tagged path of the missile and the impact point."""
    idx = _thin(traj)
    lat, lon, alt = ecef_to_geodetic(traj.pos_ecef_m[idx])
    samples: list[float] = []
    for t, a, b, c in zip(traj.t_s[idx], lon, lat, alt, strict=True):
        samples.extend(
            [round(float(t), 3), round(float(a), 6), round(float(b), 6), round(float(c), 1)]
        )
    start = epoch_utc.isoformat().replace("+00:00", "Z")
    end = (epoch_utc + timedelta(seconds=float(traj.t_s[-1]))).isoformat().replace("+00:00", "Z")
    interval = f"{start}/{end}"
    return [
        {
            "id": "document",
            "name": "trilink missile trajectory",
            "version": "1.0",
            "clock": {"interval": interval, "currentTime": start, "multiplier": 10},
        },
        {
            "id": "missile",
            "name": f"{est.missile_class} ({traj.vehicle_name})",
            "availability": interval,
            "position": {
                "epoch": start,
                "cartographicDegrees": samples,
                "interpolationAlgorithm": "LAGRANGE",
                "interpolationDegree": 3,
            },
            "point": {"pixelSize": 8, "color": {"rgba": [255, 60, 60, 255]}},
            "path": {
                "width": 2,
                "leadTime": 0,
                "trailTime": 1e6,
                "material": {"solidColor": {"color": {"rgba": [255, 120, 0, 255]}}},
            },
        },
        {
            "id": "impact",
            "name": "predicted impact",
            "position": {
                "cartographicDegrees": [
                    round(est.impact_lon_deg, 6),
                    round(est.impact_lat_deg, 6),
                    0.0,
                ]
            },
            "point": {"pixelSize": 10, "color": {"rgba": [255, 0, 0, 255]}},
        },
    ]


def bundled_land() -> BaseGeometry | None:
    """Natural Earth land of the region from the geodata package, or None if absent."""
    try:
        geo: Any = importlib.import_module("trilink.geo")
        land = geo.load_land()
        if isinstance(land, BaseGeometry):
            return land
        return shapely.union_all([getattr(i, "geometry", i) for i in land])
    except (ImportError, AttributeError, TypeError, OSError, TrilinkError):
        pass  # the geodata API is not there: read its bundled file directly below
    try:
        raw = resources.files("trilink.geo").joinpath("data/ne_10m_land_east_asia.geojson.gz")
        data = json.loads(gzip.decompress(raw.read_bytes()))
        return shapely.union_all(
            [shapely.from_geojson(json.dumps(f["geometry"])) for f in data["features"]]
        )
    except (ModuleNotFoundError, FileNotFoundError, OSError, KeyError, ValueError):
        return None


def draw_geometry(ax: Any, geom: BaseGeometry, **kw: Any) -> None:
    for part in shapely.get_parts(geom):
        if part.geom_type == "Polygon":
            for ring in [part.exterior, *part.interiors]:
                xy = np.asarray(ring.coords)
                ax.plot(xy[:, 0], xy[:, 1], **kw)
        elif part.geom_type in ("LineString", "LinearRing"):
            xy = np.asarray(part.coords)
            ax.plot(xy[:, 0], xy[:, 1], **kw)


def trajectory_png(
    path: Path,
    traj: Trajectory,
    est: TrajectoryEstimates,
    *,
    land: BaseGeometry | None = None,
    eez: BaseGeometry | None = None,
    title: str = "",
) -> None:
    """Two panels: ground track over coastlines (and Japan's EEZ limit), altitude profile."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lat, lon, alt = ecef_to_geodetic(traj.pos_ecef_m)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5.5))
    pad = max(3.0, 0.15 * max(np.ptp(lon), np.ptp(lat)))
    x0, x1 = float(lon.min() - pad), float(lon.max() + pad)
    y0, y1 = float(lat.min() - pad), float(lat.max() + pad)
    window = shapely.box(x0, y0, x1, y1)
    if land is not None:
        draw_geometry(ax1, shapely.intersection(land, window), color="0.35", lw=0.6)
    if eez is not None:
        draw_geometry(
            ax1, shapely.intersection(eez.boundary, window), color="tab:blue", lw=0.8, ls="--"
        )
    bo = traj.burnout_index
    ax1.plot(lon[: bo + 1], lat[: bo + 1], color="tab:red", lw=2.5, label="boost")
    ax1.plot(lon[bo:], lat[bo:], color="tab:orange", lw=1.5, label="ballistic")
    ax1.plot(lon[0], lat[0], "k^", label="launch")
    ax1.plot(lon[-1], lat[-1], "rx", ms=10, mew=2, label="impact")
    ax1.set_xlim(x0, x1)
    ax1.set_ylim(y0, y1)
    ax1.set_aspect(1.0 / math.cos(math.radians(0.5 * (y0 + y1))))
    ax1.set_xlabel("longitude (deg)")
    ax1.set_ylabel("latitude (deg)")
    ax1.set_title("ground track" + (" (dashed: Japan EEZ limit)" if eez is not None else ""))
    ax1.legend(loc="best", fontsize=8)
    ax1.grid(alpha=0.3)
    ax2.plot(traj.t_s / 60.0, alt / 1e3, color="tab:orange")
    ax2.plot(traj.t_s[: bo + 1] / 60.0, alt[: bo + 1] / 1e3, color="tab:red", lw=2.5)
    ax2.set_xlabel("time since launch (min)")
    ax2.set_ylabel("altitude (km)")
    ax2.set_title(
        f"altitude: apogee {est.apogee_km:,.0f} km, flight "
        f"{est.flight_time_s / 60:.1f} min, range {est.range_km:,.0f} km"
    )
    ax2.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(
    out_dir: Path,
    traj: Trajectory,
    est: TrajectoryEstimates,
    *,
    epoch_utc: datetime | None = None,
    eez: BaseGeometry | None = None,
    title: str = "",
    stem: str = "trajectory",
) -> list[Path]:
    """Write ``<stem>.geojson``, ``<stem>.czml`` and ``<stem>.png`` into ``out_dir``."""
    epoch = epoch_utc or datetime(2000, 1, 1, tzinfo=UTC)
    out_dir.mkdir(parents=True, exist_ok=True)
    gj = out_dir / f"{stem}.geojson"
    gj.write_text(json.dumps(trajectory_geojson(traj, est, epoch)), "utf-8")
    cz = out_dir / f"{stem}.czml"
    cz.write_text(json.dumps(trajectory_czml(traj, est, epoch)), "utf-8")
    png = out_dir / f"{stem}.png"
    trajectory_png(png, traj, est, land=bundled_land(), eez=eez, title=title)
    return [gj, cz, png]
