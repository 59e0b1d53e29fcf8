"""A node restored from an older backup, with real node processes (issue #15 finding 1).

KOR is backed up while running, publishes more, is stopped and restored from the backup,
started again and publishes again: every report reaches both partners exactly once, KOR
learns back the reports it published after the backup, and every audit chain verifies. The
restore went back past heads of KOR's audit log its partners had witnessed: they record it
as a signed restore, nobody is alarmed, and `audit verify` reports it (issue #15 item 2).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.federation.conftest import cli, holdings, wait_until
from trilink.federation import localnet
from trilink.node.service import NodeService

pytestmark = pytest.mark.slow

SHARED = "SECRET//REL TO USA, JPN, KOR"


def publish(root: Path, nation: str, titles: list[str]) -> set[str]:
    with localnet.client_for(root, nation) as client:
        return set(client.publish_payloads("note", SHARED, [{"title": t} for t in titles]).ids)


def kor_ids(root: Path, nation: str) -> Counter[str]:
    return Counter(str(r["id"]) for r in holdings(root, nation) if r["origin"] == "KOR")


def test_restore_from_an_older_backup_then_publish_loses_nothing(
    net: Path, tmp_path: Path
) -> None:
    config = str(net / "KOR" / "node.toml")
    before = publish(net, "KOR", [f"before {i}" for i in range(3)])
    wait_until(lambda: all(set(kor_ids(net, n)) == before for n in ("USA", "JPN")), 20, "sync")

    backup_file = tmp_path / "kor.backup"
    done = cli("node", "backup", "--config", config, "--out", str(backup_file))
    assert done.returncode == 0, done.stderr
    assert "3 reports" in done.stdout

    lost = publish(net, "KOR", [f"lost {i}" for i in range(5)])
    wait_until(
        lambda: all(set(kor_ids(net, n)) == before | lost for n in ("USA", "JPN")), 20, "sync"
    )

    running = cli("node", "restore", "--config", config, str(backup_file))
    assert running.returncode == 2 and "port" in running.stderr  # refused while it runs
    localnet.stop_node(net, "KOR")
    restored = cli("node", "restore", "--config", config, str(backup_file))
    assert restored.returncode == 0, restored.stderr
    assert set(kor_ids(net, "KOR")) == before

    localnet.start_node(net, "KOR")
    localnet.wait_healthy(net, ["KOR"])
    after = publish(net, "KOR", [f"after {i}" for i in range(4)])
    everything = before | lost | after

    def settled() -> bool:
        return all(set(kor_ids(net, n)) == everything for n in ("USA", "JPN", "KOR"))

    wait_until(settled, 30, "every KOR report on every node")
    for nation in ("USA", "JPN", "KOR"):
        counts = kor_ids(net, nation)
        assert max(counts.values()) == 1, f"{nation} holds a KOR report twice"
        verified = cli("audit", "verify", "--dir", str(net), "--nation", nation)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "could not ask" not in verified.stdout
    assert "restored: the log restored at" in verified.stdout  # KOR's, the last one
    assert "kor.backup" in verified.stdout
    statuses = {s.nation: s.detail["partners"] for s in localnet.net_status(net)}
    alarms = {(n, p): link["audit_alarm"] for n, ps in statuses.items() for p, link in ps.items()}
    assert set(alarms.values()) == {""}, alarms
    with NodeService.open_local(net, "KOR") as kor:
        learned = [r.entry for r in kor.store.audit_rows() if r.entry.event == "reclaim"]
    assert {e.report_id for e in learned if e.outcome == "stored"} == lost
    # (whether a partner also saw KOR's feed diverge depends on whether KOR published before
    # it learned its reports back: rebuilt in the same order, its outbox chain is identical)
