"""Matching log lines against indicators with the STIX patterning library (issue #18 item 6)
and the sightings it makes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.cyber.helpers_cyber import BUNDLE, strict_problems
from trilink.cyber.bundle import bundle_of
from trilink.cyber.match import Matcher, sightings
from trilink.cyber.stixio import parse_objects
from trilink.model.label import parse_label


def ind(iid: str, pattern: str, **kw: object) -> dict[str, object]:
    return {"id": f"indicator--{iid}", "pattern": pattern, "pattern_type": "stix", **kw}


@pytest.fixture
def matcher() -> Matcher:
    objs = [o for o in json.loads(BUNDLE.read_text())["objects"] if o["type"] == "indicator"]
    return Matcher.from_indicators(
        [
            *objs,
            ind(
                "and",
                "[file:name = 'notice.rar' AND file:hashes.'MD5' = "
                "'0123456789abcdef0123456789abcdef']",
            ),  # fmt: skip
            ind("url", "[url:value = 'https://login-mil-portal.example/auth/verify.php']"),
            ind("mail", "[email-addr:value = 'hr-notice@mail-service.example']"),
            ind("like", "[url:value LIKE 'https://%']"),
            ind("within", "[ipv4-addr:value = '192.0.2.1'] WITHIN 10 SECONDS"),
            ind("revoked", "[ipv4-addr:value = '192.0.2.9']", revoked=True),
            ind("bad", "[ipv4-addr:value = "),
        ]
    )


def test_what_is_matched_and_what_is_not(matcher: Matcher) -> None:
    assert set(matcher.unsupported) == {"indicator--like", "indicator--within", "indicator--bad"}
    assert "indicator--revoked" not in matcher.trees
    assert matcher.match_line("fw allow 10.1.1.1 -> 198.51.100.23:443") == [
        "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
    ]
    assert matcher.match_line("dns query CELASLLC.example. A") == [
        "indicator--1f6a2c3e-5b7d-4f9a-8c1e-3d5b7f9a1c2e"
    ]
    assert matcher.match_line("198.51.100.230 is another host") == []
    # AND: both parts in the same line
    assert matcher.match_line("saved notice.rar") == []
    assert matcher.match_line("saved notice.rar md5=0123456789ABCDEF0123456789ABCDEF") == [
        "indicator--and"
    ]
    assert matcher.match_line('GET "https://login-mil-portal.example/auth/verify.php" 200') == [
        "indicator--url"
    ]
    assert matcher.match_line("From: HR-Notice@mail-service.example") == ["indicator--mail"]
    sha = "a3f5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5"
    assert matcher.match_line(f"av: {sha.upper()} quarantined") == [
        "indicator--4a8c0e2f-6b1d-4e3a-9f5c-7d9b1e3a5c7f"
    ]


def test_hits_and_sightings(matcher: Matcher) -> None:
    hits = matcher.match_lines(
        [
            "2026-11-03T01:02:00Z fw 10.1.1.1 -> 198.51.100.23",
            "nothing here",
            "2026-11-03 01:19:00 fw 10.1.1.2 -> 198.51.100.23",
        ]
    )
    (hit,) = hits.values()
    assert (hit.count, hit.lines, hit.first_time, hit.last_time) == (
        2, [1, 3], "2026-11-03T01:02:00Z", "2026-11-03T01:19:00Z",
    )  # fmt: skip
    objects = sightings(hits, "JPN", "2026-11-03T02:00:00.000Z", "fw.log")
    parsed = parse_objects(objects, "sightings")
    assert parsed.problems == []
    sighting = objects[1]
    assert sighting["sighting_of_ref"] == hit.indicator and sighting["count"] == 2
    assert sighting["where_sighted_refs"] == [objects[0]["id"]]
    label = parse_label("SECRET//REL TO USA, JPN")
    assert strict_problems(bundle_of((o, label) for o in objects)) == []


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_lines(line: str) -> None:
    objs = [o for o in json.loads(BUNDLE.read_text())["objects"] if o["type"] == "indicator"]
    m = Matcher.from_indicators(objs)
    for iid in m.match_line(line):
        assert iid in m.trees


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["ipv4-addr:value", "domain-name:value", "file:name", "file:hashes.MD5",
                     "file:hashes.'SHA-256'", "url:value", "file:value", "x:value"]),
    st.text(max_size=30),
    st.sampled_from([" = ", "=", "  =  "]),
)  # fmt: skip
def test_the_fast_pattern_path_accepts_only_what_the_grammar_accepts(
    path: str, value: str, eq: str
) -> None:
    from stix2patterns.validator import run_validator

    from trilink.cyber.patterns import simple_comparison

    quoted = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    for pattern in (f"[{path}{eq}{quoted}]", f"[{path}{eq}'{value}']"):
        found = simple_comparison(pattern)
        if found is not None:
            assert run_validator(pattern, stix_version="2.1") == [], pattern
            assert found[2] == value or pattern.endswith(f"'{value}']")


def test_file_paths_and_ports() -> None:
    m = Matcher.from_indicators(
        [ind("f", "[file:name = 'evil.dll']"), ind("d", "[domain-name:value = 'c2.example']")]
    )
    assert m.match_line(r"load C:\Windows\Temp\evil.dll") == ["indicator--f"]
    assert m.match_line("tls sni=c2.example:8443") == ["indicator--d"]
    assert m.match_line("mail from x@C2.Example") == ["indicator--d"]
    assert m.match_line("http://c2.example/path") == ["indicator--d"]
