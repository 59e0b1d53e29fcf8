"""Maritime engine results onto this nation's node, through its API: the glue the CLI,
the live listener and the demo share.

The engines stay pure; this runner turns their results into reports on one nation's node:
maritime events, the sanctions hits derived from them, and vessel tracks for the picture.
It holds no key and opens no store: the node validates, signs and releases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from trilink.client import NodeClient
from trilink.maritime.share import track_payloads
from trilink.model.label import format_label, parse_label
from trilink.model.payloads.sanctions import SanctionsHitPayload


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
    client: NodeClient,
    label: str,
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
    event_label = parse_label(label)
    if events:
        out.events = client.publish_payloads("maritime.event", label, events).ids
    if screen and events:
        from trilink.sanctions.hits import derived_label, screen_event

        screener = _screener(sanctions_dir)
        hits: list[SanctionsHitPayload] = []
        sources: list[list[str]] = []
        for event, event_id in zip(events, out.events, strict=True):
            hit = screen_event(screener, event)
            if hit is not None:
                hits.append(hit)
                sources.append([event_id])
        if hits:
            out.hits = client.publish_payloads(
                "sanctions.hit",
                format_label(derived_label(event_label)),
                hits,
                derived_from=sources,
            ).ids
    if tracks is not None and tracks.height:
        payloads = track_payloads(tracks, max_points=track_points, source=source)
        out.tracks = client.publish_payloads("maritime.track", label, payloads).ids
    return out
