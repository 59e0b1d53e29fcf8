"""Payload schemas of the `trilink.sanctions` report kinds.

``sanctions.hit``          a vessel seen at sea (in a maritime event, in AIS static data or in
                           a screening run) matched a sanctioned vessel; high priority.
``sanctions.list-change``  a newer sanctions list was put in force; what changed.
"""

from __future__ import annotations

from typing import Any

import msgspec

from trilink.model.kindspec import KindSpec, Point, Property, Shape, Symbol


class ListVersion(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which edition of a list a finding rests on (for a defensible decision)."""

    list_id: str  # OFAC-SDN, UN-1718, UN-CONSOLIDATED, OFAC-NON-SDN, JP-MOF, JP-METI-EUL, ...
    published: str | None = None  # YYYY-MM-DD
    sha256: str = ""


class SeenVessel(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The vessel as observed (AIS static data, a report, an analyst)."""

    name: str = ""
    imo: str = ""
    mmsi: str = ""
    call_sign: str = ""
    flag: str = ""


class Evidence(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    field: str  # imo, mmsi, call_sign, name, flag
    rule: str
    score: float
    detail: str


class ListedVessel(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The designated vessel it matched."""

    list_id: str
    entry_id: str
    name: str
    imo: str | None = None
    aliases: list[str] = []
    flags: list[str] = []
    programmes: list[str] = []
    measures: list[str] = []
    linked_parties: list[str] = []  # owners/operators named by the lists
    also_listed: list[str] = []  # the same vessel on other lists (uids)


class VesselHit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    role: str  # "subject", "other", "before", "after" (identity change), "screened"
    seen: SeenVessel
    listed: ListedVessel
    matched_name: str
    score: float  # 0-100
    rule: str  # deciding rule, e.g. imo-exact, name-romanisation
    reason: str  # one-line explanation
    evidence: list[Evidence]


class SeenEntity(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A person, organisation (supplier, end user) or vessel as screened."""

    name: str = ""
    country: str = ""
    type: str = ""  # Person, Organization, Vessel or "" (any)
    identifier: str = ""


class ListedEntity(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The listed entity a screened party matched, as the list gives it."""

    list_id: str  # OFAC-SDN, UN-CONSOLIDATED, JP-MOF, JP-METI-EUL (export control), ...
    entry_id: str
    schema: str  # Person, Organization, Vessel
    name: str
    names: list[str] = []  # other names, every script (first 20)
    identifiers: list[str] = []  # "kind:value", e.g. "imo_company:1790183"
    countries: list[str] = []
    programmes: list[str] = []
    listed_on: list[str] = []
    linked: list[str] = []  # linked parties or vessels ("imo:8606173")


class EntityHit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    role: str = "screened"
    seen: SeenEntity
    listed: ListedEntity
    matched_name: str
    score: float  # 0-100
    rule: str  # deciding rule, e.g. identifier-exact, name-romanised
    reason: str  # which fields, which list and entry, which rule
    evidence: list[Evidence]
    export_control: bool = False  # the list is an export-control list (METI End User List)


class SanctionsHitPayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A sanctioned vessel found in the maritime picture (or in a screening run), or a
    screened person/organisation matching a listed one (``entities``)."""

    priority: str = "high"
    summary: str
    source: str  # encounter, port_visit, identity_change, ais_static, screening
    event_id: str | None = None
    event_start: str | None = None  # UTC ISO 8601 ...Z
    event_end: str | None = None
    lat: float | None = None
    lon: float | None = None
    event: dict[str, Any] = {}  # the maritime event as received (finite numbers only)
    hits: list[VesselHit] = []
    lists: list[ListVersion] = []
    entities: list[EntityHit] = []


class ListChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    change: str  # added, removed, renamed, changed
    key: str  # "IMO 1234567" or "entry 123"
    name: str
    old_name: str | None = None
    details: str = ""


class SanctionsListChangePayload(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """A newer list put in force on this node, and how it differs from the previous one."""

    list_id: str
    old_published: str | None = None
    new_published: str | None = None
    sha256: str
    old_vessels: int
    new_vessels: int
    added: int
    removed: int
    renamed: int
    changed: int
    changes: list[ListChange]
    old_entries: int = 0  # persons and organisations before / after (vessels above)
    new_entries: int = 0


SANCTIONED_VESSEL = Symbol("S", "X", "vessel matching a sanctions list")


def _hit_shapes(h: SanctionsHitPayload) -> list[Shape]:
    return [Point(lon=h.lon, lat=h.lat)] if h.lat is not None and h.lon is not None else []


def _digits(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 15 else None


def _hit_properties(h: SanctionsHitPayload) -> dict[str, Property]:
    if not h.hits and h.entities:
        e = h.entities[0]
        return {
            "priority": h.priority,
            "source": h.source,
            "name": e.seen.name or None,
            "listed_name": e.listed.name,
            "list_id": e.listed.list_id,
            "score": max(x.score for x in h.entities),
        }
    first = h.hits[0] if h.hits else None
    imo = (first.seen.imo or first.listed.imo or "") if first else ""
    return {
        "priority": h.priority,
        "source": h.source,
        "event_id": h.event_id,
        "start": h.event_start,
        "end": h.event_end,
        "mmsi": _digits(first.seen.mmsi) if first else None,
        "imo": imo or None,
        "name": first.seen.name or None if first else None,
        "listed_name": first.listed.name if first else None,
        "list_id": first.listed.list_id if first else None,
        "score": max((hit.score for hit in h.hits), default=None),
    }


def _list_change_title(c: SanctionsListChangePayload) -> str:
    return f"{c.list_id} list change: +{c.added} -{c.removed} ~{c.renamed + c.changed}"


KINDS: tuple[KindSpec[SanctionsHitPayload] | KindSpec[SanctionsListChangePayload], ...] = (
    KindSpec(
        kind="sanctions.hit",
        payload=SanctionsHitPayload,
        title=lambda h: h.summary.strip() or "sanctions hit",
        shapes=_hit_shapes,
        panel=("priority", "summary", "source", "event_start", "event_end", "event_id"),
        properties=_hit_properties,
        observed=lambda h: h.event_start,
        until=lambda h: h.event_end,
        affiliation=lambda h: "suspect",
        symbol=lambda h: SANCTIONED_VESSEL,
        how=lambda h: "m-g",
        stale_s=6 * 3600.0,
        folder="Sanctions hits",
    ),
    KindSpec(
        kind="sanctions.list-change",
        payload=SanctionsListChangePayload,
        title=_list_change_title,
        panel=(
            "list_id",
            "old_published",
            "new_published",
            "added",
            "removed",
            "renamed",
            "changed",
        ),
        folder="Sanctions lists",
    ),
)
