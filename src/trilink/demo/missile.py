"""The demo's missile scene: exercise launches seen by all three nations' radars, played on
the running nodes in scaled real time (tracks move, fused tracks and warnings appear)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from trilink.missile.live import run_scenario_live

SCENARIOS = [("missile_srbm_salvo.toml", 8.0), ("missile_icbm_lofted_eez.toml", 40.0)]


def start_missile_scenes(root: Path, say: Callable[[str], None]) -> threading.Thread:
    """Play the demo's missile scenarios in a background thread; returns it (join to wait)."""

    def on_event(event: dict[str, Any]) -> None:
        status = event.get("status", "")
        if event.get("kind") == "missile.warning" and status != "update":
            say(
                f"{event.get('nation')} {status} missile warning at T+{event.get('t_s', 0):.0f} s"
                f" ({event.get('label', '')})"
            )

    def play() -> None:
        for name, speed in SCENARIOS:
            path = resources.files("trilink.demo").joinpath("data", name)
            with resources.as_file(path) as file:
                say(f"exercise launch scenario {name.removeprefix('missile_')} at {speed:.0f}x")
                stats = run_scenario_live(root, Path(file), speed=speed, on_event=on_event)
            counts = ", ".join(
                f"{n} {c['track']} tracks/{c['fused']} fused/{c['warning']} warnings"
                for n, c in stats.published.items()
            )
            say(f"scenario done: {counts}")

    thread = threading.Thread(target=play, name="demo-missile", daemon=True)
    thread.start()
    return thread
