"""Errors of ``trilink.cyber``: where the bad input is (file, object id, property)."""

from __future__ import annotations

from dataclasses import dataclass

from trilink.errors import InputError


class CyberInputError(InputError):
    """A whole file or envelope is unusable (oversized, not JSON, not a bundle)."""


@dataclass(frozen=True)
class Problem:
    """One object (or MISP attribute) that was refused; the rest of its file goes on.

    source   the file or URL it came from
    object   the STIX id (or MISP attribute uuid / index) of the refused item
    field    the property at fault ("" when the whole object is at fault)
    message  what is wrong
    """

    source: str
    object: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.object}" if self.object else self.source
        if self.field:
            where += f" property {self.field!r}"
        return f"{where}: {self.message}"
