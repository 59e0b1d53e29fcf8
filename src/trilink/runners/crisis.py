"""One nation's crisis cell at its own node (``trilink crisis run``).

The runner follows its node's event stream. A report that matches a playbook's trigger opens
an incident (at every node that holds the trigger, under the same incident id); a partner's
incident this node receives and has not got opens it here too (a hand-opened incident
spreads that way). Acknowledgements published in any nation's node reach this runner as
reports its node received through federation; each is applied to the incident it names.
Every tick it asks the engine which of its own nation's deadlines have passed and publishes
the escalations as a new version of its incident report.

Survives restarts of its node: what the node did not answer for is kept and published again
(once the runner has asked the node which new incidents it did store), and the event stream
resumes where it broke. Survives its own: on start it reads its own incidents and every
acknowledgement back from its node, so a pending deadline fires once after a kill -9 (an
escalation published before the kill is in the incident's events; one decided but not
published is decided again).

It acts for one nation only, holds no key and opens no store: only its node's API token.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from trilink.client import ApiError, NodeClient, item
from trilink.crisis.incident import (
    FINAL,
    incident_id_for,
    iso,
    open_incident,
    receive_ack,
    record,
    refresh,
)
from trilink.crisis.incident import due as due_events
from trilink.crisis.playbook import Playbook
from trilink.crisis.roster import Roster, escalation_chain
from trilink.model.payloads.crisis import AckPayload, IncidentPayload

INCIDENT = "crisis.incident"
ACK = "crisis.ack"
MAX_WAITING_ACKS = 10_000  # acknowledgements kept for incidents not (yet) open here


@dataclass
class CrisisStats:
    opened: int = 0
    joined: int = 0
    acks: int = 0
    rejected: int = 0
    escalations: int = 0
    published: int = 0
    refused: int = 0
    waiting_acks: int = 0  # acknowledgements for incidents this node has not opened (yet)
    bad_reports: int = 0
    unreachable: int = 0  # publishes or loads the node did not answer (retried)
    last_problem: str = ""
    open_latency_s: list[float] = field(default_factory=list)


@dataclass
class _Held:
    payload: IncidentPayload
    report_id: str | None
    label: str
    derived_from: list[str]
    dirty: bool = False


class CrisisRunner:
    def __init__(
        self,
        client: NodeClient,
        nation: str,
        playbooks: list[Playbook],
        *,
        roster: Roster | None = None,
        clock: Callable[[], float] = time.time,
        tick_s: float = 0.25,
    ) -> None:
        self.client = client
        self.nation = nation
        self.books = {b.id: b for b in playbooks}
        self.roster = roster
        self.clock = clock
        self.tick_s = tick_s
        self.incidents: dict[str, _Held] = {}
        self.waiting: dict[str, list[tuple[AckPayload, str, str, datetime]]] = {}
        self.labels: dict[str, str] = {}  # report id -> label (trigger and partner incidents)
        self.stats = CrisisStats()
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self._unanswered = False
        self.kinds = {INCIDENT, ACK} | {k for b in playbooks for k in b.trigger_kinds}

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _chain(self, book: Playbook) -> Callable[[str, datetime], list[str]]:
        roster = self.roster

        def chain(role: str, at: datetime) -> list[str]:
            if roster is None:
                return []
            return escalation_chain(roster, role, at, book.escalation)

        return chain

    # -- start and follow ---------------------------------------------------------------
    def load(self) -> int:
        """Everything relevant the node holds, oldest first; returns the last sequence seen
        (the stream resumes after it)."""
        rows: list[dict[str, Any]] = []
        for kind in sorted(self.kinds):
            rows += self.client.reports(kind=kind)
        rows.sort(key=lambda r: (r["kind"] != INCIDENT or r["origin"] != self.nation, r["seq"]))
        for report in rows:
            self.handle(report, replay=True)
        return max((int(r["seq"]) for r in rows), default=0)

    def handle(self, report: dict[str, Any], *, replay: bool = False) -> None:
        """One report from the node (stream or start-up listing)."""
        if report.get("tombstone"):
            return
        kind = report.get("kind", "")
        try:
            if kind == INCIDENT:
                self._incident(report, replay)
            elif kind == ACK:
                self._ack(report, replay)
            else:
                self._trigger(report, replay)
        except (msgspec.ValidationError, KeyError, TypeError, ValueError) as err:
            self.stats.bad_reports += 1
            self.stats.last_problem = f"report {report.get('id')} ({kind}): {err}"

    def _trigger(self, report: dict[str, Any], replay: bool) -> None:
        payload = report["payload"]
        self.labels[report["id"]] = report["label"]
        for book in self.books.values():
            incident_id = incident_id_for(book, report["id"])
            held = self.incidents.get(incident_id)
            if held is not None:
                if int(report["version"]) > 1:
                    status = payload.get("status", "")
                    self._update(
                        held,
                        record(book, held.payload, [self._event_trigger(report, status)]),
                    )
                continue
            if not book.matches(report["kind"], payload):
                continue
            lat = payload.get("impact_lat", payload.get("lat"))
            lon = payload.get("impact_lon", payload.get("lon"))
            inc = open_incident(
                book,
                nation=self.nation,
                incident_id=incident_id,
                at=self.now(),
                trigger_kind=report["kind"],
                trigger_report=report["id"],
                trigger_summary=str(payload.get("reason") or payload.get("summary") or "")[:500],
                lat=lat if isinstance(lat, int | float) else None,
                lon=lon if isinstance(lon, int | float) else None,
                exercise=bool(payload.get("exercise", False)),
            )
            self.incidents[incident_id] = _Held(
                inc, None, report["label"], [report["id"]], dirty=True
            )
            self.stats.opened += 1
            self._apply_waiting(incident_id)
            created = report.get("created")
            if created and not replay:
                try:
                    stored = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
                    self.stats.open_latency_s.append((self.now() - stored).total_seconds())
                except ValueError:
                    pass

    def _event_trigger(self, report: dict[str, Any], status: str) -> Any:
        from trilink.model.payloads.crisis import IncidentEvent

        return IncidentEvent(
            key=f"trigger/{report['id']}/{report['version']}",
            type="trigger",
            at=iso(self.now()),
            report=report["id"],
            detail=f"{report['kind']} version {report['version']}"
            + (f": {status}" if status else ""),
        )

    def _incident(self, report: dict[str, Any], replay: bool) -> None:
        inc = msgspec.convert(report["payload"], IncidentPayload)
        self.labels[report["id"]] = report["label"]
        book = self.books.get(inc.playbook_id)
        if report["origin"] == self.nation:
            # our own record: adopt it when we do not hold it (after a restart, or opened
            # by hand with 'trilink crisis open'); otherwise we wrote it and hold newer
            if inc.incident_id not in self.incidents:
                payload = refresh(book, inc) if book is not None else inc
                self.incidents[inc.incident_id] = _Held(
                    payload, report["id"], report["label"], list(report.get("derived_from", []))
                )
                self._apply_waiting(inc.incident_id)
            return
        # a partner's incident: join it if it is new here and we know its playbook
        if inc.incident_id in self.incidents or book is None:
            return
        joined = open_incident(
            book,
            nation=self.nation,
            incident_id=inc.incident_id,
            at=self.now(),
            title=inc.title,
            trigger_kind=inc.trigger_kind,
            trigger_report=inc.trigger_report,
            trigger_summary=inc.trigger_summary,
            lat=inc.lat,
            lon=inc.lon,
            exercise=inc.exercise,
            joined_from=report["origin"],
        )
        self.incidents[inc.incident_id] = _Held(
            joined, None, report["label"], [report["id"]], dirty=True
        )
        self.stats.joined += 1
        self._apply_waiting(inc.incident_id)

    def _ack(self, report: dict[str, Any], replay: bool = False) -> None:
        ack = msgspec.convert(report["payload"], AckPayload)
        received = self.now()
        if replay:
            # it arrived while this runner was down: count it from when it was created (the
            # partner's clock, never later than now) rather than from this restart
            try:
                created = datetime.fromisoformat(str(report["created"]).replace("Z", "+00:00"))
                received = min(received, created) if created.tzinfo else received
            except (KeyError, ValueError):
                pass
        held = self.incidents.get(ack.incident_id)
        if held is None:
            if self.stats.waiting_acks >= MAX_WAITING_ACKS:
                self.stats.bad_reports += 1
                self.stats.last_problem = (
                    f"acknowledgement {report['id']} for unknown incident {ack.incident_id!r} "
                    f"dropped: {MAX_WAITING_ACKS} already wait for incidents not open here"
                )
                return
            self.waiting.setdefault(ack.incident_id, []).append(
                (ack, report["origin"], report["id"], received)
            )
            self.stats.waiting_acks = sum(len(v) for v in self.waiting.values())
            return
        self._apply_ack(held, ack, report["origin"], report["id"], received)

    def _apply_ack(
        self, held: _Held, ack: AckPayload, origin: str, report_id: str, received: datetime
    ) -> None:
        book = self.books.get(held.payload.playbook_id)
        if book is None:
            return
        before = len(held.payload.events)
        after = receive_ack(book, held.payload, ack, origin=origin, report_id=report_id,
                            now=received)  # fmt: skip
        if len(after.events) > before:
            if after.events[-1].type == "rejected":
                self.stats.rejected += 1
            else:
                self.stats.acks += 1
        elif (
            after is held.payload
            and ack.step
            and not any(e.report == report_id for e in after.events)
        ):
            self.stats.rejected += 1  # refused and not recorded: the incident's limit
        self._update(held, after)

    def _apply_waiting(self, incident_id: str) -> None:
        held = self.incidents[incident_id]
        for ack, origin, report_id, received in self.waiting.pop(incident_id, []):
            self._apply_ack(held, ack, origin, report_id, received)
        self.stats.waiting_acks = sum(len(v) for v in self.waiting.values())

    def _update(self, held: _Held, payload: IncidentPayload) -> None:
        if payload is not held.payload:
            held.payload = payload
            held.dirty = True

    # -- deadlines and publishing ---------------------------------------------------------
    def tick(self) -> None:
        now = self.now()
        for held in self.incidents.values():
            book = self.books.get(held.payload.playbook_id)
            if book is None or held.payload.status in FINAL:
                continue
            events = due_events(book, held.payload, now, self._chain(book))
            if events:
                self.stats.escalations += len(events)
                self._update(held, record(book, held.payload, events))
        self.flush()

    def flush(self) -> None:
        """Publish every incident changed since its last version, in one signed batch."""
        dirty = [h for h in self.incidents.values() if h.dirty]
        if not dirty:
            return
        if self._unanswered and any(h.report_id is None for h in dirty):
            # the last publish went unanswered: the node may have stored it; never open a
            # second record of one incident
            try:
                for r in self.client.reports(kind=INCIDENT, origin=self.nation):
                    held = self.incidents.get(r["payload"].get("incident_id"))
                    if held is not None and held.report_id is None:
                        held.report_id = r["id"]
            except ApiError as err:
                self.stats.last_problem = str(err)
                return
        items = [
            item(INCIDENT, h.label, h.payload, derived_from=h.derived_from,
                 report_id=h.report_id)
            for h in dirty
        ]  # fmt: skip
        try:
            result = self.client.publish(items)
        except ApiError as err:
            if err.status == 0:  # the node is away (restarting): keep it all, try next tick
                self.stats.unreachable += 1
                self.stats.last_problem = str(err)
                self._unanswered = True
                return
            self.stats.refused += len(items)
            self.stats.last_problem = str(err)
            for h in dirty:
                h.dirty = False  # the node said why (and audited it); do not loop on it
            return
        self._unanswered = False
        for h, stored in zip(dirty, result.reports, strict=True):
            h.report_id = stored["id"]
            h.dirty = False
        self.stats.published += len(items)

    def run(self, stop: threading.Event | None = None, *, status_every_s: float = 0.0,
            on_status: Callable[[CrisisStats], None] | None = None,
            on_ready: Callable[[int], None] | None = None) -> CrisisStats:  # fmt: skip
        """Load, then follow the node's stream and tick until ``stop`` is set; ``on_ready``
        gets the number of incidents held once loaded."""
        stop = stop or threading.Event()
        while True:
            try:
                after = self.load()
                break
            except ApiError as err:
                if err.status != 0 or stop.is_set():
                    raise
                self.stats.unreachable += 1
                self.stats.last_problem = str(err)
                stop.wait(1.0)  # the node is not up yet
        self.tick()
        if on_ready is not None:
            on_ready(len(self.incidents))
        thread = threading.Thread(target=self._follow, args=(after,), daemon=True)
        thread.start()
        last_status = time.monotonic()
        while not stop.is_set():
            try:
                report = self._queue.get(timeout=self.tick_s)
                self.handle(report)
                while True:
                    self.handle(self._queue.get_nowait())
            except queue.Empty:
                pass
            self.tick()
            if on_status and status_every_s and time.monotonic() - last_status > status_every_s:
                on_status(self.stats)
                last_status = time.monotonic()
        return self.stats

    def _follow(self, after: int) -> None:
        while True:
            try:
                for report in self.client.stream(after=after):
                    after = max(after, int(report.get("seq", after)))
                    if report.get("kind") in self.kinds:
                        self._queue.put(report)
            except ApiError as err:  # e.g. the node answering 503 while it starts again
                self.stats.last_problem = str(err)
                time.sleep(1.0)
