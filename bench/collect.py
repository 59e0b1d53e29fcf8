"""Gather every benchmark's results (docs/benchmarks/*.md) into docs/BENCHMARKS.md.

Each bench script writes its own section with the machine it ran on; this only assembles.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDER = [
    "replication",
    "replication-postgres",
    "catchup-https-sqlite",
    "catchup-nats-sqlite",
    "pg_sustained",
    "pg_sustained-10min",
    "regression",
    "sanctions",
    "sanctions_entities",
    "sanctions_scale",
    "cyber",
    "maritime",
    "sim",
    "geo",
    "missile_sim",
    "missile_tracker",
    "missile_engines",
    "store",
    "cop",
    "crisis",
]


def _as_section(text: str) -> str:
    """Headings one level below the page title, whatever level each script started at."""
    lines = text.splitlines()
    if not any(line.startswith("# ") for line in lines):
        return text
    return "\n".join("#" + line if line.startswith("#") else line for line in lines)


def main() -> None:
    sections = sorted(
        (ROOT / "docs" / "benchmarks").glob("*.md"),
        key=lambda p: (ORDER.index(p.stem) if p.stem in ORDER else 99, p.stem),
    )
    parts = [
        "# Benchmarks",
        "",
        "Measured, not guessed: each section below was written by the script named in it, on "
        "the machine it names, comparing against the named baseline in the same run. "
        "Re-run one with its command, then `python bench/collect.py`.",
        "",
    ]
    for path in sections:
        parts.append(_as_section(path.read_text("utf-8").strip()))
        parts.append("")
    (ROOT / "docs" / "BENCHMARKS.md").write_text("\n".join(parts), "utf-8")
    print(f"docs/BENCHMARKS.md: {len(sections)} sections")


if __name__ == "__main__":
    main()
