"""Signed audit heads (issue #15 item 2): what partners witness, and what they refuse.

First the pure parts (the statement, ``judge`` and ``check_own_head``, a property test of
forks, the wire field under fuzzing); then three in-process nodes on each engine joined by
the in-memory transport (``network`` fixture), tampered with the way an insider with
database access would.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import shutil
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import Network
from tests.federation.hostile import push_from_jpn
from tests.federation.witness import empty_database, rehash_from, restore_past_witnessed_rows
from typer.testing import CliRunner

from trilink.errors import FederationError, ProvenanceError, ReportError
from trilink.model.ids import utc_timestamp
from trilink.model.wire import AuditHeads, RestoreNote, SignedHead, decode_batch, encode_batch
from trilink.node.anchors import (
    DOMAIN,
    MAX_ANSWER_BYTES,
    LogState,
    WitnessAnswer,
    check_own_head,
    epoch_name,
    head_message,
    judge,
    read_witness_answer,
    sign_head,
    verify_head,
    verify_log,
)
from trilink.node.service import NodeService
from trilink.provenance.pki import load_signing_key
from trilink.provenance.signing import Signer
from trilink.store.audit import GENESIS, verify_chain

SHARED = "SECRET//REL TO USA, JPN, KOR"
AT = "2026-11-23T16:00:00.000000Z"


def h(seq: int, tag: str = "a") -> str:
    return hashlib.sha256(f"{tag}{seq}".encode()).hexdigest()


def head(
    seq: int,
    prev: int = 0,
    *,
    tag: str = "a",
    prev_tag: str | None = None,
    epoch: int = 0,
    at: str = AT,
    restore: RestoreNote | None = None,
) -> SignedHead:
    """An unsigned head of row ``seq`` of history ``tag`` (judge never reads signatures)."""
    return SignedHead(
        nation="JPN",
        epoch=epoch,
        seq=seq,
        hash=h(seq, tag),
        prev_seq=prev,
        prev_hash=h(prev, prev_tag or tag) if prev else GENESIS,
        at=at,
        key_id="k",
        restore=restore,
        sig=f"{tag}{seq}",
    )


# -- the statement ---------------------------------------------------------------------------


def jpn_signer(root: Path) -> Signer:
    key, certified = load_signing_key(root / "JPN")
    return Signer(key, certified)


def test_a_signed_head_verifies_and_any_change_breaks_it(network: Network) -> None:
    jpn = network["JPN"]
    signed = sign_head(jpn_signer(network.root), epoch=0, head=(7, h(7)), prev=(3, h(3)))
    assert verify_head(signed, "JPN", jpn.verifier).nation == "JPN"
    changes: list[dict[str, Any]] = [
        {"seq": 8},
        {"hash": h(8)},
        {"prev_seq": 2},
        {"prev_hash": h(2)},
        {"epoch": 1},
        {"at": utc_timestamp()},
        {"restore": RestoreNote(seq=1, hash=h(1), backup="b")},
    ]
    for change in changes:
        with pytest.raises(ProvenanceError, match="does not verify"):
            verify_head(msgspec.structs.replace(signed, **change), "JPN", jpn.verifier)
    with pytest.raises(ProvenanceError, match="not JPN's"):
        verify_head(msgspec.structs.replace(signed, nation="KOR"), "JPN", jpn.verifier)
    # the statement's domain keeps its signature apart from every report batch's
    assert head_message(signed) not in DOMAIN and DOMAIN.startswith(b"trilink/audit-head/")
    with pytest.raises(ProvenanceError, match="statement"):
        jpn_signer(network.root).sign_statement(b"trilink/report-batch/v1\x00", b"x")
    with pytest.raises(ProvenanceError, match="statement"):
        jpn_signer(network.root).sign_statement(b"trilink/a\x00b\x00", b"x")


def test_a_head_signed_by_another_key_is_refused(network: Network) -> None:
    kor_key, kor_cert = load_signing_key(network.root / "KOR")
    jpn = network["JPN"]
    jpn_key_id = jpn.signer.key_id
    by_kor = sign_head(Signer(kor_key, kor_cert), epoch=0, head=(7, h(7)), prev=(0, GENESIS))
    claimed = msgspec.structs.replace(by_kor, nation="JPN")
    network["KOR"]
    with pytest.raises(ProvenanceError):
        verify_head(claimed, "JPN", network["USA"].verifier)
    stranger = Signer(ed25519.Ed25519PrivateKey.generate(), jpn.signer.certified)
    forged = sign_head(stranger, epoch=0, head=(7, h(7)), prev=(0, GENESIS))
    assert forged.key_id == jpn_key_id
    with pytest.raises(ProvenanceError, match="does not verify"):
        verify_head(forged, "JPN", jpn.verifier)


# -- judge: a partner's new heads against the one we hold ------------------------------------


def test_judge_follows_consecutive_heads_and_refuses_what_goes_back() -> None:
    held = head(10, 5)
    assert judge("JPN", held, [held], None).verdict == "same"
    step = judge("JPN", held, [head(20, 10)], None)
    assert (step.verdict, step.accepted) == ("advance", head(20, 10))
    lower = judge("JPN", held, [head(8, 5)], None)
    assert lower.verdict == "back" and "row 8, but we witnessed row 10" in lower.reason
    assert "history rewritten or truncated" in lower.reason
    other = judge("JPN", held, [head(10, 5, tag="b")], None)
    assert other.verdict == "back" and "has hash" in other.reason
    older_epoch = judge("JPN", head(10, 5, epoch=9), [head(30, 20)], None)
    assert older_epoch.verdict == "back" and "original log" in older_epoch.reason


def test_judge_needs_a_path_to_accept_a_head_it_cannot_link() -> None:
    held = head(10, 5)
    later = head(40, 30)
    assert judge("JPN", held, [later], None).verdict == "pending"
    path = [head(20, 10), head(30, 20), later]
    assert judge("JPN", held, path, None).accepted == later
    partial = judge("JPN", held, [head(20, 10), later], None)
    assert (partial.verdict, partial.accepted) == ("advance", head(20, 10))


def test_judge_refuses_a_history_that_does_not_pass_through_the_held_head() -> None:
    """A database emptied and started again: its heads grow past the one witnessed, but
    follow heads that are not it."""
    held = head(10, 5)
    restarted = [head(4, 0, tag="b"), head(12, 4, tag="b"), head(30, 12, tag="b")]
    verdict = judge("JPN", held, restarted, None)
    assert verdict.verdict == "back" and "do not descend from the head of row 10" in verdict.reason
    same_row = judge("JPN", held, [head(10, 5, tag="b"), head(30, 10, tag="b")], None)
    assert same_row.verdict == "back"
    assert judge("JPN", held, [head(30, 10, tag="a", prev_tag="b")], None).verdict == "back"


def test_judge_ignores_a_head_it_held_before() -> None:
    """A batch long in flight carries an older head: not a rewritten history."""
    held = head(30, 20)
    assert judge("JPN", held, [head(20, 10)], None).verdict == "stale"
    assert judge("JPN", held, [head(10, 5)], None, {10: h(10), 20: h(20)}).verdict == "stale"
    assert judge("JPN", held, [head(10, 5, tag="b")], None, {10: h(10)}).verdict == "back"


def test_judge_accepts_a_signed_restore_and_nothing_else_that_changes_epoch() -> None:
    held = head(50, 40, at="2026-11-23T16:00:00.000000Z")
    note = RestoreNote(seq=30, hash=h(30), backup="kor.backup")
    start = head(31, 30, tag="r", prev_tag="a", epoch=5, at="2026-11-23T17:00:00.000000Z")
    start = msgspec.structs.replace(start, restore=note)
    later = head(45, 31, tag="r", epoch=5)
    restored = judge("JPN", held, [start, later], start)
    assert (restored.verdict, restored.accepted) == ("restore", later)
    assert judge("JPN", held, [later], None).verdict == "back"
    unsigned = msgspec.structs.replace(start, restore=None)
    assert "without a signed restore" in judge("JPN", held, [later], unsigned).reason
    replayed = msgspec.structs.replace(start, at="2026-11-23T15:00:00.000000Z")
    assert "replayed" in judge("JPN", held, [later], replayed).reason
    skips = head(45, 30, tag="r", prev_tag="a", epoch=5)  # follows the backup, not the restore
    forked = judge("JPN", held, [start, skips], start)
    assert forked.verdict == "back" and "signed restore at row 31" in forked.reason


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=2, max_value=30),
    st.integers(min_value=0, max_value=29),
    st.integers(min_value=0, max_value=29),
    st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=12),
)
def test_no_head_of_a_forked_history_is_ever_accepted(
    length: int, held_at: int, fork_at: int, picks: list[int]
) -> None:
    """Two histories share their first ``fork_at`` heads; whatever heads of the second one a
    sender shows, a witness holding a head of the first past the fork never accepts one."""
    held_at, fork_at = held_at % length, fork_at % length
    true = [head(10 * (i + 1), 10 * i) for i in range(length)]
    if held_at < fork_at:
        held_at, fork_at = fork_at, held_at
    forked = true[:fork_at]
    for i in range(fork_at, length + 3):
        prev = forked[-1] if forked else None
        forked.append(
            SignedHead(
                nation="JPN",
                epoch=0,
                seq=10 * (i + 1) + 1,
                hash=h(i, "b"),
                prev_seq=prev.seq if prev else 0,
                prev_hash=prev.hash if prev else GENESIS,
                at=AT,
                key_id="k",
                sig=f"b{i}",
            )
        )
    chain = [forked[p % len(forked)] for p in picks]
    verdict = judge("JPN", true[held_at], chain, None)
    foreign = {x.hash for x in forked[fork_at:]}
    assert verdict.accepted is None or verdict.accepted.hash not in foreign


def test_check_own_head_names_truncation_rewrite_and_replacement() -> None:
    hashes = {seq: h(seq) for seq in range(1, 21)}
    state = LogState(head=(20, h(20)), epoch=0, restores=[], hash_at=hashes.get)
    assert check_own_head(head(15, 10), state, "JPN")[0] == "matches"
    status, message = check_own_head(head(25, 20), state, "JPN")
    assert status == "differs" and "ends at row 20: rows 21-25 deleted" in message
    status, message = check_own_head(head(15, 10, tag="x"), state, "JPN")
    assert status == "differs" and "rewritten at or before row 15" in message
    status, message = check_own_head(head(15, 10, epoch=3), state, "JPN")
    assert status == "differs" and "older copy without 'trilink node restore'" in message
    start = msgspec.structs.replace(
        head(12, 10, epoch=3), restore=RestoreNote(seq=11, hash=h(11), backup="b")
    )
    restored = dataclasses.replace(state, epoch=3, restores=[start])
    assert check_own_head(head(30, 25), restored, "JPN")[0] == "left-behind"
    assert check_own_head(head(10, 5), restored, "JPN")[0] == "matches"
    assert epoch_name(0) == "the original log"
    assert epoch_name(1_800_000_000) == "the log restored at 2027-01-15 08:00:00 UTC"


# -- the wire field under fuzzing ------------------------------------------------------------


def batch_with(audit: bytes) -> bytes:
    return encode_batch("JPN", (0, GENESIS), (0, GENESIS), [], [], [], audit)


def test_a_batch_carries_its_heads() -> None:
    heads = AuditHeads(head=head(10, 5), path=[head(5, 0)], witnessed=head(3, 0))
    assert decode_batch(batch_with(msgspec.json.encode(heads))).audit == heads
    assert decode_batch(batch_with(b"")).audit is None


@pytest.mark.parametrize(
    "bad",
    [
        {"hash": "A" * 64},
        {"hash": h(1) + "\n"},
        {"seq": -1},
        {"seq": 2**63},
        {"nation": "X" * 9},
        {"sig": "s" * 129},
        {"extra": 1},
    ],
)
def test_a_head_out_of_bounds_refuses_the_batch_with_a_clear_error(bad: dict[str, Any]) -> None:
    field = msgspec.to_builtins(head(10, 5)) | bad
    body = batch_with(msgspec.json.encode({"head": field}))
    with pytest.raises(ReportError, match="not a valid trilink batch"):
        decode_batch(body)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.integers(min_value=0, max_value=400))
def test_mutated_audit_fields_only_ever_raise_report_errors(junk: bytes, at: int) -> None:
    good = msgspec.json.encode(AuditHeads(head=head(10, 5), path=[head(5, 0)]))
    at = at % (len(good) + 1)
    mutated = good[:at] + junk + good[at + len(junk) :]
    try:
        decode_batch(batch_with(mutated))
    except ReportError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.integers(min_value=0, max_value=600))
def test_a_partners_answer_is_read_or_refused_with_a_federation_error(
    junk: bytes, at: int
) -> None:
    good = msgspec.json.encode(
        WitnessAnswer(witness="JPN", nation="USA", head=head(10, 5), received_at=AT)
    )
    assert read_witness_answer(good).head == head(10, 5)
    at = at % (len(good) + 1)
    try:
        read_witness_answer(good[:at] + junk + good[at + len(junk) :])
    except FederationError:
        pass


def test_a_partners_answer_is_bounded() -> None:
    with pytest.raises(FederationError, match="bytes; at most"):
        read_witness_answer(b" " * (MAX_ANSWER_BYTES + 1))
    with pytest.raises(FederationError, match="nested too deeply|not a signed audit head"):
        read_witness_answer(b"[" * 5000)


# -- three nodes, in-process -----------------------------------------------------------------


def witnessed(node: NodeService, partner: str) -> SignedHead | None:
    held = node.store.witnessed_head(partner)
    return msgspec.json.decode(held[0], type=SignedHead) if held else None


def head_rows(node: NodeService) -> list[Any]:
    return [r.entry for r in node.store.audit_rows() if r.entry.event == "audit-head"]


def sign_and_send(network: Network, nation: str) -> SignedHead | None:
    """``nation`` signs its head now and both partners pull from it."""
    signed = network[nation].feed.anchors.checkpoint()
    for partner in ("USA", "JPN", "KOR"):
        if partner != nation:
            network.deliver(nation, partner)
    return signed


def test_partners_witness_each_others_heads(network: Network) -> None:
    kor = network["KOR"]
    kor.publish_many("note", SHARED, [{"title": f"n {i}"} for i in range(3)])
    network.deliver_all()
    first = witnessed(network["JPN"], "KOR")
    assert first is not None and (first.seq, first.hash) == kor.store.audit_head()
    of_kor = [e for e in head_rows(network["JPN"]) if e.partner == "KOR"]
    assert [e.outcome for e in of_kor] == ["witnessed"]
    kor.publish("note", SHARED, {"title": "more"})
    later = sign_and_send(network, "KOR")
    assert later is not None and later.prev_seq == first.seq
    assert witnessed(network["JPN"], "KOR") == later == witnessed(network["USA"], "KOR")
    # an advance is no audit row: that row would move JPN's head, which KOR witnesses...
    assert len([e for e in head_rows(network["JPN"]) if e.partner == "KOR"]) == 1
    for nation in ("USA", "JPN", "KOR"):
        links = network[nation].status()["partners"]
        assert {p: link["audit_alarm"] for p, link in links.items()} == dict.fromkeys(links, "")


def test_a_partner_that_missed_heads_follows_the_path_it_is_sent(network: Network) -> None:
    kor, jpn = network["KOR"], network["JPN"]
    kor.publish("note", SHARED, {"title": "first"})
    network.deliver_all()
    held = witnessed(jpn, "KOR")
    for i in range(3):  # three heads JPN never sees as they are signed
        kor.publish("note", SHARED, {"title": f"unseen {i}"})
        kor.feed.anchors.checkpoint()
    newest = kor.feed.anchors.newest()
    assert held is not None and newest is not None and newest.prev_seq != held.seq
    network.deliver("KOR", "JPN")  # KOR does not know which head JPN holds: no path
    assert witnessed(jpn, "KOR") == held  # pending: the new head cannot be linked to it yet
    network.deliver("JPN", "KOR")  # JPN's batch tells KOR which of its heads JPN holds
    network.deliver("KOR", "JPN")  # so KOR sends the heads since then
    assert witnessed(jpn, "KOR") == newest
    assert jpn.status()["partners"]["KOR"]["audit_alarm"] == ""


def test_a_head_that_goes_back_is_refused_audited_and_the_held_one_kept(
    network: Network,
) -> None:
    usa, jpn = network["USA"], network["JPN"]
    jpn.publish_many("note", SHARED, [{"title": f"n {i}"} for i in range(3)])
    network.deliver("JPN", "USA")
    held = witnessed(usa, "JPN")
    assert held is not None
    signer = jpn_signer(network.root)
    earlier_row = held.seq - 2
    earlier = jpn.store.audit_hash_at(earlier_row)
    assert earlier is not None
    back = sign_head(signer, epoch=0, head=(earlier_row, earlier), prev=(0, GENESIS))
    push_from_jpn(network, [], audit=msgspec.json.encode(AuditHeads(head=back)))
    assert witnessed(usa, "JPN") == held
    alarm = usa.status()["partners"]["JPN"]["audit_alarm"]
    assert f"row {earlier_row}, but we witnessed row {held.seq}" in alarm
    assert "history rewritten or truncated" in alarm
    assert [(e.outcome, e.origin) for e in head_rows(usa)][-1] == ("alarm", "JPN")
    rewritten = sign_head(signer, epoch=0, head=(held.seq, h(1)), prev=(0, GENESIS))
    push_from_jpn(network, [], audit=msgspec.json.encode(AuditHeads(head=rewritten)))
    assert witnessed(usa, "JPN") == held
    assert "has hash" in usa.status()["partners"]["JPN"]["audit_alarm"]
    # the same refused head again writes no second row
    rows = len(head_rows(usa))
    push_from_jpn(network, [], audit=msgspec.json.encode(AuditHeads(head=rewritten)))
    assert len(head_rows(usa)) == rows


def test_a_forged_head_is_refused_and_audited_and_the_batch_still_goes_through(
    network: Network,
) -> None:
    usa, jpn = network["USA"], network["JPN"]
    jpn.publish("note", SHARED, {"title": "before"})
    network.deliver("JPN", "USA")
    held = witnessed(usa, "JPN")
    assert held is not None
    stranger = Signer(ed25519.Ed25519PrivateKey.generate(), jpn.signer.certified)
    forged = sign_head(stranger, epoch=0, head=(held.seq + 5, h(9)), prev=(held.seq, held.hash))
    report = jpn.publish("note", SHARED, {"title": "with a forged head"})
    item = (report.signed, msgspec.json.encode(report.signature).decode())
    result = push_from_jpn(network, [item], audit=msgspec.json.encode(AuditHeads(head=forged)))
    assert result.accepted == 1
    assert witnessed(usa, "JPN") == held
    last = head_rows(usa)[-1]
    assert (last.outcome, last.partner) == ("rejected", "JPN")
    assert "signed audit head refused" in last.reason and "does not verify" in last.reason
    # a head of USA's own log that USA never signed, returned as what JPN witnessed for it
    usa_head = usa.store.audit_head()
    assert usa_head is not None
    not_ours = sign_head(jpn_signer(network.root), epoch=0, head=usa_head, prev=(0, GENESIS))
    not_ours = msgspec.structs.replace(not_ours, nation="USA")
    own = jpn.feed.anchors.newest()
    assert own is not None
    push_from_jpn(network, [], audit=msgspec.json.encode(AuditHeads(head=own, witnessed=not_ours)))
    assert "we did not sign" in head_rows(usa)[-1].reason
    assert usa.status()["partners"]["JPN"]["audit_alarm"] == ""


def test_a_node_started_on_an_empty_database_is_alarmed_and_partners_refuse_its_new_log(
    network: Network, caplog: pytest.LogCaptureFixture
) -> None:
    kor = network["KOR"]
    kor.publish_many("note", SHARED, [{"title": f"n {i}"} for i in range(5)])
    network.deliver_all()
    held = witnessed(network["JPN"], "KOR")
    assert held is not None
    kor = empty_database(network, "KOR")
    assert kor.store.audit_head()[0] < held.seq  # type: ignore[index]
    with caplog.at_level(logging.ERROR, logger="trilink.node.anchors"):
        network.deliver("JPN", "KOR")  # its first exchange with JPN
    alarm = kor.status()["partners"]["JPN"]["audit_alarm"]
    assert f"JPN holds our head of row {held.seq}" in alarm and "truncated or replaced" in alarm
    assert any(
        r.levelno == logging.ERROR and "JPN holds our head" in r.message for r in caplog.records
    )
    assert head_rows(kor)[-1].outcome == "alarm"
    # its new log reaches JPN: refused, and JPN keeps the head it held
    network.deliver("KOR", "JPN")
    assert witnessed(network["JPN"], "KOR") == held
    assert (
        "history rewritten or truncated"
        in network["JPN"].status()["partners"]["KOR"]["audit_alarm"]
    )
    # even once the new log is longer than the old one, it never replaces the witnessed head
    for i in range(3):
        kor.publish_many("note", SHARED, [{"title": f"new {i} {j}"} for j in range(10)])
        kor.feed.anchors.checkpoint()
        network.deliver("JPN", "KOR")
        network.deliver("KOR", "JPN")
    assert kor.store.audit_head()[0] > held.seq  # type: ignore[index]
    assert witnessed(network["JPN"], "KOR") == held
    assert "do not descend" in network["JPN"].status()["partners"]["KOR"]["audit_alarm"]
    answers = {p: network[p].ingestor.anchors.witness_answer("KOR") for p in ("USA", "JPN")}
    result = verify_log(kor.store, kor.config, answers)
    assert not result.intact
    assert {p.partner: p.status for p in result.partners} == {"JPN": "differs", "USA": "differs"}


def test_a_node_whose_log_no_longer_holds_its_own_head_signs_no_new_one(
    network: Network,
) -> None:
    """A row edited and every later row re-hashed, the node's checkpoints left in place."""
    usa = network["USA"]
    usa.publish_many("note", SHARED, [{"title": f"n {i}"} for i in range(3)])
    signed = usa.feed.anchors.checkpoint()
    assert signed is not None
    rehash_from(usa.store, 2)
    usa.publish("note", SHARED, {"title": "after"})
    assert usa.feed.anchors.checkpoint() is None
    alarm = usa.status()["partners"]["JPN"]["audit_alarm"]
    assert f"our last checkpoint holds our head of row {signed.seq}" in alarm
    assert "rewritten at or before" in alarm
    assert usa.status()["partners"]["KOR"]["audit_alarm"] == alarm


def test_an_old_head_long_in_flight_is_no_alarm(network: Network) -> None:
    usa, jpn = network["USA"], network["JPN"]
    jpn.publish("note", SHARED, {"title": "one"})
    old_batch, _ = jpn.outbox_batch("USA", 0)
    jpn.publish("note", SHARED, {"title": "two"})
    jpn.feed.anchors.checkpoint()
    network.deliver("JPN", "USA")
    newer = witnessed(usa, "JPN")
    usa.receive_push("JPN", old_batch)
    assert witnessed(usa, "JPN") == newer
    assert usa.status()["partners"]["JPN"]["audit_alarm"] == ""


runner = CliRunner()


def test_a_restore_is_recorded_as_a_restore_not_as_tampering(
    network: Network, tmp_path: Path
) -> None:
    lost_head, output = restore_past_witnessed_rows(network, tmp_path / "kor.backup")
    assert "signed the restore" in output
    for partner in ("USA", "JPN"):
        assert witnessed(network[partner], "KOR") == lost_head
    kor = network["KOR"]
    start = kor.feed.anchors.newest()
    assert start is not None and start.epoch > 0 and start.restore is not None
    assert start.restore.seq < lost_head.seq

    network.deliver_all()  # KOR sees the heads of the old log its partners hold: left behind
    network.deliver_all()  # and they take its restore
    for partner in ("USA", "JPN"):
        assert witnessed(network[partner], "KOR").epoch == start.epoch  # type: ignore[union-attr]
        assert [e.outcome for e in head_rows(network[partner])][-1] == "restore"
        assert "restored its audit log from a backup" in head_rows(network[partner])[-1].reason
    for nation in ("USA", "JPN", "KOR"):
        links = network[nation].status()["partners"]
        assert all(link["audit_alarm"] == "" for link in links.values()), links
    answers = {p: network[p].ingestor.anchors.witness_answer("KOR") for p in ("USA", "JPN")}
    result = verify_log(kor.store, kor.config, answers)
    assert result.intact, result.problems
    assert [r.restore.seq for r in result.restores if r.restore] == [start.restore.seq]
    assert {p.status for p in result.partners} == {"matches"}


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # a file copy put back by hand
def test_a_truncation_without_the_restore_procedure_is_still_detected(
    network: Network, tmp_path: Path
) -> None:
    """A cold copy of the database put back by hand: no signed restore, so an alarm."""
    kor = network["KOR"]
    kor.publish("note", SHARED, {"title": "before"})
    network.deliver_all()
    network._nodes.pop("KOR").close()
    copy = tmp_path / "copy.db"
    shutil.copyfile(network.db_url("KOR"), copy)
    kor = network.reopen("KOR")
    kor.publish_many("note", SHARED, [{"title": f"later {i}"} for i in range(3)])
    held = sign_and_send(network, "KOR")
    network._nodes.pop("KOR").close()
    shutil.copyfile(copy, network.db_url("KOR"))
    kor = network.reopen("KOR")
    network.deliver("USA", "KOR")
    assert held is not None
    assert (
        f"USA holds our head of row {held.seq}" in kor.status()["partners"]["USA"]["audit_alarm"]
    )
    kor.publish("note", SHARED, {"title": "after the copy"})
    kor.feed.anchors.checkpoint()
    network.deliver("KOR", "USA")
    assert witnessed(network["USA"], "KOR") == held
    assert network["USA"].status()["partners"]["KOR"]["audit_alarm"]


def test_verify_log_keeps_a_verifier_of_the_nodes_own_keys_only(network: Network) -> None:
    """Own checkpoints are checked against the keys the node's directory certifies: a key
    planted in the database does not make a forged checkpoint pass."""
    usa = network["USA"]
    usa.publish("note", SHARED, {"title": "x"})
    signed = usa.feed.anchors.checkpoint()
    assert signed is not None
    stranger = Signer(ed25519.Ed25519PrivateKey.generate(), usa.signer.certified)
    head_now = usa.store.audit_head()
    assert head_now is not None
    usa.publish("note", SHARED, {"title": "y"})
    head_now = usa.store.audit_head()
    assert head_now is not None
    forged = sign_head(stranger, epoch=0, head=head_now, prev=(signed.seq, signed.hash))
    with usa.store.transaction():
        usa.store.add_checkpoint(
            forged.seq, 0, forged.hash, msgspec.json.encode(forged).decode(), starts_epoch=False
        )
    result = verify_log(usa.store, usa.config, {})
    assert [p.seq for p in result.problems if "is forged" in p.message] == [forged.seq]


def test_a_checkpoint_planted_in_the_database_stops_the_node_signing(network: Network) -> None:
    """An insider without the signing key cannot make the node continue a history of its
    choosing: a checkpoint it did not sign, found as the newest, is an alarm."""
    usa = network["USA"]
    usa.publish("note", SHARED, {"title": "x"})
    signed = usa.feed.anchors.checkpoint()
    assert signed is not None
    usa.publish("note", SHARED, {"title": "y"})
    head_now = usa.store.audit_head()
    assert head_now is not None
    stranger = Signer(ed25519.Ed25519PrivateKey.generate(), usa.signer.certified)
    planted = sign_head(stranger, epoch=0, head=head_now, prev=(signed.seq, signed.hash))
    with usa.store.transaction():
        usa.store.add_checkpoint(
            planted.seq, 0, planted.hash, msgspec.json.encode(planted).decode(), starts_epoch=False
        )
    usa = network.reopen("USA")
    usa.outbox_batch("JPN", 0)  # the first thing that reads it is building a batch
    alarm = usa.status()["partners"]["JPN"]["audit_alarm"]
    assert f"our newest signed head (row {planted.seq}) is forged" in alarm
    assert usa.feed.anchors.checkpoint() is None
    assert head_rows(usa)[-1].outcome == "alarm"
    assert verify_chain(usa.store.audit_rows(), usa.store.audit_head()) == []
