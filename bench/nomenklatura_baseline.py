"""nomenklatura's matcher (OpenSanctions; the scorer behind yente's /match) as a baseline on
trilink's labelled entity cases, same run, same lists.

nomenklatura scores pairs; yente finds the candidates with Elasticsearch first. Here the
candidates of each case are the union of trilink's 20 best-scored entities and rapidfuzz's
10 best names (WRatio, names only) among the lists the case is screened against, so the
matcher sees the right entity whenever either finds it; each candidate, as FtM (the way
``trilink sanctions export`` writes it), is scored against the case as an FtM query entity
(name, country, identifier) and the best one at or above the threshold is the answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from rapidfuzz import fuzz, process, utils

from trilink.sanctions.entity_screen import EntityQuery, EntityScreener
from trilink.sanctions.ftm import ftm_entity
from trilink.sanctions.records import Entity

ALGORITHM = "logic-v2"
THRESHOLD = 0.7  # yente's default match threshold
_ID_PROP = {"Person": "idNumber", "Organization": "registrationNumber", "Vessel": "imoNumber"}


def names_of(
    entities: Sequence[Entity], lists: str, cache: dict[str, tuple[list[str], list[str]]]
) -> tuple[list[str], list[str]]:
    """(processed names, owner uid of each) of the entities on ``lists`` ("A|B"; "" = all)."""
    if lists not in cache:
        allowed = set(lists.split("|")) if lists else None
        names, owner = [], []
        for e in entities:
            if allowed is None or e.list_id in allowed:
                for n in e.names:
                    names.append(utils.default_process(n.text))
                    owner.append(e.uid)
        cache[lists] = (names, owner)
    return cache[lists]


def available() -> bool:
    try:
        import nomenklatura.matching  # noqa: F401
    except ImportError:
        return False
    return True


def quality(
    screener: EntityScreener,
    entities: Sequence[Entity],
    cases: Sequence[dict[str, str]],
    to_query: Callable[[dict[str, str]], EntityQuery],
) -> tuple[float, float, float]:
    """(precision, recall, seconds) of nomenklatura's ``ALGORITHM`` on ``cases``."""
    from followthemoney import model
    from nomenklatura.matching import ScoringConfig, get_algorithm

    algorithm = get_algorithm(ALGORITHM)
    assert algorithm is not None
    config = ScoringConfig.defaults()
    by_uid = {e.uid: e for e in entities}
    proxies: dict[str, Any] = {}

    def proxy(uid: str) -> Any:
        if uid not in proxies:
            proxies[uid] = model.get_proxy(ftm_entity(by_uid[uid], by_uid[uid].list_id)[0])
        return proxies[uid]

    names_by_filter: dict[str, tuple[list[str], list[str]]] = {}
    tp = fp = pos = 0
    start = time.perf_counter()
    for c in cases:
        names, owner = names_of(entities, c["lists"], names_by_filter)
        expected = {x for x in c["expected"].split("|") if x}
        pos += bool(expected)
        result = screener.screen(to_query(c))
        candidates = [m.entity.uid for m in result.candidates]
        if c["name"]:
            top = process.extract(utils.default_process(c["name"]), names, scorer=fuzz.WRatio,
                                  processor=None, limit=10)  # fmt: skip
            candidates += [owner[i] for _name, _score, i in top]
        schema = c["schema"] or "LegalEntity"
        query = model.make_entity("LegalEntity" if schema not in _ID_PROP else schema)
        query.id = f"case-{c['case_id']}"
        query.add("name", c["name"], quiet=True)
        if c["country"]:
            query.add("country", c["country"], quiet=True)
        if c["identifier"]:
            query.add(_ID_PROP.get(schema, "registrationNumber"), c["identifier"], quiet=True)
        best_uid, best = None, THRESHOLD
        for uid in dict.fromkeys(candidates):
            candidate = proxy(uid)
            if not candidate.schema.can_match(query.schema):
                continue
            score = algorithm.compare(query, candidate, config).score
            if score >= best:
                best_uid, best = uid, score
        if best_uid is not None:
            if best_uid in expected:
                tp += 1
            else:
                fp += 1
    seconds = time.perf_counter() - start
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / pos if pos else 1.0), seconds
