"""What a report kind is, for every part of trilink that reads one: ``KindSpec``.

An engine describes each of its kinds once, in its module of ``trilink.model.payloads``: the
typed payload (a msgspec Struct the node validates against), its title, where it is on the map
(``Point``, ``Line``, ``Area``, ``Ellipse`` from the payload), the fields the COP's panel shows
first, the properties users filter on, its times, its track identity and lifecycle, and how it
maps onto MIL-STD-2525 / Cursor-on-Target. The node, the COP and every export read only this
(``trilink.model.kinds.spec_for``); none of them knows an engine's payload.

Pure: no I/O, no projection library. An ellipse is described here and drawn on the WGS-84
ellipsoid by ``trilink.geo.ellipse``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, get_args

import msgspec

Affiliation = Literal[
    "pending", "unknown", "assumed_friend", "friend", "neutral", "suspect", "hostile"
]
AFFILIATIONS: tuple[str, ...] = get_args(Affiliation)
# MIL-STD-2525 standard identity letters, used alike by CoT types and symbol codes (SIDC).
AFFILIATION_CODES: dict[str, str] = {
    "pending": "p",
    "unknown": "u",
    "assumed_friend": "a",
    "friend": "f",
    "neutral": "n",
    "suspect": "s",
    "hostile": "h",
}
# Battle dimensions: air, sea surface, ground, space, subsurface.
Dimension = Literal["A", "S", "G", "P", "U"]
DIMENSION_NAMES = {
    "A": "air",
    "S": "surface",
    "G": "ground",
    "P": "space",
    "U": "subsurface",
}
# Cursor-on-Target "how": how the position was obtained (CoT Event 2.0 schema).
How = Literal["m", "m-f", "m-g", "m-i", "m-p", "m-r", "m-s", "h-e", "h-c", "h-t"]
# A property value users filter on; exported as a GeoJSON property and a CSV/Parquet column.
Property = str | int | float | bool | None

P = TypeVar("P", bound=msgspec.Struct)
# Semi-axes of a 95 % bivariate-normal ellipse in standard deviations: sqrt(chi-square(2 dof,
# 0.95) = 5.991).
SIGMA_95_2D = math.sqrt(5.991)


class Point(msgspec.Struct, frozen=True, kw_only=True):
    """A position in WGS-84 degrees; ``alt_m`` height above the ellipsoid when known."""

    lon: float
    lat: float
    alt_m: float | None = None
    role: str = "point"


class Line(msgspec.Struct, frozen=True, kw_only=True):
    """A path, oldest position first: ``coords`` are (lon, lat) pairs."""

    coords: Sequence[tuple[float, float]]
    role: str = "track"


class Area(msgspec.Struct, frozen=True, kw_only=True):
    """A polygon: one outer ring of (lon, lat) pairs (closed or not; drawn closed)."""

    ring: Sequence[tuple[float, float]]
    role: str = "area"


class Ellipse(msgspec.Struct, frozen=True, kw_only=True):
    """An ellipse on the ellipsoid around (lon, lat): semi-axes in metres, the major axis at
    ``orientation_deg`` clockwise from true north. ``sigma``: how many standard deviations
    the semi-axes are (2.4477 for a 95 % bivariate-normal ellipse), so exports can give the
    one-sigma error TAK expects."""

    lon: float
    lat: float
    semi_major_m: float
    semi_minor_m: float
    orientation_deg: float
    role: str = "ellipse"
    sigma: float = SIGMA_95_2D


Shape = Point | Line | Area | Ellipse


@dataclass(frozen=True)
class Symbol:
    """A MIL-STD-2525 symbol: battle dimension and function code (2525B/C letters, e.g.
    ``Symbol("A", "WM")`` for a missile in flight, ``Symbol("S", "XMC")`` for a cargo ship).
    The CoT type (``a-h-A-W-M``) and the symbol code the COP draws (``SHAPWM---------``) both
    derive from it with the object's affiliation."""

    dimension: Dimension
    function: str = ""
    name: str = ""

    def cot_type(self, affiliation: str) -> str:
        parts = ["a", AFFILIATION_CODES[affiliation], self.dimension, *self.function]
        return "-".join(parts)

    def sidc(self, affiliation: str) -> str:
        """15-character symbol identification code (warfighting, present)."""
        head = f"S{AFFILIATION_CODES[affiliation].upper()}{self.dimension}P"
        return (head + self.function.ljust(6, "-")).ljust(15, "-")

    def describe(self, affiliation: str) -> str:
        what = self.name or DIMENSION_NAMES[self.dimension]
        return f"{affiliation.replace('_', ' ')} {what}"


# CoT type of a point that is not a 2525 object (an event, a note, a warning's impact point):
# TAK's "point of interest" spot marker.
POINT_OF_INTEREST = "b-m-p-s-p-i"


def _no_shapes(payload: Any) -> Sequence[Shape]:
    return ()


def _no_properties(payload: Any) -> Mapping[str, Property]:
    return {}


def _nothing(payload: Any) -> None:
    return None


def _never(payload: Any) -> bool:
    return False


def _unknown(payload: Any) -> Affiliation:
    return "unknown"


def _no_symbol(payload: Any) -> Symbol | None:
    return None


def _machine(payload: Any) -> How:
    return "m"


def _no_accuracy(payload: Any) -> tuple[float | None, float | None]:
    return (None, None)


def _no_motion(payload: Any) -> tuple[float, float] | None:
    return None


@dataclass(frozen=True)
class KindSpec(Generic[P]):
    """Everything trilink needs to know about one report kind.

    kind        the kind's name, e.g. ``maritime.event``
    payload     the msgspec Struct its payload must decode into (strictly)
    title       a short human title for lists, popups, placemark names, CoT callsigns
    shapes      where it is: the points, lines, areas and ellipses to draw; () if nowhere
    panel       payload fields the COP's report panel shows first, in order
    properties  values users filter on (MMSI, IMO, event times, track id, status), exported
                as GeoJSON properties and CSV/Parquet columns
    observed    when the content was observed (ISO-8601 UTC), e.g. a track's time, an
                event's start; the report's creation time is used when None
    until       end of the observed span (an event's end), for KML TimeSpan
    track       identity across reports and versions: the same track id is one object
                (one CoT uid, one symbol on the map, one history line); None for one-offs
    status      lifecycle word shown with the title (issue, update, cancel, confirmed, ...)
    ended       True when this version ends the object (a cancelled warning): it leaves the
                map and live feeds remove it
    is_track    a frequently updated track: grouped in the COP's list, not listed per update
    affiliation MIL-STD-2525 standard identity of the object
    symbol      its 2525 symbol, or None for a point of interest
    how         CoT "how": machine (m), fused (m-f), GPS (m-g), imagery (m-i), predicted
                (m-p), human entered (h-e) ...
    accuracy    one-sigma horizontal and vertical error in metres (CoT ce/le), None unknown
    motion      course (degrees clockwise from north) and speed (m/s), if known
    stale_s     how long after ``observed`` the content is stale (CoT stale)
    folder      the KML folder and legend group it belongs to
    """

    kind: str
    payload: type[P]
    title: Callable[[P], str]
    shapes: Callable[[P], Sequence[Shape]] = _no_shapes
    panel: tuple[str, ...] = ()
    properties: Callable[[P], Mapping[str, Property]] = _no_properties
    observed: Callable[[P], str | None] = _nothing
    until: Callable[[P], str | None] = _nothing
    track: Callable[[P], str | None] = _nothing
    status: Callable[[P], str | None] = _nothing
    ended: Callable[[P], bool] = _never
    is_track: bool = False
    affiliation: Callable[[P], Affiliation] = _unknown
    symbol: Callable[[P], Symbol | None] = _no_symbol
    how: Callable[[P], How] = _machine
    accuracy: Callable[[P], tuple[float | None, float | None]] = _no_accuracy
    motion: Callable[[P], tuple[float, float] | None] = _no_motion
    stale_s: float = 3600.0
    folder: str = ""

    @property
    def folder_name(self) -> str:
        return self.folder or self.kind
