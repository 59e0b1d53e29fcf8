"""Replication that survives a restore and a hostile burst (issue #15 findings 1 and 2).

In-process nodes joined by the in-memory transport, running the real replicator: a node
restored from an older copy of its database, and a sender whose refused items once moved
the receiver's cursor past its real feed.
"""

from __future__ import annotations

import shutil
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.conftest import Network
from tests.federation.hostile import push_from_jpn

SHARED = "SECRET//REL TO USA, JPN, KOR"


def ids_of(node: Any, origin: str) -> list[str]:
    return sorted(
        {s.report.envelope.id for s in node.store.reports() if s.report.envelope.origin == origin}
    )


def copy_database(network: Network, nation: str, to: Path) -> None:
    """A cold copy of a node's SQLite database, as an operator's file backup would be."""
    network.reopen(nation)  # closing checkpoints the WAL into the main file
    network._nodes.pop(nation).close()
    shutil.copyfile(network.db_url(nation), to)
    network.node(nation)


def put_back(network: Network, nation: str, copy: Path) -> None:
    node = network._nodes.pop(nation)
    node.close()
    db = Path(network.db_url(nation))
    for extra in (Path(f"{db}-wal"), Path(f"{db}-shm")):
        extra.unlink(missing_ok=True)
    shutil.copyfile(copy, db)
    network.reopen(nation)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize("published_after_restore", [4, 9])
def test_node_restored_from_an_older_copy_loses_nothing(
    network: Network, tmp_path: Path, published_after_restore: int
) -> None:
    """KOR is restored from a copy taken before 5 of its reports; then it publishes again
    (fewer, then more, than it had queued before the restore). Every report reaches both
    partners exactly once, and KOR learns back the 5 it lost."""
    kor = network["KOR"]
    kor.publish_many("note", SHARED, [{"title": f"before {i}"} for i in range(3)])
    network.deliver_all()
    backup = tmp_path / "kor-backup.db"
    copy_database(network, "KOR", backup)

    lost = network["KOR"].publish_many("note", SHARED, [{"title": f"lost {i}"} for i in range(5)])
    network.deliver_all()
    assert len(ids_of(network["USA"], "KOR")) == 8

    put_back(network, "KOR", backup)
    assert len(ids_of(network["KOR"], "KOR")) == 3
    new = network["KOR"].publish_many(
        "note", SHARED, [{"title": f"after {i}"} for i in range(published_after_restore)]
    )
    for partner in ("USA", "JPN"):
        result = network.deliver("KOR", partner)
        assert result.resync, "the receiver must see that KOR's history went back"
        held = ids_of(network[partner], "KOR")
        assert {r.envelope.id for r in new} <= set(held)
        assert len(held) == 8 + published_after_restore
        assert network[partner].store.report_count() == 8 + published_after_restore
        resyncs = [r for r in network[partner].store.audit_rows() if r.entry.outcome == "resync"]
        assert len(resyncs) == 1 and "KOR" == resyncs[0].entry.partner

    # KOR learns back what it lost, from either partner, and queues it again under its policy
    assert network.memory.reclaim("KOR", "USA") == 5
    assert network.memory.reclaim("KOR", "JPN") == 0  # asked once; nothing is left to learn
    held = set(ids_of(network["KOR"], "KOR"))
    assert {r.envelope.id for r in lost} <= held
    assert len(held) == 8 + published_after_restore
    # the partners then take nothing twice
    for partner in ("USA", "JPN"):
        network.deliver("KOR", partner)
        assert network[partner].store.report_count() == 8 + published_after_restore


def hostile_burst(network: Network, count: int) -> None:
    """JPN's certificate, junk items, each refused by USA."""
    sig = '{"alg":"x","key_id":"x","root":"00","size":1,"index":0,"proof":[],"sig":"x"}'
    result = push_from_jpn(network, [(b'{"id":"junk","version":1}', sig)] * count)
    assert result.rejected == count and result.accepted == 0


@pytest.mark.parametrize("engine", ["sqlite", "postgres"], indirect=True)
def test_a_burst_of_refused_items_does_not_swallow_the_next_genuine_report(
    network: Network,
) -> None:
    jpn, usa = network["JPN"], network["USA"]
    first = jpn.publish("note", SHARED, {"title": "genuine 1"})
    assert network.memory.push("JPN", "USA") == 1
    hostile_burst(network, 49)
    assert usa.store.cursor("JPN")[0] == 50
    genuine = jpn.publish("note", SHARED, {"title": "genuine 2"})
    network.memory.push("JPN", "USA")
    assert {first.envelope.id, genuine.envelope.id} <= set(ids_of(usa, "JPN"))
    assert usa.store.report_count() == 2
    assert jpn.store.cursor("USA")[1] <= jpn.store.outbox_head("USA")  # no negative queue
    refused = [r for r in usa.store.audit_rows() if r.entry.outcome == "rejected"]
    assert len(refused) == 49


@pytest.mark.parametrize("engine", ["sqlite", "postgres"], indirect=True)
def test_accept_ceiling_refuses_what_this_node_may_not_hold_and_the_rest_arrives(
    network: Network,
) -> None:
    """USA releases TOP SECRET to JPN (its ceiling for JPN says so), but JPN's node is
    accredited to SECRET: JPN refuses and audits each such report, stores the others, and
    pulling again neither refuses twice nor loses the later reports."""
    config = network.root / "USA" / "node.toml"
    doc = tomllib.loads(config.read_text())
    doc["partners"]["JPN"]["ceiling"] = "TOP SECRET"
    config.write_text(tomli_w.dumps(doc))
    usa = network.reopen("USA")
    assert usa.config.policy.partners["JPN"].ceiling.text == "TOP SECRET"
    jpn = network["JPN"]
    secret = usa.publish("note", SHARED, {"title": "secret"})
    top = usa.publish_many(
        "note", "TOP SECRET//REL TO USA, JPN", [{"title": f"ts {i}"} for i in range(3)]
    )
    after = usa.publish("note", SHARED, {"title": "after"})
    result = network.deliver("USA", "JPN")
    assert (result.accepted, result.rejected) == (2, 3)
    assert set(ids_of(jpn, "USA")) == {secret.envelope.id, after.envelope.id}
    refused = [r.entry for r in jpn.store.audit_rows() if r.entry.outcome == "rejected"]
    assert {e.report_id for e in refused} == {r.envelope.id for r in top}
    assert all("above this node's accept ceiling SECRET" in e.reason for e in refused)
    again = network.deliver("USA", "JPN")
    assert (again.accepted, again.rejected) == (0, 0)
    assert jpn.store.cursor("USA")[0] == 5


def test_net_up_is_not_fooled_by_a_zombie_or_a_reused_pid(tmp_path: Path) -> None:
    """#15 finding 8: right after a kill -9, `net up` sometimes took the zombie for a live
    node. A pid file naming a zombie, or a pid now used by another program, is not a node."""
    import subprocess
    import sys

    from trilink.federation import localnet

    (tmp_path / "JPN").mkdir()
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{zombie.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    (tmp_path / "JPN" / "node.pid").write_text(str(zombie.pid))
    assert localnet.pid_of(tmp_path, "JPN") is None  # exited, not yet reaped by its parent
    zombie.wait()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / "JPN" / "node.pid").write_text(str(other.pid))
        assert localnet.pid_of(tmp_path, "JPN") is None  # alive, but not a trilink node
    finally:
        other.kill()
        other.wait()
