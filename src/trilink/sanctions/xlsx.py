"""A small, bounded reader of the cell values of an .xlsx workbook (Office Open XML).

The UK OFSI, Japan MOF and Japan METI lists are published as Excel workbooks. This reads
what the lists need and nothing more: sheet names in order, and per sheet the rows as lists
of strings (shared strings, inline strings, numbers, booleans). A formula cell gives its
cached value (``<v>``) and is counted in ``Sheet.formulas`` — a reader without a formula
engine must never see ``=ROW()-1`` as a value, and a formula without a cached value reads as
``""`` and is counted in ``Sheet.uncached``. Merged cells are reported (``Sheet.merged``):
only their top-left cell holds the value, as Excel stores it.

Bounded: at most ``MAX_UNCOMPRESSED`` bytes are inflated per part, the zip may not hold more
than ``MAX_MEMBERS`` members, and a DOCTYPE/ENTITY declaration is refused, so a zip bomb or
an XML entity expansion cannot exhaust memory. Errors are ``ListFormatError`` naming the part.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
import zlib
from dataclasses import dataclass, field

from trilink.sanctions.errors import ListFormatError

MAX_UNCOMPRESSED = 64 * 1024 * 1024
MAX_MEMBERS = 2000
MAX_ROWS = 200_000
MAX_COLS = 200
_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}
_M = "{" + _NS["m"] + "}"
_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")


@dataclass
class Sheet:
    name: str
    rows: list[list[str]]  # row i (0-based) = Excel row i+1; cells by column, "" when empty
    formulas: int = 0
    uncached: int = 0
    merged: list[str] = field(default_factory=list)  # e.g. ["A1:C1"]


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def _read_part(zf: zipfile.ZipFile, name: str, source: str) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise ListFormatError(f"the workbook has no part {name}", path=source) from None
    if info.file_size > MAX_UNCOMPRESSED:
        raise ListFormatError(
            f"part {name} inflates to {info.file_size} bytes, over the {MAX_UNCOMPRESSED} limit",
            path=source,
        )
    try:
        with zf.open(info) as fh:
            data = fh.read(MAX_UNCOMPRESSED + 1)
    except ValueError as err:  # a header offset pointing outside the file: "negative seek"
        raise ListFormatError(
            f"part {name} of the workbook is damaged ({err})", path=source
        ) from None
    if len(data) > MAX_UNCOMPRESSED:
        raise ListFormatError(f"part {name} inflates past the size limit", path=source)
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data:
        raise ListFormatError(f"part {name} declares a DOCTYPE/ENTITY; refused", path=source)
    return data


def _xml(zf: zipfile.ZipFile, name: str, source: str) -> ET.Element:
    data = _read_part(zf, name, source)
    try:
        return ET.fromstring(data)
    except ET.ParseError as err:
        raise ListFormatError(f"part {name} is not well-formed XML ({err})", path=source) from None


def _text_of(si: ET.Element) -> str:
    # A shared/inline string is either <t> or rich-text runs <r><t>; phonetic <rPh> is skipped.
    t = si.find(f"{_M}t")
    if t is not None:
        return t.text or ""
    return "".join((r.findtext(f"{_M}t") or "") for r in si.findall(f"{_M}r"))


def read_workbook(data: bytes, *, source_name: str = "workbook.xlsx") -> list[Sheet]:
    """Every sheet of the workbook, in workbook order."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError) as err:
        raise ListFormatError(
            f"not an .xlsx workbook (zip unreadable: {err}); the file is corrupted or truncated",
            path=source_name,
        ) from None
    with zf:
        names = zf.namelist()
        if len(names) > MAX_MEMBERS:
            raise ListFormatError(
                f"the workbook has {len(names)} parts; refused", path=source_name
            )
        try:
            return _read(zf, set(names), source_name)
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as err:
            raise ListFormatError(
                f"a part of the workbook is damaged ({err})", path=source_name
            ) from None


def sheet_names(data: bytes) -> list[str]:
    """The sheet names of a workbook, cheaply (for recognising a list); [] if not a workbook."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            wb = _xml(zf, "xl/workbook.xml", "workbook")
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, zlib.error, ListFormatError):
        return []
    sheets_el = wb.find(f"{_M}sheets")
    return [sh.get("name") or "" for sh in (sheets_el if sheets_el is not None else ())]


def _read(zf: zipfile.ZipFile, names: set[str], source: str) -> list[Sheet]:
    shared: list[str] = []
    if "xl/sharedStrings.xml" in names:
        shared = [_text_of(si) for si in _xml(zf, "xl/sharedStrings.xml", source)]
    wb = _xml(zf, "xl/workbook.xml", source)
    rels = _xml(zf, "xl/_rels/workbook.xml.rels", source)
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    sheets: list[Sheet] = []
    sheets_el = wb.find(f"{_M}sheets")
    for sh in sheets_el if sheets_el is not None else ():
        rid = sh.get("{" + _NS["r"] + "}id")
        target = targets.get(rid, "")
        if not target:
            raise ListFormatError(f"sheet {sh.get('name')!r} has no part", path=source)
        part = target.lstrip("/") if target.startswith("/") else "xl/" + target
        sheets.append(_read_sheet(zf, part, sh.get("name") or "", shared, source))
    return sheets


def _read_sheet(
    zf: zipfile.ZipFile, part: str, name: str, shared: list[str], source: str
) -> Sheet:
    root = _xml(zf, part, source)
    sheet = Sheet(name=name, rows=[])
    data = root.find(f"{_M}sheetData")
    for mc in root.iter(f"{_M}mergeCell"):
        sheet.merged.append(mc.get("ref", ""))
    if data is None:
        return sheet
    rows: dict[int, list[str]] = {}
    for row in data.iter(f"{_M}row"):
        r_attr = row.get("r") or ""
        if r_attr and not r_attr.isdigit():
            raise ListFormatError(f"sheet {name!r}: row number {r_attr!r}", path=source)
        rnum = int(r_attr or (max(rows) + 2 if rows else 1)) - 1
        if not 0 <= rnum < MAX_ROWS:
            raise ListFormatError(f"sheet {name!r} has over {MAX_ROWS} rows; refused", path=source)
        cells: list[str] = []
        for pos, c in enumerate(row.iter(f"{_M}c")):
            m = _REF.match(c.get("r") or "")
            col = _col_index(m.group(1)) if m else pos
            if col >= MAX_COLS:
                continue
            typ = c.get("t") or "n"
            f = c.find(f"{_M}f")
            v = c.find(f"{_M}v")
            if f is not None:
                sheet.formulas += 1
                if v is None:
                    sheet.uncached += 1
            if typ == "s" and v is not None and v.text is not None:
                try:
                    value = shared[int(v.text)]
                except (ValueError, IndexError):
                    raise ListFormatError(
                        f"sheet {name!r} cell {c.get('r')} points to shared string {v.text!r}"
                        " that does not exist",
                        path=source,
                    ) from None
            elif typ == "inlineStr":
                is_ = c.find(f"{_M}is")
                value = _text_of(is_) if is_ is not None else ""
            else:
                value = (v.text or "") if v is not None else ""
                if typ == "n" and value.endswith(".0"):
                    value = value[:-2]
            if len(cells) <= col:
                cells.extend([""] * (col + 1 - len(cells)))
            cells[col] = value
        rows[rnum] = cells
    if rows:
        sheet.rows = [rows.get(i, []) for i in range(max(rows) + 1)]
    return sheet
