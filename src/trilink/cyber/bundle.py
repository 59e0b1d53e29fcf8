"""What a node holds, written out as STIX 2.1 with its markings (pure).

Every object carries ``object_marking_refs`` = [its TLP 2.0 marking, its trilink label's
releasability marking]; the bundle carries those marking definitions, trilink's identity and
the ``extension-definition`` of the releasability marking, each once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from trilink.cyber.markings import marking_objects, object_markings
from trilink.model.label import Label


def marked(obj: Mapping[str, Any], label: Label) -> dict[str, Any]:
    """``obj`` with the markings of ``label`` (replacing any it had)."""
    out = {k: v for k, v in obj.items() if k not in ("object_marking_refs", "granular_markings")}
    out["object_marking_refs"] = object_markings(label)
    return out


def bundle_of(entries: Iterable[tuple[Mapping[str, Any], Label]]) -> dict[str, Any]:
    """A STIX 2.1 bundle of (object, label) pairs and the markings they need."""
    objects: list[dict[str, Any]] = []
    labels: dict[str, Label] = {}
    for obj, label in entries:
        objects.append(marked(obj, label))
        labels.setdefault(str(label), label)
    return {
        "type": "bundle",
        "id": f"bundle--{uuid.uuid4()}",
        "objects": [*marking_objects(labels.values()), *objects],
    }
