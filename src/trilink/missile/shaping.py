"""Trajectory shaping: find launch parameters that fly a requested apogee and impact point.

Sits between the raw integrator (``trajectory``) and its users: ``reconstruct`` (real launches
from reported apogee and range), the CLI ``trilink missile simulate`` and scenario generation.

Two layers:

* Closed-form Keplerian free flight over a spherical, non-rotating Earth (burnout and impact at
  the same radius). It gives the minimum-energy solution, the burnout speed and flight-path
  angle that reach a given (range, apogee), the apogee interval reachable under a speed limit
  (the *feasible range* quoted in errors), and a first guess for the numerical solver.
* A numerical solver over (azimuth, final thrust elevation, engine cutoff) of a generic vehicle,
  through the full model (rotation, J2, drag, boost), using ``scipy.optimize.least_squares`` on
  the impact-point miss (east/north) and the apogee miss. The smallest generic vehicle that
  converges is used.

Shape names: a trajectory is *minimum-energy* when its apogee is within ±25 % of the
minimum-energy apogee for its range, *lofted* above, *depressed* below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pyproj import Geod
from scipy.optimize import least_squares

from trilink.missile.errors import InfeasibleTrajectoryError
from trilink.missile.frames import (
    MEAN_EARTH_RADIUS_M,
    MU_EARTH_M3PS2,
    ecef_to_enu,
    ecef_to_geodetic,
)
from trilink.missile.trajectory import (
    GENERIC_VEHICLES,
    LaunchParams,
    ModelOptions,
    Trajectory,
    Vehicle,
    simulate_launch,
)

FloatArray = npt.NDArray[np.float64]
GEOD = Geod(ellps="WGS84")
MAX_BURNOUT_SPEED_MPS = 8_300.0
"""Fastest burnout the generic vehicle set reaches (measured: ~7.8–8.0 km/s Earth-relative,
plus up to ~0.4 km/s from Earth rotation). Bounds the feasible-apogee interval."""
MIN_RANGE_KM = 5.0
LOFT_RATIO = 1.25
MIN_GAMMA_DEG = 12.0
"""Flattest burnout flight-path angle accepted for a ballistic request (see feasible_apogee_km)."""


# ---------------------------------------------------------------- closed-form Kepler free flight


@dataclass(frozen=True, slots=True)
class KeplerShot:
    """Free flight between two points at radius ``r0_m`` on a non-rotating spherical Earth."""

    r0_m: float
    range_angle_rad: float
    speed_mps: float
    flight_path_angle_rad: float
    apogee_radius_m: float
    flight_time_s: float

    @property
    def apogee_alt_m(self) -> float:
        return self.apogee_radius_m - self.r0_m

    @property
    def range_m(self) -> float:
        return self.range_angle_rad * self.r0_m


def kepler_from_burnout(r0_m: float, speed_mps: float, gamma_rad: float) -> KeplerShot:
    """Range angle, apogee and time of flight of a free flight from radius r0 back to r0."""
    nu = speed_mps * speed_mps * r0_m / MU_EARTH_M3PS2
    ec = nu * math.cos(gamma_rad) ** 2 - 1.0  # e·cos(θ0)
    es = nu * math.sin(gamma_rad) * math.cos(gamma_rad)  # e·sin(θ0)
    e = math.hypot(ec, es)
    if e >= 1.0:
        raise ValueError("escape trajectory: no impact")
    theta0 = math.atan2(es, ec)
    psi = 2.0 * (math.pi - theta0)
    p = r0_m * nu * math.cos(gamma_rad) ** 2
    a = p / (1.0 - e * e)
    ra = p / (1.0 - e)
    return KeplerShot(r0_m, psi, speed_mps, gamma_rad, ra, _time_of_flight(a, e, theta0))


def _time_of_flight(a: float, e: float, theta0: float) -> float:
    """Time from true anomaly θ0 to 2π−θ0 (through apogee at π)."""
    big_e = 2.0 * math.atan2(
        math.sqrt(1.0 - e) * math.sin(theta0 / 2.0), math.sqrt(1.0 + e) * math.cos(theta0 / 2.0)
    )
    mean0 = big_e - e * math.sin(big_e)
    n = math.sqrt(MU_EARTH_M3PS2 / a**3)
    return 2.0 * (math.pi - mean0) / n


def kepler_for_apogee(r0_m: float, range_angle_rad: float, apogee_radius_m: float) -> KeplerShot:
    """Burnout speed and flight-path angle that give a range angle and an apogee radius.

    Closed form: with c = cos(Ψ/2), s = sin(Ψ/2), e = (ra − r0)/(ra − r0·c), p = r0(1 − e·c),
    tan γ = e·s/(p/r0) and ν = (p/r0)/cos²γ.
    """
    if apogee_radius_m <= r0_m:
        raise ValueError("apogee must be above the burnout radius")
    c = math.cos(range_angle_rad / 2.0)
    s = math.sin(range_angle_rad / 2.0)
    e = (apogee_radius_m - r0_m) / (apogee_radius_m - r0_m * c)
    p_r0 = 1.0 - e * c
    gamma = math.atan2(e * s, p_r0)
    nu = p_r0 / math.cos(gamma) ** 2
    speed = math.sqrt(nu * MU_EARTH_M3PS2 / r0_m)
    theta0 = math.pi - range_angle_rad / 2.0
    a = p_r0 * r0_m / (1.0 - e * e)
    return KeplerShot(
        r0_m, range_angle_rad, speed, gamma, apogee_radius_m, _time_of_flight(a, e, theta0)
    )


def minimum_energy(r0_m: float, range_angle_rad: float) -> KeplerShot:
    """Minimum-energy free flight for a range angle: γ* = (π − Ψ)/4."""
    gamma = (math.pi - range_angle_rad) / 4.0
    s = math.sin(range_angle_rad / 2.0)
    nu = 2.0 * s / (1.0 + s)
    return kepler_from_burnout(r0_m, math.sqrt(nu * MU_EARTH_M3PS2 / r0_m), gamma)


def max_range_for_speed(r0_m: float, speed_mps: float) -> float:
    """Ground range (m) of the optimal flight-path angle for a burnout speed (ν < 1)."""
    nu = speed_mps * speed_mps * r0_m / MU_EARTH_M3PS2
    if nu >= 1.0:
        return math.pi * r0_m  # half way round the Earth or more: global reach
    return 2.0 * math.asin(nu / (2.0 - nu)) * r0_m


def apogee_for_angle(r0_m: float, range_angle_rad: float, gamma_rad: float) -> float:
    """Apogee radius of the free flight with a given range angle and flight-path angle.

    From tan γ = e·s/(1 − e·c): e = tan γ/(s + c·tan γ), r_a = r0(1 − e·c)/(1 − e).
    """
    c = math.cos(range_angle_rad / 2.0)
    s = math.sin(range_angle_rad / 2.0)
    tg = math.tan(gamma_rad)
    e = tg / (s + c * tg)
    return r0_m * (1.0 - e * c) / (1.0 - e)


def feasible_apogee_km(
    range_km: float, max_speed_mps: float = MAX_BURNOUT_SPEED_MPS
) -> tuple[float, float] | None:
    """Apogee interval (km) the model can fly at this range, or ``None`` if out of reach.

    Upper end: burnout speed ≤ ``max_speed_mps`` (vacuum Kepler). Lower end: the larger of the
    same speed bound and a burnout flight-path angle of :data:`MIN_GAMMA_DEG` (or half the
    minimum-energy angle, if smaller, at very long range); flatter ballistic shots spend their
    energy in the dense atmosphere (measured: the solver fails below about 10° at 100–600 km),
    which is the regime of pull-up/glide vehicles, not ballistic ones. The generic vehicles
    were measured to reach 15,000 km; beyond that the bound is optimistic and the numerical
    solver reports the failure.
    """
    r0 = MEAN_EARTH_RADIUS_M
    psi = max(range_km, MIN_RANGE_KM) * 1e3 / r0
    best = minimum_energy(r0, psi)
    if best.speed_mps > max_speed_mps:
        return None

    def speed(apo_m: float) -> float:
        return kepler_for_apogee(r0, psi, r0 + apo_m).speed_mps

    lo, hi = 1.0, best.apogee_alt_m
    for _ in range(80):  # speed decreases towards the minimum-energy apogee
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if speed(mid) <= max_speed_mps else (mid, hi)
    # Long ranges have flat minimum-energy shots already: never put the floor above half
    # the minimum-energy flight-path angle.
    gamma_floor = min(math.radians(MIN_GAMMA_DEG), 0.5 * best.flight_path_angle_rad)
    low = max(hi, apogee_for_angle(r0, psi, gamma_floor) - r0)
    lo, hi = best.apogee_alt_m, 50_000e3
    if speed(hi) <= max_speed_mps:
        return low / 1e3, hi / 1e3
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if speed(mid) <= max_speed_mps else (lo, mid)
    return low / 1e3, lo / 1e3


def shape_name(range_km: float, apogee_km: float) -> str:
    """'lofted', 'minimum-energy' or 'depressed' against the minimum-energy apogee."""
    r0 = MEAN_EARTH_RADIUS_M
    me = minimum_energy(r0, max(range_km, MIN_RANGE_KM) * 1e3 / r0).apogee_alt_m / 1e3
    if apogee_km > LOFT_RATIO * me:
        return "lofted"
    if apogee_km < me / LOFT_RATIO:
        return "depressed"
    return "minimum-energy"


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
