"""Publish, release and replication between in-process nodes; edits, tombstones, key rotation.

Runs on SQLite and on PostgreSQL (``network`` fixture, tests/conftest.py). Local configs give
every partner a SECRET ceiling and accept exercise and live traffic.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from trilink.errors import (
    ConfigError,
    LabelError,
    PayloadError,
    ProvenanceError,
    ReportError,
    StoreError,
)
from trilink.model.ids import parse_utc_timestamp
from trilink.model.report import Report, decode_envelope
from trilink.model.wire import decode_batch
from trilink.node.service import NodeService
from trilink.provenance.pki import issue_signing_key
from trilink.store.audit import verify_chain


def outbox_ids(node: NodeService, partner: str) -> list[str]:
    body, _ = node.outbox_batch(partner, after=0)
    return [decode_envelope(bytes(item.report)).id for item in decode_batch(body).items]


def holds(node: NodeService, report: Report) -> bool:
    return node.store.stored_bytes(*report.key) is not None


def release_rows(node: NodeService, report: Report) -> dict[str, str]:
    return {
        r.entry.partner: r.entry.outcome
        for r in node.store.audit_rows(report_id=report.envelope.id)
        if r.entry.event == "release" and r.entry.version == report.envelope.version
    }


def chains_ok(net: Any) -> None:
    for nation in ("USA", "JPN", "KOR"):
        node = net[nation]
        assert verify_chain(node.store.audit_rows(), node.store.audit_head()) == [], nation


LABELS_AND_RECIPIENTS = [
    ("SECRET//REL TO USA, JPN", {"USA"}),
    ("SECRET//REL TO USA, JPN, KOR", {"USA", "KOR"}),
    ("CONFIDENTIAL//REL TO JPN, KOR", {"KOR"}),
    ("EXERCISE//SECRET//REL TO USA, JPN, KOR", {"USA", "KOR"}),
    ("TOP SECRET//REL TO USA, JPN, KOR", set()),  # above the SECRET ceilings
    ("SECRET//REL TO USA, JPN, KOR//ORCON", set()),
    ("SECRET//NOFORN", set()),
    ("UNCLASSIFIED", set()),  # no REL TO: nobody
    ("極秘//REL TO USA, JPN", {"USA"}),  # national marking, parsed by the node
]


def test_publish_queues_only_for_allowed_partners(network: Any) -> None:
    jpn = network["JPN"]
    published = [
        (jpn.publish("note", label, {"title": label}), expected)
        for label, expected in LABELS_AND_RECIPIENTS
    ]
    for partner in ("USA", "KOR"):
        queued = outbox_ids(jpn, partner)
        wanted = [r.envelope.id for r, expected in published if partner in expected]
        assert queued == wanted, partner
        assert jpn.store.outbox_head(partner) == len(wanted)
    for report, expected in published:
        rows = release_rows(jpn, report)
        assert rows == {p: "allow" if p in expected else "deny" for p in ("USA", "KOR")}
    with pytest.raises(ConfigError):
        jpn.outbox_batch("JPN", after=0)
    assert published[-1][0].envelope.label == "SECRET//REL TO USA, JPN"


def test_per_nation_truth_across_the_network(network: Any) -> None:
    jpn, usa, kor = network["JPN"], network["USA"], network["KOR"]
    us_only = jpn.publish("note", "SECRET//REL TO USA, JPN", {"title": "for USA"})
    everyone = jpn.publish("note", "SECRET//REL TO USA, JPN, KOR", {"title": "for all"})
    kor_note = kor.publish("note", "CONFIDENTIAL//REL TO USA, JPN, KOR", {"title": "from KOR"})
    network.deliver_all()
    network.deliver_all()  # a second round must change nothing
    assert holds(usa, us_only) and holds(usa, everyone) and holds(usa, kor_note)
    assert not holds(kor, us_only)
    assert holds(kor, everyone)
    assert holds(jpn, kor_note)
    # KOR has no trace of the report it must not see
    assert kor.store.audit_rows(report_id=us_only.envelope.id) == []
    # USA never re-releases JPN's report to KOR: only the originator releases
    assert us_only.envelope.id not in outbox_ids(usa, "KOR")
    assert usa.store.report_count() == 3 and kor.store.report_count() == 2
    for node in (usa, kor):
        for stored in node.store.reports():
            report = stored.report
            node.verifier.verify(report.signed, report.envelope, report.signature)
    chains_ok(network)


def test_publish_many_signs_one_batch_with_consecutive_origin_seqs(network: Any) -> None:
    usa = network["USA"]
    reports = usa.publish_many(
        "note", "SECRET//REL TO USA, JPN", [{"title": str(i)} for i in range(5)]
    )
    more = usa.publish_many("note", "SECRET//REL TO USA, JPN", [{"title": "x"}])
    seqs = [r.envelope.origin_seq for r in reports]
    assert seqs == list(range(seqs[0], seqs[0] + 5))  # consecutive within a batch
    assert more[0].envelope.origin_seq > seqs[-1]
    # never behind the clock (microseconds): a restored node cannot reuse a number
    created = parse_utc_timestamp(reports[0].envelope.created).timestamp() * 1_000_000
    assert seqs[0] >= int(created)
    assert len({r.signature.root for r in reports}) == 1
    assert {r.signature.size for r in reports} == {5}
    assert len({r.envelope.id for r in reports}) == 5
    assert network.deliver("USA", "JPN").accepted == 6


def test_refused_publish_is_audited_and_stores_nothing(network: Any) -> None:
    jpn = network["JPN"]
    with pytest.raises(LabelError):
        jpn.publish("note", "SECRET//REL TO USA, CHN", {"title": "x"})
    with pytest.raises(PayloadError):
        jpn.publish_many("note", "SECRET//REL TO USA", [{"title": "ok"}, {"titel": "typo"}])
    assert jpn.store.report_count() == 0
    assert jpn.store.outbox_head("USA") == 0
    refused = [
        r.entry
        for r in jpn.store.audit_rows()
        if (r.entry.event, r.entry.outcome) == ("publish", "rejected")
    ]
    assert len(refused) == 2
    assert "CHN" in refused[0].reason


def test_failed_publish_transaction_leaves_nothing_half_stored(
    network: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    jpn = network["JPN"]
    head_before = jpn.store.audit_head()
    real_enqueue = jpn.store.enqueue

    def enqueue_then_fail(partner: str, seqs: list[tuple[int, bytes]]) -> None:
        real_enqueue(partner, seqs)  # USA's rows are written ...
        if partner == "USA":
            raise StoreError("connection lost (injected)")  # ... then the database fails

    monkeypatch.setattr(jpn.store, "enqueue", enqueue_then_fail)
    with pytest.raises(StoreError, match="injected"):
        jpn.publish_many("note", "SECRET//REL TO USA, JPN, KOR", [{"title": "a"}, {"title": "b"}])
    monkeypatch.undo()
    assert jpn.store.report_count() == 0
    assert jpn.store.outbox_head("KOR") == 0 and jpn.store.outbox_head("USA") == 0
    assert jpn.store.outbox_after("KOR", 0, 10) == []
    assert jpn.store.counter("origin_seq:JPN") == 0
    assert jpn.store.audit_head() == head_before
    report = jpn.publish("note", "SECRET//REL TO USA, JPN, KOR", {"title": "after"})
    assert jpn.store.outbox_head("KOR") == 1
    assert jpn.store.outbox_after("KOR", 0, 10)[0].envelope == report.signed


def test_derived_product_never_reaches_a_nation_its_input_excludes(network: Any) -> None:
    """ARCHITECTURE §2: a fused track built from a JPN REL TO USA, JPN report can never
    reach KOR — even if the analyst labels the product more widely."""
    jpn, usa = network["JPN"], network["USA"]
    source = jpn.publish("note", "SECRET//REL TO USA, JPN", {"title": "JPN source"})
    network.deliver("JPN", "USA")
    try:
        usa.publish(
            "note",
            "SECRET//REL TO USA, JPN, KOR",
            {"title": "fused from JPN's report"},
            derived_from=[source.envelope.id],
        )
    except (LabelError, ReportError):
        return  # refusing the wider label is a correct outcome
    assert outbox_ids(usa, "KOR") == [], "derived product queued for KOR"


def test_edit_makes_version_2_which_replicates(network: Any) -> None:
    jpn, usa, kor = network["JPN"], network["USA"], network["KOR"]
    v1 = jpn.publish("note", "SECRET//REL TO USA, JPN", {"title": "first", "tags": ["a"]})
    network.deliver("JPN", "USA")
    v2 = jpn.edit(v1.envelope.id, {"title": "second"})
    assert (v2.envelope.id, v2.envelope.version) == (v1.envelope.id, 2)
    assert v2.envelope.label == v1.envelope.label
    assert v2.envelope.origin_seq > v1.envelope.origin_seq
    result = network.deliver("JPN", "USA")
    assert result.accepted == 1
    assert [s.report.envelope.version for s in jpn.store.versions(v1.envelope.id)] == [1, 2]
    versions = usa.store.versions(v1.envelope.id)
    assert [s.report.envelope.version for s in versions] == [1, 2]
    assert versions[1].report.envelope.payload_obj() == {"title": "second"}
    assert versions[1].received_from == "JPN"
    network.deliver("JPN", "KOR")
    assert kor.store.versions(v1.envelope.id) == []
    # a wider label on edit reaches the newly included partner
    v3 = jpn.edit(v1.envelope.id, {"title": "third"}, label="SECRET//REL TO USA, JPN, KOR")
    network.deliver("JPN", "KOR")
    assert [s.report.envelope.version for s in kor.store.versions(v1.envelope.id)] == [3]
    assert v3.envelope.version == 3


def test_delete_makes_a_signed_tombstone_which_replicates(network: Any) -> None:
    jpn, usa = network["JPN"], network["USA"]
    report = jpn.publish("note", "SECRET//REL TO USA, JPN", {"title": "withdrawn soon"})
    network.deliver("JPN", "USA")
    tomb = jpn.delete(report.envelope.id, "source retracted")
    assert tomb.envelope.is_tombstone
    assert tomb.envelope.version == 2
    assert tomb.envelope.label == report.envelope.label
    assert network.deliver("JPN", "USA").accepted == 1
    latest = usa.store.latest_version(report.envelope.id)
    assert latest is not None
    env = latest.report.envelope
    assert env.is_tombstone and env.payload_obj() == {"reason": "source retracted"}
    usa.verifier.verify(latest.report.signed, env, latest.report.signature)
    with pytest.raises(ReportError, match="already deleted"):
        jpn.delete(report.envelope.id)
    with pytest.raises(ReportError, match="already deleted"):
        jpn.edit(report.envelope.id, {"title": "resurrected"})


def test_tombstone_reaches_every_partner_that_held_a_version(network: Any) -> None:
    """v1 went to KOR, v2 narrowed the label to USA, JPN, then the report was deleted:
    KOR must not keep showing v1 as live."""
    jpn, kor = network["JPN"], network["KOR"]
    report = jpn.publish("note", "SECRET//REL TO USA, JPN, KOR", {"title": "v1"})
    network.deliver("JPN", "KOR")
    jpn.edit(report.envelope.id, {"title": "v2"}, label="SECRET//REL TO USA, JPN")
    jpn.delete(report.envelope.id, "withdrawn")
    network.deliver_all()
    latest = kor.store.latest_version(report.envelope.id)
    assert latest is not None
    assert latest.report.envelope.is_tombstone, "KOR still holds v1 as a live report"


def test_only_the_originator_edits_or_deletes(network: Any) -> None:
    jpn, usa = network["JPN"], network["USA"]
    report = jpn.publish("note", "SECRET//REL TO USA, JPN", {"title": "JPN's"})
    network.deliver("JPN", "USA")
    with pytest.raises(ReportError, match="only JPN can change it"):
        usa.edit(report.envelope.id, {"title": "USA's now"})
    with pytest.raises(ReportError, match="only JPN"):
        usa.delete(report.envelope.id)
    with pytest.raises(ReportError, match="no report"):
        jpn.edit("0190a0a0-0000-7000-8000-000000000000", {"title": "?"})


def test_key_rotation_keeps_old_reports_verifiable(network: Any) -> None:
    jpn, usa = network["JPN"], network["USA"]
    old_key = jpn.signer.key_id
    before = jpn.publish("note", "SECRET//REL TO USA, JPN", {"title": "old key"})
    network.deliver("JPN", "USA")

    new_key = issue_signing_key(network.root / "JPN", "JPN")
    jpn = network.reopen("JPN")
    assert jpn.signer.key_id == new_key != old_key
    after = jpn.publish("note", "SECRET//REL TO USA, JPN", {"title": "new key"})
    assert after.signature.key_id == new_key
    assert network.deliver("JPN", "USA").accepted == 1

    usa_keys = {k.key_id for k in usa.store.keys() if k.nation == "JPN"}
    assert usa_keys == {old_key, new_key}
    adopted = [
        r.entry
        for r in usa.store.audit_rows()
        if (r.entry.event, r.entry.outcome) == ("key", "added")
    ]
    assert any(new_key in e.reason for e in adopted)
    for node in (usa, jpn):
        for report in (before, after):
            stored = node.store.stored_bytes(*report.key)
            assert stored == report.signed
            node.verifier.verify(stored, report.envelope, report.signature)
    # a restarted USA still trusts both keys from its own store
    usa = network.reopen("USA")
    usa.verifier.verify(before.signed, before.envelope, before.signature)
    usa.verifier.verify(after.signed, after.envelope, after.signature)


@pytest.mark.parametrize("engine", ["sqlite"])
@pytest.mark.parametrize("start_days", [1, -400], ids=["not-yet-valid", "expired"])
def test_node_never_publishes_what_its_own_verifier_rejects(network: Any, start_days: int) -> None:
    """A signing key outside its validity (pre-staged too early, or expired) must not be used
    silently: every partner would reject every report."""
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=start_days)
    issue_signing_key(network.root / "JPN", "JPN", not_before=start)
    try:
        jpn = network.reopen("JPN")
        report = jpn.publish("note", "SECRET//REL TO USA, JPN", {"title": "x"})
    except (ConfigError, ProvenanceError) as refused:
        assert "valid" in str(refused)  # refusing loudly is a correct outcome
        return
    jpn.verifier.verify(report.signed, report.envelope, report.signature)


def test_status_reports_queues_and_cursors(network: Any) -> None:
    jpn, usa = network["JPN"], network["USA"]
    jpn.publish_many("note", "SECRET//REL TO USA, JPN", [{"title": "a"}, {"title": "b"}])
    network.deliver("JPN", "USA")
    status = jpn.status()
    assert status["nation"] == "JPN" and status["reports"] == 2
    assert status["partners"]["USA"]["outbox_head"] == 2
    assert status["partners"]["KOR"]["outbox_head"] == 0
    assert usa.status()["partners"]["JPN"]["inbound_cursor"] == 2
