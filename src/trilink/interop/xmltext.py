"""Text from reports made safe for XML 1.0 (KML, CoT): characters XML cannot carry at all
(control characters, lone surrogates, U+FFFE/U+FFFF) are dropped, markup characters escaped.
Report text comes from partners and sensors; an export must stay well-formed whatever it is."""

from __future__ import annotations

import re

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
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
    return _NOT_XML.sub("", str(value)).translate(_TEXT)


def xml_attr(value: object) -> str:
    """``value`` as the inside of a double-quoted attribute."""
    return _NOT_XML.sub("", str(value)).translate(_ATTR)


def xml_comment(value: object) -> str:
    """``value`` as the text of an XML comment (which may not contain "--")."""
    return xml_text(value).replace("--", "- -")
