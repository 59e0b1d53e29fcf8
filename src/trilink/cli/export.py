"""`trilink export`: a node's current picture as a file for Google Earth, QGIS, TAK or a
spreadsheet, with the same content and labels as the COP's download links."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from trilink.cli.common import DirOption, NationOption, client_for, err_console, nation_code
from trilink.interop.formats import FORMATS, format_named, write_atomically

FORMAT_HELP = "; ".join(f"{f.name}: {f.describe}" for f in FORMATS.values())


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
    chosen = format_named(fmt)  # an unknown format is refused before asking the node
    params = {k: v for k, v in (("kind", kind), ("since", since)) if v is not None}
    with client_for(root, nation_code(nation)) as client:
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
