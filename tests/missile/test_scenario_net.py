"""`trilink missile scenario run --publish --dir` against three real local node processes:
the scenario's per-nation plot feeds, each nation's tracker a process of its own at its own
node (no process opens a node or holds a key)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trilink.cli.app import app
from trilink.federation import localnet
from trilink.node.service import NodeService

SCENARIO = """
[scenario]
name = "EXERCISE publish over the network"
seed = 5
duration_s = 560
cycle_s = 20
exercise = true
clutter = false

[labels]
JPN = "SECRET//REL TO USA, JPN"

[[launch]]
id = "S1"
site = "Wonsan Kalma International Airport"
impact = [39.2, 134.6]
apogee_km = 250

[sensors]
sites = ["JP-FPS5-SADO", "KR-GREENPINE-NCHUNGCHEONG", "KR-THAAD-SEONGJU"]

[warning]
max_semi_major_km = 30
min_updates = 8
min_stable_cycles = 1
"""


@pytest.mark.slow
def test_cli_publishes_on_real_nodes_and_respects_labels(tmp_path: Path) -> None:
    root = tmp_path / "net"
    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO)
    runner = CliRunner()
    # no network yet: a clear error, not a hang
    res = runner.invoke(app, ["missile", "scenario", "run", str(scenario), "--publish"])
    assert res.exit_code != 0 and "--dir" in res.output
    localnet.net_up(root)
    try:
        res = runner.invoke(
            app,
            ["missile", "scenario", "run", str(scenario), "--publish", "--dir", str(root),
             "--out", str(tmp_path / "out"), "--no-plots", "--json"],
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        published = json.loads(res.output)["published"]
        assert all(published[n]["warning"] >= 2 for n in ("USA", "JPN", "KOR")), published
        with NodeService.open_local(root, "KOR") as kor:
            envs = [s.report.envelope for s in kor.store.reports()]
        assert not [e for e in envs if e.origin == "JPN"]
        held = {e.id for e in envs}
        assert [e for e in envs if e.origin == "USA" and e.kind == "missile.track"]
        assert [e for e in envs if e.origin == "KOR" and e.kind == "missile.warning"]
        # USA products that used a JPN track carry REL TO USA, JPN and stayed away from KOR
        for e in envs:
            assert set(e.derived_from) <= held
        with NodeService.open_local(root, "USA") as usa:
            jpn_w = [
                s.report.envelope for s in usa.store.reports(kind="missile.warning")
                if s.report.envelope.origin == "JPN"
            ]  # fmt: skip
        assert jpn_w and all(e.label == "EXERCISE//SECRET//REL TO USA, JPN" for e in jpn_w)
        assert (tmp_path / "out" / "feeds" / "JPN.plots.jsonl").exists()
    finally:
        for nation in localnet.NATIONS:
            localnet.stop_node(root, nation, kill=True)
