"""`trilink crisis ...`: command-line edge of `trilink.crisis`.

Files: ``playbook check``, ``roster check``, ``roster who``. At a node (``--dir D --nation N``,
through its API only): ``run`` (the nation's crisis cell: opens incidents on triggers, applies
acknowledgements, escalates), ``open``, ``ack``, ``status``, ``cap``, ``timeline``,
``assess``, ``divergence``, ``lesson``.
"""

from __future__ import annotations

import json
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from trilink.cli.common import (
    DirOption,
    NationOption,
    client_for,
    console,
    err_console,
    nation_code,
)
from trilink.errors import InputError

app = typer.Typer(
    help="Joint crisis management: playbooks, rosters, incidents, acknowledgements, "
    "escalation, public alerts (CAP), after-action records.",
    no_args_is_help=True,
)
playbook_app = typer.Typer(help="Crisis playbooks (TOML or YAML).", no_args_is_help=True)
roster_app = typer.Typer(help="Duty rosters per nation.", no_args_is_help=True)
app.add_typer(playbook_app, name="playbook")
app.add_typer(roster_app, name="roster")
commitments_app = typer.Typer(
    help="The commitments register: agreements, meetings, deliverables owned by roles.",
    no_args_is_help=True,
)
app.add_typer(commitments_app, name="commitments")

MAX_FILE_BYTES = 1_000_000
DEFAULT_LABEL = "SECRET//REL TO USA, JPN, KOR"
PUBLIC_LABEL = "UNCLASSIFIED//REL TO USA, JPN, KOR"


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"larger than {MAX_FILE_BYTES:,} bytes", path=str(path))
        return path.read_text("utf-8")
    except FileNotFoundError:
        raise InputError("file not found", path=str(path)) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a file", path=str(path)) from None
    except UnicodeDecodeError as err:
        raise InputError(f"not UTF-8 text ({err.reason})", path=str(path)) from None


def _playbooks(paths: list[Path]) -> list[Any]:
    from trilink.crisis.playbook import load_playbook_text

    return [load_playbook_text(_read(p), str(p)) for p in paths]


def _roster(path: Path | None) -> Any:
    from trilink.crisis.roster import load_roster_text

    return load_roster_text(_read(path), str(path)) if path is not None else None


def _now_iso() -> str:
    from trilink.crisis.incident import iso

    return iso(datetime.now(UTC))


@playbook_app.command("check")
def playbook_check(
    files: list[Path] = typer.Argument(..., help="Playbook files (.toml, .yaml, .yml)."),
    rosters: list[Path] = typer.Option(
        [], "--roster", help="Also check that someone on this roster can do each step."
    ),
) -> None:
    """Check playbooks: each problem as FILE:LINE: problem (unknown role, a step nobody can
    do, a cycle, an unreachable step, unknown fields, missing messages). Exit 1 if any."""
    from trilink.crisis.playbook import check_against_roster, check_playbook_text
    from trilink.crisis.roster import check_roster_text

    holders: dict[str, set[str]] = {}
    problems = []
    unreadable: list[str] = []
    for path in rosters:
        roster, found = check_roster_text(_read(path), str(path))
        problems += found
        if roster is not None:
            holders[roster.nation] = roster.holders()
    for path in files:
        try:
            text = _read(path)
        except InputError as err:
            unreadable.append(str(err))
            continue
        book, found = check_playbook_text(text, str(path))
        if book is not None:
            found += check_against_roster(book, holders)
        problems += found
        if book is not None and not found:
            console.print(
                f"{path}: ok: playbook {book.id} v{book.version}, {len(book.steps)} steps, "
                f"trigger {', '.join(book.trigger_kinds) or 'by hand only'}",
                highlight=False,
            )
    for text in unreadable + [str(p) for p in problems]:
        console.print(text, highlight=False, markup=False)
    if problems or unreadable:
        raise typer.Exit(1)


@roster_app.command("check")
def roster_check(files: list[Path] = typer.Argument(..., help="Roster files.")) -> None:
    """Check duty rosters: each problem as FILE:LINE: problem. Exit 1 if any."""
    from trilink.crisis.roster import check_roster_text

    bad = 0
    for path in files:
        roster, problems = check_roster_text(_read(path), str(path))
        for p in problems:
            console.print(str(p), highlight=False, markup=False)
        bad += len(problems)
        if roster is not None:
            console.print(f"{path}: ok: {roster.nation}, {roster.zone.key}, "
                          f"{len(roster.people)} people, {len(roster.shifts)} shifts")  # fmt: skip
    if bad:
        raise typer.Exit(1)


@roster_app.command("who")
def roster_who(
    file: Path = typer.Argument(..., help="Roster file."),
    role: str = typer.Option("duty-officer", "--role", help="Role to look up."),
    at: str | None = typer.Option(
        None, "--at", help="Instant (ISO 8601 with zone, e.g. 2026-12-06T20:00+09:00); now."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Who holds ROLE now (or --at): on duty, the next hand-over, the escalation chain."""
    from trilink.crisis.playbook import ESCALATION_LEVELS
    from trilink.crisis.roster import escalation_chain, next_on, on_duty

    roster = _roster(file)
    when = datetime.now(UTC)
    if at:
        try:
            when = datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            raise typer.BadParameter("expected ISO 8601, e.g. 2026-12-06T20:00+09:00",
                                     param_hint="--at") from None  # fmt: skip
        if when.tzinfo is None:
            raise typer.BadParameter("give a time zone (Z, +09:00)", param_hint="--at")
    now = on_duty(roster, role, when)
    nxt = next_on(roster, role, when)
    chain = escalation_chain(roster, role, when, ESCALATION_LEVELS)

    def spell(d: Any) -> dict[str, str]:
        return {"person": d.person, "start": d.start.isoformat(), "end": d.end.isoformat(),
                "start_utc": d.start.astimezone(UTC).isoformat(),
                "end_utc": d.end.astimezone(UTC).isoformat()}  # fmt: skip

    if as_json:
        console.print_json(json.dumps({
            "nation": roster.nation, "timezone": roster.zone.key, "role": role,
            "at": when.astimezone(roster.zone).isoformat(), "on_duty": [spell(d) for d in now],
            "next": [spell(d) for d in nxt], "escalation_chain": chain,
        }, ensure_ascii=False))  # fmt: skip
        return
    local = when.astimezone(roster.zone)
    console.print(f"{roster.nation} {role} at {local:%Y-%m-%d %H:%M %Z} "
                  f"({when.astimezone(UTC):%H:%MZ}):", highlight=False)  # fmt: skip
    for d in now:
        console.print(f"  on duty: {d.describe()}", highlight=False)
    if not now:
        console.print("  on duty: nobody", highlight=False)
    for d in nxt:
        console.print(f"  next:    {d.describe()}", highlight=False)
    console.print(f"  escalation: {' -> '.join(p or '(nobody)' for p in chain)}", highlight=False)


@app.command("run")
def run(
    root: Path = DirOption,
    nation: str = NationOption,
    playbooks: list[Path] = typer.Option(..., "--playbook", help="Playbook file (repeatable)."),
    roster: Path | None = typer.Option(None, "--roster", help="This nation's duty roster."),
    seconds: float | None = typer.Option(None, "--for", help="Stop after this many seconds."),
    tick: float = typer.Option(0.25, "--tick", help="Seconds between deadline checks."),
) -> None:
    """Run NATION's crisis cell at its own node: open incidents when a trigger report
    arrives (or a partner opens one), apply acknowledgements from every nation, escalate
    this nation's missed deadlines. Restart-safe: state is read back from the node."""
    from trilink.runners.crisis import CrisisRunner

    code = nation_code(nation)
    books = _playbooks(playbooks)
    duty = _roster(roster)
    if duty is not None and duty.nation != code:
        raise InputError(f"this is {duty.nation}'s roster; the runner acts for {code}",
                         path=str(roster))  # fmt: skip
    if duty is not None:
        from trilink.crisis.playbook import check_against_roster

        for book in books:
            for problem in check_against_roster(book, {code: duty.holders()}):
                err_console.print(f"warning: {problem}", highlight=False, markup=False)
    client = client_for(root, code)
    runner = CrisisRunner(client, code, books, roster=duty, tick_s=tick)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if seconds is not None:
        timer = threading.Timer(seconds, stop.set)
        timer.daemon = True  # a cell stopped sooner must not wait for its --for to pass
        timer.start()
    err_console.print(f"{code} crisis cell: playbooks {', '.join(b.id for b in books)}; "
                      "following the node", highlight=False)  # fmt: skip
    try:
        stats = runner.run(stop, on_ready=lambda n: err_console.print(
            f"{code}: ready, {n} incidents held", highlight=False))  # fmt: skip
    except KeyboardInterrupt:
        stats = runner.stats
    err_console.print(
        f"{code}: {stats.opened} opened, {stats.joined} joined, {stats.acks} acknowledgements, "
        f"{stats.rejected} rejected, {stats.escalations} escalations, {stats.published} "
        f"versions published, {stats.refused} refused, {stats.bad_reports} bad reports, "
        f"{stats.waiting_acks} acknowledgements for incidents not open here"
        + (f"; last problem: {stats.last_problem}" if stats.last_problem else ""),
        highlight=False,
    )


@app.command("open")
def open_(
    root: Path = DirOption,
    nation: str = NationOption,
    playbook: Path = typer.Option(..., "--playbook", help="Playbook file."),
    title: str = typer.Option(..., "--title", help="What happened."),
    by: str = typer.Option(..., "--by", help="Who opens it."),
    label: str = typer.Option(DEFAULT_LABEL, "--label", help="Label of the incident."),
) -> None:
    """Open an incident by hand at NATION's node (partners' runners join it when their
    nodes receive it). Prints the incident id."""
    import uuid

    from trilink.client import item
    from trilink.crisis.incident import open_incident

    code = nation_code(nation)
    (book,) = _playbooks([playbook])
    incident_id = f"{book.id}:{uuid.uuid4()}"
    inc = open_incident(book, nation=code, incident_id=incident_id, at=datetime.now(UTC),
                        title=title, by=by)  # fmt: skip
    with client_for(root, code) as client:
        client.publish([item("crisis.incident", label, inc)])
    console.print(incident_id, highlight=False)


def _incident(client: Any, nation: str, incident_id: str) -> dict[str, Any]:
    for report in client.reports(kind="crisis.incident", origin=nation):
        if report["payload"].get("incident_id") == incident_id:
            return dict(report)
    known = [r["payload"].get("incident_id") for r in client.reports(kind="crisis.incident")]
    raise InputError(
        f"{nation}'s node holds no incident {incident_id!r} of its own"
        + (f"; known: {', '.join(sorted(set(map(str, known)))[:10])}" if known else ""),
        field="INCIDENT",
    )


@app.command("ack")
def ack(
    incident_id: str = typer.Argument(..., help="Incident id."),
    root: Path = DirOption,
    nation: str = NationOption,
    by: str = typer.Option(..., "--by", help="Who acknowledges."),
    step: str = typer.Option("ack", "--step", help="The step acknowledged or done."),
    action: str = typer.Option("ack", "--action", help="ack, done, close or cancel."),
    role: str = typer.Option("", "--role", help="The role acting."),
    note: str = typer.Option("", "--note", help="A note for the record."),
) -> None:
    """Acknowledge a step (or mark it done, or close/cancel the incident) in NATION's own
    node; partners see it when their nodes receive it."""
    from trilink.client import item
    from trilink.model.payloads.crisis import AckPayload

    code = nation_code(nation)
    if action not in ("ack", "done", "close", "cancel"):
        raise typer.BadParameter("use ack, done, close or cancel", param_hint="--action")
    with client_for(root, code) as client:
        incident = _incident(client, code, incident_id)
        payload = AckPayload(incident_id=incident_id, nation=code, action=action,  # type: ignore[arg-type]
                             step=step if action in ("ack", "done") else "", by=by, role=role,
                             at=_now_iso(), note=note)  # fmt: skip
        result = client.publish(
            [item("crisis.ack", incident["label"], payload, derived_from=[incident["id"]])]
        )
    console.print(result.ids[0], highlight=False)


@app.command("status")
def status(
    root: Path = DirOption,
    nation: str = NationOption,
    incident_id: str | None = typer.Argument(None, help="Incident id (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Incidents at NATION's node: status, who has and has not acknowledged, deadlines."""
    code = nation_code(nation)
    with client_for(root, code) as client:
        reports = (
            [_incident(client, code, incident_id)]
            if incident_id
            else client.reports(kind="crisis.incident", origin=code)
        )
    if as_json:
        console.print_json(json.dumps([r["payload"] for r in reports], ensure_ascii=False))
        return
    for r in reports:
        p = r["payload"]
        acks = ", ".join(f"{n} {'at ' + t if t else 'PENDING'}" for n, t in p["acks"].items())
        console.print(f"{p['incident_id']} [{p['status']}] {p['title']}", highlight=False,
                      markup=False)  # fmt: skip
        console.print(f"  acknowledged: {acks or '-'}; next deadline {p['next_deadline'] or '-'}",
                      highlight=False, markup=False)  # fmt: skip
        for t in p["tasks"]:
            extra = f" escalated to level {t['level']} ({t['called']})" if t["level"] else ""
            console.print(f"  {t['nation']} {t['step']} ({t['role']}): {t['state']}, deadline "
                          f"{t['deadline'] or '-'}, done {t['done_at'] or '-'}{extra}",
                          highlight=False, markup=False)  # fmt: skip


def _trigger_payload(client: Any, incident: dict[str, Any]) -> dict[str, Any]:
    p = incident["payload"]
    if not p.get("trigger_report"):
        return {}
    for report in client.reports(kind=p["trigger_kind"]):
        if report["id"] == p["trigger_report"]:
            return dict(report["payload"])
    raise InputError(f"the node no longer holds the trigger report {p['trigger_report']}",
                     field="INCIDENT")  # fmt: skip


@app.command("cap")
def cap(
    incident_id: str = typer.Argument(..., help="Incident id."),
    root: Path = DirOption,
    nation: str = NationOption,
    playbook: Path = typer.Option(..., "--playbook", help="The incident's playbook."),
    out: Path = typer.Option(..., "--out", help="Directory for the CAP messages."),
    correction: bool = typer.Option(
        False, "--correction", help="Prepare the correction instead of the update."
    ),
    release: str | None = typer.Option(
        None, "--release", help="Release this one to the public: alert, update or cancel."
    ),
    by: str = typer.Option("", "--by", help="Who releases it (must hold the release role)."),
    roster: Path | None = typer.Option(None, "--roster", help="NATION's roster (for --release)."),
) -> None:
    """Write the incident's CAP 1.2 Alert, Update and Cancel (prepared together, before the
    alert goes out; info in English, Japanese and Korean; area from the impact ellipse;
    only the fields the playbook releases). --release publishes one as an UNCLASSIFIED
    crisis.alert report, if --by holds the playbook's release role on --roster."""
    import msgspec

    from trilink.client import item
    from trilink.crisis.cap import incident_messages, release_check
    from trilink.model.payloads.crisis import AlertPayload, IncidentPayload

    code = nation_code(nation)
    (book,) = _playbooks([playbook])
    duty = _roster(roster)
    why = None
    if release is not None:
        if release not in ("alert", "update", "cancel"):
            raise typer.BadParameter("use alert, update or cancel", param_hint="--release")
        if duty is None or duty.nation != code:
            raise InputError(f"--release needs {code}'s roster (--roster) to check the role of "
                             f"{by or '--by'}")  # fmt: skip
        person = duty.people.get(by)
        why = release_check(book, by, person.roles if person else ())
    with client_for(root, code) as client:
        if why is not None:  # the refusal is the node's record too, not only this terminal's
            what = f"{release} of incident {incident_id} by {by!r}: {why}"
            client.record_decision("crisis.cap.release", "refused", what)
            raise InputError(f"release refused: {why}", field="--by")
        report = _incident(client, code, incident_id)
        incident = msgspec.convert(report["payload"], IncidentPayload)
        trigger = _trigger_payload(client, report)
        messages = incident_messages(book, incident, trigger, sent=datetime.now(UTC),
                                     correction=correction)  # fmt: skip
        out.mkdir(parents=True, exist_ok=True)
        for n, m in enumerate(messages, 1):
            path = out / f"{n:02d}-{m.msg_type.lower()}.xml"
            path.write_text(m.xml, "utf-8")
            console.print(f"{path}  {m.msg_type} {m.identifier} sent {m.sent}", highlight=False)
        if release is not None:
            chosen = {"alert": "Alert", "update": "Update", "cancel": "Cancel"}[release]
            m = next(m for m in messages if m.msg_type == chosen)
            # UNCLASSIFIED, and releasable to both partners (their nodes serve it too)
            label = ("EXERCISE//" if incident.exercise else "") + PUBLIC_LABEL
            payload = AlertPayload(
                incident_id=incident_id, nation=code, identifier=m.identifier,
                msg_type=chosen,  # type: ignore[arg-type]
                cap_status="Exercise" if incident.exercise else "Actual", sent=m.sent,
                headline=m.headline, languages=["en-US", "ja-JP", "ko-KR"],
                references=list(m.references), area=m.area, released_by=by,
                release_role=book.release_role, redacted=list(m.redacted), xml=m.xml,
            )  # fmt: skip
            ids = client.publish([item("crisis.alert", label, payload)]).ids
            console.print(f"released {chosen} as report {ids[0]} ({label})", highlight=False)


@app.command("feed")
def feed(
    root: Path = DirOption,
    nation: str = NationOption,
    out: Path | None = typer.Option(None, "--out", help="Atom file to write."),
    serve: str | None = typer.Option(
        None, "--serve", help="Serve the feed to the public at HOST:PORT (until stopped)."
    ),
) -> None:
    """The Atom feed of the public alerts NATION's node holds (UNCLASSIFIED crisis.alert
    reports only): written to --out, or served at --serve HOST:PORT as /cap.atom and
    /cap/IDENTIFIER.xml for public consumers."""
    from trilink.crisis.cap import atom_feed
    from trilink.runners.capfeed import CapFeed, public_alerts

    code = nation_code(nation)
    if out is None and serve is None:
        raise typer.BadParameter("give --out FILE or --serve HOST:PORT", param_hint="--out")
    client = client_for(root, code)
    if out is not None:
        alerts = public_alerts(client)
        out.write_text(atom_feed(code, alerts, updated=_now_iso()), "utf-8")
        console.print(f"{out}: {len(alerts)} alerts", highlight=False)
    if serve is not None:
        host, _, port = serve.rpartition(":")
        if not host or not port.isdigit():
            raise typer.BadParameter("expected HOST:PORT, e.g. 0.0.0.0:8600", param_hint="--serve")
        server = CapFeed(client, code).server(host, int(port))
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
        err_console.print(f"{code} public CAP feed at http://{serve}/cap.atom", highlight=False)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        server.server_close()


@app.command("timeline")
def timeline(
    incident_id: str = typer.Argument(..., help="Incident id."),
    root: Path = DirOption,
    nation: str = NationOption,
    out: Path = typer.Option(..., "--out", help="report.html (self-contained) or report.png."),
) -> None:
    """After-action record: per nation when each step happened against its deadline, who
    acknowledged when, escalations, what was sent to the public, lessons learned."""
    import msgspec

    from trilink.crisis.timeline import timeline_html, timeline_png
    from trilink.model.payloads.crisis import AlertPayload, IncidentPayload, LessonPayload

    code = nation_code(nation)
    with client_for(root, code) as client:
        report = _incident(client, code, incident_id)
        inc = msgspec.convert(report["payload"], IncidentPayload)
        partners = [
            msgspec.convert(r["payload"], IncidentPayload)
            for r in client.reports(kind="crisis.incident")
            if r["origin"] != code and r["payload"].get("incident_id") == incident_id
        ]
        alerts = [
            msgspec.convert(r["payload"], AlertPayload)
            for r in client.reports(kind="crisis.alert", all_versions=True)
            if r["payload"].get("incident_id") == incident_id
        ]
        lessons = [
            msgspec.convert(r["payload"], LessonPayload)
            for r in client.reports(kind="crisis.lesson")
            if r["payload"].get("incident_id") == incident_id
        ]
    if out.suffix.lower() == ".png":
        out.write_bytes(timeline_png(inc, alerts=alerts))
    else:
        out.write_text(timeline_html(inc, alerts=alerts, lessons=lessons, partners=partners,
                                     label=report["label"]), "utf-8")  # fmt: skip
    console.print(f"{out}: {len(inc.tasks)} tasks, {len(inc.events)} events, {len(alerts)} "
                  f"public messages, {len(lessons)} lessons", highlight=False)  # fmt: skip


@app.command("assess")
def assess(
    event_ref: str = typer.Argument(..., help="The report id (or incident id) assessed."),
    root: Path = DirOption,
    nation: str = NationOption,
    level: str = typer.Option(..., "--level", help="low, moderate, elevated, high, critical."),
    confidence: float = typer.Option(..., "--confidence", help="0 to 1."),
    actor: str = typer.Option("", "--actor", help="Who is behind it."),
    intent: str = typer.Option("", "--intent", help="What they intend."),
    rationale: str = typer.Option("", "--rationale", help="Why."),
    by: str = typer.Option("", "--by", help="Who assesses."),
    label: str = typer.Option(DEFAULT_LABEL, "--label", help="Label of the assessment."),
) -> None:
    """Record NATION's own threat assessment of an event, as its own report."""
    from trilink.client import item
    from trilink.model.payloads.crisis import THREAT_LEVELS, AssessmentPayload

    code = nation_code(nation)
    if level not in THREAT_LEVELS:
        raise typer.BadParameter(f"use one of {', '.join(THREAT_LEVELS)}", param_hint="--level")
    if not 0.0 <= confidence <= 1.0:
        raise typer.BadParameter("a confidence is from 0 to 1", param_hint="--confidence")
    payload = AssessmentPayload(event_ref=event_ref, nation=code, threat_level=level,  # type: ignore[arg-type]
                                actor=actor, intent=intent, confidence=confidence,
                                rationale=rationale, at=_now_iso(), by=by)  # fmt: skip
    with client_for(root, code) as client:
        ids = client.publish([item("crisis.assessment", label, payload)]).ids
    console.print(ids[0], highlight=False)


@app.command("divergence")
def divergence_cmd(
    event_ref: str = typer.Argument(..., help="The report id (or incident id) assessed."),
    root: Path = DirOption,
    nation: str = NationOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The three nations' assessments of EVENT side by side (those NATION's node holds):
    where they agree and where they disagree."""
    import msgspec

    from trilink.crisis.divergence import divergence
    from trilink.model.payloads.crisis import AssessmentPayload

    code = nation_code(nation)
    with client_for(root, code) as client:
        held = [
            msgspec.convert(r["payload"], AssessmentPayload)
            for r in client.reports(kind="crisis.assessment", all_versions=True)
        ]
    view = divergence(event_ref, held)
    if as_json:
        console.print_json(json.dumps(view, ensure_ascii=False))
        return
    console.print(f"{event_ref}: assessed by {', '.join(view['nations']) or 'nobody'}"
                  + (f"; missing {', '.join(view['missing'])}" if view["missing"] else ""),
                  highlight=False, markup=False)  # fmt: skip
    for name, f in view["fields"].items():
        values = ", ".join(f"{n} {v}" for n, v in f["values"].items())
        console.print(f"  {'agree   ' if f['agree'] else 'DISAGREE'} {name}: {values}",
                      highlight=False, markup=False)  # fmt: skip


@app.command("lesson")
def lesson(
    incident_id: str = typer.Argument(..., help="Incident id."),
    root: Path = DirOption,
    nation: str = NationOption,
    text: str = typer.Option(..., "--text", help="The lesson."),
    by: str = typer.Option("", "--by", help="Who records it."),
) -> None:
    """Record a lesson learned from an incident (partners receive it under the incident's
    label)."""
    from trilink.client import item
    from trilink.model.payloads.crisis import LessonPayload

    code = nation_code(nation)
    with client_for(root, code) as client:
        report = _incident(client, code, incident_id)
        payload = LessonPayload(incident_id=incident_id, nation=code, text=text, by=by,
                                at=_now_iso())  # fmt: skip
        ids = client.publish(
            [item("crisis.lesson", report["label"], payload, derived_from=[report["id"]])]
        ).ids
    console.print(ids[0], highlight=False)


def _register(path: Path) -> Any:
    from trilink.crisis.commitments import load_register_text

    return load_register_text(_read(path), str(path))


def _commitment_payload(register: Any, standing: Any, nation: str) -> Any:
    from trilink.model.payloads.crisis import CommitmentPayload

    c = standing.commitment
    return CommitmentPayload(
        register_id=register.id, commitment_id=c.id, nation=nation, title=c.title,
        type=c.type, level=c.level, source=c.source, owners=dict(c.owners),
        due=c.due.isoformat() if c.due else None, every=c.every,
        first=c.first.isoformat() if c.first else None, done=[d.isoformat() for d in c.done],
        next_due=standing.next_due.isoformat() if standing.next_due else None,
        overdue_days=standing.overdue_days, notes=c.notes,
    )  # fmt: skip


@commitments_app.command("due")
def commitments_due(
    file: Path = typer.Argument(..., help="Commitments register (TOML or YAML)."),
    at: str | None = typer.Option(None, "--at", help="As of this date (YYYY-MM-DD); today."),
    rosters: list[Path] = typer.Option(
        [], "--roster", help="A nation's roster: name who holds each owner role today."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """What is overdue and what comes next; the people who must act are whoever holds the
    owner roles on the rosters today (a change of office holder changes only the roster).
    Exit 1 when anything is overdue."""
    from datetime import date, time

    from trilink.crisis.commitments import status
    from trilink.crisis.roster import on_duty

    register = _register(file)
    try:
        today = date.fromisoformat(at) if at else datetime.now(UTC).date()
    except ValueError:
        raise typer.BadParameter("expected YYYY-MM-DD", param_hint="--at") from None
    duty = {r.nation: r for r in (_roster(p) for p in rosters)}
    rows: list[dict[str, Any]] = []
    for s in status(register, today):
        holders = {}
        for nation, role in s.commitment.owners.items():
            if nation in duty:
                noon = datetime.combine(today, time(12), duty[nation].zone)  # local noon
                people = [d.person for d in on_duty(duty[nation], role, noon)]
                holders[nation] = people or [
                    p.id for p in duty[nation].people.values() if role in p.roles
                ]
        rows.append({
            "id": s.commitment.id, "title": s.commitment.title, "type": s.commitment.type,
            "level": s.commitment.level, "next_due": s.next_due.isoformat() if s.next_due
            else None, "overdue_days": s.overdue_days,
            "last_done": s.last_done.isoformat() if s.last_done else None,
            "owners": s.commitment.owners, "holders": holders,
        })  # fmt: skip
    if as_json:
        console.print_json(json.dumps(rows, ensure_ascii=False))
    else:
        for r in rows:
            state = f"OVERDUE {r['overdue_days']} d" if r["overdue_days"] else "on track"
            owners = ", ".join(
                f"{n} {role}" + (f" ({'/'.join(r['holders'][n])})" if n in r["holders"] else "")
                for n, role in r["owners"].items()
            )
            console.print(f"{r['id']}: {state}; next due {r['next_due'] or '-'}; last met "
                          f"{r['last_done'] or 'never'}; owners {owners}", highlight=False,
                          markup=False)  # fmt: skip
    if any(r["overdue_days"] for r in rows):
        raise typer.Exit(1)


@commitments_app.command("check")
def commitments_check(files: list[Path] = typer.Argument(..., help="Registers.")) -> None:
    """Check commitments registers: each problem as FILE:LINE: problem. Exit 1 if any."""
    from trilink.crisis.commitments import check_register_text

    bad = 0
    for path in files:
        reg, problems = check_register_text(_read(path), str(path))
        for p in problems:
            console.print(str(p), highlight=False, markup=False)
        bad += len(problems)
        if reg is not None:
            console.print(f"{path}: ok: {len(reg.commitments)} commitments", highlight=False)
    if bad:
        raise typer.Exit(1)


@commitments_app.command("publish")
def commitments_publish(
    file: Path = typer.Argument(..., help="Commitments register."),
    root: Path = DirOption,
    nation: str = NationOption,
    label: str = typer.Option(
        "UNCLASSIFIED//REL TO USA, JPN, KOR", "--label", help="Label of the entries."
    ),
) -> None:
    """Publish the register at NATION's node: each commitment one living report, a new
    version only when it changed (its versions are the history of every change)."""
    import msgspec

    from trilink.client import item
    from trilink.crisis.commitments import status

    code = nation_code(nation)
    register = _register(file)
    today = datetime.now(UTC).date()
    with client_for(root, code) as client:
        held = {
            (r["payload"].get("register_id"), r["payload"].get("commitment_id")): r
            for r in client.reports(kind="crisis.commitment", origin=code)
        }
        items, changed = [], []
        for s in status(register, today):
            payload = _commitment_payload(register, s, code)
            old = held.get((register.id, s.commitment.id))
            if old is not None and old["payload"] == msgspec.to_builtins(payload):
                continue
            items.append(item("crisis.commitment", label, payload,
                              report_id=old["id"] if old else None))  # fmt: skip
            changed.append(s.commitment.id)
        if items:
            client.publish(items)
    console.print(f"{len(changed)} of {len(register.commitments)} commitments published"
                  + (f": {', '.join(changed)}" if changed else " (none changed)"),
                  highlight=False)  # fmt: skip
