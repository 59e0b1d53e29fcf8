"""Starting and ending the background processes of a local network (nodes, the NATS
server, the demo's crisis cells)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


def start_process(args: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``args`` in its own session (it outlives this terminal), stdin closed, stdout
    and stderr appended to ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            list(args),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def end_process(
    pid: int, child: subprocess.Popen[bytes] | None, *, kill: bool, timeout_s: float
) -> None:
    """SIGTERM (SIGKILL with ``kill``) ``pid`` and wait until it is gone; after ``timeout_s``
    it is killed. ``child`` is its Popen when this process started it (reaped, not polled)."""
    try:
        os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
    except ProcessLookupError:
        return
    if child is not None:
        try:
            child.wait(timeout_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
