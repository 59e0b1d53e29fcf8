"""The COP API on real nodes: listing and filters, one report's panel data, denials,
exports."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
import zipfile

from cop_helpers import GEO_KIND, TestClient, replicate

from trilink.node.service import NodeService

REL_ALL = "UNCLASSIFIED//REL TO USA, JPN, KOR"
KML = "{http://www.opengis.net/kml/2.2}"
MIXED = (
    "SECRET//REL TO USA, JPN, KOR (LIVE SECRET//REL TO USA, JPN, KOR"
    " + EXERCISE//UNCLASSIFIED//REL TO USA, JPN, KOR)"
)


def _publish_scene(net: dict[str, NodeService]) -> dict[str, str]:
    usa, jpn, kor = net["USA"], net["JPN"], net["KOR"]
    launch = kor.publish(
        GEO_KIND,
        "SECRET//REL TO USA, JPN, KOR",
        {
            "title": "launch point",
            "launch_lat": 39.0,
            "launch_lon": 125.7,
            "track": [[125.7, 39.0], [130.0, 40.0], [136.0, 40.5]],
        },
    )
    vessel = jpn.publish(
        GEO_KIND,
        "CONFIDENTIAL//REL TO USA, JPN, KOR",
        {
            "title": "STS pair",
            "lat": 30.5,
            "lon": 125.2,
            "ellipse": {"semi_major_m": 5000.0, "semi_minor_m": 2000.0, "orientation_deg": 10.0},
        },
    )
    drill = usa.publish(
        GEO_KIND,
        "EXERCISE//UNCLASSIFIED//REL TO USA, JPN, KOR",
        {"title": "drill", "lat": 34.0, "lon": 129.0},
    )
    replicate(net)  # a product may only derive from reports its node holds
    fused = usa.publish(
        "note",
        "SECRET//REL TO USA, JPN, KOR",
        {"title": "fused assessment", "body": "from both"},
        derived_from=[launch.envelope.id, vessel.envelope.id],
    )
    replicate(net)
    return {
        "launch": launch.envelope.id,
        "vessel": vessel.envelope.id,
        "drill": drill.envelope.id,
        "fused": fused.envelope.id,
    }


def _titles(response: object) -> set[str]:
    body = response.json()  # type: ignore[attr-defined]
    return {r["title"] for r in body["reports"]}


def test_every_node_lists_the_shared_picture_with_features(
    net: dict[str, NodeService], cop: dict[str, TestClient]
) -> None:
    ids = _publish_scene(net)
    for nation, client in cop.items():
        body = client.get("/api/reports").json()
        assert body["nation"] == nation and body["count"] == 4
        by_id = {r["id"]: r for r in body["reports"]}
        assert set(by_id) == set(ids.values())
        roles = sorted(f["properties"]["role"] for f in by_id[ids["launch"]]["features"])
        assert roles == ["launch", "track"]
        assert [f["geometry"]["type"] for f in by_id[ids["vessel"]]["features"]] == [
            "Point",
            "Polygon",
        ]
        assert by_id[ids["fused"]]["features"] == []
        for report in body["reports"]:
            for feature in report["features"]:
                assert feature["properties"]["label"] == report["label"]
        # live and exercise content are named apart, never one EXERCISE marking (#16)
        assert body["banner"]["text"] == MIXED
        assert body["banner"]["live"] == "SECRET//REL TO USA, JPN, KOR"
        assert body["banner"]["exercise"] == "EXERCISE//UNCLASSIFIED//REL TO USA, JPN, KOR"


def test_filters_select_and_malformed_filters_say_why(
    net: dict[str, NodeService], cop: dict[str, TestClient]
) -> None:
    _publish_scene(net)
    client = cop["USA"]
    assert _titles(client.get("/api/reports?origin=JPN")) == {"STS pair"}
    assert _titles(client.get("/api/reports?kind=note")) == {"fused assessment"}
    assert _titles(client.get("/api/reports?classification=SECRET")) == {
        "launch point",
        "fused assessment",
    }
    assert _titles(client.get("/api/reports?exercise=exercise")) == {"drill"}
    assert "drill" not in _titles(client.get("/api/reports?exercise=live"))
    assert _titles(client.get("/api/reports?bbox=124,29,126,32")) == {"STS pair"}
    assert _titles(client.get("/api/reports?since=1h")) == {
        "launch point",
        "STS pair",
        "drill",
        "fused assessment",
    }
    assert _titles(client.get("/api/reports?since=2099-01-01T00:00:00Z")) == set()
    assert _titles(client.get("/api/reports?label=EXERCISE")) == {"drill"}
    for query, needle in [
        ("kind=nonsense", "unknown report kind 'nonsense'"),
        ("origin=XYZ", "unknown origin nation 'XYZ'"),
        ("since=last%20tuesday", "is not a UTC time"),
        ("bbox=1,2", "four numbers"),
        ("limit=-5", "whole number"),
        ("colour=red", "unknown parameter 'colour'"),
    ]:
        bad = client.get(f"/api/reports?{query}")
        assert bad.status_code == 422, query
        assert needle in bad.json()["detail"], bad.json()


def test_report_panel_data(net: dict[str, NodeService], cop: dict[str, TestClient]) -> None:
    ids = _publish_scene(net)
    net["USA"].edit(ids["fused"], {"title": "fused assessment v2", "body": "revised"})
    replicate(net)
    detail = cop["JPN"].get(f"/api/reports/{ids['fused']}").json()
    assert detail["origin"] == "USA" and detail["received_from"] == "USA"
    assert detail["version"] == 2 and detail["payload"]["title"] == "fused assessment v2"
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    assert all(v["signature_verified"] for v in detail["versions"])
    assert detail["signature_verified"] is True
    assert detail["label"] == "SECRET//REL TO USA, JPN, KOR"
    sources = {s["id"]: s for s in detail["derived_from"]}
    assert sources[ids["launch"]]["held"] and sources[ids["launch"]]["origin"] == "KOR"
    assert sources[ids["vessel"]]["origin"] == "JPN"
    events = {(a["event"], a["outcome"]) for a in detail["audit"]}
    assert ("inbound", "accepted") in events
    # at the origin the audit shows the publication and the release decision per partner
    origin_events = {
        (a["event"], a["outcome"], a["partner"])
        for a in cop["USA"].get(f"/api/reports/{ids['fused']}").json()["audit"]
    }
    assert ("publish", "stored", "") in origin_events
    assert any(e[0] == "release" and e[2] == "KOR" for e in origin_events)


def test_tampered_report_shows_signature_not_verified(
    net: dict[str, NodeService], cop: dict[str, TestClient]
) -> None:
    ids = _publish_scene(net)
    store = net["KOR"].store
    (row,) = store.query("SELECT seq, envelope FROM reports WHERE id = ?", (ids["vessel"],))
    altered = bytes(row[1]).replace(b"STS pair", b"STS pain")
    assert altered != bytes(row[1])
    store.execute("UPDATE reports SET envelope = ? WHERE seq = ?", (altered, row[0]))
    detail = cop["KOR"].get(f"/api/reports/{ids['vessel']}").json()
    assert detail["signature_verified"] is False
    assert cop["JPN"].get(f"/api/reports/{ids['vessel']}").json()["signature_verified"] is True


def test_deleted_reports_leave_the_map(
    net: dict[str, NodeService], cop: dict[str, TestClient]
) -> None:
    ids = _publish_scene(net)
    assert ids["drill"] in {r["id"] for r in cop["KOR"].get("/api/reports").json()["reports"]}
    net["USA"].delete(ids["drill"], "exercise over")
    replicate(net)
    assert ids["drill"] not in {r["id"] for r in cop["KOR"].get("/api/reports").json()["reports"]}
    detail = cop["KOR"].get(f"/api/reports/{ids['drill']}").json()
    assert detail["deleted"] is True and detail["payload"] == {}


def test_unknown_report_is_404_and_audited(
    net: dict[str, NodeService], cop: dict[str, TestClient]
) -> None:
    ghost = "01900000-0000-7000-8000-000000000000"
    response = cop["KOR"].get(f"/api/reports/{ghost}")
    assert response.status_code == 404
    assert response.json() == {"detail": f"no report '{ghost}' on this node"}
    (row,) = [r for r in net["KOR"].store.audit_rows(report_id=ghost)]
    assert (row.entry.event, row.entry.outcome, row.entry.actor) == ("cop", "denied", "watch")


def test_exports_carry_labels(net: dict[str, NodeService], cop: dict[str, TestClient]) -> None:
    _publish_scene(net)
    client = cop["USA"]
    geo = client.get("/api/export.geojson?bbox=120,25,140,45&exercise=live")
    assert geo.status_code == 200
    assert geo.headers["x-classification"] == "SECRET//REL TO USA, JPN, KOR"
    assert geo.headers["content-disposition"] == 'attachment; filename="trilink-USA.geojson"'
    doc = json.loads(geo.text)
    assert doc["classification"] == "SECRET//REL TO USA, JPN, KOR"
    assert len(doc["features"]) == 4  # launch point, track, vessel point, ellipse (not the drill)
    assert all(
        f["properties"]["label"].startswith(("SECRET", "CONFIDENTIAL")) for f in doc["features"]
    )

    kml = ET.fromstring(client.get("/api/export.kml?exercise=live").text.split("\n", 2)[2])
    marks = kml.findall(f".//{KML}Placemark")
    assert len(marks) == 2  # one placemark per report, its features in a MultiGeometry
    labels = [
        d.find(f"{KML}value").text  # type: ignore[union-attr]
        for m in marks
        for d in m.iter(f"{KML}Data")
        if d.get("name") == "label"
    ]
    assert sorted(labels) == ["CONFIDENTIAL//REL TO USA, JPN, KOR", "SECRET//REL TO USA, JPN, KOR"]
    assert kml.find(f".//{KML}Polygon") is not None and kml.find(f".//{KML}LineString") is not None

    cot = client.get("/api/export.cot")
    assert cot.headers["content-type"] == "application/zip"
    assert cot.headers["x-classification"] == MIXED
    with zipfile.ZipFile(io.BytesIO(cot.content)) as package:
        events = [ET.fromstring(package.read(n)) for n in package.namelist() if n.endswith(".cot")]
        assert package.read("MARKING.txt").decode().strip() == MIXED
    assert len(events) == 3  # one event per report with a position: launch, vessel, drill
    for event in events:
        tl = event.find("detail/trilink")
        assert tl is not None and event.get("access") == tl.get("label")
        assert event.get("opex") == ("e" if tl.get("label", "").startswith("EXERCISE") else "o")
        point = event.find("point")
        assert point is not None and 20 < float(point.get("lat", "0")) < 45

    table = client.get("/api/export.csv")
    assert table.text.splitlines()[0] == f"# {MIXED} | trilink USA"
    assert len(table.text.splitlines()) == 2 + 4  # marking, header, every report (the note too)
    parquet = client.get("/api/export.geoparquet?exercise=live")
    assert parquet.content[:4] == b"PAR1"
    assert parquet.headers["content-disposition"] == 'attachment; filename="trilink-USA.parquet"'
    exports = [r for r in net["USA"].store.audit_rows() if r.entry.outcome == "export"]
    assert len(exports) == 5
    assert exports[0].entry.reason == "geojson: 4 features, SECRET//REL TO USA, JPN, KOR"


def _ecef(lon: float, lat: float, alt_m: float) -> list[float]:
    import math

    a, e2 = 6_378_137.0, 6.69437999014e-3
    la, lo = math.radians(lat), math.radians(lon)
    n = a / math.sqrt(1 - e2 * math.sin(la) ** 2)
    return [
        (n + alt_m) * math.cos(la) * math.cos(lo),
        (n + alt_m) * math.cos(la) * math.sin(lo),
        (n * (1 - e2) + alt_m) * math.sin(la),
    ]


def test_engine_kinds_render(net: dict[str, NodeService], cop: dict[str, TestClient]) -> None:
    """The engines' registered kinds (missile.track/.warning, maritime.event, sanctions.hit)
    go through the real schemas and come out as map features with their labels."""
    label = "SECRET//REL TO USA, JPN, KOR"
    cov = [
        [(250_000.0 if i == j else 0.0) if i < 3 else (100.0 if i == j else 0.0) for j in range(6)]
        for i in range(6)
    ]
    states = []
    for k, (lon, lat) in enumerate([(126.5, 39.2), (128.0, 39.6), (129.5, 39.9)]):
        states.append(
            {
                "track_id": "T7",
                "nation": "USA",
                "nations": ["USA", "JPN", "KOR"],
                "time": f"2026-11-23T06:00:{10 * k:02d}Z",
                "t_s": 10.0 * k,
                "lat": lat,
                "lon": lon,
                "alt_m": 100_000.0,
                "position_ecef_m": _ecef(lon, lat, 100_000.0),
                "velocity_ecef_mps": [1000.0, 200.0, 100.0],
                "covariance": cov,
            }
        )
    net["USA"].publish_many("missile.track", label, states)
    net["USA"].publish(
        "missile.warning",
        label,
        {
            "warning_id": "W7",
            "status": "issue",
            "time": "2026-11-23T06:00:30Z",
            "track_ids": ["T7"],
            "nations": ["USA", "JPN", "KOR"],
            "impact_lat": 40.3,
            "impact_lon": 137.4,
            "ellipse_semi_major_m": 50_000.0,
            "ellipse_semi_minor_m": 20_000.0,
            "ellipse_orientation_deg": 75.0,
            "impact_time": "2026-11-23T06:09:00Z",
            "time_to_impact_s": 510.0,
            "p_impact_in_japan_eez": 0.9,
            "p_overflies_japan": 0.0,
            "launch_lat": 39.0,
            "launch_lon": 125.6,
            "confidence": 0.95,
        },
    )
    net["JPN"].publish(
        "maritime.event",
        "CONFIDENTIAL//REL TO USA, JPN, KOR",
        {
            "type": "foreign_fishing",
            "start": "2026-11-23T05:00:00Z",
            "end": "2026-11-23T05:40:00Z",
            "mmsi": 412000001,
            "lat": 37.6,
            "lon": 134.1,
        },
    )
    net["JPN"].publish(
        "sanctions.hit",
        "CONFIDENTIAL//REL TO USA, JPN, KOR",
        {
            "summary": "STS partner on UN 1718 list",
            "source": "encounter",
            "lat": 29.5,
            "lon": 124.8,
            "hits": [],
        },
    )
    replicate(net)
    body = cop["KOR"].get("/api/reports").json()
    by_kind: dict[str, list[dict[str, object]]] = {}
    for report in body["reports"]:
        by_kind.setdefault(report["kind"], []).append(report)
    # three reports of track T7 (an engine publishing each update as a new report): the map
    # shows its newest state, with the path so far as its history line
    (track,) = by_kind["missile.track"]
    assert track["track_key"] == "USA:missile.track:T7" and track["t"] == "2026-11-23T06:00:20Z"
    roles = [f["properties"]["role"] for f in track["features"]]
    assert roles == ["point", "uncertainty", "history"]
    assert track["features"][0]["geometry"]["coordinates"] == [129.5, 39.9, 100000.0]
    assert track["features"][2]["geometry"]["coordinates"] == [
        [126.5, 39.2],
        [128.0, 39.6],
        [129.5, 39.9],
    ]
    assert track["sidc"] == "SHAPWM---------" and track["is_track"] is True
    assert track["symbol_name"] == "hostile missile in flight"
    (warning,) = by_kind["missile.warning"]
    assert sorted(f["properties"]["role"] for f in warning["features"]) == [
        "impact",
        "impact.ellipse",
        "launch",
    ]
    assert warning["title"] == "impact warning W7 (issue)" and warning["label"] == label
    assert by_kind["maritime.event"][0]["title"] == "foreign fishing 412000001"
    assert by_kind["sanctions.hit"][0]["features"][0]["geometry"]["coordinates"] == [124.8, 29.5]
    assert body["banner"]["text"] == label
    assert _titles(cop["KOR"].get("/api/reports?kind=missile.warning,maritime.event")) == {
        "impact warning W7 (issue)",
        "foreign fishing 412000001",
    }


def test_each_nation_sees_its_own_view_of_disputed_zones(cop: dict[str, TestClient]) -> None:
    """The basemap's zones are the node's nation's view: the territorial sea around the
    Liancourt Rocks is Japan's on JPN's COP, Korea's on KOR's and nobody's on the USA's
    (neutral); one view only, so no island gets two limits; no contiguous zones."""
    from shapely.geometry import Point, shape

    rocks = Point(131.87, 37.24)
    owners = {}
    for nation, client in cop.items():
        response = client.get("/basemap/zones.geojson")
        assert response.status_code == 200
        assert response.headers["X-Zone-View"] == {"USA": "neutral"}.get(nation, nation)
        features = response.json()["features"]
        assert {f["properties"]["zone_type"] for f in features} == {"eez", "territorial_sea"}
        owners[nation] = sorted(
            f["properties"]["owner"]
            for f in features
            if f["properties"]["zone_type"] == "territorial_sea"
            and shape(f["geometry"]).contains(rocks)
        )
    assert owners == {"USA": [], "JPN": ["JPN"], "KOR": ["KOR"]}
    assert 'content="neutral"' in cop["USA"].get("/").text
    # Territorial seas come with the land they enclose, so their outline (what the map draws)
    # is the 12 nm limit only, not also every coast: central Honshu is inside Japan's.
    honshu = Point(138.0, 36.0)
    territorial = [
        f["properties"]["owner"]
        for f in cop["USA"].get("/basemap/zones.geojson").json()["features"]
        if f["properties"]["zone_type"] == "territorial_sea"
        and shape(f["geometry"]).contains(honshu)
    ]
    assert territorial == ["JPN"]
