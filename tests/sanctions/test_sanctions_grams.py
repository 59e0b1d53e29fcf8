"""The q-gram filter returns exactly the indexed names in the window that share enough grams
with the query (the definition the screeners rely on for being lossless), whether it counts
through the shortest posting lists (prefix filtering) or all of them."""

from __future__ import annotations

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
