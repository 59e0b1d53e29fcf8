"""Payloads of the foundation's own kinds: ``note`` and ``tombstone``."""

from __future__ import annotations

import msgspec

from trilink.model.kindspec import KindSpec, Property


class NotePayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A free-text analyst note."""

    title: str
    body: str = ""
    tags: list[str] = []


class TombstonePayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Marks every earlier version of a report as deleted. Replicates like any report."""

    reason: str = ""


def _note_properties(p: NotePayload) -> dict[str, Property]:
    return {"tags": ", ".join(p.tags) or None}


KINDS: tuple[KindSpec[NotePayload] | KindSpec[TombstonePayload], ...] = (
    KindSpec(
        kind="note",
        payload=NotePayload,
        title=lambda p: p.title.strip() or "note",
        panel=("title", "body", "tags"),
        properties=_note_properties,
        how=lambda p: "h-e",
        folder="Notes",
    ),
    KindSpec(
        kind="tombstone",
        payload=TombstonePayload,
        title=lambda p: "deleted" + (f": {p.reason}" if p.reason else ""),
        panel=("reason",),
        folder="Deleted",
    ),
)
