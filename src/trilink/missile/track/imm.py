"""Interacting multiple model (IMM) filter covering the boost and the ballistic phase.

Place in the flow: the tracker filter for tracks that start during powered flight (launch
detection by a close sensor): ``TrackManager(nation, filter=ImmFilter())``, ``filter = "imm"``
in a scenario (the default there). ``initial`` / ``step`` run it on one target (tests). Both
models share a 10-state ``[r, v, b, a_thrust]`` (``dynamics`` layout):

* boost: the thrust acceleration is a random walk (``FilterParams.q_thrust``) and adds to
  gravity, Coriolis/centrifugal and drag;
* ballistic: no thrust; after mixing its thrust states are reset to zero with a tiny variance,
  so the model is exactly the 7-state ballistic EKF.

The mode probabilities tell when burnout happened (boost -> ballistic), which the estimator
uses to pick the state to back-propagate to the launch point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np

from trilink.missile.track.ekf import cholesky_ok, ekf_predict, ekf_update, innovation
from trilink.missile.track.filter import FilterParams, FilterSlots, TrackFilter
from trilink.missile.types import FloatArray, IntArray

BOOST = 0
BALLISTIC = 1
_THRUST = slice(7, 10)
_RESET_VAR = 1e-6


@dataclass(frozen=True, slots=True)
class ImmParams:
    """Mode switching rates (per second) and the initial mode probabilities."""

    boost_to_ballistic_per_s: float = 0.05
    ballistic_to_boost_per_s: float = 0.001
    mu0: tuple[float, float] = (0.5, 0.5)


@dataclass(slots=True)
class ImmState:
    """Per-model states, covariances and mode probabilities."""

    x: list[FloatArray]
    P: list[FloatArray]
    mu: FloatArray

    def combined(self) -> tuple[FloatArray, FloatArray]:
        x = self.mu[0] * self.x[0] + self.mu[1] * self.x[1]
        P = np.zeros_like(self.P[0])
        for j in range(2):
            d = self.x[j] - x
            P += self.mu[j] * (self.P[j] + np.outer(d, d))
        return x, P


def _reset_thrust(x: FloatArray, P: FloatArray) -> tuple[FloatArray, FloatArray]:
    x = x.copy()
    P = P.copy()
    x[_THRUST] = 0.0
    P[_THRUST, :] = 0.0
    P[:, _THRUST] = 0.0
    for i in range(7, 10):
        P[i, i] = _RESET_VAR
    return x, P


class ImmFilter(TrackFilter):
    """Two-model IMM (boost, ballistic) with EKF model filters.

    In the tracker each track keeps both models' 10-states, covariances and the mode
    probabilities in the slots ``XM``, ``PM``, ``MU``; the tracker's 7-state is their
    combination."""

    name = "imm"

    def __init__(self, params: FilterParams | None = None, imm: ImmParams | None = None) -> None:
        self.params = params or FilterParams()
        self.imm = imm or ImmParams()

    def slots(self, capacity: int) -> FilterSlots:
        return {
            "XM": np.zeros((capacity, 2, 10)),
            "PM": np.tile(np.eye(10), (capacity, 2, 1, 1)),
            "MU": np.full((capacity, 2), 0.5),
        }

    def start(self, slots: FilterSlots, i: int, x: FloatArray, P: FloatArray) -> None:
        st = self.initial(x, P)
        slots["XM"][i] = np.array(st.x)
        slots["PM"][i] = np.array(st.P)
        slots["MU"][i] = st.mu

    def predict_tracks(
        self, slots: FilterSlots, X: FloatArray, P: FloatArray, T: FloatArray, idx: IntArray,
        t_s: float,
    ) -> None:  # fmt: skip
        fp, ip = self.params, self.imm
        imm_predict_all(
            slots["XM"], slots["PM"], slots["MU"], X, P, T, idx, t_s, fp.q_acc_m2_s3,
            fp.q_beta, fp.q_thrust, ip.boost_to_ballistic_per_s, ip.ballistic_to_boost_per_s,
        )  # fmt: skip

    def update_tracks(
        self, slots: FilterSlots, X: FloatArray, P: FloatArray, tr: IntArray, Z: FloatArray,
        Rd: FloatArray, pl: IntArray, site: FloatArray, rot: FloatArray, use_rr: bool,
        rr_max_vel_sigma: float,
    ) -> tuple[FloatArray, FloatArray, IntArray]:  # fmt: skip
        return imm_update_all(
            slots["XM"], slots["PM"], slots["MU"], X, P, tr, Z, Rd, pl, site, rot, use_rr,
            rr_max_vel_sigma,
        )  # fmt: skip

    def mode_probabilities(
        self, slots: FilterSlots, idx: IntArray
    ) -> list[tuple[float, ...]] | None:
        return [(m[0], m[1]) for m in slots["MU"][idx].tolist()]

    def initial(self, x7: FloatArray, P7: FloatArray, sigma_thrust_mps2: float = 30.0) -> ImmState:
        x = np.zeros(10)
        x[:7] = x7
        P = np.zeros((10, 10))
        P[:7, :7] = P7
        for i in range(7, 10):
            P[i, i] = sigma_thrust_mps2**2
        xb, Pb = _reset_thrust(x, P)
        return ImmState(x=[x, xb], P=[P, Pb], mu=np.array(self.imm.mu0, dtype=np.float64))

    def _transition(self, dt: float) -> FloatArray:
        p01 = min(self.imm.boost_to_ballistic_per_s * dt, 0.5)
        p10 = min(self.imm.ballistic_to_boost_per_s * dt, 0.5)
        return np.array([[1.0 - p01, p01], [p10, 1.0 - p10]])

    def step(
        self,
        st: ImmState,
        dt_s: float,
        z: FloatArray,
        r_diag: FloatArray,
        site_ecef_m: FloatArray,
        rot_enu: FloatArray,
    ) -> tuple[ImmState, float]:
        """Predict by ``dt_s`` and update with one plot; returns the new state and the NIS of
        the combined prediction."""
        Pi = self._transition(dt_s)
        c = Pi.T @ st.mu
        c = np.maximum(c, 1e-300)
        mix = (Pi * st.mu[:, None]) / c[None, :]  # mix[i, j] = P(i before | j now)
        p = self.params
        use_rr = z.shape[0] == 4
        xs: list[FloatArray] = []
        Ps: list[FloatArray] = []
        lik = np.empty(2)
        for j in range(2):
            x0 = mix[0, j] * st.x[0] + mix[1, j] * st.x[1]
            P0 = np.zeros_like(st.P[0])
            for i in range(2):
                d = st.x[i] - x0
                P0 += mix[i, j] * (st.P[i] + np.outer(d, d))
            thrust_on = j == BOOST
            if not thrust_on:
                x0, P0 = _reset_thrust(x0, P0)
            xp, Pp = ekf_predict(x0, P0, dt_s, p.q_acc_m2_s3, p.q_beta, p.q_thrust, thrust_on)
            nu, S, _ = innovation(xp, Pp, z, r_diag, site_ecef_m, rot_enu, use_rr)
            sign, logdet = np.linalg.slogdet(S)
            d2 = float(nu @ np.linalg.solve(S, nu))
            lik[j] = -0.5 * (d2 + logdet + nu.shape[0] * math.log(2.0 * math.pi))
            xu, Pu, _ = ekf_update(xp, Pp, z, r_diag, site_ecef_m, rot_enu, use_rr)
            xs.append(xu)
            Ps.append(Pu)
        w = lik + np.log(c)
        w -= w.max()
        mu = np.exp(w)
        mu /= mu.sum()
        mu = np.clip(mu, 1e-6, 1.0)
        mu /= mu.sum()
        new = ImmState(x=xs, P=Ps, mu=mu)
        return new, float("nan")


# --- batch kernels of ``ImmFilter.predict_tracks`` / ``update_tracks`` ---------------------
@nb.njit(cache=True)
def _reset_thrust_nb(x: FloatArray, P: FloatArray) -> None:
    for i in range(7, 10):
        x[i] = 0.0
        for j in range(10):
            P[i, j] = 0.0
            P[j, i] = 0.0
        P[i, i] = _RESET_VAR


@nb.njit(cache=True)
def _combine(xm: FloatArray, Pm: FloatArray, mu: FloatArray) -> tuple[FloatArray, FloatArray]:
    n = xm.shape[1]
    x = mu[0] * xm[0] + mu[1] * xm[1]
    P = np.zeros((n, n))
    for j in range(2):
        d = xm[j] - x
        P += mu[j] * (Pm[j] + np.outer(d, d))
    return x, P


@nb.njit(cache=True)
def imm_predict_all(
    XM: FloatArray, PM: FloatArray, MU: FloatArray, X: FloatArray, P: FloatArray, T: FloatArray,
    idx: IntArray, t: float, q_acc: float, q_beta: float, q_thrust: float, p01: float,
    p10: float,
) -> None:  # fmt: skip
    """Mix and predict both models of tracks ``idx`` to ``t``; ``MU`` becomes the predicted
    mode probabilities and ``X``, ``P`` the combined 7-state prediction."""
    for a in range(idx.shape[0]):
        i = idx[a]
        dt = t - T[i]
        if dt <= 0.0:
            continue
        a01 = min(p01 * dt, 0.5)
        a10 = min(p10 * dt, 0.5)
        Pi = np.array([[1.0 - a01, a01], [a10, 1.0 - a10]])
        c = np.empty(2)
        for j in range(2):
            c[j] = max(Pi[0, j] * MU[i, 0] + Pi[1, j] * MU[i, 1], 1e-300)
        xs = np.empty((2, 10))
        Ps = np.empty((2, 10, 10))
        for j in range(2):
            w0 = Pi[0, j] * MU[i, 0] / c[j]
            w1 = Pi[1, j] * MU[i, 1] / c[j]
            x0 = w0 * XM[i, 0] + w1 * XM[i, 1]
            d0 = XM[i, 0] - x0
            d1 = XM[i, 1] - x0
            P0 = w0 * (PM[i, 0] + np.outer(d0, d0)) + w1 * (PM[i, 1] + np.outer(d1, d1))
            thrust_on = j == BOOST
            if not thrust_on:
                _reset_thrust_nb(x0, P0)
            xp, Pp = ekf_predict(x0, P0, dt, q_acc, q_beta, q_thrust, thrust_on)
            xs[j] = xp
            Ps[j] = Pp
        XM[i] = xs
        PM[i] = Ps
        MU[i] = c
        x, Pc = _combine(xs, Ps, c)
        X[i] = x[:7]
        P[i] = Pc[:7, :7]
        T[i] = t


@nb.njit(cache=True)
def imm_update_all(
    XM: FloatArray, PM: FloatArray, MU: FloatArray, X: FloatArray, P: FloatArray,
    tr: IntArray, Z: FloatArray, Rd: FloatArray, pl: IntArray, site: FloatArray,
    rot: FloatArray, use_rr: bool, rr_max_vel_sigma: float,
) -> tuple[FloatArray, FloatArray, IntArray]:  # fmt: skip
    """Model-conditioned EKF updates, mode probabilities from the likelihoods; NIS of the
    combined prediction, PSD flag and measurement dimension per pair."""
    nis = np.empty(tr.shape[0])
    ok = np.empty(tr.shape[0])
    dim = np.empty(tr.shape[0], dtype=np.int64)
    for k in range(tr.shape[0]):
        i = tr[k]
        rr_i = use_rr and math.sqrt(P[i, 3, 3] + P[i, 4, 4] + P[i, 5, 5]) <= rr_max_vel_sigma
        m = 4 if rr_i else 3
        dim[k] = m
        z = Z[pl[k], :m].copy()
        r = Rd[pl[k], :m].copy()
        nu_c, S_c, _ = innovation(X[i], P[i], z, r, site, rot, rr_i)
        nis[k] = nu_c @ np.linalg.solve(S_c, nu_c)
        loglik = np.empty(2)
        for j in range(2):
            nu, S, _ = innovation(XM[i, j], PM[i, j], z, r, site, rot, rr_i)
            d2 = nu @ np.linalg.solve(S, nu)
            loglik[j] = -0.5 * (d2 + math.log(np.linalg.det(S)))
            xu, Pu, _ = ekf_update(XM[i, j], PM[i, j], z, r, site, rot, rr_i)
            XM[i, j] = xu
            PM[i, j] = Pu
        top = max(loglik[0], loglik[1])
        mu = np.empty(2)
        for j in range(2):
            mu[j] = max(MU[i, j] * math.exp(loglik[j] - top), 1e-300)
        s = mu[0] + mu[1]
        for j in range(2):
            MU[i, j] = min(max(mu[j] / s, 1e-6), 1.0 - 1e-6)
        x, Pc = _combine(XM[i], PM[i], MU[i])
        X[i] = x[:7]
        P[i] = Pc[:7, :7]
        ok[k] = 1.0 if cholesky_ok(Pc) else 0.0
    return nis, ok, dim
