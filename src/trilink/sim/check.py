"""Reference detectors (GFW definitions) to check a generated scenario: the planted events must
be found and background traffic must make no others.

These are deliberately simple and independent of ``trilink.maritime`` (the engine under test):

* gap: consecutive received reports of one MMSI >= 12 h apart, both ends >= 50 nm from shore;
* loitering: a run of reports < 2 kn lasting >= 4 h, every report >= 20 nm from shore;
* encounter: two vessels both < 2 kn, >= 10 km from every port/anchorage, within 500 m in
  10-minute bins covering >= 2 h (bins may miss up to 20 % when reception is sparse).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from trilink.geo import distance_to_port_m, distance_to_shore_m
from trilink.geo.proj import GEOD, NM_M
from trilink.sim.scenario import Positions

H = 3600.0
EARTH_R_M = 6_371_008.8


@dataclass(frozen=True)
class Found:
    """A detected event: type, MMSIs (sorted for encounters) and unix start/end."""

    type: str
    mmsi: tuple[int, ...]
    start: int
    end: int


def _unit(lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.float64]:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def port_distance_m(lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.float64]:
    """Distance to the nearest NE port, WPI port or GFW anchorage (trilink.geo)."""
    return distance_to_port_m(lat, lon)[0]


def _runs(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Inclusive index runs where ``mask`` is True."""
    if mask.size == 0:
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1) - 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _by_vessel(p: Positions) -> list[NDArray[np.int64]]:
    order = np.lexsort((p.t, p.mmsi))
    m = p.mmsi[order]
    cut = np.flatnonzero(np.diff(m)) + 1
    return list(np.split(order, cut))


def find_gaps(p: Positions, min_h: float = 12.0, min_shore_nm: float = 50.0) -> list[Found]:
    """AIS gaps >= ``min_h`` whose both ends are >= ``min_shore_nm`` from shore."""
    out = []
    for idx in _by_vessel(p):
        dt = np.diff(p.t[idx])
        for k in np.flatnonzero(dt >= min_h * H):
            a, b = idx[k], idx[k + 1]
            d = distance_to_shore_m(p.lat[[a, b]], p.lon[[a, b]])
            if np.all(d >= min_shore_nm * NM_M):
                out.append(Found("gap", (int(p.mmsi[a]),), int(p.t[a]), int(p.t[b])))
    return out


def find_loitering(
    p: Positions, max_kn: float = 2.0, min_h: float = 4.0, min_shore_nm: float = 20.0
) -> list[Found]:
    """Runs of reports below ``max_kn`` lasting >= ``min_h``, all >= ``min_shore_nm`` offshore."""
    out = []
    for idx in _by_vessel(p):
        for a, b in _runs(p.sog_kn[idx] < max_kn):
            if p.t[idx[b]] - p.t[idx[a]] < min_h * H:
                continue
            sel = idx[a : b + 1]
            d = distance_to_shore_m(p.lat[sel], p.lon[sel])
            if np.all(d >= min_shore_nm * NM_M):
                out.append(
                    Found("loitering", (int(p.mmsi[sel[0]]),), int(p.t[sel[0]]), int(p.t[sel[-1]]))
                )
    return out


def find_encounters(
    p: Positions,
    max_m: float = 500.0,
    min_h: float = 2.0,
    max_kn: float = 2.0,
    min_port_km: float = 10.0,
    bin_s: int = 600,
) -> list[Found]:
    """Pairs of slow vessels within ``max_m`` of each other for >= ``min_h`` away from ports."""
    slow = np.flatnonzero(p.sog_kn < max_kn)
    if slow.size == 0:
        return []
    slow = slow[port_distance_m(p.lat[slow], p.lon[slow]) >= min_port_km * 1000]
    if slow.size == 0:
        return []
    b = p.t[slow] // bin_s
    key = np.unique(np.column_stack([p.mmsi[slow], b]), axis=0, return_index=True)[1]
    rows = slow[key]
    bins = p.t[rows] // bin_s
    xyz = _unit(p.lat[rows], p.lon[rows])
    close: dict[tuple[int, int], list[int]] = {}
    for tb in np.unique(bins):
        sel = rows[bins == tb]
        if sel.size < 2:
            continue
        tree = cKDTree(xyz[bins == tb])
        for i, j in tree.query_pairs(max_m / EARTH_R_M):
            a, c = sel[i], sel[j]
            if p.mmsi[a] == p.mmsi[c]:
                continue
            _, _, d = GEOD.inv(p.lon[a], p.lat[a], p.lon[c], p.lat[c])
            if d <= max_m:
                pair = (int(min(p.mmsi[a], p.mmsi[c])), int(max(p.mmsi[a], p.mmsi[c])))
                close.setdefault(pair, []).append(int(tb))
    out = []
    need = int(min_h * H // bin_s)
    for pair, tbs in close.items():
        arr = np.unique(np.asarray(tbs))
        # Group bins allowing one missing bin in a row (sparse satellite reception).
        cut = np.flatnonzero(np.diff(arr) > 2) + 1
        for grp in np.split(arr, cut):
            span = int(grp[-1] - grp[0] + 1)
            if span >= need and grp.size >= 0.8 * span:
                out.append(
                    Found("encounter", pair, int(grp[0] * bin_s), int((grp[-1] + 1) * bin_s))
                )
    return out


def check_all(p: Positions) -> list[Found]:
    """Every gap, loitering and encounter event in the positions."""
    return find_gaps(p) + find_loitering(p) + find_encounters(p)


def compare(found: list[Found], truth_events: list[dict[str, object]]) -> dict[str, list[str]]:
    """Match reference detections to planted events of the same type and vessel(s)."""
    planted = set()
    for e in truth_events:
        if e["type"] in ("gap", "loitering"):
            planted.add((str(e["type"]), (int(e["mmsi"]),)))  # type: ignore[call-overload]
        elif e["type"] == "encounter":
            pair = sorted((int(e["mmsi"]), int(e["other_mmsi"])))  # type: ignore[call-overload]
            planted.add(("encounter", tuple(pair)))
    got = {(f.type, f.mmsi) for f in found}
    return {
        "found": sorted(f"{t} {m}" for t, m in got & planted),
        "missing": sorted(f"{t} {m}" for t, m in planted - got),
        "unexpected": sorted(f"{t} {m}" for t, m in got - planted),
    }
