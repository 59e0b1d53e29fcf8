"""Closed-form ballistics shared by the simulator and the warnings: Kepler free flight.

Non-rotating spherical Earth, burnout and impact at the same radius. The simulator
(``sim.shaping``) takes its first guesses and the feasible apogee interval of a range from
here; the scenario parser checks requested apogees with it; the warnings (``warn.assess``)
name a flight's shape and class from a track's energy with it. Range classes follow the U.S.
and Japanese governments' public reporting.

Shape names: a trajectory is *minimum-energy* when its apogee is within ±25 % of the
minimum-energy apogee for its range, *lofted* above, *depressed* below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from trilink.missile.frames import MEAN_EARTH_RADIUS_M, MU_EARTH_M3PS2

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


# Range classes (km) as used by the U.S. and Japanese governments' public reporting.
CLASS_LIMITS_KM: tuple[tuple[str, float], ...] = (
    ("SRBM", 1_000.0),
    ("MRBM", 3_000.0),
    ("IRBM", 5_500.0),
)


REFERENCE_BURNOUT_ALT_M = 300e3
"""Highest burnout at which the maximum range is computed (typical of a minimum-energy ICBM
burnout); higher burnouts of lofted flights are re-expressed at this height."""


def equivalent_max_range_km(r_bo_m: float, v_bo_mps: float) -> float:
    """Minimum-energy range (km) of the burnout energy, burnout lowered to at most 300 km.

    Keeps the specific energy v²/2 − μ/r of the burnout; a burnout above 300 km (lofted
    flights of long-burning vehicles) is re-expressed as a speed at 300 km height. Then the
    Kepler maximum-range formula (non-rotating Earth) gives the range, as in analysts'
    "if flown on a standard trajectory" estimates.
    """
    r_ref = min(r_bo_m, MEAN_EARTH_RADIUS_M + REFERENCE_BURNOUT_ALT_M)
    energy = 0.5 * v_bo_mps**2 - MU_EARTH_M3PS2 / r_bo_m
    v2 = 2.0 * (energy + MU_EARTH_M3PS2 / r_ref)
    if v2 <= 0.0:
        return 0.0
    return max_range_for_speed(r_ref, math.sqrt(v2)) / 1e3 * MEAN_EARTH_RADIUS_M / r_ref


def classify_range(max_range_km: float) -> str:
    """SRBM (< 1,000 km), MRBM (< 3,000), IRBM (< 5,500) or ICBM by maximum range."""
    for name, limit in CLASS_LIMITS_KM:
        if max_range_km < limit:
            return name
    return "ICBM"
