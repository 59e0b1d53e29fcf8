"""Map exports: GeoJSON, KML (Google Earth) and Cursor-on-Target XML (TAK).

Input is what the COP shows (report summaries with their features); every exported feature
carries its own security label, and each file states the overall marking of its contents at
the top, as a classified product must.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape, quoteattr

STALE_AFTER = timedelta(hours=1)
_KML_COLOURS = {0: "ff33aa00", 1: "ff852b50", 2: "ffa03300", 3: "ff1010d0", 4: "ff008cff"}


def _features(reports: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for r in reports for f in r["features"]]


def to_geojson(reports: list[dict[str, Any]], banner: dict[str, Any], nation: str) -> str:
    doc = {
        "type": "FeatureCollection",
        "classification": banner["text"],
        "exported_by": nation,
        "exported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "features": _features(reports),
    }
    return json.dumps(doc, separators=(",", ":"))


def _kml_coords(coords: list[Any]) -> str:
    return " ".join(f"{c[0]:.6f},{c[1]:.6f}" for c in coords)


def _kml_geometry(geom: dict[str, Any]) -> str:
    kind, coords = geom["type"], geom["coordinates"]
    if kind == "Point":
        return f"<Point><coordinates>{coords[0]:.6f},{coords[1]:.6f}</coordinates></Point>"
    if kind == "LineString":
        return f"<LineString><coordinates>{_kml_coords(coords)}</coordinates></LineString>"
    if kind == "Polygon":
        rings = [
            f"<{tag}><LinearRing><coordinates>{_kml_coords(ring)}</coordinates></LinearRing></{tag}>"
            for tag, ring in zip(
                ["outerBoundaryIs"] + ["innerBoundaryIs"] * (len(coords) - 1), coords, strict=True
            )
        ]
        return "<Polygon>" + "".join(rings) + "</Polygon>"
    single = {"MultiPoint": "Point", "MultiLineString": "LineString", "MultiPolygon": "Polygon"}
    parts = [_kml_geometry({"type": single[kind], "coordinates": c}) for c in coords]
    return "<MultiGeometry>" + "".join(parts) + "</MultiGeometry>"


def to_kml(reports: list[dict[str, Any]], banner: dict[str, Any], nation: str) -> str:
    marks = [
        f'<Style id="c{level}"><IconStyle><color>{colour}</color></IconStyle>'
        f"<LineStyle><color>{colour}</color><width>2</width></LineStyle>"
        f"<PolyStyle><color>{'55' + colour[2:]}</color></PolyStyle></Style>"
        for level, colour in _KML_COLOURS.items()
    ]
    placemarks = []
    for f in _features(reports):
        p = f["properties"]
        data = "".join(
            f'<Data name="{k}"><value>{escape(str(p[k]))}</value></Data>'
            for k in (
                "label",
                "classification",
                "id",
                "version",
                "kind",
                "origin",
                "role",
                "created",
            )
        )
        name = f"({p['classification']}) {p.get('title', p['kind'])}"
        placemarks.append(
            "<Placemark>"
            f"<name>{escape(name)}</name>"
            f"<description>{escape(p['label'] + ' | ' + p['kind'] + ' from ' + p['origin'])}"
            "</description>"
            f"<styleUrl>#c{int(p['level'])}</styleUrl>"
            f"<ExtendedData>{data}</ExtendedData>"
            f"{_kml_geometry(f['geometry'])}"
            "</Placemark>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<!-- {escape(banner['text'])} -->\n"
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<name>{escape(banner['text'] + ' | trilink COP ' + nation)}</name>"
        f"<description>{escape('Overall classification: ' + banner['text'])}</description>"
        + "".join(marks)
        + "".join(placemarks)
        + "</Document></kml>\n"
    )


def _cot_type(kind: str, role: str) -> str:
    if role.endswith(("track", "ellipse")) or role == "geometry":
        return "u-d-f"  # a drawing: a line or shape
    if kind.startswith("maritime"):
        return "a-u-S"  # unknown surface contact
    if kind.startswith("missile"):
        return "a-h-A-M" if role in ("point", "position") else "b-m-p-s-p-i"
    return "b-m-p-s-p-i"  # spot / point of interest


def _centre(geom: dict[str, Any]) -> tuple[float, float]:
    xs: list[float] = []
    ys: list[float] = []

    def walk(c: Any) -> None:
        if c and isinstance(c[0], (int, float)):
            xs.append(c[0])
            ys.append(c[1])
        else:
            for x in c:
                walk(x)

    walk(geom["coordinates"])
    return sum(xs) / len(xs), sum(ys) / len(ys)


def _cot_links(geom: dict[str, Any]) -> str:
    if geom["type"] == "LineString":
        pts = geom["coordinates"]
    elif geom["type"] == "Polygon":
        pts = geom["coordinates"][0]
    else:
        return ""
    return "".join(f'<link point="{p[1]:.6f},{p[0]:.6f}"/>' for p in pts)


def to_cot(reports: list[dict[str, Any]], banner: dict[str, Any], nation: str) -> str:
    now = datetime.now(UTC)
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ"
    events = []
    for f in _features(reports):
        p = f["properties"]
        lon, lat = _centre(f["geometry"])
        remarks = f"{p['label']} | {p['kind']} from {p['origin']} | {p.get('title', '')}"
        events.append(
            f'<event version="2.0" uid={quoteattr("trilink-" + p["fid"])} '
            f'type={quoteattr(_cot_type(p["kind"], p["role"]))} how="m-g" '
            f'time="{now.strftime(fmt)}" start="{now.strftime(fmt)}" '
            f'stale="{(now + STALE_AFTER).strftime(fmt)}" access={quoteattr(p["label"])}>'
            f'<point lat="{lat:.6f}" lon="{lon:.6f}" hae="9999999.0" ce="9999999.0" '
            'le="9999999.0"/>'
            f"<detail><contact callsign={quoteattr(str(p.get('title', p['kind']))[:60])}/>"
            f"<remarks>{escape(remarks)}</remarks>"
            f"{_cot_links(f['geometry'])}"
            f"<trilink label={quoteattr(p['label'])} "
            f"classification={quoteattr(p['classification'])} "
            f'report={quoteattr(p["id"])} version="{int(p["version"])}" '
            f"kind={quoteattr(p['kind'])} origin={quoteattr(p['origin'])} "
            f"role={quoteattr(p['role'])}/></detail></event>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<!-- {escape(banner['text'])} -->\n"
        f"<events classification={quoteattr(banner['text'])} "
        f"source={quoteattr('trilink COP ' + nation)}>" + "".join(events) + "</events>\n"
    )
