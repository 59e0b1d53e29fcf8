"""Posterior Cramer-Rao lower bound (PCRLB) for the ballistic tracking problem.

Place in the flow: validation only. The Tichavsky-Muravchik-Nehorai recursion for additive
Gaussian process and measurement noise,

    J_{k+1} = (Q_k + F_k J_k^{-1} F_k^T)^{-1} + sum_sensors H^T R^{-1} H,

with F and H the Jacobians evaluated on the true trajectory (the expectation over the truth is
approximated by the trajectory itself, which is exact when process noise is small compared to
the curvature of the dynamics). The bound on any unbiased estimator's position MSE is the trace
of the position block of ``J^{-1}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trilink.missile.track.dynamics import process_noise, propagate_with_stm
from trilink.missile.track.measure import measure
from trilink.missile.types import FloatArray


@dataclass(frozen=True, slots=True)
class BoundSensor:
    """What the bound needs to know about a sensor seeing the target at a step."""

    site_ecef_m: FloatArray
    rot_enu: FloatArray
    r_diag: FloatArray  # variances of (range, az, el[, range-rate])


def pcrlb(
    times_s: FloatArray,
    truth: FloatArray,
    sensors_per_step: Sequence[Sequence[BoundSensor]],
    P0: FloatArray,
    *,
    q_acc_m2_s3: float,
    q_beta: float,
) -> FloatArray:
    """Bound covariances ``J_k^{-1}`` (K x n x n) after the update at each of ``times_s``.

    ``sensors_per_step[k]`` lists the sensors that measure the target at ``times_s[k]``; step 0 is
    the prior ``P0`` combined with the measurements at time 0.
    """
    n = truth.shape[1]
    out = np.empty((times_s.shape[0], n, n))
    J = np.linalg.inv(P0)
    for k in range(times_s.shape[0]):
        if k > 0:
            dt = float(times_s[k] - times_s[k - 1])
            _, F = propagate_with_stm(truth[k - 1], dt, False)
            Q = process_noise(n, dt, q_acc_m2_s3, q_beta, 0.0, False)
            Jinv = np.linalg.inv(J)
            J = np.linalg.inv(Q + F @ Jinv @ F.T)
        for s in sensors_per_step[k]:
            use_rr = s.r_diag.shape[0] == 4
            _, H = measure(truth[k], s.site_ecef_m, s.rot_enu, use_rr)
            J = J + H.T @ (H / s.r_diag[:, None])
        J = 0.5 * (J + J.T)
        out[k] = np.linalg.inv(J)
    return out


def position_bound_m(bounds: FloatArray) -> FloatArray:
    """Root of the position-block trace of each bound covariance (m)."""
    out: FloatArray = np.sqrt(np.trace(bounds[:, :3, :3], axis1=1, axis2=2))
    return out
