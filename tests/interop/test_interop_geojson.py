"""GeoJSON as RFC 7946 wants it (#16 item 3): validated against the RFC's model
(``rfc7946.py``) and by shapely; ellipses on the WGS-84 ellipsoid by the one ellipse
function, counterclockwise; coordinates rounded; the properties users filter on."""

from __future__ import annotations

import io
import json

import msgspec
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from interop_samples import LIVE, every_kind, item, maritime_event, missile_warning
from pyproj import Geod
from rfc7946 import check, json_schema

from trilink.geo.ellipse import ellipse_ring, ring_is_counterclockwise
from trilink.interop.geojson import write_geojson
from trilink.interop.marking import overall_marking
from trilink.model.label import parse_label

GEOD = Geod(ellps="WGS84")


def export(items: list) -> bytes:  # type: ignore[type-arg]
    marking = overall_marking([parse_label(i.label) for i in items], "USA")
    buf = io.BytesIO()
    write_geojson(items, marking, "USA", buf)
    return buf.getvalue()


def test_export_of_every_kind_is_rfc7946_and_valid_geometry() -> None:
    data = export(every_kind())
    collection = check(data)
    doc = json.loads(data)
    assert len(collection.features) == len(doc["features"]) >= 12
    for feature in doc["features"]:
        geometry = shapely.geometry.shape(feature["geometry"])
        assert geometry.is_valid, shapely.is_valid_reason(geometry)
        if geometry.geom_type == "Polygon":
            assert geometry.exterior.is_ccw  # right-hand rule (3.1.6)
        props = feature["properties"]
        assert props["label"] in (LIVE, "EXERCISE//CONFIDENTIAL//REL TO USA, JPN, KOR")
        _assert_rounded(feature["geometry"]["coordinates"])


def _assert_rounded(coords: object) -> None:
    if isinstance(coords, list) and coords and isinstance(coords[0], (int, float)):
        for value in coords[:2]:
            assert round(value, 6) == value
    elif isinstance(coords, list):
        for c in coords:
            _assert_rounded(c)


def test_the_rfc_model_refuses_what_the_old_exports_wrote() -> None:
    """The validator is real: a clockwise ellipse (the old COP's) and a crs member fail."""
    ring = ellipse_ring(137.0, 40.0, 5000.0, 2000.0, 30.0)
    good = {"type": "Polygon", "coordinates": [ring]}
    bad = {"type": "Polygon", "coordinates": [ring[::-1]]}
    doc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": good, "properties": {}}],
    }
    check(json.dumps(doc).encode())
    doc["features"][0]["geometry"] = bad  # type: ignore[index]
    with pytest.raises(msgspec.ValidationError, match="counterclockwise"):
        check(json.dumps(doc).encode())
    with pytest.raises(msgspec.ValidationError, match="crs"):
        check(b'{"type":"FeatureCollection","features":[],"crs":{"type":"name"}}')
    with pytest.raises(msgspec.ValidationError, match="off the globe"):
        check(
            b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":null,'
            b'"geometry":{"type":"Point","coordinates":[200,10]}}]}'
        )
    schema = json_schema()
    assert schema["$ref"].endswith("/FeatureCollection")
    assert "Polygon" in schema["$defs"]


def test_properties_users_filter_on() -> None:
    doc = json.loads(export(every_kind()))
    by_kind: dict[str, dict[str, object]] = {}
    for feature in doc["features"]:
        by_kind.setdefault(feature["properties"]["kind"], feature["properties"])
    event = by_kind["maritime.event"]
    assert event["mmsi"] == 412000001 and event["imo"] == "9074729"
    assert event["start"] == "2026-11-23T05:00:00Z" and event["end"] == "2026-11-23T05:40:00Z"
    assert by_kind["maritime.track"]["mmsi"] == 353136000
    assert by_kind["maritime.track"]["imo"] == "9811000"
    assert by_kind["missile.track"]["track_id"] == "T7"
    assert by_kind["missile.warning"]["status"] == "issue"
    assert by_kind["sanctions.hit"]["imo"] == "8914934"
    assert by_kind["sanctions.hit"]["mmsi"] == 457123000
    assert doc["classification"] == doc["marking"]["text"]


@settings(max_examples=40, deadline=None)
@given(
    lon=st.floats(100, 170),
    lat=st.floats(-60, 60),
    major=st.floats(200, 400_000),
    ratio=st.floats(0.05, 1.0),
    bearing=st.floats(0, 180),
)
def test_ellipses_are_true_on_the_ellipsoid(
    lon: float, lat: float, major: float, ratio: float, bearing: float
) -> None:
    """Vertex distances from the centre (inverse geodesic, pyproj) are the semi-axes; the
    ring turns counterclockwise; the major axis points along its bearing."""
    minor = major * ratio
    ring = ellipse_ring(lon, lat, major, minor, bearing)
    assert ring[0] == ring[-1] and ring_is_counterclockwise(ring)
    xs, ys = np.array(ring[:-1]).T
    az, _, dist = GEOD.inv(np.full(xs.size, lon), np.full(xs.size, lat), xs, ys)
    tolerance_m = 2.0  # 1e-5 degree rounding
    assert dist.max() == pytest.approx(major, abs=tolerance_m)
    assert dist.min() == pytest.approx(minor, abs=tolerance_m + 0.002 * major)
    far = float(az[int(np.argmax(dist))]) % 180.0
    if ratio < 0.9 and major > 20_000:  # smaller: the 1 m rounding moves the far vertex
        assert min(abs(far - bearing), 180 - abs(far - bearing)) < 1.0


def test_warning_ellipse_is_the_registry_one() -> None:
    warning = item("missile.warning", missile_warning())
    (ellipse,) = [f for f in warning.features if f["properties"]["role"] == "impact.ellipse"]
    assert ellipse["geometry"]["coordinates"][0] == ellipse_ring(137.4, 40.3, 50_000, 20_000, 75)


def test_points_off_the_globe_or_not_finite_are_left_out() -> None:
    assert item("maritime.event", dict(maritime_event(), lat=95.0)).features == []
    wrapped = item("maritime.event", dict(maritime_event(), lon=200.0))
    assert wrapped.features[0]["geometry"]["coordinates"] == [-160.0, 37.6]
