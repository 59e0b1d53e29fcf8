"""Duty rosters in UTC, JST and KST: who is on duty at an instant, hand-overs at local
times (also across a daylight-saving change), dated shifts, the escalation chain, problems
named with their line, and `trilink crisis roster who`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.crisis.crisis_samples import rosters
from trilink.cli.app import app
from trilink.crisis.roster import (
    check_roster_text,
    escalation_chain,
    load_roster_text,
    next_on,
    on_duty,
)

LEVELS = ("next-on-roster", "cell-lead")


def roster(nation: str):  # type: ignore[no-untyped-def]
    path = rosters()[nation]
    return load_roster_text(path.read_text("utf-8"), str(path))


def who(r, role: str, when: datetime) -> list[str]:  # type: ignore[no-untyped-def]
    return [d.person for d in on_duty(r, role, when)]


def test_three_time_zones_same_instant() -> None:
    t = datetime(2026, 12, 6, 10, 59, tzinfo=UTC)  # 19:59 JST and KST, 10:59 UTC
    assert who(roster("JPN"), "duty-officer", t) == ["jpn-day"]
    assert who(roster("KOR"), "duty-officer", t) == ["kor-day"]
    assert who(roster("USA"), "duty-officer", t) == ["usa-day"]
    t = t + timedelta(minutes=1)  # 20:00 local in Tokyo and Seoul: the night shift has it
    assert who(roster("JPN"), "duty-officer", t) == ["jpn-night"]
    assert who(roster("KOR"), "duty-officer", t) == ["kor-night"]
    assert who(roster("USA"), "duty-officer", t) == ["usa-day"]
    # overnight shift: 03:00 JST is the night officer's, who began at 20:00 the day before
    assert who(roster("JPN"), "duty-officer", datetime(2026, 12, 7, 3, 0, tzinfo=ZoneInfo(
        "Asia/Tokyo"))) == ["jpn-night"]  # fmt: skip
    assert who(roster("JPN"), "cell-lead", t) == ["jpn-lead"]


def test_handover_and_escalation_chain() -> None:
    jpn = roster("JPN")
    t = datetime(2026, 12, 6, 19, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    nxt = next_on(jpn, "duty-officer", t)
    assert [(d.person, d.start.hour) for d in nxt] == [("jpn-night", 20)]
    assert nxt[0].start.astimezone(UTC).hour == 11
    assert escalation_chain(jpn, "duty-officer", t, LEVELS) == ["jpn-day", "jpn-night",
                                                                 "jpn-lead"]  # fmt: skip


def test_local_handover_stays_local_across_daylight_saving() -> None:
    text = """nation = "USA"
timezone = "America/New_York"
cell_lead = "a"
[[person]]
id = "a"
roles = ["duty-officer"]
[[person]]
id = "b"
roles = ["duty-officer"]
[[shift]]
person = "a"
role = "duty-officer"
from = "08:00"
to = "20:00"
[[shift]]
person = "b"
role = "duty-officer"
from = "20:00"
to = "08:00"
"""
    r = load_roster_text(text, "ny.toml")
    # 2026-11-01: clocks go back; the 08:00 hand-over is 12:00Z before and 13:00Z after
    before = next_on(r, "duty-officer", datetime(2026, 10, 31, 2, 0, tzinfo=UTC))
    after = next_on(r, "duty-officer", datetime(2026, 11, 2, 2, 0, tzinfo=UTC))
    assert before[0].start.astimezone(UTC).hour == 12
    assert after[0].start.astimezone(UTC).hour == 13


def test_dated_shift_replaces_the_weekly_ones() -> None:
    text = rosters()["KOR"].read_text("utf-8") + (
        '\n[[shift]]\nperson = "kor-lead"\nrole = "duty-officer"\ndate = "2026-12-24"\n'
        'from = "08:00"\nto = "20:00"\n'
    )
    r = load_roster_text(text, "kor.toml")
    xmas = datetime(2026, 12, 24, 12, 0, tzinfo=ZoneInfo("Asia/Seoul"))
    assert who(r, "duty-officer", xmas) == ["kor-lead"]
    assert who(r, "duty-officer", xmas + timedelta(days=1)) == ["kor-day"]


def test_problems_with_lines() -> None:
    text = rosters()["JPN"].read_text("utf-8")
    bad = (
        text.replace('timezone = "Asia/Tokyo"', 'timezone = "Asia/Tokio"')
        .replace('to = "20:00"', 'to = "25:00"', 1)
        .replace('person = "jpn-night"\nrole = "pio"', 'person = "jpn-ghost"\nrole = "pio"')
    )
    found = [str(p) for p in check_roster_text(bad, "r.toml")[1]]
    lines = bad.splitlines()
    zone = lines.index('timezone = "Asia/Tokio"') + 1
    hour = lines.index('to = "25:00"') + 1
    ghost = lines.index('person = "jpn-ghost"') + 1
    assert found == [
        f"r.toml:{zone}: unknown time zone 'Asia/Tokio' (e.g. UTC, Asia/Tokyo, Asia/Seoul)",
        f"r.toml:{hour}: 'from' and 'to' must be local times HH:MM, e.g. '08:00'",
        f"r.toml:{ghost}: shift names unknown person 'jpn-ghost' (add a [[person]])",
    ]


def test_cli_roster_who() -> None:
    res = CliRunner().invoke(app, ["crisis", "roster", "who", str(rosters()["KOR"]),
                                   "--at", "2026-12-06T20:00+09:00", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["timezone"] == "Asia/Seoul" and data["on_duty"][0]["person"] == "kor-night"
    assert data["on_duty"][0]["start_utc"] == "2026-12-06T11:00:00+00:00"
    assert data["escalation_chain"] == ["kor-night", "kor-day", "kor-lead"]
    res = CliRunner().invoke(app, ["crisis", "roster", "check", *map(str, rosters().values())])
    assert res.exit_code == 0 and res.output.count(": ok: ") == 3


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["r.toml", "r.yaml"]))
def test_fuzz_roster_text(text: str, path: str) -> None:
    r, found = check_roster_text(text, path)
    assert (r is None) == bool(found)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1),
                    timezones=st.just(UTC)))  # fmt: skip
def test_someone_always_on_duty_in_the_example_rosters(when: datetime) -> None:
    for nation in ("USA", "JPN", "KOR"):
        assert len(who(roster(nation), "duty-officer", when)) == 1
