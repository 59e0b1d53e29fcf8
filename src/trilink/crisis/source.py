"""Reading a TOML or YAML file of the crisis engine with the line of every key.

``tomllib`` and ``yaml.safe_load`` give values without positions; a checker must name the line
of a problem. ``read_document`` returns the parsed mapping and a ``Lines`` that answers "on
which line is this path" (``("step", 2, "role")``), falling back to the nearest enclosing
table when a key is absent (a missing key is reported at its table's header).

Pure: text in, values out. A syntax error becomes an ``InputError`` naming file and line.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]

from trilink.errors import InputError

MAX_DOCUMENT_BYTES = 1_000_000
PathKey = tuple[str | int, ...]

_TOML_LINE = re.compile(r"at line (\d+)")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass
class Lines:
    """Line numbers (1-based) of the keys and tables of one document."""

    at: dict[PathKey, int] = field(default_factory=dict)

    def line(self, path: PathKey) -> int | None:
        """The line of ``path``, else of its nearest enclosing key or table, else None."""
        for n in range(len(path), 0, -1):
            found = self.at.get(path[:n])
            if found is not None:
                return found
        return None


def _split_key(text: str) -> list[str]:
    """A dotted TOML key (``a."b.c".d``) into its parts."""
    parts: list[str] = []
    i = 0
    text = text.strip()
    while i < len(text):
        ch = text[i]
        if ch in "\"'":
            end = text.find(ch, i + 1)
            end = len(text) if end < 0 else end
            parts.append(text[i + 1 : end])
            i = end + 1
        elif ch == "." or ch.isspace():
            i += 1
        else:
            m = _BARE_KEY.match(text, i)
            if m is None:
                parts.append(text[i:])
                break
            parts.append(m.group(0))
            i = m.end()
    return parts


def toml_lines(text: str) -> Lines:
    """Where each table header and key of a TOML document is (tables of an array get their
    index: the third ``[[step]]`` is ``("step", 2)``)."""
    lines = Lines()
    table: PathKey = ()
    arrays: dict[PathKey, int] = {}
    fence: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        s = raw.strip()
        if fence is not None:
            if s.count(fence) % 2 == 1:
                fence = None
            continue
        if not s or s.startswith("#"):
            continue
        if s.startswith("[[") and "]]" in s:
            table = _resolve(arrays, _split_key(s[2 : s.index("]]")]))
            arrays[table] = arrays.get(table, -1) + 1
            lines.at.setdefault(table, number)
            table = (*table, arrays[table])
            lines.at.setdefault(table, number)
            continue
        if s.startswith("[") and "]" in s:
            table = _resolve(arrays, _split_key(s[1 : s.index("]")]))
            lines.at.setdefault(table, number)
            continue
        if "=" in s:
            key, rest = s.split("=", 1)
            lines.at.setdefault((*table, *_split_key(key)), number)
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    fence = quote
    return lines


def _resolve(arrays: dict[PathKey, int], parts: list[str]) -> PathKey:
    """A header's path with the current index of each array of tables it passes through."""
    path: PathKey = ()
    for part in parts:
        path = (*path, part)
        if path in arrays:
            path = (*path, arrays[path])
    # the header itself names the array, not an element of it
    if parts and path and isinstance(path[-1], int) and path[:-1] in arrays:
        return path[:-1]
    return path


def _yaml_lines(node: Any, path: PathKey, lines: Lines, seen: set[int]) -> None:
    lines.at.setdefault(path, node.start_mark.line + 1)
    if id(node) in seen:  # an alias: its lines are those of the anchor, walked once
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key.start_mark.line)
            lines.at.setdefault((*path, name), key.start_mark.line + 1)
            _yaml_lines(value, (*path, name), lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            _yaml_lines(value, (*path, index), lines, seen)


def read_document(text: str, path: str) -> tuple[dict[str, Any], Lines]:
    """Parse TOML (``.toml``) or YAML (``.yaml``/``.yml``) text into a mapping and its lines."""
    if len(text.encode("utf-8", "replace")) > MAX_DOCUMENT_BYTES:
        raise InputError(
            f"file is larger than {MAX_DOCUMENT_BYTES:,} bytes; a playbook or roster is a few "
            "kilobytes",
            path=path,
        )
    if path.endswith((".yaml", ".yml")):
        return _read_yaml(text, path)
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise InputError("nested too deeply", path=path) from None
    except tomllib.TOMLDecodeError as err:
        m = _TOML_LINE.search(str(err))
        raise InputError(
            f"not valid TOML: {err}", path=path, line=int(m.group(1)) if m else None
        ) from None
    return data, toml_lines(text)


def _read_yaml(text: str, path: str) -> tuple[dict[str, Any], Lines]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        raise InputError(
            f"not valid YAML: {problem}", path=path, line=mark.line + 1 if mark else None
        ) from None
    except (RecursionError, ValueError, TypeError) as err:
        raise InputError(f"not valid YAML: {err}", path=path) from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise InputError("the document must be a mapping of keys to values", path=path, line=1)
    lines = Lines()
    if node is not None:
        try:
            _yaml_lines(node, (), lines, set())
        except RecursionError:
            raise InputError("nested too deeply", path=path) from None
    return dict(data), lines
