"""U.S. Standard Atmosphere 1976 densities against the standard's printed table."""

from __future__ import annotations

import numpy as np

from trilink.missile.sim.atmosphere import density

# (geometric altitude m, density kg/m3) from the USSA-1976 tables.
TABLE = [
    (0.0, 1.2250),
    (5_000.0, 0.73643),
    (11_000.0, 0.36480),
    (20_000.0, 0.088910),
    (32_000.0, 0.013555),
    (50_000.0, 0.0010269),
    (70_000.0, 8.2829e-5),
    (80_000.0, 1.8458e-5),
    (86_000.0, 6.958e-6),
]


def test_density_matches_standard_table() -> None:
    alts = np.array([a for a, _ in TABLE])
    want = np.array([d for _, d in TABLE])
    got = density(alts)
    assert np.all(np.abs(got / want - 1.0) < 0.01)


def test_density_monotone_and_zero_in_space() -> None:
    alts = np.linspace(0.0, 999e3, 2000)
    rho = density(alts)
    assert np.all(np.diff(rho) < 0.0)
    assert density(np.array([1_000e3, 5_000e3])).tolist() == [0.0, 0.0]
