"""East Asian waters AIS scenario: planted events + background traffic -> columnar positions,
static-report schedule, SAR detections and ground truth (pure; writing is in ``sim/io.py``).

Seeding: planted events use ``default_rng([seed, 1])`` and background traffic
``default_rng([seed, 2])``, so the planted events of a seed do not change with ``--vessels``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from trilink.geo import load_zones, point_in_zones
from trilink.geo.proj import GEOD
from trilink.sim.background import background_vessel
from trilink.sim.catalog import Identity, IdentityFactory
from trilink.sim.planted import Planted, plant
from trilink.sim.tracks import (
    Keyframes,
    add_noise,
    keep_probability,
    report_times,
    sample,
    shore_distance_fast_m,
)

H = 3600.0
STATIC_INTERVAL_S = 360.0
DEFAULT_START = datetime(2026, 5, 1, tzinfo=UTC)
MAX_HOURS = 24.0 * 31

#: Event definitions the planted events obey (Global Fishing Watch defaults).
DEFINITIONS: dict[str, dict[str, float]] = {
    "encounter": {
        "max_distance_m": 500.0,
        "min_duration_h": 2.0,
        "max_speed_kn": 2.0,
        "min_port_distance_km": 10.0,
    },
    "loitering": {"max_speed_kn": 2.0, "min_duration_h": 4.0, "min_shore_distance_nm": 20.0},
    "gap": {"min_duration_h": 12.0, "min_shore_distance_nm": 50.0},
    "dark_vessel": {"match_distance_km": 1.5},
}


@dataclass(frozen=True)
class ScenarioConfig:
    """What to generate."""

    seed: int = 1
    hours: float = 24.0
    vessels: int = 200
    start: datetime = DEFAULT_START
    n_yamato: int = 4

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.start.utcoffset() != timedelta(0):
            raise ValueError("start must be a timezone-aware UTC datetime")
        if not 1.0 <= self.hours <= MAX_HOURS:
            raise ValueError(f"hours must be between 1 and {MAX_HOURS:g} (31 days)")
        if self.vessels < 0:
            raise ValueError("vessels must be >= 0")


@dataclass
class Positions:
    """Received AIS position reports, sorted by (t, mmsi). ``t`` is unix seconds."""

    mmsi: NDArray[np.int64]
    t: NDArray[np.int64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    sog_kn: NDArray[np.float64]
    cog_deg: NDArray[np.float64]
    heading_deg: NDArray[np.int64]
    msg_type: NDArray[np.int8]
    status: NDArray[np.int8]

    def __len__(self) -> int:
        return int(self.t.size)

    def take(self, idx: NDArray[np.int64]) -> Positions:
        """Subset by index array."""
        return Positions(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))


@dataclass
class Scenario:
    """A generated scenario."""

    config: ScenarioConfig
    identities: dict[int, Identity]
    positions: Positions
    static_mmsi: NDArray[np.int64]
    static_t: NDArray[np.int64]
    sar: list[dict[str, object]]
    truth: dict[str, object] = field(default_factory=dict)


def quantize_lat_lon(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Round to AIS position resolution (1/10000 minute)."""
    return np.round(x * 600_000.0) / 600_000.0


def _silence(t: NDArray[np.float64], windows: list[tuple[float, float]]) -> NDArray[np.bool_]:
    keep = np.ones(t.size, dtype=bool)
    for a, b in windows:
        keep &= ~((t >= a) & (t <= b))
    return keep


def _vessel_reports(
    ident: Identity,
    kf: Keyframes,
    silent: list[tuple[float, float]],
    hours: float,
    t0_unix: int,
    rng: np.random.Generator,
) -> tuple[Positions, NDArray[np.int64]]:
    t = report_times(kf, 0.0, hours * H, rng)
    t = t[_silence(t, silent)]
    s = sample(kf, t)
    keep = rng.random(t.size) < keep_probability(shore_distance_fast_m(s.lat, s.lon))
    lat, lon, sog, cog, hdg = add_noise(s, rng, float(rng.normal(0, 2.0)))
    msg = np.where(rng.random(t.size) < 0.04, 3, 1).astype(np.int8)
    msg[rng.random(t.size) < 0.01] = 2
    pos = Positions(
        mmsi=np.full(int(keep.sum()), ident.mmsi, dtype=np.int64),
        t=(t[keep] + t0_unix).astype(np.int64),
        lat=quantize_lat_lon(lat[keep]),
        lon=quantize_lat_lon(lon[keep]),
        sog_kn=sog[keep],
        cog_deg=cog[keep],
        heading_deg=hdg[keep].astype(np.int64),
        msg_type=msg[keep],
        status=s.status[keep],
    )
    span0, span1 = max(0.0, float(kf.t[0])), min(hours * H, float(kf.t[-1]))
    st = np.arange(span0 + float(rng.uniform(0, STATIC_INTERVAL_S)), span1, STATIC_INTERVAL_S)
    st = st[_silence(st, silent)]
    if st.size:
        ss = sample(kf, st)
        st = st[rng.random(st.size) < keep_probability(shore_distance_fast_m(ss.lat, ss.lon))]
    return pos, (np.round(st) + t0_unix).astype(np.int64)


def generate(
    config: ScenarioConfig,
    progress: Callable[[int, int], None] | None = None,
    *,
    part: int = 0,
    ids: IdentityFactory | None = None,
) -> Scenario:
    """Generate the scenario (deterministic for a config).

    An archive is generated in parts of ``config.vessels`` background vessels each, so its
    memory is one part's: part 0 is the ordinary scenario (planted events included), parts
    1, 2, ... add background traffic only, from their own seeds ``[seed, 2, part]`` and
    ``[seed, 3, part]``, drawing identities from the ``ids`` factory of the earlier parts so
    no MMSI or IMO repeats.
    """
    t0_unix = int(config.start.timestamp())
    if part == 0:
        rng_p = np.random.default_rng([config.seed, 1])
        rng_b = np.random.default_rng([config.seed, 2])
        rng_r = np.random.default_rng([config.seed, 3])
        if ids is None:
            ids = IdentityFactory(rng_p)
        else:
            ids.rng = rng_p
        planted = plant(ids, rng_p, config.hours, config.n_yamato)
    else:
        rng_b = np.random.default_rng([config.seed, 2, part])
        rng_r = np.random.default_rng([config.seed, 3, part])
        if ids is None:
            raise ValueError("parts after the first need the identity factory of part 0")
        # Part 0's planted events, redrawn only for the areas background ships keep out of.
        rng_p = np.random.default_rng([config.seed, 1])
        keep_out = plant(IdentityFactory(rng_p), rng_p, config.hours, config.n_yamato)
        planted = Planted([], [], keep_out.exclusions, [], [])
    tracks: list[tuple[Identity, Keyframes, list[tuple[float, float]], str]] = [
        (v.identity, v.keyframes, v.silent, v.role) for v in planted.vessels
    ]
    ids.rng = rng_b
    dropped = 0
    for i in range(config.vessels):
        got = background_vessel(ids, rng_b, config.hours, planted.exclusions)
        if got is None:
            dropped += 1
        else:
            tracks.append((got[0], got[1], [], "background"))
        if progress is not None:
            progress(i + 1, config.vessels + 1)
    parts: list[Positions] = []
    st_m: list[NDArray[np.int64]] = []
    st_t: list[NDArray[np.int64]] = []
    for ident, kf, silent, _role in tracks:
        pos, st = _vessel_reports(ident, kf, silent, config.hours, t0_unix, rng_r)
        parts.append(pos)
        st_m.append(np.full(st.size, ident.mmsi, dtype=np.int64))
        st_t.append(st)
    allpos = Positions(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in Positions.__dataclass_fields__)
    )
    order = np.lexsort((allpos.mmsi, allpos.t))
    allpos = allpos.take(order)
    sm = np.concatenate(st_m)
    stt = np.concatenate(st_t)
    so = np.lexsort((sm, stt))
    identities = {ident.mmsi: ident for ident, *_ in tracks}
    sar = sorted(
        _sar(planted, tracks, t0_unix, config.hours, rng_r),
        key=lambda d: (int(d["t_unix"]), float(d["lat"]), float(d["lon"])),  # type: ignore[call-overload, arg-type]
    )
    scen = Scenario(config, identities, allpos, sm[so], stt[so], sar)
    scen.truth = _truth(scen, planted, tracks, dropped)
    if progress is not None:
        progress(config.vessels + 1, config.vessels + 1)
    return scen


#: Radius of the routine SAR pass at mid-run, centred on a background ship chosen by the seed:
#: every ship in it has AIS on, so its detections must all match AIS (no dark-vessel events).
ROUTINE_PASS_RADIUS_M = 100_000.0


def _sar(
    planted: Planted,
    tracks: list[tuple[Identity, Keyframes, list[tuple[float, float]], str]],
    t0_unix: int,
    hours: float,
    rng: np.random.Generator,
) -> list[dict[str, object]]:
    """SAR detections: the planted dark-vessel detection plus every AIS-visible vessel within
    150 km of it at that time, and a routine pass at mid-run around a background ship."""
    out: list[dict[str, object]] = []
    passes: list[tuple[float, float, float, float, int | None]] = []
    for det in planted.sar:
        ts = float(det["t_s"])  # type: ignore[arg-type]
        out.append({**det, "t_unix": int(ts) + t0_unix})
        lat, lon, mmsi = det["lat"], det["lon"], det["truth_mmsi"]
        assert isinstance(lat, float) and isinstance(lon, float) and isinstance(mmsi, int)
        passes.append((ts, lat, lon, 150_000.0, mmsi))
    t_mid = float(round(0.5 * hours * H))
    alive = [
        kf for _i, kf, _s, role in tracks if role == "background" and kf.t[0] <= t_mid <= kf.t[-1]
    ]
    if alive:
        c = sample(alive[int(rng.integers(len(alive)))], np.asarray([t_mid]))
        passes.append((t_mid, float(c.lat[0]), float(c.lon[0]), ROUTINE_PASS_RADIUS_M, None))
    for ts, plat, plon, radius, skip in passes:
        for ident, kf, silent, _role in tracks:
            if ident.mmsi == skip or not kf.t[0] <= ts <= kf.t[-1]:
                continue
            if any(a <= ts <= b for a, b in silent):
                continue
            s = sample(kf, np.asarray([ts]))
            _, _, d = GEOD.inv(float(s.lon[0]), float(s.lat[0]), plon, plat)
            if d > radius:
                continue
            lon2, lat2, _ = GEOD.fwd(
                float(s.lon[0]),
                float(s.lat[0]),
                float(rng.uniform(0, 360)),
                float(rng.uniform(0, 80)),
            )
            out.append(
                {
                    "t_s": ts,
                    "t_unix": int(ts) + t0_unix,
                    "lat": float(lat2),
                    "lon": float(lon2),
                    "length_m": round(ident.length_m * float(rng.uniform(0.9, 1.1)), 1),
                    "truth_mmsi": ident.mmsi,
                    "ais_visible": True,
                }
            )
    return out


def iso(t_unix: float) -> str:
    """ISO-8601 UTC with a Z suffix, whole seconds."""
    return datetime.fromtimestamp(round(t_unix), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _truth(
    scen: Scenario,
    planted: Planted,
    tracks: list[tuple[Identity, Keyframes, list[tuple[float, float]], str]],
    dropped: int,
) -> dict[str, object]:
    t0 = int(scen.config.start.timestamp())
    pos = scen.positions
    events = []
    for ev in planted.events:
        e = dict(ev)
        mmsi = int(e["mmsi"])  # type: ignore[call-overload]
        sel = np.flatnonzero(pos.mmsi == mmsi)
        tt = pos.t[sel]
        if e["type"] in ("foreign_fishing",):
            e["start_s"], e["end_s"] = float(tt.min() - t0), float(tt.max() - t0)
        if e["type"] == "incursion":
            zones = [
                z
                for z in load_zones("neutral")
                if z.nation == "JPN" and z.zone_type == "territorial_sea"
            ]
            hits = point_in_zones(pos.lat[sel], pos.lon[sel], zones)
            inside = np.unique(hits.point_index)
            e["start_s"], e["end_s"] = float(tt[inside[0]] - t0), float(tt[inside[-1]] - t0)
            e["received_reports_inside"] = int(inside.size)
        if e["type"] == "gap":
            before = tt[tt - t0 < float(e["start_s"])]  # type: ignore[arg-type]
            after = tt[tt - t0 > float(e["end_s"])]  # type: ignore[arg-type]
            if before.size and after.size:
                e["received_start"] = iso(float(before.max()))
                e["received_end"] = iso(float(after.min()))
                e["received_gap_h"] = round(float(after.min() - before.max()) / H, 3)
        e["start"] = iso(t0 + float(e.pop("start_s")))  # type: ignore[arg-type]
        e["end"] = iso(t0 + float(e.pop("end_s")))  # type: ignore[arg-type]
        ident = scen.identities[mmsi]
        e["name"] = ident.name
        e["flag"] = ident.flag
        e["imo"] = ident.imo
        if e.get("other_mmsi") is not None:
            other = scen.identities[int(e["other_mmsi"])]  # type: ignore[call-overload]
            e["other_name"] = other.name
            e["other_imo"] = other.imo
            e["other_flag"] = other.flag
        events.append(e)
    return {
        "generator": "trilink sim maritime",
        "seed": scen.config.seed,
        "start": iso(t0),
        "end": iso(t0 + scen.config.hours * H),
        "hours": scen.config.hours,
        "background_vessels_requested": scen.config.vessels,
        "background_vessels_dropped": dropped,
        "vessels": len(scen.identities),
        "positions": len(pos),
        "static_reports": int(scen.static_t.size),
        "sar_detections": len(scen.sar),
        "definitions": DEFINITIONS,
        "events": events,
        "exclusion_areas": [
            {"name": x.name, "bbox": list(x.box), "start": iso(t0 + x.t0), "end": iso(t0 + x.t1)}
            for x in planted.exclusions
        ],
        "skipped": planted.skipped,
        "roles": {str(i.mmsi): role for i, _, _, role in tracks if role != "background"},
        "zones_note": "zones are trilink.geo's APPROXIMATE zones, view 'neutral'",
    }
