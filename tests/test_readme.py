"""The README's shell examples run as written, from a fresh copy of the repository.

Every ```sh block of README.md is run with bash (``set -euo pipefail``), in order, in a copy
of the files a clone has (``git ls-files``), with ``.venv/bin/trilink`` standing for the
installed command. A block preceded by ``<!-- readme-example: not run ...: REASON -->`` is
skipped, and the test names the blocks skipped so that the list cannot grow unnoticed.
Everything the examples write must land in gitignored places (``out/``, ``demo-net/``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(
    r"(?P<skip><!-- readme-example: not run[^>]*-->\s*\n)?"
    r"(?P<indent>[ ]*)```sh\n(?P<body>.*?)^(?P=indent)```",
    re.S | re.M,
)
SKIPPED = {"make demo", "trilink pki init", "trilink pki export", "trilink pki trust",
           "trilink node run"}  # fmt: skip

pytestmark = pytest.mark.slow


def blocks() -> list[tuple[str, bool]]:
    """(script, skipped) of each ```sh block, in README order."""
    text = (ROOT / "README.md").read_text("utf-8")
    found = []
    for match in BLOCK.finditer(text):
        indent = match.group("indent")
        body = "".join(line.removeprefix(indent) for line in match.group("body").splitlines(True))
        found.append((body, match.group("skip") is not None))
    return found


def test_only_the_known_blocks_are_skipped() -> None:
    found = blocks()
    assert len(found) >= 6
    skipped = {next(k for k in SKIPPED if k in body) for body, skip in found if skip}
    assert skipped == SKIPPED
    for body, skip in found:
        if not skip:
            assert "trilink " not in body.replace(".venv/bin/trilink ", "").split("#")[0], (
                "a bare `trilink` in a README example: a newcomer has .venv/bin/trilink"
            )


def fresh_copy(dest: Path) -> Path:
    from tests.conftest import clone_files

    clone_files(ROOT, dest)
    shim = dest / ".venv" / "bin" / "trilink"
    shim.parent.mkdir(parents=True)
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m trilink "$@"\n')
    shim.chmod(0o755)
    return dest


def test_the_readme_examples_run_as_written(tmp_path: Path) -> None:
    repo = fresh_copy(tmp_path / "trilink")
    env = {**os.environ, "PYTHONPATH": str(repo / "src")}
    env.pop("COLUMNS", None)
    try:
        for body, skip in blocks():
            if skip:
                continue
            done = subprocess.run(
                ["bash", "-c", "set -euo pipefail\n" + body],
                cwd=repo,
                env=env,
                input="watch1-password\nwatch1-password\n",
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, (
                f"README example failed (exit {done.returncode}):\n{body}\n"
                f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
            )
        # the outputs are where the README says, and git ignores them
        assert (repo / "out" / "screened.csv").exists()
        assert (repo / "out" / "ev" / "events.csv").exists()
        ignored = (ROOT / ".gitignore").read_text().splitlines()
        assert "/out/" in ignored and "demo-net/" in ignored
    finally:
        if (repo / "demo-net").exists():
            subprocess.run(
                [sys.executable, "-m", "trilink", "net", "down", "--dir", "demo-net"],
                cwd=repo, env=env, capture_output=True, timeout=120,
            )  # fmt: skip
