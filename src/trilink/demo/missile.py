"""The demo's missile scene: exercise launches seen by all three nations' radars.

The real procedure, played in scaled real time: the scenario's radars are simulated into one
plot feed per nation, and each nation's tracker runs as a process of its own against its
own node only (``trilink missile track``), fusing the partner tracks its node received
through federation and publishing its tracks and warnings through its node.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from trilink.federation import localnet
from trilink.missile.io.feeds import write_feeds
from trilink.missile.io.scenario_file import load_scenario
from trilink.missile.sim.scenario import deliver_plots, fly_truth

NATIONS = tuple(localnet.NATIONS)
SCENARIOS = [("missile_srbm_salvo.toml", 8.0), ("missile_icbm_lofted_eez.toml", 40.0)]


def write_scenario_feeds(scenario: Path, out: Path) -> None:
    """What 'trilink sim missile SCENARIO --out OUT' writes: one plot feed per nation."""
    sc = load_scenario(scenario)
    truths = fly_truth(sc)
    write_feeds(sc, out, truths=truths, delivered=deliver_plots(sc, truths))


def run_trackers(root: Path, feeds: Path, speed: float | None) -> dict[str, dict[str, object]]:
    """Each nation's tracker as its own process, against its own node; their summaries.
    ``speed``: times real time; None: each as fast as it computes."""
    pace = ["--speed", str(speed)] if speed else ["--pace", "fast"]
    procs = {
        nation: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "trilink",
                "missile",
                "track",
                "--config",
                str(root / nation / "node.toml"),
                "--plots",
                str(feeds / f"{nation}.plots.jsonl"),
                *pace,
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        for nation in NATIONS
    }
    out: dict[str, dict[str, object]] = {}
    for nation, proc in procs.items():
        stdout, stderr = proc.communicate()
        if proc.returncode != 0:
            out[nation] = {"error": stderr.strip().splitlines()[-1] if stderr.strip() else "?"}
            continue
        out[nation] = json.loads(stdout)
    return out


def start_missile_scenes(root: Path, say: Callable[[str], None]) -> threading.Thread:
    """Play the demo's missile scenarios in a background thread; returns it (join to wait)."""

    def play() -> None:
        for name, speed in SCENARIOS:
            feeds = root / "missile-feeds" / name.removesuffix(".toml")
            path = resources.files("trilink.demo").joinpath("data", name)
            with resources.as_file(path) as file:
                write_scenario_feeds(Path(file), feeds)
            say(
                f"exercise launch scenario {name.removeprefix('missile_')} at {speed:.0f}x: "
                "three trackers, one per nation, each against its own node"
            )
            for nation, summary in run_trackers(root, feeds, speed).items():
                if "error" in summary:
                    say(f"{nation} tracker stopped: {summary['error']}")
                    continue
                published = summary["published"]
                assert isinstance(published, dict)
                say(
                    f"{nation}: {published['track']} track and {published['fused']} fused "
                    f"track updates, {published['warning']} warning versions; "
                    f"{summary['partner_tracks_seen']} partner track updates received"
                )

    thread = threading.Thread(target=play, name="demo-missile", daemon=True)
    thread.start()
    return thread
