"""After-action record (HTML a person can open, PNG) and threat assessments side by side."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import msgspec

from tests.crisis.crisis_samples import BM_EEZ, missile_warning
from trilink.crisis.cap import incident_messages
from trilink.crisis.divergence import divergence
from trilink.crisis.incident import due, iso, open_incident, receive_ack, record
from trilink.crisis.playbook import load_playbook_text
from trilink.crisis.timeline import timeline_html, timeline_png
from trilink.model.kinds import validate_payload
from trilink.model.payloads.crisis import AckPayload, AlertPayload, AssessmentPayload

BOOK = load_playbook_text(BM_EEZ.read_text("utf-8"), str(BM_EEZ))
T0 = datetime(2026, 12, 6, 10, 40, tzinfo=UTC)


def worked_incident():  # type: ignore[no-untyped-def]
    inc = open_incident(BOOK, nation="KOR", incident_id="bm-eez:R1", at=T0, title="<KN-23>",
                        trigger_kind="missile.warning", trigger_report="R1")  # fmt: skip
    for n, s in (("USA", 40), ("JPN", 20)):
        t = T0 + timedelta(seconds=s)
        inc = receive_ack(BOOK, inc, AckPayload(incident_id="bm-eez:R1", nation=n, step="ack",
                          by=f"{n.lower()}-day", at=iso(t)), origin=n, report_id=n,
                          now=t)  # fmt: skip
    return inc


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def test_timeline_html_is_a_page_a_person_can_open() -> None:
    inc = worked_incident()
    inc = record(BOOK, inc, due(BOOK, inc, T0 + timedelta(minutes=8), lambda r, a: list("abc")))
    alert, *_ = incident_messages(BOOK, inc, missile_warning(), sent=T0 + timedelta(minutes=2))
    released = AlertPayload(incident_id=inc.incident_id, nation="JPN", identifier=alert.identifier,
                            msg_type="Alert", cap_status="Exercise", sent=alert.sent,
                            headline=alert.headline, languages=["en-US"], released_by="jpn-day",
                            release_role="pio", xml=alert.xml)  # fmt: skip
    page = timeline_html(inc, alerts=[released], label="SECRET//REL TO USA, JPN, KOR")
    parser = _Parser()
    parser.feed(page)
    assert {"html", "svg", "table", "circle", "rect", "line"} <= set(parser.tags)
    assert "<script" not in page and "&lt;KN-23&gt;" in page and "<KN-23>" not in page
    assert "KOR</td><td>not acknowledged" in page and "usa-day" in page
    assert "<td>19:45:00 KST</td>" in page  # KOR's deadline in Seoul time
    assert "<td>19:40:20 JST</td>" in page  # JPN acknowledged at 10:40:20Z: Tokyo time
    assert "escalated level 1 to b" in page and "Missile launch: take shelter" in page
    png = timeline_png(inc, alerts=[released])
    assert png.startswith(b"\x89PNG") and len(png) > 5000


def assessment(nation: str, level: str, conf: float, actor: str = "DPRK", at: str = "") -> Any:
    return AssessmentPayload(event_ref="R1", nation=nation, threat_level=level,  # type: ignore[arg-type]
                             actor=actor, intent="coercion", confidence=conf,
                             rationale=f"{nation} view", at=at or iso(T0))  # fmt: skip


def test_divergence_side_by_side() -> None:
    view = divergence("R1", [
        assessment("USA", "high", 0.8),
        assessment("JPN", "critical", 0.9, actor="dprk"),
        assessment("KOR", "moderate", 0.5, at=iso(T0 - timedelta(minutes=1))),
        assessment("KOR", "elevated", 0.5),  # the newest of KOR's counts
        assessment("USA", "low", 0.1).__class__(**{**msgspec.structs.asdict(
            assessment("USA", "low", 0.1)), "event_ref": "R2"}),  # another event
    ])  # fmt: skip
    assert view["nations"] == ["USA", "JPN", "KOR"] and view["missing"] == []
    assert view["agree"] == ["actor", "intent"]
    assert view["disagree"] == ["threat_level", "confidence"]
    assert view["fields"]["threat_level"]["values"] == {
        "USA": "high", "JPN": "critical", "KOR": "elevated"}  # fmt: skip
    assert view["fields"]["threat_level"]["spread_levels"] == 2
    assert view["fields"]["confidence"]["range"] == 0.4
    for a in (assessment("USA", "high", 0.8),):
        validate_payload("crisis.assessment", msgspec.to_builtins(a))
    lonely = divergence("R9", [])
    assert lonely["nations"] == [] and lonely["missing"] == ["USA", "JPN", "KOR"]
