"""Payload schemas of the `trilink.sanctions` report kinds.

``sanctions.hit``          a vessel seen at sea (in a maritime event, in AIS static data or in
                           a screening run) matched a sanctioned vessel, or a screened person
                           or organisation matched a listed one; high priority.
``exportcontrol.hit``      a registered supplier, end user or transaction party matched an
                           export-control list (Japan METI's End User List); high priority.
``sanctions.list-change``  a newer sanctions list was put in force; what changed.
``sanctions.party``        a supplier, end user or transaction a nation registered in its
                           supply-chain register: screened on registration and again
                           whenever a list changes.
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
    # which list, edition, entry and rule, in one line a reader can check (the COP panel)
    explanation: str = ""


class PartyPayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A supplier, end user or transaction party in a nation's supply-chain register."""

    role: str  # supplier, end-user, transaction, consignee, manufacturer, customer
    name: str
    type: str = "Organization"  # Person, Organization or Vessel
    country: str = ""
    identifier: str = ""  # registration number, company IMO, passport, SWIFT/BIC ...
    goods: str = ""  # goods description
    hs_code: str = ""  # Harmonized System code, e.g. 8542.31
    reference: str = ""  # the registering nation's own reference (contract, licence, ...)


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


def _list_version(h: SanctionsHitPayload, list_id: str | None) -> str | None:
    """``JP-METI-EUL 2025-09-29`` of the list the hit rests on."""
    for v in h.lists:
        if v.list_id == list_id:
            return f"{v.list_id} {v.published or 'undated'} sha256:{v.sha256[:12]}"
    return None


def _hit_properties(h: SanctionsHitPayload) -> dict[str, Property]:
    if not h.hits and h.entities:
        e = h.entities[0]
        return {
            "priority": h.priority,
            "source": h.source,
            "name": e.seen.name or None,
            "listed_name": e.listed.name,
            "list_id": e.listed.list_id,
            "list_version": _list_version(h, e.listed.list_id),
            "entry_id": e.listed.entry_id,
            "rule": e.rule,
            "score": max(x.score for x in h.entities),
            "explanation": h.explanation or e.reason,
        }
    first = h.hits[0] if h.hits else None
    imo = (first.seen.imo or first.listed.imo or "") if first else ""
    return {
        "list_version": _list_version(h, first.listed.list_id) if first else None,
        "rule": first.rule if first else None,
        "entry_id": first.listed.entry_id if first else None,
        "explanation": h.explanation or (first.reason if first else None),
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


def _party_title(p: PartyPayload) -> str:
    where = f" ({p.country})" if p.country else ""
    goods = f": {p.hs_code or ''} {p.goods}".rstrip() if p.goods or p.hs_code else ""
    return f"{p.role} {p.name}{where}{goods}"[:200]


def _party_properties(p: PartyPayload) -> dict[str, Property]:
    return {"role": p.role, "name": p.name, "country": p.country or None,
            "hs_code": p.hs_code or None, "reference": p.reference or None}  # fmt: skip


KINDS: tuple[
    KindSpec[SanctionsHitPayload] | KindSpec[SanctionsListChangePayload] | KindSpec[PartyPayload],
    ...,
] = (
    KindSpec(
        kind="sanctions.hit",
        payload=SanctionsHitPayload,
        title=lambda h: h.summary.strip() or "sanctions hit",
        shapes=_hit_shapes,
        panel=(
            "priority",
            "summary",
            "explanation",
            "source",
            "event_start",
            "event_end",
            "event_id",
        ),  # fmt: skip
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
        kind="exportcontrol.hit",
        payload=SanctionsHitPayload,
        title=lambda h: h.summary.strip() or "export-control hit",
        panel=("priority", "summary", "explanation", "source"),
        properties=_hit_properties,
        affiliation=lambda h: "suspect",
        stale_s=30 * 86400.0,
        folder="Export-control hits",
    ),
    KindSpec(
        kind="sanctions.party",
        payload=PartyPayload,
        title=_party_title,
        panel=("role", "name", "type", "country", "identifier", "goods", "hs_code", "reference"),
        properties=_party_properties,
        stale_s=365 * 86400.0,
        folder="Supply-chain register",
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
