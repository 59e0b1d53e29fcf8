"""Run every benchmark in bench/, one after the other, then assemble docs/BENCHMARKS.md.

Each script writes its own docs/benchmarks/<name>.md with the machine it ran on; a script
that fails is reported at the end and the others still run (their sections are kept, the
failed one's earlier section stays as it was).

Run: make bench, or .venv/bin/python bench/run_all.py [--only cop,geo]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def scripts() -> list[Path]:
    return sorted(HERE.glob("bench_*.py"))


def main() -> int:
    names = [p.stem.removeprefix("bench_") for p in scripts()]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated benchmarks to run (default: all of {', '.join(names)})",
    )
    args = parser.parse_args()
    chosen = [n.strip() for n in args.only.split(",") if n.strip()] or names
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(names)}")
    console = Console()
    results: list[tuple[str, int, float]] = []
    for name in chosen:
        console.rule(f"bench_{name}.py")
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(HERE / f"bench_{name}.py")], cwd=ROOT)
        results.append((name, code, time.perf_counter() - started))
    collected = subprocess.call([sys.executable, str(HERE / "collect.py")], cwd=ROOT)
    table = Table(title="benchmarks")
    table.add_column("benchmark")
    table.add_column("result")
    table.add_column("minutes", justify="right")
    for name, code, seconds in results:
        status = "[green]ok[/]" if code == 0 else f"[red]failed (exit {code})[/]"
        table.add_row(f"bench_{name}.py", status, f"{seconds / 60:.1f}")
    console.print(table)
    failed = [name for name, code, _ in results if code != 0]
    if failed or collected != 0:
        console.print(
            f"[red]{len(failed)} benchmark(s) failed: {', '.join(failed) or '-'}; their sections "
            "in docs/benchmarks/ were not rewritten. Re-run one with "
            "`.venv/bin/python bench/bench_<name>.py` to see its error.[/]"
        )
        return 1
    console.print("docs/BENCHMARKS.md assembled from docs/benchmarks/*.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
