"""Earth gravitation with the J2 oblateness term, in the Earth-fixed frame.

Used by the trajectory integrator (``trajectory``) and available to the trackers' ballistic
motion models. The field is axially symmetric, so it has the same form in ECEF and ECI.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from trilink.missile.frames import J2_EARTH, MU_EARTH_M3PS2, WGS84_A_M

FloatArray = npt.NDArray[np.float64]


@njit(cache=True)
def j2_perturbation_nb(x: float, y: float, z: float) -> tuple[float, float, float]:
    """The J2 part alone of the gravitational acceleration (m/s²) at an ECEF point."""
    r2 = x * x + y * y + z * z
    r = math.sqrt(r2)
    f = 1.5 * J2_EARTH * MU_EARTH_M3PS2 * WGS84_A_M * WGS84_A_M / (r2 * r2 * r)
    zr2 = 5.0 * z * z / r2
    return f * x * (zr2 - 1.0), f * y * (zr2 - 1.0), f * z * (zr2 - 3.0)


@njit(cache=True)
def gravitation_j2_nb(x: float, y: float, z: float, use_j2: bool) -> tuple[float, float, float]:
    """Gravitational acceleration (m/s²) at an ECEF point: point mass plus optional J2."""
    r2 = x * x + y * y + z * z
    r = math.sqrt(r2)
    k = -MU_EARTH_M3PS2 / (r2 * r)
    ax = k * x
    ay = k * y
    az = k * z
    if use_j2:
        jx, jy, jz = j2_perturbation_nb(x, y, z)
        ax += jx
        ay += jy
        az += jz
    return ax, ay, az


def gravitation(ecef_m: npt.ArrayLike, use_j2: bool = True) -> FloatArray:
    """Vectorised gravitational acceleration (..., 3) in m/s² at ECEF points (..., 3)."""
    p = np.asarray(ecef_m, dtype=np.float64)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    r2 = x * x + y * y + z * z
    r = np.sqrt(r2)
    k = -MU_EARTH_M3PS2 / (r2 * r)
    acc = p * k[..., None]
    if use_j2:
        f = 1.5 * J2_EARTH * MU_EARTH_M3PS2 * WGS84_A_M**2 / (r2 * r2 * r)
        zr2 = 5.0 * z * z / r2
        acc = acc + np.stack(
            [f * x * (zr2 - 1.0), f * y * (zr2 - 1.0), f * z * (zr2 - 3.0)], axis=-1
        )
    return acc


def potential(ecef_m: npt.ArrayLike, use_j2: bool = True) -> FloatArray:
    """Gravitational potential per unit mass (J/kg, negative) matching :func:`gravitation`."""
    p = np.asarray(ecef_m, dtype=np.float64)
    r = np.linalg.norm(p, axis=-1)
    u = -MU_EARTH_M3PS2 / r
    if use_j2:
        sin_phi = p[..., 2] / r
        u = u + MU_EARTH_M3PS2 * J2_EARTH * WGS84_A_M**2 / r**3 * 0.5 * (3.0 * sin_phi**2 - 1.0)
    return np.asarray(u, dtype=np.float64)
