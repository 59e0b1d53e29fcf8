"""Radar models at the public sensor sites (and notional ships): truth trajectory → plots.

Second stage of the missile flow: ``trajectory`` gives truth, this module turns it into
``Plot`` measurements of each nation's sensors, which the trackers (``track``) consume.

Per sensor: range / azimuth / elevation (and range-rate for radars with Doppler) with Gaussian
noise, a scan period, a field of regard (azimuth sector, elevation band), a maximum range, the
Earth-curvature radar horizon (4/3 effective Earth radius), a probability of detection that falls
with range (Swerling-1 target, SNR ∝ R⁻⁴, Pd = ``pd_at_max_range`` at the maximum range), and
Poisson clutter uniformly spread over the field of regard.

Performance figures are assumptions (see ``data/SOURCES.md``); site positions come from the
bundled ``data/sensor_sites.csv``; ships are notional.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from trilink.missile.errors import SiteDataError
from trilink.missile.frames import (
    MEAN_EARTH_RADIUS_M,
    ecef_to_enu,
    enu_to_aer,
    geodetic_to_ecef,
)
from trilink.missile.sim.trajectory import Trajectory
from trilink.missile.types import Plot, SensorCoverage

FloatArray = npt.NDArray[np.float64]
EFFECTIVE_EARTH_FACTOR = 4.0 / 3.0


@dataclass(frozen=True, slots=True)
class RadarType:
    """Performance assumptions of one radar type (not official figures)."""

    name: str
    max_range_m: float
    sigma_range_m: float
    sigma_angle_rad: float
    sigma_range_rate_mps: float | None
    update_s: float
    el_min_deg: float = 0.5
    el_max_deg: float = 85.0
    pd_at_max_range: float = 0.5
    pfa: float = 1e-6
    clutter_per_scan: float = 0.2


RADAR_TYPES: dict[str, RadarType] = {
    # USCC 2016: "up to approximately 2,000 km in forward-based mode"; X band, fine resolution.
    "TPY2-FBM": RadarType(
        "AN/TPY-2 forward-based mode",
        2_000e3,
        10.0,
        0.5e-3,
        0.5,
        1.0,
        el_min_deg=0.5,
        el_max_deg=70.0,
    ),
    # USCC 2016: terminal mode "limiting the radar's range to 600 km"; emits above 5 degrees.
    "TPY2-TM": RadarType(
        "AN/TPY-2 terminal mode (THAAD)",
        600e3,
        10.0,
        0.5e-3,
        0.5,
        1.0,
        el_min_deg=5.0,
        el_max_deg=70.0,
    ),
    # No official range; media estimates 1,000-1,500 km (unsourced). Three faces: 360 degrees.
    "FPS5": RadarType("J/FPS-5", 1_200e3, 30.0, 1.5e-3, 2.0, 2.0),
    # Upgraded J/FPS-3 for BM detection; no public range; assumed shorter than FPS-5.
    "FPS3": RadarType("J/FPS-3 (BMD upgrade)", 600e3, 50.0, 3.0e-3, None, 5.0),
    # Block-B "more than 500 km" (600 km old model): 550 km assumed.
    "GREENPINE-B": RadarType("EL/M-2080 Green Pine Block-B", 550e3, 30.0, 2.0e-3, 2.0, 2.0),
    # Block-C: "detection range is known to be around 800 km" (Yonhap 2022-10-19).
    "GREENPINE-C": RadarType("EL/M-2080S Green Pine Block-C", 800e3, 30.0, 2.0e-3, 2.0, 2.0),
    # ROKN/JMSDF/USN Aegis SPY-1: "tracks targets out to 1,000 km" (KBS).
    "SPY1": RadarType("AN/SPY-1 (Aegis)", 1_000e3, 20.0, 1.0e-3, 1.0, 1.0),
}

_OPERATOR_PREFIX_NATION: tuple[tuple[str, str], ...] = (
    ("US", "USA"),
    ("JASDF", "JPN"),
    ("JMSDF", "JPN"),
    ("ROK", "KOR"),
)


def _nation_of(operator: str) -> str | None:
    """Nation owning a sensor, from its operator (a U.S. radar in Japan is a U.S. sensor)."""
    for prefix, nation in _OPERATOR_PREFIX_NATION:
        if operator.startswith(prefix):
            return nation
    return None


@dataclass(frozen=True, slots=True)
class Sensor:
    """One radar at a fixed position, owned by a nation."""

    sensor_id: str
    nation: str
    radar: RadarType
    lat_deg: float
    lon_deg: float
    alt_m: float
    az_min_deg: float = 0.0
    """Field of regard: clockwise sector from ``az_min_deg`` to ``az_max_deg`` (may wrap)."""
    az_max_deg: float = 360.0
    notional: bool = False
    approximate_site: bool = False
    name: str = ""

    @property
    def ecef_m(self) -> FloatArray:
        return geodetic_to_ecef(self.lat_deg, self.lon_deg, self.alt_m)

    @property
    def coverage(self) -> SensorCoverage:
        """What a tracker needs to know of where this radar can see."""
        return SensorCoverage(self.radar.max_range_m, math.radians(self.radar.el_min_deg))

    def in_sector(self, az_rad: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Whether azimuths (rad) fall inside the field-of-regard sector."""
        az = np.degrees(np.asarray(az_rad, dtype=np.float64)) % 360.0
        width = (self.az_max_deg - self.az_min_deg) % 360.0
        if width == 0.0 and self.az_max_deg != self.az_min_deg:
            return np.ones(az.shape, dtype=bool)
        return np.asarray(((az - self.az_min_deg) % 360.0) <= width)


def _radar_type_of(sensor_type: str) -> str:
    t = sensor_type.upper()
    if "TPY-2" in t:
        return "TPY2-TM" if "TERMINAL" in t else "TPY2-FBM"
    if "FPS-5" in t:
        return "FPS5"
    if "FPS-3" in t:
        return "FPS3"
    if "GREEN PINE BLOCK-C" in t or "2080S" in t:
        return "GREENPINE-C"
    if "GREEN PINE" in t:
        return "GREENPINE-B"
    raise KeyError(sensor_type)


# Fields of regard: keeptrack.space's models for the forward-based TPY-2s; the others face
# North Korea (notional sectors) or, for the three-faced FPS-5 and FPS-3, cover 360 degrees.
_SECTORS_DEG: dict[str, tuple[float, float]] = {
    "JP-TPY2-SHARIKI": (230.0, 350.0),
    "JP-TPY2-KYOGAMISAKI": (210.0, 330.0),
    "KR-THAAD-SEONGJU": (300.0, 60.0),
    "KR-GREENPINE-NCHUNGCHEONG": (300.0, 60.0),
    "KR-GREENPINE-SCHUNGCHEONG": (300.0, 60.0),
    "KR-GREENPINE-BUSAN": (300.0, 60.0),
}


def load_sites(path: Path | None = None) -> list[Sensor]:
    """Sensors at the sites of ``sensor_sites.csv`` (the bundled copy unless ``path``)."""
    if path is None:
        text = (
            resources.files("trilink.missile").joinpath("data/sensor_sites.csv").read_text("utf-8")
        )
        where = "trilink/missile/data/sensor_sites.csv"
    else:
        text = path.read_text("utf-8")
        where = str(path)
    sensors: list[Sensor] = []
    for line_no, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            kind = _radar_type_of(row["sensor_type"])
            lat, lon = float(row["lat"]), float(row["lon"])
            alt = float(row["altitude_m"]) if row["altitude_m"] else 0.0
        except KeyError as err:
            raise SiteDataError(
                f"unknown sensor type or missing column {err}", path=where, line=line_no
            ) from None
        except ValueError as err:
            raise SiteDataError(f"bad number ({err})", path=where, line=line_no) from None
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            raise SiteDataError(
                f"lat/lon {lat},{lon} out of range", path=where, line=line_no, field="lat"
            )
        nation = _nation_of(row["operator"])
        if nation is None:
            raise SiteDataError(
                f"operator {row['operator']!r} belongs to no known nation",
                path=where,
                line=line_no,
                field="operator",
            )
        sector = _SECTORS_DEG.get(row["site_id"], (0.0, 360.0))
        precision = row["location_precision"].lower()
        sensors.append(
            Sensor(
                sensor_id=row["site_id"],
                nation=nation,
                radar=RADAR_TYPES[kind],
                lat_deg=lat,
                lon_deg=lon,
                alt_m=alt,
                az_min_deg=sector[0],
                az_max_deg=sector[1],
                approximate_site="province" in precision or "city" in precision,
                name=row["name"],
            )
        )
    return sensors


def ship(
    sensor_id: str, nation: str, lat_deg: float, lon_deg: float, radar: str = "SPY1"
) -> Sensor:
    """An Aegis ship at a configurable (notional) station; antenna 20 m above the sea."""
    return Sensor(
        sensor_id,
        nation,
        RADAR_TYPES[radar],
        lat_deg,
        lon_deg,
        20.0,
        notional=True,
        name=f"notional {RADAR_TYPES[radar].name} ship station",
    )


NOTIONAL_SHIPS: tuple[Sensor, ...] = (
    ship("JP-AEGIS-SOJ-N", "JPN", 39.5, 135.5),
    ship("JP-AEGIS-SOJ-S", "JPN", 37.0, 133.0),
    ship("KR-AEGIS-EAST-SEA", "KOR", 37.6, 130.2),
    ship("US-AEGIS-SOJ", "USA", 38.5, 132.5),
)
"""Notional patrol stations in the Sea of Japan / East Sea: no public positions exist."""


def default_sensors() -> list[Sensor]:
    """All fixed sites plus the notional ships."""
    return load_sites() + list(NOTIONAL_SHIPS)


def visibility(
    sensor: Sensor, pos_ecef_m: FloatArray
) -> tuple[npt.NDArray[np.bool_], FloatArray, FloatArray, FloatArray]:
    """(visible, azimuth_rad, elevation_rad, range_m) of ECEF points (n, 3) from a sensor.

    Visible = within maximum range, azimuth sector and elevation band, and above the radar
    horizon of a 4/3 effective Earth: ground distance ≤ √(2kRh_s) + √(2kRh_t).
    """
    enu = ecef_to_enu(pos_ecef_m, sensor.lat_deg, sensor.lon_deg, sensor.alt_m)
    az, el, rng = enu_to_aer(enu)
    r = sensor.radar
    kr = 2.0 * EFFECTIVE_EARTH_FACTOR * MEAN_EARTH_RADIUS_M
    s = sensor.ecef_m
    h_t = np.linalg.norm(pos_ecef_m, axis=-1) - np.linalg.norm(s)  # heights over the sensor's
    h_s = max(sensor.alt_m, 0.0)  # geocentric sphere; adequate for the horizon test
    ground = MEAN_EARTH_RADIUS_M * np.arccos(
        np.clip(
            np.sum(pos_ecef_m * s, axis=-1)
            / (np.linalg.norm(pos_ecef_m, axis=-1) * np.linalg.norm(s)),
            -1.0,
            1.0,
        )
    )
    horizon = math.sqrt(kr * h_s) + np.sqrt(kr * np.clip(h_t + h_s, 0.0, None))
    ok = (
        (rng <= r.max_range_m)
        & sensor.in_sector(az)
        & (el >= math.radians(r.el_min_deg))
        & (el <= math.radians(r.el_max_deg))
        & (ground <= horizon)
    )
    return ok, az, el, rng


def detection_probability(radar: RadarType, range_m: npt.ArrayLike) -> FloatArray:
    """Swerling-1 Pd = Pfa^(1/(1+SNR)) with SNR ∝ R⁻⁴, anchored at Pd(max range)."""
    snr_max = math.log(radar.pfa) / math.log(radar.pd_at_max_range) - 1.0
    rr = np.maximum(np.asarray(range_m, dtype=np.float64), 1.0)
    snr = snr_max * (radar.max_range_m / rr) ** 4
    return np.asarray(radar.pfa ** (1.0 / (1.0 + snr)))


@dataclass(frozen=True, slots=True)
class TruthObject:
    """One flying object of a scenario: a trajectory launched at ``launch_t_s``."""

    truth_id: str
    launch_t_s: float
    trajectory: Trajectory


def observe(
    sensors: Sequence[Sensor],
    truths: Iterable[TruthObject],
    t_start_s: float,
    t_end_s: float,
    rng: np.random.Generator,
    *,
    clutter: bool = True,
) -> list[Plot]:
    """All plots of the sensors over [t_start, t_end], sorted by time then sensor.

    Each sensor scans at its update period with a random phase; on each scan every visible
    object is detected with its Pd and clutter plots are added. Noise is drawn from the
    sensor's sigmas, which each plot carries.
    """
    objects = list(truths)
    plots: list[Plot] = []
    for sensor in sensors:
        radar = sensor.radar
        phase = rng.uniform(0.0, radar.update_s)
        scans = np.arange(t_start_s + phase, t_end_s + 1e-9, radar.update_s)
        s_ecef = sensor.ecef_m
        s_tuple = (float(s_ecef[0]), float(s_ecef[1]), float(s_ecef[2]))
        for obj in objects:
            traj = obj.trajectory
            t_rel = scans - obj.launch_t_s
            inside = (t_rel >= traj.t_s[0]) & (t_rel <= traj.t_s[-1])
            if not np.any(inside):
                continue
            t_obs = scans[inside]
            pos, vel = traj.sample(t_rel[inside])
            ok, az, el, rng_m = visibility(sensor, pos)
            pd = detection_probability(radar, rng_m)
            detected = ok & (rng.random(t_obs.size) < pd)
            los = pos - s_ecef
            rdot = np.sum(los * vel, axis=1) / np.maximum(rng_m, 1.0)
            n = int(np.count_nonzero(detected))
            noise = rng.standard_normal((n, 4))
            for j, i in enumerate(np.flatnonzero(detected)):
                plots.append(
                    Plot(
                        sensor_id=sensor.sensor_id,
                        nation=sensor.nation,
                        t_s=float(t_obs[i]),
                        range_m=float(rng_m[i] + radar.sigma_range_m * noise[j, 0]),
                        azimuth_rad=float(
                            (az[i] + radar.sigma_angle_rad * noise[j, 1]) % (2.0 * math.pi)
                        ),
                        elevation_rad=float(el[i] + radar.sigma_angle_rad * noise[j, 2]),
                        range_rate_mps=(
                            None
                            if radar.sigma_range_rate_mps is None
                            else float(rdot[i] + radar.sigma_range_rate_mps * noise[j, 3])
                        ),
                        sigma_range_m=radar.sigma_range_m,
                        sigma_azimuth_rad=radar.sigma_angle_rad,
                        sigma_elevation_rad=radar.sigma_angle_rad,
                        sigma_range_rate_mps=radar.sigma_range_rate_mps,
                        sensor_ecef_m=s_tuple,
                        truth_id=obj.truth_id,
                    )
                )
        if clutter and radar.clutter_per_scan > 0.0:
            plots.extend(_clutter(sensor, scans, s_tuple, rng))
    plots.sort(key=lambda p: (p.t_s, p.sensor_id))
    return plots


def _clutter(
    sensor: Sensor,
    scans: FloatArray,
    s_tuple: tuple[float, float, float],
    rng: np.random.Generator,
) -> list[Plot]:
    radar = sensor.radar
    counts = rng.poisson(radar.clutter_per_scan, size=scans.size)
    n = int(counts.sum())
    if n == 0:
        return []
    t = np.repeat(scans, counts)
    width = (sensor.az_max_deg - sensor.az_min_deg) % 360.0 or 360.0
    az = np.radians((sensor.az_min_deg + rng.uniform(0.0, width, n)) % 360.0)
    el = np.radians(rng.uniform(radar.el_min_deg, radar.el_max_deg, n))
    r = rng.uniform(0.05 * radar.max_range_m, radar.max_range_m, n)
    rdot = rng.uniform(-4_000.0, 4_000.0, n)
    return [
        Plot(
            sensor_id=sensor.sensor_id,
            nation=sensor.nation,
            t_s=float(t[i]),
            range_m=float(r[i]),
            azimuth_rad=float(az[i]),
            elevation_rad=float(el[i]),
            range_rate_mps=None if radar.sigma_range_rate_mps is None else float(rdot[i]),
            sigma_range_m=radar.sigma_range_m,
            sigma_azimuth_rad=radar.sigma_angle_rad,
            sigma_elevation_rad=radar.sigma_angle_rad,
            sigma_range_rate_mps=radar.sigma_range_rate_mps,
            sensor_ecef_m=s_tuple,
            is_clutter=True,
        )
        for i in range(n)
    ]


def with_radar(sensor: Sensor, **changes: float) -> Sensor:
    """A copy of a sensor with some radar figures changed (e.g. ``max_range_m=1.5e6``)."""
    return replace(sensor, radar=replace(sensor.radar, **changes))  # type: ignore[arg-type]
