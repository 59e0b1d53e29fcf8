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
  allocated or cleared per query).

Posting lists are one sorted int32 array per index (CSR: a gram's positions are a slice), so
a million names cost tens of megabytes, not Python lists of ints.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Sequence
from functools import cache
from typing import Any

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
        grams = qgrams(query, self.q)
        need = len(grams) - self._per_edit * max_edits
        if need <= 0:
            return None
        hi = self._n if hi is None else hi
        ids = [gid for gid in map(self._ids.get, grams) if gid is not None]
        if len(ids) < need or hi <= lo:
            return _EMPTY
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = np.zeros(self._n, dtype=np.int32)
        return _count_filter(self._pos, self._start, np.asarray(ids, dtype=np.int64),
                             lo, hi, need, scratch)  # fmt: skip


def _count_filter(
    pos: npt.NDArray[np.int32],
    start: npt.NDArray[np.int64],
    ids: npt.NDArray[np.int64],
    lo: int,
    hi: int,
    need: int,
    scratch: npt.NDArray[np.int32],
) -> npt.NDArray[np.int64]:
    return _kernels()[0](pos, start, ids, lo, hi, need, scratch)  # type: ignore[no-any-return]


def _group(
    gram_of: npt.NDArray[np.int32],
    owners: npt.NDArray[np.int32],
    start: npt.NDArray[np.int64],
    out: npt.NDArray[np.int32],
) -> None:
    _kernels()[1](gram_of, owners, start, out)


def within_l1(
    counts: npt.NDArray[np.uint8], cands: npt.NDArray[np.int64], query: npt.NDArray[np.uint8],
    limit: int,
) -> npt.NDArray[np.int64]:  # fmt: skip
    """The candidates whose letter counts (rows of ``counts``) differ from the query's by at
    most ``limit`` in total (k OSA edits change them by at most 2k: a lossless filter)."""
    return _kernels()[2](counts, cands, query, limit)  # type: ignore[no-any-return]


@cache
def _kernels() -> tuple[Any, Any, Any]:
    """The count filter compiled by numba (imported and compiled on first use; numba caches
    the machine code on disk)."""
    import numba

    @numba.njit(cache=True, nogil=True)
    def count_filter(pos, start, ids, lo, hi, need, scratch):  # type: ignore[no-untyped-def]
        m = len(ids)
        first = np.empty(m, np.int64)
        last = np.empty(m, np.int64)
        size = np.empty(m, np.int64)
        for i in range(m):
            s0, s1 = start[ids[i]], start[ids[i] + 1]
            first[i] = s0 + np.searchsorted(pos[s0:s1], lo)
            last[i] = s0 + np.searchsorted(pos[s0:s1], hi)
            size[i] = last[i] - first[i]
        order = np.argsort(size)
        present = 0
        for i in range(m):
            if size[i] > 0:
                present += 1
        if present < need:
            return np.empty(0, np.int64)
        skip = m - present  # the empty slices sort first
        prefix = present - need + 1
        # pass 1: every position of the shortest slices is a candidate (pigeonhole)
        total = 0
        for j in range(skip, skip + prefix):
            total += size[order[j]]
        touched = np.empty(total, np.int64)
        count = 0
        for j in range(skip, skip + prefix):
            i = order[j]
            for k in range(first[i], last[i]):
                p = pos[k]
                if scratch[p] == 0:
                    touched[count] = p
                    count += 1
                scratch[p] += 1
        # pass 2: the other slices, longest last, count only for candidates that can still
        # reach ``need`` (pruned before each slice: most fall out at once); a long slice is
        # searched for the few candidates left rather than read whole
        alive = count
        for j in range(skip + prefix, m + 1):
            left = m - j
            kept = 0
            for c in range(alive):
                p = touched[c]
                if scratch[p] + left >= need:
                    touched[kept] = p
                    kept += 1
                else:
                    scratch[p] = 0
            alive = kept
            if j == m or alive == 0:
                break
            i = order[j]
            if size[i] <= alive * 16:
                for k in range(first[i], last[i]):
                    p = pos[k]
                    if scratch[p] > 0:
                        scratch[p] += 1
            else:
                seg = pos[first[i] : last[i]]
                for c in range(alive):
                    p = touched[c]
                    at = np.searchsorted(seg, p)
                    if at < len(seg) and seg[at] == p:
                        scratch[p] += 1
        out = np.empty(alive, np.int64)
        kept = 0
        for c in range(alive):
            p = touched[c]
            if scratch[p] >= need:
                out[kept] = p
                kept += 1
            scratch[p] = 0
        result = out[:kept]
        result.sort()
        return result

    @numba.njit(cache=True, nogil=True)
    def group(gram_of, owners, start, out):  # type: ignore[no-untyped-def]
        fill = start[:-1].copy()
        for k in range(len(gram_of)):
            g = gram_of[k]
            out[fill[g]] = owners[k]
            fill[g] += 1

    @numba.njit(cache=True, nogil=True)
    def l1(counts, cands, query, limit):  # type: ignore[no-untyped-def]
        out = np.empty(len(cands), np.int64)
        n = 0
        for i in range(len(cands)):
            row = counts[cands[i]]
            d = 0
            for j in range(len(query)):
                x = int(row[j]) - int(query[j])
                d += x if x >= 0 else -x
                if d > limit:
                    break
            if d <= limit:
                out[n] = cands[i]
                n += 1
        return out[:n]

    return count_filter, group, l1
