"""The lists the three nations enforce, parsed into one entity model, on the real files.

Entry counts are checked against the publisher's own totals where the file states one
(OFAC ``Record_Count``, METI's ``No.`` column, MOF's 告示番号 numbering) and otherwise
against counts taken independently from the files (data/sanctions/SOURCES.md of the team's
shared data). The full UK OFSI workbook (2.2 MB) is not in the project: its unit tests run
on a real sample (tests/data/sanctions/uk_ofsi_conlist_sample_2025-04-14.xlsx, see
make_list_samples.py), and the full-file count test runs only where the file is present
(``TRILINK_LIST_SNAPSHOTS=DIR`` holding ``uk_ofsi_conlist_2025-04-14.xlsx``).
"""

from __future__ import annotations

import gzip
import io
import os
import re
import zipfile
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from trilink.sanctions.entities import ORGANIZATION, PERSON, VESSEL, entities_of, script_of
from trilink.sanctions.errors import ListFormatError
from trilink.sanctions.eu_dprk import parse_eu_dprk
from trilink.sanctions.identifiers import check_imo
from trilink.sanctions.io import BUNDLED, ActiveLists, detect_list, parse_list_bytes
from trilink.sanctions.jp_meti import parse_jp_meti
from trilink.sanctions.jp_mof import parse_jp_mof, split_names
from trilink.sanctions.ofac_xml import parse_ofac_xml
from trilink.sanctions.records import (
    EU_DPRK,
    JP_METI,
    JP_MOF,
    OFAC_NON_SDN,
    OFAC_SDN,
    UK_OFSI,
    UN_1718,
    UN_CONSOLIDATED,
    SanctionsList,
)
from trilink.sanctions.uk_ofsi import parse_uk_ofsi

DATA = Path(__file__).resolve().parents[1] / "data" / "sanctions"
UK_SAMPLE = DATA / "uk_ofsi_conlist_sample_2025-04-14.xlsx"
SNAPSHOTS = os.environ.get("TRILINK_LIST_SNAPSHOTS", "")


def bundled_raw(list_id: str) -> bytes:
    fname = BUNDLED[list_id][0]
    data = resources.files("trilink.sanctions").joinpath("data").joinpath(fname).read_bytes()
    return gzip.decompress(data)


def replace_member(xlsx: bytes, name: str, edit: object) -> bytes:
    """The workbook with one part changed by ``edit(bytes) -> bytes``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == name:
                data = edit(data)  # type: ignore[operator]
            zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def schemas(sl: SanctionsList) -> Counter[str]:
    return Counter(e.schema for e in sl.entities)


# -- every bundled list, into one model ------------------------------------------------------


def test_every_bundled_list_has_entities(lists: dict[str, SanctionsList]) -> None:
    expected = {
        OFAC_SDN: 14965,  # every sdn.csv row: individuals, entities, vessels, aircraft
        UN_1718: 59,
        UN_CONSOLIDATED: 1003,
        OFAC_NON_SDN: 442,
        JP_MOF: 2862,
        JP_METI: 835,
        EU_DPRK: 326,
    }
    for list_id, n in expected.items():
        ents = entities_of(lists[list_id])
        assert lists[list_id].total_entries == n, list_id
        # OFAC's 376 aircraft are kept as parties, outside the three schemas
        assert len(ents) == n - (376 if list_id == OFAC_SDN else 0), list_id
        assert all(e.names and e.schema in (PERSON, ORGANIZATION, VESSEL) for e in ents)
        assert len({e.uid for e in ents}) == len(ents), list_id


def test_un_consolidated_2026(lists: dict[str, SanctionsList]) -> None:
    sl = lists[UN_CONSOLIDATED]
    assert sl.published == "2026-02-27" and sl.total_entries == 1003
    assert schemas(sl) == {PERSON: 730, ORGANIZATION: 273}
    dprk = [e for e in sl.entities if e.programmes == ("DPRK",)]
    assert Counter(e.schema for e in dprk) == {PERSON: 80, ORGANIZATION: 75}
    # reference numbers with stray spaces are stripped and reported (12 in this edition)
    assert sum(a.code == "ref-whitespace" for a in sl.anomalies) == 12
    assert all(e.entry_id == e.entry_id.strip() for e in sl.entities)
    company = {e.entry_id: e.ids("imo_company") for e in sl.entities if e.ids("imo_company")}
    assert len(company) == 16 and company["KPe.020"] == ["1790183"]
    # OMM's company number passes the ship check digit by coincidence: still never a ship IMO
    assert check_imo("1790183").valid
    assert not any(e.ids("imo") for e in sl.entities)
    omm = next(e for e in sl.entities if e.entry_id == "KPe.020")
    assert omm.schema == ORGANIZATION and "Pyongyang" in " ".join(omm.addresses)
    person = next(e for e in sl.entities if e.entry_id == "KPi.001")
    assert person.birth_dates and person.countries and person.listed_on


def test_jp_mof_all_44_sheets(lists: dict[str, SanctionsList]) -> None:
    sl = lists[JP_MOF]
    assert sl.published == "2026-03-05" and sl.total_entries == 2862
    per_sheet = Counter(e.entry_id.split("-")[0] for e in sl.entities)
    # the DPRK sheets: res. 1695 (16), 1718 entities (75) and individuals (80),
    # Japan's coordinated measures, entities (75) and individuals (84)
    assert [per_sheet[str(n)] for n in (13, 14, 15, 16, 17)] == [16, 75, 80, 75, 84]
    assert per_sheet["8"] == per_sheet["11"] == per_sheet["18"] == 0  # 【解除】 lifted
    assert len(per_sheet) == 40
    yun = next(e for e in sl.entities if e.entry_id == "15-1")
    assert [(n.text, n.script) for n in yun.names[:2]] == [
        ("ユン・ホジン", "Kana"),
        ("Yun Ho-jin", "Latn"),
    ]
    assert yun.birth_dates == ("1944-10-13",)  # an Excel serial, 16358
    assert yun.listed_on == ("2009-07-24",)  # first line of 2009.7.24 / 2022.8.3改訂
    assert {n.text for n in yun.names} >= {"ユン・ホチン", "Yun Ho-chin"}
    krgc = next(e for e in sl.entities if e.entry_id == "14-2")
    assert krgc.schema == ORGANIZATION
    assert ("Lyongaksan General Trading Corporation", "former") in {
        (n.text, n.kind) for n in krgc.names
    }
    wagner = next(e for e in sl.entities if e.entry_id == "28-3")
    assert wagner.names[0].script == "Jpan"  # kanji and katakana


def test_jp_mof_alias_cells() -> None:
    cell = (
        "（別称）コリア・ヨンボン\nKorea Yonbong General Corporation\n"
        "（旧称）リョンガクサン\nLyongaksan"
    )
    assert split_names(cell) == [
        ("コリア・ヨンボン", "alias"),
        ("Korea Yonbong General Corporation", "alias"),
        ("リョンガクサン", "former"),
        ("Lyongaksan", "former"),
    ]
    assert split_names("(a.k.a.: Haji Mudir; Mohammad Anwari)") == [
        ("Haji Mudir", "alias"),
        ("Mohammad Anwari", "alias"),
    ]


def test_jp_meti_end_user_list(lists: dict[str, SanctionsList]) -> None:
    sl = lists[JP_METI]
    assert sl.total_entries == 835 == sl.publisher_total
    assert [a.code for a in sl.anomalies] == ["formula-column"]  # No. is =ROW()-1
    dprk = [e for e in sl.entities if "North Korea" in " ".join(e.countries)]
    assert len(dprk) == 154
    first = sl.entities[0]
    assert first.countries == ("アフガニスタン", "Islamic Republic of Afghanistan")
    assert "WMD: nuclear" in first.programmes and len(first.names) == 9


def test_eu_dprk_annexes(lists: dict[str, SanctionsList]) -> None:
    sl = lists[EU_DPRK]
    assert sl.total_entries == 326 and sl.published == "2025-12-17"
    assert schemas(sl) == {PERSON: 157, ORGANIZATION: 94, VESSEL: 75}
    imos = {e.ids("imo")[0] for e in sl.entities if e.ids("imo")}
    assert len(imos) == 60 and {"8514306", "9036387"} <= imos  # Unica, New Konk: EU only
    invalid = [e for e in sl.entities if e.ids("imo_invalid")]
    assert [e.name for e in invalid] == ["MIN NING DE YOU 078"]
    gaps = [a for a in sl.anomalies if a.code == "numbering-gap"]
    assert [a.entry_id for a in gaps] == ["XV.A"]
    chong_bong = next(v for v in sl.vessels if v.imo == "8909575")
    assert chong_bong.name == "Chong Bong" and set(chong_bong.aliases) == {
        "Greenlight",
        "Blue Nouvelle",
    }
    assert sum(1 for e in sl.entities if e.ids("imo_company")) == 15


def test_ofac_non_sdn_xml(lists: dict[str, SanctionsList]) -> None:
    sl = lists[OFAC_NON_SDN]
    assert sl.published == "2026-01-08" and sl.total_entries == 442 == sl.publisher_total
    assert schemas(sl) == {ORGANIZATION: 363, PERSON: 79}
    haniya = next(e for e in sl.entities if e.entry_id == "9639")
    assert haniya.name == "Ismail Abdul Salah HANIYA" and len(haniya.names) == 3


def test_uk_ofsi_sample() -> None:
    sl = parse_uk_ofsi(UK_SAMPLE.read_bytes(), source_name=UK_SAMPLE.name)
    assert sl.published == "2025-04-14"
    ships = [e for e in sl.entities if e.schema == VESSEL]
    assert len(ships) == len(sl.vessels) == 15
    assert all(len(e.ids("imo")) == 1 for e in ships)  # IMO found inside Other Information
    sam_jong = next(v for v in sl.vessels if v.imo == "7408873")
    assert sam_jong.name == "SAM JONG 2" and "AKTIVA" in sam_jong.aliases
    assert sam_jong.owner == "Korea Samjong Shipping" and sam_jong.flags == ("PRK",)
    hangul = [n.text for e in sl.entities for n in e.names if n.script == "Hang"]
    assert len(hangul) == 5 and "김영복" in hangul
    omm = next(e for e in sl.entities if e.entry_id == "13143")
    assert omm.ids("imo_company") == ["1790183"]
    assert "imo:8606173" in omm.linked and "imo:1790183" not in omm.linked
    company = [e for e in sl.entities if e.ids("imo_company")]
    assert len(company) == 14
    assert not any(e.ids("imo") for e in company)


@pytest.mark.skipif(
    not (Path(SNAPSHOTS) / "uk_ofsi_conlist_2025-04-14.xlsx").is_file(),
    reason="the full UK OFSI ConList.xlsx (2.2 MB) is not part of the project; set"
    " TRILINK_LIST_SNAPSHOTS=DIR holding uk_ofsi_conlist_2025-04-14.xlsx to count it",
)
def test_uk_ofsi_full_file_counts() -> None:
    path = Path(SNAPSHOTS) / "uk_ofsi_conlist_2025-04-14.xlsx"
    sl = parse_list_bytes(path.read_bytes(), path.name)
    assert sl.list_id == UK_OFSI and sl.total_entries == 4688
    assert schemas(sl) == {PERSON: 3663, ORGANIZATION: 1010, VESSEL: 15}
    dprk = [e for e in sl.entities if e.programmes == ("Democratic People's Republic of Korea",)]
    assert len(dprk) == 239


# -- refusing a file that lost entries or columns --------------------------------------------


def test_ofac_xml_refuses_a_count_that_disagrees() -> None:
    raw = bundled_raw(OFAC_NON_SDN)
    cut = re.sub(rb"<sdnEntry>.*?</sdnEntry>\s*", b"", raw, count=1, flags=re.S)
    with pytest.raises(ListFormatError, match="Record_Count says 442 entries, the file holds 441"):
        parse_ofac_xml(cut, source_name="cons.xml")
    with pytest.raises(ListFormatError, match="corrupted or truncated"):
        parse_ofac_xml(raw[: len(raw) // 2], source_name="cons.xml")


def test_meti_refuses_a_lost_column_or_row() -> None:
    raw = bundled_raw(JP_METI)
    lost_col = replace_member(
        raw, "xl/sharedStrings.xml", lambda b: b.replace("別名".encode(), "備考".encode(), 1)
    )
    with pytest.raises(ListFormatError, match="lacks the column"):
        parse_jp_meti(lost_col)
    lost_row = replace_member(
        raw,
        "xl/worksheets/sheet1.xml",
        lambda b: re.sub(rb'<row r="100".*?</row>', b"", b, count=1, flags=re.S),
    )
    with pytest.raises(ListFormatError, match=r"No\. does not run"):
        parse_jp_meti(lost_row)


def test_mof_refuses_a_lost_row_or_sheet() -> None:
    raw = bundled_raw(JP_MOF)
    wb = zipfile.ZipFile(io.BytesIO(raw))
    sheet16 = "xl/worksheets/sheet16.xml"  # 15.北朝鮮(決議1718号等；個人), header on row 3
    assert sheet16 in wb.namelist()
    lost_row = replace_member(
        raw, sheet16, lambda b: re.sub(rb'<row r="10".*?</row>', b"", b, count=1, flags=re.S)
    )
    with pytest.raises(ListFormatError, match="numbering is broken"):
        parse_jp_mof(lost_row)
    lost_sheet = replace_member(
        raw, "xl/workbook.xml", lambda b: re.sub(rb'<sheet name="44[^>]*/>', b"", b)
    )
    with pytest.raises(ListFormatError, match="missing"):
        parse_jp_mof(lost_sheet)


def test_uk_and_eu_refuse_a_lost_column() -> None:
    uk = replace_member(
        UK_SAMPLE.read_bytes(),
        "xl/sharedStrings.xml",
        lambda b: b.replace(b"<t>Group ID</t>", b"<t>Group</t>"),
    )
    with pytest.raises(ListFormatError, match="Group ID"):
        parse_uk_ofsi(uk)
    eu = bundled_raw(EU_DPRK).replace(b",imoNumber,", b",imo,", 1)
    with pytest.raises(ListFormatError, match="imoNumber"):
        parse_eu_dprk(eu)
    lines = bundled_raw(EU_DPRK).split(b"\n")
    with pytest.raises(ListFormatError, match="appears twice"):
        parse_eu_dprk(b"\n".join(lines[:5] + lines[4:]))


def test_install_refuses_truncated_or_older(tmp_path: Path) -> None:
    store = ActiveLists(tmp_path / "lists")
    eu = bundled_raw(EU_DPRK)
    head = tmp_path / "eu-2026-01-01.csv"
    head.write_bytes(b"\n".join(eu.split(b"\n")[:100]) + b"\n")
    with pytest.raises(ListFormatError, match="truncated"):
        store.install(head)
    older = tmp_path / "ofac_consolidated.xml"
    older.write_bytes(bundled_raw(OFAC_NON_SDN).replace(b"01/08/2026", b"01/08/2025", 1))
    with pytest.raises(ListFormatError, match="older than the one in force"):
        store.install(older)
    assert not (tmp_path / "lists" / "manifest.json").exists()
    # a newer UK list installs: a list not bundled comes into force
    uk = tmp_path / "ConList.xlsx"
    uk.write_bytes(UK_SAMPLE.read_bytes())
    sl, _diff = store.install(uk)
    assert sl.list_id == UK_OFSI
    assert UK_OFSI in {s.list_id for s in store.load_lists()}


def test_detect_every_list() -> None:
    for list_id in (UN_CONSOLIDATED, OFAC_NON_SDN, JP_MOF, JP_METI, EU_DPRK):
        name = BUNDLED[list_id][0].removesuffix(".gz")
        assert detect_list(bundled_raw(list_id), name) == list_id
    assert detect_list(UK_SAMPLE.read_bytes()) == UK_OFSI
    with pytest.raises(ListFormatError, match="not a list trilink knows"):
        detect_list(b"PK\x03\x04 not really a zip")
    with pytest.raises(ListFormatError, match="UTF-16"):
        detect_list("name".encode("utf-16"))


def test_script_of() -> None:
    assert script_of("ユン・ホジン") == "Kana"
    assert script_of("김영복") == "Hang"
    assert script_of("丹東鴻祥実業発展有限公司") == "Hani"
    assert script_of("民間軍事会社ワグナー") == "Jpan"
    assert script_of("OCEAN MARITIME") == "Latn"
    assert script_of("صدام حسين") == "Arab"


def test_update_diff_names_persons_and_organisations(tmp_path: Path) -> None:
    """A list of persons and organisations changes: the diff says which entries, not only
    vessels (it is what `sanctions update --publish` sends in sanctions.list-change)."""
    eu = bundled_raw(EU_DPRK).decode("utf-8")
    lines = eu.split("\n")
    person = next(i for i, ln in enumerate(lines) if ",XIII.A," in ln and "Ri Je-Son" in ln)
    removed = lines[:person] + lines[person + 1 :]
    text = "\n".join(removed).replace("Yun Ho-jin", "Yun Ho-Jin (Dr)", 1)
    path = tmp_path / "eu_2017-1509_2025-12-17.csv"
    path.write_text(text, "utf-8")
    store = ActiveLists(tmp_path / "lists")
    sl, diff = store.install(path)
    assert sl.list_id == EU_DPRK
    assert diff.old_entries == 251 and diff.new_entries == 250
    assert diff.count("removed") == 1 and diff.count("renamed") == 1
    gone = next(c for c in diff.changes if c.change == "removed")
    assert gone.name == "Ri Je-Son" and gone.key.startswith("Person XIII.A/")
