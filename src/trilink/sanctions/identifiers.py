"""Vessel identifier validation: IMO numbers, MMSIs, call signs and flag names.

First step of screening: every identifier a user or a list gives is checked here, and only
identifiers that pass are used for exact matching (an invalid IMO such as a company number,
or a placeholder MMSI, must never tie two vessels together). Tables are data files in
``data/``: the ITU Maritime Identification Digits (MID -> flag state) and the ITU call sign
series (prefix -> state).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

_IMO_RE = re.compile(r"^(?:IMO)?[\s:.#-]*(\d+)$")
_MMSI_RE = re.compile(r"^\d+$")
_CALLSIGN_RE = re.compile(r"^[A-Z0-9]{3,8}$")
# MMSIs operators type when they do not know the real one; never an identity.
_PLACEHOLDER_MMSI = {"123456789", "987654321", "999999999", "000000000", "111111111"}


@dataclass(frozen=True, slots=True)
class IdCheck:
    """Outcome of checking one identifier. ``value`` is the normalised form when valid."""

    kind: str  # "imo", "mmsi" or "call_sign"
    raw: str
    valid: bool
    value: str | None = None
    problem: str | None = None
    state: str | None = None  # ISO alpha-3 flag state implied by an MMSI MID or call sign
    station: str | None = None  # MMSI station type, e.g. "ship"


def imo_check_digit(first_six: str) -> int:
    """IMO check digit: sum of the first six digits times 7,6,5,4,3,2, modulo 10."""
    return sum(int(d) * w for d, w in zip(first_six, (7, 6, 5, 4, 3, 2), strict=True)) % 10


def check_imo(raw: str) -> IdCheck:
    """Validate an IMO ship number (``IMO 9811000``, ``9811000`` or ``IMO9811000``)."""
    text = raw.strip().upper()
    m = _IMO_RE.match(text)
    if not m:
        return IdCheck("imo", raw, False, problem="not an IMO number: expected 7 digits")
    digits = m.group(1)
    if len(digits) != 7:
        return IdCheck(
            "imo", raw, False, problem=f"an IMO number has 7 digits, this has {len(digits)}"
        )
    if digits.startswith("0"):
        return IdCheck("imo", raw, False, problem="an IMO ship number never starts with 0")
    expected = imo_check_digit(digits[:6])
    if int(digits[6]) != expected:
        return IdCheck(
            "imo",
            raw,
            False,
            problem=f"check digit is {digits[6]}, should be {expected}: mistyped, or a company"
            " IMO number (not a ship)",
        )
    return IdCheck("imo", raw, True, value=digits)


@cache
def mid_table() -> dict[str, tuple[str, str]]:
    """MID (3 digits) -> (ISO alpha-3, state name) from the ITU MID list."""
    text = resources.files("trilink.sanctions").joinpath("data/mid.csv").read_text("utf-8")
    return {row["mid"]: (row["iso3"], row["state"]) for row in csv.DictReader(text.splitlines())}


def check_mmsi(raw: str) -> IdCheck:
    """Validate an MMSI: 9 digits; a ship station's first three digits are an allocated MID.

    Only ship-station MMSIs are valid for screening; coast stations, groups, SAR aircraft,
    aids to navigation and distress beacons are reported as not a vessel identity.
    """
    text = raw.strip()
    if not _MMSI_RE.match(text):
        return IdCheck("mmsi", raw, False, problem="an MMSI is 9 digits and nothing else")
    if len(text) != 9:
        return IdCheck("mmsi", raw, False, problem=f"an MMSI has 9 digits, this has {len(text)}")
    if text in _PLACEHOLDER_MMSI or len(set(text)) == 1:
        return IdCheck("mmsi", raw, False, problem="placeholder MMSI, not a real identity")
    table = mid_table()
    station, mid = _station_type(text)
    if station != "ship":
        state = table.get(mid or "", (None, None))[0]
        return IdCheck(
            "mmsi",
            raw,
            False,
            value=text,
            state=state,
            station=station,
            problem=f"this MMSI belongs to a {station}, not to a ship station",
        )
    entry = table.get(text[:3])
    if entry is None:
        return IdCheck(
            "mmsi", raw, False, station=station, problem=f"MID {text[:3]} is not allocated"
        )
    return IdCheck("mmsi", raw, True, value=text, state=entry[0], station=station)


def _station_type(mmsi: str) -> tuple[str, str | None]:
    # ITU-R M.585: the leading digits say what kind of station it is.
    if mmsi.startswith("00"):
        return "coast station", mmsi[2:5]
    if mmsi.startswith("0"):
        return "group of ships", mmsi[1:4]
    if mmsi.startswith("111"):
        return "SAR aircraft", mmsi[3:6]
    if mmsi.startswith(("970", "972", "974")):
        return "distress beacon (SART/MOB/EPIRB)", None
    if mmsi.startswith("98"):
        return "craft associated with a parent ship", mmsi[2:5]
    if mmsi.startswith("99"):
        return "aid to navigation", mmsi[2:5]
    if mmsi.startswith("8"):
        return "handheld VHF", mmsi[1:4]
    if mmsi[0] in "234567":
        return "ship", mmsi[:3]
    return "unknown station type", None


@cache
def _callsign_table() -> tuple[dict[str, str], dict[str, str]]:
    """(2-char prefix -> state, 3-char prefix -> state) from the ITU call sign series."""
    path = resources.files("trilink.sanctions").joinpath("data/callsign_prefixes.csv")
    two: dict[str, str] = {}
    three: dict[str, str] = {}
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    alnum = "0123456789" + letters
    for row in csv.DictReader(path.read_text("utf-8").splitlines()):
        first, last, state = row["first"], row["last"], row["iso3"]
        lo, hi = alnum.index(first[1]), alnum.index(last[1])
        for second in alnum[lo : hi + 1]:
            prefix = first[0] + second
            a = first[2] if second == first[1] else "A"
            z = last[2] if second == last[1] else "Z"
            if a == "A" and z == "Z":
                two[prefix] = state
            else:
                for third in letters[letters.index(a) : letters.index(z) + 1]:
                    three[prefix + third] = state
    return two, three


def callsign_state(call_sign: str) -> str | None:
    """ISO alpha-3 state whose ITU series the call sign falls in, or None."""
    two, three = _callsign_table()
    cs = call_sign.upper()
    return three.get(cs[:3]) or two.get(cs[:2])


def check_call_sign(raw: str) -> IdCheck:
    """Plausibility of a ship call sign: 3-8 letters/digits in an allocated ITU series."""
    text = re.sub(r"[\s-]", "", raw).upper()
    if not _CALLSIGN_RE.match(text) or not re.search(r"[A-Z]", text):
        return IdCheck("call_sign", raw, False, problem="a call sign is 3-8 letters and digits")
    state = callsign_state(text)
    if state is None:
        return IdCheck(
            "call_sign",
            raw,
            False,
            problem=f"prefix {text[:2]} is not an allocated ITU call sign series",
        )
    return IdCheck("call_sign", raw, True, value=text, state=state)


def _flag_key(text: str) -> str:
    norm = unicodedata.normalize("NFKD", text)
    norm = "".join(c for c in norm if not unicodedata.combining(c))
    norm = re.sub(r"['\u2019`]", "", norm).lower().replace("&", " and ")
    norm = re.sub(r"\bst\b\.?", "saint", norm)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", norm).split())


@cache
def _flag_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for iso3, state in mid_table().values():
        table[_flag_key(iso3)] = iso3
        table.setdefault(_flag_key(re.sub(r"\s*\(.*\)", "", state)), iso3)
    path = resources.files("trilink.sanctions").joinpath("data/flag_names.csv")
    for row in csv.DictReader(path.read_text("utf-8").splitlines()):
        table[_flag_key(row["name"])] = row["iso3"]
    return table


def flag_iso3(text: str | None) -> str | None:
    """ISO alpha-3 code for a flag given as a state name, alpha-2 or alpha-3 code."""
    if not text:
        return None
    return _flag_table().get(_flag_key(text))
