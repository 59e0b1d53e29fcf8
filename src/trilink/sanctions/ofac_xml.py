"""Parser for OFAC's XML releases (``sdn.xml`` schema): the SDN list and the Consolidated
(non-SDN) list, which share it.

Root ``sdnList`` (any namespace), ``publshInformation`` [sic] with ``Publish_Date``
(mm/dd/yyyy) and ``Record_Count`` — the publisher's own total, which the parsed entries must
equal, else the file is refused. Each ``sdnEntry`` has ``uid``, ``firstName``/``lastName``,
``sdnType`` (Individual, Entity, Vessel, Aircraft), programmes, aliases (``aka`` with
``type`` a.k.a./f.k.a. and ``category`` strong/weak), addresses, ids (``idType``/``idNumber``:
IMO, MMSI, Vessel Registration Identification, SWIFT/BIC, passports …), dates of birth,
nationalities and, for vessels, ``vesselInfo`` (call sign, type, flag, owner, tonnage).
Which list a file is comes from its name (``consolidated``/``cons``/``non_sdn`` = non-SDN),
or from ``list_id``.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET

import msgspec

from trilink.sanctions.entities import (
    ORGANIZATION,
    PERSON,
    VESSEL,
    clean,
    company_imos_in,
    imo_identifiers,
    make_names,
    mmsi_identifiers,
    vessel_record,
)
from trilink.sanctions.errors import ListFormatError
from trilink.sanctions.identifiers import flag_iso3
from trilink.sanctions.records import (
    OFAC_NON_SDN,
    OFAC_SDN,
    Anomaly,
    Entity,
    Identifier,
    SanctionsList,
    VesselRecord,
)

MAX_BYTES = 128 * 1024 * 1024
_SCHEMA = {"individual": PERSON, "entity": ORGANIZATION, "vessel": VESSEL}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _strip_ns(root: ET.Element) -> None:
    for el in root.iter():
        el.tag = _local(el.tag)


def _t(el: ET.Element | None, tag: str) -> str:
    return clean(el.findtext(tag)) if el is not None else ""


def list_id_for(source_name: str) -> str:
    low = source_name.lower()
    return OFAC_NON_SDN if re.search(r"cons|non.?sdn", low) else OFAC_SDN


def parse_ofac_xml(
    data: bytes, *, source_name: str = "sdn.xml", list_id: str | None = None
) -> SanctionsList:
    if len(data) > MAX_BYTES:
        raise ListFormatError("the file is over 128 MB; refused", path=source_name)
    if b"<!DOCTYPE" in data[:2048] or b"<!ENTITY" in data:
        raise ListFormatError("the XML declares a DOCTYPE/ENTITY; refused", path=source_name)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise ListFormatError(
            f"XML does not parse ({err}): corrupted or truncated",
            path=source_name,
            line=err.position[0] if err.position else None,
        ) from None
    if _local(root.tag) != "sdnList":
        raise ListFormatError(
            f"root element is <{_local(root.tag)}>, expected <sdnList>", path=source_name
        )
    _strip_ns(root)
    lid = list_id or list_id_for(source_name)
    info = root.find("publshInformation")
    published = None
    stated: int | None = None
    if info is not None:
        m = re.match(r"^(\d{2})/(\d{2})/(\d{4})$", _t(info, "Publish_Date"))
        if m:
            published = f"{m.group(3)}-{m.group(1)}-{m.group(2)}"
        count = _t(info, "Record_Count")
        stated = int(count) if count.isdigit() else None
    anomalies: list[Anomaly] = []
    entities: list[Entity] = []
    vessels: list[VesselRecord] = []
    seen: set[str] = set()
    for el in root.iter("sdnEntry"):
        e = _entity(el, lid, source_name)
        if e.entry_id in seen:
            raise ListFormatError(f"entry uid {e.entry_id} appears twice", path=source_name)
        seen.add(e.entry_id)
        entities.append(e)
        if e.schema == VESSEL:
            vessels.append(_vessel(e, el))
    if not entities:
        raise ListFormatError("the list holds no entries", path=source_name)
    if stated is not None and stated != len(entities):
        raise ListFormatError(
            f"Record_Count says {stated} entries, the file holds {len(entities)}: truncated or"
            " altered; download it again",
            path=source_name,
            field="Record_Count",
        )
    title = (
        "OFAC Consolidated (non-SDN) Sanctions List"
        if lid == OFAC_NON_SDN
        else "OFAC Specially Designated Nationals (SDN) list"
    )
    return SanctionsList(
        list_id=lid,
        title=title,
        published=published,
        source_name=source_name,
        sha256=hashlib.sha256(data).hexdigest(),
        vessels=tuple(vessels),
        anomalies=tuple(anomalies),
        total_entries=len(entities),
        entities=tuple(entities),
        publisher_total=stated,
    )


def _name(el: ET.Element) -> str:
    return clean(" ".join(x for x in (_t(el, "firstName"), _t(el, "lastName")) if x))


def _entity(el: ET.Element, lid: str, source: str) -> Entity:
    uid = _t(el, "uid")
    name = _name(el)
    if not uid or not name:
        raise ListFormatError("an <sdnEntry> has no uid or no name", path=source)
    sdn_type = _t(el, "sdnType").lower()
    schema = _SCHEMA.get(sdn_type, ORGANIZATION)
    others: list[tuple[str, str]] = []
    for aka in el.iter("aka"):
        kind = "former" if _t(aka, "type").lower() == "f.k.a." else "alias"
        if _t(aka, "category").lower() == "weak":
            kind = "weak"
        others.append((_name(aka), kind))
    ids: list[Identifier] = []
    countries: list[str] = []
    for i in el.iter("id"):
        itype = _t(i, "idType")
        num = _t(i, "idNumber")
        if not num:
            continue
        low = itype.lower()
        if low.startswith("vessel registration identification") or low == "imo":
            ids += imo_identifiers([num], company=schema != VESSEL)
        elif low == "mmsi":
            ids += mmsi_identifiers([num])
        elif "passport" in low:
            ids.append(Identifier(kind="passport", value=num, note=_t(i, "idCountry")))
        elif low.startswith("swift"):
            ids.append(Identifier(kind="swift_bic", value=num))
        elif "national id" in low or low.startswith("cedula") or "identification number" in low:
            ids.append(Identifier(kind="national_id", value=num, note=_t(i, "idCountry")))
        elif "registration" in low or low.startswith("tax id") or "uscc" in low:
            ids.append(Identifier(kind="registration", value=num, note=itype))
        if low == "nationality of registration":
            countries.append(num)
    addresses = []
    for a in el.iter("address"):
        parts = [
            _t(a, f)
            for f in ("address1", "address2", "address3", "city", "stateOrProvince",
                      "postalCode", "country")
        ]  # fmt: skip
        text = ", ".join(p for p in parts if p)
        if text:
            addresses.append(text)
        if _t(a, "country"):
            countries.append(_t(a, "country"))
    for n in el.iter("nationality"):
        if _t(n, "country"):
            countries.append(_t(n, "country"))
    remarks = _t(el, "remarks")
    if schema == ORGANIZATION:
        ids += imo_identifiers(company_imos_in(remarks), company=True)
    return Entity(
        list_id=lid,
        entry_id=uid,
        schema=schema,
        names=make_names(name, others),
        identifiers=tuple(ids),
        addresses=tuple(dict.fromkeys(addresses)),
        countries=tuple(dict.fromkeys(countries)),
        programmes=tuple(clean(p.text) for p in el.iter("program") if clean(p.text)),
        birth_dates=tuple(_t(d, "dateOfBirth") for d in el.iter("dateOfBirthItem")),
        remarks=remarks,
    )


def _vessel(e: Entity, el: ET.Element) -> VesselRecord:
    """The entity's vessel record, with what only ``vesselInfo`` says: flag (the entity's
    countries are its addresses'), call sign, type and owner."""
    vi = el.find("vesselInfo")
    flag = flag_iso3(_t(vi, "vesselFlag")) if vi is not None else None
    call_sign = _t(vi, "callSign") if vi is not None else ""
    return msgspec.structs.replace(
        vessel_record(e),
        call_signs=(call_sign,) if call_sign else (),
        flags=(flag,) if flag else (),
        vessel_type=_t(vi, "vesselType") or None if vi is not None else None,
        owner=_t(vi, "vesselOwner") or None if vi is not None else None,
    )
