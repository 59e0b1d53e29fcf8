"""Matching log lines against STIX indicators (issue #18 item 6), pure.

Each indicator's pattern is parsed with the STIX patterning library (``stix2``'s pattern
visitor over the ``stix2-patterns`` grammar) and compiled into a boolean tree over *atoms*:
equality comparisons on the observables a log line can show (``ipv4-addr:value``,
``ipv6-addr:value``, ``domain-name:value``, ``url:value``, ``email-addr:value``,
``file:name``, ``file:hashes.*``). A line matches an indicator when the tree holds with the
atoms found in that line (``AND`` inside or across observation expressions: all in the same
line; ``OR``: any). Patterns using other operators (``LIKE``, ``MATCHES``, ``>``, ``IN``),
negation, ``FOLLOWEDBY`` or qualifiers (``WITHIN``, ``REPEATS``) are not matched here and
are counted as unsupported, never guessed.

Speed: all atoms are in one hash index keyed by value; a line is split into tokens by one
compiled regular expression, each token is looked up, and only indicators sharing an atom
with the line are evaluated, so the cost per line does not grow with the number of
indicators. Simple one-comparison patterns compile without the ANTLR parser
(``trilink.cyber.patterns``).
"""

from __future__ import annotations

import re
import uuid
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stix2 import patterns as sp
from stix2.pattern_visitor import create_pattern_object

from trilink.cyber.markings import TRILINK_CREATED, uuid4_shaped
from trilink.cyber.patterns import simple_comparison

# (category, value): category is what a log line shows ("ip", "domain", "url", "email",
# "hash", "filename"); values are lower-cased except file names and URLs.
Atom = tuple[str, str]
Tree = tuple[str, Any]  # ("atom", Atom) | ("and", [Tree]) | ("or", [Tree])

_FIELDS: dict[tuple[str, str], str] = {
    ("ipv4-addr", "value"): "ip",
    ("ipv6-addr", "value"): "ip",
    ("domain-name", "value"): "domain",
    ("url", "value"): "url",
    ("email-addr", "value"): "email",
    ("file", "name"): "filename",
}
_TOKEN_RE = re.compile(r"[^\s\"'<>,;()\[\]{}|=:/\\@]*[^\s\"'<>,;()\[\]{}|=:/\\@.]")
_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,15}://[^\s\"'<>]+")
_EMAIL_RE = re.compile(r"[\w.+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+")
_IP6_RE = re.compile(r"[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}")


class Unsupported(Exception):
    pass


def _compile(node: Any) -> Tree:
    if isinstance(node, sp.ObservationExpression):
        return _compile(node.operand)
    if isinstance(node, sp.QualifiedObservationExpression):
        raise Unsupported("qualifiers (WITHIN, REPEATS, START/STOP)")
    if isinstance(node, sp.ParentheticalExpression):
        return _compile(node.expression)
    if isinstance(node, sp.AndObservationExpression | sp.AndBooleanExpression):
        return ("and", [_compile(o) for o in node.operands])
    if isinstance(node, sp.OrObservationExpression | sp.OrBooleanExpression):
        return ("or", [_compile(o) for o in node.operands])
    if isinstance(node, sp.EqualityComparisonExpression):
        if node.negated:
            raise Unsupported("negated comparisons")
        path = node.lhs
        parts = [getattr(c, "property_name", None) for c in path.property_path]
        if not all(isinstance(p, str) for p in parts):
            raise Unsupported("list index paths")
        value = node.rhs.value
        if not isinstance(value, str):
            raise Unsupported("non-string constants")
        return _atom_of(path.object_type_name, [str(p) for p in parts], value)
    raise Unsupported(node.__class__.__name__)


def _atom_of(kind: str, parts: list[str], value: str) -> Tree:
    if kind == "file" and len(parts) == 2 and parts[0] == "hashes":
        return ("atom", ("hash", value.lower()))
    category = _FIELDS.get((kind, ".".join(parts)))
    if category is None:
        raise Unsupported(f"{kind}:{'.'.join(parts)}")
    return ("atom", (category, _norm(category, value)))


def _norm(category: str, value: str) -> str:
    if category in ("url", "filename"):
        return value
    return value.lower().rstrip(".") if category == "domain" else value.lower()


def _atoms(tree: Tree) -> Iterable[Atom]:
    if tree[0] == "atom":
        yield tree[1]
    else:
        for t in tree[1]:
            yield from _atoms(t)


def _holds(tree: Tree, found: set[Atom]) -> bool:
    op, arg = tree
    if op == "atom":
        return arg in found
    if op == "and":
        return all(_holds(t, found) for t in arg)
    return any(_holds(t, found) for t in arg)


@dataclass
class Hit:
    indicator: str
    lines: list[int] = field(default_factory=list)  # 1-based line numbers (first 100)
    count: int = 0
    first_time: str | None = None
    last_time: str | None = None


@dataclass
class Matcher:
    trees: dict[str, Tree] = field(default_factory=dict)
    index: dict[Atom, list[str]] = field(default_factory=dict)
    unsupported: dict[str, str] = field(default_factory=dict)  # indicator id -> why
    plain: dict[str, list[Atom]] = field(default_factory=dict)  # token -> atoms
    urls: dict[str, list[Atom]] = field(default_factory=dict)
    emails: dict[str, list[Atom]] = field(default_factory=dict)
    ip6: dict[str, list[Atom]] = field(default_factory=dict)

    def _index_value(self, atom: Atom) -> None:
        category, value = atom
        if category == "url":
            self.urls.setdefault(value, []).append(atom)
        elif category == "email":
            self.emails.setdefault(value, []).append(atom)
        elif category == "ip" and ":" in value:
            self.ip6.setdefault(value, []).append(atom)
        else:
            self.plain.setdefault(value.lower(), []).append(atom)

    @classmethod
    def from_indicators(cls, indicators: Iterable[Mapping[str, Any]]) -> Matcher:
        """From STIX indicator objects (revoked ones and non-STIX patterns are left out)."""
        m = cls()
        for ind in indicators:
            if ind.get("revoked") is True or ind.get("pattern_type", "stix") != "stix":
                continue
            iid, pattern = str(ind.get("id", "")), ind.get("pattern")
            if not isinstance(pattern, str):
                continue
            try:
                simple = simple_comparison(pattern)
                if simple is not None:
                    tree = _atom_of(*simple)
                else:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        tree = _compile(create_pattern_object(pattern, version="2.1"))
            except Unsupported as why:
                m.unsupported[iid] = str(why)
                continue
            except Exception as err:  # the pattern grammar's own errors vary by type
                m.unsupported[iid] = f"pattern does not parse: {str(err)[:120]}"
                continue
            m.trees[iid] = tree
            for atom in set(_atoms(tree)):
                if atom not in m.index:
                    m._index_value(atom)
                m.index.setdefault(atom, []).append(iid)
        return m

    def line_atoms(self, line: str) -> set[Atom]:
        """The atoms of any indicator that this line shows. The lower-cased line is split into
        tokens at white space, quotes, brackets and ``= , ; | : / \\ @`` (so a domain or IP
        with a ``:port``, the host and path parts of a URL, the domain of an e-mail address and
        the base name of a path are tokens of their own, a trailing dot dropped), and the set
        of tokens meets one index of atom values; URLs, e-mail addresses and IPv6 addresses are
        looked for only when some indicator names one. URLs and file names compare with their
        case, as STIX ``=`` does."""
        found: set[Atom] = set()
        low = line.lower()
        plain = self.plain
        for key in plain.keys() & set(_TOKEN_RE.findall(low)):
            for atom in plain[key]:
                if atom[0] != "filename" or atom[1] in line:
                    found.add(atom)
        if self.urls and "://" in line:
            for url in _URL_RE.findall(line):
                found.update(self.urls.get(url, ()))
        if self.emails and "@" in line:
            for mail in _EMAIL_RE.findall(low):
                found.update(self.emails.get(mail, ()))
        if self.ip6 and ":" in line:
            for addr in _IP6_RE.findall(low):
                found.update(self.ip6.get(addr, ()))
        return found

    def match_line(self, line: str) -> list[str]:
        """The indicators this line matches."""
        present = self.line_atoms(line)
        if not present:
            return []
        candidates = {iid for a in present for iid in self.index[a]}
        return sorted(i for i in candidates if _holds(self.trees[i], present))

    def match_lines(self, lines: Iterable[str]) -> dict[str, Hit]:
        hits: dict[str, Hit] = {}
        for n, line in enumerate(lines, 1):
            matched = self.match_line(line)
            if not matched:
                continue
            when = _time_of(line)
            for iid in matched:
                hit = hits.setdefault(iid, Hit(iid))
                hit.count += 1
                if len(hit.lines) < 100:
                    hit.lines.append(n)
                if when is not None:
                    hit.first_time = min(hit.first_time or when, when)
                    hit.last_time = max(hit.last_time or when, when)
        return hits


_TIME_RE = re.compile(r"\b(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.\d+)?Z?\b")


def _time_of(line: str) -> str | None:
    """The first ISO-8601 time in a log line, as UTC RFC 3339 (logs are taken as UTC)."""
    mo = _TIME_RE.search(line)
    return f"{mo.group(1)}T{mo.group(2)}Z" if mo else None


def nation_identity(nation: str) -> dict[str, Any]:
    """The STIX identity of a nation's network (where sightings are made), stable per nation."""
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": f"identity--{uuid4_shaped('trilink-nation:' + nation)}",
        "created": TRILINK_CREATED,
        "modified": TRILINK_CREATED,
        "name": f"{nation} networks (trilink node {nation})",
        "description": f"The networks whose logs {nation}'s trilink node matches indicators in.",
        "identity_class": "organization",
    }


def sightings(hits: Mapping[str, Hit], nation: str, now: str, source: str) -> list[dict[str, Any]]:
    """One STIX sighting per matched indicator, sighted on ``nation``'s networks (the nation's
    identity object first, so a bundle of these resolves)."""
    who = nation_identity(nation)
    out: list[dict[str, Any]] = [who]
    for iid, hit in sorted(hits.items()):
        s: dict[str, Any] = {
            "type": "sighting",
            "spec_version": "2.1",
            "id": f"sighting--{uuid.uuid4()}",
            "created": now,
            "modified": now,
            "created_by_ref": who["id"],
            "description": f"{hit.count} log lines of {source[:200]} matched on {nation}'s "
            "networks",
            "count": min(hit.count, 999_999_999),
            "sighting_of_ref": iid,
            "where_sighted_refs": [who["id"]],
        }
        if hit.first_time and hit.last_time:
            s["first_seen"], s["last_seen"] = hit.first_time, hit.last_time
        out.append(s)
    return out
