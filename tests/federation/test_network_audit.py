"""Anchored audit with real node processes (issue #15 item 2).

KOR publishes and replicates, then stops: it signs its audit head at shutdown and hands it
to its partners. Its database is then thrown away and KOR started again on an empty one,
as an insider would to erase what it did. At its first exchange with each partner KOR sees
that they hold a head of its log that its log no longer has (an alarm in its status, its
log and its audit), its partners refuse its new log, and `trilink audit verify` names what
they witnessed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import drop_pg_schema
from tests.federation.conftest import cli, wait_until
from trilink.federation import localnet
from trilink.node.config import load_node_config
from trilink.node.service import NodeService
from trilink.store import open_store

pytestmark = pytest.mark.slow

SHARED = "SECRET//REL TO USA, JPN, KOR"


def links(root: Path) -> dict[str, dict[str, Any]]:
    """Each running node's partner links, from its /v1/status."""
    return {s.nation: s.detail.get("partners", {}) for s in localnet.net_status(root)}


def witnessed_row(root: Path, witness: str, nation: str) -> int:
    store = open_store(load_node_config(root / witness / "node.toml").db_url)
    try:
        held = store.witnessed_head(nation)
    finally:
        store.close()
    return int(json.loads(held[0])["seq"]) if held else 0


def test_a_node_started_again_on_an_empty_database_is_detected(net: Path) -> None:
    with localnet.client_for(net, "KOR") as client:
        ids = set(client.publish_payloads("note", SHARED, [{"title": "a"}] * 3).ids)

    def synced() -> bool:
        for nation in ("USA", "JPN"):
            with NodeService.open_local(net, nation) as node:
                if not ids <= {s.report.envelope.id for s in node.store.reports()}:
                    return False
        return True

    wait_until(synced, 30, "KOR's reports at USA and JPN")
    localnet.stop_node(net, "KOR")
    store = open_store(load_node_config(net / "KOR" / "node.toml").db_url)
    try:
        final = store.audit_head()
    finally:
        store.close()
    assert final is not None
    # the head KOR signed as it stopped reached both partners
    assert witnessed_row(net, "JPN", "KOR") == witnessed_row(net, "USA", "KOR") == final[0]

    db_url = load_node_config(net / "KOR" / "node.toml").db_url
    if db_url.startswith("postgresql://"):  # TRILINK_TEST_DB=postgres
        drop_pg_schema(db_url)
    else:
        for path in (Path(db_url), Path(f"{db_url}-wal"), Path(f"{db_url}-shm")):
            path.unlink(missing_ok=True)
    localnet.start_node(net, "KOR")
    localnet.wait_healthy(net, ["KOR"])

    def alarmed() -> bool:
        now = links(net)
        return all(now["KOR"].get(p, {}).get("audit_alarm") for p in ("USA", "JPN")) and all(
            now[p].get("KOR", {}).get("audit_alarm") for p in ("USA", "JPN")
        )

    wait_until(alarmed, 30, "KOR and its partners to raise audit alarms")
    now = links(net)
    assert f"holds our head of row {final[0]}" in now["KOR"]["JPN"]["audit_alarm"]
    assert "history rewritten or truncated" in now["JPN"]["KOR"]["audit_alarm"]
    log = (net / "KOR" / "node.log").read_text()
    assert "ERROR" in log and f"holds our head of row {final[0]}" in log
    assert witnessed_row(net, "JPN", "KOR") == final[0]  # the new log did not replace it

    verified = cli("audit", "verify", "--dir", str(net), "--nation", "KOR")
    assert verified.returncode == 1, verified.stdout + verified.stderr
    for partner in ("JPN", "USA"):
        assert f"{partner} holds our head of row {final[0]}" in verified.stdout
    assert "BROKEN" in verified.stdout
    intact = cli("audit", "verify", "--dir", str(net), "--nation", "JPN")
    assert intact.returncode == 0, intact.stdout + intact.stderr
