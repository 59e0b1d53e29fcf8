"""The integrator against closed forms and conservation laws."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trilink.missile.frames import OMEGA_EARTH_RADPS, WGS84_A_M, geodetic_to_ecef
from trilink.missile.gravity import potential
from trilink.missile.kepler import kepler_from_burnout
from trilink.missile.sim.trajectory import (
    GENERIC_VEHICLES,
    LaunchParams,
    ModelOptions,
    propagate_state,
    simulate_launch,
)

VACUUM_INERTIAL = ModelOptions(rotating=False, j2=False, drag=False, dt_coast_s=1.0)


@pytest.mark.parametrize(
    ("speed_mps", "gamma_deg"), [(3_000.0, 45.0), (6_500.0, 30.0), (7_000.0, 70.0)]
)
def test_vacuum_non_rotating_matches_kepler(speed_mps: float, gamma_deg: float) -> None:
    # Launch in the equatorial plane from the equator: the ellipsoid surface there is a circle
    # of radius a, so the flight is a Kepler arc between two points at radius a.
    g = math.radians(gamma_deg)
    r0 = np.array([WGS84_A_M + 1e-6, 0.0, 0.0])
    v0 = speed_mps * np.array([math.sin(g), math.cos(g), 0.0])
    traj = propagate_state(r0, v0, VACUUM_INERTIAL)
    ref = kepler_from_burnout(WGS84_A_M, speed_mps, g)
    end = traj.pos_ecef_m[-1]
    psi = math.atan2(end[1], end[0]) % (2 * math.pi)
    assert traj.impacted
    assert abs(psi - ref.range_angle_rad) * WGS84_A_M < 5.0  # metres
    assert abs(np.linalg.norm(traj.pos_ecef_m, axis=1).max() - ref.apogee_radius_m) < 50.0
    assert abs(traj.flight_time_s - ref.flight_time_s) < 0.01


def _jacobi(pos: np.ndarray, vel: np.ndarray, j2: bool) -> np.ndarray:
    """Energy per unit mass conserved in the rotating frame (gravity is time-invariant there)."""
    w = np.array([0.0, 0.0, OMEGA_EARTH_RADPS])
    centrifugal = 0.5 * np.sum(np.cross(w, pos) ** 2, axis=1)
    return 0.5 * np.sum(vel**2, axis=1) + potential(pos, j2) - centrifugal


def test_energy_conserved_without_drag_in_rotating_frame_with_j2() -> None:
    r0 = geodetic_to_ecef(39.0, 125.7, 200e3)
    east_up = np.array([0.3, 0.6, 0.75])
    v0 = 6_800.0 * east_up / np.linalg.norm(east_up)
    traj = propagate_state(r0, v0, ModelOptions(drag=False, dt_coast_s=2.0))
    e = _jacobi(traj.pos_ecef_m, traj.vel_ecef_m, True)
    assert traj.flight_time_s > 1_500.0
    assert np.max(np.abs(e - e[0])) / abs(e[0]) < 1e-9


def test_j2_regresses_the_node_of_a_prograde_orbit_by_the_closed_form_rate() -> None:
    # Circular orbit, 400 km, 51.6 deg inclination, inertial frame: over one orbit the node
    # moves by -3 pi J2 (R/a)^2 cos i (westward for prograde orbits).
    from trilink.missile.frames import J2_EARTH, MU_EARTH_M3PS2

    a = WGS84_A_M + 400e3
    inc = math.radians(51.6)
    v = math.sqrt(MU_EARTH_M3PS2 / a)
    r0 = np.array([a, 0.0, 0.0])
    v0 = v * np.array([0.0, math.cos(inc), math.sin(inc)])
    period = 2 * math.pi * math.sqrt(a**3 / MU_EARTH_M3PS2)
    opts = ModelOptions(rotating=False, j2=True, drag=False, dt_coast_s=1.0, t_max_s=period)
    traj = propagate_state(r0, v0, opts, stop_at_ground=False)

    def node(i: int) -> float:
        h = np.cross(traj.pos_ecef_m[i], traj.vel_ecef_m[i])
        return math.atan2(h[0], -h[1])

    d_node = node(-1) - node(0)
    expected = -3 * math.pi * J2_EARTH * (WGS84_A_M / a) ** 2 * math.cos(inc)
    assert d_node < 0.0
    assert abs(d_node / expected - 1.0) < 0.05


def test_drag_shortens_range_and_slows_impact() -> None:
    vehicle = GENERIC_VEHICLES[1]
    params = LaunchParams(80.0, 40.0, vehicle.total_burn_s)
    with_drag = simulate_launch(39.0, 125.7, vehicle, params, ModelOptions(drag=True))
    no_drag = simulate_launch(39.0, 125.7, vehicle, params, ModelOptions(drag=False))
    start = with_drag.pos_ecef_m[0]
    d_drag = np.linalg.norm(with_drag.pos_ecef_m[-1] - start)
    d_vac = np.linalg.norm(no_drag.pos_ecef_m[-1] - start)
    assert d_drag < d_vac
    assert np.linalg.norm(with_drag.vel_ecef_m[-1]) < np.linalg.norm(no_drag.vel_ecef_m[-1])


def test_hermite_sampling_matches_a_fine_integration() -> None:
    vehicle = GENERIC_VEHICLES[2]
    params = LaunchParams(75.0, 30.0, vehicle.total_burn_s)
    coarse = simulate_launch(40.0, 127.0, vehicle, params)
    fine = simulate_launch(
        40.0, 127.0, vehicle, params, ModelOptions(dt_coast_s=0.05, dt_low_s=0.05)
    )
    t = np.linspace(coarse.t_s[coarse.burnout_index] + 1.0, coarse.t_s[-1] - 30.0, 97)
    p_c, v_c = coarse.sample(t)
    p_f, v_f = fine.sample(t)
    assert np.max(np.linalg.norm(p_c - p_f, axis=1)) < 1.0
    assert np.max(np.linalg.norm(v_c - v_f, axis=1)) < 0.01
    with pytest.raises(ValueError):
        coarse.sample([coarse.t_s[-1] + 10.0])


def test_staging_drops_dry_mass_and_burnout_is_marked() -> None:
    icbm = GENERIC_VEHICLES[-1]
    traj = simulate_launch(39.0, 125.7, icbm, LaunchParams(80.0, 30.0, icbm.total_burn_s))
    assert math.isclose(traj.t_s[traj.burnout_index], icbm.total_burn_s, abs_tol=1e-6)
    assert np.all(traj.phase[: traj.burnout_index] == 0)
    assert np.all(traj.phase[traj.burnout_index :] == 1)
    assert icbm.ideal_delta_v_mps() > np.linalg.norm(traj.vel_ecef_m[traj.burnout_index])
