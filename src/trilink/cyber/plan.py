"""Parsed STIX objects -> the report items an import publishes (pure).

One report per STIX object, one report version per STIX version: an object this node already
published with an older ``modified`` becomes a new version of that report (``revoked: true``
included, which ends it on every node that holds it); the same version again is counted as
unchanged and not published twice; an older version than the one held is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from trilink.cyber.errors import Problem
from trilink.cyber.stixio import ParsedObject
from trilink.model.payloads.cyber import StixObjectPayload

KIND = "cyber.stix"
_TS_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$")


def ts_key(value: str) -> str:
    """A STIX timestamp in a form that sorts as time does ("" first)."""
    m = _TS_RE.match(value)
    if not m:
        return value
    return f"{m.group(1)}.{(m.group(2) or '').ljust(9, '0')}"


@dataclass(frozen=True)
class Held:
    """A STIX object this node has published: its report and newest version."""

    report_id: str
    modified: str
    object: Mapping[str, Any]


@dataclass
class ImportPlan:
    items: list[tuple[StixObjectPayload, str | None]] = field(default_factory=list)
    unchanged: int = 0
    superseded: int = 0  # older versions than one in the same input or held
    problems: list[Problem] = field(default_factory=list)

    @property
    def new_versions(self) -> int:
        return sum(1 for _, rid in self.items if rid is not None)


def payload_of(p: ParsedObject, *, source: str, misp_distribution: str = "") -> StixObjectPayload:
    obj = p.obj
    name = obj.get("name")
    return StixObjectPayload(
        stix_id=p.id,
        stix_type=p.type,
        modified=p.modified,
        name=str(name)[:300] if isinstance(name, str) else "",
        revoked=obj.get("revoked") is True,
        object=obj,
        source=source[:300],
        source_tlp=p.tlp,
        misp_distribution=misp_distribution[:100],
    )


def held_from_reports(reports: Sequence[Mapping[str, Any]], nation: str) -> dict[str, Held]:
    """What this node has published, from its API's report list (newest version of each)."""
    held: dict[str, Held] = {}
    for r in reports:
        if r.get("origin") != nation or r.get("tombstone") or r.get("kind") != KIND:
            continue
        payload = r.get("payload", {})
        sid = payload.get("stix_id")
        if not isinstance(sid, str):
            continue
        mod = str(payload.get("modified", ""))
        if sid not in held or ts_key(mod) > ts_key(held[sid].modified):
            held[sid] = Held(str(r["id"]), mod, payload.get("object", {}))
    return held


def plan_import(
    objects: Sequence[ParsedObject],
    held: Mapping[str, Held],
    *,
    source: str,
    misp_distribution: str = "",
) -> ImportPlan:
    plan = ImportPlan()
    newest: dict[str, ParsedObject] = {}
    for p in objects:
        prev = newest.get(p.id)
        if prev is None or ts_key(p.modified) > ts_key(prev.modified):
            if prev is not None:
                plan.superseded += 1
            newest[p.id] = p
        else:
            plan.superseded += 1
    for sid, p in newest.items():
        mine = held.get(sid)
        if mine is not None:
            if ts_key(p.modified) < ts_key(mine.modified):
                plan.superseded += 1
                plan.problems.append(
                    Problem(
                        source,
                        sid,
                        "modified",
                        f"version {p.modified} is older than the one held ({mine.modified}); "
                        "skipped",
                    )
                )
                continue
            if p.modified == mine.modified or _same(p.obj, mine.object):
                plan.unchanged += 1
                continue
        payload = payload_of(p, source=source, misp_distribution=misp_distribution)
        plan.items.append((payload, mine.report_id if mine else None))
    return plan


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return msgspec.json.encode(dict(sorted(a.items()))) == msgspec.json.encode(
        dict(sorted(b.items()))
    )
