"""The overall marking of a set of labelled portions: a COP screen, an export file.

Each portion (a feature, a placemark, a CoT event, a row) keeps its own label, its portion
mark. The overall marking is the most restrictive combination: the highest classification,
the nations every portion is releasable to, every caveat. Live and exercise content are never
merged under one EXERCISE prefix: a file holding both names both, e.g.
``SECRET//REL TO USA, JPN (LIVE SECRET//REL TO USA, JPN + EXERCISE//CONFIDENTIAL//REL TO USA,
JPN, KOR)``, so a reader can neither take live data for an exercise nor the reverse.

A REL TO naming only the viewing nation says nothing (its own node already holds it) and
would read as a release marking; it is left out, as trilink writes originator-only content.
The COP's banner (static/cop.js, ``overall``) computes the same text; a browser test compares
them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from trilink.model.label import (
    PARTNER_NATIONS,
    Caveat,
    Classification,
    Label,
    parse_label,
    sort_nations,
)


@dataclass(frozen=True)
class Marking:
    text: str
    classification: Classification
    live: str | None  # the live portions' combined marking, if any
    exercise: str | None  # the exercise portions' combined marking (with EXERCISE//), if any

    def as_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "classification": self.classification.text,
            "level": self.classification.value,
            "live": self.live,
            "exercise": self.exercise,
        }


UNMARKED = Marking("UNCLASSIFIED", Classification.UNCLASSIFIED, None, None)


def _combined(labels: list[Label], viewer: str | None) -> tuple[Classification, str]:
    top = max(lab.classification for lab in labels)
    rel = frozenset.intersection(*(lab.rel_to for lab in labels))
    caveats = frozenset().union(*(lab.caveats for lab in labels))
    parts = [top.text]
    if Caveat.NOFORN in caveats:
        parts.append("NOFORN")
    else:
        if rel and rel != {viewer}:
            parts.append("REL TO " + ", ".join(sort_nations(rel)))
        if caveats:
            parts.append("/".join(sorted(c.value for c in caveats)))
    return top, "//".join(parts)


def overall_marking(labels: Iterable[Label], viewer: str | None = None) -> Marking:
    """The overall marking of portions labelled ``labels``, for a reader at ``viewer``'s
    node; UNCLASSIFIED when there are none."""
    distinct = set(labels)
    if not distinct:
        return UNMARKED
    live = [lab for lab in distinct if not lab.exercise]
    drill = [lab for lab in distinct if lab.exercise]
    top, head = _combined(list(distinct), viewer)
    live_text = _combined(live, viewer)[1] if live else None
    drill_text = "EXERCISE//" + _combined(drill, viewer)[1] if drill else None
    if live_text is None:
        assert drill_text is not None
        return Marking(drill_text, top, None, drill_text)
    if drill_text is None:
        return Marking(live_text, top, live_text, None)
    return Marking(f"{head} (LIVE {live_text} + {drill_text})", top, live_text, drill_text)


def marking_of(
    labels: Iterable[str], viewer: str, nations: frozenset[str] = PARTNER_NATIONS
) -> Marking:
    """``overall_marking`` of label texts (each parsed once)."""
    return overall_marking([parse_label(text, nations=nations) for text in set(labels)], viewer)
