"""GeoParquet that geopandas reads and an events CSV with event ids, IMO and whole-number
MMSIs (#16 item 5)."""

from __future__ import annotations

import io
import json

import polars as pl
import pyarrow.parquet as pq
import pytest
import shapely
from interop_samples import every_kind

from trilink.interop.geoparquet import write_geoparquet
from trilink.interop.marking import overall_marking
from trilink.interop.tables import write_csv
from trilink.model.label import parse_label


def marking():  # type: ignore[no-untyped-def]
    return overall_marking([parse_label(i.label) for i in every_kind()], "USA")


def test_geoparquet_metadata_and_geometry_read_back() -> None:
    items = every_kind()
    buf = io.BytesIO()
    rows = write_geoparquet(items, marking(), "USA", buf)
    table = pq.read_table(io.BytesIO(buf.getvalue()))
    assert table.num_rows == rows
    geo = json.loads(table.schema.metadata[b"geo"])
    assert geo["version"] == "1.1.0" and geo["primary_column"] == "geometry"
    column = geo["columns"]["geometry"]
    assert column["encoding"] == "WKB" and "crs" not in column  # OGC:CRS84
    assert column["geometry_types"] == ["LineString", "Point", "Point Z", "Polygon"]
    shapes = shapely.from_wkb(table.column("geometry").to_pylist())
    assert all(shapely.is_valid(shapes))
    xmin, ymin, xmax, ymax = column["bbox"]
    bounds = shapely.total_bounds(shapes)
    assert (xmin, ymin, xmax, ymax) == pytest.approx(tuple(bounds))
    assert table.schema.field("mmsi").type == "int64"
    assert table.schema.field("observed").type.tz == "UTC"
    assert table.schema.metadata[b"trilink:marking"].decode() == marking().text
    missile = [
        s
        for s, k in zip(shapes, table.column("kind").to_pylist(), strict=True)
        if k == "missile.track"
    ]
    assert any(shapely.has_z(s) for s in missile)  # altitude kept


def test_geopandas_reads_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import geopandas

    path = tmp_path / "export.parquet"
    with path.open("wb") as out:
        rows = write_geoparquet(every_kind(), marking(), "USA", out)
    frame = geopandas.read_parquet(path)
    assert len(frame) == rows and frame.geometry.name == "geometry"
    assert frame.crs is not None and frame.crs.equals("OGC:CRS84")  # lon/lat WGS 84
    assert frame.geometry.is_valid.all()
    assert set(frame.geom_type) == {"LineString", "Point", "Polygon"}
    # what a QGIS user filters on arrives typed
    assert str(frame["mmsi"].dtype) in ("Int64", "int64") and "kind" in frame.columns


def test_csv_has_event_ids_imo_and_integer_mmsi_with_nulls() -> None:
    items = every_kind()
    buf = io.BytesIO()
    count = write_csv(items, marking(), "USA", buf)
    text = buf.getvalue().decode()
    assert text.splitlines()[0] == f"# {marking().text} | trilink USA"
    frame = pl.read_csv(io.BytesIO(buf.getvalue()), comment_prefix="#")
    assert frame.height == count == len(items)
    assert frame.schema["mmsi"] == pl.Int64  # never 412000001.0
    assert frame["id"].to_list() == [i.id for i in items]  # the event id
    events = frame.filter(pl.col("kind") == "maritime.event")
    assert events["mmsi"].to_list() == [412000001, None]  # a dark vessel has none
    assert events["imo"].cast(pl.Utf8).to_list() == ["9074729", None]
    assert "412000001.0" not in text
    assert frame.filter(pl.col("kind") == "note")["lat"].to_list() == [None]
