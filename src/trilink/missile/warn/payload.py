"""``missile.warning`` payloads: the typed report a warning issue, update or cancel publishes."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from trilink.missile.types import GroundEstimate
from trilink.missile.warn.assess import ThreatAssessment
from trilink.model.payloads.missile import MissileWarningPayload

NO_IMPACT = GroundEstimate(
    t_s=math.inf, sigma_t_s=0.0, lat_deg=0.0, lon_deg=0.0, cov_en_m2=(0.0, 0.0, 0.0),
    semi_major_m=0.0, semi_minor_m=0.0, major_azimuth_deg=0.0,
)  # fmt: skip
"""Stands in for a missing impact prediction (its time never passes)."""


def _iso(epoch_utc: dt.datetime, t_s: float) -> str:
    return (epoch_utc + dt.timedelta(seconds=t_s)).astimezone(dt.UTC).isoformat()


def warning_payload(
    warning_id: str,
    status: str,
    a: ThreatAssessment,
    t_s: float,
    *,
    epoch_utc: dt.datetime,
    confidence: float,
    reason: str,
    exercise: bool,
    track_ids: Sequence[str] | None = None,
) -> MissileWarningPayload:
    """The ``missile.warning`` payload of an assessment (``status`` issue/update/cancel)."""
    imp = a.impact or NO_IMPACT
    impact_t = imp.t_s if math.isfinite(imp.t_s) else t_s
    launch = a.launch
    return MissileWarningPayload(
        warning_id=warning_id,
        status=status,  # type: ignore[arg-type]
        time=_iso(epoch_utc, t_s),
        track_ids=list(track_ids if track_ids is not None else sorted(a.national_ids)),
        nations=sorted(set(a.nations)),
        impact_lat=round(imp.lat_deg, 6),
        impact_lon=round(imp.lon_deg, 6),
        ellipse_semi_major_m=round(imp.semi_major_m, 1),
        ellipse_semi_minor_m=round(min(imp.semi_minor_m, imp.semi_major_m), 1),
        ellipse_orientation_deg=round(imp.major_azimuth_deg, 2),
        impact_time=_iso(epoch_utc, impact_t),
        time_to_impact_s=round(max(impact_t - t_s, 0.0), 1),
        p_impact_in_japan_eez=round(a.p_impact_in_japan_eez, 4),
        p_overflies_japan=round(a.p_overflies_japan, 4),
        launch_lat=None if launch is None else round(launch.lat_deg, 5),
        launch_lon=None if launch is None else round(launch.lon_deg, 5),
        launch_time=None if launch is None else _iso(epoch_utc, launch.t_s),
        missile_class=a.missile_class,  # type: ignore[arg-type]
        lofted=a.lofted,
        apogee_km=None if a.apogee_km is None else round(a.apogee_km, 1),
        confidence=confidence,
        reason=reason,
        exercise=exercise,
    )
