"""Romanisation of names written in kana, hangul and Cyrillic, and a cross-script key.

Tables owned here (no dependency): katakana/hiragana to modified Hepburn, hangul syllables
to Revised Romanization (decomposed arithmetically: 19 initials x 21 vowels x 28 finals),
Cyrillic to a plain Latin transliteration. Han characters (kanji/hanzi) are not romanised —
their reading depends on the language and the person — and are compared as written.

``skeleton`` folds a romanised name so that the spellings the same name gets in different
systems meet: McCune-Reischauer and Revised Romanization for Korean (CH/J, K/G, P/B, T/D,
R/L, EO/O, EU/U, AE/E, doubled letters), katakana renderings of Korean and foreign names
(final N for N and NG, the U the katakana writes after a closing consonant: キム KIMU = KIM,
ペク PEKU = PAEK, ソプ SOPU = SOP; ファ for HWA). It is applied to both sides of a
comparison, never to one only.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_KANA = {
    "ア": "a", "イ": "i", "ウ": "u", "エ": "e", "オ": "o",
    "カ": "ka", "キ": "ki", "ク": "ku", "ケ": "ke", "コ": "ko",
    "ガ": "ga", "ギ": "gi", "グ": "gu", "ゲ": "ge", "ゴ": "go",
    "サ": "sa", "シ": "shi", "ス": "su", "セ": "se", "ソ": "so",
    "ザ": "za", "ジ": "ji", "ズ": "zu", "ゼ": "ze", "ゾ": "zo",
    "タ": "ta", "チ": "chi", "ツ": "tsu", "テ": "te", "ト": "to",
    "ダ": "da", "ヂ": "ji", "ヅ": "zu", "デ": "de", "ド": "do",
    "ナ": "na", "ニ": "ni", "ヌ": "nu", "ネ": "ne", "ノ": "no",
    "ハ": "ha", "ヒ": "hi", "フ": "fu", "ヘ": "he", "ホ": "ho",
    "バ": "ba", "ビ": "bi", "ブ": "bu", "ベ": "be", "ボ": "bo",
    "パ": "pa", "ピ": "pi", "プ": "pu", "ペ": "pe", "ポ": "po",
    "マ": "ma", "ミ": "mi", "ム": "mu", "メ": "me", "モ": "mo",
    "ヤ": "ya", "ユ": "yu", "ヨ": "yo",
    "ラ": "ra", "リ": "ri", "ル": "ru", "レ": "re", "ロ": "ro",
    "ワ": "wa", "ヰ": "i", "ヱ": "e", "ヲ": "o", "ン": "n", "ヴ": "vu",
    "ァ": "a", "ィ": "i", "ゥ": "u", "ェ": "e", "ォ": "o", "ャ": "ya", "ュ": "yu", "ョ": "yo",
    "ヮ": "wa", "ヵ": "ka", "ヶ": "ke",
}  # fmt: skip
# Two-kana sounds: palatalised (キャ) and the extended katakana for foreign sounds (ファ).
_KANA2 = {
    "キャ": "kya", "キュ": "kyu", "キョ": "kyo", "ギャ": "gya", "ギュ": "gyu", "ギョ": "gyo",
    "シャ": "sha", "シュ": "shu", "ショ": "sho", "シェ": "she", "ジャ": "ja", "ジュ": "ju",
    "ジョ": "jo", "ジェ": "je", "チャ": "cha", "チュ": "chu", "チョ": "cho", "チェ": "che",
    "ニャ": "nya", "ニュ": "nyu", "ニョ": "nyo", "ヒャ": "hya", "ヒュ": "hyu", "ヒョ": "hyo",
    "ビャ": "bya", "ビュ": "byu", "ビョ": "byo", "ピャ": "pya", "ピュ": "pyu", "ピョ": "pyo",
    "ミャ": "mya", "ミュ": "myu", "ミョ": "myo", "リャ": "rya", "リュ": "ryu", "リョ": "ryo",
    "ファ": "fa", "フィ": "fi", "フェ": "fe", "フォ": "fo", "フュ": "fyu",
    "ティ": "ti", "ディ": "di", "トゥ": "tu", "ドゥ": "du", "テュ": "tyu", "デュ": "dyu",
    "ウィ": "wi", "ウェ": "we", "ウォ": "wo", "ヴァ": "va", "ヴィ": "vi", "ヴェ": "ve",
    "ヴォ": "vo", "ツァ": "tsa", "ツィ": "tsi", "ツェ": "tse", "ツォ": "tso", "クァ": "kwa",
    "グァ": "gwa", "スィ": "si", "ズィ": "zi", "イェ": "ye",
}  # fmt: skip
_SEPARATORS = "・･=＝·‧ 　"

_INITIALS = ("g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch",
             "k", "t", "p", "h")  # fmt: skip
_VOWELS = ("a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u",
           "wo", "we", "wi", "yu", "eu", "ui", "i")  # fmt: skip
_FINALS = ("", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "p", "t", "t", "p", "l", "m",
           "p", "p", "t", "t", "ng", "t", "t", "k", "t", "p", "t")  # fmt: skip

_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ў": "u",
}  # fmt: skip


def _kata(ch: str) -> str:
    o = ord(ch)
    return chr(o + 0x60) if 0x3041 <= o <= 0x3096 else ch  # hiragana -> katakana


def romanise_kana(text: str) -> str:
    """Katakana/hiragana to modified Hepburn, words split at ・ and spaces; other
    characters are kept as they are."""
    s = "".join(_kata(c) for c in unicodedata.normalize("NFKC", text))
    out: list[str] = []
    i = 0
    double = False
    while i < len(s):
        ch = s[i]
        pair = s[i : i + 2]
        if ch in _SEPARATORS:
            out.append(" ")
            i += 1
            continue
        if ch == "ッ":
            double = True
            i += 1
            continue
        if ch == "ー":
            i += 1  # long vowel: dropped, as most romanised lists do
            continue
        if pair in _KANA2:
            syl, i = _KANA2[pair], i + 2
        elif ch in _KANA:
            syl, i = _KANA[ch], i + 1
        else:
            syl, i = ch, i + 1
        if double and syl and syl[0].isalpha() and syl[0] not in "aeiou":
            syl = ("t" if syl.startswith("ch") else syl[0]) + syl
        double = False
        out.append(syl)
    return " ".join("".join(out).split())


def romanise_hangul(text: str) -> str:
    """Hangul syllables to Revised Romanization (without sound-change rules), one word per
    word; a three- or two-syllable word that is a whole name is split after the surname."""
    words = []
    for word in text.split():
        sylls: list[str] = []
        rest = ""
        for ch in word:
            o = ord(ch) - 0xAC00
            if 0 <= o < 11172:
                sylls.append(_INITIALS[o // 588] + _VOWELS[(o % 588) // 28] + _FINALS[o % 28])
            else:
                rest += ch
        if sylls and len(text.split()) == 1 and len(sylls) in (2, 3, 4) and not rest:
            words += [sylls[0], "".join(sylls[1:])]  # surname, given name
        else:
            words.append("".join(sylls) + rest)
    return " ".join(words)


def romanise_cyrillic(text: str) -> str:
    out = []
    for ch in text:
        low = ch.lower()
        out.append(_CYRILLIC.get(low, ch) if low in _CYRILLIC else ch)
    return "".join(out)


def has_kana(text: str) -> bool:
    return any("\u3040" <= c <= "\u30ff" or "\uff66" <= c <= "\uff9d" for c in text)


def has_hangul(text: str) -> bool:
    return any("\uac00" <= c <= "\ud7a3" for c in text)


def has_cyrillic(text: str) -> bool:
    return any("\u0400" <= c <= "\u04ff" for c in text)


def is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or "\uf900" <= ch <= "\ufaff"


def romanise(text: str) -> tuple[str, bool]:
    """The name in Latin letters, and whether it was transliterated from another script."""
    if text.isascii():  # most names: nothing to transliterate
        return text, False
    out, changed = text, False
    if has_kana(out):
        out, changed = romanise_kana(out), True
    if has_hangul(out):
        out, changed = romanise_hangul(out), True
    if has_cyrillic(out):
        out, changed = romanise_cyrillic(out), True
    return out, changed


_FINAL_NG = re.compile(r"NG(?![AEIOUWY])")
_SKEL_FOLDS = (
    ("TCH", "CH"),
    ("SH", "S"),
    ("CH", "J"),
    ("TS", "J"),
    ("Z", "J"),
    ("PH", "F"),
    ("HW", "F"),
    ("TH", "T"),
    ("KH", "K"),
    ("YEO", "YO"),
    ("EO", "O"),
    ("EU", "U"),
    ("AE", "E"),
    ("OE", "E"),
    ("OO", "U"),
    ("WO", "O"),
    ("G", "K"),
    ("B", "P"),
    ("D", "T"),
    ("L", "R"),
    ("V", "F"),
    ("W", "U"),
    ("Y", "I"),
)
_DOUBLES = re.compile(r"(.)\1+")
_CLOSING_U = re.compile(r"(?<=[^AEIOU])U(?=[^AEIOU]|$)")
# katakana writes a closing T/D as ト/ド (TO/DO) and N before M/P/B as ン (MOHANMADO)
_CLOSING_O = re.compile(r"(?<=T)O(?=[^AEIOU]|$)")
_N_LABIAL = re.compile(r"N(?=[MP])")
_VOWEL_RUN = re.compile(r"(?<!^)[AEIOU]+")


def skeleton_words(words: tuple[str, ...] | list[str]) -> list[str]:
    return [skeleton_word(w) for w in words]


def skeleton(words: tuple[str, ...] | list[str]) -> str:
    """Cross-romanisation key of a name given as upper-case letter words: each word is
    folded on its own (a fold never spans two words: SOK HA is not SOKHA), then joined."""
    joined = "".join(skeleton_word(w) for w in words)
    # across words too: ン before M/P is M (YON POK = YONBOKU), doubled letters are one
    return _DOUBLES.sub(r"\1", _N_LABIAL.sub("M", joined))


@lru_cache(maxsize=131072)
def skeleton_word(word: str) -> str:
    out = _FINAL_NG.sub("N", word)
    for a, b in _SKEL_FOLDS:
        out = out.replace(a, b)
    out = _DOUBLES.sub(r"\1", out)
    out = _CLOSING_U.sub("", out)
    out = _CLOSING_O.sub("", out) if len(out) > 3 else out
    return _DOUBLES.sub(r"\1", out)


def consonants(skel_words: list[str]) -> str:
    """The consonant outline of skeleton words (vowels but a first one dropped): the
    coarsest key, used only between a transliterated name and a Latin one."""
    joined = _N_LABIAL.sub("M", "".join(skel_words))
    return _DOUBLES.sub(r"\1", _VOWEL_RUN.sub("", joined))
