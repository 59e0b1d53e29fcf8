"""Benchmark: live UDP feed → event latency (`trilink.maritime.live_io.run`).

Two drifting ships ~300 m apart report every 2 minutes (NMEA with tag-block times) over a
real UDP socket on 127.0.0.1. Everything up to 1 h 58 min of encounter is sent first; then
the one datagram that completes the 2-hour encounter rule is sent and the time until the
``on_events`` callback receives the encounter is measured (detection every 0.2 s, window
24 h). Repeated with 0, 200 and 1,000 background vessels in the window.

    .venv/bin/python bench/bench_maritime_live.py [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import queue
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
import polars as pl
from pyais.encode import encode_dict

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_maritime_events import machine, write_section  # noqa: E402
from trilink.maritime.config import MaritimeConfig  # noqa: E402
from trilink.maritime.events import Geography  # noqa: E402
from trilink.maritime.live import LiveProcessor  # noqa: E402
from trilink.maritime.live_io import run  # noqa: E402

T0_S = 1_772_323_200  # 2026-03-01T00:00:00Z


def tag(sentence: str, t_s: int) -> bytes:
    body = f"c:{t_s}"
    x = 0
    for ch in body.encode():
        x ^= ch
    return f"\\{body}*{x:02X}\\{sentence}".encode()


def minute_lines(minute: int, background: int, rng: np.random.Generator) -> list[bytes]:
    t = T0_S + minute * 60
    out = []
    ships = [(352001234, 30.5, 125.5, 0.3), (445005678, 30.5027, 125.5, 0.3)]
    ships += [
        (412000000 + k, 28 + (k % 97) * 0.1, 122 + (k % 89) * 0.12 + minute * 0.004, 12.0)
        for k in range(background)
    ]
    for mmsi, lat, lon, sog in ships:
        msg = {
            "msg_type": 1,
            "mmsi": mmsi,
            "lat": lat + rng.normal(0, 1e-5),
            "lon": lon,
            "speed": sog,
            "course": 90.0,
            "heading": 90,
        }
        out += [tag(s, t) for s in encode_dict(msg, talker_id="AI")]
    return out


def latency(background: int) -> tuple[float, int]:
    rng = np.random.default_rng(background + 1)
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    rx.bind(("127.0.0.1", 0))
    port = rx.getsockname()[1]
    proc = LiveProcessor(geo=Geography(), config=MaritimeConfig(), source="bench")
    got: queue.Queue[tuple[float, pl.DataFrame]] = queue.Queue()
    stop = threading.Event()
    worker = threading.Thread(
        target=run,
        args=(rx, proc, lambda e: got.put((time.perf_counter(), e))),
        kwargs={"interval_s": 0.2, "should_stop": stop.is_set},
    )
    worker.start()
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = 0
    for minute in range(0, 130, 2):  # encounter bins from minute 0 reach 2 h at minute 120
        if minute == 120:
            break
        lines = minute_lines(minute, background, rng)
        for k in range(0, len(lines), 40):
            tx.sendto(b"\n".join(lines[k : k + 40]) + b"\n", ("127.0.0.1", port))
            time.sleep(0.0005)
        sent += len(lines)
    while proc.stats.lines < sent or proc._dirty:
        time.sleep(0.05)
    time.sleep(0.5)
    assert got.empty(), "encounter reported before the rule was met"
    last = b"\n".join(minute_lines(120, 0, rng)) + b"\n"
    t_send = time.perf_counter()
    tx.sendto(last, ("127.0.0.1", port))
    t_got, events = got.get(timeout=30)
    stop.set()
    worker.join()
    tx.close()
    rx.close()
    assert events.get_column("type").to_list() == ["encounter"]
    return t_got - t_send, proc.stats.positions


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    rows = []
    for background in (0, 200, 1000):
        secs, positions = latency(background)
        rows.append((background, positions, secs))
        print(background, positions, f"{secs * 1000:.0f} ms")
    load = open("/proc/loadavg").read().split()[0]
    out = [
        "## Live feed latency (`bench/bench_maritime_live.py`)",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}; load {load}.",
        "",
        "Time from sending the UDP datagram that completes a 2-hour encounter to the "
        "listener's callback receiving the `encounter` event (detection interval 0.2 s; the "
        "window holds all positions sent so far). Publishing to a node is not included.",
        "",
        "| background vessels | positions in window | latency ms |",
        "|---:|---:|---:|",
    ]
    out += [f"| {b} | {p:,} | {s * 1000:.0f} |" for b, p, s in rows]
    section = "\n".join(out) + "\n"
    print(section)
    if not a.no_write:
        write_section(section, "## Live feed latency")


if __name__ == "__main__":
    main()
