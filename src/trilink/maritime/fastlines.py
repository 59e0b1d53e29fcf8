"""Vectorised fast path for the commonest NMEA line, before the per-line parser.

A receiver log is mostly single-sentence class A/B position reports with nothing else on the
line: ``!AIVDM,1,1,,A,<28 characters>,0*hh`` (47 bytes). Such lines are recognised, checked
(every fixed character, XOR checksum, armoring) and decoded for a whole block at once with
numpy; every other line (tag blocks, multipart, statics, comments, bad checksums, ...) goes
through ``NmeaParser`` unchanged, with its own line number. The decoded values are the same
bytes pyais produces (``decode168``, tested in tests/maritime).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from trilink.maritime.decode import ARMOR, Decoded, decode168, decode_assembled
from trilink.maritime.nmea import HEX_DIGITS, NO_TIME, NmeaParser
from trilink.maritime.tables import POSITION_SCHEMA, STATIC_SCHEMA, TS, conform

LINE_LEN = 47
_FIXED = {
    0: b"!",
    3: b"V",
    4: b"D",
    6: b",",
    7: b"1",
    8: b",",
    9: b"1",
    10: b",",
    11: b",",
    13: b",",
    42: b",",
    43: b"0",
    44: b"*",
}


def simple_lines(block: bytes) -> tuple[int, np.ndarray, dict[str, np.ndarray]]:
    """(number of lines, indices of the lines decoded here, their columns)."""
    a = np.frombuffer(block, dtype=np.uint8)
    nl = np.flatnonzero(a == 10)
    starts = np.concatenate(([0], nl + 1))
    ends = np.concatenate((nl, [a.size]))
    n_lines = int(starts.size if ends[-1] > starts[-1] else starts.size - 1)
    starts, ends = starts[:n_lines], ends[:n_lines]
    length = ends - starts
    if a.size:
        length -= (length > 0) & (a[np.maximum(ends - 1, 0)] == 13)
    cand = np.flatnonzero(length == LINE_LEN)
    if not cand.size:
        return n_lines, cand, {}
    m = a[starts[cand, None] + np.arange(LINE_LEN)]
    ok = (m[:, 5] == ord("M")) | (m[:, 5] == ord("O"))
    for col, ch in _FIXED.items():
        ok &= m[:, col] == ch[0]
    hexd = HEX_DIGITS[m[:, 45:47]]
    xor = np.bitwise_xor.reduce(m[:, 1:44], axis=1).astype(np.int16)
    ok &= (hexd.min(axis=1) >= 0) & (xor == hexd[:, 0] * 16 + hexd[:, 1])
    chars = ARMOR[m[:, 14:42]]
    ok &= (chars != 255).all(axis=1)
    mt = chars[:, 0]
    ok &= (mt == 1) | (mt == 2) | (mt == 3) | (mt == 18)
    idx = cand[ok]
    if not idx.size:
        return n_lines, idx, {}
    return n_lines, idx, decode168(chars[ok], mt[ok].astype(np.int64))


def parse_block(
    parser: NmeaParser,
    block: bytes,
    first_line: int,
    recv_ms: int | None = None,
    *,
    decode_all: bool = False,
) -> tuple[Decoded, int]:
    """Parse and decode a block of whole lines; returns (decoded tables, lines in block).

    Blocks with Gatehouse ``$PGHP`` time lines go entirely through the ordered parser, since
    those lines set the time of the sentences after them.
    """
    if b"$PGHP" in block or parser.keep_raw:
        lines = block.split(b"\n")
        if lines and not lines[-1]:
            lines.pop()
        batch = parser.feed(lines, first_line=first_line, recv_ms=recv_ms)
        dec = decode_assembled(batch, parser.source, parser.problems, decode_all=decode_all)
        return dec, len(lines)
    n_lines, idx, cols = simple_lines(block)
    lines = block.split(b"\n")[:n_lines]
    if idx.size:
        handled = np.zeros(n_lines, dtype=bool)
        handled[idx] = True
        rest = np.flatnonzero(~handled)
        batch = parser.feed(
            [lines[i] for i in rest.tolist()],
            recv_ms=recv_ms,
            line_numbers=(rest + first_line).tolist(),
        )
        parser.sentences += int(idx.size)
    else:
        batch = parser.feed(lines, first_line=first_line, recv_ms=recv_ms)
    dec = decode_assembled(batch, parser.source, parser.problems, decode_all=decode_all)
    if idx.size:
        t = np.full(idx.size, NO_TIME if recv_ms is None else recv_ms, dtype=np.int64)
        fast = pl.DataFrame(
            {
                **cols,
                "timestamp": np.where(t == NO_TIME, 0, t),
                "line": idx.astype(np.int64) + first_line,
            }
        ).with_columns(
            pl.when(pl.lit(recv_ms is not None))
            .then(pl.col("timestamp").cast(TS))
            .alias("timestamp"),
            pl.lit(parser.source).alias("source"),
        )
        fast = conform(fast, POSITION_SCHEMA).select(list(POSITION_SCHEMA))
        dec.positions = pl.concat([dec.positions, fast]) if dec.positions.height else fast
        dec.types.update(cols["msg_type"].tolist())
        dec.fast += int(idx.size)
    if dec.statics.width == 0:
        dec.statics = conform(pl.DataFrame(), STATIC_SCHEMA)
    return dec, n_lines
