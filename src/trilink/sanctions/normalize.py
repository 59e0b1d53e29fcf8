"""Vessel-name normalisation: the keys the screener indexes and compares.

A name is reduced to its letter words and its numbers, kept apart: the numbers must agree
exactly for two names to match (sister ships such as JI SONG 6 and JI SONG 8 differ only
there), while the letters may differ in case, spacing, hyphens, "NO."/"NO" numbering, word
order and Korean romanisation (CHON MA SAN / CHONMASAN / JEON MA SAN).

Keys per name:
``compact``   letters without spaces, in order     ``CHONMASAN``
``sorted``    letter words sorted, then joined      order-free form
``phonetic``  ``compact`` folded over the usual McCune-Reischauer / Revised Romanisation
              differences (CH/J, K/G, P/B, T/D, R/L, EO/O, EU/U, SH/S, doubled letters)
``numsig``    the numbers, leading zeros dropped, sorted, ``|``-joined
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_APOSTROPHES = re.compile(r"['\u2018\u2019`\u00b4]")
_PREFIX = re.compile(r"^(?:M\s*/\s*[VT]|M\.\s*[VT]\.?|MV|MT)\s+(?=\S)")
_NUMBERING = re.compile(r"(?<![A-Z0-9])(?:NO|NR|NUM|N)\s*[.:#]?\s*(?=\d)|#\s*(?=\d)")
_SPLIT_ALNUM = re.compile(r"(?<=[A-Z])(?=\d)|(?<=\d)(?=[A-Z])")
_NON_ALNUM = re.compile(r"[^A-Z0-9]+")
_ROMAN = {
    "II": "2", "III": "3", "IV": "4", "V": "5", "VI": "6", "VII": "7", "VIII": "8", "IX": "9",
    "X": "10", "XI": "11", "XII": "12", "XIII": "13", "XIV": "14", "XV": "15", "XVI": "16",
    "XVII": "17", "XVIII": "18", "XIX": "19", "XX": "20",
}  # fmt: skip
# Applied in order on the compact letters. Each pair is a spelling difference between the
# romanisation systems (or their common informal variants), folded to one form.
_FOLDS = (
    ("TCH", "CH"),
    ("SH", "S"),
    ("CH", "J"),
    ("PH", "P"),
    ("TH", "T"),
    ("KH", "K"),
    ("YEO", "YO"),
    ("EO", "O"),
    ("EU", "U"),
    ("OO", "U"),
    ("G", "K"),
    ("B", "P"),
    ("D", "T"),
    ("L", "R"),
)
_DOUBLES = re.compile(r"(.)\1+")
# One syllable of Korean in McCune-Reischauer or Revised Romanisation (initial, vowel,
# final). A word made only of such syllables "looks Korean"; romanisation folding is applied
# only between two Korean-looking names, so that English names (NEW LEGEND / NEW REGENT)
# are never folded together.
_KO_SYLLABLE = (
    r"(?:KK|TT|PP|SS|JJ|TCH|CH|PH|TH|KH|SH|K|G|N|D|T|R|L|M|B|P|S|J|H)?"
    r"(?:YAE|YEO|YE|YA|YO|YU|WAE|WA|WO|WE|WI|OE|AE|EO|EU|UI|OO|A|E|I|O|U)"
    r"(?:NG|NK|K|N|T|L|M|P|R|S|G|B|D)??"
)
_KO_WORD = re.compile(rf"^(?:{_KO_SYLLABLE})+$")


@dataclass(frozen=True, slots=True)
class NameKey:
    """Normalised forms of one vessel name (see module docstring)."""

    text: str  # normalised, spaced, numbers included: "JI SONG 6"
    words: tuple[str, ...]  # letter words in order
    numbers: tuple[str, ...]  # numbers in order, no leading zeros
    compact: str
    sorted: str
    phonetic: str
    numsig: str
    korean: bool  # every letter word is a Korean romanisation (see _KO_SYLLABLE)

    @property
    def empty(self) -> bool:
        return not self.compact and not self.numbers


def fold_ascii(text: str) -> str:
    if text.isascii():
        return text
    norm = unicodedata.normalize("NFKD", text)
    return "".join(c for c in norm if not unicodedata.combining(c))


def phonetic(compact: str) -> str:
    out = compact
    for a, b in _FOLDS:
        out = out.replace(a, b)
    return _DOUBLES.sub(r"\1", out)


def name_key(raw: str) -> NameKey:
    """Normalise a vessel name. Pure and cheap: it runs once per screened row."""
    text = fold_ascii(raw).upper()
    text = _APOSTROPHES.sub("", text)
    text = _PREFIX.sub("", text.strip())
    text = _NUMBERING.sub(" ", text)
    text = _SPLIT_ALNUM.sub(" ", text)
    tokens = _NON_ALNUM.sub(" ", text).split()
    if len(tokens) > 1:
        # Roman numerals are numbers (ARK III = ARK 3) when another word names the ship.
        romans = [i for i, t in enumerate(tokens) if t in _ROMAN]
        if romans and len(romans) < len(tokens):
            for i in romans:
                tokens[i] = _ROMAN[tokens[i]]
    words: list[str] = []
    numbers: list[str] = []
    for tok in tokens:
        if tok.isdigit():
            numbers.append(tok.lstrip("0") or "0")
        else:
            words.append(tok)
    compact = "".join(words)
    return NameKey(
        text=" ".join(tokens),
        words=tuple(words),
        numbers=tuple(numbers),
        compact=compact,
        sorted="".join(sorted(words)),
        phonetic=phonetic(compact),
        numsig="|".join(sorted(numbers)),
        korean=bool(words) and all(looks_korean(w) for w in words),
    )


_NOT_KOREAN = re.compile(r"[FQVXZ]|C(?!H)")


@lru_cache(maxsize=65536)
def looks_korean(word: str) -> bool:
    """True when ``word`` parses as romanised Korean syllables (CHONGCHONGANG, PAEK, RYE)."""
    return not _NOT_KOREAN.search(word) and bool(_KO_WORD.match(word))
