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
from itertools import chain
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
_DICTIONARY_COLUMNS = (
    "kind",
    "origin",
    "label",
    "classification",
    "status",
    "affiliation",
    "role",
)
_INT_COLUMNS = ("mmsi", "other_mmsi")


def _xy(parts: Sequence[Sequence[Sequence[float]]], counts: Sequence[int]) -> np.ndarray:
    """(lon, lat) columns of the positions of ``parts`` (lines or rings; ``counts`` positions
    each), which may carry an altitude. Flattened by an iterator (half the time of numpy's
    nested-list conversion, measured)."""
    n = int(sum(counts))
    flat = np.fromiter(chain.from_iterable(chain.from_iterable(parts)), np.float64)
    if flat.size == 2 * n:
        return flat.reshape(n, 2)
    if flat.size == 3 * n:
        return flat.reshape(n, 3)[:, :2]
    mixed = [c[:2] for c in chain.from_iterable(parts)]  # some with an altitude, some without
    return np.asarray(mixed, dtype=np.float64)


# ISO WKB of a point, little-endian: byte order, geometry type, then the coordinates. Points
# are most of an export's features; written as records by numpy, they need no shapely object.
_POINT_RECORDS = {
    2: np.dtype([("order", "u1"), ("type", "<u4"), ("xy", "<f8", (2,))]),
    3: np.dtype([("order", "u1"), ("type", "<u4"), ("xy", "<f8", (3,))]),
}
_POINT_TYPES = {2: (1, "Point"), 3: (1001, "Point Z")}


def _point_wkb(coords: np.ndarray) -> pa.Array:
    """ISO WKB of points (one row of ``coords`` each: x, y and maybe z) as an Arrow array."""
    dim = coords.shape[1]
    records = np.empty(len(coords), dtype=_POINT_RECORDS[dim])
    records["order"] = 1
    records["type"] = _POINT_TYPES[dim][0]
    records["xy"] = coords
    size = records.dtype.itemsize
    offsets = np.arange(0, size * (len(coords) + 1), size, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.binary(), len(coords), [None, pa.py_buffer(offsets), pa.py_buffer(records.tobytes())]
    )


class _Geometries:
    """One chunk's features as ISO WKB: points written as numpy records, lines and polygons
    built with shapely's array functions (one call per geometry type), never one Python
    encode per feature; keeps the geometry types and the bounding box of everything seen,
    for the ``geo`` metadata."""

    def __init__(self) -> None:
        self.types: set[str] = set()
        self.bbox: list[float] | None = None

    def encode(self, geometries: Sequence[dict[str, Any]]) -> pa.Array:
        kinds = [g["type"] for g in geometries]
        coords = [g["coordinates"] for g in geometries]
        points = [n for n, k in enumerate(kinds) if k == "Point"]
        lines = [n for n, k in enumerate(kinds) if k == "LineString"]
        polygons = [n for n, k in enumerate(kinds) if k == "Polygon" and len(coords[n]) == 1]
        taken = {*points, *lines, *polygons}
        others = [n for n in range(len(geometries)) if n not in taken]
        parts: list[pa.Array] = []
        order: list[int] = []
        xy = [np.empty((0, 2))]
        by_dim: dict[int, list[int]] = {2: [], 3: []}
        for n in points:
            by_dim[3 if len(coords[n]) > 2 else 2].append(n)
        for dim, chosen in by_dim.items():
            if chosen:
                flat = chain.from_iterable(coords[n][:dim] for n in chosen)
                array = np.fromiter(flat, np.float64, dim * len(chosen)).reshape(-1, dim)
                parts.append(_point_wkb(array))
                order += chosen
                xy.append(array[:, :2])
                self.types.add(_POINT_TYPES[dim][1])
        shapes = np.empty(len(lines) + len(polygons) + len(others), dtype=object)
        at = 0
        if lines:
            line_coords = [coords[n] for n in lines]
            counts = [len(c) for c in line_coords]
            coords2 = _xy(line_coords, counts)
            index = np.repeat(np.arange(len(lines)), counts)
            shapes[at : at + len(lines)] = shapely.linestrings(coords2, indices=index)
            at += len(lines)
            order += lines
            xy.append(coords2)
            self.types.add("LineString")
        if polygons:
            rings = [coords[n][0] for n in polygons]
            counts = [len(r) for r in rings]
            coords2 = _xy(rings, counts)
            index = np.repeat(np.arange(len(polygons)), counts)
            shapes[at : at + len(polygons)] = shapely.polygons(
                shapely.linearrings(coords2, indices=index)
            )
            at += len(polygons)
            order += polygons
            xy.append(coords2)
            self.types.add("Polygon")
        for n in others:
            shape = shapely.geometry.shape(geometries[n])
            shapes[at] = shape
            at += 1
            order.append(n)
            self.types.add(shape.geom_type)
            xy.append(shapely.get_coordinates(shape))
        if len(shapes):
            parts.append(pa.array(shapely.to_wkb(shapes, flavor="iso", byte_order=1), pa.binary()))
        every = np.concatenate(xy)
        if len(every):
            # per column: numpy reduces an (n, 2) array along axis 0 thirty times slower
            x, y = every[:, 0], every[:, 1]
            low, high = np.array([x.min(), y.min()]), np.array([x.max(), y.max()])
            if self.bbox is not None:
                low = np.minimum(low, self.bbox[:2])
                high = np.maximum(high, self.bbox[2:])
            self.bbox = [float(low[0]), float(low[1]), float(high[0]), float(high[1])]
        if not parts:
            return pa.array([], pa.binary())
        # the parts are by geometry type; rows go back to the features' order
        where = np.empty(len(order), dtype=np.int64)
        where[np.asarray(order, dtype=np.int64)] = np.arange(len(order))
        return pa.concat_arrays(parts).take(pa.array(where))


def wkb(geometry: dict[str, Any]) -> tuple[bytes, str]:
    """ISO WKB (little-endian) of one GeoJSON geometry, and its GeoParquet type name."""
    encoder = _Geometries()
    data = encoder.encode([geometry]).to_pylist()[0]
    return data, next(iter(encoder.types))


# The report's own columns have one type each; property columns take theirs from the values
# the items carry (``_property_types``), so every row group has the same schema.
_STATIC_TYPES: dict[str, pa.DataType] = {
    **{name: pa.string() for name in (*REPORT_COLUMNS, *PLACE_COLUMNS)},
    "version": pa.int64(),
    "exercise": pa.bool_(),
    **{name: pa.timestamp("us", tz="UTC") for name in _TIME_COLUMNS},
    **{name: pa.float64() for name in PLACE_COLUMNS},
    **{name: pa.int64() for name in _INT_COLUMNS},
}


def _type_of(present: set[type]) -> pa.DataType:
    if present and present <= {bool}:
        return pa.bool_()
    if present and present <= {int}:
        return pa.int64()
    if present and present <= {int, float}:
        return pa.float64()
    return pa.string()


def _property_types(items: Sequence[Item], props: Sequence[str]) -> dict[str, pa.DataType]:
    seen: set[tuple[str, type]] = set()
    for item in items:  # (name, type) pairs gathered at C speed: this reads every item
        seen.update(zip(item.properties, map(type, item.properties.values()), strict=True))
    present: dict[str, set[type]] = {name: set() for name in props}
    for name, kind in seen:
        if name in present and kind is not type(None):
            present[name].add(kind)
    return {name: _STATIC_TYPES.get(name) or _type_of(types) for name, types in present.items()}


def _column(values: Sequence[Any], kind: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(kind):
        try:  # RFC 3339 with Z or an offset: Arrow parses it (eight times faster)
            return pa.array([v or None for v in values], type=pa.string()).cast(kind)
        except pa.ArrowInvalid:  # a time without a zone (read as UTC) or a bare date
            return pa.array([datetime.fromisoformat(v) if v else None for v in values], kind)
    try:  # Arrow converts str, int, float and None itself (ints to floats too)
        return pa.array(values, type=kind)
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # a string column holding numbers as well
        return pa.array([None if v is None else str(v) for v in values], type=kind)


BATCH_REPORTS = 1024  # a row group: the writer's memory grows with it (2,048: 4.4x the file)


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
    """Write the features as GeoParquet to ``out``; returns how many rows. One row group
    per ``BATCH_REPORTS`` reports: their columns are built once per report and repeated for
    each of its features by Arrow (``take``), their geometries encoded together; only one
    row group is in memory at a time."""
    # Grouped by kind (stable), so a row group holds few kinds and the property columns
    # of the others are nulls written at once.
    on_map = sorted((item for item in items if item.features and not item.ended),
                    key=lambda item: item.kind)  # fmt: skip
    props = property_columns(on_map)
    own = [*REPORT_COLUMNS, *PLACE_COLUMNS]
    types = {**{name: _STATIC_TYPES[name] for name in own}, **_property_types(on_map, props)}
    names = [*own, *props]
    fields = [pa.field(name, types[name]) for name in names]
    fields += [pa.field("role", pa.string()), pa.field("geometry", pa.binary())]
    schema = pa.schema(fields)
    geometries = _Geometries()
    rows = 0
    # store_schema=False: readers rebuild the Arrow schema from the Parquet one (the types
    # here map both ways) and take the file's key-value metadata as its metadata, which is
    # written last, so the bounding box can be gathered while the rows are written.
    with pq.ParquetWriter(
        out,
        schema,
        compression="zstd",
        store_schema=False,
        # dictionaries only where values repeat; no min/max statistics of WKB blobs
        use_dictionary=[n for n in _DICTIONARY_COLUMNS if n in schema.names],
        write_statistics=[n for n in schema.names if n != "geometry"],
        data_page_size=64 * 1024,
    ) as writer:
        for start in range(0, max(len(on_map), 1), BATCH_REPORTS):
            chunk = on_map[start : start + BATCH_REPORTS]
            columns: list[Sequence[Any] | None] = list(
                zip(*(report_values(item) for item in chunk), strict=True)
            ) or [() for _ in own]
            # one lookup per report and property column some report of the chunk carries
            # (props has no report column's name); a column none carries is all nulls
            properties = [item.properties for item in chunk]
            carried: set[str] = set()
            for p in properties:
                carried.update(p)
            columns += [
                [p.get(name) for p in properties] if name in carried else None for name in props
            ]
            features = [f for item in chunk for f in item.features]
            roles = [f["properties"]["role"] for f in features]
            shapes = [f["geometry"] for f in features]
            counts = np.fromiter((len(item.features) for item in chunk), np.int32, len(chunk))
            indices = pa.array(np.repeat(np.arange(len(chunk), dtype=np.int32), counts))
            batch = [
                pa.nulls(len(roles), types[name])
                if values is None
                else _column(values, types[name]).take(indices)
                for name, values in zip(names, columns, strict=True)
            ]
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
