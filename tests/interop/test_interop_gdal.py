"""The exports opened by GDAL, the library under QGIS and ogr2ogr (through pyogrio, which
ships its own GDAL build with the GeoJSON and LIBKML drivers): every feature arrives, with
the fields users filter on and the time KML viewers slide on."""

from __future__ import annotations

from pathlib import Path

import pyogrio
import pytest
from interop_samples import every_kind

from trilink.interop.geojson import write_geojson
from trilink.interop.kml import write_kml
from trilink.interop.marking import overall_marking
from trilink.model.label import parse_label


@pytest.fixture
def marking():  # type: ignore[no-untyped-def]
    return overall_marking([parse_label(i.label) for i in every_kind()], "USA")


def test_gdal_reads_the_geojson_export(tmp_path: Path, marking) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "export.geojson"
    with path.open("wb") as out:
        written = write_geojson(every_kind(), marking, "USA", out)
    info = pyogrio.read_info(path)
    assert info["driver"] == "GeoJSON" and info["features"] == written
    assert info["crs"] == "EPSG:4326"
    frame = pyogrio.read_dataframe(path)
    assert {"kind", "origin", "label", "mmsi"} <= set(frame.columns)
    assert frame.geometry.is_valid.all()


def test_gdal_reads_the_kml_export_with_its_folders_and_times(tmp_path: Path, marking) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "export.kml"
    with path.open("wb") as out:
        placemarks = write_kml(every_kind(), marking, "USA", out)
    layers = pyogrio.list_layers(path)
    assert len(layers) >= 2  # a folder per kind and origin: a layer each for GDAL
    total, timed = 0, 0
    for name, _geometry in layers:
        frame = pyogrio.read_dataframe(path, layer=name)
        total += len(frame)
        stamps = [c for c in ("timestamp", "begin") if c in frame.columns]
        timed += int(frame[stamps].notna().any(axis=1).sum()) if stamps else 0
    assert total == placemarks
    assert timed == placemarks  # every placemark has a TimeStamp or TimeSpan
