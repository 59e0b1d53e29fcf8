"""deploy/: the systemd unit passes ``systemd-analyze verify``, and its ExecStart runs a
real node (stopped by the unit's KillSignal); the Containerfile's health check answers
against that node, and its entry point is the unit's command. Building the image needs its
base images, which this machine does not pull: that test runs only where they are present."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomli_w

from trilink.federation import localnet

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "trilink-node.service"
CONTAINERFILE = ROOT / "deploy" / "Containerfile"
TRILINK = Path(sys.executable).parent / "trilink"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def unit_value(key: str) -> str:
    found = re.findall(rf"^{key}=(.*)$", UNIT.read_text("utf-8"), re.M)
    assert len(found) == 1, key
    return str(found[0])


def containerfile_json(instruction: str) -> list[str]:
    match = re.search(rf"^{instruction} (\[.*\])$", CONTAINERFILE.read_text("utf-8"), re.M)
    assert match is not None, instruction
    value: list[str] = json.loads(match.group(1))
    return value


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_unit_verifies(tmp_path: Path) -> None:
    unit = tmp_path / "trilink-node.service"
    unit.write_text(UNIT.read_text("utf-8").replace("/opt/trilink/bin/trilink", str(TRILINK)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr


@pytest.fixture
def node_dir(tmp_path: Path) -> Iterator[Path]:
    """A node directory as 'trilink pki init' leaves it, on ports of its own."""
    localnet.ensure_network(tmp_path, nations=["USA"])
    path = tmp_path / "USA" / "node.toml"
    doc = tomllib.loads(path.read_text("utf-8"))
    doc |= {"listen": f"127.0.0.1:{free_port()}", "api": f"127.0.0.1:{free_port()}"}
    doc.pop("cop", None)
    path.write_text(tomli_w.dumps(doc), "utf-8")
    yield tmp_path / "USA"


def test_unit_command_runs_a_node_and_the_container_health_check_sees_it(
    node_dir: Path,
) -> None:
    argv = shlex.split(unit_value("ExecStart"))
    assert argv[:4] == ["/opt/trilink/bin/trilink", "node", "run", "--config"]
    # the container runs the same command
    assert ["trilink", *argv[1:]] == containerfile_json("ENTRYPOINT") + containerfile_json("CMD")
    argv = [str(TRILINK), *argv[1:4], str(node_dir / "node.toml")]
    api = tomllib.loads((node_dir / "node.toml").read_text("utf-8"))["api"]
    health = containerfile_json(
        "HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \\\\\n  CMD"
    )
    env = {
        **os.environ,
        "TRILINK_HEALTH_URL": f"https://{api}/healthz",
        "TRILINK_HEALTH_CA": str(node_dir / "ca.crt"),
    }
    health[0] = sys.executable
    log = (node_dir / "unit.log").open("wb")
    node = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(health, env=env, capture_output=True, check=False).returncode:
            assert node.poll() is None, (node_dir / "unit.log").read_text()
            assert time.monotonic() < deadline, "the node did not become healthy in 60 s"
            time.sleep(0.5)
        assert unit_value("KillSignal") == "SIGTERM"
        node.send_signal(signal.SIGTERM)
        # uvicorn shuts down, then re-raises SIGTERM: systemd counts that a clean exit
        assert node.wait(float(unit_value("TimeoutStopSec"))) in (0, -signal.SIGTERM)
        assert "Traceback" not in (node_dir / "unit.log").read_text()
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()
        log.close()
    # the health check fails once the node is gone
    assert subprocess.run(health, env=env, capture_output=True, check=False).returncode != 0


def _have_image(name: str) -> bool:
    if shutil.which("docker") is None:
        return False
    found = subprocess.run(
        ["docker", "image", "inspect", name], capture_output=True, check=False, timeout=30
    )
    return found.returncode == 0


@pytest.mark.skipif(
    not all(_have_image(i) for i in ("node:22-bookworm-slim", "python:3.11-slim-bookworm")),
    reason="the Containerfile's base images are not on this machine (never pulled in tests)",
)
def test_containerfile_builds() -> None:
    result = subprocess.run(
        ["docker", "build", "--pull=false", "-f", str(CONTAINERFILE), "-t",
         "trilink-node:test", str(ROOT)],
        capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]


def test_containerfile_builds_as_the_repository_does() -> None:
    text = CONTAINERFILE.read_text("utf-8")
    makefile = (ROOT / "Makefile").read_text("utf-8")
    assert "RUN scripts/build-web.sh" in text and "scripts/build-web.sh" in makefile
    assert "pip install --no-cache-dir ." in text
    # the node runs unprivileged and its directory is the one volume
    assert re.search(r"^USER trilink$", text, re.M)
    assert 'VOLUME ["/etc/trilink"]' in text
