"""Zone events: incursions of non-allowed flags and foreign fishing inside an EEZ.

An STRtree over the zones picks, per vessel track bounding box, the zones it can touch;
``shapely.contains_xy`` then tests that vessel's fixes in one vectorised call per zone.
Consecutive inside fixes of one vessel make one event (entry to exit).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
import shapely

from trilink.maritime.config import ZoneConfig
from trilink.maritime.events.base import Event, Tracks, runs
from trilink.maritime.events.context import Ports, Zone


def detect_zone_events(
    tracks: Tracks,
    zones: Sequence[Zone],
    cfg: ZoneConfig,
    vessels: pl.DataFrame,
    ports: Ports | None = None,
) -> list[Event]:
    """``vessels``: one row per MMSI with ``flag`` and ``ship_type`` (latest statics).

    With ``ports`` and ``cfg.ignore_port_calls``, an incursion run during which the vessel
    comes within ``cfg.port_call_km`` of a port or anchorage is a port call, not reported.
    """
    events = _zone_runs(tracks, zones, cfg, vessels)
    if not (ports is not None and cfg.ignore_port_calls):
        return [e for e, _, _ in events]
    inc = [k for k, (e, _, _) in enumerate(events) if e.type == "incursion"]
    if not inc:
        return [e for e, _, _ in events]
    rows = np.concatenate([np.arange(events[k][1], events[k][2] + 1) for k in inc])
    near = (
        ports.nearest(tracks.lon[rows], tracks.lat[rows], max_km=cfg.port_call_km)[0]
        <= cfg.port_call_km
    )
    counts = np.array([events[k][2] - events[k][1] + 1 for k in inc])
    called = np.add.reduceat(near.astype(np.int64), np.cumsum(counts) - counts) > 0
    drop = {k for k, c in zip(inc, called.tolist(), strict=True) if c}
    return [e for k, (e, _, _) in enumerate(events) if k not in drop]


def _zone_runs(
    tracks: Tracks, zones: Sequence[Zone], cfg: ZoneConfig, vessels: pl.DataFrame
) -> list[tuple[Event, int, int]]:
    if not zones or tracks.size == 0:
        return []
    vmap = {
        int(r["mmsi"]): r
        for r in vessels.select("mmsi", "flag", "ship_type", "name").iter_rows(named=True)
    }
    firsts = tracks.first_index
    ends = np.append(firsts[1:], tracks.size)
    lon_min = np.minimum.reduceat(tracks.lon, firsts)
    lon_max = np.maximum.reduceat(tracks.lon, firsts)
    lat_min = np.minimum.reduceat(tracks.lat, firsts)
    lat_max = np.maximum.reduceat(tracks.lat, firsts)
    tree = shapely.STRtree([z.geometry for z in zones])
    boxes = shapely.box(lon_min, lat_min, lon_max, lat_max)
    v_idx, z_idx = tree.query(boxes, predicate="intersects")
    fishing_types = set(cfg.fishing_ship_types)
    fishing_mmsi = set(cfg.fishing_mmsis)
    events: list[tuple[Event, int, int]] = []
    for v, zi in zip(v_idx.tolist(), z_idx.tolist(), strict=True):
        zone = zones[zi]
        a, b = int(firsts[v]), int(ends[v])
        mmsi = int(tracks.mmsi[a])
        info = vmap.get(mmsi, {})
        flag = info.get("flag")
        ship_type = info.get("ship_type")
        is_fishing = mmsi in fishing_mmsi or (
            ship_type is not None and int(ship_type) in fishing_types
        )
        kinds = []
        if not zone.flag_allowed(flag):
            kinds.append("incursion")
        if (
            zone.kind == "eez"
            and is_fishing
            and flag != zone.owner
            and (zone.allowed_flags is None or flag not in zone.allowed_flags)
        ):
            kinds.append("foreign_fishing")
        if not kinds:
            continue
        inside = shapely.contains_xy(zone.geometry, tracks.lon[a:b], tracks.lat[a:b])
        rs, re_ = runs(inside)
        for s, e in zip(rs.tolist(), re_.tolist(), strict=True):
            i0, i1 = a + s, a + e - 1
            t0, t1 = int(tracks.t_ms[i0]), int(tracks.t_ms[i1])
            if t1 - t0 < cfg.min_duration_min * 60_000:
                continue
            for kind in kinds:
                events.append(
                    (
                        Event(
                            kind,
                            t0,
                            t1,
                            mmsi,
                            float(tracks.lat[i0]),
                            float(tracks.lon[i0]),
                            details={
                                "zone": zone.name,
                                "zone_kind": zone.kind,
                                "zone_owner": zone.owner,
                                "flag": flag or "unknown",
                                "ship_type": ship_type,
                                "fixes": e - s,
                                "duration_h": round((t1 - t0) / 3_600_000, 3),
                            },
                        ),
                        i0,
                        i1,
                    )
                )
    return events
