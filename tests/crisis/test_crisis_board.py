"""The crisis board: every nation's record of an incident merged, acknowledgements read from
the acknowledging nation's own record, deadlines counted down, assessments side by side."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from tests.crisis.crisis_samples import BM_EEZ
from trilink.crisis.board import board, incident_board
from trilink.crisis.incident import iso, open_incident, receive_ack
from trilink.crisis.playbook import load_playbook_text
from trilink.model.payloads.crisis import AckPayload, AssessmentPayload, IncidentPayload

BOOK = load_playbook_text(BM_EEZ.read_text("utf-8"), str(BM_EEZ))
T0 = datetime(2026, 12, 6, 10, 40, tzinfo=UTC)
ID = "bm-eez:R1"


def opened(nation: str, at: datetime = T0) -> IncidentPayload:
    return open_incident(BOOK, nation=nation, incident_id=ID, at=at, title="KN-23 launch",
                         trigger_kind="missile.warning", trigger_report="R1")  # fmt: skip


def acked(inc: IncidentPayload, nation: str, after_s: float) -> IncidentPayload:
    t = T0 + timedelta(seconds=after_s)
    ack = AckPayload(incident_id=ID, nation=nation, step="ack", by=f"{nation.lower()}-day",
                     at=iso(t))  # fmt: skip
    return receive_ack(BOOK, inc, ack, origin=nation, report_id=f"ack-{nation}", now=t)


def test_acknowledgements_come_from_each_nations_own_record() -> None:
    # JPN's node holds its own record (it has seen USA's acknowledgement) and KOR's record,
    # in which KOR acknowledged: KOR's own record speaks for KOR.
    jpn = acked(opened("JPN"), "USA", 30)
    kor = acked(opened("KOR", T0 + timedelta(seconds=2)), "KOR", 50)
    (row,) = incident_board([jpn, kor], own="JPN", now=T0 + timedelta(seconds=60))
    assert row["incident_id"] == ID and row["status"] == "open"
    assert row["records"] == ["JPN", "KOR"] and row["opened_by"] == "JPN"
    assert row["acks"]["USA"] == iso(T0 + timedelta(seconds=30))
    assert row["acks"]["KOR"] == iso(T0 + timedelta(seconds=50))
    assert row["pending_acks"] == ["JPN"]
    assert [t["nation"] for t in row["tasks"]] == [t.nation for t in jpn.tasks]


def test_the_next_deadline_counts_down_and_goes_overdue() -> None:
    inc = opened("JPN")
    (row,) = incident_board([inc], own="JPN", now=T0 + timedelta(seconds=10))
    deadline = datetime.fromisoformat(row["next_deadline"])
    assert row["seconds_left"] == round((deadline - T0).total_seconds() - 10, 1) > 0
    late = deadline + timedelta(seconds=90)
    (row,) = incident_board([inc], own="JPN", now=late)
    assert row["seconds_left"] == -90.0
    active = [t for t in row["tasks"] if t["state"] == "active"]
    assert active and all(t["seconds_left"] is not None for t in active)


def test_resolved_and_cancelled_incidents_leave_the_board() -> None:
    inc = opened("JPN")
    for status in ("resolved", "cancelled"):
        gone = msgspec.structs.replace(inc, status=status)
        assert incident_board([gone], own="JPN", now=T0) == []


def test_assessments_are_laid_side_by_side_newest_event_first() -> None:
    def assess(ref: str, nation: str, level: str, minute: int) -> AssessmentPayload:
        return AssessmentPayload(event_ref=ref, nation=nation, threat_level=level,
                                 confidence=0.8, at=iso(T0 + timedelta(minutes=minute)))  # type: ignore[arg-type]  # fmt: skip

    out = board(
        [],
        [
            assess("R1", "USA", "high", 1),
            assess("R1", "JPN", "critical", 2),
            assess("R2", "KOR", "low", 5),
        ],  # fmt: skip
        own="JPN",
        now=T0,
    )
    assert [d["event_ref"] for d in out["divergence"]] == ["R2", "R1"]
    r1 = out["divergence"][1]
    assert "threat_level" in r1["disagree"] and r1["fields"]["threat_level"]["spread_levels"] == 1
    assert r1["missing"] == ["KOR"]
