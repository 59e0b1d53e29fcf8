"""Payload schemas of the `trilink.sanctions` report kinds.

``sanctions.hit``          a vessel seen at sea (in a maritime event, in AIS static data or in
                           a screening run) matched a sanctioned vessel; high priority.
``sanctions.list-change``  a newer sanctions list was put in force; what changed.
"""

from __future__ import annotations

from typing import Any

import msgspec


class ListVersion(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which edition of a list a finding rests on (for a defensible decision)."""

    list_id: str  # OFAC-SDN, UN-1718, UN-CONSOLIDATED
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


class SanctionsHitPayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A sanctioned vessel found in the maritime picture (or in a screening run)."""

    priority: str = "high"
    summary: str
    source: str  # encounter, port_visit, identity_change, ais_static, screening
    event_id: str | None = None
    event_start: str | None = None  # UTC ISO 8601 ...Z
    event_end: str | None = None
    lat: float | None = None
    lon: float | None = None
    event: dict[str, Any] = {}  # the maritime event as received (finite numbers only)
    hits: list[VesselHit]
    lists: list[ListVersion] = []


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


KINDS: dict[str, type[msgspec.Struct]] = {
    "sanctions.hit": SanctionsHitPayload,
    "sanctions.list-change": SanctionsListChangePayload,
}
