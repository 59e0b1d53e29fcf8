"""Start-up time of the CLI: `trilink --help` and a few sub-command helps, each a fresh
Python process (what a user or a script pays per call), against a bare `python -c pass`
and against the same commands of an earlier commit (``--baseline REV``: its ``src/`` taken
with ``git archive``) in the same run.

    .venv/bin/python bench/bench_cli.py [--rounds 15] [--baseline 40def4a]

Writes docs/benchmarks/cli.md (target from issue #16: `trilink --help` under 0.5 s).
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_line  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUN = "import sys; from trilink.cli.app import main; sys.argv[0] = 'trilink'; main()"
CASES: list[tuple[str, list[str]]] = [
    ("python -c pass (baseline)", ["-c", "pass"]),
    ("trilink --help", ["-c", RUN, "--help"]),
    ("trilink maritime --help", ["-c", RUN, "maritime", "--help"]),
    ("trilink report list --help", ["-c", RUN, "report", "list", "--help"]),
    ("trilink export --help", ["-c", RUN, "export", "--help"]),
]


def seconds(
    args: list[str], rounds: int, src: Path = ROOT / "src"
) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (user + system) seconds of each round."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    walls, cpus = [], []
    for _ in range(rounds):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([sys.executable, *args], env=env, check=True, capture_output=True, cwd=ROOT)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def baseline_src(rev: str, into: Path) -> Path:
    """``src/`` of commit ``rev``, unpacked into ``into``."""
    data = subprocess.run(
        ["git", "archive", "--format=tar", rev, "src"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--baseline", default="40def4a", help="earlier commit to compare with")
    args = parser.parse_args()
    rows = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        old_src = baseline_src(args.baseline, Path(tmp)) if args.baseline else None
        for name, argv in CASES:
            walls, cpus = seconds(argv, args.rounds)
            row: list[Any] = [name, statistics.median(walls), min(walls),
                              statistics.median(cpus), None, None]  # fmt: skip
            if old_src is not None and name != CASES[0][0]:
                old_walls, old_cpus = seconds(argv, args.rounds, old_src)
                row[4:] = [statistics.median(old_walls), statistics.median(old_cpus)]
            rows.append(row)
            print(f"{name}: {row}", flush=True)
    lines = [
        "# CLI start-up",
        "",
        f"`bench/bench_cli.py --rounds {args.rounds} --baseline {args.baseline}`: each line a "
        "fresh Python process (what every call from a script pays), median of the rounds; "
        f"the baseline is the same command at commit {args.baseline} (engines imported "
        "eagerly), measured in the same run. Target (#16): `trilink --help` under 0.5 s.",
        f"Machine: {machine_line()}; load average {load_before:.1f} before the run, "
        f"{os.getloadavg()[0]:.1f} after (the machine is shared: a quiet one is faster).",
        "",
        "Wall-clock time depends on the machine's load; CPU time (user + system of the "
        "process) much less.",
        "",
        f"| command | wall median s | wall best s | CPU median s | at {args.baseline}: wall "
        "median s | CPU median s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| `{name}` | {wall:.3f} | {best:.3f} | {cpu:.3f} | "
        f"{'' if old is None else f'{old:.3f}'} | {'' if old_cpu is None else f'{old_cpu:.3f}'} |"
        for name, wall, best, cpu, old, old_cpu in rows
    ]
    out = ROOT / "docs" / "benchmarks" / "cli.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", "utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
