"""WGS-84 frames for the missile engine: geodetic ↔ ECEF ↔ local ENU and radar az/el/range.

Every other missile module (trajectory integrator, sensor models, estimates) converts through
here. The array functions are vectorised numpy; the ``*_nb`` kernels are scalar numba versions
used inside the integrator's hot loop.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]

WGS84_A_M = 6_378_137.0
WGS84_F = 1.0 / 298.257223563
WGS84_B_M = WGS84_A_M * (1.0 - WGS84_F)
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
WGS84_EP2 = WGS84_E2 / (1.0 - WGS84_E2)
OMEGA_EARTH_RADPS = 7.292115e-5
"""Earth rotation rate (IERS / WGS-84)."""
MU_EARTH_M3PS2 = 3.986004418e14
"""Gravitational parameter GM of WGS-84 (incl. atmosphere)."""
J2_EARTH = 1.08262668e-3
"""Second zonal harmonic (EGM96 normalised C20 converted to unnormalised J2)."""
MEAN_EARTH_RADIUS_M = 6_371_008.8


def geodetic_to_ecef(
    lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike, alt_m: npt.ArrayLike
) -> FloatArray:
    """Geodetic latitude/longitude (deg) and ellipsoidal height (m) → ECEF (..., 3) in m."""
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    h = np.asarray(alt_m, dtype=np.float64)
    sin_lat = np.sin(lat)
    n = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)
    x = (n + h) * np.cos(lat) * np.cos(lon)
    y = (n + h) * np.cos(lat) * np.sin(lon)
    z = (n * (1.0 - WGS84_E2) + h) * sin_lat
    return np.stack(np.broadcast_arrays(x, y, z), axis=-1)


def ecef_to_geodetic(ecef_m: npt.ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """ECEF (..., 3) in m → (lat_deg, lon_deg, alt_m).

    Bowring's method with two refinement passes: sub-millimetre from the surface to beyond
    geostationary height, which is far below any sensor noise we model.
    """
    p_ecef = np.asarray(ecef_m, dtype=np.float64)
    x, y, z = p_ecef[..., 0], p_ecef[..., 1], p_ecef[..., 2]
    lon = np.arctan2(y, x)
    p = np.hypot(x, y)
    beta = np.arctan2(z * WGS84_A_M, p * WGS84_B_M)
    lat = np.arctan2(z, p)
    for _ in range(3):
        lat = np.arctan2(
            z + WGS84_EP2 * WGS84_B_M * np.sin(beta) ** 3,
            p - WGS84_E2 * WGS84_A_M * np.cos(beta) ** 3,
        )
        beta = np.arctan2((1.0 - WGS84_F) * np.sin(lat), np.cos(lat))
    sin_lat = np.sin(lat)
    n = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)
    # Two forms of the height: the cos form loses precision near the poles, the sin form near
    # the equator; blend by picking whichever denominator is larger.
    cos_lat = np.cos(lat)
    alt = np.where(
        np.abs(cos_lat) > 0.1,
        p / np.where(np.abs(cos_lat) > 0.1, cos_lat, 1.0) - n,
        z / np.where(np.abs(sin_lat) > 1e-9, sin_lat, 1.0) - n * (1.0 - WGS84_E2),
    )
    return np.degrees(lat), np.degrees(lon), alt


def enu_rotation(lat_deg: float, lon_deg: float) -> FloatArray:
    """Rows are the east, north, up unit vectors (in ECEF) at a geodetic point."""
    return enu_rotation_rad(math.radians(lat_deg), math.radians(lon_deg))


def enu_rotation_rad(lat_rad: float, lon_rad: float) -> FloatArray:
    """``enu_rotation`` for a latitude and longitude in radians."""
    sl, cl = math.sin(lat_rad), math.cos(lat_rad)
    so, co = math.sin(lon_rad), math.cos(lon_rad)
    return np.array(
        [
            [-so, co, 0.0],
            [-sl * co, -sl * so, cl],
            [cl * co, cl * so, sl],
        ]
    )


def ecef_to_enu(
    ecef_m: npt.ArrayLike, origin_lat_deg: float, origin_lon_deg: float, origin_alt_m: float
) -> FloatArray:
    """ECEF points (..., 3) → ENU (..., 3) in m at a geodetic origin."""
    rot = enu_rotation(origin_lat_deg, origin_lon_deg)
    origin = geodetic_to_ecef(origin_lat_deg, origin_lon_deg, origin_alt_m)
    d = np.asarray(ecef_m, dtype=np.float64) - origin
    return d @ rot.T


def enu_to_ecef(
    enu_m: npt.ArrayLike, origin_lat_deg: float, origin_lon_deg: float, origin_alt_m: float
) -> FloatArray:
    """ENU offsets (..., 3) at a geodetic origin → ECEF points (..., 3)."""
    rot = enu_rotation(origin_lat_deg, origin_lon_deg)
    origin = geodetic_to_ecef(origin_lat_deg, origin_lon_deg, origin_alt_m)
    return np.asarray(enu_m, dtype=np.float64) @ rot + origin


def enu_to_aer(enu_m: npt.ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """ENU (..., 3) → (azimuth_rad clockwise from north in [0, 2π), elevation_rad, range_m)."""
    e = np.asarray(enu_m, dtype=np.float64)
    east, north, up = e[..., 0], e[..., 1], e[..., 2]
    horiz = np.hypot(east, north)
    az = np.mod(np.arctan2(east, north), 2.0 * np.pi)
    el = np.arctan2(up, horiz)
    rng = np.sqrt(horiz * horiz + up * up)
    return az, el, rng


def aer_to_enu(az_rad: npt.ArrayLike, el_rad: npt.ArrayLike, range_m: npt.ArrayLike) -> FloatArray:
    """(azimuth, elevation, range) → ENU (..., 3); inverse of :func:`enu_to_aer`."""
    az = np.asarray(az_rad, dtype=np.float64)
    el = np.asarray(el_rad, dtype=np.float64)
    r = np.asarray(range_m, dtype=np.float64)
    ce = np.cos(el)
    return np.stack(
        np.broadcast_arrays(r * ce * np.sin(az), r * ce * np.cos(az), r * np.sin(el)), axis=-1
    )


@njit(cache=True)
def geodetic_to_ecef_nb(lat_rad: float, lon_rad: float, alt_m: float) -> FloatArray:
    """Scalar ``geodetic_to_ecef`` (radians in, ECEF vector out) for numba kernels."""
    sl = math.sin(lat_rad)
    cl = math.cos(lat_rad)
    n = WGS84_A_M / math.sqrt(1.0 - WGS84_E2 * sl * sl)
    out = np.empty(3)
    out[0] = (n + alt_m) * cl * math.cos(lon_rad)
    out[1] = (n + alt_m) * cl * math.sin(lon_rad)
    out[2] = (n * (1.0 - WGS84_E2) + alt_m) * sl
    return out


@njit(cache=True)
def ecef_to_geodetic_nb(x: float, y: float, z: float) -> tuple[float, float, float]:
    """Scalar ``ecef_to_geodetic``: latitude (rad), longitude (rad), ellipsoidal height (m);
    Bowring, two passes (sub-millimetre, like the array version)."""
    p = math.sqrt(x * x + y * y)
    beta = math.atan2(z * WGS84_A_M, p * WGS84_B_M)
    lat = 0.0
    for _ in range(2):
        sb = math.sin(beta)
        cb = math.cos(beta)
        lat = math.atan2(
            z + WGS84_EP2 * WGS84_B_M * sb * sb * sb, p - WGS84_E2 * WGS84_A_M * cb * cb * cb
        )
        beta = math.atan2((1.0 - WGS84_F) * math.sin(lat), math.cos(lat))
    sl = math.sin(lat)
    cl = math.cos(lat)
    n = WGS84_A_M / math.sqrt(1.0 - WGS84_E2 * sl * sl)
    alt = p / cl - n if abs(cl) > 0.1 else z / sl - n * (1.0 - WGS84_E2)
    return lat, math.atan2(y, x), alt


@njit(cache=True)
def geodetic_alt_nb(x: float, y: float, z: float) -> float:
    """Scalar ellipsoidal height (m) of an ECEF point."""
    return ecef_to_geodetic_nb(x, y, z)[2]


@njit(cache=True)
def geodetic_lat_rad_nb(x: float, y: float, z: float) -> float:
    """Scalar geodetic latitude (rad) of an ECEF point."""
    return ecef_to_geodetic_nb(x, y, z)[0]
