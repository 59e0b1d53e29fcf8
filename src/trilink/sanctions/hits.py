"""From a maritime event and screening results to a ``sanctions.hit`` payload.

Last stage of the engine, where it meets the maritime picture. The maritime engine emits
events (encounter / ship-to-ship transfer, port visit, identity change, AIS static data) as
plain dicts naming the vessels involved; `event_queries` turns them into screening queries,
and `hit_payload` (pure) turns the results into a high-priority report payload that keeps
the event it derives from. `derived_label` gives the report's label: the event's label
combined with the (public, unclassified) lists' label, i.e. never less restrictive than the
event.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import msgspec

from trilink.model import Label, combine_labels, make_label
from trilink.model.label import ALLIANCE
from trilink.model.payloads.sanctions import (
    Evidence as EvidencePayload,
)
from trilink.model.payloads.sanctions import (
    ListedVessel,
    ListVersion,
    SanctionsHitPayload,
    SeenVessel,
    VesselHit,
)
from trilink.sanctions.errors import SanctionsInputError
from trilink.sanctions.records import PartyRecord, VesselRecord
from trilink.sanctions.screen import Match, Query, Screener, ScreenResult

# The lists are public documents: a hit adds no classification of its own.
LIST_LABEL = make_label("UNCLASSIFIED", list(ALLIANCE))
_ID_FIELDS = ("name", "imo", "mmsi", "call_sign", "flag")


def derived_label(event_label: Label) -> Label:
    """Label of a hit derived from an event: the most restrictive of event and lists (the
    lists are public, so they keep the event's exercise flag and policy)."""
    lists = msgspec.structs.replace(
        LIST_LABEL, exercise=event_label.exercise, policy=event_label.policy
    )
    return combine_labels([event_label, lists])


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        raise SanctionsInputError(f"identifier {value!r} is a boolean, not an identifier")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    raise SanctionsInputError(f"identifier {value!r} must be text or a whole number")


def _vessel_query(v: Mapping[str, Any]) -> Query:
    if not isinstance(v, Mapping):
        raise SanctionsInputError(f"a vessel in an event must be an object, got {v!r}")
    imo = _text(v.get("imo"))
    return Query(
        name=_text(v.get("name")),
        imo="" if imo == "0" else imo,  # AIS sends IMO 0 for "not available"
        mmsi=_text(v.get("mmsi")),
        call_sign=_text(v.get("call_sign") or v.get("callsign")),
        flag=_text(v.get("flag")),
    )


def event_queries(event: Mapping[str, Any]) -> list[tuple[str, Query]]:
    """(role, query) for every vessel identity an event names.

    Two shapes are read. The ``maritime.event`` payload of `trilink.maritime` (``mmsi``,
    ``name``, ``flag``, ``other_mmsi``, ``other_name``; an identity change puts
    ``field``/``old``/``new`` in ``details``), and events listing their vessels in
    ``vessels`` (each with mmsi/name/imo/call_sign/flag) or an identity change as
    ``before``/``after`` (or ``old``/``new``) objects. Roles: ``subject`` (the event's
    ``mmsi``), ``other`` (``other_mmsi``), ``before``/``after``, else ``vessel``.
    """
    if not isinstance(event, Mapping):
        raise SanctionsInputError("a maritime event must be an object (dict)")
    subject = _text(event.get("mmsi"))
    other = _text(event.get("other_mmsi"))
    out: list[tuple[str, Query]] = []
    for before_key, after_key in (("before", "after"), ("old", "new")):
        if isinstance(event.get(before_key), Mapping) or isinstance(event.get(after_key), Mapping):
            for role, key in (("before", before_key), ("after", after_key)):
                if isinstance(event.get(key), Mapping):
                    q = _vessel_query(event[key])
                    if not q.mmsi and subject:
                        q = replace(q, mmsi=subject)
                    out.append((role, q))
    out += _detail_change(event, subject, other)
    vessels = event.get("vessels")
    if vessels is not None:
        if not isinstance(vessels, Sequence) or isinstance(vessels, str):
            raise SanctionsInputError("event field 'vessels' must be a list of objects")
        for v in vessels:
            q = _vessel_query(v)
            role = "subject" if q.mmsi and q.mmsi == subject else (
                "other" if q.mmsi and q.mmsi == other else "vessel"
            )  # fmt: skip
            out.append((role, q))
    if not out:
        if any(event.get(f) for f in _ID_FIELDS):
            out.append(("subject", _vessel_query(event)))
        if other or event.get("other_name"):
            out.append(("other", Query(name=_text(event.get("other_name")), mmsi=other)))
    seen = {q.mmsi for _r, q in out}
    for role, mmsi in (("subject", subject), ("other", other)):
        if mmsi and mmsi not in seen:
            out.append((role, Query(mmsi=mmsi)))
    return out


def _detail_change(event: Mapping[str, Any], subject: str, other: str) -> list[tuple[str, Query]]:
    """Before/after identities of a `trilink.maritime` identity change (details.field/old/new)."""
    details = event.get("details")
    if event.get("type") != "identity_change" or not isinstance(details, Mapping):
        return []
    fld = details.get("field")
    if fld not in ("name", "imo", "flag", "mmsi") or "old" not in details or "new" not in details:
        return []
    base = Query(
        name=_text(event.get("name")),
        imo=_text(details.get("imo")),
        mmsi=subject,
        flag=_text(event.get("flag")),
    )
    if fld == "mmsi":  # one IMO seen under a new MMSI: old = previous MMSI
        return [
            ("before", replace(base, name="", mmsi=_text(details["old"]) or other)),
            ("after", replace(base, mmsi=_text(details["new"]) or subject)),
        ]
    return [
        ("before", replace(base, **{fld: _text(details["old"])})),
        ("after", replace(base, **{fld: _text(details["new"])})),
    ]


def _json_safe(value: Any, path: str) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        # NaN/inf (e.g. an unknown position) become null: a hit is never lost over them.
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, Sequence):
        return [_json_safe(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise SanctionsInputError(f"event field {path} has a {type(value).__name__}, not JSON data")


def _coord(event: Mapping[str, Any], key: str, limit: float) -> float | None:
    value = event.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SanctionsInputError(f"event field {key!r} must be a number, got {value!r}")
    if not math.isfinite(value):
        return None  # unknown position
    if abs(value) > limit:
        raise SanctionsInputError(f"event field {key!r} = {value} is outside ±{limit}")
    return float(value)


def _listed(v: VesselRecord, m: Match, parties: Sequence[PartyRecord]) -> ListedVessel:
    return ListedVessel(
        list_id=v.list_id,
        entry_id=v.entry_id,
        name=v.name,
        imo=v.imo,
        aliases=list(v.aliases + v.former_names),
        flags=list(v.flags),
        programmes=list(v.programmes),
        measures=list(v.measures),
        linked_parties=list(dict.fromkeys(f"{p.name} ({p.uid})" for p in parties))
        or list(v.linked_to),
        also_listed=list(m.also_listed),
    )


def hit_payload(
    event: Mapping[str, Any],
    results: Sequence[tuple[str, ScreenResult]],
    *,
    lists: Sequence[ListVersion] = (),
    parties_of: Callable[[VesselRecord], Sequence[PartyRecord]] | None = None,
) -> SanctionsHitPayload | None:
    """A ``sanctions.hit`` payload when any vessel of the event matched, else None. Pure."""
    if not isinstance(event, Mapping):
        raise SanctionsInputError("a maritime event must be an object (dict)")
    source = str(event.get("type") or "event")
    hits: list[VesselHit] = []
    for role, res in results:
        m = res.best
        if not res.matched or m is None:
            continue
        q = res.query
        parties = parties_of(m.vessel) if parties_of is not None else ()
        hits.append(
            VesselHit(
                role=role,
                seen=SeenVessel(
                    name=q.name, imo=q.imo, mmsi=q.mmsi, call_sign=q.call_sign, flag=q.flag
                ),
                listed=_listed(m.vessel, m, parties),
                matched_name=m.matched_name,
                score=float(m.score),
                rule=m.rule,
                reason=m.reason,
                evidence=[
                    EvidencePayload(field=e.field, rule=e.rule, score=e.score, detail=e.detail)
                    for e in m.evidence
                ],
            )
        )
    if not hits:
        return None
    return SanctionsHitPayload(
        priority="high",
        summary=_summary(source, hits),
        explanation="; ".join(
            explanation(h.listed.list_id, h.listed.entry_id, h.rule, h.score, h.reason, lists)
            for h in hits
        ),
        source=source,
        event_id=_text(event.get("id")) or None,
        event_start=_text(event.get("start")) or None,
        event_end=_text(event.get("end")) or None,
        lat=_coord(event, "lat", 90.0),
        lon=_coord(event, "lon", 180.0),
        event=_json_safe(dict(event), "event"),
        hits=hits,
        lists=list(lists),
    )


def explanation(
    list_id: str, entry_id: str, rule: str, score: float, reason: str,
    lists: Sequence[ListVersion],
) -> str:  # fmt: skip
    """One line a reader can check against the list: which list and edition, which entry,
    which rule and why (``JP-METI-EUL of 2025-09-29 (sha256 27ff3c7a98d0), entry 742:
    name-romanised, score 96: ...``)."""
    edition = next((v for v in lists if v.list_id == list_id), None)
    when = ""
    if edition is not None:
        when = f" of {edition.published or 'unknown date'} (sha256 {edition.sha256[:12]})"
    return f"{list_id}{when}, entry {entry_id}: {rule}, score {score:.0f}: {reason}"


def _summary(source: str, hits: Sequence[VesselHit]) -> str:
    def who(h: VesselHit) -> str:
        seen = h.seen.name or (f"MMSI {h.seen.mmsi}" if h.seen.mmsi else f"IMO {h.seen.imo}")
        return (
            f"{seen} = {h.listed.list_id} {h.listed.name!r}"
            f"{f' (IMO {h.listed.imo})' if h.listed.imo else ''} [{h.rule}]"
        )

    roles = {h.role for h in hits}
    if source == "identity_change" and roles & {"before", "after"}:
        if roles >= {"before", "after"}:
            direction = "between sanctioned identities"
        elif "after" in roles:
            direction = "into a sanctioned identity"
        else:
            direction = "out of a sanctioned identity"
        return f"identity change {direction}: " + "; ".join(who(h) for h in hits)
    label = {
        "encounter": "encounter (possible ship-to-ship transfer) with a sanctioned vessel",
        "port_visit": "port visit by a sanctioned vessel",
        "ais_static": "sanctioned vessel in AIS static data",
        "screening": "screening match",
    }.get(source, f"{source} involving a sanctioned vessel")
    return f"{label}: " + "; ".join(who(h) for h in hits)


def screen_event(
    screener: Screener,
    event: Mapping[str, Any],
    *,
    lists: Sequence[ListVersion] = (),
    parties_of: Callable[[VesselRecord], Sequence[PartyRecord]] | None = None,
) -> SanctionsHitPayload | None:
    """Screen every vessel an event names and build its ``sanctions.hit`` payload (or None)."""
    pairs = event_queries(event)
    results = screener.screen_many([q for _r, q in pairs])
    return hit_payload(
        event,
        [(r, res) for (r, _q), res in zip(pairs, results, strict=True)],
        lists=lists,
        parties_of=parties_of,
    )
