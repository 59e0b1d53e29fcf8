"""Value types shared by `trilink.geo` and its consumers (maritime, missile, web map)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from shapely.geometry.base import BaseGeometry

ZoneType = Literal["territorial_sea", "contiguous_zone", "eez", "exercise_area", "custom"]
#: Zone types the build script computes; user files may also use the other ZoneType values.
MARITIME_ZONE_TYPES: tuple[ZoneType, ...] = ("territorial_sea", "contiguous_zone", "eez")
ALL_ZONE_TYPES: tuple[ZoneType, ...] = (
    "territorial_sea",
    "contiguous_zone",
    "eez",
    "exercise_area",
    "custom",
)

#: Nations the bundled East Asia data assigns land to. "UNK" = land with no nearby label.
NATIONS: tuple[str, ...] = ("CHN", "JPN", "KOR", "PRK", "RUS", "TWN")


@dataclass(frozen=True, slots=True)
class Zone:
    """One maritime zone polygon (lon/lat WGS84) owned by one nation.

    ``nation`` is an ISO 3166-1 alpha-3 code. ``allowed_flags`` lists flags (alpha-3) that may be
    inside without it being an incursion; the owner is always allowed.
    """

    nation: str
    zone_type: ZoneType
    geometry: BaseGeometry
    source: str
    name: str = ""
    allowed_flags: tuple[str, ...] = field(default_factory=tuple)

    def allows(self, flag: str) -> bool:
        """True if a vessel of ``flag`` (alpha-3) may be in this zone without an incursion."""
        return flag == self.nation or flag in self.allowed_flags


@dataclass(frozen=True, slots=True)
class Port:
    """A port or named anchorage point."""

    name: str
    lat: float
    lon: float
    country: str
    source: str


@dataclass(frozen=True, slots=True)
class DisputedFeature:
    """Islands whose sovereignty is disputed; which nation they count for depends on the view."""

    feature_id: str
    name: str
    claimants: tuple[str, ...]
    administered_by: str
    geometry: BaseGeometry
