"""Payload schemas of the `trilink.crisis` report kinds.

``crisis.incident``    one nation's record of a joint incident: a living report, each version
                       the incident with its append-only list of events (opened, acknowledged,
                       step done, escalated, rejected input, closed) and the state derived
                       from them (tasks per nation with deadlines, who has acknowledged).
                       Every nation keeps its own; they share an ``incident_id``.
``crisis.ack``         a nation's acknowledgement of a step (or a step done, or its decision to
                       close or cancel), published by that nation in its own node.
``crisis.alert``       a public alert (CAP 1.2) released by an authorised role: UNCLASSIFIED,
                       carrying only the fields the playbook releases.
``crisis.assessment``  one nation's threat assessment of an event (level, actor, intent,
                       confidence, rationale).
``crisis.lesson``      a lesson learned from an incident (after-action record).
``crisis.commitment``  one entry of the commitments register (a living report: its versions
                       are the history of its changes).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from trilink.model.kindspec import Area, KindSpec, Point, Property, Shape

EventType = Literal[
    "opened", "joined", "ack", "done", "escalated", "rejected", "trigger", "note", "closed",
    "cancelled",
]  # fmt: skip
Lifecycle = Literal["open", "escalated", "acknowledged", "resolved", "cancelled"]
Action = Literal["ack", "done", "close", "cancel"]
ThreatLevel = Literal["low", "moderate", "elevated", "high", "critical"]
THREAT_LEVELS: tuple[str, ...] = ("low", "moderate", "elevated", "high", "critical")


class IncidentEvent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One entry of an incident's append-only event list. ``key`` is unique in the incident:
    an event recorded twice (a replayed acknowledgement, an escalation decided again after a
    restart) is the same event. ``at`` is this node's clock when it was recorded;
    ``stated_at`` the time a partner stated for its own action."""

    key: str
    type: EventType
    at: str
    nation: str = ""
    step: str = ""
    who: str = ""
    role: str = ""
    level: int = 0
    stated_at: str | None = None
    report: str | None = None
    detail: str = ""


class TaskState(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A step for one nation, as derived from the events."""

    step: str
    nation: str
    role: str
    ack: bool = False
    state: Literal["waiting", "active", "done"] = "waiting"
    active_since: str | None = None
    deadline: str | None = None
    done_at: str | None = None
    done_by: str = ""
    late: bool = False
    level: int = 0  # escalation level reached (0: not escalated)
    called: str = ""  # who is called now (the escalation chain's person at that level)


class IncidentPayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    incident_id: str
    playbook_id: str
    playbook_version: int
    nation: str  # whose record this is
    title: str
    status: Lifecycle = "open"
    opened_at: str
    trigger_kind: str = ""
    trigger_report: str | None = None
    trigger_summary: str = ""
    lat: float | None = None
    lon: float | None = None
    exercise: bool = False
    events: list[IncidentEvent] = []
    tasks: list[TaskState] = []
    acks: dict[str, str | None] = {}  # nation -> when its acknowledgement arrived, or None
    ack_summary: str = ""  # "USA 10:40:30Z, JPN 10:41:02Z, KOR PENDING" (for the COP panel)
    next_deadline: str | None = None


class AckPayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    incident_id: str
    nation: str
    action: Action = "ack"
    step: str = ""
    by: str
    role: str = ""
    at: str  # the acknowledging nation's clock (UTC ISO 8601)
    note: str = ""


class AlertPayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    incident_id: str
    nation: str
    identifier: str
    msg_type: Literal["Alert", "Update", "Cancel"]
    cap_status: Literal["Actual", "Exercise", "System", "Test", "Draft"]
    sent: str  # as in the CAP message: 2026-11-23T09:15:00+09:00
    headline: str
    languages: list[str]
    references: list[str] = []
    area: list[tuple[float, float]] = []  # (lon, lat) ring of the alert's polygon
    released_by: str
    release_role: str
    redacted: list[str] = []  # fields of the classified input left out
    xml: str  # the CAP 1.2 message as released


class AssessmentPayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    event_ref: str  # the report (or incident id) assessed
    nation: str
    threat_level: ThreatLevel
    actor: str = ""
    intent: str = ""
    confidence: float  # 0-1
    rationale: str = ""
    at: str
    by: str = ""


class LessonPayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    incident_id: str
    nation: str
    text: str
    by: str = ""
    at: str


class CommitmentPayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One commitment of a register, as its owner nation publishes it; each change (a
    meeting held, a deadline moved, an owner role changed) is a new version."""

    register_id: str
    commitment_id: str
    nation: str
    title: str
    type: Literal["agreement", "meeting", "deliverable"]
    level: str = ""
    source: str = ""
    owners: dict[str, str] = {}  # nation -> role (never a person)
    due: str | None = None
    every: str = ""
    first: str | None = None
    done: list[str] = []
    next_due: str | None = None
    overdue_days: int = 0
    notes: str = ""


def _incident_props(p: IncidentPayload) -> dict[str, Property]:
    props: dict[str, Property] = {
        "incident_id": p.incident_id,
        "playbook": p.playbook_id,
        "status": p.status,
        "next_deadline": p.next_deadline,
    }
    for nation, at in sorted(p.acks.items()):
        props[f"ack_{nation}"] = at or "pending"
    return props


def _incident_shapes(p: IncidentPayload) -> list[Shape]:
    return [Point(lon=p.lon, lat=p.lat)] if p.lat is not None and p.lon is not None else []


def _alert_shapes(p: AlertPayload) -> list[Shape]:
    return [Area(ring=p.area, role="alert area")] if len(p.area) >= 3 else []


KINDS: tuple[
    KindSpec[IncidentPayload]
    | KindSpec[AckPayload]
    | KindSpec[AlertPayload]
    | KindSpec[AssessmentPayload]
    | KindSpec[LessonPayload]
    | KindSpec[CommitmentPayload],
    ...,
] = (
    KindSpec(
        kind="crisis.incident",
        payload=IncidentPayload,
        title=lambda p: f"incident {p.title} ({p.nation})",
        shapes=_incident_shapes,
        panel=("status", "title", "ack_summary", "next_deadline", "opened_at", "playbook_id"),
        properties=_incident_props,
        observed=lambda p: p.opened_at,
        track=lambda p: f"incident:{p.nation}:{p.incident_id}",
        status=lambda p: p.status,
        ended=lambda p: p.status in ("resolved", "cancelled"),
        folder="Crisis incidents",
    ),
    KindSpec(
        kind="crisis.ack",
        payload=AckPayload,
        title=lambda p: f"{p.nation} {p.action} {p.step or p.incident_id} by {p.by}",
        panel=("incident_id", "nation", "action", "step", "by", "role", "at", "note"),
        properties=lambda p: {
            "incident_id": p.incident_id,
            "nation": p.nation,
            "action": p.action,
            "step": p.step,
        },  # fmt: skip
        observed=lambda p: p.at,
        folder="Crisis acknowledgements",
    ),
    KindSpec(
        kind="crisis.alert",
        payload=AlertPayload,
        title=lambda p: f"public alert ({p.msg_type}) {p.headline}",
        shapes=_alert_shapes,
        panel=("msg_type", "headline", "sent", "identifier", "released_by", "references"),
        properties=lambda p: {
            "incident_id": p.incident_id,
            "msg_type": p.msg_type,
            "identifier": p.identifier,
        },  # fmt: skip
        track=lambda p: f"alert:{p.nation}:{p.incident_id}",
        status=lambda p: p.msg_type.lower(),
        ended=lambda p: p.msg_type == "Cancel",
        folder="Public alerts",
    ),
    KindSpec(
        kind="crisis.assessment",
        payload=AssessmentPayload,
        title=lambda p: f"{p.nation} assessment: {p.threat_level}",
        panel=(
            "event_ref",
            "nation",
            "threat_level",
            "actor",
            "intent",
            "confidence",
            "rationale",
        ),  # fmt: skip
        properties=lambda p: {
            "event_ref": p.event_ref,
            "nation": p.nation,
            "threat_level": p.threat_level,
            "confidence": p.confidence,
        },  # fmt: skip
        observed=lambda p: p.at,
        folder="Threat assessments",
    ),
    KindSpec(
        kind="crisis.lesson",
        payload=LessonPayload,
        title=lambda p: f"lesson ({p.nation}): {p.text[:60]}",
        panel=("incident_id", "nation", "text", "by", "at"),
        observed=lambda p: p.at,
        folder="Lessons learned",
    ),
    KindSpec(
        kind="crisis.commitment",
        payload=CommitmentPayload,
        title=lambda p: f"commitment {p.title}" + (" (OVERDUE)" if p.overdue_days else ""),
        panel=("title", "type", "level", "owners", "next_due", "overdue_days", "done", "source"),
        properties=lambda p: {
            "register": p.register_id,
            "commitment": p.commitment_id,
            "next_due": p.next_due,
            "overdue_days": p.overdue_days,
        },  # fmt: skip
        track=lambda p: f"commitment:{p.nation}:{p.register_id}:{p.commitment_id}",
        status=lambda p: "overdue" if p.overdue_days else "on track",
        folder="Commitments",
    ),
)
