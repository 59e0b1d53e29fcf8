"""Every list parser, fuzzed: random bytes and mutations of the real files either parse or
raise ``ListFormatError`` (a typed error naming the file) — never another exception, never a
hang. Mutations are applied both to the raw bytes and, for workbooks, inside a sheet's XML
re-zipped, so the XML and cell handling are reached and not only the zip check."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_sanctions_lists import UK_SAMPLE, bundled_raw

from trilink.sanctions.errors import ListFormatError
from trilink.sanctions.eu_dprk import parse_eu_dprk
from trilink.sanctions.io import parse_list_bytes
from trilink.sanctions.jp_meti import parse_jp_meti
from trilink.sanctions.ofac import parse_ofac_sdn
from trilink.sanctions.ofac_xml import parse_ofac_xml
from trilink.sanctions.records import EU_DPRK, JP_METI, OFAC_NON_SDN, SanctionsList
from trilink.sanctions.uk_ofsi import parse_uk_ofsi
from trilink.sanctions.un1718 import parse_un_1718
from trilink.sanctions.unxml import parse_un_consolidated
from trilink.sanctions.xlsx import read_workbook

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
Parser = Callable[..., SanctionsList]
PARSERS: list[Parser] = [
    parse_ofac_sdn,
    parse_un_1718,
    parse_un_consolidated,
    parse_ofac_xml,
    parse_eu_dprk,
    parse_jp_meti,
    parse_uk_ofsi,
]


def _ok_or_typed(parse: Parser, data: bytes) -> None:
    try:
        parse(data)
    except ListFormatError as err:
        assert str(err)


def _mutate(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    buf = bytearray(data)
    for pos, val in edits:
        if buf:
            buf[pos % len(buf)] = val
    return bytes(buf)


EDITS = st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 255)), max_size=8)


@pytest.mark.parametrize("parse", PARSERS, ids=lambda p: p.__name__)
@FUZZ
@given(data=st.binary(max_size=2000))
def test_random_bytes(parse: Parser, data: bytes) -> None:
    _ok_or_typed(parse, data)


@FUZZ
@given(edits=EDITS, cut=st.integers(0, 10**9))
def test_mutated_text_lists(edits: list[tuple[int, int]], cut: int) -> None:
    for list_id, parse in ((EU_DPRK, parse_eu_dprk), (OFAC_NON_SDN, parse_ofac_xml)):
        raw = _mutate(bundled_raw(list_id), edits)
        _ok_or_typed(parse, raw[: max(1, cut % (len(raw) + 1))])


def _rezip(xlsx: bytes, part: str, edit: Callable[[bytes], bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info, edit(data) if info.filename == part else data)
    return out.getvalue()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=EDITS, part=st.sampled_from(["xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"]))
@example(edits=[(5672481, 2)], part="xl/worksheets/sheet1.xml")  # zip "negative seek value"
def test_mutated_workbooks(edits: list[tuple[int, int]], part: str) -> None:
    for raw, parse in (
        (bundled_raw(JP_METI), parse_jp_meti),
        (UK_SAMPLE.read_bytes(), parse_uk_ofsi),
    ):
        _ok_or_typed(parse, _rezip(raw, part, lambda b: _mutate(b, edits)))
        _ok_or_typed(parse, _mutate(raw, edits))


@FUZZ
@given(data=st.binary(max_size=3000))
def test_any_bytes_through_recognition(data: bytes) -> None:
    try:
        parse_list_bytes(b"PK\x03\x04" + data, "x.xlsx")
    except ListFormatError:
        pass
    try:
        parse_list_bytes(data, "x")
    except ListFormatError:
        pass


def test_xlsx_bounds() -> None:
    """A zip bomb part or an XML entity declaration is refused before it is read."""
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", b"<a/>" + b" " * (65 * 1024 * 1024))
        z.writestr("xl/_rels/workbook.xml.rels", b"<a/>")
    with pytest.raises(ListFormatError, match="limit"):
        read_workbook(bomb.getvalue())
    ent = io.BytesIO()
    with zipfile.ZipFile(ent, "w") as z:
        z.writestr("xl/workbook.xml", b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')
    with pytest.raises(ListFormatError, match="DOCTYPE"):
        read_workbook(ent.getvalue())
