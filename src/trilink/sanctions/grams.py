"""Bigram count filter: which listed names can be within k edits of a query name.

Used by the screener (`screen`) for large name blocks (screening against every entry of the
full lists), where comparing a query with every name of compatible length is too slow. The
filter is lossless, so results are the same as comparing everything:

* one OSA edit (insert, delete, substitute, swap) destroys at most 3 bigram occurrences of
  the query, so a name within k edits shares at least ``|bigrams(q)| - 3k`` of the query's
  distinct bigrams;
* so the posting lists of the query's bigrams are merged with one ``np.bincount`` and only
  names reaching that count are compared (with rapidfuzz OSA) at all.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

_EMPTY = np.empty(0, dtype=np.int64)


def bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def qgrams(text: str, q: int) -> set[str]:
    return {text[i : i + q] for i in range(len(text) - q + 1)}


class GramIndex:
    """Posting lists of bigram -> positions (0..n-1) in the indexed list of strings."""

    def __init__(
        self, strings: Sequence[str], include: Sequence[bool] | None = None, q: int = 2
    ) -> None:
        # One OSA edit destroys at most 3 bigrams, or q + 1 q-grams for q >= 3 (a swap).
        self.q = q
        self._per_edit = 3 if q == 2 else q + 1
        post: dict[str, list[int]] = defaultdict(list)
        for i, s in enumerate(strings):
            if include is not None and not include[i]:
                continue
            for g in qgrams(s, q):
                post[g].append(i)
        self._post = {g: np.asarray(v, dtype=np.int64) for g, v in post.items()}
        self._post_list = {g: list(v) for g, v in post.items()}  # for cheap bisect
        self._n = len(strings)

    def __len__(self) -> int:
        return self._n

    def candidates(
        self, query: str, max_edits: int, lo: int = 0, hi: int | None = None
    ) -> npt.NDArray[np.int64] | None:
        """Sorted positions in ``[lo, hi)`` sharing enough bigrams to lie within
        ``max_edits`` edits of ``query``.

        None when the filter cannot exclude anything (very short query): compare all.
        """
        grams = qgrams(query, self.q)
        need = len(grams) - self._per_edit * max_edits
        if need <= 0:
            return None
        hi = self._n if hi is None else hi
        lists = []
        for g in grams:
            plain = self._post_list.get(g)
            if plain is not None:
                # posting lists are sorted: cut them to the window before counting
                a, b = bisect_left(plain, lo), bisect_left(plain, hi)
                if b > a:
                    lists.append(self._post[g][a:b])
        if len(lists) < need:
            return _EMPTY
        counts = np.bincount(np.concatenate(lists) - lo, minlength=hi - lo)
        return np.flatnonzero(counts >= need) + lo
