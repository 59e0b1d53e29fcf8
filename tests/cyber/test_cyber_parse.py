"""Reading STIX 2.1 bundles and MISP exports (issue #18 item 2, "Bad input"): every bad
object is named with its id and property and skipped, the rest goes on; whole-file problems
are one error naming the file; the parsers are fuzzed and bounded."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cyber.helpers_cyber import BUNDLE, MISP, fixture_ids
from trilink.cyber import stixio
from trilink.cyber.errors import CyberInputError
from trilink.cyber.misp import is_misp, parse_misp
from trilink.cyber.plan import Held, plan_import, ts_key
from trilink.cyber.stixio import parse_bundle, parse_document


def bundle() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(BUNDLE.read_text())
    return doc


def test_the_fixture_bundle_reads_whole() -> None:
    parsed = parse_bundle(BUNDLE.read_bytes(), "lazarus-bundle.json")
    assert parsed.problems == []
    assert {p.id for p in parsed.objects} == fixture_ids()
    assert {p.type for p in parsed.objects} >= {
        "indicator", "malware", "attack-pattern", "intrusion-set", "report", "sighting",
        "relationship", "ipv4-addr", "identity",
    }  # fmt: skip


def test_bad_objects_are_named_and_skipped_and_the_rest_is_read() -> None:
    doc = bundle()
    objs = doc["objects"]
    bad_pattern = copy.deepcopy(objs[4])
    bad_pattern["id"] = "indicator--0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
    bad_pattern["pattern"] = "[ipv4-addr:value = '198.51.100.1'"
    unknown = {
        "type": "x-acme-widget",
        "id": "x-acme-widget--1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
    }
    missing = copy.deepcopy(objs[3])
    missing["id"] = "malware--2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"
    del missing["is_family"]
    bad_time = copy.deepcopy(objs[2])
    bad_time["id"] = "attack-pattern--3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a"
    bad_time["modified"] = "yesterday"
    doc["objects"] = [*objs, bad_pattern, unknown, missing, bad_time, 42]
    parsed = parse_document(doc, "mixed.json")
    assert {p.id for p in parsed.objects} == fixture_ids()
    found = {(p.object, p.field) for p in parsed.problems}
    assert (bad_pattern["id"], "pattern") in found
    assert (unknown["id"], "type") in found
    assert (missing["id"], "is_family") in found
    assert (bad_time["id"], "modified") in found
    assert ("objects[16]", "") in found
    assert all(str(p).startswith("mixed.json: ") for p in parsed.problems)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "top level is not a JSON object"),
        (b'{"type": "indicator"}', "top-level type"),
        (b'{"type": "bundle", "spec_version": "2.0", "objects": []}', "STIX 2.0"),
        (b'{"type": "bundle", "objects": {}}', "'objects' is not a list"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_unusable_files_are_one_error_naming_the_file(raw: bytes, message: str) -> None:
    with pytest.raises(CyberInputError, match=message) as err:
        parse_bundle(raw, "feed.json")
    assert str(err.value).startswith("feed.json")


def test_size_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CyberInputError, match="larger than"):
        parse_bundle(b" " * (stixio.MAX_FILE_BYTES + 1), "huge.json")
    doc = bundle()
    doc["objects"][4]["description"] = "x" * (stixio.MAX_OBJECT_BYTES + 1)
    parsed = parse_document(doc, "big.json")
    assert [p.object for p in parsed.problems] == [doc["objects"][4]["id"]]
    monkeypatch.setattr(stixio, "MAX_OBJECTS", 3)
    with pytest.raises(CyberInputError, match="limit is 3"):
        parse_document(bundle(), "many.json")


def test_misp_event_maps_to_stix_and_reports_what_it_skips() -> None:
    doc = json.loads(MISP.read_text())
    assert is_misp(doc) and not is_misp(bundle())
    misp = parse_misp(doc, "misp-event.json")
    (event,) = misp.events
    assert event.distribution == "1 (This community only)"
    assert event.tlp == "amber" and (event.attributes, event.mapped) == (9, 7)
    parsed = misp.parsed
    types = [p.type for p in parsed.objects]
    assert types.count("indicator") == 5 and types.count("vulnerability") == 1
    # to_ids false: an observable for context, not an indicator
    (sco,) = [p.obj for p in parsed.objects if p.type == "ipv4-addr"]
    assert sco["value"] == "192.0.2.150"
    assert {"attack-pattern", "intrusion-set", "report", "relationship"} <= set(types)
    skipped = {(p.object.split()[-1], p.field) for p in parsed.problems}
    assert skipped == {
        ("4a5b6c7d-8e9f-4a0b-9c2d-3e4f5a6b7c8d", "type"),  # comment
        ("5b6c7d8e-9f0a-4b1c-8d3e-4f5a6b7c8d9e", "type"),  # ip-dst|port
    }
    patterns = {p.obj.get("pattern") for p in parsed.objects if p.type == "indicator"}
    assert "[ipv4-addr:value = '203.0.113.77']" in patterns
    assert any("file:name = 'notice.rar' AND file:hashes.'SHA-256'" in str(x) for x in patterns)
    technique = next(p.obj for p in parsed.objects if p.type == "attack-pattern")
    assert technique["external_references"][0]["external_id"] == "T1566.002"
    assert {p.tlp for p in parsed.objects} == {"amber"}
    # ids are the attributes' uuids: a second export of the same event maps to the same ids
    again = parse_misp(doc, "misp-event.json").parsed
    assert [p.id for p in again.objects] == [p.id for p in parsed.objects]


def test_misp_values_with_quotes_stay_inside_the_pattern() -> None:
    doc = json.loads(MISP.read_text())
    doc["Event"]["Attribute"] = [
        {"uuid": "9f0a1b2c-3d4e-4f5a-8b7c-8d9e0f1a2b3c", "type": "filename",
         "value": "a' OR file:name = 'b\\", "timestamp": "1795622400"}
    ]  # fmt: skip
    doc["Event"]["Object"] = []
    parsed = parse_misp(doc, "q.json").parsed
    (ind,) = [p.obj for p in parsed.objects if p.type == "indicator"]
    assert ind["pattern"] == "[file:name = 'a\\' OR file:name = \\'b\\\\']"


def test_versions_follow_stix_modified() -> None:
    objs = parse_bundle(BUNDLE.read_bytes(), "b").objects
    ind = next(p for p in objs if p.id.startswith("indicator--8e2e"))
    held = {ind.id: Held("R1", ind.modified, ind.obj)}
    plan = plan_import([ind], held, source="b")
    assert (plan.items, plan.unchanged) == ([], 1)
    newer = copy.deepcopy(ind)
    newer.obj = {**ind.obj, "modified": "2026-11-05T00:00:00Z", "revoked": True}
    plan = plan_import([newer, ind], held, source="b")
    ((payload, rid),) = plan.items
    assert rid == "R1" and payload.revoked and plan.superseded == 1
    older = copy.deepcopy(ind)
    older.obj = {**ind.obj, "modified": "2026-10-01T00:00:00.000Z"}
    plan = plan_import([older], held, source="b")
    assert plan.items == [] and plan.problems[0].field == "modified"
    assert ts_key("2026-01-01T00:00:00Z") < ts_key("2026-01-01T00:00:00.001Z")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
stix_keys = st.sampled_from(
    ["type", "id", "spec_version", "created", "modified", "pattern", "pattern_type",
     "valid_from", "name", "object_marking_refs", "value", "is_family", "revoked"]
)  # fmt: skip
stixish = st.dictionaries(stix_keys, json_values | st.sampled_from(
    ["indicator", "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "2.1",
     "2026-01-01T00:00:00Z", "[ipv4-addr:value = '1.2.3.4']", "stix", "ipv4-addr"]
), max_size=10)  # fmt: skip


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_fuzz_bundle_bytes(raw: bytes) -> None:
    try:
        parsed = parse_bundle(raw, "fuzz.json")
    except CyberInputError:
        return
    assert (
        len(parsed.objects) + len(parsed.problems)
        <= max(parsed.total, 0) + len(parsed.markings) + parsed.total
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(stixish | json_values, max_size=6))
def test_fuzz_bundle_objects(objects: list[Any]) -> None:
    parsed = parse_document({"type": "bundle", "id": "bundle--x", "objects": objects}, "f")
    for p in parsed.objects:
        assert p.type in stixio.KNOWN_TYPES and p.id.startswith(p.type + "--")


misp_attr = st.fixed_dictionaries(
    {"type": st.sampled_from(["ip-src", "domain", "url", "md5", "filename|sha256", "comment",
                              "vulnerability", "x"]) | st.text(max_size=8),
     "value": json_values | st.text(max_size=40)},
    optional={"uuid": st.text(max_size=40), "timestamp": json_values, "comment": json_values},
)  # fmt: skip


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.fixed_dictionaries(
        {"Event": st.fixed_dictionaries(
            {"Attribute": st.lists(misp_attr | json_values, max_size=5)},
            optional={"info": json_values, "uuid": json_values, "date": json_values,
                      "timestamp": json_values, "distribution": json_values,
                      "Tag": json_values, "Galaxy": json_values, "Object": json_values},
        )}
    ) | json_values
)  # fmt: skip
def test_fuzz_misp(doc: Any) -> None:
    try:
        misp = parse_misp(doc, "fuzz-misp.json")
    except CyberInputError:
        return
    for p in misp.parsed.objects:
        assert p.type in stixio.KNOWN_TYPES
