"""A node's current picture as a file: the one export path behind the COP's downloads, the
node API's ``GET /api/v1/export`` and ``trilink export``. Each writes the same items as the map
(``ReportIndex``), in a format of ``trilink.interop.formats``, with the overall marking this
nation computes for exactly what the file holds."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace

from trilink.interop.formats import Format, format_named, render
from trilink.model.kinds import known_kinds
from trilink.web.filters import Filters, parse_filters
from trilink.web.index import ReportIndex


@dataclass(frozen=True)
class Export:
    body: bytes
    count: int
    marking: str
    format: Format
    nation: str

    @property
    def filename(self) -> str:
        return f"trilink-{self.nation}.{self.format.file_suffix}"

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Disposition": f'attachment; filename="{self.filename}"',
            "X-Classification": self.marking,
            "X-Trilink-Count": f"{self.count} {self.format.unit}",
        }


def export_picture(index: ReportIndex, fmt: Format, filters: Filters) -> Export:
    """``index``'s items passing ``filters`` written in ``fmt``. The caller holds the index's
    lock while it refreshes; selecting and writing read the entries as they are."""
    with index.lock:
        entries = index.select_entries(filters)
    items = fmt.portions([e.item for e in entries if e.item is not None])
    marking = index.marking([item.label for item in items])
    body, count = render(fmt, items, marking, index.nation)
    return Export(body, count, marking.text, fmt, index.nation)


def export_query(index: ReportIndex, fmt_name: str, params: Mapping[str, str]) -> Export:
    """An export from query parameters (``kind``, ``since``, ... as the COP's filters) with
    no list limit: every current item that passes them. ``InputError`` for a bad one."""
    fmt = format_named(fmt_name)
    filters = parse_filters(dict(params), nations=index.nations, known_kinds=known_kinds())
    with index.lock:
        index.refresh()
    return export_picture(index, fmt, replace(filters, limit=sys.maxsize))
