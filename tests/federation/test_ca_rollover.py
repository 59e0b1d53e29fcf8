"""CA rollover (issue #13 item 1): a nation replaces its CA without any partner meeting a
certificate it cannot check, and everything signed before stays verifiable.

Step one (`pki rollover`) creates the next CA and a link certificate from the current CA;
both travel in every batch, and a partner trusts the next CA only because the CA it already
holds vouches for it. Step two (`pki rollover --activate`) issues the node's TLS
certificate and signing key from the new CA.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from tests.conftest import Network
from tests.federation.conftest import cli, wait_until
from tests.federation.hostile import push_from_jpn
from trilink.federation import localnet
from trilink.node.service import NodeService
from trilink.provenance.pki import (
    activate_ca_rollover,
    ca_generation,
    create_ca,
    follow_links,
    own_ca_certs,
    prepare_ca_rollover,
)

SHARED = "SECRET//REL TO USA, JPN, KOR"


def learned_audit(node: NodeService) -> list[str]:
    return [
        r.entry.reason
        for r in node.store.audit_rows()
        if r.entry.event == "key"
        and r.entry.outcome == "added"
        and "CA certificate" in r.entry.reason
    ]


def test_follow_links_needs_a_link_from_a_trusted_ca(tmp_path: Path) -> None:
    home = tmp_path / "JPN"
    create_ca(home, "JPN")
    first = own_ca_certs(home)
    second, link_path = prepare_ca_rollover(home)
    link = x509.load_pem_x509_certificate(link_path.read_bytes())
    assert ca_generation(second) == 2
    assert follow_links([second, link], first) == [second]
    assert follow_links([second], first) == []  # no link: not trusted
    # a link signed by a CA this node does not trust for JPN (another JPN CA) is ignored
    other = tmp_path / "other"
    create_ca(other, "JPN")
    assert follow_links([second, link], own_ca_certs(other)) == []
    # two rollovers in a row are followed from the first CA
    activate_ca_rollover(home, ["127.0.0.1"])
    third, link3_path = prepare_ca_rollover(home)
    link3 = x509.load_pem_x509_certificate(link3_path.read_bytes())
    assert follow_links([third, link3, second, link], first) == [second, third]


def test_rollover_replicates_and_old_reports_stay_verifiable(network: Network) -> None:
    jpn, usa = network["JPN"], network["USA"]
    before = jpn.publish("note", SHARED, {"title": "signed under CA generation 1"})
    network.deliver("JPN", "USA")
    done = cli("pki", "rollover", "--dir", str(network.root), "--nation", "JPN")
    assert done.returncode == 0, done.stderr
    assert "next CA is ready" in done.stdout
    jpn.keys._checked_at = 0.0  # the running node takes the link up by itself
    jpn.publish("note", SHARED, {"title": "carries the link"})
    assert network.deliver("JPN", "USA").accepted == 1
    assert len(learned_audit(usa)) == 1 and "JPN" in learned_audit(usa)[0]
    assert [ca_generation(c) for c in usa.keys.anchors["JPN"]] == [1, 2]
    # activate: new signing key from the new CA; a partner that learned the CA accepts it
    done = cli("pki", "rollover", "--dir", str(network.root), "--nation", "JPN", "--activate")
    assert done.returncode == 0, done.stderr
    assert ca_generation(own_ca_certs(network.root / "JPN")[0]) == 2
    jpn = network.reopen("JPN")
    after = jpn.publish("note", SHARED, {"title": "signed under CA generation 2"})
    assert network.deliver("JPN", "USA").accepted == 1
    assert usa.store.latest_version(after.envelope.id) is not None
    usa.verifier.verify(before.signed, before.envelope, before.signature)
    # a restarted partner still trusts the CA it learned (kept in its store)
    usa = network.reopen("USA")
    assert [ca_generation(c) for c in usa.keys.anchors["JPN"]] == [1, 2]
    usa.verifier.verify(after.signed, after.envelope, after.signature)
    # a partner that received nothing between prepare and activate (KOR, away) still
    # follows: batches after activation carry JPN's CAs with the link between them
    kor = network["KOR"]
    assert [ca_generation(c) for c in kor.keys.anchors["JPN"]] == [1]
    assert network.deliver("JPN", "KOR").accepted == 3
    assert [ca_generation(c) for c in kor.keys.anchors["JPN"]] == [1, 2]
    assert kor.store.latest_version(after.envelope.id) is not None
    assert len(learned_audit(kor)) == 1


def test_a_ca_without_a_trusted_link_is_refused_and_audited(network: Network) -> None:
    jpn, usa = network["JPN"], network["USA"]
    impostor = network.root / "impostor"
    cert, _key = create_ca(impostor, "JPN", generation=2)
    _second, _link = prepare_ca_rollover(impostor)  # a link from the impostor's own CA
    forged = [
        p.read_text() for p in [impostor / "ca.crt", *sorted((impostor / "links").glob("*.crt"))]
    ]
    push_from_jpn(network, [], certs=jpn.own_certs() + forged)
    assert [ca_generation(c) for c in usa.keys.anchors["JPN"]] == [1]
    assert learned_audit(usa) == []
    refused = [
        r.entry.reason
        for r in usa.store.audit_rows()
        if r.entry.event == "key" and r.entry.outcome == "rejected"
    ]
    assert len(refused) == 1 and "no CA trusted here for JPN vouches for it" in refused[0]
    # nothing else changed: JPN's genuine reports still arrive
    later = jpn.publish("note", SHARED, {"title": "still accepted"})
    assert network.deliver("JPN", "USA").accepted == 1
    assert usa.store.latest_version(later.envelope.id) is not None


@pytest.mark.slow
def test_rollover_between_real_nodes_over_mutual_tls(https_net: Path) -> None:
    """Real node processes: after JPN's rollover and restart, its new TLS certificate (from
    the new CA) is accepted by USA's and KOR's running servers, and by USA restarted. HTTPS
    only: over NATS the partner listener carries no batches, so its TLS is not what moves."""
    net = https_net

    def held(nation: str, report_id: str) -> bool:
        with NodeService.open_local(net, nation) as node:
            return node.store.latest_version(report_id) is not None

    def publish(title: str) -> str:
        with localnet.client_for(net, "JPN") as client:
            return client.publish_payloads("note", SHARED, [{"title": title}]).ids[0]

    first = publish("before the rollover")
    wait_until(lambda: held("USA", first) and held("KOR", first), 30, "the first report")
    done = cli("pki", "rollover", "--dir", str(net), "--nation", "JPN")
    assert done.returncode == 0, done.stderr
    second = publish("carries the link")
    wait_until(lambda: held("USA", second) and held("KOR", second), 30, "the link")
    done = cli("pki", "rollover", "--dir", str(net), "--nation", "JPN", "--activate")
    assert done.returncode == 0, done.stderr
    localnet.stop_node(net, "JPN")
    localnet.start_node(net, "JPN")
    localnet.wait_healthy(net, ["JPN"])
    third = publish("served with the new TLS certificate")
    wait_until(lambda: held("USA", third) and held("KOR", third), 30, "after activation")
    localnet.stop_node(net, "USA")
    localnet.start_node(net, "USA")
    localnet.wait_healthy(net, ["USA"])
    fourth = publish("to a restarted partner")
    wait_until(lambda: held("USA", fourth), 30, "USA restarted")
    verified = cli("audit", "verify", "--dir", str(net), "--nation", "USA")
    assert verified.returncode == 0, verified.stdout + verified.stderr
