"""Benchmark: NMEA AIS decoding, trilink (vectorised positions + pyais for the rest) vs pyais.

Same run, same bytes: every real NMEA sample in tests/data/maritime/nmea concatenated into a
mixed feed (all message types, tag blocks, multipart, malformed lines), repeated to ~300k
lines, and a position-only feed (single-sentence types 1/2/3/18). Baseline = plain pyais:
``FileReaderStream`` over the file and ``.decode()`` of every message. trilink = the full
ingest (``read_nmea``: parse, checksum, reassemble, decode, columnar tables).

Before timing, every position report in the real samples is decoded both ways and compared
bit for bit (lat, lon, speed, course, heading, MMSI, type).

    .venv/bin/python bench/bench_maritime_decode.py [--repeat 40] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pyais import decode as pyais_decode
from pyais.stream import FileReaderStream

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_maritime_events import machine, write_section  # noqa: E402
from trilink.maritime.decode import decode_assembled  # noqa: E402
from trilink.maritime.ingest import read_nmea  # noqa: E402
from trilink.maritime.nmea import NmeaParser  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NMEA = ROOT / "tests" / "data" / "maritime" / "nmea"


def bare(sentence: bytes) -> bytes:
    star = sentence.rfind(b"*")
    return sentence[: star + 3] if star >= 0 else sentence


# Bits a position report needs to hold every compared field (through heading; type 27
# through course; type 19 through its dimensions). pyais reads a field cut by the end of the
# message from the bits that are there, trilink leaves it empty: such messages are not
# compared.
FULL_BITS = {1: 137, 2: 137, 3: 137, 18: 133, 19: 301, 27: 94}


def identity_check() -> tuple[int, int]:
    """(position reports compared, mismatches) over every real sample."""
    compared = mismatches = 0
    for path in sorted(NMEA.iterdir()):
        parser = NmeaParser(path.name, keep_raw=True)
        batch = parser.feed(path.read_bytes().splitlines())
        dec = decode_assembled(batch, path.name, parser.problems)
        rows = {(r["line"], r["mmsi"]): r for r in dec.positions.iter_rows(named=True)}
        assert batch.raw is not None
        for raw, line, payload, fill in zip(
            batch.raw, batch.lines, batch.payloads, batch.fills, strict=True
        ):
            try:
                ref = pyais_decode(*[bare(r) for r in raw])
            except Exception:
                continue
            if ref.msg_type not in FULL_BITS or ref.lat is None:
                continue
            if len(payload) * 6 - fill < FULL_BITS[ref.msg_type]:
                continue
            mine = rows.get((line, ref.mmsi))
            compared += 1
            hdg = getattr(ref, "heading", None)
            want = [ref.lat, ref.lon, ref.speed, ref.course, hdg, ref.msg_type]
            got = (
                None
                if mine is None
                else [
                    mine["lat"],
                    mine["lon"],
                    mine["sog_kn"],
                    mine["cog_deg"],
                    mine["heading_deg"],
                    mine["msg_type"],
                ]
            )
            same = got is not None and all(
                (a is None and b is None)
                or (
                    a is not None
                    and b is not None
                    and np.float64(a).tobytes() == np.float64(b).tobytes()
                )
                for a, b in zip(got, want, strict=True)
            )
            mismatches += not same
    return compared, mismatches


def pyais_file(path: Path) -> int:
    n = 0
    for msg in FileReaderStream(str(path)):
        try:
            msg.decode()
            n += 1
        except Exception:  # same policy as ours: a bad message is skipped, not fatal
            continue
    return n


def best_of(fn, runs: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    best, result = float("inf"), 0
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=40)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    compared, mismatches = identity_check()
    print(f"bit-identity: {compared} position reports compared, {mismatches} mismatches")
    tmp = Path(tempfile.mkdtemp(prefix="bench_decode_"))
    corpus = b"".join(p.read_bytes().rstrip(b"\n") + b"\n" for p in sorted(NMEA.iterdir()))
    mixed = tmp / "mixed.nmea"
    mixed.write_bytes(corpus * a.repeat)
    singles = [
        ln
        for ln in corpus.splitlines()
        if ln.startswith(b"!AIVDM,1,1,")
        and len(ln.split(b",")) >= 7
        and ln.split(b",")[5][:1] in (b"1", b"2", b"3", b"B")
        and len(ln.split(b",")[5]) == 28
    ]
    positions = tmp / "positions.nmea"
    reps = max(1, 300_000 // max(len(singles), 1))
    positions.write_bytes(b"\n".join(singles * reps) + b"\n")
    # The four samples that are receiver captures as recorded (per the data's source note),
    # as opposed to decoder test suites: the realistic mix of a live feed.
    receiver = tmp / "receivers.nmea"
    captures = (
        "pyais__tests_nmea_data_sample.txt",
        "gpsd__test_daemon_ais-nmea.log",
        "gpsd__test_daemon_ais-nmea-type6-fid55.log",
        "gpsd__test_daemon_ais-raw-messages.log",
    )
    receiver.write_bytes(
        b"".join((NMEA / n).read_bytes().rstrip(b"\n") + b"\n" for n in captures) * a.repeat * 4
    )
    read_nmea(mixed)  # warm numba/caches
    rows = []
    for name, path, decode_all in (
        ("mixed real feed, engine types decoded*", mixed, False),
        ("mixed real feed, every type decoded", mixed, True),
        ("real receiver captures, engine types decoded*", receiver, False),
        ("real receiver captures, every type decoded", receiver, True),
        ("single-part position reports", positions, False),
    ):
        lines = path.read_bytes().count(b"\n")
        t_py, n_py = best_of(lambda path=path: pyais_file(path), a.runs)
        t_tl, data = best_of(lambda path=path, d=decode_all: read_nmea(path, decode_all=d), a.runs)
        n_tl = data.messages  # type: ignore[attr-defined]
        rows.append((name, lines, n_py, t_py, n_tl, t_tl))
        print(
            name,
            lines,
            n_py,
            f"{n_py / t_py:,.0f}/s",
            n_tl,
            f"{n_tl / t_tl:,.0f}/s",
            f"x{(n_tl / t_tl) / (n_py / t_py):.1f}",
        )
    out = [
        "## NMEA decode (`bench/bench_maritime_decode.py`)",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}; best of {a.runs}.",
        "",
        f"Bit-identity before timing: {compared} position reports from all 27 real samples "
        f"decoded by both; {mismatches} differ (lat, lon, speed, course, heading, type compared "
        "as IEEE-754 bytes). pyais is given each sentence without USCG trailing fields, which it "
        "would otherwise read as the fill-bit field. Reports that end inside a compared field "
        "are left out (pyais reads the bits that are there, trilink leaves the field empty).",
        "",
        "Mixed feed = the 27 real samples concatenated (all message types, tag blocks, "
        f"multipart, malformed lines) × {a.repeat}. Receiver captures = the four samples "
        "recorded from real receivers (pyais nmea_data_sample, gpsd ais-nmea.log with GPS "
        "sentences interleaved, gpsd type6-fid55 live capture, gpsd raw-messages) × "
        f"{a.repeat * 4}. Position feed = the single-sentence "
        f"type 1/2/3/18 reports of the samples × {reps}. pyais = `FileReaderStream` + "
        "`.decode()` per message; trilink = `read_nmea` (parse, vectorised checksum, "
        "reassembly, vectorised decode of standard-length positions (1/2/3/18/27) and statics "
        "(5/24), pyais' own message classes for the rest, polars tables). "
        "Lines of the form `!AIVDM,1,1,,A,<28 chars>,0*hh` are checked and decoded for a whole "
        "block at once (`trilink/maritime/fastlines.py`); all others go through the per-line "
        "parser.",
        "",
        "| feed | lines | pyais msgs | pyais msgs/s | trilink msgs | trilink msgs/s | speed-up |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, lines, n_py, t_py, n_tl, t_tl in rows:
        out.append(
            f"| {name} | {lines:,} | {n_py:,} | {n_py / t_py:,.0f} | {n_tl:,} | "
            f"{n_tl / t_tl:,.0f} | {(n_tl / t_tl) / (n_py / t_py):.1f}× |"
        )
    out += [
        "",
        "\\* engine types = positions (1, 2, 3, 18, 19, 27) and statics (5, 19, 24) are "
        "decoded; the other types (base stations, binary, safety, ...) are only counted by "
        "type, since no detector reads them. Message counts differ where pyais decodes "
        "sentences trilink rejects (bad or missing checksum: dropped and counted).",
    ]
    section = "\n".join(out) + "\n"
    print(section)
    if not a.no_write:
        write_section(section, "## NMEA decode")


if __name__ == "__main__":
    main()
