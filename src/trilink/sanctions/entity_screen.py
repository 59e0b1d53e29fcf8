"""Screening of persons, organisations (suppliers, end users) and vessels by name and
identifier, across scripts and romanisations, against every entity of the lists in force.

Flow: ``EntityScreener(entities)`` indexes every name of every entity under keys
(``entity_key``); ``screen_many([EntityQuery…])`` decides each query by the rules below and
explains the decision (which fields, which list and entry, which rule). Pure: no I/O.

Rules, best first (score 0-100; a match needs ``MATCH_SCORE``):

* ``identifier-exact`` (100): a passport, national id, registration number, SWIFT/BIC or a
  company IMO equal to the listed one. IMO numbers are typed by the query: a vessel's
  7-digit identifier is a *ship* IMO (check digit), an organisation's a *company* IMO; a
  ship IMO never matches a company and a company IMO never a ship (``imo-type-differs`` is
  reported instead), whatever its check digit says.
* ``name-exact`` (100) / ``name-normalised`` (99): the same name, or the same once case,
  accents, punctuation, spacing and legal forms (Co., Ltd, LLC, JSC, 株式会社, 有限公司 …)
  are ignored; ``name-word-order`` (97): the same words in another order.
* ``name-romanised`` (95): one name is written in kana, hangul or Cyrillic, and the two are
  equal once romanised (``trilink.sanctions.translit``) and folded to a cross-romanisation
  skeleton; ``name-romanisation`` (94): two Latin names that both look Korean and meet on
  the skeleton (McCune-Reischauer / Revised Romanization: CHOL = CHEOL, PAK = BAK).
* ``name-fuzzy`` (100 - 60 x edits/letters): at most 12 % of the letters differ, never
  more than 3 edits, never under 8 letters; ``name-romanised-fuzzy`` the same on skeletons
  between two Korean-looking names, and for a kana/hangul/Cyrillic name against the Latin
  names up to 20 % of the skeleton (katakana renders foreign names loosely), scored
  100 - 50 x edits/letters. ``name-romanised`` also covers an equal consonant outline
  (vowels dropped) of 8+ consonants between a transliterated and a Latin name (91).
* Hard rules: names whose numbers differ never match (a company "No. 2" is not "No. 3");
  a query's type (Person, Organization, Vessel) restricts the entities compared.
* Country: when the query gives one and the entity's countries are known, agreement adds
  2 and disagreement takes 5 (nationality and address differ too often to exclude).
"""

from __future__ import annotations

import multiprocessing
import queue
import re
import threading
import unicodedata
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice, product
from typing import Any

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA
from rigour.names.org_types import replace_org_types_compare

from trilink.sanctions.entities import ORGANIZATION, PERSON, VESSEL
from trilink.sanctions.grams import GramIndex, PackedTexts, letter_counts
from trilink.sanctions.identifiers import check_imo, flag_iso3
from trilink.sanctions.normalize import fold_ascii, looks_korean
from trilink.sanctions.records import LIST_IDS, Entity
from trilink.sanctions.translit import consonants, is_han, romanise, skeleton_words

MATCH_SCORE = 90.0
MIN_FUZZY_LEN = 8
FUZZY_RATE = 0.12
MAX_EDITS = 3
MIN_OUTLINE = 6  # consonants an outline needs to be compared at all
TRANSLIT_RATE = 0.2  # share of skeleton letters that may differ after a transliteration
TRANSLIT_EDITS = 4
_LIST_RANK = {lid: i for i, lid in enumerate(LIST_IDS)}
_RULE_RANK = {
    "identifier-exact": 9,
    "name-exact": 8,
    "name-normalised": 7,
    "name-word-order": 6,
    "name-romanised": 5,
    "name-romanisation": 4,
    "name-fuzzy": 3,
    "name-legal-form-typo": 3,
    "name-word-typos": 3,
    "name-romanised-fuzzy": 2,
}
# Legal forms and filler words of organisation names, removed before comparing.
_LEGAL = frozenset(
    """CO COMPANY CORP CORPORATION INC INCORPORATED LTD LIMITED LLC LLP LP PLC JSC OJSC PJSC
    CJSC AO OAO ZAO PAO OOO TOO GMBH AG SA SAS SARL SRL SPA BV NV PTE PVT SDN BHD FZE FZCO
    FZC LTDA KK THE OF AND CIA SL GROUP HOLDING HOLDINGS PTY KG SIRKETI
    KANPANI KOPORESHON RIMITEDDO INKOPORETEDDO GURUPU""".split()
)
# Legal forms of several words, which no word of them names alone ("Public Security Bureau",
# "Joint Venture"): removed where all their words stand in this order, longest first.
_LEGAL_PHRASES = tuple(
    sorted(
        (
            tuple(p.split())
            for p in """LIMITED LIABILITY|JOINT STOCK|PUBLIC JOINT STOCK|OPEN JOINT STOCK|
            CLOSED JOINT STOCK|PRIVATE JOINT STOCK|NON PUBLIC JOINT STOCK|ANONIM SIRKETI|
            SOCIEDAD ANONIMA|SA DE CV|S DE RL|SAPI DE CV|DE CV|
            OBSHCHESTVO S OGRANICHENNOY OTVETSTVENNOSTYU|AKTSIONERNOE OBSHCHESTVO|
            OTKRYTOE AKTSIONERNOE OBSHCHESTVO|ZAKRYTOE AKTSIONERNOE OBSHCHESTVO|
            PUBLICHNOE AKTSIONERNOE OBSHCHESTVO|NEPUBLICHNOE AKTSIONERNOE OBSHCHESTVO|
            KABUSHIKI KAISHA|YUGEN KAISHA|GOSHI KAISHA|GOMEI KAISHA|SOCIETE ANONYME|
            GESELLSCHAFT MIT BESCHRANKTER HAFTUNG""".split("|")
        ),
        key=len,
        reverse=True,
    )
)
# Long legal words are recognised with a typo too ("Corportaion", "Comprny", "Limiited").
_LEGAL_LONG = tuple(w for w in _LEGAL if len(w) >= 5 and w.isalpha())
_LEGAL_WORDS = tuple(w for w in _LEGAL if w.isalpha())
_HAN_LEGAL = ("株式会社", "有限会社", "有限責任公司", "有限公司", "股份", "集团", "集團", "公司")
_APOS = re.compile(r"['\u2018\u2019`\u00b4\u02bb\u02bc]")
_NON_ALNUM = re.compile(r"[^A-Z0-9]+")
_PAREN = re.compile(r"[(（]([^()（）]*)[)）]")
_DOTTED = re.compile(r"(?<![A-Z0-9])[A-Z](?:\.[A-Z])+\.?(?![A-Z0-9])")
_ACRONYM = re.compile(r"^[A-Z][A-Z0-9&.\-]{1,9}$")


@dataclass(frozen=True, slots=True)
class EntityKey:
    text: str  # normalised words, spaced
    words: tuple[str, ...]
    compact: str  # letters and digits, no spaces, legal forms removed (organisations)
    sorted: str
    skel: str  # cross-romanisation skeleton of the letter words
    numsig: str
    han: str  # the Han characters of the name (legal forms removed), "" if none
    translit: bool  # romanised from kana, hangul or Cyrillic
    korean: bool

    @property
    def outline(self) -> str:
        """The consonant outline of the skeleton (see translit.consonants): only the index
        and a transliterated query need it, so it is not made for every query."""
        return consonants([self.skel])

    @property
    def empty(self) -> bool:
        return not self.compact and not self.han


_looks_korean = lru_cache(maxsize=65536)(looks_korean)  # per word: names share their words


def _entity_key(raw: str, organisation: bool = True) -> EntityKey:
    """Normalised keys of one name (``organisation``: legal forms are dropped)."""
    han = ""
    if not raw.isascii():
        letters_all = [c for c in raw if c.isalpha()]
        # Han characters are a key only for a name written in Han alone (丹東鴻祥実業発展有限公司),
        # not for kana names with a Han word in them (アル・ハラマイン財団).
        if letters_all and all(is_han(c) for c in letters_all):
            han = "".join(letters_all)
    if han:
        for suffix in _HAN_LEGAL:
            han = han.replace(suffix, "") if organisation and len(han) > len(suffix) else han
    latin, translit = romanise(raw)
    text = fold_ascii(latin).upper()
    if not text.isascii() or "'" in text or "`" in text:  # (most names have none)
        text = _APOS.sub("", text)
    text = text.replace("-", "")  # Ho-jin = Hojin; Al-Qaida = AlQaida (compact is spaceless)
    if "." in text:
        # dotted initials are one word: S.A.R.L = SARL (a legal form), S.A. de C.V. = SA DE CV
        text = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), text)
    words = [w for w in _NON_ALNUM.sub(" ", text).split() if w]
    if organisation and len(words) > 1:
        words = _without_legal(tuple(words)) or words
    letters = tuple(w for w in words if not w.isdigit())
    numbers = sorted(w.lstrip("0") or "0" for w in words if w.isdigit())
    skel_words = skeleton_words(letters)
    return EntityKey(
        text=" ".join(words),
        words=tuple(words),
        compact="".join(words),
        sorted=" ".join(sorted(words)),
        skel="".join(skel_words),
        numsig="|".join(numbers),
        han=han,
        translit=translit,
        korean=bool(letters) and all(map(_looks_korean, letters)),
    )


# Queries repeat names (a CSV re-screened, a watch list); building an index does not: it
# calls _entity_key, so a million listed names do not flush the queries' keys.
entity_key = lru_cache(maxsize=131072)(_entity_key)


def _closest_written_first(
    name: str, ranked: list[tuple[tuple[float, int, int, int], int]], listed: Callable[[int], str]
) -> None:
    """Among the entities tied with the best (score and rule), the one whose ``listed`` name
    is closest to the query as written first, legal forms in one spelling and in any order:
    for RASSVET OAO, "RASSVET, OAO" before "LIMITED LIABILITY COMPANY RASSVET"."""
    tied = 1
    while tied < len(ranked) and ranked[tied][0][:2] == ranked[0][0][:2]:
        tied += 1
    if tied > 1 and len({listed(ei) for _, ei in ranked[:tied]}) > 1:
        written = _written(name)
        ranked[:tied] = sorted(  # stable: list order stays the last tie-break
            ranked[:tied],
            key=lambda pair: -fuzz.token_sort_ratio(written, _written(listed(pair[1]))),
        )


@lru_cache(maxsize=65536)
def _written(name: str) -> str:
    """A name as written, case folded, legal forms in rigour's one spelling for each."""
    return replace_org_types_compare(name.casefold())


_MAX_READINGS = 8  # readings of a name with mistyped words tried (see _word_typos)
_SPELLED = range(5, 25)  # lengths of the words the spelling index corrects


def _deletes(word: str) -> set[str]:
    """``word`` and each of it with one letter deleted, two for 9+ letters."""
    out = {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}
    if len(word) >= 9:
        out |= {d[:i] + d[i + 1 :] for d in list(out) for i in range(len(d))}
    return out


def _deletes_index(words: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """``_deletes`` of each word of 5-24 letters -> the words: two words one edit apart (OSA),
    two for 9+ letters, share a key (a symmetric-delete spelling index)."""
    out: dict[str, list[str]] = defaultdict(list)
    for w in words:
        if len(w) in _SPELLED and w.isalpha():
            for k in _deletes(w):
                out[k].append(w)
    return {k: tuple(v) for k, v in out.items()}


def _one_edit_from(word: str, deletes: dict[str, tuple[str, ...]]) -> list[str]:
    """The words of a ``_deletes_index`` one edit (OSA) from ``word``, two for words of 9+
    letters, nearest first."""
    if len(word) not in _SPELLED or not word.isalpha():
        return []
    found: set[str] = set()
    for k in _deletes(word):
        found.update(deletes.get(k, ()))
    near = []
    for c in found:
        limit = 2 if min(len(c), len(word)) >= 9 else 1
        d = OSA.distance(word, c, score_cutoff=limit)
        if c != word and d <= limit:
            near.append((d, c))
    return [c for _, c in sorted(near)]


_PHRASE_FIRST = tuple(sorted({p[0] for p in _LEGAL_PHRASES}))
_LEGAL_PHRASE_WORDS = frozenset(w for p in _LEGAL_PHRASES for w in p)
_DROPPABLE_SET = frozenset(_LEGAL_WORDS) | _LEGAL_PHRASE_WORDS
_DROPPABLE = tuple(sorted(_DROPPABLE_SET))


@lru_cache(maxsize=65536)
def _mistyped_legal(word: str) -> bool:
    """A word that is a legal form or filler word with a typo a name's other rules cannot
    forgive: one edit for 2-4 letters (OOF, XND, TQE), two for 5+ (COPMANNY, GRSOPU)."""
    if len(word) < 2 or not word.isalpha() or word in _DROPPABLE_SET:
        return False
    limit = 2 if len(word) >= 5 else 1
    return _within(word, _DROPPABLE, limit)


def _typo_of_any(word: str, words: Sequence[str]) -> bool:
    """``word`` is one edit from one of ``words`` (two edits for 9+ letters)."""
    return _within(word, words, 2 if len(word) >= 9 else 1)


def _within(word: str, words: Sequence[str], limit: int) -> bool:
    """``word`` is at most ``limit`` edits (OSA) from one of ``words`` (one call into C)."""
    return process.extractOne(word, words, scorer=OSA.distance, score_cutoff=limit) is not None


@lru_cache(maxsize=65536)
def _is_legal(word: str) -> bool:
    """A legal form or filler word, or a long one mistyped ("Corportaion")."""
    if word in _LEGAL:
        return True
    return len(word) >= 5 and word.isalpha() and _typo_of_any(word, _LEGAL_LONG)


@lru_cache(maxsize=65536)
def _same_legal_word(word: str, legal: str) -> bool:
    """``word`` is the word ``legal`` of a legal form, or a long one mistyped."""
    if word == legal:
        return True
    return len(legal) >= 5 and len(word) >= 5 and _typo_of_any(word, (legal,))


@lru_cache(maxsize=65536)
def _phrases_from(word: str) -> tuple[tuple[str, ...], ...]:
    """The many-word legal forms whose first word ``word`` is, longest first."""
    if word not in _PHRASE_FIRST and (len(word) < 5 or not _typo_of_any(word, _PHRASE_FIRST)):
        return ()
    return tuple(p for p in _LEGAL_PHRASES if _same_legal_word(word, p[0]))


def _phrase_at(words: Sequence[str], i: int) -> int:
    """The number of words of the many-word legal form starting at ``words[i]``, or 0."""
    for phrase in _phrases_from(words[i]):
        if len(phrase) <= len(words) - i and all(
            _same_legal_word(w, p) for w, p in zip(words[i + 1 :], phrase[1:], strict=False)
        ):
            return len(phrase)
    return 0


@lru_cache(maxsize=65536)
def _without_legal(words: tuple[str, ...]) -> list[str]:
    """The words of an organisation name without its legal forms and filler words:
    "BM BANK PUBLIC JOINT STOCK COMPANY" -> BM BANK."""
    kept: list[str] = []
    i = 0
    while i < len(words):
        n = _phrase_at(words, i)
        if n:
            i += n
            continue
        if not _is_legal(words[i]):
            kept.append(words[i])
        i += 1
    return kept


_LEGAL_WORDS_3 = tuple(w for w in _LEGAL_WORDS if len(w) >= 3)
LEGAL_TYPO_PENALTY = 4.0
COUNTRY_AGREES = 2.0  # score added when the query's country is one of the entity's
COUNTRY_DIFFERS = -5.0  # ... and when the entity has countries, none of them the query's


@lru_cache(maxsize=65536)
def _near_legal(word: str) -> bool:
    """A word one edit from any legal form or filler word, short ones included (OPMANY, LD,
    OSAO). Only ever applied to the ends of a query name (see ``legal_typo_trimmed``): in
    ``_is_legal``, which drops words from every name, it would drop real words."""
    if len(word) == 2:
        # a letter dropped from a longer form (LD, CP) or two swapped (OC); two letters one
        # letter away from a two-letter form (BM / BV) are as likely initials of the name
        return word.isalpha() and (word[::-1] in _LEGAL or _typo_of_any(word, _LEGAL_WORDS_3))
    return len(word) > 2 and word.isalpha() and _typo_of_any(word, _LEGAL_WORDS)


def legal_typo_trimmed(words: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The words of an organisation name without the words at either end that look like a
    mistyped legal form, and those words; at least two letters' worth of words are kept."""
    kept = list(words)
    dropped: list[str] = []
    while len(kept) > 1 and _near_legal(kept[-1]):
        dropped.insert(0, kept.pop())
    while len(kept) > 1 and _near_legal(kept[0]):
        dropped.insert(0, kept.pop(0))
    return tuple(kept), tuple(dropped)


def name_variants(name: str) -> list[str]:
    """A listed name, the name without its parenthesised parts, and an acronym given in
    parentheses: "Korea Ryonbong General Corporation (KRGC)" -> also "KRGC"."""
    out = [name]
    inner = _PAREN.findall(name)
    if inner:
        bare = _PAREN.sub(" ", name).strip()
        if bare:
            out.append(bare)
        out += [x.strip() for x in inner if _ACRONYM.match(x.strip())]
    return out


def reading_order(name: str) -> str | None:
    """A person's name written "FAMILY, Given" (parenthesised parts dropped) in reading
    order, "Given FAMILY", or None. A name in kana, hangul or Cyrillic is written that way,
    and the fuzzy rules compare letters in order ("GERASIMOV, Valery" / ワレリー・ゲラシモフ)."""
    bare = _PAREN.sub(" ", name).strip()
    if bare.count(",") != 1:
        return None
    family, given = (part.strip() for part in bare.split(","))
    return f"{given} {family}" if family and given else None


@dataclass(frozen=True, slots=True)
class EntityQuery:
    name: str
    country: str = ""
    schema: str = ""  # Person, Organization, Vessel, or "" for any
    identifier: str = ""
    lists: tuple[str, ...] = ()  # screen against these lists only ("" = every list in force)


@dataclass(frozen=True, slots=True)
class EntityEvidence:
    field: str  # "name", "identifier", "country"
    rule: str
    score: float
    detail: str


@dataclass(frozen=True, slots=True)
class EntityMatch:
    entity: Entity
    score: float
    rule: str
    matched_name: str
    evidence: tuple[EntityEvidence, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class EntityResult:
    query: EntityQuery
    matched: bool
    best: EntityMatch | None
    candidates: tuple[EntityMatch, ...] = ()
    issues: tuple[str, ...] = ()


@dataclass
class _Fuzzy:
    rows: npt.NDArray[np.int64]  # name rows, by entity type, then by length of their key
    texts: PackedTexts  # the compared texts
    grams: GramIndex
    counts: npt.NDArray[np.uint8]  # letter counts A-Z and 0-9 per string (36 columns)
    # entity type -> first position of each key length in its segment (index L: the first
    # position of length >= L; the last entry is the segment's end)
    starts: dict[str, list[int]]

    def windows(self, schema: str) -> list[list[int]]:
        """The segments a query of this entity type compares (every type for "")."""
        if not schema:
            return list(self.starts.values())
        return [self.starts[schema]] if schema in self.starts else []

    @staticmethod
    def span(starts: list[int], short: int, long: int) -> tuple[int, int]:
        """Positions [lo, hi) of the names ``short``..``long`` letters long in a segment."""
        last = len(starts) - 1
        return starts[min(short, last)], starts[min(long + 1, last)]


@lru_cache(maxsize=1024)
def edit_bands(length: int, rate: float, max_edits: int) -> tuple[tuple[int, int, int], ...]:
    """(edits, shortest, longest): the lengths a name may have to lie within ``rate`` of the
    longer of it and a ``length``-letter query (never more than ``max_edits``), grouped in
    runs of the same edit budget. A name of length L is allowed
    ``min(max_edits, int(max(L, length) * rate))`` edits and must differ in length by at most
    that; lengths allowing no edit are left out (only equal keys match them, found by the
    exact lookups)."""
    bands: list[tuple[int, int, int]] = []
    for n in range(max(1, length - max_edits), length + max_edits + 1):
        k = min(max_edits, int(max(n, length) * rate))
        if k == 0 or abs(n - length) > k:
            continue
        if bands and bands[-1][0] == k and bands[-1][2] == n - 1:
            bands[-1] = (k, bands[-1][1], n)
        else:
            bands.append((k, n, n))
    return tuple(bands)


def _length_starts(lens: npt.NDArray[np.int64], offset: int) -> list[int]:
    """For sorted key lengths: the first position (plus ``offset``) of length >= L, for L =
    0 .. longest + 1."""
    longest = int(lens[-1]) if len(lens) else 0
    found = np.searchsorted(lens, np.arange(longest + 2), side="left")
    return [offset + int(x) for x in found]


SCHEMA_ALIASES = {
    "person": PERSON, "individual": PERSON, "organization": ORGANIZATION,
    "organisation": ORGANIZATION, "company": ORGANIZATION, "entity": ORGANIZATION,
    "supplier": ORGANIZATION, "vessel": VESSEL, "ship": VESSEL, "": "",
}  # fmt: skip


def parse_schema(text: str) -> str | None:
    """The entity type a user wrote (person, organisation, company, vessel …), or None."""
    return SCHEMA_ALIASES.get(text.strip().lower())


def _country(text: str) -> str | None:
    t = text.strip()
    if not t:
        return None
    return flag_iso3(t) or flag_iso3(t.split("\n")[-1]) or None


def _norm_id(text: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", fold_ascii(unicodedata.normalize("NFKC", text)).upper())


_ID_TOKEN = re.compile(r"[0-9A-Z][0-9A-Z\-/.]*[0-9A-Z]")


def id_tokens(text: str) -> set[str]:
    """The identifier(s) in a listed or queried value: the whole value normalised, and each
    token of 5+ letters/digits holding a digit ("チュニジア旅券 E590976（…）" -> E590976)."""
    t = fold_ascii(unicodedata.normalize("NFKC", text)).upper()
    out = {_norm_id(t)} if _norm_id(t) else set()
    for tok in _ID_TOKEN.findall(t):
        norm = re.sub(r"[^0-9A-Z]", "", tok)
        if len(norm) >= 5 and any(c.isdigit() for c in norm):
            out.add(norm)
    return out


class _Lookup:
    """Rows by key string, for millions of keys: the keys' 64-bit hashes sorted in a numpy
    array beside their rows (tens of megabytes where a dict of lists takes hundreds). Two
    different keys with the same hash would share rows; at a million keys the chance is
    about 3e-8."""

    _TOP = 16  # a directory by the hash's top bits narrows each search to a few keys

    def __init__(self, hashes: array[int], rows: array[int]) -> None:
        keyed = np.frombuffer(hashes, dtype=np.int64)
        order = np.argsort(keyed, kind="stable")  # rows of one key stay in row order
        ordered = keyed[order]
        # plain arrays, searched with bisect: a lookup is a few hundred nanoseconds, where a
        # numpy call on one value costs microseconds
        self._hashes = array("q", ordered.tobytes())
        self._rows = array("i", np.frombuffer(rows, dtype=np.int32)[order].tobytes())
        top = (ordered >> (64 - self._TOP)) + (1 << (self._TOP - 1))
        bucket_starts = np.searchsorted(top, np.arange((1 << self._TOP) + 1), side="left")
        self._dir = array("q", bucket_starts.astype(np.int64).tobytes())

    def get(self, key: str) -> list[int]:
        h = hash(key)
        t = (h >> (64 - self._TOP)) + (1 << (self._TOP - 1))
        hashes = self._hashes
        a = bisect_left(hashes, h, self._dir[t], self._dir[t + 1])
        b = a
        while b < len(hashes) and hashes[b] == h:  # most keys are one row
            b += 1
        return self._rows[a:b].tolist() if b > a else []


class _LookupBuilder:
    def __init__(self) -> None:
        self.hashes: array[int] = array("q")
        self.rows: array[int] = array("i")

    def add(self, key: str, row: int) -> None:
        self.hashes.append(hash(key))
        self.rows.append(row)

    def build(self) -> _Lookup:
        return _Lookup(self.hashes, self.rows)


@lru_cache(maxsize=4096)
def _countries_of(countries: tuple[str, ...]) -> frozenset[str]:
    # one frozenset per distinct country tuple: a million entities share a few hundred
    return frozenset(c for c in (_country(x) for x in countries) if c)


def _strongest(evidence: Iterable[EntityEvidence]) -> EntityEvidence:
    """The evidence that decides a match: highest score, then the stronger rule."""
    return max(evidence, key=lambda x: (x.score, _RULE_RANK.get(x.rule, 0)))


@dataclass(frozen=True, slots=True)
class _Ranked:
    """A query's matches ranked, not yet explained (what a forked worker sends back)."""

    kept: tuple[int, ...]  # entity indexes, best first
    evidence: tuple[tuple[EntityEvidence, ...], ...]  # of each kept entity
    rows: tuple[int | None, ...]  # the name row that met the query, of each
    country: str | None  # the query's country, as trilink knows it
    issues: tuple[str, ...]


class _EntityFacts:
    """What ranking reads of every entity a query meets, as plain arrays of small ints: a
    common name meets hundreds of entities of a million, and reading the entities
    themselves would write their reference counts, which in a forked worker copies a page
    of the parent's memory per entity (about 10 page faults per query at a million)."""

    def __init__(self, entities: Sequence[Entity]) -> None:
        self.schema_code = {sc: i for i, sc in enumerate(sorted({e.schema for e in entities}))}
        self._list_code = {lid: i for i, lid in enumerate(sorted({e.list_id for e in entities}))}
        self.schema = array("b", (self.schema_code[e.schema] for e in entities))
        self.list_code = array("h", (self._list_code[e.list_id] for e in entities))
        self.list_rank = array("b", (_LIST_RANK.get(e.list_id, 99) for e in entities))
        # the place of each entity's uid in uid order: the last tie-break, as the uid was
        uids = [e.uid for e in entities]
        self.uid_order = array("i", bytes(4 * len(uids)))
        for place, ei in enumerate(sorted(range(len(uids)), key=uids.__getitem__)):
            self.uid_order[ei] = place

    def allowed(self, lists: Sequence[str]) -> frozenset[int] | None:
        """The codes of ``lists`` (None: every list); a list no entity is on has none."""
        if not lists:
            return None
        return frozenset(self._list_code[x] for x in lists if x in self._list_code)


PARALLEL_MIN = 4000  # fewer queries than this are screened in-process
_CHILD_WAIT_S = 1.0  # how often the parent checks that a child it waits for is alive


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _guided_chunks(count: int, workers: int, smallest: int = 100) -> list[tuple[int, int]]:
    """[a, b) ranges of ``count`` queries, each a quarter of what is left per worker, down to
    ``smallest``: few claims while much is left, and the processes finish within a small
    chunk of each other (with equal chunks of 1,250 of 20,000, the parent waited about
    0.2 s of 2.2 for the child's last one)."""
    chunks: list[tuple[int, int]] = []
    at = 0
    while at < count:
        step = max(smallest, -(-(count - at) // (4 * workers)))
        chunks.append((at, min(at + step, count)))
        at += step
    return chunks


def _claim(counter: Any) -> int:
    """The next chunk to screen, shared by the parent and its forked children."""
    with counter.get_lock():
        at = int(counter.value)
        counter.value = at + 1
    return at


def _screen_claimed(
    screener: EntityScreener,
    queries: Sequence[EntityQuery],
    keep: bool,
    chunks: list[tuple[int, int]],
    counter: Any,
    results: Any,
) -> None:
    """A forked child: rank chunks until none is left, sending each with its number (entity
    indexes and evidence, not entities: the parent explains them); an error is sent, not
    lost."""
    try:
        while (at := _claim(counter)) < len(chunks):
            a, b = chunks[at]
            results.put((at, [screener._ranked(q, keep) for q in queries[a:b]]))
    except BaseException as exc:  # noqa: BLE001 (reported to the parent, which raises)
        results.put((-1, f"{type(exc).__name__}: {exc}"))
    finally:
        results.close()
        results.join_thread()  # everything sent before the child exits


class EntityScreener:
    """Index over the entities of the lists in force. Build once, screen many."""

    def __init__(self, entities: Iterable[Entity]) -> None:
        self.entities: list[Entity] = list(entities)
        # Per name row, only what a query needs: key hashes in the lookups, the strings the
        # fuzzy indexes compare, and a few flags. The keys themselves are not kept (a
        # million of them would take most of a gigabyte).
        row_entity = array("i")
        self._names: list[str] = []  # the listed name (or variant) of each row
        compact: list[str] = []
        skel: list[str] = []
        translit = array("b")
        reordered = array("b")
        korean = array("b")
        self._numsig: list[str] = []
        exact, by_words, by_skel, by_outline = (_LookupBuilder() for _ in range(4))
        ids = _LookupBuilder()
        id_owner = array("i")
        self._id_kinds: list[str] = []
        self._han: dict[str, list[int]] = defaultdict(list)
        self._countries: list[frozenset[str]] = []
        numsigs: dict[str, str] = {}
        org_words: set[str] = set()
        for ei, e in enumerate(self.entities):
            org = e.schema != PERSON
            self._countries.append(_countries_of(e.countries))
            taken: set[tuple[str, str]] = set()
            for ident in e.identifiers:
                if ident.kind in ("list_ref", "imo_invalid"):
                    continue
                for tok in id_tokens(ident.value):
                    if (tok, ident.kind) not in taken:
                        taken.add((tok, ident.kind))
                        ids.add(tok, len(id_owner))
                        id_owner.append(ei)
                        self._id_kinds.append(ident.kind)
            seen: set[str] = set()
            for n in e.names:
                variants = name_variants(n.text)
                # a person's "FAMILY, Given" also in reading order, last: only transliterated
                # queries compare it, within the Latin budget (see _fuzzy)
                turned = None if org else reading_order(n.text)
                reordered_at = len(variants) if turned else -1
                for at, variant in enumerate(variants + [turned] if turned else variants):
                    key = _entity_key(variant, org)
                    if key.empty or (key.compact + "|" + key.han) in seen:
                        continue
                    seen.add(key.compact + "|" + key.han)
                    row = len(self._names)
                    row_entity.append(ei)
                    self._names.append(variant)
                    compact.append(key.compact)
                    skel.append(key.skel)
                    translit.append(key.translit)
                    korean.append(key.korean)
                    reordered.append(at == reordered_at)
                    self._numsig.append(numsigs.setdefault(key.numsig, key.numsig))
                    if key.compact:
                        if at != reordered_at:  # Latin queries compare word order already
                            exact.add(key.compact, row)
                            by_words.add(key.sorted, row)
                        if key.skel:
                            by_skel.add(key.numsig + "#" + key.skel, row)
                        if len(key.outline) >= MIN_OUTLINE and at != reordered_at:
                            # a common given name first would make most of the outline
                            by_outline.add(key.numsig + "#" + key.outline, row)
                    if key.han:
                        self._han[key.han].append(row)
                    if org and not key.translit:
                        org_words.update(key.words)
        self._facts = _EntityFacts(self.entities)
        self._org_words = frozenset(org_words)
        self._org_word_deletes = _deletes_index(org_words)
        # per-row facts as plain arrays: each query reads them one row at a time, where a
        # numpy scalar costs several times a Python int
        self._row_entity = row_entity
        self._id_owner = np.frombuffer(id_owner, dtype=np.int32)
        self._ids = ids.build()
        self._exact, self._sorted = exact.build(), by_words.build()
        self._skel, self._outline = by_skel.build(), by_outline.build()
        self._translit, self._reordered, self._korean = translit, reordered, korean
        rows = range(len(self._names))
        # Fuzzy indexes: rows with a long enough key, grouped by entity type (a query of one
        # type compares only names of that type), then sorted by key length (it compares only
        # the window of compatible lengths, and the gram filter prunes that window).
        schemas = sorted({e.schema for e in self.entities})
        rank = {sc: i for i, sc in enumerate(schemas)}
        row_schema = [rank[self.entities[ei].schema] for ei in row_entity]
        # names in reading order ("Given FAMILY" of a listed "FAMILY, Given") only for
        # transliterated queries: Latin ones meet word order by their own rules
        self._f_plain = self._fuzzy_index(
            compact,
            [r for r in rows if len(compact[r]) >= MIN_FUZZY_LEN and not reordered[r]],
            row_schema, schemas,
        )  # fmt: skip
        self._f_phon = self._fuzzy_index(
            skel,
            [r for r in rows if len(compact[r]) >= MIN_FUZZY_LEN
             and (translit[r] or korean[r]) and skel[r] and not reordered[r]],
            row_schema, schemas, q=2,
        )  # fmt: skip
        # for a transliterated query (kana, hangul, Cyrillic): every Latin name's skeleton
        self._f_latin = self._fuzzy_index(
            skel,
            [r for r in rows if len(skel[r]) >= MIN_FUZZY_LEN - 2 and not translit[r]
             and not reordered[r]],
            row_schema, schemas, q=2,
        )  # fmt: skip
        # A listed "FAMILY, Given" read as "Given FAMILY" puts a common given name first,
        # where the loose budget would let it swallow the whole family name (ALEKSANDR
        # ERMAKOV / ALEKSANDR REMEZKOV): its own index, compared within the Latin budget.
        self._f_reordered = self._fuzzy_index(
            skel,
            [r for r in rows if len(skel[r]) >= MIN_FUZZY_LEN - 2 and reordered[r]],
            row_schema, schemas, q=2,
        )  # fmt: skip

    @staticmethod
    def _fuzzy_index(
        texts: Sequence[str], rows: list[int], row_schema: list[int], schemas: list[str],
        q: int = 3,
    ) -> _Fuzzy:  # fmt: skip
        rows.sort(key=lambda r: (row_schema[r], len(texts[r])))
        strings = [texts[r] for r in rows]
        grouped = np.fromiter((row_schema[r] for r in rows), dtype=np.int64, count=len(rows))
        bounds = np.searchsorted(grouped, np.arange(len(schemas) + 1), side="left")
        lens = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
        return _Fuzzy(
            rows=np.asarray(rows, dtype=np.int64),
            texts=PackedTexts(strings),
            grams=GramIndex(strings, q=q),
            counts=letter_counts(strings),
            starts={sc: _length_starts(lens[bounds[i]:bounds[i + 1]], int(bounds[i]))
                    for i, sc in enumerate(schemas) if bounds[i + 1] > bounds[i]},
        )  # fmt: skip

    @property
    def name_count(self) -> int:
        return len(self._names)

    def screen(self, query: EntityQuery) -> EntityResult:
        return self.screen_many([query], keep_candidates=True)[0]

    def screen_many(
        self, queries: Sequence[EntityQuery], *, keep_candidates: bool = False, workers: int = 1
    ) -> list[EntityResult]:
        """Screen ``queries`` in order. ``workers`` > 1 screens a large batch (a CSV run, a
        re-screen) in that many processes, this one and forked children sharing its index
        (copy-on-write, nothing rebuilt); a process with other threads running (a server)
        screens in-process."""
        if workers > 1 and len(queries) >= PARALLEL_MIN and _can_fork():
            return self._screen_forked(queries, keep_candidates, workers)
        return [self._screen(q, keep_candidates) for q in queries]

    def _screen_forked(
        self, queries: Sequence[EntityQuery], keep: bool, workers: int
    ) -> list[EntityResult]:
        """The parent and ``workers`` - 1 forked children claim chunks of the queries from
        a shared counter until none is left, each ranking its queries' matches; a child's
        come back pickled, by chunk number, and the parent explains them all at the end.
        (Compared with a pool of ``workers`` children: one process fewer to fork and stop,
        and half the results unpickled.)"""
        chunks = _guided_chunks(len(queries), workers)
        ctx = multiprocessing.get_context("fork")
        counter = ctx.Value("i", 0)
        results = ctx.Queue()
        children = [
            ctx.Process(
                target=_screen_claimed,
                args=(self, queries, keep, chunks, counter, results),
                daemon=True,
            )  # fmt: skip
            for _ in range(workers - 1)
        ]
        for child in children:
            child.start()
        done: dict[int, list[_Ranked]] = {}
        try:
            while (at := _claim(counter)) < len(chunks):
                a, b = chunks[at]
                done[at] = [self._ranked(q, keep) for q in queries[a:b]]
            while len(done) < len(chunks):
                try:
                    at, packed = results.get(timeout=_CHILD_WAIT_S)
                except queue.Empty:
                    if not any(child.is_alive() for child in children) and results.empty():
                        raise RuntimeError(
                            "a screening worker process stopped without sending its results"
                        ) from None
                    continue
                if at < 0:
                    raise RuntimeError(f"a screening worker process failed: {packed}")
                done[at] = packed
        finally:
            for child in children:
                child.join(timeout=5)
                if child.is_alive():
                    child.kill()
        # Explained only now, the children gone: explaining reads the kept entities, and
        # while a child shares the parent's pages each page read that way is copied.
        return [
            self._result(q, r, keep)
            for at, (a, b) in enumerate(chunks)
            for q, r in zip(queries[a:b], done[at], strict=True)
        ]

    # -- one query -------------------------------------------------------------------------

    def _screen(self, q: EntityQuery, keep: bool) -> EntityResult:
        return self._result(q, self._ranked(q, keep), keep)

    def _ranked(self, q: EntityQuery, keep: bool) -> _Ranked:
        """The entities ``q`` meets, ranked, the ones kept with their evidence (20 with
        ``keep``, else the best): everything but the explanation, which reads the
        entities themselves."""
        issues: list[str] = []
        schema = q.schema
        # entity index -> list of evidence
        ev: dict[int, list[EntityEvidence]] = defaultdict(list)
        names: dict[int, int] = {}  # entity index -> the name row that met the query
        if q.identifier.strip():
            self._by_identifier(q, schema, ev, issues)
        if q.name.strip():
            self._by_name(q, schema, ev, names, keep)
        qc = _country(q.country) if q.country else None
        if q.country and qc is None:
            issues.append(f"country {q.country!r} is not a country trilink knows; not used")
        # rank on scores first; explain only the matches kept (a common name can meet
        # hundreds of entities of a million, and one is kept)
        # (from the per-entity arrays: the entities themselves are read only for the kept
        # matches; see _EntityFacts)
        facts = self._facts
        want = facts.schema_code.get(schema, -1) if schema else None
        allowed = facts.allowed(q.lists)
        ranked: list[tuple[tuple[float, int, int, int], int]] = []
        for ei, evidence in ev.items():
            if (want is not None and facts.schema[ei] != want) or (
                allowed is not None and facts.list_code[ei] not in allowed
            ):
                continue
            top = _strongest(evidence)
            score = min(100.0, top.score + self._country_delta(ei, qc))
            rank = (-round(score, 1), -_RULE_RANK.get(top.rule, 0),
                    facts.list_rank[ei], facts.uid_order[ei])  # fmt: skip
            ranked.append((rank, ei))
        ranked.sort()
        _closest_written_first(q.name, ranked, lambda ei: self._listed_name(ei, names.get(ei)))
        kept = tuple(ei for _, ei in ranked[: 20 if keep else 1])
        return _Ranked(
            kept=kept,
            evidence=tuple(tuple(ev[ei]) for ei in kept),
            rows=tuple(names.get(ei) for ei in kept),
            country=qc,
            issues=tuple(issues),
        )

    def _result(self, q: EntityQuery, r: _Ranked, keep: bool) -> EntityResult:
        """``q``'s ranked matches explained."""
        kept = [
            self._match(ei, evidence, row, r.country)
            for ei, evidence, row in zip(r.kept, r.evidence, r.rows, strict=True)
        ]
        # the best match is the first (they are sorted by score) if it reaches MATCH_SCORE
        best = kept[0] if kept and kept[0].score >= MATCH_SCORE else None
        return EntityResult(
            query=q,
            matched=best is not None,
            best=best,
            candidates=tuple(kept) if keep else (),
            issues=r.issues,
        )

    def _listed_name(self, ei: int, row: int | None) -> str:
        """The name of entity ``ei`` that met the query (name ``row``), or its first name."""
        return self._names[row] if row is not None else self.entities[ei].name

    def _country_delta(self, ei: int, qc: str | None) -> float:
        """What the query's country adds to entity ``ei``'s score: +2 when one of its
        countries, -5 when it has others, nothing when either side has none."""
        if not qc or not self._countries[ei]:
            return 0.0
        return COUNTRY_AGREES if qc in self._countries[ei] else COUNTRY_DIFFERS

    def _match(
        self,
        ei: int,
        evidence: Sequence[EntityEvidence],
        row: int | None,
        qc: str | None,
    ) -> EntityMatch:
        """The match of entity ``ei`` (met by its name ``row``, if by a name), explained."""
        e = self.entities[ei]
        top = _strongest(evidence)
        score, rule = top.score, top.rule
        evidence = sorted(evidence, key=lambda x: -x.score)
        listed = self._listed_name(ei, row)
        if row is not None:  # which of the entity's names met the query, and its kind
            kind = next((n.kind for n in e.names if n.text == listed), "variant")
            evidence = [
                EntityEvidence(x.field, x.rule, x.score, f"{x.detail}: {kind} name {listed!r}")
                if x.field == "name" else x
                for x in evidence
            ]  # fmt: skip
        delta = self._country_delta(ei, qc)
        score = min(100.0, score + delta)
        if delta > 0:
            evidence.append(EntityEvidence("country", "country-agrees", delta, str(qc)))
        elif delta < 0:
            countries = ", ".join(sorted(self._countries[ei]))
            evidence.append(
                EntityEvidence("country", "country-differs", delta, f"{qc} vs {countries}")
            )
        reason = f"{rule} on {e.list_id} {e.entry_id} ({e.schema}): " + "; ".join(
            x.detail for x in evidence
        )
        return EntityMatch(
            entity=e,
            score=round(score, 1),
            rule=rule,
            matched_name=listed,
            evidence=tuple(evidence),
            reason=reason,
        )

    def _by_identifier(
        self,
        q: EntityQuery,
        schema: str,
        ev: dict[int, list[EntityEvidence]],
        issues: list[str],
    ) -> None:
        ident = _norm_id(q.identifier)
        if ident.startswith("IMO") and ident[3:].isdigit():
            ident = ident[3:]
        hits: list[tuple[int, str, str]] = []
        for tok in sorted({ident} | id_tokens(q.identifier)):
            for at in self._ids.get(tok):
                ei, kind = int(self._id_owner[at]), self._id_kinds[at]
                if all(h[0] != ei for h in hits):
                    hits.append((ei, kind, tok))
        seven = len(ident) == 7 and ident.isdigit()
        if seven and schema == VESSEL and not check_imo(ident).valid:
            issues.append(f"IMO {ident} fails the ship check digit; not used for a vessel")
            return
        for ei, kind, tok in hits:  # noqa: B007 (tok is used below)
            if seven and kind in ("imo", "imo_company"):
                want = "imo" if schema == VESSEL else "imo_company" if schema else kind
                if kind != want:
                    e = self.entities[ei]
                    what = "a ship IMO" if kind == "imo" else "a company IMO"
                    issues.append(
                        f"imo-type-differs: {ident} is {what} of {e.uid} {e.name!r}; a"
                        f" {schema or 'query'}'s number is never matched with it"
                    )
                    continue
            ev[ei].append(
                EntityEvidence("identifier", "identifier-exact", 100.0, f"{kind} {ident} equal")
            )

    def _by_name(
        self,
        q: EntityQuery,
        schema: str,
        ev: dict[int, list[EntityEvidence]],
        names: dict[int, int],
        keep: bool,
    ) -> None:
        found: dict[int, tuple[float, str, str]] = {}  # row -> (score, rule, detail)

        allowed = self._facts.allowed(q.lists)
        list_code, row_entity = self._facts.list_code, self._row_entity

        def add(rows: Iterable[int], score: float, rule: str, detail: str) -> None:
            for r in rows:
                if allowed is not None and list_code[row_entity[r]] not in allowed:
                    continue
                if r not in found or found[r][0] < score:
                    found[r] = (score, rule, detail)

        # the query's own name and the name without (…); an acronym in parentheses is a name
        # of a listed entity, but never searched alone for a query
        keys = [entity_key(v, schema != PERSON) for v in name_variants(q.name)[:2]]
        qtext = " ".join(q.name.casefold().split())
        for key in keys:
            if key.empty:
                continue
            if key.han and key.han in self._han:
                add(self._han[key.han], 100.0, "name-exact", "the same Han characters")
            if not key.compact:
                continue
            rows = self._exact.get(key.compact)
            for r in rows:
                if key.translit != self._translit[r]:
                    add([r], 96.0, "name-romanised", "the same name once romanised")
                    continue
                same = " ".join(self._names[r].casefold().split()) == qtext
                add(
                    [r],
                    100.0 if same else 99.0,
                    "name-exact" if same else "name-normalised",
                    "the same name"
                    if same
                    else "the same name once case, punctuation,"
                    " spacing and legal forms are ignored",
                )
            for r in self._sorted.get(key.sorted):
                if key.translit != self._translit[r]:
                    add([r], 95.0, "name-romanised", "the same words once romanised")
                else:
                    add([r], 97.0, "name-word-order", "the same words")
            for r in self._skel.get(key.numsig + "#" + key.skel):
                if key.translit or self._translit[r]:
                    add([r], 95.0, "name-romanised", f"equal once romanised ({key.skel})")
                elif key.korean and self._korean[r] and not self._reordered[r]:
                    add([r], 94.0, "name-romanisation", f"Korean romanisations ({key.skel})")
            if key.translit and len(key.outline) >= MIN_OUTLINE:
                for r in self._outline.get(key.numsig + "#" + key.outline):
                    if not self._translit[r]:
                        score = 91.0 if len(key.outline) >= 8 else 88.0
                        add([r], score, "name-romanised", f"same consonants once romanised"
                            f" ({key.outline})")  # fmt: skip
            if keep or not any(v[0] >= 99.0 for v in found.values()):
                self._fuzzy(key, add, schema)
        if schema != PERSON and keys and not any(v[0] >= 95.0 for v in found.values()):
            self._legal_typo(keys[-1], add, schema)
        if schema != PERSON and keys and not any(v[0] >= MATCH_SCORE for v in found.values()):
            self._word_typos(keys[-1], add)
        best: dict[int, tuple[float, int, int, str, str]] = {}
        for r, (score, rule, detail) in found.items():
            ei = self._row_entity[r]
            rank = _RULE_RANK.get(rule, 0)
            if ei not in best or (score, rank) > best[ei][:2]:
                best[ei] = (score, rank, r, rule, detail)
        for ei, (score, _rank, r, rule, detail) in best.items():
            names[ei] = r  # _match says which name and its kind
            ev[ei].append(EntityEvidence("name", rule, score, detail))

    def _legal_typo(
        self, key: EntityKey, add: Callable[[Iterable[int], float, str, str], None], schema: str
    ) -> None:
        """``name-legal-form-typo``: the name again without mistyped legal forms at its ends,
        by the exact, word-order and fuzzy rules, ``LEGAL_TYPO_PENALTY`` lower."""
        kept, dropped = legal_typo_trimmed(key.words)
        if not dropped or all(_near_legal(w) for w in kept):
            return  # a name of legal forms only ("Limited Company") is no name
        trimmed = entity_key(" ".join(kept), True)
        if len(trimmed.compact) < 4:
            return
        read = " ".join(dropped)

        def add_less(rows: Iterable[int], score: float, rule: str, detail: str) -> None:
            add(rows, score - LEGAL_TYPO_PENALTY, "name-legal-form-typo",
                f"{detail}, once {read!r} is read as a mistyped legal form")  # fmt: skip

        add_less(self._exact.get(trimmed.compact), 99.0, "", "the same name")
        add_less(self._sorted.get(trimmed.sorted), 97.0, "", "the same words")
        self._fuzzy(trimmed, add_less, schema)

    def _word_typos(
        self, key: EntityKey, add: Callable[[Iterable[int], float, str, str], None]
    ) -> None:
        """``name-word-typos``: an organisation name read word by word, each word a word of a
        listed organisation name, or one edit from one (words of 5+ letters), or a mistyped
        legal form or filler word, dropped ("COPMANNY", "OOF"); the reading is compared by
        the exact and word-order rules ("SAD IMPRT EXUPORT" -> SAD IMPORT EXPORT). A typo
        in each of several words, or in a word the other rules drop, is more edits than the
        fuzzy rule allows the whole name, but no more than one in any word, as a person
        typing makes."""
        if key.translit or len(key.compact) < MIN_FUZZY_LEN:
            return
        if all(w in self._org_words for w in key.words) or all(map(_is_legal, key.words)):
            return  # no word mistyped (the other rules compared it), or legal forms only
        choices: list[list[str]] = []
        for w in key.words:
            if w in self._org_words:
                choices.append([w])
                continue
            near = _one_edit_from(w, self._org_word_deletes)
            if _mistyped_legal(w):
                near.append("")
            if not near:
                return
            choices.append(near)
        for combo in islice(product(*choices), _MAX_READINGS):
            words = [c for c in combo if c]
            compact = "".join(words)
            if len(compact) < MIN_FUZZY_LEN - 2 or not words:
                continue
            mended = [(w, c) for w, c in zip(key.words, combo, strict=True) if w != c]
            dropped = [w for w, c in mended if not c]
            score = 100.0 - 60.0 * len(mended) / len(key.compact)
            score = round(score - (LEGAL_TYPO_PENALTY if dropped else 0.0), 1)
            parts = [f"{w}/{c}" for w, c in mended if c]
            parts += [f"{w!r} read as a mistyped legal form" for w in dropped]
            detail = f"{len(mended)} word(s) mistyped (" + ", ".join(parts) + ")"
            add(self._exact.get(compact), score, "name-word-typos", detail)
            add(self._sorted.get(" ".join(sorted(words))), score - 1.0, "name-word-typos",
                detail + ", words reordered")  # fmt: skip

    def _fuzzy(
        self,
        key: EntityKey,
        add: Callable[[Iterable[int], float, str, str], None],
        schema: str = "",
    ) -> None:
        if len(key.compact) < MIN_FUZZY_LEN:
            return
        # (compared text, index, on skeletons, loose: katakana renders foreign names loosely)
        passes = [(key.compact, self._f_plain, False, False)]
        if key.translit:
            passes.append((key.skel, self._f_latin, True, True))
            passes.append((key.skel, self._f_reordered, True, False))
        elif key.korean:
            passes.append((key.skel, self._f_phon, True, False))
        for text, idx, phon, loose in passes:
            tlen = len(text)
            if tlen < MIN_FUZZY_LEN - 2 or not len(idx.rows):
                continue
            rate = TRANSLIT_RATE if loose else FUZZY_RATE
            max_edits = TRANSLIT_EDITS if loose else MAX_EDITS
            # Each band of candidate lengths is filtered with its own edit budget: most of
            # the window allows fewer edits than its longest names (a 16-letter skeleton:
            # 3 edits for 13-19 letters, 4 only at 20), and the gram and letter-count
            # filters are much sharper for one edit less.
            bands = [
                (k, lo, hi)
                for (k, short, long), starts in product(
                    edit_bands(tlen, rate, max_edits), idx.windows(schema)
                )
                for lo, hi in (idx.span(starts, short, long),)
                if lo < hi
            ]
            if not bands:
                continue
            found, dists = idx.grams.search(
                text, np.array(bands, dtype=np.int64), idx.counts, idx.texts
            )
            for c, d in zip(found.tolist(), dists.tolist(), strict=True):
                row = int(idx.rows[c])
                if self._numsig[row] != key.numsig:
                    continue  # numbers differ: another entity (No. 2 / No. 3)
                size = max(idx.texts.length(c), tlen)
                # within the edit budget is a match: 12 % of the letters -> 92.8
                score = round(100.0 - 60.0 * d / size, 1)
                if loose:
                    # katakana renders foreign names loosely: 20 % of letters -> 90
                    score = round(100.0 - 50.0 * d / size, 1)
                if phon:
                    rule = "name-romanised-fuzzy"
                    detail = f"{d} edit(s) apart once romanised ({text} / {idx.texts[c]})"
                else:
                    rule = "name-fuzzy"
                    sim = round(100.0 * (1 - d / size), 1)
                    detail = f"{d} edit(s) apart (similarity {sim})"
                add([row], score, rule, detail)
