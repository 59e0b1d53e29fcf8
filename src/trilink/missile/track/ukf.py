"""Unscented Kalman filter with the same ballistic dynamics and radar model as the EKF.

Place in the flow: an alternative tracker filter, ``TrackManager(nation, filter=UkfFilter())``
or ``filter = "ukf"`` in a scenario (same data, same model, no Jacobians; about 3x the EKF's CPU
per track). A track whose covariance is not positive definite has no sigma points: it is
predicted by the EKF and not updated (NIS infinite), and the tracker's health checks flag it.
Sigma points use the scaled unscented transform with ``alpha = 1, beta = 2, kappa = 0`` so that
every mean weight is non-negative (lambda = 0); the centre point carries only the covariance
correction ``beta``.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from trilink.missile.track.associate import rr_ok
from trilink.missile.track.dynamics import process_noise, propagate
from trilink.missile.track.ekf import cholesky_ok_into, ekf_predict
from trilink.missile.track.filter import BallisticFilter
from trilink.missile.track.measure import measure, wrap_pi
from trilink.missile.types import FloatArray, IntArray

_ALPHA = 1.0
_BETA = 2.0
_KAPPA = 0.0


@nb.njit(cache=True)
def _sigma_points(x: FloatArray, P: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    n = x.shape[0]
    lam = _ALPHA * _ALPHA * (n + _KAPPA) - n
    L = np.linalg.cholesky((n + lam) * 0.5 * (P + P.T))
    pts = np.empty((2 * n + 1, n))
    pts[0] = x
    for i in range(n):
        pts[1 + i] = x + L[:, i]
        pts[1 + n + i] = x - L[:, i]
    wm = np.full(2 * n + 1, 0.5 / (n + lam))
    wc = wm.copy()
    wm[0] = lam / (n + lam)
    wc[0] = lam / (n + lam) + (1.0 - _ALPHA * _ALPHA + _BETA)
    return pts, wm, wc


@nb.njit(cache=True)
def ukf_predict(
    x: FloatArray, P: FloatArray, dt: float, q_acc: float, q_beta: float
) -> tuple[FloatArray, FloatArray]:
    if dt == 0.0:
        return x.copy(), P.copy()
    n = x.shape[0]
    pts, wm, wc = _sigma_points(x, P)
    prop = np.empty_like(pts)
    for i in range(pts.shape[0]):
        prop[i] = propagate(pts[i], dt, False)
    xm = np.zeros(n)
    for i in range(pts.shape[0]):
        xm += wm[i] * prop[i]
    Pn = process_noise(n, dt, q_acc, q_beta, 0.0, False)
    for i in range(pts.shape[0]):
        d = prop[i] - xm
        Pn += wc[i] * np.outer(d, d)
    return xm, 0.5 * (Pn + Pn.T)


@nb.njit(cache=True)
def ukf_update(
    x: FloatArray,
    P: FloatArray,
    z: FloatArray,
    r_diag: FloatArray,
    site: FloatArray,
    rot: FloatArray,
    use_rr: bool,
) -> tuple[FloatArray, FloatArray, float]:
    n = x.shape[0]
    m = r_diag.shape[0]
    pts, wm, wc = _sigma_points(x, P)
    zs = np.empty((pts.shape[0], m))
    z0, _ = measure(pts[0], site, rot, use_rr)
    for i in range(pts.shape[0]):
        zi, _ = measure(pts[i], site, rot, use_rr)
        zi[1] = z0[1] + wrap_pi(zi[1] - z0[1])  # keep azimuths on one branch
        zs[i] = zi
    zm = np.zeros(m)
    for i in range(pts.shape[0]):
        zm += wm[i] * zs[i]
    S = np.diag(r_diag)
    C = np.zeros((n, m))
    for i in range(pts.shape[0]):
        dz = zs[i] - zm
        S += wc[i] * np.outer(dz, dz)
        C += wc[i] * np.outer(pts[i] - x, dz)
    nu = z - zm
    nu[1] = wrap_pi(nu[1])
    Si = np.linalg.inv(S)
    K = C @ Si
    xn = x + K @ nu
    Pn = P - K @ S @ K.T
    nis = float(nu @ Si @ nu)
    return xn, 0.5 * (Pn + Pn.T), nis


@nb.njit(cache=True)
def ukf_predict_all(
    X: FloatArray, P: FloatArray, T: FloatArray, idx: IntArray, t: float, q_acc: float,
    q_beta: float,
) -> None:  # fmt: skip
    L = np.empty((X.shape[1], X.shape[1]))
    for a in range(idx.shape[0]):
        i = idx[a]
        dt = t - T[i]
        if dt > 0.0:
            if cholesky_ok_into(P[i], L):
                xn, Pn = ukf_predict(X[i], P[i], dt, q_acc, q_beta)
            else:
                xn, Pn = ekf_predict(X[i], P[i], dt, q_acc, q_beta, 0.0, False)
            X[i] = xn
            P[i] = Pn
            T[i] = t


@nb.njit(cache=True)
def ukf_update_all(
    X: FloatArray, P: FloatArray, tr: IntArray, Z: FloatArray, Rd: FloatArray, pl: IntArray,
    site: FloatArray, rot: FloatArray, use_rr: bool, rr_max_vel_sigma: float,
) -> tuple[FloatArray, FloatArray, IntArray]:  # fmt: skip
    """UKF updates of tracks ``tr[k]`` with plots ``pl[k]``: NIS, PSD flag and measurement
    dimension per pair, as ``ekf.update_all``."""
    nis = np.empty(tr.shape[0])
    ok = np.empty(tr.shape[0])
    dim = np.empty(tr.shape[0], dtype=np.int64)
    L = np.empty((X.shape[1], X.shape[1]))
    for k in range(tr.shape[0]):
        i = tr[k]
        rr_i = use_rr and rr_ok(P[i], rr_max_vel_sigma)
        m = 4 if rr_i else 3
        dim[k] = m
        if not cholesky_ok_into(P[i], L):
            nis[k] = np.inf
            ok[k] = 0.0
            continue
        xn, Pn, v = ukf_update(
            X[i], P[i], Z[pl[k], :m].copy(), Rd[pl[k], :m].copy(), site, rot, rr_i
        )
        X[i] = xn
        P[i] = Pn
        nis[k] = v
        ok[k] = 1.0 if cholesky_ok_into(P[i], L) else 0.0
    return nis, ok, dim


class UkfFilter(BallisticFilter):
    """Unscented filter: the tracker's batch filter, and ``predict`` / ``update`` of one target
    (the interface of ``EkfFilter``)."""

    name = "ukf"
    batch_predict = staticmethod(ukf_predict_all)
    batch_update = staticmethod(ukf_update_all)
    one_update = staticmethod(ukf_update)

    def predict(self, x: FloatArray, P: FloatArray, dt_s: float) -> tuple[FloatArray, FloatArray]:
        return ukf_predict(x, P, dt_s, self.params.q_acc_m2_s3, self.params.q_beta)


__all__ = ["UkfFilter", "ukf_predict_all", "ukf_update_all"]
