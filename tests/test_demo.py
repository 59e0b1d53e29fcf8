"""`make demo` end to end: three real nodes, demo logins, the scripted exchange, the COPs."""

from __future__ import annotations

import io
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
