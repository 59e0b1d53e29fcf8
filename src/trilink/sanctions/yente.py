"""yente's ``/match`` request and response, answered by trilink's screeners (pure core).

Tools written for OpenSanctions' yente send ``{"queries": {key: {"schema": "Person",
"properties": {"name": [...], "birthDate": [...], "nationality": [...], ...}}}}`` and read
``{"responses": {key: {"status", "results": [...], "total", "query"}}, "matcher", "limit"}``
where each result is an FtM entity with ``score`` (0-1), ``match``, ``features`` and
``explanations``. trilink screens each example with its entity screener (every name of the
example, with its country and first identifier; the best score per listed entity is kept)
and answers in that shape: the listed entity as FtM (``trilink.sanctions.ftm``), its list
as the dataset, the deciding rule and every piece of evidence as features and explanations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trilink.sanctions.entity_screen import (
    LEGAL_TYPO_PENALTY,
    EntityMatch,
    EntityQuery,
    EntityResult,
)
from trilink.sanctions.errors import SanctionsInputError
from trilink.sanctions.ftm import SCHEMA_FROM_FTM, dataset_of, ftm_entity
from trilink.sanctions.records import SanctionsList

ALGORITHM = "trilink-rules"
MAX_QUERIES = 100  # yente's MAX_BATCH
MAX_VALUES = 20  # values of one property of one example
MAX_VALUE_CHARS = 1000
MAX_LIMIT = 50
NAME_PROPS = ("name", "alias", "previousName", "weakAlias")
COUNTRY_PROPS = ("country", "nationality", "jurisdiction", "citizenship", "flag",
                 "mainCountry", "registrationCountry")  # fmt: skip
ID_PROPS = ("imoNumber", "registrationNumber", "idNumber", "passportNumber", "swiftBic",
            "taxNumber", "leiCode", "innCode", "ogrnCode", "vatCode", "mmsi",
            "callSign")  # fmt: skip
SCHEMAS = {**SCHEMA_FROM_FTM, "Thing": ""}  # Thing: any type

# What the features of a result mean (yente's ``matcher``: FeatureDocs)
FEATURES = {
    "identifier-exact": "A passport, national id, registration number, SWIFT/BIC or IMO number"
    " equal to a listed one (ship and company IMO numbers are never compared with each other).",
    "name-exact": "The same name.",
    "name-normalised": "The same name once case, accents, punctuation and legal forms are"
    " ignored.",
    "name-word-order": "The same words in another order.",
    "name-romanised": "A kana, hangul or Cyrillic name equal to a Latin one once romanised"
    " (Hepburn, Revised Romanization/McCune-Reischauer folded).",
    "name-romanisation": "Two Latin Korean names equal once romanisation differences are folded.",
    "name-fuzzy": "At most 12 % of the letters differ (edit distance).",
    "name-romanised-fuzzy": "A romanised name within 20 % of a listed skeleton.",
    "name-legal-form-typo": "The name matches once a mistyped legal form at its start or end"
    f" (one edit from Co, Ltd, OAO, JSC ...) is dropped; {LEGAL_TYPO_PENALTY:g} less than the"
    " rule it then meets.",
    "name-word-typos": "An organisation name read word by word: each word is a word of a listed"
    " organisation name or one edit from one (two for 9+ letters), or a mistyped legal form,"
    " dropped; the reading equals a listed name (words in any order, 1 less).",
    "country": "The country agrees (+2 of 100) or differs (-5 of 100).",
}


@dataclass(frozen=True, slots=True)
class Example:
    """One query of a /match request, as trilink screens it."""

    key: str
    schema: str  # the FtM schema asked for
    queries: tuple[EntityQuery, ...]
    echo: dict[str, Any]  # the example as received (normalised to lists), for "query"


def _values(props: Mapping[str, Any], names: Sequence[str], key: str) -> list[str]:
    out: list[str] = []
    for name in names:
        raw = props.get(name)
        values = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
        if len(values) > MAX_VALUES:
            raise SanctionsInputError(
                f"queries.{key}.properties.{name}: more than {MAX_VALUES} values"
            )
        for value in values:
            if not isinstance(value, str):
                raise SanctionsInputError(
                    f"queries.{key}.properties.{name}: values must be strings"
                )
            if len(value) > MAX_VALUE_CHARS:
                raise SanctionsInputError(
                    f"queries.{key}.properties.{name}: a value is over {MAX_VALUE_CHARS}"
                    " characters"
                )
            if value.strip():
                out.append(value.strip())
    return out


def parse_match_request(body: Any) -> list[Example]:
    """The examples of a yente /match request body; ``SanctionsInputError`` names the
    query and property that is wrong."""
    if not isinstance(body, Mapping) or not isinstance(body.get("queries"), Mapping):
        raise SanctionsInputError('the body must be {"queries": {"<key>": {"schema": ...,'
                                  ' "properties": {...}}}}')  # fmt: skip
    queries = body["queries"]
    if not queries:
        raise SanctionsInputError("No queries provided.")
    if len(queries) > MAX_QUERIES:
        raise SanctionsInputError(f"Too many queries in one batch (limit: {MAX_QUERIES})")
    examples: list[Example] = []
    for key, example in queries.items():
        if not isinstance(example, Mapping):
            raise SanctionsInputError(f"queries.{key}: must be an object")
        schema = example.get("schema")
        if schema not in SCHEMAS:
            raise SanctionsInputError(
                f"queries.{key}.schema: {schema!r} is not one trilink matches"
                f" ({', '.join(SCHEMAS)})"
            )
        props = example.get("properties")
        if not isinstance(props, Mapping):
            raise SanctionsInputError(f"queries.{key}.properties: must be an object")
        names = _values(props, NAME_PROPS, key)
        countries = _values(props, COUNTRY_PROPS, key)
        ids = _values(props, ID_PROPS, key)
        if not names and not ids:
            raise SanctionsInputError(
                f"queries.{key}: give a name or an identifier (properties.name,"
                " registrationNumber, idNumber, passportNumber, imoNumber, ...)"
            )
        country = countries[0] if countries else ""
        ours = SCHEMAS[schema]
        # every name with the first identifier; the other identifiers on their own
        first = ids[0] if ids else ""
        wanted = [EntityQuery(name=n, country=country, schema=ours, identifier=first)
                  for n in names[:5]]  # fmt: skip
        wanted += [EntityQuery(name="", country=country, schema=ours, identifier=i)
                   for i in (ids[1:3] if names else ids[:3])]  # fmt: skip
        echo_props = {n: _values(props, (n,), key) for n in props if isinstance(n, str)}
        echo = {"id": example.get("id") if isinstance(example.get("id"), str) else None,
                "schema": schema, "properties": echo_props}  # fmt: skip
        examples.append(Example(str(key)[:200], schema, tuple(wanted), echo))
    return examples


def _features(m: EntityMatch) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    features = {m.rule: round(m.score / 100.0, 4)}
    explanations: dict[str, dict[str, Any]] = {m.rule: {"score": features[m.rule],
                                                        "detail": m.reason}}  # fmt: skip
    for ev in m.evidence:
        name = ev.rule if ev.field != "country" else "country"
        if name not in features:
            features[name] = round(ev.score / 100.0, 4)
            explanations[name] = {"score": features[name], "detail": ev.detail}
    return features, explanations


def match_response(
    examples: Sequence[Example],
    results: Sequence[Sequence[EntityResult]],
    lists: Mapping[str, SanctionsList],
    *,
    limit: int,
    threshold: float,
) -> dict[str, Any]:
    """The yente response for ``examples`` and their screening results (one sequence of
    results per example, one per query of it)."""
    responses: dict[str, Any] = {}
    for example, found in zip(examples, results, strict=True):
        best: dict[str, EntityMatch] = {}
        for result in found:
            for m in (*result.candidates, *([result.best] if result.best else [])):
                uid = m.entity.uid
                if uid not in best or m.score > best[uid].score:
                    best[uid] = m
        ranked = sorted(best.values(), key=lambda m: (-m.score, m.entity.uid))
        rows = []
        for m in ranked[:limit]:
            sl = lists.get(m.entity.list_id)
            thing, _sanction = ftm_entity(m.entity, sl.title if sl else m.entity.list_id)
            features, explanations = _features(m)
            score = round(min(m.score, 100.0) / 100.0, 4)
            published = sl.published if sl else None
            rows.append({
                **thing,
                "caption": m.entity.name,
                "datasets": [dataset_of(m.entity.list_id)],
                "referents": [],
                "target": True,
                "first_seen": None,
                "last_seen": f"{published}T00:00:00" if published else None,
                "last_change": None,
                "score": score,
                "features": features,
                "explanations": explanations,
                "match": score >= threshold,
                "trilink": {"list": m.entity.list_id, "entry": m.entity.entry_id,
                            "list_published": published,
                            "list_sha256": sl.sha256 if sl else "", "rule": m.rule,
                            "matched_name": m.matched_name, "reason": m.reason},
            })  # fmt: skip
        responses[example.key] = {
            "status": 200,
            "results": rows,
            "total": {"value": len(ranked), "relation": "eq"},
            "query": example.echo,
        }
    matcher = {name: {"description": text, "coefficient": 1.0, "url": "docs/sanctions.md"}
               for name, text in FEATURES.items()}  # fmt: skip
    return {"responses": responses, "matcher": matcher, "limit": limit}
