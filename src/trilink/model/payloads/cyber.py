"""Payload schema of the `trilink.cyber` report kind.

``cyber.stix``  one version of one STIX 2.1 object (indicator, observable, malware, attack
                pattern, intrusion set, incident, report, sighting, relationship, ...). A new
                STIX version (same ``id``, later ``modified``) is a new version of the same
                report; ``revoked: true`` ends it. The STIX object is stored without markings:
                the report's label is the marking, written as TLP 2.0 plus trilink's
                releasability extension whenever the object leaves as STIX
                (``trilink.cyber.markings``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from trilink.model.kindspec import KindSpec, Property


class StixObjectPayload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    stix_id: str  # e.g. indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f
    stix_type: str
    modified: str = ""  # the STIX version; "" for observables (SCOs have none)
    name: str = ""
    revoked: bool = False
    object: dict[str, Any]  # the STIX 2.1 object as received, markings removed
    source: str = ""  # file, MISP event or TAXII collection it was imported from
    source_tlp: str = ""  # the TLP level the source marked it with ("" none)
    misp_distribution: str = ""  # the MISP event's distribution level, when from MISP


def _title(p: StixObjectPayload) -> str:
    what = p.name or str(p.object.get("pattern", "")) or p.stix_id
    if p.stix_type == "sighting":
        what = f"of {p.object.get('sighting_of_ref', '?')} x{p.object.get('count', 1)}"
    return f"{p.stix_type}: {what}"[:200]


def _properties(p: StixObjectPayload) -> dict[str, Property]:
    obj = p.object
    count = obj.get("count")
    return {
        "stix_id": p.stix_id,
        "stix_type": p.stix_type,
        "modified": p.modified or None,
        "revoked": p.revoked,
        "source_tlp": p.source_tlp or None,
        "sighting_of": str(obj["sighting_of_ref"]) if "sighting_of_ref" in obj else None,
        "sightings": int(count) if isinstance(count, int) else None,
        "pattern": str(obj["pattern"])[:500] if "pattern" in obj else None,
    }


KINDS: tuple[KindSpec[StixObjectPayload], ...] = (
    KindSpec(
        kind="cyber.stix",
        payload=StixObjectPayload,
        title=_title,
        panel=("stix_type", "name", "stix_id", "modified", "revoked", "source", "source_tlp"),
        properties=_properties,
        observed=lambda p: p.modified or None,
        track=lambda p: p.stix_id,
        status=lambda p: "revoked" if p.revoked else None,
        ended=lambda p: p.revoked,
        stale_s=30 * 24 * 3600.0,
        folder="Cyber threat intelligence",
    ),
)
