"""The live TAK stream inside a real node process (#16 items 2 and 8): ``[tak]`` in node.toml,
a stand-in TAK server in its own process (``tak_server.py``, TCP and TLS with a client
certificate). Reports the node stores arrive as schema-valid CoT; while the server is down
the node retries and ``/metrics`` shows it; a node stopped while the server is down resumes
from its cursor file when it starts again, sending what the server missed and nothing it
already had."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import tomli_w
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from interop_samples import LIVE, maritime_event, missile_track
from prometheus_client.parser import text_string_to_metric_families
from test_interop_tak import _certificate, _write, free_port
from xsd_validator import COT_XSD, Validator

from trilink.federation import localnet
from trilink.interop.tak_feed import CURSOR_FILE
from trilink.node.config import load_node_config

SERVER = Path(__file__).with_name("tak_server.py")
WAIT_S = 60.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {WAIT_S:.0f} s waiting for {what}")
        time.sleep(0.1)


class TakServer:
    """``tak_server.py`` as its own process."""

    def __init__(self, port: int, out: Path, *tls: str) -> None:
        self.out = out
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER), "--port", str(port), "--out", str(out), *tls],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "listening"

    def events(self) -> list[bytes]:
        data = self.out.read_bytes() if self.out.exists() else b""
        return [line for line in data.split(b"\n") if line.strip()]

    def uids(self) -> list[str]:
        return [e.split(b'uid="')[1].split(b'"')[0].decode() for e in self.events()]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def node_root(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "net"
    localnet.ensure_network(root, nations=["USA"])
    # a node alone: ports of its own, whatever else runs on the machine
    path = root / "USA" / "node.toml"
    doc = tomllib.loads(path.read_text("utf-8"))
    doc |= {"listen": f"127.0.0.1:{free_port()}", "api": f"127.0.0.1:{free_port()}"}
    doc.pop("cop", None)
    path.write_text(tomli_w.dumps(doc), "utf-8")
    try:
        yield root
    finally:
        localnet.stop_node(root, "USA", kill=True)


def set_tak(root: Path, table: dict[str, Any]) -> None:
    path = root / "USA" / "node.toml"
    doc = tomllib.loads(path.read_text("utf-8"))
    doc["tak"] = table
    path.write_text(tomli_w.dumps(doc), "utf-8")


def start(root: Path) -> None:
    localnet.start_node(root, "USA")
    localnet.wait_healthy(root, ["USA"])


def metrics(root: Path) -> dict[str, float]:
    """The node's /metrics, scraped as Prometheus does and read with its parser:
    ``name{label="v"}`` -> value."""
    config = load_node_config(root / "USA" / "node.toml")
    token = (root / "USA" / localnet.TOKEN_FILE).read_text().strip()
    assert config.api_url is not None
    reply = httpx.get(
        config.api_url + "/metrics",
        headers={"Authorization": f"Bearer {token}"},
        verify=ssl.create_default_context(cafile=str(config.ca_cert)),
    )
    reply.raise_for_status()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(reply.text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


def tak_metric(values: dict[str, float], name: str) -> float:
    found = [v for k, v in values.items() if k.startswith(f"trilink_tak_{name}{{server=")]
    assert len(found) == 1, (name, values)
    return found[0]


def publish_tracks(root: Path, states: list[tuple[int, str]]) -> None:
    with localnet.client_for(root, "USA") as client:
        client.publish(
            [
                {"kind": "missile.track", "label": LIVE, "payload": missile_track(k, track_id=t)}
                for k, t in states
            ]
        )


def test_node_streams_retries_and_resumes_from_its_cursor(node_root: Path, tmp_path: Path) -> None:
    port = free_port()
    set_tak(
        node_root,
        {
            "server": f"127.0.0.1:{port}",
            "protocol": "tcp",
            "reconnect_min_s": 0.2,
            "reconnect_max_s": 1.0,
        },
    )
    server = TakServer(port, tmp_path / "first.cot")
    try:
        start(node_root)
        publish_tracks(node_root, [(0, "T0"), (0, "T1"), (0, "T2")])
        wait_for(lambda: len(server.events()) == 3, "three events at the TAK server")
        schema = Validator(COT_XSD)
        for event in server.events():
            assert schema.errors(event) == []
        assert sorted(server.uids()) == [f"trilink:USA:missile.track:T{k}" for k in range(3)]
        wait_for(lambda: tak_metric(metrics(node_root), "sent_events_total") == 3, "sent = 3")
        values = metrics(node_root)
        assert tak_metric(values, "connected") == 1
        assert tak_metric(values, "pending") == 0
        assert tak_metric(values, "connects_total") == 1
    finally:
        server.stop()

    # the TAK server is down: the node retries (with backoff) and the metrics say so
    wait_for(lambda: tak_metric(metrics(node_root), "connected") == 0, "connected = 0")
    publish_tracks(node_root, [(1, "T0"), (0, "T3"), (0, "T4")])
    wait_for(lambda: tak_metric(metrics(node_root), "failures_total") >= 4, "4 failures")
    values = metrics(node_root)
    assert tak_metric(values, "pending") == 3
    # the log says it once per distinct error (hung up, then refused), not once per retry
    log_text = (node_root / "USA" / "node.log").read_text("utf-8")
    records = [json.loads(line) for line in log_text.splitlines()]
    tak_lines = [r for r in records if r["logger"] == "trilink.interop.tak_stream"]
    assert [r["level"] for r in tak_lines] == ["INFO", "WARNING", "WARNING"], tak_lines
    warned = tak_lines[1:]
    assert "Connection refused" in warned[-1]["message"]
    assert tak_metric(values, "sent_events_total") == 3
    cursor_before_stop = tak_metric(values, "cursor")

    # stopped while the server is down: the cursor file says where to resume
    assert localnet.stop_node(node_root, "USA")
    wait_for(lambda: localnet.pid_of(node_root, "USA") is None, "the node to stop")
    saved = json.loads((node_root / "USA" / CURSOR_FILE).read_text())
    assert saved == {"server": f"tcp://127.0.0.1:{port}", "seq": cursor_before_stop}

    server = TakServer(port, tmp_path / "second.cot")
    try:
        start(node_root)
        wait_for(lambda: len(server.events()) == 3, "the three states the server missed")
        assert sorted(server.uids()) == [
            f"trilink:USA:missile.track:T{k}" for k in (0, 3, 4)
        ]  # T1 and T2 were delivered before: not sent again
        newest_t0 = next(e for e in server.events() if b":T0" in e)
        assert b'time="2026-11-23T06:00:10.000Z"' in newest_t0  # the newer state of T0
        # a withdrawn report becomes TAK's delete event for its object
        with localnet.client_for(node_root, "USA") as client:
            report = next(
                r for r in client.reports(kind="missile.track") if r["payload"]["track_id"] == "T3"
            )
            client.delete(report["id"], "test")
        wait_for(lambda: len(server.events()) == 4, "the delete event")
        assert b'type="t-x-d-d"' in server.events()[-1]
        assert b'uid="trilink:USA:missile.track:T3"' in server.events()[-1]
    finally:
        server.stop()


def test_node_streams_over_tls_with_a_client_certificate(node_root: Path, tmp_path: Path) -> None:
    tak_dir = node_root / "USA" / "tak"
    tak_dir.mkdir()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("TAK test CA", ca_key, None, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _certificate(
        "127.0.0.1", server_key, (ca, ca_key), ca=False, usage=ExtendedKeyUsageOID.SERVER_AUTH
    )
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_cert = _certificate(
        "trilink-USA", client_key, (ca, ca_key), ca=False, usage=ExtendedKeyUsageOID.CLIENT_AUTH
    )
    _write(tak_dir / "ca.pem", ca, None)
    _write(tak_dir / "server.pem", server_cert, server_key)
    _write(tak_dir / "client.pem", client_cert, client_key)
    os.chmod(tak_dir / "client.key", 0o600)
    port = free_port()
    set_tak(
        node_root,
        {
            "server": f"127.0.0.1:{port}",
            "ca": "tak/ca.pem",
            "cert": "tak/client.pem",
            "key": "tak/client.key",
            "kinds": ["maritime.event"],
        },
    )
    server = TakServer(
        port,
        tmp_path / "tls.cot",
        *("--ca", str(tak_dir / "ca.pem")),
        *("--cert", str(tak_dir / "server.pem"), "--key", str(tak_dir / "server.key")),
    )
    try:
        start(node_root)
        with localnet.client_for(node_root, "USA") as client:
            client.publish(
                [
                    {"kind": "maritime.event", "label": LIVE, "payload": maritime_event()},
                    {"kind": "missile.track", "label": LIVE, "payload": missile_track(0)},
                ]
            )
        wait_for(lambda: len(server.events()) == 1, "the maritime event over TLS")
        assert Validator(COT_XSD).errors(server.events()[0]) == []
        values = metrics(node_root)
        assert tak_metric(values, "connected") == 1
        assert f'server="tls://127.0.0.1:{port}"' in next(
            k for k in values if k.startswith("trilink_tak_connected")
        )
    finally:
        server.stop()


def test_a_bad_tak_table_stops_the_node_at_start_naming_the_key(node_root: Path) -> None:
    set_tak(node_root, {"server": "127.0.0.1:8089", "protocol": "tls"})
    result = subprocess.run(
        [sys.executable, "-m", "trilink", "node", "run", "--config",
         str(node_root / "USA" / "node.toml")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "[tak] protocol tls needs ca" in result.stderr + result.stdout
