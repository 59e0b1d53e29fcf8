"""The demo's crisis cells: each nation runs ``trilink crisis run`` against its own node with
the ballistic-missile playbook of ``examples/crisis``, so the exercise launch into Japan's
EEZ opens a joint incident at all three nodes. USA's and KOR's duty officers then
acknowledge it in their own nodes and JPN's is left pending: each nation's COP crisis board
shows the three states and the deadline counting down (JPN's escalates when it passes).

The cells are separate processes, as at a real site; they stop on their own after
``CELL_SECONDS`` (or with ``trilink net down``, when their node goes away).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from trilink.federation import localnet
from trilink.federation.processes import start_process

NATIONS = ("USA", "JPN", "KOR")
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "crisis"
PLAYBOOK = "bm-eez.toml"
CELL_SECONDS = 1800
ACKNOWLEDGING = {"USA": "usa-day", "KOR": "kor-day"}  # JPN's duty officer is left pending


def start_crisis_cells(root: Path, say: Callable[[str], None]) -> list[subprocess.Popen[bytes]]:
    """Start the three cells (logs in ROOT/crisis-NATION.log); none without the examples."""
    if not (EXAMPLES / PLAYBOOK).exists():
        say(f"crisis cells not started: {EXAMPLES} is not here (run the demo from a checkout)")
        return []
    stop_crisis_cells(root)  # a cell from an earlier demo would act twice
    cells = []
    for nation in NATIONS:
        cells.append(
            start_process(
                [
                    sys.executable,
                    "-m",
                    "trilink",
                    "crisis",
                    "run",
                    "--dir",
                    str(root),
                    "--nation",
                    nation,
                    "--playbook",
                    str(EXAMPLES / PLAYBOOK),
                    "--roster",
                    str(EXAMPLES / f"roster-{nation}.toml"),
                    "--for",
                    str(CELL_SECONDS),
                ],  # fmt: skip
                root / f"crisis-{nation}.log",
            )
        )
    for nation, cell in zip(NATIONS, cells, strict=True):
        (root / f"crisis-{nation}.pid").write_text(str(cell.pid))
    say(f"crisis cells of USA, JPN and KOR follow their own nodes ({PLAYBOOK}, "
        f"for {CELL_SECONDS // 60} minutes)")  # fmt: skip
    return cells


def stop_crisis_cells(root: Path) -> list[str]:
    """Stop the cells an earlier demo in ROOT started (if still running); their nations."""
    stopped = []
    for nation in NATIONS:
        path = root / f"crisis-{nation}.pid"
        try:
            pid = int(path.read_text().strip())
        except (FileNotFoundError, ValueError):
            continue
        path.unlink()
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue  # gone
        if b"trilink" in cmdline and b"crisis" in cmdline:  # not a pid reused since
            os.kill(pid, signal.SIGTERM)
            stopped.append(nation)
    return stopped


def open_incidents(root: Path, nation: str) -> list[str]:
    """The incident ids of NATION's own open incident records."""
    with localnet.client_for(root, nation) as client:
        return sorted(
            str(r["payload"]["incident_id"])
            for r in client.reports(kind="crisis.incident", origin=nation)
            if r["payload"].get("status") in ("open", "escalated")
        )


def acknowledge(root: Path, say: Callable[[str], None], timeout_s: float = 60.0) -> list[str]:
    """Once every nation's cell has opened the incident, USA and KOR acknowledge it through
    ``trilink crisis ack`` (their own nodes). Returns the incidents acknowledged."""
    deadline = time.monotonic() + timeout_s
    while True:
        held = {n: set(open_incidents(root, n)) for n in NATIONS}
        common = sorted(set.intersection(*held.values()))
        if common or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    if not common:
        say("crisis: no joint incident opened at all three nodes (see crisis-*.log)")
        return []
    for incident_id in common:
        for nation, person in ACKNOWLEDGING.items():
            done = subprocess.run(
                [sys.executable, "-m", "trilink", "crisis", "ack", incident_id, "--dir",
                 str(root), "--nation", nation, "--by", person, "--role", "duty-officer"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                say(f"crisis: {nation} could not acknowledge {incident_id}: "
                    f"{done.stderr.strip().splitlines()[-1:]}")  # fmt: skip
        say(f"crisis: incident {incident_id} open at USA, JPN and KOR; USA and KOR "
            "acknowledged, JPN pending (the COP's crisis board)")  # fmt: skip
    return common
