"""Covariance-intersection (CI) track-to-track fusion of national tracks.

Place in the flow: each nation's ``TrackManager`` produces tracks from its own sensors; they are
shared as ``missile.track`` reports; at each node ``TrackFuser.fuse`` aligns own and partner
tracks in time, associates them (GNN on the Mahalanobis distance of the state difference) and
fuses each group by CI.

Why CI: two nations' tracks of one missile have errors correlated by the common process noise
and by any plots they may both have seen; the cross-covariance is unknown. CI,
``P^-1 = w Pa^-1 + (1 - w) Pb^-1``, is consistent for every possible cross-correlation, so no
information is counted twice. ``w`` minimises the determinant (unit-free, default) or the trace
of the result; both reduce to a 1-D search over the generalised eigenvalues of (Pa, Pb).
Fused tracks are never re-shared as inputs: a partner input that is itself a fusion product
(more than one nation in ``nations``) is refused and counted (rumour propagation guard).
The fused label is the most restrictive of the inputs' labels (``combine_labels``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numba as nb
import numpy as np
from scipy.stats import chi2

from trilink.errors import InputError
from trilink.missile.track.associate import gnn, pair_costs
from trilink.missile.track.ekf import FilterParams, ekf_predict
from trilink.missile.types import FloatArray, TrackState, TrackStatus
from trilink.model import combine_labels, format_label, parse_label


class FusionInputError(InputError):
    """Tracks handed to fusion that cannot be fused (e.g. some labelled, some not)."""


@nb.njit(cache=True)
def _chol(M: FloatArray) -> tuple[FloatArray, bool]:
    n = M.shape[0]
    L = np.zeros((n, n))
    for j in range(n):
        s = M[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not s > 0.0:
            return L, False
        L[j, j] = math.sqrt(s)
        for i in range(j + 1, n):
            t = M[i, j]
            for k in range(j):
                t -= L[i, k] * L[j, k]
            L[i, j] = t / L[j, j]
    return L, True


@nb.njit(cache=True)
def _chol_solve(L: FloatArray, B: FloatArray) -> FloatArray:
    """``(L L^T)^-1 B`` for a matrix right-hand side."""
    n, m = B.shape
    X = np.empty((n, m))
    for c in range(m):
        for i in range(n):
            t = B[i, c]
            for k in range(i):
                t -= L[i, k] * X[k, c]
            X[i, c] = t / L[i, i]
        for i in range(n - 1, -1, -1):
            t = X[i, c]
            for k in range(i + 1, n):
                t -= L[k, i] * X[k, c]
            X[i, c] = t / L[i, i]
    return X


@nb.njit(cache=True)
def _det_grad(Ib: FloatArray, D: FloatArray, w: float) -> tuple[float, float, bool]:
    """First and second derivative of ``-ln det(Ib + w D)`` in w."""
    n = Ib.shape[0]
    L, ok = _chol(Ib + w * D)
    if not ok:
        return 0.0, 0.0, False
    E = _chol_solve(L, D)
    g = 0.0
    h = 0.0
    for i in range(n):
        g -= E[i, i]
        for j in range(n):
            h += E[i, j] * E[j, i]
    return g, h, True


@nb.njit(cache=True)
def _det_weight(Ia: FloatArray, Ib: FloatArray) -> float:
    """``argmin_w -ln det(Ib + w (Ia - Ib))`` on [0, 1]: the function is convex, so check the
    ends first (one input much better than the other is common), then safeguarded Newton from
    the secant point."""
    D = Ia - Ib
    g0, _, ok0 = _det_grad(Ib, D, 0.0)
    g1, _, ok1 = _det_grad(Ib, D, 1.0)
    if not (ok0 and ok1):
        raise ValueError("covariance intersection: information matrix not positive definite")
    if g0 >= 0.0:
        return 0.0
    if g1 <= 0.0:
        return 1.0
    tol = 1e-10 * (abs(g0) + abs(g1))
    lo, hi = 0.0, 1.0
    w = g0 / (g0 - g1)
    for _ in range(40):
        g, h, _ = _det_grad(Ib, D, w)
        if abs(g) <= tol:
            break
        if g > 0.0:
            hi = w
        else:
            lo = w
        step = w - g / h if h > 0.0 else -1.0
        w = step if lo < step < hi else 0.5 * (lo + hi)
        if hi - lo < 1e-12:
            break
    return w


@nb.njit(cache=True)
def ci_fuse(
    xa: FloatArray, Pa: FloatArray, xb: FloatArray, Pb: FloatArray, use_det: bool
) -> tuple[FloatArray, FloatArray, float]:
    """CI of two estimates; returns fused state, covariance and the weight ``w`` of ``a``."""
    n = xa.shape[0]
    eye = np.eye(n)
    La, oka = _chol(0.5 * (Pa + Pa.T))
    Lb, okb = _chol(0.5 * (Pb + Pb.T))
    if not (oka and okb):
        raise ValueError("covariance intersection needs positive definite covariances")
    Ia = _chol_solve(La, eye)
    Ib = _chol_solve(Lb, eye)
    Ia = 0.5 * (Ia + Ia.T)
    Ib = 0.5 * (Ib + Ib.T)
    if use_det:
        w = _det_weight(Ia, Ib)
    else:
        L = np.linalg.cholesky(Ib)
        Li = np.linalg.inv(L)
        C = Li @ Ia @ Li.T
        lam, U = np.linalg.eigh(0.5 * (C + C.T))
        # (w Ia + (1-w) Ib)^-1 = G diag(1 / (w lam + 1 - w)) G^T with G = L^-T U
        G = Li.T @ U
        g2 = np.zeros(n)
        for i in range(n):
            for k in range(n):
                g2[i] += G[k, i] * G[k, i]
        lo, hi = 0.0, 1.0
        for _ in range(60):
            w = 0.5 * (lo + hi)
            d = 0.0  # derivative of the (convex) trace criterion
            for i in range(n):
                den = w * lam[i] + 1.0 - w
                d -= g2[i] * (lam[i] - 1.0) / (den * den)
            if d > 0.0:
                hi = w
            else:
                lo = w
        w = 0.5 * (lo + hi)
    Mi = w * Ia + (1.0 - w) * Ib
    Lm, _ = _chol(0.5 * (Mi + Mi.T))
    P = _chol_solve(Lm, eye)
    P = 0.5 * (P + P.T)
    x = P @ (w * (Ia @ xa) + (1.0 - w) * (Ib @ xb))
    return x, P, w


@nb.njit(cache=True)
def ci_fuse_batch(
    XA: FloatArray, PA: FloatArray, XB: FloatArray, PB: FloatArray, use_det: bool
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """``ci_fuse`` of pairs ``(XA[k], PA[k])`` and ``(XB[k], PB[k])`` in one call."""
    n = XA.shape[0]
    X = np.empty_like(XA)
    P = np.empty_like(PA)
    W = np.empty(n)
    for k in range(n):
        x, p, w = ci_fuse(XA[k], PA[k], XB[k], PB[k], use_det)
        X[k] = x
        P[k] = p
        W[k] = w
    return X, P, XB, PB, W


def covariance_intersection(
    states: Sequence[tuple[FloatArray, FloatArray]], *, criterion: str = "det"
) -> tuple[FloatArray, FloatArray]:
    """CI of any number of estimates of one state (sequential pairwise CI, each step optimal)."""
    if criterion not in ("det", "trace"):
        raise ValueError(f"criterion must be 'det' or 'trace', not {criterion!r}")
    x, P = states[0]
    for xb, Pb in states[1:]:
        x, P, _ = ci_fuse(x, P, xb, Pb, criterion == "det")
    return x, P


@dataclass(frozen=True, slots=True)
class FusionParams:
    criterion: str = "det"
    gate_probability: float = 0.9999
    filter_params: FilterParams = FilterParams()


class TrackFuser:
    """The fused picture at one node: own national tracks plus partner tracks, by CI."""

    def __init__(self, own_nation: str, params: FusionParams | None = None) -> None:
        self.own_nation = own_nation
        self.params = params or FusionParams()
        self.counters: Counter[str] = Counter()
        self._gate = float(chi2.ppf(self.params.gate_probability, 6))

    def _align(self, s: TrackState, t_s: float) -> tuple[FloatArray, FloatArray]:
        if s.t_s == t_s:
            return s.x, s.P
        fp = self.params.filter_params
        x, P = ekf_predict(s.x, s.P, t_s - s.t_s, fp.q_acc_m2_s3, fp.q_beta, 0.0, False)
        return x, P

    def fuse(self, picture: Mapping[str, Sequence[TrackState]], t_s: float) -> list[TrackState]:
        """Fused tracks at ``t_s`` from ``{nation: tracks}`` (own nation's included).

        Own tracks anchor the picture; each partner's tracks are assigned to the current fused
        tracks by GNN inside a 6-dof gate on position and velocity, unmatched partner tracks
        become tracks of their own.
        """
        groups: list[list[TrackState]] = []
        fused: list[tuple[FloatArray, FloatArray]] = []
        order = [self.own_nation] + sorted(n for n in picture if n != self.own_nation)
        for nation in order:
            incoming = []
            for s in picture.get(nation, ()):
                if s.status is TrackStatus.DELETED:
                    continue
                if len(s.nations) > 1 or (s.nations and s.nations[0] != s.nation):
                    self.counters["rejected_fused_input"] += 1
                    continue
                if s.t_s > t_s + 1e-9:
                    self.counters["rejected_future_input"] += 1
                    continue
                incoming.append((s, *self._align(s, t_s)))
            if not incoming:
                continue
            pairs: list[tuple[int, int]] = []
            if fused:
                cost = pair_costs(
                    np.array([f[0][:6] for f in fused]),
                    np.array([f[1][:6, :6] for f in fused]),
                    np.array([i[1][:6] for i in incoming]),
                    np.array([i[2][:6, :6] for i in incoming]),
                    self._gate,
                )
                pairs = [(a, b) for a, b in gnn(cost)]
            taken = set()
            if pairs:
                XA, PA, XB, PB, W = ci_fuse_batch(
                    np.array([fused[a][0] for a, _ in pairs]),
                    np.array([fused[a][1] for a, _ in pairs]),
                    np.array([incoming[b][1] for _, b in pairs]),
                    np.array([incoming[b][2] for _, b in pairs]),
                    self.params.criterion == "det",
                )
                for k, (a, b) in enumerate(pairs):
                    fused[a] = (XA[k], PA[k])
                    groups[a].append(incoming[b][0])
                    taken.add(b)
                self.counters["ci_fusions"] += len(pairs)
            for b, (s, xb, Pb) in enumerate(incoming):
                if b not in taken:
                    fused.append((xb, Pb))
                    groups.append([s])
        return [self._state(g, x, P, t_s) for g, (x, P) in zip(groups, fused, strict=True)]

    def _state(
        self, group: list[TrackState], x: FloatArray, P: FloatArray, t_s: float
    ) -> TrackState:
        labels = [s.label for s in group]
        label: str | None = None
        if any(lab is not None for lab in labels):
            if any(lab is None for lab in labels):
                ids = ", ".join(s.track_id for s in group if s.label is None)
                raise FusionInputError(
                    f"tracks {ids} have no security label while their partners do; label every "
                    "shared track before fusing so the fused label can be computed",
                    field="label",
                )
            label = format_label(combine_labels(parse_label(lab) for lab in labels if lab))
        flagged = any(s.status is TrackStatus.FLAGGED for s in group)
        flags = tuple(sorted({f for s in group for f in s.flags}))
        return TrackState(
            track_id="F:" + "+".join(s.track_id for s in group),
            nation=self.own_nation,
            t_s=t_s,
            x=x,
            P=P,
            status=TrackStatus.FLAGGED if flagged else TrackStatus.CONFIRMED,
            flags=flags,
            n_updates=sum(s.n_updates for s in group),
            sensors=tuple(sorted({x for s in group for x in s.sensors})),
            nations=tuple(sorted({s.nation for s in group})),
            label=label,
        )


__all__ = [
    "FusionInputError",
    "FusionParams",
    "TrackFuser",
    "ci_fuse",
    "covariance_intersection",
]
