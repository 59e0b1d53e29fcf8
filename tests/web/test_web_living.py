"""Living reports in the COP (#13 item 4): a track is one report whose updates are versions, a
warning one report whose issue, update and cancel are versions. The list and the map show the
current version of each object, the panel every version; a cancelled warning and a deleted
report leave the map; track updates do not drown the list."""

from __future__ import annotations

import io
import json
from typing import Any

from cop_helpers import GEO_KIND, TestClient, replicate

from trilink.node.service import NodeService

LABEL = "SECRET//REL TO USA, JPN, KOR"


def warning(status: str, minute: int, lat: float = 40.3) -> dict[str, Any]:
    return {
        "warning_id": "W9",
        "status": status,
        "time": f"2026-11-23T06:{minute:02d}:00Z",
        "track_ids": ["T9"],
        "nations": ["USA", "JPN"],
        "impact_lat": lat,
        "impact_lon": 137.4,
        "ellipse_semi_major_m": 50_000.0,
        "ellipse_semi_minor_m": 20_000.0,
        "ellipse_orientation_deg": 75.0,
        "impact_time": "2026-11-23T06:09:00Z",
        "time_to_impact_s": 300.0,
        "p_impact_in_japan_eez": 0.9,
        "p_overflies_japan": 0.0,
        "confidence": 0.95,
    }


def reports_of(client: TestClient, query: str = "") -> dict[str, dict[str, Any]]:
    body = client.get(f"/api/reports{query}").json()
    return {r["id"]: r for r in body["reports"]}


def test_a_track_is_one_report_whose_versions_move_it(
    net: dict[str, NodeService], cop: dict[str, TestClient]
) -> None:
    usa = net["USA"]
    fixes = [(130.0, 36.0), (130.5, 36.2), (131.0, 36.5)]
    first = usa.publish(
        GEO_KIND,
        LABEL,
        {
            "title": "contact K1",
            "track_id": "K1",
            "lon": 130.0,
            "lat": 36.0,
            "time": "2026-11-23T06:00:00Z",
        },
    )
    for n, (lon, lat) in enumerate(fixes[1:], start=1):
        usa.edit(
            first.envelope.id,
            {
                "title": "contact K1",
                "track_id": "K1",
                "lon": lon,
                "lat": lat,
                "time": f"2026-11-23T06:0{n}:00Z",
            },
        )
    replicate(net)
    for client in (cop["USA"], cop["KOR"]):
        shown = reports_of(client)
        (track,) = shown.values()
        assert track["version"] == 3 and track["t"] == "2026-11-23T06:02:00Z"
        point = track["features"][0]
        assert point["properties"]["role"] == "point"
        assert point["geometry"]["coordinates"] == [131.0, 36.5]
        panel = client.get(f"/api/reports/{first.envelope.id}").json()
        assert [v["version"] for v in panel["versions"]] == [1, 2, 3]
        assert [v["observed"] for v in panel["versions"]] == [
            "2026-11-23T06:00:00Z",
            "2026-11-23T06:01:00Z",
            "2026-11-23T06:02:00Z",
        ]
        assert panel["facts"] == [["title", "contact K1"], ["track_id", "K1"]]


def test_a_cancelled_warning_leaves_the_map_and_stays_listed_as_cancelled(
    net: dict[str, NodeService], cop: dict[str, TestClient]
) -> None:
    usa = net["USA"]
    issued = usa.publish("missile.warning", LABEL, warning("issue", 1))
    wid = issued.envelope.id
    usa.edit(wid, warning("update", 2, lat=40.5))
    replicate(net)
    live = reports_of(cop["JPN"])[wid]
    assert live["title"] == "impact warning W9 (update)" and not live["ended"]
    impact = next(f for f in live["features"] if f["properties"]["role"] == "impact")
    assert impact["geometry"]["coordinates"] == [137.4, 40.5]

    usa.edit(wid, warning("cancel", 3, lat=40.5))
    replicate(net)
    for client in cop.values():
        shown = reports_of(client)[wid]
        assert shown["ended"] is True and shown["status"] == "cancel"
        assert shown["features"] == []  # off the map
        assert shown["title"] == "impact warning W9 (cancel)"  # in the list as cancelled
        doc = json.loads(client.get("/api/export.geojson").text)
        assert all(f["properties"]["id"] != wid for f in doc["features"])
        rows = client.get("/api/export.csv").text.splitlines()
        (row,) = [r for r in rows if r.startswith(wid)]
        assert ",cancel," in row
        panel = client.get(f"/api/reports/{wid}").json()
        assert [v["status"] for v in panel["versions"]] == ["issue", "update", "cancel"]


def test_an_engine_publishing_each_update_as_a_report_still_shows_one_object(
    net: dict[str, NodeService], cop: dict[str, TestClient]
) -> None:
    """Engines that publish every warning state as a new report with the same warning id:
    the newest (by observation time) is the object; the older are superseded."""
    usa = net["USA"]
    older = usa.publish("missile.warning", LABEL, warning("issue", 1))
    newer = usa.publish("missile.warning", LABEL, warning("update", 2, lat=40.6))
    late = usa.publish("missile.warning", LABEL, warning("issue", 0))  # arrives last, older
    replicate(net)
    shown = reports_of(cop["KOR"])
    assert list(shown) == [newer.envelope.id]
    assert older.envelope.id not in shown and late.envelope.id not in shown
    changes = cop["KOR"].app.state.index.changed_since(0)  # what SSE clients replay
    superseded = {s["id"] for _, s in changes if s.get("superseded")}
    assert superseded == {older.envelope.id, late.envelope.id}


def test_a_deleted_track_leaves_list_and_map(
    net: dict[str, NodeService], cop: dict[str, TestClient]
) -> None:
    report = net["USA"].publish(
        GEO_KIND, LABEL, {"title": "contact K2", "track_id": "K2", "lon": 131.0, "lat": 35.0}
    )
    replicate(net)
    assert report.envelope.id in reports_of(cop["JPN"])
    net["USA"].delete(report.envelope.id, "false track")
    replicate(net)
    assert report.envelope.id not in reports_of(cop["JPN"])
    changes = cop["JPN"].app.state.index.changed_since(0)
    assert [s["deleted"] for _, s in changes if s["id"] == report.envelope.id] == [True]


def test_track_updates_do_not_drown_the_list(
    net: dict[str, NodeService], cop: dict[str, TestClient]
) -> None:
    """Hundreds of updates of a few tracks are a few objects; notes and warnings stay in view.
    The browser's list hides tracks unless its 'tracks' toggle is on (``is_track``)."""
    usa = net["USA"]
    for k in range(60):
        usa.publish(
            GEO_KIND,
            LABEL,
            {
                "title": f"contact {k % 3}",
                "track_id": f"T{k % 3}",
                "lon": 130 + k / 100,
                "lat": 35.0,
                "time": f"2026-11-23T06:{k:02d}:00Z",
            },
        )
    usa.publish("note", LABEL, {"title": "watch handover"})
    replicate(net)
    shown = list(reports_of(cop["KOR"]).values())
    assert sorted(r["title"] for r in shown) == [
        "contact 0",
        "contact 1",
        "contact 2",
        "watch handover",
    ]
    assert len(io.BytesIO(cop["KOR"].get("/api/export.csv").content).readlines()) == 2 + 4
