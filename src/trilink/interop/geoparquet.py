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


def _extent(items: Sequence[Item]) -> tuple[set[str], list[float] | None]:
    """Geometry types and bounding box of every feature: the ``geo`` metadata goes into the
    schema, which is written before the first row group."""
    types: set[str] = set()
    xs: list[float] = []
    ys: list[float] = []
    for item in items:
        for feature in item.features:
            geometry = feature["geometry"]
            kind, coords = geometry["type"], geometry["coordinates"]
            if kind == "Point":
                types.add("Point Z" if len(coords) > 2 else "Point")
                xs.append(coords[0])
                ys.append(coords[1])
                continue
            types.add(kind)
            ring = coords[0] if kind == "Polygon" else coords
            xs.append(min([c[0] for c in ring]))
            xs.append(max([c[0] for c in ring]))
            ys.append(min([c[1] for c in ring]))
            ys.append(max([c[1] for c in ring]))
    if not xs:
        return types, None
    return types, [min(xs), min(ys), max(xs), max(ys)]


BATCH_REPORTS = 16384


def _pandas_metadata(fields: Sequence[pa.Field]) -> bytes:
    """pandas' own schema note (as ``DataFrame.to_parquet`` writes it), so geopandas and
    pandas read the 64-bit integer columns with nulls (MMSI) as nullable integers, not as
    floats. Only those columns are described; the others read as Arrow types them."""
    columns = [
        {
            "name": f.name,
            "field_name": f.name,
            "pandas_type": "int64",
            "numpy_type": "Int64",
            "metadata": None,
        }
        for f in fields
        if f.name in _INT_COLUMNS
    ]
    return json.dumps(
        {"index_columns": [], "column_indexes": [], "columns": columns, "creator": {}}
    ).encode()


def write_geoparquet(items: Sequence[Item], marking: Marking, nation: str, out: IO[bytes]) -> int:
    """Write the features as GeoParquet to ``out``; returns how many rows. The report's
    columns are built once per report and repeated for each of its features by Arrow
    (``take``); geometries are encoded one row group of reports at a time."""
    on_map = [item for item in items if item.features and not item.ended]
    props = property_columns(on_map)
    names = [*REPORT_COLUMNS, *PLACE_COLUMNS, *props]
    report_rows = [report_values(item) for item in on_map]
    columns: list[Sequence[Any]] = list(zip(*report_rows, strict=True)) or [
        () for _ in (*REPORT_COLUMNS, *PLACE_COLUMNS)
    ]
    del report_rows
    # properties are sparse (each kind has a few of the union): fill only the ones present
    sparse: dict[str, list[Any]] = {name: [None] * len(on_map) for name in props}
    for n, item in enumerate(on_map):
        for key, value in item.properties.items():
            column = sparse.get(key)  # not those named like a report column (status)
            if column is not None:
                column[n] = value
    columns += [sparse.pop(name) for name in props]
    arrays = [_column(name, list(values)) for name, values in zip(names, columns, strict=True)]
    del columns
    fields = [pa.field(name, array.type) for name, array in zip(names, arrays, strict=True)]
    fields += [pa.field("role", pa.string()), pa.field("geometry", pa.binary())]
    types, bbox = _extent(on_map)
    column_meta: dict[str, Any] = {
        "encoding": "WKB",
        "geometry_types": sorted(types),
        "orientation": "counterclockwise",
        "edges": "planar",
    }
    if bbox is not None:
        column_meta["bbox"] = bbox
    geo = {
        "version": GEOPARQUET_VERSION,
        "primary_column": "geometry",
        "columns": {"geometry": column_meta},
    }
    schema = pa.schema(
        fields,
        metadata={
            b"geo": json.dumps(geo).encode(),
            b"trilink:marking": marking.text.encode(),
            b"trilink:exported_by": nation.encode(),
            b"pandas": _pandas_metadata(fields),
        },
    )
    rows = 0
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for start in range(0, max(len(on_map), 1), BATCH_REPORTS):
            chunk = on_map[start : start + BATCH_REPORTS]
            repeat: list[int] = []
            roles: list[str] = []
            geometries: list[bytes] = []
            for n, item in enumerate(chunk):
                for feature in item.features:
                    repeat.append(n)
                    roles.append(feature["properties"]["role"])
                    geometries.append(wkb(feature["geometry"])[0])
            indices = pa.array(repeat, type=pa.int32())
            batch = [a.slice(start, len(chunk)).take(indices) for a in arrays]
            batch += [pa.array(roles, type=pa.string()), pa.array(geometries, type=pa.binary())]
            writer.write_table(pa.Table.from_arrays(batch, schema=schema))
            rows += len(geometries)
    return rows
