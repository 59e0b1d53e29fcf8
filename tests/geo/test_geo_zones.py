"""trilink.geo: land assignment, zones, views, user zone files (real Natural Earth data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.ops import nearest_points

from trilink.geo import (
    NM_M,
    UnknownNationError,
    UnknownViewError,
    ZoneFileError,
    disputed_features,
    geodesic_m,
    is_on_land,
    load_land,
    load_zone_file,
    load_zones,
    point_in_zones,
    zones_to_geojson,
)
from trilink.geo.io import DATA_DIR
from trilink.geo.proj import GEOD

TOKYO = (35.6812, 139.7671)
YAMATO_BANK = (39.5, 135.0)
DOKDO = (37.2417, 131.8667)
UOTSURI = (25.7433, 123.4733)


def _zones_at(lat: float, lon: float, view: str = "neutral") -> set[tuple[str, str]]:
    zones = load_zones(view)
    hits = point_in_zones([lat], [lon], zones)
    return {(zones[z].nation, zones[z].zone_type) for z in hits.zone_index}


def _offshore_point(
    lat: float, lon: float, azimuth_deg: float, dist_m: float
) -> tuple[float, float]:
    lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth_deg, dist_m)
    return float(lat2), float(lon2)


def test_tokyo_is_japanese_land_and_not_korean() -> None:
    assert is_on_land([TOKYO[0]], [TOKYO[1]], "JPN")[0]
    assert not is_on_land([TOKYO[0]], [TOKYO[1]], "KOR")[0]


@pytest.mark.parametrize(
    ("name", "lat", "lon", "nation"),
    [
        ("Seoul", 37.5665, 126.9780, "KOR"),
        ("Busan", 35.1796, 129.0756, "KOR"),
        ("Jeju", 33.38, 126.55, "KOR"),
        ("Pyongyang", 39.0392, 125.7625, "PRK"),
        ("Shanghai", 31.2304, 121.4737, "CHN"),
        ("Taipei", 25.0330, 121.5654, "TWN"),
        ("Vladivostok", 43.1155, 131.8855, "RUS"),
        ("Tsushima", 34.40, 129.30, "JPN"),
        ("Yonaguni", 24.46, 122.99, "JPN"),
        ("Sapporo", 43.0618, 141.3545, "JPN"),
        ("Naha", 26.2124, 127.6809, "JPN"),
    ],
)
def test_land_is_assigned_to_the_right_nation(
    name: str, lat: float, lon: float, nation: str
) -> None:
    assert is_on_land([lat], [lon], nation)[0], f"{name} should be {nation} land"


def test_unknown_nation_and_view_are_clear_errors() -> None:
    with pytest.raises(UnknownNationError, match="XYZ"):
        load_land("XYZ")
    with pytest.raises(UnknownViewError, match="neutral"):
        load_zones("martian")


def test_point_5nm_off_japanese_coast_is_in_jpn_territorial_sea() -> None:
    # Omaezaki cape, Shizuoka: go 5 nm due south from the nearest coast point.
    land = load_land("JPN")
    cape = shapely.Point(138.2167, 34.5950)
    coast_pt = nearest_points(land.boundary, cape)[0]
    lat, lon = _offshore_point(coast_pt.y, coast_pt.x, 180.0, 5 * NM_M)
    assert not is_on_land([lat], [lon])[0]
    got = _zones_at(lat, lon)
    assert ("JPN", "territorial_sea") in got
    assert not any(n != "JPN" for n, _ in got)


def test_mid_sea_of_japan_point_is_in_exactly_one_eez() -> None:
    # Between Korea and Japan, outside the waters nearest to Dokdo.
    for lat, lon, nation in [(36.0, 131.0, "KOR"), (35.3, 130.6, "JPN"), (40.0, 134.0, "RUS")]:
        got = {n for n, t in _zones_at(lat, lon) if t == "eez"}
        assert got == {nation}, (lat, lon, got)


@pytest.mark.parametrize(
    ("view", "box"),
    [
        (v, b)
        for v in ("neutral", "administering", "JPN", "KOR", "CHN", "TWN", "RUS")
        for b in (
            (128.0, 34.0, 141.0, 44.0),
            (119.0, 24.0, 130.0, 34.0),
            (140.0, 41.0, 150.0, 47.0),
        )
    ],
)
def test_zones_never_overlap_between_nations(
    view: str, box: tuple[float, float, float, float]
) -> None:
    # Sea of Japan, East China Sea, and the Kurils/Hokkaido on a 0.1 degree grid.
    zones = load_zones(view)
    lon, lat = np.meshgrid(np.arange(box[0], box[2], 0.1), np.arange(box[1], box[3], 0.1))
    hits = point_in_zones(lat.ravel(), lon.ravel(), zones)
    eez = np.asarray([zones[z].zone_type == "eez" for z in hits.zone_index])
    per_point = np.bincount(hits.point_index[eez], minlength=lat.size)
    assert per_point.max() == 1
    ts = np.asarray([zones[z].zone_type == "territorial_sea" for z in hits.zone_index])
    assert np.bincount(hits.point_index[ts], minlength=lat.size).max() == 1
    assert not np.intersect1d(hits.point_index[ts], hits.point_index[eez]).size


def test_waters_nearest_dokdo_are_nobodys_eez_in_neutral_view() -> None:
    # 38.0 N 132.5 E is ~100 km from Dokdo and farther from every undisputed coast.
    assert _zones_at(38.0, 132.5, "neutral") == set()
    assert _zones_at(38.0, 132.5, "KOR") == {("KOR", "eez")}
    assert _zones_at(38.0, 132.5, "JPN") == {("JPN", "eez")}


def test_yamato_bank_is_in_japans_eez_in_neutral_view() -> None:
    got = _zones_at(*YAMATO_BANK)
    assert got == {("JPN", "eez")}


def test_dokdo_waters_depend_on_view_and_neutral_gives_them_to_nobody() -> None:
    lat, lon = _offshore_point(DOKDO[0], DOKDO[1], 90.0, 6 * NM_M)
    assert _zones_at(lat, lon, "neutral") == set()
    assert ("KOR", "territorial_sea") in _zones_at(lat, lon, "KOR")
    assert ("JPN", "territorial_sea") in _zones_at(lat, lon, "JPN")
    assert ("KOR", "territorial_sea") in _zones_at(lat, lon, "administering")
    # The Chinese view takes no position on Dokdo: nobody's, as in neutral.
    assert _zones_at(lat, lon, "CHN") == set()


def test_senkaku_waters_depend_on_view() -> None:
    lat, lon = _offshore_point(UOTSURI[0], UOTSURI[1], 0.0, 6 * NM_M)
    assert _zones_at(lat, lon, "neutral") == set()
    assert ("JPN", "territorial_sea") in _zones_at(lat, lon, "JPN")
    assert ("CHN", "territorial_sea") in _zones_at(lat, lon, "CHN")
    assert ("TWN", "territorial_sea") in _zones_at(lat, lon, "TWN")
    assert _zones_at(lat, lon, "KOR") == set()


def test_disputed_groups_are_present_and_excluded_from_neutral_land() -> None:
    feats = {f.feature_id: f for f in disputed_features()}
    assert set(feats) == {
        "dokdo_takeshima",
        "senkaku_diaoyu",
        "southern_kurils_northern_territories",
    }
    for f in feats.values():
        assert not f.geometry.is_empty
        rp = f.geometry.representative_point()
        assert not is_on_land([rp.y], [rp.x], f.administered_by, "neutral")[0]
        assert is_on_land([rp.y], [rp.x], f.administered_by, "administering")[0]


def test_zone_bands_follow_unclos_distances() -> None:
    # A point ~18 nm off the coast is in the contiguous zone and the EEZ, not the TS.
    land = load_land("JPN")
    cape = shapely.Point(138.2167, 34.5950)
    coast_pt = nearest_points(land.boundary, cape)[0]
    lat, lon = _offshore_point(coast_pt.y, coast_pt.x, 180.0, 18 * NM_M)
    assert _zones_at(lat, lon) == {("JPN", "contiguous_zone"), ("JPN", "eez")}
    lat, lon = _offshore_point(coast_pt.y, coast_pt.x, 180.0, 100 * NM_M)
    assert _zones_at(lat, lon) == {("JPN", "eez")}


def test_territorial_sea_outer_limit_is_12nm_geodesic() -> None:
    # Sample the JPN territorial-sea outer boundary off central Honshu and measure the geodesic
    # distance back to Japanese land by brute force over coast points ~200 m apart: 12 nm
    # within the build tolerances (100 m simplification, 0.0001 degree rounding).
    zones = [z for z in load_zones("neutral", include_land=True) if z.nation == "JPN"]
    ts = next(z for z in zones if z.zone_type == "territorial_sea").geometry
    window = shapely.box(138.0, 33.5, 141.5, 35.0)
    ring = shapely.intersection(ts.exterior if ts.geom_type == "Polygon" else ts.boundary, window)
    pts = shapely.get_coordinates(shapely.segmentize(ring, 0.05))
    rng = np.random.default_rng(7)
    pts = pts[rng.choice(len(pts), size=min(40, len(pts)), replace=False)]
    coast = shapely.intersection(load_land("JPN").boundary, shapely.box(136.5, 32.0, 143.0, 36.5))
    cxy = shapely.get_coordinates(shapely.segmentize(coast, 0.002))
    d = np.asarray(
        [
            geodesic_m(np.full(len(cxy), lat), np.full(len(cxy), lon), cxy[:, 1], cxy[:, 0]).min()
            for lon, lat in pts
        ]
    )
    assert np.all(np.abs(d - 12 * NM_M) < 250), d / NM_M


def test_zone_file_size_and_note() -> None:
    path = DATA_DIR / "zones_east_asia.geojson"
    assert path.stat().st_size < 2_000_000
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert "APPROXIMATION" in doc["note"]
    assert {f["properties"]["zone_type"] for f in doc["features"]} == {
        "territorial_sea",
        "contiguous_zone",
        "eez",
    }


def test_point_in_zones_vectorised_matches_scalar() -> None:
    zones = load_zones("neutral")
    rng = np.random.default_rng(3)
    lat = rng.uniform(28.0, 44.0, 400)
    lon = rng.uniform(122.0, 145.0, 400)
    hits = point_in_zones(lat, lon, zones)
    mat = hits.matrix(lat.size, len(zones))
    for i in range(0, 400, 9):
        for j, zone in enumerate(zones):
            assert mat[i, j] == zone.geometry.intersects(shapely.Point(lon[i], lat[i]))


def _write(tmp_path: Path, doc: object) -> Path:
    p = tmp_path / "zones.geojson"
    p.write_text(json.dumps(doc), encoding="utf-8")
    return p


def _feature(**props: object) -> dict[str, object]:
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[130, 33], [131, 33], [131, 34], [130, 34], [130, 33]]],
        },
    }


def test_load_zone_file_reads_user_zones(tmp_path: Path) -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [
            _feature(owner="JPN", zone_type="exercise_area", allowed_flags=["USA"], name="X1"),
            _feature(owner="kor", zone_type="custom"),
        ],
    }
    zones = load_zone_file(_write(tmp_path, doc))
    assert [z.nation for z in zones] == ["JPN", "KOR"]
    assert zones[0].allows("USA") and zones[0].allows("JPN") and not zones[0].allows("CHN")
    hits = point_in_zones([33.5, 40.0], [130.5, 130.5], zones)
    assert hits.point_index.tolist() == [0, 0] and hits.zone_index.tolist() == [0, 1]


@pytest.mark.parametrize(
    ("feature", "needle"),
    [
        (_feature(zone_type="eez"), r"features\[1\]\.properties\.owner"),
        (_feature(owner="JPN", zone_type="sea"), r"features\[1\]\.properties\.zone_type"),
        (
            _feature(owner="JPN", zone_type="eez", allowed_flags="USA"),
            r"features\[1\]\.properties\.allowed_flags",
        ),
        (
            {
                "type": "Feature",
                "properties": {"owner": "JPN", "zone_type": "eez"},
                "geometry": {"type": "Point", "coordinates": [130, 33]},
            },
            r"features\[1\]\.properties\.geometry",
        ),
    ],
)
def test_load_zone_file_errors_name_feature_and_property(
    tmp_path: Path, feature: dict[str, object], needle: str
) -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [_feature(owner="JPN", zone_type="eez"), feature],
    }
    with pytest.raises(ZoneFileError, match=needle):
        load_zone_file(_write(tmp_path, doc))


def test_exported_zones_load_back_as_a_user_file(tmp_path: Path) -> None:
    zones = [z for z in load_zones("KOR") if z.nation in ("KOR", "JPN")]
    p = _write(tmp_path, zones_to_geojson(zones))
    back = load_zone_file(p)
    assert [(z.nation, z.zone_type) for z in back] == [(z.nation, z.zone_type) for z in zones]
    for a, b in zip(zones, back, strict=True):
        assert abs(a.geometry.area - b.geometry.area) / a.geometry.area < 1e-3


def test_load_zone_file_rejects_non_json(tmp_path: Path) -> None:
    p = tmp_path / "bad.geojson"
    p.write_bytes(b"{not json")
    with pytest.raises(ZoneFileError, match="not valid JSON"):
        load_zone_file(p)
