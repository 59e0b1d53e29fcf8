"""No regression against ``c28c117``: the headline engine benchmarks of docs/BENCHMARKS.md,
this tree against the baseline commit in the same run (issue #14: each within 10 %).

Replication has its own same-run comparison (``bench/bench_replication.py``); this covers
the other four: AIS decode, maritime events, sanctions screening and the missile tracker's
fused scan. The baseline runs from a temporary ``git worktree`` of the commit with this
venv (as bench_replication.py does). Each measurement is one small function of
``bench/regression_measure.py`` (public functions that exist at both commits, inputs from
this tree or generated with fixed seeds), run in a fresh process per side and round; the
sides alternate (baseline first in odd rounds, this tree first in even ones) and the median
of the rounds is compared. Writes docs/benchmarks/regression.md.

    .venv/bin/python bench/bench_regression.py [--rounds 3] [--baseline c28c117]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import baseline_tree, machine_line  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MEASURE = ROOT / "bench" / "regression_measure.py"
BASELINE_REF = "c28c117"
CURRENT = "HEAD"
MEASURES = ("decode", "events", "sanctions", "missile")
# row -> (what is measured, unit, higher is better)
ROWS = {
    "decode_positions": (
        "AIS decode, single-part position reports of the real samples (`read_nmea`, "
        "{decode_positions_messages:,} messages, best of 5 passes)",
        "msgs/s",
        True,
    ),
    "decode_receivers": (
        "AIS decode, real receiver captures, engine types decoded (`read_nmea`, the four "
        "captures x 80, {decode_receivers_messages:,} messages, best of 5 passes)",
        "msgs/s",
        True,
    ),
    "events": (
        "maritime events, `run_batch` on the synthetic East Asian day, {positions:,} "
        "positions, bundled geography (best of 3 passes)",
        "positions/s",
        True,
    ),
    "sanctions": (
        "sanctions screening, `Screener.screen_many` names only, {queries:,} queries (seed 1) "
        "against the {vessels:,} vessels of OFAC SDN + UN 1718 (best of 5 passes)",
        "queries/s",
        True,
    ),
    "missile": (
        "missile tracker, fused scan at one node (JPN tracker + CI fusion of 3 nations), "
        "100 targets, 9 radars (median of {timed_scans} scans)",
        "ms per scan",
        False,
    ),
}
GOAL = 0.90


def run_measure(name: str, src: Path) -> dict[str, dict[str, object]]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, str(MEASURE), name],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"{name} against {src} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def fmt(value: float, unit: str) -> str:
    return f"{value:,.2f}" if unit == "ms per scan" else f"{value:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per side")
    parser.add_argument("--baseline", default=BASELINE_REF, help="commit of the baseline")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/benchmarks/regression.md")
    args = parser.parse_args()
    ref = args.baseline
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    values: dict[str, dict[str, list[float]]] = {
        side: {row: [] for row in ROWS} for side in (ref, CURRENT)
    }
    checks: dict[str, dict[str, list[str]]] = {side: {m: [] for m in MEASURES} for side in values}
    with baseline_tree(ref) as tree:
        sides = [(ref, tree / "src"), (CURRENT, ROOT / "src")]
        for r in range(args.rounds):
            order = sides if r % 2 == 0 else sides[::-1]
            for name in MEASURES:
                for side, src in order:
                    t0 = time.perf_counter()
                    out = run_measure(name, src)
                    for row, v in out["values"].items():
                        values[side][row].append(float(v))  # type: ignore[arg-type]
                    checks[side][name].append(json.dumps(out["check"], sort_keys=True))
                    print(
                        f"round {r + 1} {name:9s} {side:8s} "
                        + ", ".join(f"{k} {float(v):,.2f}" for k, v in out["values"].items())  # type: ignore[arg-type]
                        + f"  ({time.perf_counter() - t0:.1f} s) {out['check']}",
                        flush=True,
                    )
    load_end = os.getloadavg()[0]
    lines = [
        f"## No regression against `{ref}` (same run)",
        "",
        f"Machine: {machine_line()}",
        "",
        f"Command: `.venv/bin/python bench/bench_regression.py --rounds {args.rounds}`",
        "",
        f"| measure | {ref} | {CURRENT} | {CURRENT} vs {ref} | goal |",
        "|---|---|---|---|---|",
    ]
    facts: dict[str, object] = {}
    for m in MEASURES:
        facts.update(json.loads(checks[CURRENT][m][0]))
    spreads: list[tuple[float, str]] = []
    for row, (label, unit, higher) in ROWS.items():
        med = {side: statistics.median(values[side][row]) for side in values}
        ratio = med[CURRENT] / med[ref] if higher else med[ref] / med[CURRENT]
        cells = []
        for side in (ref, CURRENT):
            vs = values[side][row]
            spreads.append(((max(vs) - min(vs)) / med[side], f"{row} at {side}"))
            cells.append(
                f"{fmt(med[side], unit)} {unit} ({fmt(min(vs), unit)}-{fmt(max(vs), unit)})"
            )
        verdict = "met" if ratio >= GOAL else "NOT met"
        lines.append(
            f"| {label.format(**facts)} | {cells[0]} | {cells[1]} "
            f"| {100 * ratio:.0f} % ({verdict}) | within 10 % |"
        )
    same = [m for m in MEASURES if set(checks[ref][m]) == set(checks[CURRENT][m])]
    differ = [m for m in MEASURES if m not in same]
    worst, where = max(spreads)
    lines += [
        "",
        f"Values are the median of {args.rounds} fresh processes per side (range in brackets); "
        f"the sides alternate, `{ref}` first in odd rounds and {CURRENT} first in even ones, "
        f"the baseline running from a temporary `git worktree` of `{ref}` with this venv. "
        f"`{CURRENT} vs {ref}` is {CURRENT}'s throughput over the baseline's (for the "
        "missile scan, the baseline's time over "
        f"{CURRENT}'s), so above 100 % is faster; the goal is >= 90 %. Every measurement is a "
        "function of `bench/regression_measure.py` calling only functions both commits have, "
        "warmed (numba) before timing, with the same inputs (tests/data, the bundled "
        "sanctions files, seeded synthetic data) on both sides; wall-clock time.",
        "",
        "Same work on both sides (messages decoded, events found, screening hits, fused "
        f"tracks): {', '.join(same) if same else 'none'}"
        + (f"; DIFFERENT for {', '.join(differ)}" if differ else "")
        + ".",
        "",
        f"1-minute load average {load_start:.1f} at the start and {load_end:.1f} at the end "
        f"(2 cores); the widest spread of one side's rounds was {100 * worst:.0f} % of its median "
        f"({where}); the run took {(time.perf_counter() - started) / 60:.1f} min. Replication "
        "is compared with the same baseline by `bench/bench_replication.py`.",
        "",
    ]
    text = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
