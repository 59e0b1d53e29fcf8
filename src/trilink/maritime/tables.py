"""Columnar tables every stage passes on: positions, vessel statics, and their schemas.

Positions are one polars DataFrame (one row per AIS position, numpy-backed columns), never
per-position Python objects. Times are ``timestamp`` Datetime(ms, UTC); kernels work on the
int64 epoch-millisecond view. Statics (name, IMO, call sign, type, dimensions, flag) are a
second table keyed by MMSI and time, joined onto positions by ``attach_statics``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

TS = pl.Datetime("ms", "UTC")

POSITION_SCHEMA: dict[str, pl.DataType] = {
    "mmsi": pl.Int64(),
    "timestamp": TS,
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "sog_kn": pl.Float64(),
    "cog_deg": pl.Float64(),
    "heading_deg": pl.Float64(),
    "msg_type": pl.Int16(),
    "source": pl.String(),
    "line": pl.Int64(),
}

STATIC_SCHEMA: dict[str, pl.DataType] = {
    "mmsi": pl.Int64(),
    "timestamp": TS,
    "name": pl.String(),
    "imo": pl.Int64(),
    "callsign": pl.String(),
    "ship_type": pl.Int64(),
    "length_m": pl.Float64(),
    "beam_m": pl.Float64(),
    "flag": pl.String(),
}

# AIS "not available" sentinels (ITU-R M.1371): SOG 102.3 kn, COG 360.0, heading 511.
SOG_NA_KN = 102.3
COG_NA_DEG = 360.0
HEADING_NA = 511.0


def empty_positions() -> pl.DataFrame:
    return pl.DataFrame(schema=POSITION_SCHEMA)


def empty_statics() -> pl.DataFrame:
    return pl.DataFrame(schema=STATIC_SCHEMA)


def conform(df: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Add missing columns as nulls, cast to the schema and order columns like it."""
    if df.width == 0:
        return pl.DataFrame(schema=schema)
    exprs = []
    for name, dtype in schema.items():
        if name in df.columns:
            exprs.append(pl.col(name).cast(dtype, strict=False))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    extra = [c for c in df.columns if c not in schema]
    return df.select(exprs + [pl.col(c) for c in extra])


def bbox_of(positions: pl.DataFrame) -> tuple[float, float, float, float] | None:
    """(lon min, lat min, lon max, lat max) of the valid positions, None if there are none.
    Nulls and out-of-range values are left out, so the bbox of a table split in parts is the
    min/max of the parts' bboxes."""
    good = (
        positions.select("lon", "lat")
        .drop_nulls()
        .filter((pl.col("lat").abs() <= 90) & (pl.col("lon").abs() <= 180))
    )
    if not good.height:
        return None
    row = good.select(
        pl.col("lon").min().alias("x0"),
        pl.col("lat").min().alias("y0"),
        pl.col("lon").max().alias("x1"),
        pl.col("lat").max().alias("y1"),
    ).row(0)
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def epoch_ms(df: pl.DataFrame, column: str = "timestamp") -> np.ndarray:
    """Epoch milliseconds of a timestamp column as int64 (no copy when possible)."""
    return df.get_column(column).dt.epoch("ms").to_numpy()


def normalise_sentinels(df: pl.DataFrame) -> pl.DataFrame:
    """Turn AIS 'not available' codes into nulls so no kernel mistakes them for data."""
    flagged = df.select(
        (pl.col("sog_kn") >= SOG_NA_KN).any(),
        (pl.col("cog_deg") >= COG_NA_DEG).any(),
        (pl.col("heading_deg") >= HEADING_NA - 0.5).any(),
    ).row(0)
    if not any(flagged):
        return df  # nothing to replace: keep the input's buffers, no copy
    return df.with_columns(
        pl.when(pl.col("sog_kn") >= SOG_NA_KN)
        .then(None)
        .otherwise(pl.col("sog_kn"))
        .alias("sog_kn"),
        pl.when(pl.col("cog_deg") >= COG_NA_DEG)
        .then(None)
        .otherwise(pl.col("cog_deg"))
        .alias("cog_deg"),
        pl.when(pl.col("heading_deg") >= HEADING_NA - 0.5)
        .then(None)
        .otherwise(pl.col("heading_deg"))
        .alias("heading_deg"),
    )


def latest_statics(statics: pl.DataFrame) -> pl.DataFrame:
    """One row per MMSI: the last non-null value seen of every static field."""
    if statics.height == 0:
        return empty_statics().drop("timestamp")
    fields = [c for c in STATIC_SCHEMA if c not in ("mmsi", "timestamp")]
    return (
        statics.sort("mmsi", "timestamp", nulls_last=False)
        .group_by("mmsi", maintain_order=True)
        .agg([pl.col(c).drop_nulls().last().alias(c) for c in fields])
    )


def vessel_table(positions: pl.DataFrame, statics: pl.DataFrame) -> pl.DataFrame:
    """One row per MMSI in ``positions``: latest statics, flag falling back to the MID."""
    from trilink.maritime.flags import flag_from_mmsi_expr

    vessels = pl.DataFrame({"mmsi": np.unique(positions.get_column("mmsi").to_numpy())})
    return vessels.join(latest_statics(statics), on="mmsi", how="left").with_columns(
        pl.coalesce(pl.col("flag"), flag_from_mmsi_expr(pl.col("mmsi"))).alias("flag")
    )


def attach_statics(positions: pl.DataFrame, statics: pl.DataFrame) -> pl.DataFrame:
    """Add each MMSI's latest static data to its positions (flag falls back to the MID).

    Works per vessel on the small table, then gathers by row index; text columns become
    categoricals so only a 4-byte code is stored per row. Large outputs should rather join
    ``vessel_table`` lazily while writing (see ``trilink.maritime.io.write_tracks``).
    """
    base = positions.drop(
        [
            c
            for c in ("name", "imo", "callsign", "ship_type", "length_m", "beam_m", "flag")
            if c in positions.columns
        ]
    )
    vessels = vessel_table(base, statics).with_columns(
        pl.col("name", "callsign", "flag").cast(pl.Categorical)
    )
    row = np.searchsorted(
        vessels.get_column("mmsi").to_numpy(), base.get_column("mmsi").to_numpy()
    )
    extra = vessels.drop("mmsi")[row]
    return base.hstack(extra.get_columns())
