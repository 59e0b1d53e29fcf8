"""The simple STIX pattern most indicators are: one equality on one observable property,
``[ipv4-addr:value = '198.51.100.7']``, ``[file:hashes.'SHA-256' = '…']``.

``simple_comparison`` recognises exactly that form with a regular expression that accepts a
strict subset of the STIX 2.1 pattern grammar, so such patterns need not go through the ANTLR
parser of ``stix2-patterns`` (about 1 ms each in Python); every other pattern still does.
"""

from __future__ import annotations

import re

_STRING = r"'((?:[^'\\]|\\['\\])*)'"
_SIMPLE_RE = re.compile(
    r"\[\s?(ipv4-addr|ipv6-addr|domain-name|url|email-addr|mac-addr|file)"
    r":(value|name|hashes\.(?:MD5|'MD5'|'SHA-1'|'SHA-256'|'SHA-512'))"
    r"\s?=\s?" + _STRING + r"\s?\]"
)
_HEX_RE = re.compile(r"[0-9a-fA-F]+")
_HASH_HEX = {"MD5": 32, "SHA-1": 40, "SHA-256": 64, "SHA-512": 128}
_UNESCAPE_RE = re.compile(r"\\(['\\])")


def simple_comparison(pattern: str) -> tuple[str, list[str], str] | None:
    """(object type, property path, value) of a one-comparison equality pattern, else None."""
    m = _SIMPLE_RE.fullmatch(pattern)
    if m is None:
        return None
    kind, prop, raw = m.group(1), m.group(2), m.group(3)
    if (kind == "file") == (prop == "value") or (kind != "file" and prop != "value"):
        return None
    path = prop.split(".", 1)
    if len(path) == 2:
        path[1] = path[1].strip("'")
        if not _HEX_RE.fullmatch(raw) or len(raw) != _HASH_HEX[path[1]]:
            return None  # the grammar checks hash values: let it say what is wrong
    return kind, path, _UNESCAPE_RE.sub(r"\1", raw)
