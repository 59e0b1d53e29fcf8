"""Trajectory shaping: find launch parameters that fly a requested apogee and impact point.

Sits between the raw integrator (``trajectory``) and its users: ``reconstruct`` (real launches
from reported apogee and range), the CLI ``trilink missile simulate`` and scenario generation.

The closed-form Keplerian free flight (``trilink.missile.kepler``) gives the first guess and
the feasible apogee interval of a range (quoted in errors); the numerical solver here searches
(azimuth, final thrust elevation, engine cutoff) of a generic vehicle through the full model
(rotation, J2, drag, boost), using ``scipy.optimize.least_squares`` on the impact-point miss
(east/north) and the apogee miss. The smallest generic vehicle that converges is used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pyproj import Geod
from scipy.optimize import least_squares

from trilink.missile.errors import InfeasibleTrajectoryError
from trilink.missile.frames import MEAN_EARTH_RADIUS_M, ecef_to_enu, ecef_to_geodetic
from trilink.missile.kepler import (
    MAX_BURNOUT_SPEED_MPS,
    MIN_RANGE_KM,
    feasible_apogee_km,
    kepler_for_apogee,
    max_range_for_speed,
    shape_name,
)
from trilink.missile.sim.trajectory import (
    GENERIC_VEHICLES,
    LaunchParams,
    ModelOptions,
    Trajectory,
    Vehicle,
    simulate_launch,
)

FloatArray = npt.NDArray[np.float64]
GEOD = Geod(ellps="WGS84")


# ---------------------------------------------------------------- numerical solver (full model)


@dataclass(frozen=True, slots=True)
class ShapedLaunch:
    """A solved launch: the trajectory and how well it meets the request."""

    trajectory: Trajectory
    vehicle: Vehicle
    params: LaunchParams
    miss_km: float
    """Distance from the requested impact point to the simulated one."""
    apogee_error_km: float
    evaluations: int


def apogee_alt_m(traj: Trajectory) -> float:
    """Peak ellipsoidal height, refined by a parabola through the three highest samples."""
    _, _, alt = ecef_to_geodetic(traj.pos_ecef_m)
    i = int(np.argmax(alt))
    if 0 < i < alt.size - 1:
        t0, t1, t2 = traj.t_s[i - 1 : i + 2]
        a0, a1, a2 = alt[i - 1 : i + 2]
        denom = (t0 - t1) * (t0 - t2) * (t1 - t2)
        if denom != 0.0:
            ca = (t2 * (a1 - a0) + t1 * (a0 - a2) + t0 * (a2 - a1)) / denom
            cb = (t2 * t2 * (a0 - a1) + t1 * t1 * (a2 - a0) + t0 * t0 * (a1 - a2)) / denom
            cc = (
                t1 * t2 * (t1 - t2) * a0 + t2 * t0 * (t2 - t0) * a1 + t0 * t1 * (t0 - t1) * a2
            ) / denom
            if ca < 0.0:
                tv = -cb / (2.0 * ca)
                return float(ca * tv * tv + cb * tv + cc)
    return float(alt[i])


def _solve_with(
    vehicle: Vehicle,
    launch: tuple[float, float],
    impact: tuple[float, float],
    apogee_m: float,
    options: ModelOptions,
    tol_km: float,
    pitch_fraction: float,
) -> ShapedLaunch | None:
    lat0, lon0 = launch
    lat1, lon1 = impact
    az0, _, dist_m = GEOD.inv(lon0, lat0, lon1, lat1)
    r0 = MEAN_EARTH_RADIUS_M
    guess = kepler_for_apogee(r0, max(dist_m, MIN_RANGE_KM * 1e3) / r0, r0 + apogee_m)
    v_req = guess.speed_mps
    burn = vehicle.total_burn_s
    t_min = vehicle.vertical_rise_s + 2.0
    # Seed the cutoff by flying the full burn at the guessed pitch and reading off the time at
    # which the required speed is reached.
    el_guess = min(max(math.degrees(guess.flight_path_angle_rad) + 5.0, 5.0), 88.0)
    full = simulate_launch(
        lat0, lon0, vehicle, LaunchParams(az0 % 360.0, el_guess, burn, pitch_fraction), options
    )
    speeds = np.linalg.norm(full.vel_ecef_m[: full.burnout_index + 1], axis=1)
    if speeds.max() < 0.9 * v_req:
        return None
    k = int(np.argmax(speeds >= min(v_req, speeds.max())))
    cut_guess = float(np.clip(full.t_s[k], t_min + 1.0, burn))
    evaluations = 0
    last: dict[str, Trajectory] = {}

    def residual(x: FloatArray) -> FloatArray:
        nonlocal evaluations
        evaluations += 1
        params = LaunchParams(float(x[0]) % 360.0, float(x[1]), float(x[2]), pitch_fraction)
        traj = simulate_launch(lat0, lon0, vehicle, params, options)
        last["traj"] = traj
        if not traj.impacted:
            return np.array([1e4, 1e4, 1e4])
        enu = ecef_to_enu(traj.pos_ecef_m[-1], lat1, lon1, 0.0)
        apo = apogee_alt_m(traj)
        return np.array([enu[0] / 1e3, enu[1] / 1e3, (apo - apogee_m) / 1e3])

    lower = np.array([az0 - 45.0, 0.5, t_min])
    upper = np.array([az0 + 45.0, 89.5, burn])
    starts = (
        np.array([az0, el_guess, cut_guess]),
        np.array([az0, min(el_guess + 15.0, 89.0), min(cut_guess * 1.05, burn)]),
    )
    best: tuple[FloatArray, float, float, Trajectory] | None = None
    for start in starts:
        start = np.clip(start, lower + 1e-6, upper - 1e-6)
        sol = least_squares(
            residual,
            start,
            bounds=(lower, upper),
            x_scale=[1.0, 1.0, 5.0],
            diff_step=1e-5,
            xtol=1e-10,
            ftol=1e-10,
            gtol=1e-10,
            max_nfev=100,
        )
        res = residual(sol.x)
        miss = float(math.hypot(res[0], res[1]))
        if best is None or miss + abs(res[2]) < best[1] + abs(best[2]):
            best = (sol.x, miss, float(res[2]), last["traj"])
        if miss < tol_km and abs(res[2]) < tol_km:
            break
    assert best is not None
    x, miss, apo_err, traj = best
    if miss >= tol_km or abs(apo_err) >= tol_km:
        return None
    params = LaunchParams(float(x[0]) % 360.0, float(x[1]), float(x[2]), pitch_fraction)
    return ShapedLaunch(traj, vehicle, params, miss, apo_err, evaluations)


def solve_launch(
    launch_lat_lon: tuple[float, float],
    impact_lat_lon: tuple[float, float],
    apogee_km: float,
    *,
    vehicles: tuple[Vehicle, ...] = GENERIC_VEHICLES,
    options: ModelOptions | None = None,
    tol_km: float = 1.0,
) -> ShapedLaunch:
    """Launch parameters whose full-model flight hits the impact point and the apogee.

    Raises :class:`InfeasibleTrajectoryError` (with the feasible apogee interval for the range)
    when the request is outside what a ballistic flight of the generic vehicles can do.
    """
    opts = options or ModelOptions()
    for name, (lat, lon) in (("launch", launch_lat_lon), ("impact", impact_lat_lon)):
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 360.0) or not (
            math.isfinite(lat) and math.isfinite(lon)
        ):
            raise InfeasibleTrajectoryError(
                f"{name} point {lat},{lon} is not a valid lat,lon", field=name
            )
    if not math.isfinite(apogee_km) or apogee_km <= 0.0:
        raise InfeasibleTrajectoryError(
            f"apogee {apogee_km} km must be a positive number", field="apogee_km"
        )
    _, _, dist_m = GEOD.inv(
        launch_lat_lon[1], launch_lat_lon[0], impact_lat_lon[1], impact_lat_lon[0]
    )
    range_km = dist_m / 1e3
    if range_km < MIN_RANGE_KM:
        raise InfeasibleTrajectoryError(
            f"the impact point is {range_km:.1f} km from the launch point; the model needs at "
            f"least {MIN_RANGE_KM:.0f} km of range (give the reported impact point)",
            field="impact",
        )
    window = feasible_apogee_km(range_km)
    if window is None:
        reach = max_range_for_speed(MEAN_EARTH_RADIUS_M, MAX_BURNOUT_SPEED_MPS) / 1e3
        raise InfeasibleTrajectoryError(
            f"range {range_km:.0f} km is beyond ballistic reach of the model (max about "
            f"{reach:.0f} km at {MAX_BURNOUT_SPEED_MPS / 1e3:.1f} km/s burnout)",
            field="impact",
        )
    lo, hi = window
    if not lo <= apogee_km <= hi:
        too = "too low" if apogee_km < lo else "too high"
        raise InfeasibleTrajectoryError(
            f"apogee {apogee_km:.0f} km is {too} for a {range_km:.0f} km range: a ballistic "
            f"flight of that range needs an apogee between {lo:.0f} and {hi:.0f} km "
            f"(burnout speed ≤ {MAX_BURNOUT_SPEED_MPS / 1e3:.1f} km/s)",
            feasible_apogee_km=window,
            field="apogee_km",
        )
    # Flat (depressed) requests first try the fast pitch-over programme.
    fractions = (0.35, 1.0) if shape_name(range_km, apogee_km) == "depressed" else (1.0, 0.35)
    for vehicle in vehicles:
        for fraction in fractions:
            shot = _solve_with(
                vehicle, launch_lat_lon, impact_lat_lon, apogee_km * 1e3, opts, tol_km, fraction
            )
            if shot is not None:
                return shot
    raise InfeasibleTrajectoryError(
        f"no ballistic trajectory of the generic vehicles reaches apogee {apogee_km:.0f} km "
        f"at {range_km:.0f} km range through the atmosphere (the model's feasible apogee for "
        f"this range is about {lo:.0f}–{hi:.0f} km; near its low end convergence is not "
        f"guaranteed). Very low apogees at long range need a manoeuvring (pull-up/glide) "
        f"vehicle, which this ballistic model does not fly",
        feasible_apogee_km=window,
        field="apogee_km",
    )
