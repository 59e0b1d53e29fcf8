"""Missile-warning scenarios: the exercise file, its truth and what every radar delivers.

Place in the flow: ``io.scenario_file`` reads a TOML file into a dict; ``parse_scenario``
checks it into a ``Scenario`` (errors name the file and the field); ``fly_truth`` flies every
launch with the full simulator (``shaping.solve_launch``); ``deliver_plots`` has each nation's
radars observe the flights (``sensors.observe``: noise, Pd, clutter), injects the file's
measurement faults and orders the plots as they are delivered. What then runs on the plots is
one ``NationPipeline`` per nation (``trilink.missile.run`` offline, or each nation's node);
``io.feeds`` writes them as per-nation plot feeds.

Bad input is never silent: unknown sites, impossible geometry and bad numbers raise
``ScenarioError`` (file, field); measurements with NaN numbers or delivered out of time order
(``[faults]`` injects both) are rejected by the trackers and counted per nation.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

import msgspec
import numpy as np
from pyproj import Geod

from trilink.errors import InputError, LabelError
from trilink.missile.errors import InfeasibleTrajectoryError
from trilink.missile.feed import FeedSensor, PlotFeedHeader
from trilink.missile.kepler import feasible_apogee_km
from trilink.missile.sim.sensors import RADAR_TYPES, Sensor, TruthObject, load_sites, observe, ship
from trilink.missile.sim.shaping import solve_launch
from trilink.missile.track import FILTER_NAMES
from trilink.missile.types import NATIONS, FloatArray, Plot
from trilink.missile.warn.machine import WarningConfig
from trilink.model import format_label, parse_label

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
    filter: str = "imm"
    """The trackers' filter: ``imm`` (boost + ballistic), ``ekf`` or ``ukf`` (ballistic)."""
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
_SCEN = {"name", "seed", "duration_s", "cycle_s", "epoch", "exercise", "clutter", "filter",
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
    filter_name = sc.text("filter", "imm")
    if filter_name not in FILTER_NAMES:
        raise sc.err(
            "filter",
            f"{filter_name!r}: use 'imm' (boost + ballistic), 'ekf' or 'ukf' (ballistic)",
        )
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
        filter=filter_name,
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


@dataclass(frozen=True, slots=True)
class PlotDeliveries:
    """Every plot of a scenario in the order the radars deliver them, faults included."""

    plots: list[Plot]
    delivered_t_s: FloatArray
    """When each plot reaches its tracker (non-decreasing; late plots arrive after their time)."""
    faults_injected: dict[str, int]


def _inject_faults(
    plots: list[Plot], faults: FaultSpec, rng: np.random.Generator
) -> tuple[list[Plot], FloatArray, dict[str, int]]:
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


def deliver_plots(sc: Scenario, truths: list[Truth]) -> PlotDeliveries:
    """Every nation's radars observing the flights, with the file's faults, in delivery order."""
    rng = np.random.default_rng([sc.seed, 1])
    plots = observe(sc.sensors, [t.obj for t in truths], 0.0, sc.duration_s, rng,
                    clutter=sc.clutter)  # fmt: skip
    plots, deliver, injected = _inject_faults(
        plots, sc.faults, np.random.default_rng([sc.seed, 2])
    )
    order = np.argsort(deliver, kind="stable")
    return PlotDeliveries([plots[i] for i in order], deliver[order], injected)


def feed_header(sc: Scenario, nation: str) -> PlotFeedHeader:
    """The header of ``nation``'s plot feed: what its pipeline is built from."""
    return PlotFeedHeader(
        nation=nation,
        scenario=sc.name,
        source=sc.source,
        epoch_utc=sc.epoch_utc,
        cycle_s=sc.cycle_s,
        duration_s=sc.duration_s,
        exercise=sc.exercise,
        label=sc.labels[nation],
        seed=sc.seed,
        filter=sc.filter,  # type: ignore[arg-type]
        zones_view=sc.view,
        warning=sc.warning,
        sensors=[
            FeedSensor(
                sensor_id=s.sensor_id,
                radar=s.radar.name,
                lat_deg=s.lat_deg,
                lon_deg=s.lon_deg,
                alt_m=s.alt_m,
                max_range_m=s.radar.max_range_m,
                min_elevation_deg=s.radar.el_min_deg,
                update_s=s.radar.update_s,
                range_rate=s.radar.sigma_range_rate_mps is not None,
                notional=s.notional,
            )  # fmt: skip
            for s in sc.nation_sensors(nation)
        ],
    )
