"""Security labels: classification, releasability, caveats, exercise flag, policy.

Shaped after NATO STANAG 4774 confidentiality labels. Every report carries one; the release
policy (``trilink.policy``) reads nothing else to decide who may receive a report.

Canonical text form (``format_label``), segments joined by ``//``::

    [EXERCISE//]CLASSIFICATION[//REL TO USA, JPN, KOR][//CAVEAT/CAVEAT][//POLICY ID]

* REL TO lists ``USA`` first, then the others alphabetically (US CAPCO order), so
  ``SECRET//REL TO USA, JPN, KOR`` is canonical.
* A label with no REL TO is releasable to nobody but its originator, whatever its
  classification: releasability is never implied (deny by default).
* ``NOFORN`` means originator only and cannot be combined with REL TO.
* ``ORCON`` keeps REL TO (it records who *could* receive it) but stops automatic release.
* The policy segment is omitted when it is the default policy (``TRILINK``).

``parse_label(format_label(x)) == x`` for every valid label, and ``parse_label`` accepts
non-canonical spacing, case and REL TO order but names the first bad token it meets. Text
longer than ``MAX_LABEL_CHARS`` is refused before it is parsed or cached.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache, total_ordering

import msgspec

from trilink.errors import LabelError
from trilink.model.ids import excerpt

DEFAULT_POLICY = "TRILINK"
# The longest canonical label of three nations is under 100 characters; this leaves room
# for national markings, loose spacing and larger deployments. Longer text comes from a
# mistake or a hostile partner and is refused before parsing, so it is never cached.
MAX_LABEL_CHARS = 256
# The nations a node knows when its node.toml names none (its ``nations`` key): the one list
# of them in the code. Codes are ISO 3166-1 alpha-3.
ALLIANCE: tuple[str, ...] = ("USA", "JPN", "KOR")
PARTNER_NATIONS: frozenset[str] = frozenset(ALLIANCE)
NATION_CODE = re.compile(r"^[A-Z]{3}$")


@total_ordering
class Classification(enum.Enum):
    """The common classification scale every national marking maps onto."""

    UNCLASSIFIED = 0
    RESTRICTED = 1
    CONFIDENTIAL = 2
    SECRET = 3
    TOP_SECRET = 4

    @property
    def text(self) -> str:
        return self.name.replace("_", " ")

    @classmethod
    def from_text(cls, text: str) -> Classification:
        key = " ".join(text.upper().split()).replace(" ", "_")
        try:
            return cls[key]
        except KeyError:
            known = ", ".join(c.text for c in cls)
            raise LabelError(
                f"unknown classification {text!r}; expected one of: {known}", token=text
            ) from None

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Classification):
            return NotImplemented
        return self.value < other.value


class Caveat(enum.Enum):
    """Dissemination controls. Both stop automatic release to partners."""

    ORCON = "ORCON"  # originator controlled: release only by the originator's explicit act
    NOFORN = "NOFORN"  # not releasable outside the originating nation


_CAVEAT_ORDER = {c: i for i, c in enumerate(Caveat)}
# fullmatch, never match + '$' (which accepts a trailing newline)
_NATION_RE = re.compile(r"[A-Z]{3}")
_POLICY_RE = re.compile(r"[A-Z0-9][A-Z0-9_.-]{0,31}")


class Label(msgspec.Struct, frozen=True, kw_only=True):
    """A confidentiality label. Build one with ``make_label`` or ``parse_label``."""

    classification: Classification
    rel_to: frozenset[str] = frozenset()
    caveats: frozenset[Caveat] = frozenset()
    exercise: bool = False
    policy: str = DEFAULT_POLICY

    def __str__(self) -> str:
        return format_label(self)

    def releasable_to(self, nation: str) -> bool:
        """True when the label itself permits automatic release to ``nation``."""
        return nation in self.rel_to and not self.caveats


def make_label(
    classification: Classification | str,
    rel_to: Iterable[str] = (),
    caveats: Iterable[Caveat | str] = (),
    *,
    exercise: bool = False,
    policy: str = DEFAULT_POLICY,
    nations: frozenset[str] = PARTNER_NATIONS,
) -> Label:
    """Build a label, checking every part. Raises ``LabelError`` naming the bad part."""
    if isinstance(classification, str):
        classification = Classification.from_text(classification)
    rel = frozenset(_check_nation(n, nations) for n in rel_to)
    cav = frozenset(_check_caveat(c) for c in caveats)
    if not _POLICY_RE.fullmatch(policy):
        raise LabelError(
            f"policy identifier {excerpt(policy)} must be 1-32 characters of A-Z, 0-9, '_', "
            "'.', '-'",
            token=policy,
        )
    if Caveat.NOFORN in cav and rel:
        raise LabelError(
            "NOFORN cannot be combined with REL TO: NOFORN means the originating nation only",
            token="NOFORN",
        )
    return Label(
        classification=classification, rel_to=rel, caveats=cav, exercise=exercise, policy=policy
    )


def _check_nation(token: str, nations: frozenset[str]) -> str:
    code = token.strip().upper()
    if not _NATION_RE.fullmatch(code):
        raise LabelError(
            f"{excerpt(token)} is not an ISO 3166-1 alpha-3 nation code (e.g. USA, JPN, KOR)",
            token=token,
        )
    if code not in nations:
        raise LabelError(
            f"unknown nation {code!r} in REL TO; known nations: "
            + ", ".join(sort_nations(nations)),
            token=token,
        )
    return code


def _check_caveat(token: Caveat | str) -> Caveat:
    if isinstance(token, Caveat):
        return token
    try:
        return Caveat(token.strip().upper())
    except ValueError:
        known = ", ".join(c.value for c in Caveat)
        raise LabelError(
            f"unknown caveat {token!r}; known caveats: {known}", token=token
        ) from None


def sort_nations(nations: Iterable[str]) -> list[str]:
    """US CAPCO order: USA first, then alphabetical."""
    return sorted(nations, key=lambda n: (n != "USA", n))


@lru_cache(maxsize=4096)
def format_label(label: Label) -> str:
    """The one canonical text form of ``label``."""
    parts: list[str] = []
    if label.exercise:
        parts.append("EXERCISE")
    parts.append(label.classification.text)
    if label.rel_to:
        parts.append("REL TO " + ", ".join(sort_nations(label.rel_to)))
    if label.caveats:
        parts.append(
            "/".join(c.value for c in sorted(label.caveats, key=_CAVEAT_ORDER.__getitem__))
        )
    if label.policy != DEFAULT_POLICY:
        parts.append(f"POLICY {label.policy}")
    return "//".join(parts)


def parse_label(
    text: str,
    *,
    nations: frozenset[str] = PARTNER_NATIONS,
    markings: Mapping[str, Classification] | None = None,
) -> Label:
    """Parse a label text. ``markings`` maps national marking words onto the common scale.

    Raises ``LabelError`` whose ``token`` is the first part that could not be understood.
    """
    if isinstance(text, str) and len(text) > MAX_LABEL_CHARS:
        raise LabelError(
            f"label {excerpt(text)} is longer than the {MAX_LABEL_CHARS} characters a label "
            "may have",
            token=text[:48],
            text=text[:MAX_LABEL_CHARS],
        )
    if markings is None and isinstance(text, str):
        # A node sees few distinct labels and parses one per received report.
        return _parse_plain(text, nations)
    return _parse(text, nations, markings)


@lru_cache(maxsize=4096)
def _parse_plain(text: str, nations: frozenset[str]) -> Label:
    return _parse(text, nations, None)


def _parse(
    text: str, nations: frozenset[str], markings: Mapping[str, Classification] | None
) -> Label:
    if not isinstance(text, str) or not text.strip():
        raise LabelError(
            "empty label: give at least a classification, e.g. 'UNCLASSIFIED'",
            token="",
            text=str(text),
        )
    segments = [s.strip() for s in text.split("//")]
    exercise = False
    if segments[0].upper() == "EXERCISE":
        exercise = True
        segments = segments[1:]
        if not segments:
            raise LabelError(
                "label has EXERCISE but no classification after it", token="EXERCISE", text=text
            )
    head = segments[0]
    try:
        classification = _classification_of(head, markings)
    except LabelError as err:
        raise LabelError(str(err), token=head, text=text) from None
    rel: list[str] = []
    caveats: list[str] = []
    policy = DEFAULT_POLICY
    seen: set[str] = set()
    for seg in segments[1:]:
        upper = " ".join(seg.upper().split())
        if not upper:
            raise LabelError(f"empty segment ('////') in label {text!r}", token=seg, text=text)
        if upper.startswith("REL TO"):
            section = "rel"
            body = upper[len("REL TO") :].strip()
            if not body:
                raise LabelError("REL TO lists no nation", token=seg, text=text)
            rel = [n.strip() for n in body.split(",")]
            dupes = {n for n in rel if rel.count(n) > 1}
            if dupes:
                raise LabelError(
                    f"nation {sorted(dupes)[0]!r} is repeated in REL TO",
                    token=sorted(dupes)[0],
                    text=text,
                )
        elif upper.startswith("POLICY "):
            section = "policy"
            policy = upper[len("POLICY ") :].strip()
        else:
            section = "caveats"
            caveats = [c.strip() for c in upper.split("/")]
            if len(set(caveats)) != len(caveats):
                raise LabelError(f"a caveat is repeated in {seg!r}", token=seg, text=text)
        if section in seen:
            raise LabelError(f"label has more than one {section} segment", token=seg, text=text)
        seen.add(section)
    try:
        return make_label(
            classification, rel, caveats, exercise=exercise, policy=policy, nations=nations
        )
    except LabelError as err:
        raise LabelError(str(err), token=err.token, text=text) from None


def _classification_of(word: str, markings: Mapping[str, Classification] | None) -> Classification:
    if markings:
        key = " ".join(word.split())
        national = markings.get(key) or markings.get(key.upper())
        if national is None:
            national = _normalised_markings(markings).get(key.upper())
        if national is not None:
            return national
    return Classification.from_text(word)


def _normalised_markings(markings: Mapping[str, Classification]) -> dict[str, Classification]:
    return {" ".join(word.split()).upper(): level for word, level in markings.items()}


def combine_labels(labels: Iterable[Label]) -> Label:
    """The most restrictive label of ``labels``, for a product derived from all of them.

    Highest classification, intersection of REL TO, union of caveats. Inputs must all be
    exercise or all be real-world, and under one policy.
    """
    items = list(labels)
    if not items:
        raise LabelError("cannot combine an empty set of labels", token="")
    policies = {lab.policy for lab in items}
    if len(policies) > 1:
        raise LabelError(
            f"inputs are under different policies ({', '.join(sorted(policies))}); "
            "a derived product needs one policy",
            token=sorted(policies)[0],
        )
    if len({lab.exercise for lab in items}) > 1:
        raise LabelError(
            "a derived product cannot mix exercise and real-world inputs: it would reach "
            "partners that accept only one of them",
            token="EXERCISE",
        )
    rel = frozenset.intersection(*(lab.rel_to for lab in items))
    caveats = frozenset().union(*(lab.caveats for lab in items))
    if Caveat.NOFORN in caveats:
        rel = frozenset()
    return Label(
        classification=max(lab.classification for lab in items),
        rel_to=rel,
        caveats=caveats,
        exercise=items[0].exercise,
        policy=items[0].policy,
    )
