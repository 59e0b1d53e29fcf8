"""WGS-84 conversions against pyproj, and the gravity field against its potential."""

from __future__ import annotations

import math

import numpy as np
from pyproj import Transformer

from trilink.missile.frames import (
    aer_to_enu,
    ecef_to_enu,
    ecef_to_geodetic,
    enu_to_aer,
    enu_to_ecef,
    geodetic_alt_nb,
    geodetic_to_ecef,
)
from trilink.missile.gravity import gravitation, gravitation_j2_nb, potential


def test_geodetic_ecef_match_pyproj_and_round_trip() -> None:
    rng = np.random.default_rng(6)
    lat = rng.uniform(-89.9, 89.9, 500)
    lon = rng.uniform(-180, 180, 500)
    alt = rng.uniform(-100.0, 5_000e3, 500)
    ecef = geodetic_to_ecef(lat, lon, alt)
    tr = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
    x, y, z = tr.transform(lon, lat, alt)
    assert np.max(np.abs(ecef - np.column_stack([x, y, z]))) < 1e-3
    lat2, lon2, alt2 = ecef_to_geodetic(ecef)
    assert np.max(np.abs(lat2 - lat)) < 1e-9
    assert np.max(np.abs(((lon2 - lon) + 180) % 360 - 180)) < 1e-9
    assert np.max(np.abs(alt2 - alt)) < 1e-3
    scalar = np.array([geodetic_alt_nb(*p) for p in ecef])
    assert np.max(np.abs(scalar - alt)) < 1e-3


def test_enu_and_aer_round_trip() -> None:
    rng = np.random.default_rng(7)
    pts = geodetic_to_ecef(
        rng.uniform(30, 45, 50), rng.uniform(125, 145, 50), rng.uniform(0, 2e6, 50)
    )
    enu = ecef_to_enu(pts, 38.0, 138.0, 500.0)
    back = enu_to_ecef(enu, 38.0, 138.0, 500.0)
    assert np.max(np.abs(back - pts)) < 1e-6
    az, el, r = enu_to_aer(enu)
    assert np.max(np.abs(aer_to_enu(az, el, r) - enu)) < 1e-6
    # A point straight above the origin along the ellipsoid normal has elevation 90 degrees.
    up = ecef_to_enu(geodetic_to_ecef(38.0, 138.0, 100e3), 38.0, 138.0, 0.0)
    assert math.isclose(enu_to_aer(up)[1], math.pi / 2, abs_tol=1e-9)


def test_gravitation_is_minus_gradient_of_potential() -> None:
    p = geodetic_to_ecef(35.0, 135.0, 800e3)
    h = 1.0
    grad = np.array([(potential(p + h * e) - potential(p - h * e)) / (2 * h) for e in np.eye(3)])
    assert np.allclose(gravitation(p), -grad, rtol=1e-6, atol=1e-9)
    assert np.allclose(gravitation(p), np.array(gravitation_j2_nb(*p, True)), rtol=1e-12)


def test_j2_strengthens_equatorial_and_weakens_polar_gravity() -> None:
    r = 7_000e3
    eq = np.array([r, 0.0, 0.0])
    pole = np.array([0.0, 0.0, r])
    assert np.linalg.norm(gravitation(eq, True)) > np.linalg.norm(gravitation(eq, False))
    assert np.linalg.norm(gravitation(pole, True)) < np.linalg.norm(gravitation(pole, False))
