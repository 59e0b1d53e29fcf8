"""Model-matched synthetic truth and plots for validating the trackers.

Place in the flow: tests and ``bench/bench_missile_tracker.py`` use this to generate truth that
obeys exactly the dynamics the filters assume (optionally with the filters' own discrete process
noise), and radar plots with known noise. That isolates filter consistency (NEES/NIS, PCRLB)
from model mismatch. The full-physics simulator of the engine (``trilink.missile.sim.trajectory``
and ``sensors``) is the realistic source; this module is deliberately small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trilink.missile.frames import enu_rotation_rad, geodetic_to_ecef_nb
from trilink.missile.track.dynamics import approx_altitude_m, process_noise, propagate
from trilink.missile.track.measure import measure
from trilink.missile.types import FloatArray, Plot

# Public site coordinates (lat, lon, altitude m) from shared/data/missile/sensor_sites.csv
# (approximate, see its SOURCES.md) and the Sunan launch facility of nk-missile-tests.
SITES: dict[str, tuple[float, float, float]] = {
    "JP-FPS5-SADO": (38.12, 138.34, 1042.0),
    "JP-TPY2-KYOGAMISAKI": (35.766667, 135.195278, 100.0),
    "KR-GREENPINE-BUSAN": (35.18, 129.08, 50.0),
    "KR-GREENPINE-NCHUNGCHEONG": (36.8, 127.7, 100.0),
    "KR-THAAD-SEONGJU": (36.08, 128.28, 680.0),
}
LAUNCH_SUNAN: tuple[float, float] = (39.200159, 125.673256)


@dataclass(frozen=True, slots=True)
class SyntheticSensor:
    """A radar at a geodetic site with Gaussian noise and a simple coverage model."""

    sensor_id: str
    nation: str
    lat_deg: float
    lon_deg: float
    h_m: float
    sigma_range_m: float = 20.0
    sigma_azimuth_rad: float = 1e-3
    sigma_elevation_rad: float = 1e-3
    sigma_range_rate_mps: float | None = None
    max_range_m: float = 2.0e6
    min_elevation_rad: float = 0.0
    p_detect: float = 1.0
    clutter_per_scan: float = 0.0

    @classmethod
    def at_site(cls, site_id: str, nation: str, **kw: float | None) -> SyntheticSensor:
        lat, lon, h = SITES[site_id]
        return cls(site_id, nation, lat, lon, h, **kw)  # type: ignore[arg-type]

    @property
    def ecef_m(self) -> FloatArray:
        return geodetic_to_ecef_nb(
            math.radians(self.lat_deg), math.radians(self.lon_deg), self.h_m
        )

    @property
    def rot_enu(self) -> FloatArray:
        return enu_rotation_rad(math.radians(self.lat_deg), math.radians(self.lon_deg))

    def sees(self, x: FloatArray) -> bool:
        z, _ = measure(x, self.ecef_m, self.rot_enu, False)
        return bool(z[0] <= self.max_range_m and z[2] >= self.min_elevation_rad)


def state_from_geodetic(
    lat_deg: float,
    lon_deg: float,
    alt_m: float,
    speed_mps: float,
    flight_path_deg: float,
    heading_deg: float,
    beta_inv_m2_t: float | None = 0.2,
) -> FloatArray:
    """ECEF state from a position and an Earth-relative velocity (speed, climb, heading)."""
    r = geodetic_to_ecef_nb(math.radians(lat_deg), math.radians(lon_deg), alt_m)
    g, h = math.radians(flight_path_deg), math.radians(heading_deg)
    v_enu = speed_mps * np.array(
        [math.cos(g) * math.sin(h), math.cos(g) * math.cos(h), math.sin(g)]
    )
    v = enu_rotation_rad(math.radians(lat_deg), math.radians(lon_deg)).T @ v_enu
    if beta_inv_m2_t is None:
        return np.concatenate([r, v])
    return np.concatenate([r, v, [beta_inv_m2_t]])


def ballistic_truth(
    x0: FloatArray,
    times_s: FloatArray,
    *,
    rng: np.random.Generator | None = None,
    q_acc_m2_s3: float = 0.0,
    q_beta: float = 0.0,
    stop_at_ground: bool = True,
) -> tuple[FloatArray, FloatArray]:
    """States at ``times_s`` (first = x0); with ``rng``, add the discrete process noise of the
    filters' model between samples. Returns (times, states) cut at ground impact."""
    xs = [x0.copy()]
    n = x0.shape[0]
    for k in range(1, times_s.shape[0]):
        dt = float(times_s[k] - times_s[k - 1])
        x = propagate(xs[-1], dt, False)
        if rng is not None and (q_acc_m2_s3 > 0.0 or q_beta > 0.0):
            Q = process_noise(n, dt, q_acc_m2_s3, q_beta, 0.0, False)
            x = x + rng.multivariate_normal(np.zeros(n), Q)
        if stop_at_ground and approx_altitude_m(x[0], x[1], x[2]) < 0.0:
            break
        xs.append(x)
    return times_s[: len(xs)].copy(), np.array(xs)


def boost_truth(
    lat_deg: float,
    lon_deg: float,
    heading_deg: float,
    *,
    thrust_acc_mps2: float = 30.0,
    burn_s: float = 60.0,
    pitch_over_s: float = 10.0,
    pitch_deg: float = 40.0,
    beta_inv_m2_t: float = 0.2,
    dt_s: float = 0.05,
    t_end_s: float = 400.0,
) -> tuple[FloatArray, FloatArray, float]:
    """Gravity-turn boost then ballistic flight; returns (times, 7-states, burnout time).

    Vertical rise until ``pitch_over_s``, then the velocity is tipped to ``pitch_deg`` from
    vertical toward ``heading_deg`` and thrust follows the velocity until ``burn_s``.
    """
    x = state_from_geodetic(lat_deg, lon_deg, 0.0, 1.0, 89.9, heading_deg, beta_inv_m2_t)
    t = 0.0
    ts = [0.0]
    xs = [x.copy()]
    kicked = False
    while t < t_end_s - 1e-9:
        if not kicked and t >= pitch_over_s:
            lat, lon = math.radians(lat_deg), math.radians(lon_deg)
            speed = float(np.linalg.norm(x[3:6]))
            rot = enu_rotation_rad(lat, lon)
            g, h = math.radians(90.0 - pitch_deg), math.radians(heading_deg)
            v_enu = speed * np.array(
                [math.cos(g) * math.sin(h), math.cos(g) * math.cos(h), math.sin(g)]
            )
            x[3:6] = rot.T @ v_enu
            kicked = True
        if t < burn_s:
            s10 = np.zeros(10)
            s10[:7] = x
            v = x[3:6]
            s10[7:10] = thrust_acc_mps2 * v / max(float(np.linalg.norm(v)), 1e-9)
            x = propagate(s10, dt_s, True)[:7]
        else:
            x = propagate(x, dt_s, False)
        t += dt_s
        if approx_altitude_m(x[0], x[1], x[2]) < 0.0:
            break
        ts.append(t)
        xs.append(x.copy())
    return np.array(ts), np.array(xs), burn_s


def make_plots(
    sensor: SyntheticSensor,
    times_s: FloatArray,
    states: FloatArray,
    rng: np.random.Generator,
    *,
    truth_id: str = "T1",
    every: int = 1,
) -> list[Plot]:
    """Noisy plots of one target by one sensor at every ``every``-th truth sample it sees."""
    site, rot = sensor.ecef_m, sensor.rot_enu
    out: list[Plot] = []
    use_rr = sensor.sigma_range_rate_mps is not None
    for k in range(0, times_s.shape[0], every):
        z, _ = measure(states[k], site, rot, use_rr)
        if z[0] > sensor.max_range_m or z[2] < sensor.min_elevation_rad:
            continue
        if sensor.p_detect < 1.0 and rng.random() > sensor.p_detect:
            continue
        out.append(_plot(sensor, float(times_s[k]), z, rng, truth_id))
    return out


def clutter_plots(
    sensor: SyntheticSensor, times_s: FloatArray, rng: np.random.Generator
) -> list[Plot]:
    """Poisson clutter uniform in range (to max range) and az, elevation 0..60 deg."""
    out: list[Plot] = []
    for t in times_s:
        for _ in range(rng.poisson(sensor.clutter_per_scan)):
            z = np.array(
                [
                    rng.uniform(50e3, sensor.max_range_m),
                    rng.uniform(0.0, 2.0 * math.pi),
                    rng.uniform(0.0, math.radians(60.0)),
                    rng.uniform(-5000.0, 5000.0),
                ]
            )
            out.append(_plot(sensor, float(t), z, rng, None, clutter=True, noisy=False))
    return out


def _plot(
    sensor: SyntheticSensor,
    t_s: float,
    z: FloatArray,
    rng: np.random.Generator,
    truth_id: str | None,
    *,
    clutter: bool = False,
    noisy: bool = True,
) -> Plot:
    use_rr = sensor.sigma_range_rate_mps is not None
    sig = [sensor.sigma_range_m, sensor.sigma_azimuth_rad, sensor.sigma_elevation_rad]
    noise = rng.normal(0.0, 1.0, 4) if noisy else np.zeros(4)
    e = sensor.ecef_m
    rr: float | None = None
    if use_rr:
        assert sensor.sigma_range_rate_mps is not None
        rr = float(z[3] + noise[3] * sensor.sigma_range_rate_mps)
    return Plot(
        sensor_id=sensor.sensor_id,
        nation=sensor.nation,
        t_s=t_s,
        range_m=float(z[0] + noise[0] * sig[0]),
        azimuth_rad=float((z[1] + noise[1] * sig[1]) % (2.0 * math.pi)),
        elevation_rad=float(z[2] + noise[2] * sig[2]),
        range_rate_mps=rr,
        sigma_range_m=sig[0],
        sigma_azimuth_rad=sig[1],
        sigma_elevation_rad=sig[2],
        sigma_range_rate_mps=sensor.sigma_range_rate_mps,
        sensor_ecef_m=(float(e[0]), float(e[1]), float(e[2])),
        truth_id=truth_id,
        is_clutter=clutter,
    )
