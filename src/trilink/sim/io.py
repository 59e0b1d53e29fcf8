"""File edge of the scenario generator: writes positions (CSV, Parquet), NMEA, SAR detections
and ground truth into an output directory."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
from numpy.typing import NDArray

from trilink.geo import load_zones, zones_to_geojson
from trilink.sim.catalog import IdentityFactory
from trilink.sim.nmea import iter_chunks, position_fields
from trilink.sim.routing import PORTS
from trilink.sim.scenario import Scenario, ScenarioConfig, generate, iso

CSV_COLUMNS = (
    "mmsi",
    "timestamp",
    "lat",
    "lon",
    "sog_kn",
    "cog_deg",
    "heading_deg",
    "name",
    "imo",
    "callsign",
    "ship_type",
    "flag",
)


def positions_frame(scen: Scenario) -> pl.DataFrame:
    """Positions joined with static data, columns as in the trilink CSV layout (+2 extra)."""
    p = scen.positions
    idents = list(scen.identities.values())
    static = pl.DataFrame(
        {
            "mmsi": [i.mmsi for i in idents],
            "name": [i.name for i in idents],
            "imo": [i.imo if i.imo else None for i in idents],
            "callsign": [i.callsign for i in idents],
            "ship_type": [i.ship_type for i in idents],
            "flag": [i.flag for i in idents],
        },
        schema={
            "mmsi": pl.Int64,
            "name": pl.String,
            "imo": pl.Int64,
            "callsign": pl.String,
            "ship_type": pl.Int64,
            "flag": pl.String,
        },
    )
    df = pl.DataFrame(
        {
            "mmsi": p.mmsi,
            "timestamp": pl.Series(p.t * 1_000_000).cast(pl.Datetime("us", "UTC")),
            "lat": np.round(p.lat, 6),
            "lon": np.round(p.lon, 6),
            "sog_kn": p.sog_kn,
            "cog_deg": p.cog_deg,
            "heading_deg": p.heading_deg,
            "msg_type": p.msg_type,
            "nav_status": p.status,
        }
    )
    df = df.join(static, on="mmsi", how="left", maintain_order="left")
    return df.select([*CSV_COLUMNS, "msg_type", "nav_status"])


def write_outputs(
    scen: Scenario,
    out: Path,
    *,
    nmea: bool = True,
    parquet: bool = True,
    csv: bool = True,
    step: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """Write every output file; returns name -> path."""
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    df = positions_frame(scen)
    if csv:
        if step:
            step("positions.csv")
        # Shortest round-trip text for floats (lat/lon already at 1e-6, sog/cog at 0.1);
        # written in slices so a 10-million-row day does not hold every row as text at once.
        files["positions_csv"] = out / "positions.csv"
        with files["positions_csv"].open("wb") as fh:
            for k, part in enumerate(df.select(CSV_COLUMNS).iter_slices(1_000_000)):
                part.with_columns(
                    pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    pl.col("lat", "lon").cast(pl.String),
                    pl.col("sog_kn", "cog_deg").round(1).cast(pl.String),
                ).write_csv(fh, include_header=k == 0)
    if parquet:
        if step:
            step("positions.parquet")
        files["positions_parquet"] = out / "positions.parquet"
        df.write_parquet(files["positions_parquet"], compression="zstd")
    if nmea:
        if step:
            step("ais.nmea")
        p = scen.positions

        def fields(a: int, b: int) -> dict[str, NDArray[np.int64]]:
            return position_fields(
                p.mmsi[a:b],
                p.t[a:b],
                p.lat[a:b],
                p.lon[a:b],
                p.sog_kn[a:b],
                p.cog_deg[a:b],
                p.heading_deg[a:b],
                p.msg_type[a:b],
                p.status[a:b],
            )

        files["nmea"] = out / "ais.nmea"
        with files["nmea"].open("wb") as fh:
            for chunk in iter_chunks(
                fields, p.t, scen.static_mmsi, scen.static_t, scen.identities
            ):
                fh.write(chunk)
    # The World Port Index positions the generator berths ships at; some (CHEJU HANG,
    # PYEONGTAEK HANG) are > 40 km from any Natural Earth port or GFW anchorage, so an events
    # engine should load these as user ports or it will see encounters alongside the quay.
    files["ports"] = out / "ports.csv"
    pl.DataFrame(
        {
            "name": [p[0] for p in PORTS],
            "lat": [p[2] for p in PORTS],
            "lon": [p[3] for p in PORTS],
            "country": [p[1] for p in PORTS],
            "source": ["World Port Index via GFW anchorages_pipeline"] * len(PORTS),
        }
    ).write_csv(files["ports"])
    if step:
        step("zones_neutral.geojson")
    # Japan's and Korea's approximate zones in the user zone-file layout, so the events
    # engine can be pointed at them (--zones) without knowing trilink.geo.
    zones = [z for z in load_zones("neutral") if z.nation in ("JPN", "KOR")]
    files["zones"] = out / "zones_neutral.geojson"
    files["zones"].write_text(json.dumps(zones_to_geojson(zones)), encoding="utf-8")
    if step:
        step("sar_detections.csv, ground_truth.json")
    files["sar_csv"] = out / "sar_detections.csv"
    pl.DataFrame(
        {
            "time": [iso(float(d["t_unix"])) for d in scen.sar],  # type: ignore[arg-type]
            "lat": [round(float(d["lat"]), 6) for d in scen.sar],  # type: ignore[arg-type]
            "lon": [round(float(d["lon"]), 6) for d in scen.sar],  # type: ignore[arg-type]
            "length_m": [float(d["length_m"]) for d in scen.sar],  # type: ignore[arg-type]
        },
        schema={"time": pl.String, "lat": pl.Float64, "lon": pl.Float64, "length_m": pl.Float64},
    ).write_csv(files["sar_csv"])
    truth = dict(scen.truth)
    truth["sar_truth"] = [
        {
            "time": iso(float(d["t_unix"])),  # type: ignore[arg-type]
            "lat": d["lat"],
            "lon": d["lon"],
            "mmsi": d["truth_mmsi"],
            "ais_visible": d["ais_visible"],
        }
        for d in scen.sar
    ]
    truth["files"] = {k: v.name for k, v in files.items()}
    files["truth"] = out / "ground_truth.json"
    files["truth"].write_text(json.dumps(truth, indent=2, default=_json_default), encoding="utf-8")
    return files


ARCHIVE_DIR = "archive"


def write_archive(
    config: ScenarioConfig,
    out: Path,
    *,
    part_vessels: int = 25,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, Path], dict[str, int]]:
    """A month-long archive in bounded memory: Parquet files in ``out/archive``, one per UTC
    day and part of ``part_vessels`` background vessels
    (``positions_<YYYY-MM-DD>_p<part>.parquet``, trilink layout, like ``positions.parquet``),
    plus part 0's ports, zones, SAR detections and ground truth beside it.

    ``config.vessels`` background vessels in all; part 0 also carries the planted events.
    Only one part's positions are in memory at a time. Returns the files and counts
    (parts, vessels, positions, files).
    """
    arch = out / ARCHIVE_DIR
    arch.mkdir(parents=True, exist_ok=True)
    for old in arch.glob("positions_*.parquet"):
        old.unlink()
    per_part = max(part_vessels, 1)
    n_parts = max(1, -(-config.vessels // per_part))
    files: dict[str, Path] = {"archive": arch}
    counts = {"parts": n_parts, "vessels": 0, "positions": 0, "files": 0}
    # One factory for every part: no MMSI or IMO is drawn twice.
    ids = IdentityFactory(np.random.default_rng([config.seed, 1]))
    for part in range(n_parts):
        n = max(0, min(per_part, config.vessels - part * per_part))
        scen = generate(replace(config, vessels=n), part=part, ids=ids)
        if part == 0:
            files.update(write_outputs(scen, out, nmea=False, parquet=False, csv=False))
        df = positions_frame(scen).with_columns(pl.col("timestamp").dt.date().alias("_day"))
        for (day,), chunk in df.partition_by("_day", as_dict=True, maintain_order=True).items():
            chunk.drop("_day").write_parquet(
                arch / f"positions_{day}_p{part:04d}.parquet", compression="zstd"
            )
            counts["files"] += 1
        counts["vessels"] += len(scen.identities)
        counts["positions"] += df.height
        del df, scen
        if progress is not None:
            progress(part + 1, n_parts)
    return files, counts


def _json_default(o: object) -> object:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
