"""The q-gram filter returns only indexed names in the window that share enough grams with the
query, and every name within k edits (the screeners rely on it being lossless), whether it
counts through the shortest posting lists (prefix filtering, by count or by the grams'
places) or all of them; ``search`` finds exactly the names within each band's edits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

from trilink.sanctions.grams import GramIndex, PackedTexts, letter_counts, qgrams

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
    shared = _shared_at_least(strings, query, q, k, lo, hi)
    assert set(got.tolist()) <= set(shared)
    assert got.tolist() == sorted(got.tolist())
    # lossless: every name within k edits is a candidate
    for i in range(lo, hi):
        if OSA.distance(query, strings[i]) <= k:
            assert i in set(got.tolist())


@settings(max_examples=300, deadline=None)
@given(
    base=st.text(alphabet="ABCDEKLM", min_size=4, max_size=20),
    edits=st.lists(
        st.tuples(st.sampled_from("idsw"), st.integers(0, 30), st.sampled_from("ABCDEKLM")),
        max_size=4,
    ),
    others=st.lists(st.text(alphabet="ABCDEKLM", min_size=1, max_size=22), max_size=40),
    q=st.sampled_from([2, 3]),
    k=st.integers(1, 3),
)
def test_search_finds_exactly_the_names_within_the_edits(
    base: str, edits: list[tuple[str, int, str]], others: list[str], q: int, k: int
) -> None:
    """Names near the query (a few inserts, deletes, substitutions and swaps of it) among
    random ones: search returns each name 1..k OSA edits away with its distance, no other."""
    near = list(base)
    for op, at, letter in edits:
        at = at % (len(near) + 1)
        if op == "i":
            near.insert(at, letter)
        elif op == "d" and len(near) > 1:
            near.pop(min(at, len(near) - 1))
        elif op == "s" and near:
            near[min(at, len(near) - 1)] = letter
        elif op == "w" and len(near) > 1:
            at = min(at, len(near) - 2)
            near[at], near[at + 1] = near[at + 1], near[at]
    strings = sorted([*others, "".join(near), base], key=len)
    index = GramIndex(strings, q=q)
    bands = np.array([[k, 0, len(strings)]], dtype=np.int64)
    found, dists = index.search(base, bands, letter_counts(strings), PackedTexts(strings))
    want = {i: OSA.distance(base, s) for i, s in enumerate(strings)}
    assert dict(zip(found.tolist(), dists.tolist(), strict=True)) == {
        i: d for i, d in want.items() if 0 < d <= k
    }


def test_the_grams_places_shorten_the_prefix() -> None:
    """Counting alone keeps a name sharing 6 of the 10 grams of a 12-letter query (need = 10
    - 4 = 6); that name lacks both grams at the query's two ends, which one edit cannot
    both destroy, so it cannot be one edit away and the filter leaves it out."""
    query = "ABCDEFGHIJKL"
    shares_middle = "XXCDEFGHIJXX"  # grams CDE .. HIJ: 6 of the query's 10, not ABC or JKL
    one_edit = "ABCDEFGHIJKM"
    strings = sorted([shares_middle, one_edit, "ZZZZZZZZZZZZ"] * 20, key=len)
    index = GramIndex(strings, q=3)
    assert _shared_at_least(strings, query, 3, 1, 0, len(strings)) != []
    assert shares_middle in {strings[i] for i in _shared_at_least(strings, query, 3, 1, 0, 60)}
    got = index.candidates(query, 1, 0, len(strings))
    assert got is not None
    assert {strings[i] for i in got.tolist()} == {one_edit}


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
            shared = set(_shared_at_least(strings, query, 3, k, 0, len(strings)))
            assert set(got.tolist()) <= shared
            near = {i for i, s in enumerate(strings) if OSA.distance(query, s) <= k}
            assert near <= set(got.tolist())


def test_a_query_with_more_grams_than_a_byte_counts_is_still_exact() -> None:
    """Counters are one byte for ordinary names; a 400-letter query (hostile input, a pasted
    paragraph) counts in 32 bits and finds the same names brute force does."""
    rng = np.random.default_rng(9)
    letters = np.array(list("ABCDEFGHIKLMNOPRSTUVY"))
    query = "".join(rng.choice(letters, size=400))
    near = query[:100] + query[101] + query[100] + query[102:]  # one swap
    far = query[:50] + "XXXXXX" + query[56:]
    strings = sorted([near, far, query[::-1], *("".join(rng.choice(letters, size=400))
                                                 for _ in range(30))], key=len)  # fmt: skip
    index = GramIndex(strings, q=3)
    bands = np.array([[3, 0, len(strings)]], dtype=np.int64)
    found, dists = index.search(query, bands, letter_counts(strings), PackedTexts(strings))
    want = {i: OSA.distance(query, s) for i, s in enumerate(strings)}
    assert dict(zip(found.tolist(), dists.tolist(), strict=True)) == {
        i: d for i, d in want.items() if 0 < d <= 3
    }
    assert [strings[i] for i in found.tolist()] == [near]
    got = index.candidates(query, 3)
    assert got is not None and strings.index(near) in got.tolist()


@settings(max_examples=200, deadline=None)
@given(
    strings=st.lists(
        st.text(alphabet="AB-é 1", min_size=1, max_size=16), min_size=1, max_size=30
    ),  # fmt: skip
    query=st.text(alphabet="AB-é 1", min_size=0, max_size=16),
    k=st.integers(1, 3),
)
def test_names_outside_the_key_alphabet_are_looked_up_without_the_code_table(
    strings: list[str], query: str, k: int
) -> None:
    """Gram ids come from a base-37 table for keys of A-Z, 0-9 and space; an index holding
    any other character looks them up by name, with the same results."""
    strings.sort(key=len)
    index = GramIndex(strings, q=3)
    assert (index._table is None) == any(c in "-é" for s in strings for c in s if len(s) >= 3)
    got = index.candidates(query, k)
    near = {i for i, s in enumerate(strings) if OSA.distance(query, s) <= k}
    assert got is None or near <= set(got.tolist())


@pytest.mark.parametrize("check", ["same", "failing"])
def test_screening_in_two_processes(check: str) -> None:
    """screen_many(workers=2): the parent and a forked child give every result, candidate
    and evidence the parent alone gives; a child that fails is reported, not waited for.
    Run in a fresh interpreter: a pytest-xdist worker has threads, so it never forks."""
    helper = Path(__file__).with_name("helpers_forked_screening.py")
    done = subprocess.run([sys.executable, str(helper), check], capture_output=True,
                          text=True, timeout=240)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith(f"{check}: ok")


@settings(max_examples=600, deadline=None)
@example(a="AB" * 32, b="BA" + "AB" * 31, k=1)  # 64 letters: every bit of the word
@example(a="A" * 64, b="A" * 62 + "BA", k=2)
@given(
    a=st.text(alphabet="ABCDE 0", max_size=64),
    b=st.text(alphabet="ABCDE 0", max_size=70),
    k=st.integers(0, 6),
)
def test_the_bit_vector_distance_is_the_osa_distance(a: str, b: str, k: int) -> None:
    """Both compiled distances (the bit-vector one for queries of up to 64 letters, the
    banded table for longer ones) give rapidfuzz's OSA distance within k, k + 1 beyond."""
    from trilink.sanctions import gram_kernels

    raw_a = np.frombuffer(a.encode("ascii"), dtype=np.uint8)
    data = np.frombuffer(("xx" + b).encode("ascii"), dtype=np.uint8)
    masks = np.empty(256, dtype=np.uint64)
    gram_kernels.pattern_masks(raw_a, masks)
    want = OSA.distance(a, b)
    want = want if want <= k else k + 1
    assert gram_kernels.osa_bits(masks, len(a), data, 2, len(data), k) == want
    rows = np.empty((3, max(len(a), len(b)) + k + 2), dtype=np.int64)
    assert gram_kernels.osa_within(raw_a, data, 2, len(data), k, rows) == want


@given(count=st.integers(0, 50_000), workers=st.integers(2, 8))
def test_guided_chunks_cover_every_query_once(count: int, workers: int) -> None:
    from trilink.sanctions.entity_screen import _guided_chunks

    chunks = _guided_chunks(count, workers)
    assert [q for a, b in chunks for q in range(a, b)] == list(range(count))
    sizes = [b - a for a, b in chunks]
    assert sizes == sorted(sizes, reverse=True)  # shrinking towards the end
    assert all(s >= 100 for s in sizes[:-1])
