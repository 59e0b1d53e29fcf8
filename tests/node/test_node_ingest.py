"""Ingest: every bad inbound report is rejected, audited and not stored; the rest goes through.

JPN sends to USA in-process (no network). Bad items are crafted the way a faulty or hostile
sender, or someone on the path, would make them, and placed between two good reports.
Runs on SQLite and on PostgreSQL (``network`` fixture, tests/conftest.py).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from trilink.errors import ReportError, StoreError
from trilink.model.canonical import sha256_hex
from trilink.model.ids import utc_timestamp, uuid7
from trilink.model.report import Envelope, Report, Signature, envelope_bytes
from trilink.model.wire import GENESIS_CHAIN, WireBatch, chain_next, decode_batch, encode_batch
from trilink.node.service import NodeService
from trilink.provenance.merkle import leaf_hash
from trilink.provenance.pki import load_signing_key
from trilink.provenance.signing import ALG, batch_message
from trilink.store.audit import verify_chain

SHARED = "SECRET//REL TO USA, JPN, KOR"


def envelope(
    origin: str,
    origin_seq: int,
    *,
    label: str = SHARED,
    kind: str = "note",
    payload: bytes = b'{"title":"crafted"}',
    report_id: str | None = None,
    version: int = 1,
) -> Envelope:
    """An envelope built field by field, without the origin's validation."""
    return Envelope(
        id=report_id or uuid7(),
        origin=origin,
        origin_seq=origin_seq,
        version=version,
        kind=kind,
        label=label,
        created=utc_timestamp(),
        payload=msgspec.Raw(payload),
        payload_sha256=sha256_hex(payload),
    )


def sig_json(sig: Signature) -> str:
    return msgspec.json.encode(sig).decode("ascii")


@dataclass
class Item:
    raw: bytes
    signature: str
    report_id: str  # "" when the bytes do not even carry an id

    @classmethod
    def of(cls, report: Report) -> Item:
        return cls(report.signed, sig_json(report.signature), report.envelope.id)


def batch(sender: NodeService, receiver: NodeService, items: list[Item]) -> WireBatch:
    """``items`` numbered from the receiver's cursor on, continuing the outbox chain the
    receiver recorded there, with the sender's certificates (as a hostile sender would)."""
    cursor, anchor = receiver.store.inbound_anchor(sender.nation)
    chain = anchor
    for i, it in enumerate(items):
        chain = chain_next(chain, cursor + 1 + i, hashlib.sha256(it.raw).digest())
    body = encode_batch(
        sender.nation,
        (cursor + len(items), chain),
        (cursor, anchor),
        sender.own_certs(),
        [(cursor + 1 + i, it.raw, it.signature) for i, it in enumerate(items)],
    )
    return decode_batch(body)


def publish(node: NodeService, title: str, label: str = SHARED) -> Report:
    return node.publish("note", label, {"title": title})


def rejected_rows(node: NodeService, sender: str) -> list[Any]:
    return [
        r
        for r in node.store.audit_rows()
        if r.entry.event == "inbound"
        and r.entry.outcome == "rejected"
        and r.entry.partner == sender
    ]


def chain_ok(node: NodeService) -> bool:
    return verify_chain(node.store.audit_rows(), node.store.audit_head()) == []


# -- the bad items -----------------------------------------------------------------------


@dataclass
class Bad:
    item: Item
    reason: str  # a phrase the rejection reason must contain
    key: tuple[str, str, int]  # (origin, id, version) that must not be stored ...
    stored_before: bytes | None = None  # ... or must still hold exactly these bytes


def _signed_alone(node: NodeService, env: Envelope) -> Report:
    return node.signer.sign([env])[0]


def unsigned(net: Any) -> Bad:
    env = envelope("JPN", 9001)
    raw = envelope_bytes(env)
    sig = Signature(
        alg=ALG,
        key_id=net["JPN"].signer.key_id,
        root=leaf_hash(raw).hex(),
        size=1,
        index=0,
        proof=[],
        sig="",
    )
    return Bad(Item(raw, sig_json(sig), env.id), "forged", ("JPN", env.id, 1))


def garbage_signature(net: Any) -> Bad:
    report = _signed_alone(net["JPN"], envelope("JPN", 9002))
    junk = base64.b64encode(os.urandom(64)).decode()
    sig = msgspec.structs.replace(report.signature, sig=junk)
    return Bad(Item(report.signed, sig_json(sig), report.envelope.id), "forged", report.key)


def forged_by_unknown_key(net: Any) -> Bad:
    """Signed by a key nobody certified, under the name of JPN's key."""
    report = _signed_alone(net["JPN"], envelope("JPN", 9003))
    s = report.signature
    fake = ed25519.Ed25519PrivateKey.generate().sign(
        batch_message("JPN", s.key_id, s.size, bytes.fromhex(s.root))
    )
    sig = msgspec.structs.replace(s, sig=base64.b64encode(fake).decode())
    return Bad(Item(report.signed, sig_json(sig), report.envelope.id), "forged", report.key)


def forged_with_kor_key(net: Any) -> Bad:
    """KOR's real key signs a report claiming JPN as origin."""
    net.deliver("KOR", "USA")  # USA learns KOR's key the normal way
    kor_key, kor_cert = load_signing_key(net.root / "KOR")
    env = envelope("JPN", 9004)
    raw = envelope_bytes(env)
    root = leaf_hash(raw)
    signature = kor_key.sign(batch_message("JPN", kor_cert.key_id, 1, root))
    sig = Signature(
        alg=ALG,
        key_id=kor_cert.key_id,
        root=root.hex(),
        size=1,
        index=0,
        proof=[],
        sig=base64.b64encode(signature).decode(),
    )
    return Bad(Item(raw, sig_json(sig), env.id), "belongs to KOR", ("JPN", env.id, 1))


def tampered_payload(net: Any) -> Bad:
    """Payload bytes changed on the way; payload_sha256 left as signed."""
    report = publish(net["JPN"], "original title")
    raw = report.signed.replace(b"original title", b"doctored title")
    return Bad(
        Item(raw, sig_json(report.signature), report.envelope.id), "payload_sha256", report.key
    )


def tampered_and_rehashed(net: Any) -> Bad:
    """Payload changed and payload_sha256 recomputed: only the signature can tell."""
    report = publish(net["JPN"], "original title")
    env = report.envelope
    payload = b'{"title":"doctored title"}'
    doctored = msgspec.structs.replace(
        env, payload=msgspec.Raw(payload), payload_sha256=sha256_hex(payload)
    )
    item = Item(envelope_bytes(doctored), sig_json(report.signature), env.id)
    return Bad(item, "altered", report.key)


def replay_with_different_content(net: Any) -> Bad:
    original = publish(net["JPN"], "first content")
    net.deliver("JPN", "USA")
    env = envelope(
        "JPN", 9005, payload=b'{"title":"second content"}', report_id=original.envelope.id
    )
    report = _signed_alone(net["JPN"], env)
    return Bad(Item.of(report), "replay", original.key, stored_before=original.signed)


def origin_is_not_sender(net: Any) -> Bad:
    """A genuine KOR report relayed by JPN: only the originator may send its reports."""
    report = _signed_alone(net["KOR"], envelope("KOR", 9006))
    return Bad(Item.of(report), "claims origin KOR", report.key)


def not_releasable_to_receiver(net: Any) -> Bad:
    report = _signed_alone(net["JPN"], envelope("JPN", 9007, label="SECRET//REL TO JPN, KOR"))
    return Bad(Item.of(report), "does not release this report to USA", report.key)


def orcon(net: Any) -> Bad:
    report = _signed_alone(
        net["JPN"], envelope("JPN", 9008, label="SECRET//REL TO USA, JPN//ORCON")
    )
    return Bad(Item.of(report), "caveat ORCON forbids release to USA", report.key)


def schema_invalid_payload(net: Any) -> Bad:
    report = _signed_alone(net["JPN"], envelope("JPN", 9009, payload=b'{"titel":"typo"}'))
    return Bad(Item.of(report), "does not fit kind 'note'", report.key)


def unknown_kind(net: Any) -> Bad:
    report = _signed_alone(net["JPN"], envelope("JPN", 9010, kind="bogus.kind", payload=b"{}"))
    return Bad(Item.of(report), "unknown report kind", report.key)


def non_canonical_label(net: Any) -> Bad:
    report = _signed_alone(net["JPN"], envelope("JPN", 9011, label="secret//rel to usa"))
    return Bad(Item.of(report), "canonical", report.key)


def malformed_envelope(net: Any) -> Bad:
    good = publish(net["JPN"], "whose signature is borrowed")
    item = Item(b'{"hello":"world"}', sig_json(good.signature), "")
    return Bad(item, "malformed", ("JPN", "", 0))


def reused_origin_seq(net: Any) -> Bad:
    first = publish(net["JPN"], "holds the origin_seq")
    net.deliver("JPN", "USA")
    report = _signed_alone(net["JPN"], envelope("JPN", first.envelope.origin_seq))
    return Bad(Item.of(report), "already used", report.key)


BAD_CASES: list[Callable[[Any], Bad]] = [
    unsigned,
    garbage_signature,
    forged_by_unknown_key,
    forged_with_kor_key,
    tampered_payload,
    tampered_and_rehashed,
    replay_with_different_content,
    origin_is_not_sender,
    not_releasable_to_receiver,
    orcon,
    schema_invalid_payload,
    unknown_kind,
    non_canonical_label,
    malformed_envelope,
    reused_origin_seq,
]


# Each case on its own runs on SQLite (clear failures); the combined batch below runs every
# case on both engines (PostgreSQL schemas cost ~0.3 s each to create).
@pytest.mark.parametrize("engine", ["sqlite"])
@pytest.mark.parametrize("make_bad", BAD_CASES, ids=lambda f: f.__name__)
def test_bad_item_is_rejected_audited_not_stored_and_the_rest_accepted(
    network: Any, make_bad: Callable[[Any], Bad]
) -> None:
    jpn, usa = network["JPN"], network["USA"]
    bad = make_bad(network)
    good_before = publish(jpn, "good before")
    good_after = publish(jpn, "good after")
    count_before = usa.store.report_count()
    rejected_before = len(rejected_rows(usa, "JPN"))
    cursor_before = usa.store.cursor("JPN")[0]

    result = usa.ingest(
        "JPN", batch(jpn, usa, [Item.of(good_before), bad.item, Item.of(good_after)])
    )

    assert (result.accepted, result.rejected, result.duplicates) == (2, 1, 0), result.reasons
    assert not result.gap
    assert result.cursor == cursor_before + 3 == usa.store.cursor("JPN")[0]
    assert len(result.reasons) == 1 and bad.reason in result.reasons[0]
    # not stored
    assert usa.store.report_count() == count_before + 2
    assert usa.store.stored_bytes(*bad.key) == bad.stored_before
    for good in (good_before, good_after):
        assert usa.store.stored_bytes(*good.key) == good.signed
    # audited, in an intact chain
    new_rejections = rejected_rows(usa, "JPN")[rejected_before:]
    assert len(new_rejections) == 1
    row = new_rejections[0].entry
    assert bad.reason in row.reason
    assert row.report_id == bad.item.report_id
    accepted_ids = {
        r.entry.report_id
        for r in usa.store.audit_rows()
        if r.entry.event == "inbound" and r.entry.outcome == "accepted"
    }
    assert {good_before.envelope.id, good_after.envelope.id} <= accepted_ids
    assert chain_ok(usa)


def test_every_bad_item_in_one_batch_between_good_ones(network: Any) -> None:
    jpn, usa = network["JPN"], network["USA"]
    # Cases that deliver something first go first, so later deliveries cannot take the
    # originals that other cases tamper with.
    order = sorted(BAD_CASES, key=lambda f: f not in _DELIVERING)
    bads = [make_bad(network) for make_bad in order]
    goods = [publish(jpn, f"good {i}") for i in range(len(bads) + 1)]
    count_before = usa.store.report_count()
    rejected_before = len(rejected_rows(usa, "JPN"))
    items = [Item.of(goods[0])]
    for bad, good in zip(bads, goods[1:], strict=True):
        items += [bad.item, Item.of(good)]

    first_pseq = usa.store.cursor("JPN")[0] + 1
    result = usa.ingest("JPN", batch(jpn, usa, items))

    assert (result.accepted, result.rejected, result.duplicates) == (len(goods), len(bads), 0)
    assert usa.store.report_count() == count_before + len(goods)
    by_pseq = {int(r.split(":")[0].removeprefix("pseq ")): r for r in result.reasons}
    for i, bad in enumerate(bads):
        assert bad.reason in by_pseq[first_pseq + 2 * i + 1], order[i].__name__
        assert usa.store.stored_bytes(*bad.key) == bad.stored_before
    for good in goods:
        assert usa.store.stored_bytes(*good.key) == good.signed
    rows = rejected_rows(usa, "JPN")[rejected_before:]
    assert sorted(r.entry.report_id for r in rows) == sorted(b.item.report_id for b in bads)
    assert chain_ok(usa)


_DELIVERING = {forged_with_kor_key, replay_with_different_content, reused_origin_seq}


@pytest.mark.parametrize("engine", ["sqlite"])  # fails before the store: one engine
def test_items_whose_origin_seq_goes_backwards_are_all_accepted(network: Any) -> None:
    """pseq order is the sender's; origin_seq need not grow with it inside one batch."""
    jpn, usa = network["JPN"], network["USA"]
    reports = [_signed_alone(jpn, envelope("JPN", s)) for s in (9402, 9401, 9403)]
    result = usa.ingest("JPN", batch(jpn, usa, [Item.of(r) for r in reports]))
    assert (result.accepted, result.rejected) == (3, 0)
    assert all(usa.store.stored_bytes(*r.key) == r.signed for r in reports)


@pytest.mark.parametrize("engine", ["sqlite"])  # fails before the store: one engine
@pytest.mark.parametrize(
    "created", ["2026-02-30T00:00:00.000000Z", "\u0662\u0660\u0662\u0666-11-23T16:14:56.123456Z"]
)
def test_signed_report_with_an_impossible_created_time_is_rejected(
    network: Any, created: str
) -> None:
    jpn, usa = network["JPN"], network["USA"]
    good = publish(jpn, "good")
    odd = msgspec.structs.replace(envelope("JPN", 9501), created=created)
    bad = _signed_alone(jpn, odd)
    result = usa.ingest("JPN", batch(jpn, usa, [Item.of(good), Item.of(bad)]))
    assert (result.accepted, result.rejected) == (1, 1)
    assert usa.store.stored_bytes(*bad.key) is None
    assert len(rejected_rows(usa, "JPN")) == 1


@pytest.mark.parametrize(("field", "value"), [("origin_seq", 2**63), ("version", 2**63)])
def test_signed_report_with_out_of_range_numbers_is_rejected(
    network: Any, field: str, value: int
) -> None:
    """Both engines must treat it alike: rejected and audited, the rest of the batch taken."""
    jpn, usa = network["JPN"], network["USA"]
    good = publish(jpn, "good")
    bad = _signed_alone(jpn, msgspec.structs.replace(envelope("JPN", 9601), **{field: value}))
    result = usa.ingest("JPN", batch(jpn, usa, [Item.of(good), Item.of(bad)]))
    assert (result.accepted, result.rejected) == (1, 1)
    assert usa.store.stored_bytes("JPN", bad.envelope.id, bad.envelope.version) is None


def test_version_at_int32_is_rejected_alike_on_both_engines(network: Any) -> None:
    """Versions stop below 2**31 (the INTEGER columns of both engines): refused, audited."""
    jpn, usa = network["JPN"], network["USA"]
    good = publish(jpn, "good")
    report = _signed_alone(jpn, envelope("JPN", 9701, version=2**31))
    result = usa.ingest("JPN", batch(jpn, usa, [Item.of(good), Item.of(report)]))
    assert (result.accepted, result.rejected) == (1, 1)
    assert usa.store.stored_bytes("JPN", report.envelope.id, 2**31) is None


@pytest.mark.parametrize(
    "raw",
    [b'{"id":"abc\\u0000def"}', b'{"\\u0000smuggled":1}'],
    ids=["nul-in-id", "nul-in-field-name"],
)
def test_rejected_item_with_nul_characters_is_still_audited(network: Any, raw: bytes) -> None:
    """The audit row of a rejection quotes what arrived; PostgreSQL TEXT refuses NUL."""
    jpn, usa = network["JPN"], network["USA"]
    good = publish(jpn, "good")
    item = Item(raw, sig_json(good.signature), "")
    result = usa.ingest("JPN", batch(jpn, usa, [Item.of(good), item]))
    assert (result.accepted, result.rejected) == (1, 1)
    assert len(rejected_rows(usa, "JPN")) == 1
    assert chain_ok(usa)


def test_a_partner_cannot_take_over_another_origins_report_id(network: Any) -> None:
    """KOR re-uses the id of JPN's report with a higher version (a signed KOR tombstone).
    Neither USA nor JPN may then show JPN's report as deleted, nor stop JPN editing it."""
    jpn, usa, kor = network["JPN"], network["USA"], network["KOR"]
    original = publish(jpn, "JPN's report")
    network.deliver("JPN", "USA")
    network.deliver("JPN", "KOR")
    rid = original.envelope.id
    fake = _signed_alone(
        kor,
        envelope(
            "KOR",
            500,
            kind="tombstone",
            payload=b'{"reason":"withdrawn"}',
            report_id=rid,
            version=2,
        ),
    )
    for receiver in (usa, jpn):
        result = receiver.ingest("KOR", batch(kor, receiver, [Item.of(fake)]))
        latest = receiver.store.latest_version(rid)
        assert latest is not None
        assert latest.report.envelope.origin == "JPN", f"{receiver.nation} shows KOR's tombstone"
        assert result.rejected == 1
    edited = jpn.edit(rid, {"title": "still JPN's"})
    assert edited.envelope.version == 2


def test_sender_not_matching_tls_identity_rejects_the_whole_batch(network: Any) -> None:
    jpn, usa = network["JPN"], network["USA"]
    publish(jpn, "one")
    publish(jpn, "two")
    body, n = jpn.outbox_batch("USA", after=0)
    assert n == 2
    result = usa.ingest("KOR", decode_batch(body))  # arrived on KOR's TLS connection
    assert (result.accepted, result.rejected) == (0, 2)
    assert "KOR" in result.reasons[0]
    assert usa.store.report_count() == 0
    assert usa.store.cursor("KOR") == (0, 0) and usa.store.cursor("JPN") == (0, 0)
    assert len(rejected_rows(usa, "KOR")) == 1
    assert chain_ok(usa)


def test_duplicates_are_counted_not_stored_twice(network: Any) -> None:
    jpn, usa = network["JPN"], network["USA"]
    jpn.publish_many("note", SHARED, [{"title": f"t{i}"} for i in range(4)])
    body, _ = jpn.outbox_batch("USA", after=0)
    first = usa.ingest("JPN", decode_batch(body))
    assert (first.accepted, first.duplicates) == (4, 0)
    # the same batch again: below the cursor
    again = usa.ingest("JPN", decode_batch(body))
    assert (again.accepted, again.duplicates, again.rejected) == (0, 4, 0)
    # a receiver that lost its cursor (restore from backup): caught by content
    with usa.store.transaction():
        usa.store.set_inbound_cursor("JPN", 0, GENESIS_CHAIN)
    replayed = usa.ingest("JPN", decode_batch(body))
    assert (replayed.accepted, replayed.duplicates, replayed.rejected) == (0, 4, 0)
    assert replayed.cursor == 4
    assert usa.store.report_count() == 4
    # the same report twice in one batch
    dup = publish(jpn, "twice")
    twice = usa.ingest("JPN", batch(jpn, usa, [Item.of(dup), Item.of(dup)]))
    assert (twice.accepted, twice.duplicates) == (1, 1)
    assert usa.store.report_count() == 5
    assert chain_ok(usa)


def test_gap_stops_at_the_missing_item_and_resumes(network: Any) -> None:
    jpn, usa = network["JPN"], network["USA"]
    jpn.publish_many("note", SHARED, [{"title": f"t{i}"} for i in range(5)])
    first = decode_batch(jpn.outbox_batch("USA", after=0, limit=2)[0])
    assert usa.ingest("JPN", first).cursor == 2
    # a batch starting beyond the receiver's cursor is a gap: nothing taken, sender resends
    later = decode_batch(jpn.outbox_batch("USA", after=3)[0])
    result = usa.ingest("JPN", later)
    assert result.gap
    assert (result.accepted, result.cursor) == (0, 2)
    assert usa.store.report_count() == 2
    resumed = network.deliver("JPN", "USA")
    assert not resumed.gap
    assert (resumed.accepted, resumed.cursor) == (3, 5)
    assert usa.store.report_count() == 5


def test_batch_with_a_hole_or_out_of_order_items_is_refused_whole(network: Any) -> None:
    jpn = network["JPN"]
    jpn.publish_many("note", SHARED, [{"title": f"t{i}"} for i in range(5)])
    body, _ = jpn.outbox_batch("USA", after=0)
    full = decode_batch(body)
    holed = msgspec.structs.replace(full, items=[i for i in full.items if i.pseq != 3])
    shuffled = msgspec.structs.replace(full, items=list(reversed(full.items)))
    for broken in (holed, shuffled):
        with pytest.raises(ReportError, match="consecutive pseq order"):
            decode_batch(msgspec.json.encode(broken))


def test_certificate_of_another_nation_in_a_batch_is_refused(network: Any) -> None:
    jpn, usa = network["JPN"], network["USA"]
    kor_cert = (network.root / "KOR" / "signing.crt").read_text()
    start = (0, GENESIS_CHAIN)
    body = encode_batch("JPN", start, start, [*jpn.own_certs(), kor_cert, "not a certificate"], [])
    usa.ingest("JPN", decode_batch(body))
    refused = [
        r.entry
        for r in usa.store.audit_rows()
        if r.entry.event == "key" and r.entry.outcome == "rejected"
    ]
    assert len(refused) == 1  # one row per batch, however many certificates it carries
    assert "refused 2 of the 3 certificates" in refused[0].reason
    assert "not issued by JPN CA" in refused[0].reason  # KOR's certificate, from KOR's CA
    assert {k.nation for k in usa.store.keys()} == {"USA", "JPN"}


def test_failed_ingest_transaction_leaves_nothing_half_stored(
    network: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    jpn, usa = network["JPN"], network["USA"]
    network.deliver("JPN", "USA")  # USA learns JPN's key first (see the next test)
    jpn.publish_many("note", SHARED, [{"title": f"t{i}"} for i in range(3)])
    body, _ = jpn.outbox_batch("USA", after=0)
    audit_before = usa.store.audit_head()

    def broken(partner: str, value: int, chain: str) -> None:
        raise StoreError("disk full (injected)")

    monkeypatch.setattr(usa.store, "set_inbound_cursor", broken)
    with pytest.raises(StoreError, match="injected"):
        usa.ingest("JPN", decode_batch(body))
    monkeypatch.undo()
    assert usa.store.report_count() == 0
    assert usa.store.cursor("JPN") == (0, 0)
    assert usa.store.audit_head() == audit_before
    # and a retry takes the whole batch
    retry = usa.ingest("JPN", decode_batch(body))
    assert (retry.accepted, retry.cursor) == (3, 3)
    assert chain_ok(usa)


def test_key_learned_in_a_failed_transaction_is_stored_on_retry(
    network: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    jpn, usa = network["JPN"], network["USA"]
    publish(jpn, "first contact")
    body, _ = jpn.outbox_batch("USA", after=0)

    def broken(partner: str, value: int, chain: str) -> None:
        raise StoreError("disk full (injected)")

    monkeypatch.setattr(usa.store, "set_inbound_cursor", broken)
    with pytest.raises(StoreError):
        usa.ingest("JPN", decode_batch(body))
    monkeypatch.undo()
    assert usa.ingest("JPN", decode_batch(body)).accepted == 1
    assert jpn.signer.key_id in {k.key_id for k in usa.store.keys()}, "key never persisted"
    key_rows = [
        r for r in usa.store.audit_rows() if r.entry.event == "key" and "JPN" == r.entry.origin
    ]
    assert len(key_rows) == 1, "key adoption never audited"


def test_same_key_with_different_content_in_one_batch_is_rejected(network: Any) -> None:
    jpn, usa = network["JPN"], network["USA"]
    rid = uuid7()
    one = _signed_alone(jpn, envelope("JPN", 9101, payload=b'{"title":"one"}', report_id=rid))
    two = _signed_alone(jpn, envelope("JPN", 9102, payload=b'{"title":"two"}', report_id=rid))
    result = usa.ingest("JPN", batch(jpn, usa, [Item.of(one), Item.of(two)]))
    assert usa.store.stored_bytes("JPN", rid, 1) == one.signed
    assert (result.accepted, result.rejected, result.duplicates) == (1, 1, 0)
    assert len(rejected_rows(usa, "JPN")) == 1


def test_reused_origin_seq_inside_one_batch_rejects_only_that_item(network: Any) -> None:
    jpn, usa = network["JPN"], network["USA"]
    good = publish(jpn, "good")
    one = _signed_alone(jpn, envelope("JPN", 9201, payload=b'{"title":"one"}'))
    two = _signed_alone(jpn, envelope("JPN", 9201, payload=b'{"title":"two"}'))
    result = usa.ingest("JPN", batch(jpn, usa, [Item.of(good), Item.of(one), Item.of(two)]))
    assert (result.accepted, result.rejected) == (2, 1)
    assert usa.store.cursor("JPN")[0] == 3


def test_a_partner_pulling_short_of_our_head_holds_our_push_back(network: Any) -> None:
    """A partner back from an outage pulls batch after batch; pushing it the same items
    meanwhile would only have it check them twice. Once a pull reaches our head (it has
    caught up), or a few seconds after its last pull, pushing resumes."""
    jpn = network["JPN"]
    jpn.publish_many("note", SHARED, [{"title": f"t{i}"} for i in range(5)])
    assert not jpn.feed.pulling("USA", 3.0)
    first = decode_batch(jpn.serve_pull("USA", after=0, limit=2))
    assert [i.pseq for i in first.items] == [1, 2] and first.head == 5
    assert jpn.feed.pulling("USA", 3.0)
    assert not jpn.feed.pulling("USA", 0.0)  # held only for a while
    assert not jpn.feed.pulling("KOR", 3.0)  # and only for the partner pulling
    rest = decode_batch(jpn.serve_pull("USA", after=2, limit=10))
    assert [i.pseq for i in rest.items] == [3, 4, 5]
    assert not jpn.feed.pulling("USA", 3.0)
