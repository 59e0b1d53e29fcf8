"""Motion and measurement models of the trackers: derivatives, invariants, round trips."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trilink.missile.frames import (
    J2_EARTH,
    MU_EARTH_M3PS2,
    OMEGA_EARTH_RADPS,
    WGS84_A_M,
    ecef_to_geodetic_nb,
    geodetic_to_ecef_nb,
)
from trilink.missile.track import dynamics as dyn
from trilink.missile.track.measure import Site, measure, to_ecef_position
from trilink.missile.track.synthetic import SyntheticSensor, state_from_geodetic


def _jacobi_constant(s: np.ndarray) -> float:
    """Energy in the rotating frame: conserved without drag for a time-invariant potential."""
    r = s[:3]
    rn = float(np.linalg.norm(r))
    z = r[2]
    u = (
        -MU_EARTH_M3PS2
        / rn
        * (1.0 - J2_EARTH * (WGS84_A_M / rn) ** 2 * (1.5 * z * z / (rn * rn) - 0.5))
    )
    w = OMEGA_EARTH_RADPS
    return 0.5 * float(s[3:6] @ s[3:6]) + u - 0.5 * w * w * (r[0] ** 2 + r[1] ** 2)


def test_jacobi_constant_conserved_without_drag() -> None:
    s = state_from_geodetic(39.0, 127.0, 200e3, 4000.0, 40.0, 90.0, None)
    c0 = _jacobi_constant(s)
    s1 = dyn.propagate(s, 600.0, False)
    assert abs(_jacobi_constant(s1) - c0) < 1e-6 * abs(c0)
    # and the state did move a long way, so this is not a no-op
    assert np.linalg.norm(s1[:3] - s[:3]) > 1e6


def test_drag_decelerates_and_reverse_propagation_returns() -> None:
    s = state_from_geodetic(39.0, 127.0, 40e3, 3000.0, -30.0, 90.0, 0.5)
    no_drag = s.copy()
    no_drag[6] = 0.0
    a = dyn.propagate(s, 20.0, False)
    b = dyn.propagate(no_drag, 20.0, False)
    assert np.linalg.norm(a[3:6]) < np.linalg.norm(b[3:6]) - 50.0
    back = dyn.propagate(a, -20.0, False)
    assert np.allclose(back[:3], s[:3], atol=0.5)


@pytest.mark.parametrize("alt_m", [300e3, 60e3])
def test_transition_matrix_matches_finite_differences(alt_m: float) -> None:
    s = state_from_geodetic(38.0, 130.0, alt_m, 3000.0, -10.0, 80.0, 0.5)
    _, phi = dyn.propagate_with_stm(s, 10.0, False)
    eps = np.array([10.0, 10.0, 10.0, 1.0, 1.0, 1.0, 0.01])
    for j in range(7):
        e = np.zeros(7)
        e[j] = eps[j]
        fd = (dyn.propagate(s + e, 10.0, False) - dyn.propagate(s - e, 10.0, False)) / (2 * eps[j])
        assert np.max(np.abs(fd - phi[:, j])) <= 1e-3 * np.max(np.abs(phi[:, j])) + 1e-9


def test_geodetic_round_trip_and_density() -> None:
    for lat, lon, h in [(0.1, 2.0, 0.0), (-1.2, -0.5, 500e3), (1.5, 0.3, 30e3)]:
        p = geodetic_to_ecef_nb(lat, lon, h)
        la, lo, hh = ecef_to_geodetic_nb(*p)
        assert la == pytest.approx(lat, abs=1e-10)
        assert lo == pytest.approx(lon, abs=1e-10)
        assert hh == pytest.approx(h, abs=1e-3)
        assert dyn.approx_altitude_m(*p) == pytest.approx(h, abs=30.0)
    rho0, _ = dyn.density_kg_m3(0.0)
    rho50, _ = dyn.density_kg_m3(50e3)
    assert rho0 == pytest.approx(1.225)
    assert 5e-4 < rho50 < 2e-3  # US Standard 1976: 1.03e-3 kg/m^3 at 50 km


def test_measurement_jacobian_and_inverse() -> None:
    sensor = SyntheticSensor.at_site("JP-FPS5-SADO", "JPN")
    site = Site.from_ecef(tuple(sensor.ecef_m))
    s = state_from_geodetic(40.0, 131.0, 300e3, 3000.0, 10.0, 100.0, 0.2)
    z, H = measure(s, site.ecef_m, site.rot_enu, True)
    assert 0.0 <= z[1] < 2 * math.pi
    # the target is west-north-west of Sado and above the horizon
    assert 260.0 < math.degrees(z[1]) < 310.0
    assert z[2] > 0.0
    for j in range(6):
        e = np.zeros(7)
        e[j] = 1.0
        fd = (
            measure(s + e, site.ecef_m, site.rot_enu, True)[0]
            - measure(s - e, site.ecef_m, site.rot_enu, True)[0]
        ) / 2.0
        assert np.allclose(fd, H[:, j], rtol=1e-5, atol=1e-12)
    p, _ = to_ecef_position(z, site.ecef_m, site.rot_enu)
    assert np.allclose(p, s[:3], atol=1e-3)
    # site round trip: geodetic of the site is the one we asked for
    assert math.degrees(site.lat_rad) == pytest.approx(38.12, abs=1e-9)
