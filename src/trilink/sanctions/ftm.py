"""FollowTheMoney (FtM) import and export of the entity model.

FtM is the entity schema of OpenSanctions/yente, Aleph and nomenklatura: one JSON object per
line, ``{"id", "schema", "properties": {name: [values]}}``. trilink writes each listed
person, organisation and vessel as a ``Person``, ``Organization`` or ``Vessel`` entity plus
one ``Sanction`` entity that says which list, entry, programmes, listing dates and measures
(``recordId`` is the list's own entry id, so a round trip keeps it). Every line also carries
``datasets`` (OpenSanctions' convention): the list id in lower case with ``_``
(``UN-CONSOLIDATED`` -> ``un_consolidated``).

Export builds entities with the ``followthemoney`` library, so every value is one FtM
accepts (countries become ISO codes; a value it refuses is counted, never written half).
Import reads FtM JSON lines (an OpenSanctions dataset export, or trilink's own) without
building library objects per entity (a million entities must load in seconds): schemas
and property names are checked against the library's model, ``Sanction``,
``Passport``/``Identification`` and ``Address`` entities are attached to the entity they
reference, other schemas (ownerships, family links, ...) are counted and reported. A bad
line is reported with its line number and the rest of the file is read.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache, lru_cache
from typing import Any

import msgspec

from trilink.sanctions.entities import (
    ORGANIZATION,
    PERSON,
    VESSEL,
    clean,
    entities_of,
    imo_identifiers,
    make_names,
    vessel_record,
)
from trilink.sanctions.errors import ListFormatError
from trilink.sanctions.records import Anomaly, Entity, Identifier, SanctionsList

MAX_BYTES = 2 * 1024**3  # an OpenSanctions "sanctions" collection is about 1 GB
MAX_LINE = 4 * 1024 * 1024
MAX_VALUES = 1000  # values of one property of one entity
MAX_ID = 512
MAX_REPORTED = 200  # anomalies kept per file; the rest are counted

# Our schemas and theirs. Company, LegalEntity and PublicBody are organisations to a
# screener; Organization is what trilink writes.
SCHEMA_FROM_FTM = {
    "Person": PERSON,
    "Organization": ORGANIZATION,
    "Company": ORGANIZATION,
    "LegalEntity": ORGANIZATION,
    "PublicBody": ORGANIZATION,
    "Vessel": VESSEL,
}
SCHEMA_TO_FTM = {PERSON: "Person", ORGANIZATION: "Organization", VESSEL: "Vessel"}
_NAME_PROPS = (("name", "primary"), ("alias", "alias"), ("previousName", "former"),
               ("weakAlias", "weak"))  # fmt: skip
_NAME_KIND_TO_PROP = {"primary": "name", "alias": "alias", "original": "alias",
                      "former": "previousName", "weak": "weakAlias"}  # fmt: skip
# identifier kind -> FtM property, per schema
_ID_PROP = {
    "mmsi": "mmsi",
    "call_sign": "callSign",
    "registration": "registrationNumber",
    "passport": "passportNumber",
    "national_id": "idNumber",
    "swift_bic": "swiftBic",
}
_ID_FROM_PROP = {prop: kind for kind, prop in _ID_PROP.items()}
_ANY_NAME = ("name", "alias", "previousName", "weakAlias", "firstName", "lastName")
_COUNTRY_PROPS = ("country", "nationality", "citizenship", "flag", "jurisdiction",
                  "mainCountry", "birthCountry")  # fmt: skip
_SLUG = re.compile(r"[^A-Za-z0-9.]+")


def dataset_of(list_id: str) -> str:
    """The FtM dataset name of a list id (``JP-METI-EUL`` -> ``jp_meti_eul``)."""
    return _SLUG.sub("_", list_id).strip("_").lower()


def list_id_of(dataset: str) -> str:
    """The list id of an FtM dataset name (``us_ofac_sdn`` -> ``US-OFAC-SDN``)."""
    return re.sub(r"[^A-Z0-9.]+", "-", dataset.upper()).strip("-")[:64] or "FTM"


@cache
def _model() -> Any:
    from followthemoney import model

    return model


class _Registry:
    """FtM's property types, imported on first use (the library takes 0.5 s to import)."""

    def __getattr__(self, name: str) -> Any:
        from followthemoney.types import registry as types

        return getattr(types, name)


registry = _Registry()


@cache
def _properties_of(schema: str) -> frozenset[str]:
    found = _model().get(schema)
    return frozenset(found.properties) if found is not None else frozenset()


# -- export -------------------------------------------------------------------------------


class ExportCounts(msgspec.Struct, kw_only=True):
    entities: int = 0
    sanctions: int = 0
    dropped: Counter[str] = msgspec.field(default_factory=Counter)  # "Schema.prop" refused


_ID_SLUG = re.compile(r"[^A-Za-z0-9]+")


def _entity_id(list_id: str, entry_id: str, taken: set[str]) -> str:
    """``un-consolidated-KPe.022``-style ids: FtM ids allow letters, digits, '.' and '-'."""
    slug = _ID_SLUG.sub("-", entry_id).strip("-") or "entry"
    base = f"{_ID_SLUG.sub('-', list_id).strip('-').lower()}-{slug}"
    if base not in taken:
        return base
    # two entry ids that read alike once slugged ("a b" and "a-b"): keep both, apart
    return f"{base}-{hashlib.sha1(entry_id.encode()).hexdigest()[:8]}"


def to_ftm(
    lists: Iterable[SanctionsList], counts: ExportCounts | None = None
) -> Iterator[dict[str, Any]]:
    """FtM entity dicts of every entity of ``lists``: the entity, then its ``Sanction``."""
    counts = counts if counts is not None else ExportCounts()
    for sl in lists:
        taken: set[str] = set()
        for entity in entities_of(sl):
            thing, sanction = ftm_entity(entity, sl.title, counts=counts, taken=taken)
            taken.add(thing["id"])
            yield thing
            yield sanction
            counts.entities += 1
            counts.sanctions += 1


def ftm_entity(
    entity: Entity,
    authority: str,
    *,
    counts: ExportCounts | None = None,
    taken: set[str] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The FtM dicts of one listed entity and of its ``Sanction`` (``authority``: the
    list's title). ``taken`` holds the ids already written (a slug collision gets a hash)."""
    model = _model()
    counts = counts if counts is not None else ExportCounts()
    dropped = counts.dropped
    schema = SCHEMA_TO_FTM[entity.schema]
    proxy = model.make_entity(schema)
    proxy.id = _entity_id(entity.list_id, entity.entry_id, taken or set())

    def add(target: Any, prop: str, value: str) -> None:
        if not value:
            return
        cleaned = target.schema.properties[prop].type.clean(value)
        if cleaned is None:  # FtM refuses it (a date like "1950-1953", a region)
            dropped[f"{target.schema.name}.{prop}"] += 1
        else:
            target.add(prop, cleaned, cleaned=True)

    for n, name in enumerate(entity.names):
        # a list may give several primary names (MOF: katakana and English)
        add(proxy, "name" if n == 0 else _NAME_KIND_TO_PROP[name.kind], name.text)
    notes: list[str] = []
    for ident in entity.identifiers:
        if ident.kind in ("imo", "imo_company"):
            add(proxy, "imoNumber", f"IMO{ident.value}")
        elif ident.kind in _ID_PROP:
            add(proxy, _ID_PROP[ident.kind], ident.value)
        elif ident.kind == "imo_invalid":
            notes.append(f"IMO as listed (fails the check digit): {ident.value}")
    for country in entity.countries:
        if registry.country.clean(country) is None:  # "不明", "(a)ドイツ (b)モロッコ"
            notes.append(f"Country (as listed): {country}")
            dropped[f"{schema}.country"] += 1
        else:
            add(proxy, "flag" if schema == "Vessel" else "country", country)
    for address in entity.addresses:
        add(proxy, "address", address)
    if schema == "Person":
        for date in entity.birth_dates:
            # free text ("1970年生 Born 1970", "1965 or 1966") stays text: FtM would keep
            # only the first date of it
            if registry.date.clean(date) != date:
                notes.append(f"Born (as listed): {date}")
                dropped["Person.birthDate"] += 1
            else:
                add(proxy, "birthDate", date)
    for text in (entity.remarks, *notes):
        add(proxy, "notes", text)
    add(proxy, "topics", "sanction")
    sanction = model.make_entity("Sanction")
    sanction.id = f"{proxy.id}-sanction"
    sanction.add("entity", proxy.id, cleaned=True)
    add(sanction, "authority", authority)
    add(sanction, "recordId", entity.entry_id)
    for ident in entity.identifiers:
        if ident.kind == "list_ref":
            add(sanction, "unscId" if ident.note == "UN" else "authorityId", ident.value)
    for programme in entity.programmes:
        add(sanction, "program", programme)
    for date in entity.listed_on:
        add(sanction, "listingDate", date)
    for measure in entity.measures:
        add(sanction, "provisions", measure)
    dataset = dataset_of(entity.list_id)
    thing, listing = proxy.to_dict(), sanction.to_dict()
    thing["datasets"] = listing["datasets"] = [dataset]
    return thing, listing


def write_ftm(lists: Sequence[SanctionsList], out: Any) -> ExportCounts:
    """Write the lists as FtM JSON lines to the binary stream ``out``."""
    counts = ExportCounts()
    encoder = msgspec.json.Encoder()
    buffer = bytearray()
    for doc in to_ftm(lists, counts):
        encoder.encode_into(doc, buffer, len(buffer))
        buffer += b"\n"
        if len(buffer) > 1 << 20:
            out.write(buffer)
            buffer.clear()
    out.write(buffer)
    return counts


# -- import -------------------------------------------------------------------------------


class _Line(msgspec.Struct):
    id: str
    schema: str
    properties: dict[str, list[str]] = {}
    datasets: list[str] = []


def looks_like_ftm(head: bytes) -> bool:
    """Whether a file starts like FtM JSON lines (one object with id, schema, properties)."""
    first = head.lstrip(b"\xef\xbb\xbf \r\n\t").split(b"\n", 1)[0]
    return first[:1] == b"{" and b'"schema"' in first and b'"properties"' in first


def _values(props: dict[str, list[str]], *names: str) -> list[str]:
    out: list[str] = []
    for name in names:
        values = props.get(name)
        if values:  # most properties are absent: called millions of times on a large file
            for value in values[:MAX_VALUES]:
                text = clean(value)
                if text:
                    out.append(text)
    return out


@lru_cache(maxsize=4096)
def _alpha3(code: str) -> str:
    """ISO alpha-3 of an FtM country code (``kp`` -> ``PRK``), as the vessel flags are kept;
    FtM's own codes for places that have none (``xk``, ``ge-ab``) stay as they are."""
    from rigour.territories import get_territory

    territory = get_territory(code.lower())
    alpha3 = getattr(territory, "alpha3", None) if territory is not None else None
    return (alpha3 or code).upper()


def _imo_digits(value: str) -> str:
    return re.sub(r"^\s*IMO\s*", "", value, flags=re.I)


def parse_ftm(
    data: bytes,
    *,
    source_name: str = "entities.ftm.json",
    list_id: str | None = None,
    published: str | None = None,
) -> SanctionsList:
    """A ``SanctionsList`` of the persons, organisations and vessels of FtM JSON lines.

    ``list_id`` names the list; without it the one dataset the entities carry gives it
    (``us_ofac_sdn`` -> ``US-OFAC-SDN``), else the file name. Raises ``ListFormatError`` when
    no entity could be read; a bad line is an anomaly naming its line number.
    """
    if len(data) > MAX_BYTES:
        raise ListFormatError("the FtM file is over 2 GB; split it by dataset", path=source_name)
    decoder = msgspec.json.Decoder(_Line)
    anomalies: list[Anomaly] = []
    problems: Counter[str] = Counter()
    # the persons, organisations and vessels are decoded again when their entity is built,
    # once every Sanction is known: holding a million decoded lines would double the memory
    targets: list[tuple[int, int]] = []  # (start, end) of the line in data
    # where each entity's Sanction lines start: decoded again when its entity is built
    sanctions: dict[str, int | list[int]] = {}
    documents: dict[str, list[tuple[str, dict[str, list[str]]]]] = defaultdict(list)
    addresses: dict[str, str] = {}
    skipped: Counter[str] = Counter()
    datasets: Counter[str] = Counter()

    def report(line_no: int, entry: str, field: str, code: str, message: str) -> None:
        problems[code] += 1
        if len(anomalies) < MAX_REPORTED:
            anomalies.append(Anomaly(list_id="", entry_id=entry, field=field, code=code,
                                     message=message, line=line_no))  # fmt: skip

    start, line_no = 0, 0
    if data.startswith(b"\xef\xbb\xbf"):
        start = 3
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        raw = data[start:end]
        start = end + 1
        line_no += 1
        if not raw.strip():
            continue
        if len(raw) > MAX_LINE:
            report(line_no, "", "line", "line-too-long", f"line {line_no} is over 4 MB; skipped")
            continue
        try:
            doc = decoder.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as err:
            report(line_no, "", "line", "bad-line", f"line {line_no}: not an FtM entity ({err})")
            continue
        if not clean(doc.id) or len(doc.id) > MAX_ID:
            report(line_no, "", "id", "bad-id", f"line {line_no}: the entity id is empty or"
                   f" over {MAX_ID} characters; skipped")  # fmt: skip
            continue
        known = _properties_of(doc.schema)
        if not known:
            report(line_no, doc.id, "schema", "unknown-schema",
                   f"line {line_no}: schema {doc.schema!r} is not in the FtM model")  # fmt: skip
            continue
        unknown = [p for p in doc.properties if p not in known]
        if unknown:
            message = f"line {line_no}: {doc.schema} has no property {unknown[0]!r}; ignored"
            report(line_no, doc.id, unknown[0], "unknown-property", message)
        datasets.update(doc.datasets[:8])
        if doc.schema in SCHEMA_FROM_FTM:
            if not any(_values(doc.properties, *_ANY_NAME)):
                report(line_no, doc.id, "name", "no-name",
                       f"line {line_no}: {doc.schema} {doc.id} has no name; skipped")  # fmt: skip
                continue
            targets.append((end - len(raw), end))
        elif doc.schema == "Sanction":
            at = end - len(raw)
            for ref in doc.properties.get("entity", ())[:MAX_VALUES]:
                earlier = sanctions.get(ref)
                if earlier is None:
                    sanctions[ref] = at
                elif isinstance(earlier, int):
                    sanctions[ref] = [earlier, at]
                else:
                    earlier.append(at)
        elif doc.schema in ("Passport", "Identification"):
            for ref in doc.properties.get("holder", ())[:MAX_VALUES]:
                documents[ref].append((doc.schema, doc.properties))
        elif doc.schema == "Address":
            full = _values(doc.properties, "full")
            if full:
                addresses[doc.id] = full[0]
        else:
            skipped[doc.schema] += 1
    if not targets:
        raise ListFormatError(
            f"no Person, Organization, Company, LegalEntity or Vessel entity in {line_no} lines"
            + (f" ({sum(problems.values())} bad)" if problems else ""),
            path=source_name,
        )
    if list_id is None:
        list_id = list_id_of(datasets.most_common(1)[0][0]) if len(datasets) == 1 else None
    if list_id is None:
        stem = re.sub(r"(\.ftm)?\.json(l)?(\.gz)?$", "", source_name.rsplit("/", 1)[-1])
        list_id = "FTM-" + list_id_of(stem or "import")

    def sanctions_of(entity_id: str) -> list[dict[str, list[str]]]:
        at = sanctions.get(entity_id)
        starts = [] if at is None else [at] if isinstance(at, int) else at
        out = []
        for a in starts:
            b = data.find(b"\n", a)
            out.append(decoder.decode(data[a : len(data) if b < 0 else b]).properties)
        return out

    entities = [
        _entity(decoder.decode(data[a:b]), list_id, sanctions_of, documents, addresses)
        for a, b in targets
    ]
    fixed = [msgspec.structs.replace(a, list_id=list_id) for a in anomalies]
    for schema, n in sorted(skipped.items()):
        message = f"{n} {schema} entities are not screened; skipped"
        fixed.append(Anomaly(list_id=list_id, entry_id="", field="schema",
                             code="schema-skipped", message=message))  # fmt: skip
    for code, n in problems.items():
        if n > MAX_REPORTED:
            fixed.append(Anomaly(list_id=list_id, entry_id="", field="line", code=code,
                                 message=f"{n} lines with {code} in all"))  # fmt: skip
    listed = [d for e in entities for d in e.listed_on]
    return SanctionsList(
        list_id=list_id,
        title=f"FollowTheMoney entities ({', '.join(sorted(datasets)[:5]) or source_name})",
        published=published or (max(listed) if listed else None),
        source_name=source_name,
        sha256=hashlib.sha256(data).hexdigest(),
        vessels=tuple(vessel_record(e) for e in entities if e.schema == VESSEL),
        anomalies=tuple(fixed),
        total_entries=len(entities),
        entities=tuple(entities),
    )


def _entity(
    doc: _Line,
    list_id: str,
    sanctions: Callable[[str], list[dict[str, list[str]]]],
    documents: dict[str, list[tuple[str, dict[str, list[str]]]]],
    addresses: dict[str, str],
) -> Entity:
    props = doc.properties
    schema = SCHEMA_FROM_FTM[doc.schema]
    names: list[tuple[str, str]] = []
    for prop, kind in _NAME_PROPS:
        names += [(v, kind) for v in _values(props, prop)]
    if not names:  # every entity read has a name of some kind (see parse_ftm)
        names = [(" ".join(_values(props, "firstName", "middleName", "lastName")), "primary")]
    primary, *others = names
    ids: list[Identifier] = []
    imos = [_imo_digits(v) for v in _values(props, "imoNumber")]
    ids += imo_identifiers(imos, company=schema != VESSEL)
    for prop, kind in _ID_FROM_PROP.items():
        ids += [Identifier(kind=kind, value=v) for v in _values(props, prop)]
    for doc_schema, doc_props in documents.get(doc.id, ()):
        kind = "passport" if doc_schema == "Passport" else "national_id"
        ids += [Identifier(kind=kind, value=v) for v in _values(doc_props, "number")]
    programmes = _values(props, "program", "programId")
    listed_on: list[str] = []
    measures: list[str] = []
    entry_id = doc.id
    for sanction in sanctions(doc.id):
        programmes += _values(sanction, "program", "programId")
        listed_on += _values(sanction, "listingDate", "startDate")
        measures += _values(sanction, "provisions")
        ids += [Identifier(kind="list_ref", value=v) for v in _values(sanction, "authorityId")]
        ids += [Identifier(kind="list_ref", value=v, note="UN")
                for v in _values(sanction, "unscId")]  # fmt: skip
        record = _values(sanction, "recordId")
        if record:
            entry_id = record[0]
    address_refs = [addresses[a] for a in _values(props, "addressEntity") if a in addresses]
    return Entity(
        list_id=list_id,
        entry_id=entry_id,
        schema=schema,
        names=make_names(primary[0], others),
        identifiers=tuple(dict.fromkeys(ids)),
        addresses=tuple(dict.fromkeys(_values(props, "address") + address_refs)),
        countries=tuple(dict.fromkeys(_alpha3(c) for c in _values(props, *_COUNTRY_PROPS))),
        # a programme or a date is repeated by thousands of entries: one string for all
        programmes=tuple(dict.fromkeys(map(sys.intern, programmes))),
        listed_on=tuple(dict.fromkeys(map(sys.intern, listed_on))),
        birth_dates=tuple(dict.fromkeys(_values(props, "birthDate"))),
        measures=tuple(dict.fromkeys(map(sys.intern, measures))),
        remarks=" ".join(_values(props, "notes"))[:4000],
    )
