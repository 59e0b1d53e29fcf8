"""Parser for the UN Security Council 1718 Committee "Designated Vessels List" (HTML).

First stage of the flow for UN designations. The Committee publishes the list as a Word/PDF
document; the HTML form is a table in which each vessel starts at a row whose two-column cell
reads ``1: NAME 2: OTHER NAME``. The rows after it carry Flag, Call Sign, Type, Other
information, Picture link and "Designated as economic resources of". PDF page breaks move the
running number ``#`` into a later row, so it is cross-checked against the count instead of
being trusted for position. Names, flags, MMSIs and call signs are numbered independently
(``1: ... 2: ...``) with no one-to-one mapping, so they are kept as sets.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from html.parser import HTMLParser

from trilink.sanctions.errors import ListFormatError
from trilink.sanctions.identifiers import check_call_sign, check_imo, check_mmsi, flag_iso3
from trilink.sanctions.records import UN_1718, Anomaly, SanctionsList, VesselRecord

_NUMBERED_RE = re.compile(r"(?:^|\s)\d+\s*[.:]\s*")
_DATE_RE = re.compile(r"^\d{1,2}-[A-Z][a-z]{2}-\d{2}$")
_MEASURES = (
    "para8d_1718_para12_2270",
    "para12a_2321",
    "para12d_2321",
    "para6_2371_para6_2375",
    "omm_economic_resource",
)
_MEASURE_MEANING = {
    "para8d_1718_para12_2270": "asset_freeze",
    "para12a_2321": "deregistration",
    "para12d_2321": "asset_freeze",
    "para6_2371_para6_2375": "port_entry_ban",
    "omm_economic_resource": "asset_freeze",
}
_LABELS = {
    "flag": "flag",
    "call sign": "call_sign",
    "type": "type",
    "other information": "other",
    "picture link": "picture",
    "designated as economic resources of": "resource_of",
}
_REF_RE = re.compile(r"\((K[Pp][ei]\.\d{3})\)")


class _Cell:
    __slots__ = ("parts", "colspan")

    def __init__(self, colspan: int) -> None:
        self.parts: list[str] = []
        self.colspan = colspan

    @property
    def text(self) -> str:
        return " ".join("".join(self.parts).split())


class _TableParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[_Cell]] = []
        self._row: list[_Cell] | None = None
        self._cell: _Cell | None = None
        self.title = ""
        self._in_title = False
        self.closed_html = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self._row = []
        elif tag == "td":
            span = dict(attrs).get("colspan") or "1"
            self._cell = _Cell(int(span) if span.isdigit() else 1)
        elif tag in ("p", "br") and self._cell is not None:
            self._cell.parts.append(" ")
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "title":
            self._in_title = False
        elif tag == "html":
            self.closed_html = True

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.parts.append(data)
        elif self._in_title:
            self.title += data


def _numbered(text: str) -> list[str]:
    """``1: A 2: B`` -> [A, B]; also accepts ``1. A``."""
    if not text or text.lower() in ("na", "n/a"):
        return []
    return [p.strip(" ;,") for p in _NUMBERED_RE.split(text) if p.strip(" ;,")]


def _iso_date(text: str) -> str:
    return datetime.strptime(text, "%d-%b-%y").date().isoformat()


def parse_un_1718(data: bytes, *, source_name: str = "1718.html") -> SanctionsList:
    """Parse the 1718 Designated Vessels List HTML. Raises ``ListFormatError`` if damaged."""
    sha = hashlib.sha256(data).hexdigest()
    try:
        html = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ListFormatError(
            "the file is not UTF-8 HTML; expected the 1718 Designated Vessels List",
            path=source_name,
        ) from None
    parser = _TableParser()
    parser.feed(html)
    parser.close()
    if "1718 Designated Vessels List" not in html:
        raise ListFormatError(
            "this is not the UN 1718 Designated Vessels List (its title row is missing)",
            path=source_name,
        )
    if not parser.closed_html:
        raise ListFormatError(
            "the HTML stops before </html>: the file is truncated. Obtain the list again.",
            path=source_name,
        )
    anomalies: list[Anomaly] = []
    blocks: list[dict[str, list[str]]] = []
    numbers: list[int] = []
    for row in parser.rows:
        texts = [c.text for c in row]
        start = next(
            (i for i, c in enumerate(row) if c.colspan == 2 and c.text.startswith("1:")), None
        )
        if start is not None:
            block: dict[str, list[str]] = {"names": [row[start].text], "measures": []}
            rest = texts[start + 1 :]
            block["imo"] = [rest[0]] if rest else []
            block["designations"] = [" ".join(rest[1:7])] if len(rest) >= 7 else []
            blocks.append(block)
            if start > 0 and texts[0].isdigit():
                numbers.append(int(texts[0]))
            continue
        if not blocks:
            continue
        block = blocks[-1]
        label_at = next((i for i, t in enumerate(texts) if t.lower() in _LABELS), None)
        if label_at is None:
            continue
        if label_at > 0 and texts[0].isdigit():
            numbers.append(int(texts[0]))
        key = _LABELS[texts[label_at].lower()]
        if label_at + 1 < len(texts):
            block.setdefault(key, []).append(texts[label_at + 1])
        extra = [t for t in texts[label_at + 2 :] if t]
        if len(extra) >= 6 and _DATE_RE.match(extra[0]):
            block["designations"].append(" ".join(extra[:6]))
    if not blocks:
        raise ListFormatError("no vessel rows found in the table", path=source_name)
    if sorted(numbers) != list(range(1, len(blocks) + 1)):
        raise ListFormatError(
            f"found {len(blocks)} vessels but the running numbers are {_ranges(numbers)}: "
            "rows are missing or the table is damaged",
            path=source_name,
        )
    vessels = [_vessel(i + 1, b, anomalies) for i, b in enumerate(blocks)]
    return SanctionsList(
        list_id=UN_1718,
        title="UN Security Council 1718 Committee Designated Vessels List",
        published=_published(parser.title),
        source_name=source_name,
        sha256=sha,
        vessels=tuple(vessels),
        anomalies=tuple(anomalies),
        total_entries=len(vessels),
    )


def _ranges(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in sorted(numbers)) or "none"


def _published(title: str) -> str | None:
    m = re.search(r"(\d{1,2}) ([A-Z][a-z]+) (\d{4})", title)
    if not m:
        return None
    try:
        return datetime.strptime(" ".join(m.groups()), "%d %B %Y").date().isoformat()
    except ValueError:
        return None


def _vessel(number: int, b: dict[str, list[str]], out: list[Anomaly]) -> VesselRecord:
    names = [n.upper() for n in _numbered(b["names"][0])]
    imo_cell = b["imo"][0] if b["imo"] else ""
    imo_text, _, mmsi_text = imo_cell.partition("MMSI:")
    imo_text = imo_text.strip()
    first = check_imo(imo_text) if imo_text else None
    # The running number changes between editions; the IMO (or the name) is stable.
    entry_id = (
        first.value
        if first is not None and first.valid and first.value
        else re.sub(r"[^A-Z0-9]+", "_", names[0] if names else f"ROW{number}")
    )

    def note(field: str, code: str, message: str) -> None:
        out.append(
            Anomaly(list_id=UN_1718, entry_id=entry_id, field=field, code=code, message=message)
        )

    imo: str | None = None
    imo_raw: str | None = imo_text or None
    chk = check_imo(imo_text) if imo_text else None
    if chk is not None and chk.valid:
        imo = chk.value
    else:
        note(
            "imo",
            "imo-missing" if chk is None or not imo_text[:1].isdigit() else "imo-invalid",
            f"IMO cell reads {imo_text!r}: not used for matching",
        )
        imo_raw = imo_text or None
    mmsis = []
    for m in _numbered(mmsi_text.strip()):
        mc = check_mmsi(m)
        if mc.valid and mc.value:
            mmsis.append(mc.value)
        else:
            note("mmsi", "mmsi-invalid", f"MMSI {m!r} not used: {mc.problem}")
    flags = []
    for f in _numbered(" ".join(b.get("flag", []))):
        iso = flag_iso3(f)
        if iso is None:
            note("flag", "flag-unknown", f"flag {f!r} is not a known state name; kept as text")
        flags.append(iso or f)
    call_signs = []
    for c in _numbered(" ".join(b.get("call_sign", []))):
        cc = check_call_sign(c)
        if cc.valid and cc.value:
            call_signs.append(cc.value)
        else:
            note("call_sign", "call-sign-invalid", f"call sign {c!r} not used: {cc.problem}")
    listed_on: list[str] = []
    measures: list[str] = []
    for d in b["designations"]:
        parts = d.split()
        if parts and _DATE_RE.match(parts[0]):
            listed_on.append(_iso_date(parts[0]))
            for col, val in zip(_MEASURES, parts[1:6], strict=False):
                if val.lower() == "yes":
                    measures.append(_MEASURE_MEANING[col])
        else:
            note("designation", "date-missing", f"designation cells unreadable: {d!r}")
    other = " ".join(t for t in b.get("other", []) if t.lower() != "na")
    later = []
    renamed = re.search(r"now operating as .*? named (?:the )?(.+?)\.?$", other)
    if renamed:
        later = [n.strip().upper() for n in renamed.group(1).split(" or ")]
    resource_of = [t for t in b.get("resource_of", []) if t.lower() != "na"]
    linked_ids = [r.replace("Kpe", "KPe") for t in resource_of for r in _REF_RE.findall(t)]
    if "omm_economic_resource" in " ".join(
        col
        for d in b["designations"]
        for col, val in zip(_MEASURES, d.split()[1:6], strict=False)
        if val.lower() == "yes"
    ):
        resource_of.append("Ocean Maritime Management (KPe.020)")
        linked_ids.append("KPe.020")
    types = [t for t in b.get("type", []) if t.lower() != "na"]
    if not names:
        raise ListFormatError(f"vessel #{number} has no name", field="name")
    return VesselRecord(
        list_id=UN_1718,
        entry_id=entry_id,
        name=names[0],
        aliases=tuple(dict.fromkeys(names[1:] + later)),
        imo=imo,
        imo_raw=imo_raw,
        mmsis=tuple(dict.fromkeys(mmsis)),
        call_signs=tuple(dict.fromkeys(call_signs)),
        flags=tuple(dict.fromkeys(flags)),
        vessel_type=types[0] if types else None,
        programmes=("DPRK (UNSCR 1718)",),
        measures=tuple(dict.fromkeys(measures)),
        linked_to=tuple(dict.fromkeys(resource_of)),
        linked_ids=tuple(dict.fromkeys(linked_ids)),
        listed_on=tuple(dict.fromkeys(listed_on)),
        remarks=other,
    )
