"""Background traffic: merchant ships and tankers on port-to-port voyages, fishing trips.

Merchant and tanker voyages follow :mod:`trilink.sim.routing` routes at a cruise speed with
slow approaches near ports and stays of several hours alongside. Fishing vessels steam from a
home port to a ground inside their own nation's EEZ, trawl in a zig-zag at 2.8-4.5 kn and
return. No background vessel drifts below 2 kn away from port, so background traffic makes no
encounters or loitering; a vessel whose track enters a planted event's exclusion area during
its window is drawn again.
"""

from __future__ import annotations

import zlib
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from trilink.geo import distance_to_shore_m, is_on_land, load_zones, point_in_zones
from trilink.geo.proj import GEOD
from trilink.sim.catalog import MERCHANT_FLAGS, Identity, IdentityFactory, VesselClass
from trilink.sim.planted import Exclusion, offset_point, trawl_zigzag
from trilink.sim.routing import PORTS, graph, leg_points, legs_clear, route
from trilink.sim.tracks import STATUS_MOORED, Keyframes, TrackBuilder

H = 3600.0
APPROACH_M = 15_000.0
APPROACH_KN = 5.0
BERTH_JITTER_M = 800.0
FISHING_FLAGS = ("JPN", "KOR", "CHN", "TWN", "RUS")


@lru_cache(maxsize=1)
def cargo_ports() -> tuple[str, ...]:
    """Ports of the routing graph's main component (all reachable from each other)."""
    graph()
    names = [p[0] for p in PORTS]
    base = names[0]
    return tuple(n for n in names if n == base or route(base, n) is not None)


def _speed_profile(pts: NDArray[np.float64], cruise_kn: float) -> NDArray[np.float64]:
    """Cruise speed with a linear slow-down within APPROACH_M of both ends."""
    _, _, seg = GEOD.inv(pts[:-1, 1], pts[:-1, 0], pts[1:, 1], pts[1:, 0])
    s = np.concatenate([[0.0], np.cumsum(seg)])
    edge = np.minimum(s, s[-1] - s)
    frac = np.clip(edge / APPROACH_M, 0.0, 1.0)
    out: NDArray[np.float64] = APPROACH_KN + frac * (cruise_kn - APPROACH_KN)
    return out


def _berth(rng: np.random.Generator, lat: float, lon: float) -> tuple[float, float]:
    return offset_point(
        lat, lon, float(rng.uniform(0, 360)), float(rng.uniform(0, BERTH_JITTER_M))
    )


def merchant_track(
    rng: np.random.Generator, hours: float, cruise_kn: float
) -> tuple[Keyframes, str]:
    """A sequence of voyages and port stays covering [-1 h, hours + 1 h]."""
    ports = cargo_ports()
    here = ports[int(rng.integers(len(ports)))]
    end = (hours + 1.0) * H
    if rng.random() < 0.25:
        # Alongside at the start, leaving within the first half day.
        lat, lon = _berth(rng, *_port_pos(here))
        b = TrackBuilder(-1.0 * H, lat, lon)
        b.stay(float(rng.uniform(0.5, 12.0)) * H)
    else:
        b = None
    dest = here
    while b is None or b.now < end:
        dest = _pick_destination(rng, here, ports)
        pts = route(here, dest)
        if pts is None:
            continue
        speed = _speed_profile(pts, cruise_kn)
        if b is None:
            # Start mid-voyage: enter the route at a random point, at -1 h.
            k = int(rng.integers(1, max(2, len(pts) - 1)))
            b = TrackBuilder(-1.0 * H, float(pts[k, 0]), float(pts[k, 1]))
            b.follow(pts[k:], speed[k:])
        else:
            b.follow(np.vstack([np.asarray([b.pos]), pts]), np.concatenate([[APPROACH_KN], speed]))
        lat, lon = _berth(rng, *_port_pos(dest))
        b.go_to(lat, lon, 2.5)
        b.stay(float(rng.uniform(4.0, 16.0)) * H)
        here = dest
    return b.build(), dest


def _port_pos(name: str) -> tuple[float, float]:
    for n, _iso, la, lo, _k in PORTS:
        if n == name:
            return la, lo
    raise KeyError(name)


def _pick_destination(rng: np.random.Generator, here: str, ports: tuple[str, ...]) -> str:
    while True:
        dest = ports[int(rng.integers(len(ports)))]
        if dest == here:
            continue
        la1, lo1 = _port_pos(here)
        la2, lo2 = _port_pos(dest)
        if GEOD.inv(lo1, la1, lo2, la2)[2] > 150_000:
            return dest


@lru_cache(maxsize=64)
def fishing_grounds(port: str, flag: str) -> tuple[tuple[float, float], ...]:
    """Candidate fishing grounds reachable straight from ``port``, inside the flag's own zones.

    Grounds are 40-110 km out, >= 25 km from shore, and a 12 km circle around them lies in the
    nation's territorial sea / EEZ (neutral view) with no other nation's zone.
    """
    lat0, lon0 = _port_pos(port)
    rng = np.random.default_rng(zlib.crc32(f"{port}|{flag}".encode()))
    brg = rng.uniform(0, 360, 240)
    dist = rng.uniform(40_000, 110_000, 240)
    lon1, lat1, _ = GEOD.fwd(np.full(240, lon0), np.full(240, lat0), brg, dist)
    lat1 = np.asarray(lat1)
    lon1 = np.asarray(lon1)
    ok = (distance_to_shore_m(lat1, lon1) > 25_000) & ~is_on_land(lat1, lon1)
    zones = load_zones("neutral")
    ring_brg = np.arange(0, 360, 30.0)
    out = []
    for la, lo in zip(lat1[ok], lon1[ok], strict=True):
        rl, rlat, _ = GEOD.fwd(np.full(12, lo), np.full(12, la), ring_brg, np.full(12, 12_000.0))
        pl = np.concatenate([[la], np.asarray(rlat)])
        po = np.concatenate([[lo], np.asarray(rl)])
        hits = point_in_zones(pl, po, zones)
        owners = {zones[z].nation for z in hits.zone_index}
        if owners != {flag} or np.unique(hits.point_index).size != pl.size:
            continue
        slack = 9_000.0 + float(distance_to_shore_m([lat0], [lon0])[0])
        if not legs_clear([leg_points(lat0, lon0, float(la), float(lo), slack, 0.0)])[0]:
            continue
        out.append((float(la), float(lo)))
        if len(out) >= 12:
            break
    return tuple(out)


def fishing_ports(flag: str) -> list[str]:
    """Ports of ``flag`` that have at least one valid fishing ground."""
    return [p[0] for p in PORTS if p[1] == flag and fishing_grounds(p[0], flag)]


def fishing_track(rng: np.random.Generator, hours: float, port: str, flag: str) -> Keyframes:
    """Repeated trips: steam out at 9-11 kn, trawl 6-20 h, steam back, 6-12 h alongside."""
    grounds = fishing_grounds(port, flag)
    lat0, lon0 = _port_pos(port)
    end = (hours + 1.0) * H
    b = TrackBuilder(-float(rng.uniform(1.0, 30.0)) * H, *_berth(rng, lat0, lon0))
    b.stay(float(rng.uniform(0.5, 8.0)) * H)
    while b.now < end:
        g = grounds[int(rng.integers(len(grounds)))]
        b.go_to(*g, float(rng.uniform(9, 11)))
        trawl_zigzag(b, rng, g, 9_000.0, b.now + float(rng.uniform(6, 20)) * H)
        b.go_to(*_berth(rng, lat0, lon0), float(rng.uniform(9, 11)))
        b.stay(float(rng.uniform(6, 12)) * H, STATUS_MOORED)
    kf = b.build()
    keep = np.searchsorted(kf.t, -1.0 * H, side="right") - 1
    if keep > 0:
        kf = Keyframes(kf.t[keep:], kf.lat[keep:], kf.lon[keep:], kf.status[keep:])
    return kf


def violates(kf: Keyframes, exclusions: list[Exclusion]) -> bool:
    """True if the track is inside any exclusion box during its window."""
    for ex in exclusions:
        lon0, lat0, lon1, lat1 = ex.box
        m = (kf.t >= ex.t0) & (kf.t <= ex.t1)
        if not m.any():
            continue
        inside = (
            (kf.lon[m] >= lon0) & (kf.lon[m] <= lon1) & (kf.lat[m] >= lat0) & (kf.lat[m] <= lat1)
        )
        if inside.any():
            return True
    return False


def background_vessel(
    ids: IdentityFactory,
    rng: np.random.Generator,
    hours: float,
    exclusions: list[Exclusion],
    tries: int = 25,
) -> tuple[Identity, Keyframes] | None:
    """One background vessel (class by traffic share) that keeps out of exclusion areas."""
    u = rng.random()
    cls: VesselClass = "merchant" if u < 0.45 else "tanker" if u < 0.65 else "fishing"
    for _ in range(tries):
        if cls == "fishing":
            flag = FISHING_FLAGS[int(rng.integers(len(FISHING_FLAGS)))]
            ports = fishing_ports(flag)
            if not ports:
                continue
            port = ports[int(rng.integers(len(ports)))]
            kf = fishing_track(rng, hours, port, flag)
        else:
            flags = [f for f, _ in MERCHANT_FLAGS]
            share = np.asarray([w for _, w in MERCHANT_FLAGS])
            flag = flags[int(rng.choice(len(flags), p=share / share.sum()))]
            cruise = float(rng.uniform(12, 18) if cls == "merchant" else rng.uniform(10, 14.5))
            kf, _ = merchant_track(rng, hours, cruise)
        if not violates(kf, exclusions):
            return ids.make(cls, flag), kf
    return None
