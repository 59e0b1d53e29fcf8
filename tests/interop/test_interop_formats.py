"""Export formats by name; a file is written whole or not at all (#16 bad input)."""

from __future__ import annotations

from pathlib import Path

import pytest
from interop_samples import every_kind

from trilink.errors import InputError
from trilink.interop.formats import FORMATS, UnknownFormatError, format_named, write_file
from trilink.interop.marking import overall_marking
from trilink.model.label import parse_label


def test_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(
        UnknownFormatError,
        match="unknown export format 'shp'; use one of: geojson, kml, cot, geoparquet, csv",
    ):
        format_named("shp")
    assert format_named(" GeoJSON ").name == "geojson"


def test_every_format_writes_a_file(tmp_path: Path) -> None:
    items = every_kind()
    marking = overall_marking([parse_label(i.label) for i in items], "USA")
    for fmt in FORMATS.values():
        path = tmp_path / f"out.{fmt.extension}"
        count = write_file(path, fmt, fmt.portions(items), marking, "USA")
        assert count > 0 and path.stat().st_size > 0, fmt.name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"out.{f.extension}" for f in FORMATS.values()
    )  # no temporary file left


def test_a_failing_export_leaves_the_old_file_and_no_part(tmp_path: Path) -> None:
    path = tmp_path / "picture.geojson"
    path.write_text("previous export")
    fmt = format_named("geojson")

    class Broken(list):  # type: ignore[type-arg]
        def __iter__(self):  # type: ignore[no-untyped-def]
            yield every_kind()[0]
            raise OSError("disk full")

    marking = overall_marking([], "USA")
    with pytest.raises(OSError, match="disk full"):
        write_file(path, fmt, Broken(), marking, "USA")
    assert path.read_text() == "previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["picture.geojson"]
    with pytest.raises(InputError, match="does not exist"):
        write_file(tmp_path / "no" / "such.kml", format_named("kml"), [], marking, "USA")
