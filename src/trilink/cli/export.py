"""`trilink export`: a node's current picture as a file for Google Earth, QGIS, TAK or a
spreadsheet, with the same content and labels as the COP's download links."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from trilink.cli.common import (
    DirOption,
    NationOption,
    client_for,
    err_console,
    nation_code,
    working,
)

# What `trilink.interop.formats.FORMATS` describes, written out so that `trilink --help`
# need not import the exporters (a test checks the two agree).
FORMAT_HELP = (
    "geojson: RFC 7946 GeoJSON: every map feature with its label and properties; "
    "kml: KML 2.2 for Google Earth: folders per kind and origin, time, altitude, styles; "
    "cot: TAK data package: one Cursor-on-Target event per track or report; "
    "geoparquet: GeoParquet 1.1: one row per map feature, WKB geometry; "
    "csv: CSV: one row per report (event id, IMO, MMSI, times, position, label)"
)


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
    label and the file with its overall marking. The running node writes it (its node API,
    a reader token is enough), as its COP's download links do."""
    from trilink.interop.formats import format_named, write_atomically

    chosen = format_named(fmt)  # an unknown format is refused before asking the node
    params = {k: v for k, v in (("kind", kind), ("since", since)) if v is not None}
    with client_for(root, nation_code(nation)) as client, working(f"exporting {chosen.name}"):
        body, headers = client.export(chosen.name, params)
    if out == "-":
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
    else:
        write_atomically(Path(out), lambda handle: handle.write(body))
    where = "stdout" if out == "-" else out
    err_console.print(
        f"wrote {headers.get('x-trilink-count', '?')} to {where}, marked "
        f"{headers.get('x-classification', '?')}"
    )
