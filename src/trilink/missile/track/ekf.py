"""Extended Kalman filter with ballistic dynamics: the default national tracker filter.

Place in the flow: ``TrackManager(nation, filter=EkfFilter())`` (the default) calls the batch
kernels below (``predict_all``, ``update_all``) once per sensor scan for all tracks, through
``EkfFilter.predict_tracks`` / ``update_tracks``; fusion aligns partner tracks in time with
``predict_all``. ``EkfFilter.predict`` / ``update`` work on one target (tests, benchmarks).
Prediction propagates the state and transition matrix with RK4
(``dynamics.propagate_with_stm``); the update is the Joseph form so that P stays symmetric
positive definite under round-off.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from trilink.missile.track.associate import rr_ok
from trilink.missile.track.dynamics import process_noise, propagate_with_stm
from trilink.missile.track.filter import BallisticFilter, FilterParams
from trilink.missile.track.measure import hph, measure, measure_into, wrap_pi
from trilink.missile.types import FloatArray, IntArray


@nb.njit(cache=True)
def cholesky_ok_into(P: FloatArray, L: FloatArray) -> bool:
    """True when ``P`` is symmetric positive definite; ``L`` (n x n or larger) is scratch."""
    n = P.shape[0]
    for j in range(n):
        s = P[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not (s > 0.0) or not math.isfinite(s):
            return False
        L[j, j] = math.sqrt(s)
        for i in range(j + 1, n):
            t = P[i, j]
            for k in range(j):
                t -= L[i, k] * L[j, k]
            L[i, j] = t / L[j, j]
    return True


@nb.njit(cache=True)
def cholesky_ok(P: FloatArray) -> bool:
    """True when ``P`` is symmetric positive definite (Cholesky attempt, P untouched)."""
    return cholesky_ok_into(P, np.empty_like(P))


@nb.njit(cache=True)
def sandwich(F: FloatArray, P: FloatArray, B: FloatArray, out: FloatArray, add: bool) -> None:
    """``out (+)= F P F^T``, symmetric by construction; ``B`` is n x n scratch and ``out`` may
    be ``P`` itself. Loops: at n = 7 a BLAS call costs more than the arithmetic."""
    n = F.shape[0]
    for i in range(n):
        for j in range(n):
            acc = 0.0
            for k in range(n):
                acc += F[i, k] * P[k, j]
            B[i, j] = acc
    for i in range(n):
        for j in range(i + 1):
            acc = 0.0
            for k in range(n):
                acc += B[i, k] * F[j, k]
            if add:
                acc += out[i, j]
            out[i, j] = acc
            out[j, i] = acc


@nb.njit(cache=True)
def ekf_predict(
    x: FloatArray,
    P: FloatArray,
    dt: float,
    q_acc: float,
    q_beta: float,
    q_thrust: float,
    thrust_on: bool,
) -> tuple[FloatArray, FloatArray]:
    if dt == 0.0:
        return x.copy(), P.copy()
    xn, phi = propagate_with_stm(x, dt, thrust_on)
    Pn = process_noise(x.shape[0], dt, q_acc, q_beta, q_thrust, thrust_on)
    sandwich(phi, P, np.empty_like(P), Pn, True)
    return xn, Pn


@nb.njit(cache=True)
def innovation(
    x: FloatArray,
    P: FloatArray,
    z: FloatArray,
    r_diag: FloatArray,
    site: FloatArray,
    rot: FloatArray,
    use_rr: bool,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Innovation ``nu``, its covariance ``S`` and the Jacobian ``H``."""
    zp, H = measure(x, site, rot, use_rr)
    nu = z - zp
    nu[1] = wrap_pi(nu[1])
    S = hph(H, P)
    for i in range(r_diag.shape[0]):
        S[i, i] += r_diag[i]
    return nu, S, H


@nb.njit(cache=True)
def update_workspace(n: int) -> FloatArray:
    """Scratch for ``ekf_update_into`` of an n-state: rows hold z, nu, y, w, H, PHt, K, L, A, B."""
    return np.empty((12 + 4 * n, max(n, 4)))


@nb.njit(cache=True)
def ekf_update_into(
    x: FloatArray, P: FloatArray, z: FloatArray, r_diag: FloatArray, site: FloatArray,
    rot: FloatArray, use_rr: bool, work: FloatArray,
) -> float:  # fmt: skip
    """Joseph-form update of ``x`` and ``P`` in place; returns the NIS of the innovation.

    Written with explicit loops, a Cholesky factor of S and caller-provided scratch (no
    inverse, no temporaries): this is the innermost call of the tracker. If S is not positive
    definite, ``x`` and ``P`` are left as they were and the NIS is infinite, which the health
    checks flag."""
    n = x.shape[0]
    m = 4 if use_rr else 3
    zp = work[0]
    nu = work[1]
    y = work[2]
    w = work[3]
    H = work[4:8]
    PHt = work[8 : 8 + n]
    K = work[8 + n : 8 + 2 * n]
    L = work[8 + 2 * n : 12 + 2 * n]
    A = work[12 + 2 * n : 12 + 3 * n]
    B = work[12 + 3 * n : 12 + 4 * n]
    measure_into(x, site, rot, use_rr, zp, H)
    for i in range(m):
        nu[i] = z[i] - zp[i]
    nu[1] = wrap_pi(nu[1])
    for i in range(n):
        for k in range(m):
            acc = 0.0
            for j in range(n):
                acc += P[i, j] * H[k, j]
            PHt[i, k] = acc
    for a in range(m):
        for b in range(a + 1):
            acc = r_diag[a] if a == b else 0.0
            for j in range(n):
                acc += H[a, j] * PHt[j, b]
            # Cholesky in the same sweep (S is formed row by row, lower triangle)
            for k in range(b):
                acc -= L[a, k] * L[b, k]
            if a == b:
                if not acc > 0.0:
                    return np.inf
                L[a, a] = math.sqrt(acc)
            else:
                L[a, b] = acc / L[b, b]
    # y = L^-1 nu, nis = |y|^2
    nis = 0.0
    for a in range(m):
        t = nu[a]
        for k in range(a):
            t -= L[a, k] * y[k]
        y[a] = t / L[a, a]
        nis += y[a] * y[a]
    # K = PHt S^-1: solve L L^T K^T = PHt^T row by row
    for i in range(n):
        for a in range(m):
            t = PHt[i, a]
            for k in range(a):
                t -= L[a, k] * w[k]
            w[a] = t / L[a, a]
        for a in range(m - 1, -1, -1):
            t = w[a]
            for k in range(a + 1, m):
                t -= L[k, a] * K[i, k]
            K[i, a] = t / L[a, a]
    for i in range(n):
        for a in range(m):
            x[i] += K[i, a] * nu[a]
    # Joseph form (I - K H) P (I - K H)^T + K R K^T
    for i in range(n):
        for j in range(n):
            acc = 1.0 if i == j else 0.0
            for a in range(m):
                acc -= K[i, a] * H[a, j]
            A[i, j] = acc
    sandwich(A, P, B, P, False)
    for i in range(n):
        for j in range(i + 1):
            acc = 0.0
            for a in range(m):
                acc += K[i, a] * r_diag[a] * K[j, a]
            P[i, j] += acc
            P[j, i] = P[i, j]
    return nis


@nb.njit(cache=True)
def ekf_update(
    x: FloatArray,
    P: FloatArray,
    z: FloatArray,
    r_diag: FloatArray,
    site: FloatArray,
    rot: FloatArray,
    use_rr: bool,
) -> tuple[FloatArray, FloatArray, float]:
    """``ekf_update_into`` on copies: returns the posterior and the NIS (the prior and an
    infinite NIS if S is not positive definite)."""
    xn = x.copy()
    Pn = P.copy()
    nis = ekf_update_into(xn, Pn, z, r_diag, site, rot, use_rr, update_workspace(x.shape[0]))
    return xn, Pn, nis


@nb.njit(cache=True)
def predict_all(
    X: FloatArray, P: FloatArray, T: FloatArray, idx: IntArray, t: float, q_acc: float,
    q_beta: float,
) -> None:  # fmt: skip
    for a in range(idx.shape[0]):
        i = idx[a]
        dt = t - T[i]
        if dt > 0.0:
            xn, Pn = ekf_predict(X[i], P[i], dt, q_acc, q_beta, 0.0, False)
            X[i] = xn
            P[i] = Pn
            T[i] = t


@nb.njit(cache=True)
def update_all(
    X: FloatArray, P: FloatArray, tr: IntArray, Z: FloatArray, Rd: FloatArray, pl: IntArray,
    site: FloatArray, rot: FloatArray, use_rr: bool, rr_max_vel_sigma: float,
) -> tuple[FloatArray, FloatArray, IntArray]:  # fmt: skip
    """EKF updates of tracks ``tr[k]`` with plots ``pl[k]``; NIS, PSD flag and measurement
    dimension per pair (range-rate only once the velocity is known, see ``associate.gate``)."""
    nis = np.empty(tr.shape[0])
    ok = np.empty(tr.shape[0])
    dim = np.empty(tr.shape[0], dtype=np.int64)
    work = update_workspace(X.shape[1])
    for k in range(tr.shape[0]):
        i = tr[k]
        rr_i = use_rr and rr_ok(P[i], rr_max_vel_sigma)
        m = 4 if rr_i else 3
        dim[k] = m
        nis[k] = ekf_update_into(X[i], P[i], Z[pl[k], :m], Rd[pl[k], :m], site, rot, rr_i, work)
        ok[k] = 1.0 if cholesky_ok_into(P[i], work[-X.shape[1] :]) else 0.0
    return nis, ok, dim


class EkfFilter(BallisticFilter):
    """Ballistic EKF: the tracker's batch filter, and ``predict`` / ``update`` of one target."""

    name = "ekf"
    batch_predict = staticmethod(predict_all)
    batch_update = staticmethod(update_all)
    one_update = staticmethod(ekf_update)

    def __init__(self, params: FilterParams | None = None, *, thrust_on: bool = False) -> None:
        super().__init__(params)
        self.thrust_on = thrust_on

    def predict(self, x: FloatArray, P: FloatArray, dt_s: float) -> tuple[FloatArray, FloatArray]:
        p = self.params
        return ekf_predict(x, P, dt_s, p.q_acc_m2_s3, p.q_beta, p.q_thrust, self.thrust_on)
