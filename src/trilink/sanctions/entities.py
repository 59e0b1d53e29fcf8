"""One entity model for every list: persons, organisations and vessels.

Every list parser produces ``Entity`` records (``SanctionsList.entities``); the lists read
before this model existed (OFAC ``sdn.csv``, the UN 1718 vessel HTML) are converted from
their vessel/party records by ``entities_of``. An entity keeps every name the list gives,
in every script, with its kind (primary, alias, former, weak, original script) and the script
it is written in; identifiers are typed and validated (a ship IMO passes the check digit; a
company IMO is recorded as ``imo_company`` from its context and is never compared with a ship
IMO, because the public company-number scheme has no check digit that the real numbers
satisfy, and OMM's 1790183 passes the *ship* check digit by coincidence).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from trilink.sanctions.identifiers import check_imo, check_mmsi, flag_iso3
from trilink.sanctions.records import (
    Entity,
    EntityName,
    Identifier,
    PartyRecord,
    SanctionsList,
    VesselRecord,
)

PERSON = "Person"
ORGANIZATION = "Organization"
VESSEL = "Vessel"
SCHEMAS = (PERSON, ORGANIZATION, VESSEL)
NAME_KINDS = ("primary", "alias", "former", "weak", "original")
# Identifier kinds. ``imo`` is a ship number that passed the check digit; ``imo_company``
# an IMO company/registered-owner number (context says so); ``imo_invalid`` kept, never used.
ID_KINDS = (
    "imo",
    "imo_company",
    "imo_invalid",
    "mmsi",
    "call_sign",
    "registration",
    "passport",
    "national_id",
    "swift_bic",
    "list_ref",
)
MAX_NAME = 1000  # a longer "name" is free text that slipped into a name column


_SCRIPT_OF = (
    ("HANGUL", "Hang"),
    ("HIRAGANA", "Kana"),
    ("KATAKANA", "Kana"),
    ("CJK", "Hani"),
    ("LATIN", "Latn"),
    ("CYRILLIC", "Cyrl"),
    ("ARABIC", "Arab"),
    ("GREEK", "Grek"),
    ("HEBREW", "Hebr"),
    ("THAI", "Thai"),
    ("DEVANAGARI", "Deva"),
)


def script_of(text: str) -> str:
    """The ISO 15924 script of a name: the scripts of its letters (kana + kanji = ``Jpan``)."""
    if text.isascii():  # most names: no lookup of every character's Unicode name
        return "Latn" if any(ch.isalpha() for ch in text) else "Zyyy"
    found: set[str] = set()
    for ch in text:
        if not ch.isalpha():
            continue
        uname = unicodedata.name(ch, "")
        for prefix, code in _SCRIPT_OF:
            if uname.startswith(prefix) or (prefix == "CJK" and "IDEOGRAPH" in uname):
                found.add(code)
                break
        else:
            if "HALFWIDTH KATAKANA" in uname:
                found.add("Kana")
            else:
                found.add("Zyyy")
    if not found:
        return "Zyyy"
    if found <= {"Kana", "Hani"} and len(found) == 2:
        return "Jpan"
    if len(found) == 1:
        return found.pop()
    if "Latn" in found and len(found) == 2:
        return (found - {"Latn"}).pop()
    return "Zyyy"


def clean(text: str | None) -> str:
    """Whitespace runs (ideographic spaces too) as one space, none at the ends."""
    return " ".join((text or "").split())


def make_names(
    primary: str, others: Iterable[tuple[str, str]] = (), *, lang: str | None = None
) -> tuple[EntityName, ...]:
    """Names with their kinds, cleaned, deduplicated (first kind wins), scripts detected."""
    out: list[EntityName] = []
    seen: set[str] = set()
    for text, kind in [(primary, "primary"), *others]:
        t = clean(text)[:MAX_NAME]
        if not t or t.casefold() in seen:
            continue
        seen.add(t.casefold())
        script = script_of(t)
        out.append(
            EntityName(text=t, kind=kind, script=script, lang=lang if script != "Latn" else None)
        )
    return tuple(out)


def imo_identifiers(numbers: Iterable[str], *, company: bool) -> list[Identifier]:
    """IMO numbers: ship numbers by check digit; numbers on organisations are company IMOs."""
    out: list[Identifier] = []
    for raw in numbers:
        digits = re.sub(r"\D", "", raw)
        if company:
            note = "passes the ship check digit by coincidence" if check_imo(digits).valid else ""
            if len(digits) == 7:
                out.append(Identifier(kind="imo_company", value=digits, note=note))
            continue
        chk = check_imo(raw)
        if chk.valid and chk.value:
            out.append(Identifier(kind="imo", value=chk.value))
        elif raw.strip():
            out.append(Identifier(kind="imo_invalid", value=raw.strip(), note=chk.problem or ""))
    return out


_SEVEN = re.compile(r"(?<![\d+\-./])(\d{7})(?![\d\-./])")
_COMPANY_IMO = re.compile(r"\bIMO\)?(?:\s+(?:number|No\.?))?\s*:?\s*(\d{7})", re.I)


def company_imos_in(text: str) -> list[str]:
    """Company IMO numbers written after "IMO", "IMO number:", "(IMO) Number:" in free text."""
    return list(dict.fromkeys(_COMPANY_IMO.findall(text)))


def linked_ship_imos(text: str, exclude: Iterable[str] = ()) -> list[str]:
    """Ship IMO numbers an organisation's free text names (its vessels), as ``imo:NNNNNNN``.

    Only in a text that speaks of vessels; only 7-digit numbers that pass the ship check digit
    and are not the organisation's own company IMO (``exclude``).
    """
    low = text.lower()
    if "vessel" not in low and "ship" not in low:
        return []
    skip = set(exclude)
    out = []
    for num in _SEVEN.findall(text):
        if num not in skip and check_imo(num).valid:
            out.append(f"imo:{num}")
    return list(dict.fromkeys(out))


def mmsi_identifiers(numbers: Iterable[str]) -> list[Identifier]:
    out = []
    for raw in numbers:
        chk = check_mmsi(raw)
        if chk.valid and chk.value:
            out.append(Identifier(kind="mmsi", value=chk.value))
    return out


def vessel_entity(v: VesselRecord) -> Entity:
    names = make_names(
        v.name, [(a, "alias") for a in v.aliases] + [(f, "former") for f in v.former_names]
    )
    ids = []
    if v.imo:
        ids.append(Identifier(kind="imo", value=v.imo))
    elif v.imo_raw:
        ids.append(Identifier(kind="imo_invalid", value=v.imo_raw))
    ids += [Identifier(kind="mmsi", value=m) for m in v.mmsis]
    ids += [Identifier(kind="call_sign", value=c) for c in v.call_signs]
    ids += [Identifier(kind="registration", value=r) for r in v.registration_ids]
    return Entity(
        list_id=v.list_id,
        entry_id=v.entry_id,
        schema=VESSEL,
        names=names,
        identifiers=tuple(ids),
        countries=v.flags,
        programmes=v.programmes,
        listed_on=v.listed_on,
        measures=v.measures,
        linked=v.linked_to + v.linked_ids,
        remarks=v.remarks,
    )


def party_entity(p: PartyRecord) -> Entity:
    schema = PERSON if p.party_type == "individual" else ORGANIZATION
    ids = [Identifier(kind="imo_company", value=n) for n in p.company_imos]
    return Entity(
        list_id=p.list_id,
        entry_id=p.entry_id,
        schema=schema,
        names=make_names(p.name, [(a, "alias") for a in p.aliases]),
        identifiers=tuple(ids),
        programmes=p.programmes,
        listed_on=p.listed_on,
        linked=p.vessels,
        remarks=p.remarks,
    )


def entities_of(sl: SanctionsList) -> tuple[Entity, ...]:
    """The list's entities: as parsed, or converted from its vessel and party records."""
    if sl.entities:
        return sl.entities
    out = [vessel_entity(v) for v in sl.vessels]
    out += [party_entity(p) for p in sl.parties if p.party_type in ("individual", "entity")]
    return tuple(out)


def vessel_record(e: Entity) -> VesselRecord:
    """The vessel screener's record of a listed vessel entity (flags as ISO alpha-3 where
    the list's country is a known state)."""
    imo = e.ids("imo")
    invalid = e.ids("imo_invalid")
    flags = tuple(dict.fromkeys(flag_iso3(c) or c for c in e.countries))
    return VesselRecord(
        list_id=e.list_id,
        entry_id=e.entry_id,
        name=e.name,
        aliases=tuple(n.text for n in e.names[1:] if n.kind != "former"),
        former_names=tuple(n.text for n in e.names[1:] if n.kind == "former"),
        imo=imo[0] if imo else None,
        imo_raw=invalid[0] if invalid else None,
        registration_ids=tuple(e.ids("registration")),
        mmsis=tuple(e.ids("mmsi")),
        call_signs=tuple(e.ids("call_sign")),
        flags=flags,
        programmes=e.programmes,
        measures=e.measures,
        listed_on=e.listed_on,
        remarks=e.remarks,
    )
