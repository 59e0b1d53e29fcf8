"""Output/input file edge: events, tracks and quality report to files analysts open.

Writes ``events.csv`` / ``events.geojson`` / ``events.parquet``, ``tracks.parquet`` (every
cleaned fix) / ``tracks.geojson`` (one line per vessel, thinned for size), ``quality.json`` /
``quality.txt``. Also reads the auxiliary inputs: zones GeoJSON, detections CSV, ports CSV.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from trilink.maritime.clean import QualityReport
from trilink.maritime.csvlayout import parse_time
from trilink.maritime.errors import MaritimeInputError
from trilink.maritime.events.context import Ports, Zone, zones_from_geojson
from trilink.maritime.tables import TS

MAX_LINE_POINTS = 2000  # per vessel in tracks.geojson; tracks.parquet keeps every fix


def iso(col: str) -> pl.Expr:
    return pl.col(col).dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").alias(col)


def write_events(events: pl.DataFrame, out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "csv": out / "events.csv",
        "geojson": out / "events.geojson",
        "parquet": out / "events.parquet",
    }
    events.with_columns(iso("start"), iso("end")).write_csv(paths["csv"])
    events.write_parquet(paths["parquet"])
    feats = []
    for r in events.with_columns(iso("start"), iso("end")).iter_rows(named=True):
        props = {k: v for k, v in r.items() if k not in ("lat", "lon", "details")}
        props["details"] = json.loads(r["details"]) if r["details"] else {}
        geom = (
            None
            if r["lat"] is None or r["lon"] is None
            else {"type": "Point", "coordinates": [r["lon"], r["lat"]]}
        )
        feats.append({"type": "Feature", "geometry": geom, "properties": props})
    paths["geojson"].write_text(
        json.dumps({"type": "FeatureCollection", "features": feats}), "utf-8"
    )
    return paths


def write_tracks(
    positions: pl.DataFrame, out: Path, vessels: pl.DataFrame | None = None
) -> dict[str, Path]:
    """Every cleaned fix to Parquet (statics joined per vessel while streaming to disk, so
    the joined table never sits in memory) and one thinned line per vessel to GeoJSON."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"parquet": out / "tracks.parquet", "geojson": out / "tracks.geojson"}
    lazy = positions.lazy()
    if vessels is not None and vessels.height:
        lazy = lazy.join(vessels.lazy(), on="mmsi", how="left", maintain_order="left")
    lazy.sink_parquet(paths["parquet"])
    info: dict[int, dict[str, Any]] = {}
    if vessels is not None:
        keep = [c for c in ("name", "flag", "ship_type", "imo") if c in vessels.columns]
        info = {
            int(r["mmsi"]): {k: r[k] for k in keep}
            for r in vessels.select("mmsi", *keep).iter_rows(named=True)
        }
    feats: list[dict[str, Any]] = []
    if positions.height:
        mmsi = positions.get_column("mmsi").to_numpy()
        lon = positions.get_column("lon").to_numpy()
        lat = positions.get_column("lat").to_numpy()
        ts = positions.get_column("timestamp")
        starts = np.flatnonzero(np.concatenate(([True], mmsi[1:] != mmsi[:-1])))
        ends = np.append(starts[1:], mmsi.size)
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            step = max(1, (b - a) // MAX_LINE_POINTS)
            idx = np.arange(a, b, step)
            if idx[-1] != b - 1:
                idx = np.append(idx, b - 1)
            coords = np.column_stack((lon[idx], lat[idx])).round(6).tolist()
            geom = (
                {"type": "LineString", "coordinates": coords}
                if len(coords) > 1
                else {"type": "Point", "coordinates": coords[0]}
            )
            props: dict[str, Any] = {
                "mmsi": int(mmsi[a]),
                "fixes": b - a,
                "start": ts[a].strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end": ts[b - 1].strftime("%Y-%m-%dT%H:%M:%SZ"),
                "thinned_every": step,
            }
            props.update(info.get(int(mmsi[a]), {}))
            feats.append({"type": "Feature", "geometry": geom, "properties": props})
    paths["geojson"].write_text(
        json.dumps({"type": "FeatureCollection", "features": feats}), "utf-8"
    )
    return paths


def write_quality(report: QualityReport, out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "quality.json", "text": out / "quality.txt"}
    paths["json"].write_text(json.dumps(report.to_dict(), indent=2), "utf-8")
    paths["text"].write_text(report.to_text(), "utf-8")
    return paths


def read_zones(path: Path) -> list[Zone]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MaritimeInputError(f"cannot read zones GeoJSON: {err}", path=str(path)) from None
    return zones_from_geojson(data, str(path))


def read_detections(path: Path) -> pl.DataFrame:
    """SAR/radar detections CSV: time, lat, lon and optionally length (m) and id."""
    try:
        raw = pl.read_csv(
            path, infer_schema=False, encoding="utf8-lossy", truncate_ragged_lines=True
        )
    except (OSError, pl.exceptions.PolarsError) as err:
        raise MaritimeInputError(f"cannot read detections CSV: {err}", path=str(path)) from None
    cols = {c.lower().strip(): c for c in raw.columns}

    def pick(*names: str) -> str | None:
        return next((cols[n] for n in names if n in cols), None)

    t, la, lo = (
        pick("time", "timestamp", "t", "datetime"),
        pick("lat", "latitude"),
        pick("lon", "longitude", "lng"),
    )
    if t is None or la is None or lo is None:
        raise MaritimeInputError(
            f"detections CSV needs columns time, lat, lon (optional length, id); found: "
            f"{', '.join(raw.columns)}",
            path=str(path),
        )
    exprs = [
        parse_time(pl.col(t), raw.get_column(t)).alias("timestamp"),
        pl.col(la).cast(pl.Float64, strict=False).alias("lat"),
        pl.col(lo).cast(pl.Float64, strict=False).alias("lon"),
    ]
    ln = pick("length", "length_m")
    if ln:
        exprs.append(pl.col(ln).cast(pl.Float64, strict=False).alias("length_m"))
    ident = pick("id", "detection_id")
    exprs.append(
        (pl.col(ident) if ident else pl.int_range(1, raw.height + 1).cast(pl.String)).alias("id")
    )
    df = raw.select(exprs)
    bad = df.filter(
        pl.col("timestamp").is_null()
        | pl.col("lat").is_null()
        | pl.col("lon").is_null()
        | (pl.col("lat").abs() > 90)
        | (pl.col("lon").abs() > 180)
    )
    if bad.height:
        raise MaritimeInputError(
            f"{bad.height} detection rows have an unreadable time or position "
            f"(ids {', '.join(bad.get_column('id').head(5).to_list())}); fix or remove them",
            path=str(path),
        )
    return df.with_columns(pl.col("timestamp").cast(TS))


def read_ports_csv(path: Path) -> Ports:
    """User ports: CSV with name, lat, lon (and optionally iso3)."""
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as err:
        raise MaritimeInputError(f"cannot read ports CSV: {err}", path=str(path)) from None
    cols = {c.lower(): c for c in raw.columns}
    name = cols.get("name") or cols.get("label")
    lat = cols.get("lat") or cols.get("latitude")
    lon = cols.get("lon") or cols.get("longitude")
    if not (name and lat and lon):
        raise MaritimeInputError(
            f"ports CSV needs name, lat, lon; found {raw.columns}", path=str(path)
        )
    iso = cols.get("iso3")
    return Ports(
        raw.get_column(lon).cast(pl.Float64).to_numpy(),
        raw.get_column(lat).cast(pl.Float64).to_numpy(),
        raw.get_column(name).to_list(),
        raw.get_column(iso).fill_null("").to_list() if iso else [""] * raw.height,
    )


def read_polygons(path: Path) -> list[Any]:
    """Polygons of any GeoJSON (areas of interest); properties are ignored."""
    import shapely

    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
        feats = data["features"] if data.get("type") == "FeatureCollection" else [data]
        geoms = [shapely.geometry.shape(f.get("geometry", f)) for f in feats]
    except (
        OSError,
        UnicodeDecodeError,
        json.JSONDecodeError,
        KeyError,
        TypeError,
        AttributeError,
        ValueError,
    ) as err:
        raise MaritimeInputError(
            f"cannot read area-of-interest GeoJSON: {err}", path=str(path)
        ) from None
    return [g for g in geoms if g.geom_type in ("Polygon", "MultiPolygon")]
