"""Synthetic vessel identities for the East Asia scenario: MMSI with the right MID per flag,
IMO numbers with a valid check digit, call signs, names, AIS ship types and dimensions.

Every identity is generated from the scenario's seeded ``np.random.Generator``; only the
sanctioned vessel of the planted STS transfer is real (OFAC SDN, see data/SOURCES.md).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"

VesselClass = Literal["merchant", "tanker", "fishing", "other"]

#: Maritime Identification Digits (ITU) per flag; the first is used for new MMSIs.
MID: dict[str, tuple[int, ...]] = {
    "JPN": (431, 432),
    "KOR": (440, 441),
    "CHN": (412, 413, 414),
    "PRK": (445,),
    "RUS": (273,),
    "TWN": (416,),
    "HKG": (477,),
    "PAN": (351, 352, 353, 354, 355, 356, 357, 370, 371, 372, 373),
    "LBR": (636,),
    "MHL": (538,),
    "SGP": (563, 564, 565, 566),
    "SLE": (667,),
}

#: Flag mix of merchant/tanker background traffic (rough shares; open registries dominate).
MERCHANT_FLAGS: tuple[tuple[str, float], ...] = (
    ("PAN", 0.22),
    ("LBR", 0.14),
    ("MHL", 0.10),
    ("HKG", 0.10),
    ("SGP", 0.07),
    ("CHN", 0.14),
    ("KOR", 0.08),
    ("JPN", 0.08),
    ("RUS", 0.03),
    ("TWN", 0.04),
)

_NAME_A = (
    "OCEAN",
    "PACIFIC",
    "EASTERN",
    "GOLDEN",
    "GRAND",
    "STAR",
    "SEA",
    "GLOBAL",
    "ASIAN",
    "BLUE",
    "HANJIN",
    "PAN",
    "NEW",
    "MORNING",
    "SUN",
    "CRYSTAL",
    "ORIENT",
    "NORTHERN",
    "SILVER",
    "JADE",
)
_NAME_B = (
    "PIONEER",
    "TRADER",
    "GLORY",
    "HARMONY",
    "SPIRIT",
    "BRIDGE",
    "PHOENIX",
    "VENTURE",
    "DREAM",
    "HOPE",
    "FORTUNE",
    "PEARL",
    "WAVE",
    "CARRIER",
    "LEADER",
    "SUCCESS",
    "EXPRESS",
    "MARU",
    "FALCON",
    "VOYAGER",
)
_FISH_PREFIX = {
    "CHN": "LU RONG YU",
    "JPN": "MARU",
    "KOR": "HO",
    "RUS": "MYS",
    "TWN": "FU YU",
    "PRK": "CHOSON",
}

#: AIS ship type codes (ITU-R M.1371 table 53).
SHIP_TYPE = {"merchant": 70, "tanker": 80, "fishing": 30, "other": 90}


@dataclass(frozen=True, slots=True)
class Identity:
    """Static AIS data of one vessel (message type 5)."""

    mmsi: int
    imo: int
    name: str
    callsign: str
    ship_type: int
    flag: str
    length_m: float
    beam_m: float
    draught_m: float
    vessel_class: VesselClass
    destination: str = ""


def imo_with_check_digit(first6: int) -> int:
    """Append the IMO check digit: sum(d1..d6 * 7,6,5,4,3,2) mod 10."""
    digits = [int(c) for c in f"{first6:06d}"]
    check = sum(d * w for d, w in zip(digits, (7, 6, 5, 4, 3, 2), strict=True)) % 10
    return first6 * 10 + check


def imo_is_valid(imo: int) -> bool:
    """True if ``imo`` is a 7-digit IMO number whose check digit is right."""
    return 1_000_000 <= imo <= 9_999_999 and imo_with_check_digit(imo // 10) == imo


class IdentityFactory:
    """Draws unique identities from a seeded generator."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self._mmsi: set[int] = set()
        self._imo: set[int] = set()
        self._names: set[str] = set()

    def mmsi(self, flag: str, mid: int | None = None) -> int:
        """A new MMSI whose MID matches ``flag`` (or is ``mid``)."""
        mids = (mid,) if mid is not None else MID[flag]
        while True:
            mid = int(mids[int(self.rng.integers(len(mids)))])
            m = mid * 1_000_000 + int(self.rng.integers(0, 1_000_000))
            if m not in self._mmsi:
                self._mmsi.add(m)
                return m

    def imo(self) -> int:
        """A new valid-looking IMO number (9xxxxxx, the range of modern hulls)."""
        while True:
            v = imo_with_check_digit(int(self.rng.integers(900_000, 999_999)))
            if v not in self._imo:
                self._imo.add(v)
                return v

    def callsign(self, flag: str) -> str:
        """A call sign with a plausible ITU prefix for the flag."""
        prefix = {
            "JPN": "7J",
            "KOR": "D7",
            "CHN": "BQ",
            "PRK": "HM",
            "RUS": "UB",
            "TWN": "BR",
            "HKG": "VR",
            "PAN": "3E",
            "LBR": "A8",
            "MHL": "V7",
            "SGP": "9V",
            "SLE": "9L",
        }[flag]
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        tail = "".join(letters[int(i)] for i in self.rng.integers(0, len(letters), 4))
        return prefix + tail

    def name(self, vessel_class: VesselClass, flag: str) -> str:
        """A unique vessel name in AIS characters (upper case, max 20)."""
        while True:
            if vessel_class == "fishing":
                num = int(self.rng.integers(1, 999))
                base = _FISH_PREFIX.get(flag, "FISHER")
                name = f"NO.{num} {base}" if flag in ("JPN", "KOR") else f"{base} {num}"
            else:
                a = _NAME_A[int(self.rng.integers(len(_NAME_A)))]
                b = _NAME_B[int(self.rng.integers(len(_NAME_B)))]
                name = f"{a} {b}"
                if name in self._names:
                    name = f"{name} {int(self.rng.integers(1, 99))}"
            name = name[:20]
            if name not in self._names:
                self._names.add(name)
                return name

    def make(self, vessel_class: VesselClass, flag: str, mid: int | None = None) -> Identity:
        """A complete identity with dimensions typical of the class."""
        if vessel_class == "fishing":
            length = float(self.rng.uniform(25, 60))
        elif vessel_class == "tanker":
            length = float(self.rng.choice([120.0, 183.0, 228.0, 250.0, 274.0, 330.0]))
        elif vessel_class == "merchant":
            length = float(self.rng.choice([100.0, 140.0, 180.0, 225.0, 260.0, 300.0, 366.0]))
        else:
            length = float(self.rng.uniform(40, 110))
        beam = round(length * float(self.rng.uniform(0.14, 0.18)), 0)
        draught = round(min(20.0, length / 16.0 * float(self.rng.uniform(0.8, 1.1))), 1)
        return Identity(
            mmsi=self.mmsi(flag, mid),
            imo=0 if vessel_class == "fishing" and flag == "CHN" else self.imo(),
            name=self.name(vessel_class, flag),
            callsign=self.callsign(flag),
            ship_type=SHIP_TYPE[vessel_class],
            flag=flag,
            length_m=length,
            beam_m=beam,
            draught_m=draught,
            vessel_class=vessel_class,
        )


@dataclass(frozen=True, slots=True)
class SanctionedVessel:
    """A real OFAC-listed DPRK vessel (name and IMO only are used)."""

    name: str
    imo: int
    flag_text: str
    ofac_uid: str


def sanctioned_vessels() -> list[SanctionedVessel]:
    """DPRK-flagged vessels of the OFAC SDN extract (2024-05-03) with a valid IMO."""
    out = []
    with (DATA_DIR / "ofac_sdn_dprk_vessels_2024-05-03.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if not row["imo"] or "Democratic People" not in row["flag"]:
                continue
            imo = int(row["imo"])
            if imo_is_valid(imo) and len(row["name"]) <= 20:
                out.append(SanctionedVessel(row["name"], imo, row["flag"], row["uid"]))
    return out
