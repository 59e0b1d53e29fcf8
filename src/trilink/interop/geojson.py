"""GeoJSON (RFC 7946): one FeatureCollection of every current report's features.

Each feature carries its report's label (its portion mark) and the properties users filter on
(MMSI, IMO, event times, track id, status, from the kind registry); the collection states the
overall marking in foreign members (``classification``, ``marking``), as section 6.1 allows.
Polygons follow the right-hand rule (exterior rings counterclockwise); there is no ``crs``
member (WGS-84 longitude/latitude is implied). Written in chunks, so a large export never
holds more than one chunk of encoded features besides the items themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import IO, Any

import msgspec

from trilink.interop.items import Item
from trilink.interop.marking import Marking

CHUNK = 2000
_encoder = msgspec.json.Encoder()


def map_features(items: Sequence[Item]) -> Iterator[dict[str, Any]]:
    """Features of the items on the map (an ended item, a cancelled warning, has left it)."""
    for item in items:
        if not item.ended:
            yield from item.features


def write_geojson(items: Sequence[Item], marking: Marking, nation: str, out: IO[bytes]) -> int:
    """Write the FeatureCollection to ``out``; returns how many features."""
    head = {
        "type": "FeatureCollection",
        "name": f"{marking.text} | trilink {nation}",
        "classification": marking.text,
        "marking": marking.as_dict(),
        "exported_by": nation,
        "exported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    out.write(_encoder.encode(head)[:-1] + b',"features":[')
    count = 0
    chunk: list[dict[str, Any]] = []
    for feature in map_features(items):
        chunk.append(feature)
        if len(chunk) == CHUNK:
            out.write((b"," if count else b"") + _encoder.encode(chunk)[1:-1])
            count += len(chunk)
            chunk = []
    if chunk:
        out.write((b"," if count else b"") + _encoder.encode(chunk)[1:-1])
        count += len(chunk)
    out.write(b"]}\n")
    return count
