"""The incident engine: an incident is its append-only list of events; everything else (the
tasks per nation, their deadlines, escalation levels, who has acknowledged, the lifecycle) is
derived from that list and the playbook.

Pure functions of (incident, input, now)::

    inc = open_incident(book, nation="JPN", incident_id=..., at=now, ...)
    inc = receive_ack(book, inc, ack, origin="KOR", report_id=..., now=now)
    events = due(book, inc, now, chain)        # escalations whose time has come
    inc = record(book, inc, events)            # appended once each (keys are unique)

An escalation's key names its step, nation and level, so deciding it again (after a restart,
or twice in one tick) records nothing new: none twice. ``due`` returns every level whose time
has passed, so a runner that was down fires the missed ones when it returns: none lost.
Each nation's runner escalates only its own nation's tasks; it sees its partners' through
their acknowledgements and their own incident records.

The lifecycle (open, escalated, acknowledged, resolved, cancelled) is a state machine of the
``transitions`` library fed with the events in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from transitions import Machine

from trilink.crisis.playbook import Playbook
from trilink.model.payloads.crisis import (
    AckPayload,
    EventType,
    IncidentEvent,
    IncidentPayload,
    Lifecycle,
    TaskState,
)

# Clock difference between nodes tolerated before an acknowledgement's stated time is flagged
MAX_SKEW_S = 300.0
FINAL: tuple[str, ...] = ("resolved", "cancelled")
# Refused inputs recorded per incident (beyond this they are counted by the runner only)
MAX_REJECTED_EVENTS = 100

# who is called at each escalation level of (step role, at instant): [on duty, level 1, ...]
Chain = Callable[[str, datetime], list[str]]


def iso(t: datetime) -> str:
    """UTC ISO 8601 with milliseconds and Z."""
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """An ISO 8601 instant (Z or offset); ``ValueError`` when it is not one."""
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return t


class _Lifecycle:
    state: str

    def __init__(self) -> None:
        Machine(
            model=self,
            states=["open", "escalated", "acknowledged", "resolved", "cancelled"],
            transitions=[
                {"trigger": "escalate", "source": "open", "dest": "escalated"},
                {"trigger": "all_acked", "source": ["open", "escalated"], "dest": "acknowledged"},
                {
                    "trigger": "resolve",
                    "source": ["open", "escalated", "acknowledged"],
                    "dest": "resolved",
                },  # fmt: skip
                {
                    "trigger": "cancel",
                    "source": ["open", "escalated", "acknowledged"],
                    "dest": "cancelled",
                },  # fmt: skip
            ],
            initial="open",
            ignore_invalid_triggers=True,
            auto_transitions=False,
        )

    def fire(self, trigger: str) -> None:
        getattr(self, trigger)()


@dataclass(frozen=True)
class View:
    tasks: list[TaskState]
    acks: dict[str, str | None]
    status: Lifecycle
    next_deadline: str | None


def _done_times(events: Iterable[IncidentEvent]) -> dict[tuple[str, str], IncidentEvent]:
    out: dict[tuple[str, str], IncidentEvent] = {}
    for e in events:
        if e.type in ("ack", "done") and (e.step, e.nation) not in out:
            out[(e.step, e.nation)] = e
    return out


def derive(book: Playbook, inc: IncidentPayload) -> View:
    """Tasks, acknowledgements, lifecycle and the next deadline, from the events alone."""
    opened = parse_time(inc.opened_at)
    done = _done_times(inc.events)
    levels: dict[tuple[str, str], IncidentEvent] = {}
    for e in inc.events:
        if e.type == "escalated":
            k = (e.step, e.nation)
            if k not in levels or levels[k].level < e.level:
                levels[k] = e
    finish: dict[str, datetime | None] = {}  # step -> when every nation had done it
    tasks: list[TaskState] = []
    for step in _in_order(book):
        preds = book.predecessors(step.id)
        if step.id in book.start:
            since: datetime | None = opened
        elif preds and all(finish.get(p) is not None for p in preds):
            since = max(t for p in preds if (t := finish.get(p)) is not None)
        else:
            since = None
        ends: list[datetime | None] = []
        for nation in step.nations:
            ev = done.get((step.id, nation))
            deadline = since + timedelta(seconds=step.deadline_s) if since else None
            at = parse_time(ev.at) if ev else None
            esc = levels.get((step.id, nation))
            state = "done" if ev else ("active" if since else "waiting")
            tasks.append(
                TaskState(
                    step=step.id,
                    nation=nation,
                    role=step.role,
                    ack=step.ack,
                    state=state,  # type: ignore[arg-type]
                    active_since=iso(since) if since else None,
                    deadline=iso(deadline) if deadline else None,
                    done_at=ev.at if ev else None,
                    done_by=ev.who if ev else "",
                    late=bool(at and deadline and at > deadline),
                    level=esc.level if esc else 0,
                    called=esc.who if esc else "",
                )
            )
            ends.append(at)
        finish[step.id] = max(t for t in ends if t is not None) if ends and all(ends) else None
    acks: dict[str, str | None] = {}
    for nation in dict.fromkeys(t.nation for t in tasks if t.ack):
        times = [t.done_at for t in tasks if t.ack and t.nation == nation]
        acks[nation] = None if None in times else max(t for t in times if t is not None)
    open_deadlines = [t.deadline for t in tasks if t.state == "active" and t.deadline]
    return View(
        tasks, acks, _lifecycle(book, inc.events, tasks), min(open_deadlines, default=None)
    )


def _in_order(book: Playbook) -> list[Any]:
    """Steps so that each comes after its predecessors (the playbook is acyclic)."""
    order: list[Any] = []
    placed: set[str] = set()
    pending = list(book.steps)
    while pending:
        progressed = False
        for step in list(pending):
            if all(p in placed for p in book.predecessors(step.id)) or step.id in book.start:
                order.append(step)
                placed.add(step.id)
                pending.remove(step)
                progressed = True
        if not progressed:  # unreachable in a checked playbook; keep the rest in file order
            order += pending
            break
    return order


def _lifecycle(book: Playbook, events: list[IncidentEvent], tasks: list[TaskState]) -> Lifecycle:
    machine = _Lifecycle()
    ack_tasks = {(t.step, t.nation) for t in tasks if t.ack}
    acked: set[tuple[str, str]] = set()
    for e in events:
        if e.type == "escalated":
            machine.fire("escalate")
        elif e.type == "ack" and (e.step, e.nation) in ack_tasks:
            acked.add((e.step, e.nation))
            if acked == ack_tasks:
                machine.fire("all_acked")
        elif e.type == "closed":
            machine.fire("resolve")
        elif e.type == "cancelled":
            machine.fire("cancel")
    if tasks and all(t.state == "done" for t in tasks):
        machine.fire("resolve")
    state: Lifecycle = machine.state  # type: ignore[assignment]
    return state


def record(
    book: Playbook, inc: IncidentPayload, events: Iterable[IncidentEvent]
) -> IncidentPayload:
    """The incident with ``events`` appended (those whose key it already has are skipped)
    and its derived state recomputed."""
    keys = {e.key for e in inc.events}
    new = []
    for e in events:
        if e.key not in keys:
            keys.add(e.key)
            new.append(e)
    if not new and inc.tasks:
        return inc
    return refresh(book, _replace(inc, events=[*inc.events, *new]))


def _replace(inc: IncidentPayload, **changes: Any) -> IncidentPayload:
    import msgspec

    return msgspec.structs.replace(inc, **changes)


def refresh(book: Playbook, inc: IncidentPayload) -> IncidentPayload:
    view = derive(book, inc)
    summary = ", ".join(f"{n} {t[11:19] + 'Z' if t else 'PENDING'}" for n, t in view.acks.items())
    return _replace(
        inc,
        tasks=view.tasks,
        acks=view.acks,
        ack_summary=summary,
        status=view.status,
        next_deadline=view.next_deadline,
    )


def open_incident(
    book: Playbook,
    *,
    nation: str,
    incident_id: str,
    at: datetime,
    title: str = "",
    trigger_kind: str = "",
    trigger_report: str | None = None,
    trigger_summary: str = "",
    lat: float | None = None,
    lon: float | None = None,
    exercise: bool = False,
    by: str = "",
    joined_from: str = "",
) -> IncidentPayload:
    """A new incident of ``book`` at ``nation``'s node: opened by its trigger, by hand
    (``by``), or joined because a partner opened it (``joined_from``: the partner)."""
    kind: EventType = "joined" if joined_from else "opened"
    detail = (
        f"opened by {joined_from}'s incident"
        if joined_from
        else (f"opened by hand by {by}" if by else f"opened by {trigger_kind} {trigger_report}")
    )
    first = IncidentEvent(
        key="opened", type=kind, at=iso(at), nation=nation, who=by, report=trigger_report,
        detail=detail,
    )  # fmt: skip
    inc = IncidentPayload(
        incident_id=incident_id,
        playbook_id=book.id,
        playbook_version=book.version,
        nation=nation,
        title=title or book.title,
        opened_at=iso(at),
        trigger_kind=trigger_kind,
        trigger_report=trigger_report,
        trigger_summary=trigger_summary,
        lat=lat,
        lon=lon,
        exercise=exercise,
        events=[first],
    )
    return refresh(book, inc)


def receive_ack(
    book: Playbook,
    inc: IncidentPayload,
    ack: AckPayload,
    *,
    origin: str,
    report_id: str,
    now: datetime,
) -> IncidentPayload:
    """An acknowledgement (or step done, or a close/cancel decision) as this node received
    it. Refused inputs are recorded as ``rejected`` events naming why; nothing is lost."""

    def reject(why: str) -> IncidentPayload:
        if sum(1 for e in inc.events if e.type == "rejected") >= MAX_REJECTED_EVENTS:
            return inc  # a flood of bad input must not outgrow the report; the runner counts
        return record(book, inc, [IncidentEvent(
            key=f"rejected/{report_id}", type="rejected", at=iso(now), nation=origin,
            step=ack.step, who=ack.by, report=report_id, detail=why,
        )])  # fmt: skip

    if ack.incident_id != inc.incident_id:
        return reject(f"acknowledgement for incident {ack.incident_id!r}, not this one")
    if ack.nation != origin:
        return reject(
            f"acknowledgement says it is {ack.nation}'s but was published by {origin}'s node; "
            "each nation acknowledges in its own node"
        )
    skew = ""
    try:
        stated = parse_time(ack.at)
        off = (stated - now).total_seconds()
        if abs(off) > MAX_SKEW_S:
            skew = f"; stated time {ack.at} is {off:+.0f} s from this node's clock"
    except ValueError:
        skew = f"; stated time {ack.at!r} is not an ISO 8601 instant"
    if ack.action in ("close", "cancel"):
        if origin != inc.nation:
            return record(book, inc, [IncidentEvent(
                key=f"note/{report_id}", type="note", at=iso(now), nation=origin, who=ack.by,
                report=report_id, detail=f"{origin} decided to {ack.action} its incident"
                f"{': ' + ack.note if ack.note else ''}",
            )])  # fmt: skip
        kind: EventType = "closed" if ack.action == "close" else "cancelled"
        return record(book, inc, [IncidentEvent(
            key=kind, type=kind, at=iso(now), nation=origin, who=ack.by, role=ack.role,
            report=report_id, detail=ack.note + skew,
        )])  # fmt: skip
    try:
        step = book.step(ack.step)
    except KeyError:
        return reject(f"no step {ack.step!r} in playbook {book.id} v{book.version}")
    if origin not in step.nations:
        return reject(f"{origin} has no part in step {step.id!r} (its nations: "
                      f"{', '.join(step.nations)})")  # fmt: skip
    if step.ack and ack.action != "ack":
        return reject(f"step {step.id!r} is an acknowledgement; use action 'ack'")
    return record(book, inc, [IncidentEvent(
        key=f"{'ack' if step.ack else 'done'}/{step.id}/{origin}",
        type="ack" if step.ack else "done", at=iso(now), nation=origin, step=step.id,
        who=ack.by, role=ack.role, stated_at=ack.at, report=report_id,
        detail=(ack.note + skew).strip("; "),
    )])  # fmt: skip


def due(book: Playbook, inc: IncidentPayload, now: datetime, chain: Chain) -> list[IncidentEvent]:
    """The escalations of this nation's open tasks whose time has come and which are not
    recorded yet: level k fires at deadline + (k - 1) x interval and calls ``chain``'s person
    for that level, as the roster stood when the level fell due."""
    if inc.status in FINAL:
        return []
    have = {e.key for e in inc.events}
    out: list[IncidentEvent] = []
    for t in inc.tasks:
        if t.nation != inc.nation or t.state != "active" or t.deadline is None:
            continue
        deadline = parse_time(t.deadline)
        for level in range(1, len(book.escalation) + 1):
            fire_at = deadline + timedelta(seconds=(level - 1) * book.escalation_interval_s)
            if fire_at > now:
                break
            key = f"escalated/{t.step}/{t.nation}/{level}"
            if key in have:
                continue
            people = chain(t.role, fire_at)
            who = people[level] if level < len(people) else ""
            out.append(
                IncidentEvent(
                    key=key, type="escalated", at=iso(now), nation=t.nation, step=t.step,
                    role=book.escalation[level - 1], level=level, who=who,
                    detail=f"deadline {t.deadline} passed; level {level} "
                    f"({book.escalation[level - 1]}) due {iso(fire_at)}"
                    + ("" if who else "; nobody on the roster to call"),
                )
            )  # fmt: skip
    return out


def incident_id_for(book: Playbook, trigger_report: str) -> str:
    """The same id at every node that holds the trigger report."""
    return f"{book.id}:{trigger_report}"
