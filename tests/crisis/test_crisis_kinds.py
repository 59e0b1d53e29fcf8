"""The crisis kinds go everywhere a registered kind goes: validated by their schema, drawn
(incident at its point, public alert as its area) and exported as RFC 7946 GeoJSON and KML
valid against the OGC schema, with the fields the COP panel shows first."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import msgspec

from tests.crisis.crisis_samples import BM_EEZ, missile_warning
from tests.interop.interop_samples import item
from tests.interop.rfc7946 import check
from tests.interop.xsd_validator import KML_XSD, Validator
from trilink.crisis.cap import incident_messages
from trilink.crisis.incident import open_incident
from trilink.crisis.playbook import load_playbook_text
from trilink.interop.geojson import write_geojson
from trilink.interop.kml import write_kml
from trilink.interop.marking import overall_marking
from trilink.model.kinds import spec_for
from trilink.model.label import parse_label
from trilink.model.payloads.crisis import AlertPayload

BOOK = load_playbook_text(BM_EEZ.read_text("utf-8"), str(BM_EEZ))
T0 = datetime(2026, 11, 23, 6, 1, tzinfo=UTC)


def crisis_items() -> list:  # type: ignore[type-arg]
    inc = open_incident(
        BOOK,
        nation="JPN",
        incident_id="bm-eez:R1",
        at=T0,
        lat=40.3,
        lon=137.4,
        trigger_kind="missile.warning",
        trigger_report="R1",
    )
    alert, *_ = incident_messages(BOOK, inc, missile_warning(), sent=T0)
    released = AlertPayload(incident_id=inc.incident_id, nation="JPN", identifier=alert.identifier,
                            msg_type="Alert", cap_status="Exercise", sent=alert.sent,
                            headline=alert.headline, languages=["en-US", "ja-JP", "ko-KR"],
                            area=alert.area, released_by="jpn-day", release_role="pio",
                            xml=alert.xml)  # fmt: skip
    return [
        item("crisis.incident", msgspec.to_builtins(inc), origin="JPN"),
        item(
            "crisis.alert",
            msgspec.to_builtins(released),
            "UNCLASSIFIED//REL TO USA, JPN, KOR",
            origin="JPN",
        ),  # fmt: skip
    ]


def test_panel_fields_titles_and_lifecycle() -> None:
    from trilink.model.payloads.crisis import KINDS, IncidentPayload

    for spec in KINDS:
        assert set(spec.panel) <= set(spec.payload.__struct_fields__), spec.kind
    incident = spec_for("crisis.incident")
    inc = crisis_items()[0].payload
    assert isinstance(inc, IncidentPayload)
    assert incident.title(inc) == f"incident {BOOK.title} (JPN)"
    assert incident.status(inc) == "open" and not incident.ended(inc)
    done = msgspec.structs.replace(inc, status="cancelled")
    assert incident.ended(done)
    assert incident.track(inc) == "incident:JPN:bm-eez:R1"


def test_geojson_and_kml_exports() -> None:
    items = crisis_items()
    marking = overall_marking([parse_label(i.label) for i in items], "USA")
    buf = io.BytesIO()
    write_geojson(items, marking, "USA", buf)
    check(buf.getvalue())
    doc = json.loads(buf.getvalue())
    kinds = {f["properties"]["kind"]: f for f in doc["features"]}
    assert kinds["crisis.incident"]["geometry"]["type"] == "Point"
    assert kinds["crisis.incident"]["properties"]["ack_JPN"] == "pending"
    assert kinds["crisis.alert"]["geometry"]["type"] == "Polygon"
    kml = io.BytesIO()
    write_kml(items, marking, "USA", kml)
    assert Validator(KML_XSD).errors(kml.getvalue()) == []
