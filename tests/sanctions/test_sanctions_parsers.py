"""Parsers of the real OFAC SDN CSV, UN 1718 vessels HTML and UN consolidated XML."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

from trilink.sanctions.errors import ListFormatError
from trilink.sanctions.ofac import parse_ofac_sdn
from trilink.sanctions.records import OFAC_SDN, UN_1718, SanctionsList
from trilink.sanctions.un1718 import parse_un_1718
from trilink.sanctions.unxml import link_parties_to_vessels, parse_un_consolidated


def _vessel(sl: SanctionsList, name: str):  # type: ignore[no-untyped-def]
    return next(v for v in sl.vessels if v.name == name)


# -- OFAC ------------------------------------------------------------------------------------


def test_ofac_counts_and_dprk_vessels(lists: dict[str, SanctionsList]) -> None:
    sl = lists[OFAC_SDN]
    assert sl.total_entries == 14965
    assert len(sl.vessels) == 851
    assert sl.published == "2024-05-03"
    dprk = [v for v in sl.vessels if any(p.startswith("DPRK") for p in v.programmes)]
    assert len(dprk) == 105
    assert Counter(p for v in dprk for p in v.programmes) == {"DPRK": 29, "DPRK3": 11, "DPRK4": 65}
    assert sum(1 for v in dprk if v.imo) == 105


def test_ofac_remarks_fields(lists: dict[str, SanctionsList]) -> None:
    sl = lists[OFAC_SDN]
    star = _vessel(sl, "STAR 18")
    assert star.former_names == ("SAM 5", "THINH CUONG")
    assert star.imo == "9020015" and star.flags == ("VNM",)
    assert star.linked_to == ("THINH CUONG COMPANY LIMITED",) and star.linked_ids
    artavil = _vessel(sl, "ARTAVIL")
    assert artavil.mmsis == ("572469210",) and artavil.former_names == ("ALPHA",)
    assert artavil.call_signs == ("T2EU4",) and artavil.flags == ("IRN",)
    assert "MLT" in artavil.former_flags and artavil.tonnage == "99,144"
    chong = _vessel(sl, "CHONG CHON GANG")
    assert chong.flags == ("PRK",)  # straight apostrophe in OFAC's spelling
    # several programmes in one field are joined as "A] [B"
    assert any(len(v.programmes) > 1 for v in sl.vessels)
    assert not any("]" in p or "[" in p for v in sl.vessels for p in v.programmes)


def test_ofac_anomalies_are_reported_not_skipped(lists: dict[str, SanctionsList]) -> None:
    sl = lists[OFAC_SDN]
    codes = Counter(a.code for a in sl.anomalies)
    ryong = _vessel(sl, "RYONG GUN BONG")
    assert ryong.imo == "8606173"  # written without the "IMO" prefix, still used
    assert any(a.code == "imo-prefix-missing" and a.entry_id == ryong.entry_id
               for a in sl.anomalies)  # fmt: skip
    assert codes["imo-spacing"] == 2  # "IMO  8730455"
    national = [a for a in sl.anomalies if a.code == "national-registration"]
    assert len(national) == 5
    for a in national:
        v = next(v for v in sl.vessels if v.entry_id == a.entry_id)
        assert v.imo is None and v.registration_ids
    assert all(a.line is not None and a.line > 0 for a in sl.anomalies)


def test_ofac_refuses_truncated_files(ofac_raw: bytes) -> None:
    rng = np.random.default_rng(5)
    for cut in rng.integers(100, len(ofac_raw) - 10, size=6):
        with pytest.raises(ListFormatError, match="truncated|corrupted|broken"):
            parse_ofac_sdn(ofac_raw[: int(cut)])


def test_ofac_refuses_corrupted_rows(ofac_raw: bytes) -> None:
    lines = ofac_raw.split(b"\r\n")
    broken = b"\r\n".join(lines[:50] + [b'999999,"X",-0- '] + lines[50:])
    with pytest.raises(ListFormatError, match="columns") as err:
        parse_ofac_sdn(broken)
    assert err.value.line == 51
    with_header = (
        b"ent_num,SDN_Name,SDN_Type,Program,Title,Call_Sign,Vess_type,Tonnage,GRT,Vess_flag,Vess_owner,Remarks\r\n"
        + ofac_raw
    )  # noqa: E501
    with pytest.raises(ListFormatError, match="header"):
        parse_ofac_sdn(with_header)
    with pytest.raises(ListFormatError, match="empty"):
        parse_ofac_sdn(b"")
    dup = b"\r\n".join(lines[:3] + [lines[2]] + lines[3:])
    with pytest.raises(ListFormatError, match="twice"):
        parse_ofac_sdn(dup)


# -- UN 1718 ---------------------------------------------------------------------------------


def test_un1718_counts(lists: dict[str, SanctionsList]) -> None:
    sl = lists[UN_1718]
    assert len(sl.vessels) == 59 and sl.published == "2020-06-04"
    assert sum(1 for v in sl.vessels if v.imo) == 58
    assert sum(len(v.mmsis) for v in sl.vessels) == 49
    assert sum(1 for v in sl.vessels if v.mmsis) == 26
    assert sum(1 for v in sl.vessels if v.flags) == 22
    assert sum(1 for v in sl.vessels if v.call_signs) == 22
    measures = Counter("|".join(sorted(v.measures)) for v in sl.vessels)
    assert measures == {"asset_freeze": 24, "deregistration|port_entry_ban": 15,
                        "asset_freeze|port_entry_ban": 13, "port_entry_ban": 7}  # fmt: skip


def test_un1718_multi_name_rows(lists: dict[str, SanctionsList]) -> None:
    sl = lists[UN_1718]
    chong_bong = next(v for v in sl.vessels if v.imo == "8909575")
    assert chong_bong.name == "BLUE NOUVELLE"
    assert chong_bong.aliases == ("GREENLIGHT", "CHONG BONG")
    assert chong_bong.flags == ("KIR", "KHM", "PRK")
    assert chong_bong.call_signs == ("T3NM2", "XUJX6", "HMXW")
    assert "445114000" in chong_bong.mmsis and chong_bong.linked_ids == ("KPe.020",)
    hao_fan = next(v for v in sl.vessels if v.imo == "8628597")
    assert hao_fan.listed_on == ("2017-10-03", "2018-03-30")  # two designations
    wan_heng = next(v for v in sl.vessels if v.imo == "8791667")
    assert wan_heng.aliases == ("KUMJINGANG3", "KUM JIN GANG 3")  # "now operating as"
    no_imo = next(v for v in sl.vessels if v.name == "MIN NING DE YOU 078")
    assert no_imo.imo is None and no_imo.imo_raw == "Does not exist"
    assert any(a.code == "imo-missing" for a in sl.anomalies)
    hap = next(v for v in sl.vessels if v.imo == "9066540")
    assert hap.linked_ids == ("KPe.058",)


def test_un1718_refuses_truncated_or_damaged(un1718_raw: bytes) -> None:
    with pytest.raises(ListFormatError, match="truncated"):
        parse_un_1718(un1718_raw[: len(un1718_raw) // 2])
    # drop one vessel's table row: the running numbers no longer agree with the count
    text = un1718_raw.decode()
    start = text.index("<tr", text.index(">JI SONG 6<") - 3000)
    start = text.rfind("<tr", 0, text.index(">JI SONG 6<"))
    end = text.index("<tr", text.index(">JI SONG 6<"))
    end = text.index("<tr", end + 3)  # its "Other information" row too
    damaged = text[:start] + text[end:]
    with pytest.raises(ListFormatError, match="running numbers"):
        parse_un_1718(damaged.encode())
    with pytest.raises(ListFormatError, match="not the UN 1718"):
        parse_un_1718(b"<html><body><table></table></body></html>")


# -- UN consolidated -------------------------------------------------------------------------


def test_un_consolidated(un2020: SanctionsList) -> None:
    sl = un2020
    assert sl.total_entries == 1018 and sl.published == "2020-11-30"
    kinds = Counter(p.party_type for p in sl.parties)
    assert kinds == {"individual": 713, "entity": 305}
    company = {a.entry_id for a in sl.anomalies if a.code == "company-imo"}
    # OMM's "International Maritime Organization (IMO) Number: 1790183" is one too
    assert company == {"KPe.020", "KPe.022", "KPe.066"}
    kpe22 = next(p for p in sl.parties if p.entry_id == "KPe.022")
    assert kpe22.company_imos == ("5342883",)


def test_entities_link_to_vessels_by_whole_name(
    un2020: SanctionsList, lists: dict[str, SanctionsList]
) -> None:
    parties = link_parties_to_vessels(un2020.parties, lists[UN_1718].vessels)
    linked = {p.entry_id: p.vessels for p in parties if p.vessels}
    assert len(linked) == 21
    assert set(linked["KPe.070"]) == {"UN-1718:8898740", "UN-1718:8503228", "UN-1718:8408595"}
    assert linked["KPe.067"] == ("UN-1718:9417115", "UN-1718:8705539")  # KOTI, KUM UN SAN 3
    # "TAN CHON" (a vessel alias) must not link the Tanchon bank
    assert "KPe.009" not in linked and "KPe.025" not in linked


def test_un_consolidated_refuses_damage(unxml_raw: bytes) -> None:
    with pytest.raises(ListFormatError, match="corrupted or truncated") as err:
        parse_un_consolidated(unxml_raw[: len(unxml_raw) - 500])
    assert err.value.line is not None
    with pytest.raises(ListFormatError, match="DOCTYPE"):
        parse_un_consolidated(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>')
    with pytest.raises(ListFormatError, match="CONSOLIDATED_LIST"):
        parse_un_consolidated(b"<OTHER/>")
    stripped = re.sub(rb"<INDIVIDUALS>.*</ENTITIES>", b"", unxml_raw, flags=re.S)
    with pytest.raises(ListFormatError, match="no individuals"):
        parse_un_consolidated(stripped)
