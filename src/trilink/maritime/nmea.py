"""NMEA 0183 AIS sentence parsing and multi-sentence reassembly (pure; no file access).

First step of the NMEA flow: lines (bytes) → checked ``!xxVDM``/``!xxVDO`` sentences →
assembled AIS payloads with a time and the line they came from. ``trilink.maritime.decode``
turns the payloads into position/static tables.

Times come from, in order: an NMEA 4.10 tag block ``c:`` (unix seconds), a trailing unix time
field after the checksum (USCG/N-AIS logs), the last Gatehouse ``$PGHP`` line, or the receive
time given by the caller (live feeds). Every line that is not used is counted by reason and the
malformed ones are kept with file and line number: nothing is dropped silently.

Inputs are bounded, since a live feed is open to anyone who can reach the port: lines longer
than ``MAX_LINE`` bytes, times outside 1970..2099, and multipart fragments that wait longer than
``MULTIPART_MAX_LINES`` lines (or ``MULTIPART_MAX_AGE_MS`` of receive time) or exceed
``MULTIPART_MAX_PENDING`` messages at once are dropped and counted; nothing here raises on
bad input.

The checksum test is vectorised over a whole batch (numpy XOR ``reduceat``); only the cheap
field split runs per line in Python.
"""

from __future__ import annotations

import calendar
import datetime
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

NO_TIME = np.iinfo(np.int64).min
MAX_FRAGMENT_PAYLOAD = 200  # characters per sentence, as pyais enforces
# The longest real line in the samples is 659 bytes (several sentences behind tag blocks).
MAX_LINE = 2048
# A multipart message is sent in consecutive slots; real logs interleave at most a few
# lines (5 in the samples). Beyond these, its first fragments are dropped as stale.
MULTIPART_MAX_LINES = 1000
MULTIPART_MAX_AGE_MS = 60_000
# Legitimate traffic has at most 10 sequence ids x 2 channels x 8 sizes in flight.
MULTIPART_MAX_PENDING = 512
# Times a tag block or $PGHP line may carry: 1970-01-01 .. 2099-12-31 (ms).
TIME_MAX_MS = 4_102_444_800_000
_BAD_TIME = -1

HEX_DIGITS = np.full(256, -1, dtype=np.int16)
for _i, _c in enumerate(b"0123456789ABCDEF"):
    HEX_DIGITS[_c] = _i
for _i, _c in enumerate(b"abcdef"):
    HEX_DIGITS[_c] = 10 + _i

# Problems are malformed input; notes are lines deliberately skipped (comments, other NMEA).
MALFORMED = (
    "bad_checksum",
    "missing_checksum",
    "bad_field_count",
    "bad_fragment_fields",
    "empty_payload",
    "bad_payload_char",
    "payload_too_long",
    "fragment_out_of_order",
    "incomplete_multipart",
    "bad_tag_block",
    "bad_tag_time",
    "bad_gatehouse_time",
    "line_too_long",
    "multipart_expired",
    "multipart_overflow",
    "not_nmea",
    "decode_error",
    "message_too_short",
    "unexpected_error",
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One malformed line: where it was and why it was not used."""

    source: str
    line: int
    reason: str
    text: str


@dataclass
class ProblemLog:
    """Counts per reason plus the first ``keep`` problems in full (file, line, text)."""

    keep: int = 1000
    counts: Counter[str] = field(default_factory=Counter)
    items: list[Problem] = field(default_factory=list)

    def add(self, source: str, line: int, reason: str, raw: bytes | str) -> None:
        self.counts[reason] += 1
        if len(self.items) < self.keep:
            raw = raw[:120]  # a line may be 64 KiB: keep what a report can show
            text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw
            # control bytes would garble the report: show them as '?'
            text = "".join(ch if ch.isprintable() else "?" for ch in text)
            self.items.append(Problem(source, line, reason, text))

    def merge(self, other: ProblemLog) -> None:
        self.counts.update(other.counts)
        room = self.keep - len(self.items)
        if room > 0:
            self.items.extend(other.items[:room])


@dataclass
class Assembled:
    """Complete AIS payloads (one per message) in arrival order, columnar."""

    payloads: list[bytes] = field(default_factory=list)
    fills: list[int] = field(default_factory=list)
    t_ms: list[int] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    raw: list[tuple[bytes, ...]] | None = None

    def __len__(self) -> int:
        return len(self.payloads)


@dataclass
class _Partial:
    total: int
    next_num: int
    payload: list[bytes]
    t_ms: int
    line: int
    raw: list[bytes]
    recv_ms: int


def _tag_time_ms(tag: bytes) -> int | None:
    """The ``c:`` unix time of a tag block, in ms (accepts seconds or milliseconds); None
    without ``c:``, ``_BAD_TIME`` when it is not a time of 1970..2099."""
    star = tag.find(b"*")
    body = tag[:star] if star >= 0 else tag
    for item in body.split(b","):
        if item[:2] == b"c:":
            value = item[2:]
            # 14 digits are past 2099 in seconds and in ms: no need to parse a giant
            if not value.isdigit() or len(value) > 14:
                return _BAD_TIME
            secs = int(value)
            t_ms = secs if secs > 100_000_000_000 else secs * 1000
            return t_ms if t_ms < TIME_MAX_MS else _BAD_TIME
    return None


def _pghp_time_ms(line: bytes) -> int:
    """Time of a Gatehouse ``$PGHP,1,<year>,<month>,<day>,<hour>,<minute>,<second>,<ms>``
    line, or ``_BAD_TIME``."""
    parts = line.split(b",")
    fields = parts[2:9]
    if len(fields) < 7 or not all(p.isdigit() and len(p) <= 4 for p in fields):
        return _BAD_TIME
    y, mo, d, h, mi, s, ms = (int(p) for p in fields)
    if not (1970 <= y < 2100 and h < 24 and mi < 60 and s < 61 and ms < 1000):
        return _BAD_TIME
    try:
        datetime.date(y, mo, d)  # month and day, leap years included
    except ValueError:
        return _BAD_TIME
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) * 1000 + ms


def _checksum_ok(sentence: bytes) -> bool:
    """XOR checksum of one sentence (for the rare lines outside the vectorised check)."""
    star = sentence.rfind(b"*")
    if star < 1:
        return False
    x = 0
    for b in sentence[1:star]:
        x ^= b
    return sentence[star + 1 : star + 3].upper() == b"%02X" % x


def _trailing_time_ms(trailing: bytes) -> int | None:
    if not trailing:
        return None
    last = trailing.rsplit(b",", 1)[-1].strip()
    if last.isdigit() and 9 <= len(last) <= 10:
        return int(last) * 1000
    return None


class NmeaParser:
    """Stateful parser for one source (a file or a live feed); keeps partial multiparts.

    ``feed`` may be called many times with consecutive chunks of lines; ``finish`` reports the
    multipart messages still missing fragments at the end.
    """

    def __init__(self, source: str, *, keep_raw: bool = False, keep_problems: int = 1000):
        self.source = source
        self.keep_raw = keep_raw
        self.problems = ProblemLog(keep=keep_problems)
        self.notes: Counter[str] = Counter()
        self.sentences = 0
        self._pending: dict[tuple[bytes, bytes, int], _Partial] = {}
        self._ghp_ms: int | None = None

    def feed(
        self,
        lines: list[bytes],
        first_line: int = 1,
        recv_ms: int | None = None,
        line_numbers: list[int] | None = None,
    ) -> Assembled:
        """Parse lines (consecutive from ``first_line``, or numbered by ``line_numbers``);
        returns the messages completed by them."""
        src = self.source
        bodies: list[bytes] = []
        sums: list[bytes] = []
        meta: list[tuple[bytes, int, int, bytes]] = []  # body, t_ms, line, raw sentence
        default_ms = NO_TIME if recv_ms is None else recv_ms
        numbers = (
            line_numbers
            if line_numbers is not None
            else range(first_line, first_line + len(lines))
        )
        if self._pending:
            self._expire(next(iter(numbers), 0), default_ms)
        for ln, rawline in zip(numbers, lines, strict=True):
            if len(rawline) > MAX_LINE:
                self.problems.add(src, ln, "line_too_long", rawline)
                continue
            line = rawline.strip()
            if not line:
                continue
            c0 = line[0]
            if c0 == 33:  # '!'
                pieces: list[tuple[bytes | None, bytes]] = [(None, line)]
            elif c0 == 92:  # '\\' tag block(s)
                parts = line.split(b"\\")
                if len(parts) < 3 or len(parts) % 2 == 0:
                    self.problems.add(src, ln, "bad_tag_block", line)
                    continue
                pieces = [(parts[k], parts[k + 1]) for k in range(1, len(parts) - 1, 2)]
            elif c0 == 36:  # '$'
                if line.startswith(b"$PGHP,1,"):
                    self._gatehouse_time(ln, line)
                else:
                    self.notes["other_nmea"] += 1
                continue
            elif c0 == 35:  # '#'
                self.notes["comment"] += 1
                continue
            else:
                bang = line.find(b"!AIVD")
                if bang < 0:
                    self.problems.add(src, ln, "not_nmea", line)
                    continue
                pieces = [(None, line[bang:])]
            for tag, sentence in pieces:
                if sentence[:1] != b"!" or sentence[3:5] != b"VD":
                    if sentence[:1] == b"!":
                        self.notes["other_nmea"] += 1
                    else:
                        self.problems.add(src, ln, "not_nmea", line)
                    continue
                self.sentences += 1
                star = sentence.rfind(b"*")
                if star < 0:
                    self.problems.add(src, ln, "missing_checksum", sentence)
                    continue
                t_ms = None
                if tag is not None:
                    t_ms = _tag_time_ms(tag)
                    if t_ms == _BAD_TIME:
                        self.problems.add(src, ln, "bad_tag_time", line)
                        continue
                if t_ms is None:
                    t_ms = _trailing_time_ms(sentence[star + 3 :])
                if t_ms is None:
                    t_ms = self._ghp_ms if self._ghp_ms is not None else default_ms
                body = sentence[1:star]
                bodies.append(body)
                sums.append((sentence[star + 1 : star + 3] + b"zz")[:2])
                meta.append((body, t_ms, ln, sentence))
        if not bodies:
            return Assembled(raw=[] if self.keep_raw else None)
        ok = self._checksums_ok(bodies, sums)
        return self._assemble(meta, ok, default_ms)

    def _gatehouse_time(self, ln: int, line: bytes) -> None:
        """A ``$PGHP,1`` line sets the time of the sentences after it; a damaged one clears
        it, so they fall back to the receive time instead of inheriting a stale one."""
        self._ghp_ms = None
        if not _checksum_ok(line):
            self.problems.add(self.source, ln, "bad_checksum", line)
            return
        t_ms = _pghp_time_ms(line)
        if t_ms == _BAD_TIME:
            self.problems.add(self.source, ln, "bad_gatehouse_time", line)
            return
        self._ghp_ms = t_ms
        self.notes["gatehouse_time"] += 1

    def _is_stale(self, part: _Partial, ln: int, recv_ms: int) -> bool:
        if ln - part.line > MULTIPART_MAX_LINES:
            return True
        return (
            recv_ms != NO_TIME
            and part.recv_ms != NO_TIME
            and recv_ms - part.recv_ms > MULTIPART_MAX_AGE_MS
        )

    def _expire(self, ln: int, recv_ms: int) -> None:
        """Drop the pending multiparts too old to be completed (oldest first: the dict keeps
        them in the order their first fragments came)."""
        while self._pending:
            key, part = next(iter(self._pending.items()))
            if not self._is_stale(part, ln, recv_ms):
                return
            del self._pending[key]
            self.problems.add(self.source, part.line, "multipart_expired", part.raw[0])

    @staticmethod
    def _checksums_ok(bodies: list[bytes], sums: list[bytes]) -> np.ndarray:
        lengths = np.fromiter((len(b) for b in bodies), dtype=np.int64, count=len(bodies))
        buf = np.frombuffer(b"".join(bodies), dtype=np.uint8)
        starts = np.zeros(len(bodies), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        # reduceat misbehaves on empty segments; an empty body can never match anyway.
        safe = np.minimum(starts, max(len(buf) - 1, 0))
        xor = np.bitwise_xor.reduceat(buf, safe) if len(buf) else np.zeros(len(bodies), np.uint8)
        given = HEX_DIGITS[np.frombuffer(b"".join(sums), dtype=np.uint8).reshape(-1, 2)]
        value = given[:, 0] * 16 + given[:, 1]
        ok: np.ndarray = (lengths > 0) & (given.min(axis=1) >= 0) & (xor.astype(np.int16) == value)
        return ok

    def _assemble(
        self, meta: list[tuple[bytes, int, int, bytes]], ok: np.ndarray, recv_ms: int
    ) -> Assembled:
        src = self.source
        out = Assembled(raw=[] if self.keep_raw else None)
        payloads, fills, times, lines_out = out.payloads, out.fills, out.t_ms, out.lines
        raw_out = out.raw
        for (body, t_ms, ln, sentence), good in zip(meta, ok.tolist(), strict=True):
            if not good:
                self.problems.add(src, ln, "bad_checksum", sentence)
                continue
            f = body.split(b",")
            if len(f) != 7:
                self.problems.add(src, ln, "bad_field_count", sentence)
                continue
            _talker, total_b, num_b, seq, chan, payload, fill_b = f
            if len(payload) > MAX_FRAGMENT_PAYLOAD:
                self.problems.add(src, ln, "payload_too_long", sentence)
                continue
            if total_b == b"1" and num_b == b"1":
                if not payload:
                    self.problems.add(src, ln, "empty_payload", sentence)
                    continue
                if len(fill_b) != 1 or not (48 <= fill_b[0] <= 53):
                    self.problems.add(src, ln, "bad_fragment_fields", sentence)
                    continue
                payloads.append(payload)
                fills.append(fill_b[0] - 48)
                times.append(t_ms)
                lines_out.append(ln)
                if raw_out is not None:
                    raw_out.append((sentence,))
                continue
            if not (total_b.isdigit() and num_b.isdigit()):
                self.problems.add(src, ln, "bad_fragment_fields", sentence)
                continue
            total, num = int(total_b), int(num_b)
            if not (1 <= num <= total <= 9) or (num == total and len(fill_b) != 1):
                self.problems.add(src, ln, "bad_fragment_fields", sentence)
                continue
            key = (seq, chan, total)
            part = self._pending.get(key)
            if part is not None and self._is_stale(part, ln, recv_ms):
                del self._pending[key]
                self.problems.add(src, part.line, "multipart_expired", part.raw[0])
                part = None
            if num == 1:
                if part is not None:
                    del self._pending[key]  # re-inserted below, as the newest
                    self.problems.add(src, part.line, "incomplete_multipart", part.raw[0])
                self._pending[key] = _Partial(total, 2, [payload], t_ms, ln, [sentence], recv_ms)
                if len(self._pending) > MULTIPART_MAX_PENDING:
                    oldest = self._pending.pop(next(iter(self._pending)))
                    self.problems.add(src, oldest.line, "multipart_overflow", oldest.raw[0])
                continue
            if part is None or part.next_num != num:
                self.problems.add(src, ln, "fragment_out_of_order", sentence)
                continue
            part.payload.append(payload)
            part.raw.append(sentence)
            part.next_num += 1
            if num < total:
                continue
            del self._pending[key]
            full = b"".join(part.payload)
            if not full or not (48 <= fill_b[0] <= 53):
                self.problems.add(src, part.line, "empty_payload", part.raw[0])
                continue
            payloads.append(full)
            fills.append(fill_b[0] - 48)
            times.append(part.t_ms)
            lines_out.append(part.line)
            if raw_out is not None:
                raw_out.append(tuple(part.raw))
        return out

    def finish(self) -> None:
        """Count the multipart messages whose later fragments never arrived."""
        for part in self._pending.values():
            self.problems.add(self.source, part.line, "incomplete_multipart", part.raw[0])
        self._pending.clear()
