"""Geography edge: builds the detectors' ``Geography`` from ``trilink.geo`` and user files.

Defaults come from ``trilink.geo`` (bundled, offline): ports (Natural Earth + World Port
Index) and GFW named anchorages, distance to the Natural Earth 10 m coastline, and the
approximate territorial seas / contiguous zones / EEZs of East Asia (one disputed-islands
``view``). User files (``--zones``, ``--ports``, ``--aoi``) replace or extend them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import shapely

from trilink.maritime.events import Geography
from trilink.maritime.events.context import Ports, ShoreDistance, Zone
from trilink.maritime.io import read_polygons, read_ports_csv, read_zones

_OPEN_ZONE_TYPES = {"eez", "contiguous_zone"}


def _bundled_ports() -> tuple[Ports | None, str]:
    try:
        from trilink.geo.io import anchorages as geo_anchorages
        from trilink.geo.io import ports as geo_ports
    except ImportError:
        return None, "trilink.geo not available: no bundled ports"
    items = list(geo_ports()) + list(geo_anchorages())
    ports = Ports(
        np.array([p.lon for p in items]),
        np.array([p.lat for p in items]),
        [p.name for p in items],
        [p.country for p in items],
    )
    return ports, f"bundled ports and anchorages: {len(items)} points (NE, WPI, GFW)"


def _bundled_shore() -> ShoreDistance | None:
    try:
        from trilink.geo import distance_to_shore_m, is_on_land
    except ImportError:
        return None

    def shore_m(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        # NaN outside the bundled coast boxes: the detectors then skip the shore rule.
        dist = np.asarray(distance_to_shore_m(lat, lon), dtype=np.float64)
        # A fix "on land" is in a canal, river or harbour that Natural Earth does not cut
        # out (the Suez Canal, for one): it is at the shore, not far inland from it.
        on_land = np.asarray(is_on_land(lat, lon), dtype=bool)
        dist[on_land & np.isfinite(dist)] = 0.0
        return dist

    return shore_m


def bundled_zones(bbox: tuple[float, float, float, float] | None, view: str) -> list[Zone]:
    """``trilink.geo``'s approximate East Asian zones overlapping ``bbox``.

    Territorial seas admit only the owner (and listed flags); EEZs and contiguous zones admit
    every flag for navigation (UNCLOS art. 58), so they give foreign-fishing events only.
    """
    try:
        from trilink.geo import load_zones
    except ImportError:
        return []
    out = []
    area = shapely.box(*bbox) if bbox is not None else None
    for z in load_zones(view):
        if area is not None and not z.geometry.intersects(area):
            continue
        allowed = (
            None
            if z.zone_type in _OPEN_ZONE_TYPES and not z.allowed_flags
            else frozenset(z.allowed_flags) | {z.nation}
        )
        out.append(
            Zone(z.name or f"{z.nation} {z.zone_type}", z.zone_type, z.nation, z.geometry, allowed)
        )
    return out


def bundled_land(bbox: tuple[float, float, float, float] | None) -> tuple[list[Any], list[str]]:
    """Land polygons of the bundled regions that overlap ``bbox`` (for the map)."""
    try:
        from trilink.geo import io as geo_io
    except ImportError:
        return [], []
    land: list[Any] = []
    used: list[str] = []
    for region, box in geo_io.REGION_BOXES.items():
        if bbox is not None and not shapely.box(*box).intersects(shapely.box(*bbox)):
            continue
        try:
            land.extend(geo_io.read_raw_land(region))
            used.append(region)
        except (OSError, KeyError, ValueError):
            continue
    return land, used


def _merge_ports(a: Ports | None, b: Ports) -> Ports:
    if a is None:
        return b
    return Ports(
        np.concatenate((a.lon, b.lon)),
        np.concatenate((a.lat, b.lat)),
        a.names + b.names,
        a.iso3 + b.iso3,
    )


def build_geography(
    bbox: tuple[float, float, float, float] | None,
    *,
    zones_path: Path | None = None,
    ports_path: Path | None = None,
    aoi_path: Path | None = None,
    bundled: bool = True,
    default_zones: bool = True,
    zone_view: str = "neutral",
) -> tuple[Geography, list[Any]]:
    """(Geography, land polygons for the map). User zones replace the bundled ones."""
    notes: list[str] = []
    ports: Ports | None = None
    land: list[Any] = []
    shore: ShoreDistance | None = None
    zones: list[Zone] = []
    if bundled:
        ports, note = _bundled_ports()
        notes.append(note)
        land, regions = bundled_land(bbox)
        shore = _bundled_shore()
        notes.append(
            "shore distance: Natural Earth 10m coastline (trilink.geo), regions "
            + (", ".join(regions) if regions else "none overlapping the data")
        )
        if zones_path is None and default_zones:
            zones = bundled_zones(bbox, zone_view)
            notes.append(
                f"zones: {len(zones)} approximate East Asian zones from trilink.geo "
                f"(view {zone_view}); load official ones with --zones"
            )
    if ports_path is not None:
        ports = _merge_ports(ports, read_ports_csv(ports_path))
    if zones_path is not None:
        zones = read_zones(zones_path)
    aois: list[Any] = read_polygons(aoi_path) if aoi_path else []
    return Geography(ports=ports, shore_m=shore, zones=zones, aois=aois, notes=notes), land
