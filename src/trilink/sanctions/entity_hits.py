"""``sanctions.hit`` payloads for screened persons and organisations (pure builder).

A matched entity screening result becomes one ``SanctionsHitPayload`` whose ``entities``
holds the hit: what was screened, the listed entity (list, entry, names in every script,
identifiers, programmes), score, rule, reason and evidence, plus the list editions the
finding rests on. A hit on Japan METI's End User List is flagged ``export_control``.
"""

from __future__ import annotations

from collections.abc import Sequence

from trilink.model.payloads.sanctions import (
    EntityHit,
    Evidence,
    ListedEntity,
    ListVersion,
    SanctionsHitPayload,
    SeenEntity,
)
from trilink.sanctions.entity_screen import EntityResult
from trilink.sanctions.hits import explanation
from trilink.sanctions.records import JP_METI, Entity

EXPORT_CONTROL_LISTS = frozenset({JP_METI})


def listed_entity(e: Entity) -> ListedEntity:
    return ListedEntity(
        list_id=e.list_id,
        entry_id=e.entry_id,
        schema=e.schema,
        name=e.name,
        names=[n.text for n in e.names[1:21]],
        identifiers=[f"{i.kind}:{i.value}" for i in e.identifiers[:20]],
        countries=list(e.countries[:10]),
        programmes=list(e.programmes[:10]),
        listed_on=list(e.listed_on[:5]),
        linked=list(e.linked[:30]),
    )


def is_export_control(list_id: str) -> bool:
    """Whether a list is an export-control list (a hit on it is an ``exportcontrol.hit``)."""
    return list_id in EXPORT_CONTROL_LISTS


def entity_hit_payload(
    result: EntityResult,
    *,
    lists: Sequence[ListVersion] = (),
    source: str = "screening",
    role: str = "screened",
) -> SanctionsHitPayload | None:
    """The payload for one matched screening result, or None when nothing matched.
    ``source`` says why it was screened (screening, registration, list-change) and ``role``
    what the party is (screened, supplier, end-user, ...)."""
    m = result.best
    if not result.matched or m is None:
        return None
    q = result.query
    e = m.entity
    export = is_export_control(e.list_id)
    what = "export-control end user" if export else "sanctioned " + e.schema.lower()
    who = q.name or q.identifier
    if role != "screened":
        who = f"{role} {who}"
    summary = (
        f"{who} matches {what} {e.name!r} ({e.list_id} {e.entry_id}, {m.rule},"
        f" score {m.score:.0f})"
    )
    hit = EntityHit(
        role=role,
        seen=SeenEntity(name=q.name, country=q.country, type=q.schema, identifier=q.identifier),
        listed=listed_entity(e),
        matched_name=m.matched_name,
        score=m.score,
        rule=m.rule,
        reason=m.reason,
        evidence=[
            Evidence(field=x.field, rule=x.rule, score=x.score, detail=x.detail)
            for x in m.evidence
        ],
        export_control=export,
    )
    used = [v for v in lists if v.list_id == e.list_id] or list(lists)
    return SanctionsHitPayload(
        priority="high",
        summary=summary,
        source=source,
        entities=[hit],
        lists=used,
        explanation=explanation(e.list_id, e.entry_id, m.rule, m.score, m.reason, used),
    )
