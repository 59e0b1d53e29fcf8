"""Publishing a scenario on three in-process nodes: each nation's tracks on its own node,
fused tracks and warnings derived from the track reports they used, per-nation truth."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trilink.errors import FederationError, LabelError
from trilink.federation import localnet
from trilink.missile.live import ScenarioPublisher, inprocess_sync, open_nodes, wait_for_reports
from trilink.missile.run import iter_cycles
from trilink.missile.sim.scenario import parse_scenario
from trilink.missile.warn.zones import japan_zones
from trilink.node.service import NodeService

SCENARIO: dict[str, Any] = {
    "scenario": {
        "name": "publish test",
        "seed": 21,
        "duration_s": 560,
        "cycle_s": 10,
        "exercise": True,
        "clutter": False,
    },  # fmt: skip
    "labels": {"JPN": "SECRET//REL TO USA, JPN"},
    "launch": [
        {
            "id": "S1",
            "site": "Wonsan Kalma International Airport",
            "impact": [39.2, 134.6],
            "apogee_km": 250,
        }
    ],  # fmt: skip
    "sensors": {"sites": ["JP-FPS5-SADO", "KR-GREENPINE-NCHUNGCHEONG", "KR-THAAD-SEONGJU"]},
    "warning": {"max_semi_major_km": 30, "min_updates": 8},
}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("net")
    localnet.ensure_network(root)
    sc = parse_scenario(copy.deepcopy(SCENARIO), "publish.toml")
    zones, note = japan_zones(sc.view)
    assert zones is not None, note
    nodes = open_nodes(root)
    events: list[dict[str, Any]] = []
    try:
        pub = ScenarioPublisher(
            nodes, sync=lambda: inprocess_sync(nodes), wake=False, timeout_s=5.0,
            on_event=events.append,
        )  # fmt: skip
        for cycle in iter_cycles(sc, zones):
            pub.publish_cycle(cycle, sc)
        stats = pub.stats
    finally:
        for node in nodes.values():
            node.close()
    yield root, {"events": events, "stats": stats}


def holdings(root: Path, nation: str) -> list[Any]:
    with NodeService.open_local(root, nation) as node:
        return [s.report.envelope for s in node.store.reports()]


def test_every_nation_publishes_tracks_fused_tracks_and_warnings(published: Any) -> None:
    root, info = published
    stats = info["stats"]
    for n in ("USA", "JPN", "KOR"):
        assert stats.published[n]["track"] > 20
        assert stats.published[n]["warning"] >= 2  # issue ... cancel
        assert stats.published[n]["fused"] > 0
    for n in ("USA", "JPN", "KOR"):
        for env in holdings(root, n):
            assert env.label.startswith("EXERCISE//")  # the exercise flag end to end
            if env.kind.startswith("missile."):
                assert env.payload_obj()["exercise"] is True


def test_products_derive_from_track_reports_the_node_holds(published: Any) -> None:
    root, _ = published
    for n in ("USA", "JPN", "KOR"):
        envs = holdings(root, n)
        held = {e.id: e for e in envs}
        own_products = [
            e
            for e in envs
            if e.origin == n
            and (e.kind == "missile.warning" or len(e.payload_obj()["nations"]) > 1)
        ]
        assert own_products
        for e in own_products:
            assert e.derived_from, e.kind
            inputs = [held[r] for r in e.derived_from]  # KeyError if the node lacked one
            assert all(i.kind == "missile.track" for i in inputs)
            if any(i.label.endswith("REL TO USA, JPN") for i in inputs):
                assert e.label == "EXERCISE//SECRET//REL TO USA, JPN"


def test_jpn_warning_on_a_rel_usa_jpn_track_never_reaches_kor(published: Any) -> None:
    root, _ = published
    jpn_warnings = [
        e for e in holdings(root, "JPN") if e.origin == "JPN" and e.kind == "missile.warning"
    ]
    assert jpn_warnings and all(e.label.endswith("REL TO USA, JPN") for e in jpn_warnings)
    usa_ids = {e.id for e in holdings(root, "USA")}
    assert {e.id for e in jpn_warnings} <= usa_ids
    kor = holdings(root, "KOR")
    assert not [e for e in kor if e.origin == "JPN"]  # nothing of JPN's reached KOR
    kor_warnings = [e for e in kor if e.kind == "missile.warning"]
    assert kor_warnings  # KOR warns on its own and the USA's tracks
    assert all("JPN" not in e.payload_obj()["nations"] for e in kor_warnings)


def test_node_refuses_a_less_restrictive_product(published: Any) -> None:
    root, _ = published
    with NodeService.open_local(root, "JPN") as node:
        warning = next(
            s.report.envelope for s in node.store.reports(kind="missile.warning")
            if s.report.envelope.origin == "JPN"
        )  # fmt: skip
        with pytest.raises(LabelError, match="less restrictive"):
            node.publish(
                "missile.warning", "EXERCISE//SECRET//REL TO USA, JPN, KOR",
                warning.payload_obj(), derived_from=list(warning.derived_from),
            )  # fmt: skip


def test_waiting_for_partner_tracks_times_out_naming_the_node(published: Any) -> None:
    root, _ = published
    with NodeService.open_local(root, "KOR") as node:
        with pytest.raises(FederationError, match="node KOR did not receive 1 partner"):
            wait_for_reports(node, ["no-such-report"], timeout_s=0.1)
