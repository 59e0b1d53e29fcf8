"""Sensor models at the real sites: noise statistics, visibility, Pd, clutter."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from pyproj import Geod

from trilink.missile.errors import SiteDataError
from trilink.missile.frames import ecef_to_enu, enu_to_aer, geodetic_to_ecef
from trilink.missile.sim.sensors import (
    RADAR_TYPES,
    TruthObject,
    default_sensors,
    detection_probability,
    load_sites,
    observe,
    ship,
    visibility,
)
from trilink.missile.sim.shaping import solve_launch

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def hs15():  # type: ignore[no-untyped-def]
    lon, lat, _ = GEOD.fwd(125.93, 39.12, 76.0, 950e3)
    return solve_launch((39.12, 125.93), (lat, lon), 4_475.0).trajectory


def test_sites_from_the_bundled_csv() -> None:
    sites = load_sites()
    assert len(sites) == 11
    by_id = {s.sensor_id: s for s in sites}
    assert by_id["JP-TPY2-SHARIKI"].nation == "USA"  # U.S. Army radar on Japanese soil
    assert by_id["KR-THAAD-SEONGJU"].nation == "USA"
    assert by_id["JP-FPS5-SADO"].nation == "JPN"
    assert by_id["KR-GREENPINE-BUSAN"].nation == "KOR"
    assert by_id["KR-GREENPINE-BUSAN"].approximate_site
    assert by_id["KR-THAAD-SEONGJU"].radar.max_range_m == 600e3
    assert {s.nation for s in default_sensors()} == {"USA", "JPN", "KOR"}
    assert all(s.notional for s in default_sensors() if "AEGIS" in s.sensor_id)


def test_bad_site_file_names_the_line(tmp_path: Path) -> None:
    text = (
        load_sites.__globals__["resources"]
        .files("trilink.missile")
        .joinpath("data/sensor_sites.csv")
        .read_text("utf-8")
        .splitlines()
    )
    bad = tmp_path / "sites.csv"
    bad.write_text("\n".join([text[0], text[1].replace("40.98333", "north")]) + "\n")
    with pytest.raises(SiteDataError, match=r"sites.csv:2"):
        load_sites(bad)


def test_plots_are_unbiased_with_the_stated_noise(hs15) -> None:  # type: ignore[no-untyped-def]
    sensor = ship("TEST-SHIP", "JPN", 39.5, 133.0)
    rng = np.random.default_rng(11)
    plots = observe(
        [sensor], [TruthObject("m1", 0.0, hs15)], 0.0, hs15.t_s[-1], rng, clutter=False
    )
    assert len(plots) > 200
    t = np.array([p.t_s for p in plots])
    pos, vel = hs15.sample(t)
    az, el, rng_m = enu_to_aer(ecef_to_enu(pos, sensor.lat_deg, sensor.lon_deg, sensor.alt_m))
    z_r = (np.array([p.range_m for p in plots]) - rng_m) / sensor.radar.sigma_range_m
    d_az = (np.array([p.azimuth_rad for p in plots]) - az + math.pi) % (2 * math.pi) - math.pi
    z_az = d_az / sensor.radar.sigma_angle_rad
    z_el = (np.array([p.elevation_rad for p in plots]) - el) / sensor.radar.sigma_angle_rad
    for z in (z_r, z_az, z_el):
        assert abs(z.mean()) < 4.0 / math.sqrt(z.size)
        assert abs(z.std() - 1.0) < 0.1
    assert np.all(rng_m <= sensor.radar.max_range_m)
    assert all(p.truth_id == "m1" and not p.is_clutter for p in plots)
    assert all(p.range_rate_mps is not None for p in plots)
    assert t.tolist() == sorted(t.tolist())


def test_horizon_and_range_limit_visibility() -> None:
    sensor = ship("S", "KOR", 37.6, 130.2)
    # 800 km away: invisible at 10 km altitude (below the horizon), visible at 400 km.
    lon, lat, _ = GEOD.fwd(130.2, 37.6, 270.0, 800e3)
    low = geodetic_to_ecef(lat, lon, 10e3)[None, :]
    high = geodetic_to_ecef(lat, lon, 400e3)[None, :]
    assert not visibility(sensor, low)[0][0]
    assert visibility(sensor, high)[0][0]
    lon2, lat2, _ = GEOD.fwd(130.2, 37.6, 270.0, 1_500e3)
    assert not visibility(sensor, geodetic_to_ecef(lat2, lon2, 1_000e3)[None, :])[0][0]


def test_sector_limits_field_of_regard() -> None:
    shariki = next(s for s in load_sites() if s.sensor_id == "JP-TPY2-SHARIKI")
    assert shariki.in_sector(np.radians([240.0, 300.0]))[0:2].all()
    assert not shariki.in_sector(np.radians([90.0]))[0]
    thaad = next(s for s in load_sites() if s.sensor_id == "KR-THAAD-SEONGJU")
    assert thaad.in_sector(np.radians([330.0, 10.0])).all()  # wraps through north
    assert not thaad.in_sector(np.radians([180.0]))[0]


def test_detection_probability_falls_with_range() -> None:
    radar = RADAR_TYPES["FPS5"]
    pd = detection_probability(radar, np.array([100e3, 600e3, radar.max_range_m]))
    assert pd[0] > pd[1] > pd[2]
    assert math.isclose(float(pd[2]), radar.pd_at_max_range, rel_tol=1e-9)


def test_clutter_is_flagged_and_inside_the_field_of_regard() -> None:
    sensors = [s for s in load_sites() if s.sensor_id == "KR-THAAD-SEONGJU"]
    plots = observe(sensors, [], 0.0, 2_000.0, np.random.default_rng(3))
    assert plots and all(p.is_clutter and p.truth_id is None for p in plots)
    n_scans = 2_000.0 / sensors[0].radar.update_s
    assert abs(len(plots) / n_scans - sensors[0].radar.clutter_per_scan) < 0.05
    assert sensors[0].in_sector(np.array([p.azimuth_rad for p in plots])).all()
    assert min(p.elevation_rad for p in plots) >= math.radians(sensors[0].radar.el_min_deg)


def test_plots_follow_the_trackers_measurement_convention(hs15) -> None:  # type: ignore[no-untyped-def]
    # Noise-free plots must equal the trackers' measurement model on the truth state, so that
    # sensors and trackers agree on azimuth/elevation/range-rate conventions.
    from trilink.missile.sim.sensors import with_radar
    from trilink.missile.track.measure import Site, measure

    sensor = with_radar(
        ship("X", "USA", 38.5, 132.5),
        sigma_range_m=0.0,
        sigma_angle_rad=0.0,
        sigma_range_rate_mps=0.0,
    )
    plots = observe(
        [sensor],
        [TruthObject("m", 0.0, hs15)],
        0.0,
        hs15.t_s[-1],
        np.random.default_rng(5),
        clutter=False,
    )
    assert len(plots) > 100
    site = Site.from_ecef(plots[0].sensor_ecef_m)
    pos, vel = hs15.sample(np.array([p.t_s for p in plots]))
    for p, r, v in zip(plots[::25], pos[::25], vel[::25], strict=True):
        z, _ = measure(np.concatenate([r, v]), site.ecef_m, site.rot_enu, True)
        assert abs(z[0] - p.range_m) < 1e-3
        assert abs((z[1] - p.azimuth_rad + math.pi) % (2 * math.pi) - math.pi) < 1e-9
        assert abs(z[2] - p.elevation_rad) < 1e-9
        assert p.range_rate_mps is not None and abs(z[3] - p.range_rate_mps) < 1e-6
