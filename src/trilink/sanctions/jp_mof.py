"""Parser for Japan's Ministry of Finance asset-freeze list (経済制裁措置及び対象者リスト, xlsx).

Sheet ``一覧`` indexes the regimes; each numbered sheet (``1.…`` to ``44.…``) has a header
row holding ``告示日付 | 告示番号 | 日本語表記 | 英語表記 | …`` whose later columns differ per
sheet, so columns are found by their header text. Each entry has a Japanese (katakana/kanji)
and an English name; aliases mix Japanese and English lines in one cell. ``告示番号`` carries
cross-listing marks (``*1``, ``1(#48)``), deleted entries keep their number without a name
(``2011.11.18削除``), long texts spill into continuation rows without a number, dates of birth
are Excel serials or free text, and 告示日付 holds the amendment history on several lines.

Checks before the list is accepted: every sheet the index names is present, every numbered
sheet has the four key columns, and the publisher's own numbering is complete — within a
sheet the 告示番号 run from their first to their last number without a gap or a repeat (a
lost row would show as a gap). Sheets marked 【解除】 (regime lifted) hold no entries.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta

from trilink.sanctions.entities import (
    ORGANIZATION,
    PERSON,
    clean,
    make_names,
)
from trilink.sanctions.errors import ListFormatError
from trilink.sanctions.records import JP_MOF, Anomaly, Entity, Identifier, SanctionsList
from trilink.sanctions.xlsx import Sheet, read_workbook

KEY_COLUMNS = ("告示日付", "告示番号", "日本語表記", "英語表記")
_NUM = re.compile(r"^[*#＊＃]*(\d+)\s*(?:[（(]\s*([*#＊＃]\s*\d+)\s*[)）])?$")
_DATE = re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})")
_ENUM = re.compile(r"\s*[（(][a-zA-Zａ-ｚ][)）]\s*")
_MARKER = re.compile(r"[（(](?:別称|別名|旧称|以前の呼称|旧名)[)）]")
_AKA = re.compile(r"^\(?\s*(?:a\.k\.a\.|f\.k\.a\.|aka|fka)\s*:?\s*", re.I)
_UNKNOWN = {"不明", "なし", "無し", "-", "－", "―"}
# Words that are labels or notes, not names: "別称" (alias), "不明" (unknown), birth notes.
_NOT_A_NAME = _UNKNOWN | {"別称", "別名", "旧称", "以前の呼称", "旧名", "通称"}
_NOTE_IN_NAME = re.compile(r"[（(][^（）()]*(?:出生|生まれ|年)[^（）()]*[)）]")
_SUFFIXES = {"LTD", "LTD.", "INC", "INC.", "CO", "CO.", "LLC", "LIMITED", "JSC", "PJSC", "CORP"}


def _iso(text: str) -> str | None:
    m = _DATE.search(text)
    if not m:
        return None
    y, mo, d = (int(g) for g in m.groups())
    return f"{y:04d}-{mo:02d}-{d:02d}"


def _excel_date(text: str) -> str:
    t = text.strip()
    if re.fullmatch(r"\d{4,5}", t):
        return (date(1899, 12, 30) + timedelta(days=int(t))).isoformat()
    return clean(t)


def _balance(p: str) -> str:
    """Drop a parenthesis left over from splitting ``(a.k.a.: A; B)`` into names."""
    for op, cl in (("(", ")"), ("（", "）")):
        if p.endswith(cl) and p.count(cl) > p.count(op):
            p = p[:-1].rstrip()
        if p.startswith(op) and p.count(op) > p.count(cl):
            p = p[1:].lstrip()
    return p


def split_names(cell: str) -> list[tuple[str, str]]:
    """Names of an alias cell with their kind: lines, Japanese 、-lists, English ;-lists."""
    out: list[tuple[str, str]] = []
    kind = "alias"
    for raw_line in cell.replace("\r", "\n").split("\n"):
        line = raw_line.strip().lstrip("・")
        if not line:
            continue
        if re.match(r"^[（(]旧称|^[（(]以前の呼称|^[（(]旧名", line):
            kind = "former"
        elif re.match(r"^[（(]別称|^[（(]別名", line):
            kind = "alias"
        line = _MARKER.sub("", line)
        parts: list[str] = []
        for chunk in re.split(r"[;；、]|(?:\s*[（(][a-zA-Z][)）]\s*)", line):
            chunk = chunk.strip(" ,，.")
            if not chunk:
                continue
            pieces = [p.strip() for p in chunk.split(", ")]
            if len(pieces) > 1 and all(
                len(p) >= 8 and p.upper() not in _SUFFIXES and " " in p for p in pieces
            ):
                parts.extend(pieces)
            else:
                parts.append(chunk)
        for p in parts:
            p = _balance(_AKA.sub("", p).strip(" :："))
            p = _NOTE_IN_NAME.sub("", p).strip()
            if p in _NOT_A_NAME or "出生" in p or "生まれ" in p:
                continue
            if len(p) > 1 and any(c.isalpha() for c in p):
                out.append((p, kind))
    return out


def _index_titles(sheet: Sheet) -> dict[int, str]:
    out: dict[int, str] = {}
    for row in sheet.rows:
        if len(row) >= 2 and row[0].strip().isdigit() and row[1].strip():
            out[int(row[0])] = row[1].strip()
    return out


def parse_jp_mof(data: bytes, *, source_name: str = "shisantouketsu.xlsx") -> SanctionsList:
    sheets = read_workbook(data, source_name=source_name)
    index = next((s for s in sheets if s.name.strip() == "一覧"), None)
    if index is None:
        raise ListFormatError(
            "no index sheet '一覧': not MOF's 経済制裁措置及び対象者リスト", path=source_name
        )
    titles = _index_titles(index)
    numbered: dict[int, Sheet] = {}
    for s in sheets:
        m = re.match(r"^(\d+)\.", s.name.strip())
        if m:
            numbered[int(m.group(1))] = s
    missing = sorted(set(titles) - set(numbered))
    if not titles or missing:
        raise ListFormatError(
            f"the index names {len(titles)} sheets but sheet(s) {missing} are missing: the"
            " workbook is incomplete",
            path=source_name,
        )
    published = None
    m = re.search(r"(20\d{2})-?(\d{2})-?(\d{2})", source_name)
    if m:
        published = f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    entities: list[Entity] = []
    anomalies: list[Anomaly] = []
    for no in sorted(numbered):
        sheet = numbered[no]
        title = titles.get(no, sheet.name)
        entities.extend(_sheet(no, sheet, title, anomalies, source_name))
    if not entities:
        raise ListFormatError("no entries found in any sheet", path=source_name)
    return SanctionsList(
        list_id=JP_MOF,
        title="Japan MOF asset-freeze list (経済制裁措置及び対象者リスト)",
        published=published,
        source_name=source_name,
        sha256=hashlib.sha256(data).hexdigest(),
        vessels=(),
        anomalies=tuple(anomalies),
        total_entries=len(entities),
        entities=tuple(entities),
    )


def _sheet(
    no: int, sheet: Sheet, title: str, anomalies: list[Anomaly], source: str
) -> list[Entity]:
    hi = next((i for i, r in enumerate(sheet.rows) if "告示番号" in [c.strip() for c in r]), None)
    lifted = "【解除】" in title or "【解除】" in sheet.name
    if hi is None:
        if lifted:
            return []
        raise ListFormatError(f"sheet {sheet.name!r} has no header row with 告示番号", path=source)
    header = [clean(c) for c in sheet.rows[hi]]
    lost = [c for c in KEY_COLUMNS if c not in header]
    if lost:
        raise ListFormatError(
            f"sheet {sheet.name!r} lacks the column(s) {', '.join(lost)}",
            path=source,
            line=hi + 1,
        )
    col = {h: i for i, h in reversed(list(enumerate(header))) if h}
    if "個人" in title:
        sheet_schema: str | None = PERSON
    elif "団体" in title or "銀行" in title:
        sheet_schema = ORGANIZATION
    else:
        sheet_schema = None
    programme = f"JP-MOF {no}: {title.splitlines()[0]}"
    out: list[Entity] = []
    numbers: list[int] = []
    rows_of: list[tuple[int, dict[str, str], list[str]]] = []
    for i, raw in enumerate(sheet.rows[hi + 1 :], start=hi + 2):
        row = {h: (raw[j] if j < len(raw) else "") for h, j in col.items()}
        num = row["告示番号"].strip()
        if not num:
            if rows_of and any(c.strip() for c in raw):
                rows_of[-1][2].append(" ".join(clean(c) for c in raw if c.strip()))
            continue
        m = _NUM.match(num.replace(" ", ""))
        if not m:
            raise ListFormatError(
                f"sheet {sheet.name!r}: 告示番号 {num!r} is not a number",
                path=source,
                line=i,
                field="告示番号",
            )
        numbers.append(int(m.group(1)))
        rows_of.append((i, row, []))
    if numbers:
        expected = set(range(min(numbers), max(numbers) + 1))
        gaps = sorted(expected - set(numbers))
        repeats = len(numbers) - len(set(numbers))
        if gaps or repeats:
            raise ListFormatError(
                f"sheet {sheet.name!r}: the 告示番号 numbering is broken (missing {gaps[:10]},"
                f" {repeats} repeated): rows were lost or duplicated",
                path=source,
            )
    for (_i, row, extra), number in zip(rows_of, numbers, strict=True):
        ja = clean(row["日本語表記"])
        en = clean(row["英語表記"])
        if not ja and not en:
            continue  # deleted (削除) or blank: the number stays, the entry is gone
        others: list[tuple[str, str]] = [(en, "primary")] if ja and en else []
        for h, v in row.items():
            if not v.strip():
                continue
            if "確定に十分でない" in h:
                others += [(t, "weak") for t, _k in split_names(v)]
            elif "別名" in h or "別称" in h or "旧称" in h or "以前の呼称" in h:
                base = "former" if ("旧称" in h and "別" not in h) or "過去" in h else None
                others += [(t, base or k) for t, k in split_names(v)]
        addresses = [
            clean(v) for h, v in row.items() if v.strip() and ("住所" in h or "所在地" in h)
        ]
        countries = [clean(v) for h, v in row.items() if v.strip() and h == "国籍"]
        births = [_excel_date(v) for h, v in row.items() if v.strip() and "生年月日" in h]
        ids = [Identifier(kind="list_ref", value=row["告示番号"].strip(), note=f"sheet {no}")]
        for h, v in row.items():
            if clean(v) in _UNKNOWN:
                continue
            if v.strip() and "旅券番号" in h:
                ids.append(Identifier(kind="passport", value=clean(v)))
            elif v.strip() and ("ID番号" in h or "身分" in h):
                ids.append(Identifier(kind="national_id", value=clean(v)))
            elif v.strip() and "国連参照番号" in h:
                ids.append(Identifier(kind="list_ref", value=clean(v), note="UN"))
        schema = sheet_schema or (PERSON if births or countries else ORGANIZATION)
        dates = [d for d in (_iso(x) for x in row["告示日付"].splitlines()) if d]
        remarks = " ".join(
            clean(v) for h, v in row.items() if v.strip() and ("その他" in h or "詳細" in h)
        )
        out.append(
            Entity(
                list_id=JP_MOF,
                entry_id=f"{no}-{number}",
                schema=schema,
                names=make_names(ja or en, others, lang="ja"),
                identifiers=tuple(ids),
                addresses=tuple(addresses),
                countries=tuple(countries),
                programmes=(programme,),
                listed_on=tuple(dates[:1]),
                birth_dates=tuple(births),
                remarks=" ".join([remarks, *extra]).strip(),
            )
        )
    return out
