"""Payload schemas and registrations of the `trilink.maritime` report kinds.

``maritime.event``: one detected vessel event (encounter, loitering, AIS gap, port visit,
zone incursion, foreign fishing, dark vessel, identity change), as written to events.csv.
``maritime.track``: one vessel's recent cleaned track and identity, for the common picture;
a newer track of the same vessel is published as a new version of the same report.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from trilink.model.kindspec import (
    Affiliation,
    How,
    KindSpec,
    Line,
    Point,
    Property,
    Shape,
    Symbol,
)

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
KNOT_MPS = 1852.0 / 3600.0


class MaritimeEventPayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A vessel event. Times are ISO-8601 UTC; positions WGS-84 degrees (None if unknown)."""

    type: EventType
    start: str
    end: str
    mmsi: int | None = None
    other_mmsi: int | None = None
    imo: str | None = None
    lat: float | None = None
    lon: float | None = None
    name: str | None = None
    flag: str | None = None
    other_name: str | None = None
    duration_h: float = 0.0
    details: dict[str, DetailValue] = {}


class MaritimeTrackPayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A vessel's track: ``track`` is [[lon, lat], ...] oldest first; ``lat``/``lon`` the
    newest position (at ``end``). ``affiliation``: the analyst's or the node's identification
    (unknown when not given)."""

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
    affiliation: Affiliation | None = None


def vessel_symbol(ship_type: int | None) -> Symbol:
    """The 2525 sea-surface symbol of an AIS ship type (ITU-R M.1371 type codes)."""
    if ship_type is None:
        return Symbol("S", "", "surface vessel")
    if ship_type == 30:
        return Symbol("S", "XF", "fishing vessel")
    if ship_type in (36, 37):
        return Symbol("S", "XR", "leisure craft")
    if ship_type == 55:
        return Symbol("S", "XL", "law enforcement vessel")
    if 60 <= ship_type <= 69:
        return Symbol("S", "XMP", "passenger ship")
    if 70 <= ship_type <= 79:
        return Symbol("S", "XMC", "cargo ship")
    if 80 <= ship_type <= 89:
        return Symbol("S", "XMO", "tanker")
    if ship_type == 35:  # military operations: a warship we cannot classify further
        return Symbol("S", "", "military vessel")
    return Symbol("S", "X", "merchant or civil vessel")


def _event_title(p: MaritimeEventPayload) -> str:
    who = p.name or (str(p.mmsi) if p.mmsi is not None else "")
    return f"{p.type.replace('_', ' ')} {who}".strip()


def _event_shapes(p: MaritimeEventPayload) -> list[Shape]:
    return [Point(lon=p.lon, lat=p.lat)] if p.lat is not None and p.lon is not None else []


def _event_properties(p: MaritimeEventPayload) -> dict[str, Property]:
    imo = p.imo if p.imo is not None else p.details.get("imo")
    return {
        "event_type": p.type,
        "mmsi": p.mmsi,
        "imo": str(imo) if imo not in (None, "") else None,
        "other_mmsi": p.other_mmsi,
        "name": p.name,
        "flag": p.flag,
        "start": p.start,
        "end": p.end,
        "duration_h": p.duration_h,
    }


def _event_symbol(p: MaritimeEventPayload) -> Symbol | None:
    # a dark vessel is a contact seen by radar or SAR without AIS; other events are places
    return Symbol("S", "", "surface contact") if p.type == "dark_vessel" else None


def _event_how(p: MaritimeEventPayload) -> How:
    return "m-i" if p.type == "dark_vessel" else "m-g"  # SAR imagery, else AIS (GPS) positions


def _track_shapes(p: MaritimeTrackPayload) -> list[Shape]:
    shapes: list[Shape] = [Point(lon=p.lon, lat=p.lat)]
    if len(p.track) >= 2:
        shapes.append(Line(coords=p.track, role="track"))
    return shapes


def _track_properties(p: MaritimeTrackPayload) -> dict[str, Property]:
    return {
        "track_id": str(p.mmsi),
        "mmsi": p.mmsi,
        "imo": p.imo,
        "name": p.name,
        "callsign": p.callsign,
        "flag": p.flag,
        "ship_type": p.ship_type,
        "sog_kn": p.sog_kn,
        "cog_deg": p.cog_deg,
        "start": p.start,
        "end": p.end,
    }


def _track_motion(p: MaritimeTrackPayload) -> tuple[float, float] | None:
    if p.sog_kn is None or p.cog_deg is None:
        return None
    return (p.cog_deg % 360.0, p.sog_kn * KNOT_MPS)


KINDS: tuple[KindSpec[MaritimeEventPayload] | KindSpec[MaritimeTrackPayload], ...] = (
    KindSpec(
        kind="maritime.event",
        payload=MaritimeEventPayload,
        title=_event_title,
        shapes=_event_shapes,
        panel=(
            "type",
            "start",
            "end",
            "mmsi",
            "imo",
            "name",
            "flag",
            "other_mmsi",
            "other_name",
            "duration_h",
        ),
        properties=_event_properties,
        observed=lambda p: p.start,
        until=lambda p: p.end,
        symbol=_event_symbol,
        how=_event_how,
        stale_s=3600.0,
        folder="Maritime events",
    ),
    KindSpec(
        kind="maritime.track",
        payload=MaritimeTrackPayload,
        # anonymised AIS (the demo's Suez data) has small MMSIs and no names
        title=lambda p: f"{p.name or 'vessel'} track, MMSI {p.mmsi}",
        shapes=_track_shapes,
        panel=(
            "mmsi",
            "imo",
            "name",
            "callsign",
            "flag",
            "ship_type",
            "sog_kn",
            "cog_deg",
            "start",
            "end",
            "positions_total",
            "source",
        ),
        properties=_track_properties,
        observed=lambda p: p.end,
        track=lambda p: str(p.mmsi),
        is_track=True,
        affiliation=lambda p: p.affiliation or "unknown",
        symbol=lambda p: vessel_symbol(p.ship_type),
        how=lambda p: "m-g",
        motion=_track_motion,
        stale_s=900.0,  # AIS class A reports every few seconds to 3 minutes
        folder="Vessel tracks",
    ),
)
