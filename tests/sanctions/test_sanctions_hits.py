"""sanctions.hit payloads derived from hand-made maritime events."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest

from trilink.model import make_label, parse_label
from trilink.model.kinds import validate_payload
from trilink.sanctions.errors import SanctionsInputError
from trilink.sanctions.hits import derived_label, event_queries, hit_payload, screen_event
from trilink.sanctions.listset import ListSet
from trilink.sanctions.screen import Query, Screener


def _encounter(**extra: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "type": "encounter",
        "id": "0190a6f0-0000-7000-8000-000000000001",
        "start": "2024-02-13T02:00:00Z",
        "end": "2024-02-13T05:30:00Z",
        "mmsi": "413000123",
        "other_mmsi": "445000999",
        "lat": 38.61,
        "lon": 124.05,
        "vessels": [
            {"mmsi": "413000123", "name": "WAN HENG 11", "imo": None, "flag": "BZ"},
            {"mmsi": "445000999", "name": "RYE SONG GANG 1", "imo": "7389704", "flag": "KP"},
        ],
    }
    ev.update(extra)
    return ev


def test_encounter_with_two_sanctioned_vessels(screener: Screener, list_set: ListSet) -> None:
    ev = _encounter()
    p = screen_event(screener, ev, parties_of=list_set.parties_of)
    assert p is not None
    assert p.priority == "high" and p.source == "encounter"
    assert p.event_id == ev["id"] and p.event_start == ev["start"] and p.event_end == ev["end"]
    assert (p.lat, p.lon) == (38.61, 124.05)
    assert p.event == ev  # the event it derives from is kept as received
    roles = {h.role: h for h in p.hits}
    assert set(roles) == {"subject", "other"}
    assert roles["other"].rule == "imo-exact" and roles["other"].listed.imo == "7389704"
    assert roles["subject"].listed.imo == "8791667"
    assert "ship-to-ship" in p.summary
    validate_payload("sanctions.hit", msgspec.to_builtins(p))


def test_encounter_without_sanctioned_vessel_gives_nothing(screener: Screener) -> None:
    ev = _encounter(vessels=[{"mmsi": "413000123", "name": "EVER GIVEN", "imo": "9811000"},
                             {"mmsi": "445000999", "name": "OCEAN BREEZE"}])  # fmt: skip
    assert screen_event(screener, ev) is None


def test_port_visit_and_mmsi_only_event(screener: Screener) -> None:
    ev = {"type": "port_visit", "start": "2024-03-01T00:00:00Z", "mmsi": "445024000",
          "port": "Nampo", "lat": 38.73, "lon": 125.4}  # fmt: skip
    p = screen_event(screener, ev)
    assert p is not None and p.hits[0].rule == "mmsi-exact"
    assert p.hits[0].listed.imo == "9314650"  # RA NAM 3's MMSI on the UN list
    assert p.summary.startswith("port visit by a sanctioned vessel")


@pytest.mark.parametrize(
    ("before", "after", "direction"),
    [
        ({"name": "OCEAN GLORY", "imo": "9811000"}, {"name": "CHON MA SAN"}, "into"),
        ({"name": "CHON MA SAN"}, {"name": "OCEAN GLORY"}, "out of"),
    ],
)
def test_identity_change(screener: Screener, before: dict[str, str], after: dict[str, str],
                         direction: str) -> None:  # fmt: skip
    ev = {"type": "identity_change", "mmsi": "352000111", "start": "2024-01-01T00:00:00Z",
          "before": before, "after": after}  # fmt: skip
    p = screen_event(screener, ev)
    assert p is not None
    assert f"identity change {direction} a sanctioned identity" in p.summary
    assert len(p.hits) == 1 and p.hits[0].listed.imo == "8660313"


def test_event_queries_roles() -> None:
    pairs = event_queries(_encounter())
    assert [r for r, _q in pairs] == ["subject", "other"]
    assert pairs[1][1] == Query(name="RYE SONG GANG 1", imo="7389704", mmsi="445000999",
                                flag="KP")  # fmt: skip
    only_ids = event_queries({"type": "encounter", "mmsi": 445114000, "other_mmsi": "1"})
    assert [(r, q.mmsi) for r, q in only_ids] == [("subject", "445114000"), ("other", "1")]


def test_bad_events_are_refused(screener: Screener) -> None:
    # an unknown position (NaN) never loses the hit: it becomes null
    p = screen_event(screener, _encounter(lat=math.nan, extra={"speed_kn": math.inf}))
    assert p is not None and p.lat is None and p.event["lat"] is None
    assert p.event["extra"] == {"speed_kn": None}
    validate_payload("sanctions.hit", msgspec.to_builtins(p))
    with pytest.raises(SanctionsInputError, match="number"):
        screen_event(screener, _encounter(lat="38N"))
    with pytest.raises(SanctionsInputError, match="outside"):
        screen_event(screener, _encounter(lon=200.0))
    with pytest.raises(SanctionsInputError, match="list"):
        event_queries({"type": "encounter", "vessels": "WAN HENG 11"})
    with pytest.raises(SanctionsInputError, match="object"):
        event_queries(["not", "a", "dict"])  # type: ignore[arg-type]
    assert hit_payload({"type": "encounter"}, []) is None


def test_label_propagation() -> None:
    event_label = parse_label("SECRET//REL TO USA, JPN")
    assert derived_label(event_label) == event_label
    public = make_label("UNCLASSIFIED", ["USA", "JPN", "KOR"])
    assert derived_label(public) == public
    noforn = parse_label("CONFIDENTIAL//NOFORN")
    assert derived_label(noforn).rel_to == frozenset()


def test_ais_static_message(screener: Screener) -> None:
    # as decoded from an AIS type 5 message: IMO 0 means "not available"
    ev = {"type": "ais_static", "mmsi": "445039000", "name": "HOE RYONG", "imo": 0,
          "call_sign": "HMLM"}  # fmt: skip
    assert event_queries(ev)[0][1] == Query(name="HOE RYONG", mmsi="445039000",
                                            call_sign="HMLM")  # fmt: skip
    p = screen_event(screener, ev)
    assert p is not None and p.source == "ais_static"
    assert p.hits[0].listed.imo == "9041552" and p.hits[0].rule == "mmsi+name"
    assert p.summary.startswith("sanctioned vessel in AIS static data")
    assert screen_event(screener, {"type": "ais_static", "mmsi": "211000001",
                                   "name": "OCEAN BREEZE", "imo": 0}) is None  # fmt: skip


def test_maritime_engine_event_payloads(screener: Screener) -> None:
    """Events in the shape of the maritime engine's ``maritime.event`` payload."""
    from trilink.model.payloads.maritime import MaritimeEventPayload

    enc = MaritimeEventPayload(
        type="encounter", start="2024-02-13T02:00:00Z", end="2024-02-13T05:30:00Z",
        mmsi=413000123, other_mmsi=445024000, lat=38.6, lon=124.0, name="OCEAN BREEZE",
        other_name="RA NAM 3", duration_h=3.5,
    )  # fmt: skip
    p = screen_event(screener, msgspec.to_builtins(enc))
    assert p is not None and [h.role for h in p.hits] == ["other"]
    assert p.hits[0].listed.imo == "9314650" and p.hits[0].rule == "mmsi+name"

    rename = MaritimeEventPayload(
        type="identity_change", start="2024-03-01T00:00:00Z", end="2024-03-01T00:00:00Z",
        mmsi=352000111, lat=39.0, lon=124.5, name="CHON MA SAN",
        details={"field": "name", "old": "OCEAN GLORY", "new": "CHON MA SAN"},
    )  # fmt: skip
    p = screen_event(screener, msgspec.to_builtins(rename))
    assert p is not None and p.summary.startswith("identity change into a sanctioned identity")
    assert [h.role for h in p.hits] == ["after"] and p.hits[0].listed.imo == "8660313"

    new_mmsi = MaritimeEventPayload(
        type="identity_change", start="2024-03-01T00:00:00Z", end="2024-03-01T00:00:00Z",
        mmsi=352000999, other_mmsi=445024000,
        details={"field": "mmsi", "old": "445024000", "new": "352000999", "imo": "9314650"},
    )  # fmt: skip
    p = screen_event(screener, msgspec.to_builtins(new_mmsi))
    assert p is not None and {h.role for h in p.hits} == {"before", "after"}
    assert {h.listed.imo for h in p.hits} == {"9314650"}
    rules = {h.role: h.rule for h in p.hits}
    assert rules == {"before": "imo-exact", "after": "imo-exact"}
