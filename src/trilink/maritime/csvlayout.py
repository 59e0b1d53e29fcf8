"""Tabular AIS layouts (CSV/Parquet) → the engine's position and static tables (pure).

Known layouts: trilink (``mmsi,timestamp,lat,lon,sog_kn,...``), NOAA MarineCadastre
(``MMSI,BaseDateTime,LAT,LON,SOG,...``), Danish Maritime Authority (``# Timestamp,Type of
mobile,MMSI,Latitude,...``), the movingpandas/DMA export (``t,MMSI,lat,lon,SOG,...``) and
VesselsValue (``ID,ais_pos_timestamp,longitude,latitude``; ids are *not* MMSIs). Columns are
matched by alias (case, spaces, ``_`` and ``-`` ignored), so column order and extra columns
do not matter; any other table is read through a column mapping
(``mmsi=MMSI,timestamp=Time,lat=Latitude_degrees,...``, see ``parse_column_mapping``).
Values that do not parse become nulls and are counted per row (file line) by ``clean``;
they never stop a run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from trilink.maritime.errors import UnknownLayoutError
from trilink.maritime.nmea import ProblemLog
from trilink.maritime.tables import POSITION_SCHEMA, STATIC_SCHEMA, TS, conform

ALIASES: dict[str, tuple[str, ...]] = {
    "mmsi": ("mmsi", "userid", "mmsinumber", "sourcemmsi", "id", "vesselid", "shipid"),
    "timestamp": (
        "timestamp",
        "basedatetime",
        "t",
        "time",
        "datetime",
        "aispostimestamp",
        "timestamputc",
        "tutc",
        "dtposutc",
        "timeutc",
        "datetimeutc",
        "utc",
        "postime",
        "positiontime",
        "msgtime",
        "eventtime",
        "receivedtime",
        "basedatetimeutc",
    ),
    "lat": ("lat", "latitude", "latitudedegrees", "latdeg", "latitudedeg", "latdd", "y"),
    "lon": (
        "lon",
        "longitude",
        "long",
        "lng",
        "longitudedegrees",
        "londeg",
        "longitudedeg",
        "londd",
        "x",
    ),
    "sog_kn": ("sogkn", "sog", "speed", "speedkn", "speedknots", "sogknots", "speedoverground"),
    "cog_deg": ("cogdeg", "cog", "course", "coursedeg", "courseoverground", "cogdegrees"),
    "heading_deg": ("headingdeg", "heading", "trueheading", "hdg", "headingdegrees"),
    "name": ("name", "vesselname", "shipname"),
    "imo": ("imo", "imonumber", "imono"),
    "callsign": ("callsign", "radiocallsign"),
    "ship_type": ("shiptype", "vesseltype", "typeofship", "shiptypecode"),
    "length_m": ("lengthm", "length", "shiplength"),
    "beam_m": ("beamm", "width", "beam", "widthm", "shipwidth"),
    "flag": ("flag", "flagiso3", "flagstate", "flagcountry"),
}
REQUIRED = ("mmsi", "timestamp", "lat", "lon")

# Danish/movingpandas exports name the ship type in words; AIS codes per ITU-R M.1371.
SHIP_TYPE_WORDS: dict[str, int] = {
    "wig": 20,
    "fishing": 30,
    "towing": 31,
    "towing long/wide": 32,
    "dredging": 33,
    "diving": 34,
    "military": 35,
    "sailing": 36,
    "pleasure": 37,
    "hsc": 40,
    "pilot": 50,
    "sar": 51,
    "tug": 52,
    "port tender": 53,
    "anti-pollution": 54,
    "law enforcement": 55,
    "medical": 58,
    "passenger": 60,
    "cargo": 70,
    "tanker": 80,
    "other": 90,
}

_TIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%Y-%m-%d %H:%M",
)


def _key(column: str) -> str:
    return re.sub(r"[^a-z0-9]", "", column.lower())


@dataclass(frozen=True)
class Layout:
    """Which input column feeds which engine field, and what the layout is called."""

    name: str
    columns: dict[str, str]
    ids_are_mmsi: bool = True


def parse_column_mapping(text: str) -> dict[str, str]:
    """``mmsi=MMSI,timestamp=Time,lat=Latitude_degrees`` -> ``{"mmsi": "MMSI", ...}``: which
    column of the input holds each engine field (fields: the keys of ``ALIASES``). A column
    name is taken as written (surrounding spaces dropped); a field may be named once."""
    mapping: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        field, sep, column = part.partition("=")
        field, column = field.strip().lower(), column.strip()
        if not sep or not field or not column:
            raise UnknownLayoutError(
                f"--columns: {part.strip()!r} is not FIELD=COLUMN; e.g. "
                "mmsi=MMSI,timestamp=Time,lat=Latitude_degrees,lon=Longitude_degrees",
                field="columns",
            )
        if field not in ALIASES:
            raise UnknownLayoutError(
                f"--columns: unknown field {field!r}; fields: {', '.join(ALIASES)}",
                field="columns",
            )
        if field in mapping:
            raise UnknownLayoutError(f"--columns names {field!r} twice", field="columns")
        mapping[field] = column
    if not mapping:
        raise UnknownLayoutError("--columns is empty; e.g. mmsi=MMSI,timestamp=Time",
                                 field="columns")  # fmt: skip
    return mapping


def detect_layout(
    columns: list[str], source: str = "", given: dict[str, str] | None = None
) -> Layout:
    """Match columns by alias, after the columns ``given`` for some fields (``--columns``);
    raise ``UnknownLayoutError`` naming what was found and needed, or a given column that
    the table does not have."""
    by_key: dict[str, str] = {}
    for col in columns:
        by_key.setdefault(_key(col), col)
    mapping: dict[str, str] = {}
    for target, column in (given or {}).items():
        found = column if column in columns else by_key.get(_key(column))
        if found is None:
            raise UnknownLayoutError(
                f"--columns maps {target} to a column {column!r} that the table does not "
                f"have; columns found: {', '.join(columns) or '(none)'}",
                path=source or None,
            )
        mapping[target] = found
    for target, aliases in ALIASES.items():
        if target in mapping:
            continue
        for alias in aliases:
            if alias in by_key and by_key[alias] not in mapping.values():
                mapping[target] = by_key[alias]
                break
    missing = [f for f in REQUIRED if f not in mapping]
    if missing:
        raise UnknownLayoutError(
            f"unknown AIS table layout: columns found: {', '.join(columns) or '(none)'}; "
            f"missing {', '.join(missing)}. Needed: a vessel id (MMSI), a UTC time, latitude "
            "and longitude, e.g. the trilink layout mmsi,timestamp,lat,lon,sog_kn,cog_deg,"
            "heading_deg,name,imo,callsign,ship_type,flag, MarineCadastre (MMSI,BaseDateTime,"
            "LAT,LON,...) or Danish Maritime Authority (# Timestamp,MMSI,Latitude,Longitude,...)"
            "; or name the columns: --columns " + ",".join(f"{f}=COLUMN" for f in missing),
            path=source or None,
        )
    keys = {_key(c) for c in columns}
    ids_are_mmsi = "mmsi" in (given or {}) or _key(mapping["mmsi"]) in (
        "mmsi",
        "userid",
        "mmsinumber",
        "sourcemmsi",
    )
    if given:
        name = "mapped"
    elif "basedatetime" in keys:
        name = "marinecadastre"
    elif "typeofmobile" in keys:
        name = "dma"
    elif "aispostimestamp" in keys:
        name = "vesselsvalue"
    elif {"sogkn", "cogdeg"} <= keys:
        name = "trilink"
    elif "navstatus" in keys:
        name = "movingpandas-dma"
    else:
        name = "generic"
    return Layout(name=name, columns=mapping, ids_are_mmsi=ids_are_mmsi)


def parse_time(col: pl.Expr, sample: pl.Series) -> pl.Expr:
    """Pick the format that parses the most of a sample, then parse the column as UTC."""
    if sample.dtype != pl.String:
        return col.cast(TS, strict=False)
    best, best_ok = _TIME_FORMATS[0], -1
    texts = sample.drop_nulls().head(200)
    for fmt in _TIME_FORMATS:
        parsed = texts.str.to_datetime(fmt, strict=False, time_zone="UTC")
        ok = parsed.len() - parsed.null_count()
        if ok > best_ok:
            best, best_ok = fmt, ok
    if best.endswith("%#z"):
        return col.str.to_datetime(best, strict=False).dt.convert_time_zone("UTC").cast(TS)
    return col.str.to_datetime(best, strict=False, time_zone="UTC").cast(TS)


def _ship_type(col: pl.Expr, sample: pl.Series) -> pl.Expr:
    numeric = sample.cast(pl.Int64, strict=False)
    if sample.dtype != pl.String or numeric.null_count() <= sample.null_count():
        return col.cast(pl.Int64, strict=False)
    words = {k: v for k, v in SHIP_TYPE_WORDS.items()}
    return pl.coalesce(
        col.cast(pl.Int64, strict=False),
        col.str.to_lowercase()
        .str.strip_chars()
        .replace_strict(words, default=None, return_dtype=pl.Int64),
    )


def to_tables(
    raw: pl.DataFrame, layout: Layout, source: str, problems: ProblemLog, first_line: int = 2
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Convert a raw table (all columns as read) into (positions, statics)."""
    m = layout.columns
    exprs: list[pl.Expr] = []
    for field in POSITION_SCHEMA:
        if field in m:
            col = pl.col(m[field])
            if field == "timestamp":
                exprs.append(parse_time(col, raw.get_column(m[field])).alias(field))
            elif field == "mmsi":
                exprs.append(
                    col.cast(pl.Float64, strict=False).cast(pl.Int64, strict=False).alias(field)
                )
            else:
                exprs.append(col.cast(pl.Float64, strict=False).alias(field))
    static_exprs: list[pl.Expr] = []
    for field in ("name", "callsign", "flag"):
        if field in m:
            static_exprs.append(
                pl.col(m[field])
                .cast(pl.String)
                .str.strip_chars()
                .replace({"": None, "Unknown": None, "Unknown value": None})
                .alias(field)
            )
    if "imo" in m:
        static_exprs.append(
            pl.col(m["imo"])
            .cast(pl.String)
            .str.extract(r"(\d{7})", 1)
            .cast(pl.Int64, strict=False)
            .alias("imo")
        )
    if "ship_type" in m:
        static_exprs.append(
            _ship_type(pl.col(m["ship_type"]), raw.get_column(m["ship_type"])).alias("ship_type")
        )
    for field in ("length_m", "beam_m"):
        if field in m:
            static_exprs.append(pl.col(m[field]).cast(pl.Float64, strict=False).alias(field))
    n = raw.height
    table = raw.select(
        exprs
        + static_exprs
        + [pl.int_range(first_line, first_line + n, dtype=pl.Int64).alias("line")]
    ).with_columns(pl.lit(source).alias("source"))
    # A value that was present but did not parse is a malformed record, not a missing one.
    for field, column in m.items():
        if field not in table.columns or field in ("name", "callsign", "flag", "imo"):
            continue
        bad = table.select(
            pl.col("line").filter(
                pl.col(field).is_null()
                & raw.get_column(column).is_not_null()
                & (raw.get_column(column).cast(pl.String).str.strip_chars() != "")
            )
        ).get_column("line")
        for line in bad.head(20).to_list():
            problems.add(
                source,
                int(line),
                f"unparsable_{field}",
                str(raw.get_column(column)[int(line) - first_line]),
            )
        if bad.len() > 20:
            problems.counts[f"unparsable_{field}"] += bad.len() - 20
    positions = conform(
        table.select([c for c in table.columns if c in POSITION_SCHEMA]), POSITION_SCHEMA
    ).select(list(POSITION_SCHEMA))
    static_cols = [
        c
        for c in ("name", "imo", "callsign", "ship_type", "length_m", "beam_m", "flag")
        if c in table.columns
    ]
    if static_cols:
        statics = (
            table.select(["mmsi", "timestamp", *static_cols])
            .filter(pl.any_horizontal([pl.col(c).is_not_null() for c in static_cols]))
            .unique(subset=["mmsi", *static_cols], keep="first", maintain_order=True)
        )
        statics = conform(statics, STATIC_SCHEMA).select(list(STATIC_SCHEMA))
    else:
        statics = conform(pl.DataFrame(), STATIC_SCHEMA)
    return positions, statics
