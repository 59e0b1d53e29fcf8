"""Crisis playbooks: what opens an incident, who does what by when, who is called when a
deadline passes, and the public messages written in advance.

A playbook is a versioned TOML or YAML file (see ``examples/crisis/bm-eez.toml``)::

    [playbook]   id, version, title, start (entry step ids; default: the first step)
    [trigger]    kinds = ["missile.warning"]; [[trigger.when]] field / op / value (all must hold)
    [roles]      NATION = [role, ...]          the roles each nation's cell has
    [[step]]     id, title, nations (or nation), role, deadline ("5m"), next = [step ids],
                 ack = true (each nation's acknowledgement), message = "alert"
    [escalation] chain = ["next-on-roster", "cell-lead"], interval = "2m"
    [release]    role = "pio", fields = [...]  who may release a public alert and which
                 fields of the classified trigger it may carry (every other field is redacted)
    [messages.alert], [messages.update], [messages.correction], [messages.cancel]:
                 headline and text in en, ja and ko ({placeholders} from released fields)

``check_playbook`` returns every problem with its file and line; ``load_playbook`` returns the
playbook or raises ``InputError`` listing them. Pure: text in, values out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from trilink.crisis.source import Lines, PathKey, read_document
from trilink.errors import InputError, TrilinkError

NATIONS = ("USA", "JPN", "KOR")
LANGUAGES = ("en", "ja", "ko")
OPS = (">=", ">", "<=", "<", "==", "!=", "in", "contains")
ESCALATION_LEVELS = ("next-on-roster", "cell-lead")
REQUIRED_MESSAGES = ("alert", "correction", "cancel")
MESSAGE_TYPES = ("alert", "update", "correction", "cancel")
MAX_STEPS = 500
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?\s*$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def parse_duration(value: Any) -> float:
    """Seconds of ``"90s"``, ``"5m"``, ``"1.5h"`` or a number of seconds; ``ValueError``."""
    if isinstance(value, bool):
        raise ValueError("a duration is text like '5m' or '30s'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        m = _DURATION.match(value)
        if m is None:
            raise ValueError(f"{value!r} is not a duration; write e.g. '30s', '5m' or '1h'")
        unit = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}[m.group(2) or "s"]
        seconds = float(m.group(1)) * unit
    else:
        raise ValueError("a duration is text like '5m' or '30s'")
    if not 0 < seconds <= 7 * 86400:
        raise ValueError(f"{value!r}: a deadline must be more than 0 s and at most 7 days")
    return seconds


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any
    kind: str | None = None  # only for reports of this kind (default: every trigger kind)

    def holds(self, kind: str, payload: Mapping[str, Any]) -> bool:
        if self.kind is not None and self.kind != kind:
            return True
        have = payload.get(self.field)
        try:
            if self.op == "in":
                return bool(have in self.value)
            if self.op == "contains":
                return bool(have is not None and self.value in have)
            if self.op == "==":
                return bool(have == self.value)
            if self.op == "!=":
                return bool(have != self.value)
            if have is None:
                return False
            return bool(
                {
                    ">=": have >= self.value,
                    ">": have > self.value,
                    "<=": have <= self.value,
                    "<": have < self.value,
                }[self.op]
            )
        except TypeError:
            return False


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    nations: tuple[str, ...]
    role: str
    deadline_s: float
    next: tuple[str, ...] = ()
    ack: bool = False
    message: str | None = None


@dataclass(frozen=True)
class Message:
    headline: dict[str, str]
    text: dict[str, str]
    instruction: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Playbook:
    id: str
    version: int
    title: str
    trigger_kinds: tuple[str, ...]
    conditions: tuple[Condition, ...]
    roles: dict[str, tuple[str, ...]]
    steps: tuple[Step, ...]
    start: tuple[str, ...]
    escalation: tuple[str, ...] = ESCALATION_LEVELS
    escalation_interval_s: float = 120.0
    release_role: str = ""
    release_fields: tuple[str, ...] = ()
    messages: dict[str, Message] = field(default_factory=dict)
    path: str = ""
    step_lines: dict[str, int] = field(default_factory=dict)

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def predecessors(self, step_id: str) -> list[str]:
        return [s.id for s in self.steps if step_id in s.next]

    @property
    def nations(self) -> tuple[str, ...]:
        return tuple(n for n in NATIONS if any(n in s.nations for s in self.steps))

    def matches(self, kind: str, payload: Mapping[str, Any]) -> bool:
        """Whether a report of ``kind`` with this payload opens an incident."""
        return kind in self.trigger_kinds and all(c.holds(kind, payload) for c in self.conditions)


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}"


class PlaybookError(InputError):
    """A playbook with problems; ``problems`` lists every one of them."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        first = self.problems[0]
        more = f" (and {len(self.problems) - 1} more problems)" if len(self.problems) > 1 else ""
        super().__init__(f"{first.message}{more}", path=first.path, line=first.line)


class _Check:
    def __init__(self, path: str, lines: Lines) -> None:
        self.path = path
        self.lines = lines
        self.problems: list[Problem] = []

    def add(self, where: PathKey, message: str) -> None:
        self.problems.append(Problem(self.path, self.lines.line(where), message))

    def text(
        self, table: Mapping[str, Any], key: str, where: PathKey, *, default: str = ""
    ) -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            self.add((*where, key), f"'{key}' must be text, not {type(value).__name__}")
            return default
        return value

    def text_list(self, table: Mapping[str, Any], key: str, where: PathKey) -> list[str]:
        value = table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add((*where, key), f"'{key}' must be a list of text")
            return []
        return list(value)

    def table(self, data: Mapping[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.add((key,), f"'{key}' must be a table")
            return {}
        return value


def _kind_fields(kind: str) -> set[str] | None:
    """The payload fields of a registered report kind, or None when the kind is unknown."""
    from trilink.model.kinds import spec_for

    try:
        spec = spec_for(kind)
    except TrilinkError:
        return None
    return {f.name for f in msgspec.structs.fields(spec.payload)}


def _conditions(c: _Check, trigger: dict[str, Any], kinds: list[str]) -> list[Condition]:
    out: list[Condition] = []
    when = trigger.get("when", [])
    if isinstance(when, dict):
        when = [when]
    if not isinstance(when, list):
        c.add(("trigger", "when"), "'when' must be a list of conditions (field, op, value)")
        return out
    for i, cond in enumerate(when):
        where: PathKey = ("trigger", "when", i)
        if not isinstance(cond, dict):
            c.add(where, "a condition is a table with field, op and value")
            continue
        name = c.text(cond, "field", where)
        op = c.text(cond, "op", where, default="==")
        kind = cond.get("kind")
        if kind is not None and (not isinstance(kind, str) or kind not in kinds):
            c.add((*where, "kind"), f"condition kind {kind!r} is not one of the trigger kinds")
            kind = None
        if not name:
            c.add(where, "a condition needs a 'field'")
            continue
        if op not in OPS:
            c.add((*where, "op"), f"unknown operator {op!r}; use one of {', '.join(OPS)}")
            continue
        if "value" not in cond:
            c.add(where, f"condition on {name!r} needs a 'value'")
            continue
        value = cond["value"]
        if op == "in" and not isinstance(value, list):
            c.add((*where, "value"), "operator 'in' needs a list value")
            continue
        for k in [kind] if kind else kinds:
            fields = _kind_fields(k)
            if fields is not None and name not in fields:
                c.add(
                    (*where, "field"),
                    f"{k} reports have no field {name!r} (they have: {', '.join(sorted(fields))})",
                )
        out.append(Condition(name, op, value, kind))
    return out


def _message(c: _Check, key: str, raw: Any) -> Message | None:
    where: PathKey = ("messages", key)
    if not isinstance(raw, dict):
        c.add(where, f"message {key!r} must be a table of headline_<lang> and text_<lang>")
        return None
    headline: dict[str, str] = {}
    text: dict[str, str] = {}
    instruction: dict[str, str] = {}
    for lang in LANGUAGES:
        for prefix, out in (("headline", headline), ("text", text), ("instruction", instruction)):
            value = raw.get(f"{prefix}_{lang}")
            if value is None:
                if prefix != "instruction":
                    c.add(where, f"message {key!r} has no '{prefix}_{lang}'")
            elif not isinstance(value, str) or not value.strip():
                c.add((*where, f"{prefix}_{lang}"), f"'{prefix}_{lang}' must be non-empty text")
            else:
                out[lang] = value
    for extra in sorted(set(raw) - {f"{p}_{g}" for p in ("headline", "text", "instruction")
                                    for g in LANGUAGES}):  # fmt: skip
        c.add((*where, extra), f"message {key!r}: unknown key {extra!r}")
    return Message(headline, text, instruction)


def _step(c: _Check, i: int, raw: Any, declared: set[str]) -> Step | None:
    where: PathKey = ("step", i)
    if not isinstance(raw, dict):
        c.add(where, "a step must be a table")
        return None
    step_id = c.text(raw, "id", where)
    if not step_id:
        c.add(where, f"step {i + 1} has no 'id'")
        return None
    if not _ID.match(step_id):
        c.add((*where, "id"), f"step id {step_id!r}: use letters, digits, '-', '_', '.'")
    nations = c.text_list(raw, "nations", where) or c.text_list(raw, "nation", where)
    for n in nations:
        if n not in NATIONS:
            c.add((*where, "nations"), f"step {step_id!r}: unknown nation {n!r} (USA, JPN, KOR)")
    nations = [n for n in nations if n in NATIONS]
    role = c.text(raw, "role", where)
    if not role:
        c.add(where, f"step {step_id!r} names no 'role': nobody can do it")
    elif role not in declared:
        c.add((*where, "role"), f"step {step_id!r}: unknown role {role!r} (no nation in "
              f"[roles] has it; roles are: {', '.join(sorted(declared)) or 'none'})")  # fmt: skip
    if not nations:
        c.add(where, f"step {step_id!r} names no nation: nobody can do it")
    deadline = 300.0
    if "deadline" not in raw:
        c.add(where, f"step {step_id!r} has no 'deadline'")
    else:
        try:
            deadline = parse_duration(raw["deadline"])
        except ValueError as err:
            c.add((*where, "deadline"), f"step {step_id!r}: {err}")
    ack = raw.get("ack", False)
    if not isinstance(ack, bool):
        c.add((*where, "ack"), "'ack' must be true or false")
        ack = False
    message = raw.get("message")
    if message is not None and not isinstance(message, str):
        c.add((*where, "message"), "'message' must be the name of a message")
        message = None
    title = c.text(raw, "title", where, default=step_id)
    known = {"id", "title", "nations", "nation", "role", "deadline", "next", "ack", "message"}
    for extra in sorted(set(raw) - known):
        c.add((*where, extra), f"step {step_id!r}: unknown key {extra!r}")
    nxt = c.text_list(raw, "next", where)
    return Step(step_id, title, tuple(nations), role, deadline, tuple(nxt), ack, message)


def _graph_problems(c: _Check, steps: list[Step], index: dict[str, int], start: list[str]) -> None:
    for s in steps:
        for target in s.next:
            if target not in index:
                c.add(("step", index[s.id], "next"), f"step {s.id!r}: next step {target!r} "
                      "does not exist")  # fmt: skip
    # cycles (each reported once, at its first step)
    colour: dict[str, int] = {}
    reported: set[frozenset[str]] = set()

    def visit(node: str, trail: list[str]) -> None:
        colour[node] = 1
        for nxt in steps[index[node]].next:
            if nxt not in index:
                continue
            if colour.get(nxt) == 1:
                cycle = trail[trail.index(nxt) :] if nxt in trail else [nxt]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    c.add(("step", index[node], "next"),
                          f"steps form a cycle: {' -> '.join([*cycle, nxt])}")  # fmt: skip
            elif colour.get(nxt) is None:
                visit(nxt, [*trail, nxt])
        colour[node] = 2

    for s in steps:
        if s.id not in colour:
            visit(s.id, [s.id])
    seen: set[str] = set()
    todo = [s for s in start if s in index]
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        todo += [n for n in steps[index[node]].next if n in index]
    for s in steps:
        if s.id not in seen:
            c.add(("step", index[s.id]),
                  f"step {s.id!r} is unreachable: no path of 'next' from the start "
                  f"step(s) {', '.join(start)} leads to it")  # fmt: skip


def _build(data: Mapping[str, Any], path: str, lines: Lines) -> tuple[Playbook | None, _Check]:
    c = _Check(path, lines)
    head = c.table(data, "playbook")
    if "playbook" not in data:
        c.add((), "no [playbook] table (id, version, title)")
    pid = c.text(head, "id", ("playbook",))
    if not pid:
        c.add(("playbook",), "[playbook] has no 'id'")
    elif not _ID.match(pid):
        c.add(("playbook", "id"), f"playbook id {pid!r}: use letters, digits, '-', '_', '.'")
    version = head.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        c.add(("playbook", "version"), "'version' must be a whole number from 1")
        version = 1
    title = c.text(head, "title", ("playbook",), default=pid)
    trigger = c.table(data, "trigger")
    kinds = c.text_list(trigger, "kinds", ("trigger",))
    from trilink.model.kinds import known_kinds

    for k in kinds:
        if k not in known_kinds():
            c.add(("trigger", "kinds"), f"unknown report kind {k!r} in the trigger")
    conditions = _conditions(c, trigger, kinds)
    roles_raw = c.table(data, "roles")
    roles: dict[str, tuple[str, ...]] = {}
    for nation in roles_raw:
        if nation not in NATIONS:
            c.add(("roles", nation), f"[roles]: unknown nation {nation!r} (USA, JPN, KOR)")
            continue
        roles[nation] = tuple(c.text_list(roles_raw, nation, ("roles",)))
    declared = {r for rs in roles.values() for r in rs}
    raw_steps = data.get("step", [])
    if not isinstance(raw_steps, list):
        c.add(("step",), "'step' must be an array of tables ([[step]])")
        raw_steps = []
    if len(raw_steps) > MAX_STEPS:
        c.add(("step",), f"{len(raw_steps)} steps; at most {MAX_STEPS}")
        raw_steps = raw_steps[:MAX_STEPS]
    if not raw_steps:
        c.add((), "the playbook has no steps ([[step]])")
    steps: list[Step] = []
    index: dict[str, int] = {}
    for i, raw in enumerate(raw_steps):
        s = _step(c, i, raw, declared)
        if s is None:
            continue
        if s.id in index:
            c.add(("step", i, "id"), f"step id {s.id!r} is used twice")
            continue
        index[s.id] = len(steps)
        steps.append(s)
        if s.role in declared:
            able = [n for n in s.nations if s.role in roles.get(n, ())]
            for n in s.nations:
                if n not in able:
                    c.add(("step", i, "role"), f"step {s.id!r}: nobody can do it for {n}: "
                          f"{n}'s cell has no role {s.role!r}")  # fmt: skip
    # raw step positions for line lookups (skipped raws shift nothing: map by id)
    positions: dict[str, int] = {}
    for i, sid in _raw_ids(raw_steps):
        positions.setdefault(sid, i)
    start = c.text_list(head, "start", ("playbook",)) or ([steps[0].id] if steps else [])
    for sid in start:
        if sid not in index:
            c.add(("playbook", "start"), f"start step {sid!r} does not exist")
    _graph_problems(_Remap(c, positions, steps), steps, index, start)
    escalation = c.table(data, "escalation")
    chain = c.text_list(escalation, "chain", ("escalation",)) or list(ESCALATION_LEVELS)
    for level in chain:
        if level not in ESCALATION_LEVELS:
            c.add(("escalation", "chain"), f"unknown escalation level {level!r}; use "
                  f"{', '.join(ESCALATION_LEVELS)}")  # fmt: skip
    interval = 120.0
    if "interval" in escalation:
        try:
            interval = parse_duration(escalation["interval"])
        except ValueError as err:
            c.add(("escalation", "interval"), str(err))
    release = c.table(data, "release")
    release_role = c.text(release, "role", ("release",))
    if release_role and release_role not in declared:
        c.add(("release", "role"), f"unknown role {release_role!r} for public release")
    release_fields = c.text_list(release, "fields", ("release",))
    messages_raw = c.table(data, "messages")
    messages: dict[str, Message] = {}
    for key, raw in messages_raw.items():
        if key not in MESSAGE_TYPES:
            c.add(("messages", key), f"unknown message {key!r}; use {', '.join(MESSAGE_TYPES)}")
            continue
        m = _message(c, key, raw)
        if m is not None:
            messages[key] = m
    if messages:
        for key in REQUIRED_MESSAGES:
            if key not in messages_raw:
                c.add(("messages",), f"no pre-written {key!r} message: write it before the "
                      "alert can go out")  # fmt: skip
        if not release_role:
            c.add(("release",) if "release" in data else (),
                  "public messages but no [release] role to authorise them")  # fmt: skip
    for s in steps:
        if s.message is not None and s.message not in messages_raw:
            c.add(("step", positions.get(s.id, 0), "message"),
                  f"step {s.id!r}: no message {s.message!r} in [messages]")  # fmt: skip
    for extra in sorted(set(data) - {"playbook", "trigger", "roles", "step", "escalation",
                                     "release", "messages"}):  # fmt: skip
        c.add((extra,), f"unknown table {extra!r}")
    if c.problems:
        return None, c
    book = Playbook(
        id=pid,
        version=version,
        title=title,
        trigger_kinds=tuple(kinds),
        conditions=tuple(conditions),
        roles=roles,
        steps=tuple(steps),
        start=tuple(start),
        escalation=tuple(chain),
        escalation_interval_s=interval,
        release_role=release_role,
        release_fields=tuple(release_fields),
        messages=messages,
        path=path,
        step_lines={
            s.id: line for s in steps if (line := lines.line(("step", positions[s.id], "role")))
        },
    )
    return book, c


def _raw_ids(raw_steps: list[Any]) -> list[tuple[int, str]]:
    return [
        (i, r["id"]) for i, r in enumerate(raw_steps) if isinstance(r, dict) and isinstance(
            r.get("id"), str)
    ]  # fmt: skip


class _Remap(_Check):
    """A checker whose ``("step", n)`` paths count valid steps; maps them to raw positions."""

    def __init__(self, inner: _Check, positions: dict[str, int], steps: list[Step]) -> None:
        super().__init__(inner.path, inner.lines)
        self.problems = inner.problems
        self.raw = [positions.get(s.id, i) for i, s in enumerate(steps)]

    def add(self, where: PathKey, message: str) -> None:
        if len(where) >= 2 and where[0] == "step" and isinstance(where[1], int):
            where = ("step", self.raw[where[1]], *where[2:])
        super().add(where, message)


def check_playbook_text(text: str, path: str) -> tuple[Playbook | None, list[Problem]]:
    """Parse and check a playbook; every problem found, with its line."""
    try:
        data, lines = read_document(text, path)
    except InputError as err:
        return None, [Problem(path, err.line, str(err).split(": ", 1)[-1])]
    try:
        book, c = _build(data, path, lines)
    except RecursionError:
        return None, [Problem(path, None, "the document is nested too deeply")]
    return book, c.problems


def load_playbook_text(text: str, path: str) -> Playbook:
    book, problems = check_playbook_text(text, path)
    if problems or book is None:
        raise PlaybookError(problems or [Problem(path, None, "not a playbook")])
    return book


def check_against_roster(book: Playbook, holders: Mapping[str, set[str]]) -> list[Problem]:
    """Steps nobody on a nation's roster can do: ``holders`` maps nation -> roles held by at
    least one person on its roster (only the nations whose roster is given are checked)."""
    problems: list[Problem] = []
    for s in book.steps:
        for n in s.nations:
            if n in holders and s.role not in holders[n]:
                problems.append(
                    Problem(
                        book.path,
                        book.step_lines.get(s.id),
                        f"step {s.id!r}: nobody on {n}'s roster holds role {s.role!r}",
                    )  # fmt: skip
                )
    return problems
