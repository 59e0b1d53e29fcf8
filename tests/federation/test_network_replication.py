"""Three real node processes over mutual TLS: the CLI contract, per-nation truth, faults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.federation.conftest import holdings, wait_until
from trilink.federation import localnet
from trilink.model.label import parse_label
from trilink.node.service import NodeService

pytestmark = pytest.mark.slow

NATIONS = ["USA", "JPN", "KOR"]
LABELS = [
    "SECRET//REL TO USA, JPN, KOR",
    "SECRET//REL TO USA, JPN",
    "CONFIDENTIAL//REL TO USA, KOR",
    "UNCLASSIFIED//REL TO USA, JPN, KOR",
    "TOP SECRET//REL TO USA, JPN, KOR",  # above the local net's SECRET ceiling: stays home
    "SECRET//REL TO USA, JPN, KOR//ORCON",
    "SECRET//NOFORN",
    "EXERCISE//CONFIDENTIAL//REL TO USA, JPN, KOR",
]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trilink", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def may_hold(origin: str, label_text: str, nation: str) -> bool:
    if nation == origin:
        return True
    label = parse_label(label_text)
    return (
        nation in label.rel_to and not label.caveats and label.classification.value <= 3
    )  # SECRET ceiling in write_local_config


def expected_by_nation(published: list[tuple[str, str, str]]) -> dict[str, set[str]]:
    return {
        n: {rid for rid, origin, text in published if may_hold(origin, text, n)} for n in NATIONS
    }


def held_ids(root: Path, nation: str) -> Counter[str]:
    return Counter(str(r["id"]) for r in holdings(root, nation))


def converged(root: Path, expected: dict[str, set[str]]) -> bool:
    return all(set(held_ids(root, n)) == expected[n] for n in NATIONS)


def publish_mix(root: Path, origin: str, per_label: int) -> list[tuple[str, str, str]]:
    published = []
    with localnet.client_for(root, origin) as client:
        for text in LABELS:
            payloads = [{"title": f"{origin} {text} #{i}"} for i in range(per_label)]
            for report_id in client.publish_payloads("note", text, payloads).ids:
                published.append((report_id, origin, text))
    return published


def test_cli_contract_and_per_nation_truth(net: Path, tmp_path: Path) -> None:
    payload = tmp_path / "note.json"
    payload.write_text(json.dumps({"title": "KN-23 launch observed", "body": "east coast"}))
    done = cli(
        "report",
        "publish",
        "--dir",
        str(net),
        "--nation",
        "JPN",
        "--kind",
        "note",
        "--label",
        "SECRET//REL TO USA, JPN",
        "--payload-file",
        str(payload),
    )
    assert done.returncode == 0, done.stderr
    report_id = done.stdout.strip()
    assert len(report_id) == 36

    def listed(nation: str) -> list[dict[str, object]]:
        out = cli("report", "list", "--dir", str(net), "--nation", nation, "--json")
        assert out.returncode == 0, out.stderr
        return [json.loads(line) for line in out.stdout.splitlines()]

    wait_until(lambda: any(r["id"] == report_id for r in listed("USA")), 20, "USA to receive")
    usa = [r for r in listed("USA") if r["id"] == report_id][0]
    assert usa["origin"] == "JPN" and usa["label"] == "SECRET//REL TO USA, JPN"
    assert usa["payload"] == {"title": "KN-23 launch observed", "body": "east coast"}
    assert usa["tombstone"] is False and usa["version"] == 1 and usa["kind"] == "note"
    # KOR must never hold it: give replication every chance first.
    wait_until(lambda: localnet.net_status(net)[2].healthy, 10, "KOR health")
    assert report_id not in {r["id"] for r in listed("KOR")}

    deleted = cli("report", "delete", "--dir", str(net), "--nation", "JPN", report_id)
    assert deleted.returncode == 0, deleted.stderr
    wait_until(
        lambda: any(r["id"] == report_id and r["tombstone"] for r in listed("USA")),
        20,
        "the tombstone to reach USA",
    )
    assert report_id not in {r["id"] for r in listed("KOR")}

    for nation in NATIONS:
        verified = cli("audit", "verify", "--dir", str(net), "--nation", nation)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "intact" in verified.stdout

    bad = cli(
        "report",
        "publish",
        "--dir",
        str(net),
        "--nation",
        "JPN",
        "--kind",
        "note",
        "--label",
        "SECRET//REL TO USA, CHN",
        "--payload-file",
        str(payload),
    )
    assert bad.returncode == 2 and "CHN" in bad.stderr


def test_mixed_labels_reach_exactly_who_may_hold_them(net: Path) -> None:
    published = []
    for origin in NATIONS:
        published += publish_mix(net, origin, per_label=5)
    expected = expected_by_nation(published)
    wait_until(lambda: converged(net, expected), 60, "all nodes to converge")
    for nation in NATIONS:
        assert max(held_ids(net, nation).values()) == 1


def test_kill_9_during_replication_then_restart(net: Path) -> None:
    published = publish_mix(net, "JPN", per_label=400)  # 3,200 reports, 1,600 for USA
    pid = localnet.pid_of(net, "USA")
    assert pid is not None
    # Kill USA as soon as it has taken part of the stream, mid-replication.
    wait_until(lambda: len(held_ids(net, "USA")) > 0, 30, "USA to start receiving")
    os.kill(pid, signal.SIGKILL)
    localnet.stop_node(net, "USA", kill=True)
    partial = len(held_ids(net, "USA"))
    published += publish_mix(net, "KOR", per_label=50)
    localnet.start_node(net, "USA")
    localnet.wait_healthy(net, ["USA"])
    expected = expected_by_nation(published)
    assert partial < len(expected["USA"])
    wait_until(lambda: converged(net, expected), 90, "convergence after kill -9")
    for nation in NATIONS:
        assert max(held_ids(net, nation).values()) == 1
        with NodeService.open_local(net, nation) as node, node.store.read_snapshot():
            from trilink.store.audit import verify_chain

            # rows and head as of one moment: the running node may be auditing meanwhile
            # (a batch JetStream delivers again after the kill is audited as duplicates)
            assert verify_chain(node.store.audit_rows(), node.store.audit_head()) == []


def test_partner_down_for_a_while_then_back(net: Path) -> None:
    localnet.stop_node(net, "KOR")
    published = publish_mix(net, "USA", per_label=20) + publish_mix(net, "JPN", per_label=20)
    # USA and JPN keep working and replicate between themselves while KOR is away.
    expected = expected_by_nation(published)
    wait_until(lambda: set(held_ids(net, "JPN")) == expected["JPN"], 30, "JPN while KOR down")
    statuses = {s.nation: s for s in localnet.net_status(net)}
    assert not statuses["KOR"].healthy
    assert statuses["USA"].detail["partners"]["KOR"]["queued"] > 0
    localnet.start_node(net, "KOR")
    localnet.wait_healthy(net, ["KOR"])
    wait_until(lambda: converged(net, expected), 60, "KOR to catch up")
    for nation in NATIONS:
        assert max(held_ids(net, nation).values()) == 1
