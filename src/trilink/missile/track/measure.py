"""Radar measurement model: ECEF state -> range, azimuth, elevation (and range-rate) at a site.

Place in the flow: the filters call ``measure`` to predict a ``Plot`` and get its Jacobian; the
synthetic truth calls it to make plots. Azimuth is clockwise from local north and elevation is
above the local horizontal of the WGS-84 ellipsoid normal at the site, matching ``Plot``.
Atmospheric refraction is not modelled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np

from trilink.missile.frames import ecef_to_geodetic_nb, enu_rotation_rad
from trilink.missile.types import FloatArray, Plot


@dataclass(frozen=True, slots=True)
class Site:
    """A sensor position with its ENU rotation cached (rows: east, north, up)."""

    ecef_m: FloatArray
    rot_enu: FloatArray
    lat_rad: float
    lon_rad: float
    h_m: float

    @classmethod
    def from_ecef(cls, ecef_m: tuple[float, float, float] | FloatArray) -> Site:
        e = np.asarray(ecef_m, dtype=np.float64)
        lat, lon, h = ecef_to_geodetic_nb(float(e[0]), float(e[1]), float(e[2]))
        return cls(ecef_m=e, rot_enu=enu_rotation_rad(lat, lon), lat_rad=lat, lon_rad=lon, h_m=h)


@nb.njit(cache=True)
def wrap_pi(a: float) -> float:
    return (a + math.pi) % (2.0 * math.pi) - math.pi


@nb.njit(cache=True)
def measure_into(
    s: FloatArray, site: FloatArray, rot: FloatArray, use_rr: bool, z: FloatArray, H: FloatArray
) -> None:
    """``measure`` into ``z[:m]`` and ``H[:m]`` (the tracker's inner loop reuses buffers)."""
    n = s.shape[0]
    dx = s[0] - site[0]
    dy = s[1] - site[1]
    dz = s[2] - site[2]
    e = rot[0, 0] * dx + rot[0, 1] * dy + rot[0, 2] * dz
    nn = rot[1, 0] * dx + rot[1, 1] * dy + rot[1, 2] * dz
    u = rot[2, 0] * dx + rot[2, 1] * dy + rot[2, 2] * dz
    rho2 = e * e + nn * nn + u * u
    rho = math.sqrt(rho2)
    hz2 = e * e + nn * nn
    hz = math.sqrt(hz2)
    z[0] = rho
    z[1] = math.atan2(e, nn) % (2.0 * math.pi)
    z[2] = math.atan2(u, hz)
    # derivatives with respect to the local (e, n, u) vector, then rotated into ECEF
    r0, r1, r2 = e / rho, nn / rho, u / rho
    a0, a1 = nn / hz2, -e / hz2
    q = rho2 * hz
    e0, e1, e2 = -e * u / q, -nn * u / q, hz / rho2
    for j in range(3):
        H[0, j] = r0 * rot[0, j] + r1 * rot[1, j] + r2 * rot[2, j]
        H[1, j] = a0 * rot[0, j] + a1 * rot[1, j]
        H[2, j] = e0 * rot[0, j] + e1 * rot[1, j] + e2 * rot[2, j]
    for a in range(3):
        for j in range(3, n):
            H[a, j] = 0.0
    if use_rr:
        rr = (dx * s[3] + dy * s[4] + dz * s[5]) / rho
        z[3] = rr
        H[3, 0] = (s[3] - rr * dx / rho) / rho
        H[3, 1] = (s[4] - rr * dy / rho) / rho
        H[3, 2] = (s[5] - rr * dz / rho) / rho
        H[3, 3] = dx / rho
        H[3, 4] = dy / rho
        H[3, 5] = dz / rho
        for j in range(6, n):
            H[3, j] = 0.0


@nb.njit(cache=True)
def measure(
    s: FloatArray, site: FloatArray, rot: FloatArray, use_rr: bool
) -> tuple[FloatArray, FloatArray]:
    """Predicted measurement ``[range, az, el(, range_rate)]`` and its Jacobian wrt ``s``."""
    m = 4 if use_rr else 3
    z = np.empty(m)
    H = np.empty((m, s.shape[0]))
    measure_into(s, site, rot, use_rr, z, H)
    return z, H


@nb.njit(cache=True)
def hph(H: FloatArray, P: FloatArray) -> FloatArray:
    """``H P H^T`` in loops (at 4 x 7 a BLAS call costs more than the arithmetic)."""
    m, n = H.shape
    HP = np.zeros((m, n))
    for a in range(m):
        for k in range(n):
            h = H[a, k]
            if h != 0.0:
                for j in range(n):
                    HP[a, j] += h * P[k, j]
    S = np.empty((m, m))
    for a in range(m):
        for b in range(a + 1):
            acc = 0.0
            for j in range(n):
                acc += HP[a, j] * H[b, j]
            S[a, b] = acc
            S[b, a] = acc
    return S


@nb.njit(cache=True)
def to_ecef_position(
    z: FloatArray, site: FloatArray, rot: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Inverse of the position part of ``measure``: ECEF point and its Jacobian wrt (r, az, el)."""
    rng, az, el = z[0], z[1], z[2]
    ce, se = math.cos(el), math.sin(el)
    ca, sa = math.cos(az), math.sin(az)
    local = np.array([rng * ce * sa, rng * ce * ca, rng * se])
    dl = np.empty((3, 3))
    dl[0, 0], dl[0, 1], dl[0, 2] = ce * sa, rng * ce * ca, -rng * se * sa
    dl[1, 0], dl[1, 1], dl[1, 2] = ce * ca, -rng * ce * sa, -rng * se * ca
    dl[2, 0], dl[2, 1], dl[2, 2] = se, 0.0, rng * ce
    rt = rot.T.copy()
    p = site + rt @ local
    J = rt @ dl
    return p, J


def plot_vector(plot: Plot) -> tuple[FloatArray, FloatArray, bool]:
    """``(z, R_diag, has_range_rate)`` of a plot for the numeric kernels."""
    has_rr = plot.range_rate_mps is not None and plot.sigma_range_rate_mps is not None
    if has_rr:
        z = np.array(
            [plot.range_m, plot.azimuth_rad, plot.elevation_rad, plot.range_rate_mps],
            dtype=np.float64,
        )
        r = np.array(
            [
                plot.sigma_range_m**2,
                plot.sigma_azimuth_rad**2,
                plot.sigma_elevation_rad**2,
                float(plot.sigma_range_rate_mps) ** 2,  # type: ignore[arg-type]
            ]
        )
    else:
        z = np.array([plot.range_m, plot.azimuth_rad, plot.elevation_rad], dtype=np.float64)
        r = np.array(
            [plot.sigma_range_m**2, plot.sigma_azimuth_rad**2, plot.sigma_elevation_rad**2]
        )
    return z, r, has_rr


def plot_is_finite(plot: Plot) -> bool:
    vals = [
        plot.t_s,
        plot.range_m,
        plot.azimuth_rad,
        plot.elevation_rad,
        plot.sigma_range_m,
        plot.sigma_azimuth_rad,
        plot.sigma_elevation_rad,
        *plot.sensor_ecef_m,
    ]
    if plot.range_rate_mps is not None:
        vals.append(plot.range_rate_mps)
    if plot.sigma_range_rate_mps is not None:
        vals.append(plot.sigma_range_rate_mps)
    if not all(math.isfinite(v) for v in vals):
        return False
    sig = [plot.sigma_range_m, plot.sigma_azimuth_rad, plot.sigma_elevation_rad]
    if plot.sigma_range_rate_mps is not None:
        sig.append(plot.sigma_range_rate_mps)
    return plot.range_m > 0.0 and all(s > 0.0 for s in sig)
