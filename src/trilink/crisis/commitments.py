"""The commitments register: agreements, recurring meetings and deliverables the three
nations owe each other, owned by roles (never by people), with their deadlines.

A register is a TOML or YAML file (``examples/crisis/commitments.toml``)::

    [register]      id, title
    [[commitment]]  id, title, type = "agreement" | "meeting" | "deliverable",
                    level = "summit" | "ministerial" | "working" (meetings),
                    source (the agreement it comes from), owners = {USA = "role", ...},
                    due = "2026-12-31" (a one-off deadline) or every = "3mo" | "6mo" |
                    "1y" | "2w" with first = "2024-01-15" (a recurring one),
                    done = ["2026-03-10", ...] (when it was met), notes

``status(register, today)`` says for each commitment when it is next due, whether it is
overdue and by how many days. Who must act is the owner role's holder on each nation's roster
today: a change of office holder is a change of the roster, not of the register. Published
with ``trilink crisis commitments publish``, each commitment is a living report whose versions
are the history of its changes. Pure: text and dates in, values out.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from trilink.crisis.playbook import NATIONS, Problem
from trilink.crisis.source import PathKey, read_document
from trilink.errors import InputError

TYPES = ("agreement", "meeting", "deliverable")
LEVELS = ("summit", "ministerial", "working")
MAX_COMMITMENTS = 2000
_EVERY = re.compile(r"^\s*(\d{1,3})\s*(d|w|mo|y)\s*$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Commitment:
    id: str
    title: str
    type: str
    owners: dict[str, str]  # nation -> role
    level: str = ""
    source: str = ""
    due: date | None = None
    every: str = ""
    first: date | None = None
    done: tuple[date, ...] = ()
    notes: str = ""


@dataclass(frozen=True)
class Register:
    id: str
    title: str
    commitments: tuple[Commitment, ...]
    path: str = ""


@dataclass(frozen=True)
class Standing:
    commitment: Commitment
    next_due: date | None
    overdue_days: int  # 0 when not overdue
    last_done: date | None

    @property
    def overdue(self) -> bool:
        return self.overdue_days > 0


def add_period(d: date, every: str) -> date:
    """``d`` plus one period (``"3mo"``: same day three months on, clamped to month end)."""
    m = _EVERY.match(every)
    if m is None:
        raise ValueError(f"{every!r} is not a period; write e.g. '2w', '3mo', '1y'")
    n, unit = int(m.group(1)), m.group(2)
    if n == 0:
        raise ValueError("a period must be at least 1")
    if unit == "d":
        return d + timedelta(days=n)
    if unit == "w":
        return d + timedelta(weeks=n)
    months = n * (12 if unit == "y" else 1)
    year, month = divmod(d.month - 1 + months, 12)
    year += d.year
    month += 1
    return date(year, month, min(d.day, monthrange(year, month)[1]))


def _date(value: Any) -> date:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a date YYYY-MM-DD")
    return date.fromisoformat(value.strip())


def check_register_text(text: str, path: str) -> tuple[Register | None, list[Problem]]:
    try:
        data, lines = read_document(text, path)
    except InputError as err:
        return None, [Problem(path, err.line, str(err).split(": ", 1)[-1])]
    problems: list[Problem] = []

    def bad(where: PathKey, msg: str) -> None:
        problems.append(Problem(path, lines.line(where), msg))

    head = data.get("register", {})
    if not isinstance(head, dict):
        bad(("register",), "[register] must be a table")
        head = {}
    rid = head.get("id", "")
    if not isinstance(rid, str) or not rid:
        bad(("register",), "[register] needs an 'id'")
        rid = ""
    raw = data.get("commitment", [])
    if not isinstance(raw, list):
        bad(("commitment",), "'commitment' must be an array of tables ([[commitment]])")
        raw = []
    if len(raw) > MAX_COMMITMENTS:
        bad(("commitment",), f"{len(raw)} commitments; at most {MAX_COMMITMENTS}")
        raw = raw[:MAX_COMMITMENTS]
    out: list[Commitment] = []
    seen: set[str] = set()
    for i, c in enumerate(raw):
        where: PathKey = ("commitment", i)
        if not isinstance(c, dict):
            bad(where, "a commitment must be a table")
            continue
        cid = c.get("id")
        if not isinstance(cid, str) or not _ID.match(cid):
            bad((*where, "id"), "a commitment needs an 'id' (letters, digits, '-', '_', '.')")
            continue
        if cid in seen:
            bad((*where, "id"), f"commitment id {cid!r} is used twice")
            continue
        seen.add(cid)
        ok = True
        kind = c.get("type", "agreement")
        if kind not in TYPES:
            bad((*where, "type"), f"{cid}: type must be one of {', '.join(TYPES)}")
            ok = False
        level = c.get("level", "")
        if level and level not in LEVELS:
            bad((*where, "level"), f"{cid}: level must be one of {', '.join(LEVELS)}")
            ok = False
        if kind == "meeting" and not level:
            bad(where, f"{cid}: a meeting needs a 'level' ({', '.join(LEVELS)})")
            ok = False
        owners = c.get("owners", {})
        if not isinstance(owners, dict) or not owners:
            bad((*where, "owners"), f"{cid}: 'owners' must map nations to roles, e.g. "
                "{JPN = \"cell-lead\"}")  # fmt: skip
            owners = {}
            ok = False
        for nation, role in owners.items():
            if nation not in NATIONS:
                bad((*where, "owners"), f"{cid}: unknown nation {nation!r} in owners")
                ok = False
            elif not isinstance(role, str) or not role:
                bad((*where, "owners"), f"{cid}: the owner of {nation} must be a role name")
                ok = False
        due: date | None = None
        first: date | None = None
        every = c.get("every", "")
        try:
            if "due" in c:
                due = _date(c["due"])
            if "first" in c:
                first = _date(c["first"])
        except ValueError as err:
            bad((*where, "due" if "due" in c else "first"), f"{cid}: {err}")
            ok = False
        if every:
            try:
                add_period(date(2000, 1, 31), str(every))
            except ValueError as err:
                bad((*where, "every"), f"{cid}: {err}")
                ok = False
            if first is None and ok:
                bad(where, f"{cid}: a recurring commitment needs 'first' (its first date)")
                ok = False
            if due is not None:
                bad((*where, "due"), f"{cid}: give 'due' or 'every', not both")
                ok = False
        elif due is None and ok:
            bad(where, f"{cid}: no deadline: give 'due' (one-off) or 'every' and 'first'")
            ok = False
        done_raw = c.get("done", [])
        done: list[date] = []
        if not isinstance(done_raw, list):
            done_raw = [done_raw]
        for value in done_raw:
            try:
                done.append(_date(value))
            except ValueError as err:
                bad((*where, "done"), f"{cid}: {err}")
                ok = False
        if ok:
            out.append(Commitment(
                id=cid, title=str(c.get("title", cid)), type=str(kind),
                owners={str(k): str(v) for k, v in owners.items()}, level=str(level),
                source=str(c.get("source", "")), due=due, every=str(every), first=first,
                done=tuple(sorted(done)), notes=str(c.get("notes", "")),
            ))  # fmt: skip
    reg = Register(str(rid), str(head.get("title", rid)), tuple(out), path)
    return (None if problems else reg), problems


def load_register_text(text: str, path: str) -> Register:
    reg, problems = check_register_text(text, path)
    if reg is None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InputError(first.message + more, path=first.path, line=first.line)
    return reg


def standing(c: Commitment, today: date) -> Standing:
    """When ``c`` is next due and how overdue it is on ``today``: a one-off is due on its
    date until it is done; a recurring one first on ``first``, then one period after the
    last time it was met."""
    last = c.done[-1] if c.done else None
    nxt: date | None
    if not c.every:
        nxt = None if last is not None else c.due
    else:
        assert c.first is not None
        nxt = c.first if last is None else max(c.first, add_period(last, c.every))
    days = (today - nxt).days if nxt is not None and today > nxt else 0
    return Standing(c, nxt, days, last)


def status(register: Register, today: date) -> list[Standing]:
    """Every commitment's standing, overdue first (most overdue first), then by next due."""
    rows = [standing(c, today) for c in register.commitments]
    return sorted(rows, key=lambda s: (-s.overdue_days, s.next_due or date.max, s.commitment.id))
