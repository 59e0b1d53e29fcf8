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


def entity_hit_payload(
    result: EntityResult, *, lists: Sequence[ListVersion] = ()
) -> SanctionsHitPayload | None:
    """The payload for one matched screening result, or None when nothing matched."""
    m = result.best
    if not result.matched or m is None:
        return None
    q = result.query
    e = m.entity
    export = e.list_id in EXPORT_CONTROL_LISTS
    what = "export-control end user" if export else "sanctioned " + e.schema.lower()
    summary = (
        f"{q.name or q.identifier!s} matches {what} {e.name!r} ({e.list_id} {e.entry_id},"
        f" {m.rule}, score {m.score:.0f})"
    )
    hit = EntityHit(
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
        source="screening",
        entities=[hit],
        lists=used,
    )
