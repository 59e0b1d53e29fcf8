"""Socket edge of the live feed: NMEA lines from UDP (AIS-catcher style) or a TCP server.

A single-threaded ``select`` loop: received bytes are split into lines and fed to the
``LiveProcessor``; detection runs at most every ``interval_s`` seconds when new data came in,
and each batch of new events goes to ``on_events`` (write files, publish reports); every
``status_s`` seconds ``on_status`` gets the processor (traffic and malformed counts).

Bounded: a datagram is read whole (UDP carries at most 64 KiB) and each of its lines is
checked against ``nmea.MAX_LINE``; a TCP peer that sends more than ``MAX_LINE`` bytes without
a newline has that line cut, counted as ``line_too_long`` and skipped up to its newline.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable

import polars as pl

from trilink.maritime.errors import MaritimeInputError
from trilink.maritime.live import LiveProcessor
from trilink.maritime.nmea import MAX_LINE

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


class _TcpLines:
    """Splits a TCP byte stream into lines, holding at most ``MAX_LINE`` bytes of a line."""

    def __init__(self) -> None:
        self.pending = b""
        self.skipping = False  # inside a line already reported as too long

    def split(self, data: bytes) -> list[bytes]:
        lines = (self.pending + data).split(b"\n")
        self.pending = lines.pop()
        if self.skipping and lines:
            lines.pop(0)  # the rest of the overlong line
            self.skipping = False
        if self.skipping:
            self.pending = b""
        elif len(self.pending) > MAX_LINE:
            # hand the parser a cut copy so it counts the line where it began
            lines.append(self.pending[: MAX_LINE + 1])
            self.pending = b""
            self.skipping = True
        return lines


def run(
    sock: socket.socket,
    processor: LiveProcessor,
    on_events: Callable[[pl.DataFrame], None],
    *,
    interval_s: float = 0.5,
    duration_s: float | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    on_status: Callable[[LiveProcessor], None] | None = None,
    status_s: float = 60.0,
) -> None:
    """Receive until ``duration_s`` passes, ``should_stop()`` is true or a TCP peer closes."""
    is_udp = sock.type == socket.SOCK_DGRAM
    tcp = _TcpLines()
    started = time.monotonic()
    next_eval = started + interval_s
    next_status = started + status_s
    while True:
        now = time.monotonic()
        if should_stop() or (duration_s is not None and now - started >= duration_s):
            break
        if on_status is not None and now >= next_status:
            next_status = now + status_s
            on_status(processor)
        wait = max(0.0, min(next_eval - now, 0.2))
        ready, _, _ = select.select([sock], [], [], wait)
        if ready:
            try:
                data = sock.recv(MAX_DATAGRAM)
            except ConnectionError:
                if not is_udp:  # a TCP server that resets has closed
                    break
                data = b""
            if not data and not is_udp:
                break
            # UDP datagrams end at a line boundary; TCP may cut a line in two.
            lines = data.split(b"\n") if is_udp else tcp.split(data)
            lines = [ln for ln in lines if ln.strip()]
            if lines:
                processor.feed(lines, recv_ms=int(time.time() * 1000))
        if time.monotonic() >= next_eval:
            next_eval = time.monotonic() + interval_s
            new = processor.evaluate(int(time.time() * 1000))
            if new.height:
                on_events(new)
    if tcp.pending.strip():
        processor.feed([tcp.pending], recv_ms=int(time.time() * 1000))
    new = processor.evaluate(int(time.time() * 1000))
    if new.height:
        on_events(new)
