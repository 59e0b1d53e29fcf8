"""`trilink node check` and the one-line store errors of every command, against real node
databases damaged on disk. ``report list`` runs as a real process: the message and exit
status are those of the installed ``trilink`` entry point, not of a test runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.store.damage import overwrite, publish_with_marker
from trilink.cli.app import app
from trilink.federation.localnet import ensure_network
from trilink.node.service import NodeService

runner = CliRunner()
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def netdir(tmp_path: Path) -> Path:
    """A network directory whose JPN node holds 300 reports (its nodes are not running)."""
    root = tmp_path / "net"
    ensure_network(root)
    with NodeService.open_local(root, "JPN") as node:
        publish_with_marker(node)
    return root


def trilink(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.run(
        [sys.executable, "-m", "trilink", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("whole_page", [True, False])
def test_report_list_on_a_damaged_database_prints_one_line(netdir: Path, whole_page: bool) -> None:
    """Issue 15 finding 7: a raw sqlite3.DatabaseError traceback."""
    db = netdir / "JPN" / "node.db"
    overwrite(db, whole_page=whole_page)
    done = trilink("report", "list", "--dir", str(netdir), "--nation", "JPN", "--db", str(db))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and str(db) in lines[0]
    assert "is damaged" in lines[0] and f"trilink node check --db {db}" in lines[0]


def test_node_check_of_a_healthy_node(netdir: Path) -> None:
    config = str(netdir / "JPN" / "node.toml")
    result = runner.invoke(app, ["node", "check", "--config", config])
    assert result.exit_code == 0, result.output
    assert "note: PRAGMA integrity_check: ok" in result.output
    assert f"healthy: {netdir / 'JPN' / 'node.db'} (" in result.output
    assert "reports 300" in result.output
    result = runner.invoke(app, ["node", "check", "--config", config, "--json"])
    report = json.loads(result.output)
    assert result.exit_code == 0 and report["healthy"] is True and report["problems"] == []
    assert report["counts"]["reports"] == 300 and report["check"] == "full"


@pytest.mark.parametrize("whole_page", [True, False])
def test_node_check_lists_the_damage_one_line_each(netdir: Path, whole_page: bool) -> None:
    db = netdir / "JPN" / "node.db"
    overwrite(db, whole_page=whole_page)
    result = runner.invoke(app, ["node", "check", "--config", str(netdir / "JPN" / "node.toml")])
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    damaged = [line for line in lines if line.startswith("damaged: ")]
    assert damaged
    expected = "damaged: engine: table reports" if whole_page else "damaged: reports: report row"
    assert damaged[0].startswith(expected), damaged
    assert lines[-1].startswith(f"{db}: {len(damaged)} problem")
    assert "restore the database from a backup" in lines[-1]

    result = runner.invoke(app, ["node", "check", "--db", str(db), "--json"])
    report = json.loads(result.output)
    assert result.exit_code == 2 and report["healthy"] is False
    assert [p["check"] + ": " + p["message"] for p in report["problems"]] == [
        line.removeprefix("damaged: ") for line in damaged
    ]


def test_node_check_of_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    db = tmp_path / "node.db"
    db.write_bytes(b"\x00garbage" * 1000)
    result = runner.invoke(app, ["node", "check", "--db", str(db)])
    assert result.exit_code == 2
    assert result.output.startswith("damaged: open: the file header is damaged (file is not a")


def test_node_check_needs_to_know_which_database(tmp_path: Path) -> None:
    done = trilink("node", "check")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: say which database: --config DIR/node.toml or --db PATH_OR_URL"
    )
