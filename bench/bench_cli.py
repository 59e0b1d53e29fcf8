"""Start-up time of the CLI: `trilink --help` and a few sub-command helps, each a fresh
Python process (what a user or a script pays per call), against a bare `python -c pass`
in the same run.

    .venv/bin/python bench/bench_cli.py [--rounds 15]

Writes docs/benchmarks/cli.md (target from issue #16: `trilink --help` under 0.5 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

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


def seconds(args: list[str], rounds: int) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, *args], env=env, check=True, capture_output=True, cwd=ROOT
        )
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    rows = []
    for name, argv in CASES:
        times = seconds(argv, args.rounds)
        rows.append((name, statistics.median(times), min(times)))
        print(f"{name}: median {rows[-1][1]:.3f} s, best {rows[-1][2]:.3f} s", flush=True)
    lines = [
        "# CLI start-up",
        "",
        f"`bench/bench_cli.py --rounds {args.rounds}`: each line a fresh Python process "
        "(what every call from a script pays). Target (#16): `trilink --help` under 0.5 s.",
        f"Machine: {machine_line()}.",
        "",
        "| command | median s | best s |",
        "|---|---:|---:|",
    ]
    lines += [f"| `{name}` | {median:.3f} | {best:.3f} |" for name, median, best in rows]
    out = ROOT / "docs" / "benchmarks" / "cli.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", "utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
