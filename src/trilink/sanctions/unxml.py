"""Parser for the UN Security Council Consolidated List (XML), first stage of the flow.

The consolidated list holds individuals and entities, not vessels; the UN publishes vessels
only in the 1718 list. Its DPRK entities are the owners, operators and managers of
designated vessels, and their free text names those vessels. ``link_parties_to_vessels``
finds those links by whole-name mention (so "KUM UN SAN" never links to "KUM UN SAN 3").
Some entities carry a company IMO number: a 7-digit number that is not a ship IMO (it fails
the ship check digit) and is never used to match a vessel.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

import msgspec

from trilink.sanctions.entities import ORGANIZATION, PERSON, clean, linked_ship_imos, make_names
from trilink.sanctions.errors import ListFormatError
from trilink.sanctions.identifiers import check_imo
from trilink.sanctions.records import (
    UN_CONSOLIDATED,
    Anomaly,
    Entity,
    Identifier,
    PartyRecord,
    SanctionsList,
    VesselRecord,
)

_COMPANY_IMO_RE = re.compile(r"IMO\)?(?:\s+(?:Number|number|No\.?))?\s*:?\s*(\d{7})")


def _text(el: ET.Element | None) -> str:
    return " ".join((el.text or "").split()) if el is not None else ""


def parse_un_consolidated(data: bytes, *, source_name: str = "consolidated.xml") -> SanctionsList:
    """Parse the consolidated list XML. Raises ``ListFormatError`` if it is damaged."""
    sha = hashlib.sha256(data).hexdigest()
    if b"<!DOCTYPE" in data[:2048] or b"<!ENTITY" in data:
        raise ListFormatError(
            "the XML declares a DOCTYPE/ENTITY; the UN list never does, refusing it",
            path=source_name,
        )
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        line = err.position[0] if err.position else None
        raise ListFormatError(
            f"XML does not parse ({err}): the file is corrupted or truncated",
            path=source_name,
            line=line,
        ) from None
    if root.tag != "CONSOLIDATED_LIST":
        raise ListFormatError(
            f"root element is <{root.tag}>, expected <CONSOLIDATED_LIST>", path=source_name
        )
    generated = root.get("dateGenerated") or ""
    published = generated[:10] if re.match(r"^\d{4}-\d{2}-\d{2}", generated) else None
    anomalies: list[Anomaly] = []
    parties: list[PartyRecord] = []
    entities: list[Entity] = []
    for kind, tag in (("individual", "INDIVIDUAL"), ("entity", "ENTITY")):
        for el in root.iter(tag):
            raw_ref = el.findtext("REFERENCE_NUMBER") or ""
            ref = _text(el.find("REFERENCE_NUMBER")) or _text(el.find("DATAID"))
            if raw_ref and raw_ref != raw_ref.strip():
                anomalies.append(
                    Anomaly(
                        list_id=UN_CONSOLIDATED,
                        entry_id=ref,
                        field="REFERENCE_NUMBER",
                        code="ref-whitespace",
                        message=f"reference number {raw_ref!r} has stray spaces; stripped",
                    )
                )
            name = " ".join(
                t
                for t in (
                    _text(el.find(f))
                    for f in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
                )
                if t
            )
            if not ref or not name:
                raise ListFormatError(
                    f"a <{tag}> has no reference number or no name: the file is damaged",
                    path=source_name,
                )
            aliases = [
                _text(a.find("ALIAS_NAME"))
                for a in el.iter(f"{tag}_ALIAS")
                if _text(a.find("ALIAS_NAME"))
            ]
            original = _text(el.find("NAME_ORIGINAL_SCRIPT"))
            if original:
                aliases.append(original)
            comments = _text(el.find("COMMENTS1"))
            company_imos = []
            for num in _COMPANY_IMO_RE.findall(comments):
                company_imos.append(num)
                if check_imo(num).valid:
                    msg = f"company IMO {num} also passes the ship check digit; not a ship"
                else:
                    msg = f"company IMO {num} (fails the ship IMO check digit, as expected)"
                anomalies.append(
                    Anomaly(
                        list_id=UN_CONSOLIDATED,
                        entry_id=ref,
                        field="imo",
                        code="company-imo",
                        message=msg + "; never used to match a vessel",
                    )
                )
            entities.append(_entity(el, tag, ref, name, company_imos, comments))
            parties.append(
                PartyRecord(
                    list_id=UN_CONSOLIDATED,
                    entry_id=ref,
                    party_type=kind,
                    name=name,
                    aliases=tuple(dict.fromkeys(aliases)),
                    programmes=(_text(el.find("UN_LIST_TYPE")),),
                    company_imos=tuple(company_imos),
                    listed_on=(_text(el.find("LISTED_ON")),)
                    if el.find("LISTED_ON") is not None
                    else (),
                    remarks=comments,
                )
            )
    if not parties:
        raise ListFormatError("the list holds no individuals or entities", path=source_name)
    return SanctionsList(
        list_id=UN_CONSOLIDATED,
        title="UN Security Council Consolidated List",
        published=published,
        source_name=source_name,
        sha256=sha,
        vessels=(),
        parties=tuple(parties),
        anomalies=tuple(anomalies),
        total_entries=len(parties),
        entities=tuple(entities),
    )


def _entity(
    el: ET.Element, tag: str, ref: str, name: str, company_imos: list[str], comments: str
) -> Entity:
    others: list[tuple[str, str]] = []
    for a in el.iter(f"{tag}_ALIAS"):
        alias = _text(a.find("ALIAS_NAME"))
        quality = _text(a.find("QUALITY")).lower()
        if alias:
            kind = "weak" if quality == "low" else "former" if quality == "f.k.a." else "alias"
            others.append((alias, kind))
    original = _text(el.find("NAME_ORIGINAL_SCRIPT"))
    if original:
        others.append((original, "original"))
    addresses = []
    countries: list[str] = []
    for a in el.iter(f"{tag}_ADDRESS"):
        parts = [
            _text(a.find(f)) for f in ("STREET", "CITY", "STATE_PROVINCE", "ZIP_CODE", "COUNTRY")
        ]
        text = ", ".join(p for p in parts if p)
        if text:
            addresses.append(text)
        country = _text(a.find("COUNTRY"))
        if country:
            countries.append(country)
    nat = el.find("NATIONALITY")
    if nat is not None:
        countries += [_text(v) for v in nat.iter("VALUE") if _text(v)]
    ids = [Identifier(kind="list_ref", value=ref)]
    ids += [Identifier(kind="imo_company", value=n) for n in company_imos]
    for d in el.iter("INDIVIDUAL_DOCUMENT"):
        number = _text(d.find("NUMBER"))
        if not number:
            continue
        dtype = _text(d.find("TYPE_OF_DOCUMENT")).lower()
        kind = (
            "passport"
            if ("passport" in dtype or "pasaporte" in dtype or "passeport" in dtype)
            else "national_id"
        )
        ids.append(Identifier(kind=kind, value=number, note=_text(d.find("ISSUING_COUNTRY"))))
    dobs = []
    for d in el.iter("INDIVIDUAL_DATE_OF_BIRTH"):
        dob = _text(d.find("DATE")) or _text(d.find("YEAR"))
        if not dob and _text(d.find("FROM_YEAR")):
            dob = f"{_text(d.find('FROM_YEAR'))}..{_text(d.find('TO_YEAR'))}"
        if dob:
            dobs.append(dob)
    listed = _text(el.find("LISTED_ON"))
    return Entity(
        list_id=UN_CONSOLIDATED,
        entry_id=ref,
        schema=PERSON if tag == "INDIVIDUAL" else ORGANIZATION,
        names=make_names(name, others),
        identifiers=tuple(ids),
        addresses=tuple(dict.fromkeys(addresses)),
        countries=tuple(dict.fromkeys(clean(c) for c in countries)),
        programmes=(_text(el.find("UN_LIST_TYPE")),),
        listed_on=(listed,) if listed else (),
        birth_dates=tuple(dobs),
        linked=tuple(linked_ship_imos(comments, company_imos)) if tag == "ENTITY" else (),
        remarks=comments,
    )


def _mention_re(name: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in name.split()]
    # Whole name, any spacing; never followed by a number (KUM UN SAN vs KUM UN SAN 3).
    return re.compile(r"(?<![A-Z0-9])" + r"\s+".join(words) + r"(?![A-Z0-9]|\s+\d)", re.I)


def link_parties_to_vessels(
    parties: Iterable[PartyRecord], vessels: Iterable[VesselRecord]
) -> list[PartyRecord]:
    """Return the parties with ``vessels`` filled by whole-name mentions in their text."""
    names: list[tuple[str, str]] = []
    for v in vessels:
        for name, _kind in v.all_names():
            if len(name.replace(" ", "")) >= 4:
                names.append((" ".join(name.upper().split()), v.uid))
    out = []
    for p in parties:
        if "DPRK" not in p.programmes or p.party_type != "entity":
            out.append(p)
            continue
        text = p.remarks
        upper = " ".join(text.upper().split())
        # Substring test first; the exact whole-name regex only for the few that pass.
        found = [uid for name, uid in names if name in upper and _mention_re(name).search(text)]
        out.append(
            msgspec.structs.replace(p, vessels=tuple(dict.fromkeys(p.vessels + tuple(found))))
        )
    return out
