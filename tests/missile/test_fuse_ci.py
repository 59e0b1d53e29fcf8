"""Covariance intersection: algebra, consistency under correlated errors, fused vs single
nation vs centralised accuracy, labels and the double-counting guard."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from scipy.stats import chi2

from trilink.missile.fuse.central import CentralFusion
from trilink.missile.fuse.ci import FusionInputError, TrackFuser, ci_fuse, covariance_intersection
from trilink.missile.track.ekf import EkfFilter
from trilink.missile.track.filter import FilterParams
from trilink.missile.track.measure import plot_vector
from trilink.missile.track.synthetic import (
    SyntheticSensor,
    ballistic_truth,
    make_plots,
    state_from_geodetic,
)
from trilink.missile.types import TrackState, TrackStatus

Q_ACC = 1.0
Q_BETA = 1e-4
K = 100
JPN = SyntheticSensor.at_site(
    "JP-FPS5-SADO", "JPN", sigma_range_m=30.0, sigma_azimuth_rad=2e-3,
    sigma_elevation_rad=2e-3, max_range_m=3.0e6,
)  # fmt: skip
KOR = SyntheticSensor.at_site(
    "KR-GREENPINE-BUSAN", "KOR", sigma_range_m=50.0, sigma_azimuth_rad=3e-3,
    sigma_elevation_rad=3e-3, max_range_m=3.0e6,
)  # fmt: skip
X0 = state_from_geodetic(39.5, 127.5, 150e3, 3000.0, 30.0, 100.0, 0.2)
P0 = np.diag([1e3**2] * 3 + [100.0**2] * 3 + [0.05**2])


def _spd(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    a = rng.normal(size=(n, n))
    return scale * (a @ a.T + n * np.eye(n))


def test_ci_algebra() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        Pa, Pb = _spd(rng, 7, 1.0), _spd(rng, 7, 3.0)
        xa, xb = rng.normal(size=7), rng.normal(size=7)
        for use_det in (True, False):
            x, P, w = ci_fuse(xa, Pa, xb, Pb, use_det)
            assert 0.0 <= w <= 1.0
            assert np.all(np.linalg.eigvalsh(P) > 0)
            crit = (lambda M: np.linalg.slogdet(M)[1]) if use_det else np.trace
            # optimal over w: better than both inputs and than a grid of other weights
            assert crit(P) <= min(crit(Pa), crit(Pb)) + 1e-6 * abs(min(crit(Pa), crit(Pb)))
            for wg in np.linspace(0.0, 1.0, 21):
                Pg = np.linalg.inv(wg * np.linalg.inv(Pa) + (1 - wg) * np.linalg.inv(Pb))
                assert crit(P) <= crit(Pg) + 1e-6 * abs(crit(Pg))
    # fusing an estimate with itself gains nothing (no double counting)
    x, P, _ = ci_fuse(xa, Pa, xa, Pa, True)
    assert np.allclose(P, Pa) and np.allclose(x, xa)
    # a much better input dominates
    x, P = covariance_intersection([(xa, Pa), (xb, Pa * 1e-4)])
    assert np.allclose(x, xb, atol=1e-2 * np.sqrt(Pa.diagonal().max()))
    with pytest.raises(ValueError, match="criterion"):
        covariance_intersection([(xa, Pa), (xb, Pb)], criterion="volume")


@cache
def national_runs(runs: int) -> dict[str, np.ndarray]:
    """Squared position error and NEES per run/scan for JPN-only, KOR-only, CI, naive
    (independence-assuming) fusion and central fusion of the very same plots."""
    filt = EkfFilter(FilterParams(Q_ACC, Q_BETA))
    keys = ("JPN", "KOR", "CI", "naive", "central")
    e2 = {k: np.zeros((runs, K)) for k in keys}
    nees = {k: np.zeros((runs, K)) for k in keys}
    for m in range(runs):
        rng = np.random.default_rng(2000 + m)
        ts, xs = ballistic_truth(X0, np.arange(K + 1.0), rng=rng, q_acc_m2_s3=Q_ACC, q_beta=Q_BETA)
        pj = make_plots(JPN, ts, xs, rng)
        pk = make_plots(KOR, ts, xs, rng)
        x_init = xs[0] + rng.multivariate_normal(np.zeros(7), P0)
        est = {k: (x_init.copy(), P0.copy()) for k in ("JPN", "KOR", "central")}
        for k in range(1, K + 1):
            for key, sensors in (("JPN", [(JPN, pj)]), ("KOR", [(KOR, pk)]),
                                 ("central", [(JPN, pj), (KOR, pk)])):  # fmt: skip
                x, P = filt.predict(*est[key], 1.0)
                for s, pl in sensors:
                    z, r, _ = plot_vector(pl[k])
                    x, P, _ = filt.update(x, P, z, r, s.ecef_m, s.rot_enu)
                est[key] = (x, P)
            (xa, Pa), (xb, Pb) = est["JPN"], est["KOR"]
            xc, Pc, _ = ci_fuse(xa, Pa, xb, Pb, True)
            Ia, Ib = np.linalg.inv(Pa), np.linalg.inv(Pb)
            Pn = np.linalg.inv(Ia + Ib)
            xn = Pn @ (Ia @ xa + Ib @ xb)
            for key, (x, P) in (*est.items(), ("CI", (xc, Pc)), ("naive", (xn, Pn))):
                d = x - xs[k]
                e2[key][m, k - 1] = d[:3] @ d[:3]
                nees[key][m, k - 1] = d @ np.linalg.solve(P, d)
    return {**{f"e2_{k}": v for k, v in e2.items()}, **{f"nees_{k}": v for k, v in nees.items()}}


def test_ci_fused_is_consistent_while_naive_fusion_is_not() -> None:
    res = national_runs(30)
    runs = 30
    n = runs * 50
    hi = chi2.ppf(0.975, n * 7) / n
    ci = float(res["nees_CI"][:, 50:].mean())
    naive = float(res["nees_naive"][:, 50:].mean())
    # CI never claims to be better than it is: its NEES stays below the upper band
    assert ci <= hi, ci
    # the same check catches the double counting of the common process noise
    assert naive > hi, naive


def test_fused_more_accurate_than_each_nation_and_central_best() -> None:
    res = national_runs(30)
    rms = {k: float(np.sqrt(res[f"e2_{k}"][:, 50:].mean())) for k in
           ("JPN", "KOR", "CI", "central")}  # fmt: skip
    assert rms["CI"] < 0.8 * min(rms["JPN"], rms["KOR"]), rms
    assert rms["central"] < 0.8 * min(rms["JPN"], rms["KOR"]), rms
    # CI gives up little against the optimal (plot-sharing) central filter
    assert rms["CI"] < 1.3 * rms["central"], rms


def _state(tid: str, nation: str, x: np.ndarray, P: np.ndarray, label: str | None) -> TrackState:
    return TrackState(
        track_id=tid, nation=nation, t_s=10.0, x=x, P=P, status=TrackStatus.CONFIRMED,
        n_updates=5, sensors=(f"{nation}-radar",), nations=(nation,), label=label,
    )  # fmt: skip


def test_track_fuser_associates_labels_and_guards() -> None:
    rng = np.random.default_rng(5)
    P = np.diag([200.0**2] * 3 + [20.0**2] * 3 + [0.02**2])
    a = X0.copy()
    b = state_from_geodetic(39.0, 128.5, 200e3, 3000.0, 20.0, 100.0, 0.2)
    jpn = [_state("JPN-1", "JPN", a + rng.multivariate_normal(np.zeros(7), P), P,
                  "SECRET//REL TO USA, JPN, KOR"),
           _state("JPN-2", "JPN", b + rng.multivariate_normal(np.zeros(7), P), P,
                  "SECRET//REL TO USA, JPN, KOR")]  # fmt: skip
    Pk = np.diag([600.0**2, 60.0**2, 600.0**2] + [30.0**2] * 3 + [0.02**2])
    kor = [_state("KOR-7", "KOR", a + rng.multivariate_normal(np.zeros(7), Pk), Pk,
                  "SECRET//REL TO USA, KOR")]  # fmt: skip
    fuser = TrackFuser("JPN")
    out = fuser.fuse({"JPN": jpn, "KOR": kor}, 10.0)
    assert len(out) == 2
    fused = next(s for s in out if "KOR-7" in s.track_id)
    assert "JPN-1" in fused.track_id and fused.nations == ("JPN", "KOR")
    # most restrictive label of the inputs: REL TO narrowed to the common nations
    assert fused.label is not None and "JPN" not in fused.label.split("REL TO")[1]
    # different geometry (elongated KOR error): the fused position is better than both
    assert np.linalg.det(fused.P[:3, :3]) < min(
        np.linalg.det(P[:3, :3]), np.linalg.det(Pk[:3, :3])
    )
    assert fuser.counters["ci_fusions"] == 1
    # a partner's fused product is refused as an input (it already contains our data)
    fuser.fuse({"JPN": jpn, "USA": [fused]}, 10.0)
    assert fuser.counters["rejected_fused_input"] == 1
    # a partner track without a label cannot be fused with labelled ones
    unlabeled = [_state("KOR-8", "KOR", kor[0].x, kor[0].P, None)]
    with pytest.raises(FusionInputError, match="label"):
        fuser.fuse({"JPN": jpn, "KOR": unlabeled}, 10.0)


def test_central_fusion_tracks_all_nations() -> None:
    rng = np.random.default_rng(9)
    ts, xs = ballistic_truth(X0, np.arange(60.0))
    plots = make_plots(JPN, ts, xs, rng) + make_plots(KOR, ts, xs, rng)
    central = CentralFusion()
    central.process(plots)
    tracks = central.tracks()
    assert len(tracks) == 1
    assert tracks[0].nations == ("JPN", "KOR")
    assert np.linalg.norm(tracks[0].x[:3] - xs[-1, :3]) < 1000.0
