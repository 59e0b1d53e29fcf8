"""Every engine runs at its own node (issue #13 item 3): three nations' missile trackers as
three processes, each against its own node only, fed its own radars' plots and the partner
tracks its node received through federation; tracks and warnings are living reports."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from tests.conftest import running

from trilink.demo.missile import run_trackers
from trilink.federation import localnet
from trilink.model.label import parse_label
from trilink.node.service import NodeService

pytestmark = pytest.mark.slow
SCENARIO = Path(__file__).resolve().parents[1] / "data" / "missile" / "feeds_srbm.toml"


def trilink(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trilink", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("feeds")
    done = trilink("sim", "missile", str(SCENARIO), "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


def test_the_engine_refuses_another_nations_config(feeds: Path, tmp_path: Path) -> None:
    localnet.ensure_network(tmp_path / "net")
    done = trilink(
        "missile", "track", "--config", str(tmp_path / "net" / "USA" / "node.toml"),
        "--plots", str(feeds / "JPN.plots.jsonl"),
    )  # fmt: skip
    assert done.returncode == 2
    assert "JPN's radars" in done.stderr and "USA's node only" in done.stderr


def test_three_engines_at_three_nodes_warn_through_federation(feeds: Path, tmp_path: Path) -> None:
    root = tmp_path / "net"
    with running(root):
        # the demo's launcher: each nation's `trilink missile track` as its own process
        summaries = run_trackers(root, feeds, 20.0)
        assert all("error" not in s for s in summaries.values()), summaries
        held: dict[str, list[dict[str, object]]] = {}
        for nation in localnet.NATIONS:
            with NodeService.open_local(root, nation) as node:
                held[nation] = [
                    {"id": s.report.envelope.id, "origin": s.report.envelope.origin,
                     "kind": s.report.envelope.kind, "label": s.report.envelope.label,
                     "version": s.report.envelope.version,
                     "payload": s.report.envelope.payload_obj()}
                    for s in node.store.reports()
                ]  # fmt: skip
    # JPN and USA fused what their nodes received from partners; nothing was refused
    assert summaries["USA"]["partner_tracks_seen"] > 0
    assert summaries["JPN"]["partner_tracks_seen"] > 0
    assert all(s["refused"] == 0 for s in summaries.values())
    for nation in localnet.NATIONS:
        versions: dict[str, list[int]] = defaultdict(list)
        for r in held[nation]:
            versions[str(r["id"])].append(int(str(r["version"])))
            # the labels decide who holds what: JPN's reports never reach KOR
            label = parse_label(str(r["label"]))
            assert r["origin"] == nation or nation in label.rel_to
        own_warnings = {
            str(r["id"]) for r in held[nation]
            if r["origin"] == nation and r["kind"] == "missile.warning"
        }  # fmt: skip
        assert len(own_warnings) == 1, f"{nation} warned about one launch, as one report"
        (warning,) = own_warnings
        statuses = [
            r["payload"]["status"]
            for r in held[nation]
            if r["id"] == warning  # type: ignore[index]
        ]
        assert statuses[0] == "issue" and len(statuses) >= 2  # issued, then updated in place
        tracks = [
            r for r in held[nation] if r["origin"] == nation and r["kind"] == "missile.track"
        ]
        assert len({r["id"] for r in tracks}) < len(tracks)  # tracks move on as new versions
    assert not any(r["origin"] == "JPN" for r in held["KOR"])
    assert any(r["origin"] == "JPN" and r["kind"] == "missile.warning" for r in held["USA"])
