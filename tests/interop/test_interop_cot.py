"""Cursor-on-Target that TAK accepts (#16 item 2): every event validates against the public
CoT Event 2.0 schema, and carries what a TAK user needs: one uid per track, the observation
time, a stale that means something, how the position was made, the 2525 type with the
object's affiliation, height and errors from the data, the exercise flag, the label, and the
uncertainty as a shape."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from interop_samples import (
    DRILL,
    LIVE,
    every_kind,
    item,
    maritime_event,
    maritime_track,
    missile_track,
    missile_warning,
    sanctions_hit,
)
from xsd_validator import COT_XSD, Validator

from trilink.interop.cot import (
    cot_event,
    delete_event,
    events_of,
    uid_of,
    write_data_package,
)
from trilink.interop.marking import overall_marking
from trilink.model.label import parse_label


@pytest.fixture(scope="module")
def cot_schema() -> Validator:
    return Validator(COT_XSD)


def parsed(event: str) -> ET.Element:
    return ET.fromstring(event)


def test_every_event_of_every_kind_validates(cot_schema: Validator) -> None:
    events = list(events_of(every_kind()))
    assert len(events) == 7  # T7 once (newest), T8, warning, two events, vessel, hit
    for uid, event in events:
        assert cot_schema.errors(event.encode()) == [], uid


def test_the_schema_check_catches_what_the_old_export_did(cot_schema: Validator) -> None:
    """The validator is real: the old export's <events> root and an exponent in hae fail."""
    (_, event) = next(events_of([item("missile.track", missile_track(0))]))
    assert cot_schema.errors(f"<events>{event}</events>".encode())
    broken = event.replace('hae="100000.0"', 'hae="1e5"')
    assert broken != event and cot_schema.errors(broken.encode())


def test_one_event_per_track_with_a_stable_uid() -> None:
    states = [item("missile.track", missile_track(k)) for k in range(4)]
    events = list(events_of(states))
    assert len(events) == 1
    uid, event = events[0]
    assert uid == "trilink:USA:missile.track:T7" == uid_of(states[0])
    # the newest observation wins, whatever order the reports came in
    assert parsed(event).get("time") == "2026-11-23T06:00:30.000Z"
    assert dict(events_of(reversed(states)))[uid] == event


def test_missile_track_semantics() -> None:
    track = item("missile.track", missile_track(1))
    ev = parsed(cot_event(track))
    assert ev.get("type") == "a-h-A-W-M"  # hostile missile in flight
    assert ev.get("how") == "m-f"  # fused from two nations' radars
    assert ev.get("time") == ev.get("start") == "2026-11-23T06:00:10.000Z"
    assert ev.get("stale") == "2026-11-23T06:01:10.000Z"  # 60 s: tracks update every few s
    assert ev.get("opex") == "o" and ev.get("access") == LIVE
    point = ev.find("point")
    assert point is not None
    assert float(point.get("hae", "0")) == pytest.approx(120_000.0)
    assert float(point.get("ce", "0")) == pytest.approx(500.0, rel=1e-3)  # 1-sigma
    assert float(point.get("le", "0")) == pytest.approx(500.0, rel=0.05)
    ellipse = ev.find("detail/shape/ellipse")
    assert ellipse is not None  # the 95 % uncertainty as a shape, not a second marker
    assert float(ellipse.get("major", "0")) == pytest.approx(2.4477 * 500.0, rel=0.05)
    course = ev.find("detail/track")
    assert course is not None and 0 <= float(course.get("course", "-1")) < 360
    remarks = ev.find("detail/remarks")
    assert remarks is not None and (remarks.text or "").startswith(LIVE)
    assert ev.find("detail/contact").get("callsign") == "track T7 (USA)"  # type: ignore[union-attr]
    single = parsed(cot_event(item("missile.track", missile_track(0, "T8", ["USA"]))))
    assert single.get("how") == "m-f"  # two radars of one nation are fused too
    one_radar = dict(missile_track(0, "T9", ["USA"]), sensors=["USA-TPY2-1"])
    assert parsed(cot_event(item("missile.track", one_radar))).get("how") == "m"


def test_vessels_events_hits_and_warnings() -> None:
    ship = parsed(cot_event(item("maritime.track", maritime_track(), DRILL)))
    assert ship.get("type") == "a-u-S-X-M-C"  # unknown cargo ship
    assert ship.get("how") == "m-g" and ship.get("opex") == "e"  # AIS; exercise flagged
    assert ship.get("uid") == "trilink:USA:maritime.track:353136000"
    assert ship.find("point").get("hae") == "9999999.0"  # type: ignore[union-attr]
    speed = ship.find("detail/track").get("speed")  # type: ignore[union-attr]
    assert float(speed or "0") == pytest.approx(12.5 * 1852 / 3600, rel=1e-3)

    hit = parsed(cot_event(item("sanctions.hit", sanctions_hit())))
    assert hit.get("type") == "a-s-S-X"  # a suspect vessel
    event = parsed(cot_event(item("maritime.event", maritime_event())))
    assert event.get("type") == "b-m-p-s-p-i"  # a place where something happened
    assert event.get("time") == "2026-11-23T05:00:00.000Z"
    assert event.get("stale") == "2026-11-23T06:40:00.000Z"  # end + 1 h
    dark = parsed(cot_event(item("maritime.event", maritime_event(None))))
    assert dark.get("type") == "a-u-S" and dark.get("how") == "m-i"  # seen on SAR imagery

    warning = parsed(cot_event(item("missile.warning", missile_warning())))
    assert warning.get("how") == "m-p"  # a predicted impact point
    assert warning.get("stale") == "2026-11-23T06:19:00.000Z"  # impact + 10 min
    point = warning.find("point")
    assert point is not None and point.get("lat") == "40.300000"
    shape = warning.find("detail/shape/ellipse")
    assert shape is not None and shape.get("major") == "50000.0" and shape.get("angle") == "75"


def test_a_cancelled_warning_is_stale_at_once_and_left_out_of_files() -> None:
    cancelled = item("missile.warning", missile_warning("cancel"))
    event = parsed(cot_event(cancelled))
    assert event.get("stale") == event.get("time")
    assert list(events_of([cancelled])) == []
    assert len(list(events_of([cancelled], include_ended=True))) == 1


def test_delete_event_validates(cot_schema: Validator) -> None:
    event = delete_event("trilink:abc", datetime(2026, 11, 23, tzinfo=UTC), LIVE)
    assert cot_schema.errors(event.encode()) == []
    assert parsed(event).get("type") == "t-x-d-d"


def test_data_package_holds_one_event_per_file(cot_schema: Validator) -> None:
    items = every_kind()
    marking = overall_marking([parse_label(i.label) for i in items], "USA")
    buf = io.BytesIO()
    count = write_data_package(items, marking, "USA", buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as package:
        names = package.namelist()
        manifest = ET.fromstring(package.read("MANIFEST/manifest.xml"))
        entries = [c.get("zipEntry") for c in manifest.iter("Content")]
        assert sorted(entries) == sorted(n for n in names if n.endswith(".cot"))  # type: ignore[type-var]
        assert len(entries) == count == 7
        for name in entries:
            body = package.read(str(name))
            assert cot_schema.errors(body) == [], name
            assert body.count(b"<event ") == 1
        assert package.read("MARKING.txt").decode().strip() == marking.text
    name = manifest.find("Configuration/Parameter[@name='name']")
    assert name is not None and name.get("value", "").startswith(marking.text)


@settings(max_examples=60, deadline=None)
@given(
    title=st.text(max_size=200),
    lat=st.floats(-90, 90, allow_nan=False),
    lon=st.floats(-180, 180, allow_nan=False),
)
def test_any_note_text_still_gives_a_valid_event(title: str, lat: float, lon: float) -> None:
    """Report text comes from partners and sensors: control characters, markup, quotes."""
    payload = dict(maritime_event(), name=title, lat=lat, lon=lon)
    (_, event) = next(events_of([item("maritime.event", payload)]))
    assert Validator(COT_XSD).errors(event.encode()) == []
