"""Value types shared along the missile flow: sensor plots in, track states out.

The sensor models (``trilink.missile.sim``) produce ``Plot``; the trackers in
``trilink.missile.track`` consume plots and produce ``TrackState``; fusion
(``trilink.missile.fuse``) combines ``TrackState`` from several nations; the warnings
(``trilink.missile.warn``) read ``TrackEstimate`` and ``GroundEstimate``. Truth-only fields
(``truth_id``, ``is_clutter``) exist for scoring the simulation and must never be read by a
tracker.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trilink.model.label import ALLIANCE

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

NATIONS: tuple[str, ...] = ALLIANCE  # the simulated scenarios' nations


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


@dataclass(frozen=True, slots=True)
class SensorCoverage:
    """Where a sensor can see: a tracker uses it only to decide whether a missing plot is a
    miss (the simulator's radar models have the full field of regard)."""

    max_range_m: float = 3.0e6
    min_elevation_rad: float = 0.0


@dataclass(frozen=True, slots=True, eq=False)
class PlotScan:
    """One sensor's plots at one time, as columns: what a radar delivers per scan.

    ``z`` rows are ``[range_m, azimuth_rad, elevation_rad, range_rate_mps]`` and ``sigma`` rows
    the matching standard deviations; without range-rate (``has_range_rate`` false) the last
    column is ignored. Trackers take scans without building one object per plot.
    """

    sensor_id: str
    nation: str
    t_s: float
    sensor_ecef_m: tuple[float, float, float]
    z: npt.NDArray[np.float64]  # (k, 4)
    sigma: npt.NDArray[np.float64]  # (k, 4)
    has_range_rate: bool

    def __len__(self) -> int:
        return int(self.z.shape[0])

    def plot(self, k: int) -> Plot:
        z, s = self.z[k], self.sigma[k]
        rr = self.has_range_rate
        return Plot(
            sensor_id=self.sensor_id, nation=self.nation, t_s=self.t_s, range_m=float(z[0]),
            azimuth_rad=float(z[1]), elevation_rad=float(z[2]),
            range_rate_mps=float(z[3]) if rr else None, sigma_range_m=float(s[0]),
            sigma_azimuth_rad=float(s[1]), sigma_elevation_rad=float(s[2]),
            sigma_range_rate_mps=float(s[3]) if rr else None, sensor_ecef_m=self.sensor_ecef_m,
        )  # fmt: skip

    @classmethod
    def from_plots(cls, plots: list[Plot]) -> PlotScan:
        """The scan of plots that share sensor and time (range-rate only if all have it)."""
        p0 = plots[0]
        if any(p.sensor_id != p0.sensor_id or p.t_s != p0.t_s for p in plots):
            raise ValueError("a scan holds the plots of one sensor at one time")
        rr = all(p.range_rate_mps is not None and p.sigma_range_rate_mps is not None
                 for p in plots)  # fmt: skip
        nan = float("nan")
        z = np.array(
            [
                (p.range_m, p.azimuth_rad, p.elevation_rad, p.range_rate_mps if rr else nan)
                for p in plots
            ],
            dtype=np.float64,
        )
        sigma = np.array([(p.sigma_range_m, p.sigma_azimuth_rad, p.sigma_elevation_rad,
                           p.sigma_range_rate_mps if rr else nan) for p in plots],
                         dtype=np.float64)  # fmt: skip
        return cls(p0.sensor_id, p0.nation, p0.t_s, p0.sensor_ecef_m, z, sigma, rr)


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
