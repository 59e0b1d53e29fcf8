"""Port visits: entry within 3 km of a port/anchorage, a stop, exit beyond 4 km (GFW rules).

The nearest-port distance is looked up for every fix (grid prefilter, then KD-tree only near
ports); the entry/exit hysteresis is one sequential pass in numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trilink.maritime.config import PortConfig
from trilink.maritime.events.base import Event, Tracks
from trilink.maritime.events.context import Ports


@njit(cache=True)
def _visits(
    start: np.ndarray,
    dist_km: np.ndarray,
    port: np.ndarray,
    speed: np.ndarray,
    entry_km: float,
    exit_km: float,
    stop_kn: float,
) -> np.ndarray:
    n = dist_km.size
    out = np.empty((n, 4), dtype=np.int64)  # first fix, last fix, port, stopped
    k = 0
    inside = False
    first = 0
    last = 0
    pid = -1
    stopped = 0
    for i in range(n):
        if start[i] and inside:
            out[k, 0], out[k, 1], out[k, 2], out[k, 3] = first, last, pid, stopped
            k += 1
            inside = False
        if not inside:
            if dist_km[i] <= entry_km:
                inside = True
                first = i
                last = i
                pid = port[i]
                stopped = 1 if speed[i] <= stop_kn else 0
        elif dist_km[i] > exit_km:
            out[k, 0], out[k, 1], out[k, 2], out[k, 3] = first, last, pid, stopped
            k += 1
            inside = False
        else:
            last = i
            if speed[i] <= stop_kn:
                stopped = 1
    if inside:
        out[k, 0], out[k, 1], out[k, 2], out[k, 3] = first, last, pid, stopped
        k += 1
    return out[:k]


def detect_port_visits(tracks: Tracks, cfg: PortConfig, ports: Ports) -> list[Event]:
    if tracks.size == 0:
        return []
    dist, idx = ports.nearest(tracks.lon, tracks.lat, max_km=cfg.exit_distance_km)
    speed = np.nan_to_num(tracks.speed_kn, nan=np.inf)
    visits = _visits(
        tracks.start,
        dist,
        idx,
        speed,
        cfg.entry_distance_km,
        cfg.exit_distance_km,
        cfg.stopped_speed_kn,
    )
    events = []
    for first, last, pid, stopped in visits.tolist():
        if cfg.require_stop and not stopped:
            continue
        t0, t1 = int(tracks.t_ms[first]), int(tracks.t_ms[last])
        if (t1 - t0) < cfg.min_duration_h * 3_600_000:
            continue
        events.append(
            Event(
                "port_visit",
                t0,
                t1,
                int(tracks.mmsi[first]),
                float(ports.lat[pid]),
                float(ports.lon[pid]),
                details={
                    "port": ports.names[pid],
                    "port_iso3": ports.iso3[pid],
                    "duration_h": round((t1 - t0) / 3_600_000, 3),
                    "stopped": bool(stopped),
                    "fixes": last - first + 1,
                    "open_at_end": bool(last + 1 >= tracks.size or tracks.start[last + 1])
                    and t1 == tracks.last_t_ms,
                },
            )
        )
    return events
