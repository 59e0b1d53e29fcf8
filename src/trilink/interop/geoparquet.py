"""GeoParquet 1.1: one row per map feature, geometry as ISO WKB, with the ``geo`` metadata
that geopandas, GDAL, QGIS and DuckDB read (encoding, geometry types, bbox, counterclockwise
rings; no ``crs`` member, which means OGC:CRS84, longitude/latitude on WGS-84).

Columns are those of the CSV (``trilink.interop.tables``) plus ``role`` (point, track,
uncertainty, impact.ellipse, history, ...) and ``geometry``; times are UTC timestamps, MMSIs
64-bit integers with nulls. The overall marking is in the file's metadata
(``trilink:marking``) and every row carries its own label.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from datetime import datetime
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from trilink.interop.items import Item
from trilink.interop.marking import Marking
from trilink.interop.tables import PLACE_COLUMNS, REPORT_COLUMNS, property_columns, report_values

GEOPARQUET_VERSION = "1.1.0"
_TIME_COLUMNS = ("created", "observed", "until")
_INT_COLUMNS = ("mmsi", "other_mmsi")
_POINT = struct.Struct("<BIdd")
_POINT_Z = struct.Struct("<BIddd")
_HEAD = struct.Struct("<BII")
_COUNT = struct.Struct("<I")


def _coords_wkb(coords: Sequence[Sequence[float]]) -> bytes:
    flat = [v for c in coords for v in c[:2]]
    return _COUNT.pack(len(coords)) + struct.pack(f"<{len(flat)}d", *flat)


def wkb(geometry: dict[str, Any]) -> tuple[bytes, str]:
    """ISO WKB (little-endian) of a GeoJSON Point, LineString or Polygon, and its GeoParquet
    geometry type name."""
    kind, coords = geometry["type"], geometry["coordinates"]
    if kind == "Point":
        if len(coords) > 2:
            return _POINT_Z.pack(1, 1001, coords[0], coords[1], coords[2]), "Point Z"
        return _POINT.pack(1, 1, coords[0], coords[1]), "Point"
    if kind == "LineString":
        return _HEAD.pack(1, 2, len(coords))[:5] + _coords_wkb(coords), "LineString"
    if kind == "Polygon":
        body = b"".join(_coords_wkb(ring) for ring in coords)
        return _HEAD.pack(1, 3, len(coords)) + body, "Polygon"
    raise ValueError(f"no WKB writer for a GeoJSON {kind}")


def _column(name: str, values: list[Any]) -> pa.Array:
    if name in _INT_COLUMNS:
        return pa.array(values, type=pa.int64())
    if name in _TIME_COLUMNS:
        times = [datetime.fromisoformat(v) if v else None for v in values]
        return pa.array(times, type=pa.timestamp("us", tz="UTC"))
    present = {type(v) for v in values if v is not None}
    if present <= {bool} and present:
        return pa.array(values, type=pa.bool_())
    if present <= {int} and present:
        return pa.array(values, type=pa.int64())
    if present <= {int, float} and present:
        return pa.array([None if v is None else float(v) for v in values], type=pa.float64())
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def write_geoparquet(items: Sequence[Item], marking: Marking, nation: str, out: IO[bytes]) -> int:
    """Write the features as GeoParquet to ``out``; returns how many rows."""
    on_map = [item for item in items if item.features and not item.ended]
    props = property_columns(on_map)
    names = [*REPORT_COLUMNS, *PLACE_COLUMNS, *props, "role"]
    rows: list[list[Any]] = [[] for _ in names]
    geometries: list[bytes] = []
    types: set[str] = set()
    xmin = ymin = float("inf")
    xmax = ymax = float("-inf")
    for item in on_map:
        base = report_values(item) + [item.properties.get(c) for c in props]
        for feature in item.features:
            for column, value in zip(rows, [*base, feature["properties"]["role"]], strict=True):
                column.append(value)
            blob, gtype = wkb(feature["geometry"])
            geometries.append(blob)
            types.add(gtype)
            coords = feature["geometry"]["coordinates"]
            flat = [coords] if feature["geometry"]["type"] == "Point" else coords
            if feature["geometry"]["type"] == "Polygon":
                flat = coords[0]
            xs = [c[0] for c in flat]
            ys = [c[1] for c in flat]
            xmin, xmax = min(xmin, *xs), max(xmax, *xs)
            ymin, ymax = min(ymin, *ys), max(ymax, *ys)
    arrays = [_column(name, values) for name, values in zip(names, rows, strict=True)]
    arrays.append(pa.array(geometries, type=pa.binary()))
    column_meta: dict[str, Any] = {
        "encoding": "WKB",
        "geometry_types": sorted(types),
        "orientation": "counterclockwise",
        "edges": "planar",
    }
    if geometries:
        column_meta["bbox"] = [xmin, ymin, xmax, ymax]
    geo = {"version": GEOPARQUET_VERSION, "primary_column": "geometry"}
    geo["columns"] = {"geometry": column_meta}  # type: ignore[assignment]
    schema = pa.schema(
        [
            pa.field(name, array.type)
            for name, array in zip([*names, "geometry"], arrays, strict=True)
        ],
        metadata={
            b"geo": json.dumps(geo).encode(),
            b"trilink:marking": marking.text.encode(),
            b"trilink:exported_by": nation.encode(),
        },
    )
    table = pa.Table.from_arrays(arrays, schema=schema)
    pq.write_table(table, out, compression="zstd")
    return len(geometries)
