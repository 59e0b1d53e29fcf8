"""Reports -> map features: the COP's one place that reads payload shapes (pure; no I/O).

The COP does not know every engine's payload schema, and should not: a new report kind must
appear on the map the day it is registered. So geometry is found generically:

* ``lat``/``lon`` (or ``lat_deg``/``lon_deg``)                -> a point (role ``point``)
* ``<name>_lat``/``<name>_lon`` (``..._lat_deg``/``..._lon_deg``) -> a point (role ``<name>``),
  e.g. ``launch_lat``/``launch_lon``, ``impact_lat_deg``/``impact_lon_deg``
* ``track``    a GeoJSON geometry, or a list of ``[lon, lat, ...]`` or ``{lat, lon}`` -> a line
* ``geometry`` a GeoJSON geometry                              -> as given
* ``ellipse``  ``{lat, lon, semi_major_m, semi_minor_m, orientation_deg}`` -> a polygon
* ``positions`` a list of ``{lat, lon, ...}``                  -> one point per item
* a nested object holding any of the above (e.g. ``{"impact": {"lat":.., "ellipse":..}}``)
  is searched one level down, its key becoming the role.

Every feature carries the report's label, classification and identity, so a feature cut
out of the map (an export, a popup) still says what it is and who may see it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

GEOMETRY_TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
)
ELLIPSE_VERTICES = 64
EARTH_RADIUS_M = 6_371_008.8
MAX_FEATURES_PER_REPORT = 20_000
_TITLE_KEYS = ("title", "name", "vessel_name", "event", "type", "summary", "mmsi", "imo")


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def _lonlat(lon: Any, lat: Any) -> list[float] | None:
    x, y = _finite(lon), _finite(lat)
    if x is not None and 180.0 < x <= 360.0:  # 0..360 longitudes (some sensors' convention)
        x -= 360.0
    if x is None or y is None or not (-180.0 <= x <= 180.0) or not (-90.0 <= y <= 90.0):
        return None
    return [x, y]


def _point_of(obj: Mapping[str, Any], prefix: str = "") -> list[float] | None:
    for lat_key, lon_key in (
        (f"{prefix}lat", f"{prefix}lon"),
        (f"{prefix}lat_deg", f"{prefix}lon_deg"),
    ):
        if lat_key in obj and lon_key in obj:
            return _lonlat(obj[lon_key], obj[lat_key])
    return None


def _position(item: Any) -> list[float] | None:
    if isinstance(item, Mapping):
        return _point_of(item)
    if isinstance(item, (list, tuple)) and len(item) >= 2:
        return _lonlat(item[0], item[1])
    return None


def _valid_geometry(geom: Any) -> dict[str, Any] | None:
    """A GeoJSON geometry whose every coordinate is a finite lon/lat, else None."""
    if not isinstance(geom, Mapping) or geom.get("type") not in GEOMETRY_TYPES:
        return None
    depth = {
        "Point": 0,
        "MultiPoint": 1,
        "LineString": 1,
        "MultiLineString": 2,
        "Polygon": 2,
        "MultiPolygon": 3,
    }[geom["type"]]

    def clean(coords: Any, level: int) -> Any:
        if not isinstance(coords, (list, tuple)):
            return None
        if level == 0:
            return _lonlat(coords[0], coords[1]) if len(coords) >= 2 else None
        out = [clean(c, level - 1) for c in coords]
        return None if not out or any(c is None for c in out) else out

    coords = clean(geom.get("coordinates"), depth)
    if coords is None:
        return None
    return {"type": geom["type"], "coordinates": coords}


def _track(value: Any) -> dict[str, Any] | None:
    if isinstance(value, Mapping):
        return _valid_geometry(value)
    if isinstance(value, (list, tuple)):
        points = [_position(p) for p in value]
        good = [p for p in points if p is not None]
        if len(good) >= 2 and len(good) == len(points):
            return {"type": "LineString", "coordinates": good}
    return None


def _first_number(
    obj: Mapping[str, Any], keys: tuple[str, ...], scale: float = 1.0
) -> float | None:
    for key in keys:
        if key in obj:
            value = _finite(obj[key])
            if value is not None:
                return value * scale
    return None


def ellipse_polygon(
    lon: float,
    lat: float,
    semi_major_m: float,
    semi_minor_m: float,
    orientation_deg: float,
    vertices: int = ELLIPSE_VERTICES,
) -> dict[str, Any]:
    """A closed polygon approximating an ellipse on the sphere. ``orientation_deg`` is the
    bearing of the major axis, clockwise from true north."""
    lat0, lon0 = math.radians(lat), math.radians(lon)
    theta = math.radians(orientation_deg)
    ring: list[list[float]] = []
    for i in range(vertices):
        t = 2.0 * math.pi * i / vertices
        # Offsets along the major (bearing theta) and minor axes, in metres.
        along, across = semi_major_m * math.cos(t), semi_minor_m * math.sin(t)
        north = along * math.cos(theta) - across * math.sin(theta)
        east = along * math.sin(theta) + across * math.cos(theta)
        dist = math.hypot(north, east) / EARTH_RADIUS_M
        bearing = math.atan2(east, north)
        lat2 = math.asin(
            math.sin(lat0) * math.cos(dist) + math.cos(lat0) * math.sin(dist) * math.cos(bearing)
        )
        lon2 = lon0 + math.atan2(
            math.sin(bearing) * math.sin(dist) * math.cos(lat0),
            math.cos(dist) - math.sin(lat0) * math.sin(lat2),
        )
        lon_deg = (math.degrees(lon2) + 540.0) % 360.0 - 180.0
        ring.append([round(lon_deg, 6), round(math.degrees(lat2), 6)])
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def _ellipse(value: Any, centre: list[float] | None) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        return None
    where = (
        _point_of(value) or _point_of(value, "center_") or _point_of(value, "centre_") or centre
    )
    major = _first_number(value, ("semi_major_m", "a_m")) or _first_number(
        value, ("semi_major_km", "a_km"), 1000.0
    )
    minor = _first_number(value, ("semi_minor_m", "b_m")) or _first_number(
        value, ("semi_minor_km", "b_km"), 1000.0
    )
    angle = _first_number(value, ("orientation_deg", "azimuth_deg", "heading_deg", "angle_deg"))
    if where is None or major is None or major <= 0:
        return None
    minor = major if minor is None or minor <= 0 else minor
    return ellipse_polygon(where[0], where[1], major, minor, angle or 0.0)


def _geometries(
    obj: Mapping[str, Any], role: str, depth: int
) -> Iterator[tuple[str, dict[str, Any]]]:
    centre = _point_of(obj)
    if centre is not None:
        yield role or "point", {"type": "Point", "coordinates": centre}
    for key in obj:
        for suffix in ("_lat", "_lat_deg"):
            if key.endswith(suffix) and len(key) > len(suffix):
                prefix = key[: -len(suffix) + 1]  # keep the underscore: "launch_"
                other = prefix + "lon" + suffix[4:]
                if other in obj:
                    where = _lonlat(obj[other], obj[key])
                    if where is not None:
                        yield prefix[:-1], {"type": "Point", "coordinates": where}
    if "track" in obj:
        line = _track(obj["track"])
        if line is not None:
            yield f"{role}.track" if role else "track", line
    if "geometry" in obj:
        geom = _valid_geometry(obj["geometry"])
        if geom is not None:
            yield role or "geometry", geom
    if "ellipse" in obj:
        poly = _ellipse(obj["ellipse"], centre)
        if poly is not None:
            yield f"{role}.ellipse" if role else "ellipse", poly
    if "ellipse_semi_major_m" in obj:
        # flat form (missile.warning): centred on the impact point, else the report's point
        flat = {k[len("ellipse_") :]: v for k, v in obj.items() if k.startswith("ellipse_")}
        poly = _ellipse(flat, _point_of(obj, "impact_") or centre)
        if poly is not None:
            yield "impact.ellipse" if "impact_lat" in obj else "ellipse", poly
    if centre is not None and "covariance" in obj:
        poly = _covariance_ellipse(obj["covariance"], centre)
        if poly is not None:
            yield "uncertainty", poly
    positions = obj.get("positions")
    if isinstance(positions, list):
        for item in positions[:MAX_FEATURES_PER_REPORT]:
            where = _position(item)
            if where is not None:
                yield "position", {"type": "Point", "coordinates": where}
    if depth > 0:
        for key, value in obj.items():
            if isinstance(value, Mapping) and key not in ("geometry", "ellipse", "track"):
                yield from _geometries(value, key, depth - 1)


def payload_geometries(payload: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(role, GeoJSON geometry) for every place the payload names; [] if it names none.
    A geometry named twice (e.g. an event's position copied into a sanctions hit) once."""
    found: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    for role, geom in _geometries(payload, "", 1):
        key = f"{geom['type']}{geom['coordinates']}"
        if key not in seen:
            seen.add(key)
            found.append((role, geom))
        if len(found) >= MAX_FEATURES_PER_REPORT:
            break
    return found


CHI2_2D_95 = 5.991  # 95 % of a 2-D Gaussian lies inside this squared Mahalanobis radius


def _covariance_ellipse(cov: Any, centre: list[float]) -> dict[str, Any] | None:
    """The 95 % horizontal position ellipse of an ECEF covariance (first 3x3 block, m²):
    rotated into local east/north at ``centre``, then its eigen-axes."""
    try:
        p = [[float(cov[i][j]) for j in range(3)] for i in range(3)]
    except (TypeError, ValueError, IndexError, KeyError):
        return None
    if not all(math.isfinite(v) for row in p for v in row):
        return None
    lon, lat = math.radians(centre[0]), math.radians(centre[1])
    east = [-math.sin(lon), math.cos(lon), 0.0]
    north = [-math.sin(lat) * math.cos(lon), -math.sin(lat) * math.sin(lon), math.cos(lat)]

    def quad(a: list[float], b: list[float]) -> float:
        return sum(a[i] * p[i][j] * b[j] for i in range(3) for j in range(3))

    ee, nn, en = quad(east, east), quad(north, north), quad(east, north)
    mean, diff = (ee + nn) / 2.0, math.hypot((ee - nn) / 2.0, en)
    major_var, minor_var = mean + diff, mean - diff
    if not major_var > 0.0:
        return None
    # bearing of the major axis, clockwise from north
    bearing = math.degrees(0.5 * math.atan2(2.0 * en, nn - ee)) % 180.0
    return ellipse_polygon(
        centre[0],
        centre[1],
        math.sqrt(CHI2_2D_95 * major_var),
        math.sqrt(CHI2_2D_95 * max(minor_var, 0.0)) or 1.0,
        bearing,
    )


def _known_title(kind: str, payload: Mapping[str, Any]) -> str | None:
    """Titles for the engines' kinds that a generic field would label badly."""
    if kind == "maritime.event" and isinstance(payload.get("type"), str):
        who = payload.get("name") or payload.get("mmsi") or ""
        return f"{payload['type'].replace('_', ' ')} {who}".strip()
    if kind == "maritime.track" and payload.get("mmsi") is not None:
        # anonymised AIS (the demo's Suez data) has small MMSIs and no names
        return f"{payload.get('name') or 'vessel'} track, MMSI {payload['mmsi']}"
    if kind == "missile.track" and "track_id" in payload:
        return f"track {payload['track_id']} ({payload.get('nation', '?')})"
    if kind == "missile.warning" and "warning_id" in payload:
        return f"impact warning {payload['warning_id']} ({payload.get('status', '?')})"
    return None


def payload_title(kind: str, payload: Mapping[str, Any]) -> str:
    """A short human title for lists and popups."""
    known = _known_title(kind, payload)
    if known:
        return known if len(known) <= 120 else known[:117] + "..."
    for key in _TITLE_KEYS:
        value = payload.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            text = str(value).strip()
            return text if len(text) <= 120 else text[:117] + "..."
    return kind


def report_features(meta: Mapping[str, Any], payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """GeoJSON features of one report. ``meta`` (id, kind, label, ...) is copied into every
    feature's properties so each feature carries its label."""
    features = []
    for n, (role, geom) in enumerate(payload_geometries(payload)):
        props = dict(meta)
        props["role"] = role
        props["fid"] = f"{meta['id']}:{n}"
        features.append(
            {"type": "Feature", "id": props["fid"], "properties": props, "geometry": geom}
        )
    return features


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
