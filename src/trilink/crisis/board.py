"""The crisis board a watch floor looks at: every open incident with who has acknowledged,
what is due next and how long is left, and where the nations' threat assessments diverge.

Each nation keeps its own record of a joint incident (``crisis.incident``, one per nation,
sharing an ``incident_id``); a node holds its own record and the partners' records it was
released. The board merges them per incident: a nation's acknowledgement is read from that
nation's own record when the node holds it (each nation acknowledges in its own node), else
from any record that saw it. Pure: payloads in, a plain dict out (the COP's ``/api/crisis``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from trilink.crisis.divergence import NATIONS, divergence
from trilink.model.payloads.crisis import AssessmentPayload, IncidentPayload, TaskState

OPEN = ("open", "escalated", "acknowledged")
MAX_INCIDENTS = 200  # newest first; a watch floor never has more open at once
MAX_EVENTS = 50  # assessed events shown side by side, newest first


def _seconds_left(deadline: str | None, now: datetime) -> float | None:
    if not deadline:
        return None
    try:
        return round((datetime.fromisoformat(deadline) - now).total_seconds(), 1)
    except ValueError:  # a partner's record with a time we cannot read: no countdown
        return None


def _task_row(task: TaskState, now: datetime) -> dict[str, Any]:
    return {
        "step": task.step,
        "nation": task.nation,
        "role": task.role,
        "state": task.state,
        "deadline": task.deadline,
        "seconds_left": _seconds_left(task.deadline, now) if task.state == "active" else None,
        "late": task.late,
        "level": task.level,
        "called": task.called,
        "done_at": task.done_at,
        "done_by": task.done_by,
    }


def incident_board(
    records: Iterable[IncidentPayload], *, own: str, now: datetime
) -> list[dict[str, Any]]:
    """Open incidents, newest first, each merged from the records of every nation the node
    holds. ``own``: this node's nation, whose record gives the tasks shown (else the
    opening nation's)."""
    by_incident: dict[str, dict[str, IncidentPayload]] = {}
    for record in records:
        by_incident.setdefault(record.incident_id, {})[record.nation] = record
    rows: list[dict[str, Any]] = []
    for incident_id, of_nation in by_incident.items():
        main = of_nation.get(own) or min(of_nation.values(), key=lambda r: r.opened_at)
        if main.status not in OPEN:
            continue
        nations = sorted({*main.acks, *of_nation}, key=_nation_order)
        acks: dict[str, str | None] = {}
        for nation in nations:
            mine = of_nation.get(nation)
            if mine is not None and nation in mine.acks:
                acks[nation] = mine.acks[nation]
            else:
                seen = [r.acks.get(nation) for r in of_nation.values()]
                acks[nation] = next((t for t in seen if t), None)
        pending = [t for t in main.tasks if t.state == "active"]
        deadlines = [t.deadline for t in pending if t.deadline]
        next_deadline = min(deadlines) if deadlines else main.next_deadline
        rows.append(
            {
                "incident_id": incident_id,
                "title": main.title,
                "status": main.status,
                "playbook": f"{main.playbook_id} v{main.playbook_version}",
                "opened_at": main.opened_at,
                "opened_by": min(of_nation.values(), key=lambda r: r.opened_at).nation,
                "exercise": main.exercise,
                "trigger": main.trigger_summary,
                "lat": main.lat,
                "lon": main.lon,
                "records": sorted(of_nation, key=_nation_order),
                "acks": acks,
                "pending_acks": [n for n, t in acks.items() if t is None],
                "next_deadline": next_deadline,
                "seconds_left": _seconds_left(next_deadline, now),
                "late": any(t.late for t in pending),
                "tasks": [_task_row(t, now) for t in main.tasks],
            }
        )
    rows.sort(key=lambda r: str(r["opened_at"]), reverse=True)
    return rows[:MAX_INCIDENTS]


def divergence_board(assessments: Sequence[AssessmentPayload]) -> list[dict[str, Any]]:
    """One side-by-side view (``crisis.divergence``) per assessed event, the event assessed
    most recently first."""
    newest: dict[str, str] = {}
    for a in assessments:
        newest[a.event_ref] = max(newest.get(a.event_ref, ""), a.at)
    events = sorted(newest, key=lambda ref: newest[ref], reverse=True)[:MAX_EVENTS]
    return [divergence(ref, assessments) for ref in events]


def board(
    incidents: Iterable[IncidentPayload],
    assessments: Sequence[AssessmentPayload],
    *,
    own: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "now": now.isoformat(),
        "incidents": incident_board(incidents, own=own, now=now),
        "divergence": divergence_board(assessments),
    }


def _nation_order(nation: str) -> tuple[int, str]:
    return (NATIONS.index(nation) if nation in NATIONS else len(NATIONS), nation)
