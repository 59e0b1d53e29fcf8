"""`trilink export`: a node's current picture as a file for Google Earth, QGIS, TAK or a
spreadsheet, with the same content and labels as the COP's download links."""

from __future__ import annotations

import sys
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from trilink.cli.common import (
    DirOption,
    NationOption,
    err_console,
    nation_code,
    node_dir,
    working,
)

if TYPE_CHECKING:
    from trilink.interop.items import Item

# What `trilink.interop.formats.FORMATS` describes, written out so that `trilink --help`
# need not import the exporters (a test checks the two agree).
FORMAT_HELP = (
    "geojson: RFC 7946 GeoJSON: every map feature with its label and properties; "
    "kml: KML 2.2 for Google Earth: folders per kind and origin, time, altitude, styles; "
    "cot: TAK data package: one Cursor-on-Target event per track or report; "
    "geoparquet: GeoParquet 1.1: one row per map feature, WKB geometry; "
    "csv: CSV: one row per report (event id, IMO, MMSI, times, position, label)"
)


def read_picture(root: Path, nation: str, params: dict[str, str]) -> tuple[list[Item], str]:
    """The current items of NATION's node passing the COP filters ``params`` (every item,
    no COP list limit), as its COP shows them, and the nation. Reads the node's store
    directly and only reads it; the node API client will take this function's place."""
    from trilink.model.kinds import known_kinds
    from trilink.node.config import load_node_config
    from trilink.store.base import open_store
    from trilink.web.filters import parse_filters
    from trilink.web.index import ReportIndex

    config = load_node_config(node_dir(root, nation) / "node.toml")
    nations = config.policy.nations
    filters = parse_filters(params, nations=nations, known_kinds=known_kinds())
    with closing(open_store(config.db_url)) as store:
        index = ReportIndex(store, config.nation, nations)
        index.refresh()
        entries = index.select_entries(replace(filters, limit=sys.maxsize))
    return [e.item for e in entries if e.item is not None], config.nation


def export(
    root: Path = DirOption,
    nation: str = NationOption,
    fmt: str = typer.Option(..., "--format", help=f"Output format. {FORMAT_HELP}."),
    out: str = typer.Option(
        ..., "--out", help="File to write (replaced only once complete), or - for stdout."
    ),
    kind: str | None = typer.Option(
        None, "--kind", help="Only these report kinds, comma-separated (e.g. missile.track)."
    ),
    since: str | None = typer.Option(
        None,
        "--since",
        help="Only reports created since a UTC time (2026-11-23T06:00:00Z) or an age (90m, "
        "6h, 2d).",
    ),
) -> None:
    """Write NATION's current picture (newest state of every track, warning and report it
    holds) as GeoJSON, KML, a TAK data package, GeoParquet or CSV, each feature with its
    label and the file with its overall marking."""
    from trilink.interop.formats import format_named, render, write_file
    from trilink.interop.marking import marking_of

    chosen = format_named(fmt)
    params = {k: v for k, v in (("kind", kind), ("since", since)) if v is not None}
    with working(f"reading the picture of {nation_code(nation)}"):
        items, code = read_picture(root, nation_code(nation), params)
    portions = chosen.portions(items)
    marking = marking_of([item.label for item in portions], code)
    with working(f"writing {len(portions):,} items as {chosen.name}"):
        if out == "-":
            body, count = render(chosen, portions, marking, code)
            sys.stdout.buffer.write(body)
            sys.stdout.buffer.flush()
        else:
            count = write_file(Path(out), chosen, portions, marking, code)
    where = "stdout" if out == "-" else out
    err_console.print(f"wrote {count} {chosen.unit} to {where}, marked {marking.text}")
