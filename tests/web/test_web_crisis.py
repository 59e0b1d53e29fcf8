"""The COP's crisis board (#17 item 9): open incidents with acknowledgement state per nation
and the next deadline counting down, and the divergence view of threat assessments, from
what this node holds (a partner's record released elsewhere never shows)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from cop_helpers import TestClient, replicate
from tests.crisis.crisis_samples import BM_EEZ

from trilink.crisis.incident import iso, open_incident, receive_ack
from trilink.crisis.playbook import load_playbook_text
from trilink.model.payloads.crisis import AckPayload, AssessmentPayload, IncidentPayload
from trilink.node.service import NodeService
from trilink.web import create_cop_app

ALL = "SECRET//REL TO USA, JPN, KOR"
BOOK = load_playbook_text(BM_EEZ.read_text("utf-8"), str(BM_EEZ))
ID = "bm-eez:R7"


def record(nation: str, *, acked_by: tuple[str, ...] = ()) -> dict[str, Any]:
    now = datetime.now(UTC)
    inc: IncidentPayload = open_incident(
        BOOK, nation=nation, incident_id=ID, at=now, title="KN-23 launch toward the EEZ",
        trigger_kind="missile.warning", trigger_report="R7",
    )  # fmt: skip
    for n in acked_by:
        ack = AckPayload(incident_id=ID, nation=n, step="ack", by=f"{n.lower()}-day", at=iso(now))
        inc = receive_ack(BOOK, inc, ack, origin=n, report_id=f"ack-{n}", now=now)
    return msgspec.to_builtins(inc)  # type: ignore[no-any-return]


def assessment(nation: str, level: str, confidence: float) -> dict[str, Any]:
    payload = AssessmentPayload(
        event_ref="R7", nation=nation, threat_level=level,  # type: ignore[arg-type]
        actor="DPRK", intent="test", confidence=confidence, at=iso(datetime.now(UTC)),
    )  # fmt: skip
    return msgspec.to_builtins(payload)  # type: ignore[no-any-return]


def test_open_incidents_with_acknowledgements_per_nation(
    net: dict[str, NodeService], cop: dict[str, TestClient]
) -> None:
    net["JPN"].publish("crisis.incident", ALL, record("JPN"))
    net["KOR"].publish("crisis.incident", ALL, record("KOR", acked_by=("KOR",)))
    # USA's record goes to KOR only: JPN's board must not know USA acknowledged
    net["USA"].publish(
        "crisis.incident", "SECRET//REL TO USA, KOR", record("USA", acked_by=("USA",))
    )
    replicate(net)
    board = cop["JPN"].get("/api/crisis").json()
    (row,) = board["incidents"]
    assert row["incident_id"] == ID and row["records"] == ["JPN", "KOR"]
    assert row["acks"]["KOR"] is not None and row["acks"]["JPN"] is None
    assert row["acks"].get("USA") is None and "USA" in row["pending_acks"]
    assert row["seconds_left"] is not None and row["seconds_left"] > 0
    at_kor = cop["KOR"].get("/api/crisis").json()["incidents"][0]
    assert at_kor["records"] == ["USA", "JPN", "KOR"] and at_kor["acks"]["USA"] is not None


def test_divergence_of_assessments(
    net: dict[str, NodeService], cop: dict[str, TestClient]
) -> None:
    net["USA"].publish("crisis.assessment", ALL, assessment("USA", "high", 0.9))
    net["JPN"].publish("crisis.assessment", ALL, assessment("JPN", "critical", 0.5))
    replicate(net)
    (view,) = cop["JPN"].get("/api/crisis").json()["divergence"]
    assert view["nations"] == ["USA", "JPN"] and view["missing"] == ["KOR"]
    assert set(view["disagree"]) == {"threat_level", "confidence"}
    assert set(view["agree"]) == {"actor", "intent"}


def test_the_board_needs_a_login(net: dict[str, NodeService]) -> None:
    with TestClient(create_cop_app(net["JPN"])) as anonymous:
        assert anonymous.get("/api/crisis").status_code == 401
