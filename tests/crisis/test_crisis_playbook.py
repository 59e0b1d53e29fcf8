"""Playbooks: the example is clean; each kind of problem is named with file and line; the
YAML form checks the same; `trilink crisis playbook check` prints FILE:LINE: problem; the
parser never fails on arbitrary input (hypothesis)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.crisis.crisis_samples import BM_EEZ, rosters
from trilink.cli.app import app
from trilink.crisis.playbook import (
    PlaybookError,
    check_playbook_text,
    load_playbook_text,
    parse_duration,
)
from trilink.crisis.source import toml_lines

TEXT = BM_EEZ.read_text("utf-8")


def line_of(text: str, needle: str, nth: int = 1) -> int:
    count = 0
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            count += 1
            if count == nth:
                return number
    raise AssertionError(needle)


def problems(text: str, path: str = "p.toml") -> list[str]:
    return [str(p) for p in check_playbook_text(text, path)[1]]


def test_example_playbook_is_clean() -> None:
    book = load_playbook_text(TEXT, str(BM_EEZ))
    assert book.id == "bm-eez" and book.start == ("ack",)
    assert [s.id for s in book.steps] == ["ack", "public-alert", "assess", "review"]
    assert book.step("ack").deadline_s == 300 and book.step("ack").ack
    assert book.escalation == ("next-on-roster", "cell-lead")
    assert set(book.messages) == {"alert", "update", "correction", "cancel"}
    assert book.matches("missile.warning", {"p_impact_in_japan_eez": 0.5, "status": "issue"})
    assert not book.matches("missile.warning", {"p_impact_in_japan_eez": 0.49, "status": "x"})
    assert not book.matches("missile.warning", {"p_impact_in_japan_eez": 0.9, "status": "cancel"})
    assert not book.matches("maritime.event", {"p_impact_in_japan_eez": 0.9})


def test_unknown_role_names_the_line() -> None:
    bad = TEXT.replace('role = "pio"', 'role = "spokesman"', 1)
    line = line_of(bad, 'role = "spokesman"')
    assert problems(bad) == [
        f"p.toml:{line}: step 'public-alert': unknown role 'spokesman' (no nation in [roles] "
        "has it; roles are: cell-lead, duty-officer, pio)"
    ]


def test_step_nobody_can_do() -> None:
    bad = TEXT.replace('nation = "JPN"\nrole = "pio"', 'nation = "KOR"\nrole = "pio"')
    line = line_of(bad, 'role = "pio"')
    assert problems(bad) == [
        f"p.toml:{line}: step 'public-alert': nobody can do it for KOR: KOR's cell has no "
        "role 'pio'"
    ]
    # with rosters: a role declared for the cell but held by nobody on its roster
    no_pio = TEXT.replace('USA = ["duty-officer", "cell-lead"]',
                          'USA = ["duty-officer", "cell-lead", "pio"]').replace(
        'nation = "JPN"\nrole = "pio"', 'nations = ["JPN", "USA"]\nrole = "pio"')  # fmt: skip
    assert problems(no_pio) == []


def test_cycle_and_unreachable_steps() -> None:
    bad = TEXT.replace('message = "alert"\nnext = ["review"]', 'message = "alert"\nnext = ["ack"]')
    bad = bad.replace('start = ["ack"]', 'start = ["ack"]')
    out = problems(bad)
    cycle_line = line_of(bad, 'next = ["ack"]')
    assert f"p.toml:{cycle_line}: steps form a cycle: ack -> public-alert -> ack" in out
    orphan = TEXT + '\n[[step]]\nid = "orphan"\nnation = "USA"\nrole = "cell-lead"\n' \
        'deadline = "1m"\n'  # fmt: skip
    line = line_of(orphan, 'id = "orphan"') - 1  # the [[step]] header
    assert problems(orphan) == [
        f"p.toml:{line}: step 'orphan' is unreachable: no path of 'next' from the start "
        "step(s) ack leads to it"
    ]


def test_other_problems_all_reported_with_lines() -> None:
    bad = (
        TEXT.replace('deadline = "3m"', 'deadline = "soon"')
        .replace('field = "p_impact_in_japan_eez"', 'field = "p_eez"')
        .replace('next = ["public-alert", "assess"]', 'next = ["public-alert", "asess"]')
        .replace("[messages.cancel]", "[messages.cancelled]")
        .replace(
            'nations = ["USA", "JPN", "KOR"]\nrole = "cell-lead"',
            'nations = ["USA", "JPN", "PRK"]\nrole = "cell-lead"',
        )  # fmt: skip
    )
    out = problems(bad)
    assert f"p.toml:{line_of(bad, 'soon')}: step 'public-alert': 'soon' is not a duration; " \
        "write e.g. '30s', '5m' or '1h'" in out  # fmt: skip
    assert any(p.startswith(f"p.toml:{line_of(bad, 'p_eez')}: missile.warning reports have "
                            "no field 'p_eez'") for p in out)  # fmt: skip
    assert f"p.toml:{line_of(bad, 'asess')}: step 'ack': next step 'asess' does not exist" in out
    assert f"p.toml:{line_of(bad, 'cancelled]')}: unknown message 'cancelled'; use alert, " \
        "update, correction, cancel" in out  # fmt: skip
    assert any("no pre-written 'cancel' message" in p for p in out)
    assert any(f"p.toml:{line_of(bad, 'PRK')}: step 'review': unknown nation 'PRK'" in p
               for p in out)  # fmt: skip
    with pytest.raises(PlaybookError) as err:
        load_playbook_text(bad, "p.toml")
    assert len(err.value.problems) == len(out) and "more problems" in str(err.value)


def test_syntax_errors_name_the_line() -> None:
    assert problems('[playbook]\nid = "x"\nversion = = 2\n') == [
        "p.toml:3: not valid TOML: Invalid value (at line 3, column 11)"
    ]
    out = problems("playbook:\n  id: x\n   bad: [\n", "p.yaml")
    assert len(out) == 1 and out[0].startswith("p.yaml:3: not valid YAML")


def test_yaml_playbook_checks_the_same() -> None:
    import tomllib

    data = tomllib.loads(TEXT)
    data["step"][1]["role"] = "spokesman"
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    line = line_of(text, "role: spokesman")
    out = problems(text, "p.yaml")
    assert len(out) == 1 and out[0].startswith(f"p.yaml:{line}: step 'public-alert': unknown")


def test_durations() -> None:
    assert parse_duration("90s") == 90 and parse_duration("5m") == 300
    assert parse_duration("1.5h") == 5400 and parse_duration(45) == 45
    for bad in ("0s", "-1m", "8d", "soon", True, None, "9999h"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_toml_lines_of_nested_tables() -> None:
    lines = toml_lines(TEXT)
    assert lines.line(("trigger", "when", 1, "op")) == line_of(TEXT, 'op = "!="')
    assert lines.line(("step", 3, "role")) == line_of(TEXT, 'role = "cell-lead"')
    assert lines.line(("messages", "cancel", "text_ko")) == line_of(TEXT, "text_ko", 4)
    assert lines.line(("step", 3, "missing")) == line_of(TEXT, 'id = "review"') - 1


def test_cli_check_prints_file_line_problem(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["crisis", "playbook", "check", str(BM_EEZ),
                             *[f"--roster={p}" for p in rosters().values()]])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert "ok: playbook bm-eez v1, 4 steps" in ok.output
    bad = tmp_path / "bad.toml"
    bad.write_text(TEXT.replace('role = "pio"', 'role = "spokesman"', 1), "utf-8")
    res = runner.invoke(app, ["crisis", "playbook", "check", str(bad)])
    assert res.exit_code == 1
    assert f"{bad}:{line_of(bad.read_text(), 'spokesman')}: step 'public-alert': unknown role" \
        in res.output  # fmt: skip
    # a roster without anyone holding the role the step needs
    roster = tmp_path / "roster-JPN.toml"
    text = rosters()["JPN"].read_text().replace('"duty-officer", "pio"', '"duty-officer"')
    roster.write_text(re.sub(r'\[\[shift\]\]\nperson = "[a-z-]+"\nrole = "pio"\n[^\[]*', "", text))
    res = runner.invoke(app, ["crisis", "playbook", "check", str(BM_EEZ), "--roster", str(roster)])
    assert res.exit_code == 1
    pio = line_of(TEXT, 'role = "pio"')
    assert f"{BM_EEZ}:{pio}: step 'public-alert': nobody on JPN's " \
        "roster holds role 'pio'" in res.output  # fmt: skip
    missing = runner.invoke(app, ["crisis", "playbook", "check", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 1 and "nope.toml: file not found" in missing.output


_LINES = TEXT.splitlines()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_fuzz_any_text_gives_problems_not_crashes(text: str) -> None:
    for path in ("f.toml", "f.yaml"):
        book, found = check_playbook_text(text, path)
        assert book is None or not found
        assert all(p.line is None or p.line >= 1 for p in found)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, len(_LINES) - 1), st.sampled_from(
            ["", "x", '"', "[", "]]", "= 1", 'role = "ghost"', 'next = ["ack"]', "[[step]]",
             'deadline = "-1s"', "nations = []", "ack = 3", 'id = "ack"', "[roles]\nUSA = 1"])),
        max_size=6,
    )
)  # fmt: skip
def test_fuzz_mutated_playbooks_report_lines(edits: list[tuple[int, str]]) -> None:
    lines = list(_LINES)
    for index, text in edits:
        lines[index] = text
    mutated = "\n".join(lines)
    book, found = check_playbook_text(mutated, "m.toml")
    assert (book is None) == bool(found)
    total = mutated.count("\n") + 1
    for p in found:
        assert p.path == "m.toml" and (p.line is None or 1 <= p.line <= total), p
        assert p.message


def test_maritime_yaml_example_and_unknown_tables() -> None:
    path = BM_EEZ.parent / "maritime-incursion.yaml"
    book = load_playbook_text(path.read_text("utf-8"), str(path))
    assert book.trigger_kinds == ("maritime.event",)
    assert book.matches("maritime.event", {"type": "foreign_fishing"})
    assert not book.matches("maritime.event", {"type": "port_visit"})
    assert book.step("review").deadline_s == 7200 and not book.messages
    roster = rosters()["USA"]
    out = problems(roster.read_text("utf-8"), "r.toml")
    assert "r.toml:6: unknown table 'person'" in out and "r.toml:1: no [playbook] table " \
        "(id, version, title)" not in out  # fmt: skip


def test_alias_bombs_and_deep_nesting_are_refused_quickly() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(9):
        prev, name = chr(97 + i), chr(98 + i)
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    out = problems("\n".join(lines), "bomb.yaml")  # 9**10 leaves if expanded
    assert "bomb.yaml: no [playbook] table (id, version, title)" in out
    assert problems("a = " + "[" * 5000 + "]" * 5000) == ["p.toml: nested too deeply"]
    deep = problems("a: " + "[" * 3000 + "]" * 3000, "d.yaml")
    assert len(deep) == 1 and deep[0].startswith("d.yaml")
