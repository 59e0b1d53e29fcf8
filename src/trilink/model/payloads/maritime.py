"""Payload schemas of the `trilink.maritime` report kinds.

``maritime.event``: one detected vessel event (encounter, loitering, AIS gap, port visit,
zone incursion, foreign fishing, dark vessel, identity change), as written to events.csv.
"""

from __future__ import annotations

from typing import Literal

import msgspec

EventType = Literal[
    "encounter",
    "loitering",
    "gap",
    "port_visit",
    "incursion",
    "foreign_fishing",
    "dark_vessel",
    "identity_change",
]
DetailValue = str | int | float | bool | None


class MaritimeEventPayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A vessel event. Times are ISO-8601 UTC; positions WGS-84 degrees (None if unknown)."""

    type: EventType
    start: str
    end: str
    mmsi: int | None = None
    other_mmsi: int | None = None
    lat: float | None = None
    lon: float | None = None
    name: str | None = None
    flag: str | None = None
    other_name: str | None = None
    duration_h: float = 0.0
    details: dict[str, DetailValue] = {}


KINDS: dict[str, type[msgspec.Struct]] = {"maritime.event": MaritimeEventPayload}
