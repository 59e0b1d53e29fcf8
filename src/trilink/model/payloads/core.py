"""Payloads of the foundation's own kinds."""

from __future__ import annotations

import msgspec


class NotePayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A free-text analyst note."""

    title: str
    body: str = ""
    tags: list[str] = []


class TombstonePayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Marks every earlier version of a report as deleted. Replicates like any report."""

    reason: str = ""


KINDS: dict[str, type[msgspec.Struct]] = {
    "note": NotePayload,
    "tombstone": TombstonePayload,
}
