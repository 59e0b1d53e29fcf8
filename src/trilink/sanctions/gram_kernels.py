"""The compiled kernels of ``trilink.sanctions.grams`` (numba, cached on disk).

Top-level functions, not closures: numba caches a kernel that calls other kernels only when
they are module globals, and ``search`` calls three (a closure would compile for about two
seconds in every process).
"""

# mypy: disable-error-code="no-untyped-def"

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def count_filter(pos, start, at, lo, hi, need, max_edits, per_edit, scratch):
    ids = np.unique(at[at >= 0])  # the query's distinct grams that some string has
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
    # A shorter prefix by location (Ed-Join): the grams in order of slice size until
    # no max_edits edits can destroy them all. One edit destroys the grams starting in
    # at most per_edit consecutive places (a swap: q + 1), so the fewest edits that
    # destroy a set of places is a greedy cover; a name within max_edits edits keeps one
    # of those grams, so it is in one of their slices. A gram no string has is free.
    hit = at < 0
    taken = 0
    for j in range(-1, m):
        if j >= 0:
            g = ids[order[j]]
            for x in range(len(at)):
                if at[x] == g:
                    hit[x] = True
            if size[order[j]] > 0:
                taken += 1
            if taken >= prefix:
                break
        edits = 0
        reach = -1
        for x in range(len(at)):
            if hit[x] and x > reach:
                edits += 1
                reach = x + per_edit - 1
        if edits > max_edits:
            if taken == 0:
                return np.empty(0, np.int64)  # only grams no string has survive
            prefix = taken
            break
    # pass 1: every position of the prefix slices is a candidate (pigeonhole)
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
            v = scratch[p]
            ok = v + left >= need
            touched[kept] = p
            kept += ok
            scratch[p] = v * ok
        alive = kept
        if j == m or alive == 0:
            break
        i = order[j]
        if size[i] <= alive * 16:
            for k in range(first[i], last[i]):
                p = pos[k]
                v = scratch[p]
                scratch[p] = v + (v > 0)  # no branch: a candidate or not is a coin toss
        else:
            seg = pos[first[i] : last[i]]
            for c in range(alive):
                p = touched[c]
                where = np.searchsorted(seg, p)
                if where < len(seg) and seg[where] == p:
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
def group(gram_of, owners, start, out):
    fill = start[:-1].copy()
    for k in range(len(gram_of)):
        g = gram_of[k]
        out[fill[g]] = owners[k]
        fill[g] += 1


@numba.njit(cache=True, nogil=True)
def l1(counts, cands, query, limit):
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


@numba.njit(cache=True, nogil=True)
def osa_within(a, data, b0, b1, k, rows):
    """OSA distance of ``a`` and ``data[b0:b1]`` if at most ``k``, else k + 1: only the
    diagonal band |i - j| <= k is computed, and a row whose every cell exceeds k ends
    it (a transposition reaching row i passes a cell of row i - 1 no dearer)."""
    n, m = len(a), b1 - b0
    big = k + 1
    if abs(n - m) > k:
        return big
    prev2, prev, cur = rows[0], rows[1], rows[2]
    for j in range(m + 1):
        prev[j] = j if j <= k else big
    for i in range(1, n + 1):
        jlo, jhi = max(1, i - k), min(m, i + k)
        cur[0] = i if i <= k else big
        if jlo > 1:
            cur[jlo - 1] = big
        low = cur[0] if jlo == 1 else big
        ai = a[i - 1]
        for j in range(jlo, jhi + 1):
            bj = data[b0 + j - 1]
            v = prev[j - 1] + (0 if ai == bj else 1)
            if prev[j] + 1 < v:
                v = prev[j] + 1
            if cur[j - 1] + 1 < v:
                v = cur[j - 1] + 1
            if i > 1 and j > 1 and ai == data[b0 + j - 2] and a[i - 2] == bj:
                if prev2[j - 2] + 1 < v:
                    v = prev2[j - 2] + 1
            if v > big:
                v = big
            cur[j] = v
            if v < low:
                low = v
        if jhi < m:
            cur[jhi + 1] = big
        if low > k:
            return big
        prev2, prev, cur = prev, cur, prev2
    return prev[m]


_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)
_ONE = np.uint64(1)
_ZERO = np.uint64(0)


@numba.njit(cache=True, nogil=True)
def pattern_masks(a, masks):
    """For each byte value, the bits of the places it has in ``a`` (at most 64 long): what
    ``osa_bits`` reads. ``masks`` (256 uint64) is overwritten."""
    masks[:] = 0
    bit = _ONE
    for i in range(len(a)):
        masks[a[i]] |= bit
        bit <<= _ONE


@numba.njit(cache=True, nogil=True)
def osa_bits(masks, m, data, b0, b1, k):
    """OSA distance of a string of ``m`` <= 64 bytes (its ``pattern_masks``) and
    ``data[b0:b1]`` if at most ``k``, else k + 1: Hyyro's bit-vector recurrence (2003, "A
    bit-vector algorithm for computing Levenshtein and Damerau edit distances"), one
    column of the distance matrix per machine word, where the banded table costs up to
    2k + 1 cells a column. It stops once the last row, which moves by at most one a
    column, cannot come back within ``k``."""
    n = b1 - b0
    big = k + 1
    if abs(n - m) > k:
        return big
    if m == 0:
        return n if n <= k else big
    vp = _ONES >> np.uint64(64 - m)
    vn = _ZERO
    d0 = _ZERO
    before = _ZERO  # the previous column's match bits (a swap reads them)
    last = _ONE << np.uint64(m - 1)
    dist = m
    for j in range(n):
        pm = masks[data[b0 + j]]
        swapped = (((~d0) & pm) << _ONE) & before
        d0 = (((pm & vp) + vp) ^ vp) | pm | vn | swapped
        hp = vn | ~(d0 | vp)
        hn = d0 & vp
        if hp & last:
            dist += 1
        elif hn & last:
            dist -= 1
        hp = (hp << _ONE) | _ONE
        hn = hn << _ONE
        vp = hn | ~(d0 | hp)
        vn = hp & d0
        before = pm
        if dist - (n - 1 - j) > k:
            return big
    return dist if dist <= k else big


@numba.njit(cache=True, nogil=True)
def search(pos, start, at, n_grams, per_edit, bands, counts, data, offsets, query, scratch):
    wide = counts.shape[1]
    mine = np.zeros(wide, np.int64)
    for x in query:
        if 65 <= x <= 90:
            mine[x - 65] += 1
        elif 48 <= x <= 57:
            mine[26 + x - 48] += 1
    qc = np.minimum(mine, 255).astype(np.uint8)
    width = len(query) + 8
    for b in range(len(bands)):
        width = max(width, len(query) + bands[b, 0] + 2)
    rows = np.empty((3, width), np.int64)
    short = len(query) <= 64  # one machine word per column: the bit-vector distance
    masks = np.empty(256, np.uint64)
    if short:
        pattern_masks(query, masks)
    cap = 64
    found = np.empty(cap, np.int64)
    dists = np.empty(cap, np.int64)
    n = 0
    for b in range(len(bands)):
        k, lo, hi = bands[b, 0], bands[b, 1], bands[b, 2]
        need = n_grams - per_edit * k
        if need > 0:
            cands = count_filter(pos, start, at, lo, hi, need, k, per_edit, scratch)
        else:
            cands = np.arange(lo, hi)
        cands = l1(counts, cands, qc, 2 * k)
        for c in cands:
            if offsets[c + 1] - offsets[c] + 1 > rows.shape[1]:
                continue  # longer than any band allows: cannot be within k
            if short:
                d = osa_bits(masks, len(query), data, offsets[c], offsets[c + 1], k)
            else:
                d = osa_within(query, data, offsets[c], offsets[c + 1], k, rows)
            if 0 < d <= k:
                if n == cap:
                    cap *= 2
                    found = np.concatenate((found, np.empty(cap - n, np.int64)))
                    dists = np.concatenate((dists, np.empty(cap - n, np.int64)))
                found[n] = c
                dists[n] = d
                n += 1
    return found[:n], dists[:n]


@numba.njit(cache=True, nogil=True)
def gram_ids(raw, q, table):
    """The gram id at each position of an ASCII query (``table``: base-37 code of a gram of
    A-Z, 0-9 and space -> id, -1 for none) and the number of distinct grams. Grams with
    another character are in no indexed string: id -1, and all of them count as one
    distinct gram (fewer, never more)."""
    n = len(raw) - q + 1
    if n <= 0:
        return np.empty(0, np.int64), 0
    codes = np.empty(n, np.int64)
    for x in range(n):
        code = 0
        for j in range(q):
            c = raw[x + j]
            if 65 <= c <= 90:
                d = c - 65
            elif 48 <= c <= 57:
                d = c - 48 + 26
            elif c == 32:
                d = 36
            else:
                code = -1
                break
            code = code * 37 + d
        codes[x] = code
    at = np.empty(n, np.int64)
    for x in range(n):
        at[x] = table[codes[x]] if codes[x] >= 0 else -1
    distinct = len(np.unique(codes))
    return at, distinct
