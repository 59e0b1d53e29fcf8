"""``may_hold(label, origin, nation)``: may a node of ``nation`` hold, and show its people,
a report with this label.

The receiving side of the release rule in ``decide``: a nation holds what it originated,
and another nation's report only when the label itself releases it there (the nation in
REL TO, no caveat such as ORCON or NOFORN). The COP uses it as its last gate before a
report reaches a browser; ingest checks and the engines' own filters can use it too.
"""

from __future__ import annotations

from trilink.model.label import Label


def may_hold(label: Label, origin: str, nation: str) -> bool:
    """True when ``nation`` may hold a report of ``origin`` labelled ``label``."""
    return origin == nation or label.releasable_to(nation)
