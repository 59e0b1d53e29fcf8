"""Planted events of the East Asia scenario: the tracks that make them and their exclusion areas.

* STS transfer in the East China Sea between a tanker and a real OFAC-listed DPRK vessel
  (GFW encounter: <= 500 m, >= 2 h, both < 2 kn, >= 10 km from any port/anchorage; lasting
  5 h it also makes both vessels loiter: < 2 kn for >= 4 h >= 20 nm from shore);
* a merchant vessel going dark in the Pacific east of Japan (AIS off >= 12 h with both ends
  >= 50 nm from shore) and seen by a SAR pass during the gap;
* CHN-flagged (MID 412) fishing vessels trawling around Yamato Bank inside Japan's EEZ;
* a CHN-flagged vessel entering Japan's territorial sea off the Oki Islands.

Each event comes with an exclusion area (box and time window) that background traffic is kept
out of, so the planted set is the only thing a detector should find there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.ops import nearest_points

from trilink.geo import distance_to_shore_m, load_land, load_zones, point_in_zones
from trilink.geo.proj import GEOD, NM_M
from trilink.sim.catalog import Identity, IdentityFactory, sanctioned_vessels
from trilink.sim.tracks import (
    STATUS_FISHING,
    Keyframes,
    TrackBuilder,
    sample,
)

H = 3600.0
STS_POINT = (30.55, 124.35)  # East China Sea, ~81 nm from shore, ~117 km from any anchorage
YAMATO_BANK = (39.5, 135.0)
OKI_DOGO = (36.28, 133.25)  # Dogo, the largest of the Oki Islands
DARK_FROM = (34.6, 140.6)  # off the Boso peninsula, outbound across the Pacific ...
DARK_TO = (39.0, 150.5)  # ... on the great circle towards North America


@dataclass(frozen=True)
class Exclusion:
    """No background vessel may be inside ``box`` (lon0, lat0, lon1, lat1) during [t0, t1]."""

    name: str
    box: tuple[float, float, float, float]
    t0: float
    t1: float


@dataclass
class PlantedVessel:
    """A planted vessel: identity, track and AIS-off windows (seconds from start)."""

    identity: Identity
    keyframes: Keyframes
    role: str
    silent: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Planted:
    """Everything planted: vessels, event descriptions (times in s from start), exclusions."""

    vessels: list[PlantedVessel]
    events: list[dict[str, object]]
    exclusions: list[Exclusion]
    sar: list[dict[str, object]]
    skipped: list[str]


def offset_point(lat: float, lon: float, bearing: float, dist_m: float) -> tuple[float, float]:
    lon2, lat2, _ = GEOD.fwd(lon, lat, bearing, dist_m)
    return float(lat2), float(lon2)


def _box_around(
    lats: NDArray[np.float64], lons: NDArray[np.float64], pad_deg: float
) -> tuple[float, float, float, float]:
    return (
        float(lons.min() - pad_deg),
        float(lats.min() - pad_deg),
        float(lons.max() + pad_deg),
        float(lats.max() + pad_deg),
    )


def _sts(ids: IdentityFactory, rng: np.random.Generator, hours: float, out: Planted) -> None:
    meet = float(round(0.30 * hours * H))
    dur = 5.0 * H
    if meet + dur + 3 * H > hours * H:
        out.skipped.append("sts: needs --hours >= 12")
        return
    lat0, lon0 = STS_POINT
    drift_brg = float(rng.uniform(30, 80))
    drift_kn = float(rng.uniform(0.3, 0.8))
    # Tanker comes from the south-west (Ningbo side), the DPRK vessel from the north.
    tanker = ids.make("tanker", "PAN")
    sanc = sanctioned_vessels()
    pick = sanc[int(rng.integers(len(sanc)))]
    dprk_base = ids.make("tanker", "PRK")
    dprk = Identity(
        mmsi=dprk_base.mmsi,
        imo=pick.imo,
        name=pick.name,
        callsign=dprk_base.callsign,
        ship_type=80,
        flag="PRK",
        length_m=dprk_base.length_m,
        beam_m=dprk_base.beam_m,
        draught_m=dprk_base.draught_m,
        vessel_class="tanker",
    )
    side = float(rng.uniform(55, 85))  # metres between the two AIS antennas, alongside
    tracks = []
    # (identity, bearing it comes from, bearing it leaves on, speed, offset from the tanker):
    # both legs stay in open water of the East China Sea / Yellow Sea for 400 km.
    legs = ((tanker, 225.0, 150.0, 11.5, 0.0), (dprk, 355.0, 355.0, 9.5, side))
    for ident, from_brg, leave_brg, speed, off in legs:
        m_lat, m_lon = offset_point(lat0, lon0, drift_brg + 90.0, off)
        # Long runs: the approach starts at most 10 h out (the ship enters the area then).
        far_m = speed * NM_M * min(meet / H + 1.0, 10.0)
        far_lat, far_lon = offset_point(m_lat, m_lon, from_brg, far_m + 3000.0)
        slow_lat, slow_lon = offset_point(m_lat, m_lon, from_brg, 3000.0)
        # Start so that the ship reaches its rendezvous point exactly at `meet`.
        t_start = meet - far_m / (speed * NM_M / H) - 3000.0 / (3.0 * NM_M / H)
        b = TrackBuilder(t_start, far_lat, far_lon)
        b.go_to(slow_lat, slow_lon, speed)
        b.go_to(m_lat, m_lon, 3.0)
        b.drift(dur, drift_kn, drift_brg, step_s=300.0)
        away = offset_point(*b.pos, leave_brg, 400_000.0)
        b.go_to(away[0], away[1], speed)
        tracks.append((ident, b.build()))
    # Check the construction against the GFW encounter definition.
    kf_t, kf_d = tracks[0][1], tracks[1][1]
    ts = np.arange(meet + 60.0, meet + dur - 60.0, 60.0)
    st, sd = sample(kf_t, ts), sample(kf_d, ts)
    sep = np.asarray(GEOD.inv(st.lon, st.lat, sd.lon, sd.lat)[2])
    if sep.max() > 200.0 or max(st.sog_kn.max(), sd.sog_kn.max()) >= 2.0:
        raise RuntimeError("planted STS does not meet the encounter definition (bug)")
    for ident, kf in tracks:
        out.vessels.append(PlantedVessel(ident, kf, "sts"))
    lat_c = float(np.mean(st.lat))
    lon_c = float(np.mean(st.lon))
    shore_nm = float(distance_to_shore_m([lat_c], [lon_c])[0] / NM_M)
    out.events.append(
        {
            "type": "encounter",
            "start_s": meet,
            "end_s": meet + dur,
            "mmsi": tanker.mmsi,
            "other_mmsi": dprk.mmsi,
            "lat": lat_c,
            "lon": lon_c,
            "max_separation_m": float(sep.max()),
            "shore_distance_nm": shore_nm,
            "note": f"STS transfer with OFAC-listed {pick.name} (IMO {pick.imo}, {pick.ofac_uid})",
        }
    )
    for ident in (tanker, dprk):
        out.events.append(
            {
                "type": "loitering",
                "start_s": meet,
                "end_s": meet + dur,
                "mmsi": ident.mmsi,
                "other_mmsi": None,
                "lat": lat_c,
                "lon": lon_c,
                "shore_distance_nm": shore_nm,
                "note": "implied by the 5 h STS drift (< 2 kn for >= 4 h >= 20 nm from shore)",
            }
        )
    pad = 0.6
    out.exclusions.append(
        Exclusion(
            "sts",
            (lon0 - pad, lat0 - pad, lon0 + pad, lat0 + pad),
            meet - 6 * H,
            meet + dur + 6 * H,
        )
    )


def _dark(ids: IdentityFactory, rng: np.random.Generator, hours: float, out: Planted) -> None:
    gap = 14.0 * H
    if hours < 20:
        out.skipped.append("going dark: needs --hours >= 20")
        return
    ident = ids.make("merchant", "HKG")
    speed = float(rng.uniform(11.5, 13.0))
    b = TrackBuilder(-1.0 * H, *DARK_FROM)
    b.go_to(*DARK_TO, speed)
    kf = b.build()
    # Place the gap where both ends are far from shore: scan candidate starts every 10 min.
    # Only inside the route: ``sample`` extrapolates past its end, which on a long run
    # (--days 30) would run the ship off the map, across the antimeridian.
    starts = np.arange(1.0 * H, min(hours * H, float(kf.t[-1])) - gap - 1.0 * H, 600.0)
    s0, s1 = sample(kf, starts), sample(kf, starts + gap)
    d0 = distance_to_shore_m(s0.lat, s0.lon)
    d1 = distance_to_shore_m(s1.lat, s1.lon)
    ok = np.flatnonzero((d0 > 60 * NM_M) & (d1 > 60 * NM_M))
    if ok.size == 0:
        out.skipped.append("going dark: no 14 h stretch >= 60 nm from shore on the planted route")
        return
    k = int(ok[len(ok) // 2])
    g0, g1 = float(starts[k]), float(starts[k] + gap)
    out.vessels.append(PlantedVessel(ident, kf, "dark", silent=[(g0, g1)]))
    mid = sample(kf, np.asarray([0.5 * (g0 + g1)]))
    det_lat, det_lon = offset_point(
        float(mid.lat[0]), float(mid.lon[0]), float(rng.uniform(0, 360)), 60.0
    )
    out.sar.append(
        {
            "t_s": round(0.5 * (g0 + g1)),
            "lat": det_lat,
            "lon": det_lon,
            "length_m": round(ident.length_m * float(rng.uniform(0.9, 1.1)), 1),
            "truth_mmsi": ident.mmsi,
            "ais_visible": False,
        }
    )
    out.events.append(
        {
            "type": "gap",
            "start_s": g0,
            "end_s": g1,
            "mmsi": ident.mmsi,
            "other_mmsi": None,
            "lat": float(s0.lat[k]),
            "lon": float(s0.lon[k]),
            "end_lat": float(s1.lat[k]),
            "end_lon": float(s1.lon[k]),
            "start_shore_distance_nm": float(d0[k] / NM_M),
            "end_shore_distance_nm": float(d1[k] / NM_M),
            "note": "AIS switched off; times are the transmitter-off window, the received gap "
            "is slightly longer (see received_start/received_end)",
        }
    )
    out.events.append(
        {
            "type": "dark_vessel",
            "start_s": round(0.5 * (g0 + g1)),
            "end_s": round(0.5 * (g0 + g1)),
            "mmsi": ident.mmsi,
            "other_mmsi": None,
            "lat": det_lat,
            "lon": det_lon,
            "note": "SAR detection of the vessel during its AIS gap (no AIS match expected)",
        }
    )
    lats = np.concatenate([s0.lat[k : k + 1], s1.lat[k : k + 1]])
    lons = np.concatenate([s0.lon[k : k + 1], s1.lon[k : k + 1]])
    out.exclusions.append(
        Exclusion("going_dark", _box_around(lats, lons, 0.7), g0 - 2 * H, g1 + 2 * H)
    )


def trawl_zigzag(
    b: TrackBuilder,
    rng: np.random.Generator,
    center: tuple[float, float],
    radius_m: float,
    until_s: float,
) -> None:
    """Trawling zig-zag at 2.8-4.5 kn around ``center`` until ``until_s``."""
    heading = float(rng.uniform(0, 360))
    while b.now < until_s:
        turn = float(rng.uniform(120, 170)) * (1 if rng.random() < 0.5 else -1)
        heading = (heading + turn) % 360
        leg = float(rng.uniform(2_000, 6_000))
        lat, lon = b.pos
        nl, no = offset_point(lat, lon, heading, leg)
        _, _, dc = GEOD.inv(center[1], center[0], no, nl)
        if dc > radius_m:
            az, _, _ = GEOD.inv(lon, lat, center[1], center[0])
            heading = float(az) + float(rng.uniform(-30, 30))
            nl, no = offset_point(lat, lon, heading, leg)
        b.go_to(nl, no, float(rng.uniform(2.8, 4.5)), STATUS_FISHING)


def _yamato(
    ids: IdentityFactory, rng: np.random.Generator, hours: float, out: Planted, n: int
) -> None:
    centers: list[tuple[float, float]] = []
    while len(centers) < n:
        c = offset_point(*YAMATO_BANK, float(rng.uniform(0, 360)), float(rng.uniform(0, 20_000)))
        if all(GEOD.inv(c[1], c[0], o[1], o[0])[2] > 12_000 for o in centers):
            centers.append(c)
    zones = [z for z in load_zones("neutral") if z.nation == "JPN" and z.zone_type == "eez"]
    for c in centers:
        ident = ids.make("fishing", "CHN", mid=412)
        b = TrackBuilder(-1.0 * H, *c)
        trawl_zigzag(b, rng, c, 5_000.0, hours * H + H)
        kf = b.build()
        hits = point_in_zones(kf.lat, kf.lon, zones)
        if np.unique(hits.point_index).size != kf.t.size:
            raise RuntimeError("planted Yamato Bank fishing track leaves Japan's EEZ (bug)")
        out.vessels.append(PlantedVessel(ident, kf, "foreign_fishing"))
        out.events.append(
            {
                "type": "foreign_fishing",
                "start_s": 0.0,
                "end_s": hours * H,
                "mmsi": ident.mmsi,
                "other_mmsi": None,
                "lat": c[0],
                "lon": c[1],
                "zone": "JPN eez (trilink.geo approximate, view neutral)",
                "note": "CHN-flagged fishing vessel trawling at Yamato Bank for the whole run",
            }
        )
    lats = np.asarray([c[0] for c in centers])
    lons = np.asarray([c[1] for c in centers])
    out.exclusions.append(
        Exclusion("yamato_bank", _box_around(lats, lons, 0.5), -2 * H, hours * H + 2 * H)
    )


def _incursion(ids: IdentityFactory, rng: np.random.Generator, hours: float, out: Planted) -> None:
    t_in = 0.55 * hours * H
    if hours < 8:
        out.skipped.append("incursion: needs --hours >= 8")
        return
    land = load_land("JPN")
    coast = nearest_points(land.boundary, shapely.Point(OKI_DOGO[1], OKI_DOGO[0] + 0.3))[0]
    inside = offset_point(coast.y, coast.x, 0.0, 5 * NM_M)
    along = offset_point(*inside, 80.0, 12_000.0)
    start = offset_point(*inside, 330.0, 40 * NM_M)
    exit_ = offset_point(*along, 30.0, 40 * NM_M)
    ident = ids.make("other", "CHN")
    speed = float(rng.uniform(9.0, 11.0))
    _, _, d_in = GEOD.inv(start[1], start[0], inside[1], inside[0])
    b = TrackBuilder(t_in - d_in / (speed * NM_M / H) - 1.0 * H, *start)
    b.go_to(*inside, speed)
    b.go_to(*along, 6.0)
    b.go_to(*exit_, speed)
    kf = b.build()
    ts = np.arange(max(kf.t[0], 0.0), min(kf.t[-1], hours * H), 10.0)
    s = sample(kf, ts)
    zones = [
        z for z in load_zones("neutral") if z.nation == "JPN" and z.zone_type == "territorial_sea"
    ]
    hits = point_in_zones(s.lat, s.lon, zones)
    idx = np.unique(hits.point_index)
    if idx.size == 0:
        raise RuntimeError("planted incursion never enters Japan's territorial sea (bug)")
    out.vessels.append(PlantedVessel(ident, kf, "incursion"))
    out.events.append(
        {
            "type": "incursion",
            "start_s": float(ts[idx[0]]),
            "end_s": float(ts[idx[-1]]),
            "mmsi": ident.mmsi,
            "other_mmsi": None,
            "lat": float(inside[0]),
            "lon": float(inside[1]),
            "zone": "JPN territorial_sea (trilink.geo approximate, view neutral)",
            "note": "CHN-flagged vessel (AIS type 90) 5 nm off the Oki Islands; it also "
            "crosses Japan's EEZ and contiguous zone on the way in and out",
        }
    )
    out.exclusions.append(
        Exclusion(
            "incursion",
            _box_around(s.lat, s.lon, 0.3),
            float(ts[0]) - 2 * H,
            float(ts[-1]) + 2 * H,
        )
    )


def plant(
    ids: IdentityFactory, rng: np.random.Generator, hours: float, n_yamato: int = 4
) -> Planted:
    """Build every planted event that fits in ``hours``."""
    out = Planted([], [], [], [], [])
    _sts(ids, rng, hours, out)
    _dark(ids, rng, hours, out)
    _yamato(ids, rng, hours, out, n_yamato)
    _incursion(ids, rng, hours, out)
    return out
