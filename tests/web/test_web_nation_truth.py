"""Per-nation truth: a report labelled SECRET//REL TO USA, JPN published at JPN appears on the
USA and JPN COPs and never on KOR's: not in HTML, not in SSE, not in any API response.

Also live updates over SSE from a real uvicorn server, and the COP's own gate (a report
placed in KOR's database by any path other than ingest is still not shown)."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from cop_helpers import GEO_KIND, PASSWORD, TestClient, replicate, serve

from trilink.node.service import NodeService
from trilink.web import CopSettings, create_cop_app

SECRET = "SECRET//REL TO USA, JPN"
FAST_BEAT = CopSettings(heartbeat_s=0.3)  # lets the test's SSE readers notice "stop" quickly
SECRET_TITLE = "KINGFISHER-7731 sighting"
API_PATHS = [
    "/",
    "/login",
    "/api/me",
    "/api/reports",
    "/api/reports?origin=JPN",
    "/api/reports?classification=SECRET",
    "/api/reports?label=REL%20TO%20USA,%20JPN",
    "/api/reports?since=1d&limit=50000",
    "/api/export.geojson",
    "/api/export.kml",
    "/api/export.cot",
]


def _publish_secret(jpn: NodeService) -> str:
    report = jpn.publish(
        GEO_KIND,
        SECRET,
        {
            "title": SECRET_TITLE,
            "lat": 33.1,
            "lon": 128.9,
            "track": [[128.0, 33.0], [128.9, 33.1]],
        },
    )
    return report.envelope.id


def _everything(client: TestClient, report_id: str) -> str:
    parts = [client.get(path).text for path in API_PATHS]
    parts.append(client.get(f"/api/reports/{report_id}").text)
    return "\n".join(parts)


def test_secret_rel_usa_jpn_never_reaches_kor_api_or_html(
    net: dict[str, NodeService], cop: dict[str, TestClient]
) -> None:
    secret_id = _publish_secret(net["JPN"])
    marker = net["JPN"].publish("note", "UNCLASSIFIED//REL TO USA, JPN, KOR", {"title": "marker"})
    assert replicate(net) > 0
    for nation in ("USA", "JPN"):
        client = cop[nation]
        assert secret_id in {r["id"] for r in client.get("/api/reports").json()["reports"]}
        assert client.get(f"/api/reports/{secret_id}").status_code == 200
        assert SECRET_TITLE in client.get("/api/export.kml").text
        assert client.get("/api/reports").json()["banner"]["text"] == SECRET
    kor = cop["KOR"]
    # KOR did receive JPN's releasable report, so replication to KOR worked ...
    assert marker.envelope.id in {r["id"] for r in kor.get("/api/reports").json()["reports"]}
    # ... and nothing of the SECRET//REL TO USA, JPN report is anywhere in KOR's COP.
    seen = _everything(kor, secret_id)
    assert secret_id not in seen.replace(f"no report '{secret_id}'", "")
    assert SECRET_TITLE not in seen and "KINGFISHER" not in seen and SECRET not in seen
    assert kor.get(f"/api/reports/{secret_id}").status_code == 404
    denied = [
        r for r in net["KOR"].store.audit_rows(report_id=secret_id) if r.entry.event == "cop"
    ]
    assert denied and all(r.entry.outcome == "denied" for r in denied)


def test_cop_gate_hides_a_report_that_bypassed_ingest(
    net: dict[str, NodeService], cop: dict[str, TestClient]
) -> None:
    secret_id = _publish_secret(net["JPN"])
    stored = net["JPN"].store.latest_version(secret_id)
    assert stored is not None
    with net["KOR"].store.transaction():  # e.g. a restored backup or a faulty import
        net["KOR"].store.insert_reports([stored.report], received_from="JPN")
    assert net["KOR"].store.latest_version(secret_id) is not None
    seen = _everything(cop["KOR"], secret_id)
    assert SECRET_TITLE not in seen
    assert secret_id not in seen.replace(f"no report '{secret_id}'", "")


@contextmanager
def _sse(base: str, username: str = "watch") -> Iterator[queue.Queue[dict[str, Any]]]:
    """Log in to a live COP and collect its SSE events in a queue (a reader thread)."""
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    client = httpx.Client(base_url=base, timeout=httpx.Timeout(30.0))
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code in (200, 303) and client.cookies
    stop = threading.Event()
    opened = threading.Event()

    def read() -> None:
        try:
            with client.stream("GET", "/api/stream") as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                opened.set()
                kind = ""
                for line in stream.iter_lines():
                    if stop.is_set():
                        return
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: "):
                        events.put({"event": kind, "data": json.loads(line[6:])})
        except httpx.HTTPError:
            return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert opened.wait(15), "SSE stream did not open"
    try:
        yield events
    finally:
        stop.set()
        client.close()
        reader.join(5)


def _until(events: queue.Queue[dict[str, Any]], title: str) -> list[dict[str, Any]]:
    """Events received up to and including the report titled ``title`` (waits up to 15 s)."""
    got: list[dict[str, Any]] = []
    while True:
        item = events.get(timeout=15)
        got.append(item)
        if item["event"] == "report" and item["data"]["title"] == title:
            return got


def test_live_updates_reach_usa_and_never_kor(net: dict[str, NodeService]) -> None:
    with (
        serve(create_cop_app(net["USA"], settings=FAST_BEAT)) as usa_url,
        serve(create_cop_app(net["KOR"], settings=FAST_BEAT)) as kor_url,
        _sse(usa_url) as usa_events,
        _sse(kor_url) as kor_events,
    ):
        secret_id = _publish_secret(net["JPN"])
        net["JPN"].publish("note", "UNCLASSIFIED//REL TO USA, JPN, KOR", {"title": "marker"})
        replicate(net)  # ingest at USA and KOR fires their listeners -> SSE
        usa_got = _until(usa_events, "marker")
        kor_got = _until(kor_events, "marker")
        assert secret_id in {e["data"]["id"] for e in usa_got}
        secret_event = next(e for e in usa_got if e["data"]["id"] == secret_id)
        assert secret_event["data"]["label"] == SECRET
        assert [f["properties"]["role"] for f in secret_event["data"]["features"]] == [
            "point",
            "track",
        ]
        kor_text = json.dumps(kor_got)
        assert secret_id not in kor_text and SECRET_TITLE not in kor_text
        # an edit is pushed as the new version
        net["JPN"].edit(secret_id, {"title": "KINGFISHER-7731 v2", "lat": 33.2, "lon": 129.0})
        replicate(net)
        v2 = _until(usa_events, "KINGFISHER-7731 v2")[-1]["data"]
        assert v2["id"] == secret_id and v2["version"] == 2
        net["KOR"].publish("note", "UNCLASSIFIED", {"title": "kor local"})
        assert "KINGFISHER" not in json.dumps(_until(kor_events, "kor local"))


def test_stream_requires_login_and_checks_after(net: dict[str, NodeService]) -> None:
    with serve(create_cop_app(net["USA"])) as base, httpx.Client(base_url=base) as client:
        assert client.get("/api/stream").status_code == 401
        client.post("/login", data={"username": "watch", "password": PASSWORD})
        bad = client.get("/api/stream?after=yesterday")
        assert bad.status_code == 422 and "sequence number" in bad.json()["detail"]
