"""Query filters of the COP API (``/api/reports``, ``/api/export.*``): parsed strictly.

A watch officer's typo (``kinds=``, ``since=yesterday``) must give a clear 422 saying what
was wrong and what is accepted, never a silently unfiltered picture.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from trilink.errors import InputError
from trilink.model.label import Classification

_KIND_RE = re.compile(r"^[a-z][a-z0-9]*(\.[a-z0-9-]+)*$")
_AGO_RE = re.compile(r"^(\d{1,5})([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
EXERCISE_CHOICES = ("all", "live", "exercise")
MAX_LIMIT = 50_000
ALLOWED = (
    "kind",
    "origin",
    "classification",
    "label",
    "exercise",
    "since",
    "until",
    "bbox",
    "limit",
)


class FilterError(InputError):
    """A malformed COP filter parameter (answered with HTTP 422)."""


@dataclass(frozen=True)
class Filters:
    kinds: frozenset[str] | None = None
    origins: frozenset[str] | None = None
    classifications: frozenset[Classification] | None = None
    label_contains: str | None = None
    exercise: str = "all"
    since: datetime | None = None
    until: datetime | None = None
    bbox: tuple[float, float, float, float] | None = None
    limit: int = 20_000


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def parse_since(value: str, now: datetime | None = None, field: str = "since") -> datetime:
    text = value.strip()
    ago = _AGO_RE.match(text)
    if ago:
        moment = now or datetime.now(UTC)
        return moment - timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    try:
        parsed: datetime | None = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise FilterError(
            f"{value[:80]!r} is not a UTC time; give e.g. 2026-11-23T06:00:00Z, or an age such "
            "as 90m, 6h or 2d",
            field=field,
        )
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        raise FilterError(
            f"{value[:80]!r} is outside the years 1 to 9999 once converted to UTC; "
            "give a time such as 2026-11-23T06:00:00Z",
            field=field,
        ) from None


def parse_bbox(value: str) -> tuple[float, float, float, float]:
    parts = value.split(",")
    try:
        lon0, lat0, lon1, lat1 = (float(p) for p in parts)
    except ValueError:
        raise FilterError(
            f"{value!r} is not four numbers lon0,lat0,lon1,lat1 (e.g. 120,25,140,45)",
            field="bbox",
        ) from None
    if not all(-180 <= x <= 180 for x in (lon0, lon1)) or not all(
        -90 <= y <= 90 for y in (lat0, lat1)
    ):
        raise FilterError(
            f"{value!r}: longitudes must be in -180..180 and latitudes in -90..90", field="bbox"
        )
    if lon0 > lon1 or lat0 > lat1:
        raise FilterError(
            f"{value!r}: give the south-west corner first (lon0 <= lon1, lat0 <= lat1)",
            field="bbox",
        )
    return (lon0, lat0, lon1, lat1)


def parse_filters(
    params: Mapping[str, str],
    *,
    nations: frozenset[str],
    known_kinds: list[str],
    now: datetime | None = None,
) -> Filters:
    """Filters from query parameters; raises ``FilterError`` naming the bad parameter."""
    unknown = sorted(set(params) - set(ALLOWED))
    if unknown:
        raise FilterError(
            f"unknown parameter {unknown[0]!r}; accepted: {', '.join(ALLOWED)}", field=unknown[0]
        )
    kinds = origins = None
    classes = None
    if "kind" in params:
        kinds_list = _csv(params["kind"])
        for kind in kinds_list:
            if not _KIND_RE.match(kind) or kind not in known_kinds:
                raise FilterError(
                    f"unknown report kind {kind!r}; known kinds: {', '.join(known_kinds)}",
                    field="kind",
                )
        kinds = frozenset(kinds_list)
    if "origin" in params:
        origin_list = [o.upper() for o in _csv(params["origin"])]
        for origin in origin_list:
            if origin not in nations:
                raise FilterError(
                    f"unknown origin nation {origin!r}; known: {', '.join(sorted(nations))}",
                    field="origin",
                )
        origins = frozenset(origin_list)
    if "classification" in params:
        try:
            classes = frozenset(
                Classification.from_text(c) for c in _csv(params["classification"])
            )
        except Exception as err:  # LabelError names the bad word and the valid ones
            raise FilterError(str(err), field="classification") from None
    label = params.get("label")
    if label is not None and len(label) > 200:
        raise FilterError("label filter longer than 200 characters", field="label")
    exercise = params.get("exercise", "all").strip().lower()
    if exercise not in EXERCISE_CHOICES:
        raise FilterError(
            f"{params['exercise']!r} is not one of {', '.join(EXERCISE_CHOICES)}", field="exercise"
        )
    since = parse_since(params["since"], now) if "since" in params else None
    until = parse_since(params["until"], now, "until") if "until" in params else None
    bbox = parse_bbox(params["bbox"]) if "bbox" in params else None
    limit = 20_000
    if "limit" in params:
        text = params["limit"].strip()
        # isdigit() alone accepts '²' and other digits int() refuses
        digits = text.isascii() and text.isdigit() and len(text) <= len(str(MAX_LIMIT))
        if not digits or not 1 <= int(text) <= MAX_LIMIT:
            raise FilterError(
                f"limit {params['limit'][:40]!r} is not a whole number from 1 to {MAX_LIMIT} "
                "(digits 0-9)",
                field="limit",
            )
        limit = int(text)
    return Filters(
        kinds=kinds,
        origins=origins,
        classifications=classes,
        label_contains=label.strip().upper() if label and label.strip() else None,
        exercise=exercise,
        since=since,
        until=until,
        bbox=bbox,
        limit=limit,
    )
