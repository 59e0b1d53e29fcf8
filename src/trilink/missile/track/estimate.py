"""Estimates from a track: impact point with 95 % ellipse, time to impact, launch point, apogee.

Place in the flow: after each scan the engine calls ``estimate_track`` on every confirmed (or
fused) ``TrackState``; ``trilink.missile.sim.estimates`` turns the result into zone probabilities
and warnings. The track state is propagated with the same ballistic dynamics as the filters,
forward to the ground for the impact and backward to the ground for the launch point.

Uncertainty: the state covariance is carried by the unscented transform (each sigma point flown
to the ground with the full nonlinear model) or by Monte Carlo; the growth from process noise
during the rest of the flight is added by linear propagation along the mean and projected onto
the ground along the velocity (an along-track position error becomes a time error). Backward
propagation through the boost phase with a ballistic model is biased (the thrust is unknown
to it): the launch point is reliable from tracks that start shortly after burnout.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from trilink.missile.frames import ecef_to_geodetic_nb, enu_rotation_rad, geodetic_to_ecef_nb
from trilink.missile.track.dynamics import (
    ENDO_ALTITUDE_M,
    approx_altitude_m,
    process_noise,
    propagate_with_stm,
    rk4_step,
)
from trilink.missile.track.ekf import sandwich
from trilink.missile.track.filter import FilterParams
from trilink.missile.types import FloatArray, GroundEstimate, TrackEstimate, TrackState

CHI2_2DOF_95 = 5.991464547107979
_STEP_S = 2.0
_MAX_FLIGHT_S = 4000.0


# RK4 step where drag acts: against 0.25 s (the filters' step), 1 s moves predicted impacts by
# at most 0.4 m and 1.3 ms (SRBM to ICBM reentries, b = 0.05..1 m^2/t), far inside any ellipse,
# for a quarter of the steps
_ENDO_STEP_S = 1.0


@nb.njit(cache=True)
def _fly_step(h_m: float) -> float:
    # long steps in near-vacuum (orbital curvature error ~ (h/1000 s)^5), short ones where
    # drag acts
    if h_m > 150_000.0:
        return 10.0
    if h_m > ENDO_ALTITUDE_M:
        return 2.0
    return _ENDO_STEP_S


@nb.njit(cache=True)
def fly_to_altitude(
    x0: FloatArray, direction: float, h_target_m: float, max_s: float
) -> tuple[float, FloatArray, float, float]:
    """Fly ``x0`` forward (``direction=+1``) or backward (``-1``) until the altitude falls
    through ``h_target_m``. Returns (elapsed s, state there, max altitude, its elapsed time);
    elapsed is NaN when the target altitude is not reached within ``max_s``."""
    n = x0.shape[0]
    s = x0.copy()
    sn = np.empty(n)
    sm = np.empty(n)
    k = np.empty((4, n))
    tmp = np.empty(n)
    t = 0.0
    h = approx_altitude_m(s[0], s[1], s[2])
    hmax = h
    thmax = 0.0
    if h < h_target_m:
        return 0.0, s, hmax, thmax
    while t < max_s:
        step = _fly_step(h)
        rk4_step(s, direction * step, False, k, tmp, sn)
        hn = approx_altitude_m(sn[0], sn[1], sn[2])
        if not math.isfinite(hn):
            return math.nan, s, hmax, thmax
        if hn > hmax:
            hmax = hn
            thmax = t + step
        if hn <= h_target_m:
            lo, hi = 0.0, step
            while hi - lo > 1e-4:  # 0.1 ms: a few decimetres at reentry speed
                mid = 0.5 * (lo + hi)
                rk4_step(s, direction * mid, False, k, tmp, sm)
                if approx_altitude_m(sm[0], sm[1], sm[2]) > h_target_m:
                    lo = mid
                else:
                    hi = mid
            rk4_step(s, direction * hi, False, k, tmp, sm)
            return t + hi, sm, hmax, thmax
        s, sn = sn, s
        h = hn
        t += step
    return math.nan, s, hmax, thmax


@nb.njit(cache=True)
def process_noise_along(
    x0: FloatArray, elapsed_s: float, direction: float, q_acc: float, q_beta: float
) -> FloatArray:
    """Covariance accumulated from process noise alone along the mean path over ``elapsed_s``."""
    n = x0.shape[0]
    Pq = np.zeros((n, n))
    B = np.empty((n, n))
    s = x0.copy()
    t = 0.0
    while t < elapsed_s - 1e-9:
        step = min(_STEP_S, elapsed_s - t)
        s, phi = propagate_with_stm(s, direction * step, False)
        Q = process_noise(n, step, q_acc, q_beta, 0.0, False)
        sandwich(phi, Pq, B, Q, True)
        Pq = Q
        t += step
    return Pq


def _sigma_points(x: FloatArray, P: FloatArray) -> tuple[FloatArray, FloatArray]:
    n = x.shape[0]
    # kappa = 0, alpha = 1: 2n points at +-sqrt(n) sigma, centre weight 0
    w, V = np.linalg.eigh(0.5 * (P + P.T))
    L = V * np.sqrt(np.clip(w, 0.0, None) * n)
    pts = np.vstack([x, x + L.T, x - L.T])
    wts = np.concatenate([[0.0], np.full(2 * n, 0.5 / n)])
    return pts, wts


def _ground(
    samples: list[tuple[float, FloatArray]],
    weights: FloatArray,
    t0_s: float,
    direction: float,
    extra_cov_enu: FloatArray | None,
    extra_var_t: float,
) -> GroundEstimate | None:
    ok = [(k, dt, xe) for k, (dt, xe) in enumerate(samples) if math.isfinite(dt)]
    if len(ok) < len(samples):
        return None
    w = weights / weights.sum()
    pos = np.array([xe[:3] for _, _, xe in ok])
    tt = np.array([t0_s + direction * dt for _, dt, _ in ok])
    mean_pos = w @ pos
    lat, lon, _ = ecef_to_geodetic_nb(*mean_pos)
    ground = geodetic_to_ecef_nb(lat, lon, 0.0)
    rot = enu_rotation_rad(lat, lon)
    en = (pos - ground) @ rot[:2].T
    en_mean = w @ en
    d = en - en_mean
    cov = (d * w[:, None]).T @ d
    t_mean = float(w @ tt)
    var_t = float(w @ (tt - t_mean) ** 2) + extra_var_t
    if extra_cov_enu is not None:
        cov = cov + extra_cov_enu
    # shift the tangent-plane mean back onto the ellipsoid point it represents
    mean_ecef = ground + rot[:2].T @ en_mean
    lat, lon, _ = ecef_to_geodetic_nb(*mean_ecef)
    evals, evecs = np.linalg.eigh(cov)
    major = evecs[:, 1]
    az = math.degrees(math.atan2(major[0], major[1])) % 180.0
    return GroundEstimate(
        t_s=t_mean,
        sigma_t_s=math.sqrt(max(var_t, 0.0)),
        lat_deg=math.degrees(lat),
        lon_deg=math.degrees(lon),
        cov_en_m2=(float(cov[0, 0]), float(cov[0, 1]), float(cov[1, 1])),
        semi_major_m=math.sqrt(CHI2_2DOF_95 * max(float(evals[1]), 0.0)),
        semi_minor_m=math.sqrt(CHI2_2DOF_95 * max(float(evals[0]), 0.0)),
        major_azimuth_deg=az,
    )


def _process_noise_on_ground(
    x0: FloatArray, dt: float, x_end: FloatArray, direction: float, fp: FilterParams
) -> tuple[FloatArray, float]:
    """Process-noise covariance at the ground point, projected along the velocity (EN, t)."""
    if fp.q_acc_m2_s3 <= 0.0 and fp.q_beta <= 0.0:
        return np.zeros((2, 2)), 0.0
    Pq = process_noise_along(x0, dt, direction, fp.q_acc_m2_s3, fp.q_beta)
    lat, lon, _ = ecef_to_geodetic_nb(*x_end[:3])
    rot = enu_rotation_rad(lat, lon)
    v = x_end[3:6]
    up = rot[2]
    vu = float(v @ up)
    if abs(vu) < 1e-3:
        return np.zeros((2, 2)), 0.0
    # a position error dr moves the crossing by dt = -dr.up / v.up and the point by dr + v dt
    M = np.eye(3) - np.outer(v, up) / vu
    Pp = M @ Pq[:3, :3] @ M.T
    cov_en = rot[:2] @ Pp @ rot[:2].T
    var_t = float(up @ Pq[:3, :3] @ up) / vu**2
    return cov_en, var_t


def ground_point(
    x: FloatArray,
    P: FloatArray,
    t_s: float,
    *,
    direction: float,
    params: FilterParams | None = None,
    method: str = "unscented",
    rng: np.random.Generator | None = None,
    n_samples: int = 300,
    include_process_noise: bool = True,
) -> tuple[GroundEstimate | None, float | None, float | None]:
    """Impact (``direction=+1``) or launch (``-1``) point of a state; also the apogee
    altitude and time seen on the forward mean path (None backward)."""
    fp = params or FilterParams()
    if direction < 0 and x.shape[0] >= 7:
        # Backwards, drag adds energy and the integration blows up in dense air; the launch
        # estimate is dominated by the unmodelled boost anyway, so fly back in vacuum.
        x = x.copy()
        x[6] = 0.0
        P = P.copy()
        P[6, :] = 0.0
        P[:, 6] = 0.0
    dt0, x_end, hmax, thmax = fly_to_altitude(x, direction, 0.0, _MAX_FLIGHT_S)
    if not math.isfinite(dt0):
        return None, None, None
    if method == "unscented":
        pts, wts = _sigma_points(x, P)
    elif method == "monte_carlo":
        gen = rng if rng is not None else np.random.default_rng(0)
        pts = gen.multivariate_normal(x, 0.5 * (P + P.T), size=n_samples)
        wts = np.full(n_samples, 1.0 / n_samples)
    else:
        raise ValueError(f"unknown method {method!r}: use 'unscented' or 'monte_carlo'")
    if x.shape[0] >= 7:
        pts[:, 6] = np.clip(pts[:, 6], 0.0, None)  # a negative drag coefficient is unphysical
    samples = []
    for k in range(pts.shape[0]):
        if k == 0 and method == "unscented":
            samples.append((dt0, x_end))
            continue
        dt, xe, _, _ = fly_to_altitude(pts[k], direction, 0.0, _MAX_FLIGHT_S)
        samples.append((dt, xe))
    extra_en: FloatArray | None = None
    extra_t = 0.0
    if include_process_noise:
        extra_en, extra_t = _process_noise_on_ground(x, dt0, x_end, direction, fp)
    est = _ground(samples, wts, t_s, direction, extra_en, extra_t)
    if direction > 0:
        return est, hmax, t_s + thmax
    return est, None, None


def estimate_track(
    state: TrackState,
    *,
    params: FilterParams | None = None,
    method: str = "unscented",
    rng: np.random.Generator | None = None,
    n_samples: int = 300,
    launch_from: TrackState | None = None,
) -> TrackEstimate:
    """Impact, time to impact, apogee and launch point of a track.

    ``launch_from`` is the state to back-propagate (best: the track's earliest confirmed
    state, closest to burnout); the current state is used when it is not given.
    """
    impact, hmax, tmax = ground_point(
        state.x, state.P, state.t_s, direction=1.0, params=params, method=method, rng=rng,
        n_samples=n_samples,
    )  # fmt: skip
    src = launch_from or state
    launch, _, _ = ground_point(
        src.x, src.P, src.t_s, direction=-1.0, params=params, method=method, rng=rng,
        n_samples=n_samples,
    )  # fmt: skip
    return TrackEstimate(
        track_id=state.track_id,
        t_s=state.t_s,
        impact=impact,
        launch=launch,
        time_to_impact_s=None if impact is None else impact.t_s - state.t_s,
        sigma_time_to_impact_s=None if impact is None else impact.sigma_t_s,
        apogee_alt_m=hmax,
        apogee_t_s=tmax,
        method=method,
    )
