"""Event detectors on real data (Gothenburg CPA, Suez queue) and on planted synthetic tracks."""

from __future__ import annotations

import dataclasses
import gzip
import json
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import shapely

from trilink.maritime.clean import clean_positions
from trilink.maritime.config import CleanConfig, LoiterConfig, MaritimeConfig
from trilink.maritime.events import Geography, Tracks, closest_approach, detect_all
from trilink.maritime.events.behaviour import detect_gaps, detect_loitering
from trilink.maritime.events.context import Ports, ShoreIndex, Zone
from trilink.maritime.events.encounter import detect_encounters
from trilink.maritime.geodesy import KN_MS, geodesic_m
from trilink.maritime.ingest import read_inputs
from trilink.maritime.tables import POSITION_SCHEMA, STATIC_SCHEMA, conform, epoch_ms

DATA = Path(__file__).resolve().parents[1] / "data" / "maritime"
NOW_MS = int(time.time() * 1000)
T0 = 1_767_225_600_000  # 2026-01-01T00:00Z
H = 3_600_000


def track(
    mmsi: int,
    rng: np.random.Generator,
    *,
    lat0: float,
    lon0: float,
    hours: float,
    speed_kn: float,
    course_deg: float = 90.0,
    dt_s: float = 60.0,
    t0: int = T0,
    noise_m: float = 5.0,
) -> pl.DataFrame:
    n = int(hours * 3600 / dt_s) + 1
    t = t0 + (np.arange(n) * dt_s * 1000).astype(np.int64)
    dist = np.arange(n) * dt_s * speed_kn * KN_MS
    north = dist * np.cos(np.radians(course_deg)) + rng.normal(0, noise_m, n)
    east = dist * np.sin(np.radians(course_deg)) + rng.normal(0, noise_m, n)
    lat = lat0 + north / 111_195.0
    lon = lon0 + east / (111_195.0 * np.cos(np.radians(lat0)))
    df = pl.DataFrame(
        {
            "mmsi": np.full(n, mmsi),
            "timestamp": t,
            "lat": lat,
            "lon": lon,
            "sog_kn": np.abs(speed_kn + rng.normal(0, 0.05, n)),
        }
    ).with_columns(pl.col("timestamp").cast(pl.Datetime("ms", "UTC")))
    return conform(df, POSITION_SCHEMA).select(list(POSITION_SCHEMA))


def cleaned(*frames: pl.DataFrame) -> pl.DataFrame:
    df, _ = clean_positions(pl.concat(frames), CleanConfig(), now_ms=NOW_MS)
    return df


# ---------------------------------------------------------------- real data


def test_gothenburg_closest_approach_matches_movingpandas() -> None:
    data = read_inputs([DATA / "dk_gothenburg_2017_cpa_wgs84.csv"])
    df = data.positions.sort("timestamp")
    a = df.filter(pl.col("mmsi") == 265550210)
    b = df.filter(pl.col("mmsi") == 265410000)
    dist, t_ms = closest_approach(
        epoch_ms(a), a["lon"].to_numpy(), a["lat"].to_numpy(),
        epoch_ms(b), b["lon"].to_numpy(), b["lat"].to_numpy(),
    )  # fmt: skip
    assert dist == pytest.approx(380.2040792594374, abs=1e-3)  # movingpandas test_ais_dk
    # the closest approach lies inside the 7-point window of movingpandas' reduced file
    reduced = json.loads((DATA / "dk_gothenburg_2017_cpa_utm32N_reduced.json").read_text())
    times = sorted(f["properties"]["t"] for f in reduced["features"])
    when = pl.Series([t_ms]).cast(pl.Datetime("ms", "UTC"))[0].strftime("%Y-%m-%dT%H:%M:%S")
    assert times[0] <= when <= times[-1]
    # without interpolation (fix-to-fix at common times only) the answer would be wrong
    assert dist < 381.0


@pytest.fixture(scope="module")
def suez(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    path = tmp_path_factory.mktemp("suez") / "suez_2021_part1.csv"
    path.write_bytes(gzip.decompress((DATA / "suez_2021_part1.csv.gz").read_bytes()))
    data = read_inputs([path])
    df, _ = clean_positions(data.positions, CleanConfig(check_mmsi=False), now_ms=NOW_MS)
    return df


@pytest.fixture(scope="module")
def suez_shore() -> ShoreIndex:
    land = json.loads((DATA / "suez_land_10m.geojson").read_text())
    return ShoreIndex([shapely.geometry.shape(f["geometry"]) for f in land["features"]])


@pytest.fixture(scope="module")
def wpi_ports() -> Ports:
    wpi = pl.read_csv(DATA / "wpi_ports_gfw.csv")
    return Ports(
        wpi["longitude"].to_numpy(), wpi["latitude"].to_numpy(),
        wpi["label"].to_list(), wpi["iso3"].to_list(),
    )  # fmt: skip


def test_suez_queue_loiters_at_the_anchorages(suez: pl.DataFrame) -> None:
    tracks = Tracks.from_frame(suez)
    events = detect_loitering(tracks, LoiterConfig(min_shore_distance_nm=0.0))
    vessels = {e.mmsi for e in events}
    assert len(vessels) >= 50  # the waiting queue
    lats = np.array([e.lat for e in events])
    lons = np.array([e.lon for e in events])
    # ships wait at Port Said roads (north of 31.15 N), in Suez Bay (south of 30.0 N) and in
    # the Great Bitter Lake (the convoy passing place), never in the narrow canal stretches
    bitter_lake = (lats > 30.28) & (lats < 30.42) & (lons > 32.33) & (lons < 32.46)
    waiting_areas = (lats > 31.15) | (lats < 30.0) | bitter_lake
    assert waiting_areas.all()
    assert bitter_lake.sum() >= 10 and (lats < 30.0).sum() >= 10 and (lats > 31.15).sum() >= 10
    assert all(e.details["avg_speed_kn"] < 2.0 for e in events)
    assert all(e.end_ms - e.start_ms >= 4 * H for e in events)


def test_suez_loitering_respects_the_shore_rule(
    suez: pl.DataFrame, suez_shore: ShoreIndex
) -> None:
    tracks = Tracks.from_frame(suez)
    loose = detect_loitering(tracks, LoiterConfig(min_shore_distance_nm=0.0), suez_shore)
    d_nm = np.array([e.details["shore_distance_nm"] for e in loose])
    assert d_nm.max() < 20.0  # nowhere in this file is 20 nm from land
    assert detect_loitering(tracks, LoiterConfig(), suez_shore) == []
    # a 5 nm rule keeps exactly the runs whose centroid is at least 5 nm off
    mid = detect_loitering(tracks, LoiterConfig(min_shore_distance_nm=5.0), suez_shore)
    assert len(mid) == int((d_nm >= 5.0).sum())


def test_suez_port_visits_at_port_said_and_suez(suez: pl.DataFrame, wpi_ports: Ports) -> None:
    det = detect_all(
        suez, conform(pl.DataFrame(), STATIC_SCHEMA), Geography(ports=wpi_ports), MaritimeConfig()
    )
    visits = [e for e in det.events if e.type == "port_visit"]
    ports = {e.details["port"] for e in visits}
    assert len(visits) >= 8 and len({e.mmsi for e in visits}) >= 8
    assert all(e.details["stopped"] for e in visits)
    assert ports & {"BUR SAID (PORT SAID)", "SUEZ", "EL-ADABIYA", "AS SUWAYS"}
    assert all(e.details["port_iso3"] == "EGY" for e in visits)


# ---------------------------------------------------------------- planted events


def _encounter_scene(
    rng: np.random.Generator, sep_m: float, hours: float, speed: float
) -> pl.DataFrame:
    a = track(412000001, rng, lat0=30.0, lon0=125.0, hours=hours, speed_kn=speed)
    b = track(
        351000002,
        rng,
        lat0=30.0 + sep_m / 111_195.0,
        lon0=125.0,
        hours=hours,
        speed_kn=speed,
        dt_s=97.0,
        t0=T0 + 13_000,
    )
    far = track(
        440000003, rng, lat0=30.0 - 800 / 111_195.0, lon0=125.0, hours=hours, speed_kn=speed
    )
    return cleaned(a, b, far)


def test_planted_encounter_is_found_and_only_it() -> None:
    rng = np.random.default_rng(42)
    tracks = Tracks.from_frame(_encounter_scene(rng, 300.0, 3.0, 0.5))
    events = detect_encounters(tracks, MaritimeConfig().encounter)
    assert len(events) == 1
    ev = events[0]
    assert {ev.mmsi, ev.other_mmsi} == {412000001, 351000002}
    assert ev.end_ms - ev.start_ms >= 2 * H
    assert 250 < ev.details["median_distance_m"] < 350
    assert ev.start_ms - T0 <= 15 * 60_000


@pytest.mark.parametrize(
    ("sep_m", "hours", "speed"),
    [(650.0, 3.0, 0.5), (300.0, 1.5, 0.5), (300.0, 3.0, 4.0)],
    ids=["too-far", "too-short", "too-fast"],
)
def test_no_encounter_when_a_rule_fails(sep_m: float, hours: float, speed: float) -> None:
    rng = np.random.default_rng(1)
    tracks = Tracks.from_frame(_encounter_scene(rng, sep_m, hours, speed))
    assert detect_encounters(tracks, MaritimeConfig().encounter) == []


def test_no_encounter_near_a_port() -> None:
    rng = np.random.default_rng(3)
    tracks = Tracks.from_frame(_encounter_scene(rng, 300.0, 3.0, 0.5))
    port = Ports(np.array([125.0 + 5000 / 96_300]), np.array([30.0]), ["TEST PORT"], ["CHN"])
    assert detect_encounters(tracks, MaritimeConfig().encounter, port) == []
    far_port = Ports(np.array([125.2]), np.array([30.0]), ["FAR PORT"], ["CHN"])
    assert len(detect_encounters(tracks, MaritimeConfig().encounter, far_port)) == 1


def test_encounter_distances_are_geodesic() -> None:
    rng = np.random.default_rng(5)
    tracks = Tracks.from_frame(_encounter_scene(rng, 300.0, 3.0, 0.0))
    ev = detect_encounters(tracks, MaritimeConfig().encounter)[0]
    truth = geodesic_m(
        np.array([125.0]), np.array([30.0]), np.array([125.0]), np.array([30.0 + 300 / 111_195.0])
    )[0]
    assert abs(ev.details["median_distance_m"] - truth) < 15.0


def test_gap_needs_both_ends_offshore_or_an_area_of_interest() -> None:
    rng = np.random.default_rng(11)
    before = track(445000001, rng, lat0=37.0, lon0=124.0, hours=2, speed_kn=10)
    after = track(445000001, rng, lat0=37.5, lon0=124.5, hours=2, speed_kn=10, t0=T0 + 16 * H)
    short = track(445000002, rng, lat0=37.0, lon0=124.0, hours=1, speed_kn=10)
    short2 = track(445000002, rng, lat0=37.05, lon0=124.05, hours=1, speed_kn=10, t0=T0 + 4 * H)
    tracks = Tracks.from_frame(cleaned(before, after, short, short2))
    cfg = MaritimeConfig().gap
    gaps = detect_gaps(tracks, cfg, lambda lon, lat: np.full(np.size(lon), 80 * 1852.0))
    assert [(g.mmsi, round(g.details["gap_h"])) for g in gaps] == [(445000001, 14)]
    assert detect_gaps(tracks, cfg, lambda lon, lat: np.full(np.size(lon), 30 * 1852.0)) == []
    aoi = shapely.box(123.9, 36.9, 124.6, 37.2)
    got = detect_gaps(tracks, cfg, lambda lon, lat: np.full(np.size(lon), 30 * 1852.0), [aoi])
    assert sorted(g.mmsi for g in got) == [445000001, 445000002]


def test_loitering_planted_offshore() -> None:
    rng = np.random.default_rng(12)
    slow = track(413000001, rng, lat0=31.0, lon0=124.0, hours=5, speed_kn=0.8)
    moving = track(413000002, rng, lat0=31.0, lon0=124.0, hours=5, speed_kn=12)
    tracks = Tracks.from_frame(cleaned(slow, moving))
    far = detect_loitering(tracks, LoiterConfig(), lambda lo, la: np.full(np.size(lo), 4e4))
    assert [e.mmsi for e in far] == [413000001]
    assert detect_loitering(tracks, LoiterConfig(), lambda lo, la: np.full(np.size(lo), 1e4)) == []


def _statics(rows: list[dict[str, object]]) -> pl.DataFrame:
    df = pl.DataFrame(rows).with_columns(pl.col("timestamp").cast(pl.Datetime("ms", "UTC")))
    return conform(df, STATIC_SCHEMA).select(list(STATIC_SCHEMA))


def test_incursion_and_foreign_fishing() -> None:
    rng = np.random.default_rng(21)
    # eastbound at 10 kn through 133.00..133.30 E (about 27 km: 1.5 h inside)
    kor = track(440000010, rng, lat0=37.5, lon0=132.8, hours=4, speed_kn=10)
    jpn = track(431000010, rng, lat0=37.52, lon0=132.8, hours=4, speed_kn=10)
    chn_fish = track(412000020, rng, lat0=38.5, lon0=134.0, hours=3, speed_kn=3)
    chn_cargo = track(412000021, rng, lat0=38.6, lon0=134.0, hours=3, speed_kn=3)
    pos = cleaned(kor, jpn, chn_fish, chn_cargo)
    statics = _statics(
        [
            {"mmsi": 412000020, "timestamp": T0, "ship_type": 30, "name": "LU YU 1"},
            {"mmsi": 412000021, "timestamp": T0, "ship_type": 70, "name": "HAI 2"},
        ]
    )
    ts = Zone(
        "JPN TS test",
        "territorial_sea",
        "JPN",
        shapely.box(133.0, 37.0, 133.3, 38.0),
        frozenset({"JPN"}),
    )
    eez = Zone("JPN EEZ test", "eez", "JPN", shapely.box(133.5, 38.0, 135.0, 39.0), None)
    det = detect_all(pos, statics, Geography(zones=[ts, eez]), MaritimeConfig())
    inc = [e for e in det.events if e.type == "incursion"]
    ff = [e for e in det.events if e.type == "foreign_fishing"]
    assert [e.mmsi for e in inc] == [440000010]
    assert inc[0].details["flag"] == "KOR" and inc[0].details["zone"] == "JPN TS test"
    assert inc[0].lon == pytest.approx(133.0, abs=0.01)
    assert 1.3 < (inc[0].end_ms - inc[0].start_ms) / H < 1.7
    assert [e.mmsi for e in ff] == [412000020]


def test_dark_vessel_matching() -> None:
    rng = np.random.default_rng(31)
    ship = track(441000001, rng, lat0=34.0, lon0=128.0, hours=2, speed_kn=12, dt_s=180.0)
    tracks_df = cleaned(ship)
    t_mid = T0 + int(1.01 * H)
    # where the ship is at t_mid, by dead reckoning along its course (east)
    east_m = 1.01 * 3600 * 12 * KN_MS
    lon_true = 128.0 + east_m / (111_195.0 * np.cos(np.radians(34.0)))
    dets = pl.DataFrame(
        {
            "timestamp": [t_mid, t_mid, T0 + 5 * H],
            "lat": [34.0 + 300 / 111_195.0, 34.0 + 5000 / 111_195.0, 34.0],
            "lon": [lon_true, lon_true, 128.0],
            "length_m": [120.0, 45.0, 30.0],
            "id": ["S1", "S2", "S3"],
        }
    ).with_columns(pl.col("timestamp").cast(pl.Datetime("ms", "UTC")))
    det = detect_all(
        tracks_df, conform(pl.DataFrame(), STATIC_SCHEMA), Geography(), MaritimeConfig(), dets
    )
    dark = [e for e in det.events if e.type == "dark_vessel"]
    assert sorted(e.details["detection_id"] for e in dark) == ["S2", "S3"]
    assert det.matches[0].mmsi == 441000001 and det.matches[0].distance_m < 400
    s2 = next(e for e in dark if e.details["detection_id"] == "S2")
    assert s2.details["nearest_ais_mmsi"] == 441000001
    assert 4.5 < s2.details["nearest_ais_distance_km"] < 5.5
    # a wider radius absorbs S2
    wide = dataclasses.replace(
        MaritimeConfig(), dark=dataclasses.replace(MaritimeConfig().dark, max_distance_km=6.0)
    )
    det2 = detect_all(tracks_df, conform(pl.DataFrame(), STATIC_SCHEMA), Geography(), wide, dets)
    assert [e.details["detection_id"] for e in det2.events if e.type == "dark_vessel"] == ["S3"]


def test_identity_changes() -> None:
    rng = np.random.default_rng(41)
    pos = cleaned(
        track(352000001, rng, lat0=33.0, lon0=126.0, hours=3, speed_kn=8),
        track(667000001, rng, lat0=33.2, lon0=126.0, hours=3, speed_kn=8),
    )
    statics = _statics(
        [
            {"mmsi": 352000001, "timestamp": T0, "name": "OCEAN STAR", "imo": 9100001},
            {"mmsi": 352000001, "timestamp": T0 + H, "name": "OCEAN  STAR ", "imo": 9100001},
            {"mmsi": 352000001, "timestamp": T0 + 2 * H, "name": "SEA PEARL", "imo": 9100001},
            {
                "mmsi": 667000001,
                "timestamp": T0 + 2 * H + 60_000,
                "name": "SEA PEARL",
                "imo": 9100001,
                "flag": "SLE",
            },
        ]
    )
    det = detect_all(pos, statics, Geography(), MaritimeConfig())
    ids = [e for e in det.events if e.type == "identity_change"]
    got = sorted((e.mmsi, e.other_mmsi, e.details["field"], e.details["new"]) for e in ids)
    assert got == [
        (352000001, None, "name", "SEA PEARL"),
        (667000001, 352000001, "mmsi", "667000001"),
    ]
    rename = next(e for e in ids if e.details["field"] == "name")
    assert rename.start_ms == T0 + 2 * H and rename.details["old"] == "OCEAN STAR"
    assert np.isfinite(rename.lat)


def test_suez_with_bundled_geography(suez: pl.DataFrame) -> None:
    """trilink.geo defaults: ports/anchorages and coastline; the canal counts as shore."""
    from trilink.maritime.geoio import build_geography

    geo, land = build_geography((32.0, 29.7, 32.8, 31.9))
    assert geo.shore_m is not None and geo.ports is not None and land
    d = geo.shore_m(np.array([32.40, 32.32]), np.array([30.33, 31.35]))
    assert d[0] == 0.0  # Great Bitter Lake: inside NE land, i.e. in the canal
    assert 0.0 < d[1] < 20 * 1852  # Port Said roads: at sea, near the coast
    det = detect_all(suez, conform(pl.DataFrame(), STATIC_SCHEMA), geo, MaritimeConfig())
    types = {e.type for e in det.events}
    assert "loitering" not in types and "gap" not in types  # nowhere 20 nm from shore
    assert sum(e.type == "port_visit" for e in det.events) >= 50  # ports + GFW anchorages


def test_incursion_that_reaches_a_port_is_a_port_call() -> None:
    rng = np.random.default_rng(22)
    kor = track(440000010, rng, lat0=37.5, lon0=132.8, hours=4, speed_kn=10)
    pos = cleaned(kor)
    ts = Zone(
        "JPN TS test",
        "territorial_sea",
        "JPN",
        shapely.box(133.0, 37.0, 133.3, 38.0),
        frozenset({"JPN"}),
    )
    on_route = Ports(np.array([133.15]), np.array([37.51]), ["TEST HARBOUR"], ["JPN"])
    far_away = Ports(np.array([133.15]), np.array([37.8]), ["OTHER HARBOUR"], ["JPN"])
    statics = conform(pl.DataFrame(), STATIC_SCHEMA)

    def incursions(geo: Geography, cfg: MaritimeConfig) -> int:
        return sum(e.type == "incursion" for e in detect_all(pos, statics, geo, cfg).events)

    cfg = MaritimeConfig()
    assert incursions(Geography(zones=[ts], ports=on_route), cfg) == 0
    assert incursions(Geography(zones=[ts], ports=far_away), cfg) == 1
    keep = dataclasses.replace(cfg, zones=dataclasses.replace(cfg.zones, ignore_port_calls=False))
    assert incursions(Geography(zones=[ts], ports=on_route), keep) == 1
