"""Sanctions enforcement engine (ARCHITECTURE §7): is a vessel seen at sea a sanctioned one?

Flow: published list files -> parsers (`ofac`, `un1718`, `unxml`) -> `ListSet` (lists in
force, owner/operator links, cross-list anomalies) -> `Screener` (identifier validation,
exact IDs, normalised and fuzzy names under hard rules) -> explained matches -> CSV/CLI
output and ``sanctions.hit`` payloads derived from maritime events (`hits`). The file edge
(reading lists, the active list directory) is `trilink.sanctions.io`.
"""

from trilink.sanctions.errors import ListFormatError, SanctionsInputError
from trilink.sanctions.hits import derived_label, event_queries, hit_payload, screen_event
from trilink.sanctions.listset import ListDiff, ListSet, diff_lists
from trilink.sanctions.records import Anomaly, PartyRecord, SanctionsList, VesselRecord
from trilink.sanctions.screen import Match, Query, Screener, ScreenResult

__all__ = [
    "Anomaly",
    "ListDiff",
    "ListFormatError",
    "ListSet",
    "Match",
    "PartyRecord",
    "Query",
    "SanctionsInputError",
    "SanctionsList",
    "ScreenResult",
    "Screener",
    "VesselRecord",
    "derived_label",
    "diff_lists",
    "event_queries",
    "hit_payload",
    "screen_event",
]
