"""One report as every output shows it: ``Item`` (its current version, typed payload, title,
times, symbol and map features), built from the kind registry alone (``build_item``).

The COP's index, its downloads, ``trilink export`` and the TAK stream all start from items,
so the map and every file agree on content and labels. Features are GeoJSON: positions
rounded to 1e-6 degree (0.1 m) for points and 1e-5 (1.1 m) for lines and rings, ellipses drawn
on the WGS-84 ellipsoid by ``trilink.geo.ellipse`` (counterclockwise), every feature carrying
the report's label.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import msgspec

from trilink.geo.ellipse import (
    ELLIPSE_VERTICES,
    RING_DECIMALS,
    ellipse_rings,
    ring_is_counterclockwise,
)
from trilink.model.kinds import decode_payload, spec_for
from trilink.model.kindspec import Area, Ellipse, KindSpec, Line, Point, Property, Shape, Symbol
from trilink.model.label import Label
from trilink.model.report import Envelope

POINT_DECIMALS = 6
LINE_DECIMALS = 5
MAX_FEATURES_PER_REPORT = 20_000
MAX_TITLE_CHARS = 120


@dataclass(frozen=True, slots=True)
class Item:
    """The current version of one report, ready for the map and every export."""

    id: str
    version: int
    kind: str
    origin: str
    label: str
    classification: str
    level: int
    exercise: bool
    created: str
    seq: int
    spec: KindSpec[Any]
    payload: msgspec.Struct
    title: str
    observed: str
    until: str | None
    track_key: str | None
    status: str | None
    ended: bool
    affiliation: str
    symbol: Symbol | None
    properties: dict[str, Property]
    shapes: tuple[Shape, ...] = ()
    features: list[dict[str, Any]] = field(default_factory=list)
    alt_m: float | None = None

    @property
    def sidc(self) -> str | None:
        return self.symbol.sidc(self.affiliation) if self.symbol else None

    def point(self) -> tuple[float, float] | None:
        """(lon, lat) of the report's first point feature, else the centre of its first
        feature; None when it is nowhere."""
        for feature in self.features:
            if feature["geometry"]["type"] == "Point":
                lon, lat = feature["geometry"]["coordinates"][:2]
                return (lon, lat)
        return centre(self.features[0]["geometry"]) if self.features else None

    def meta(self) -> dict[str, Any]:
        """What every feature of this report says about the report itself."""
        meta: dict[str, Any] = {
            "id": self.id,
            "version": self.version,
            "kind": self.kind,
            "origin": self.origin,
            "label": self.label,
            "classification": self.classification,
            "level": self.level,
            "exercise": self.exercise,
            "created": self.created,
            "seq": self.seq,
            "title": self.title,
            "t": self.observed,
            "until": self.until,
            "status": self.status,
            "track_key": self.track_key,
            "affiliation": self.affiliation,
            "sidc": self.sidc,
        }
        return meta


def iso_utc(text: str | None) -> str | None:
    """``text`` as an ISO-8601 UTC time ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` (what KML and CoT
    accept), or None if it is no time. A time without a zone is taken as UTC."""
    if not text or not isinstance(text, str) or len(text) > 40:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _finite_lonlat(lon: float, lat: float) -> tuple[float, float] | None:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    if 180.0 < lon <= 360.0:  # 0..360 longitudes (some sensors' convention)
        lon -= 360.0
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        return None
    return lon, lat


def _line_coords(coords: Sequence[tuple[float, float]]) -> list[list[float]] | None:
    out: list[list[float]] = []
    for lon, lat in coords[:MAX_FEATURES_PER_REPORT]:
        good = _finite_lonlat(float(lon), float(lat))
        if good is None:
            return None
        out.append([round(good[0], LINE_DECIMALS), round(good[1], LINE_DECIMALS)])
    return out


def shape_geometries(shapes: Sequence[Shape]) -> list[tuple[str, dict[str, Any], float | None]]:
    """(role, GeoJSON geometry, altitude) of each drawable shape. Shapes off the globe or not
    finite are left out; all ellipses are drawn in one call of the ellipsoid function."""
    out: list[tuple[str, dict[str, Any], float | None] | None] = []
    ellipses: list[tuple[int, Ellipse]] = []
    for shape in shapes:
        if isinstance(shape, Point):
            where = _finite_lonlat(shape.lon, shape.lat)
            if where is None:
                continue
            coords = [round(where[0], POINT_DECIMALS), round(where[1], POINT_DECIMALS)]
            alt = shape.alt_m if shape.alt_m is not None and math.isfinite(shape.alt_m) else None
            if alt is not None:
                coords.append(round(alt, 1))
            out.append((shape.role, {"type": "Point", "coordinates": coords}, alt))
        elif isinstance(shape, Line):
            line = _line_coords(shape.coords)
            if line is not None and len(line) >= 2:
                out.append((shape.role, {"type": "LineString", "coordinates": line}, None))
        elif isinstance(shape, Area):
            ring = _line_coords(shape.ring)
            if ring is not None and len(ring) >= 3:
                if ring[0] != ring[-1]:
                    ring.append(ring[0])
                if not ring_is_counterclockwise(ring):
                    ring.reverse()
                out.append((shape.role, {"type": "Polygon", "coordinates": [ring]}, None))
        elif isinstance(shape, Ellipse):
            values = (shape.semi_major_m, shape.semi_minor_m, shape.orientation_deg)
            if _finite_lonlat(shape.lon, shape.lat) and all(math.isfinite(v) for v in values):
                ellipses.append((len(out), shape))
                out.append(None)  # filled below, in order
    if ellipses:
        rings = ellipse_rings(
            [e.lon for _, e in ellipses],
            [e.lat for _, e in ellipses],
            [e.semi_major_m for _, e in ellipses],
            [e.semi_minor_m for _, e in ellipses],
            [e.orientation_deg for _, e in ellipses],
            ELLIPSE_VERTICES,
        ).round(RING_DECIMALS)
        for (slot, shape), ring in zip(ellipses, rings, strict=True):
            geometry = {"type": "Polygon", "coordinates": [ring.tolist()]}
            out[slot] = (shape.role, geometry, None)
    return [o for o in out if o is not None]


def centre(geometry: dict[str, Any]) -> tuple[float, float]:
    """Mean of a geometry's vertices (a polygon's closing vertex counted once)."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(c: Any) -> None:
        if c and isinstance(c[0], (int, float)):
            xs.append(c[0])
            ys.append(c[1])
        else:
            for x in c:
                walk(x)

    coords = geometry["coordinates"]
    walk(coords[0][:-1] if geometry["type"] == "Polygon" else coords)
    return sum(xs) / len(xs), sum(ys) / len(ys)


def _title(spec: KindSpec[Any], payload: msgspec.Struct) -> str:
    text = " ".join(str(spec.title(payload)).split()) or spec.kind
    return text if len(text) <= MAX_TITLE_CHARS else text[: MAX_TITLE_CHARS - 3] + "..."


def build_item(env: Envelope, label: Label, seq: int) -> Item:
    """The item of one (non-tombstone) report version. Raises ``ReportError`` when the
    payload does not fit its registered kind (the node checked it when it was stored)."""
    spec = spec_for(env.kind)
    payload = decode_payload(env.kind, bytes(env.payload))
    observed = iso_utc(spec.observed(payload)) or env.created
    track = spec.track(payload)
    affiliation = spec.affiliation(payload)
    symbol = spec.symbol(payload)
    shapes = tuple(spec.shapes(payload))
    geometries = shape_geometries(shapes)
    item = Item(
        id=env.id,
        version=env.version,
        kind=env.kind,
        origin=env.origin,
        label=env.label,
        classification=label.classification.text,
        level=label.classification.value,
        exercise=label.exercise,
        created=env.created,
        seq=seq,
        spec=spec,
        payload=payload,
        title=_title(spec, payload),
        observed=observed,
        until=iso_utc(spec.until(payload)),
        track_key=f"{env.origin}:{env.kind}:{track}" if track else None,
        status=spec.status(payload),
        ended=spec.ended(payload),
        affiliation=affiliation,
        symbol=symbol,
        properties=dict(spec.properties(payload)),
        shapes=shapes,
        alt_m=next((alt for _, _, alt in geometries if alt is not None), None),
    )
    # the item's own (still empty) list: filled once, never replaced
    item.features.extend(_features(item, geometries))
    return item


def _features(
    item: Item, geometries: list[tuple[str, dict[str, Any], float | None]]
) -> list[dict[str, Any]]:
    """The GeoJSON features of ``item``'s shapes, each carrying the report's meta and
    properties."""
    meta = item.meta()
    meta.update(item.properties)
    features = []
    for n, (role, geometry, _) in enumerate(geometries):
        props = dict(meta, role=role, fid=f"{item.id}:{n}")
        features.append(
            {"type": "Feature", "id": props["fid"], "geometry": geometry, "properties": props}
        )
    return features


def with_history(item: Item, positions: Sequence[tuple[float, float]]) -> Item:
    """``item`` with the path of its object so far (oldest first, ending at its current
    position) as a ``history`` line feature."""
    if len(positions) < 2 or not item.features:
        return item
    coords = [[round(x, LINE_DECIMALS), round(y, LINE_DECIMALS)] for x, y in positions]
    props = dict(item.features[0]["properties"], role="history", fid=f"{item.id}:history")
    feature = {
        "type": "Feature",
        "id": props["fid"],
        "geometry": {"type": "LineString", "coordinates": coords},
        "properties": props,
    }
    return replace(item, features=[*item.features, feature])
