"""Japan's zones for the warnings, taken from the geodata package (`trilink.geo`).

The trajectory estimates (``sim.estimates``) and the threat assessment (``warn.assess``) take
plain shapely geometries; this module is the one place that
asks the geodata package for them, so no zone is ever hard-coded in the missile engine.
``eez`` is the outer limit of Japan's waters (EEZ ∪ contiguous zone ∪ territorial sea ∪ land):
"impact inside Japan's EEZ" in Japanese government reporting means inside that outer limit.
``territory`` is land ∪ territorial sea (the sovereign airspace below which an overflight is
counted).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from trilink.errors import TrilinkError
from trilink.missile.errors import ZonesUnavailableError


@dataclass(frozen=True, slots=True)
class JapanGeometries:
    """Japan's EEZ outer limit, territory (land + territorial sea) and land, lon/lat."""

    eez: BaseGeometry
    territory: BaseGeometry
    land: BaseGeometry
    view: str
    source: str


@lru_cache(maxsize=8)
def japan_geometries(view: str = "administering") -> JapanGeometries:
    """Japan's geometries in a disputed-islands ``view`` of the geodata package.

    Raises :class:`ZonesUnavailableError` when the geodata package or its zone file is absent.
    """
    try:
        geo: Any = importlib.import_module("trilink.geo")
        zones = list(geo.load_zones(view=view))
        land_items = geo.load_land(nation="JPN", view=view)
    except (ImportError, AttributeError, OSError, TrilinkError) as err:
        raise ZonesUnavailableError(
            f"Japan's zones could not be loaded from the geodata package trilink.geo ({err}); "
            "build or install the geodata zones first"
        ) from err
    land = _as_geometry(land_items)
    jpn = [z for z in zones if getattr(z, "nation", None) == "JPN"]
    if not jpn:
        raise ZonesUnavailableError(f"the geodata zones (view {view!r}) contain no JPN zone")
    terr_sea = [z.geometry for z in jpn if z.zone_type == "territorial_sea"]
    every = [z.geometry for z in jpn]
    eez = shapely.union_all([*every, land])
    territory = shapely.union_all([*terr_sea, land])
    return JapanGeometries(
        eez=eez, territory=territory, land=land, view=view, source="trilink.geo"
    )


def _as_geometry(items: Any) -> BaseGeometry:
    if isinstance(items, BaseGeometry):
        return items
    geoms = [getattr(i, "geometry", i) for i in items]
    return shapely.union_all(geoms)


@dataclass(frozen=True, slots=True)
class JapanZones:
    """Japan's EEZ outer limit and territory (land + territorial sea), lon/lat, prepared."""

    eez: BaseGeometry
    territory: BaseGeometry

    @classmethod
    def of(cls, eez: BaseGeometry, territory: BaseGeometry) -> JapanZones:
        eez, territory = shapely.make_valid(eez), shapely.make_valid(territory)
        shapely.prepare(eez)
        shapely.prepare(territory)
        return cls(eez=eez, territory=territory)


def japan_zones(view: str) -> tuple[JapanZones | None, str]:
    """Japan's zones prepared for the warnings, or (None, why not)."""
    try:
        jp = japan_geometries(view)
    except TrilinkError as err:
        return None, str(err)
    return JapanZones.of(jp.eez, jp.territory), ""
