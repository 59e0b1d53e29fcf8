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
from collections.abc import Sequence
from datetime import datetime
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
import shapely.geometry

from trilink.interop.items import Item
from trilink.interop.marking import Marking
from trilink.interop.tables import PLACE_COLUMNS, REPORT_COLUMNS, property_columns, report_values

GEOPARQUET_VERSION = "1.1.0"
_TIME_COLUMNS = ("created", "observed", "until")
_INT_COLUMNS = ("mmsi", "other_mmsi")


def _xy(coords: Sequence[Sequence[float]]) -> np.ndarray:
    """(lon, lat) columns of positions that may carry an altitude."""
    try:
        return np.asarray(coords, dtype=np.float64)[:, :2]
    except ValueError:  # some with an altitude, some without
        return np.asarray([c[:2] for c in coords], dtype=np.float64)


class _Geometries:
    """One chunk's features as ISO WKB, built with shapely's array functions (one call per
    geometry type) instead of one Python encode per feature; keeps the geometry types and
    the bounding box of everything seen, for the ``geo`` metadata."""

    def __init__(self) -> None:
        self.types: set[str] = set()
        self.bbox: list[float] | None = None

    def encode(self, geometries: Sequence[dict[str, Any]]) -> pa.Array:
        line_coords: list[Sequence[float]] = []
        ring_coords: list[Sequence[float]] = []
        points: dict[int, list[int]] = {2: [], 3: []}
        point_coords: dict[int, list[Sequence[float]]] = {2: [], 3: []}
        lines: list[int] = []
        line_counts: list[int] = []
        polygons: list[int] = []
        ring_counts: list[int] = []
        others: list[int] = []
        for n, geometry in enumerate(geometries):
            kind, coords = geometry["type"], geometry["coordinates"]
            if kind == "Point":
                dim = 3 if len(coords) > 2 else 2
                points[dim].append(n)
                point_coords[dim].append(coords[:dim])
            elif kind == "LineString":
                lines.append(n)
                line_counts.append(len(coords))
                line_coords.extend(coords)
            elif kind == "Polygon" and len(coords) == 1:
                polygons.append(n)
                ring_counts.append(len(coords[0]))
                ring_coords.extend(coords[0])
            else:
                others.append(n)
        out = np.empty(len(geometries), dtype=object)
        xy = [np.empty((0, 2))]
        for dim, names in ((2, "Point"), (3, "Point Z")):
            if points[dim]:
                array = np.asarray(point_coords[dim], dtype=np.float64)
                out[points[dim]] = shapely.points(array)
                xy.append(array[:, :2])
                self.types.add(names)
        if lines:
            coords2 = _xy(line_coords)
            index = np.repeat(np.arange(len(lines)), line_counts)
            out[lines] = shapely.linestrings(coords2, indices=index)
            xy.append(coords2)
            self.types.add("LineString")
        if polygons:
            coords2 = _xy(ring_coords)
            index = np.repeat(np.arange(len(polygons)), ring_counts)
            out[polygons] = shapely.polygons(shapely.linearrings(coords2, indices=index))
            xy.append(coords2)
            self.types.add("Polygon")
        for n in others:
            shape = shapely.geometry.shape(geometries[n])
            out[n] = shape
            self.types.add(shape.geom_type)
            xy.append(shapely.get_coordinates(shape))
        every = np.concatenate(xy)
        if len(every):
            low, high = every.min(axis=0), every.max(axis=0)
            if self.bbox is not None:
                low = np.minimum(low, self.bbox[:2])
                high = np.maximum(high, self.bbox[2:])
            self.bbox = [float(low[0]), float(low[1]), float(high[0]), float(high[1])]
        return pa.array(shapely.to_wkb(out, flavor="iso", byte_order=1), type=pa.binary())


def wkb(geometry: dict[str, Any]) -> tuple[bytes, str]:
    """ISO WKB (little-endian) of one GeoJSON geometry, and its GeoParquet type name."""
    encoder = _Geometries()
    data = encoder.encode([geometry]).to_pylist()[0]
    return data, next(iter(encoder.types))


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


BATCH_REPORTS = 4096  # a row group; smaller ones cost no speed and halve the peak memory


def _geo_metadata(geometries: _Geometries) -> dict[str, Any]:
    column: dict[str, Any] = {
        "encoding": "WKB",
        "geometry_types": sorted(geometries.types),
        "orientation": "counterclockwise",
        "edges": "planar",
    }
    if geometries.bbox is not None:
        column["bbox"] = geometries.bbox
    return {
        "version": GEOPARQUET_VERSION,
        "primary_column": "geometry",
        "columns": {"geometry": column},
    }


def _pandas_metadata(fields: Sequence[pa.Field]) -> str:
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
    )


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
    schema = pa.schema(fields)
    geometries = _Geometries()
    rows = 0
    # store_schema=False: readers rebuild the Arrow schema from the Parquet one (the types
    # here map both ways) and take the file's key-value metadata as its metadata, which is
    # written last, so the bounding box can be gathered while the rows are written.
    with pq.ParquetWriter(out, schema, compression="zstd", store_schema=False) as writer:
        for start in range(0, max(len(on_map), 1), BATCH_REPORTS):
            chunk = on_map[start : start + BATCH_REPORTS]
            repeat: list[int] = []
            roles: list[str] = []
            shapes: list[dict[str, Any]] = []
            for n, item in enumerate(chunk):
                for feature in item.features:
                    repeat.append(n)
                    roles.append(feature["properties"]["role"])
                    shapes.append(feature["geometry"])
            indices = pa.array(repeat, type=pa.int32())
            batch = [a.slice(start, len(chunk)).take(indices) for a in arrays]
            batch += [pa.array(roles, type=pa.string()), geometries.encode(shapes)]
            writer.write_table(pa.Table.from_arrays(batch, schema=schema))
            rows += len(shapes)
        # The bounding box and types are known once every chunk is encoded; Parquet keeps
        # key-value metadata in the footer, written when the writer closes.
        writer.add_key_value_metadata(
            {
                "geo": json.dumps(_geo_metadata(geometries)),
                "trilink:marking": marking.text,
                "trilink:exported_by": nation,
                "pandas": _pandas_metadata(fields),
            }
        )
    return rows
