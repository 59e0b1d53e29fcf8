"""National land and disputed island groups, from the committed build output.

Consumers: the maritime engine (on-land checks), the missile engine ("overflies Japan"), the
web map. Land is Natural Earth 1:10M; small harbours and canals are not resolved, so treat
"on land" as a soft signal near ports.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry.base import BaseGeometry

from trilink.errors import InputError
from trilink.geo.disputed import DISPUTED_GROUPS, check_view, owner_in_view
from trilink.geo.features import DisputedFeature
from trilink.geo.io import land_features, other_region_land

#: Nation codes present in the East Asia land data (USA/PHL: islets at the box's edge only).
LAND_NATIONS: tuple[str, ...] = ("CHN", "JPN", "KOR", "PHL", "PRK", "RUS", "TWN", "USA")


class UnknownNationError(InputError):
    """A nation code with no land in the bundled data."""


@lru_cache(maxsize=64)
def load_land(nation: str | None = None, view: str = "neutral") -> BaseGeometry:
    """Land polygons (lon/lat) of ``nation`` in ``view``, or of everything if ``nation`` is None.

    ``nation=None`` returns all land of the East Asia, Suez and Solent boxes, disputed islands
    included (they are land whoever owns them). With a nation code, disputed groups count only
    if the view gives them to that nation (see :mod:`trilink.geo.disputed`).
    """
    check_view(view)
    groups = {g.feature_id: g for g in DISPUTED_GROUPS}
    if nation is None:
        geoms = [g for _, _, g in land_features()] + list(other_region_land())
        return shapely.union_all(geoms)
    code = nation.upper()
    if code not in LAND_NATIONS:
        raise UnknownNationError(
            f"no land for nation {nation!r} in the bundled data; known: {', '.join(LAND_NATIONS)}",
            field="nation",
        )
    geoms = []
    for part_nation, disputed, geom in land_features():
        if disputed is None:
            if part_nation == code:
                geoms.append(geom)
        elif owner_in_view(groups[disputed], view) == code:
            geoms.append(geom)
    return shapely.union_all(geoms)


@lru_cache(maxsize=1)
def disputed_features() -> tuple[DisputedFeature, ...]:
    """The disputed island groups with their land geometry, claimants and administering state."""
    out = []
    for group in DISPUTED_GROUPS:
        geoms = [g for _, d, g in land_features() if d == group.feature_id]
        out.append(
            DisputedFeature(
                feature_id=group.feature_id,
                name=group.name,
                claimants=group.claimants,
                administered_by=group.administered_by,
                geometry=shapely.union_all(geoms),
            )
        )
    return tuple(out)


def as_lat_lon(
    lats: ArrayLike, lons: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate and convert latitude/longitude inputs to equal-shape 1-D float arrays."""
    from trilink.geo.errors import CoordinateError

    lat = np.atleast_1d(np.asarray(lats, dtype=np.float64)).ravel()
    lon = np.atleast_1d(np.asarray(lons, dtype=np.float64)).ravel()
    if lat.shape != lon.shape:
        raise CoordinateError(
            f"lats has {lat.size} values but lons has {lon.size}; pass equal-length arrays",
            field="lons",
        )
    bad = ~np.isfinite(lat) | ~np.isfinite(lon) | (np.abs(lat) > 90) | (np.abs(lon) > 180)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CoordinateError(
            f"{int(bad.sum())} impossible coordinate(s), first at index {i}: "
            f"lat={lat[i]!r} lon={lon[i]!r}; filter invalid positions (91/181) first",
            field="lats",
        )
    return lat, lon


def is_on_land(
    lats: ArrayLike, lons: ArrayLike, nation: str | None = None, view: str = "neutral"
) -> NDArray[np.bool_]:
    """Vectorised test: is each point on the land of ``nation`` (or any land)?"""
    lat, lon = as_lat_lon(lats, lons)
    land = load_land(nation, view)
    shapely.prepare(land)
    return np.asarray(shapely.contains_xy(land, lon, lat), dtype=bool)
