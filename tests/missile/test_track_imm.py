"""IMM over boost and ballistic phases: mode detection at burnout and accuracy in boost."""

from __future__ import annotations

import numpy as np

from trilink.missile.track.ekf import EkfFilter
from trilink.missile.track.filter import FilterParams
from trilink.missile.track.imm import BALLISTIC, BOOST, ImmFilter
from trilink.missile.track.measure import plot_vector
from trilink.missile.track.synthetic import LAUNCH_SUNAN, SyntheticSensor, boost_truth, make_plots


def test_imm_detects_burnout_and_beats_ballistic_ekf_in_boost() -> None:
    lat, lon = LAUNCH_SUNAN
    ts, xs, burn_s = boost_truth(
        lat, lon, 100.0, thrust_acc_mps2=50.0, burn_s=70.0, pitch_over_s=8.0, pitch_deg=20.0,
        t_end_s=250.0, dt_s=0.05,
    )  # fmt: skip
    ts, xs = ts[::20], xs[::20]  # 1 Hz
    sensor = SyntheticSensor.at_site(
        "KR-GREENPINE-NCHUNGCHEONG", "KOR", sigma_range_m=30.0, sigma_azimuth_rad=2e-3,
        sigma_elevation_rad=2e-3, sigma_range_rate_mps=2.0, max_range_m=3.0e6,
    )  # fmt: skip
    rng = np.random.default_rng(3)
    plots = make_plots(sensor, ts, xs, rng)
    assert plots[0].t_s < 30.0  # first seen in boost, above the radar horizon
    k0 = int(round(plots[0].t_s))
    P0 = np.diag([500.0**2] * 3 + [100.0**2] * 3 + [0.05**2])
    x = xs[k0] + rng.multivariate_normal(np.zeros(7), P0)
    imm = ImmFilter(FilterParams(1.0, 1e-4, 25.0))
    st = imm.initial(x, P0)
    ekf = EkfFilter(FilterParams(1.0, 1e-4))
    xe, Pe = x.copy(), P0.copy()
    t = plots[0].t_s
    err_imm: dict[int, float] = {}
    err_ekf: dict[int, float] = {}
    mu_boost: dict[int, float] = {}
    for p in plots[1:]:
        dt = p.t_s - t
        t = p.t_s
        z, r, _ = plot_vector(p)
        st, _ = imm.step(st, dt, z, r, sensor.ecef_m, sensor.rot_enu)
        xe, Pe = ekf.predict(xe, Pe, dt)
        xe, Pe, _ = ekf.update(xe, Pe, z, r, sensor.ecef_m, sensor.rot_enu)
        xc, _ = st.combined()
        k = int(round(t))
        err_imm[k] = float(np.linalg.norm(xc[:3] - xs[k, :3]))
        err_ekf[k] = float(np.linalg.norm(xe[:3] - xs[k, :3]))
        mu_boost[k] = float(st.mu[BOOST])
    boost = [k for k in err_imm if 40 <= k < burn_s]
    coast = [k for k in err_imm if k >= burn_s + 15]
    assert min(mu_boost[k] for k in boost) > 0.9
    assert max(mu_boost[k] for k in coast) < 0.1
    assert abs(st.mu.sum() - 1.0) < 1e-9 and st.mu[BALLISTIC] > 0.9
    rms = lambda e, ks: float(np.sqrt(np.mean([e[k] ** 2 for k in ks])))  # noqa: E731
    # thrust the ballistic EKF does not model: the IMM is several times better in boost
    assert rms(err_imm, boost) < 0.5 * rms(err_ekf, boost)
    # and not worse than the EKF once ballistic
    assert rms(err_imm, coast) < 1.5 * rms(err_ekf, coast)
