"""Crisis management through three real nodes and three `trilink crisis run` processes
(issue #17's targets: trigger stored -> incident open at all three nodes p99 <= 1 s; a missed
deadline escalates within 5 s; 100 concurrent incidents with no missed or doubled
escalation; CAP generation <= 50 ms per message).

Three local nodes; each nation's crisis runner a process of its own at its own node. Japan's
node publishes N missile warnings (batches of 10); nobody acknowledges, so every nation
escalates every incident's acknowledgement twice (next on the roster, then the cell lead).
Open latency: trigger version created at Japan's node -> first version of each nation's
incident created at that nation's node (both on this machine's clock, read through the
node API). Escalation delay: the escalation event's recorded time - the moment its level
fell due. CAP: the pure generation of one incident's Alert, Update and Cancel.

    .venv/bin/python bench/bench_crisis.py [--incidents 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from tests.crisis.crisis_samples import BM_EEZ, fast_playbook, missile_warning, rosters  # noqa: E402

from machine import machine_line  # noqa: E402
from trilink.client import item  # noqa: E402
from trilink.crisis.cap import incident_messages  # noqa: E402
from trilink.crisis.incident import open_incident, parse_time  # noqa: E402
from trilink.crisis.playbook import load_playbook_text  # noqa: E402
from trilink.federation import localnet  # noqa: E402

OUT = ROOT / "docs" / "benchmarks" / "crisis.md"
NATIONS = ("USA", "JPN", "KOR")
LABEL = "EXERCISE//SECRET//REL TO USA, JPN, KOR"
ACK_S, INTERVAL_S = 20.0, 3.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def row(what: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"| {what} | {len(ms)} | {statistics.median(ms):.1f} | {pct(ms, 0.99):.1f} | "
            f"{max(ms):.1f} |")  # fmt: skip


def bench_cap(n: int = 300) -> list[float]:
    book = load_playbook_text(BM_EEZ.read_text("utf-8"), str(BM_EEZ))
    inc = open_incident(book, nation="JPN", incident_id="bm-eez:x", at=datetime.now(UTC),
                        trigger_kind="missile.warning", trigger_report="R")  # fmt: skip
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        messages = incident_messages(book, inc, missile_warning(), sent=datetime.now(UTC))
        out.append((time.perf_counter() - t0) / len(messages))
    return out


def incidents(root: Path, nation: str) -> list[dict[str, Any]]:
    with localnet.client_for(root, nation) as client:
        return client.reports(kind="crisis.incident", origin=nation, all_versions=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=100)
    args = parser.parse_args()
    cap = bench_cap()
    tmp = Path(tempfile.mkdtemp(prefix="bench-crisis-"))
    root = tmp / "net"
    playbook = tmp / "bm-fast.toml"
    playbook.write_text(fast_playbook(ack_s=ACK_S, interval_s=INTERVAL_S), "utf-8")
    localnet.net_up(root)
    procs = []
    try:
        for nation in NATIONS:
            log = (tmp / f"{nation}.log").open("ab")
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "trilink", "crisis", "run", "--dir", str(root),
                 "--nation", nation, "--playbook", str(playbook), "--roster",
                 str(rosters()[nation]), "--tick", "0.2"],
                stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy()))  # fmt: skip
            log.close()
        ready_by = time.time() + 120  # the runners load and follow their nodes
        while time.time() < ready_by and not all(
            "ready," in (tmp / f"{n}.log").read_text("utf-8", "replace") for n in NATIONS
        ):
            time.sleep(0.2)
        triggers: dict[str, str] = {}  # warning id -> created
        with localnet.client_for(root, "JPN") as jpn:
            for start in range(0, args.incidents, 10):
                batch = [item("missile.warning", LABEL, missile_warning())
                         for _ in range(min(10, args.incidents - start))]  # fmt: skip
                jpn.publish(batch)
                time.sleep(0.2)
            for r in jpn.reports(kind="missile.warning"):
                triggers[r["id"]] = r["created"]
        deadline = time.time() + 120
        while time.time() < deadline:
            firsts = {n: [r for r in incidents(root, n) if r["version"] == 1] for n in NATIONS}
            if all(len(v) >= args.incidents for v in firsts.values()):
                break
            time.sleep(1)
        open_lat = []
        for rows in firsts.values():
            for r in rows:
                trig = r["payload"]["trigger_report"]
                if trig in triggers:
                    open_lat.append((parse_time(r["created"]) - parse_time(triggers[trig]))
                                    .total_seconds())  # fmt: skip
        opened = {n: len(v) for n, v in firsts.items()}
        # every incident's ack task escalates twice at every nation
        want = 2 * args.incidents
        wait_until = time.time() + ACK_S + INTERVAL_S + 90
        while time.time() < wait_until:
            newest = {n: _newest(incidents(root, n)) for n in NATIONS}
            done = {n: sum(_escalations(p) for p in v) for n, v in newest.items()}
            if all(d >= want for d in done.values()):
                break
            time.sleep(1)
        delays: list[float] = []
        doubled = missed = 0
        for _nation, rows in newest.items():
            for p in rows:
                keys = Counter(e["key"] for e in p["events"])
                doubled += sum(c - 1 for c in keys.values())
                esc = [e for e in p["events"] if e["type"] == "escalated"]
                missed += 2 - len(esc)
                task = next(t for t in p["tasks"] if t["step"] == "ack" and
                            t["nation"] == p["nation"])  # fmt: skip
                for e in esc:
                    due = parse_time(task["deadline"]) + timedelta(
                        seconds=(e["level"] - 1) * INTERVAL_S
                    )
                    delays.append((parse_time(e["at"]) - due).total_seconds())
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        for nation in NATIONS:
            localnet.stop_node(root, nation, kill=True)
    load = os.getloadavg()
    lines = [
        "## Crisis management through three nodes (`bench/bench_crisis.py`)",
        "",
        f"Machine: {machine_line()}; load average at the end "
        f"{load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}.",
        "",
        f"Three local nodes, one `trilink crisis run` process per nation at its own node. "
        f"Japan's node publishes {args.incidents} missile warnings (batches of 10); each opens "
        f"an incident at all three nodes; nobody acknowledges, so each nation escalates each "
        f"incident's acknowledgement twice ({ACK_S:g} s deadline, then {INTERVAL_S:g} s later the "
        f"cell lead). Incidents opened per node: {opened}.",
        "",
        "| what | n | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|",
        row("trigger created at JPN -> incident first version created at each node", open_lat),
        row("escalation recorded after its level fell due", delays),
        row("CAP 1.2 generation per message (Alert, Update, Cancel; 3 languages)", cap),
        "",
        f"Escalations: {sum(done.values())} recorded of {3 * want} due; missed {missed}, "
        f"doubled {doubled}.",
        "",
        f"Targets: open p99 <= 1 s: {'met' if pct(open_lat, 0.99) <= 1 else 'NOT met'} "
        f"({pct(open_lat, 0.99) * 1000:.0f} ms); escalation within 5 s: "
        f"{'met' if max(delays) <= 5 else 'NOT met'} (max {max(delays):.2f} s); no missed or "
        f"doubled escalation: {'met' if missed == doubled == 0 else 'NOT met'}; CAP <= 50 ms: "
        f"{'met' if pct(cap, 0.99) <= 0.05 else 'NOT met'} (p99 {pct(cap, 0.99) * 1000:.1f} ms).",
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n", "utf-8")
    print("\n".join(lines))


def _newest(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    best: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["id"] not in best or best[r["id"]]["version"] < r["version"]:
            best[r["id"]] = r
    return [r["payload"] for r in best.values()]


def _escalations(payload: dict[str, Any]) -> int:
    return sum(1 for e in payload["events"] if e["type"] == "escalated")


if __name__ == "__main__":
    main()
