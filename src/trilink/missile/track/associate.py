"""Plot-to-track association: Mahalanobis gating and global nearest neighbour (GNN).

Place in the flow: ``manager.TrackManager`` predicts every live track to the scan time, calls
``gate`` to get the gated squared Mahalanobis distances between every track and every plot of
one sensor scan, then ``gnn`` for the one-to-one assignment that minimises the summed cost.
Plots left over go to track initiation; tracks left over count a miss if the sensor covered them.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from scipy.optimize import linear_sum_assignment

from trilink.missile.track.measure import hph, measure, wrap_pi
from trilink.missile.types import FloatArray, IntArray

_NO = 1e12


@nb.njit(cache=True)
def _chol_mahalanobis(S: FloatArray, nu: FloatArray) -> tuple[float, float]:
    """``nu^T S^-1 nu`` and ``ln det S`` by Cholesky; ``(inf, inf)`` if S is not PD."""
    m = S.shape[0]
    L = np.zeros((m, m))
    for j in range(m):
        s = S[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not s > 0.0:
            return np.inf, np.inf
        L[j, j] = math.sqrt(s)
        for i in range(j + 1, m):
            t = S[i, j]
            for k in range(j):
                t -= L[i, k] * L[j, k]
            L[i, j] = t / L[j, j]
    d2 = 0.0
    logdet = 0.0
    y = np.empty(m)
    for i in range(m):
        t = nu[i]
        for k in range(i):
            t -= L[i, k] * y[k]
        y[i] = t / L[i, i]
        d2 += y[i] * y[i]
        logdet += 2.0 * math.log(L[i, i])
    return d2, logdet


@nb.njit(cache=True)
def gate(
    X: FloatArray,
    P: FloatArray,
    idx: IntArray,
    Z: FloatArray,
    Rd: FloatArray,
    site: FloatArray,
    rot: FloatArray,
    use_rr: bool,
    gate_d2: float,
    gate_d2_3: float,
    rr_max_vel_sigma: float,
) -> tuple[FloatArray, FloatArray]:
    """Cost matrix (tracks ``idx`` x plots) of ``d2 + ln det S`` inside the gate, else ``inf``;
    also the predicted (range, az, el) of each track (for coverage checks).

    Range-rate is used only for tracks whose velocity is already known to
    ``rr_max_vel_sigma``: with a fresh two-point track the range-rate model is too nonlinear in
    the (km/s-uncertain) velocity and the EKF would become overconfident."""
    nt = idx.shape[0]
    npl = Z.shape[0]
    cost = np.full((nt, npl), np.inf)
    zpred = np.empty((nt, 3))
    for a in range(nt):
        i = idx[a]
        rr_i = use_rr and rr_ok(P[i], rr_max_vel_sigma)
        m = 4 if rr_i else 3
        g2 = gate_d2 if rr_i else gate_d2_3
        zp, H = measure(X[i], site, rot, rr_i)
        zpred[a] = zp[:3]
        S0 = hph(H, P[i])
        for b in range(npl):
            # cheap range pre-gate before forming the full S
            dr = Z[b, 0] - zp[0]
            if dr * dr > gate_d2 * (S0[0, 0] + Rd[b, 0]):
                continue
            S = S0.copy()
            for k in range(m):
                S[k, k] += Rd[b, k]
            nu = Z[b, :m] - zp
            nu[1] = wrap_pi(nu[1])
            d2, logdet = _chol_mahalanobis(S, nu)
            if not math.isfinite(d2):
                continue  # S not positive definite: the health check flags the track
            if d2 <= g2:
                cost[a, b] = d2 + logdet
    return cost, zpred


@nb.njit(cache=True)
def rr_ok(P: FloatArray, rr_max_vel_sigma: float) -> bool:
    """Whether a track's velocity is known well enough to use range-rate."""
    return math.sqrt(P[3, 3] + P[4, 4] + P[5, 5]) <= rr_max_vel_sigma


@nb.njit(cache=True)
def pair_costs(
    Xa: FloatArray, Pa: FloatArray, Xb: FloatArray, Pb: FloatArray, gate_d2: float
) -> FloatArray:
    """Squared Mahalanobis distance of every (a, b) state difference inside the gate, else inf.

    By Cauchy-Schwarz ``d^T S^-1 d >= d_k^2 / S_kk`` for every component k, so most pairs are
    rejected before any solve."""
    na, nb_ = Xa.shape[0], Xb.shape[0]
    n = Xa.shape[1]
    out = np.full((na, nb_), np.inf)
    for a in range(na):
        for b in range(nb_):
            lower = 0.0
            for k in range(n):
                dk = Xa[a, k] - Xb[b, k]
                v = dk * dk / (Pa[a, k, k] + Pb[b, k, k])
                if v > lower:
                    lower = v
            if lower > gate_d2:
                continue
            d2, _ = _chol_mahalanobis(Pa[a] + Pb[b], Xa[a] - Xb[b])
            if d2 <= gate_d2:
                out[a, b] = d2
    return out


@nb.njit(cache=True)
def _split_uncontested(cost: FloatArray) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Pairs that are the only finite entry of both their row and their column, and the rows
    and columns left (those with a finite entry that is not such a pair)."""
    nr, nc = cost.shape
    row_n = np.zeros(nr, dtype=np.int64)
    col_n = np.zeros(nc, dtype=np.int64)
    row_c = np.full(nr, -1, dtype=np.int64)
    for r in range(nr):
        for c in range(nc):
            if math.isfinite(cost[r, c]):
                row_n[r] += 1
                col_n[c] += 1
                row_c[r] = c
    r1 = np.empty(nr, dtype=np.int64)
    c1 = np.empty(nr, dtype=np.int64)
    single_col = np.zeros(nc, dtype=np.bool_)
    rest_r = np.empty(nr, dtype=np.int64)
    n1 = 0
    nrest = 0
    for r in range(nr):
        if row_n[r] == 1 and col_n[row_c[r]] == 1:
            r1[n1] = r
            c1[n1] = row_c[r]
            single_col[row_c[r]] = True
            n1 += 1
        elif row_n[r] > 0:
            rest_r[nrest] = r
            nrest += 1
    rest_c = np.empty(nc, dtype=np.int64)
    ncrest = 0
    for c in range(nc):
        if col_n[c] > 0 and not single_col[c]:
            rest_c[ncrest] = c
            ncrest += 1
    return r1[:n1], c1[:n1], rest_r[:nrest], rest_c[:ncrest]


def gnn_arrays(cost: FloatArray) -> tuple[IntArray, IntArray]:
    """Optimal one-to-one assignment among finite-cost pairs, as (rows, columns) arrays.

    Uncontested pairs (the only finite entry of both their row and their column, the common
    case for well-separated missiles) are taken directly; the Hungarian algorithm
    (``linear_sum_assignment``) solves the rest."""
    if cost.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    r1, c1, rest_rows, rest_cols = _split_uncontested(cost)
    if rest_rows.size == 0:
        return r1, c1
    sub = cost[np.ix_(rest_rows, rest_cols)]
    ok = np.isfinite(sub)
    # shift so every gated cost is positive and below the "no assignment" cost
    shifted = np.where(ok, sub - sub[ok].min() + 1.0, _NO)
    r, c = linear_sum_assignment(shifted)
    keep = shifted[r, c] < _NO
    rows = np.concatenate([r1, rest_rows[r[keep]]]).astype(np.int64)
    cols = np.concatenate([c1, rest_cols[c[keep]]]).astype(np.int64)
    return rows, cols


def gnn(cost: FloatArray) -> list[tuple[int, int]]:
    """``gnn_arrays`` as a list of (row, column) pairs."""
    rows, cols = gnn_arrays(cost)
    return list(zip(rows.tolist(), cols.tolist(), strict=True))
