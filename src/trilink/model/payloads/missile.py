"""Payload schemas of the `trilink.missile` report kinds.

``missile.track``: one nation's (or a fused) track state of a ballistic object, shared between
nodes for covariance-intersection fusion. ``missile.warning``: an impact warning for watch
officers, issued when the impact prediction meets the configured confidence, then updated, then
cancelled (all-clear). Times are ISO-8601 UTC; positions WGS-84 degrees; ECEF is WGS-84.
"""

from __future__ import annotations

import math
from typing import Literal

import msgspec

Nation = Literal["USA", "JPN", "KOR"]
Phase = Literal["boost", "ballistic", "reentry", "unknown"]
MissileClass = Literal["SRBM", "MRBM", "IRBM", "ICBM", "unknown"]
WarningStatus = Literal["issue", "update", "cancel"]


class MissileTrackPayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A track state: position, ECEF velocity and the 6×6 covariance of (x, y, z, vx, vy, vz)."""

    track_id: str
    nation: Nation
    """Nation that produced this estimate (the fusing node for fused tracks)."""
    nations: list[Nation]
    """Nations whose data went into it (one entry for a single-nation track)."""
    time: str
    t_s: float
    """Seconds since the scenario epoch (``time`` is the same instant in UTC)."""
    lat: float
    lon: float
    alt_m: float
    position_ecef_m: list[float]
    velocity_ecef_mps: list[float]
    covariance: list[list[float]]
    """6×6, row-major, m² / m²s⁻¹ / m²s⁻²; symmetric positive semi-definite."""
    phase: Phase = "unknown"
    quality: float = 0.0
    """0..1: the producer's confidence in the track (e.g. from NIS history and update count)."""
    status: Literal["tentative", "confirmed", "deleted", "flagged"] = "tentative"
    flags: list[str] = []
    sensors: list[str] = []
    n_updates: int = 0
    beta_kgpm2: float | None = None
    """Estimated ballistic coefficient, if the tracker estimates it."""
    exercise: bool = False

    def __post_init__(self) -> None:
        _check_vec("position_ecef_m", self.position_ecef_m, 3)
        _check_vec("velocity_ecef_mps", self.velocity_ecef_mps, 3)
        if len(self.covariance) != 6 or any(len(row) != 6 for row in self.covariance):
            raise msgspec.ValidationError("covariance must be 6x6")
        for row in self.covariance:
            _check_vec("covariance", row, 6)
        _check_lat_lon(self.lat, self.lon)
        if not 0.0 <= self.quality <= 1.0:
            raise msgspec.ValidationError("quality must be within 0..1")


class MissileWarningPayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An impact warning; ``warning_id`` stays the same across issue → update → cancel."""

    warning_id: str
    status: WarningStatus
    time: str
    """When this warning was produced (UTC)."""
    track_ids: list[str]
    nations: list[Nation]
    impact_lat: float
    impact_lon: float
    ellipse_semi_major_m: float
    """95 % impact ellipse semi-major axis."""
    ellipse_semi_minor_m: float
    ellipse_orientation_deg: float
    """Major axis direction, degrees clockwise from north, 0..180."""
    impact_time: str
    time_to_impact_s: float
    p_impact_in_japan_eez: float
    p_overflies_japan: float
    launch_lat: float | None = None
    launch_lon: float | None = None
    launch_time: str | None = None
    missile_class: MissileClass = "unknown"
    lofted: bool = False
    apogee_km: float | None = None
    confidence: float
    """0..1: the confidence level the impact prediction met when this was issued."""
    reason: str = ""
    """Free text: why issued/updated/cancelled (e.g. "track lost", "impact outside zones")."""
    exercise: bool = False

    def __post_init__(self) -> None:
        _check_lat_lon(self.impact_lat, self.impact_lon)
        if self.launch_lat is not None or self.launch_lon is not None:
            if self.launch_lat is None or self.launch_lon is None:
                raise msgspec.ValidationError("launch_lat and launch_lon go together")
            _check_lat_lon(self.launch_lat, self.launch_lon)
        for name in ("p_impact_in_japan_eez", "p_overflies_japan", "confidence"):
            v = getattr(self, name)
            if not (math.isfinite(v) and 0.0 <= v <= 1.0):
                raise msgspec.ValidationError(f"{name} must be within 0..1")
        for name in ("ellipse_semi_major_m", "ellipse_semi_minor_m", "time_to_impact_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0.0):
                raise msgspec.ValidationError(f"{name} must be a finite number >= 0")
        if self.ellipse_semi_minor_m > self.ellipse_semi_major_m:
            raise msgspec.ValidationError("ellipse semi-minor axis exceeds the semi-major axis")


def _check_vec(name: str, values: list[float], n: int) -> None:
    if len(values) != n or not all(math.isfinite(v) for v in values):
        raise msgspec.ValidationError(f"{name} must hold {n} finite numbers")


def _check_lat_lon(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 360):
        raise msgspec.ValidationError(f"invalid lat/lon {lat},{lon}")


KINDS: dict[str, type[msgspec.Struct]] = {
    "missile.track": MissileTrackPayload,
    "missile.warning": MissileWarningPayload,
}
"""Payload schemas per report kind. Engines define theirs in a module here so that every node
can validate any kind it receives without importing the engines themselves."""
