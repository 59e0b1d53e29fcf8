"""RFC 7946 (GeoJSON) as a schema: msgspec types written from the RFC's sections, decoded
strictly. ``check(document)`` raises ``msgspec.ValidationError`` naming the first violation;
``json_schema()`` is the same model as a JSON Schema document.

Sections enforced: 3 (a GeoJSON object has a ``type``), 3.1 (geometry types and their
``coordinates``), 3.1.1 (a position is two or three numbers, longitude first), 3.1.4 (a
LineString has two or more positions), 3.1.6 (a linear ring is closed and has four or more
positions; exteriors counterclockwise, holes clockwise), 3.1.8 (GeometryCollection), 3.2
(Feature: ``geometry`` and ``properties`` members, ``id`` a string or number), 3.3
(FeatureCollection), 4 (WGS-84 longitude/latitude in range; no ``crs`` member).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

# 3.1.1: two or three numbers, longitude and latitude first (an altitude may follow)
Position = Annotated[list[float], msgspec.Meta(min_length=2, max_length=3)]


def _position(p: Position, where: str) -> None:
    lon, lat = p[0], p[1]
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise msgspec.ValidationError(f"{where}: position {p} is off the globe (section 4)")


def _ring(ring: list[Position], where: str, exterior: bool) -> None:
    if len(ring) < 4:
        raise msgspec.ValidationError(f"{where}: a linear ring has 4 or more positions (3.1.6)")
    if ring[0] != ring[-1]:
        raise msgspec.ValidationError(f"{where}: a linear ring is closed (3.1.6)")
    area = sum(
        x0 * y1 - x1 * y0 for (x0, y0, *_), (x1, y1, *_) in zip(ring[:-1], ring[1:], strict=True)
    )
    if (area > 0) != exterior:
        turn = "counterclockwise" if exterior else "clockwise"
        raise msgspec.ValidationError(f"{where}: this ring must turn {turn} (3.1.6)")
    for p in ring:
        _position(p, where)


class Point(msgspec.Struct, tag="Point", tag_field="type", forbid_unknown_fields=True):
    coordinates: Position
    bbox: list[float] | None = None

    def __post_init__(self) -> None:
        _position(self.coordinates, "Point")


class MultiPoint(msgspec.Struct, tag="MultiPoint", tag_field="type", forbid_unknown_fields=True):
    coordinates: list[Position]
    bbox: list[float] | None = None

    def __post_init__(self) -> None:
        for p in self.coordinates:
            _position(p, "MultiPoint")


class LineString(msgspec.Struct, tag="LineString", tag_field="type", forbid_unknown_fields=True):
    coordinates: list[Position]
    bbox: list[float] | None = None

    def __post_init__(self) -> None:
        if len(self.coordinates) < 2:
            raise msgspec.ValidationError("LineString: two or more positions (3.1.4)")
        for p in self.coordinates:
            _position(p, "LineString")


class MultiLineString(
    msgspec.Struct, tag="MultiLineString", tag_field="type", forbid_unknown_fields=True
):
    coordinates: list[list[Position]]
    bbox: list[float] | None = None

    def __post_init__(self) -> None:
        for line in self.coordinates:
            LineString(coordinates=line)


class Polygon(msgspec.Struct, tag="Polygon", tag_field="type", forbid_unknown_fields=True):
    coordinates: list[list[Position]]
    bbox: list[float] | None = None

    def __post_init__(self) -> None:
        if not self.coordinates:
            raise msgspec.ValidationError("Polygon: needs its exterior ring (3.1.6)")
        for n, ring in enumerate(self.coordinates):
            _ring(ring, "Polygon", exterior=n == 0)


class MultiPolygon(
    msgspec.Struct, tag="MultiPolygon", tag_field="type", forbid_unknown_fields=True
):
    coordinates: list[list[list[Position]]]
    bbox: list[float] | None = None

    def __post_init__(self) -> None:
        for polygon in self.coordinates:
            Polygon(coordinates=polygon)


Geometry = Point | MultiPoint | LineString | MultiLineString | Polygon | MultiPolygon


class GeometryCollection(
    msgspec.Struct, tag="GeometryCollection", tag_field="type", forbid_unknown_fields=True
):
    geometries: list[Geometry]
    bbox: list[float] | None = None


class Feature(msgspec.Struct, tag="Feature", tag_field="type", forbid_unknown_fields=True):
    geometry: Geometry | GeometryCollection | None
    properties: dict[str, Any] | None
    id: str | int | float | msgspec.UnsetType = msgspec.UNSET
    bbox: list[float] | None = None


class FeatureCollection(msgspec.Struct, tag="FeatureCollection", tag_field="type"):
    """Foreign members (``classification``, ``marking``, ...) are allowed (section 6.1); a
    ``crs`` member is not (section 4: it was removed)."""

    features: list[Feature]
    bbox: list[float] | None = None


def check(document: bytes) -> FeatureCollection:
    raw = msgspec.json.decode(document)
    if isinstance(raw, dict) and "crs" in raw:
        raise msgspec.ValidationError("a 'crs' member is not GeoJSON any more (section 4)")
    return msgspec.json.decode(document, type=FeatureCollection)


def json_schema() -> dict[str, Any]:
    return msgspec.json.schema(FeatureCollection)
