"""What a partner node does with bad network input: clear 4xx, an audit row, nothing stored."""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path

import httpx
import pytest

from trilink.federation import localnet
from trilink.model.wire import GENESIS_CHAIN, chain_next, encode_batch
from trilink.node.config import load_node_config
from trilink.node.service import NodeService
from trilink.provenance.pki import init_nation

pytestmark = pytest.mark.slow


def client_for(root: Path, nation: str) -> httpx.Client:
    return localnet.mtls_client(load_node_config(root / nation / "node.toml"), timeout=30)


def rejected_rows(root: Path, nation: str) -> list[str]:
    with NodeService.open_local(root, nation) as node:
        return [
            r.entry.reason
            for r in node.store.audit_rows()
            if r.entry.event == "inbound" and r.entry.outcome == "rejected"
        ]


def test_bad_pushes_get_4xx_and_are_audited(https_net: Path) -> None:
    jpn_url = load_node_config(https_net / "JPN" / "node.toml").url
    with client_for(https_net, "USA") as client:
        garbage = client.post(jpn_url + "/v1/push", content=b"this is not json")
        assert garbage.status_code == 400
        assert "not a valid trilink batch" in garbage.json()["detail"]

        huge = client.post(jpn_url + "/v1/push", content=b"x" * (33 * 1024 * 1024))
        assert huge.status_code == 413

        start = (0, GENESIS_CHAIN)
        spoofed = client.post(
            jpn_url + "/v1/push", content=encode_batch("KOR", start, start, [], [])
        )
        assert spoofed.status_code == 200
        assert spoofed.json()["rejected"] == 0  # empty, but the claim itself is audited

        deep = (
            b'{"v":2,"sender":"USA","items":[{"pseq":1,"report":'
            + b"[" * 5000
            + b"]" * 5000
            + b',"signature":{}}]}'
        )
        nested = client.post(jpn_url + "/v1/push", content=deep)
        assert nested.status_code == 400
        assert "nested too deeply" in nested.json()["detail"]

        junk_certs = [f"junk certificate {i}" for i in range(100_000)]
        flood = client.post(
            jpn_url + "/v1/push", content=encode_batch("USA", start, start, junk_certs, [])
        )
        assert flood.status_code == 400
        assert "100000 certificates" in flood.json()["detail"]

        bad_feed = client.get(jpn_url + "/v1/feed", params={"after": -1})
        assert bad_feed.status_code == 422
    reasons = rejected_rows(https_net, "JPN")
    assert any("not a valid trilink batch" in r for r in reasons)
    assert any("over the limit" in r or "size limit" in r for r in reasons)
    assert any("claims sender KOR" in r for r in reasons)
    assert any("nested too deeply" in r for r in reasons)
    assert len(reasons) == 5  # one row per refused request, never one per junk certificate
    with NodeService.open_local(https_net, "JPN") as node:
        assert node.store.report_count() == 0


def test_tampered_item_rejected_rest_of_batch_stored(https_net: Path) -> None:
    # Only the test may deliver this batch: USA's own replicator must not beat it to JPN.
    localnet.stop_node(https_net, "JPN")
    localnet.stop_node(https_net, "USA")
    with NodeService.open_local(https_net, "USA") as usa:
        usa.publish_many(
            "note",
            "SECRET//REL TO USA, JPN",
            [{"title": "good one"}, {"title": "will be altered"}],
        )
        items = usa.store.outbox_after("JPN", 0, 10)
        certs = usa.own_certs()
    tampered = items[1].envelope.replace(b"will be altered", b"WAS BEEN altered")
    chain = GENESIS_CHAIN
    for pseq, raw in ((1, items[0].envelope), (2, tampered)):
        chain = chain_next(chain, pseq, hashlib.sha256(raw).digest())
    body = encode_batch(
        "USA",
        (2, chain),
        (0, GENESIS_CHAIN),
        certs,
        [
            (items[0].pseq, items[0].envelope, items[0].signature),
            (items[1].pseq, tampered, items[1].signature),
        ],
    )
    localnet.start_node(https_net, "JPN")
    localnet.wait_healthy(https_net, ["JPN"])
    jpn_url = load_node_config(https_net / "JPN" / "node.toml").url
    with client_for(https_net, "USA") as client:
        result = client.post(jpn_url + "/v1/push", content=body).json()
    assert result["accepted"] == 1 and result["rejected"] == 1
    assert "payload_sha256" in result["reasons"][0] or "altered" in result["reasons"][0]
    with NodeService.open_local(https_net, "JPN") as jpn:
        titles = [s.report.envelope.payload_obj()["title"] for s in jpn.store.reports()]
    assert titles == ["good one"]
    assert any("payload_sha256" in r or "altered" in r for r in rejected_rows(https_net, "JPN"))


def test_certificate_from_another_ca_is_refused(https_net: Path, tmp_path: Path) -> None:
    """A CA that calls itself USA's but is not the one JPN was given by fingerprint."""
    rogue = tmp_path / "rogue"
    init_nation(rogue / "USA", "USA")
    jpn_ca = str(https_net / "JPN" / "ca.crt")
    ctx = ssl.create_default_context(cafile=jpn_ca)
    ctx.load_cert_chain(str(rogue / "USA" / "tls.crt"), str(rogue / "USA" / "tls.key"))
    jpn_url = load_node_config(https_net / "JPN" / "node.toml").url
    with httpx.Client(verify=ctx, timeout=10) as client, pytest.raises(httpx.HTTPError):
        client.get(jpn_url + "/v1/health").raise_for_status()
    # and without any client certificate at all
    plain = ssl.create_default_context(cafile=jpn_ca)
    with httpx.Client(verify=plain, timeout=10) as client, pytest.raises(httpx.HTTPError):
        client.get(jpn_url + "/v1/health").raise_for_status()
    # USA's real certificate is accepted
    with client_for(https_net, "USA") as client:
        assert client.get(jpn_url + "/v1/health").status_code == 200
