"""Precision, recall and sister-ship merges of the screener on a labelled set.

Used by the acceptance test and the benchmark (tests/data/sanctions/eval_set.csv). A case
is a query plus the acceptable answers: every IMO (or ``uid:<list uid>``) that counts as
the right vessel, or nothing for a true negative. A match to any other vessel is a false
positive; a match whose listed name differs from an expected vessel's name only by its
number is also counted as a sister-ship merge.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from trilink.sanctions.entity_screen import EntityQuery, EntityScreener
from trilink.sanctions.normalize import name_key
from trilink.sanctions.records import VesselRecord
from trilink.sanctions.screen import Query, Screener


@dataclass
class CategoryScore:
    cases: int = 0
    positives: int = 0
    true_pos: int = 0
    false_pos: int = 0
    false_neg: int = 0


@dataclass
class EvalReport:
    cases: int
    positives: int
    true_pos: int
    false_pos: int
    false_neg: int
    sister_merges: int
    by_category: dict[str, CategoryScore]
    errors: list[str] = field(default_factory=list)  # first failures, for diagnosis

    @property
    def precision(self) -> float:
        predicted = self.true_pos + self.false_pos
        return self.true_pos / predicted if predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_pos / self.positives if self.positives else 1.0


def _ident(v: VesselRecord) -> str:
    return v.imo if v.imo else f"uid:{v.uid}"


def evaluate(
    screener: Screener, cases: Sequence[Mapping[str, str]], *, max_errors: int = 50
) -> EvalReport:
    queries = [
        Query(name=c["name"], imo=c["imo"], mmsi=c["mmsi"], flag=c.get("flag", "")) for c in cases
    ]
    results = screener.screen_many(queries)
    names_of: dict[str, set[str]] = defaultdict(set)
    for v in screener.vessels:
        names_of[_ident(v)].update(n for n, _k in v.all_names())
    cats: dict[str, CategoryScore] = defaultdict(CategoryScore)
    tp = fp = fn = merges = 0
    errors: list[str] = []
    for case, res in zip(cases, results, strict=True):
        expected = {e for e in case["expected_imos"].split("|") if e}
        cat = cats[case["category"]]
        cat.cases += 1
        got = _ident(res.best.vessel) if res.matched and res.best else None
        if expected:
            cat.positives += 1
        if got is not None and got in expected:
            tp += 1
            cat.true_pos += 1
            continue
        if got is None and not expected:
            continue
        if got is not None:
            fp += 1
            cat.false_pos += 1
            if _is_sister(res.best.vessel if res.best else None, expected, names_of):
                merges += 1
        if expected:
            fn += 1
            cat.false_neg += 1
        if len(errors) < max_errors:
            errors.append(
                f"case {case['case_id']} {case['category']} {case['name']!r} imo={case['imo']!r}"
                f" mmsi={case['mmsi']!r}: expected {sorted(expected) or 'no match'}, got "
                f"{got} {res.best.rule + ' ' + res.best.reason if res.best else ''}"
            )
    positives = sum(c.positives for c in cats.values())
    return EvalReport(
        cases=len(cases),
        positives=positives,
        true_pos=tp,
        false_pos=fp,
        false_neg=fn,
        sister_merges=merges,
        by_category=dict(sorted(cats.items())),
        errors=errors,
    )


def _is_sister(
    got: VesselRecord | None, expected: Iterable[str], names_of: Mapping[str, set[str]]
) -> bool:
    if got is None:
        return False
    got_keys = {(name_key(n).compact, name_key(n).numsig) for n, _k in got.all_names()}
    for e in expected:
        for n in names_of.get(e, ()):
            k = name_key(n)
            if any(c == k.compact and s != k.numsig for c, s in got_keys):
                return True
    return False


def evaluate_entities(
    screener: EntityScreener, cases: Sequence[Mapping[str, str]], *, max_errors: int = 50
) -> EvalReport:
    """Precision and recall of entity screening on a labelled set (see
    tests/data/sanctions/make_entity_eval_set.py): a case is correct when its best match is
    one of the acceptable entities, or when nothing matches a true negative. Categories are
    also reported per entity type (``schema:Person`` …)."""
    queries = [
        EntityQuery(
            name=c["name"],
            country=c.get("country", ""),
            schema=c.get("schema", ""),
            identifier=c.get("identifier", ""),
            lists=tuple(x for x in c.get("lists", "").split("|") if x),
        )
        for c in cases
    ]
    results = screener.screen_many(queries)
    cats: dict[str, CategoryScore] = defaultdict(CategoryScore)
    tp = fp = fn = 0
    errors: list[str] = []
    for case, res in zip(cases, results, strict=True):
        expected = {e for e in case["expected"].split("|") if e}
        got = res.best.entity.uid if res.matched and res.best else None
        scores = [cats[case["category"]], cats["schema:" + (case.get("schema") or "any")]]
        for cat in scores:
            cat.cases += 1
            cat.positives += bool(expected)
        if got is not None and got in expected:
            tp += 1
            for cat in scores:
                cat.true_pos += 1
            continue
        if got is None and not expected:
            continue
        if got is not None:
            fp += 1
            for cat in scores:
                cat.false_pos += 1
        if expected:
            fn += 1
            for cat in scores:
                cat.false_neg += 1
        if len(errors) < max_errors:
            errors.append(
                f"case {case['case_id']} {case['category']} {case['name']!r}"
                f" id={case.get('identifier', '')!r}: expected {sorted(expected)[:3] or 'none'},"
                f" got {got} {res.best.reason[:150] if res.best else ''}"
            )
    positives = sum(1 for c in cases if c["expected"])
    return EvalReport(
        cases=len(cases),
        positives=positives,
        true_pos=tp,
        false_pos=fp,
        false_neg=fn,
        sister_merges=0,
        by_category=dict(sorted(cats.items())),
        errors=errors,
    )
