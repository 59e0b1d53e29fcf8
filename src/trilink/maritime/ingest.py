"""File edge of the maritime engine: NMEA / CSV / Parquet files → position and static tables.

Reads the bytes and hands them to the pure parsers (``nmea``, ``decode``, ``csvlayout``).
NMEA files are read in chunks of lines so a large log never sits twice in memory. A file
that cannot be read at all raises ``MaritimeInputError`` naming it; bad records inside a
readable file are counted with their line and the rest goes through.
"""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from trilink.maritime.csvlayout import detect_layout, to_tables
from trilink.maritime.errors import MaritimeInputError
from trilink.maritime.fastlines import parse_block
from trilink.maritime.nmea import MAX_LINE, NmeaParser, ProblemLog
from trilink.maritime.tables import POSITION_SCHEMA, STATIC_SCHEMA, conform


@dataclass
class Ingested:
    """Everything read from the inputs, plus what was wrong with them."""

    positions: pl.DataFrame
    statics: pl.DataFrame
    problems: ProblemLog = field(default_factory=ProblemLog)
    notes: Counter[str] = field(default_factory=Counter)
    msg_types: Counter[int] = field(default_factory=Counter)
    layouts: dict[str, str] = field(default_factory=dict)
    ids_are_mmsi: bool = True
    sentences: int = 0
    messages: int = 0


def sniff_kind(path: Path) -> str:
    """'nmea', 'csv' or 'parquet' from the extension, else from the first bytes."""
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".csv", ".tsv")):
        return "csv"
    if name.endswith((".nmea", ".ais", ".aivdm", ".log", ".txt")):
        return "nmea"
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as err:
        raise MaritimeInputError(f"cannot read file: {err}", path=str(path)) from None
    if head.startswith(b"PAR1"):
        return "parquet"
    if b"!AIVD" in head or b"!BSVD" in head or b"!ABVD" in head:
        return "nmea"
    return "csv"


def _blocks(path: Path, size: int = 8 * 1024 * 1024) -> Iterator[bytes]:
    """The file in blocks of whole lines (the last may lack its newline). A line longer than
    a block is cut to ``MAX_LINE + 1`` bytes (the parser counts it as too long) and the rest
    of it skipped, so memory stays at two blocks whatever the file holds."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            rest = b""
            skipping = False
            while True:
                chunk = fh.read(size)
                if not chunk:
                    break
                if skipping:
                    end = chunk.find(b"\n")
                    if end < 0:
                        continue
                    chunk, skipping = chunk[end + 1 :], False
                chunk = rest + chunk
                cut = chunk.rfind(b"\n")
                if cut < 0:
                    rest = chunk
                    if len(chunk) > size:
                        yield chunk[: MAX_LINE + 1] + b"\n"
                        rest, skipping = b"", True
                    continue
                yield chunk[: cut + 1]
                rest = chunk[cut + 1 :]
            if rest:
                yield rest
    except (OSError, EOFError) as err:
        raise MaritimeInputError(f"cannot read file: {err}", path=str(path)) from None


def read_nmea(
    path: Path,
    *,
    keep_raw: bool = False,
    decode_all: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Ingested:
    """Parse and decode an NMEA file (optionally gzip), block by block."""
    parser = NmeaParser(path.name, keep_raw=keep_raw)
    pos_parts: list[pl.DataFrame] = []
    st_parts: list[pl.DataFrame] = []
    types: Counter[int] = Counter()
    messages = 0
    line_no = 1
    for block in _blocks(path):
        dec, n_lines = parse_block(parser, block, line_no, decode_all=decode_all)
        line_no += n_lines
        messages += dec.fast + dec.slow + dec.skipped
        types.update(dec.types)
        pos_parts.append(dec.positions)
        st_parts.append(dec.statics)
        if progress is not None:
            progress(n_lines)
    parser.finish()
    return Ingested(
        positions=_concat(pos_parts, POSITION_SCHEMA),
        statics=_concat(st_parts, STATIC_SCHEMA),
        problems=parser.problems,
        notes=parser.notes,
        msg_types=types,
        layouts={path.name: "nmea"},
        sentences=parser.sentences,
        messages=messages,
    )


def read_table(path: Path, kind: str, columns: dict[str, str] | None = None) -> Ingested:
    """Read a CSV or Parquet AIS table of any known layout, or through a column mapping
    (``csvlayout.parse_column_mapping``)."""
    problems = ProblemLog()
    try:
        if kind == "parquet":
            raw = pl.read_parquet(path)
        else:
            raw = pl.read_csv(
                path,
                infer_schema=False,
                encoding="utf8-lossy",
                truncate_ragged_lines=True,
            )
    except (OSError, pl.exceptions.PolarsError) as err:
        raise MaritimeInputError(f"cannot read {kind} table: {err}", path=str(path)) from None
    layout = detect_layout(raw.columns, str(path), columns)
    positions, statics = to_tables(raw, layout, path.name, problems)
    return Ingested(
        positions=positions,
        statics=statics,
        problems=problems,
        layouts={path.name: layout.name},
        ids_are_mmsi=layout.ids_are_mmsi,
        messages=raw.height,
    )


def read_inputs(
    paths: list[Path],
    *,
    progress: Callable[[int], None] | None = None,
    columns: dict[str, str] | None = None,
    on_file: Callable[[Path], None] | None = None,
) -> Ingested:
    """Read every input file and concatenate positions and statics. ``columns`` maps engine
    fields to a table's columns (CSV/Parquet inputs; see ``csvlayout.detect_layout``);
    ``progress`` is called with the lines of NMEA read so far, ``on_file`` after each file."""
    parts: list[Ingested] = []
    for path in paths:
        if not path.exists():
            raise MaritimeInputError("file does not exist", path=str(path))
        if path.is_dir():
            raise MaritimeInputError("is a directory, not an AIS file", path=str(path))
        kind = sniff_kind(path)
        if kind == "nmea":
            part = read_nmea(path, progress=progress)
        else:
            part = read_table(path, kind, columns)
        parts.append(part)
        if on_file is not None:
            on_file(path)
    return merge(parts)


def merge(parts: list[Ingested]) -> Ingested:
    out = Ingested(
        positions=_concat([p.positions for p in parts], POSITION_SCHEMA),
        statics=_concat([p.statics for p in parts], STATIC_SCHEMA),
    )
    for p in parts:
        out.problems.merge(p.problems)
        out.notes.update(p.notes)
        out.msg_types.update(p.msg_types)
        out.layouts.update(p.layouts)
        out.ids_are_mmsi = out.ids_are_mmsi and p.ids_are_mmsi
        out.sentences += p.sentences
        out.messages += p.messages
    return out


def _concat(frames: list[pl.DataFrame], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    frames = [conform(f, schema).select(list(schema)) for f in frames if f.height]
    if not frames:
        return conform(pl.DataFrame(), schema).select(list(schema))
    return pl.concat(frames, how="vertical")
