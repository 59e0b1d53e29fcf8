"""Screening: which listed vessel (if any) a vessel seen at sea is, and why.

Middle of the flow: list parsers -> `Screener` (this module) -> CSV/CLI output and
`sanctions.hit` reports. Order of evidence:

1. identifiers: a valid IMO equal to a listed IMO decides (``imo-exact``); an MMSI equal to a
   listed MMSI matches but is flagged as weaker (MMSIs are re-issued and shared); a call sign
   only supports a name match;
2. names, indexed by normalised keys (`normalize.name_key`): exact, word order, romanisation,
   then a bounded edit distance (rapidfuzz OSA, vectorised with ``cdist``) within the names
   that carry the *same numbers*.

Hard rules, applied to every candidate whatever its score:
- two different valid IMO numbers never match (``rule: imo-conflict``);
- names whose numbers differ never match (JI SONG 6 is not JI SONG 8): candidates are only
  drawn from the block of names with the same number signature;
- an invalid identifier (bad check digit, placeholder MMSI) is reported and never used.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from rapidfuzz.distance import OSA
from rapidfuzz.process import cdist

from trilink.sanctions.grams import GramIndex
from trilink.sanctions.identifiers import (
    IdCheck,
    check_call_sign,
    check_imo,
    check_mmsi,
    flag_iso3,
)
from trilink.sanctions.normalize import NameKey, name_key
from trilink.sanctions.records import LIST_IDS, VesselRecord

AIS_NAME_LEN = 20  # AIS static data carries at most 20 characters of name
# Equal matches go to the list read first (OFAC, the UN, then the others: LIST_IDS).
_LIST_RANK = {lid: i for i, lid in enumerate(LIST_IDS)}
# Scores (0-100) each rule gives; the best one is the match's score.
SCORE_IMO = 100.0
SCORE_MMSI = 90.0
SCORE_CALL_SIGN = 70.0  # alone it is not a match: call signs are re-issued
SCORE_NAME_EXACT = 100.0
SCORE_WORD_ORDER = 97.0
SCORE_ROMANISATION = 95.0
SCORE_TRUNCATED = 90.0
_RULE_RANK = {
    "imo-exact": 90,
    "mmsi+name": 80,
    "call-sign+name": 70,
    "name-exact": 61,
    "name-normalised": 60,
    "name-word-order": 50,
    "name-romanisation": 50,
    "ais-truncated-name": 40,
    "name-fuzzy": 40,
    "mmsi-exact": 30,
}


FUZZY_EDIT_RATE = 0.15  # at most 15 % of the longer name's letters may differ
MIN_FUZZY_LEN = 6  # a 6-letter name can be 1 edit from a 7-letter one, no shorter
MAX_EDITS = 2  # never more, however long the name
_LEN_BUCKET = 3  # queries whose lengths differ by up to this share one cdist call
LARGE_BLOCK = 2000  # from this many names, a bigram count filter replaces the full cdist


def allowed_edits(max_len: int) -> int:
    """Edits (OSA: insert, delete, substitute, swap) tolerated between two compact names:
    0 below 7 letters (GILDA/GILLA and LADY D/LADY H are different ships), 1 up to 13,
    2 from 14."""
    return min(int(max_len * FUZZY_EDIT_RATE), MAX_EDITS)


@dataclass(frozen=True, slots=True)
class Query:
    """One vessel to screen; every field may be empty."""

    name: str = ""
    imo: str = ""
    mmsi: str = ""
    call_sign: str = ""
    flag: str = ""


@dataclass(frozen=True, slots=True)
class Evidence:
    field: str  # imo, mmsi, call_sign, name, flag
    rule: str
    score: float
    detail: str


@dataclass(frozen=True, slots=True)
class Match:
    """A listed vessel the query matched, with every piece of evidence."""

    vessel: VesselRecord
    score: float
    rule: str
    matched_name: str
    evidence: tuple[Evidence, ...]
    also_listed: tuple[str, ...] = ()  # uids of the same vessel (same IMO) on other lists
    equally_good: tuple[str, ...] = ()  # other vessels that match just as well: ambiguous

    @property
    def reason(self) -> str:
        text = "; ".join(e.detail for e in self.evidence)
        if self.also_listed:
            text += "; also listed as " + ", ".join(self.also_listed)
        if self.equally_good:
            text += (
                "; AMBIGUOUS, matches equally: "
                + ", ".join(self.equally_good)
                + " (confirm with IMO/MMSI)"
            )
        return text


@dataclass(frozen=True, slots=True)
class ScreenResult:
    query: Query
    matched: bool
    best: Match | None
    candidates: tuple[Match, ...] = ()  # every match, best first
    excluded: tuple[str, ...] = ()  # candidates a hard rule removed, and why
    issues: tuple[str, ...] = ()  # problems with the query's own identifiers
    checks: tuple[IdCheck, ...] = field(default=())


@dataclass(slots=True)
class _Block:
    """Names sharing one number signature, sorted by compact length for length windows."""

    rows: np.ndarray  # name-row ids
    compact: list[str]
    phon: list[str]
    lens: np.ndarray
    korean: np.ndarray  # bool per row: romanisation folding allowed
    grams: GramIndex | None = None  # bigram count filters, only for large blocks
    phon_grams: GramIndex | None = None


class Screener:
    """Index over the vessels of the loaded lists. Build once, screen many."""

    def __init__(self, vessels: Iterable[VesselRecord]) -> None:
        self.vessels: list[VesselRecord] = list(vessels)
        self._by_imo: dict[str, list[int]] = defaultdict(list)
        self._by_mmsi: dict[str, list[int]] = defaultdict(list)
        self._by_cs: dict[str, list[int]] = defaultdict(list)
        self._row_vessel: list[int] = []
        self._row_name: list[str] = []
        self._row_kind: list[str] = []
        self._row_key: list[NameKey] = []
        self._exact: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._sorted: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._phon: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._long: list[int] = []  # rows whose name is longer than AIS can carry
        for vi, v in enumerate(self.vessels):
            if v.imo:
                self._by_imo[v.imo].append(vi)
            for m in v.mmsis:
                self._by_mmsi[m].append(vi)
            for c in v.call_signs:
                self._by_cs[c].append(vi)
            seen: set[str] = set()
            for name, kind in v.all_names():
                key = name_key(name)
                if key.empty or key.text in seen:
                    continue
                seen.add(key.text)
                row = len(self._row_key)
                self._row_vessel.append(vi)
                self._row_name.append(name)
                self._row_kind.append(kind)
                self._row_key.append(key)
                self._exact[(key.numsig, key.compact)].append(row)
                self._sorted[(key.numsig, key.sorted)].append(row)
                self._phon[(key.numsig, key.phonetic)].append(row)
                if len(key.text) > AIS_NAME_LEN:
                    self._long.append(row)
        # sorted normalised long names, for prefix search of AIS-truncated names
        self._long.sort(key=lambda r: self._row_key[r].text)
        self._long_texts = [self._row_key[r].text for r in self._long]
        self._long_rows = list(self._long)
        self._blocks: dict[str, _Block] = {}
        by_sig: dict[str, list[int]] = defaultdict(list)
        for row, key in enumerate(self._row_key):
            if len(key.compact) >= MIN_FUZZY_LEN:  # shorter names only match exactly
                by_sig[key.numsig].append(row)
        for sig, rows in by_sig.items():
            rows.sort(key=lambda r: len(self._row_key[r].compact))
            self._blocks[sig] = _Block(
                rows=np.asarray(rows, dtype=np.int64),
                compact=[self._row_key[r].compact for r in rows],
                phon=[self._row_key[r].phonetic for r in rows],
                lens=np.asarray([len(self._row_key[r].compact) for r in rows], dtype=np.int64),
                korean=np.asarray([self._row_key[r].korean for r in rows], dtype=np.bool_),
            )
            block = self._blocks[sig]
            if len(rows) >= LARGE_BLOCK:
                block.grams = GramIndex(block.compact)
                block.phon_grams = GramIndex(block.phon, include=block.korean.tolist())

    @property
    def name_count(self) -> int:
        return len(self._row_key)

    # -- public API ----------------------------------------------------------------------

    def screen(self, query: Query) -> ScreenResult:
        """Screen one vessel, keeping every candidate for a full explanation."""
        return self.screen_many([query], keep_candidates=True)[0]

    def screen_many(
        self, queries: Sequence[Query], *, keep_candidates: bool = False
    ) -> list[ScreenResult]:
        """Screen a batch. Name similarity is computed block-wise with rapidfuzz ``cdist``."""
        keys = [name_key(q.name) if q.name.strip() else None for q in queries]
        fuzzy = self._fuzzy_rows(keys)
        return [
            self._decide(q, k, fuzzy.get(i, {}), keep_candidates)
            for i, (q, k) in enumerate(zip(queries, keys, strict=True))
        ]

    # -- name candidates -------------------------------------------------------------------

    def _fuzzy_rows(self, keys: Sequence[NameKey | None]) -> dict[int, dict[int, int]]:
        """query index -> {name row: edit distance} for rows within the allowed distance.

        Queries are grouped by number signature (names with other numbers are never compared)
        and, within a group, by length buckets, so each rapidfuzz ``cdist`` call compares a
        bucket of queries with the block names of compatible lengths only.
        """
        out: dict[int, dict[int, int]] = defaultdict(dict)
        groups: dict[str, list[int]] = defaultdict(list)
        for qi, key in enumerate(keys):
            if (
                key is not None
                and len(key.compact) >= MIN_FUZZY_LEN
                and key.numsig in self._blocks
            ):
                groups[key.numsig].append(qi)
        for sig, members in groups.items():
            block = self._blocks[sig]
            if block.grams is not None:
                for qi in members:
                    key = keys[qi]
                    if key is not None:
                        self._fuzzy_filtered(qi, key, block, out)
                continue
            members.sort(key=lambda qi: len(keys[qi].compact))  # type: ignore[union-attr]
            start = 0
            while start < len(members):
                first_len = len(keys[members[start]].compact)  # type: ignore[union-attr]
                end = start
                while (
                    end < len(members)
                    and len(keys[members[end]].compact) - first_len <= _LEN_BUCKET  # type: ignore[union-attr]
                ):
                    end += 1
                self._fuzzy_bucket(keys, members[start:end], block, out)
                start = end
        return out

    def _fuzzy_filtered(
        self, qi: int, key: NameKey, block: _Block, out: dict[int, dict[int, int]]
    ) -> None:
        """One query against a large block, through the bigram count filter (lossless)."""
        qlen = len(key.compact)
        k = allowed_edits(qlen + MAX_EDITS)  # the most any candidate in the window allows
        lo = int(np.searchsorted(block.lens, qlen - k, side="left"))
        hi = int(np.searchsorted(block.lens, qlen + k, side="right"))
        passes = [(key.compact, block.compact, block.grams)]
        if key.korean:
            passes.append((key.phonetic, block.phon, block.phon_grams))
        found = out[qi]
        for text, names, grams in passes:
            assert grams is not None
            cands = grams.candidates(text, k, lo, hi)
            pos = np.arange(lo, hi, dtype=np.int64) if cands is None else cands
            if names is block.phon:
                pos = pos[block.korean[pos]]
            if not len(pos):
                continue
            clens = block.lens[pos]
            limits = np.minimum(
                (np.maximum(clens, qlen) * FUZZY_EDIT_RATE).astype(np.int32), MAX_EDITS
            )
            keep = np.abs(clens - qlen) <= limits
            pos, limits = pos[keep], limits[keep]
            if not len(pos):
                continue
            dist = cdist([text], [names[p] for p in pos.tolist()], scorer=OSA.distance,
                         score_cutoff=MAX_EDITS, dtype=np.int32, workers=1)[0]  # fmt: skip
            for j in np.flatnonzero(dist <= limits).tolist():
                row = int(block.rows[pos[j]])
                d = int(dist[j])
                if d < found.get(row, MAX_EDITS + 1):
                    found[row] = d

    def _fuzzy_bucket(
        self,
        keys: Sequence[NameKey | None],
        qidx: list[int],
        block: _Block,
        out: dict[int, dict[int, int]],
    ) -> None:
        qkeys = [k for i in qidx if (k := keys[i]) is not None]
        qlens = np.asarray([len(k.compact) for k in qkeys], dtype=np.int64)
        lo = int(np.searchsorted(block.lens, int(qlens[0]) - MAX_EDITS, side="left"))
        hi = int(np.searchsorted(block.lens, int(qlens[-1]) + MAX_EDITS, side="right"))
        if lo >= hi:
            return
        # Threads only pay off on big matrices.
        workers = -1 if len(qkeys) * (hi - lo) > 200_000 else 1
        dist = cdist([k.compact for k in qkeys], block.compact[lo:hi], scorer=OSA.distance,
                     score_cutoff=MAX_EDITS, dtype=np.int32, workers=workers)  # fmt: skip
        qk = np.asarray([k.korean for k in qkeys], dtype=np.bool_)
        both_korean = qk[:, None] & block.korean[lo:hi][None, :]
        if both_korean.any():
            # Romanisation folding only between two Korean-looking names.
            d_p = cdist([k.phonetic for k in qkeys], block.phon[lo:hi], scorer=OSA.distance,
                        score_cutoff=MAX_EDITS, dtype=np.int32, workers=workers)  # fmt: skip
            dist = np.where(both_korean, np.minimum(dist, d_p), dist)
        max_len = np.maximum(block.lens[lo:hi][None, :], qlens[:, None])
        # cdist reports every distance above the cutoff as cutoff + 1: never allowed.
        allowed = np.minimum((max_len * FUZZY_EDIT_RATE).astype(np.int32), MAX_EDITS)
        qi_arr, ci_arr = np.nonzero(dist <= allowed)
        for a, b in zip(qi_arr.tolist(), ci_arr.tolist(), strict=True):
            out[qidx[a]][int(block.rows[lo + b])] = int(dist[a, b])

    def _name_evidence(
        self, key: NameKey, row: int, dist: int | None, raw: str
    ) -> Evidence | None:
        cand = self._row_key[row]
        if cand.numsig != key.numsig:
            return None
        listed = f"{self._row_kind[row]} name {self._row_name[row]!r}"
        if cand.compact == key.compact:
            if " ".join(raw.upper().split()) == " ".join(self._row_name[row].upper().split()):
                return Evidence("name", "name-exact", SCORE_NAME_EXACT, f"name equals {listed}")
            return Evidence(
                "name",
                "name-normalised",
                SCORE_NAME_EXACT,
                f"name equals {listed} once case, spacing, hyphens and 'NO.' are ignored",
            )
        if cand.sorted == key.sorted:
            return Evidence(
                "name", "name-word-order", SCORE_WORD_ORDER, f"same words as {listed}, reordered"
            )
        if cand.phonetic == key.phonetic and cand.korean and key.korean:
            return Evidence(
                "name",
                "name-romanisation",
                SCORE_ROMANISATION,
                f"name is a romanisation variant of {listed} ({key.phonetic})",
            )
        if dist is not None:
            max_len = max(len(cand.compact), len(key.compact))
            score = round(100.0 * (1.0 - dist / max_len), 1)
            return Evidence(
                "name",
                "name-fuzzy",
                score,
                f"name is {dist} edit{'s' if dist > 1 else ''} from {listed} "
                f"(similarity {score:.1f}, numbers equal: {key.numsig or 'none'})",
            )
        return None

    def _name_rows(self, key: NameKey, raw: str, fuzzy: dict[int, int]) -> dict[int, int | None]:
        rows: dict[int, int | None] = dict(fuzzy)
        for table, k in (
            (self._exact, key.compact),
            (self._sorted, key.sorted),
            (self._phon, key.phonetic if key.korean else None),
        ):
            if k is None:
                continue
            for r in table.get((key.numsig, k), ()):
                rows.setdefault(r, None)
        return rows

    def _truncated(self, raw: str) -> list[int]:
        text = " ".join(raw.upper().split())
        if len(text) != AIS_NAME_LEN:
            return []
        probe = name_key(text).text
        out = []
        i = bisect_left(self._long_texts, probe)
        while i < len(self._long_texts) and self._long_texts[i].startswith(probe):
            out.append(self._long_rows[i])
            i += 1
        return out

    # -- decision --------------------------------------------------------------------------

    def _decide(
        self, q: Query, key: NameKey | None, fuzzy: dict[int, int], keep: bool
    ) -> ScreenResult:
        issues: list[str] = []
        checks: list[IdCheck] = []

        def checked(what: str, raw: str, check: Callable[[str], IdCheck]) -> str | None:
            if not raw.strip():
                return None
            c = check(raw)
            checks.append(c)
            if not c.valid:
                issues.append(f"{what} {raw.strip()!r} not used: {c.problem}")
                return None
            return c.value

        imo = checked("IMO", q.imo, check_imo)
        mmsi = checked("MMSI", q.mmsi, check_mmsi)
        cs = checked("call sign", q.call_sign, check_call_sign)
        flag = flag_iso3(q.flag) if q.flag.strip() else None
        if q.flag.strip() and flag is None:
            issues.append(f"flag {q.flag.strip()!r} is not a known state; ignored")

        ev: dict[int, list[Evidence]] = defaultdict(list)
        names: dict[int, str] = {}
        if imo:
            for vi in self._by_imo.get(imo, ()):
                ev[vi].append(
                    Evidence("imo", "imo-exact", SCORE_IMO, f"IMO {imo} equals listed IMO")
                )
        if mmsi:
            for vi in self._by_mmsi.get(mmsi, ()):
                shared = len(self._by_mmsi[mmsi]) > 1
                ev[vi].append(
                    Evidence(
                        "mmsi",
                        "mmsi-exact",
                        SCORE_MMSI,
                        f"MMSI {mmsi} equals a listed MMSI"
                        + (" (listed for several vessels)" if shared else ""),
                    )
                )
        if cs:
            for vi in self._by_cs.get(cs, ()):
                ev[vi].append(
                    Evidence(
                        "call_sign", "call-sign", SCORE_CALL_SIGN, f"call sign {cs} is listed"
                    )
                )
        if key is not None and not key.empty:
            best_name: dict[int, Evidence] = {}
            rows = self._name_rows(key, q.name, fuzzy)
            for r in self._truncated(q.name):
                rows.setdefault(r, -1)
            for row, dist in rows.items():
                if dist == -1:
                    e: Evidence | None = Evidence(
                        "name",
                        "ais-truncated-name",
                        SCORE_TRUNCATED,
                        f"name is the 20-character AIS truncation of {self._row_name[row]!r}",
                    )
                else:
                    e = self._name_evidence(key, row, dist, q.name)
                vi = self._row_vessel[row]
                if e is not None and (
                    vi not in best_name
                    or (e.score, _RULE_RANK[e.rule])
                    > (best_name[vi].score, _RULE_RANK[best_name[vi].rule])
                ):
                    best_name[vi] = e
                    names[vi] = self._row_name[row]
            for vi, e in best_name.items():
                ev[vi].append(e)

        matches: list[Match] = []
        excluded: list[str] = []
        for vi, evidence in ev.items():
            v = self.vessels[vi]
            if imo and v.imo and v.imo != imo:
                excluded.append(
                    f"{v.uid} {v.name!r}: IMO {imo} differs from listed IMO {v.imo} "
                    "(rule imo-conflict: two different valid IMOs never match)"
                )
                continue
            m = self._combine(v, evidence, names.get(vi, v.name), flag)
            if m is not None:
                matches.append(m)
        matches.sort(
            key=lambda m: (
                -m.score,
                -_RULE_RANK.get(m.rule, 0),
                -len(m.evidence),
                _LIST_RANK.get(m.vessel.list_id, 99),
                m.vessel.uid,
            )
        )
        matches = self._merge_same_vessel(matches)
        if len(matches) > 1:
            top = matches[0]
            ties = tuple(
                f"{m.vessel.uid} {m.vessel.name!r}"
                + (f" IMO {m.vessel.imo}" if m.vessel.imo else "")
                for m in matches[1:]
                if m.score == top.score and _RULE_RANK.get(m.rule) == _RULE_RANK.get(top.rule)
            )
            if ties:
                matches[0] = replace(top, equally_good=ties)
        best = matches[0] if matches else None
        return ScreenResult(
            query=q,
            matched=best is not None,
            best=best,
            candidates=tuple(matches) if keep else (),
            excluded=tuple(excluded),
            issues=tuple(issues),
            checks=tuple(checks),
        )

    def _combine(
        self, v: VesselRecord, evidence: list[Evidence], matched_name: str, flag: str | None
    ) -> Match | None:
        by_field = {e.field: e for e in evidence}
        name_e = by_field.get("name")
        if "imo" in by_field:
            rule, score = "imo-exact", SCORE_IMO
        elif "mmsi" in by_field and name_e is not None:
            rule, score = "mmsi+name", min(100.0, max(SCORE_MMSI, name_e.score) + 5.0)
        elif "call_sign" in by_field and name_e is not None:
            rule, score = "call-sign+name", min(100.0, name_e.score + 5.0)
        elif name_e is not None:
            rule, score = name_e.rule, name_e.score
        elif "mmsi" in by_field:
            rule, score = "mmsi-exact", SCORE_MMSI
        else:
            return None  # a call sign alone is not a match
        extra = list(evidence)
        if flag is not None:
            if flag in v.flags:
                extra.append(Evidence("flag", "flag", 0.0, f"flag {flag} is a listed flag"))
            elif flag in v.former_flags:
                extra.append(Evidence("flag", "flag", 0.0, f"flag {flag} is a former flag"))
            elif v.flags:
                extra.append(
                    Evidence(
                        "flag",
                        "flag",
                        0.0,
                        f"flag {flag} differs from listed {'/'.join(v.flags)} (re-flagging?)",
                    )  # fmt: skip
                )
        extra.sort(key=lambda e: ("imo", "mmsi", "call_sign", "name", "flag").index(e.field))
        return Match(
            vessel=v,
            score=score,
            rule=rule,
            matched_name=matched_name if name_e is not None else v.name,
            evidence=tuple(extra),
        )

    @staticmethod
    def _merge_same_vessel(matches: list[Match]) -> list[Match]:
        """One vessel listed by OFAC and the UN (same IMO) is one match citing both entries."""
        out: list[Match] = []
        first_by_imo: dict[str, int] = {}
        for m in matches:
            imo = m.vessel.imo
            if imo and imo in first_by_imo:
                i = first_by_imo[imo]
                head = out[i]
                out[i] = replace(head, also_listed=head.also_listed + (m.vessel.uid,))
                continue
            if imo:
                first_by_imo[imo] = len(out)
            out.append(m)
        return out
