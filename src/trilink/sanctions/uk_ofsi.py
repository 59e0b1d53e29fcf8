"""Parser for the UK OFSI Consolidated List (``ConList.xlsx``, the "2022 format").

One sheet, ``Data``: row 1 ``Last Updated | dd/mm/yyyy``, row 2 the 36-column header, then one
row per *name*; the rows of one designation share a ``Group ID`` (a string). A designation is
an ``Individual``, an ``Entity`` or a ``Ship``; its primary name is the row whose ``Alias Type``
is ``Primary name``. Ship IMO numbers are not in a column: they sit in ``Other Information`` as
``(IMO number):7408873 (Current owners):… (Flag of ship):…``; entities carry company IMO
numbers as ``IMO number: 5571322.``. A header that lacks a column the parser reads is refused.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict

from trilink.sanctions.entities import (
    ORGANIZATION,
    PERSON,
    VESSEL,
    clean,
    company_imos_in,
    imo_identifiers,
    linked_ship_imos,
    make_names,
)
from trilink.sanctions.errors import ListFormatError
from trilink.sanctions.identifiers import check_imo, flag_iso3
from trilink.sanctions.records import (
    UK_OFSI,
    Anomaly,
    Entity,
    Identifier,
    SanctionsList,
    VesselRecord,
)
from trilink.sanctions.xlsx import read_workbook

REQUIRED = (
    "Name 6", "Name 1", "Name 2", "Name 3", "Name 4", "Name 5", "Name Non-Latin Script",
    "Non-Latin Script Language", "DOB", "Nationality", "Passport Number",
    "National Identification Number", "Address 1", "Address 2", "Address 3", "Address 4",
    "Address 5", "Address 6", "Post/Zip Code", "Country", "Other Information", "Group Type",
    "Alias Type", "Alias Quality", "Regime", "Listed On", "Group ID",
)  # fmt: skip
_SCHEMA = {"Individual": PERSON, "Entity": ORGANIZATION, "Ship": VESSEL}
_KV = re.compile(r"\(([^()]{2,40})\):\s*(.*?)(?=\s*\([^()]{2,40}\):|$)", re.S)
_DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")


def _iso(d: str) -> str:
    m = _DATE.match(d.strip())
    if not m:
        return d.strip()
    dd, mm, yyyy = m.groups()
    if dd == "00" and mm == "00":
        return yyyy
    return f"{yyyy}-{mm}-{dd}"


def parse_uk_ofsi(data: bytes, *, source_name: str = "ConList.xlsx") -> SanctionsList:
    sheets = read_workbook(data, source_name=source_name)
    sheet = next((s for s in sheets if s.name == "Data"), None)
    if sheet is None or len(sheet.rows) < 3:
        raise ListFormatError(
            "no 'Data' sheet with a header and rows: not OFSI's ConList.xlsx (2022 format)",
            path=source_name,
        )
    top = sheet.rows[0]
    published = None
    if len(top) >= 2 and top[0].strip() == "Last Updated":
        published = _iso(top[1])
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", published):
            published = None
    header = [h.strip() for h in sheet.rows[1]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ListFormatError(
            f"the header lacks the column(s) {', '.join(missing)}: the format changed or a"
            " column was lost; refusing the file",
            path=source_name,
            line=2,
        )
    col = {h: i for i, h in enumerate(header) if h and h not in {}}
    # "Last Updated" appears twice (row 1 label and a column); the column is the later one.
    groups: dict[str, list[tuple[int, dict[str, str]]]] = defaultdict(list)
    for i, raw in enumerate(sheet.rows[2:], start=3):
        if not any(c.strip() for c in raw):
            continue
        row = {h: (raw[j].strip() if j < len(raw) else "") for h, j in col.items()}
        gid = row["Group ID"]
        if not gid:
            raise ListFormatError(
                "a row has no Group ID", path=source_name, line=i, field="Group ID"
            )
        groups[gid].append((i, row))
    anomalies: list[Anomaly] = []
    entities: list[Entity] = []
    vessels: list[VesselRecord] = []
    for gid, rows in groups.items():
        entities.append(_entity(gid, rows, anomalies, source_name))
        if entities[-1].schema == VESSEL:
            vessels.append(_vessel(entities[-1], rows[0][1]))
    if not entities:
        raise ListFormatError("the Data sheet holds no designations", path=source_name)
    return SanctionsList(
        list_id=UK_OFSI,
        title="UK OFSI Consolidated List of Financial Sanctions Targets",
        published=published,
        source_name=source_name,
        sha256=hashlib.sha256(data).hexdigest(),
        vessels=tuple(vessels),
        anomalies=tuple(anomalies),
        total_entries=len(entities),
        entities=tuple(entities),
    )


def _full_name(row: dict[str, str]) -> str:
    parts = [row[f"Name {i}"] for i in (1, 2, 3, 4, 5)] + [row["Name 6"]]
    return clean(" ".join(p for p in parts if p))


def _entity(
    gid: str, rows: list[tuple[int, dict[str, str]]], anomalies: list[Anomaly], source: str
) -> Entity:
    first_line, first = rows[0]
    gtype = first["Group Type"]
    schema = _SCHEMA.get(gtype)
    if schema is None:
        raise ListFormatError(
            f"group {gid} has Group Type {gtype!r}; known: {', '.join(_SCHEMA)}",
            path=source,
            line=first_line,
            field="Group Type",
        )
    primary = next((r for _i, r in rows if r["Alias Type"].lower() == "primary name"), first)
    others: list[tuple[str, str]] = []
    for _i, r in rows:
        kind = r["Alias Type"].lower()
        k = (
            "former" if kind == "fka" else "weak" if r["Alias Quality"].lower() == "low quality"
            else "alias"
        )  # fmt: skip
        others.append((_full_name(r), k))
        if r["Name Non-Latin Script"]:
            others.append((r["Name Non-Latin Script"], "original"))
    names = make_names(_full_name(primary), others)
    info = first["Other Information"]
    ids: list[Identifier] = []
    ref = re.search(r"\(UK Sanctions List Ref\):\s*([A-Z]{3}\d{4})", info)
    if ref:
        ids.append(Identifier(kind="list_ref", value=ref.group(1)))
    un_ref = re.search(r"\(UN Ref\):\s*([A-Z]{2}[ie]\.\d{3})", info)
    if un_ref:
        ids.append(Identifier(kind="list_ref", value=un_ref.group(1), note="UN"))
    countries: list[str] = []
    linked: list[str] = []
    if schema == VESSEL:
        kv = {k.strip().lower(): v.strip().rstrip(".") for k, v in _KV.findall(info)}
        imo = kv.get("imo number", "")
        chk = check_imo(imo) if imo else None
        if chk is not None and chk.valid and chk.value:
            ids.append(Identifier(kind="imo", value=chk.value))
        else:
            anomalies.append(
                Anomaly(
                    list_id=UK_OFSI,
                    entry_id=gid,
                    field="Other Information",
                    code="ship-without-imo",
                    message=f"ship group {gid} has no valid '(IMO number):' in Other Information",
                    line=first_line,
                )
            )
        for key in ("flag of ship", "previous flags"):
            if kv.get(key):
                countries.append(kv[key])
    else:
        numbers = company_imos_in(info)
        ids += imo_identifiers(numbers, company=True)
        if schema == ORGANIZATION:
            linked = linked_ship_imos(info, numbers)
        if numbers and schema == ORGANIZATION:
            anomalies.append(
                Anomaly(
                    list_id=UK_OFSI,
                    entry_id=gid,
                    field="Other Information",
                    code="company-imo",
                    message=f"company IMO {', '.join(numbers)} in free text; never a ship IMO",
                    line=first_line,
                )
            )
    addresses: list[str] = []
    birth: list[str] = []
    for _i, r in rows:
        addr = ", ".join(
            r[k]
            for k in (*(f"Address {n}" for n in range(1, 7)), "Post/Zip Code", "Country")
            if r[k]
        )
        if addr:
            addresses.append(addr)
        for k in ("Country", "Nationality"):
            if r[k]:
                countries.append(r[k])
        if r["Passport Number"]:
            ids.append(Identifier(kind="passport", value=r["Passport Number"]))
        if r["National Identification Number"]:
            ids.append(Identifier(kind="national_id", value=r["National Identification Number"]))
        if r["DOB"]:
            birth.append(_iso(r["DOB"]))
    return Entity(
        list_id=UK_OFSI,
        entry_id=gid,
        schema=schema,
        names=names,
        identifiers=tuple(dict.fromkeys(ids)),
        addresses=tuple(dict.fromkeys(addresses)),
        countries=tuple(dict.fromkeys(clean(c) for c in countries)),
        programmes=(first["Regime"],) if first["Regime"] else (),
        listed_on=(_iso(first["Listed On"]),) if first["Listed On"] else (),
        birth_dates=tuple(dict.fromkeys(birth)),
        linked=tuple(linked),
        remarks=info,
    )


def _vessel(e: Entity, row: dict[str, str]) -> VesselRecord:
    kv = {
        k.strip().lower(): v.strip().rstrip(".") for k, v in _KV.findall(row["Other Information"])
    }
    flags = tuple(f for f in (flag_iso3(kv.get("flag of ship", "")),) if f)
    former = tuple(f for f in (flag_iso3(kv.get("previous flags", "")),) if f)
    imo = e.ids("imo")
    return VesselRecord(
        list_id=UK_OFSI,
        entry_id=e.entry_id,
        name=e.name,
        aliases=tuple(n.text for n in e.names[1:] if n.kind != "former"),
        former_names=tuple(n.text for n in e.names[1:] if n.kind == "former"),
        imo=imo[0] if imo else None,
        flags=flags,
        former_flags=former,
        vessel_type=kv.get("type of ship") or None,
        tonnage=kv.get("tonnage of ship") or None,
        owner=kv.get("current owners") or None,
        programmes=e.programmes,
        linked_to=(kv["current owners"],) if kv.get("current owners") else (),
        listed_on=e.listed_on,
        remarks=row["Other Information"],
    )
