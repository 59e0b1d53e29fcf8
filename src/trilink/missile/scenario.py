"""Missile-warning scenarios: launches + sensors → truth → national trackers → shared tracks →
per-nation covariance-intersection fusion → estimates → warnings (pure core).

Place in the flow: ``scenario_io`` reads a TOML file into a dict, ``parse_scenario`` checks it
into a ``Scenario`` (errors name the file and the field), ``iter_cycles`` runs it one cycle at a
time (every ``cycle_s``: each nation processes the plots its sensors delivered, shares its
tracks as ``missile.track`` payloads, fuses the partner tracks its label allows it to receive
with its own, estimates impact and launch point, runs its warning state machine); a
centralised tracker fed every plot runs alongside for comparison. ``publish`` puts the cycles on
the nodes; ``scenario_io`` writes CSV, GeoJSON and PNG.

Bad input is never silent: unknown sites, impossible geometry and bad numbers raise
``ScenarioError`` (file, field); measurements with NaN numbers or delivered out of time order
(``[faults]`` injects both) are rejected by the trackers and counted per nation.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

import msgspec
import numpy as np
from pyproj import Geod

from trilink.errors import InputError, LabelError
from trilink.missile.errors import InfeasibleTrajectoryError
from trilink.missile.fuse.ci import TrackFuser
from trilink.missile.fuse.share import from_payload, to_payload
from trilink.missile.sensors import RADAR_TYPES, Sensor, TruthObject, load_sites, observe, ship
from trilink.missile.shaping import feasible_apogee_km, solve_launch
from trilink.missile.track.estimate import estimate_track
from trilink.missile.track.manager import SensorCoverage, TrackManager
from trilink.missile.types import NATIONS, Plot, TrackState
from trilink.missile.warning import (
    JapanZones,
    ThreatAssessment,
    WarningConfig,
    WarningEvent,
    WarningMachine,
    assess,
    national_ids,
)
from trilink.model import format_label, parse_label
from trilink.model.payloads.missile import MissileTrackPayload

GEOD = Geod(ellps="WGS84")
DEFAULT_LABEL = "SECRET//REL TO USA, JPN, KOR"
DEFAULT_EPOCH = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
MAX_DURATION_S = 3 * 3600.0


class ScenarioError(InputError):
    """A scenario file that cannot be run (carries the file and the field)."""


@dataclass(frozen=True, slots=True)
class LaunchSpec:
    launch_id: str
    site: str
    lat_deg: float
    lon_deg: float
    impact_lat_deg: float
    impact_lon_deg: float
    apogee_km: float
    t_launch_s: float


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """Measurement faults to inject (to show they are rejected and counted)."""

    nan_plots: int = 0
    late_plots: int = 0
    late_by_s: float = 30.0


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    source: str
    seed: int
    duration_s: float
    cycle_s: float
    epoch_utc: dt.datetime
    exercise: bool
    labels: dict[str, str]
    launches: tuple[LaunchSpec, ...]
    sensors: tuple[Sensor, ...]
    warning: WarningConfig
    clutter: bool = True
    motion: str = "imm"
    faults: FaultSpec = FaultSpec()
    view: str = "administering"

    def nation_sensors(self, nation: str) -> list[Sensor]:
        return [s for s in self.sensors if s.nation == nation]


# ------------------------------------------------------------------------------ parsing


def launch_facilities() -> dict[str, tuple[str, float, float]]:
    """Launch facilities of the nk-missile-tests record: key → (name, lat, lon)."""
    raw = (
        resources.files("trilink.missile")
        .joinpath("data/nk-missile-tests/facility.en.json")
        .read_text("utf-8")
    )
    data = json.loads(raw)
    out: dict[str, tuple[str, float, float]] = {}
    for key, fac in data.get("facilities", data).items():
        if key != "unknown" and isinstance(fac.get("lat"), (int, float)):
            out[key] = (str(fac.get("name", key)), float(fac["lat"]), float(fac["lon"]))
    return out


class _Reader:
    """Typed access to one table of the scenario with errors naming file and field."""

    def __init__(self, data: Mapping[str, Any], where: str, source: str, known: set[str]):
        if not isinstance(data, Mapping):
            raise ScenarioError("expected a table", path=source, field=where or None)
        self.data, self.where, self.source = data, where, source
        unknown = sorted(set(data) - known)
        if unknown:
            raise ScenarioError(
                f"unknown key {unknown[0]!r}; known keys here: {', '.join(sorted(known))}",
                path=source,
                field=self.f(unknown[0]),
            )

    def f(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def err(self, key: str, msg: str) -> ScenarioError:
        return ScenarioError(msg, path=self.source, field=self.f(key))

    def has(self, key: str) -> bool:
        return key in self.data

    def num(self, key: str, default: float | None = None, *, lo: float = -math.inf,
            hi: float = math.inf) -> float:  # fmt: skip
        v = self.data.get(key, default)
        if v is None:
            raise self.err(key, "missing (a number is required)")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise self.err(key, f"{v!r} is not a finite number")
        if not lo <= v <= hi:
            raise self.err(key, f"{v} is outside {lo:g}..{hi:g}")
        return float(v)

    def integer(self, key: str, default: int, *, lo: int = 0, hi: int = 2**31) -> int:
        v = self.data.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise self.err(key, f"{v!r} is not an integer within {lo}..{hi}")
        return v

    def text(self, key: str, default: str | None = None) -> str:
        v = self.data.get(key, default)
        if not isinstance(v, str) or not v.strip():
            raise self.err(key, "missing or not a text" if v is None else f"{v!r} is not a text")
        return v.strip()

    def flag(self, key: str, default: bool) -> bool:
        v = self.data.get(key, default)
        if not isinstance(v, bool):
            raise self.err(key, f"{v!r} is not true/false")
        return v

    def lat_lon(self, key: str) -> tuple[float, float]:
        v = self.data.get(key)
        if (
            not isinstance(v, list)
            or len(v) != 2
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
            or not all(math.isfinite(x) for x in v)
            or not (-90 <= v[0] <= 90 and -180 <= v[1] <= 360)
        ):
            raise self.err(key, f"{v!r} is not [latitude, longitude] in degrees")
        return float(v[0]), float(v[1])


_TOP = {"scenario", "labels", "launch", "sensors", "warning", "faults"}
_SCEN = {"name", "seed", "duration_s", "cycle_s", "epoch", "exercise", "clutter", "motion",
         "view"}  # fmt: skip
_LAUNCH = {"id", "site", "lat", "lon", "impact", "azimuth_deg", "range_km", "apogee_km", "t_s"}
_SENS = {"sites", "ship"}
_SHIP = {"id", "nation", "lat", "lon", "radar"}
_WARN = {"max_semi_major_km", "min_updates", "min_stable_cycles", "min_zone_probability",
         "update_shift_km", "update_semi_major_ratio", "update_probability_delta", "update_time_s",
         "lost_after_s", "hold_until_impact", "impact_margin_s"}  # fmt: skip
_FAULTS = {"nan_plots", "late_plots", "late_by_s"}


def parse_scenario(data: Mapping[str, Any], source: str = "<scenario>") -> Scenario:
    """Check a scenario (the dict of its TOML file) and resolve sites, labels and geometry."""
    top = _Reader(data, "", source, _TOP)
    sc = _Reader(data.get("scenario", {}), "scenario", source, _SCEN)
    exercise = sc.flag("exercise", False)
    epoch = DEFAULT_EPOCH
    if sc.has("epoch"):
        text = sc.text("epoch")
        try:
            epoch = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise sc.err(
                "epoch", f"{text!r} is not ISO 8601 (e.g. 2026-03-01T00:00:00Z)"
            ) from None
        if epoch.tzinfo is None:
            raise sc.err("epoch", "give a timezone (Z for UTC)")
        epoch = epoch.astimezone(dt.UTC)
    motion = sc.text("motion", "imm")
    if motion not in ("imm", "ekf"):
        raise sc.err("motion", f"{motion!r}: use 'imm' (boost + ballistic) or 'ekf'")
    labels = _labels(data.get("labels", {}), source, exercise)
    launches = tuple(
        _launch(item, i, source) for i, item in enumerate(_list(top, "launch", required=True))
    )
    ids = [la.launch_id for la in launches]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise top.err("launch", f"launch id {sorted(dup)[0]!r} is used twice")
    sensors = _sensors(data.get("sensors", {}), source)
    w = _Reader(data.get("warning", {}), "warning", source, _WARN)
    d = WarningConfig()
    try:
        warning = WarningConfig(
            max_semi_major_m=w.num("max_semi_major_km", d.max_semi_major_m / 1e3, lo=0.1) * 1e3,
            min_updates=w.integer("min_updates", d.min_updates, hi=10_000),
            min_stable_cycles=w.integer("min_stable_cycles", d.min_stable_cycles, hi=1_000),
            min_zone_probability=w.num("min_zone_probability", d.min_zone_probability, lo=0, hi=1),
            update_shift_m=w.num("update_shift_km", d.update_shift_m / 1e3, lo=0.01) * 1e3,
            update_semi_major_ratio=w.num(
                "update_semi_major_ratio", d.update_semi_major_ratio, lo=0.01, hi=0.99
            ),
            update_probability_delta=w.num(
                "update_probability_delta", d.update_probability_delta, lo=0.01, hi=1
            ),
            update_time_s=w.num("update_time_s", d.update_time_s, lo=0.1),
            lost_after_s=w.num("lost_after_s", d.lost_after_s, lo=1),
            hold_until_impact=w.flag("hold_until_impact", d.hold_until_impact),
            impact_margin_s=w.num("impact_margin_s", d.impact_margin_s, lo=0),
        )
    except ValueError as err:
        raise ScenarioError(str(err), path=source, field="warning") from None
    fr = _Reader(data.get("faults", {}), "faults", source, _FAULTS)
    faults = FaultSpec(
        nan_plots=fr.integer("nan_plots", 0, hi=100_000),
        late_plots=fr.integer("late_plots", 0, hi=100_000),
        late_by_s=fr.num("late_by_s", 30.0, lo=1.0, hi=3600.0),
    )
    duration = sc.num("duration_s", lo=1.0, hi=MAX_DURATION_S)
    cycle = sc.num("cycle_s", 5.0, lo=0.5, hi=120.0)
    for i, la in enumerate(launches):
        if la.t_launch_s >= duration:
            raise ScenarioError(
                f"launch at {la.t_launch_s:g} s is after the end of the scenario ({duration:g} s)",
                path=source,
                field=f"launch[{i}].t_s",
            )
    return Scenario(
        name=sc.text("name", "scenario"),
        source=source,
        seed=sc.integer("seed", 1),
        duration_s=duration,
        cycle_s=cycle,
        epoch_utc=epoch,
        exercise=exercise,
        labels=labels,
        launches=launches,
        sensors=sensors,
        warning=warning,
        clutter=sc.flag("clutter", True),
        motion=motion,
        faults=faults,
        view=sc.text("view", "administering"),
    )


def _list(r: _Reader, key: str, *, required: bool = False) -> list[Any]:
    v = r.data.get(key)
    if v is None:
        if required:
            raise r.err(key, f"no [[{key}]] entries: give at least one")
        return []
    if not isinstance(v, list):
        raise r.err(key, f"expected a list of tables ([[{key}]])")
    return v


def _labels(data: Any, source: str, exercise: bool) -> dict[str, str]:
    r = _Reader(data, "labels", source, set(NATIONS))
    out: dict[str, str] = {}
    for nation in NATIONS:
        text = r.text(nation, DEFAULT_LABEL)
        try:
            label = parse_label(text)
        except LabelError as err:
            raise r.err(nation, str(err)) from None
        if label.exercise and not exercise:
            raise r.err(nation, "label says EXERCISE but [scenario] exercise is false")
        if exercise and not label.exercise:
            label = msgspec.structs.replace(label, exercise=True)  # flag reaches every label
        if nation not in label.rel_to:
            raise r.err(nation, f"label {text!r} is not releasable to its own nation {nation}")
        out[nation] = format_label(label)
    return out


def _resolve_site(r: _Reader, facilities: Mapping[str, tuple[str, float, float]]) -> tuple[
    str, float, float
]:  # fmt: skip
    if r.has("site"):
        if r.has("lat") or r.has("lon"):
            raise r.err("site", "give either site or lat/lon, not both")
        name = r.text("site")
        key = name.lower()
        for k, (full, lat, lon) in facilities.items():
            if key in (k, full.lower()):
                return full, lat, lon
        raise r.err(
            "site",
            f"unknown launch site {name!r}; known (nk-missile-tests facilities): "
            + ", ".join(sorted(f[0] for f in facilities.values())),
        )
    lat = r.num("lat", lo=-90, hi=90)
    lon = r.num("lon", lo=-180, hi=360)
    return f"{lat:.3f},{lon:.3f}", lat, lon


def _launch(item: Any, i: int, source: str) -> LaunchSpec:
    r = _Reader(item, f"launch[{i}]", source, _LAUNCH)
    name, lat, lon = _resolve_site(r, launch_facilities())
    apogee = r.num("apogee_km", lo=1.0, hi=10_000.0)
    if r.has("impact"):
        if r.has("azimuth_deg") or r.has("range_km"):
            raise r.err("impact", "give either impact or azimuth_deg + range_km, not both")
        ilat, ilon = r.lat_lon("impact")
    else:
        az = r.num("azimuth_deg", lo=0.0, hi=360.0)
        rng_km = r.num("range_km", lo=1.0, hi=20_000.0)
        lo_, la_, _ = GEOD.fwd(lon, lat, az, rng_km * 1e3)
        ilat, ilon = float(la_), float(lo_)
    _, _, dist_m = GEOD.inv(lon, lat, ilon, ilat)
    window = feasible_apogee_km(dist_m / 1e3)
    if window is None or not window[0] <= apogee <= window[1]:
        need = (
            "is beyond ballistic reach"
            if window is None
            else f"needs an apogee between {window[0]:.0f} and {window[1]:.0f} km"
        )
        raise r.err(
            "apogee_km",
            f"impossible geometry: apogee {apogee:g} km for a {dist_m / 1e3:.0f} km range "
            f"(a ballistic flight of that range {need})",
        )
    return LaunchSpec(
        launch_id=r.text("id", f"M{i + 1}"),
        site=name,
        lat_deg=lat,
        lon_deg=lon,
        impact_lat_deg=ilat,
        impact_lon_deg=ilon,
        apogee_km=apogee,
        t_launch_s=r.num("t_s", 0.0, lo=0.0, hi=MAX_DURATION_S),
    )


def _sensors(data: Any, source: str) -> tuple[Sensor, ...]:
    r = _Reader(data, "sensors", source, _SENS)
    sites = {s.sensor_id: s for s in load_sites()}
    chosen = r.data.get("sites", "all")
    out: list[Sensor] = []
    if chosen == "all":
        out.extend(sites.values())
    elif isinstance(chosen, list) and all(isinstance(s, str) for s in chosen):
        for k, sid in enumerate(chosen):
            if sid not in sites:
                raise ScenarioError(
                    f"unknown sensor site {sid!r}; known sites (sensor_sites.csv): "
                    + ", ".join(sorted(sites)),
                    path=source,
                    field=f"sensors.sites[{k}]",
                )
            out.append(sites[sid])
    else:
        raise r.err("sites", 'expected "all" or a list of site ids from sensor_sites.csv')
    for k, item in enumerate(_list(r, "ship")):
        sr = _Reader(item, f"sensors.ship[{k}]", source, _SHIP)
        nation = sr.text("nation")
        if nation not in NATIONS:
            raise sr.err("nation", f"{nation!r} is not one of {', '.join(NATIONS)}")
        radar = sr.text("radar", "SPY1")
        if radar not in RADAR_TYPES:
            raise sr.err("radar", f"unknown radar type {radar!r}; known: {', '.join(RADAR_TYPES)}")
        out.append(
            ship(
                sr.text("id", f"{nation}-SHIP-{k + 1}"),
                nation,
                sr.num("lat", lo=-90, hi=90),
                sr.num("lon", lo=-180, hi=360),
                radar,
            )
        )
    ids = [s.sensor_id for s in out]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise r.err("ship", f"sensor id {sorted(dup)[0]!r} is used twice")
    if not out:
        raise r.err("sites", "no sensors: the scenario needs at least one")
    return tuple(out)


# ------------------------------------------------------------------------------ running


@dataclass(frozen=True, slots=True)
class Truth:
    spec: LaunchSpec
    obj: TruthObject

    def position_at(self, t_s: float) -> np.ndarray | None:
        tr = self.obj.trajectory
        t_rel = t_s - self.obj.launch_t_s
        if t_rel < tr.t_s[0] or t_rel > tr.t_s[-1]:
            return None
        pos, _ = tr.sample(t_rel)
        return np.asarray(pos[0])


def fly_truth(sc: Scenario) -> list[Truth]:
    """Solve and fly every launch (``ScenarioError`` naming the launch if it cannot fly)."""
    out = []
    for i, la in enumerate(sc.launches):
        try:
            shot = solve_launch(
                (la.lat_deg, la.lon_deg), (la.impact_lat_deg, la.impact_lon_deg), la.apogee_km
            )
        except InfeasibleTrajectoryError as err:
            raise ScenarioError(
                f"impossible geometry: {err}", path=sc.source, field=f"launch[{i}].apogee_km"
            ) from None
        out.append(Truth(la, TruthObject(la.launch_id, la.t_launch_s, shot.trajectory)))
    return out


@dataclass
class NationCycle:
    """What one nation produced in one cycle."""

    nation: str
    label: str
    tracks: list[MissileTrackPayload]
    """Its national tracks, as shared."""
    fused: list[tuple[MissileTrackPayload, str, tuple[str, ...]]]
    """Fused tracks (≥ 2 nations): payload, label, national track ids it fuses."""
    states: list[TrackState]
    """Its whole picture (fused and single-source tracks) at the cycle time."""
    assessments: list[ThreatAssessment]
    warnings: list[WarningEvent]


@dataclass
class Cycle:
    t_s: float
    nations: dict[str, NationCycle]
    central: list[TrackState]
    plots_delivered: int


@dataclass
class ScenarioRun:
    scenario: Scenario
    truths: list[Truth]
    cycles: list[Cycle] = field(default_factory=list)
    counters: dict[str, dict[str, int]] = field(default_factory=dict)
    faults_injected: dict[str, int] = field(default_factory=dict)


def _inject_faults(
    plots: list[Plot], faults: FaultSpec, rng: np.random.Generator
) -> tuple[list[Plot], np.ndarray, dict[str, int]]:
    """Plots with NaN numbers and late deliveries injected; returns plots, delivery times."""
    plots = list(plots)
    deliver = np.array([p.t_s for p in plots])
    real = [i for i, p in enumerate(plots) if not p.is_clutter]
    n_nan = min(faults.nan_plots, len(real))
    for i in rng.choice(real, size=n_nan, replace=False) if n_nan else []:
        plots[int(i)] = replace(plots[int(i)], range_m=math.nan)
    n_late = min(faults.late_plots, len(real))
    for i in rng.choice(real, size=n_late, replace=False) if n_late else []:
        deliver[int(i)] += faults.late_by_s
    return plots, deliver, {"nan_plots": n_nan, "late_plots": n_late}


def iter_cycles(
    sc: Scenario,
    zones: JapanZones | None,
    *,
    truths: list[Truth] | None = None,
    run: ScenarioRun | None = None,
) -> Iterator[Cycle]:
    """Run the scenario one cycle at a time (see the module docstring)."""
    truths = truths if truths is not None else fly_truth(sc)
    rng = np.random.default_rng([sc.seed, 1])
    plots = observe(sc.sensors, [t.obj for t in truths], 0.0, sc.duration_s, rng,
                    clutter=sc.clutter)  # fmt: skip
    plots, deliver, injected = _inject_faults(
        plots, sc.faults, np.random.default_rng([sc.seed, 2])
    )
    order = np.argsort(deliver, kind="stable")
    plots = [plots[i] for i in order]
    deliver = deliver[order]
    managers: dict[str, TrackManager] = {}
    for n in NATIONS:
        managers[n] = TrackManager(n, motion=sc.motion)
    central = TrackManager("ALL", motion=sc.motion, id_prefix="CENTRAL")
    for sensor in sc.sensors:
        cov = SensorCoverage(sensor.radar.max_range_m, math.radians(sensor.radar.el_min_deg))
        managers[sensor.nation].register_sensor(sensor.sensor_id, cov)
        central.register_sensor(sensor.sensor_id, cov)
    fusers = {n: TrackFuser(n) for n in NATIONS}
    machines = {
        n: WarningMachine(n, sc.warning, epoch_utc=sc.epoch_utc, exercise=sc.exercise)
        for n in NATIONS
    }
    labels = {n: parse_label(sc.labels[n]) for n in NATIONS}
    rngs = {n: np.random.default_rng([sc.seed, 3, k]) for k, n in enumerate(NATIONS)}
    first_state: dict[str, TrackState] = {}
    if run is not None:
        run.faults_injected = injected
    k = 0
    n_cycles = int(math.floor(sc.duration_s / sc.cycle_s + 1e-9))
    for c in range(1, n_cycles + 1):
        t = c * sc.cycle_s
        j = int(np.searchsorted(deliver, t, side="right"))
        window = plots[k:j]
        k = j
        national: dict[str, list[TrackState]] = {}
        shared: dict[str, list[MissileTrackPayload]] = {}
        boosting: set[str] = set()
        for n in NATIONS:
            managers[n].process(p for p in window if p.nation == n)
            states = managers[n].tracks()
            for s in states:
                s.label = sc.labels[n]
                first_state.setdefault(s.track_id, s)
            national[n] = states
            shared[n] = [to_payload(s, sc.epoch_utc, exercise=sc.exercise) for s in states]
            boosting.update(p.track_id for p in shared[n] if p.phase == "boost")
        central.process(window)
        out: dict[str, NationCycle] = {}
        for n in NATIONS:
            picture: dict[str, list[TrackState]] = {n: national[n]}
            for p in NATIONS:
                if p != n and labels[p].releasable_to(n):
                    picture[p] = [from_payload(x, label=sc.labels[p]) for x in shared[p]]
                    for s in picture[p]:
                        first_state.setdefault(s.track_id, s)
            fused = fusers[n].fuse(picture, t)
            assessments = []
            for s in fused:
                ids = national_ids(s.track_id)
                starts = [first_state[i] for i in ids if i in first_state]
                launch_from = min(starts, key=lambda x: x.t_s) if starts else None
                est = estimate_track(s, launch_from=launch_from)
                boost = bool(ids & boosting)  # partners say so through the payload's phase
                assessments.append(assess(s, est, zones, rngs[n], in_boost=boost))
            warnings = machines[n].step(t, assessments)
            out[n] = NationCycle(
                nation=n,
                label=sc.labels[n],
                tracks=shared[n],
                fused=[
                    (
                        to_payload(s, sc.epoch_utc, exercise=sc.exercise),
                        s.label or sc.labels[n],
                        tuple(sorted(national_ids(s.track_id))),
                    )
                    for s in fused
                    if len(s.nations) > 1
                ],
                states=fused,
                assessments=assessments,
                warnings=warnings,
            )
        cycle = Cycle(t_s=t, nations=out, central=central.tracks(), plots_delivered=len(window))
        if run is not None:
            run.cycles.append(cycle)
            run.counters = {n: dict(managers[n].counters) for n in NATIONS}
            run.counters["central"] = dict(central.counters)
        yield cycle


def run_scenario(
    sc: Scenario,
    zones: JapanZones | None,
    *,
    progress: Callable[[float, float], None] | None = None,
) -> ScenarioRun:
    """Run a whole scenario; ``progress(t_s, duration_s)`` after every cycle."""
    truths = fly_truth(sc)
    run = ScenarioRun(scenario=sc, truths=truths)
    for cycle in iter_cycles(sc, zones, truths=truths, run=run):
        if progress is not None:
            progress(cycle.t_s, sc.duration_s)
    return run
