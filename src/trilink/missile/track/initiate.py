"""Track initiation from plots: single-plot candidates, two-point tentative tracks, M-of-N.

Place in the flow: plots that ``associate.gnn`` leaves unassigned come here. A plot first
becomes a *candidate* (a position with covariance). A later plot that lies within what a
missile could fly in the elapsed time (``min_speed``..``max_speed``) pairs with the nearest
candidate and starts a *tentative* track whose velocity is the difference of the two positions
(plus the gravity correction of a free fall over the interval). ``TrackManager`` confirms a
track after M hits out of its first N scan opportunities and deletes it otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trilink.missile.track.dynamics import deriv
from trilink.missile.track.measure import Site, to_ecef_position
from trilink.missile.types import FloatArray, Plot


@dataclass(frozen=True, slots=True)
class InitiationParams:
    """Thresholds of track initiation, confirmation and deletion."""

    max_speed_mps: float = 8000.0
    min_speed_mps: float = 100.0
    candidate_ttl_s: float = 20.0
    gate_sigma: float = 4.0
    beta_inv_m2_t: float = 0.2
    sigma_beta_inv_m2_t: float = 0.15
    confirm_m: int = 3
    confirm_n: int = 5
    delete_misses: int = 5  # consecutive covered misses that delete a confirmed track
    stale_s: float = 60.0  # a track without update for this long is deleted
    max_position_sigma_m: float = 100_000.0  # above this a track is flagged as exploding


@dataclass(slots=True)
class Candidate:
    t_s: float
    position_m: FloatArray
    cov_m2: FloatArray
    sensor_id: str


def plot_position(plot: Plot, site: Site) -> tuple[FloatArray, FloatArray]:
    """ECEF position of a plot and its covariance (first-order transform of R)."""
    z = np.array([plot.range_m, plot.azimuth_rad, plot.elevation_rad])
    p, J = to_ecef_position(z, site.ecef_m, site.rot_enu)
    R = np.diag([plot.sigma_range_m**2, plot.sigma_azimuth_rad**2, plot.sigma_elevation_rad**2])
    return p, J @ R @ J.T


def two_point_state(
    first: Candidate, p2: FloatArray, R2: FloatArray, t2_s: float, params: InitiationParams
) -> tuple[FloatArray, FloatArray]:
    """7-state and covariance at ``t2_s`` from two positions (finite difference)."""
    dt = t2_s - first.t_s
    v = (p2 - first.position_m) / dt
    # the chord velocity lags the end velocity by half the interval's acceleration
    acc = np.empty(7)
    deriv(np.concatenate([p2, v, [params.beta_inv_m2_t]]), False, acc)
    v = v + 0.5 * acc[3:6] * dt
    x = np.concatenate([p2, v, [params.beta_inv_m2_t]])
    P = np.zeros((7, 7))
    P[:3, :3] = R2
    P[:3, 3:6] = R2 / dt
    P[3:6, :3] = R2 / dt
    P[3:6, 3:6] = (R2 + first.cov_m2) / dt**2
    # the unmodelled part of the chord approximation (drag/thrust unknown at initiation)
    P[3:6, 3:6] += np.eye(3) * (50.0 * dt) ** 2
    P[6, 6] = params.sigma_beta_inv_m2_t**2
    return x, P


class CandidateStore:
    """Unassociated plots waiting for a partner plot (arrays, so pairing is vectorised)."""

    def __init__(self, params: InitiationParams) -> None:
        self.params = params
        self.items: list[Candidate] = []
        self._t = np.empty(0)
        self._pos = np.empty((0, 3))
        self._tr = np.empty(0)

    def __len__(self) -> int:
        return len(self.items)

    def _rebuild(self) -> None:
        self._t = np.array([c.t_s for c in self.items])
        self._pos = np.array([c.position_m for c in self.items]).reshape(-1, 3)
        self._tr = np.array([float(np.trace(c.cov_m2)) for c in self.items])

    def expire(self, t_s: float) -> None:
        keep = t_s - self._t <= self.params.candidate_ttl_s
        if not keep.all():
            self.items = [c for c, k in zip(self.items, keep, strict=True) if k]
            self._t, self._pos, self._tr = self._t[keep], self._pos[keep], self._tr[keep]

    def pair(
        self, p: FloatArray, R: FloatArray, t_s: float, sensor_id: str
    ) -> tuple[FloatArray, FloatArray] | None:
        """Start a tentative state from the best candidate for this plot, else store it."""
        pr = self.params
        best = -1
        if self.items:
            dt = t_s - self._t
            dist = np.linalg.norm(self._pos - p, axis=1)
            slack = pr.gate_sigma * np.sqrt(np.trace(R) + self._tr)
            ok = (
                (dt > 1e-6)
                & (dist <= pr.max_speed_mps * dt + slack)
                & (dist >= pr.min_speed_mps * dt - slack)
            )
            if ok.any():
                # prefer the most recent partner, then the closest
                score = np.where(ok, dt * 1e9 + dist, np.inf)
                best = int(np.argmin(score))
        if best < 0:
            self.items.append(Candidate(t_s, p, R, sensor_id))
            self._t = np.append(self._t, t_s)
            self._pos = np.vstack([self._pos, p[None, :]])
            self._tr = np.append(self._tr, float(np.trace(R)))
            return None
        c = self.items.pop(best)
        keep = np.ones(self._t.shape[0], dtype=bool)
        keep[best] = False
        self._t, self._pos, self._tr = self._t[keep], self._pos[keep], self._tr[keep]
        return two_point_state(c, p, R, t_s, pr)
