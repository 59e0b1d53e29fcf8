"""TAXII 2.1 throughput of a trilink node against medallion (the OASIS reference TAXII
server, in-memory backend) on the same indicators in the same run, and log matching speed.

    .venv/bin/python bench/bench_cyber.py [--indicators 2000] [--singles 200] [--grow 20000]

Writes docs/benchmarks/cyber.md. trilink: USA's node process (SQLite, HTTPS), POST to its own
API root (every object signed, decided per partner, audited), paged GET on JPN's partner root
(each object's release decided by the node's policy). medallion: its Flask server over HTTP.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_line, proc_status_kb  # noqa: E402
from trilink.api.taxii import TAXII_MEDIA, collection_id  # noqa: E402
from trilink.cyber.markings import marking_objects, object_markings  # noqa: E402
from trilink.cyber.match import Matcher  # noqa: E402
from trilink.federation import localnet  # noqa: E402
from trilink.model.label import parse_label  # noqa: E402
from trilink.node.config import load_node_config  # noqa: E402
from trilink.store import open_store  # noqa: E402
from trilink.store.tokens import TokenRepository  # noqa: E402

LABEL = parse_label("SECRET//REL TO USA, JPN")
HEADERS = {"Accept": TAXII_MEDIA, "Content-Type": TAXII_MEDIA}


def indicators(n: int, start: int = 0) -> list[dict[str, Any]]:
    out = []
    for i in range(start, start + n):
        ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
        out.append(
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": f"indicator--{uuid.UUID(int=(i + 1) | (4 << 76) | (2 << 62))}",
                "created": "2026-11-01T00:00:00.000Z",
                "modified": "2026-11-01T00:00:00.000Z",
                "name": f"bench indicator {i}",
                "description": "Synthetic indicator for the TAXII benchmark.",
                "indicator_types": ["malicious-activity"],
                "pattern": f"[ipv4-addr:value = '{ip}']",
                "pattern_type": "stix",
                "valid_from": "2026-11-01T00:00:00Z",
            }
        )
    return out


def post_all(
    http: httpx.Client, url: str, objs: list[dict[str, Any]], per: int, marks: list[Any]
) -> float:
    """Objects per second POSTing ``objs`` in envelopes of ``per``."""
    started = time.perf_counter()
    for i in range(0, len(objs), per):
        body = {"objects": [*marks, *objs[i : i + per]]}
        r = http.post(url, content=json.dumps(body), headers=HEADERS)
        assert r.status_code == 202, r.text[:300]
        status = r.json()
        assert status.get("failure_count", 0) == 0, status
    return len(objs) / (time.perf_counter() - started)


def get_all(http: httpx.Client, url: str, limit: int) -> tuple[float, int]:
    """Objects per second paging through a collection, and how many objects."""
    count = 0
    params: dict[str, Any] = {"limit": limit}
    started = time.perf_counter()
    while True:
        r = http.get(url, params=params, headers={"Accept": TAXII_MEDIA})
        assert r.status_code == 200, r.text[:300]
        body = r.json()
        count += len(body.get("objects", []))
        if not body.get("more"):
            break
        params = {"limit": limit, "next": body["next"]}
    return count / (time.perf_counter() - started), count


def first_page_ms(
    http: httpx.Client, url: str, limit: int, rounds: int = 31
) -> tuple[float, float]:
    """Median and fastest time of the first page, in ms."""
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        r = http.get(url, params={"limit": limit}, headers={"Accept": TAXII_MEDIA})
        assert r.status_code == 200
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000, min(times) * 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def medallion(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    cid = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
    data = {
        "/discovery": {"title": "bench", "default": "http://127.0.0.1/api1/",
                       "api_roots": ["http://127.0.0.1/api1/"]},
        "api1": {
            "information": {"title": "api1", "versions": [TAXII_MEDIA],
                            "max_content_length": 100_000_000},
            "status": [],
            "collections": [{"id": cid, "title": "bench", "can_read": True, "can_write": True,
                             "media_types": ["application/stix+json;version=2.1"],
                             "objects": [], "manifest": []}],
        },
    }  # fmt: skip
    (work / "data.json").write_text(json.dumps(data))
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(work / "data.json"),
        },
        "users": {"bench": "bench"},
        "taxii": {"max_page_size": 100},
    }
    (work / "medallion.json").write_text(json.dumps(config))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "medallion.scripts.run", "--port", str(port),
         str(work / "medallion.json")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"medallion exited with status {proc.returncode}")
        try:
            if httpx.get(f"{base}/taxii2/", auth=("bench", "bench")).status_code < 500:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    return proc, f"{base}/api1/collections/{cid}/objects/"


def address(i: int) -> str:
    """Every tenth line talks to an indicator's address."""
    if i % 10 == 0:
        return f"10.0.{(i // 7) % 40}.{i % 250}"
    return f"172.16.{i % 200}.{i % 100}"


def match_rate(n_ind: int, n_lines: int) -> tuple[float, int, float]:
    inds = indicators(n_ind)
    t = time.perf_counter()
    m = Matcher.from_indicators(inds)
    compile_s = time.perf_counter() - t
    lines = [
        f"2026-11-03T01:02:{i % 60:02d}Z fw allow tcp 192.168.{i % 250}.{i % 200}:5{i % 9999} -> "
        f"{address(i)}:443 bytes={i * 37 % 100000} host=www{i % 97}.example.com"
        for i in range(n_lines)
    ]
    t = time.perf_counter()
    hits = m.match_lines(lines)
    return n_lines / (time.perf_counter() - t), len(hits), compile_s


def grow_in_store(
    root: Path, n: int, jpn: str, token: str, ctx: ssl.SSLContext
) -> tuple[int, float, float, float, float]:
    """Add ``n`` more indicators through USA's publish path in-process (node stopped: no
    HTTP, no stix2 check, to reach a big collection quickly), restart the node and time JPN's
    first page again: (objects served, seconds to build the root's index, median ms,
    fastest ms, the node's peak memory in MB)."""
    import msgspec

    from trilink.model.payloads.cyber import StixObjectPayload
    from trilink.node.publish import Item
    from trilink.node.service import NodeService

    localnet.stop_node(root, "USA")
    with NodeService.open_local(root, "USA") as node:
        for start in range(0, n, 5000):
            items = [
                Item("cyber.stix", str(LABEL), msgspec.to_builtins(StixObjectPayload(
                    stix_id=o["id"], stix_type="indicator", modified=o["modified"],
                    name=o["name"], object=o, source="bench")), [], None)
                for o in indicators(min(5000, n - start), start=30_000_000 + start)
            ]  # fmt: skip
            node.publisher.publish_released(items, actor="bench")
    localnet.start_node(root, "USA")
    localnet.wait_healthy(root, ["USA"], timeout_s=120)
    with httpx.Client(auth=("JPN", token), verify=ctx, timeout=900) as http:
        t = time.perf_counter()
        r = http.get(jpn, params={"limit": 1}, headers={"Accept": TAXII_MEDIA})
        assert r.status_code == 200, r.text[:300]
        build_s = time.perf_counter() - t
        med, fastest = first_page_ms(http, jpn, 100)
    return n, build_s, med, fastest, node_peak_mb(root)


def node_peak_mb(root: Path) -> float:
    """USA's node process: its peak resident memory so far (VmHWM), in MB."""
    pid = localnet.pid_of(root, "USA")
    return float("nan") if pid is None else proc_status_kb("VmHWM", pid) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--indicators", type=int, default=2000)
    parser.add_argument("--singles", type=int, default=200)
    parser.add_argument("--grow", type=int, default=20000)
    parser.add_argument("--match-indicators", type=int, default=10000)
    parser.add_argument("--lines", type=int, default=200000)
    parser.add_argument(
        "--store-grow", type=int, default=0,
        help="then grow the collection to this many objects in-process and time again",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks/cyber.md"))
    args = parser.parse_args()
    rows: list[tuple[str, str, str, str]] = []
    objs = indicators(args.indicators)
    singles = indicators(args.singles, start=10_000_000)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        proc, murl = medallion(work)
        try:
            with httpx.Client(auth=("bench", "bench"), timeout=120) as http:
                m_single = post_all(http, murl, singles, 1, [])
                m_batch = post_all(http, murl, objs, 100, [])
                m_get, m_count = get_all(http, murl, 100)
        finally:
            proc.terminate()
            proc.wait(10)

        root = work / "net"
        localnet.net_up(root, ["USA"])
        try:
            config = load_node_config(root / "USA" / "node.toml")
            publisher = (root / "USA" / "api-token").read_text().strip()
            repo = TokenRepository(open_store(config.db_url))
            jpn_token = repo.create("bench-jpn", "taxii", partner="JPN")
            repo.store.close()
            ctx = ssl.create_default_context(cafile=str(config.ca_cert))
            api = config.api_url
            home = f"{api}/taxii2/usa/collections/{collection_id('USA', 'usa')}/objects/"
            jpn = f"{api}/taxii2/jpn/collections/{collection_id('USA', 'jpn')}/objects/"
            marks = marking_objects([LABEL])
            refs = object_markings(LABEL)
            marked = [{**o, "object_marking_refs": refs} for o in objs]
            marked_singles = [{**o, "object_marking_refs": refs} for o in singles]
            with httpx.Client(auth=("USA", publisher), verify=ctx, timeout=300) as http:
                t_single = post_all(http, home, marked_singles, 1, marks)
                t_batch = post_all(http, home, marked, 100, marks)
            with httpx.Client(auth=("JPN", jpn_token), verify=ctx, timeout=300) as http:
                t_get, t_count = get_all(http, jpn, 100)
                small_ms, small_min = first_page_ms(http, jpn, 100)
            grow = indicators(max(args.grow - args.indicators - args.singles, 0), start=20_000_000)
            with httpx.Client(auth=("USA", publisher), verify=ctx, timeout=300) as http:
                post_all(http, home, [{**o, "object_marking_refs": refs} for o in grow], 1000,
                         marks)  # fmt: skip
            with httpx.Client(auth=("JPN", jpn_token), verify=ctx, timeout=300) as http:
                big_ms, big_min = first_page_ms(http, jpn, 100)
                g_get, g_count = get_all(http, jpn, 1000)
            huge: tuple[int, float, float, float, float] | None = None
            if args.store_grow > g_count:
                huge = grow_in_store(root, args.store_grow - g_count, jpn, jpn_token, ctx)
        finally:
            localnet.stop_node(root, "USA", kill=True)

    rate, hits, compile_s = match_rate(args.match_indicators, args.lines)
    n = args.indicators

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.1f}x" if b else "-"

    rows = [
        (f"POST, one object per envelope ({args.singles} objects)", f"{t_single:,.0f} objects/s",
         f"{m_single:,.0f} objects/s", ratio(t_single, m_single)),
        (f"POST, envelopes of 100 ({n} objects)", f"{t_batch:,.0f} objects/s",
         f"{m_batch:,.0f} objects/s", ratio(t_batch, m_batch)),
        (f"paged GET, pages of 100 ({t_count} / {m_count} objects)", f"{t_get:,.0f} objects/s",
         f"{m_get:,.0f} objects/s", ratio(t_get, m_get)),
    ]  # fmt: skip
    text = "\n".join(
        [
            "## Cyber: TAXII 2.1 against medallion, log matching",
            "",
            f"Machine: {machine_line()}",
            "",
            f"Command: `.venv/bin/python bench/bench_cyber.py --indicators {n} --singles "
            f"{args.singles} --grow {args.grow} --match-indicators {args.match_indicators} "
            f"--lines {args.lines}"
            + (f" --store-grow {args.store_grow}" if args.store_grow else "")
            + "`",
            "",
            "trilink: USA's node process (SQLite, HTTPS); POST to its own API root (each object "
            "becomes a signed, policy-decided, audited `cyber.stix` report), paged GET on JPN's "
            "partner root (release decided per object). medallion 3.0 (in-memory backend, "
            "Flask server, plain HTTP), same indicators, same run.",
            "",
            "| measure | trilink | medallion | trilink / medallion |",
            "|---|---|---|---|",
            *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
            "",
            "| measure | value |",
            "|---|---|",
            f"| first page (100 objects) on JPN's root, {t_count} objects in the node, "
            f"median (fastest) of 31 | {small_ms:.1f} ms ({small_min:.1f} ms) |",
            f"| the same with {g_count} objects in the node | {big_ms:.1f} ms "
            f"({big_min:.1f} ms); {big_ms / small_ms:.1f}x ({big_min / small_min:.1f}x) |",
            f"| paged GET, pages of 1000, {g_count} objects | {g_get:,.0f} objects/s |",
            *(
                [
                    f"| first page with {g_count + huge[0]} objects in the node (grown "
                    f"in-process, node restarted) | {huge[2]:.1f} ms ({huge[3]:.1f} ms); "
                    f"{huge[2] / small_ms:.1f}x ({huge[3] / small_min:.1f}x) of the first |",
                    f"| building JPN's root index at start for {g_count + huge[0]} objects "
                    f"(first request) | {huge[1]:.1f} s |",
                    f"| USA's node process, peak memory with {g_count + huge[0]} objects "
                    f"indexed | {huge[4]:,.0f} MB |",
                ]
                if huge
                else []
            ),
            f"| log matching: {args.lines:,} lines against {args.match_indicators:,} indicators "
            f"({hits:,} indicators hit) | {rate:,.0f} lines/s |",
            f"| compiling {args.match_indicators:,} STIX patterns | {compile_s:.2f} s |",
            "",
            "Goals of issue #18: >= 10x medallion on POST and on paged GET: "
            + ("met" if min(t_single / m_single, t_batch / m_batch) >= 10 else "not met for POST")
            + (", met for GET" if t_get >= 10 * m_get else ", not met for GET")
            + " (each POSTed object is checked by `stix2`, about 0.45 ms, then signed, decided "
            "per partner and audited); first-page latency (fastest of 31, this machine is shared) "
            "within 2x as the collection grows: "
            + ("met" if max(big_min, huge[3] if huge else 0) <= 2 * small_min else "not met")
            + f" for {(g_count + (huge[0] if huge else 0)) // max(t_count, 1)}-fold growth, "
            f"to {g_count + (huge[0] if huge else 0):,} objects; "
            ">= 100,000 log lines/s against 10,000 indicators: "
            + ("met" if rate >= 100_000 else "not met")
            + " in this run (one Python process).",
            "",
        ]
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    os.environ.setdefault("TRILINK_PORT_OFFSET", "0")
    main()
