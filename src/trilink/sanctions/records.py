"""The record types every list parser produces and the screener consumes.

Parsers (`ofac`, `un1718`, `unxml`) turn published files into a `SanctionsList`; the
screener (`screen`) indexes the vessels of one or more lists. Records are immutable msgspec
structs so that a loaded list set can be cached and diffed cheaply.
"""

from __future__ import annotations

import msgspec

OFAC_SDN = "OFAC-SDN"
OFAC_NON_SDN = "OFAC-NON-SDN"
UK_OFSI = "UK-OFSI"
JP_MOF = "JP-MOF"
JP_METI = "JP-METI-EUL"
EU_DPRK = "EU-DPRK"
UN_1718 = "UN-1718"
UN_CONSOLIDATED = "UN-CONSOLIDATED"
LIST_IDS = (OFAC_SDN, UN_1718, UN_CONSOLIDATED, OFAC_NON_SDN, UK_OFSI, JP_MOF, JP_METI, EU_DPRK)


class Anomaly(msgspec.Struct, frozen=True, kw_only=True):
    """A real-world quirk found while parsing: kept, repaired if possible, and reported."""

    list_id: str
    entry_id: str
    field: str
    code: str  # short machine code, e.g. "imo-prefix-missing"
    message: str
    line: int | None = None


class VesselRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One designated vessel as one list publishes it.

    ``imo`` holds only a check-digit-valid IMO number; an invalid one stays in ``imo_raw``
    and is never used for exact matching.
    """

    list_id: str
    entry_id: str
    name: str
    aliases: tuple[str, ...] = ()
    former_names: tuple[str, ...] = ()
    imo: str | None = None
    imo_raw: str | None = None
    registration_ids: tuple[str, ...] = ()  # national registry numbers that are not IMOs
    mmsis: tuple[str, ...] = ()
    call_signs: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()  # ISO 3166-1 alpha-3 where known, else the source text
    former_flags: tuple[str, ...] = ()
    vessel_type: str | None = None
    tonnage: str | None = None
    grt: str | None = None
    owner: str | None = None
    programmes: tuple[str, ...] = ()
    measures: tuple[str, ...] = ()  # e.g. asset_freeze, port_entry_ban (UN 1718)
    linked_to: tuple[str, ...] = ()  # names of linked entities/individuals
    linked_ids: tuple[str, ...] = ()  # entry ids of linked parties, where the list gives them
    listed_on: tuple[str, ...] = ()
    remarks: str = ""

    @property
    def uid(self) -> str:
        return f"{self.list_id}:{self.entry_id}"

    def all_names(self) -> list[tuple[str, str]]:
        """Every name with its kind: ``primary``, ``alias`` or ``former``."""
        out = [(self.name, "primary")]
        out += [(a, "alias") for a in self.aliases]
        out += [(f, "former") for f in self.former_names]
        return out


class PartyRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An entity or individual entry; kept when it owns/operates or is linked to vessels."""

    list_id: str
    entry_id: str
    party_type: str  # "entity", "individual", "aircraft", ...
    name: str
    aliases: tuple[str, ...] = ()
    programmes: tuple[str, ...] = ()
    company_imos: tuple[str, ...] = ()  # IMO company numbers: not ship IMOs
    vessels: tuple[str, ...] = ()  # uids or names of vessels the entry is linked to
    listed_on: tuple[str, ...] = ()
    remarks: str = ""

    @property
    def uid(self) -> str:
        return f"{self.list_id}:{self.entry_id}"


class EntityName(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    kind: str = "primary"
    script: str = "Latn"  # ISO 15924: Latn, Kana, Hani, Jpan, Hang, Arab, Cyrl, Zyyy ...
    lang: str | None = None


class Identifier(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    value: str
    note: str = ""


class Entity(msgspec.Struct, frozen=True, kw_only=True):
    """One listed person, organisation or vessel, as one list publishes it."""

    list_id: str
    entry_id: str
    schema: str  # Person, Organization or Vessel
    names: tuple[EntityName, ...]
    identifiers: tuple[Identifier, ...] = ()
    addresses: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()  # as the list writes them (country names or codes)
    programmes: tuple[str, ...] = ()
    listed_on: tuple[str, ...] = ()  # ISO dates where the list gives them
    birth_dates: tuple[str, ...] = ()
    measures: tuple[str, ...] = ()
    linked: tuple[str, ...] = ()  # names or entry ids of linked parties / vessels
    remarks: str = ""

    @property
    def uid(self) -> str:
        return f"{self.list_id}:{self.entry_id}"

    @property
    def name(self) -> str:
        return self.names[0].text if self.names else ""

    def ids(self, kind: str) -> list[str]:
        return [i.value for i in self.identifiers if i.kind == kind]


class SanctionsList(msgspec.Struct, frozen=True, kw_only=True):
    """One parsed list file."""

    list_id: str
    title: str
    published: str | None  # ISO date (YYYY-MM-DD) the authority issued it, when known
    source_name: str  # file name it was read from
    sha256: str
    vessels: tuple[VesselRecord, ...]
    parties: tuple[PartyRecord, ...] = ()
    anomalies: tuple[Anomaly, ...] = ()
    total_entries: int = 0  # all entries in the file, vessels or not
    # Every entry as one entity model (persons, organisations, vessels); empty for lists
    # parsed before the model existed: see ``trilink.sanctions.entities.entities_of``.
    entities: tuple[Entity, ...] = ()
    # The publisher's own count of entries, where the file states one (checked on parsing).
    publisher_total: int | None = None
