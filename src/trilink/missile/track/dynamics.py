"""Ballistic dynamics in the rotating Earth-fixed frame: the tracker's motion model.

Place in the flow: every filter (``ekf``, ``ukf``, ``imm``), the estimators (``estimate``) and the
synthetic validation truth (``synthetic``) propagate states with these kernels, so the model the
filters assume is written once.

State layout (ECEF, WGS-84, SI units)::

    x[0:3]  position r (m)
    x[3:6]  velocity v relative to the rotating Earth (m/s)
    x[6]    inverse ballistic coefficient b = Cd*A/m in m^2 per tonne (optional, n >= 7)
    x[7:10] thrust acceleration (m/s^2), boost model only (optional, n == 10)

Acceleration = point-mass + J2 gravity, Coriolis and centrifugal terms, drag
``-0.5 * rho(h) * b/1000 * |v| v`` (the atmosphere co-rotates, so v is the air-relative
velocity), plus the thrust states. The ballistic coefficient is scaled to m^2/t so that its
variance lives within a few decades of the kinematic ones (conditioning of P).

Propagation is fixed-step RK4 of the state and, for the EKF, of the transition matrix
``dPhi/dt = A(x) Phi``. Steps shrink inside the dense atmosphere where drag is stiff.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from trilink.missile.frames import MU_EARTH_M3PS2, OMEGA_EARTH_RADPS, WGS84_A_M, WGS84_B_M
from trilink.missile.gravity import gravitation_j2_nb, j2_perturbation_nb
from trilink.missile.types import FloatArray

# Piecewise-exponential atmosphere (Vallado, Fundamentals of Astrodynamics, table 8-4):
# base altitude km, density kg/m^3 at the base, scale height km. Close to US Standard 1976.
_ATM = np.array(
    [
        [0.0, 1.225, 7.249],
        [25.0, 3.899e-2, 6.349],
        [30.0, 1.774e-2, 6.682],
        [40.0, 3.972e-3, 7.554],
        [50.0, 1.057e-3, 8.382],
        [60.0, 3.206e-4, 7.714],
        [70.0, 8.770e-5, 6.549],
        [80.0, 1.905e-5, 5.799],
        [90.0, 3.396e-6, 5.382],
        [100.0, 5.297e-7, 5.877],
        [110.0, 9.661e-8, 7.263],
        [120.0, 2.438e-8, 9.473],
        [130.0, 8.484e-9, 12.636],
        [140.0, 3.845e-9, 16.149],
        [150.0, 2.070e-9, 22.523],
        [180.0, 5.464e-10, 29.740],
        [200.0, 2.789e-10, 37.105],
        [250.0, 7.248e-11, 45.546],
        [300.0, 2.418e-11, 53.628],
        [350.0, 9.518e-12, 53.298],
        [400.0, 3.725e-12, 58.515],
        [450.0, 1.585e-12, 60.828],
        [500.0, 6.967e-13, 63.822],
        [600.0, 1.454e-13, 71.835],
        [700.0, 3.614e-14, 88.667],
        [800.0, 1.170e-14, 124.64],
        [900.0, 5.245e-15, 181.05],
        [1000.0, 3.019e-15, 268.00],
    ]
)
_ATM_BASE_M = _ATM[:, 0] * 1000.0
_ATM_RHO = _ATM[:, 1].copy()
_ATM_H_M = _ATM[:, 2] * 1000.0

# RK4 step limits (s): coarse in vacuum, fine where drag changes quickly.
MAX_STEP_EXO_S = 2.0
MAX_STEP_ENDO_S = 0.25
ENDO_ALTITUDE_M = 90_000.0


@nb.njit(cache=True, fastmath=False)
def approx_altitude_m(x: float, y: float, z: float) -> float:
    """Height above the ellipsoid along the geocentric radius (error < ~20 m below 1000 km)."""
    r = math.sqrt(x * x + y * y + z * z)
    s = z / r
    c2 = 1.0 - s * s
    a = WGS84_A_M
    b = WGS84_B_M
    r_ell = a * b / math.sqrt(b * b * c2 + a * a * s * s)
    return r - r_ell


@nb.njit(cache=True)
def density_kg_m3(h_m: float) -> tuple[float, float]:
    """Density and its scale height at altitude ``h_m`` (below 0 m the sea-level layer)."""
    if h_m > 1.2e6:
        return 0.0, _ATM_H_M[-1]
    i = 0
    n = _ATM_BASE_M.shape[0]
    while i + 1 < n and h_m >= _ATM_BASE_M[i + 1]:
        i += 1
    hs = _ATM_H_M[i]
    return _ATM_RHO[i] * math.exp(-(h_m - _ATM_BASE_M[i]) / hs), hs


@nb.njit(cache=True)
def deriv(s: FloatArray, thrust_on: bool, out: FloatArray) -> None:
    """Time derivative of state ``s`` (any layout above) into ``out``."""
    n = s.shape[0]
    x, y, z = s[0], s[1], s[2]
    vx, vy, vz = s[3], s[4], s[5]
    gx, gy, gz = gravitation_j2_nb(x, y, z, True)
    w = OMEGA_EARTH_RADPS
    ax = gx + 2.0 * w * vy + w * w * x
    ay = gy - 2.0 * w * vx + w * w * y
    az = gz
    if n >= 7 and s[6] > 0.0:
        h = approx_altitude_m(x, y, z)
        rho, _ = density_kg_m3(h)
        if rho > 0.0:
            sp = math.sqrt(vx * vx + vy * vy + vz * vz)
            kd = -0.5 * rho * s[6] * 1e-3 * sp
            ax += kd * vx
            ay += kd * vy
            az += kd * vz
    if n >= 10 and thrust_on:
        ax += s[7]
        ay += s[8]
        az += s[9]
    out[0] = vx
    out[1] = vy
    out[2] = vz
    out[3] = ax
    out[4] = ay
    out[5] = az
    for i in range(6, n):
        out[i] = 0.0


@nb.njit(cache=True)
def jacobian(s: FloatArray, thrust_on: bool, A: FloatArray) -> None:
    """Analytic ``d deriv / d s`` (J2 gradient by a 1 m finite difference) into ``A``."""
    n = s.shape[0]
    for i in range(n):
        for j in range(n):
            A[i, j] = 0.0
    A[0, 3] = 1.0
    A[1, 4] = 1.0
    A[2, 5] = 1.0
    x, y, z = s[0], s[1], s[2]
    r2 = x * x + y * y + z * z
    r = math.sqrt(r2)
    mu_r3 = MU_EARTH_M3PS2 / (r2 * r)
    # point mass: -mu/r^3 (I - 3 r r^T / r^2)
    rv = (x, y, z)
    for i in range(3):
        for j in range(3):
            A[3 + i, j] = 3.0 * mu_r3 * rv[i] * rv[j] / r2
        A[3 + i, i] -= mu_r3
    # J2 part (three orders smaller) by a 1 m forward difference
    j0x, j0y, j0z = j2_perturbation_nb(x, y, z)
    for j in range(3):
        j1x, j1y, j1z = j2_perturbation_nb(x + (j == 0), y + (j == 1), z + (j == 2))
        A[3, j] += j1x - j0x
        A[4, j] += j1y - j0y
        A[5, j] += j1z - j0z
    w = OMEGA_EARTH_RADPS
    A[3, 0] += w * w
    A[4, 1] += w * w
    A[3, 4] += 2.0 * w
    A[4, 3] -= 2.0 * w
    if n >= 7:
        h = approx_altitude_m(x, y, z)
        rho, hs = density_kg_m3(h)
        if rho > 0.0:
            vx, vy, vz = s[3], s[4], s[5]
            v = (vx, vy, vz)
            sp = math.sqrt(vx * vx + vy * vy + vz * vz)
            b = s[6] * 1e-3
            if sp > 0.0:
                for i in range(3):
                    # d/dv of -0.5 rho b |v| v
                    for j in range(3):
                        A[3 + i, 3 + j] += -0.5 * rho * b * v[i] * v[j] / sp
                    A[3 + i, 3 + i] += -0.5 * rho * b * sp
                    # d/db (state in m^2/t)
                    A[3 + i, 6] = -0.5 * rho * 1e-3 * sp * v[i]
                    # d/dr through rho(h): drho/dh = -rho/hs, dh/dr ~ r/|r|
                    if s[6] > 0.0:
                        for j in range(3):
                            A[3 + i, j] += 0.5 * rho / hs * b * sp * v[i] * rv[j] / r
    if n >= 10 and thrust_on:
        A[3, 7] = 1.0
        A[4, 8] = 1.0
        A[5, 9] = 1.0


@nb.njit(cache=True)
def _step_size(s: FloatArray, remaining: float) -> float:
    h = approx_altitude_m(s[0], s[1], s[2])
    mx = MAX_STEP_ENDO_S if (s.shape[0] >= 7 and h < ENDO_ALTITUDE_M) else MAX_STEP_EXO_S
    n_steps = math.ceil(abs(remaining) / mx - 1e-9)
    if n_steps < 1:
        n_steps = 1
    return remaining / n_steps


@nb.njit(cache=True)
def rk4_step(
    s: FloatArray, h: float, thrust_on: bool, k: FloatArray, tmp: FloatArray, out: FloatArray
) -> None:
    """One RK4 step of ``deriv`` into ``out`` (which may be ``s``); ``k`` (4 x n) keeps the
    stage derivatives, ``tmp`` is scratch."""
    n = s.shape[0]
    deriv(s, thrust_on, k[0])
    for i in range(n):
        tmp[i] = s[i] + 0.5 * h * k[0, i]
    deriv(tmp, thrust_on, k[1])
    for i in range(n):
        tmp[i] = s[i] + 0.5 * h * k[1, i]
    deriv(tmp, thrust_on, k[2])
    for i in range(n):
        tmp[i] = s[i] + h * k[2, i]
    deriv(tmp, thrust_on, k[3])
    for i in range(n):
        out[i] = s[i] + h / 6.0 * (k[0, i] + 2.0 * k[1, i] + 2.0 * k[2, i] + k[3, i])


@nb.njit(cache=True)
def propagate(s0: FloatArray, dt: float, thrust_on: bool) -> FloatArray:
    """State after ``dt`` seconds (negative ``dt`` integrates backwards)."""
    n = s0.shape[0]
    s = s0.copy()
    k = np.empty((4, n))
    tmp = np.empty(n)
    t = 0.0
    while abs(dt - t) > 1e-9:
        h = _step_size(s, dt - t)
        if abs(h) > abs(dt - t):
            h = dt - t
        rk4_step(s, h, thrust_on, k, tmp, s)
        t += h
    return s


@nb.njit(cache=True)
def propagate_with_stm(
    s0: FloatArray, dt: float, thrust_on: bool
) -> tuple[FloatArray, FloatArray]:
    """State after ``dt`` (RK4) and the transition matrix ``Phi = d s(dt) / d s0``.

    Per RK4 step ``Phi_step = I + A h + (A h)^2 / 2`` with ``A`` at the step's midpoint state:
    the local error is third order in ``|A| h``, which is below 1e-6 for the step limits used
    (|A| is ~1e-6 s^-2 for gravity; drag terms are bounded by the endo-atmospheric step).
    """
    n = s0.shape[0]
    s = s0.copy()
    sn = np.empty(n)
    phi = np.eye(n)
    k = np.empty((4, n))
    tmp = np.empty(n)
    A = np.empty((n, n))
    step = np.empty((n, n))
    tmp2 = np.empty(n)
    t = 0.0
    while abs(dt - t) > 1e-9:
        h = _step_size(s, dt - t)
        if abs(h) > abs(dt - t):
            h = dt - t
        rk4_step(s, h, thrust_on, k, tmp, sn)
        for i in range(n):
            tmp[i] = s[i] + 0.5 * h * k[0, i]
        jacobian(tmp, thrust_on, A)
        for i in range(n):
            for j in range(n):
                A[i, j] *= h
        for i in range(n):
            for j in range(n):
                acc = 0.0
                for m in range(n):
                    acc += A[i, m] * A[m, j]
                step[i, j] = A[i, j] + 0.5 * acc
            step[i, i] += 1.0
        for j in range(n):
            for i in range(n):
                acc = 0.0
                for m in range(n):
                    acc += step[i, m] * phi[m, j]
                tmp2[i] = acc
            for i in range(n):
                phi[i, j] = tmp2[i]
        s, sn = sn, s
        t += h
    return s, phi


@nb.njit(cache=True)
def process_noise(
    n: int, dt: float, q_acc: float, q_beta: float, q_thrust: float, thrust_on: bool
) -> FloatArray:
    """Discrete process noise for white acceleration noise ``q_acc`` (m^2/s^3) on each axis,
    a random walk of the ballistic coefficient ``q_beta`` ((m^2/t)^2/s) and, in the boost model,
    a random walk of the thrust acceleration ``q_thrust`` ((m/s^2)^2/s)."""
    Q = np.zeros((n, n))
    a = abs(dt)
    a2 = a * a
    a3 = a2 * a
    for i in range(3):
        Q[i, i] = q_acc * a3 / 3.0
        Q[i, 3 + i] = q_acc * a2 / 2.0
        Q[3 + i, i] = q_acc * a2 / 2.0
        Q[3 + i, 3 + i] = q_acc * a
    if n >= 7:
        Q[6, 6] = q_beta * a
    if n >= 10:
        qt = q_thrust
        if thrust_on:
            a4 = a3 * a
            a5 = a4 * a
            for i in range(3):
                Q[i, i] += qt * a5 / 20.0
                Q[i, 3 + i] += qt * a4 / 8.0
                Q[3 + i, i] += qt * a4 / 8.0
                Q[i, 7 + i] = qt * a3 / 6.0
                Q[7 + i, i] = qt * a3 / 6.0
                Q[3 + i, 3 + i] += qt * a3 / 3.0
                Q[3 + i, 7 + i] = qt * a2 / 2.0
                Q[7 + i, 3 + i] = qt * a2 / 2.0
                Q[7 + i, 7 + i] = qt * a
    return Q
