"""`make demo` end to end: three real nodes, demo logins, the scripted exchange, the COPs."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from trilink.demo import NATIONS, ensure_demo_users, holdings, may_hold, run_demo
from trilink.federation import localnet
from trilink.federation.localnet import LOCAL_COP_PORTS

pytestmark = pytest.mark.slow


@pytest.fixture
def demo_dir(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "demo"
    try:
        yield root
    finally:
        for nation in NATIONS:
            localnet.stop_node(root, nation, kill=True)


def test_demo_plays_and_every_node_holds_exactly_what_it_may(demo_dir: Path) -> None:
    localnet.ensure_network(demo_dir)
    logins = ensure_demo_users(demo_dir)
    assert ensure_demo_users(demo_dir) == logins  # idempotent
    out = io.StringIO()
    rows = run_demo(demo_dir, Console(file=out, width=160), pause_s=0.2)
    assert len(rows) == 6

    def settled() -> bool:
        held = holdings(demo_dir)
        return all(
            (row.report_id in held[n]) == may_hold(row.origin, row.label, n)
            and (
                row.report_id not in held[n]
                or held[n][row.report_id][0] == row.version + (1 if row.deleted else 0)
            )
            for row in rows
            for n in NATIONS
        )

    from tests.federation.conftest import wait_until

    wait_until(settled, 60, "the demo's reports to settle on every node")
    assert "LEAK" not in out.getvalue()
    for nation in NATIONS:
        user, password = logins[nation]
        with httpx.Client(
            base_url=f"http://127.0.0.1:{LOCAL_COP_PORTS[nation]}", timeout=10
        ) as client:
            page = client.get("/login")
            assert page.status_code == 200
            assert "trilink" in page.text


def test_maritime_scenes_publish_what_each_nation_reports(tmp_path: Path) -> None:
    """The scenes publish through each nation's node API (nodes running); a vessel replayed
    in two steps is one report with two versions."""
    from collections import Counter

    from tests.conftest import running
    from trilink.demo.maritime import east_asia_exercise, suez_replay
    from trilink.node.service import NodeService

    root = tmp_path / "demo"
    said: list[str] = []
    with running(root):
        east_asia_exercise(root, said.append, vessels=10)
        suez_replay(root, said.append, steps=2, pause_s=0.0)

    def kinds(nation: str) -> tuple[Counter[str], list[dict[str, object]]]:
        with NodeService.open_local(root, nation) as node:
            stored = [s.report.envelope for s in node.store.reports() if s.received_from is None]
        events = [e.payload_obj() for e in stored if e.kind == "maritime.event"]
        return Counter(e.kind for e in stored), events

    kor, kor_events = kinds("KOR")
    jpn, jpn_events = kinds("JPN")
    usa, _ = kinds("USA")
    assert any(e["type"] == "encounter" for e in kor_events)  # the planted STS transfer
    assert kor["sanctions.hit"] >= 1 and kor["maritime.track"] >= 10
    assert sum(e["type"] == "foreign_fishing" for e in jpn_events) == 4  # Yamato Bank
    assert usa["maritime.track"] > 0 and "maritime.event" not in usa
    with NodeService.open_local(root, "USA") as node:
        tracks = [
            s.report.envelope
            for s in node.store.reports(kind="maritime.track")
            if s.report.envelope.origin == "USA"
        ]
    ids_of_vessel: dict[int, set[str]] = {}
    for e in tracks:
        ids_of_vessel.setdefault(int(e.payload_obj()["mmsi"]), set()).add(e.id)
    assert all(len(ids) == 1 for ids in ids_of_vessel.values())  # one report per vessel
    assert max(e.version for e in tracks) == 2  # its next step is a new version
    assert any("real AIS replay" in line for line in said)


def test_the_demos_crisis_cells_open_the_incident_and_two_nations_acknowledge(
    tmp_path: Path,
) -> None:
    """The demo's crisis scene through real processes: the three cells follow their nodes,
    a warning into Japan's EEZ at JPN opens the incident at every node, USA and KOR
    acknowledge it in their own nodes, JPN's stays pending; the cells stop when asked."""
    from tests.conftest import running
    from tests.crisis.crisis_samples import missile_warning
    from trilink.client import item
    from trilink.demo.crisis import acknowledge, start_crisis_cells, stop_crisis_cells

    root = tmp_path / "demo"
    said: list[str] = []
    with running(root):
        cells = start_crisis_cells(root, said.append)
        try:
            assert len(cells) == 3 and all(c.poll() is None for c in cells)
            time.sleep(3)  # the cells read their nodes back before following them
            with localnet.client_for(root, "JPN") as jpn:
                jpn.publish([item("missile.warning", "EXERCISE//SECRET//REL TO USA, JPN, KOR",
                                  missile_warning())])  # fmt: skip
            (incident_id,) = acknowledge(root, said.append, timeout_s=60)

            def acks_at(nation: str) -> dict[str, object]:
                with localnet.client_for(root, nation) as client:
                    (mine,) = [r for r in client.reports(kind="crisis.incident", origin=nation)
                               if r["payload"]["incident_id"] == incident_id]  # fmt: skip
                return dict(mine["payload"]["acks"])

            deadline = time.monotonic() + 30
            while True:
                acks = acks_at("JPN")
                if (acks["USA"] and acks["KOR"]) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert acks["USA"] and acks["KOR"] and acks["JPN"] is None, acks
        finally:
            assert sorted(stop_crisis_cells(root)) == ["JPN", "KOR", "USA"]
            for cell in cells:
                cell.wait(timeout=20)
    assert any("USA and KOR acknowledged, JPN pending" in line for line in said), said


def test_the_demo_played_twice_starts_over_instead_of_doubling(demo_dir: Path) -> None:
    """`make demo` run again in the same directory: the nodes come back with their keys and
    empty stores, so the second run holds what one run holds, not twice that."""
    from trilink.demo import PLAYED_MARKER, reset_played_demo

    def own_notes() -> dict[str, int]:
        counts = {}
        for nation in NATIONS:
            with localnet.client_for(demo_dir, nation) as client:
                counts[nation] = len(client.reports(kind="note"))
        return counts

    localnet.ensure_network(demo_dir)
    assert reset_played_demo(demo_dir) == []  # a fresh directory: nothing to reset
    key = (demo_dir / "USA" / "signing.key").read_bytes()
    run_demo(demo_dir, Console(file=io.StringIO(), width=160), pause_s=0.0)
    assert (demo_dir / PLAYED_MARKER).exists()
    from tests.federation.conftest import wait_until

    first: dict[str, int] = {}

    def settled() -> bool:
        nonlocal first
        first = own_notes()
        return first["USA"] >= 5

    wait_until(settled, 60, "the first run's notes")
    removed = reset_played_demo(demo_dir)
    assert any(p.endswith("node.db") for p in removed)
    assert not any(localnet.pid_of(demo_dir, n) for n in NATIONS)  # stopped first
    localnet.ensure_network(demo_dir)
    run_demo(demo_dir, Console(file=io.StringIO(), width=160), pause_s=0.0)
    wait_until(lambda: own_notes() == first, 60, "the second run to hold what the first held")
    assert (demo_dir / "USA" / "signing.key").read_bytes() == key  # same nodes, same keys
