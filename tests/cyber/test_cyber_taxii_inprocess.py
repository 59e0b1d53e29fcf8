"""The TAXII 2.1 server in-process (both store engines): what each root releases, filters,
paging, versions and bad input; the real-process tests with taxii2-client are in
test_cyber_taxii.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Network
from tests.cyber.helpers_cyber import BUNDLE, fixture_ids
from tests.web.cop_helpers import TestClient
from trilink.api import create_api_app
from trilink.api.taxii import TAXII_MEDIA, collection_id
from trilink.cyber.bundle import bundle_of
from trilink.cyber.plan import KIND, plan_import
from trilink.cyber.stixio import parse_bundle
from trilink.model.label import parse_label
from trilink.node.publish import Item
from trilink.store.tokens import TokenRepository

ACCEPT = {"Accept": TAXII_MEDIA}


@pytest.fixture
def usa(network: Network) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    node = network["USA"]
    repo = TokenRepository(node.store)
    tokens = {
        "publisher": ("USA", repo.create("pub", "publisher")),
        "JPN": ("JPN", repo.create("taxii-JPN", "taxii", partner="JPN")),
        "KOR": ("KOR", repo.create("taxii-KOR", "taxii", partner="KOR")),
    }
    parsed = parse_bundle(BUNDLE.read_bytes(), "b")
    labels = ["SECRET//REL TO USA, JPN", "TOP SECRET//REL TO USA, JPN", "SECRET//REL TO USA, KOR"]
    plan = plan_import(parsed.objects, {}, source="b")
    items = [
        Item(KIND, labels[i % 3], json.loads(json.dumps(_b(p))), [], None)
        for i, (p, _) in enumerate(plan.items)
    ]
    node.publisher.publish_released(items, actor="test")
    with TestClient(create_api_app(node)) as client:
        yield client, {"tokens": tokens, "items": items}


def _b(payload: Any) -> dict[str, Any]:
    import msgspec

    out: dict[str, Any] = msgspec.to_builtins(payload)
    return out


def objects_url(root: str) -> str:
    return f"/taxii2/{root}/collections/{collection_id('USA', root)}/objects/"


def content(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for o in body["objects"] if o["type"] not in ("marking-definition",
            "extension-definition") and not o["id"].startswith("identity--5f3c9f0e")]  # fmt: skip


@pytest.mark.parametrize("engine", ["sqlite", "postgres"], indirect=True)
def test_each_root_serves_what_decide_releases(usa: tuple[TestClient, dict[str, Any]]) -> None:
    client, ctx = usa
    items = ctx["items"]
    by_label: dict[str, set[str]] = {}
    for it in items:
        by_label.setdefault(it.label, set()).add(it.payload["stix_id"])
    jpn = client.get(objects_url("jpn"), headers=ACCEPT, auth=ctx["tokens"]["JPN"]).json()
    # TOP SECRET is above the ceiling USA grants JPN: never on JPN's root
    assert {o["id"] for o in content(jpn)} == by_label["SECRET//REL TO USA, JPN"]
    kor = client.get(objects_url("kor"), headers=ACCEPT, auth=ctx["tokens"]["KOR"]).json()
    assert {o["id"] for o in content(kor)} == by_label["SECRET//REL TO USA, KOR"]
    home = client.get(objects_url("usa"), headers=ACCEPT, auth=ctx["tokens"]["publisher"])
    assert len(content(home.json())) == len(items)


def test_filters_paging_and_bad_requests(usa: tuple[TestClient, dict[str, Any]]) -> None:
    client, ctx = usa
    auth = ctx["tokens"]["publisher"]
    url = objects_url("usa")
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        r = client.get(url, params=params, headers=ACCEPT, auth=auth)
        body = r.json()
        assert len(body["objects"]) <= 2 and r.headers["content-type"] == TAXII_MEDIA
        seen += [o["id"] for o in body["objects"]]
        if not body["more"]:
            break
        params = {"limit": 2, "next": body["next"]}
    assert len(seen) == len(set(seen))
    marks = ("marking-definition--", "extension-definition--", "identity--5f3c9f0e")
    assert {i for i in seen if not i.startswith(marks)} == fixture_ids()
    r = client.get(url, params={"match[type]": "indicator,malware"}, headers=ACCEPT, auth=auth)
    assert {o["type"] for o in r.json()["objects"]} == {"indicator", "malware"}
    r = client.get(url, params={"match[spec_version]": "2.0"}, headers=ACCEPT, auth=auth)
    assert r.json()["objects"] == [] and r.json()["more"] is False
    last = client.get(f"/taxii2/usa/collections/{collection_id('USA', 'usa')}/manifest/",
                      headers=ACCEPT, auth=auth).json()["objects"][-1]  # fmt: skip
    r = client.get(url, params={"added_after": last["date_added"]}, headers=ACCEPT, auth=auth)
    assert r.json()["objects"] == []
    for bad in ({"next": "x"}, {"limit": "0"}):
        r = client.get(url, params=bad, headers=ACCEPT, auth=auth)
        assert r.status_code in (400, 422), r.text
    r = client.get("/taxii2/chn/", headers=ACCEPT, auth=auth)
    assert r.status_code == 404
    r = client.get("/taxii2/usa/", headers={**ACCEPT, "Authorization": f"Bearer {auth[1]}"})
    assert r.status_code == 200


def test_post_names_the_bad_object_and_property(usa: tuple[TestClient, dict[str, Any]]) -> None:
    client, ctx = usa
    label = parse_label("SECRET//REL TO USA, JPN")
    good = json.loads(BUNDLE.read_text())["objects"][4]
    bad = {**good, "id": "indicator--9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "pattern": "[x"}
    newer = {**good, "modified": "2026-11-20T00:00:00.000Z", "description": "Updated."}
    envelope = bundle_of([(bad, label), (newer, label)])
    r = client.post(objects_url("usa"), content=json.dumps({"objects": envelope["objects"]}),
                    headers={**ACCEPT, "Content-Type": TAXII_MEDIA},
                    auth=ctx["tokens"]["publisher"])  # fmt: skip
    assert r.status_code == 202
    status = r.json()
    assert [f["id"] for f in status["failures"]] == [bad["id"]]
    assert "property 'pattern'" in status["failures"][0]["message"]
    assert status["successes"] == [{"id": good["id"], "version": newer["modified"]}]
    r = client.get(f"{objects_url('usa')}{good['id']}/versions/", headers=ACCEPT,
                   auth=ctx["tokens"]["publisher"])  # fmt: skip
    assert r.json()["versions"] == [good["modified"], newer["modified"]]
    r = client.post(objects_url("usa"), content=b"{", auth=ctx["tokens"]["publisher"],
                    headers={**ACCEPT, "Content-Type": TAXII_MEDIA})  # fmt: skip
    assert r.status_code == 400
    r = client.post(objects_url("usa"), content=b"{}", auth=ctx["tokens"]["publisher"],
                    headers={**ACCEPT, "Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 415


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_fuzz_requests_never_fail_the_server(usa: tuple[TestClient, dict[str, Any]]) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    client, ctx = usa
    auth = ctx["tokens"]["publisher"]
    keys = st.sampled_from(["limit", "next", "added_after", "match[id]", "match[type]",
                            "match[version]", "match[spec_version]", "x"])  # fmt: skip
    values = st.text(max_size=40) | st.sampled_from(
        ["0", "1", "-1", "99999999999999999999", "last", "first", "all", "2.1",
         "2026-11-02T08:10:00.000Z", "indicator", "2026-13-45T99:99:99Z"]
    )  # fmt: skip
    bodies = st.binary(max_size=200) | st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(["objects", "type", "id", "spec_version", "pattern", "x"]),
                inner,
                max_size=4,
            )
        ),
        max_leaves=12,
    ).map(lambda v: json.dumps({"objects": v} if not isinstance(v, dict) else v).encode())

    @settings(
        max_examples=120,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        st.dictionaries(keys, values, max_size=4),
        bodies,
        st.sampled_from(["usa", "jpn", "kor", "xx"]),
    )
    def check(params: dict[str, str], body: bytes, root: str) -> None:
        url = f"/taxii2/{root}/collections/{collection_id('USA', root)}/objects/"
        r = client.get(url, params=params, headers=ACCEPT, auth=auth)
        assert r.status_code < 500, (params, r.text)
        r = client.post(
            url, content=body, auth=auth, headers={**ACCEPT, "Content-Type": TAXII_MEDIA}
        )
        assert r.status_code < 500, (body, r.text)  # fmt: skip

    check()


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_index_read_in_chunks_with_a_tombstone_between(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trilink.api.taxii as taxii

    monkeypatch.setattr(taxii, "CHUNK", 5)
    node = network["USA"]
    repo = TokenRepository(node.store)
    auth = ("USA", repo.create("pub", "publisher"))
    parsed = parse_bundle(BUNDLE.read_bytes(), "b")
    plan = plan_import(parsed.objects, {}, source="b")
    reports = []
    for p, _ in plan.items:  # one report per publish: seqs interleave with the tombstone
        (r,), _ = node.publisher.publish_released(
            [Item(KIND, "SECRET//REL TO USA, JPN", _b(p), [], None)], actor="t"
        )
        reports.append(r)
    gone = reports[3]
    node.delete(gone.envelope.id, "test")
    with TestClient(create_api_app(node)) as client:  # the warm-up reads it in chunks
        body = client.get(objects_url("usa"), headers=ACCEPT, auth=auth).json()
    served = {o["id"] for o in content(body)}
    stix_of = gone.envelope.payload_obj()["stix_id"]
    assert served == fixture_ids() - {stix_of}
