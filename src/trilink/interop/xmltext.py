"""Text from reports made safe for XML 1.0 (KML, CoT): characters XML cannot carry at all
(control characters, lone surrogates, U+FFFE/U+FFFF) are dropped, markup characters escaped.
Report text comes from partners and sensors; an export must stay well-formed whatever it is."""

from __future__ import annotations

import re

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# most text needs nothing done: one search decides
_TEXT_WORK = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ATTR_WORK = re.compile('[&<>"\n\r\t\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ATTR = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)


def xml_text(value: object) -> str:
    """``value`` as element text."""
    text = value if isinstance(value, str) else str(value)
    if _TEXT_WORK.search(text) is None:
        return text
    return _NOT_XML.sub("", text).translate(_TEXT)


def xml_attr(value: object) -> str:
    """``value`` as the inside of a double-quoted attribute."""
    text = value if isinstance(value, str) else str(value)
    if _ATTR_WORK.search(text) is None:
        return text
    return _NOT_XML.sub("", text).translate(_ATTR)


def xml_comment(value: object) -> str:
    """``value`` as the text of an XML comment (which may not contain "--")."""
    return xml_text(value).replace("--", "- -")
