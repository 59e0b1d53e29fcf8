"""The filter interface of the multi-target tracker, and the filters a scenario can name.

Place in the flow: ``TrackManager(nation, filter=...)`` holds one filter object and, per sensor
scan, asks it to predict every live track to the scan time and to update the tracks that GNN
assigned a plot to, as Stone Soup's tracker is handed its predictor and updater. The manager
keeps every track's 7-state ``[r, v, b]`` and covariance in shared arrays (what gating,
fusion and estimates read); a filter that needs more per track (the IMM's per-model states
and mode probabilities) declares it in ``slots`` and the manager allocates, grows and passes
those arrays back on every call, so one filter object can serve any number of trackers.

The three filters (``ekf.EkfFilter``, ``ukf.UkfFilter``, ``imm.ImmFilter``; by name:
``trilink.missile.track.filter_named``) run their batch work in numba kernels, one call per
scan whatever the number of tracks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from trilink.missile.types import FloatArray, IntArray


@dataclass(frozen=True, slots=True)
class FilterParams:
    """Process-noise intensities of the motion model.

    ``q_acc_m2_s3`` covers unmodelled accelerations (mismatch of atmosphere, gravity
    higher harmonics); ``q_beta`` lets the ballistic coefficient drift; ``q_thrust`` is the
    random walk of the thrust acceleration in the boost model.
    """

    q_acc_m2_s3: float = 1.0
    q_beta: float = 1e-4
    q_thrust: float = 25.0


FilterSlots = dict[str, FloatArray]
"""Per-track arrays a filter keeps beyond the shared state, first axis = track slot."""


class TrackFilter(ABC):
    """Predict and update a bank of tracks held in the tracker's arrays.

    ``X`` (n, 7), ``P`` (n, 7, 7) and ``T`` (n,) are the tracker's states, covariances and
    state times; ``idx`` / ``tr`` select the slots to work on. Updates return, per pair, the
    NIS of the innovation, 1.0 if the updated covariance is positive definite (else 0.0) and the
    measurement dimension used (3, or 4 with range-rate once the velocity is known within
    ``rr_max_vel_sigma``)."""

    name: ClassVar[str]
    params: FilterParams

    def slots(self, capacity: int) -> FilterSlots:
        """Per-track arrays for ``capacity`` tracks (none unless the filter needs them)."""
        return {}

    def start(self, slots: FilterSlots, i: int, x: FloatArray, P: FloatArray) -> None:  # noqa: B027
        """A new track in slot ``i`` starts from ``x``, ``P`` (7-state); nothing to do unless
        the filter keeps slots (deliberately not abstract)."""

    @abstractmethod
    def predict_tracks(
        self, slots: FilterSlots, X: FloatArray, P: FloatArray, T: FloatArray, idx: IntArray,
        t_s: float,
    ) -> None:  # fmt: skip
        """Predict tracks ``idx`` to ``t_s`` in place (tracks already at ``t_s`` stay)."""

    @abstractmethod
    def update_tracks(
        self, slots: FilterSlots, X: FloatArray, P: FloatArray, tr: IntArray, Z: FloatArray,
        Rd: FloatArray, pl: IntArray, site: FloatArray, rot: FloatArray, use_rr: bool,
        rr_max_vel_sigma: float,
    ) -> tuple[FloatArray, FloatArray, IntArray]:  # fmt: skip
        """Update track ``tr[k]`` with plot ``pl[k]`` (rows of ``Z``, variances ``Rd``)."""

    def mode_probabilities(
        self, slots: FilterSlots, idx: IntArray
    ) -> list[tuple[float, ...]] | None:
        """Per track, the probabilities of the filter's motion modes (None: single model)."""
        return None


class BallisticFilter(TrackFilter):
    """A filter whose per-track state is all in the tracker's 7-state (EKF, UKF): numba
    kernels update the whole bank (``batch_predict``, ``batch_update``) and one target
    (``one_update``; ``predict`` is the subclass's)."""

    batch_predict: ClassVar[Callable[..., None]]
    batch_update: ClassVar[Callable[..., tuple[FloatArray, FloatArray, IntArray]]]
    one_update: ClassVar[Callable[..., tuple[FloatArray, FloatArray, Any]]]

    def __init__(self, params: FilterParams | None = None) -> None:
        self.params = params or FilterParams()

    def predict_tracks(
        self, slots: FilterSlots, X: FloatArray, P: FloatArray, T: FloatArray, idx: IntArray,
        t_s: float,
    ) -> None:  # fmt: skip
        self.batch_predict(X, P, T, idx, t_s, self.params.q_acc_m2_s3, self.params.q_beta)

    def update_tracks(
        self, slots: FilterSlots, X: FloatArray, P: FloatArray, tr: IntArray, Z: FloatArray,
        Rd: FloatArray, pl: IntArray, site: FloatArray, rot: FloatArray, use_rr: bool,
        rr_max_vel_sigma: float,
    ) -> tuple[FloatArray, FloatArray, IntArray]:  # fmt: skip
        return self.batch_update(X, P, tr, Z, Rd, pl, site, rot, use_rr, rr_max_vel_sigma)

    def update(
        self,
        x: FloatArray,
        P: FloatArray,
        z: FloatArray,
        r_diag: FloatArray,
        site_ecef_m: FloatArray,
        rot_enu: FloatArray,
    ) -> tuple[FloatArray, FloatArray, float]:
        """One target, one plot (range-rate used when ``z`` has 4 elements): posterior, NIS."""
        xn, Pn, nis = self.one_update(x, P, z, r_diag, site_ecef_m, rot_enu, z.shape[0] == 4)
        return xn, Pn, float(nis)
