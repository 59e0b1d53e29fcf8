"""CSV/Parquet layouts, static join and cleaning counts."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from trilink.maritime.clean import clean_positions
from trilink.maritime.config import CleanConfig
from trilink.maritime.csvlayout import detect_layout
from trilink.maritime.errors import UnknownLayoutError
from trilink.maritime.ingest import read_inputs
from trilink.maritime.tables import POSITION_SCHEMA, attach_statics, conform

DATA = Path(__file__).resolve().parents[1] / "data" / "maritime"
NOW_MS = int(time.time() * 1000)


@pytest.fixture(scope="module")
def suez_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("suez") / "suez_2021_part1.csv"
    path.write_bytes(gzip.decompress((DATA / "suez_2021_part1.csv.gz").read_bytes()))
    return path


def test_real_layouts_are_recognised(suez_csv: Path) -> None:
    suez = read_inputs([suez_csv])
    assert suez.layouts == {"suez_2021_part1.csv": "vesselsvalue"}
    assert not suez.ids_are_mmsi
    assert suez.positions.height == 11146
    first = suez.positions.row(0, named=True)
    assert (first["mmsi"], first["lat"], first["lon"]) == (9, 30.02168, 32.57862)
    assert first["timestamp"].isoformat() == "2021-03-20T00:00:00+00:00"
    got = read_inputs([DATA / "dk_gothenburg_2017_cpa_wgs84.csv"])
    assert got.positions.height == 257
    assert set(got.positions["mmsi"].unique()) == {265410000, 265550210}
    names = dict(got.statics.select("mmsi", "name").unique().iter_rows())
    assert names == {265410000: "STENA JUTLANDICA", 265550210: "TANKSKAR"}
    types = dict(got.statics.select("mmsi", "ship_type").unique().iter_rows())
    assert types == {265410000: 60, 265550210: 80}  # Passenger, Tanker


def test_marinecadastre_dma_and_trilink_layouts(tmp_path: Path) -> None:
    mc = tmp_path / "mc.csv"
    mc.write_text(
        "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,"
        "Length,Width,Draft,Cargo,TransceiverClass\n"
        "367004880,2023-01-01T00:00:06,29.31,-94.79,0.0,360.0,511.0,ATLANTIC,IMO9241061,"
        "WDA5,31,0,20,8,3.0,31,A\n"
    )
    dma = tmp_path / "dma.csv"
    dma.write_text(
        "# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,ROT,SOG,COG,"
        "Heading,IMO,Callsign,Name,Ship type,Cargo type,Width,Length\n"
        "05/07/2017 19:00:01,Class A,265410000,57.687893,11.883765,Under way using engine,"
        "0,8.3,254.1,255,Unknown,SLOQ,STENA JUTLANDICA,Passenger,,28,183\n"
    )
    tl = tmp_path / "sim.csv"
    tl.write_text(
        "mmsi,timestamp,lat,lon,sog_kn,cog_deg,heading_deg,name,imo,callsign,ship_type,flag\n"
        "440123456,2026-03-01T00:00:00Z,35.1,129.2,11.5,90.0,91,KOREA STAR,9300001,DSAB5,80,KOR\n"
    )
    data = read_inputs([mc, dma, tl])
    assert data.layouts == {"mc.csv": "marinecadastre", "dma.csv": "dma", "sim.csv": "trilink"}
    pos = data.positions.sort("mmsi")
    assert pos["mmsi"].to_list() == [265410000, 367004880, 440123456]
    assert pos["sog_kn"].to_list() == [8.3, 0.0, 11.5]
    st = data.statics.sort("mmsi")
    assert st["imo"].to_list() == [None, 9241061, 9300001]
    assert st["ship_type"].to_list() == [60, 31, 80]
    assert st["length_m"].to_list() == [183.0, 20.0, None]
    assert st["flag"].to_list() == [None, None, "KOR"]
    joined = attach_statics(pos, data.statics)
    # flag: from the data when given, else from the MMSI's MID (265 Sweden, 367 USA)
    assert dict(joined.select("mmsi", "flag").iter_rows()) == {
        265410000: "SWE",
        367004880: "USA",
        440123456: "KOR",
    }
    # the heading "not available" sentinel becomes null in cleaning
    clean, _ = clean_positions(pos, CleanConfig(), now_ms=NOW_MS)
    assert clean.filter(pl.col("mmsi") == 367004880)["heading_deg"].to_list() == [None]


def test_unknown_layout_names_columns_found_and_needed(tmp_path: Path) -> None:
    bad = tmp_path / "odd.csv"
    bad.write_text("vessel,when,northing\n1,2,3\n")
    with pytest.raises(UnknownLayoutError) as err:
        read_inputs([bad])
    msg = str(err.value)
    assert "columns found: vessel, when, northing" in msg
    assert "missing mmsi, timestamp, lat, lon" in msg
    assert str(bad) in msg


def test_unparsable_values_are_counted_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(
        b"mmsi,timestamp,lat,lon\n"
        b"440123456,2026-03-01T00:00:00,35.0,129.0\n"
        b"440123456,not-a-time,35.0,129.0\n"
        b"440123456,2026-03-01T00:10:00,thirty,129.0\n"
        b"440123456,2026-03-01T00:20:00,35.0\xff\xfe,129.0\n"
        b"440123456,2026-03-01T00:30:00,35.0\n"
    )
    data = read_inputs([path])
    problems = {(p.line, p.reason) for p in data.problems.items}
    assert (3, "unparsable_timestamp") in problems
    assert (4, "unparsable_lat") in problems
    assert (5, "unparsable_lat") in problems
    clean, rep = clean_positions(data.positions, CleanConfig(), now_ms=NOW_MS)
    assert clean.height == 1
    assert rep.removed["missing_timestamp"] == 1
    assert rep.removed["missing_position"] == 3


def test_parquet_roundtrip(tmp_path: Path) -> None:
    src = read_inputs([DATA / "dk_gothenburg_2017_cpa_wgs84.csv"])
    path = tmp_path / "pos.parquet"
    src.positions.write_parquet(path)
    back = read_inputs([path])
    assert back.layouts == {"pos.parquet": "trilink"}
    cols = ["mmsi", "timestamp", "lat", "lon", "sog_kn", "cog_deg"]
    assert back.positions.select(cols).equals(src.positions.select(cols))


def _frame(rows: list[tuple[int, int, float, float]]) -> pl.DataFrame:
    df = pl.DataFrame(
        {
            "mmsi": [r[0] for r in rows],
            "timestamp": [r[1] for r in rows],
            "lat": [r[2] for r in rows],
            "lon": [r[3] for r in rows],
        }
    ).with_columns(pl.col("timestamp").cast(pl.Datetime("ms", "UTC")))
    return conform(df, POSITION_SCHEMA)


def test_cleaning_counts_every_reason() -> None:
    rng = np.random.default_rng(7)
    base = 1_700_000_000_000
    good = [(440000001, base + k * 60_000, 35.0 + k * 1e-4, 129.0) for k in range(50)]
    rows = list(good)
    rows.append((440000001, base + 10 * 60_000, 35.0 + 10e-4, 129.0))  # exact duplicate
    rows.append((440000001, base + 11 * 60_000, 35.0 + 11e-4 + 5e-4, 129.0))  # same t, 55 m off
    rows.append((440000001, base + 20 * 60_000 + 30_000, 36.0, 129.0))  # 55 km in 30 s: jump
    rows.append((123, base, 35.0, 129.0))  # invalid MMSI
    rows.append((440000002, base, 91.0, 129.0))  # not available
    rows.append((440000002, base + 1, 35.0, 181.0))  # not available
    rows.append((440000002, base + 2, -95.0, 129.0))  # out of range
    rows.append((440000002, NOW_MS + 3_600_000, 35.0, 129.0))  # future
    order = rng.permutation(len(rows))
    df = _frame([rows[i] for i in order])
    clean, rep = clean_positions(df, CleanConfig(), now_ms=NOW_MS)
    assert rep.removed == {
        "duplicate": 1,
        "conflicting_duplicate_same_time": 1,
        "impossible_jump": 1,
        "invalid_mmsi": 1,
        "position_not_available_91_181": 2,
        "position_out_of_range": 1,
        "future_timestamp": 1,
    }
    assert rep.flagged["out_of_order_resorted"] > 0
    assert clean.height == 50
    assert clean["timestamp"].is_sorted()
    assert rep.input_rows == len(rows) and rep.output_rows == 50
    text = rep.to_text()
    assert "impossible_jump" in text and "future_timestamp" in text


def test_detect_layout_is_column_order_independent() -> None:
    a = detect_layout(["lon", "lat", "timestamp", "mmsi", "extra"])
    assert a.columns["lat"] == "lat" and a.columns["lon"] == "lon"
