"""Parser for the EU DPRK regulation 2017/1509 annexes as transcribed by OpenSanctions (CSV).

The real EU consolidated list (FSF XML, about 24 MB) was not available; this CSV is the
EUR-Lex consolidated text of Regulation 2017/1509, annexes XIII–XVI, one row per listing with
46 columns (``celex, recordId, programKey, annex, measure, startDate, …, schema, name, alias,
…, registrationNumber, …, imoNumber, mmsi, flag, address, …``). ``recordId`` restarts per
annex, so an entry is keyed ``annex/recordId``; a ship listed under two annexes (asset
freeze XIV.A and transport restriction XIV.B) is two entries with one IMO. Dates are printed
``d.m.yyyy``; ``imoNumber`` may be ``Does not exist``; ``registrationNumber`` on an
organisation is its IMO company number. A header lacking a column the parser reads, or an
annex whose recordIds repeat, is refused; a gap in an annex's numbering (delisted
entries keep their number) is reported.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import defaultdict

from trilink.sanctions.entities import (
    ORGANIZATION,
    PERSON,
    VESSEL,
    clean,
    imo_identifiers,
    linked_ship_imos,
    make_names,
    mmsi_identifiers,
    vessel_record,
)
from trilink.sanctions.errors import ListFormatError
from trilink.sanctions.records import (
    EU_DPRK,
    Anomaly,
    Entity,
    Identifier,
    SanctionsList,
    VesselRecord,
)

REQUIRED = (
    "celex", "recordId", "programKey", "annex", "measure", "startDate", "reason", "schema",
    "name", "alias", "weakAlias", "previousName", "nationality", "birthDate", "passportNumber",
    "registrationNumber", "idNumber", "swiftBic", "imoNumber", "mmsi", "flag", "address",
    "notes",
)  # fmt: skip
_SCHEMA = {"Person": PERSON, "LegalEntity": ORGANIZATION, "Organization": ORGANIZATION,
           "Company": ORGANIZATION, "Vessel": VESSEL}  # fmt: skip
_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_PAREN = re.compile(r"\(([^()]+)\)")
MAX_BYTES = 64 * 1024 * 1024


def _iso(d: str) -> str:
    m = _DATE.match(d.strip())
    if not m:
        return d.strip()
    dd, mm, yyyy = (int(x) for x in m.groups())
    return f"{yyyy:04d}-{mm:02d}-{dd:02d}"


def _split(cell: str) -> list[str]:
    return [clean(x) for x in re.split(r";", cell) if clean(x)]


def parse_eu_dprk(data: bytes, *, source_name: str = "32017R1509.csv") -> SanctionsList:
    if len(data) > MAX_BYTES:
        raise ListFormatError("the file is over 64 MB; refused", path=source_name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ListFormatError(
            f"not UTF-8 (byte {err.start}); save the CSV as UTF-8", path=source_name
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    lost = [c for c in REQUIRED if c not in header]
    if lost:
        raise ListFormatError(
            f"the header lacks the column(s) {', '.join(lost)}: not the EU 2017/1509"
            " transcription, or its format changed",
            path=source_name,
            line=1,
        )
    entities: list[Entity] = []
    vessels: list[VesselRecord] = []
    anomalies: list[Anomaly] = []
    ids_per_annex: dict[str, list[int]] = defaultdict(list)
    published = None
    try:
        for row in reader:
            line = reader.line_num
            if None in row or any(v is None for v in row.values()):
                raise ListFormatError(
                    f"row has {len(row)} fields, the header {len(header)}",
                    path=source_name,
                    line=line,
                )
            e = _entity(row, line, anomalies, source_name)
            rid = row["recordId"].strip()
            if rid.isdigit():
                ids_per_annex[row["annex"].strip()].append(int(rid))
            entities.append(e)
            if e.schema == VESSEL:
                vessels.append(vessel_record(e))
            m = re.search(r"-(\d{4})(\d{2})(\d{2})$", row["celex"].strip())
            if m:
                published = f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    except csv.Error as err:
        raise ListFormatError(
            f"CSV structure is broken ({err})", path=source_name, line=reader.line_num
        ) from None
    if not entities:
        raise ListFormatError("the file holds no listings", path=source_name)
    for annex, rids in sorted(ids_per_annex.items()):
        if len(rids) != len(set(rids)):
            raise ListFormatError(
                f"annex {annex}: a recordId appears twice: rows were duplicated",
                path=source_name,
                field="recordId",
            )
        gaps = sorted(set(range(1, max(rids) + 1)) - set(rids))
        if gaps:
            # The act keeps the numbers of delisted entries (XV.A 2 and 3 in 2025-12-17).
            anomalies.append(
                Anomaly(
                    list_id=EU_DPRK,
                    entry_id=annex,
                    field="recordId",
                    code="numbering-gap",
                    message=f"annex {annex} has no entry number {gaps} (delisted, or lost)",
                )
            )
    if published is None:
        m = re.search(r"(20\d{2})-(\d{2})-(\d{2})", source_name)
        published = f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else None
    return SanctionsList(
        list_id=EU_DPRK,
        title="EU Council Regulation 2017/1509 (DPRK), annexes XIII-XVI",
        published=published,
        source_name=source_name,
        sha256=hashlib.sha256(data).hexdigest(),
        vessels=tuple(vessels),
        anomalies=tuple(anomalies),
        total_entries=len(entities),
        entities=tuple(entities),
    )


def _entity(row: dict[str, str], line: int, anomalies: list[Anomaly], source: str) -> Entity:
    schema = _SCHEMA.get(row["schema"].strip())
    if schema is None:
        raise ListFormatError(
            f"unknown schema {row['schema']!r}", path=source, line=line, field="schema"
        )
    annex = row["annex"].strip()
    entry = f"{annex}/{row['recordId'].strip() or line}"
    name = row["name"]
    inner: list[tuple[str, str]] = []
    if schema == VESSEL:
        # "Chong Bong (Greenlight) (Blue Nouvelle)": the other names of the ship.
        inner = [(x, "alias") for x in _PAREN.findall(name)]
        name = _PAREN.sub(" ", name)
    names = make_names(
        name,
        inner
        + [(a, "alias") for a in _split(row["alias"])]
        + [(a, "weak") for a in _split(row["weakAlias"])]
        + [(a, "former") for a in _split(row["previousName"])],
    )
    if not names:
        raise ListFormatError("a listing has no name", path=source, line=line, field="name")
    ids: list[Identifier] = []
    imo = row["imoNumber"].strip()
    if schema == VESSEL and imo:
        ids += imo_identifiers([imo], company=False)
        if ids and ids[-1].kind == "imo_invalid":
            anomalies.append(
                Anomaly(
                    list_id=EU_DPRK,
                    entry_id=entry,
                    field="imoNumber",
                    code="imo-invalid",
                    message=f"IMO {imo!r} is not a valid ship IMO; kept, never matched",
                    line=line,
                )
            )
    reg = row["registrationNumber"].strip()
    if reg:
        if schema == ORGANIZATION and re.fullmatch(r"\d{7}", reg):
            ids += imo_identifiers([reg], company=True)
        else:
            ids.append(Identifier(kind="registration", value=reg))
    if schema == VESSEL:
        ids += mmsi_identifiers(_split(row["mmsi"]))
    ids += [Identifier(kind="passport", value=p) for p in _split(row["passportNumber"])]
    ids += [Identifier(kind="national_id", value=p) for p in _split(row["idNumber"])]
    ids += [Identifier(kind="swift_bic", value=p) for p in _split(row["swiftBic"])]
    notes = clean(" ".join(x for x in (row["reason"], row["notes"]) if x))
    return Entity(
        list_id=EU_DPRK,
        entry_id=entry,
        schema=schema,
        names=names,
        identifiers=tuple(ids),
        addresses=tuple(_split(row["address"])),
        countries=tuple(_split(row["nationality"]) + _split(row["flag"])),
        programmes=(f"{row['programKey'].strip()} annex {annex}",),
        listed_on=(_iso(row["startDate"]),) if row["startDate"].strip() else (),
        birth_dates=tuple(_iso(b) for b in _split(row["birthDate"])),
        measures=(clean(row["measure"]),) if row["measure"].strip() else (),
        linked=tuple(linked_ship_imos(notes, [reg])) if schema == ORGANIZATION else (),
        remarks=notes,
    )
