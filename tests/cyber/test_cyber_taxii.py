"""The TAXII 2.1 server of a real node process, read and written with the real
``taxii2-client``, and ``trilink cyber import/export/pull`` against running nodes (issue #18
items 2-4): each partner's API root serves only what USA's release policy releases to it, a
partner asking another's root gets 403 (audited), everything served passes
``stix2-validator --strict``, revocation is a new version that reaches partners."""

from __future__ import annotations

import copy
import json
import os
import ssl
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from requests.exceptions import HTTPError
from typer.testing import CliRunner

from tests.cyber.helpers_cyber import BUNDLE, MISP, fixture_ids, strict_problems
from tests.federation.conftest import wait_until
from trilink.api.taxii import MAX_CONTENT, TAXII_MEDIA, collection_id
from trilink.cli.app import app
from trilink.cli.cyber import taxii_connection
from trilink.client import ApiError
from trilink.cyber.bundle import bundle_of
from trilink.cyber.markings import TRILINK_IDENTITY_ID
from trilink.errors import InputError
from trilink.federation import localnet
from trilink.model.label import parse_label
from trilink.node.config import load_node_config
from trilink.node.service import NodeService

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

runner = CliRunner()
TO_JPN = "SECRET//REL TO USA, JPN"
TO_KOR = "SECRET//REL TO USA, KOR"
MARKING_TYPES = {"marking-definition", "extension-definition"}


def is_content(obj: dict[str, Any]) -> bool:
    """Not one of the marking objects served beside the content."""
    return obj["type"] not in MARKING_TYPES and obj["id"] != TRILINK_IDENTITY_ID


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("cyber") / "net"
    localnet.net_up(root)
    try:
        code, out = run("cyber", "import", str(BUNDLE), "--dir", str(root), "--nation", "USA",
                        "--label", TO_JPN)  # fmt: skip
        assert code == 0, out
        code, out = run("cyber", "import", str(MISP), "--dir", str(root), "--nation", "USA",
                        "--label", TO_KOR)  # fmt: skip
        assert code == 1, out  # two MISP attributes skipped, the rest imported
        assert "distribution 1 (This community only)" in out and "TLP:AMBER" in out
        yield root
    finally:
        for nation in localnet.NATIONS:
            localnet.stop_node(root, nation, kill=True)


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def taxii_token(root: Path, nation: str, partner: str) -> str:
    out = root / f"taxii-{nation}-{partner}.token"
    if not out.exists():
        code, text = run("token", "create", "--dir", str(root), "--nation", nation, "--role",
                         "taxii", "--partner", partner, "--out", str(out))  # fmt: skip
        assert code == 0, text
    return out.read_text().strip()


def api(root: Path, nation: str) -> tuple[str, str]:
    config = load_node_config(root / nation / "node.toml")
    assert config.api_url
    return config.api_url, str(config.ca_cert)


def conn(user: str, password: str, ca: str) -> Any:
    return taxii_connection(user, password, Path(ca))


def everything(collection: Collection, per_request: int = 5, **kw: Any) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for envelope in as_pages(collection.get_objects, per_request=per_request, **kw):
        problems = strict_problems(
            {
                "type": "bundle",
                "id": "bundle--1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
                "objects": envelope.get("objects", []),
            }
        )
        assert problems == [], problems
        objects += envelope.get("objects", [])
    return objects


def test_partner_roots_serve_what_the_policy_releases_to_that_partner(net: Path) -> None:
    url, ca = api(net, "USA")
    server = Server(f"{url}/taxii2/", conn=conn("JPN", taxii_token(net, "USA", "JPN"), ca))
    assert [r.url for r in server.api_roots] == [f"{url}/taxii2/jpn/"]
    # taxii2-client's Server builds its ApiRoots without its connection (so without our CA
    # when $REQUESTS_CA_BUNDLE is set): open the root it named with ours
    jpn_root = ApiRoot(
        server.api_roots[0].url, conn=conn("JPN", taxii_token(net, "USA", "JPN"), ca)
    )
    (coll,) = jpn_root.collections
    assert coll.id == collection_id("USA", "jpn") and coll.can_read and not coll.can_write
    objects = everything(coll)
    content = {o["id"] for o in objects if is_content(o)}
    assert content == fixture_ids()  # the Lazarus bundle, none of the KOR-only MISP event
    for o in objects:
        if is_content(o):
            assert o["object_marking_refs"][0].endswith("939a9414-2ddd-4d32-a0cd-375ea402b003")
    marking = next(o for o in objects if o["id"] == objects[-1]["object_marking_refs"][1])
    assert marking["name"] == TO_JPN

    kor = Server(f"{url}/taxii2/", conn=conn("KOR", taxii_token(net, "USA", "KOR"), ca))
    kor_root = ApiRoot(kor.api_roots[0].url, conn=conn("KOR", taxii_token(net, "USA", "KOR"), ca))
    kor_objects = everything(kor_root.collections[0], per_request=7)
    kinds = {o["type"] for o in kor_objects}
    assert {"indicator", "vulnerability", "report"} <= kinds
    assert not {o["id"] for o in kor_objects} & fixture_ids()

    # match filters, manifest and versions
    one = coll.get_objects(type=["indicator"])
    assert {o["type"] for o in one["objects"]} == {"indicator"} and len(one["objects"]) == 3
    manifest = coll.get_manifest()
    assert {m["id"] for m in manifest["objects"]} >= fixture_ids()
    assert {m["media_type"] for m in manifest["objects"]} == {"application/stix+json;version=2.1"}
    versions = coll.object_versions("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
    assert versions["versions"] == ["2026-11-02T08:10:00.000Z"]
    later = coll.get_objects(added_after=manifest["objects"][-1]["date_added"])
    assert later.get("objects", []) == []


def test_a_partner_asking_another_partners_root_is_refused_and_audited(net: Path) -> None:
    url, ca = api(net, "USA")
    token = taxii_token(net, "USA", "JPN")
    kor_root = ApiRoot(f"{url}/taxii2/kor/", conn=conn("JPN", token, ca))
    with pytest.raises(HTTPError, match="403"):
        kor_root.refresh()
    home = ApiRoot(f"{url}/taxii2/usa/", conn=conn("JPN", token, ca))
    with pytest.raises(HTTPError, match="403"):
        home.refresh()
    impostor = ApiRoot(f"{url}/taxii2/kor/", conn=conn("KOR", token, ca))
    with pytest.raises(HTTPError, match="401"):
        impostor.refresh()
    # a TAXII token opens nothing else of the node API
    r = httpx.get(f"{url}/api/v1/reports", headers={"Authorization": f"Bearer {token}"},
                  verify=ssl.create_default_context(cafile=ca))  # fmt: skip
    assert r.status_code == 403
    with NodeService.open_local(net, "USA") as node:
        reasons = [row.entry.reason for row in node.store.audit_rows() if row.entry.event == "api"]
    assert any("403 GET /taxii2/kor/" in r and "partner JPN" in r for r in reasons), reasons


def test_protocol_errors(net: Path) -> None:
    url, ca = api(net, "USA")
    auth = ("JPN", taxii_token(net, "USA", "JPN"))
    with httpx.Client(verify=ssl.create_default_context(cafile=ca), auth=auth) as http:
        r = http.get(f"{url}/taxii2/jpn/collections/", headers={"Accept": "text/html"})
        assert r.status_code == 406 and r.headers["content-type"] == TAXII_MEDIA
        r = http.get(f"{url}/taxii2/jpn/collections/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0/objects/",
                     headers={"Accept": TAXII_MEDIA})  # fmt: skip
        assert r.status_code == 404 and r.json()["http_status"] == "404"
        r = http.get(f"{url}/taxii2/jpn/", headers={"Accept": TAXII_MEDIA})
        assert r.status_code == 200 and r.headers["content-type"] == TAXII_MEDIA
        assert r.json()["versions"] == [TAXII_MEDIA]
        r = http.get(f"{url}/taxii2/")
        assert r.status_code == 200
    r = httpx.get(f"{url}/taxii2/", verify=ssl.create_default_context(cafile=ca))
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")


def test_post_an_envelope_and_read_its_status(net: Path) -> None:
    url, ca = api(net, "USA")
    publisher = (net / "USA" / "api-token").read_text().strip()
    root = ApiRoot(f"{url}/taxii2/usa/", conn=conn("USA", publisher, ca))
    (coll,) = root.collections
    assert coll.can_write
    label = parse_label("CONFIDENTIAL//REL TO USA, JPN, KOR")
    ind = {
        "type": "indicator", "spec_version": "2.1",
        "id": "indicator--6e0b1d2c-3f4a-4b5c-9d6e-7f8a9b0c1d2e",
        "created": "2026-11-10T00:00:00.000Z", "modified": "2026-11-10T00:00:00.000Z",
        "name": "Scanner", "description": "Mass scanner of VPN gateways.",
        "indicator_types": ["anomalous-activity"],
        "pattern": "[ipv4-addr:value = '192.0.2.44']", "pattern_type": "stix",
        "valid_from": "2026-11-10T00:00:00Z",
    }  # fmt: skip
    unmarked = {**ind, "id": "indicator--7f1c2e3d-4a5b-4c6d-8e7f-8a9b0c1d2e3f"}
    envelope = bundle_of([(ind, label)])
    envelope["objects"].append(unmarked)
    del envelope["type"], envelope["id"]
    status = coll.add_objects(json.dumps(envelope), wait_for_completion=False)
    assert status.status == "complete"
    assert [s["id"] for s in status.successes] == [ind["id"]]
    assert [f["id"] for f in status.failures] == [unmarked["id"]]
    assert "no trilink releasability marking" in status.failures[0]["message"]
    status.refresh()
    assert status.success_count == 1
    # released by USA's policy to both partners: on JPN's root of USA's node
    jpn = Collection(
        f"{url}/taxii2/jpn/collections/{collection_id('USA', 'jpn')}/",
        conn=conn("JPN", taxii_token(net, "USA", "JPN"), ca),
    )
    assert jpn.get_object(ind["id"])["objects"][0]["name"] == "Scanner"
    # a partner's root is read-only (taxii2-client will not even try; the server refuses too)
    r = httpx.post(
        f"{jpn.url}objects/", json=envelope, auth=("JPN", taxii_token(net, "USA", "JPN")),
        headers={"Content-Type": TAXII_MEDIA, "Accept": TAXII_MEDIA},
        verify=ssl.create_default_context(cafile=ca),
    )  # fmt: skip
    assert r.status_code == 403
    # withdrawn through TAXII DELETE: a signed tombstone, gone from every root
    coll.delete_object(ind["id"])
    with pytest.raises(HTTPError, match="404"):
        jpn.get_object(ind["id"])
    with pytest.raises(HTTPError, match="404"):
        coll.get_object(ind["id"])
    with NodeService.open_local(net, "USA") as node:
        kinds = [s.report.envelope.kind for s in node.store.reports()]
    assert "tombstone" in kinds
    big = b'{"objects": [' + b" " * (MAX_CONTENT + 10) + b"]}"
    r = httpx.post(
        f"{url}/taxii2/usa/collections/{coll.id}/objects/", content=big, auth=("USA", publisher),
        headers={"Content-Type": TAXII_MEDIA, "Accept": TAXII_MEDIA},
        verify=ssl.create_default_context(cafile=ca),
    )  # fmt: skip
    assert r.status_code == 413


def test_revocation_is_a_new_version_that_reaches_the_partner(net: Path, tmp_path: Path) -> None:
    doc = json.loads(BUNDLE.read_text())
    ind = next(o for o in doc["objects"] if o["id"].startswith("indicator--8e2e"))
    revoked = copy.deepcopy(ind)
    revoked.update(modified="2026-11-09T00:00:00.000Z", revoked=True)
    path = tmp_path / "revoke.json"
    path.write_text(json.dumps({"type": "bundle", "id": doc["id"], "objects": [revoked]}))
    code, out = run("cyber", "import", str(path), "--dir", str(net), "--nation", "USA",
                    "--label", TO_JPN)  # fmt: skip
    assert code == 0 and "(1 new versions)" in out, out
    url, ca = api(net, "USA")
    coll = Collection(
        f"{url}/taxii2/jpn/collections/{collection_id('USA', 'jpn')}/",
        conn=conn("JPN", taxii_token(net, "USA", "JPN"), ca),
    )
    assert coll.object_versions(ind["id"])["versions"] == [
        "2026-11-02T08:10:00.000Z", "2026-11-09T00:00:00.000Z",
    ]  # fmt: skip
    assert coll.get_object(ind["id"])["objects"][0]["revoked"] is True
    first = coll.get_object(ind["id"], version="first")["objects"][0]
    assert "revoked" not in first

    def jpn_has_revocation() -> bool:
        with localnet.client_for(net, "JPN") as client:
            held = [r for r in client.reports(kind="cyber.stix")
                    if r["payload"]["stix_id"] == ind["id"]]  # fmt: skip
        return bool(held) and held[0]["payload"]["revoked"] is True and held[0]["version"] == 2

    wait_until(jpn_has_revocation, 60, "JPN to receive the revoked version")
    out_file = tmp_path / "jpn.json"
    code, out = run("cyber", "export", "--dir", str(net), "--nation", "JPN", "--out",
                    str(out_file))  # fmt: skip
    assert code == 0, out
    exported = json.loads(out_file.read_text())
    assert strict_problems(exported) == []
    ids = {o["id"] for o in exported["objects"]}
    assert fixture_ids() <= ids
    assert not ids & {"report--5f1e3c2a-9b8d-4c7e-a6f5-1d2c3b4a5e6f"}  # KOR-only MISP event


def test_pull_imports_a_taxii_collection_with_taxii2_client(net: Path) -> None:
    url, ca = api(net, "USA")
    os.environ["TRILINK_TAXII_PASSWORD"] = taxii_token(net, "USA", "KOR")
    try:
        code, out = run(
            "cyber", "pull", f"{url}/taxii2/kor/", "--collection", collection_id("USA", "kor"),
            "--dir", str(net), "--nation", "KOR", "--label", "CONFIDENTIAL//REL TO KOR",
            "--user", "KOR", "--ca-file", ca, "--page", "4",
        )  # fmt: skip
    finally:
        del os.environ["TRILINK_TAXII_PASSWORD"]
    assert code == 0, out
    assert "published" in out
    with localnet.client_for(net, "KOR") as client:
        mine = [r for r in client.reports(kind="cyber.stix", origin="KOR")]
    assert {r["payload"]["stix_type"] for r in mine} >= {"indicator", "report", "vulnerability"}
    assert all(r["label"] == "CONFIDENTIAL//REL TO KOR" for r in mine)
    assert all(r["payload"]["source"].startswith("taxii:") for r in mine)
    # pulling again stores nothing twice
    os.environ["TRILINK_TAXII_PASSWORD"] = taxii_token(net, "USA", "KOR")
    try:
        code, out = run(
            "cyber", "pull", f"{url}/taxii2/kor/", "--collection", collection_id("USA", "kor"),
            "--dir", str(net), "--nation", "KOR", "--label", "CONFIDENTIAL//REL TO KOR",
            "--user", "KOR", "--ca-file", ca,
        )  # fmt: skip
    finally:
        del os.environ["TRILINK_TAXII_PASSWORD"]
    assert code == 0 and "published 0 objects" in out, out


def test_import_refuses_a_broken_label_before_reading_anything(net: Path) -> None:
    with pytest.raises(InputError, match="field '--label': unknown nation 'CHN'"):
        run("cyber", "import", str(BUNDLE), "--dir", str(net), "--nation", "JPN",
            "--label", "SECRET//REL TO USA, CHN")  # fmt: skip
    with pytest.raises(InputError, match="no-such.json: file not found"):
        run("cyber", "import", "no-such.json", "--dir", str(net), "--nation", "JPN",
            "--label", TO_JPN)  # fmt: skip


def test_a_sighting_on_jpn_networks_flows_back_to_the_originator(
    net: Path, tmp_path: Path
) -> None:
    def jpn_holds_the_c2_indicator() -> bool:
        with localnet.client_for(net, "JPN") as client:
            return any(
                r["payload"]["stix_id"].startswith("indicator--1f6a")
                for r in client.reports(kind="cyber.stix", origin="USA")
            )

    wait_until(jpn_holds_the_c2_indicator, 60, "JPN to receive USA's indicators")
    log = tmp_path / "proxy.log"
    log.write_text(
        "2026-11-04T03:00:01Z proxy 10.20.0.7 CONNECT celasllc.example:443\n"
        "2026-11-04T03:00:02Z proxy 10.20.0.8 GET http://intranet.example/\n"
        "2026-11-04T03:05:00Z proxy 10.20.0.7 CONNECT celasllc.example:443\n"
    )
    code, out = run("cyber", "match", str(log), "--dir", str(net), "--nation", "JPN",
                    "--publish", "--label", "SECRET//REL TO USA, JPN")  # fmt: skip
    assert code == 0, out
    assert "indicator--1f6a2c3e-5b7d-4f9a-8c1e-3d5b7f9a1c2e" in out and "2 lines" in out
    assert "released to USA" in out
    # a sighting reveals the indicator: the node refuses a label wider than the indicator's
    with pytest.raises(ApiError, match="derived"):
        run("cyber", "match", str(log), "--dir", str(net), "--nation", "JPN", "--publish",
            "--label", "SECRET//REL TO USA, JPN, KOR")  # fmt: skip

    def usa_sees_the_sighting() -> list[dict[str, Any]]:
        with localnet.client_for(net, "USA") as client:
            return [
                r for r in client.reports(kind="cyber.stix", origin="JPN")
                if r["payload"]["stix_type"] == "sighting"
            ]  # fmt: skip

    wait_until(lambda: bool(usa_sees_the_sighting()), 60, "USA to receive JPN's sighting")
    (sighting,) = usa_sees_the_sighting()
    obj = sighting["payload"]["object"]
    assert obj["sighting_of_ref"] == "indicator--1f6a2c3e-5b7d-4f9a-8c1e-3d5b7f9a1c2e"
    assert (obj["count"], obj["first_seen"]) == (2, "2026-11-04T03:00:01Z")
    assert sighting["label"] == "SECRET//REL TO USA, JPN"
    with localnet.client_for(net, "USA") as client:
        indicator = next(
            r for r in client.reports(kind="cyber.stix", origin="USA")
            if r["payload"]["stix_id"] == obj["sighting_of_ref"]
        )  # fmt: skip
    assert sighting["derived_from"] == [indicator["id"]]


def test_pull_from_the_oasis_reference_server_medallion(net: Path, tmp_path: Path) -> None:
    """``cyber pull`` from a TAXII 2.1 server that is not trilink: medallion (the OASIS
    reference implementation, in-memory backend), holding the Lazarus bundle."""
    import importlib.util
    import socket
    import subprocess
    import sys

    if importlib.util.find_spec("medallion") is None:
        pytest.skip("medallion (pip install medallion) is not installed")
    cid = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
    data = {
        "/discovery": {"title": "ref", "default": "http://127.0.0.1/api1/",
                       "api_roots": ["http://127.0.0.1/api1/"]},
        "api1": {"information": {"title": "api1", "versions": [TAXII_MEDIA],
                                 "max_content_length": 10_000_000},
                 "status": [],
                 "collections": [{"id": cid, "title": "ref", "can_read": True,
                                  "can_write": True, "objects": [], "manifest": [],
                                  "media_types": ["application/stix+json;version=2.1"]}]},
    }  # fmt: skip
    (tmp_path / "data.json").write_text(json.dumps(data))
    config = {
        "backend": {"module": "medallion.backends.memory_backend",
                    "module_class": "MemoryBackend", "filename": str(tmp_path / "data.json")},
        "users": {"cert": "secret"},
        "taxii": {"max_page_size": 5},
    }  # fmt: skip
    (tmp_path / "medallion.json").write_text(json.dumps(config))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "medallion.scripts.run", "--port", str(port),
         str(tmp_path / "medallion.json")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        root = f"http://127.0.0.1:{port}/api1/"
        wait_until(lambda: _up(root), 30, "medallion to start")
        coll = Collection(f"{root}collections/{cid}/", user="cert", password="secret")
        status = coll.add_objects(BUNDLE.read_text())
        assert status.success_count == len(fixture_ids())
        os.environ["TRILINK_TAXII_PASSWORD"] = "secret"
        try:
            code, out = run("cyber", "pull", root, "--collection", cid, "--dir", str(net),
                            "--nation", "KOR", "--label", "CONFIDENTIAL//REL TO KOR, JPN",
                            "--user", "cert", "--page", "5")  # fmt: skip
        finally:
            del os.environ["TRILINK_TAXII_PASSWORD"]
        assert code == 0, out
    finally:
        proc.terminate()
        proc.wait(10)
    with localnet.client_for(net, "KOR") as client:
        pulled = {
            r["payload"]["stix_id"]
            for r in client.reports(kind="cyber.stix", origin="KOR")
            if r["payload"]["source"] == f"taxii:{root}collections/{cid}/"
        }
    assert pulled == fixture_ids()


def _up(root: str) -> bool:
    try:
        return httpx.get(root, auth=("cert", "secret"), headers={"Accept": TAXII_MEDIA}).is_success
    except httpx.HTTPError:
        return False
