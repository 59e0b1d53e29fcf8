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
import statistics
import subprocess
import sys
import tarfile
import tempfile
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


def seconds(args: list[str], rounds: int, src: Path = ROOT / "src") -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run([sys.executable, *args], env=env, check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - started)
    return times


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
    with tempfile.TemporaryDirectory() as tmp:
        old_src = baseline_src(args.baseline, Path(tmp)) if args.baseline else None
        for name, argv in CASES:
            times = seconds(argv, args.rounds)
            row = [name, statistics.median(times), min(times), None]
            if old_src is not None and name != CASES[0][0]:
                row[3] = statistics.median(seconds(argv, args.rounds, old_src))
            rows.append(row)
            print(f"{name}: median {row[1]:.3f} s, best {row[2]:.3f} s, baseline {row[3]}",
                  flush=True)  # fmt: skip
    lines = [
        "# CLI start-up",
        "",
        f"`bench/bench_cli.py --rounds {args.rounds} --baseline {args.baseline}`: each line a "
        "fresh Python process (what every call from a script pays), median of the rounds; "
        f"the baseline is the same command at commit {args.baseline} (engines imported "
        "eagerly), measured in the same run. Target (#16): `trilink --help` under 0.5 s.",
        f"Machine: {machine_line()}.",
        "",
        f"| command | median s | best s | at {args.baseline}, median s |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| `{name}` | {median:.3f} | {best:.3f} | {'' if old is None else f'{old:.3f}'} |"
        for name, median, best, old in rows
    ]
    out = ROOT / "docs" / "benchmarks" / "cli.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", "utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
