"""Three real node processes and three `trilink crisis run` processes, one per nation, each
at its own node: a missile warning published at Japan's node opens the incident at all
three nodes; each nation acknowledges in its own node and every nation sees who has and has
not; Korea's runner is killed (-9) before its deadline and restarted after it: the missed
deadline escalates once per level, none twice, none lost; bad acknowledgements are recorded
as rejected and nothing stops. Then: an incident opened by hand spreads to the partners and,
with Korea's node killed (-9) and restarted under its runner, escalates once per level at
every node; the trigger's cancel reaches every record; CAP release by role; the Atom feed;
assessments side by side; a lesson; the after-action record; the commitments register."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.crisis.crisis_samples import EXAMPLES, fast_playbook, missile_warning, rosters
from tests.federation.conftest import cli, wait_until
from tests.interop.xsd_validator import Validator
from trilink.client import item
from trilink.crisis.incident import parse_time
from trilink.federation import localnet

NATIONS = ("USA", "JPN", "KOR")
LABEL = "EXERCISE//SECRET//REL TO USA, JPN, KOR"
ACK_S = 20.0  # every nation acknowledges within 20 s
INTERVAL_S = 3.0  # then the next on the roster, 3 s later the cell lead


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "net"
    localnet.net_up(root)
    try:
        yield root
    finally:
        for nation in NATIONS:
            localnet.stop_node(root, nation, kill=True)


class Runners:
    def __init__(self, root: Path, playbook: Path, logs: Path) -> None:
        self.root, self.playbook, self.logs = root, playbook, logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, nation: str) -> None:
        with (self.logs / f"{nation}.log").open("ab") as log:
            self.procs[nation] = subprocess.Popen(
                [sys.executable, "-m", "trilink", "crisis", "run", "--dir", str(self.root),
                 "--nation", nation, "--playbook", str(self.playbook),
                 "--roster", str(rosters()[nation]), "--tick", "0.2"],
                stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy(),
            )  # fmt: skip

    def kill9(self, nation: str) -> None:
        proc = self.procs.pop(nation)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


def incident(root: Path, nation: str, incident_id: str) -> dict[str, Any] | None:
    with localnet.client_for(root, nation) as client:
        for report in client.reports(kind="crisis.incident", origin=nation):
            if report["payload"]["incident_id"] == incident_id:
                return dict(report["payload"])
    return None


def escalations(payload: dict[str, Any] | None) -> list[str]:
    return [e["key"] for e in (payload or {}).get("events", []) if e["type"] == "escalated"]


@pytest.mark.slow
def test_three_nations_acknowledge_and_escalate_across_restarts(net: Path, tmp_path: Path) -> None:
    playbook = tmp_path / "bm-fast.toml"
    playbook.write_text(fast_playbook(ack_s=ACK_S, interval_s=INTERVAL_S), "utf-8")
    runners = Runners(net, playbook, tmp_path)
    try:
        for nation in NATIONS:
            runners.start(nation)
        with localnet.client_for(net, "JPN") as jpn:
            warning_id = jpn.publish([item("missile.warning", LABEL, missile_warning())]).ids[0]
            incident_id = f"bm-fast:{warning_id}"
            # an acknowledgement for an incident nobody has: kept, counted, harmless
            jpn.publish([item("crisis.ack", LABEL, {
                "incident_id": "bm-fast:nope", "nation": "JPN", "step": "ack", "by": "x",
                "at": "2026-12-06T10:00:00Z"})])  # fmt: skip
        wait_until(
            lambda: all(incident(net, n, incident_id) for n in NATIONS),
            timeout_s=30, what="the incident open at all three nodes",
        )  # fmt: skip
        # Korea's runner dies before its deadline; USA and JPN acknowledge in their nodes
        runners.kill9("KOR")
        for nation, who in (("USA", "usa-day"), ("JPN", "jpn-day")):
            res = cli("crisis", "ack", incident_id, "--dir", str(net), "--nation", nation,
                      "--by", who, "--role", "duty-officer")  # fmt: skip
            assert res.returncode == 0, res.stderr
        # a forged acknowledgement: KOR's node claims it is the USA's
        with localnet.client_for(net, "KOR") as kor:
            kor.publish([item("crisis.ack", LABEL, {
                "incident_id": incident_id, "nation": "USA", "step": "ack", "by": "mallory",
                "at": "2026-12-06T10:00:00Z"})])  # fmt: skip

        def usa_sees_two() -> bool:
            p = incident(net, "USA", incident_id)
            return bool(p and p["acks"]["USA"] and p["acks"]["JPN"] and not p["acks"]["KOR"])

        wait_until(usa_sees_two, timeout_s=30, what="USA seeing USA and JPN acknowledged")
        # past KOR's deadline and both escalation levels, with KOR's runner dead
        opened = incident(net, "KOR", incident_id)
        assert opened is not None and escalations(opened) == []
        both_due = parse_time(opened["opened_at"]).timestamp() + ACK_S + INTERVAL_S + 1.0
        time.sleep(max(0.0, both_due - time.time()))
        assert escalations(incident(net, "KOR", incident_id)) == []  # nobody escalated it
        runners.start("KOR")
        wait_until(
            lambda: len(escalations(incident(net, "KOR", incident_id))) == 2,
            timeout_s=30, what="KOR's missed deadline escalated after restart",
        )  # fmt: skip
        kor = incident(net, "KOR", incident_id)
        assert kor is not None
        assert escalations(kor) == ["escalated/ack/KOR/1", "escalated/ack/KOR/2"]
        called = [e["who"] for e in kor["events"] if e["type"] == "escalated"]
        assert called[1] == "kor-lead" and called[0] in ("kor-day", "kor-night")
        assert kor["status"] == "escalated"
        # KOR saw the acknowledgements that arrived while it was down, and the forgery
        assert kor["acks"]["USA"] and kor["acks"]["JPN"] and kor["acks"]["KOR"] is None
        rejected = [e for e in kor["events"] if e["type"] == "rejected"]
        assert len(rejected) == 1 and "published by KOR's node" in rejected[0]["detail"]
        # kill -9 again and restart: nothing fires twice
        runners.kill9("KOR")
        runners.start("KOR")
        res = cli("crisis", "ack", incident_id, "--dir", str(net), "--nation", "KOR",
                  "--by", "kor-lead", "--role", "cell-lead")  # fmt: skip
        assert res.returncode == 0, res.stderr

        def all_acknowledged() -> bool:
            ps = [incident(net, n, incident_id) for n in NATIONS]
            return all(p and p["status"] == "acknowledged" for p in ps)

        wait_until(all_acknowledged, timeout_s=30, what="all three nodes: acknowledged")
        final = {n: incident(net, n, incident_id) for n in NATIONS}
        for nation, p in final.items():
            assert p is not None
            keys = Counter(e["key"] for e in p["events"])
            assert max(keys.values()) == 1, (nation, keys)
            assert set(p["acks"]) == set(NATIONS) and all(p["acks"].values())
        assert escalations(final["KOR"]) == ["escalated/ack/KOR/1", "escalated/ack/KOR/2"]
        assert escalations(final["USA"]) == escalations(final["JPN"]) == []
        # the status command shows it
        res = cli("crisis", "status", incident_id, "--dir", str(net), "--nation", "USA")
        assert res.returncode == 0 and "acknowledged" in res.stdout, res.stderr
        by_hand = by_hand_and_trigger_updates(net, playbook, warning_id, incident_id)
        public_products(net, tmp_path, playbook, incident_id, warning_id)
        commitments_history(net, tmp_path)
        escalated_once_everywhere(net, by_hand)
        res = cli("crisis", "ack", "bm-fast:nope", "--dir", str(net), "--nation", "USA",
                  "--by", "usa-day")  # fmt: skip
        assert res.returncode == 2 and "USA's node holds no incident 'bm-fast:nope'" in res.stderr
    finally:
        runners.stop_all()
    # the acknowledgement for an incident nobody opened was kept aside, not lost, not fatal
    for nation in NATIONS:
        last = (tmp_path / f"{nation}.log").read_text("utf-8").strip().splitlines()[-1]
        assert last.endswith("1 acknowledgements for incidents not open here"), last


def by_hand_and_trigger_updates(net: Path, playbook: Path, warning: str, incident_id: str) -> str:
    """An incident opened by hand at USA's node opens at all three (partners join it); the
    trigger's next version (the warning cancelled) is recorded in every nation's incident."""
    res = cli("crisis", "open", "--dir", str(net), "--nation", "USA", "--playbook",
              str(playbook), "--title", "Launch reported by a fishing boat", "--by", "usa-day",
              "--label", LABEL)  # fmt: skip
    assert res.returncode == 0, res.stderr
    by_hand = res.stdout.strip()
    wait_until(lambda: all(incident(net, n, by_hand) for n in NATIONS), timeout_s=30,
               what="the hand-opened incident at all three nodes")  # fmt: skip
    kinds = {n: (incident(net, n, by_hand) or {})["events"][0]["type"] for n in NATIONS}
    assert kinds == {"USA": "opened", "JPN": "joined", "KOR": "joined"}
    # nobody acknowledges it; KOR's node is killed (-9) and restarted under its runner
    localnet.stop_node(net, "KOR", kill=True)
    time.sleep(2)  # the outage: KOR stays down for a while, and its runner must ride it out
    localnet.start_node(net, "KOR")
    localnet.wait_healthy(net, ["KOR"], timeout_s=60)
    with localnet.client_for(net, "JPN") as jpn:
        jpn.publish([item("missile.warning", LABEL, missile_warning("cancel"), report_id=warning)])

    def cancelled_everywhere() -> bool:
        return all(
            any(e["type"] == "trigger" and "cancel" in e["detail"]
                for e in (incident(net, n, incident_id) or {}).get("events", []))
            for n in NATIONS
        )  # fmt: skip

    wait_until(cancelled_everywhere, timeout_s=30, what="the cancelled warning in every record")
    return by_hand


def escalated_once_everywhere(net: Path, incident_id: str) -> None:
    """Every nation escalated its own missed acknowledgement of ``incident_id`` once per
    level, and holds one record of it (also KOR, whose node was killed meanwhile)."""

    def two_each() -> bool:
        return all(len(escalations(incident(net, n, incident_id))) == 2 for n in NATIONS)

    wait_until(two_each, timeout_s=60, what="both escalation levels at every node")
    for nation in NATIONS:
        with localnet.client_for(net, nation) as client:
            mine = [r for r in client.reports(kind="crisis.incident", origin=nation)
                    if r["payload"]["incident_id"] == incident_id]  # fmt: skip
        assert len(mine) == 1, nation
        assert escalations(mine[0]["payload"]) == [
            f"escalated/ack/{nation}/1", f"escalated/ack/{nation}/2"]  # fmt: skip


def public_products(net: Path, tmp: Path, playbook: Path, incident_id: str, warning: str) -> None:
    """CAP release by role (refused without it), the Atom feed, assessments side by side,
    a lesson, and the after-action record, all through the nodes' APIs."""
    d = ["--dir", str(net)]
    jpn_roster = str(rosters()["JPN"])
    refused = cli("crisis", "cap", incident_id, *d, "--nation", "JPN", "--playbook",
                  str(playbook), "--out", str(tmp / "cap"), "--release", "alert",
                  "--by", "jpn-lead", "--roster", jpn_roster)  # fmt: skip
    assert refused.returncode == 2
    assert "release refused: jpn-lead does not hold the release role 'pio'" in refused.stderr
    with localnet.client_for(net, "JPN") as jpn:  # the refusal is in JPN's audit log
        rows = [r for r in jpn.audit(newest=200) if r["event"] == "engine"]
    assert [(r["outcome"], r["actor"]) for r in rows] == [("refused", "api:local-admin")]
    assert rows[0]["reason"].startswith(f"crisis.cap.release: alert of incident {incident_id}")
    assert "jpn-lead" in rows[0]["reason"] and "'pio'" in rows[0]["reason"]
    res = cli("crisis", "cap", incident_id, *d, "--nation", "JPN", "--playbook", str(playbook),
              "--out", str(tmp / "cap"), "--release", "alert", "--by", "jpn-day",
              "--roster", jpn_roster)  # fmt: skip
    assert res.returncode == 0, res.stderr
    files = sorted(p.name for p in (tmp / "cap").iterdir())
    assert files == ["01-alert.xml", "02-update.xml", "03-cancel.xml"]
    validator = Validator(Path(__file__).resolve().parent / "schemas" / "CAP-v1.2.xsd")
    for name in files:
        assert validator.errors((tmp / "cap" / name).read_bytes()) == [], name
    assert "+09:00</sent>" in (tmp / "cap" / "01-alert.xml").read_text("utf-8")

    def alert_at(nation: str) -> list[dict[str, Any]]:
        with localnet.client_for(net, nation) as client:
            return client.reports(kind="crisis.alert")

    wait_until(lambda: bool(alert_at("KOR")), timeout_s=30, what="the public alert at KOR")
    (held,) = alert_at("KOR")
    assert (
        held["label"] == "EXERCISE//UNCLASSIFIED//REL TO USA, JPN, KOR" and held["origin"] == "JPN"
    )
    assert held["payload"]["released_by"] == "jpn-day" and "launch_lat" in held["payload"][
        "redacted"]  # fmt: skip
    # a SECRET report of kind crisis.alert at KOR's node never reaches the public
    with localnet.client_for(net, "KOR") as kor:
        kor.publish([item("crisis.alert", LABEL, held["payload"] | {
            "identifier": "not-for-the-public", "nation": "KOR"})])  # fmt: skip
    res = cli("crisis", "feed", *d, "--nation", "KOR", "--out", str(tmp / "feed.xml"))
    assert res.returncode == 0 and "1 alerts" in res.stdout, res.stderr
    served_feed(net, held["payload"]["identifier"], validator)
    # each nation's own assessment, then the view side by side at one node
    for nation, level, conf in (("USA", "high", "0.8"), ("JPN", "critical", "0.9"),
                                ("KOR", "high", "0.7")):  # fmt: skip
        res = cli("crisis", "assess", warning, *d, "--nation", nation, "--level", level,
                  "--confidence", conf, "--actor", "DPRK", "--label", LABEL)  # fmt: skip
        assert res.returncode == 0, res.stderr

    def divergence() -> dict[str, Any]:
        res = cli("crisis", "divergence", warning, *d, "--nation", "USA", "--json")
        assert res.returncode == 0, res.stderr
        return dict(json.loads(res.stdout))

    wait_until(lambda: divergence()["missing"] == [], timeout_s=30, what="three assessments")
    view = divergence()
    assert view["disagree"] == ["threat_level"] and "actor" in view["agree"]
    lesson = "KOR's cell was down: keep two runners' worth of duty officers"
    res = cli("crisis", "lesson", incident_id, *d, "--nation", "KOR", "--text", lesson,
              "--by", "kor-lead")  # fmt: skip
    assert res.returncode == 0, res.stderr
    wait_until(lambda: bool(_lessons(net, "JPN")), timeout_s=30, what="KOR's lesson at JPN")
    res = cli("crisis", "timeline", incident_id, *d, "--nation", "JPN", "--out",
              str(tmp / "report.html"))  # fmt: skip
    assert res.returncode == 0, res.stderr
    page = (tmp / "report.html").read_text("utf-8")
    assert "Missile launch: take shelter" in page and "keep two runners" in page
    # JPN's record shows KOR's own record as JPN's node holds it: acknowledged, 2 escalations
    assert "<svg" in page and re.search(r"KOR</td><td>acknowledged</td><td>[^<]+</td><td>2<", page)
    res = cli("crisis", "timeline", incident_id, *d, "--nation", "KOR", "--out",
              str(tmp / "report.png"))  # fmt: skip
    assert res.returncode == 0 and (tmp / "report.png").read_bytes().startswith(b"\x89PNG")


def served_feed(net: Path, identifier: str, validator: Validator) -> None:
    """KOR's public CAP feed served over HTTP: the released message, nothing classified."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "trilink", "crisis", "feed", "--dir", str(net), "--nation", "KOR",
         "--serve", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{base}/cap.atom", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, timeout_s=30, what="the public feed")
        atom = httpx.get(f"{base}/cap.atom").text
        assert f"urn:cap:{identifier}" in atom and "not-for-the-public" not in atom
        message = httpx.get(f"{base}/cap/{identifier}.xml")
        assert message.headers["content-type"].startswith("application/cap+xml")
        assert validator.errors(message.content) == []
        assert httpx.get(f"{base}/cap/not-for-the-public.xml").status_code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def commitments_history(net: Path, tmp: Path) -> None:
    """The register published at JPN's node: a new version only for what changed, and the
    partners receive the history."""
    register = tmp / "commitments.toml"
    text = (EXAMPLES / "commitments.toml").read_text("utf-8")
    register.write_text(text, "utf-8")
    d = ["--dir", str(net), "--nation", "JPN"]
    res = cli("crisis", "commitments", "publish", str(register), *d)
    assert res.returncode == 0 and "4 of 4 commitments published" in res.stdout, res.stderr
    res = cli("crisis", "commitments", "publish", str(register), *d)
    assert "0 of 4 commitments published (none changed)" in res.stdout, res.stderr
    register.write_text(text.replace('"2026-09-14"]', '"2026-09-14", "2026-12-05"]'), "utf-8")
    res = cli("crisis", "commitments", "publish", str(register), *d)
    assert "1 of 4 commitments published: hotline-test" in res.stdout, res.stderr

    def kor_history() -> list[dict[str, Any]]:
        with localnet.client_for(net, "KOR") as client:
            return [r for r in client.reports(kind="crisis.commitment", all_versions=True)
                    if r["payload"]["commitment_id"] == "hotline-test"]  # fmt: skip

    wait_until(lambda: len(kor_history()) == 2, timeout_s=30, what="the history at KOR")
    versions = sorted(kor_history(), key=lambda r: r["version"])
    assert [v["payload"]["next_due"] for v in versions] == ["2026-12-14", "2027-03-05"]


def _lessons(net: Path, nation: str) -> list[dict[str, Any]]:
    with localnet.client_for(net, nation) as client:
        return client.reports(kind="crisis.lesson")
