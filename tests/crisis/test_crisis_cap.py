"""CAP 1.2 public alerts: Alert, Update (and correction) and Cancel valid against the OASIS
schema, `sent` local with offset and no fractions, references on update and cancel, info in
English, Japanese and Korean, area polygon and circle from the ellipse, only the released
fields, the release role enforced, and the Atom feed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.crisis.crisis_samples import BM_EEZ, missile_warning, rosters
from tests.interop.xsd_validator import Validator
from trilink.crisis.cap import atom_feed, cap_time, incident_messages, release_check
from trilink.crisis.incident import open_incident
from trilink.crisis.playbook import load_playbook_text
from trilink.crisis.roster import load_roster_text
from trilink.geo.ellipse import ring_is_counterclockwise

CAP_XSD = Path(__file__).resolve().parent / "schemas" / "CAP-v1.2.xsd"
NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
BOOK = load_playbook_text(BM_EEZ.read_text("utf-8"), str(BM_EEZ))
SENT = datetime(2026, 11, 23, 6, 15, 0, 123456, tzinfo=UTC)


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator(CAP_XSD)


def incident(nation: str = "JPN", exercise: bool = True):  # type: ignore[no-untyped-def]
    return open_incident(BOOK, nation=nation, incident_id="bm-eez:0193-abc", at=SENT,
                         trigger_kind="missile.warning", trigger_report="R1",
                         exercise=exercise)  # fmt: skip


@pytest.mark.parametrize("nation", ["JPN", "KOR", "USA"])
@pytest.mark.parametrize("correction", [False, True])
def test_every_message_is_valid_cap(validator: Validator, nation: str, correction: bool) -> None:
    messages = incident_messages(BOOK, incident(nation), missile_warning(), sent=SENT,
                                 correction=correction)  # fmt: skip
    assert [m.msg_type for m in messages] == ["Alert", "Update", "Cancel"]
    for m in messages:
        assert validator.errors(m.xml.encode("utf-8")) == [], m.xml
    # the schema is really applied: a Z time or an unknown msgType is refused
    zulu = messages[0].xml.replace(messages[0].sent, "2026-11-23T06:15:00Z")
    assert validator.errors(zulu.encode("utf-8")) and validator.errors(
        messages[0].xml.replace(">Alert<", ">Alarm<").encode("utf-8"))  # fmt: skip


def test_contents(validator: Validator) -> None:
    alert, update, cancel = incident_messages(BOOK, incident(), missile_warning(), sent=SENT)
    root = ET.fromstring(alert.xml)
    assert root.findtext("cap:sent", namespaces=NS) == "2026-11-23T15:15:00+09:00"
    assert root.findtext("cap:status", namespaces=NS) == "Exercise"
    langs = [i.findtext("cap:language", namespaces=NS) for i in root.findall("cap:info", NS)]
    assert langs == ["en-US", "ja-JP", "ko-KR"]
    ja = root.findall("cap:info", NS)[1]
    assert ja.findtext("cap:headline", namespaces=NS) == "ミサイル発射。避難してください"
    assert "15:09 JST頃、北緯40.3度 東経137.4度付近" in ja.findtext("cap:description",
                                                                   namespaces=NS)  # fmt: skip
    polygon = ja.findtext("cap:area/cap:polygon", namespaces=NS).split()
    assert polygon[0] == polygon[-1] and len(polygon) == 37
    assert ring_is_counterclockwise(alert.area)
    assert ja.findtext("cap:area/cap:circle", namespaces=NS) == "40.3000,137.4000 50.0"
    # update and cancel reference the alert (sender,identifier,sent)
    ref = f"{alert.sender},{alert.identifier},{alert.sent}"
    assert ET.fromstring(update.xml).findtext("cap:references", namespaces=NS) == ref
    assert ET.fromstring(cancel.xml).findtext("cap:references", namespaces=NS).split() == [
        ref, update.reference]  # fmt: skip
    assert ET.fromstring(cancel.xml).find("cap:info/cap:responseType", NS).text == "AllClear"
    # nothing the playbook does not release: launch site, tracks, probabilities, reason
    for m in (alert, update, cancel):
        assert "125.6" not in m.xml and "T7" not in m.xml and "0.9" not in m.xml
        assert "0193-abc" not in m.xml  # the incident's internal id (a report id) stays out
        assert m.redacted == ("confidence", "launch_lat", "launch_lon", "nations",
                              "p_impact_in_japan_eez", "p_overflies_japan", "reason",
                              "status", "time", "time_to_impact_s", "track_ids",
                              "warning_id")  # fmt: skip


def test_cap_time() -> None:
    from zoneinfo import ZoneInfo

    assert cap_time(SENT, ZoneInfo("Asia/Seoul")) == "2026-11-23T15:15:00+09:00"
    assert cap_time(SENT, ZoneInfo("UTC")) == "2026-11-23T06:15:00-00:00"


def test_release_role() -> None:
    jpn = load_roster_text(rosters()["JPN"].read_text("utf-8"), "jpn")
    assert release_check(BOOK, "jpn-day", jpn.people["jpn-day"].roles) is None
    why = release_check(BOOK, "jpn-lead", jpn.people["jpn-lead"].roles)
    assert why == ("jpn-lead does not hold the release role 'pio' on the roster (their roles: "
                   "cell-lead, duty-officer)")  # fmt: skip


def test_hostile_text_stays_text(validator: Validator) -> None:
    text = BM_EEZ.read_text("utf-8").replace(
        'headline_en = "Missile launch: take shelter"',
        'headline_en = "<b>&amp; </alert> {area.__class__} {nope}"')  # fmt: skip
    book = load_playbook_text(text, "h.toml")
    warning = missile_warning() | {"impact_lat": 91.0}  # outside the world: no polygon
    (alert, *_rest) = incident_messages(book, incident(), warning, sent=SENT)
    assert validator.errors(alert.xml.encode("utf-8")) == []
    assert "&lt;b&gt;&amp;amp; &lt;/alert&gt; {area.__class__} {nope}" in alert.xml
    assert "<polygon>" not in alert.xml


def test_atom_feed_is_well_formed() -> None:
    alert, *_ = incident_messages(BOOK, incident(), missile_warning(), sent=SENT)
    feed = atom_feed("JPN", [{"identifier": alert.identifier, "msg_type": "Alert",
                              "headline": alert.headline, "sent": alert.sent,
                              "xml": alert.xml}], updated="2026-11-23T06:15:00Z")  # fmt: skip
    root = ET.fromstring(feed)
    content = root.find("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}content")
    assert content is not None and ET.fromstring(content.text or "").tag.endswith("alert")
