"""Operations of a running node (#16 item 8 and the live TAK stream): real node processes,
a stand-in TAK server in its own process (tests/interop/tak_server.py, TCP).

- TAK stream: 10,000 missile tracks published through the node API (batches of 1,000), time
  until every CoT event is at the server; a node restarted with no cursor file sending the
  same 10,000 objects.
- TAK feed (in process): a history of 20,000 states of 100 tracks read from the store into
  the stream, against building every state's item (what a feed without coalescing does).
- ``GET /metrics`` (10,000 reports stored) against ``GET /healthz`` on the same node.
- Log lines per idle minute, two nodes with their link up: at INFO, against DEBUG (which
  shows the HTTP client's per-request lines, what INFO showed before).

    .venv/bin/python bench/bench_ops.py [--idle-s 60]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import httpx
import tomli_w

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests" / "interop"))
from interop_samples import LIVE, envelope, missile_track  # noqa: E402

from machine import machine_line  # noqa: E402
from trilink.federation import localnet  # noqa: E402
from trilink.interop.items import build_item  # noqa: E402
from trilink.interop.tak_config import TakConfig  # noqa: E402
from trilink.interop.tak_feed import CURSOR_FILE, TakFeed  # noqa: E402
from trilink.interop.tak_stream import TakStream  # noqa: E402
from trilink.model.label import parse_label  # noqa: E402

SERVER = ROOT / "tests" / "interop" / "tak_server.py"
OBJECTS = 10_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def own_ports(root: Path, nations: list[str], extra: dict[str, object] | None = None) -> None:
    ports = {n: (free_port(), free_port()) for n in nations}
    for nation in nations:
        path = root / nation / "node.toml"
        doc = tomllib.loads(path.read_text("utf-8"))
        doc["listen"] = f"127.0.0.1:{ports[nation][0]}"
        doc["api"] = f"127.0.0.1:{ports[nation][1]}"
        doc.pop("cop", None)
        for partner, table in doc.get("partners", {}).items():
            if partner in ports:
                table["url"] = f"https://127.0.0.1:{ports[partner][0]}"
        doc.update(extra or {})
        path.write_text(tomli_w.dumps(doc), "utf-8")


def start_server(port: int, out: Path) -> subprocess.Popen[str]:
    server = subprocess.Popen(
        [sys.executable, str(SERVER), "--port", str(port), "--out", str(out)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdout.readline().strip() == "listening"
    return server


def lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def wait_lines(path: Path, count: int, timeout_s: float = 600.0) -> None:
    deadline = time.monotonic() + timeout_s
    while lines(path) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path}: {lines(path)} of {count} events after {timeout_s} s")
        time.sleep(0.05)


def timed_gets(client: httpx.Client, url: str, rounds: int = 50) -> tuple[float, int]:
    times = []
    size = 0
    for _ in range(rounds):
        started = time.perf_counter()
        reply = client.get(url)
        times.append(time.perf_counter() - started)
        reply.raise_for_status()
        size = len(reply.content)
    return statistics.median(times) * 1000, size


def bench_stream(work: Path) -> list[tuple[str, str]]:
    root = work / "stream"
    localnet.ensure_network(root, nations=["USA"])
    tak = free_port()
    own_ports(root, ["USA"], {"tak": {"server": f"127.0.0.1:{tak}", "protocol": "tcp"}})
    rows: list[tuple[str, str]] = []
    out = work / "live.cot"
    server = start_server(tak, out)
    try:
        localnet.start_node(root, "USA")
        localnet.wait_healthy(root, ["USA"], timeout_s=120)
        with localnet.client_for(root, "USA") as client:
            started = time.perf_counter()
            for batch in range(OBJECTS // 1000):
                client.publish(
                    [
                        {
                            "kind": "missile.track",
                            "label": LIVE,
                            "payload": missile_track(0, track_id=f"T{batch}-{k}"),
                        }
                        for k in range(1000)
                    ]
                )
            published = time.perf_counter() - started
            wait_lines(out, OBJECTS)
            delivered = time.perf_counter() - started
        rows.append(
            (
                f"{OBJECTS:,} tracks published through the node API, every CoT event at the "
                "TAK server",
                f"{delivered:.2f} s ({OBJECTS / delivered:,.0f} objects/s; publishing alone "
                f"{published:.2f} s)",
            )
        )
        config_dir = root / "USA"
        token = (config_dir / localnet.TOKEN_FILE).read_text().strip()
        api = tomllib.loads((config_dir / "node.toml").read_text())["api"]
        context = ssl.create_default_context(cafile=str(config_dir / "ca.crt"))
        with httpx.Client(verify=context, headers={"Authorization": f"Bearer {token}"}) as c:
            metrics_ms, metrics_size = timed_gets(c, f"https://{api}/metrics")
            health_ms, _ = timed_gets(c, f"https://{api}/healthz")
        rows.append(
            (
                f"GET /metrics, {OBJECTS:,} reports stored (median of 50)",
                f"{metrics_ms:.1f} ms, {metrics_size:,} bytes (GET /healthz: {health_ms:.1f} ms)",
            )
        )
    finally:
        localnet.stop_node(root, "USA")
        server.kill()
        server.wait()
    # the same node restarted with no cursor: every object again, from the store
    (root / "USA" / CURSOR_FILE).unlink()
    replay = work / "replay.cot"
    server = start_server(tak, replay)
    try:
        started = time.perf_counter()
        localnet.start_node(root, "USA")
        localnet.wait_healthy(root, ["USA"], timeout_s=120)
        healthy = time.perf_counter() - started
        wait_lines(replay, OBJECTS)
        replayed = time.perf_counter() - started
        rows.append(
            (
                f"node started with no cursor file: {OBJECTS:,} objects from its store at the "
                "server",
                f"{replayed:.2f} s from start (healthy after {healthy:.2f} s), "
                f"{replay.stat().st_size / 1e6:.1f} MB of CoT",
            )
        )
    finally:
        localnet.stop_node(root, "USA")
        server.kill()
        server.wait()
    return rows


def bench_feed(work: Path) -> list[tuple[str, str]]:
    envs = [
        envelope("missile.track", missile_track(k % 6, track_id=f"T{k % 100}"), seq=k)
        for k in range(1, 20_001)
    ]
    stored = list(enumerate(envs, start=1))
    config = TakConfig(host="127.0.0.1", port=9, protocol="tcp")
    feed = TakFeed(
        TakStream(config),
        nation="JPN",
        read=lambda after, limit: stored[after : after + limit],
        label_of=parse_label,
        cursor_path=work / "feed-cursor.json",
    )
    started = time.perf_counter()
    feed.step()
    coalesced = time.perf_counter() - started
    handed = feed.stream.pending
    started = time.perf_counter()
    for seq, env in stored[:2000]:
        build_item(env, parse_label(env.label), seq)
    every = (time.perf_counter() - started) * len(stored) / 2000
    return [
        (
            "TAK feed: a history of 20,000 states of 100 tracks into the stream",
            f"{coalesced:.2f} s, {handed} objects handed over; building every state's item "
            f"instead: {every:.1f} s (timed on 2,000, scaled)",
        )
    ]


def idle_lines(work: Path, level: str, idle_s: float) -> float:
    root = work / f"idle-{level}"
    localnet.ensure_network(root, nations=["USA", "JPN"])
    own_ports(root, ["USA", "JPN"], {"log": {"level": level}})
    for nation in ("USA", "JPN"):
        localnet.start_node(root, nation)
    try:
        localnet.wait_healthy(root, ["USA", "JPN"], timeout_s=120)
        time.sleep(5)  # the links come up
        before = sum(lines(root / n / "node.log") for n in ("USA", "JPN"))
        time.sleep(idle_s)
        after = sum(lines(root / n / "node.log") for n in ("USA", "JPN"))
    finally:
        for nation in ("USA", "JPN"):
            localnet.stop_node(root, nation)
    return (after - before) / 2 * 60 / idle_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-s", type=float, default=60.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ops-"))
    try:
        rows = bench_stream(work) + bench_feed(work)
        info = idle_lines(work, "INFO", args.idle_s)
        debug = idle_lines(work, "DEBUG", args.idle_s)
        rows.append(
            (
                f"log lines per node per idle minute, link up ({args.idle_s:.0f} s measured)",
                f"INFO {info:.0f}; DEBUG (the HTTP client's request lines, what INFO wrote "
                f"before) {debug:.0f}",
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = [
        "# Operations: TAK stream, metrics, logs (bench/bench_ops.py)",
        "",
        f"Machine: {machine_line()}.",
        "",
        "| What | Result |",
        "|---|---|",
        *(f"| {what} | {result} |" for what, result in rows),
        "",
    ]
    out = ROOT / "docs" / "benchmarks" / "ops.md"
    out.write_text("\n".join(text), "utf-8")
    print("\n".join(text))


if __name__ == "__main__":
    main()
