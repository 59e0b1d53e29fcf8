"""The node's log lines (trilink.logs): one JSON object per line with time, level, logger,
message (and fields, exc); the level filters; the HTTP libraries' per-request lines stay
below INFO; a log file rotates at max_bytes keeping `backups` files. Run in a child process,
as the node runs it (the root logger is the process's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from trilink.logs import level_number

SCRIPT = """
import logging, sys
from pathlib import Path
from trilink.logs import setup_logging
file = Path(sys.argv[2]) if len(sys.argv) > 2 else None
setup_logging(sys.argv[1], file=file, max_bytes=2048, backups=2)
log = logging.getLogger("trilink.test")
log.debug("debug line")
log.info("node up", extra={"fields": {"partner": "JPN", "n": 3}})
logging.getLogger("httpx").info("HTTP Request: GET https://127.0.0.1/v1/feed 200 OK")
try:
    1 / 0
except ZeroDivisionError:
    log.exception("it broke: %s", "division")
for k in range(int(sys.argv[3]) if len(sys.argv) > 3 else 0):
    log.warning("line %d %s", k, "x" * 100)
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, timeout=60,
        check=True,
    )  # fmt: skip


def test_json_lines_at_info_without_request_noise() -> None:
    records = [json.loads(line) for line in run("INFO").stderr.splitlines()]
    assert [r["message"] for r in records] == ["node up", "it broke: division"]
    first, second = records
    assert first["level"] == "INFO" and first["logger"] == "trilink.test"
    assert first["fields"] == {"partner": "JPN", "n": 3}
    assert first["time"].endswith("+00:00") and "T" in first["time"]
    assert second["level"] == "ERROR" and "ZeroDivisionError" in second["exc"]


def test_debug_shows_debug_lines_and_requests() -> None:
    messages = [json.loads(line)["message"] for line in run("debug").stderr.splitlines()]
    assert "debug line" in messages
    assert any(m.startswith("HTTP Request:") for m in messages)


def test_file_rotates(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "node.log"
    run("WARNING", str(log), "100")
    files = sorted(p.name for p in log.parent.iterdir())
    assert files == ["node.log", "node.log.1", "node.log.2"]
    for path in log.parent.iterdir():
        assert path.stat().st_size <= 2048
        for line in path.read_text("utf-8").splitlines():
            assert json.loads(line)["level"] in ("WARNING", "ERROR")


def test_level_names() -> None:
    assert level_number("warning") == 30
    with pytest.raises(ValueError, match="not one of DEBUG, INFO"):
        level_number("LOUD")
