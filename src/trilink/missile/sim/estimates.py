"""Geometry estimates of a trajectory: flight time, apogee, range, impact, class, Japan tests.

Downstream of ``trajectory`` (truth) and of the trackers (a predicted trajectory propagated from
a track state is a ``Trajectory`` too). Feeds the CLI, ``reconstruct`` and the warning logic.

Japan's zones are never built here: the caller passes shapely geometries (lon/lat WGS-84) that
come from the geodata package (see ``zones``). Probabilities for an uncertain impact point are
Monte-Carlo fractions of samples of a 2-D Gaussian in the local east/north plane.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Geod
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from trilink.missile.errors import NoImpactError
from trilink.missile.frames import ecef_to_geodetic
from trilink.missile.kepler import classify_range, equivalent_max_range_km, shape_name
from trilink.missile.sim.shaping import apogee_alt_m
from trilink.missile.sim.trajectory import Trajectory

FloatArray = npt.NDArray[np.float64]
GEOD = Geod(ellps="WGS84")
CHI2_2DOF_95 = 5.991464547107979
"""95 % quantile of χ² with 2 degrees of freedom (scales a 2-D covariance to its 95 % ellipse)."""


@dataclass(frozen=True, slots=True)
class TrajectoryEstimates:
    """What a watch officer asks about one flight."""

    launch_lat_deg: float
    launch_lon_deg: float
    launch_t_s: float
    burnout_t_s: float
    burnout_lat_deg: float
    burnout_lon_deg: float
    burnout_alt_km: float
    burnout_speed_mps: float
    apogee_km: float
    apogee_t_s: float
    impact_lat_deg: float
    impact_lon_deg: float
    impact_t_s: float
    flight_time_s: float
    range_km: float
    """Ground (geodesic) distance from the launch point to the impact point."""
    max_range_km: float
    """Range of the burnout energy flown on a minimum-energy trajectory (Kepler, non-rotating
    Earth, burnout at most 300 km high): the figure quoted for lofted tests."""
    missile_class: str
    shape: str
    impact_in_japan_eez: bool | None = None
    overflies_japan: bool | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def estimate(
    traj: Trajectory,
    *,
    japan_eez: BaseGeometry | None = None,
    japan_territory: BaseGeometry | None = None,
) -> TrajectoryEstimates:
    """Estimates from a trajectory that ends at ground impact (else :class:`NoImpactError`)."""
    if not traj.impacted:
        raise NoImpactError(
            f"the trajectory does not reach the ground within {traj.flight_time_s:.0f} s "
            "(orbital, escaping or cut short): no impact point to estimate"
        )
    lat, lon, alt = ecef_to_geodetic(traj.pos_ecef_m)
    bo = traj.burnout_index
    apo_i = int(np.argmax(alt))
    _, _, dist_m = GEOD.inv(lon[0], lat[0], lon[-1], lat[-1])
    range_km = float(dist_m) / 1e3
    r_bo = float(np.linalg.norm(traj.pos_ecef_m[bo]))
    v_bo = float(np.linalg.norm(traj.vel_ecef_m[bo]))
    max_range_km = max(equivalent_max_range_km(r_bo, v_bo), range_km)
    apogee_km = apogee_alt_m(traj) / 1e3
    in_eez = impact_inside(float(lat[-1]), float(lon[-1]), japan_eez) if japan_eez else None
    over = overflies(lat, lon, japan_territory) if japan_territory else None
    return TrajectoryEstimates(
        launch_lat_deg=float(lat[0]),
        launch_lon_deg=float(lon[0]),
        launch_t_s=float(traj.t_s[0]),
        burnout_t_s=float(traj.t_s[bo]),
        burnout_lat_deg=float(lat[bo]),
        burnout_lon_deg=float(lon[bo]),
        burnout_alt_km=float(alt[bo]) / 1e3,
        burnout_speed_mps=v_bo,
        apogee_km=apogee_km,
        apogee_t_s=float(traj.t_s[apo_i]),
        impact_lat_deg=float(lat[-1]),
        impact_lon_deg=float(lon[-1]),
        impact_t_s=float(traj.t_s[-1]),
        flight_time_s=traj.flight_time_s,
        range_km=range_km,
        max_range_km=float(max_range_km),
        missile_class=classify_range(max_range_km),
        shape=shape_name(range_km, apogee_km),
        impact_in_japan_eez=in_eez,
        overflies_japan=over,
    )


def impact_inside(lat_deg: float, lon_deg: float, zone: BaseGeometry) -> bool:
    """Whether an impact point lies inside (or on the edge of) a lon/lat zone geometry."""
    return bool(shapely.intersects(zone, shapely.Point(lon_deg, lat_deg)))


def overflies(lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike, territory: BaseGeometry) -> bool:
    """Whether the ground track (lon/lat polyline of the flight) crosses a territory geometry.

    The launch point itself is excluded so a launch *from* the territory is not an overflight;
    the impact point is included (an impact on land is counted as over it).
    """
    lat = np.asarray(lat_deg, dtype=np.float64)
    lon = np.asarray(lon_deg, dtype=np.float64)
    if lat.size < 2:
        return False
    track = LineString(np.column_stack([lon, lat]))
    hit = shapely.intersection(track, territory)
    if hit.is_empty:
        return False
    start = shapely.Point(lon[0], lat[0])
    return not hit.difference(start.buffer(1e-6)).is_empty


def ellipse_95(cov_en_m2: npt.ArrayLike) -> tuple[float, float, float]:
    """95 % error ellipse of a 2×2 east/north covariance: (semi-major m, semi-minor m,
    orientation of the major axis in degrees clockwise from north)."""
    cov = np.asarray(cov_en_m2, dtype=np.float64)
    vals, vecs = np.linalg.eigh(cov)
    vals = np.clip(vals, 0.0, None)
    major = vecs[:, 1]
    orientation = math.degrees(math.atan2(major[0], major[1])) % 180.0
    return (math.sqrt(CHI2_2DOF_95 * vals[1]), math.sqrt(CHI2_2DOF_95 * vals[0]), orientation)


def sample_impacts(
    lat_deg: float,
    lon_deg: float,
    cov_en_m2: npt.ArrayLike,
    n: int,
    rng: np.random.Generator,
) -> tuple[FloatArray, FloatArray]:
    """``n`` lon/lat samples of a Gaussian impact point (east/north covariance in m²)."""
    cov = np.asarray(cov_en_m2, dtype=np.float64)
    en = rng.multivariate_normal(np.zeros(2), cov, size=n, method="eigh")
    dist = np.hypot(en[:, 0], en[:, 1])
    az = np.degrees(np.arctan2(en[:, 0], en[:, 1]))
    lons, lats, _ = GEOD.fwd(np.full(n, lon_deg), np.full(n, lat_deg), az, dist)
    return np.asarray(lons, dtype=np.float64), np.asarray(lats, dtype=np.float64)


def probability_inside(
    lat_deg: float,
    lon_deg: float,
    cov_en_m2: npt.ArrayLike,
    zone: BaseGeometry,
    rng: np.random.Generator,
    n: int = 2_000,
) -> float:
    """Monte-Carlo probability that a Gaussian impact point falls inside a zone."""
    lons, lats = sample_impacts(lat_deg, lon_deg, cov_en_m2, n, rng)
    inside = shapely.intersects(zone, shapely.points(np.column_stack([lons, lats])))
    return float(np.mean(inside))
