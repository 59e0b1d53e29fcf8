"""Which features are in view: the one geometric test the COP does itself.

Everything else about a report's features (where it is, its title, its symbol) comes from the
kind registry through ``trilink.interop.items``; the COP reads no payload shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def bbox_intersects(geom: Mapping[str, Any], bbox: tuple[float, float, float, float]) -> bool:
    """True when any vertex of ``geom`` lies in ``bbox`` (lon0, lat0, lon1, lat1), or the
    geometry's own bounds cover the box. Enough for "features in view"."""
    lon0, lat0, lon1, lat1 = bbox
    xs: list[float] = []
    ys: list[float] = []

    def walk(coords: Any) -> None:
        if coords and isinstance(coords[0], (int, float)):
            xs.append(float(coords[0]))
            ys.append(float(coords[1]))
        else:
            for c in coords:
                walk(c)

    walk(geom["coordinates"])
    if any(lon0 <= x <= lon1 and lat0 <= y <= lat1 for x, y in zip(xs, ys, strict=True)):
        return True
    return bool(xs) and min(xs) <= lon0 and max(xs) >= lon1 and min(ys) <= lat0 and max(ys) >= lat1
