"""Payload schemas of the `trilink.maritime` report kinds.

``maritime.event``: one detected vessel event (encounter, loitering, AIS gap, port visit,
zone incursion, foreign fishing, dark vessel, identity change), as written to events.csv.
``maritime.track``: one vessel's recent cleaned track and identity, for the common picture;
a newer track of the same vessel is published as a new version of the same report.
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


class MaritimeTrackPayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A vessel's track: ``track`` is [[lon, lat], ...] oldest first; ``lat``/``lon`` the
    newest position (at ``end``)."""

    mmsi: int
    start: str
    end: str
    lat: float
    lon: float
    track: list[tuple[float, float]]
    positions_total: int
    name: str | None = None
    imo: str | None = None
    callsign: str | None = None
    flag: str | None = None
    ship_type: int | None = None
    sog_kn: float | None = None
    cog_deg: float | None = None
    source: str = ""


KINDS: dict[str, type[msgspec.Struct]] = {
    "maritime.event": MaritimeEventPayload,
    "maritime.track": MaritimeTrackPayload,
}
