"""Duty rosters: who holds which role, when, in the cell's own time zone.

A roster is one nation's TOML or YAML file (see ``examples/crisis/roster-JPN.toml``)::

    nation = "JPN"
    timezone = "Asia/Tokyo"          # any IANA zone: UTC, Asia/Tokyo (JST), Asia/Seoul (KST)
    cell_lead = "sato"
    [[person]]  id, name, roles = [...]
    [[shift]]   person, role, from = "08:00", to = "20:00" (local; "20:00"-"08:00" runs
                overnight), days = "mon-fri" | ["sat", "sun"] (default every day),
                date = "2026-12-24" (a dated shift: on that day it replaces the weekly ones
                of its role)

Shifts are wall-clock times in the roster's zone, so a hand-over stays at 08:00 local across
daylight-saving changes. ``on_duty(roster, role, when)`` is who holds the role at an instant;
``escalation_chain`` is who is called in turn when a deadline passes: the people on duty,
then the next on the roster (the next shift to start), then the cell lead.
Pure: no clock is read; every function takes the instant.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trilink.crisis.playbook import NATIONS, Problem
from trilink.crisis.source import Lines, PathKey, read_document
from trilink.errors import InputError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_SHIFTS = 5000
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Shift:
    person: str
    role: str
    start: time
    end: time  # end <= start: runs past midnight; 24:00 is written as time(0)
    days: frozenset[int]  # weekday numbers of the day the shift starts
    on: date | None = None  # a dated shift


@dataclass(frozen=True)
class Duty:
    """One person's spell on duty: ``start``/``end`` are aware datetimes (the roster's zone)."""

    person: str
    role: str
    start: datetime
    end: datetime

    def describe(self) -> str:
        fmt = "%Y-%m-%d %H:%M %Z"
        return (
            f"{self.person} ({self.role}) {self.start.strftime(fmt)} - {self.end.strftime(fmt)}"
            f" = {self.start.astimezone(UTC).strftime('%H:%MZ')}-"
            f"{self.end.astimezone(UTC).strftime('%H:%MZ')}"
        )


@dataclass(frozen=True)
class Roster:
    nation: str
    zone: ZoneInfo
    people: dict[str, Person]
    shifts: tuple[Shift, ...]
    cell_lead: str
    path: str = ""

    def holders(self) -> set[str]:
        return {r for p in self.people.values() for r in p.roles} | {s.role for s in self.shifts}


def _days(value: Any) -> frozenset[int] | None:
    if value is None:
        return frozenset(range(7))
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        return None
    out: set[int] = set()
    for item in items:
        if not isinstance(item, str):
            return None
        text = item.strip().lower()
        if "-" in text:
            a, _, b = text.partition("-")
            if a[:3] not in DAYS or b[:3] not in DAYS:
                return None
            i, j = DAYS.index(a[:3]), DAYS.index(b[:3])
            out |= {d % 7 for d in range(i, i + ((j - i) % 7) + 1)}
        elif text in ("daily", "every day", "all"):
            out |= set(range(7))
        elif text[:3] in DAYS:
            out.add(DAYS.index(text[:3]))
        else:
            return None
    return frozenset(out)


def _hhmm(value: Any) -> time | None:
    if not isinstance(value, str) or not _HHMM.match(value.strip()):
        return None
    if value.strip() == "24:00":
        return time(0)
    h, m = value.strip().split(":")
    return time(int(h), int(m))


def _problem(problems: list[Problem], path: str, lines: Lines, where: PathKey, msg: str) -> None:
    problems.append(Problem(path, lines.line(where), msg))


def check_roster_text(text: str, path: str) -> tuple[Roster | None, list[Problem]]:
    try:
        data, lines = read_document(text, path)
    except InputError as err:
        return None, [Problem(path, err.line, str(err).split(": ", 1)[-1])]
    problems: list[Problem] = []

    def bad(where: PathKey, msg: str) -> None:
        _problem(problems, path, lines, where, msg)

    nation = data.get("nation")
    if nation not in NATIONS:
        bad(("nation",), f"'nation' must be one of {', '.join(NATIONS)}, not {nation!r}")
        nation = "USA"
    zone_name = data.get("timezone", "UTC")
    zone = ZoneInfo("UTC")
    if not isinstance(zone_name, str):
        bad(("timezone",), "'timezone' must be an IANA zone name, e.g. Asia/Tokyo")
    else:
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            bad(("timezone",), f"unknown time zone {zone_name!r} (e.g. UTC, Asia/Tokyo, "
                "Asia/Seoul)")  # fmt: skip
    people: dict[str, Person] = {}
    raw_people = data.get("person", [])
    if not isinstance(raw_people, list):
        bad(("person",), "'person' must be an array of tables ([[person]])")
        raw_people = []
    for i, raw in enumerate(raw_people):
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
            bad(("person", i), "a person needs an 'id'")
            continue
        roles = raw.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            bad(("person", i, "roles"), "'roles' must be a list of role names")
            roles = []
        name = raw.get("name", raw["id"])
        if raw["id"] in people:
            bad(("person", i, "id"), f"person {raw['id']!r} is listed twice")
        people[raw["id"]] = Person(raw["id"], str(name), tuple(roles))
    shifts: list[Shift] = []
    raw_shifts = data.get("shift", [])
    if not isinstance(raw_shifts, list):
        bad(("shift",), "'shift' must be an array of tables ([[shift]])")
        raw_shifts = []
    if len(raw_shifts) > MAX_SHIFTS:
        bad(("shift",), f"{len(raw_shifts)} shifts; at most {MAX_SHIFTS}")
        raw_shifts = raw_shifts[:MAX_SHIFTS]
    for i, raw in enumerate(raw_shifts):
        where: PathKey = ("shift", i)
        if not isinstance(raw, dict):
            bad(where, "a shift must be a table")
            continue
        person, role = raw.get("person"), raw.get("role")
        if not isinstance(person, str) or person not in people:
            bad((*where, "person"), f"shift names unknown person {person!r} (add a [[person]])")
            continue
        if not isinstance(role, str) or not role:
            bad(where, "a shift needs a 'role'")
            continue
        if role not in people[person].roles:
            bad((*where, "role"), f"{person} does not hold role {role!r} (their roles: "
                f"{', '.join(people[person].roles) or 'none'})")  # fmt: skip
            continue
        start, end = _hhmm(raw.get("from")), _hhmm(raw.get("to"))
        if start is None or end is None:
            bad((*where, "from" if start is None else "to"),
                "'from' and 'to' must be local times HH:MM, e.g. '08:00'")  # fmt: skip
            continue
        days = _days(raw.get("days"))
        if days is None or not days:
            bad((*where, "days"), "'days' must be e.g. 'mon-fri', 'daily' or ['sat', 'sun']")
            continue
        on: date | None = None
        if "date" in raw:
            value = raw["date"]
            try:
                on = value if isinstance(value, date) else date.fromisoformat(str(value))
            except ValueError:
                bad((*where, "date"), f"'date' {value!r} is not YYYY-MM-DD")
                continue
        shifts.append(Shift(person, role, start, end, days, on))
    lead = data.get("cell_lead", "")
    if not isinstance(lead, str) or lead not in people:
        bad(("cell_lead",), f"'cell_lead' must name a [[person]], not {lead!r}")
        lead = ""
    roster = Roster(str(nation), zone, people, tuple(shifts), str(lead), path)
    return (None if problems else roster), problems


def load_roster_text(text: str, path: str) -> Roster:
    roster, problems = check_roster_text(text, path)
    if roster is None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InputError(first.message + more, path=first.path, line=first.line)
    return roster


def _spells(roster: Roster, shift: Shift, day: date) -> Duty | None:
    """The spell of ``shift`` that starts on local ``day``, if it runs that day."""
    dated = [s for s in roster.shifts if s.on == day and s.role == shift.role]
    if shift.on is not None:
        if shift.on != day:
            return None
    elif dated or day.weekday() not in shift.days:
        return None
    start = datetime.combine(day, shift.start, roster.zone)
    end_day = day if shift.end > shift.start else day + timedelta(days=1)
    end = datetime.combine(end_day, shift.end, roster.zone)
    return Duty(shift.person, shift.role, start, end)


def duties(roster: Roster, role: str, begin: datetime, end: datetime) -> list[Duty]:
    """Every spell of ``role`` overlapping [begin, end), in start order."""
    first = begin.astimezone(roster.zone).date() - timedelta(days=1)
    last = end.astimezone(roster.zone).date()
    out: list[Duty] = []
    day = first
    while day <= last:
        for shift in roster.shifts:
            if shift.role != role:
                continue
            spell = _spells(roster, shift, day)
            if spell is not None and spell.start < end and spell.end > begin:
                out.append(spell)
        day += timedelta(days=1)
    return sorted(out, key=lambda d: (d.start, d.person))


def on_duty(roster: Roster, role: str, when: datetime) -> list[Duty]:
    """Who holds ``role`` at instant ``when`` (aware); during a hand-over both."""
    if when.tzinfo is None:
        raise ValueError("give an aware datetime (with its time zone)")
    return [d for d in duties(roster, role, when, when + timedelta(microseconds=1))]


def next_on(roster: Roster, role: str, when: datetime) -> list[Duty]:
    """The next spells of ``role`` to start after ``when`` (within a week): the hand-over."""
    later = duties(roster, role, when, when + timedelta(days=8))
    upcoming = [d for d in later if d.start > when]
    if not upcoming:
        return []
    first = upcoming[0].start
    return [d for d in upcoming if d.start == first]


def escalation_chain(
    roster: Roster, role: str, when: datetime, levels: Sequence[str]
) -> list[str]:
    """Who is called in turn for ``role`` at ``when``: level 0 the people on duty, then one
    entry per escalation level ("next-on-roster": the next shift's person, else another
    holder of the role; "cell-lead"). Empty strings where nobody is found."""
    now = [d.person for d in on_duty(roster, role, when)]
    chain = [now[0] if now else ""]
    for level in levels:
        if level == "cell-lead":
            chain.append(roster.cell_lead)
        else:
            taken = set(chain)
            nxt = [d.person for d in next_on(roster, role, when) if d.person not in taken]
            others = [
                p.id for p in roster.people.values() if role in p.roles and p.id not in taken
            ]
            chain.append((nxt + others + [""])[0])
    return chain


def roles_held(rosters: Mapping[str, Roster]) -> dict[str, set[str]]:
    return {n: r.holders() for n, r in rosters.items()}
