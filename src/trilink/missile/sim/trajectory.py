"""Truth trajectories: powered flight and free flight in the rotating Earth-fixed frame.

First stage of the missile flow: the sensors (``sensors``) observe these trajectories, the
trackers try to recover them, and ``estimates`` turns them into flight time, apogee, impact.

Equations of motion in ECEF (WGS-84): gravitation with J2, Coriolis ``-2ω×v`` and centrifugal
``-ω×(ω×r)`` terms, drag ``-½ρ|v|v/β`` against a co-rotating U.S. 1976 atmosphere, and during
boost a thrust along a pitch programme (vertical rise, then a linear pitch-over to a final thrust
elevation at engine cutoff) in a fixed Earth-fixed plane through the launch azimuth. Stages burn
in sequence at constant mass flow; engine cutoff may come before the propellant is spent (energy
management), after which the reentry vehicle flies on with its own ballistic coefficient.

Integration is fixed-step RK4 in a numba kernel (``integrator``), with the step clamped onto
staging, cutoff and ground impact (the last is refined by secant iteration on altitude).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from trilink.missile.frames import OMEGA_EARTH_RADPS, enu_rotation, geodetic_to_ecef
from trilink.missile.sim.integrator import propagate_nb

FloatArray = npt.NDArray[np.float64]
G0_MPS2 = 9.80665

PHASE_BOOST = 0
PHASE_BALLISTIC = 1


@dataclass(frozen=True, slots=True)
class Stage:
    """One rocket stage burning at constant mass flow."""

    propellant_kg: float
    dry_kg: float
    burn_time_s: float
    isp_s: float

    @property
    def mass_flow_kgps(self) -> float:
        return self.propellant_kg / self.burn_time_s

    @property
    def thrust_n(self) -> float:
        return self.mass_flow_kgps * self.isp_s * G0_MPS2


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A generic missile: stages (first to last), payload, drag area and reentry β."""

    name: str
    stages: tuple[Stage, ...]
    payload_kg: float
    boost_cd_area_m2: float
    rv_beta_kgpm2: float
    vertical_rise_s: float = 8.0

    @property
    def liftoff_mass_kg(self) -> float:
        return self.payload_kg + sum(s.propellant_kg + s.dry_kg for s in self.stages)

    @property
    def total_burn_s(self) -> float:
        return sum(s.burn_time_s for s in self.stages)

    def ideal_delta_v_mps(self) -> float:
        """Tsiolkovsky Δv of the full burn (no gravity or drag losses)."""
        m = self.liftoff_mass_kg
        dv = 0.0
        for s in self.stages:
            m_end = m - s.propellant_kg
            dv += s.isp_s * G0_MPS2 * math.log(m / m_end)
            m = m_end - s.dry_kg
        return dv


# Generic vehicles, smallest first. They are *not* models of any real missile: round numbers in
# the public envelope of single-stage SRBM/MRBM/IRBM and two-stage ICBM designs, chosen so the
# shaping solver can pick the smallest one with enough energy.
GENERIC_VEHICLES: tuple[Vehicle, ...] = (
    Vehicle("generic-srbm", (Stage(4_200.0, 1_000.0, 60.0, 250.0),), 800.0, 0.19, 5_000.0, 5.0),
    Vehicle("generic-mrbm", (Stage(12_900.0, 1_800.0, 100.0, 255.0),), 1_000.0, 0.43, 5_000.0),
    Vehicle("generic-irbm", (Stage(22_000.0, 2_200.0, 120.0, 300.0),), 700.0, 0.53, 10_000.0),
    Vehicle(
        "generic-icbm",
        (Stage(60_000.0, 4_000.0, 150.0, 290.0), Stage(12_000.0, 1_000.0, 150.0, 320.0)),
        800.0,
        1.36,
        10_000.0,
        10.0,
    ),
)


@dataclass(frozen=True, slots=True)
class LaunchParams:
    """Guidance of one launch: azimuth, final thrust elevation and engine cutoff time."""

    azimuth_deg: float
    """Launch azimuth, clockwise from local north."""
    final_elevation_deg: float
    """Thrust elevation above the local (geocentric) horizontal at engine cutoff."""
    cutoff_s: float
    """Engine cutoff, seconds after lift-off; at most the vehicle's total burn time."""
    pitch_fraction: float = 1.0
    """Share of the time from the end of the vertical rise to cutoff spent pitching over; the
    thrust then holds ``final_elevation_deg``. Below 1 flies flatter (depressed) shapes."""


@dataclass(frozen=True, slots=True)
class ModelOptions:
    """Physics switches and integration steps (switches exist for tests against closed forms)."""

    rotating: bool = True
    j2: bool = True
    drag: bool = True
    dt_boost_s: float = 0.1
    dt_coast_s: float = 2.0
    dt_low_s: float = 0.2
    low_alt_m: float = 120e3
    t_max_s: float = 10_000.0


@dataclass(frozen=True, slots=True)
class Trajectory:
    """A truth trajectory: states at the integrator's steps plus the key events."""

    t_s: FloatArray
    pos_ecef_m: FloatArray
    vel_ecef_m: FloatArray
    phase: npt.NDArray[np.int8]
    burnout_index: int
    """Index of the first ballistic sample (engine cutoff)."""
    impacted: bool
    vehicle_name: str = ""
    meta: dict[str, float] = field(default_factory=dict)

    @property
    def flight_time_s(self) -> float:
        return float(self.t_s[-1] - self.t_s[0])

    def acceleration(self) -> FloatArray:
        """Finite-difference accelerations at the samples (for Hermite interpolation)."""
        return np.gradient(self.vel_ecef_m, self.t_s, axis=0)

    def sample(self, t_s: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Positions and velocities (n, 3) at arbitrary times inside the flight.

        Cubic Hermite on position with the integrator's velocities as slopes; velocity from the
        Hermite derivative. Between 2 s coast steps this is accurate to centimetres.
        """
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        if np.any(t < self.t_s[0] - 1e-9) or np.any(t > self.t_s[-1] + 1e-9):
            raise ValueError("sample time outside the trajectory")
        i = np.clip(np.searchsorted(self.t_s, t, side="right") - 1, 0, self.t_s.size - 2)
        t0 = self.t_s[i]
        h = self.t_s[i + 1] - t0
        s = ((t - t0) / h)[:, None]
        p0, p1 = self.pos_ecef_m[i], self.pos_ecef_m[i + 1]
        m0, m1 = self.vel_ecef_m[i] * h[:, None], self.vel_ecef_m[i + 1] * h[:, None]
        s2, s3 = s * s, s * s * s
        pos = (
            (2 * s3 - 3 * s2 + 1) * p0
            + (s3 - 2 * s2 + s) * m0
            + (-2 * s3 + 3 * s2) * p1
            + (s3 - s2) * m1
        )
        dpos = (
            (6 * s2 - 6 * s) * p0
            + (3 * s2 - 4 * s + 1) * m0
            + (-6 * s2 + 6 * s) * p1
            + (3 * s2 - 2 * s) * m1
        ) / h[:, None]
        return pos, dpos


def guidance_plane_normal(lat_deg: float, lon_deg: float, azimuth_deg: float) -> FloatArray:
    """Unit normal (ECEF) of the Earth-fixed plane through the launch point and azimuth."""
    rot = enu_rotation(lat_deg, lon_deg)
    az = math.radians(azimuth_deg)
    d = math.sin(az) * rot[0] + math.cos(az) * rot[1]
    r = geodetic_to_ecef(lat_deg, lon_deg, 0.0)
    n = np.cross(r / np.linalg.norm(r), d)
    return np.asarray(n / np.linalg.norm(n), dtype=np.float64)


def simulate_launch(
    lat_deg: float,
    lon_deg: float,
    vehicle: Vehicle,
    params: LaunchParams,
    options: ModelOptions | None = None,
    alt_m: float = 0.0,
) -> Trajectory:
    """Fly one launch from lift-off to ground impact (or ``t_max_s``)."""
    opts = options or ModelOptions()
    if not 0.0 < params.cutoff_s <= vehicle.total_burn_s + 1e-9:
        raise ValueError(
            f"cutoff_s={params.cutoff_s} outside (0, {vehicle.total_burn_s}] of {vehicle.name}"
        )
    stage_end = np.cumsum([s.burn_time_s for s in vehicle.stages]).astype(np.float64)
    thrust = np.array([s.thrust_n for s in vehicle.stages])
    mdot = np.array([s.mass_flow_kgps for s in vehicle.stages])
    drop = np.array([s.dry_kg for s in vehicle.stages])
    r0 = geodetic_to_ecef(lat_deg, lon_deg, alt_m)
    y0 = np.concatenate([r0, np.zeros(3), [vehicle.liftoff_mass_kg]])
    t, ys, _, bo, impact = propagate_nb(
        y0,
        stage_end,
        thrust,
        mdot,
        drop,
        float(params.cutoff_s),
        float(vehicle.vertical_rise_s),
        float(
            vehicle.vertical_rise_s
            + params.pitch_fraction * max(params.cutoff_s - vehicle.vertical_rise_s, 0.0)
        ),
        math.radians(params.final_elevation_deg),
        guidance_plane_normal(lat_deg, lon_deg, params.azimuth_deg),
        vehicle.boost_cd_area_m2,
        vehicle.rv_beta_kgpm2,
        OMEGA_EARTH_RADPS if opts.rotating else 0.0,
        opts.j2,
        opts.drag,
        opts.dt_boost_s,
        opts.dt_coast_s,
        opts.dt_low_s,
        opts.low_alt_m,
        opts.t_max_s,
        True,
    )
    phase = np.full(t.size, PHASE_BALLISTIC, dtype=np.int8)
    phase[:bo] = PHASE_BOOST
    return Trajectory(t, ys[:, 0:3], ys[:, 3:6], phase, int(bo), bool(impact), vehicle.name)


def propagate_state(
    pos_ecef_m: npt.ArrayLike,
    vel_ecef_m: npt.ArrayLike,
    options: ModelOptions | None = None,
    beta_kgpm2: float = 10_000.0,
    stop_at_ground: bool = True,
) -> Trajectory:
    """Free flight from a state (Earth-fixed frame; with ``rotating=False`` it is inertial)."""
    opts = options or ModelOptions()
    y0 = np.concatenate(
        [np.asarray(pos_ecef_m, dtype=np.float64), np.asarray(vel_ecef_m, dtype=np.float64), [1.0]]
    )
    empty = np.zeros(1)
    t, ys, _, _, impact = propagate_nb(
        y0,
        empty,
        empty,
        empty,
        empty,
        0.0,
        0.0,
        0.0,
        0.0,
        np.array([0.0, 0.0, 1.0]),
        1.0,
        float(beta_kgpm2),
        OMEGA_EARTH_RADPS if opts.rotating else 0.0,
        opts.j2,
        opts.drag,
        opts.dt_boost_s,
        opts.dt_coast_s,
        opts.dt_low_s,
        opts.low_alt_m,
        opts.t_max_s,
        stop_at_ground,
    )
    phase = np.full(t.size, PHASE_BALLISTIC, dtype=np.int8)
    return Trajectory(t, ys[:, 0:3], ys[:, 3:6], phase, 0, bool(impact), "free-flight")
