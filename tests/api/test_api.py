"""The node API (issue #13 item 2): tokens and roles, publishing through the node's one
publish path, reading, the event stream, its OpenAPI document, bad input.

In-process nodes on both engines (the ``network`` fixture); the stream test runs the API
under a real uvicorn server and reads it with the real client.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from openapi_spec_validator import validate
from tests.conftest import Network
from tests.web.cop_helpers import TestClient

from trilink.api import create_api_app
from trilink.api.app import PublishOut
from trilink.client import ApiError, NodeClient, item
from trilink.store.tokens import TokenRepository

SHARED = "SECRET//REL TO USA, JPN, KOR"


@contextmanager
def api(network: Network, nation: str = "JPN") -> Iterator[tuple[TestClient, dict[str, str]]]:
    node = network[nation]
    repo = TokenRepository(node.store)
    tokens = {role: repo.create(f"{role}-test", role) for role in ("reader", "publisher", "admin")}
    with TestClient(create_api_app(node)) as client:
        yield client, tokens


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refused_rows(network: Network, nation: str) -> list[str]:
    return [
        r.entry.reason
        for r in network[nation].store.audit_rows()
        if r.entry.event == "api" and r.entry.outcome == "refused"
    ]


def test_openapi_document_is_valid_and_names_every_endpoint(network: Network) -> None:
    with api(network) as (client, _):
        doc = client.get("/api/v1/openapi.json").json()
    validate(doc)  # the OpenAPI 3.1 schema, by openapi-spec-validator
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    schemas = doc["components"]["schemas"]
    assert refs and all(r.removeprefix("#/components/schemas/") in schemas for r in refs)
    assert "PublishIn" in schemas and "ItemIn" in schemas
    paths = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    assert {
        ("/api/v1/reports", "post"),
        ("/api/v1/reports", "get"),
        ("/api/v1/reports/{report_id}", "get"),
        ("/api/v1/reports/{report_id}", "put"),
        ("/api/v1/reports/{report_id}", "delete"),
        ("/api/v1/stream", "get"),
        ("/api/v1/export", "get"),
        ("/api/v1/status", "get"),
        ("/api/v1/audit", "get"),
        ("/api/v1/audit", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    } <= paths


def test_an_engine_records_its_decisions_in_the_nodes_audit_log(network: Network) -> None:
    """A refused public-alert release (#17): one row, event ``engine``, actor the token; an
    engine cannot write a row of the node's own, and a reader cannot write at all."""
    decision = {"action": "crisis.cap.release", "outcome": "refused", "reason": "no role"}
    with api(network) as (client, tokens):
        reader = client.post("/api/v1/audit", json=decision, headers=auth(tokens["reader"]))
        assert reader.status_code == 403
        for bad in ({**decision, "action": "Release!"}, {**decision, "outcome": "released"},
                    {**decision, "reason": ""}, {**decision, "event": "release"}):  # fmt: skip
            refused = client.post("/api/v1/audit", json=bad, headers=auth(tokens["publisher"]))
            assert refused.status_code == 422, bad
        ok = client.post("/api/v1/audit", json=decision, headers=auth(tokens["publisher"]))
        assert ok.status_code == 201
    rows = [r.entry for r in network["JPN"].store.audit_rows() if r.entry.event == "engine"]
    assert [(e.outcome, e.actor, e.origin, e.reason) for e in rows] == [
        ("refused", "api:publisher-test", "JPN", "crisis.cap.release: no role")
    ]


def test_tokens_and_roles_decide_who_may_do_what(network: Network) -> None:
    body = {"items": [item("note", SHARED, {"title": "t"})]}
    with api(network) as (client, tokens):
        assert client.get("/healthz").json() == {"nation": "JPN", "status": "ok"}
        missing = client.post("/api/v1/reports", json=body)
        assert missing.status_code == 401 and "Bearer" in missing.json()["detail"]
        wrong = client.post("/api/v1/reports", json=body, headers=auth("tl_not-a-token"))
        assert wrong.status_code == 401
        reader = client.post("/api/v1/reports", json=body, headers=auth(tokens["reader"]))
        assert reader.status_code == 403 and "publisher" in reader.json()["detail"]
        assert client.get("/api/v1/audit", headers=auth(tokens["publisher"])).status_code == 403
        assert client.get("/api/v1/audit", headers=auth(tokens["admin"])).status_code == 200
        ok = client.post("/api/v1/reports", json=body, headers=auth(tokens["publisher"]))
        assert ok.status_code == 200
        # the answer is encoded by hand: it must still be what the OpenAPI document says
        assert PublishOut.model_validate(ok.json()).reports[0].kind == "note"
        TokenRepository(network["JPN"].store).revoke("publisher-test")
        revoked = client.post("/api/v1/reports", json=body, headers=auth(tokens["publisher"]))
        assert revoked.status_code == 401
    reasons = refused_rows(network, "JPN")
    assert len(reasons) == 5 and all(r.startswith(("401", "403")) for r in reasons)
    assert network["JPN"].store.report_count() == 1


def test_publish_versions_and_what_no_partner_receives(network: Network) -> None:
    jpn = network["JPN"]
    with api(network) as (client, tokens):
        h = auth(tokens["publisher"])
        first = client.post(
            "/api/v1/reports",
            json={"items": [
                item("note", SHARED, {"title": "track 1"}),
                item("note", "TOP SECRET//REL TO USA, JPN", {"title": "stays home"}),
            ]},
            headers=h,
        ).json()  # fmt: skip
        shared, home = first["reports"]
        assert shared["released_to"] == ["KOR", "USA"] and home["released_to"] == []
        assert "1 of 2 reports are released to no partner" in first["warnings"][0]
        # a new version of the same report, in a batch with a new report
        second = client.post(
            "/api/v1/reports",
            json={"items": [
                item("note", SHARED, {"title": "track 1, later"}, report_id=shared["id"]),
                item("note", SHARED, {"title": "another"}),
            ]},
            headers=h,
        ).json()  # fmt: skip
        assert [r["version"] for r in second["reports"]] == [2, 1]
        assert second["reports"][0]["id"] == shared["id"]
        # refused, audited by the node, nothing stored: a version changing the kind, twice
        # the same id, a label naming an unknown nation, an empty batch, junk
        count = jpn.store.report_count()
        for bad, status in [
            ({"items": [item("tombstone", SHARED, {"reason": ""}, report_id=shared["id"])]}, 422),
            ({"items": [item("note", SHARED, {"title": "a"}, report_id=shared["id"])] * 2}, 422),
            ({"items": [item("note", "SECRET//REL TO USA, CHN", {"title": "x"})]}, 422),
            ({"items": []}, 422),
            ({"items": "nope"}, 422),
        ]:
            answer = client.post("/api/v1/reports", json=bad, headers=h)
            assert answer.status_code == status, answer.text
        assert jpn.store.report_count() == count
        too_big = client.post(
            "/api/v1/reports",
            content=b"{" + b" " * (17 * 1024 * 1024) + b"}",
            headers={**h, "content-type": "application/json"},
        )
        assert too_big.status_code == 413
        # edit and delete
        edited = client.put(
            f"/api/v1/reports/{shared['id']}", json={"payload": {"title": "v3"}}, headers=h
        ).json()
        assert edited["version"] == 3 and edited["released_to"] == ["KOR", "USA"]
        gone = client.delete(f"/api/v1/reports/{shared['id']}", headers=h).json()
        assert gone["kind"] == "tombstone" and gone["version"] == 4
        # reading: newest versions by default, every version on demand, one report's detail
        r = auth(tokens["reader"])
        newest = client.get("/api/v1/reports", headers=r).json()["reports"]
        assert {x["id"]: x["version"] for x in newest}[shared["id"]] == 4
        every = client.get("/api/v1/reports", params={"all_versions": True}, headers=r).json()
        assert sum(1 for x in every["reports"] if x["id"] == shared["id"]) == 4
        detail = client.get(f"/api/v1/reports/{shared['id']}", headers=r).json()
        assert [v["version"] for v in detail["versions"]] == [1, 2, 3, 4]
        assert all(v["signature_verified"] for v in detail["versions"])
        assert any(a["event"] == "release" for a in detail["audit"])
        assert client.get("/api/v1/reports/nope", headers=r).status_code == 404
    network.deliver("JPN", "USA")
    held = network["USA"].store.versions(shared["id"])
    assert [s.report.envelope.version for s in held] == [1, 2, 3, 4]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "API did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        app.state.stop_streams()
        server.should_exit = True
        thread.join(10)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_stream_delivers_partner_reports_as_the_node_stores_them(network: Network) -> None:
    """What an engine runner does: follow the stream of its own node, which partner
    reports reach through federation."""
    usa = network["USA"]
    token = TokenRepository(usa.store).create("runner", "reader")
    app = create_api_app(usa)
    got: list[dict[str, Any]] = []
    with served(app) as url, NodeClient(url, token, nation="USA") as client:

        def follow() -> None:
            # from the start of USA's store (empty): no race with the publish below
            for report in client.stream(kind="note", after=0, reconnect=False):
                got.append(report)
                if len(got) == 2:
                    return

        reader = threading.Thread(target=follow, daemon=True)
        reader.start()
        sent = network["JPN"].publish_many("note", SHARED, [{"title": "a"}, {"title": "b"}])
        network.deliver("JPN", "USA")
        reader.join(10)
        assert [g["id"] for g in got] == [r.envelope.id for r in sent]
        assert {g["received_from"] for g in got} == {"JPN"}
        with pytest.raises(ApiError) as refused:
            client.publish([item("note", SHARED, {"title": "x"})])
        assert refused.value.status == 403


def test_export_writes_the_picture_with_its_marking_and_is_audited(network: Network) -> None:
    from trilink.daemon import picture_exporter

    jpn = network["JPN"]
    jpn.publish(
        "maritime.event",
        "SECRET//REL TO USA, JPN",
        {
            "type": "gap",
            "start": "2026-11-23T05:00:00Z",
            "end": "2026-11-23T06:00:00Z",
            "mmsi": 412000001,
            "lat": 37.0,
            "lon": 134.0,
        },
    )
    repo = TokenRepository(jpn.store)
    reader = repo.create("export-reader", "reader")
    with TestClient(create_api_app(jpn, exporter=picture_exporter(jpn))) as client:
        assert client.get("/api/v1/export", params={"format": "geojson"}).status_code == 401
        done = client.get("/api/v1/export", params={"format": "geojson"}, headers=auth(reader))
        assert done.status_code == 200, done.text
        assert done.headers["x-classification"] == "SECRET//REL TO USA, JPN"
        assert done.headers["content-type"] == "application/geo+json"
        assert len(done.json()["features"]) == 1
        bad = client.get("/api/v1/export", params={"format": "shp"}, headers=auth(reader))
        assert bad.status_code == 422 and "unknown export format" in bad.json()["detail"]
        since = client.get(
            "/api/v1/export", params={"format": "csv", "since": "yesterday"}, headers=auth(reader)
        )
        assert since.status_code == 422
    rows = [r.entry for r in jpn.store.audit_rows() if r.entry.outcome == "export"]
    assert len(rows) == 1 and rows[0].actor == "api:export-reader"
    assert "1 features, SECRET//REL TO USA, JPN" in rows[0].reason
