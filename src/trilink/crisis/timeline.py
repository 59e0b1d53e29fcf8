"""The after-action record of an incident: per nation, when each step became due, its
deadline, when it was done and by whom, the escalations, the acknowledgements, what was sent
to the public, and the lessons learned, as one self-contained HTML page (an inline SVG
chart, no scripts, no external files) or a PNG.

Pure: payloads in, text or bytes out.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from trilink.crisis.cap import ZONES
from trilink.crisis.incident import parse_time
from trilink.model.payloads.crisis import AlertPayload, IncidentPayload, LessonPayload

NATION_COLOURS = {"USA": "#1f4e9c", "JPN": "#b0182b", "KOR": "#2a7d3b"}


def _t(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError:
        return None


def _local(text: str | None, nation: str) -> str:
    """An instant in the nation's own time zone (JST, KST, UTC), for the cell's own log."""
    t = _t(text)
    if t is None:
        return "-"
    return t.astimezone(ZoneInfo(ZONES.get(nation, "UTC"))).strftime("%H:%M:%S %Z")


def _span(inc: IncidentPayload, alerts: Sequence[AlertPayload]) -> tuple[datetime, datetime]:
    times = [_t(inc.opened_at)]
    for t in inc.tasks:
        times += [_t(t.active_since), _t(t.deadline), _t(t.done_at)]
    times += [_t(e.at) for e in inc.events]
    times += [_t(a.sent) for a in alerts]
    known = [t for t in times if t is not None]
    start, end = min(known), max(known)
    if (end - start).total_seconds() < 1:
        end = start + timedelta(seconds=1)
    return start, end


def _svg(inc: IncidentPayload, alerts: Sequence[AlertPayload]) -> str:
    start, end = _span(inc, alerts)
    total = (end - start).total_seconds()
    left, width, row_h = 190, 760, 22
    rows = inc.tasks
    height = 40 + row_h * len(rows) + 30

    def x(t: datetime | None) -> float:
        if t is None:
            return left
        return left + width * (t - start).total_seconds() / total

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 20}" '
        f'height="{height}" font-family="sans-serif" font-size="11">',
        f'<text x="{left}" y="14">{html.escape(start.isoformat(timespec="seconds"))}</text>',
        f'<text x="{left + width}" y="14" text-anchor="end">'
        f"{html.escape(end.isoformat(timespec='seconds'))} (UTC)</text>",
    ]
    for i, task in enumerate(rows):
        y = 30 + i * row_h
        colour = NATION_COLOURS.get(task.nation, "#555")
        out.append(
            f'<text x="4" y="{y + 14}" fill="{colour}">{html.escape(task.nation)} '
            f"{html.escape(task.step)}</text>"
        )
        since, deadline, done = _t(task.active_since), _t(task.deadline), _t(task.done_at)
        if since and deadline:
            out.append(
                f'<rect x="{x(since):.1f}" y="{y + 4}" '
                f'width="{max(1.0, x(deadline) - x(since)):.1f}"'
                f' height="12" fill="{colour}" fill-opacity="0.18" stroke="{colour}">'
                f"<title>due {html.escape(task.active_since or '')} deadline "
                f"{html.escape(task.deadline or '')}</title></rect>"
            )
        if done:
            mark = "#c00" if task.late else "#080"
            out.append(
                f'<circle cx="{x(done):.1f}" cy="{y + 10}" r="5" fill="{mark}"><title>done '
                f"{html.escape(task.done_at or '')} by {html.escape(task.done_by)}</title>"
                "</circle>"
            )
        for e in inc.events:
            if e.type == "escalated" and e.step == task.step and e.nation == task.nation:
                out.append(
                    f'<path d="M{x(_t(e.at)):.1f},{y + 2} l5,8 l-10,0 z" fill="#e08000">'
                    f"<title>escalated level {e.level} to {html.escape(e.who)} at "
                    f"{html.escape(e.at)}</title></path>"
                )
    for a in alerts:
        ax = x(_t(a.sent))
        out.append(
            f'<line x1="{ax:.1f}" y1="22" x2="{ax:.1f}" y2="{height - 20}" stroke="#7030a0" '
            f'stroke-dasharray="4 3"><title>public {html.escape(a.msg_type)} '
            f"{html.escape(a.sent)}</title></line>"
        )
    out.append(
        f'<text x="4" y="{height - 6}">band: due until deadline; ● done (green on time, red '
        "late); ▲ escalation; dashed: public alert</text></svg>"
    )
    return "\n".join(out)


def timeline_html(
    inc: IncidentPayload,
    *,
    alerts: Sequence[AlertPayload] = (),
    lessons: Sequence[LessonPayload] = (),
    partners: Sequence[IncidentPayload] = (),
    label: str = "",
) -> str:
    """One incident's after-action record as a self-contained HTML page."""
    e = html.escape
    acks = "".join(
        f"<tr><td>{e(n)}</td><td>{e(t or 'not acknowledged')}</td></tr>"
        for n, t in sorted(inc.acks.items())
    )
    tasks = "".join(
        f"<tr><td>{e(t.nation)}</td><td>{e(t.step)}</td><td>{e(t.role)}</td>"
        f"<td>{e(t.active_since or '-')}</td><td>{e(t.deadline or '-')}</td>"
        f"<td>{e(t.done_at or '-')}</td><td>{e(_local(t.deadline, t.nation))}</td>"
        f"<td>{e(_local(t.done_at, t.nation))}</td><td>{e(t.done_by)}</td>"
        f"<td>{'LATE' if t.late else ('' if t.done_at else t.state)}</td>"
        f"<td>{f'level {t.level}: {e(t.called)}' if t.level else ''}</td></tr>"
        for t in inc.tasks
    )
    events = "".join(
        f"<tr><td>{e(ev.at)}</td><td>{e(ev.type)}</td><td>{e(ev.nation)}</td>"
        f"<td>{e(ev.step)}</td><td>{e(ev.who)}</td><td>{e(ev.stated_at or '')}</td>"
        f"<td>{e(ev.detail)}</td></tr>"
        for ev in inc.events
    )
    public = "".join(
        f"<tr><td>{e(a.sent)}</td><td>{e(a.msg_type)}</td><td>{e(a.headline)}</td>"
        f"<td>{e(a.released_by)} ({e(a.release_role)})</td><td>{e(a.identifier)}</td></tr>"
        for a in alerts
    )
    partner_rows = "".join(
        f"<tr><td>{e(p.nation)}</td><td>{e(p.status)}</td><td>{e(p.opened_at)}</td>"
        f"<td>{sum(1 for ev in p.events if ev.type == 'escalated')}</td></tr>"
        for p in partners
    )
    lesson_rows = "".join(
        f"<li><b>{e(x.nation)}</b> {e(x.at)} {e(x.by)}: {e(x.text)}</li>" for x in lessons
    )
    banner = f'<p class="banner">{e(label)}</p>' if label else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>After-action record: {e(inc.title)}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }}
td, th {{ border: 1px solid #bbb; padding: 3px 6px; text-align: left; }}
th {{ background: #eee; }}
.banner {{ background: #c8102e; color: #fff; text-align: center; font-weight: bold; }}
</style></head><body>
{banner}
<h1>After-action record: {e(inc.title)}</h1>
<p>Incident <code>{e(inc.incident_id)}</code>, playbook {e(inc.playbook_id)}
v{inc.playbook_version}, as recorded by {e(inc.nation)}'s node. Opened {e(inc.opened_at)};
status <b>{e(inc.status)}</b>{" (EXERCISE)" if inc.exercise else ""}.
Trigger: {e(inc.trigger_kind or "opened by hand")} {e(inc.trigger_report or "")}
{e(inc.trigger_summary)}</p>
<h2>Steps against their deadlines</h2>
{_svg(inc, alerts)}
<table><tr><th>nation</th><th>step</th><th>role</th><th>due from (UTC)</th>
<th>deadline (UTC)</th><th>done (UTC)</th><th>deadline (local)</th><th>done (local)</th>
<th>by</th><th></th><th>escalation</th></tr>{tasks}</table>
<h2>Acknowledgements</h2>
<table><tr><th>nation</th><th>received (this node's clock)</th></tr>{acks}</table>
<h2>Sent to the public</h2>
<table><tr><th>sent</th><th>type</th><th>headline</th><th>released by</th><th>CAP id</th></tr>
{public or '<tr><td colspan="5">nothing</td></tr>'}</table>
<h2>Partners' records held here</h2>
<table><tr><th>nation</th><th>status</th><th>opened</th><th>escalations</th></tr>
{partner_rows or '<tr><td colspan="4">none</td></tr>'}</table>
<h2>Event log</h2>
<table><tr><th>recorded</th><th>event</th><th>nation</th><th>step</th><th>who</th>
<th>stated time</th><th>detail</th></tr>{events}</table>
<h2>Lessons learned</h2>
<ul>{lesson_rows or "<li>none recorded</li>"}</ul>
{banner}
</body></html>
"""


def timeline_png(inc: IncidentPayload, *, alerts: Sequence[AlertPayload] = ()) -> bytes:
    """The steps-against-deadlines chart as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.dates import DateFormatter, date2num

    def num(t: datetime) -> float:
        return float(date2num(t))  # type: ignore[no-untyped-call]

    rows = inc.tasks
    fig, ax = plt.subplots(figsize=(10, 1 + 0.35 * max(1, len(rows))))
    for i, task in enumerate(rows):
        colour = NATION_COLOURS.get(task.nation, "#555")
        since, deadline, done = _t(task.active_since), _t(task.deadline), _t(task.done_at)
        if since and deadline:
            ax.barh(i, num(deadline) - num(since), left=num(since), height=0.5,
                    color=colour, alpha=0.25, edgecolor=colour)  # fmt: skip
        if done:
            ax.plot([num(done)], [i], "o", color="#c00" if task.late else "#080")
        for e in inc.events:
            if e.type == "escalated" and e.step == task.step and e.nation == task.nation:
                at = _t(e.at)
                if at is not None:
                    ax.plot([num(at)], [i], "^", color="#e08000")
    for a in alerts:
        sent = _t(a.sent)
        if sent:
            ax.axvline(num(sent), color="#7030a0", linestyle="--")
    ax.set_yticks(range(len(rows)), [f"{t.nation} {t.step}" for t in rows])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(DateFormatter("%H:%M:%S"))  # type: ignore[no-untyped-call]
    ax.set_xlabel("UTC")
    ax.set_title(f"{inc.title} ({inc.nation}'s record)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()
