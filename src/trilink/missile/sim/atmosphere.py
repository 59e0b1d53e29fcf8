"""U.S. Standard Atmosphere 1976: density for the drag term of the trajectory integrator.

0–86 km: the seven hydrostatic layers of the standard (geopotential altitude, linear
temperature). 86–1000 km: log-linear interpolation of the standard's tabulated densities (the
upper atmosphere matters only for very low-β objects). Above 1000 km the density is zero.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]

_R0_M = 6_356_766.0  # effective Earth radius of the standard's geopotential altitude
_G0 = 9.80665
_R_AIR = 287.053_07  # R* / M0 = 8.31432 / 0.0289644
_LAYER_H_M = np.array([0.0, 11_000.0, 20_000.0, 32_000.0, 47_000.0, 51_000.0, 71_000.0])
_LAYER_LAPSE_KPM = np.array([-0.0065, 0.0, 0.001, 0.0028, 0.0, -0.0028, -0.002])
_LAYER_T_K = np.array([288.15, 216.65, 216.65, 228.65, 270.65, 270.65, 214.65])
_LAYER_P_PA = np.array([101_325.0, 22_632.06, 5_474.889, 868.0187, 110.9063, 66.93887, 3.956420])
_UPPER_ALT_M = np.array(
    [
        86e3,
        90e3,
        100e3,
        110e3,
        120e3,
        130e3,
        140e3,
        150e3,
        160e3,
        180e3,
        200e3,
        250e3,
        300e3,
        400e3,
        500e3,
        600e3,
        700e3,
        800e3,
        900e3,
        1000e3,
    ]
)
_UPPER_LOG_RHO = np.log(
    np.array(
        [
            6.958e-6,
            3.416e-6,
            5.604e-7,
            9.708e-8,
            2.222e-8,
            8.152e-9,
            3.831e-9,
            2.076e-9,
            1.233e-9,
            5.194e-10,
            2.541e-10,
            6.073e-11,
            1.916e-11,
            2.803e-12,
            5.215e-13,
            1.137e-13,
            3.070e-14,
            1.136e-14,
            5.759e-15,
            3.561e-15,
        ]
    )
)
TOP_OF_ATMOSPHERE_M = 1000e3


@njit(cache=True)
def density_nb(alt_m: float) -> float:
    """Air density (kg/m³) at a geometric altitude; scalar kernel for the integrator."""
    if alt_m >= TOP_OF_ATMOSPHERE_M:
        return 0.0
    if alt_m < 86e3:
        h = max(alt_m, -5000.0)
        hg = _R0_M * h / (_R0_M + h)
        i = 0
        for k in range(_LAYER_H_M.shape[0]):
            if hg >= _LAYER_H_M[k]:
                i = k
        lapse = _LAYER_LAPSE_KPM[i]
        t_b = _LAYER_T_K[i]
        p_b = _LAYER_P_PA[i]
        dh = hg - _LAYER_H_M[i]
        if lapse == 0.0:
            t = t_b
            p = p_b * math.exp(-_G0 * dh / (_R_AIR * t_b))
        else:
            t = t_b + lapse * dh
            p = p_b * (t_b / t) ** (_G0 / (_R_AIR * lapse))
        return float(p / (_R_AIR * t))
    j = 0
    for k in range(_UPPER_ALT_M.shape[0] - 1):
        if alt_m >= _UPPER_ALT_M[k]:
            j = k
    f = (alt_m - _UPPER_ALT_M[j]) / (_UPPER_ALT_M[j + 1] - _UPPER_ALT_M[j])
    return math.exp(_UPPER_LOG_RHO[j] + f * (_UPPER_LOG_RHO[j + 1] - _UPPER_LOG_RHO[j]))


def density(alt_m: npt.ArrayLike) -> FloatArray:
    """Vectorised air density (kg/m³) at geometric altitudes (m)."""
    a = np.asarray(alt_m, dtype=np.float64)
    flat = a.ravel()
    out = np.empty_like(flat)
    for i in range(flat.shape[0]):
        out[i] = density_nb(float(flat[i]))
    return out.reshape(a.shape)
