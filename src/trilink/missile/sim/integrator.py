"""Numba kernel of the trajectory integrator: equations of motion and fixed-step RK4.

Hot loop of ``trajectory`` (which holds the vehicle/launch types and the Python entry points).
Equations in the rotating ECEF frame: J2 gravitation, Coriolis and centrifugal terms, drag
against the co-rotating U.S. 1976 atmosphere, thrust along the pitch programme while powered.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from trilink.missile.frames import geodetic_alt_nb
from trilink.missile.gravity import gravitation_j2_nb
from trilink.missile.sim.atmosphere import density_nb

FloatArray = npt.NDArray[np.float64]


@njit(cache=True)
def _deriv(
    t: float,
    y: FloatArray,
    stage_end_s: FloatArray,
    thrust_n: FloatArray,
    mdot_kgps: FloatArray,
    cutoff_s: float,
    vertical_s: float,
    pitch_end_s: float,
    final_el_rad: float,
    plane_n: FloatArray,
    boost_cd_area: float,
    rv_beta: float,
    omega: float,
    use_j2: bool,
    use_drag: bool,
    out: FloatArray,
) -> None:
    x, yy, z = y[0], y[1], y[2]
    vx, vy, vz = y[3], y[4], y[5]
    m = y[6]
    ax, ay, az = gravitation_j2_nb(x, yy, z, use_j2)
    if omega != 0.0:
        # Coriolis -2ω×v and centrifugal -ω×(ω×r) with ω = (0, 0, Ω).
        ax += 2.0 * omega * vy + omega * omega * x
        ay += -2.0 * omega * vx + omega * omega * yy
    dm = 0.0
    powered = t < cutoff_s
    if powered:
        k = 0
        while k < stage_end_s.shape[0] - 1 and t >= stage_end_s[k]:
            k += 1
        thrust = thrust_n[k]
        dm = -mdot_kgps[k]
        r = math.sqrt(x * x + yy * yy + z * z)
        ux, uy, uz = x / r, yy / r, z / r
        if t < vertical_s:
            el = 0.5 * math.pi
        else:
            f = min((t - vertical_s) / max(pitch_end_s - vertical_s, 1e-6), 1.0)
            el = 0.5 * math.pi + f * (final_el_rad - 0.5 * math.pi)
        # Horizontal direction in the guidance plane: h = n × u.
        hx = plane_n[1] * uz - plane_n[2] * uy
        hy = plane_n[2] * ux - plane_n[0] * uz
        hz = plane_n[0] * uy - plane_n[1] * ux
        hn = math.sqrt(hx * hx + hy * hy + hz * hz)
        ce = math.cos(el) / hn
        se = math.sin(el)
        a_t = thrust / m
        ax += a_t * (ce * hx + se * ux)
        ay += a_t * (ce * hy + se * uy)
        az += a_t * (ce * hz + se * uz)
    if use_drag:
        alt = geodetic_alt_nb(x, yy, z)
        rho = density_nb(alt)
        if rho > 0.0:
            beta = m / boost_cd_area if powered else rv_beta
            v = math.sqrt(vx * vx + vy * vy + vz * vz)
            k_d = -0.5 * rho * v / beta
            ax += k_d * vx
            ay += k_d * vy
            az += k_d * vz
    out[0] = vx
    out[1] = vy
    out[2] = vz
    out[3] = ax
    out[4] = ay
    out[5] = az
    out[6] = dm


@njit(cache=True)
def _rk4_step(
    t: float,
    y: FloatArray,
    dt: float,
    stage_end_s: FloatArray,
    thrust_n: FloatArray,
    mdot_kgps: FloatArray,
    cutoff_s: float,
    vertical_s: float,
    pitch_end_s: float,
    final_el_rad: float,
    plane_n: FloatArray,
    boost_cd_area: float,
    rv_beta: float,
    omega: float,
    use_j2: bool,
    use_drag: bool,
    k1: FloatArray,
    k2: FloatArray,
    k3: FloatArray,
    k4: FloatArray,
    tmp: FloatArray,
    out: FloatArray,
) -> None:
    # Evaluate the right-hand side slightly inside the step so that a step ending exactly on
    # cutoff or staging never samples the next regime.
    eps = 1e-9 * dt
    for stage in range(4):
        if stage == 0:
            ts = t + eps
            for i in range(7):
                tmp[i] = y[i]
        else:
            prev = k1 if stage == 1 else k2 if stage == 2 else k3
            h = dt if stage == 3 else 0.5 * dt
            ts = t + dt - eps if stage == 3 else t + 0.5 * dt
            for i in range(7):
                tmp[i] = y[i] + h * prev[i]
        k = k1 if stage == 0 else k2 if stage == 1 else k3 if stage == 2 else k4
        _deriv(
            ts, tmp, stage_end_s, thrust_n, mdot_kgps, cutoff_s, vertical_s, pitch_end_s,
            final_el_rad, plane_n, boost_cd_area, rv_beta, omega, use_j2, use_drag, k,
        )  # fmt: skip
    for i in range(7):
        out[i] = y[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])


@njit(cache=True)
def propagate_nb(
    y0: FloatArray,
    stage_end_s: FloatArray,
    thrust_n: FloatArray,
    mdot_kgps: FloatArray,
    drop_kg: FloatArray,
    cutoff_s: float,
    vertical_s: float,
    pitch_end_s: float,
    final_el_rad: float,
    plane_n: FloatArray,
    boost_cd_area: float,
    rv_beta: float,
    omega: float,
    use_j2: bool,
    use_drag: bool,
    dt_boost: float,
    dt_coast: float,
    dt_low: float,
    low_alt: float,
    t_max: float,
    stop_at_ground: bool,
) -> tuple[FloatArray, FloatArray, int, int, bool]:
    """Integrate from ``y0`` = (r, v, m) at t=0. Returns (t, states, n, burnout_index, impact)."""
    n_max = int(cutoff_s / dt_boost) + int(t_max / dt_low) + 16
    n_max = min(n_max, 2_000_000)
    ts = np.empty(n_max)
    ys = np.empty((n_max, 7))
    k1 = np.empty(7)
    k2 = np.empty(7)
    k3 = np.empty(7)
    k4 = np.empty(7)
    tmp = np.empty(7)
    y = y0.copy()
    y_new = np.empty(7)
    t = 0.0
    ts[0] = t
    ys[0] = y
    n = 1
    burnout_index = 0 if cutoff_s <= 0.0 else -1
    n_stage = stage_end_s.shape[0]
    stage_k = 0
    impact = False
    alt = geodetic_alt_nb(y[0], y[1], y[2])
    while t < t_max and n < n_max:
        powered = t < cutoff_s
        if powered:
            dt = dt_boost
            t_next_event = cutoff_s
            if stage_k < n_stage and stage_end_s[stage_k] < t_next_event:
                t_next_event = stage_end_s[stage_k]
            if t + dt > t_next_event:
                dt = t_next_event - t
        else:
            dt = dt_coast if alt > low_alt else dt_low
            if t + dt > t_max:
                dt = t_max - t
        if dt <= 0.0:
            dt = 1e-9
        _rk4_step(
            t,
            y,
            dt,
            stage_end_s,
            thrust_n,
            mdot_kgps,
            cutoff_s,
            vertical_s,
            pitch_end_s,
            final_el_rad,
            plane_n,
            boost_cd_area,
            rv_beta,
            omega,
            use_j2,
            use_drag,
            k1,
            k2,
            k3,
            k4,
            tmp,
            y_new,
        )
        alt_new = geodetic_alt_nb(y_new[0], y_new[1], y_new[2])
        if stop_at_ground and alt_new < 0.0 and t > 1.0:
            # Secant refinement of the ground-crossing time inside this step.
            lo = 0.0
            hi = dt
            a_lo = alt
            a_hi = alt_new
            for _ in range(30):
                f = lo + (hi - lo) * a_lo / (a_lo - a_hi)
                _rk4_step(
                    t,
                    y,
                    f,
                    stage_end_s,
                    thrust_n,
                    mdot_kgps,
                    cutoff_s,
                    vertical_s,
                    pitch_end_s,
                    final_el_rad,
                    plane_n,
                    boost_cd_area,
                    rv_beta,
                    omega,
                    use_j2,
                    use_drag,
                    k1,
                    k2,
                    k3,
                    k4,
                    tmp,
                    y_new,
                )
                a_f = geodetic_alt_nb(y_new[0], y_new[1], y_new[2])
                if abs(a_f) < 1e-3:
                    break
                if a_f > 0.0:
                    lo = f
                    a_lo = a_f
                else:
                    hi = f
                    a_hi = a_f
            t = t + f
            ts[n] = t
            ys[n] = y_new
            n += 1
            impact = True
            if burnout_index < 0:
                burnout_index = n - 1
            break
        t = t + dt
        y[:] = y_new
        alt = alt_new
        # Staging: the spent stage's dry mass falls away at its burnout.
        while stage_k < n_stage and t >= stage_end_s[stage_k] - 1e-9 and t <= cutoff_s + 1e-9:
            y[6] -= drop_kg[stage_k]
            stage_k += 1
        ts[n] = t
        ys[n] = y
        n += 1
        if burnout_index < 0 and t >= cutoff_s - 1e-9:
            burnout_index = n - 1
    if burnout_index < 0:
        burnout_index = n - 1
    return ts[:n].copy(), ys[:n].copy(), n, burnout_index, impact
