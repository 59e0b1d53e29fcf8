"""Any AIS table through a column mapping (`--columns`), and the common spellings of the
columns recognised without one: on the real CSVs, and on the same data renamed."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from trilink.cli.app import app
from trilink.maritime.csvlayout import ALIASES, detect_layout, parse_column_mapping
from trilink.maritime.errors import UnknownLayoutError
from trilink.maritime.ingest import read_inputs

DATA = Path(__file__).resolve().parents[1] / "data" / "maritime"
DK = DATA / "dk_gothenburg_2017_cpa_wgs84.csv"
runner = CliRunner()


def renamed(tmp_path: Path, source: Path, names: dict[str, str], name: str) -> Path:
    """Only the columns named in ``names``, renamed (the DMA file's second time column and
    its UTM columns dropped, so the renamed columns are the only candidates)."""
    table = pl.read_csv(source, infer_schema=False).select(list(names)).rename(names)
    path = tmp_path / name
    table.write_csv(path)
    return path


def core(path: Path, columns: dict[str, str] | None = None) -> pl.DataFrame:
    return read_inputs([path], columns=columns).positions.select(
        "mmsi", "timestamp", "lat", "lon", "sog_kn", "cog_deg"
    )


@pytest.fixture(scope="module")
def suez(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("suez") / "suez_2021_part1.csv"
    path.write_bytes(gzip.decompress((DATA / "suez_2021_part1.csv.gz").read_bytes()))
    return path


def test_common_spellings_are_recognised_without_a_mapping(tmp_path: Path) -> None:
    want = core(DK)
    assert want.height == 257
    spellings = {"t": "Time (UTC)", "MMSI": "UserID", "lat": "Latitude_degrees",
                 "lon": "Longitude_degrees", "SOG": "Speed over ground",
                 "COG": "Course-Over-Ground"}  # fmt: skip
    path = renamed(tmp_path, DK, spellings, "spelled.csv")
    data = read_inputs([path])
    assert data.layouts == {"spelled.csv": "generic"}
    assert data.ids_are_mmsi
    assert core(path).equals(want)


def test_any_names_through_a_mapping(tmp_path: Path) -> None:
    odd = {"t": "when_seen", "MMSI": "vessel_key", "lat": "northing", "lon": "easting",
           "SOG": "v", "COG": "dir"}  # fmt: skip
    path = renamed(tmp_path, DK, odd, "odd.csv")
    with pytest.raises(UnknownLayoutError) as refused:
        read_inputs([path])
    assert "--columns mmsi=COLUMN,timestamp=COLUMN,lat=COLUMN,lon=COLUMN" in str(refused.value)
    mapping = parse_column_mapping(
        "mmsi=vessel_key,timestamp=when_seen,lat=northing,lon=easting,sog_kn=v,cog_deg=dir"
    )
    data = read_inputs([path], columns=mapping)
    assert data.layouts == {"odd.csv": "mapped"} and data.ids_are_mmsi
    assert core(path, mapping).equals(core(DK))


def test_a_mapping_wins_over_the_recognised_columns(suez: Path) -> None:
    # VesselsValue ids are not MMSIs; a user who says they are is believed
    plain = read_inputs([suez])
    assert not plain.ids_are_mmsi
    mapped = read_inputs([suez], columns={"mmsi": "ID", "lat": "latitude"})
    assert mapped.ids_are_mmsi and mapped.positions.height == plain.positions.height == 11146
    # and a mapping can swap columns the aliases would have taken
    swapped = read_inputs([suez], columns={"lat": "longitude", "lon": "latitude"})
    assert swapped.positions["lat"].to_list() == plain.positions["lon"].to_list()


def test_a_wrong_mapping_names_the_missing_column(tmp_path: Path) -> None:
    with pytest.raises(UnknownLayoutError) as err:
        read_inputs([DK], columns={"timestamp": "Time"})
    message = str(err.value)
    assert "timestamp" in message and "'Time'" in message and "t, MMSI, lat, lon" in message
    assert str(DK) in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("mmsi", "is not FIELD=COLUMN"),
        ("mmsi=", "is not FIELD=COLUMN"),
        ("speed=SOG", "unknown field 'speed'"),
        ("mmsi=A,mmsi=B", "names 'mmsi' twice"),
        (" , ", "--columns is empty"),
    ],
)
def test_a_bad_mapping_says_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(UnknownLayoutError, match=fragment):
        parse_column_mapping(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_parse_column_mapping_never_crashes(text: str) -> None:
    try:
        mapping = parse_column_mapping(text)
    except UnknownLayoutError:
        return
    assert set(mapping) <= set(ALIASES) and all(mapping.values())


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(max_size=20), max_size=12),
    st.dictionaries(st.sampled_from(sorted(ALIASES)), st.text(min_size=1, max_size=20)),
)
def test_detect_layout_with_any_mapping_is_a_layout_or_a_clear_error(
    columns: list[str], given_map: dict[str, str]
) -> None:
    try:
        layout = detect_layout(columns, "x.csv", given_map)
    except UnknownLayoutError as err:
        assert "x.csv" in str(err)
        return
    assert set(layout.columns.values()) <= set(columns)
    assert {"mmsi", "timestamp", "lat", "lon"} <= set(layout.columns)


def test_cli_events_and_decode_take_columns(tmp_path: Path) -> None:
    odd = {"t": "when_seen", "MMSI": "vessel_key", "lat": "northing", "lon": "easting"}
    path = renamed(tmp_path, DK, odd, "odd.csv")
    mapping = "mmsi=vessel_key,timestamp=when_seen,lat=northing,lon=easting"
    refused = runner.invoke(
        app, ["maritime", "decode", str(path), "--out", str(tmp_path / "x.csv")]
    )
    assert refused.exit_code != 0 and isinstance(refused.exception, UnknownLayoutError)
    assert not (tmp_path / "x.csv").exists()
    done = runner.invoke(
        app,
        ["maritime", "decode", str(path), "--columns", mapping, "--out", str(tmp_path / "p.csv"),
         "--json"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["positions"] == 257
    events = runner.invoke(
        app,
        ["maritime", "events", str(path), "--columns", mapping, "--out", str(tmp_path / "ev"),
         "--no-map", "--no-bundled-geo", "--json"],
    )  # fmt: skip
    assert events.exit_code == 0, events.output
    summary = json.loads(events.output)
    assert summary["positions"] == 257 and summary["layouts"] == {"odd.csv": "mapped"}
    assert (tmp_path / "ev" / "events.csv").exists()
    wrong = runner.invoke(
        app, ["maritime", "events", str(path), "--columns", "timestamp=Time", "--out",
              str(tmp_path / "ev2"), "--no-map"],
    )  # fmt: skip
    assert isinstance(wrong.exception, UnknownLayoutError)
    assert "'Time'" in str(wrong.exception) and not (tmp_path / "ev2").exists()
