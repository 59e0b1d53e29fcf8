"""Build the small real-data sample of the UK OFSI list used by the unit tests.

The full ``ConList.xlsx`` (2.2 MB, OFSI 2025-04-14) is not bundled with trilink: the UK is
not one of the three nations and the file is big for git. This keeps the real rows of a few
hundred designations — the 15 ships, every DPRK designation, the names in hangul, and the
first 60 other designations — and writes them as a valid workbook: the kept ``<row>``
elements are copied verbatim, the shared-string table is cut to the strings they use and
re-indexed. Licence: Open Government Licence v3.0 (UK Crown copyright, OFSI/HM Treasury).

    python tests/data/sanctions/make_list_samples.py /path/to/uk_ofsi_conlist_2025-04-14.xlsx
"""

from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).with_name("uk_ofsi_conlist_sample_2025-04-14.xlsx")
_ROW = re.compile(rb"<row [^>]*>.*?</row>", re.S)
_SI = re.compile(rb"<si>.*?</si>", re.S)
_SCELL = re.compile(rb'(<c [^>]*t="s"[^>]*>\s*<v>)(\d+)(</v>)')
_CELL_TEXT = re.compile(rb"<t[^>]*>(.*?)</t>", re.S)


def build(src: Path, out: Path = OUT) -> None:
    zin = zipfile.ZipFile(src)
    sheet = zin.read("xl/worksheets/sheet1.xml")
    shared = _SI.findall(zin.read("xl/sharedStrings.xml"))

    def text(i: int) -> str:
        return b"".join(_CELL_TEXT.findall(shared[i])).decode()

    rows = _ROW.findall(sheet)

    def cells(row: bytes) -> list[str]:
        return [text(int(m.group(2))) for m in _SCELL.finditer(row)]

    keep_groups: set[str] = set()
    other = 0
    for row in rows[2:]:
        vals = cells(row)
        gid = vals[-1]
        joined = " ".join(vals)
        if gid in keep_groups:
            continue
        if (
            "Ship" in vals
            or "Democratic People's Republic of Korea" in vals
            or re.search(r"[\uac00-\ud7a3]", joined)
        ):
            keep_groups.add(gid)
        elif other < 60:
            keep_groups.add(gid)
            other += 1
    kept = rows[:2] + [r for r in rows[2:] if cells(r)[-1] in keep_groups]
    used: dict[int, int] = {}
    new_rows = []
    for r in kept:

        def remap(m: re.Match[bytes]) -> bytes:
            old = int(m.group(2))
            new = used.setdefault(old, len(used))
            return m.group(1) + str(new).encode() + m.group(3)

        new_rows.append(_SCELL.sub(remap, r))
    start = sheet.index(b"<sheetData>") + len(b"<sheetData>")
    end = sheet.index(b"</sheetData>")
    new_sheet = sheet[:start] + b"".join(new_rows) + sheet[end:]
    sst = [b""] * len(used)
    for old, new in used.items():
        sst[new] = shared[old]
    new_shared = (
        b'<?xml version="1.0" encoding="utf-8" standalone="yes"?>'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
        + f' count="{len(sst)}" uniqueCount="{len(sst)}">'.encode()
        + b"".join(sst)
        + b"</sst>"
    )
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = new_sheet
            elif info.filename == "xl/sharedStrings.xml":
                data = new_shared
            zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    sys.stdout.write(f"{out}: {len(keep_groups)} designations, {len(kept) - 2} rows\n")


if __name__ == "__main__":
    build(Path(sys.argv[1]))
