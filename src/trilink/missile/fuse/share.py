"""Conversion between tracker states and shared ``missile.track`` payloads.

Place in the flow: a nation's ``TrackManager.tracks()`` -> ``to_payload`` -> published report;
a received partner report -> ``from_payload`` -> ``TrackFuser.fuse``. The payload carries the
6x6 kinematic covariance and, optionally, the ballistic coefficient as a value without
variance; on the way back in, the ballistic coefficient gets a deliberately uninformative
variance so that covariance intersection takes it from the local track.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from trilink.missile.frames import ecef_to_geodetic_nb
from trilink.missile.types import FlagReason, TrackState, TrackStatus
from trilink.model.payloads.missile import MissileTrackPayload

DEFAULT_BETA_INV_M2_T = 0.2
UNINFORMATIVE_BETA_SIGMA_M2_T = 10.0
_REENTRY_ALT_M = 100_000.0


def _phase(state: TrackState, alt_m: float) -> str:
    up = state.x[:3] / np.linalg.norm(state.x[:3])
    if alt_m < _REENTRY_ALT_M and float(state.x[3:6] @ up) < 0.0:
        return "reentry"
    if state.model_probs:
        return "boost" if state.model_probs[0] > 0.5 else "ballistic"
    return "unknown"


def quality(state: TrackState) -> float:
    """0..1 from the number of updates (saturating at 20) and halved while flagged."""
    q = min(state.n_updates / 20.0, 1.0)
    return q * (0.5 if state.status is TrackStatus.FLAGGED else 1.0)


def to_payload(
    state: TrackState, epoch_utc: dt.datetime, *, exercise: bool = False
) -> MissileTrackPayload:
    """The shareable form of a national (or fused) track."""
    if epoch_utc.tzinfo is None:
        raise ValueError("epoch_utc must be timezone-aware (UTC)")
    lat, lon, alt = ecef_to_geodetic_nb(float(state.x[0]), float(state.x[1]), float(state.x[2]))
    beta = None
    if state.x.shape[0] >= 7 and state.x[6] > 0.0:
        beta = 1000.0 / float(state.x[6])
    cov = 0.5 * (state.P[:6, :6] + state.P[:6, :6].T)
    return MissileTrackPayload(
        track_id=state.track_id,
        nation=state.nation,
        nations=list(state.nations or (state.nation,)),
        time=(epoch_utc + dt.timedelta(seconds=state.t_s)).astimezone(dt.UTC).isoformat(),
        t_s=float(state.t_s),
        lat=math.degrees(lat),
        lon=math.degrees(lon),
        alt_m=float(alt),
        position_ecef_m=[float(v) for v in state.x[:3]],
        velocity_ecef_mps=[float(v) for v in state.x[3:6]],
        covariance=[[float(v) for v in row] for row in cov],
        phase=_phase(state, float(alt)),  # type: ignore[arg-type]
        quality=quality(state),
        status=state.status.value,
        flags=[f.value for f in state.flags],
        sensors=list(state.sensors),
        n_updates=int(state.n_updates),
        beta_kgpm2=beta,
        exercise=exercise,
    )


def from_payload(p: MissileTrackPayload, *, label: str | None = None) -> TrackState:
    """A 7-state ``TrackState`` from a received payload (ballistic coefficient uninformative)."""
    x = np.empty(7)
    x[:3] = p.position_ecef_m
    x[3:6] = p.velocity_ecef_mps
    x[6] = 1000.0 / p.beta_kgpm2 if p.beta_kgpm2 else DEFAULT_BETA_INV_M2_T
    P = np.zeros((7, 7))
    P[:6, :6] = np.asarray(p.covariance, dtype=np.float64)
    P[6, 6] = UNINFORMATIVE_BETA_SIGMA_M2_T**2
    known = {f.value: f for f in FlagReason}
    return TrackState(
        track_id=p.track_id,
        nation=p.nation,
        t_s=p.t_s,
        x=x,
        P=P,
        status=TrackStatus(p.status),
        flags=tuple(known[f] for f in p.flags if f in known),
        n_updates=p.n_updates,
        sensors=tuple(p.sensors),
        nations=tuple(p.nations),
        label=label,
    )
