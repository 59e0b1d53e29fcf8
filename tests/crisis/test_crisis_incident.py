"""The incident engine, pure: acknowledgements, derived tasks and deadlines, escalation
levels once each whatever the tick schedule, refusals recorded, clock skew flagged, the
lifecycle through the state machine, and every payload valid for its registered kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.crisis.crisis_samples import BM_EEZ, rosters
from trilink.crisis.incident import due, iso, open_incident, receive_ack, record
from trilink.crisis.playbook import load_playbook_text
from trilink.crisis.roster import escalation_chain, load_roster_text
from trilink.model.kinds import validate_payload
from trilink.model.payloads.crisis import AckPayload, IncidentPayload

BOOK = load_playbook_text(BM_EEZ.read_text("utf-8"), str(BM_EEZ))
KOR = load_roster_text(rosters()["KOR"].read_text("utf-8"), "kor")
T0 = datetime(2026, 12, 6, 10, 40, tzinfo=UTC)


def chain(role: str, at: datetime) -> list[str]:
    return escalation_chain(KOR, role, at, BOOK.escalation)


def opened() -> IncidentPayload:
    return open_incident(BOOK, nation="KOR", incident_id="bm-eez:R1", at=T0,
                         trigger_kind="missile.warning", trigger_report="R1")  # fmt: skip


def ack(nation: str, step: str = "ack", at: datetime = T0, **kw: str) -> AckPayload:
    return AckPayload(incident_id=kw.pop("incident", "bm-eez:R1"), nation=nation, step=step,
                      by=f"{nation.lower()}-day", at=iso(at), **kw)  # type: ignore[arg-type]  # fmt: skip


def test_acknowledgements_and_derived_tasks() -> None:
    inc = opened()
    assert inc.status == "open" and inc.acks == {"USA": None, "JPN": None, "KOR": None}
    assert inc.next_deadline == "2026-12-06T10:45:00.000Z"
    for n, s in (("USA", 30), ("JPN", 60), ("KOR", 90)):
        t = T0 + timedelta(seconds=s)
        inc = receive_ack(BOOK, inc, ack(n, at=t), origin=n, report_id=f"a-{n}", now=t)
    assert inc.status == "acknowledged"
    assert inc.acks["KOR"] == "2026-12-06T10:41:30.000Z"
    assert inc.ack_summary == "USA 10:40:30Z, JPN 10:41:00Z, KOR 10:41:30Z"
    tasks = {(t.step, t.nation): t for t in inc.tasks}
    # the next steps start when the last nation acknowledged, each with its own deadline
    assert tasks[("public-alert", "JPN")].state == "active"
    assert tasks[("public-alert", "JPN")].deadline == "2026-12-06T10:44:30.000Z"
    assert tasks[("review", "USA")].state == "waiting"
    # the same acknowledgement again changes nothing
    again = receive_ack(BOOK, inc, ack("KOR"), origin="KOR", report_id="a-KOR-2", now=T0)
    assert again.events == inc.events
    validate_payload("crisis.incident", msgspec.to_builtins(inc))


def test_refused_inputs_are_recorded_not_lost() -> None:
    inc = opened()
    inc = receive_ack(BOOK, inc, ack("USA"), origin="KOR", report_id="forged", now=T0)
    inc = receive_ack(BOOK, inc, ack("KOR", step="nope"), origin="KOR", report_id="r2", now=T0)
    inc = receive_ack(BOOK, inc, ack("KOR", step="public-alert"), origin="KOR",
                      report_id="r3", now=T0)  # fmt: skip
    inc = receive_ack(BOOK, inc, ack("KOR", incident="bm-eez:R9"), origin="KOR",
                      report_id="r4", now=T0)  # fmt: skip
    details = [e.detail for e in inc.events if e.type == "rejected"]
    assert details == [
        "acknowledgement says it is USA's but was published by KOR's node; each nation "
        "acknowledges in its own node",
        "no step 'nope' in playbook bm-eez v1",
        "KOR has no part in step 'public-alert' (its nations: JPN)",
        "acknowledgement for incident 'bm-eez:R9', not this one",
    ]
    assert inc.acks == {"USA": None, "JPN": None, "KOR": None}


def test_a_flood_of_bad_input_does_not_outgrow_the_report() -> None:
    inc = opened()
    for i in range(300):
        inc = receive_ack(BOOK, inc, ack("USA"), origin="KOR", report_id=f"f{i}", now=T0)
    assert sum(1 for e in inc.events if e.type == "rejected") == 100
    assert len(msgspec.json.encode(inc)) < 256 * 1024
    good = receive_ack(BOOK, inc, ack("KOR"), origin="KOR", report_id="ok", now=T0)
    assert good.acks["KOR"] is not None


def test_clock_skew_is_flagged_and_our_clock_decides() -> None:
    inc = opened()
    stated = T0 + timedelta(minutes=7)  # the partner's clock runs 7 minutes fast
    inc = receive_ack(BOOK, inc, ack("USA", at=stated), origin="USA", report_id="a",
                      now=T0 + timedelta(seconds=20))  # fmt: skip
    event = inc.events[-1]
    assert event.at == "2026-12-06T10:40:20.000Z" and event.stated_at == iso(stated)
    assert "+400 s from this node's clock" in event.detail
    task = next(t for t in inc.tasks if t.step == "ack" and t.nation == "USA")
    assert not task.late  # received within the deadline by this node's clock


def test_escalation_levels_fire_once_at_their_times() -> None:
    inc = opened()
    assert due(BOOK, inc, T0 + timedelta(minutes=4, seconds=59), chain) == []
    first = due(BOOK, inc, T0 + timedelta(minutes=5), chain)
    assert [(e.key, e.who) for e in first] == [("escalated/ack/KOR/1", "kor-night")]
    inc = record(BOOK, inc, first)
    assert inc.status == "escalated"
    assert due(BOOK, inc, T0 + timedelta(minutes=6), chain) == []
    second = due(BOOK, inc, T0 + timedelta(minutes=7), chain)
    assert [(e.key, e.who) for e in second] == [("escalated/ack/KOR/2", "kor-lead")]
    inc = record(BOOK, inc, second + first)  # recording one twice adds it once
    assert [e.key for e in inc.events if e.type == "escalated"] == [
        "escalated/ack/KOR/1", "escalated/ack/KOR/2"]  # fmt: skip
    # only this nation's tasks: USA's and JPN's missed deadlines are theirs to escalate
    assert all(e.nation == "KOR" for e in inc.events if e.type == "escalated")
    assert due(BOOK, inc, T0 + timedelta(hours=5), chain) == []


def test_a_runner_down_past_every_level_fires_each_once() -> None:
    inc = opened()
    late = due(BOOK, inc, T0 + timedelta(hours=1), chain)
    assert [e.level for e in late] == [1, 2]
    # the person called is who the roster named when each level fell due
    assert [e.who for e in late] == ["kor-night", "kor-lead"]


def test_close_and_cancel() -> None:
    inc = opened()
    inc = receive_ack(BOOK, inc, AckPayload(incident_id="bm-eez:R1", nation="USA",
                      action="cancel", by="usa-lead", at=iso(T0)), origin="USA",
                      report_id="c1", now=T0)  # fmt: skip
    assert inc.status == "open" and inc.events[-1].type == "note"  # a partner's decision
    inc = receive_ack(BOOK, inc, AckPayload(incident_id="bm-eez:R1", nation="KOR",
                      action="cancel", by="kor-lead", at=iso(T0), note="false alarm"),
                      origin="KOR", report_id="c2", now=T0)  # fmt: skip
    assert inc.status == "cancelled"
    assert due(BOOK, inc, T0 + timedelta(hours=1), chain) == []


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("tick"), st.integers(0, 3600)),
            st.tuples(st.sampled_from(["USA", "JPN", "KOR"]), st.integers(0, 3600)),
        ),
        max_size=25,
    )
)
def test_any_order_of_ticks_and_acks_escalates_at_most_once(
    inputs: list[tuple[str, int]],
) -> None:
    inc = opened()
    now = T0
    for what, seconds in sorted(inputs, key=lambda x: x[1]):
        now = T0 + timedelta(seconds=seconds)
        if what == "tick":
            inc = record(BOOK, inc, due(BOOK, inc, now, chain))
        else:
            inc = receive_ack(BOOK, inc, ack(what, at=now), origin=what,
                              report_id=f"{what}-{seconds}", now=now)  # fmt: skip
    inc = record(BOOK, inc, due(BOOK, inc, now, chain))
    keys = [e.key for e in inc.events]
    assert len(keys) == len(set(keys))
    kor_ack = next(t for t in inc.tasks if t.step == "ack" and t.nation == "KOR")
    levels = [e.level for e in inc.events if e.type == "escalated" and e.step == "ack"]
    if kor_ack.done_at is None and now >= T0 + timedelta(minutes=7):
        assert levels == [1, 2]
    validate_payload("crisis.incident", msgspec.to_builtins(inc))


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=20), st.text(max_size=8), st.text(max_size=30),
    st.sampled_from(["ack", "done", "close", "cancel"]), st.sampled_from(["USA", "JPN", "KOR"]),
)  # fmt: skip
def test_fuzz_acknowledgements_never_break_the_incident(
    step: str, nation: str, at: str, action: str, origin: str
) -> None:
    inc = opened()
    bad = AckPayload(incident_id="bm-eez:R1", nation=nation, step=step, by="x", at=at,
                     action=action)  # type: ignore[arg-type]  # fmt: skip
    after = receive_ack(BOOK, inc, bad, origin=origin, report_id="r", now=T0)
    assert len(after.events) <= len(inc.events) + 1
    validate_payload("crisis.incident", msgspec.to_builtins(after))
