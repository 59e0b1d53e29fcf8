"""Live feed: real UDP/TCP sockets on 127.0.0.1, NMEA with tag-block times, events once;
hostile input counted, never fatal."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from pyais.encode import encode_dict
from typer.testing import CliRunner

from trilink.cli.app import app
from trilink.maritime.config import MaritimeConfig
from trilink.maritime.events import Geography
from trilink.maritime.live import LiveProcessor
from trilink.maritime.live_io import run
from trilink.maritime.nmea import NmeaParser

T0_S = 1_772_323_200  # 2026-03-01T00:00:00Z


def _tag(sentence: str, t_s: int) -> bytes:
    body = f"c:{t_s}"
    x = 0
    for ch in body.encode():
        x ^= ch
    return f"\\{body}*{x:02X}\\{sentence}".encode()


def _minute_lines(minute: int) -> list[bytes]:
    """Two drifting ships ~300 m apart (STS) reporting every 2 minutes, plus statics."""
    t = T0_S + minute * 60
    out = []
    for mmsi, lat in ((352001234, 30.5), (445005678, 30.5027)):
        msg = {
            "msg_type": 1,
            "mmsi": mmsi,
            "lat": lat + minute * 1e-6,
            "lon": 125.5,
            "speed": 0.3,
            "course": 0.0,
            "heading": 0,
        }
        out += [_tag(s, t) for s in encode_dict(msg, talker_id="AI")]
    if minute == 0:
        st = {
            "msg_type": 5,
            "mmsi": 445005678,
            "shipname": "RYE SONG",
            "imo": 9200003,
            "ship_type": 80,
        }
        out += [_tag(s, t) for s in encode_dict(st, talker_id="AI")]
    return out


def _free_udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def test_udp_feed_event_appears_once_when_rule_is_met() -> None:
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    port = rx.getsockname()[1]
    proc = LiveProcessor(geo=Geography(), config=MaritimeConfig(), source="udp-test")
    got: queue.Queue[pl.DataFrame] = queue.Queue()
    stop = threading.Event()
    worker = threading.Thread(
        target=run,
        args=(rx, proc, got.put),
        kwargs={"interval_s": 0.1, "should_stop": stop.is_set},
    )
    worker.start()
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for minute in range(0, 110, 2):  # 1 h 48 min: not an encounter yet
            tx.sendto(b"\r\n".join(_minute_lines(minute)) + b"\r\n", ("127.0.0.1", port))
        tx.sendto(b"garbage line\n!AIVDM,1,1,,A,broken,0*00\n", ("127.0.0.1", port))
        # wait until the listener has evaluated everything sent so far
        for _ in range(100):
            if proc.stats.lines >= 114 and proc.stats.evaluations and not proc._dirty:
                break
            threading.Event().wait(0.05)
        assert got.empty()
        assert proc.stats.malformed == 2
        for minute in range(110, 132, 2):  # crosses 2 h of encounter
            tx.sendto(b"\n".join(_minute_lines(minute)) + b"\n", ("127.0.0.1", port))
        first = got.get(timeout=10)
        assert first.get_column("type").to_list() == ["encounter"]
        row = first.row(0, named=True)
        assert {row["mmsi"], row["other_mmsi"]} == {352001234, 445005678}
        assert row["other_name"] == "RYE SONG" or row["name"] == "RYE SONG"
        for minute in range(132, 160, 2):  # more of the same encounter: no new event
            tx.sendto(b"\n".join(_minute_lines(minute)) + b"\n", ("127.0.0.1", port))
        threading.Event().wait(0.5)
    finally:
        stop.set()
        worker.join(timeout=10)
        tx.close()
        rx.close()
    assert got.empty()
    assert proc.stats.events == 1


def test_listen_command_over_udp_writes_events(tmp_path: Path) -> None:
    port = _free_udp_port()
    out = tmp_path / "live"
    runner = CliRunner()
    result: dict[str, object] = {}

    def listen() -> None:
        result["r"] = runner.invoke(
            app,
            [
                "maritime",
                "listen",
                "--udp",
                str(port),
                "--host",
                "127.0.0.1",
                "--out",
                str(out),
                "--duration",
                "4",
                "--interval",
                "0.2",
                "--no-bundled-geo",
            ],
        )

    worker = threading.Thread(target=listen)
    worker.start()
    threading.Event().wait(1.0)  # the listener binds within this time
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for minute in range(0, 180, 2):
        tx.sendto(b"\n".join(_minute_lines(minute)) + b"\n", ("127.0.0.1", port))
    tx.close()
    worker.join(timeout=30)
    res = result["r"]
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    ev = pl.read_csv(out / "events.csv")
    assert ev.get_column("type").to_list() == ["encounter"]
    assert (out / "events.jsonl").read_text().count("\n") == 1
    assert (out / "quality.json").exists()


def test_tcp_feed_with_lines_split_across_packets() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    payload = b"".join(b"\n".join(_minute_lines(m)) + b"\n" for m in range(0, 150, 2))

    def serve() -> None:
        conn, _ = server.accept()
        for k in range(0, len(payload), 777):  # cut lines anywhere
            conn.sendall(payload[k : k + 777])
        conn.close()

    feeder = threading.Thread(target=serve)
    feeder.start()
    from trilink.maritime.live_io import open_tcp

    sock = open_tcp(f"127.0.0.1:{port}")
    proc = LiveProcessor(geo=Geography(), config=MaritimeConfig(), source="tcp-test")
    events: list[pl.DataFrame] = []
    run(sock, proc, events.append, interval_s=0.1, duration_s=20)
    sock.close()
    feeder.join()
    server.close()
    assert proc.stats.malformed == 0
    assert proc.stats.positions == 150
    assert [t for e in events for t in e.get_column("type").to_list()] == ["encounter"]


GOOD = b"!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C"  # real, type 1, MMSI 366053209


def _lines_of(proc: subprocess.Popen[str]) -> queue.Queue[str | None]:
    """The process' output lines as they come; None when it closes its output."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_for(lines: queue.Queue[str | None], text: str | None, seen: list[str]) -> str:
    """Read output up to the line containing ``text`` (None: to the end)."""
    while True:
        line = lines.get(timeout=60)
        if line is None:
            assert text is None, f"output ended before {text!r}: {''.join(seen)}"
            return ""
        seen.append(line)
        if text is not None and text in line:
            return line


def test_listener_process_outlives_the_22_byte_datagram(tmp_path: Path) -> None:
    """Issue 15: this datagram ended `trilink maritime listen` with a TypeError."""
    port = _free_udp_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "trilink", "maritime", "listen", "--udp", str(port)]
        + ["--out", str(tmp_path / "live"), "--no-bundled-geo", "--status", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "300"},
    )
    seen: list[str] = []
    try:
        lines = _lines_of(proc)
        # no --host: bound to the loopback address only
        assert f"listening on UDP 127.0.0.1:{port};" in _wait_for(lines, "listening on", seen)
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tx.sendto(b"!AIVDM,1,1,,A,H,0*6E", ("127.0.0.1", port))
        _wait_for(lines, "message_too_short 1", seen)
        tx.sendto(_tag(GOOD.decode(), T0_S) + b"\n", ("127.0.0.1", port))
        tx.close()
        status = _wait_for(lines, "1 positions", seen)
        assert "1 malformed (message_too_short 1)" in status
        proc.send_signal(signal.SIGINT)
        _wait_for(lines, None, seen)
        proc.wait(timeout=60)
    finally:
        proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
    output = "".join(seen)
    assert proc.returncode == 0, output
    assert "Traceback" not in output
    assert "udp:" + str(port) + ":1: message_too_short: type 24, 6 of 160 bits" in output


def test_tcp_line_without_end_is_cut_counted_and_the_feed_goes_on() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        conn.sendall(GOOD + b"\n")
        for _ in range(200):  # 1.6 MB without a newline, then the rest of the feed
            conn.sendall(b"!" * 8192)
        conn.sendall(b"\n" + GOOD + b"\n")
        conn.close()

    feeder = threading.Thread(target=serve)
    feeder.start()
    from trilink.maritime.live_io import open_tcp

    sock = open_tcp(f"127.0.0.1:{port}")
    proc = LiveProcessor(geo=Geography(), config=MaritimeConfig(), source="tcp-test")
    run(sock, proc, lambda _: None, interval_s=0.1, duration_s=60)
    sock.close()
    feeder.join()
    server.close()
    assert proc.stats.positions == 2
    assert proc.parser.problems.counts == {"line_too_long": 1}
    assert [(p.line, p.reason) for p in proc.parser.problems.items] == [(2, "line_too_long")]


def test_a_fix_stamped_in_2099_does_not_push_real_fixes_out_of_the_window() -> None:
    proc = LiveProcessor(geo=Geography(), config=MaritimeConfig(), source="udp-test")
    now_ms = (T0_S + 3 * 3600) * 1000
    proc.feed([_tag(GOOD.decode(), 4_070_908_800)], recv_ms=now_ms)  # 2099-01-01
    for minute in range(0, 132, 2):
        proc.feed(_minute_lines(minute), recv_ms=now_ms)
    events = proc.evaluate(now_ms)
    assert events.get_column("type").to_list() == ["encounter"]
    assert proc.stats.future_dropped == 1
    assert proc.status_line().endswith(", 1 future-dated fixes dropped")


def test_a_decoder_bug_is_counted_and_the_listener_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fault injection: the decoder is fuzzed never to raise, but if a bug makes it raise,
    the listener counts that batch and keeps reading."""
    import trilink.maritime.live as live_mod

    real = live_mod.parse_block

    def buggy(parser: NmeaParser, block: bytes, *args: Any, **kwargs: Any) -> Any:
        if b"BUG" in block:
            raise ZeroDivisionError("injected")
        return real(parser, block, *args, **kwargs)

    monkeypatch.setattr(live_mod, "parse_block", buggy)
    proc = LiveProcessor(geo=Geography(), config=MaritimeConfig(), source="udp-test")
    proc.feed([b"BUG"], recv_ms=T0_S * 1000)
    proc.feed([GOOD], recv_ms=T0_S * 1000)
    assert proc.stats.positions == 1
    assert proc.stats.malformed_by_reason == {"unexpected_error": 1}
    (problem,) = proc.parser.problems.items
    assert (problem.line, problem.text) == (1, "ZeroDivisionError: b'BUG\\n'")
