"""Real node processes on 127.0.0.1:8101-8103 (moved by TRILINK_PORT_OFFSET) for the
federation tests."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from trilink.federation import localnet
from trilink.model.report import report_json
from trilink.node.service import NodeService


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "net"
    localnet.net_up(root)
    try:
        yield root
    finally:
        for nation in localnet.NATIONS:
            localnet.stop_node(root, nation, kill=True)


def holdings(root: Path, nation: str) -> list[dict[str, object]]:
    """Every stored version on a node, read straight from its database."""
    with NodeService.open_local(root, nation) as node:
        return [report_json(s.report) for s in node.store.reports()]


def wait_until(check: Callable[[], bool], timeout_s: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``trilink ARGS`` as its own process, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "trilink", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
