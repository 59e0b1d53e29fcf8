"""`trilink.geo`: land, coastline, ports and approximate maritime zones of East Asian waters.

Pure, typed, offline. Used by the maritime engine (zone incursions, distance to shore, ports),
the missile engine (impact in an EEZ, overflight of land) and the web map. All coordinates are
WGS84 lon/lat; all distances are metres on the WGS84 ellipsoid.

Zones are APPROXIMATIONS computed once by ``python -m trilink.geo.build_zones`` from Natural
Earth land; disputed islands are decided only by the ``view`` argument (default "neutral").
"""

from __future__ import annotations

from trilink.geo.disputed import DISPUTED_GROUPS, VIEWS
from trilink.geo.errors import CoordinateError, UnknownViewError, ZoneFileError
from trilink.geo.features import DisputedFeature, Port, Zone, ZoneType
from trilink.geo.io import anchorages, load_zone_file, ports
from trilink.geo.land import UnknownNationError, disputed_features, is_on_land, load_land
from trilink.geo.port_distance import distance_to_port_m
from trilink.geo.proj import NM_M, geodesic_m
from trilink.geo.shore import distance_to_shore_approx_m, distance_to_shore_m, far_from_shore
from trilink.geo.zones import ZoneHits, load_zones, point_in_zones, zones_to_geojson


def load_ports() -> list[Port]:
    """World ports: Natural Earth 10 m ports (no country) + World Port Index via GFW (iso3)."""
    return list(ports())


def load_anchorages() -> list[Port]:
    """GFW named anchorages (East Asia, Suez, Solent boxes) with iso3: port-visit basis."""
    return list(anchorages())


__all__ = [
    "DISPUTED_GROUPS",
    "NM_M",
    "VIEWS",
    "CoordinateError",
    "DisputedFeature",
    "Port",
    "UnknownNationError",
    "UnknownViewError",
    "Zone",
    "ZoneFileError",
    "ZoneHits",
    "ZoneType",
    "disputed_features",
    "distance_to_port_m",
    "distance_to_shore_approx_m",
    "distance_to_shore_m",
    "far_from_shore",
    "geodesic_m",
    "is_on_land",
    "load_anchorages",
    "load_land",
    "load_ports",
    "load_zone_file",
    "load_zones",
    "point_in_zones",
    "zones_to_geojson",
]
