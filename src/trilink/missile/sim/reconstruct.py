"""Reconstruction of real launches from the public test record (nk-missile-tests / CNS-NTI).

Validation end of the simulator: each record with a numeric apogee and ground range and a known
launch facility is rebuilt with ``shaping.solve_launch`` (impact point = launch point moved by
the range along the recorded bearing), then compared with the flight time that the record's
narrative quotes (Japan MOD or KCNA figures), when it quotes one.

Reads three files of the dataset: ``test.en.json``, ``facility.en.json``, ``missile.en.json``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyproj import Geod

from trilink.errors import TrilinkError
from trilink.missile.errors import SiteDataError
from trilink.missile.sim.estimates import estimate
from trilink.missile.sim.shaping import solve_launch
from trilink.missile.sim.trajectory import ModelOptions

GEOD = Geod(ellps="WGS84")
PLACEHOLDER_BEARING_DEG = 90

_FLIGHT_TIME_RE = re.compile(
    r"(?:flew for|flight time of|in the air (?:a total of|for)|flying for|flight of)\s+"
    r"(?:about |approximately |nearly |around |roughly |some )?"
    r"(\d+(?:\.\d+)?)\s+(minutes|seconds)",
    re.IGNORECASE,
)
_SECOND_FLIGHT_RE = re.compile(r"(\d{3,5})[- ]second flight", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class LaunchRecord:
    """One usable record of the test database."""

    index: int
    """Position in the file (year bin order, then record order), for tracing back."""
    date: str
    time_utc: str
    missile_key: str
    missile_name: str
    missile_type: str
    maneuver: str | None
    facility: str
    launch_lat_deg: float
    launch_lon_deg: float
    apogee_km: float
    distance_km: float
    bearing_deg: float
    outcome: str
    landing: str
    reported_flight_time_s: float | None
    reported_flight_time_text: str | None

    @property
    def bearing_is_placeholder(self) -> bool:
        return round(self.bearing_deg) == PLACEHOLDER_BEARING_DEG

    def impact_lat_lon(self) -> tuple[float, float]:
        lon, lat, _ = GEOD.fwd(
            self.launch_lon_deg, self.launch_lat_deg, self.bearing_deg, self.distance_km * 1e3
        )
        return float(lat), float(lon)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def reported_flight_time(description: str) -> tuple[float | None, str | None]:
    """First flight time quoted in a record's narrative (seconds) and the quoted words."""
    m = _FLIGHT_TIME_RE.search(description)
    if m:
        value = float(m.group(1))
        return (value * 60.0 if m.group(2).lower().startswith("minute") else value), m.group(0)
    m = _SECOND_FLIGHT_RE.search(description)
    if m:
        return float(m.group(1)), m.group(0)
    return None, None


@dataclass(frozen=True, slots=True)
class LoadSummary:
    records: list[LaunchRecord]
    total: int
    skipped: dict[str, int]


def load_records(folder: Path) -> LoadSummary:
    """Records with numeric apogee and distance and a known launch facility.

    Skips (and counts by reason) the rest: missing apogee or distance, facility ``unknown``
    (the dataset puts it at Pyongyang), facility without coordinates.
    """

    def read(name: str) -> Any:
        path = folder / name
        try:
            return json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            raise SiteDataError(
                "file not found (expected the nk-missile-tests data folder)", path=str(path)
            ) from None
        except json.JSONDecodeError as err:
            raise SiteDataError(f"not JSON: {err.msg}", path=str(path), line=err.lineno) from None

    tests = read("test.en.json")
    facilities = read("facility.en.json")
    facilities = facilities.get("facilities", facilities)
    missiles = read("missile.en.json")
    missiles = missiles.get("missiles", missiles)
    skipped: dict[str, int] = {}
    records: list[LaunchRecord] = []
    total = 0
    for year_bin in tests.get("timeBins", []):
        for rec in year_bin.get("data", []):
            total += 1
            apogee = _number(rec.get("apogee"))
            distance = _number(rec.get("distance"))
            fac_key = rec.get("facility", "unknown")
            fac = facilities.get(fac_key)
            reason = None
            if apogee is None or apogee <= 0:
                reason = "no numeric apogee"
            elif distance is None or distance <= 0:
                reason = "no numeric distance"
            elif fac_key == "unknown" or fac is None:
                reason = "launch facility unknown"
            elif _number(fac.get("lat")) is None or _number(fac.get("lon")) is None:
                reason = "facility without coordinates"
            if reason is not None:
                skipped[reason] = skipped.get(reason, 0) + 1
                continue
            assert apogee is not None and distance is not None and fac is not None
            m = missiles.get(rec.get("missile", ""), {})
            ft, ft_text = reported_flight_time(str(rec.get("description", "")))
            records.append(
                LaunchRecord(
                    index=total - 1,
                    date=str(rec.get("date", "")),
                    time_utc=str(rec.get("time", "unknown")),
                    missile_key=str(rec.get("missile", "")),
                    missile_name=str(m.get("name", rec.get("missile", ""))),
                    missile_type=str(m.get("type", "Unknown")),
                    maneuver=m.get("maneuver"),
                    facility=str(fac.get("name", fac_key)),
                    launch_lat_deg=float(fac["lat"]),
                    launch_lon_deg=float(fac["lon"]),
                    apogee_km=apogee,
                    distance_km=distance,
                    bearing_deg=float(_number(rec.get("bearing")) or PLACEHOLDER_BEARING_DEG),
                    outcome=str(rec.get("outcome", "unknown")),
                    landing=str(rec.get("landing", "unknown")),
                    reported_flight_time_s=ft,
                    reported_flight_time_text=ft_text,
                )
            )
    return LoadSummary(records, total, skipped)


@dataclass(frozen=True, slots=True)
class Reconstruction:
    """Result of rebuilding one record."""

    record: LaunchRecord
    ok: bool
    flight_time_s: float | None = None
    burnout_s: float | None = None
    max_range_km: float | None = None
    missile_class: str | None = None
    shape: str | None = None
    vehicle: str | None = None
    impact_in_japan_eez: bool | None = None
    overflies_japan: bool | None = None
    error: str | None = None

    @property
    def flight_time_ratio(self) -> float | None:
        rep = self.record.reported_flight_time_s
        if self.flight_time_s is None or rep is None or rep <= 0:
            return None
        return self.flight_time_s / rep


def reconstruct(
    record: LaunchRecord,
    *,
    options: ModelOptions | None = None,
    japan_eez: Any = None,
    japan_territory: Any = None,
) -> Reconstruction:
    """Rebuild one record; an infeasible geometry becomes ``ok=False`` with the reason."""
    try:
        shot = solve_launch(
            (record.launch_lat_deg, record.launch_lon_deg),
            record.impact_lat_lon(),
            record.apogee_km,
            options=options,
        )
    except TrilinkError as err:
        return Reconstruction(record, ok=False, error=str(err))
    est = estimate(shot.trajectory, japan_eez=japan_eez, japan_territory=japan_territory)
    return Reconstruction(
        record,
        ok=True,
        flight_time_s=est.flight_time_s,
        burnout_s=est.burnout_t_s,
        max_range_km=est.max_range_km,
        missile_class=est.missile_class,
        shape=est.shape,
        vehicle=shot.vehicle.name,
        impact_in_japan_eez=est.impact_in_japan_eez,
        overflies_japan=est.overflies_japan,
    )


def reconstruct_all(
    records: Iterable[LaunchRecord],
    *,
    progress: Callable[[LaunchRecord], None] | None = None,
    **kwargs: Any,
) -> list[Reconstruction]:
    """Rebuild many records (``progress`` is called before each)."""
    out: list[Reconstruction] = []
    for rec in records:
        if progress is not None:
            progress(rec)
        out.append(reconstruct(rec, **kwargs))
    return out


def as_row(r: Reconstruction) -> dict[str, Any]:
    """Flat dict (CSV/JSON row) of a reconstruction."""
    rec = r.record

    def rnd(x: float | None, nd: int = 1) -> float | None:
        return None if x is None else round(x, nd)

    return {
        "date": rec.date,
        "time_utc": rec.time_utc,
        "missile": rec.missile_name,
        "type": rec.missile_type,
        "maneuver": rec.maneuver or "",
        "facility": rec.facility,
        "apogee_km": rec.apogee_km,
        "distance_km": rec.distance_km,
        "bearing_deg": rec.bearing_deg,
        "bearing_placeholder": rec.bearing_is_placeholder,
        "outcome": rec.outcome,
        "ok": r.ok,
        "flight_time_s": rnd(r.flight_time_s),
        "reported_flight_time_s": rnd(rec.reported_flight_time_s),
        "flight_time_ratio": rnd(r.flight_time_ratio, 3),
        "burnout_s": rnd(r.burnout_s),
        "max_range_km": rnd(r.max_range_km, 0),
        "class": r.missile_class or "",
        "shape": r.shape or "",
        "vehicle": r.vehicle or "",
        "impact_in_japan_eez": r.impact_in_japan_eez,
        "overflies_japan": r.overflies_japan,
        "error": r.error or "",
    }
