"""The q-gram filter returns exactly the indexed names in the window that share enough grams
with the query (the definition the screeners rely on for being lossless), whether it counts
through the shortest posting lists (prefix filtering) or all of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

from trilink.sanctions.grams import GramIndex, qgrams

WORDS = st.text(alphabet="ABCDEKLMNORSTU 0", min_size=0, max_size=24)


def _shared_at_least(
    strings: list[str], query: str, q: int, k: int, lo: int, hi: int
) -> list[int]:
    grams = qgrams(query, q)
    need = len(grams) - (3 if q == 2 else q + 1) * k
    return [i for i in range(lo, hi) if len(grams & qgrams(strings[i], q)) >= need]


@settings(max_examples=300, deadline=None)
@given(
    strings=st.lists(WORDS, min_size=1, max_size=60),
    query=WORDS,
    q=st.sampled_from([2, 3]),
    k=st.integers(0, 3),
    window=st.tuples(st.integers(0, 60), st.integers(0, 60)),
)
def test_candidates_are_exactly_the_names_sharing_enough_grams(
    strings: list[str], query: str, q: int, k: int, window: tuple[int, int]
) -> None:
    lo, hi = min(window), min(max(window), len(strings))
    lo = min(lo, hi)
    index = GramIndex(strings, q=q)
    got = index.candidates(query, k, lo, hi)
    if got is None:  # the filter cannot exclude anything for so short a query
        assert len(qgrams(query, q)) <= (3 if q == 2 else q + 1) * k
        return
    assert got.tolist() == _shared_at_least(strings, query, q, k, lo, hi)
    # lossless: every name within k edits is a candidate
    for i in range(lo, hi):
        if OSA.distance(query, strings[i]) <= k:
            assert i in set(got.tolist())


def test_prefix_filtering_on_a_large_index_matches_counting_everything() -> None:
    rng = np.random.default_rng(5)
    letters = np.array(list("ABCDEFGHIKLMNOPRSTUVY"))
    strings = ["".join(rng.choice(letters, size=rng.integers(12, 24))) for _ in range(20_000)]
    strings.sort(key=len)
    index = GramIndex(strings, q=3)
    for query in strings[::997]:
        for k in (1, 2):
            got = index.candidates(query, k, 0, len(strings))
            assert got is not None
            assert got.tolist() == _shared_at_least(strings, query, 3, k, 0, len(strings))


def test_forked_screening_gives_what_screening_in_process_gives() -> None:
    """screen_many(workers=2) forks two processes over the same index; every result, its
    candidates and their evidence are the ones the process itself finds."""
    import csv
    import random

    from trilink.sanctions.entities import entities_of
    from trilink.sanctions.entity_screen import PARALLEL_MIN, EntityQuery, EntityScreener
    from trilink.sanctions.io import bundled_lists

    data = Path(__file__).resolve().parents[1] / "data" / "sanctions"
    with (data / "entity_eval_set.csv").open(newline="", encoding="utf-8") as fh:
        cases = list(csv.DictReader(fh))
    rng = random.Random(3)
    queries = [
        EntityQuery(name=c["name"], country=c["country"], schema=c["schema"],
                    identifier=c["identifier"])
        for c in (rng.choice(cases) for _ in range(PARALLEL_MIN + 100))
    ]  # fmt: skip
    screener = EntityScreener(e for sl in bundled_lists() for e in entities_of(sl))
    serial = screener.screen_many(queries, keep_candidates=True)
    forked = screener.screen_many(queries, keep_candidates=True, workers=2)
    assert len(forked) == len(serial)
    for a, b in zip(serial, forked, strict=True):
        assert b.query is a.query and b.matched == a.matched and b.issues == a.issues
        assert b.best == a.best and b.candidates == a.candidates
    assert sum(r.matched for r in forked) > 1000
