"""IMO, MMSI, call sign and flag validation."""

from __future__ import annotations

import csv
from importlib import resources

from hypothesis import given
from hypothesis import strategies as st

from trilink.sanctions.identifiers import (
    callsign_state,
    check_call_sign,
    check_imo,
    check_mmsi,
    flag_iso3,
    imo_check_digit,
    mid_table,
)
from trilink.sanctions.records import SanctionsList


def test_every_listed_imo_passes_the_check_digit(lists: dict[str, SanctionsList]) -> None:
    imos = [v.imo for sl in lists.values() for v in sl.vessels if v.imo]
    assert len(imos) > 850
    assert all(check_imo(i).valid for i in imos)


def test_imo_formats_and_failures() -> None:
    assert check_imo("IMO 9811000").value == "9811000"
    assert check_imo("imo9811000").value == "9811000"
    assert check_imo(" 9811000 ").value == "9811000"
    bad = check_imo("9811001")
    assert not bad.valid and "check digit" in (bad.problem or "")
    assert not check_imo("981100").valid  # 6 digits
    assert not check_imo("98110000").valid  # 8 digits
    assert not check_imo("IMO 98A1000").valid
    assert not check_imo("0811000").valid


def test_company_imo_numbers_of_the_un_list_are_not_ship_imos() -> None:
    # KPe.022 and KPe.066 carry IMO *company* numbers; they must never validate as ships.
    assert not check_imo("5342883").valid
    assert not check_imo("5434358").valid


@given(st.integers(min_value=100000, max_value=999999), st.integers(min_value=1, max_value=9))
def test_imo_check_digit_property(six: int, shift: int) -> None:
    digits = str(six)
    good = digits + str(imo_check_digit(digits))
    assert check_imo(good).valid
    wrong = digits + str((imo_check_digit(digits) + shift) % 10)
    assert not check_imo(wrong).valid


def test_mid_table_is_complete_and_consistent() -> None:
    table = mid_table()
    assert len(table) > 280
    assert table["445"][0] == "PRK"
    assert table["440"][0] == table["441"][0] == "KOR"
    assert table["431"][0] == table["432"][0] == "JPN"
    assert {table[m][0] for m in ("338", "366", "367", "368", "369")} == {"USA"}
    assert table["351"][0] == "PAN" and table["667"][0] == "SLE"
    text = resources.files("trilink.sanctions").joinpath("data/mid.csv").read_text("utf-8")
    mids = [row["mid"] for row in csv.DictReader(text.splitlines())]
    assert len(mids) == len(set(mids))
    assert all(len(m) == 3 and m[0] in "234567" for m in mids)


def test_mmsi_validation() -> None:
    ok = check_mmsi("445114000")
    assert ok.valid and ok.state == "PRK" and ok.station == "ship"
    assert check_mmsi("667003342").state == "SLE"
    assert not check_mmsi("44511400").valid  # 8 digits
    assert not check_mmsi("445-114000").valid
    assert not check_mmsi("123456789").valid  # placeholder
    assert not check_mmsi("000000000").valid
    assert not check_mmsi("217000000").valid  # MID 217 is not allocated
    coast = check_mmsi("004310001")
    assert not coast.valid and coast.station == "coast station" and coast.state == "JPN"
    assert check_mmsi("992351000").station == "aid to navigation"
    assert check_mmsi("970123456").station is not None and not check_mmsi("970123456").valid


def test_listed_mmsis_have_flag_states(lists: dict[str, SanctionsList]) -> None:
    mmsis = [m for sl in lists.values() for v in sl.vessels for m in v.mmsis]
    assert len(mmsis) > 150
    assert all(check_mmsi(m).valid for m in mmsis)


def test_call_signs_of_the_real_lists() -> None:
    expected = {
        "T3NM2": "KIR", "XUJX6": "KHM", "HMXW": "PRK", "9LY2539": "SLE", "CL2192": "CUB",
        "T2EU4": "TUV", "HLAB": "KOR", "JAAA": "JPN", "WDD8608": "USA",
    }  # fmt: skip
    for cs, state in expected.items():
        chk = check_call_sign(cs)
        assert chk.valid and chk.state == state, cs
    assert callsign_state("SSA1") == "EGY" and callsign_state("SSN1") == "SDN"
    assert not check_call_sign("QQ123").valid  # Q series is not allocated to states
    assert not check_call_sign("@@J130B").valid
    assert not check_call_sign("0").valid
    assert not check_call_sign("1234").valid  # digits only


def test_flag_names() -> None:
    assert flag_iso3("Democratic People’s Republic of Korea") == "PRK"
    assert flag_iso3("Democratic People's Republic of Korea") == "PRK"
    assert flag_iso3("KP") == flag_iso3("PRK") == flag_iso3("North Korea") == "PRK"
    assert flag_iso3("St. Kitts & Nevis") == flag_iso3("Saint Kitts and Nevis") == "KNA"
    assert flag_iso3("St. Vincent and the Grenadines") == "VCT"
    assert flag_iso3("Hong Kong") == "HKG"
    assert flag_iso3("Atlantis") is None
    assert flag_iso3("") is None
