"""trilink labels <-> STIX 2.1 data markings.

Every object trilink writes as STIX carries two markings in ``object_marking_refs``:

- a **TLP 2.0** marking definition, by its standard id (OASIS cti-stix-common-objects,
  extension ``extension-definition--60a3c5c5-...``), so any STIX consumer applies the usual
  handling rule; and
- a **trilink releasability** marking definition, one per label, whose property extension
  (``TRILINK_EXTENSION_ID``, an ``extension-definition`` object we publish) carries the label's
  classification, REL TO nations, caveats, policy identifier and exercise flag, so a consumer
  sees the releasability and trilink can read the label back exactly.

TLP from a label (TLP is a handling rule, not a classification, so the mapping is one way
and conservative; it never yields CLEAR or GREEN):

  ORCON                                            -> TLP:RED (named recipients only)
  NOFORN, no REL TO, or classified above UNCLASSIFIED -> TLP:AMBER+STRICT (recipient
                                                      organisations only)
  UNCLASSIFIED with REL TO partners                -> TLP:AMBER (organisations and the
                                                      clients that need to know)

Ids are deterministic: the same label always gives the same marking id (a UUID with the
version-4 layout, as ``stix2-validator --strict`` requires, derived from SHA-256 of the
label's canonical text).
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from trilink.errors import LabelError
from trilink.model.label import PARTNER_NATIONS, Caveat, Classification, Label, make_label

TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_CREATED = "2022-10-01T00:00:00.000Z"
# level -> (marking-definition id, name): the TLP 2.0 objects OASIS publishes.
TLP2: dict[str, tuple[str, str]] = {
    "clear": ("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "TLP:CLEAR"),
    "green": ("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "TLP:GREEN"),
    "amber": ("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "TLP:AMBER"),
    "amber+strict": (
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        "TLP:AMBER+STRICT",
    ),
    "red": ("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "TLP:RED"),
}
# STIX 2.1's predefined TLP 1.0 markings (read on import, never written).
TLP1: dict[str, str] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "clear",  # white
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
}
TLP_BY_ID: dict[str, str] = {**TLP1, **{mid: level for level, (mid, _) in TLP2.items()}}
TLP_ORDER = ("clear", "green", "amber", "amber+strict", "red")

TRILINK_IDENTITY_ID = "identity--5f3c9f0e-2b4a-4c1e-9d6a-7e8b1c2d3f40"
TRILINK_EXTENSION_ID = "extension-definition--0c7f5e1a-93d2-4b8e-a1f4-6d2e9b3c7a15"
TRILINK_CREATED = "2026-12-01T00:00:00.000Z"
TRILINK_SCHEMA_URL = "https://github.com/trilink/trilink/blob/main/docs/cyber.md#markings"


def tlp_for(label: Label) -> str:
    """The TLP 2.0 level a trilink label implies (see the module doc)."""
    if Caveat.ORCON in label.caveats:
        return "red"
    if (
        Caveat.NOFORN in label.caveats
        or not label.rel_to
        or label.classification > Classification.UNCLASSIFIED
    ):
        return "amber+strict"
    return "amber"


def stricter_tlp(a: str, b: str) -> str:
    return a if TLP_ORDER.index(a) >= TLP_ORDER.index(b) else b


def uuid4_shaped(text: str) -> str:
    """A deterministic UUID with the version-4 layout (``stix2-validator --strict`` wants
    v4 ids on SDOs and SROs), from SHA-256 of ``text``."""
    raw = bytearray(hashlib.sha256(text.encode("utf-8")).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return str(uuid.UUID(bytes=bytes(raw)))


def label_marking_id(label: Label) -> str:
    return _label_marking_id(str(label))


@functools.lru_cache(maxsize=4096)
def _label_marking_id(text: str) -> str:
    return f"marking-definition--{uuid4_shaped('trilink-label:' + text)}"


def tlp_marking(level: str) -> dict[str, Any]:
    """The OASIS TLP 2.0 marking definition of ``level``, as published."""
    mid, name = TLP2[level]
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": mid,
        "created": TLP2_CREATED,
        "name": name,
        "extensions": {
            TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": level}
        },
    }


def label_marking(label: Label) -> dict[str, Any]:
    """The trilink releasability marking definition of ``label``."""
    ext: dict[str, Any] = {
        "extension_type": "property-extension",
        "label": str(label),
        "classification": label.classification.text,
        "policy": label.policy,
        "exercise": label.exercise,
    }
    if label.rel_to:
        ext["rel_to"] = sorted(label.rel_to)
    if label.caveats:
        ext["caveats"] = sorted(c.value for c in label.caveats)
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": label_marking_id(label),
        "created": TRILINK_CREATED,
        "created_by_ref": TRILINK_IDENTITY_ID,
        "name": str(label),
        "extensions": {TRILINK_EXTENSION_ID: ext},
    }


def trilink_identity() -> dict[str, Any]:
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": TRILINK_IDENTITY_ID,
        "created": TRILINK_CREATED,
        "modified": TRILINK_CREATED,
        "name": "trilink",
        "description": "The trilink nodes of the US-Japan-ROK sharing network.",
        "identity_class": "system",
    }


def trilink_extension_definition() -> dict[str, Any]:
    """The ``extension-definition`` object that defines our releasability marking."""
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": TRILINK_EXTENSION_ID,
        "created": TRILINK_CREATED,
        "modified": TRILINK_CREATED,
        "created_by_ref": TRILINK_IDENTITY_ID,
        "name": "trilink releasability marking",
        "description": "A trilink confidentiality label on a marking definition: "
        "classification, REL TO nations (ISO 3166-1 alpha-3), caveats (ORCON, NOFORN), "
        "policy identifier and exercise flag. 'label' is the canonical text form; trilink "
        "releases marked objects only as its node's release policy allows.",
        "schema": TRILINK_SCHEMA_URL,
        "version": "1.0.0",
        "extension_types": ["property-extension"],
    }


def object_markings(label: Label) -> list[str]:
    """``object_marking_refs`` for an object carrying ``label``."""
    return [TLP2[tlp_for(label)][0], label_marking_id(label)]


def marking_objects(labels: Iterable[Label]) -> list[dict[str, Any]]:
    """Every marking-definition (and our identity and extension definition) a bundle of
    objects carrying ``labels`` needs, each once."""
    seen: dict[str, dict[str, Any]] = {}
    for label in labels:
        tlp = tlp_marking(tlp_for(label))
        seen.setdefault(tlp["id"], tlp)
        own = label_marking(label)
        seen.setdefault(own["id"], own)
    if not seen:
        return []
    return [trilink_identity(), trilink_extension_definition(), *seen.values()]


def label_of_marking(
    marking: Mapping[str, Any], nations: frozenset[str] = PARTNER_NATIONS
) -> Label | None:
    """The trilink label a marking definition carries, None when it is not ours;
    ``LabelError`` naming the property when it is ours but malformed (or does not match its
    own canonical text)."""
    exts = marking.get("extensions")
    if not isinstance(exts, Mapping) or TRILINK_EXTENSION_ID not in exts:
        return None
    ext = exts[TRILINK_EXTENSION_ID]
    if not isinstance(ext, Mapping):
        raise LabelError("trilink marking extension is not an object", token="extensions")
    classification = ext.get("classification")
    rel_to = ext.get("rel_to", [])
    caveats = ext.get("caveats", [])
    policy = ext.get("policy", "")
    exercise = ext.get("exercise", False)
    if not isinstance(classification, str):
        raise LabelError("trilink marking: 'classification' missing", token="classification")
    if not isinstance(rel_to, list) or not all(isinstance(n, str) for n in rel_to):
        raise LabelError("trilink marking: 'rel_to' is not a list of nations", token="rel_to")
    if not isinstance(caveats, list) or not all(isinstance(c, str) for c in caveats):
        raise LabelError("trilink marking: 'caveats' is not a list", token="caveats")
    if not isinstance(policy, str) or not isinstance(exercise, bool):
        raise LabelError("trilink marking: 'policy' or 'exercise' malformed", token="policy")
    kw: dict[str, Any] = {"exercise": exercise, "nations": nations}
    if policy:
        kw["policy"] = policy
    label = make_label(classification, rel_to, caveats, **kw)
    if "label" in ext and ext["label"] != str(label):
        raise LabelError(
            f"trilink marking: 'label' {str(ext['label'])[:80]!r} does not match its parts "
            f"({label})",
            token="label",
        )
    return label


def source_tlp(refs: Iterable[Any]) -> str:
    """The strictest TLP level among ``object_marking_refs`` (TLP 1.0 or 2.0 ids), or ""."""
    found = ""
    for ref in refs:
        level = TLP_BY_ID.get(ref) if isinstance(ref, str) else None
        if level is not None:
            found = stricter_tlp(level, found) if found else level
    return found


def tlp_conflict(label: Label, tlp: str) -> str | None:
    """A warning when a source's TLP is stricter than what ``label`` lets trilink do."""
    if tlp == "red" and label.rel_to and Caveat.ORCON not in label.caveats:
        return (
            f"source marked TLP:RED (named recipients only) but label {label} releases it to "
            f"{', '.join(sorted(label.rel_to))}: add ORCON or narrow REL TO if the source "
            "did not agree"
        )
    return None
