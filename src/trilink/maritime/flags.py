"""Flag state of a vessel from the Maritime Identification Digits (first 3 MMSI digits).

ITU MID allocation for the flags seen most in East Asian waters and in the bundled test data.
A flag given by the data itself (CSV ``flag`` column) always wins over this table.
"""

from __future__ import annotations

import polars as pl

_MID_RANGES: dict[str, tuple[int, ...]] = {
    "USA": (338, 366, 367, 368, 369),
    "JPN": (431, 432),
    "KOR": (440, 441),
    "PRK": (445,),
    "CHN": (412, 413, 414),
    "TWN": (416,),
    "HKG": (477,),
    "MAC": (453,),
    "RUS": (273,),
    "MNG": (457,),
    "VNM": (574,),
    "PHL": (548,),
    "IDN": (525,),
    "MYS": (533,),
    "THA": (567,),
    "KHM": (514, 515),
    "SGP": (563, 564, 565, 566),
    "IND": (419,),
    "PAN": (351, 352, 353, 354, 355, 356, 357, 370, 371, 372, 373, 374),
    "LBR": (636, 637),
    "MHL": (538,),
    "BHS": (308, 309, 311),
    "MLT": (215, 229, 248, 249, 256),
    "CYP": (209, 210, 212),
    "GRC": (237, 239, 240, 241),
    "TGO": (671,),
    "SLE": (667,),
    "COM": (616,),
    "TZA": (674, 677),
    "BLZ": (312,),
    "DNK": (219, 220),
    "SWE": (265, 266),
    "NOR": (257, 258, 259),
    "FIN": (230,),
    "DEU": (211, 218),
    "NLD": (244, 245, 246),
    "BEL": (205,),
    "GBR": (232, 233, 234, 235),
    "FRA": (226, 227, 228),
    "ESP": (224, 225),
    "PRT": (263,),
    "ITA": (247,),
    "TUR": (271,),
    "EGY": (622,),
    "SAU": (403,),
    "ARE": (470, 471),
    "IRN": (422,),
    "CAN": (316,),
    "AUS": (503,),
    "NZL": (512,),
    "POL": (261,),
    "EST": (276,),
    "LVA": (275,),
    "LTU": (277,),
    "ISL": (251,),
    "IRL": (250,),
    "ATG": (304, 305),
    "VCT": (375, 376, 377),
    "BRB": (314,),
    "CYM": (319,),
    "GIB": (236,),
    "IMN": (235,),
    "BMU": (310,),
    "PLW": (511,),
    "TUV": (572,),
    "VUT": (576, 577),
    "KIR": (529,),
    "FJI": (520,),
}

MID_TO_FLAG: dict[int, str] = {
    mid: iso for iso, mids in _MID_RANGES.items() for mid in mids if not (iso == "IMN")
}


def mid_of(mmsi: int) -> int:
    return mmsi // 1_000_000 if 200_000_000 <= mmsi <= 799_999_999 else -1


def flag_from_mmsi(mmsi: int) -> str | None:
    """ISO 3166-1 alpha-3 flag of a ship-station MMSI, or None when unknown."""
    return MID_TO_FLAG.get(mid_of(mmsi))


def flag_from_mmsi_expr(mmsi: pl.Expr) -> pl.Expr:
    """The same lookup as a polars expression (vectorised)."""
    mid = pl.when((mmsi >= 200_000_000) & (mmsi <= 799_999_999)).then(mmsi // 1_000_000)
    return mid.replace_strict(MID_TO_FLAG, default=None, return_dtype=pl.String)
