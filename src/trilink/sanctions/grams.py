"""q-gram count filter: which indexed names can be within k edits of a query name.

Used by the screeners for large name blocks, where comparing a query with every name of
compatible length is too slow. The filter is lossless, so results are the same as comparing
everything:

* one OSA edit (insert, delete, substitute, swap) destroys at most 3 bigram occurrences of
  the query (q + 1 q-grams for q >= 3), so a name within k edits shares at least
  ``|grams(q)| - 3k`` of the query's distinct grams (``need``);
* such a name misses at most ``P - need`` of the P query grams the index holds, so it is in
  at least one of any ``P - need + 1`` of their posting lists: the candidates are taken from
  the shortest ones (prefix filtering), and only they are counted against the others (a
  numba kernel with a reused per-position counter: no array the size of the window is
  allocated or cleared per query);
* the prefix is shorter still when the grams' places in the query allow it (Ed-Join, Xiao,
  Wang and Lin, VLDB 2008): one edit destroys only the grams starting in q + 1 neighbouring
  places, so two grams far enough apart cannot both be destroyed by one edit, and a name one
  edit away is in one of their two lists;
* ``GramIndex.search`` runs the filter, a letter-count filter and the OSA distance in one
  compiled call per query, on the strings packed in one byte buffer (Hyyro's bit-vector
  distance for queries of up to 64 letters, a banded table for longer ones).

Posting lists are one sorted int32 array per index (CSR: a gram's positions are a slice), so
a million names cost tens of megabytes, not Python lists of ints.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Sequence
from functools import cache
from types import ModuleType

import numpy as np
import numpy.typing as npt

_EMPTY = np.empty(0, dtype=np.int64)


def bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def qgrams(text: str, q: int) -> set[str]:
    return {text[i : i + q] for i in range(len(text) - q + 1)}


class GramIndex:
    """Posting lists of q-gram -> positions (0..n-1) in the indexed list of strings."""

    def __init__(
        self, strings: Sequence[str], include: Sequence[bool] | None = None, q: int = 2
    ) -> None:
        # One OSA edit destroys at most 3 bigrams, or q + 1 q-grams for q >= 3 (a swap).
        self.q = q
        self._per_edit = 3 if q == 2 else q + 1
        ids: dict[str, int] = {}
        grams = array("i")
        owners = array("i")
        for i, s in enumerate(strings):
            if include is not None and not include[i]:
                continue
            for g in qgrams(s, q):
                grams.append(ids.setdefault(g, len(ids)))
                owners.append(i)
        gram_of = np.frombuffer(grams, dtype=np.int32)
        self._start = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(np.bincount(gram_of, minlength=len(ids)), out=self._start[1:])
        # positions grouped by gram, in order within a gram (a counting sort: no int64
        # permutation of every posting is made)
        self._pos = np.empty(len(gram_of), dtype=np.int32)
        _group(gram_of, np.frombuffer(owners, dtype=np.int32), self._start, self._pos)
        self._ids = ids
        self._table = _code_table(ids, q)
        self._n = len(strings)
        # per-position counts, reused by every query of one thread (screeners serve threads)
        self._local = threading.local()

    def __len__(self) -> int:
        return self._n

    def candidates(
        self, query: str, max_edits: int, lo: int = 0, hi: int | None = None
    ) -> npt.NDArray[np.int64] | None:
        """Sorted positions in ``[lo, hi)`` sharing enough grams to lie within
        ``max_edits`` edits of ``query``.

        None when the filter cannot exclude anything (very short query): compare all.
        """
        at, distinct = self._gram_ids(query)
        need = distinct - self._per_edit * max_edits
        if need <= 0:
            return None
        hi = self._n if hi is None else hi
        if int((at >= 0).sum()) < need or hi <= lo:
            return _EMPTY
        found: npt.NDArray[np.int64] = _kernels().count_filter(
            self._pos, self._start, at, lo, hi, need, max_edits, self._per_edit,
            self._scratch(len(at)),
        )  # fmt: skip
        return found

    def _gram_ids(self, query: str) -> tuple[npt.NDArray[np.int64], int]:
        """The gram id at each position of ``query`` (-1: a gram no indexed string has), and
        how many distinct grams it has (never more than it has: ``need`` may only be low)."""
        if self._table is not None:
            raw = np.frombuffer(query.encode("ascii", "replace"), dtype=np.uint8)
            at, distinct = _kernels().gram_ids(raw, self.q, self._table)
            return at, int(distinct)
        q, get = self.q, self._ids.get
        grams = [query[i : i + q] for i in range(len(query) - q + 1)]
        return np.array([get(g, -1) for g in grams], dtype=np.int64), len(set(grams))

    def _scratch(self, grams: int) -> npt.NDArray[np.uint8] | npt.NDArray[np.int32]:
        """Per-position counters for a query of ``grams`` grams, reused by every query of
        one thread: one byte each (a quarter of the cache lines an int32 takes) unless a
        count could pass 255."""
        name = "scratch8" if grams < 255 else "scratch32"
        scratch = getattr(self._local, name, None)
        if scratch is None:
            scratch = np.zeros(self._n, dtype=np.uint8 if grams < 255 else np.int32)
            setattr(self._local, name, scratch)
        return scratch

    def search(
        self,
        query: str,
        bands: npt.NDArray[np.int64],
        counts: npt.NDArray[np.uint8],
        texts: PackedTexts,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Positions within each band's edit budget of ``query`` (OSA distance, at least
        one edit: equal keys are found by exact lookups), and their distances.

        ``bands`` rows are (edits, lo, hi): the positions [lo, hi) compared with that many
        edits at most. Each band goes through the count filter (when it can exclude
        anything), then the letter-count filter (``counts``: rows of ``letter_counts``),
        then the OSA distance on the packed texts, all in one compiled call: a query
        costs one call, not one numpy or rapidfuzz call per band.
        """
        at, distinct = self._gram_ids(query)
        found, dists = _kernels().search(
            self._pos, self._start, at, distinct, self._per_edit, bands,
            counts, texts.data, texts.offsets,
            np.frombuffer(query.encode("ascii"), dtype=np.uint8), self._scratch(len(at)),
        )  # fmt: skip
        return found, dists


class PackedTexts:
    """ASCII strings in one byte buffer with offsets: what the compiled distance reads
    (a million Python strings would be converted one by one on every comparison)."""

    def __init__(self, strings: Sequence[str]) -> None:
        lens = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
        self.offsets = np.zeros(len(strings) + 1, dtype=np.int64)
        np.cumsum(lens, out=self.offsets[1:])
        self.data = np.frombuffer("".join(strings).encode("ascii"), dtype=np.uint8)
        if len(self.data) != self.offsets[-1]:
            raise ValueError("packed texts must be ASCII")

    def __getitem__(self, at: int) -> str:
        return self.data[self.offsets[at] : self.offsets[at + 1]].tobytes().decode("ascii")

    def length(self, at: int) -> int:
        return int(self.offsets[at + 1] - self.offsets[at])


def _code_table(ids: dict[str, int], q: int) -> npt.NDArray[np.int32] | None:
    """gram code -> gram id (-1: no indexed string has it), or None when an indexed gram
    has a character outside the key alphabet (its ids are then looked up in Python)."""
    if q > 3:
        return None
    digit = {c: i for i, c in enumerate(_KEY_ALPHABET)}
    table = np.full(len(_KEY_ALPHABET) ** q, -1, dtype=np.int32)
    for gram, gid in ids.items():
        code = 0
        for c in gram:
            if c not in digit:
                return None
            code = code * len(_KEY_ALPHABET) + digit[c]
        table[code] = gid
    return table


def letter_counts(strings: Sequence[str]) -> npt.NDArray[np.uint8]:
    """Counts of A-Z and 0-9 per string, at most 255 (a lower count only weakens the L1
    filter it feeds, never makes it drop a name). The keys are ASCII; anything else is
    not counted. Computed 65,536 strings at a time (bounded temporary memory)."""
    wide = len(_ALPHABET) + 1  # one spare column for characters not counted
    out = np.empty((len(strings), len(_ALPHABET)), dtype=np.uint8)
    step = 65_536
    for at in range(0, len(strings), step):
        chunk = strings[at : at + step]
        codes = np.frombuffer("".join(chunk).encode("ascii", "replace"), dtype=np.uint8)
        column = _COUNT_TABLE[np.minimum(codes, 127)]
        owner = np.repeat(np.arange(len(chunk)), [len(x) for x in chunk])
        flat = np.bincount(owner * wide + column, minlength=len(chunk) * wide)
        counts = flat.reshape(len(chunk), wide)[:, : len(_ALPHABET)]
        out[at : at + len(chunk)] = np.minimum(counts, 255)
    return out


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# Grams of the key alphabet are coded as numbers (base 37, as gram_kernels.gram_ids codes
# them), so a compiled call finds a query's gram ids in a table, not a dict lookup per gram.
_KEY_ALPHABET = _ALPHABET + " "
_COUNT_TABLE = np.full(128, len(_ALPHABET), dtype=np.int64)
for _i, _c in enumerate(_ALPHABET):
    _COUNT_TABLE[ord(_c)] = _i


def _group(
    gram_of: npt.NDArray[np.int32],
    owners: npt.NDArray[np.int32],
    start: npt.NDArray[np.int64],
    out: npt.NDArray[np.int32],
) -> None:
    _kernels().group(gram_of, owners, start, out)


@cache
def _kernels() -> ModuleType:
    """The compiled kernels (numba is imported, and the machine code loaded from numba's
    disk cache or compiled, on first use)."""
    from trilink.sanctions import gram_kernels

    return gram_kernels
