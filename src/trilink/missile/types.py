"""Value types shared along the missile flow: sensor plots in, track states out.

The sensor models produce ``Plot``; the trackers in ``trilink.missile.track`` consume plots and
produce ``TrackState``; fusion (``trilink.missile.fuse``) combines ``TrackState`` from several
nations. Truth-only fields (``truth_id``, ``is_clutter``) exist for scoring the simulation and
must never be read by a tracker.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

NATIONS: tuple[str, ...] = ("USA", "JPN", "KOR")


@dataclass(frozen=True, slots=True)
class Plot:
    """One radar measurement in the sensor's local frame."""

    sensor_id: str
    nation: str  # "USA" | "JPN" | "KOR"
    t_s: float  # seconds since scenario epoch
    range_m: float
    azimuth_rad: float  # from local north, clockwise
    elevation_rad: float  # above local horizontal (ENU at the sensor, WGS-84 ellipsoid normal)
    range_rate_mps: float | None
    sigma_range_m: float
    sigma_azimuth_rad: float
    sigma_elevation_rad: float
    sigma_range_rate_mps: float | None
    sensor_ecef_m: tuple[float, float, float]
    truth_id: str | None = None  # simulation truth only; trackers must never read it
    is_clutter: bool = False  # simulation truth only


class TrackStatus(enum.StrEnum):
    """Life cycle of a track. ``FLAGGED`` means a consistency check failed: never silent."""

    TENTATIVE = "tentative"
    CONFIRMED = "confirmed"
    DELETED = "deleted"
    FLAGGED = "flagged"


class FlagReason(enum.StrEnum):
    """Why a track was flagged (divergence is reported, never hidden)."""

    NON_PSD = "covariance_not_positive_definite"
    EXPLODING = "covariance_exploding"
    NIS_HIGH = "nis_out_of_bounds"
    NON_FINITE = "state_not_finite"


@dataclass(slots=True, eq=False)
class TrackState:
    """A track's estimate at one time, in the Earth-fixed (ECEF, WGS-84) frame.

    ``x`` is ``[x, y, z, vx, vy, vz]`` in m and m/s, optionally followed by the inverse
    ballistic coefficient ``b = Cd*A/m`` in m^2 per tonne (7-state; 0.2 m^2/t is a ballistic
    coefficient of 5,000 kg/m^2). ``P`` is its covariance. Treat it as read-only: it is not
    frozen only because the trackers build hundreds per scan and a frozen dataclass' init costs
    several times more.
    """

    track_id: str
    nation: str
    t_s: float
    x: FloatArray
    P: FloatArray
    status: TrackStatus = TrackStatus.TENTATIVE
    flags: tuple[FlagReason, ...] = ()
    n_updates: int = 0
    sensors: tuple[str, ...] = ()
    nations: tuple[str, ...] = ()  # nations whose data went into this estimate
    label: str | None = None  # security label text of the inputs (fusion combines them)
    model_probs: tuple[float, ...] = ()  # IMM mode probabilities (boost, ballistic), if any

    @property
    def position_ecef_m(self) -> FloatArray:
        return self.x[:3]

    @property
    def velocity_ecef_mps(self) -> FloatArray:
        return self.x[3:6]

    @property
    def has_ballistic_coefficient(self) -> bool:
        return bool(self.x.shape[0] >= 7)


@dataclass(frozen=True, slots=True)
class GroundEstimate:
    """A predicted ground point (impact or launch) with its error ellipse.

    ``cov_en_m2`` is the (east, north) covariance in the local tangent plane at the point as
    ``(ee, en, nn)``; the ellipse axes are for ``confidence`` (chi-square, 2 degrees of freedom).
    """

    t_s: float
    sigma_t_s: float
    lat_deg: float
    lon_deg: float
    cov_en_m2: tuple[float, float, float]
    semi_major_m: float
    semi_minor_m: float
    major_azimuth_deg: float  # direction of the major axis, clockwise from north, 0..180
    confidence: float = 0.95


@dataclass(frozen=True, slots=True)
class TrackEstimate:
    """What a watch officer needs from one track at one time (tracker side of issue 6 part 5)."""

    track_id: str
    t_s: float
    impact: GroundEstimate | None
    launch: GroundEstimate | None
    time_to_impact_s: float | None
    sigma_time_to_impact_s: float | None
    apogee_alt_m: float | None  # predicted (or passed) apogee of the ballistic arc
    apogee_t_s: float | None
    method: str = "unscented"
