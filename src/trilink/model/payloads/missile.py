"""Payload schemas of the `trilink.missile` report kinds.

``missile.track``: one nation's (or a fused) track state of a ballistic object, shared between
nodes for covariance-intersection fusion. ``missile.warning``: an impact warning for watch
officers, issued when the impact prediction meets the configured confidence, then updated, then
cancelled (all-clear). Times are ISO-8601 UTC; positions WGS-84 degrees; ECEF is WGS-84.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import msgspec

from trilink.model.kindspec import (
    SIGMA_95_2D,
    Affiliation,
    Ellipse,
    How,
    KindSpec,
    Point,
    Property,
    Shape,
    Symbol,
)

# An ISO 3166-1 alpha-3 code; which nations exist is each node's configuration.
Nation = Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")]
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
    affiliation: Affiliation | None = None
    """The object's identification; a ballistic missile under track is hostile unless said."""

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


MISSILE_IN_FLIGHT = Symbol("A", "WM", "missile in flight")


def _local_axes(lon_deg: float, lat_deg: float) -> tuple[list[float], list[float], list[float]]:
    """East, north and up unit vectors at (lon, lat) in ECEF."""
    lon, lat = math.radians(lon_deg), math.radians(lat_deg)
    east = [-math.sin(lon), math.cos(lon), 0.0]
    north = [-math.sin(lat) * math.cos(lon), -math.sin(lat) * math.sin(lon), math.cos(lat)]
    up = [math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)]
    return east, north, up


def _quad(p: list[list[float]], a: list[float], b: list[float]) -> float:
    return sum(a[i] * p[i][j] * b[j] for i in range(3) for j in range(3))


def position_covariance_enu(t: MissileTrackPayload) -> tuple[float, float, float, float]:
    """(east², north², east·north, up²) variances in m² of the track's position, rotated
    from the ECEF covariance's first 3x3 block into local east/north/up."""
    east, north, up = _local_axes(t.lon, t.lat)
    p = [row[:3] for row in t.covariance[:3]]
    return _quad(p, east, east), _quad(p, north, north), _quad(p, east, north), _quad(p, up, up)


def uncertainty_ellipse(t: MissileTrackPayload) -> Ellipse | None:
    """The 95 % horizontal position ellipse of the track (chi-square 5.991, 2 dof)."""
    ee, nn, en, _ = position_covariance_enu(t)
    mean, diff = (ee + nn) / 2.0, math.hypot((ee - nn) / 2.0, en)
    major_var, minor_var = mean + diff, mean - diff
    if not (math.isfinite(major_var) and major_var > 0.0):
        return None
    bearing = math.degrees(0.5 * math.atan2(2.0 * en, nn - ee)) % 180.0
    return Ellipse(
        lon=t.lon,
        lat=t.lat,
        semi_major_m=SIGMA_95_2D * math.sqrt(major_var),
        semi_minor_m=SIGMA_95_2D * math.sqrt(max(minor_var, 0.0)) or 1.0,
        orientation_deg=bearing,
        role="uncertainty",
    )


def _track_shapes(t: MissileTrackPayload) -> list[Shape]:
    shapes: list[Shape] = [Point(lon=t.lon, lat=t.lat, alt_m=t.alt_m)]
    ellipse = uncertainty_ellipse(t)
    if ellipse is not None:
        shapes.append(ellipse)
    return shapes


def _track_accuracy(t: MissileTrackPayload) -> tuple[float | None, float | None]:
    ee, nn, _, uu = position_covariance_enu(t)
    ce = math.sqrt((ee + nn) / 2.0) if ee + nn >= 0.0 else None
    le = math.sqrt(uu) if uu >= 0.0 else None
    return ce, le


def _track_motion(t: MissileTrackPayload) -> tuple[float, float] | None:
    east, north, _ = _local_axes(t.lon, t.lat)
    v = t.velocity_ecef_mps
    ve = sum(east[i] * v[i] for i in range(3))
    vn = sum(north[i] * v[i] for i in range(3))
    return (math.degrees(math.atan2(ve, vn)) % 360.0, math.hypot(ve, vn))


def _track_how(t: MissileTrackPayload) -> How:
    # several nations' (or several radars') data fused into one estimate
    return "m-f" if len(t.nations) > 1 or len(t.sensors) > 1 else "m"


def _track_properties(t: MissileTrackPayload) -> dict[str, Property]:
    return {
        "track_id": t.track_id,
        "nation": t.nation,
        "nations": ", ".join(t.nations),
        "time": t.time,
        "phase": t.phase,
        "status": t.status,
        "quality": t.quality,
        "alt_m": t.alt_m,
    }


def _warning_shapes(w: MissileWarningPayload) -> list[Shape]:
    shapes: list[Shape] = [
        Point(lon=w.impact_lon, lat=w.impact_lat, role="impact"),
        Ellipse(
            lon=w.impact_lon,
            lat=w.impact_lat,
            semi_major_m=w.ellipse_semi_major_m,
            semi_minor_m=w.ellipse_semi_minor_m,
            orientation_deg=w.ellipse_orientation_deg,
            role="impact.ellipse",
        ),
    ]
    if w.launch_lat is not None and w.launch_lon is not None:
        shapes.append(Point(lon=w.launch_lon, lat=w.launch_lat, role="launch"))
    return shapes


def _warning_accuracy(w: MissileWarningPayload) -> tuple[float | None, float | None]:
    a, b = w.ellipse_semi_major_m, w.ellipse_semi_minor_m
    return math.sqrt((a * a + b * b) / 2.0) / SIGMA_95_2D, None


def _warning_properties(w: MissileWarningPayload) -> dict[str, Property]:
    return {
        "track_id": w.warning_id,
        "warning_id": w.warning_id,
        "status": w.status,
        "time": w.time,
        "impact_time": w.impact_time,
        "time_to_impact_s": w.time_to_impact_s,
        "missile_class": w.missile_class,
        "p_impact_in_japan_eez": w.p_impact_in_japan_eez,
        "p_overflies_japan": w.p_overflies_japan,
        "confidence": w.confidence,
        "track_ids": ", ".join(w.track_ids),
    }


KINDS: tuple[KindSpec[MissileTrackPayload] | KindSpec[MissileWarningPayload], ...] = (
    KindSpec(
        kind="missile.track",
        payload=MissileTrackPayload,
        title=lambda t: f"track {t.track_id} ({t.nation})",
        shapes=_track_shapes,
        panel=(
            "track_id",
            "nation",
            "nations",
            "time",
            "phase",
            "status",
            "quality",
            "alt_m",
            "sensors",
            "n_updates",
        ),
        properties=_track_properties,
        observed=lambda t: t.time,
        track=lambda t: t.track_id,
        status=lambda t: t.status,
        ended=lambda t: t.status == "deleted",
        is_track=True,
        affiliation=lambda t: t.affiliation or "hostile",
        symbol=lambda t: MISSILE_IN_FLIGHT,
        how=_track_how,
        accuracy=_track_accuracy,
        motion=_track_motion,
        stale_s=60.0,  # updates come every few seconds while the object is tracked
        folder="Missile tracks",
    ),
    KindSpec(
        kind="missile.warning",
        payload=MissileWarningPayload,
        title=lambda w: f"impact warning {w.warning_id} ({w.status})",
        shapes=_warning_shapes,
        panel=(
            "warning_id",
            "status",
            "time",
            "impact_time",
            "time_to_impact_s",
            "missile_class",
            "p_impact_in_japan_eez",
            "p_overflies_japan",
            "confidence",
            "reason",
            "track_ids",
        ),
        properties=_warning_properties,
        observed=lambda w: w.time,
        until=lambda w: w.impact_time,
        track=lambda w: w.warning_id,
        status=lambda w: w.status,
        ended=lambda w: w.status == "cancel",
        affiliation=lambda w: "hostile",
        how=lambda w: "m-p",  # a predicted impact point
        accuracy=_warning_accuracy,
        stale_s=600.0,  # after the predicted impact time
        folder="Missile warnings",
    ),
)
