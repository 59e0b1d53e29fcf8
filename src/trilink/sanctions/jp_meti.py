"""Parser for Japan METI's End User List (外国ユーザーリスト, export control, xlsx).

Sheet ``ユーザーリスト``: a header row (``No.``, ``国名、地域名 Country or Region``,
``企業名､組織名 Company or Organization``, ``別名 Also Known As``, ``懸念区分 Type of WMD``,
``通常兵器 Conventional Weapons``) and one row per end user. ``No.`` is the formula
``=ROW()-1``: its cached value is read and must run 1..N — the publisher's own count — else
the numbers are derived from the rows and the difference reported. Country cells are
bilingual over two lines (``北朝鮮\\nNorth Korea``), aliases are ``・``-bulleted lines, the WMD
concern is ``生物、化学、ミサイル、核\\nB,C,M,N``. Every entry is an organisation.
"""

from __future__ import annotations

import hashlib
import re

from trilink.sanctions.entities import ORGANIZATION, clean, make_names
from trilink.sanctions.errors import ListFormatError
from trilink.sanctions.records import JP_METI, Anomaly, Entity, Identifier, SanctionsList
from trilink.sanctions.xlsx import read_workbook

COLUMNS = ("No.", "国名、地域名", "企業名､組織名", "別名", "懸念区分", "通常兵器")
_WMD = {"B": "biological", "C": "chemical", "M": "missile", "N": "nuclear"}


def _head(cell: str) -> str:
    return clean(cell.split("\n")[0])


def parse_jp_meti(data: bytes, *, source_name: str = "end_user_list.xlsx") -> SanctionsList:
    sheets = read_workbook(data, source_name=source_name)
    sheet = next((s for s in sheets if s.name.strip() == "ユーザーリスト"), None)
    if sheet is None or not sheet.rows:
        raise ListFormatError(
            "no sheet 'ユーザーリスト': not METI's End User List", path=source_name
        )
    hi = next((i for i, r in enumerate(sheet.rows[:20]) if r and _head(r[0]) == "No."), None)
    if hi is None:
        raise ListFormatError("no header row starting with 'No.'", path=source_name)
    header = [_head(c) for c in sheet.rows[hi]]
    lost = [c for c in COLUMNS if c not in header]
    if lost:
        raise ListFormatError(
            f"the header lacks the column(s) {', '.join(lost)}: the format changed",
            path=source_name,
            line=hi + 1,
        )
    col = {h: header.index(h) for h in COLUMNS}
    anomalies: list[Anomaly] = []
    if sheet.formulas:
        anomalies.append(
            Anomaly(
                list_id=JP_METI,
                entry_id="-",
                field="No.",
                code="formula-column",
                message=f"{sheet.formulas} formula cells (No. is =ROW()-1); their cached values"
                f" are used, {sheet.uncached} had none and are derived from the row",
            )
        )
    entities: list[Entity] = []
    numbers: list[int] = []
    for i, raw in enumerate(sheet.rows[hi + 1 :], start=hi + 2):
        row = {h: (raw[j].strip() if j < len(raw) else "") for h, j in col.items()}
        name = clean(row["企業名､組織名"])
        if not name:
            if any(v for v in row.values() if v and v != row["No."]):
                raise ListFormatError(
                    "a row has no company name", path=source_name, line=i, field="企業名､組織名"
                )
            continue
        cached = row["No."]
        number = int(cached) if cached.isdigit() else i - 1
        numbers.append(number)
        country_lines = [clean(x) for x in row["国名、地域名"].split("\n") if clean(x)]
        aliases = [
            clean(x.lstrip("・"))
            for x in row["別名"].replace("\r", "").split("\n")
            if clean(x.lstrip("・"))
        ]
        wmd_codes = re.findall(r"\b[BCMN]\b", row["懸念区分"].split("\n")[-1])
        programmes = ["JP-METI End User List"]
        programmes += [f"WMD: {_WMD[c]}" for c in wmd_codes]
        if row["通常兵器"]:
            programmes.append("conventional weapons")
        entities.append(
            Entity(
                list_id=JP_METI,
                entry_id=str(number),
                schema=ORGANIZATION,
                names=make_names(name, [(a, "alias") for a in aliases], lang="ja"),
                identifiers=(Identifier(kind="list_ref", value=str(number)),),
                countries=tuple(country_lines),
                programmes=tuple(programmes),
            )
        )
    if not entities:
        raise ListFormatError("the list holds no entries", path=source_name)
    if numbers != list(range(1, len(numbers) + 1)):
        raise ListFormatError(
            f"No. does not run 1..{len(numbers)} (the publisher's numbering): rows were lost,"
            " duplicated or reordered",
            path=source_name,
            field="No.",
        )
    m = re.search(r"(20\d{2})-?(\d{2})-?(\d{2})", source_name)
    return SanctionsList(
        list_id=JP_METI,
        title="Japan METI End User List (外国ユーザーリスト)",
        published=f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else None,
        source_name=source_name,
        sha256=hashlib.sha256(data).hexdigest(),
        vessels=(),
        anomalies=tuple(anomalies),
        total_entries=len(entities),
        entities=tuple(entities),
        publisher_total=max(numbers),
    )
