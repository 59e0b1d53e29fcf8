"""Impact point with 95 % ellipse, time to impact, apogee and launch point from tracks."""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest

from trilink.missile.frames import ecef_to_geodetic_nb, enu_rotation_rad, geodetic_to_ecef_nb
from trilink.missile.track.ekf import EkfFilter
from trilink.missile.track.estimate import estimate_track, fly_to_altitude, ground_point
from trilink.missile.track.filter import FilterParams
from trilink.missile.track.measure import plot_vector
from trilink.missile.track.synthetic import (
    LAUNCH_SUNAN,
    SyntheticSensor,
    ballistic_truth,
    make_plots,
    state_from_geodetic,
)
from trilink.missile.types import GroundEstimate, TrackState, TrackStatus

Q_ACC = 1.0
Q_BETA = 1e-4
SENSOR = SyntheticSensor.at_site(
    "JP-FPS5-SADO", "JPN", sigma_range_m=30.0, sigma_azimuth_rad=2e-3,
    sigma_elevation_rad=2e-3, sigma_range_rate_mps=1.0, max_range_m=3.0e6,
)  # fmt: skip
X0 = state_from_geodetic(39.5, 127.5, 150e3, 3000.0, 30.0, 100.0, 0.2)
P0 = np.diag([1e3**2] * 3 + [100.0**2] * 3 + [0.05**2])


def _mahalanobis_on_ground(g: GroundEstimate, lat_rad: float, lon_rad: float) -> float:
    la, lo = math.radians(g.lat_deg), math.radians(g.lon_deg)
    rot = enu_rotation_rad(la, lo)
    en = rot[:2] @ (geodetic_to_ecef_nb(lat_rad, lon_rad, 0.0) - geodetic_to_ecef_nb(la, lo, 0.0))
    C = np.array([[g.cov_en_m2[0], g.cov_en_m2[1]], [g.cov_en_m2[1], g.cov_en_m2[2]]])
    return float(en @ np.linalg.solve(C, en))


@cache
def impact_runs(runs: int, scans: int) -> list[tuple[GroundEstimate, float, float, float, float]]:
    """(estimate, true lat, true lon, true impact time, estimate time) per Monte-Carlo run."""
    filt = EkfFilter(FilterParams(Q_ACC, Q_BETA))
    out = []
    for m in range(runs):
        rng = np.random.default_rng(500 + m)
        ts, xs = ballistic_truth(
            X0, np.arange(0.0, 2000.0, 1.0), rng=rng, q_acc_m2_s3=Q_ACC, q_beta=Q_BETA
        )
        dt, xe, _, _ = fly_to_altitude(xs[-1], 1.0, 0.0, 100.0)
        lat, lon, _ = ecef_to_geodetic_nb(*xe[:3])
        plots = make_plots(SENSOR, ts[: scans + 1], xs[: scans + 1], rng)
        x = xs[0] + rng.multivariate_normal(np.zeros(7), P0)
        P = P0.copy()
        t = 0.0
        for p in plots[1:]:
            x, P = filt.predict(x, P, p.t_s - t)
            t = p.t_s
            z, r, _ = plot_vector(p)
            x, P, _ = filt.update(x, P, z, r, SENSOR.ecef_m, SENSOR.rot_enu)
        g, _, _ = ground_point(x, P, t, direction=1.0, params=filt.params)
        assert g is not None
        out.append((g, lat, lon, float(ts[-1] + dt), t))
    return out


def test_impact_ellipse_covers_true_impact_95_percent() -> None:
    res = impact_runs(40, 60)
    d2 = np.array([_mahalanobis_on_ground(g, la, lo) for g, la, lo, _, _ in res])
    inside = float(np.mean(d2 <= 5.991))
    assert 0.85 <= inside <= 1.0, inside
    # and not absurdly conservative: the mean squared distance of a consistent 2-D estimate is 2
    assert 1.0 < float(d2.mean()) < 3.0, float(d2.mean())
    # time of impact consistent too
    zt = np.array([(g.t_s - t_true) / g.sigma_t_s for g, _, _, t_true, _ in res])
    assert float(np.mean(np.abs(zt) <= 1.96)) >= 0.85
    g = res[0][0]
    assert g.semi_major_m >= g.semi_minor_m > 0.0
    assert 0.0 <= g.major_azimuth_deg < 180.0


def test_monte_carlo_and_unscented_agree() -> None:
    x = X0.copy()
    P = np.diag([300.0**2] * 3 + [20.0**2] * 3 + [0.02**2])
    ut, hmax, tmax = ground_point(x, P, 0.0, direction=1.0, include_process_noise=False)
    mc, _, _ = ground_point(
        x, P, 0.0, direction=1.0, method="monte_carlo", rng=np.random.default_rng(1),
        n_samples=400, include_process_noise=False,
    )  # fmt: skip
    assert ut is not None and mc is not None
    d = _mahalanobis_on_ground(ut, math.radians(mc.lat_deg), math.radians(mc.lon_deg))
    assert d < 0.1
    assert mc.semi_major_m == pytest.approx(ut.semi_major_m, rel=0.15)
    assert mc.semi_minor_m == pytest.approx(ut.semi_minor_m, rel=0.25)
    assert mc.t_s == pytest.approx(ut.t_s, abs=1.0)
    # an MRBM-like arc: apogee well above the start, reached before impact
    assert hmax is not None and tmax is not None
    assert 250e3 < hmax < 800e3 and 0.0 < tmax < ut.t_s


def test_launch_point_by_back_propagation() -> None:
    """A ballistic flight from Sunan: back-propagating a noisy track state recovers the launch
    point (inside its 95 % ellipse) and the launch time."""
    lat0, lon0 = LAUNCH_SUNAN
    x_launch = state_from_geodetic(lat0, lon0, 0.0, 4500.0, 45.0, 95.0, 0.05)
    ts, xs = ballistic_truth(x_launch, np.arange(0.0, 200.0, 1.0))
    truth = xs[120]
    rng = np.random.default_rng(3)
    P = np.diag([200.0**2] * 3 + [5.0**2] * 3 + [0.01**2])
    hits = 0
    for _ in range(20):
        x = truth + rng.multivariate_normal(np.zeros(7), P)
        x[6] = abs(x[6])
        state = TrackState(
            track_id="JPN-1", nation="JPN", t_s=120.0, x=x, P=P, status=TrackStatus.CONFIRMED
        )
        est = estimate_track(state, params=FilterParams(0.0, 0.0))
        assert est.launch is not None and est.impact is not None
        assert est.launch.t_s == pytest.approx(0.0, abs=5.0 * est.launch.sigma_t_s + 0.5)
        d2 = _mahalanobis_on_ground(est.launch, math.radians(lat0), math.radians(lon0))
        hits += d2 <= 5.991
        assert est.time_to_impact_s is not None and est.time_to_impact_s > 0.0
        assert est.impact.t_s == pytest.approx(120.0 + est.time_to_impact_s)
    assert hits >= 16
