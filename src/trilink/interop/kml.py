"""KML 2.2 (OGC 07-147r2) for Google Earth and GIS: one placemark per current report.

* a folder per kind (the registry's ``folder``), inside it a folder per origin nation;
* ``TimeStamp`` at the observation time, or ``TimeSpan`` from it to the end of what was
  observed (an event's end, a warning's impact time), so Google Earth's time slider works;
* air and space tracks at their altitude (``altitudeMode`` absolute, extruded to the ground);
* a style per kind and affiliation (colours of MIL-STD-2525: hostile red, suspect orange,
  unknown yellow, friend blue, neutral green);
* each placemark's name and description begin with its label (portion mark); the document's
  name and description carry the overall marking.

Validated against the OGC KML 2.2 schema in tests/interop.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import IO, Any

from trilink.interop.items import Item
from trilink.interop.marking import Marking
from trilink.interop.xmltext import xml_comment, xml_text

# aabbggrr
AFFILIATION_COLOURS = {
    "hostile": "ff0000ff",
    "suspect": "ff0080ff",
    "unknown": "ff00ffff",
    "pending": "ff80ffff",
    "friend": "ffffe080",
    "assumed_friend": "ffffe080",
    "neutral": "ffaaffaa",
}
DATA_FIELDS = ("label", "classification", "id", "version", "kind", "origin", "t", "until")


def style_id(item: Item) -> str:
    return f"{item.kind.replace('.', '_')}-{item.affiliation}"


def _style(sid: str, affiliation: str) -> str:
    colour = AFFILIATION_COLOURS.get(affiliation, "ffffffff")
    return (
        f'<Style id="{sid}"><IconStyle><color>{colour}</color></IconStyle>'
        f"<LineStyle><color>{colour}</color><width>2</width></LineStyle>"
        f"<PolyStyle><color>55{colour[2:]}</color></PolyStyle></Style>"
    )


def _coords(coords: Sequence[Sequence[float]]) -> str:
    text = " ".join([",".join([repr(v) for v in c]) for c in coords])
    if "e" in text:  # a value within 1e-4 of 0 in exponent form: write it plainly
        text = " ".join(",".join(f"{v:.7f}" for v in c) for c in coords)
    return text


def _geometry(geometry: dict[str, Any]) -> str:
    kind, coords = geometry["type"], geometry["coordinates"]
    if kind == "Point":
        if len(coords) > 2:  # a height: air and space objects are drawn where they are
            return (
                "<Point><extrude>1</extrude><altitudeMode>absolute</altitudeMode>"
                f"<coordinates>{_coords([coords])}</coordinates></Point>"
            )
        return f"<Point><coordinates>{_coords([coords])}</coordinates></Point>"
    if kind == "LineString":
        return (
            f"<LineString><tessellate>1</tessellate><coordinates>{_coords(coords)}"
            "</coordinates></LineString>"
        )
    if kind == "Polygon":
        rings = "".join(
            f"<{tag}><LinearRing><coordinates>{_coords(ring)}</coordinates></LinearRing></{tag}>"
            for tag, ring in zip(
                ["outerBoundaryIs"] + ["innerBoundaryIs"] * (len(coords) - 1), coords, strict=True
            )
        )
        return f"<Polygon><tessellate>1</tessellate>{rings}</Polygon>"
    single = {"MultiPoint": "Point", "MultiLineString": "LineString", "MultiPolygon": "Polygon"}
    parts = [_geometry({"type": single[kind], "coordinates": c}) for c in coords]
    return "<MultiGeometry>" + "".join(parts) + "</MultiGeometry>"


def _time(item: Item) -> str:
    if item.until and item.until > item.observed:
        return f"<TimeSpan><begin>{item.observed}</begin><end>{item.until}</end></TimeSpan>"
    return f"<TimeStamp><when>{item.observed}</when></TimeStamp>"


def _placemark(item: Item) -> str:
    meta = item.features[0]["properties"]
    data = "".join(
        f'<Data name="{key}"><value>{xml_text(meta[key])}</value></Data>'
        for key in (*DATA_FIELDS, *item.properties)
        if meta.get(key) is not None
    )
    status = f" ({item.status})" if item.status and item.status not in item.title else ""
    description = (
        f"{item.label} | {item.kind} from {item.origin} | {item.title}{status} | "
        f"observed {item.observed}" + (f" to {item.until}" if item.until else "")
    )
    geometries = [f["geometry"] for f in item.features]
    geometry = (
        _geometry(geometries[0])
        if len(geometries) == 1
        else "<MultiGeometry>" + "".join(_geometry(g) for g in geometries) + "</MultiGeometry>"
    )
    return (
        f'<Placemark id="r{item.id}">'
        f"<name>{xml_text(f'({item.label}) {item.title}')}</name>"
        f"<description>{xml_text(description)}</description>"
        f"{_time(item)}<styleUrl>#{style_id(item)}</styleUrl>"
        f"<ExtendedData>{data}</ExtendedData>{geometry}</Placemark>"
    )


def write_kml(items: Sequence[Item], marking: Marking, nation: str, out: IO[bytes]) -> int:
    """Write the KML document to ``out``; returns how many placemarks."""
    on_map = [item for item in items if item.features and not item.ended]
    folders: dict[str, dict[str, list[Item]]] = defaultdict(lambda: defaultdict(list))
    styles: dict[str, str] = {}
    for item in on_map:
        folders[item.spec.folder_name][item.origin].append(item)
        styles.setdefault(style_id(item), item.affiliation)
    title = f"{marking.text} | trilink COP {nation}"
    out.write(
        (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<!-- {xml_comment(marking.text)} -->\n"
            '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
            f"<name>{xml_text(title)}</name><open>1</open>"
            f"<description>{xml_text('Overall classification: ' + marking.text)}</description>"
            + "".join(_style(sid, aff) for sid, aff in sorted(styles.items()))
        ).encode()
    )
    for folder in sorted(folders):
        out.write(f"<Folder><name>{xml_text(folder)}</name>".encode())
        for origin in sorted(folders[folder]):
            out.write(f"<Folder><name>from {xml_text(origin)}</name>".encode())
            out.write("".join(_placemark(item) for item in folders[folder][origin]).encode())
            out.write(b"</Folder>")
        out.write(b"</Folder>")
    out.write(f"</Document></kml>\n<!-- {xml_comment(marking.text)} -->\n".encode())
    return len(on_map)
