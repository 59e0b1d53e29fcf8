"""Operations on real node processes (#16 item 8): ``/healthz`` and ``/readyz`` answer
without a client certificate or token; ``/metrics`` is scraped as Prometheus does and read
with prometheus_client's own parser (replication lag and queue depth per partner,
publish/ingest counts and refusals, audit rows, store size, SSE clients); the node's log is
JSON lines, and an idle minute at INFO adds none."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import tomli_w
from prometheus_client.parser import text_string_to_metric_families

from trilink.federation import localnet
from trilink.node.config import NodeConfig, load_node_config

NATIONS = ["USA", "JPN", "KOR"]
LABEL = "SECRET//REL TO USA, JPN, KOR"
WAIT_S = 60.0
IDLE_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {WAIT_S:.0f} s waiting for {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Three nodes on ports of their own (whatever else runs on the machine)."""
    root = tmp_path_factory.mktemp("metrics") / "net"
    localnet.ensure_network(root)
    ports = {n: (free_port(), free_port()) for n in NATIONS}
    for nation in NATIONS:
        path = root / nation / "node.toml"
        doc = tomllib.loads(path.read_text("utf-8"))
        doc["listen"] = f"127.0.0.1:{ports[nation][0]}"
        doc["api"] = f"127.0.0.1:{ports[nation][1]}"
        doc.pop("cop", None)
        if nation == "USA":  # one node serves its COP too
            doc["cop"] = f"127.0.0.1:{free_port()}"
        for partner, table in doc["partners"].items():
            table["url"] = f"https://127.0.0.1:{ports[partner][0]}"
        path.write_text(tomli_w.dumps(doc), "utf-8")
    for nation in NATIONS:
        localnet.start_node(root, nation)
    try:
        localnet.wait_healthy(root, NATIONS)
        yield root
    finally:
        for nation in NATIONS:
            localnet.stop_node(root, nation, kill=True)


def config_of(root: Path, nation: str) -> NodeConfig:
    return load_node_config(root / nation / "node.toml")


def verify(config: NodeConfig) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(config.ca_cert))


def token(root: Path, nation: str) -> str:
    return (root / nation / localnet.TOKEN_FILE).read_text().strip()


def scrape(root: Path, nation: str) -> dict[str, float]:
    """``name{label="v",...}`` -> value, from the Prometheus text the node serves."""
    config = config_of(root, nation)
    assert config.api_url is not None
    reply = httpx.get(
        config.api_url + "/metrics",
        headers={"Authorization": f"Bearer {token(root, nation)}"},
        verify=verify(config),
    )
    reply.raise_for_status()
    assert reply.headers["content-type"].startswith("text/plain; version=")
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(reply.text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


def publish_notes(root: Path, nation: str, count: int, title: str) -> None:
    with localnet.client_for(root, nation) as client:
        client.publish(
            [
                {"kind": "note", "label": LABEL, "payload": {"title": f"{title} {k}"}}
                for k in range(count)
            ]
        )


def log_lines(root: Path, nation: str) -> list[str]:
    return (root / nation / "node.log").read_text("utf-8").splitlines()


def test_health_without_client_certificate_or_token(net: Path) -> None:
    config = config_of(net, "USA")
    assert config.api_url is not None
    for path, status in (("/healthz", "ok"), ("/readyz", "ready")):
        # verify the node's certificate; present none of our own
        reply = httpx.get(config.api_url + path, verify=verify(config))
        assert reply.status_code == 200
        assert reply.json() == {"nation": "USA", "status": status}
    refused = httpx.get(config.api_url + "/metrics", verify=verify(config))
    assert refused.status_code == 401


def test_metrics_follow_publish_replication_and_a_partner_down(net: Path) -> None:
    before = scrape(net, "USA")
    assert before['trilink_node_info{nation="USA"}'] == 1
    assert before["trilink_store_size_bytes"] > 0
    assert before["trilink_audit_rows_total"] > 0
    publish_notes(net, "USA", 5, "metrics")
    for partner in ("JPN", "KOR"):
        wait_for(
            lambda p=partner: scrape(net, p)['trilink_ingested_reports_total{partner="USA"}'] == 5,
            f"{partner} to ingest 5 reports from USA",
        )
    usa = scrape(net, "USA")
    assert usa["trilink_published_reports_total"] == 5
    assert usa["trilink_reports"] == before["trilink_reports"] + 5
    assert usa["trilink_audit_rows_total"] > before["trilink_audit_rows_total"]
    wait_for(
        lambda: scrape(net, "USA")['trilink_outbox_queued_reports{partner="JPN"}'] == 0,
        "USA's queue for JPN to empty",
    )
    usa = scrape(net, "USA")
    for partner in ("JPN", "KOR"):
        assert usa[f'trilink_partner_up{{partner="{partner}"}}'] == 1
        assert usa[f'trilink_replication_lag_reports{{direction="in",partner="{partner}"}}'] == 0
        assert usa[f'trilink_partner_last_ok_age_seconds{{partner="{partner}"}}'] < WAIT_S

    # refusals are counted: a report of an unknown kind, a request without a token
    with localnet.client_for(net, "USA") as client, pytest.raises(Exception, match="kind"):
        client.publish([{"kind": "no.such.kind", "label": LABEL, "payload": {}}])
    config = config_of(net, "USA")
    assert config.api_url is not None
    httpx.get(config.api_url + "/api/v1/reports", verify=verify(config))
    usa = scrape(net, "USA")
    assert usa["trilink_publish_refused_total"] == 1
    assert usa['trilink_api_refused_requests_total{status="401"}'] >= 1

    # KOR goes down: USA's queue for it grows, the link shows down
    assert localnet.stop_node(net, "KOR")
    wait_for(lambda: localnet.pid_of(net, "KOR") is None, "KOR to stop")
    publish_notes(net, "USA", 3, "while KOR is down")
    wait_for(lambda: scrape(net, "USA")['trilink_partner_up{partner="KOR"}'] == 0, "KOR link down")
    usa = scrape(net, "USA")
    assert usa['trilink_outbox_queued_reports{partner="KOR"}'] == 3
    assert usa['trilink_replication_lag_reports{direction="out",partner="KOR"}'] == 3
    assert usa['trilink_replication_lag_seconds{partner="KOR"}'] > 0
    assert usa['trilink_replication_lag_seconds{partner="JPN"}'] == 0
    localnet.start_node(net, "KOR")
    localnet.wait_healthy(net, ["KOR"])
    wait_for(
        lambda: scrape(net, "USA")['trilink_outbox_queued_reports{partner="KOR"}'] == 0,
        "USA's queue for KOR to empty once KOR is back",
    )


def test_sse_clients_are_counted(net: Path) -> None:
    config = config_of(net, "JPN")
    assert config.api_url is not None
    assert scrape(net, "JPN")['trilink_sse_clients{listener="api"}'] == 0
    opened = threading.Event()
    done = threading.Event()

    def listen() -> None:
        with httpx.stream(
            "GET",
            config.api_url + "/api/v1/stream",  # type: ignore[operator]
            headers={"Authorization": f"Bearer {token(net, 'JPN')}"},
            verify=verify(config),
            timeout=WAIT_S,
        ) as reply:
            for _ in reply.iter_lines():
                opened.set()
                if done.is_set():
                    return

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    assert opened.wait(WAIT_S)
    wait_for(
        lambda: scrape(net, "JPN")['trilink_sse_clients{listener="api"}'] == 1, "one SSE client"
    )
    done.set()
    publish_notes(net, "JPN", 1, "wake the stream")  # the reader returns on the next line
    reader.join(WAIT_S)
    wait_for(
        lambda: scrape(net, "JPN")['trilink_sse_clients{listener="api"}'] == 0, "no SSE client"
    )


@pytest.mark.slow
def test_logs_are_json_lines_and_an_idle_minute_at_info_adds_none(net: Path) -> None:
    # the network has settled: every link up, nothing queued
    for nation in NATIONS:
        wait_for(
            lambda n=nation: all(
                v == 1 for k, v in scrape(net, n).items() if k.startswith("trilink_partner_up")
            ),
            f"{nation}'s links up",
        )
    counts = {n: len(log_lines(net, n)) for n in NATIONS}
    time.sleep(IDLE_S)  # an idle minute: the replicators pull and push, the nodes say nothing
    added = {n: log_lines(net, n)[counts[n] :] for n in NATIONS}
    assert added == {n: [] for n in NATIONS}
    for nation in NATIONS:
        lines = log_lines(net, nation)
        assert lines, nation
        for line in lines:
            record = json.loads(line)
            assert {"time", "level", "logger", "message"} <= set(record), line
            assert record["level"] in ("INFO", "WARNING", "ERROR", "CRITICAL")
        assert any("partners on https://" in json.loads(line)["message"] for line in lines)


def test_log_level_is_checked(net: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "trilink", "node", "run", "--log-level", "LOUD",
         "--config", str(net / "USA" / "node.toml")],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "COLUMNS": "300"},
    )  # fmt: skip
    assert result.returncode == 2
    assert "LOUD" in result.stderr and "DEBUG, INFO, WARNING, ERROR" in result.stderr


def test_cop_map_streams_are_counted(net: Path) -> None:
    config = config_of(net, "USA")
    assert 'trilink_sse_clients{listener="cop"}' not in scrape(net, "JPN")  # no COP there
    assert scrape(net, "USA")['trilink_sse_clients{listener="cop"}'] == 0
    password = "metrics-pass-1"
    added = subprocess.run(
        [sys.executable, "-m", "trilink", "user", "add", "--dir", str(net), "--nation", "USA",
         "watch1", "--password", password],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    done = threading.Event()
    opened = threading.Event()
    base = f"http://{config.cop_host}:{config.cop_port}"

    def listen() -> None:
        with httpx.Client(base_url=base, timeout=WAIT_S) as client:
            login = client.post("/login", data={"username": "watch1", "password": password})
            assert login.status_code in (200, 303), login.text
            with client.stream("GET", "/api/stream") as reply:
                assert reply.status_code == 200
                for _ in reply.iter_lines():
                    opened.set()
                    if done.is_set():
                        return

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    assert opened.wait(WAIT_S)
    wait_for(
        lambda: scrape(net, "USA")['trilink_sse_clients{listener="cop"}'] == 1, "one map stream"
    )
    done.set()
    publish_notes(net, "USA", 1, "wake the map")
    reader.join(WAIT_S)
    wait_for(lambda: scrape(net, "USA")['trilink_sse_clients{listener="cop"}'] == 0, "none")
