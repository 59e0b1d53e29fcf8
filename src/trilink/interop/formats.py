"""The export formats by name, and writing one whole or not at all.

``trilink export --format NAME`` and the COP's download links use this one table, so both
write the same bytes for the same picture. A file is written to a temporary file beside its
destination and renamed over it only when complete: an interrupted or failed export leaves
the previous file (or nothing), never half a file.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from trilink.errors import InputError
from trilink.interop.cot import write_data_package
from trilink.interop.geojson import write_geojson
from trilink.interop.geoparquet import write_geoparquet
from trilink.interop.items import Item
from trilink.interop.kml import write_kml
from trilink.interop.marking import Marking
from trilink.interop.tables import write_csv

Writer = Callable[[Sequence[Item], Marking, str, IO[bytes]], int]


@dataclass(frozen=True)
class Format:
    name: str
    extension: str
    media_type: str
    write: Writer
    unit: str  # what the count of a written file counts
    describe: str
    map_only: bool = True  # holds only reports on the map (positions, not ended)

    @property
    def file_suffix(self) -> str:
        return "cot.zip" if self.extension == "zip" else self.extension

    def portions(self, items: Sequence[Item]) -> list[Item]:
        """The items this format writes: what its overall marking covers."""
        if not self.map_only:
            return list(items)
        return [item for item in items if item.features and not item.ended]


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "geojson",
            "geojson",
            "application/geo+json",
            write_geojson,
            "features",
            "RFC 7946 GeoJSON: every map feature with its label and properties",
        ),
        Format(
            "kml",
            "kml",
            "application/vnd.google-earth.kml+xml",
            write_kml,
            "placemarks",
            "KML 2.2 for Google Earth: folders per kind and origin, time, altitude, styles",
        ),
        Format(
            "cot",
            "zip",
            "application/zip",
            write_data_package,
            "events",
            "TAK data package: one Cursor-on-Target event per track or report",
        ),
        Format(
            "geoparquet",
            "parquet",
            "application/vnd.apache.parquet",
            write_geoparquet,
            "features",
            "GeoParquet 1.1: one row per map feature, WKB geometry",
        ),
        Format(
            "csv",
            "csv",
            "text/csv",
            write_csv,
            "reports",
            "CSV: one row per report (event id, IMO, MMSI, times, position, label)",
            map_only=False,
        ),
    )
}


class UnknownFormatError(InputError):
    """An export format that does not exist."""


def format_named(name: str) -> Format:
    try:
        return FORMATS[name.strip().lower()]
    except KeyError:
        raise UnknownFormatError(
            f"unknown export format {name[:40]!r}; use one of: {', '.join(FORMATS)}",
            field="format",
        ) from None


def render(fmt: Format, items: Sequence[Item], marking: Marking, nation: str) -> tuple[bytes, int]:
    """The whole export in memory (the COP's downloads) and its count."""
    buf = io.BytesIO()
    count = fmt.write(items, marking, nation, buf)
    return buf.getvalue(), count


def write_file(
    path: Path, fmt: Format, items: Sequence[Item], marking: Marking, nation: str
) -> int:
    """Write the export to ``path`` atomically; returns the count the format reports."""
    return write_atomically(path, lambda out: fmt.write(items, marking, nation, out))


def write_atomically(path: Path, write: Callable[[IO[bytes]], int]) -> int:
    """Call ``write`` on a temporary file beside ``path``, then put it in place: a reader
    of ``path`` sees the old file or the whole new one, never half of it."""
    directory = path.parent
    if not directory.is_dir():
        raise InputError(
            f"cannot write {path}: the folder {directory} does not exist", field="out"
        )
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            count = write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return count
