"""KML with time, altitude, folders and styles (#16 item 4), validated against the OGC KML
2.2 schema."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from interop_samples import DRILL, LIVE, every_kind, item, maritime_event
from xsd_validator import KML_XSD, Validator

from trilink.interop.items import Item
from trilink.interop.kml import write_kml
from trilink.interop.marking import overall_marking
from trilink.model.label import parse_label

NS = "{http://www.opengis.net/kml/2.2}"


@pytest.fixture(scope="module")
def kml_schema() -> Validator:
    return Validator(KML_XSD)


def export(items: list[Item]) -> bytes:
    marking = overall_marking([parse_label(i.label) for i in items], "USA")
    buf = io.BytesIO()
    write_kml(items, marking, "USA", buf)
    return buf.getvalue()


def test_every_kind_validates_against_the_ogc_schema(kml_schema: Validator) -> None:
    assert kml_schema.errors(export(every_kind())) == []


def test_the_schema_check_is_real(kml_schema: Validator) -> None:
    data = export([item("maritime.event", maritime_event())])
    moved = data.replace(b"<styleUrl>", b"<styleUrl2>").replace(b"</styleUrl>", b"</styleUrl2>")
    assert kml_schema.errors(moved)


def test_time_altitude_folders_styles_and_labels() -> None:
    items = every_kind()
    doc = ET.fromstring(export(items))
    document = doc.find(f"{NS}Document")
    assert document is not None
    name = document.findtext(f"{NS}name") or ""
    assert name.startswith("SECRET//REL TO USA, JPN, KOR (LIVE ") and "EXERCISE//" in name
    folders = {f.findtext(f"{NS}name"): f for f in document.findall(f"{NS}Folder")}
    assert set(folders) == {
        "Maritime events",
        "Missile tracks",
        "Missile warnings",
        "Sanctions hits",
        "Vessel tracks",
    }
    events = folders["Maritime events"]
    assert {f.findtext(f"{NS}name") for f in events.findall(f"{NS}Folder")} == {
        "from JPN",
        "from KOR",
    }
    marks = {p.get("id"): p for p in doc.iter(f"{NS}Placemark")}
    by_kind = {i.kind: i for i in items}
    track = marks[f"r{by_kind['missile.track'].id}"]
    point = track.find(f".//{NS}Point")
    assert point is not None and point.findtext(f"{NS}altitudeMode") == "absolute"
    assert (point.findtext(f"{NS}coordinates") or "").count(",") == 2  # lon,lat,height
    assert track.findtext(f"{NS}TimeStamp/{NS}when") == by_kind["missile.track"].observed
    assert track.findtext(f"{NS}styleUrl") == "#missile_track-hostile"
    event = marks[f"r{by_kind['maritime.event'].id}"]
    assert event.findtext(f"{NS}TimeSpan/{NS}begin") == "2026-11-23T05:00:00Z"
    assert event.findtext(f"{NS}TimeSpan/{NS}end") == "2026-11-23T05:40:00Z"
    for placemark in marks.values():
        label = next(
            d.findtext(f"{NS}value")
            for d in placemark.iter(f"{NS}Data")
            if d.get("name") == "label"
        )
        assert label in (LIVE, DRILL)
        assert (placemark.findtext(f"{NS}description") or "").startswith(label)
        assert (placemark.findtext(f"{NS}name") or "").startswith(f"({label})")
    styles = {s.get("id") for s in document.findall(f"{NS}Style")}
    assert {"missile_track-hostile", "sanctions_hit-suspect", "maritime_track-unknown"} <= styles


@settings(max_examples=40, deadline=None)
@given(name=st.text(max_size=100))
def test_any_text_still_gives_valid_kml(name: str) -> None:
    data = export([item("maritime.event", dict(maritime_event(), name=name))])
    assert Validator(KML_XSD).errors(data) == []
