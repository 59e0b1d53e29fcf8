"""A nation's supply-chain register: suppliers, end users and transaction parties, screened
when they are registered and again whenever a list in force changes (pure core).

Each party is a ``sanctions.party`` report under the registering nation's own label; a match
becomes a hit derived from it: ``exportcontrol.hit`` when the listed entity is on an
export-control list (Japan METI's End User List), ``sanctions.hit`` otherwise. The hit's
label is the party's label combined with the lists' public label, so a partner receives a
hit exactly when the node's release policy releases it under that label.

A re-screen publishes only what is new: a (party, listed entry) pair already reported by an
earlier hit is not reported again; every new hit names the list edition it rests on.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from trilink.model.payloads.sanctions import ListVersion, PartyPayload, SanctionsHitPayload
from trilink.sanctions.entities import ORGANIZATION
from trilink.sanctions.entity_hits import entity_hit_payload, is_export_control
from trilink.sanctions.entity_screen import EntityQuery, EntityScreener, parse_schema
from trilink.sanctions.errors import SanctionsInputError

REGISTER_COLUMNS = ("role", "name", "country", "type", "identifier", "goods", "hs_code",
                    "reference")  # fmt: skip
ROLES = {
    "supplier": "supplier",
    "end-user": "end-user",
    "end user": "end-user",
    "enduser": "end-user",
    "end_user": "end-user",
    "transaction": "transaction",
    "consignee": "consignee",
    "manufacturer": "manufacturer",
    "customer": "customer",
    "intermediary": "intermediary",
}
MAX_ROWS = 200_000
MAX_FIELD = 400
MAX_GOODS = 2000
# HS codes: 2, 4 or 6 digits (the international part), national extensions to 10 digits;
# written with or without dots ("8542.31", "854231", "8542.31.0000")
_HS = re.compile(r"^\d{2}(?:\d{2}(?:\.?\d{2}(?:\.?\d{2,4})?)?)?$")

SANCTIONS_HIT = "sanctions.hit"
EXPORT_CONTROL_HIT = "exportcontrol.hit"
PARTY = "sanctions.party"


@dataclass(frozen=True, slots=True)
class RowProblem:
    row: int  # data row, 1-based
    line: int  # line in the file
    message: str

    def __str__(self) -> str:
        return f"row {self.row} (line {self.line}): {self.message}"


def parse_register_csv(text: str) -> tuple[list[tuple[int, PartyPayload]], list[RowProblem]]:
    """Parties from a CSV with the header ``role,name,country,type,identifier,goods,hs_code,
    reference`` (``role`` and ``name`` or ``identifier`` required, other columns optional,
    extra columns ignored). A row that cannot be a party is a ``RowProblem`` naming its row,
    line and field; the others are returned with their row numbers."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise SanctionsInputError("the register CSV is empty; expected a header line") from None
    except csv.Error as err:
        raise SanctionsInputError(f"line 1: {err}") from None
    cols = [h.strip().lower().replace(" ", "_") for h in header]
    if "role" not in cols or ("name" not in cols and "identifier" not in cols):
        raise SanctionsInputError(
            f"line 1: header {header[:8]!r} lacks role and name; expected "
            + ",".join(REGISTER_COLUMNS)
        )
    where = {c: cols.index(c) for c in REGISTER_COLUMNS if c in cols}
    parties: list[tuple[int, PartyPayload]] = []
    problems: list[RowProblem] = []
    row_no = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:  # a stray quote or NUL: the rest of the file cannot be read
            problems.append(RowProblem(row_no + 1, reader.line_num, f"{err}; reading stopped"))
            break
        row_no += 1
        if row_no > MAX_ROWS:
            message = f"more than {MAX_ROWS} rows; the rest is not read"
            problems.append(RowProblem(row_no, reader.line_num, message))
            break
        if not any(x.strip() for x in row):
            continue
        values = {c: (row[i].strip() if i < len(row) else "") for c, i in where.items()}
        try:
            parties.append((row_no, party_from_values(values)))
        except SanctionsInputError as err:
            problems.append(RowProblem(row_no, reader.line_num, str(err)))
    return parties, problems


def party_from_values(values: dict[str, str]) -> PartyPayload:
    """One party from column values; ``SanctionsInputError`` names the field that is wrong."""
    for name, value in values.items():
        limit = MAX_GOODS if name == "goods" else MAX_FIELD
        if len(value) > limit:
            raise SanctionsInputError(f"{name}: longer than {limit} characters")
        if any(ch < " " for ch in value):
            raise SanctionsInputError(f"{name}: control characters")
    role = ROLES.get(values.get("role", "").lower())
    if role is None:
        known = ", ".join(sorted(set(ROLES.values())))
        raise SanctionsInputError(f"role: {values.get('role', '')!r} is not one of {known}")
    name, identifier = values.get("name", ""), values.get("identifier", "")
    if not name and not identifier:
        raise SanctionsInputError("name: empty, and no identifier either")
    schema = parse_schema(values.get("type", ""))
    if schema is None:
        raise SanctionsInputError(f"type: {values.get('type')!r} is not person or organisation")
    hs = values.get("hs_code", "")
    if hs and not _HS.match(hs.replace(" ", "")):
        raise SanctionsInputError(f"hs_code: {hs!r} is not an HS code (e.g. 8542.31)")
    return PartyPayload(
        role=role,
        name=name,
        type=schema or ORGANIZATION,
        country=values.get("country", ""),
        identifier=identifier,
        goods=values.get("goods", ""),
        hs_code=hs.replace(" ", ""),
        reference=values.get("reference", ""),
    )


def party_query(party: PartyPayload, lists: tuple[str, ...] = ()) -> EntityQuery:
    return EntityQuery(name=party.name, country=party.country, schema=party.type,
                       identifier=party.identifier, lists=lists)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RegisterHit:
    party_id: str  # the sanctions.party report it derives from
    kind: str  # sanctions.hit or exportcontrol.hit
    listed_uid: str  # LIST:ENTRY
    payload: SanctionsHitPayload


def listed_uids(payload: SanctionsHitPayload) -> set[str]:
    """``LIST:ENTRY`` of every listed entity or vessel a hit names."""
    out = {f"{h.listed.list_id}:{h.listed.entry_id}" for h in payload.entities}
    out |= {f"{h.listed.list_id}:{h.listed.entry_id}" for h in payload.hits}
    return out


def screen_register(
    screener: EntityScreener,
    parties: Sequence[tuple[str, PartyPayload]],
    *,
    lists: Sequence[ListVersion],
    source: str,
    already: Iterable[tuple[str, str]] = (),
) -> list[RegisterHit]:
    """Screen ``(report id, party)`` pairs; a hit for each matched party whose (party,
    listed entry) pair is not in ``already``. ``source`` is ``registration`` or
    ``list-change``. Vessels in a register are screened as entities of type Vessel."""
    done = set(already)
    results = screener.screen_many([party_query(p) for _id, p in parties])
    out: list[RegisterHit] = []
    for (party_id, party), result in zip(parties, results, strict=True):
        payload = entity_hit_payload(result, lists=lists, source=source, role=party.role)
        if payload is None or result.best is None:
            continue
        uid = result.best.entity.uid
        if (party_id, uid) in done:
            continue
        done.add((party_id, uid))
        export = is_export_control(result.best.entity.list_id)
        kind = EXPORT_CONTROL_HIT if export else SANCTIONS_HIT
        out.append(RegisterHit(party_id, kind, uid, payload))
    return out


__all__ = [
    "EXPORT_CONTROL_HIT",
    "PARTY",
    "REGISTER_COLUMNS",
    "RegisterHit",
    "RowProblem",
    "SANCTIONS_HIT",
    "listed_uids",
    "parse_register_csv",
    "party_from_values",
    "party_query",
    "screen_register",
]
