"""File edge of `trilink.geo`: reads the bundled data files and user zone GeoJSON.

Everything here reads local files only (bundled in ``trilink/geo/data`` or given by the user);
nothing is fetched at run time. Parsed results are cached per process.
"""

from __future__ import annotations

import csv
import gzip
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from trilink.geo.errors import ZoneFileError
from trilink.geo.features import ALL_ZONE_TYPES, Port, Zone, ZoneType
from trilink.geo.nations import BORDER_SEEDS, Labels

DATA_DIR = Path(__file__).resolve().parent / "data"
ZONE_FILE = DATA_DIR / "zones_east_asia.geojson"  # written by build_zones
REGIONS = ("east_asia", "suez", "solent")
EAST_ASIA_BOX = (115.0, 20.0, 155.0, 50.0)
REGION_BOXES: dict[str, tuple[float, float, float, float]] = {
    "east_asia": EAST_ASIA_BOX,
    "suez": (31.0, 29.0, 34.0, 32.0),
    "solent": (-1.8, 50.5, -0.7, 51.0),
}


def _read_json(path: Path) -> Any:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return json.load(fh)
    return json.loads(path.read_text(encoding="utf-8"))


def read_raw_land(region: str) -> list[BaseGeometry]:
    """Natural Earth land + minor islands of a region as shapely geometries (build input)."""
    doc = _read_json(DATA_DIR / f"ne_10m_land_{region}.geojson.gz")
    return [shape(f["geometry"]) for f in doc["features"]]


def read_labels() -> Labels:
    """Labelled points for land assignment: places, GFW anchorages, WPI ports, border seeds."""
    lon0, lat0, lon1, lat1 = EAST_ASIA_BOX
    nat: list[str] = []
    lat: list[float] = []
    lon: list[float] = []
    with (DATA_DIR / "ne_10m_populated_places_east_asia.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            nat.append(row["adm0_a3"])
            lat.append(float(row["latitude"]))
            lon.append(float(row["longitude"]))
    with gzip.open(DATA_DIR / "gfw_named_anchorages_clipped.csv.gz", "rt", encoding="utf-8") as fz:
        for row in csv.DictReader(fz):
            if row["region"] == "east_asia":
                nat.append(row["iso3"])
                lat.append(float(row["latitude"]))
                lon.append(float(row["longitude"]))
    with (DATA_DIR / "wpi_ports_gfw.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            la, lo = float(row["latitude"]), float(row["longitude"])
            if lon0 <= lo <= lon1 and lat0 <= la <= lat1:
                nat.append(row["iso3"])
                lat.append(la)
                lon.append(lo)
    for nation, la, lo, _why in BORDER_SEEDS:
        nat.append(nation)
        lat.append(la)
        lon.append(lo)
    return Labels(np.asarray(nat), np.asarray(lon, dtype=np.float64), np.asarray(lat))


@lru_cache(maxsize=1)
def land_features() -> tuple[tuple[str, str | None, BaseGeometry], ...]:
    """Assigned East Asia land parts: (nation, disputed group id or None, geometry)."""
    doc = _read_json(DATA_DIR / "land_east_asia.geojson.gz")
    return tuple(
        (f["properties"]["nation"], f["properties"]["disputed"], shape(f["geometry"]))
        for f in doc["features"]
    )


@lru_cache(maxsize=1)
def other_region_land() -> tuple[BaseGeometry, ...]:
    """Natural Earth land of the Suez and Solent boxes (no nation assignment needed there)."""
    return tuple(g for region in ("suez", "solent") for g in read_raw_land(region))


@lru_cache(maxsize=1)
def zone_features() -> tuple[tuple[str, str, tuple[str, ...], str, BaseGeometry], ...]:
    """Precomputed zones: (nation, zone_type, views, source, geometry)."""
    doc = _read_json(ZONE_FILE)
    out = []
    for f in doc["features"]:
        p = f["properties"]
        out.append(
            (p["nation"], p["zone_type"], tuple(p["views"]), p["source"], shape(f["geometry"]))
        )
    return tuple(out)


@lru_cache(maxsize=1)
def ports() -> tuple[Port, ...]:
    """Natural Earth ports (world, no country field) and WPI ports via GFW (world, iso3)."""
    out: list[Port] = []
    doc = _read_json(DATA_DIR / "ne_10m_ports.geojson")
    for f in doc["features"]:
        lon, lat = f["geometry"]["coordinates"][:2]
        name = f["properties"].get("name") or ""
        out.append(Port(name, float(lat), float(lon), "", "natural_earth_10m_ports"))
    with (DATA_DIR / "wpi_ports_gfw.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            label = row["label"] + (f" {row['sublabel']}" if row["sublabel"] else "")
            out.append(
                Port(
                    label,
                    float(row["latitude"]),
                    float(row["longitude"]),
                    row["iso3"],
                    "wpi_via_gfw_anchorages_pipeline",
                )
            )
    return tuple(out)


@lru_cache(maxsize=1)
def anchorages() -> tuple[Port, ...]:
    """GFW named anchorages in the East Asia, Suez and Solent boxes."""
    out: list[Port] = []
    with gzip.open(DATA_DIR / "gfw_named_anchorages_clipped.csv.gz", "rt", encoding="utf-8") as fz:
        for row in csv.DictReader(fz):
            label = row["label"] + (f" {row['sublabel']}" if row["sublabel"] else "")
            out.append(
                Port(
                    label,
                    float(row["latitude"]),
                    float(row["longitude"]),
                    row["iso3"],
                    f"gfw_named_anchorage:{row['s2id']}",
                )
            )
    return tuple(out)


def load_zone_file(path: str | Path) -> list[Zone]:
    """Read a user zone GeoJSON FeatureCollection (lon/lat WGS84).

    Each feature needs Polygon/MultiPolygon geometry and properties ``owner`` (alpha-3 nation),
    ``zone_type`` (one of territorial_sea, contiguous_zone, eez, exercise_area, custom) and
    optionally ``allowed_flags`` (list of alpha-3 codes) and ``name``. Errors name the feature
    index and the property.
    """
    p = Path(path)
    where = str(p)
    try:
        raw = p.read_bytes()
    except OSError as err:
        raise ZoneFileError(f"cannot read zone file: {err.strerror}", path=where) from None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ZoneFileError(
            f"not UTF-8 text (byte {err.start}); save the GeoJSON as UTF-8", path=where
        ) from None
    except json.JSONDecodeError as err:
        raise ZoneFileError(
            f"not valid JSON at line {err.lineno} column {err.colno}: {err.msg}", path=where
        ) from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ZoneFileError(
            "expected a GeoJSON FeatureCollection at the top level", path=where, prop="type"
        )
    features = doc.get("features")
    if not isinstance(features, list):
        raise ZoneFileError("'features' must be a list", path=where, prop="features")
    zones: list[Zone] = []
    for i, feat in enumerate(features):
        zones.append(_zone_from_feature(feat, i, where))
    return zones


def _zone_from_feature(feat: Any, i: int, where: str) -> Zone:
    if not isinstance(feat, dict) or feat.get("type") != "Feature":
        raise ZoneFileError("expected a GeoJSON Feature", path=where, feature_index=i)
    props = feat.get("properties")
    if not isinstance(props, dict):
        raise ZoneFileError(
            "missing properties; need owner and zone_type", path=where, feature_index=i
        )
    owner = props.get("owner")
    if not isinstance(owner, str) or len(owner) != 3 or not owner.isalpha():
        raise ZoneFileError(
            f"owner must be a 3-letter nation code such as 'JPN', got {owner!r}",
            path=where,
            feature_index=i,
            prop="owner",
        )
    zone_type = props.get("zone_type")
    if zone_type not in ALL_ZONE_TYPES:
        raise ZoneFileError(
            f"zone_type must be one of {', '.join(ALL_ZONE_TYPES)}, got {zone_type!r}",
            path=where,
            feature_index=i,
            prop="zone_type",
        )
    allowed = props.get("allowed_flags", [])
    if allowed is None:
        allowed = []
    if not isinstance(allowed, list) or not all(
        isinstance(a, str) and len(a) == 3 and a.isalpha() for a in allowed
    ):
        raise ZoneFileError(
            f"allowed_flags must be a list of 3-letter nation codes, got {allowed!r}",
            path=where,
            feature_index=i,
            prop="allowed_flags",
        )
    name = props.get("name", "")
    geom_doc = feat.get("geometry")
    if not isinstance(geom_doc, dict) or geom_doc.get("type") not in ("Polygon", "MultiPolygon"):
        got = geom_doc.get("type") if isinstance(geom_doc, dict) else geom_doc
        raise ZoneFileError(
            f"geometry must be a Polygon or MultiPolygon, got {got!r}",
            path=where,
            feature_index=i,
            prop="geometry",
        )
    try:
        geom = shape(geom_doc)
    except (ValueError, TypeError, AttributeError, IndexError) as err:
        raise ZoneFileError(
            f"geometry coordinates do not form a polygon: {err}",
            path=where,
            feature_index=i,
            prop="geometry",
        ) from None
    coords = shapely.get_coordinates(geom)
    if len(coords) == 0 or not np.all(np.isfinite(coords)):
        raise ZoneFileError(
            "geometry has no or non-finite coordinates",
            path=where,
            feature_index=i,
            prop="geometry",
        )
    if (np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any():
        raise ZoneFileError(
            "coordinates outside lon -180..180 / lat -90..90; is the file lon/lat (EPSG:4326)?",
            path=where,
            feature_index=i,
            prop="geometry",
        )
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    zt: ZoneType = zone_type
    return Zone(
        nation=owner.upper(),
        zone_type=zt,
        geometry=geom,
        source=f"user file {where} feature {i}",
        name=str(name) if name is not None else "",
        allowed_flags=tuple(a.upper() for a in allowed),
    )
