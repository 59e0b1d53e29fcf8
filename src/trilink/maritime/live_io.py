"""Socket edge of the live feed: NMEA lines from UDP (AIS-catcher style) or a TCP server.

A single-threaded ``select`` loop: received bytes are split into lines and fed to the
``LiveProcessor``; detection runs at most every ``interval_s`` seconds when new data came in,
and each batch of new events goes to ``on_events`` (write files, publish reports).
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable

import polars as pl

from trilink.maritime.errors import MaritimeInputError
from trilink.maritime.live import LiveProcessor

MAX_DATAGRAM = 65_535


def open_udp(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise MaritimeInputError(f"cannot listen on UDP {host}:{port}: {err.strerror}") from None
    return sock


def open_tcp(address: str, timeout_s: float = 10.0) -> socket.socket:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise MaritimeInputError(f"--tcp wants HOST:PORT, got {address!r}")
    try:
        return socket.create_connection((host, int(port)), timeout=timeout_s)
    except OSError as err:
        raise MaritimeInputError(f"cannot connect to TCP {address}: {err.strerror}") from None


def run(
    sock: socket.socket,
    processor: LiveProcessor,
    on_events: Callable[[pl.DataFrame], None],
    *,
    interval_s: float = 0.5,
    duration_s: float | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Receive until ``duration_s`` passes, ``should_stop()`` is true or a TCP peer closes."""
    is_udp = sock.type == socket.SOCK_DGRAM
    pending = b""
    started = time.monotonic()
    next_eval = started + interval_s
    while True:
        now = time.monotonic()
        if should_stop() or (duration_s is not None and now - started >= duration_s):
            break
        wait = max(0.0, min(next_eval - now, 0.2))
        ready, _, _ = select.select([sock], [], [], wait)
        if ready:
            data = sock.recv(MAX_DATAGRAM)
            if not data and not is_udp:
                break
            chunk = pending + data
            lines = chunk.split(b"\n")
            # UDP datagrams end at a line boundary; TCP may cut a line in two.
            pending = b"" if is_udp else lines.pop()
            lines = [ln for ln in lines if ln.strip()]
            if lines:
                processor.feed(lines, recv_ms=int(time.time() * 1000))
        if time.monotonic() >= next_eval:
            next_eval = time.monotonic() + interval_s
            new = processor.evaluate(int(time.time() * 1000))
            if new.height:
                on_events(new)
    if pending.strip():
        processor.feed([pending], recv_ms=int(time.time() * 1000))
    new = processor.evaluate(int(time.time() * 1000))
    if new.height:
        on_events(new)
