"""Disputed island groups in the East Asia data and how a `view` assigns them.

Nothing here decides sovereignty. Each group lists its claimants and the state that
administers it today; the caller picks a view:

* ``"neutral"`` (default): the islands count for nobody. They stay in the data as coast of no
  nation, so the waters nearer to them than to any undisputed coast belong to no zone.
* ``"administering"``: each group counts for the state that administers it.
* a nation code (``"JPN"``, ``"KOR"``, ``"CHN"``, ``"TWN"``, ``"RUS"``): groups that nation
  claims count for it; groups it does not claim stay neutral.

The groups are found in Natural Earth land by a lon/lat box around them (checked by hand
against the part list of ``ne_10m_land`` + ``ne_10m_minor_islands``; see SOURCES.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from trilink.geo.errors import UnknownViewError


@dataclass(frozen=True, slots=True)
class DisputedGroup:
    """A disputed island group: a box (lon0, lat0, lon1, lat1) selecting its land parts."""

    feature_id: str
    name: str
    claimants: tuple[str, ...]
    administered_by: str
    box: tuple[float, float, float, float]
    max_part_area_deg2: float = 1.0


DISPUTED_GROUPS: tuple[DisputedGroup, ...] = (
    DisputedGroup(
        feature_id="dokdo_takeshima",
        name="Dokdo / Takeshima (Liancourt Rocks)",
        claimants=("KOR", "JPN"),
        administered_by="KOR",
        box=(131.80, 37.20, 131.92, 37.27),
    ),
    DisputedGroup(
        feature_id="senkaku_diaoyu",
        name="Senkaku / Diaoyu / Tiaoyutai Islands",
        claimants=("JPN", "CHN", "TWN"),
        administered_by="JPN",
        box=(123.30, 25.60, 124.70, 26.00),
    ),
    DisputedGroup(
        # Kunashiri, Iturup, Shikotan and the Habomai islets; the box also touches Hokkaido's
        # Shiretoko/Nemuro coast, which the area limit keeps out (Hokkaido is ~8.7 deg2).
        feature_id="southern_kurils_northern_territories",
        name="Southern Kuril Islands / Northern Territories",
        claimants=("RUS", "JPN"),
        administered_by="RUS",
        box=(145.40, 43.30, 149.10, 45.80),
    ),
)

VIEWS: tuple[str, ...] = ("neutral", "administering", "JPN", "KOR", "CHN", "TWN", "RUS")


def check_view(view: str) -> str:
    """Return ``view`` if it is known, else raise :class:`UnknownViewError`."""
    if view not in VIEWS:
        raise UnknownViewError(
            f"unknown view {view!r}; use one of {', '.join(VIEWS)} "
            "('neutral' counts disputed islands for nobody)",
            field="view",
        )
    return view


def view_of_nation(nation: str) -> str:
    """The view a nation's own maps use: its own claims where it has a view, else neutral
    (the USA takes no position on these disputes)."""
    return nation if nation in VIEWS else "neutral"


def owner_in_view(group: DisputedGroup, view: str) -> str | None:
    """The nation ``group`` counts for in ``view``, or None if it counts for nobody."""
    check_view(view)
    if view == "neutral":
        return None
    if view == "administering":
        return group.administered_by
    return view if view in group.claimants else None
