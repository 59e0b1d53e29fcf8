"""Generic geometry extraction, filters and the overall banner (pure functions)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from trilink.model.label import parse_label
from trilink.web.features import (
    bbox_intersects,
    ellipse_polygon,
    payload_geometries,
    payload_title,
    report_features,
)
from trilink.web.filters import FilterError, parse_filters
from trilink.web.index import overall_label

NATIONS = frozenset({"USA", "JPN", "KOR"})
KINDS = ["note", "maritime.event", "missile.track"]


def _haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


def test_point_named_points_track_and_ellipse_are_found() -> None:
    payload = {
        "lat": 35.5,
        "lon": 135.25,
        "launch_lat_deg": 39.0,
        "launch_lon_deg": 125.7,
        "impact_lat": 40.1,
        "impact_lon": 136.2,
        "track": [[125.7, 39.0], {"lat": 39.5, "lon": 130.0}, [136.2, 40.1, 0.0]],
        "ellipse": {"semi_major_m": 30_000.0, "semi_minor_m": 10_000.0, "orientation_deg": 30},
    }
    found = dict(payload_geometries(payload))
    assert found["point"] == {"type": "Point", "coordinates": [135.25, 35.5]}
    assert found["launch"]["coordinates"] == [125.7, 39.0]
    assert found["impact"]["coordinates"] == [136.2, 40.1]
    assert found["track"]["type"] == "LineString"
    assert found["track"]["coordinates"] == [[125.7, 39.0], [130.0, 39.5], [136.2, 40.1]]
    ring = found["ellipse"]["coordinates"][0]
    assert ring[0] == ring[-1]
    # The ellipse is centred on the report's own point when it gives no centre.
    dists = [_haversine_m(135.25, 35.5, x, y) for x, y in ring]
    assert max(dists) == pytest.approx(30_000, rel=0.01)
    assert min(dists) == pytest.approx(10_000, rel=0.01)


def test_ellipse_major_axis_points_along_its_bearing() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        lon, lat = float(rng.uniform(120, 150)), float(rng.uniform(20, 50))
        bearing = float(rng.uniform(0, 180))
        ring = ellipse_polygon(lon, lat, 50_000, 5_000, bearing)["coordinates"][0]
        far = max(ring, key=lambda c: _haversine_m(lon, lat, c[0], c[1]))
        dx = math.radians(far[0] - lon) * math.cos(math.radians(lat))
        dy = math.radians(far[1] - lat)
        got = math.degrees(math.atan2(dx, dy)) % 180
        assert min(abs(got - bearing), 180 - abs(got - bearing)) < 3.0


def test_nested_objects_geojson_and_positions() -> None:
    payload = {
        "impact": {
            "lat": 41.0,
            "lon": 138.0,
            "ellipse": {"semi_major_km": 12, "semi_minor_km": 4},
        },
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[130, 30], [131, 30], [131, 31], [130, 30]]],
        },
        "positions": [
            {"lat": 30.0, "lon": 125.0},
            {"lat": 30.1, "lon": 125.1},
            {"lat": 99, "lon": 0},
        ],
    }
    roles = [r for r, _ in payload_geometries(payload)]
    assert roles.count("position") == 2  # the out-of-range one is dropped
    assert "impact" in roles and "impact.ellipse" in roles and "geometry" in roles


@pytest.mark.parametrize(
    "payload",
    [
        {"title": "no place"},
        {"lat": "35", "lon": 135},
        {"lat": float("nan"), "lon": 135.0},
        {"lat": 91.0, "lon": 135.0},
        {"lat": True, "lon": 1.0},
        {"track": [[1, 2]]},
        {"geometry": {"type": "Point", "coordinates": [500, 0]}},
        {"geometry": {"type": "Circle", "coordinates": [1, 2]}},
        {"ellipse": {"semi_major_m": 10.0}},  # no centre anywhere
    ],
)
def test_bad_or_missing_positions_give_no_feature(payload: dict[str, object]) -> None:
    assert payload_geometries(payload) == []


def test_every_feature_carries_the_label() -> None:
    meta = {"id": "r1", "label": "SECRET//REL TO USA, JPN", "kind": "x"}
    feats = report_features(meta, {"lat": 1.0, "lon": 2.0, "track": [[0, 0], [1, 1]]})
    assert len(feats) == 2
    assert all(f["properties"]["label"] == "SECRET//REL TO USA, JPN" for f in feats)
    assert len({f["id"] for f in feats}) == 2


def test_title_prefers_named_fields() -> None:
    assert payload_title("note", {"title": "  Hello  "}) == "Hello"
    assert payload_title("maritime.event", {"mmsi": 431000001}) == "431000001"
    assert payload_title("missile.track", {}) == "missile.track"


def test_bbox_intersection() -> None:
    point = {"type": "Point", "coordinates": [130.0, 35.0]}
    assert bbox_intersects(point, (125, 30, 135, 40))
    assert not bbox_intersects(point, (131, 30, 135, 40))
    big = {
        "type": "Polygon",
        "coordinates": [[[100, 0], [160, 0], [160, 60], [100, 60], [100, 0]]],
    }
    assert bbox_intersects(big, (125, 30, 135, 40))  # covers the view


def test_filters_parse_and_reject_clearly() -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    f = parse_filters(
        {
            "kind": "note,missile.track",
            "origin": "usa, JPN",
            "classification": "secret,top secret",
            "exercise": "live",
            "since": "6h",
            "until": "2026-11-23T11:00:00Z",
            "bbox": "120,25,140,45",
            "limit": "10",
        },
        nations=NATIONS,
        known_kinds=KINDS,
        now=now,
    )
    assert f.kinds == {"note", "missile.track"} and f.origins == {"USA", "JPN"}
    assert f.since == now - timedelta(hours=6)
    assert f.until == datetime(2026, 11, 23, 11, tzinfo=UTC)
    assert f.bbox == (120, 25, 140, 45) and f.limit == 10 and f.exercise == "live"
    bad = [
        ({"kinds": "note"}, "unknown parameter 'kinds'"),
        ({"kind": "Note!"}, "unknown report kind"),
        ({"origin": "CHN"}, "unknown origin nation 'CHN'"),
        ({"classification": "SECRETISH"}, "unknown classification"),
        ({"exercise": "maybe"}, "not one of all, live, exercise"),
        ({"since": "yesterday"}, "is not a UTC time"),
        ({"since": "2026-11-23T10:00:00"}, "is not a UTC time"),  # naive: ambiguous
        ({"bbox": "1,2,3"}, "four numbers"),
        ({"bbox": "140,25,120,45"}, "south-west corner first"),
        ({"bbox": "0,0,200,10"}, "-180..180"),
        ({"limit": "0"}, "whole number"),
    ]
    for params, message in bad:
        with pytest.raises(FilterError, match=message):
            parse_filters(params, nations=NATIONS, known_kinds=KINDS)


def test_overall_label_is_the_most_restrictive() -> None:
    labels = [
        parse_label("UNCLASSIFIED//REL TO USA, JPN, KOR"),
        parse_label("SECRET//REL TO USA, JPN"),
        parse_label("CONFIDENTIAL//REL TO USA, JPN, KOR"),
    ]
    banner = overall_label(labels)
    assert banner == {"classification": "SECRET", "level": 3, "text": "SECRET//REL TO USA, JPN"}
    assert overall_label([])["text"] == "UNCLASSIFIED"
    assert overall_label([parse_label("EXERCISE//TOP SECRET//NOFORN")])["text"] == (
        "EXERCISE//TOP SECRET//NOFORN"
    )


def _enu_to_ecef_cov(lon: float, lat: float, enu: np.ndarray) -> list[list[float]]:
    lo, la = math.radians(lon), math.radians(lat)
    east = [-math.sin(lo), math.cos(lo), 0.0]
    north = [-math.sin(la) * math.cos(lo), -math.sin(la) * math.sin(lo), math.cos(la)]
    up = [math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)]
    rot = np.array([east, north, up]).T  # columns: ENU axes in ECEF
    pos = rot @ enu @ rot.T
    full = np.eye(6) * 25.0
    full[:3, :3] = pos
    return full.tolist()


def test_track_covariance_gives_the_95_percent_horizontal_ellipse() -> None:
    rng = np.random.default_rng(42)
    for _ in range(10):
        lon, lat = float(rng.uniform(120, 145)), float(rng.uniform(25, 45))
        sigma_major, sigma_minor = float(rng.uniform(2000, 5000)), float(rng.uniform(300, 1500))
        bearing = float(rng.uniform(0, 180))
        b = math.radians(bearing)
        axis_major = np.array([math.sin(b), math.cos(b), 0.0])  # east, north
        axis_minor = np.array([math.cos(b), -math.sin(b), 0.0])
        enu = (
            sigma_major**2 * np.outer(axis_major, axis_major)
            + sigma_minor**2 * np.outer(axis_minor, axis_minor)
            + np.diag([0.0, 0.0, 400.0**2])
        )
        payload = {"lat": lat, "lon": lon, "covariance": _enu_to_ecef_cov(lon, lat, enu)}
        found = dict(payload_geometries(payload))
        ring = found["uncertainty"]["coordinates"][0]
        dists = [_haversine_m(lon, lat, x, y) for x, y in ring]
        assert max(dists) == pytest.approx(math.sqrt(5.991) * sigma_major, rel=0.02)
        assert min(dists) == pytest.approx(math.sqrt(5.991) * sigma_minor, rel=0.05)
        far = max(ring, key=lambda c: _haversine_m(lon, lat, c[0], c[1]))
        dx = math.radians(far[0] - lon) * math.cos(math.radians(lat))
        got = math.degrees(math.atan2(dx, math.radians(far[1] - lat))) % 180
        assert min(abs(got - bearing), 180 - abs(got - bearing)) < 3.0


def test_engine_payload_shapes() -> None:
    warning = {
        "warning_id": "W1",
        "status": "issue",
        "impact_lat": 40.0,
        "impact_lon": 137.0,
        "launch_lat": 39.0,
        "launch_lon": 125.6,
        "ellipse_semi_major_m": 40_000.0,
        "ellipse_semi_minor_m": 10_000.0,
        "ellipse_orientation_deg": 90.0,
    }
    found = dict(payload_geometries(warning))
    assert set(found) == {"impact", "launch", "impact.ellipse"}
    ring = found["impact.ellipse"]["coordinates"][0]
    assert max(_haversine_m(137.0, 40.0, x, y) for x, y in ring) == pytest.approx(40_000, rel=0.01)
    assert payload_title("missile.warning", warning) == "impact warning W1 (issue)"
    event = {"type": "foreign_fishing", "mmsi": 412000001, "lat": 37.5, "lon": 134.0}
    assert payload_title("maritime.event", event) == "foreign fishing 412000001"
    track = {"mmsi": 163, "track": [[32.3, 31.2], [32.5, 30.0]]}
    assert payload_title("maritime.track", track) == "vessel track, MMSI 163"
    named = {"mmsi": 353136000, "name": "EVER GIVEN", "track": track["track"]}
    assert payload_title("maritime.track", named) == "EVER GIVEN track, MMSI 353136000"
    # a sanctions hit repeating its event's position draws one point, not two
    hit = {"summary": "hit", "lat": 29.5, "lon": 124.8, "event": {"lat": 29.5, "lon": 124.8}}
    assert payload_geometries(hit) == [("point", {"type": "Point", "coordinates": [124.8, 29.5]})]
    assert dict(payload_geometries({"lat": 35.0, "lon": 200.0}))["point"]["coordinates"] == [
        -160.0,
        35.0,
    ]
