"""NMEA parsing and decoding against pyais on every real sample in tests/data/maritime/nmea."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from pyais import decode as pyais_decode
from pyais.messages import NMEASentenceFactory

from trilink.maritime.decode import _fast_positions, decode_assembled
from trilink.maritime.ingest import read_inputs, read_nmea
from trilink.maritime.nmea import NmeaParser

DATA = Path(__file__).resolve().parents[1] / "data" / "maritime"
NMEA_FILES = sorted((DATA / "nmea").iterdir())


# Bit where latitude, speed, course and heading end in each position report (ITU-R M.1371;
# type 19 also needs its dimensions, bit 301, to be decoded at all).
FIELD_ENDS = {
    1: (116, 60, 128, 137),
    2: (116, 60, 128, 137),
    3: (116, 60, 128, 137),
    18: (112, 56, 124, 133),
    19: (301, 56, 124, 133),
    27: (79, 85, 94, 1000),
}


def _nmea_only(sentence: bytes) -> bytes:
    """The sentence up to its checksum: pyais reads USCG trailing fields (``,d-126,...``)
    as part of the fill field (fill 0, checksum invalid), so it gets the bare sentence."""
    star = sentence.rfind(b"*")
    return sentence[: star + 3] if star >= 0 else sentence


def _parse(path: Path, keep_raw: bool = True):  # type: ignore[no-untyped-def]
    parser = NmeaParser(path.name, keep_raw=keep_raw)
    batch = parser.feed(path.read_bytes().splitlines())
    parser.finish()
    return parser, batch


def test_all_samples_present() -> None:
    assert len(NMEA_FILES) == 27


@pytest.mark.parametrize("path", NMEA_FILES, ids=lambda p: p.name)
def test_every_message_decodes_like_pyais(path: Path) -> None:
    parser, batch = _parse(path)
    dec = decode_assembled(batch, path.name, parser.problems)
    assert batch.raw is not None
    pos = dec.positions
    by_line = {}
    for row in pos.iter_rows(named=True):
        by_line.setdefault(row["line"], []).append(row)
    compared = 0
    for raw, line, payload, fill in zip(
        batch.raw, batch.lines, batch.payloads, batch.fills, strict=True
    ):
        try:
            ref = pyais_decode(*[_nmea_only(r) for r in raw])
        except Exception:
            # pyais rejects it: ours must have counted it as a decode error, not emitted it
            assert any(
                p.line == line and p.reason == "decode_error" for p in parser.problems.items
            )
            continue
        if ref.msg_type not in FIELD_ENDS or ref.lat is None:
            continue
        # pyais reads a field cut by the end from the bits there; we read whole fields only
        bits = len(payload) * 6 - fill
        lat_end, sog_end, cog_end, hdg_end = FIELD_ENDS[ref.msg_type]
        if bits < lat_end:
            assert any(
                p.line == line and p.reason == "message_too_short" for p in parser.problems.items
            )
            continue
        rows = [r for r in by_line.get(line, []) if r["mmsi"] == ref.mmsi]
        assert rows, f"{path.name}:{line} missing position for {ref.mmsi}"
        mine = rows[0]
        hdg = getattr(ref, "heading", None)
        assert mine["lat"] == ref.lat and mine["lon"] == ref.lon
        for got, want, end in (
            (mine["sog_kn"], ref.speed, sog_end),
            (mine["cog_deg"], ref.course, cog_end),
            (mine["heading_deg"], hdg, hdg_end),
        ):
            assert got == (None if want is None or bits < end else float(want))
        assert mine["msg_type"] == ref.msg_type
        compared += 1
    assert compared == sum(len(v) for v in by_line.values())


def test_vectorised_fast_path_is_bit_identical_on_all_samples() -> None:
    fast_total = 0
    for path in NMEA_FILES:
        _, batch = _parse(path)
        if not len(batch):
            continue
        done, cols = _fast_positions(batch.payloads, np.asarray(batch.fills))
        assert batch.raw is not None
        for i in np.flatnonzero(done).tolist():
            k = int(np.flatnonzero(cols["idx"] == i)[0])
            ref = pyais_decode(*[_nmea_only(r) for r in batch.raw[i]])
            got = (
                int(cols["mmsi"][k]),
                float(cols["lat"][k]),
                float(cols["lon"][k]),
                float(cols["sog_kn"][k]),
                float(cols["cog_deg"][k]),
            )
            want = (ref.mmsi, ref.lat, ref.lon, float(ref.speed), float(ref.course))
            # bit-identical floats, not approximately equal
            assert [np.float64(x).tobytes() for x in got[1:]] == [
                np.float64(x).tobytes() for x in want[1:]
            ], f"{path.name}: {batch.raw[i]}"
            assert got[0] == want[0]
            fast_total += 1
    assert fast_total > 2000  # the fast path carries most position reports


def test_bad_checksums_match_pyais_validation_line_by_line() -> None:
    ours: set[tuple[str, int]] = set()
    ref: set[tuple[str, int]] = set()
    gatehouse: set[tuple[str, int]] = set()
    for path in NMEA_FILES:
        parser, _ = _parse(path, keep_raw=False)
        lines = path.read_bytes().splitlines()
        for p in parser.problems.items:
            if p.reason == "bad_checksum":
                is_pghp = lines[p.line - 1].startswith(b"$PGHP")
                (gatehouse if is_pghp else ours).add((p.source, p.line))
        for n, line in enumerate(lines, start=1):
            line = line.strip()
            if b"\\" in line and line.startswith(b"\\"):
                parts = line.split(b"\\")
                sentences = [parts[k] for k in range(2, len(parts), 2)]
            else:
                sentences = [line]
            for s in sentences:
                if not s.startswith(b"!") or b"*" not in s or s[3:5] != b"VD":
                    continue
                try:
                    sent = NMEASentenceFactory.produce(_nmea_only(s))
                except Exception:
                    # pyais refuses the line outright: our own reference is the XOR
                    body = s[1 : s.rfind(b"*")]
                    x = 0
                    for b in body:
                        x ^= b
                    given = s[s.rfind(b"*") + 1 : s.rfind(b"*") + 3]
                    if f"{x:02X}".encode() != given.upper():
                        ref.add((path.name, n))
                    continue
                if not sent.is_valid:
                    ref.add((path.name, n))
    assert len(ours) == 46  # the shared data note counts 46 bad checksums
    assert ours == ref
    # pyais' samples edit 2008 into 2009 in four Gatehouse time lines and keep the checksum
    # (*17): pyais never checks it; we refuse those times rather than trust a damaged line.
    assert len(gatehouse) == 4
    assert all(lines_of(src)[n - 1].startswith(b"$PGHP,1,2009,") for src, n in gatehouse)


def lines_of(name: str) -> list[bytes]:
    return (DATA / "nmea" / name).read_bytes().splitlines()


def test_malformed_lines_are_counted_with_line_numbers() -> None:
    parser, batch = _parse(DATA / "nmea" / "gfw-ais-tools__sample_errors.nmea")
    assert [(p.line, p.reason) for p in parser.problems.items] == [
        (2, "bad_checksum"),
        (4, "bad_checksum"),
    ]
    assert len(batch) == 3
    parser, _ = _parse(DATA / "nmea" / "pyais__tests_nmea_data_sample.txt")
    assert parser.problems.counts["empty_payload"] == 100  # per the data note
    empty = [p.line for p in parser.problems.items if p.reason == "empty_payload"]
    lines = (DATA / "nmea" / "pyais__tests_nmea_data_sample.txt").read_bytes().splitlines()
    assert all(
        lines[n - 1].strip() in (b"!AIVDM,1,1,,A,,0*26", b"!AIVDM,1,1,,B,,0*25") for n in empty
    )
    assert len(set(empty)) == 100


def test_tag_block_time_and_group_multipart() -> None:
    parser, batch = _parse(DATA / "nmea" / "libais__test_data_tagblock.nmea")
    # line 1 and 3 are the two fragments of one type 5 message, a type 1 sits between them
    assert batch.lines == [2, 1, 4, 5]
    assert batch.t_ms[1] == 1418169601000
    assert batch.t_ms[0] == 1418172113000
    assert batch.payloads[1].startswith(b"53@o0E") and batch.payloads[1].endswith(b"00000000008")
    assert batch.fills[1] == 2
    assert not parser.problems.counts


def test_two_fragments_on_one_line_and_gatehouse_time() -> None:
    _, batch = _parse(DATA / "nmea" / "gfw-ais-tools__sample_spire-test.nmea")
    assert len(batch) == 2 and all(t == 1662052384000 for t in batch.t_ms)
    _, gh = _parse(DATA / "nmea" / "pyais__tests_timestamped.ais")
    # $PGHP,1,2008,5,9,0,0,0,10,... precedes the first sentence: 2008-05-09 00:00:00.010
    assert gh.t_ms[0] == 1210291200010


def test_uscg_trailing_unix_time() -> None:
    _, batch = _parse(DATA / "nmea" / "libais__test_data_typeexamples.nmea")
    assert batch.t_ms[0] == 1325394001000


def test_truncated_file_and_garbage_bytes(tmp_path: Path) -> None:
    good = (DATA / "nmea" / "gfw-ais-tools__sample_multi-part.nmea").read_bytes()
    cut = good[: len(good) // 2]  # ends inside a sentence
    bad = (
        cut + b"\n\xff\xfe\x00garbage \xc3\x28\n!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23\n"
    )
    path = tmp_path / "broken.nmea.gz"
    path.write_bytes(gzip.compress(bad))
    data = read_nmea(path)
    counts = data.problems.counts
    assert counts["not_nmea"] == 1
    garbage_line = bad.count(b"\n") - 1
    assert any(p.line == garbage_line and p.reason == "not_nmea" for p in data.problems.items)
    # the truncated sentence fails its checksum or leaves an incomplete multipart
    assert (
        counts["bad_checksum"] + counts["incomplete_multipart"] + counts["missing_checksum"] >= 1
    )
    assert 227006760 in data.positions.get_column("mmsi").to_list()


def test_reading_all_samples_counts_types_and_statics() -> None:
    data = read_inputs(NMEA_FILES)
    assert data.msg_types[5] > 100 and data.msg_types[24] > 100
    statics = data.statics
    tanks = statics.filter(statics["name"].is_not_null())
    assert tanks.height > 100
    # lines of any file are counted: no silent drop
    total_malformed = sum(data.problems.counts.values())
    assert total_malformed == sum(Counter(data.problems.counts).values()) > 250


@pytest.mark.parametrize("path", NMEA_FILES, ids=lambda p: p.name)
def test_decode_all_accepts_exactly_what_pyais_accepts(path: Path) -> None:
    parser, batch = _parse(path)
    assert batch.raw is not None
    dec = decode_assembled(batch, path.name, parser.problems, decode_all=True)
    ok = 0
    for raw in batch.raw:
        try:
            pyais_decode(*[_nmea_only(r) for r in raw])
            ok += 1
        except Exception:
            continue
    # pyais also "accepts" messages cut before their MMSI or position (fields None); we
    # count those as too short (real ones: three 48/56-bit type 27 in libais' test.aivdm)
    too_short = parser.problems.counts["message_too_short"]
    assert dec.fast + dec.slow + too_short == ok
    assert sum(dec.types.values()) + too_short == ok
    assert parser.problems.counts["decode_error"] == len(batch) - ok


def test_block_fast_path_equals_line_parser(tmp_path: Path) -> None:
    """read_nmea (vectorised simple-line path + parser) == parser alone, on all samples,
    also when a block boundary falls inside the data (file fed twice, second gzip)."""
    corpus = b"".join(p.read_bytes().rstrip(b"\n") + b"\n" for p in NMEA_FILES)
    path = tmp_path / "all.nmea"
    path.write_bytes(corpus)
    fast = read_nmea(path)
    parser = NmeaParser("all.nmea")
    batch = parser.feed(corpus.splitlines())
    parser.finish()
    slow = decode_assembled(batch, "all.nmea", parser.problems)
    cols = ["line", "mmsi", "msg_type", "lat", "lon", "sog_kn", "cog_deg", "heading_deg"]
    a = fast.positions.select(cols).sort("line", "mmsi")
    b = slow.positions.select(cols).sort("line", "mmsi")
    assert a.height > 2000 and a.equals(b)
    assert fast.problems.counts == parser.problems.counts
    assert fast.statics.height == slow.statics.height
    assert fast.sentences == parser.sentences


def test_vectorised_statics_equal_pyais_statics(monkeypatch: pytest.MonkeyPatch) -> None:
    import trilink.maritime.decode as dec_mod

    fast_tables, slow_tables = [], []
    for path in NMEA_FILES:
        parser, batch = _parse(path)
        fast_tables.append(decode_assembled(batch, path.name, parser.problems).statics)
    with monkeypatch.context() as m:
        m.setattr(dec_mod, "_fast_statics", lambda p, f, c, t: (c[:0], []))
        for path in NMEA_FILES:
            parser, batch = _parse(path)
            slow_tables.append(decode_assembled(batch, path.name, parser.problems).statics)
    keys = ["mmsi", "timestamp", "name", "imo", "callsign", "ship_type", "length_m", "beam_m"]
    n_rows = 0
    for f, s in zip(fast_tables, slow_tables, strict=True):
        a = f.select(keys).sort(keys, nulls_last=True)
        b = s.select(keys).sort(keys, nulls_last=True)
        assert a.equals(b)
        n_rows += a.height
    assert n_rows > 400


def test_parse_block_uses_receive_time_for_untimed_lines() -> None:
    from trilink.maritime.fastlines import parse_block

    block = (
        b"!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23\r\n"
        b"# comment\n"
        b"!AIVDM,1,1,,B,100h00PP0@PHFV`Mg5gTH?vNPUIp,0*3B\n"
    )
    parser = NmeaParser("live")
    dec, n_lines = parse_block(parser, block, 10, recv_ms=1_772_323_200_000)
    assert n_lines == 3 and dec.fast == 2
    pos = dec.positions.sort("line")
    assert pos["line"].to_list() == [10, 12]
    want = [pyais_decode(ln.strip()).mmsi for ln in block.splitlines() if ln.startswith(b"!")]
    assert pos["mmsi"].to_list() == want
    assert all(t.timestamp() == 1_772_323_200 for t in pos["timestamp"].to_list())
    assert parser.notes["comment"] == 1 and parser.sentences == 2
