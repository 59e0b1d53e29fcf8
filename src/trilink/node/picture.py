"""Engine outputs onto a node: the glue the CLI and the demo share.

The engines stay pure; this edge turns their results into reports on one nation's node:
maritime events, the sanctions hits derived from them, and vessel tracks for the picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import polars as pl

from trilink.maritime.share import track_payloads
from trilink.model.label import Label
from trilink.node.service import NodeService


@dataclass
class Published:
    events: list[str] = field(default_factory=list)
    hits: list[str] = field(default_factory=list)
    tracks: list[str] = field(default_factory=list)


_screeners: dict[tuple[str, float], Any] = {}


def _screener(sanctions_dir: Path | None) -> Any:
    """The screener over the lists in force, parsed once per version of the active lists
    (the live listener publishes every few seconds; an update changes the manifest)."""
    from trilink.sanctions.io import MANIFEST, ActiveLists
    from trilink.sanctions.screen import Screener

    active = ActiveLists(sanctions_dir)
    manifest = active.directory / MANIFEST
    key = (str(active.directory), manifest.stat().st_mtime if manifest.exists() else 0.0)
    if key not in _screeners:
        _screeners.clear()
        _screeners[key] = Screener(active.load().vessels)
    return _screeners[key]


def publish_maritime(
    node: NodeService,
    label: Label | str,
    events: list[dict[str, Any]],
    *,
    tracks: pl.DataFrame | None = None,
    screen: bool = True,
    sanctions_dir: Path | None = None,
    track_points: int = 120,
    source: str = "",
) -> Published:
    """Publish ``maritime.event`` payloads; each event naming a sanctioned vessel also
    yields a ``sanctions.hit`` derived from it (label: the event's, combined with the
    lists'); ``tracks`` (cleaned positions) become one ``maritime.track`` per vessel."""
    out = Published()
    event_label = node.parse_label(label) if isinstance(label, str) else label
    if events:
        reports = node.publish_many("maritime.event", event_label, events, actor="maritime")
        out.events = [r.envelope.id for r in reports]
    if screen and events:
        from trilink.sanctions.hits import derived_label, screen_event

        screener = _screener(sanctions_dir)
        hits: list[dict[str, Any]] = []
        sources: list[list[str]] = []
        for event, event_id in zip(events, out.events, strict=True):
            hit = screen_event(screener, event)
            if hit is not None:
                hits.append(msgspec.to_builtins(hit))
                sources.append([event_id])
        if hits:
            reports = node.publish_many(
                "sanctions.hit",
                derived_label(event_label),
                hits,
                derived_from=sources,
                actor="sanctions",
            )
            out.hits = [r.envelope.id for r in reports]
    if tracks is not None and tracks.height:
        payloads = track_payloads(tracks, max_points=track_points, source=source)
        reports = node.publish_many("maritime.track", event_label, payloads, actor="maritime")
        out.tracks = [r.envelope.id for r in reports]
    return out
