"""Hypothesis strategies that mutate real AIS lines, and the property every input must keep.

Shared by the suite (``test_maritime_fuzz.py``, few examples) and the long run outside it
(``bench/fuzz_nmea.py``, ``make fuzz``). Inputs start from every line of the real samples in
tests/data/maritime/nmea (tag blocks, multipart, Gatehouse, USCG trailers) and are mutated
byte- and field-wise; the checksums of the sentence and of its tag blocks are then usually
recomputed, so the mutation reaches the decoder instead of stopping at the checksum test.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

from hypothesis import strategies as st

from trilink.maritime.fastlines import parse_block
from trilink.maritime.nmea import MALFORMED, NmeaParser

NMEA_DIR = Path(__file__).resolve().parents[1] / "data" / "maritime" / "nmea"

# 6-bit armoring characters, in type order: ARMOR[t] is the first character of a type t
ARMOR = bytes(range(48, 88)) + bytes(range(96, 120))
# bytes that mean something to an NMEA/tag-block parser, plus a few that must not
_SIGNIFICANT = b",*!\\$:-0123456789ABCDEFHw`@ \r\t\x00\x7f\xff"


@cache
def real_lines() -> tuple[bytes, ...]:
    """Every non-blank line of the real samples (sentences, tag blocks, $PGHP, comments)."""
    out: list[bytes] = []
    for path in sorted(NMEA_DIR.iterdir()):
        out.extend(ln.strip() for ln in path.read_bytes().splitlines() if ln.strip())
    return tuple(out)


@cache
def real_files() -> tuple[tuple[bytes, ...], ...]:
    """The lines of each real sample, for windows of consecutive lines (multipart runs)."""
    return tuple(
        tuple(ln.strip() for ln in path.read_bytes().splitlines() if ln.strip())
        for path in sorted(NMEA_DIR.iterdir())
    )


def checksum(body: bytes) -> bytes:
    """NMEA checksum (XOR of the bytes between the start character and '*'), two hex digits."""
    x = 0
    for b in body:
        x ^= b
    return b"%02X" % x


def _fix_sentence(seg: bytes) -> bytes:
    start = min((i for i in (seg.find(b"!"), seg.find(b"$")) if i >= 0), default=-1)
    star = seg.rfind(b"*")
    if start < 0 or star <= start:
        return seg
    return seg[: star + 1] + checksum(seg[start + 1 : star]) + seg[star + 3 :]


def _fix_tag(tag: bytes) -> bytes:
    star = tag.rfind(b"*")
    if star < 0:
        return tag
    return tag[: star + 1] + checksum(tag[:star]) + tag[star + 3 :]


def with_valid_checksums(line: bytes) -> bytes:
    """The line with every tag block's and every sentence's checksum recomputed."""
    if not line.startswith(b"\\"):
        return _fix_sentence(line)
    parts = line.split(b"\\")
    return b"\\".join(_fix_tag(p) if k % 2 else _fix_sentence(p) for k, p in enumerate(parts))


_byte = st.one_of(st.sampled_from(_SIGNIFICANT), st.integers(0, 255))


@st.composite
def _mutate(draw: st.DrawFn, line: bytes) -> bytes:
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(
                ("byte", "insert", "delete", "stretch", "field", "payload", "fill", "frag")
            )
        )
        pos = draw(st.integers(0, len(line)))
        if kind == "byte" and line:
            pos = min(pos, len(line) - 1)
            line = line[:pos] + bytes([draw(_byte)]) + line[pos + 1 :]
        elif kind == "insert":
            extra = draw(st.lists(_byte, min_size=1, max_size=12).map(bytes))
            line = line[:pos] + extra + line[pos:]
        elif kind == "delete":
            end = draw(st.integers(pos, min(len(line), pos + 40)))
            line = line[:pos] + line[end:]
        elif kind == "stretch":  # a piece repeated past the payload and line limits
            piece = line[pos : pos + draw(st.integers(1, 8))] or b","
            line = line[:pos] + piece * draw(st.integers(2, 2600 // len(piece))) + line[pos:]
        else:
            fields = line.split(b",")
            k = {"payload": 5, "fill": 6, "frag": draw(st.sampled_from((1, 2, 3, 4)))}.get(
                kind, draw(st.integers(0, max(len(fields) - 1, 0)))
            )
            if k >= len(fields):
                continue
            if kind == "payload":
                # a real type character followed by a payload of any length: reaches every
                # pyais message class with too few (or too many) bits
                first = draw(st.one_of(st.sampled_from(ARMOR), _byte))
                rest = draw(st.lists(st.sampled_from(ARMOR), max_size=80).map(bytes))
                new = bytes([first]) + rest
            elif kind == "fill":
                tail = fields[k][1:]  # keep '*hh' and any trailer
                new = draw(st.sampled_from(b"0123456789A")).to_bytes(1, "big") + tail
            elif kind == "frag":
                new = draw(
                    st.one_of(
                        st.sampled_from((b"", b"0", b"1", b"2", b"9", b"10", b"-1", b"99999")),
                        st.binary(max_size=6),
                    )
                )
            else:
                new = draw(st.binary(max_size=20))
            fields[k] = new
            line = b",".join(fields)
    return line


@st.composite
def mutated_line(draw: st.DrawFn) -> bytes:
    """One real line, mutated; checksums recomputed in 9 of 10 cases."""
    line = draw(_mutate(draw(st.sampled_from(real_lines()))))
    if draw(st.integers(0, 9)):
        line = with_valid_checksums(line)
    return line


@st.composite
def mutated_run(draw: st.DrawFn) -> list[bytes]:
    """Up to 8 consecutive real lines (multipart fragments, $PGHP time lines), some
    mutated, some dropped or repeated."""
    lines = draw(st.sampled_from(real_files()))
    start = draw(st.integers(0, len(lines) - 1))
    run = list(lines[start : start + draw(st.integers(1, 8))])
    out: list[bytes] = []
    for line in run:
        action = draw(st.sampled_from(("keep", "keep", "mutate", "drop", "repeat")))
        if action == "mutate":
            out.append(with_valid_checksums(draw(_mutate(line))))
        elif action == "repeat":
            out += [line, line]
        elif action == "keep":
            out.append(line)
    return out or [run[0]]


# bytes that would end the tag block or the line are left out
_tag_bytes = st.binary(max_size=16).map(lambda b: b.translate(None, b"\\\r\n"))
_tag_value = st.one_of(
    st.from_regex(rb"\A[0-9]{0,40}\Z", fullmatch=True),
    st.from_regex(rb"\A-?[0-9]{1,12}(\.[0-9]{0,3})?\Z", fullmatch=True),
    _tag_bytes,
)
_tag_item = st.one_of(
    st.builds(lambda v: b"c:" + v, _tag_value),
    st.builds(
        lambda a, b, c: b"g:%s-%s-%s" % (a, b, c),
        *(st.sampled_from((b"1", b"2", b"3", b"0", b"", b"x", b"99999999999999999999")),) * 3,
    ),
    st.builds(lambda v: b"s:" + v, _tag_bytes),
    _tag_bytes,
)


@st.composite
def tagged_line(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """(tag block body, full line): a real single-part sentence without a trailing time,
    behind an arbitrary tag block whose checksum is usually right."""
    sentences = [
        ln
        for ln in real_lines()
        if ln.startswith(b"!AIVDM,1,1,") and ln.rfind(b"*") == len(ln) - 3  # no USCG time
    ]
    sentence = draw(st.sampled_from(sentences))
    body = b",".join(draw(st.lists(_tag_item, min_size=0, max_size=4)))
    tail = b"*" + checksum(body) if draw(st.integers(0, 9)) else draw(_tag_bytes)[:3]
    return body, b"\\" + body + tail + b"\\" + sentence


def decode_lines(lines: list[bytes], *, live: bool, decode_all: bool) -> tuple[NmeaParser, int]:
    """Lines through the parser and decoder the way a file (or, with ``live``, a socket) is
    read; returns the parser and the number of decoded messages. Raises what the code raises:
    the property is that it raises nothing."""
    parser = NmeaParser("fuzz")
    recv_ms = 1_772_323_200_000 if live else None
    dec, _ = parse_block(parser, b"\n".join(lines) + b"\n", 1, recv_ms, decode_all=decode_all)
    parser.finish()
    return parser, dec.fast + dec.slow + dec.skipped


def assert_accounted(lines: list[bytes], *, live: bool = False) -> Counter[str]:
    """The property, with the engine's types and with every type decoded: decoding raises
    nothing, every problem has a known reason, and no line vanishes (each gives a message, a
    counted problem or a counted note). Returns the problems counted, by reason."""
    counts: Counter[str] = Counter()
    for decode_all in (False, True):
        parser, messages = decode_lines(lines, live=live, decode_all=decode_all)
        reasons = set(parser.problems.counts)
        assert reasons <= set(MALFORMED) - {"unexpected_error"}, parser.problems.counts
        if any(ln.strip() for ln in lines):
            accounted = (
                messages + sum(parser.problems.counts.values()) + sum(parser.notes.values())
            )
            # multipart fragments of one message count once, hence no equality
            assert accounted >= 1, lines
        counts.update(parser.problems.counts)
    return counts
