"""The set of lists in force, and what changed between two versions of a list.

Sits between the parsers and the screener: combines OFAC, UN 1718 and the UN consolidated
list into one vessel set with owner/operator links, reports cross-list anomalies (one MMSI
on several ships), and computes the diff an update shows (added, removed, renamed vessels).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import cached_property

import msgspec

from trilink.sanctions.entities import ORGANIZATION, VESSEL, entities_of
from trilink.sanctions.normalize import name_key
from trilink.sanctions.records import (
    UN_CONSOLIDATED,
    Anomaly,
    Entity,
    PartyRecord,
    SanctionsList,
    VesselRecord,
)
from trilink.sanctions.unxml import link_parties_to_vessels


class VesselChange(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a list diff."""

    change: str  # added, removed, renamed, changed
    list_id: str
    key: str  # IMO when known, else the entry id
    name: str
    old_name: str | None = None
    details: str = ""


class ListDiff(msgspec.Struct, frozen=True, kw_only=True):
    list_id: str
    old_published: str | None
    new_published: str | None
    old_vessels: int
    new_vessels: int
    changes: tuple[VesselChange, ...]
    old_entries: int = 0  # persons and organisations (vessels are counted above)
    new_entries: int = 0

    def count(self, change: str) -> int:
        return sum(1 for c in self.changes if c.change == change)


def _vessel_key(v: VesselRecord) -> str:
    return f"IMO {v.imo}" if v.imo else f"entry {v.entry_id}"


def diff_lists(old: SanctionsList | None, new: SanctionsList) -> ListDiff:
    """Vessels added, removed, renamed (same IMO, other name) or otherwise changed, and
    persons and organisations added, removed, renamed or changed (names, identifiers,
    programmes, countries), keyed by type and entry id."""
    before = {_vessel_key(v): v for v in (old.vessels if old else ())}
    after = {_vessel_key(v): v for v in new.vessels}
    changes: list[VesselChange] = []
    for key, v in after.items():
        prev = before.get(key)
        if prev is None:
            changes.append(VesselChange(change="added", list_id=new.list_id, key=key, name=v.name))
            continue
        if name_key(prev.name).text != name_key(v.name).text:
            changes.append(
                VesselChange(
                    change="renamed",
                    list_id=new.list_id,
                    key=key,
                    name=v.name,
                    old_name=prev.name,
                )  # fmt: skip
            )
        diffs = [
            f"{field}: {'/'.join(getattr(prev, field)) or '-'} -> "
            f"{'/'.join(getattr(v, field)) or '-'}"
            for field in ("mmsis", "call_signs", "flags", "aliases", "former_names", "programmes")
            if set(getattr(prev, field)) != set(getattr(v, field))
        ]
        if diffs:
            changes.append(
                VesselChange(
                    change="changed",
                    list_id=new.list_id,
                    key=key,
                    name=v.name,
                    details="; ".join(diffs),
                )  # fmt: skip
            )
    for key, v in before.items():
        if key not in after:
            changes.append(
                VesselChange(change="removed", list_id=new.list_id, key=key, name=v.name)
            )
    old_parties = _parties(old) if old else {}
    new_parties = _parties(new)
    changes += _entity_changes(new.list_id, old_parties, new_parties)
    order = {"added": 0, "removed": 1, "renamed": 2, "changed": 3}
    changes.sort(key=lambda c: (order[c.change], c.name))
    return ListDiff(
        list_id=new.list_id,
        old_published=old.published if old else None,
        new_published=new.published,
        old_vessels=len(old.vessels) if old else 0,
        new_vessels=len(new.vessels),
        changes=tuple(changes),
        old_entries=len(old_parties),
        new_entries=len(new_parties),
    )


def _parties(sl: SanctionsList) -> dict[str, Entity]:
    """Persons and organisations of a list by key (vessels are diffed by IMO above)."""
    return {f"{e.schema} {e.entry_id}": e for e in entities_of(sl) if e.schema != VESSEL}


def _entity_changes(
    list_id: str, before: dict[str, Entity], after: dict[str, Entity]
) -> list[VesselChange]:
    out: list[VesselChange] = []
    for key, e in after.items():
        prev = before.get(key)
        if prev is None:
            out.append(VesselChange(change="added", list_id=list_id, key=key, name=e.name))
            continue
        if prev.name != e.name:
            out.append(VesselChange(change="renamed", list_id=list_id, key=key, name=e.name,
                                    old_name=prev.name))  # fmt: skip
        diffs = []
        for label, get in (
            ("names", lambda x: {n.text for n in x.names}),
            ("identifiers", lambda x: {f"{i.kind}:{i.value}" for i in x.identifiers}),
            ("programmes", lambda x: set(x.programmes)),
            ("countries", lambda x: set(x.countries)),
        ):
            a, b = get(prev), get(e)
            if a != b:
                diffs.append(f"{label}: +{len(b - a)} -{len(a - b)}")
        if diffs:
            out.append(VesselChange(change="changed", list_id=list_id, key=key, name=e.name,
                                    details="; ".join(diffs)))  # fmt: skip
    for key, e in before.items():
        if key not in after:
            out.append(VesselChange(change="removed", list_id=list_id, key=key, name=e.name))
    return out


class ListSet:
    """The lists in force, by list id."""

    def __init__(self, lists: Iterable[SanctionsList]) -> None:
        self.lists: dict[str, SanctionsList] = {sl.list_id: sl for sl in lists}
        self.vessels: list[VesselRecord] = [v for sl in self.lists.values() for v in sl.vessels]
        self._companies: dict[str, list[Entity]] | None = None  # built on first use
        self._by_org_name: dict[str, list[Entity]] = {}
        parties: list[PartyRecord] = []
        for sl in self.lists.values():
            if sl.list_id == UN_CONSOLIDATED:
                parties.extend(link_parties_to_vessels(sl.parties, self.vessels))
            else:
                parties.extend(p for p in sl.parties if p.vessels)
        self.linked_parties = parties
        self._parties_by_vessel: dict[str, list[PartyRecord]] = defaultdict(list)
        by_ref: dict[str, PartyRecord] = {p.entry_id: p for p in parties}
        for p in parties:
            for uid in p.vessels:
                self._parties_by_vessel[uid].append(p)
        for v in self.vessels:
            for ref in v.linked_ids:
                linked = by_ref.get(ref)
                if linked is not None and linked not in self._parties_by_vessel[v.uid]:
                    self._parties_by_vessel[v.uid].append(linked)

    @cached_property
    def entities(self) -> list[Entity]:
        """Every person, organisation and vessel of every list (trilink.sanctions.entities),
        built on first use: vessel screening does not need it."""
        return [e for sl in self.lists.values() for e in entities_of(sl)]

    def companies_of(self, vessel: VesselRecord) -> list[tuple[Entity, str]]:
        """Organisations of any list tied to a vessel, and how: their text names its ship IMO
        (OMM's list of the vessels it operates), or the list names them as its owner or
        linked party. Each with its company IMO where the list gives one."""
        if self._companies is None:
            self._companies = defaultdict(list)
            by_name: dict[str, list[Entity]] = defaultdict(list)
            for e in self.entities:
                if e.schema != ORGANIZATION:
                    continue
                for link in e.linked:
                    if link.startswith("imo:"):
                        self._companies["imo:" + link[4:]].append(e)
                for n in e.names:
                    by_name[" ".join(n.text.upper().replace(",", " ").split())].append(e)
            self._by_org_name = by_name
        out: list[tuple[Entity, str]] = []
        seen: set[str] = set()
        if vessel.imo:
            for e in self._companies.get("imo:" + vessel.imo, []):
                if e.uid not in seen:
                    seen.add(e.uid)
                    out.append((e, f"its text names ship IMO {vessel.imo}"))
        for name in (vessel.owner, *vessel.linked_to):
            if not name:
                continue
            key = " ".join(name.upper().replace(",", " ").split())
            for e in self._by_org_name.get(key, []):
                if e.uid not in seen:
                    seen.add(e.uid)
                    out.append((e, f"named as owner/linked party {name!r}"))
        return out

    def parties_of(self, vessel: VesselRecord) -> list[PartyRecord]:
        """Owners, operators and other entries linked to a vessel."""
        return list(self._parties_by_vessel.get(vessel.uid, ()))

    def anomalies(self) -> list[Anomaly]:
        """Every parser anomaly plus cross-list ones (an MMSI listed for several ships)."""
        out = [a for sl in self.lists.values() for a in sl.anomalies]
        ships: dict[str, set[str]] = defaultdict(set)
        for v in self.vessels:
            for m in v.mmsis:
                ships[m].add(v.imo or v.uid)
        for m, owners in sorted(ships.items()):
            if len(owners) > 1:
                out.append(
                    Anomaly(
                        list_id="*",
                        entry_id=m,
                        field="mmsi",
                        code="mmsi-shared",
                        message=f"MMSI {m} is listed for {len(owners)} different ships "
                        f"({', '.join(sorted(owners))}); a match on it alone is ambiguous",
                    )
                )
        return out
