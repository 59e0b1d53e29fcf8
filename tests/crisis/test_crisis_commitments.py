"""The commitments register: one-off and recurring deadlines, overdue items first, owners as
roles resolved through the rosters (a new office holder changes only the roster), problems
with lines, fuzzed parser."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.crisis.crisis_samples import EXAMPLES, rosters
from trilink.cli.app import app
from trilink.crisis.commitments import (
    add_period,
    check_register_text,
    load_register_text,
    status,
)

REGISTER = EXAMPLES / "commitments.toml"
TEXT = REGISTER.read_text("utf-8")


def test_periods() -> None:
    assert add_period(date(2026, 1, 31), "1mo") == date(2026, 2, 28)
    assert add_period(date(2024, 2, 29), "1y") == date(2025, 2, 28)
    assert add_period(date(2026, 11, 15), "3mo") == date(2027, 2, 15)
    assert add_period(date(2026, 1, 1), "2w") == date(2026, 1, 15)


def test_status_overdue_first() -> None:
    reg = load_register_text(TEXT, str(REGISTER))
    rows = status(reg, date(2026, 12, 6))
    assert [(s.commitment.id, s.next_due, s.overdue_days) for s in rows] == [
        ("summit", date(2025, 11, 15), 386),
        ("ministerial", date(2026, 9, 22), 75),
        ("missile-data-sharing-review", date(2026, 12, 1), 5),
        ("hotline-test", date(2026, 12, 14), 0),
    ]
    # met: the one-off is no longer due; the recurring one moves a period on
    done = TEXT.replace('due = "2026-12-01"', 'due = "2026-12-01"\ndone = ["2026-11-30"]')
    done = done.replace('done = ["2026-06-12", "2026-09-14"]', 'done = ["2026-12-05"]')
    rows = {s.commitment.id: s for s in status(load_register_text(done, "r"), date(2026, 12, 6))}
    assert rows["missile-data-sharing-review"].next_due is None
    assert rows["hotline-test"].next_due == date(2027, 3, 5)


def test_problems_with_lines() -> None:
    bad = TEXT.replace('every = "3mo"', 'every = "quarterly"').replace(
        'owners = { USA = "cell-lead", JPN = "cell-lead", KOR = "cell-lead" }\ndue',
        'owners = { USA = "cell-lead", PRK = "cell-lead" }\ndue')  # fmt: skip
    lines = bad.splitlines()
    every = lines.index('every = "quarterly"') + 1
    prk = next(i for i, x in enumerate(lines) if "PRK" in x) + 1
    found = [str(p) for p in check_register_text(bad, "c.toml")[1]]
    assert found == [
        f"c.toml:{every}: hotline-test: 'quarterly' is not a period; write e.g. '2w', '3mo', '1y'",
        f"c.toml:{prk}: missile-data-sharing-review: unknown nation 'PRK' in owners",
    ]


def test_cli_due_names_the_role_holders(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["crisis", "commitments", "due", str(REGISTER), "--at", "2026-12-06", "--json",
            "--roster", str(rosters()["JPN"]), "--roster", str(rosters()["KOR"])]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 1  # something is overdue
    rows = json.loads(res.output)
    hotline = next(r for r in rows if r["id"] == "hotline-test")
    assert hotline["holders"] == {"JPN": ["jpn-day"], "KOR": ["kor-day"]}
    # a new office holder: only the roster changes, the register does not
    roster = tmp_path / "roster-JPN.toml"
    roster.write_text(rosters()["JPN"].read_text("utf-8").replace('"jpn-day"', '"jpn-day-2"'))
    res = runner.invoke(app, [*args[:-4], "--roster", str(roster)])
    hotline = next(r for r in json.loads(res.output) if r["id"] == "hotline-test")
    assert hotline["holders"] == {"JPN": ["jpn-day-2"]}
    ok = runner.invoke(app, ["crisis", "commitments", "check", str(REGISTER)])
    assert ok.exit_code == 0 and "ok: 4 commitments" in ok.output


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["c.toml", "c.yaml"]))
def test_fuzz_register_text(text: str, path: str) -> None:
    reg, found = check_register_text(text, path)
    assert (reg is None) == bool(found)
    if reg is not None:
        status(reg, date(2026, 12, 6))
