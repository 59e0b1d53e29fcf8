"""Tabular exports: CSV (one row per current report) and the columns GeoParquet shares.

Columns: the report (``id`` - the event id -, version, kind, origin, label, classification,
exercise, created), what it says (observed, until, title, status, track_key, affiliation),
where (lat, lon, alt_m of its first point), then ``mmsi``, ``imo``, ``other_mmsi`` and every
other property the kind registry gives, by name. MMSIs are whole numbers and empty where a
vessel has none (a dark vessel): never ``412000001.0``. The first line of the CSV is a
``#`` comment with the overall marking (read with ``comment_prefix="#"`` in polars,
``comment="#"`` in pandas); every row carries its own label.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import IO, Any

from trilink.interop.items import Item
from trilink.interop.marking import Marking

REPORT_COLUMNS = (
    "id",
    "version",
    "kind",
    "origin",
    "label",
    "classification",
    "exercise",
    "created",
    "observed",
    "until",
    "title",
    "status",
    "track_key",
    "affiliation",
)
PLACE_COLUMNS = ("lat", "lon", "alt_m")
VESSEL_COLUMNS = ("mmsi", "imo", "other_mmsi")


def property_columns(items: Sequence[Item]) -> list[str]:
    """The vessel columns, then every other property name the items carry, sorted."""
    taken = {*REPORT_COLUMNS, *PLACE_COLUMNS, *VESSEL_COLUMNS}
    names: set[str] = set()
    for item in items:
        names.update(item.properties)
    return [*VESSEL_COLUMNS, *sorted(names - taken)]


def report_values(item: Item) -> list[Any]:
    where = item.point()
    return [
        item.id,
        item.version,
        item.kind,
        item.origin,
        item.label,
        item.classification,
        item.exercise,
        item.created,
        item.observed,
        item.until,
        item.title,
        item.status,
        item.track_key,
        item.affiliation,
        where[1] if where else None,
        where[0] if where else None,
        item.alt_m,
    ]


def write_csv(items: Sequence[Item], marking: Marking, nation: str, out: IO[bytes]) -> int:
    """Write one row per report to ``out``; returns how many rows. Empty cells are nulls
    (the csv module writes None as nothing)."""
    columns = property_columns(items)
    exercise = REPORT_COLUMNS.index("exercise")
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    text.write(f"# {marking.text} | trilink {nation}\n")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([*REPORT_COLUMNS, *PLACE_COLUMNS, *columns])
    rows = []
    for item in items:
        row = report_values(item)
        row[exercise] = "true" if item.exercise else "false"
        props = item.properties
        row.extend([props.get(c) for c in columns])
        rows.append(row)
        if len(rows) == 4096:
            writer.writerows(rows)
            rows.clear()
    writer.writerows(rows)
    text.flush()
    text.detach()
    return len(items)
