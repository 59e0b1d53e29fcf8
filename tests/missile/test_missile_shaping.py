"""Shaping: Kepler closed forms and the full-model solver hitting apogee and impact."""

from __future__ import annotations

import math

import pytest
from pyproj import Geod

from trilink.missile.errors import InfeasibleTrajectoryError
from trilink.missile.frames import MEAN_EARTH_RADIUS_M
from trilink.missile.kepler import (
    feasible_apogee_km,
    kepler_for_apogee,
    kepler_from_burnout,
    max_range_for_speed,
    minimum_energy,
    shape_name,
)
from trilink.missile.sim.estimates import estimate
from trilink.missile.sim.shaping import solve_launch

GEOD = Geod(ellps="WGS84")
R0 = MEAN_EARTH_RADIUS_M


@pytest.mark.parametrize(("range_km", "apogee_km"), [(300, 80), (950, 4475), (3700, 770)])
def test_kepler_for_apogee_inverts_kepler_from_burnout(range_km: float, apogee_km: float) -> None:
    shot = kepler_for_apogee(R0, range_km * 1e3 / R0, R0 + apogee_km * 1e3)
    back = kepler_from_burnout(R0, shot.speed_mps, shot.flight_path_angle_rad)
    assert math.isclose(back.range_m, range_km * 1e3, rel_tol=1e-9)
    assert math.isclose(back.apogee_alt_m, apogee_km * 1e3, rel_tol=1e-9)


def test_minimum_energy_is_the_slowest_shot_for_its_range() -> None:
    psi = 2_000e3 / R0
    best = minimum_energy(R0, psi)
    assert math.isclose(best.range_angle_rad, psi, rel_tol=1e-9)
    for apo in (0.5, 0.8, 1.2, 2.0):
        other = kepler_for_apogee(R0, psi, R0 + apo * best.apogee_alt_m)
        assert other.speed_mps > best.speed_mps
    assert math.isclose(max_range_for_speed(R0, best.speed_mps), 2_000e3, rel_tol=1e-9)


def test_shape_names() -> None:
    assert shape_name(950, 4475) == "lofted"
    assert shape_name(1000, 240) == "minimum-energy"
    assert shape_name(600, 50) == "depressed"


@pytest.mark.parametrize(
    ("launch", "bearing", "range_km", "apogee_km"),
    [
        ((39.2, 125.67), 73.0, 2_700.0, 550.0),  # 2017-08-29 over Hokkaido
        ((39.12, 125.93), 76.0, 950.0, 4_475.0),  # 2017-11-29 Hwasong-15, lofted
        ((38.99, 127.62), 60.0, 450.0, 60.0),  # depressed SRBM
    ],
)
def test_solver_hits_requested_apogee_and_impact(
    launch: tuple[float, float], bearing: float, range_km: float, apogee_km: float
) -> None:
    lon, lat, _ = GEOD.fwd(launch[1], launch[0], bearing, range_km * 1e3)
    shot = solve_launch(launch, (lat, lon), apogee_km)
    est = estimate(shot.trajectory)
    _, _, miss_m = GEOD.inv(lon, lat, est.impact_lon_deg, est.impact_lat_deg)
    assert miss_m < 1_000.0
    assert abs(est.apogee_km - apogee_km) < 1.0
    assert abs(est.range_km - range_km) < 1.0
    assert shot.trajectory.impacted


def test_apogee_too_low_is_refused_with_the_feasible_interval() -> None:
    lo, hi = feasible_apogee_km(950.0) or (math.nan, math.nan)
    assert 0 < lo < 240 < hi
    with pytest.raises(InfeasibleTrajectoryError) as info:
        solve_launch((39.12, 125.93), (40.5, 136.9), 20.0)
    assert info.value.feasible_apogee_km is not None
    assert f"between {lo:.0f} and {hi:.0f} km" in str(info.value)


def test_out_of_reach_range_has_no_feasible_apogee() -> None:
    # 10,000 km needs about 7.2 km/s at minimum energy.
    assert feasible_apogee_km(10_000.0, max_speed_mps=6_000.0) is None
    assert feasible_apogee_km(10_000.0, max_speed_mps=7_500.0) is not None
    with pytest.raises(InfeasibleTrajectoryError, match="positive"):
        solve_launch((39.0, 125.7), (40.0, 135.0), float("nan"))


def test_impact_on_the_launch_point_is_refused() -> None:
    with pytest.raises(InfeasibleTrajectoryError, match="from the launch point"):
        solve_launch((39.0, 127.0), (39.0, 127.0), 100.0)


def test_long_range_minimum_energy_is_inside_the_feasible_interval() -> None:
    for range_km in (5_000.0, 12_000.0, 15_000.0):
        me = minimum_energy(R0, range_km * 1e3 / R0).apogee_alt_m / 1e3
        lo, hi = feasible_apogee_km(range_km) or (math.nan, math.nan)
        assert lo < me < hi
