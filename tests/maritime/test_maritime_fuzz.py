"""Nothing a feed sends makes the decoder raise: property tests over mutated real sentences
and tag blocks, the exact inputs that crashed it (issue 15), and the input bounds.

The long run of the same properties is ``make fuzz`` (bench/fuzz_nmea.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers_nmea_fuzz import (
    assert_accounted,
    checksum,
    decode_lines,
    mutated_line,
    mutated_run,
    tagged_line,
)
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

from trilink.cli.app import app
from trilink.maritime.fastlines import parse_block
from trilink.maritime.ingest import read_nmea
from trilink.maritime.nmea import (
    MAX_LINE,
    MULTIPART_MAX_AGE_MS,
    MULTIPART_MAX_LINES,
    MULTIPART_MAX_PENDING,
    NmeaParser,
)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RECV_MS = 1_772_323_200_000
GOOD = b"!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C"  # real, type 1, MMSI 366053209


def sentence(body: bytes) -> bytes:
    """``!body*hh`` with its checksum."""
    return b"!" + body + b"*" + checksum(body)


@FUZZ
@given(mutated_line())
def test_mutated_real_sentences_never_raise(line: bytes) -> None:
    assert_accounted([line])
    assert_accounted([line], live=True)


@FUZZ
@given(mutated_run())
def test_mutated_runs_of_real_lines_never_raise(lines: list[bytes]) -> None:
    assert_accounted(lines)
    assert_accounted(lines, live=True)


@FUZZ
@given(tagged_line())
def test_tag_blocks_give_their_time_or_a_counted_problem(case: tuple[bytes, bytes]) -> None:
    body, line = case
    parser, messages = decode_lines([line], live=True, decode_all=True)
    if not messages:
        assert sum(parser.problems.counts.values()) >= 1
        return
    dec, _ = parse_block(NmeaParser("t"), line + b"\n", 1, RECV_MS)
    times = [*dec.positions.get_column("timestamp"), *dec.statics.get_column("timestamp")]
    # the first c: before the checksum wins; without one, the receive time
    values = [item[2:] for item in body.split(b"*")[0].split(b",") if item[:2] == b"c:"]
    secs = int(values[0]) if values else RECV_MS // 1000
    want = secs if secs > 100_000_000_000 else secs * 1000
    assert all(round(t.timestamp() * 1000) == want for t in times)


# --- the inputs of issue 15 that stopped the listener or aborted a file -------------------

ISSUE_INPUTS = {
    # 22 bytes, valid checksum: a type 24 of 6 bits (TypeError on its missing MMSI)
    "22-byte datagram": (b"!AIVDM,1,1,,A,H,0*6E", "message_too_short"),
    # a real type 24 part A cut to 36 bits: MMSI read, part number missing (AttributeError)
    "type 24 part A cut": (sentence(b"AIVDM,1,1,,A,H52aML,0"), "message_too_short"),
    # a type 5 and a type 19 cut short: ship type None (TypeError)
    "type 5 cut": (sentence(b"AIVDM,1,1,,A,584e5@qi,0"), "message_too_short"),
    "type 19 cut": (sentence(b"AIVDM,1,1,,A,C<dlg>r,0"), "message_too_short"),
    # a Gatehouse time line with a year past any calendar (OverflowError)
    "$PGHP year": (
        b"$PGHP,1,9999999999,5,9,0,0,0,10,338,2,,1,09*"
        + checksum(b"PGHP,1,9999999999,5,9,0,0,0,10,338,2,,1,09")
        + b"\n"
        + GOOD,
        "bad_gatehouse_time",
    ),
    # a tag block time of 20 digits (OverflowError in the int64 time column)
    "tag c: value": (
        b"\\c:99999999999999999999*" + checksum(b"c:99999999999999999999") + b"\\" + GOOD,
        "bad_tag_time",
    ),
}


@pytest.mark.parametrize("name", list(ISSUE_INPUTS))
def test_issue_inputs_are_counted_and_the_next_line_decodes(name: str) -> None:
    bad, reason = ISSUE_INPUTS[name]
    for recv_ms in (None, RECV_MS):
        parser = NmeaParser("feed")
        dec, _ = parse_block(parser, bad + b"\n" + GOOD + b"\n", 1, recv_ms)
        assert parser.problems.counts[reason] == 1
        assert [p.line for p in parser.problems.items] == [1]
        assert 366053209 in dec.positions.get_column("mmsi").to_list()


def test_a_file_of_crashing_lines_reports_each_and_decodes_the_rest(tmp_path: Path) -> None:
    lines: list[bytes] = []
    expected: list[tuple[int, str]] = []
    for bad, reason in ISSUE_INPUTS.values():
        lines.append(GOOD)
        expected.append((len(lines) + 1, reason))
        lines += bad.split(b"\n")
    path = tmp_path / "hostile.nmea"
    path.write_bytes(b"\n".join(lines) + b"\n")
    res = CliRunner().invoke(
        app, ["maritime", "decode", str(path), "--out", str(tmp_path / "p.csv"), "--json"]
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert sorted((p["line"], p["reason"]) for p in summary["problems"]) == expected
    assert all(p["source"] == "hostile.nmea" for p in summary["problems"])
    assert summary["malformed"]["message_too_short"] == 4
    # every good line decoded: one before each bad input, one after the $PGHP line
    assert summary["positions"] == lines.count(GOOD) == len(ISSUE_INPUTS) + 1
    res = CliRunner().invoke(
        app, ["maritime", "events", str(path), "--out", str(tmp_path / "ev"), "--no-map"]
    )
    assert res.exit_code == 0, res.output
    assert "message_too_short 4" in res.output
    quality = json.loads((tmp_path / "ev" / "quality.json").read_text())
    assert quality["malformed_input"]["bad_tag_time"] == 1


# --- bounds -------------------------------------------------------------------------------


def test_overlong_lines_are_counted_not_parsed() -> None:
    parser = NmeaParser("feed")
    long_line = b"\\s:x*00\\" + GOOD + b"," * (MAX_LINE - len(GOOD))
    batch = parser.feed([long_line, GOOD])
    assert parser.problems.counts["line_too_long"] == 1 and len(batch) == 1


def test_overlong_line_in_a_file_is_cut_and_line_numbers_hold(tmp_path: Path) -> None:
    path = tmp_path / "long.nmea"
    path.write_bytes(GOOD + b"\n" + b"x" * 3_000_000 + b"\n" + GOOD + b"\n")
    import trilink.maritime.ingest as ingest

    blocks = list(ingest._blocks(path, size=1 << 20))
    assert max(len(b) for b in blocks) <= 2 << 20
    data = read_nmea(path)
    assert [(p.line, p.reason) for p in data.problems.items] == [(2, "line_too_long")]
    assert data.positions.get_column("line").to_list() == [1, 3]


def _fragment(seq: bytes, num: int = 1) -> bytes:
    payload = b"55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8"
    return sentence(b"AIVDM,2,%d,%s,A,%s,0" % (num, seq, payload))


def test_a_flood_of_fragment_ids_is_capped_and_counted() -> None:
    parser = NmeaParser("feed")
    flood = 5 * MULTIPART_MAX_PENDING
    parser.feed([_fragment(str(k).encode()) for k in range(flood)])
    assert len(parser._pending) == MULTIPART_MAX_PENDING
    assert parser.problems.counts["multipart_overflow"] == flood - MULTIPART_MAX_PENDING
    parser.finish()
    assert parser.problems.counts["incomplete_multipart"] == MULTIPART_MAX_PENDING


def test_stale_fragments_expire_by_lines_and_by_receive_time() -> None:
    parser = NmeaParser("file")
    parser.feed([_fragment(b"1")], first_line=1)
    parser.feed([_fragment(b"1", 2)], first_line=MULTIPART_MAX_LINES + 2)
    assert parser.problems.counts["multipart_expired"] == 1
    assert parser.problems.counts["fragment_out_of_order"] == 1
    live = NmeaParser("live")
    live.feed([_fragment(b"2")], first_line=1, recv_ms=RECV_MS)
    live.feed([GOOD], first_line=2, recv_ms=RECV_MS + MULTIPART_MAX_AGE_MS + 1)
    assert live.problems.counts["multipart_expired"] == 1 and not live._pending
