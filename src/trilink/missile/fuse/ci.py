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
from trilink.missile.track.associate import gnn_arrays, pair_costs
from trilink.missile.track.ekf import predict_all
from trilink.missile.track.filter import FilterParams
from trilink.missile.types import FlagReason, FloatArray, TrackState, TrackStatus
from trilink.model import combine_labels, format_label, parse_label


class FusionInputError(InputError):
    """Tracks handed to fusion that cannot be fused (e.g. some labelled, some not)."""


@nb.njit(cache=True)
def _chol_into(A: FloatArray, B: FloatArray, w: float, L: FloatArray) -> bool:
    """Lower Cholesky factor of the symmetric part of ``w A + (1 - w) B`` into ``L``.

    The fusion kernels below work in preallocated buffers: at 100 targets and three nations a
    scan runs 200 fusions, and temporaries would cost more than the arithmetic."""
    n = A.shape[0]
    v = 1.0 - w
    for j in range(n):
        s = w * A[j, j] + v * B[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not s > 0.0:
            return False
        d = math.sqrt(s)
        L[j, j] = d
        for i in range(j + 1, n):
            t = 0.5 * (w * (A[i, j] + A[j, i]) + v * (B[i, j] + B[j, i]))
            for k in range(j):
                t -= L[i, k] * L[j, k]
            L[i, j] = t / d
        for i in range(j):
            L[i, j] = 0.0
    return True


@nb.njit(cache=True)
def _lower_t_product_sym(L: FloatArray, M: FloatArray, out: FloatArray) -> None:
    """``out = L^T M`` for lower-triangular ``L``, when the product is known to be symmetric:
    the sums skip ``L``'s zeros above the diagonal and only the lower half is computed, then
    mirrored."""
    n = L.shape[0]
    for i in range(n):
        for j in range(i + 1):
            acc = 0.0
            for k in range(i, n):
                acc += L[k, i] * M[k, j]
            out[i, j] = acc
            out[j, i] = acc


@nb.njit(cache=True)
def _inverse_from_chol(L: FloatArray, Li: FloatArray, out: FloatArray) -> None:
    """``out = (L L^T)^-1 = L^-T L^-1`` (symmetric by construction); ``Li`` is scratch."""
    n = L.shape[0]
    for c in range(n):
        for i in range(n):
            if i < c:
                Li[i, c] = 0.0
                continue
            t = 1.0 if i == c else 0.0
            for k in range(c, i):
                t -= L[i, k] * Li[k, c]
            Li[i, c] = t / L[i, i]
    _lower_t_product_sym(Li, Li, out)


@nb.njit(cache=True)
def _sym_eigvals(A: FloatArray, out: FloatArray) -> None:
    """Eigenvalues of the symmetric ``A`` into ``out`` by cyclic Jacobi rotations (``A`` is
    overwritten). At n = 7 this costs less than a LAPACK call's overhead."""
    n = A.shape[0]
    for _ in range(50):
        off = 0.0
        diag = 0.0
        for p in range(n):
            diag += A[p, p] * A[p, p]
            for q in range(p + 1, n):
                off += A[p, q] * A[p, q]
        if off <= 1e-18 * diag:
            break
        for p in range(n - 1):
            for q in range(p + 1, n):
                apq = A[p, q]
                if apq == 0.0:
                    continue
                theta = (A[q, q] - A[p, p]) / (2.0 * apq)
                if abs(theta) > 1e150:
                    t = 0.5 / theta
                else:
                    t = 1.0 / (abs(theta) + math.sqrt(theta * theta + 1.0))
                    if theta < 0.0:
                        t = -t
                c = 1.0 / math.sqrt(t * t + 1.0)
                sn = t * c
                for k in range(n):
                    if k != p and k != q:
                        akp = A[k, p]
                        akq = A[k, q]
                        A[k, p] = A[p, k] = c * akp - sn * akq
                        A[k, q] = A[q, k] = sn * akp + c * akq
                A[p, p] -= t * apq
                A[q, q] += t * apq
                A[p, q] = A[q, p] = 0.0
    for i in range(n):
        out[i] = A[i, i]


@nb.njit(cache=True)
def _det_weight(
    Pa: FloatArray, Pb: FloatArray, Ia: FloatArray, Lb: FloatArray, E: FloatArray,
    C: FloatArray,
) -> float:  # fmt: skip
    """``argmin_w -ln det(w Ia + (1 - w) Ib)`` on [0, 1] (``Pb = Lb Lb^T``, ``Ib = Pb^-1``).

    The function is convex. With ``lam`` the eigenvalues of ``Lb^T Ia Lb`` (the generalised
    eigenvalues of (Ia, Ib)) it is ``-ln det Ib - sum ln(1 + w (lam - 1))``: a scalar Newton
    search. The ends are checked first (one input much better than the other is common): their
    slopes need no eigenvalues, ``g(0) = n - tr(Pb Ia)`` and ``g(1) = tr(Pa Ib) - n``."""
    n = Pa.shape[0]
    g0 = float(n)
    for i in range(n):
        for j in range(n):
            g0 -= Pb[i, j] * Ia[j, i]
    if g0 >= 0.0:
        return 0.0
    # E = Ia Lb, C = Lb^T E
    for i in range(n):
        for j in range(n):
            acc = 0.0
            for k in range(j, n):
                acc += Ia[i, k] * Lb[k, j]
            E[i, j] = acc
    _lower_t_product_sym(Lb, E, C)
    d = np.empty(n)
    _sym_eigvals(C, d)
    for i in range(n):
        if not d[i] > 0.0:
            raise ValueError("covariance intersection: information matrix not positive definite")
        d[i] -= 1.0
    g1 = 0.0
    for i in range(n):
        g1 -= d[i] / (1.0 + d[i])
    if g1 <= 0.0:
        return 1.0
    lo, hi = 0.0, 1.0
    w = g0 / (g0 - g1)
    for _ in range(60):
        g = 0.0
        h = 0.0
        for i in range(n):
            q = d[i] / (1.0 + w * d[i])
            g -= q
            h += q * q
        if abs(g) <= 1e-12 * (abs(g0) + abs(g1)):
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
def _trace_weight(Ia: FloatArray, Ib: FloatArray) -> float:
    """``argmin_w tr((w Ia + (1 - w) Ib)^-1)`` on [0, 1] through the generalised eigenvalues
    of (Ia, Ib), which make the (convex) criterion a sum of scalar terms."""
    n = Ia.shape[0]
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
        d = 0.0  # derivative of the trace criterion
        for i in range(n):
            den = w * lam[i] + 1.0 - w
            d -= g2[i] * (lam[i] - 1.0) / (den * den)
        if d > 0.0:
            hi = w
        else:
            lo = w
    return 0.5 * (lo + hi)


@nb.njit(cache=True)
def _ci_into(
    xa: FloatArray, Pa: FloatArray, xb: FloatArray, Pb: FloatArray, use_det: bool,
    work: FloatArray, x_out: FloatArray, P_out: FloatArray,
) -> float:  # fmt: skip
    """CI of two estimates into ``x_out``/``P_out``; returns the weight ``w`` of ``a``.
    ``work`` holds five n x n scratch matrices."""
    n = xa.shape[0]
    Ia, Ib, L, Li, E = work[0], work[1], work[2], work[3], work[4]
    if not (_chol_into(Pa, Pa, 1.0, L)):
        raise ValueError("covariance intersection needs positive definite covariances")
    _inverse_from_chol(L, Li, Ia)
    if not (_chol_into(Pb, Pb, 1.0, L)):
        raise ValueError("covariance intersection needs positive definite covariances")
    _inverse_from_chol(L, Li, Ib)
    # L holds Pb's Cholesky factor here
    w = _det_weight(Pa, Pb, Ia, L, E, Li) if use_det else _trace_weight(Ia, Ib)
    if w == 0.0 or w == 1.0:
        # one input is better in every direction: CI returns it unchanged
        xs, Ps = (xb, Pb) if w == 0.0 else (xa, Pa)
        for i in range(n):
            x_out[i] = xs[i]
            for j in range(n):
                P_out[i, j] = 0.5 * (Ps[i, j] + Ps[j, i])
        return w
    if not _chol_into(Ia, Ib, w, L):
        raise ValueError("covariance intersection: information matrix not positive definite")
    _inverse_from_chol(L, Li, P_out)
    v = 1.0 - w
    for i in range(n):
        acc = 0.0
        for k in range(n):
            acc += w * Ia[i, k] * xa[k] + v * Ib[i, k] * xb[k]
        E[0, i] = acc
    for i in range(n):
        acc = 0.0
        for k in range(n):
            acc += P_out[i, k] * E[0, k]
        x_out[i] = acc
    return w


@nb.njit(cache=True)
def ci_fuse(
    xa: FloatArray, Pa: FloatArray, xb: FloatArray, Pb: FloatArray, use_det: bool
) -> tuple[FloatArray, FloatArray, float]:
    """CI of two estimates; returns fused state, covariance and the weight ``w`` of ``a``."""
    n = xa.shape[0]
    x = np.empty(n)
    P = np.empty((n, n))
    w = _ci_into(xa, Pa, xb, Pb, use_det, np.empty((5, n, n)), x, P)
    return x, P, w


@nb.njit(cache=True)
def ci_fuse_batch(
    XA: FloatArray, PA: FloatArray, XB: FloatArray, PB: FloatArray, use_det: bool
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``ci_fuse`` of pairs ``(XA[k], PA[k])`` and ``(XB[k], PB[k])`` in one call; returns
    the fused states, covariances and weights."""
    m, n = XA.shape
    X = np.empty_like(XA)
    P = np.empty_like(PA)
    W = np.empty(m)
    work = np.empty((5, n, n))
    for k in range(m):
        W[k] = _ci_into(XA[k], PA[k], XB[k], PB[k], use_det, work, X[k], P[k])
    return X, P, W


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


FUSED_PREFIX = "F:"


def national_ids(track_id: str) -> frozenset[str]:
    """The national track ids inside a (possibly fused, ``F:a+b``) track id."""
    return frozenset(track_id.removeprefix(FUSED_PREFIX).split("+"))


class TrackFuser:
    """The fused picture at one node: own national tracks plus partner tracks, by CI."""

    def __init__(self, own_nation: str, params: FusionParams | None = None) -> None:
        self.own_nation = own_nation
        self.params = params or FusionParams()
        self.counters: Counter[str] = Counter()
        self._gate = float(chi2.ppf(self.params.gate_probability, 6))
        self._labels: dict[tuple[str, ...], str] = {}

    def _accepted(self, states: Sequence[TrackState], t_s: float) -> list[TrackState]:
        out = []
        for s in states:
            if s.status is TrackStatus.DELETED:
                continue
            if len(s.nations) > 1 or (s.nations and s.nations[0] != s.nation):
                self.counters["rejected_fused_input"] += 1
                continue
            if s.t_s > t_s + 1e-9:
                self.counters["rejected_future_input"] += 1
                continue
            out.append(s)
        return out

    def _aligned(
        self, states: list[TrackState], t_s: float, dim: int
    ) -> tuple[FloatArray, FloatArray]:
        """States and covariances of ``states`` predicted to ``t_s``, as stacked arrays."""
        for s in states:
            if s.x.shape != (dim,) or s.P.shape != (dim, dim):
                raise FusionInputError(
                    f"track {s.track_id} has a {s.x.shape[0]}-element state while the picture "
                    f"uses {dim}; every nation must share the same state (position, velocity, "
                    "ballistic coefficient)",
                    field="x",
                )
        X = np.array([s.x for s in states])
        P = np.array([s.P for s in states])
        T = np.array([s.t_s for s in states])
        fp = self.params.filter_params
        predict_all(X, P, T, np.arange(len(states)), t_s, fp.q_acc_m2_s3, fp.q_beta)
        return X, P

    def fuse(self, picture: Mapping[str, Sequence[TrackState]], t_s: float) -> list[TrackState]:
        """Fused tracks at ``t_s`` from ``{nation: tracks}`` (own nation's included).

        Own tracks anchor the picture; each partner's tracks are assigned to the current fused
        tracks by GNN inside a 6-dof gate on position and velocity, unmatched partner tracks
        become tracks of their own.
        """
        groups: list[list[TrackState]] = []
        FX: FloatArray | None = None
        FP: FloatArray | None = None
        order = [self.own_nation] + sorted(n for n in picture if n != self.own_nation)
        for nation in order:
            incoming = self._accepted(picture.get(nation, ()), t_s)
            if not incoming:
                continue
            dim = incoming[0].x.shape[0] if FX is None else FX.shape[1]
            X, P = self._aligned(incoming, t_s, dim)
            if FX is None or FP is None:
                FX, FP = X, P
                groups = [[s] for s in incoming]
                continue
            cost = pair_costs(
                np.ascontiguousarray(FX[:, :6]),
                np.ascontiguousarray(FP[:, :6, :6]),
                np.ascontiguousarray(X[:, :6]),
                np.ascontiguousarray(P[:, :6, :6]),
                self._gate,
            )
            rows, cols = gnn_arrays(cost)
            if rows.size:
                fx, fp_, _ = ci_fuse_batch(
                    FX[rows], FP[rows], X[cols], P[cols], self.params.criterion == "det"
                )
                FX[rows] = fx
                FP[rows] = fp_
                for a, b in zip(rows.tolist(), cols.tolist(), strict=True):
                    groups[a].append(incoming[b])
                self.counters["ci_fusions"] += int(rows.size)
            rest = np.ones(len(incoming), dtype=bool)
            rest[cols] = False
            if rest.any():
                FX = np.concatenate([FX, X[rest]])
                FP = np.concatenate([FP, P[rest]])
                groups.extend([incoming[b]] for b in np.flatnonzero(rest).tolist())
        if FX is None or FP is None:
            return []
        return [self._state(g, FX[k], FP[k], t_s) for k, g in enumerate(groups)]

    def _label(self, group: list[TrackState]) -> str | None:
        labels = [s.label for s in group]
        present = [lab for lab in labels if lab is not None]
        if not present:
            return None
        if len(present) < len(labels):
            ids = ", ".join(s.track_id for s in group if s.label is None)
            raise FusionInputError(
                f"tracks {ids} have no security label while their partners do; label every "
                "shared track before fusing so the fused label can be computed",
                field="label",
            )
        key = tuple(sorted(set(present)))
        label = self._labels.get(key)
        if label is None:
            label = format_label(combine_labels(parse_label(lab) for lab in key))
            self._labels[key] = label
        return label

    def _state(
        self, group: list[TrackState], x: FloatArray, P: FloatArray, t_s: float
    ) -> TrackState:
        label = self._label(group)
        if len(group) == 1:
            (s,) = group
            return TrackState(
                FUSED_PREFIX + s.track_id, self.own_nation, t_s, x, P,
                TrackStatus.FLAGGED if s.status is TrackStatus.FLAGGED else TrackStatus.CONFIRMED,
                tuple(sorted(set(s.flags))) if s.flags else (), s.n_updates,
                tuple(sorted(set(s.sensors))), (s.nation,), label,
            )  # fmt: skip
        sensors: set[str] = set()
        flags: set[FlagReason] = set()
        for s in group:
            sensors.update(s.sensors)
            flags.update(s.flags)
        return TrackState(
            FUSED_PREFIX + "+".join(s.track_id for s in group), self.own_nation, t_s, x, P,
            TrackStatus.FLAGGED if any(s.status is TrackStatus.FLAGGED for s in group)
            else TrackStatus.CONFIRMED,
            tuple(sorted(flags)), sum(s.n_updates for s in group), tuple(sorted(sensors)),
            tuple(sorted({s.nation for s in group})), label,
        )  # fmt: skip


__all__ = [
    "FUSED_PREFIX",
    "FusionInputError",
    "FusionParams",
    "TrackFuser",
    "national_ids",
    "ci_fuse",
    "covariance_intersection",
]
