"""Threat assessments side by side: where the three nations agree and where they do not.

Each nation records its own assessment of an event (``crisis.assessment``: threat level,
actor, intent, confidence, rationale) as its own report; ``divergence`` takes the newest of
each nation's and lays them side by side, field by field. Threat levels are ordered (low ..
critical), so the spread is a number of levels; confidence is compared as a range.
Pure: payloads in, a plain dict out (``trilink crisis divergence EVENT --json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trilink.model.payloads.crisis import THREAT_LEVELS, AssessmentPayload

NATIONS = ("USA", "JPN", "KOR")
CONFIDENCE_GAP = 0.25  # confidences further apart than this count as disagreement


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def divergence(event_ref: str, assessments: Sequence[AssessmentPayload]) -> dict[str, Any]:
    """Side-by-side view of the newest assessment per nation (later ``at`` wins)."""
    newest: dict[str, AssessmentPayload] = {}
    for a in assessments:
        if a.event_ref != event_ref:
            continue
        if a.nation not in newest or a.at >= newest[a.nation].at:
            newest[a.nation] = a
    present = [n for n in NATIONS if n in newest] + sorted(set(newest) - set(NATIONS))
    fields: dict[str, Any] = {}
    for name in ("threat_level", "actor", "intent"):
        values = {n: getattr(newest[n], name) for n in present}
        distinct = {_norm(str(v)) for v in values.values() if str(v).strip()}
        fields[name] = {"values": values, "agree": len(distinct) <= 1}
    levels = [THREAT_LEVELS.index(newest[n].threat_level) for n in present]
    fields["threat_level"]["spread_levels"] = (max(levels) - min(levels)) if levels else 0
    conf = {n: newest[n].confidence for n in present}
    gap = (max(conf.values()) - min(conf.values())) if conf else 0.0
    fields["confidence"] = {"values": conf, "range": round(gap, 3), "agree": gap <= CONFIDENCE_GAP}
    return {
        "event_ref": event_ref,
        "nations": present,
        "missing": [n for n in NATIONS if n not in newest],
        "agree": [k for k, v in fields.items() if v["agree"]],
        "disagree": [k for k, v in fields.items() if not v["agree"]],
        "fields": fields,
        "rationale": {n: newest[n].rationale for n in present},
        "assessed_at": {n: newest[n].at for n in present},
    }
