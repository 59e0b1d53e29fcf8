"""Multi-target tracking with clutter: initiation, GNN association, confirmation, deletion,
rejected plots and flagged (never silent) divergence."""

from __future__ import annotations

import dataclasses
import math
from functools import lru_cache

import numpy as np
import pytest

from trilink.missile.track import filter_named
from trilink.missile.track.manager import TrackManager
from trilink.missile.track.synthetic import (
    SyntheticSensor,
    ballistic_truth,
    clutter_plots,
    make_plots,
    state_from_geodetic,
)
from trilink.missile.types import FlagReason, Plot, PlotScan, SensorCoverage, TrackStatus

SENSORS = [
    SyntheticSensor.at_site(
        "JP-FPS5-SADO", "JPN", sigma_range_m=30.0, sigma_azimuth_rad=2e-3,
        sigma_elevation_rad=2e-3, sigma_range_rate_mps=1.0, max_range_m=3.0e6,
        clutter_per_scan=3.0,
    ),
    SyntheticSensor.at_site(
        "JP-TPY2-KYOGAMISAKI", "JPN", sigma_range_m=10.0, sigma_azimuth_rad=5e-4,
        sigma_elevation_rad=5e-4, sigma_range_rate_mps=0.5, max_range_m=2.0e6,
        clutter_per_scan=3.0, p_detect=0.9,
    ),
]  # fmt: skip
LAUNCHES = [(39.5, 127.5, 100.0), (40.0, 127.0, 95.0), (39.0, 127.8, 110.0)]
TIMES = np.arange(0.0, 240.0, 1.0)


@lru_cache(maxsize=1)
def scenario() -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], list[Plot]]:
    rng = np.random.default_rng(7)
    truths = {}
    for k, (lat, lon, hd) in enumerate(LAUNCHES):
        x0 = state_from_geodetic(lat, lon, 100e3, 3000.0, 35.0, hd, 0.2)
        truths[f"T{k}"] = ballistic_truth(x0, TIMES)
    plots: list[Plot] = []
    for s in SENSORS:
        for tid, (ts, xs) in truths.items():
            plots += make_plots(s, ts, xs, rng, truth_id=tid)
        plots += clutter_plots(s, TIMES, rng)
    return truths, plots


def _manager(filter_name: str = "ekf", capacity: int = 256) -> TrackManager:
    tm = TrackManager("JPN", filter=filter_named(filter_name), capacity=capacity)
    for s in SENSORS:
        tm.register_sensor(s.sensor_id, SensorCoverage(s.max_range_m, s.min_elevation_rad))
    return tm


def _truth_at(truth: tuple[np.ndarray, np.ndarray], t: float) -> np.ndarray:
    ts, xs = truth
    return xs[int(np.argmin(np.abs(ts - t)))]


def test_three_missiles_in_clutter_give_three_accurate_tracks() -> None:
    truths, plots = scenario()
    n_clutter = sum(p.is_clutter for p in plots)
    assert n_clutter > 1000  # the clutter is real work for the tracker
    tm = _manager()
    seen_ids: dict[str, set[str]] = {tid: set() for tid in truths}
    for t in TIMES:
        tm.process([p for p in plots if p.t_s == t])
        if t < 20.0:
            continue
        tracks = tm.tracks()
        for tr in tracks:
            errs = {
                tid: np.linalg.norm(tr.x[:3] - _truth_at(tru, t)[:3])
                for tid, tru in truths.items()
            }
            best = min(errs, key=errs.__getitem__)
            # no confirmed track on clutter: every track sits on a missile
            assert errs[best] < 2000.0, (t, tr.track_id, errs)
            seen_ids[best].add(tr.track_id)
        assert len(tracks) == 3, (t, [tr.track_id for tr in tracks])
    # one track per missile for the whole flight (no swaps, no re-initiation)
    assert all(len(ids) == 1 for ids in seen_ids.values()), seen_ids
    final = tm.tracks()
    for tr in final:
        assert tr.status is TrackStatus.CONFIRMED
        err = min(np.linalg.norm(tr.x[:3] - _truth_at(tru, tr.t_s)[:3]) for tru in truths.values())
        assert err < 200.0
        assert tr.sensors == ("JP-FPS5-SADO", "JP-TPY2-KYOGAMISAKI")
    c = tm.counters
    assert c["tracks_confirmed"] == 3
    assert c["tracks_started"] > 3  # clutter did start tentative tracks that were dropped
    assert c["deleted_unconfirmed"] >= c["tracks_started"] - 3 - 1


@pytest.mark.parametrize("filter_name", ["ekf", "ukf", "imm"])
def test_every_filter_object_tracks_through_the_same_interface(filter_name: str) -> None:
    """The manager runs whichever filter it is given; storage grows from two slots (tentative
    clutter tracks force it) and the IMM's per-track models grow with it."""
    truths, plots = scenario()
    tm = _manager(filter_name, capacity=2)
    for t in TIMES[:120]:
        tm.process([p for p in plots if p.t_s == t])
    assert tm.X.shape[0] > 2 and tm.counters["tracks_confirmed"] == 3
    tracks = tm.tracks()
    assert len(tracks) == 3
    for tr in tracks:
        err = min(np.linalg.norm(tr.x[:3] - _truth_at(tru, tr.t_s)[:3]) for tru in truths.values())
        assert err < 300.0, (filter_name, err)
        assert len(tr.model_probs) == (2 if filter_name == "imm" else 0)
    if filter_name == "imm":
        assert tm.filter_slots["MU"].shape == (tm.X.shape[0], 2)
        assert all(tr.model_probs[1] > 0.9 for tr in tracks)  # ballistic, no thrust


def test_bad_plots_are_rejected_and_counted() -> None:
    truths, plots = scenario()
    tm = _manager()
    early = [p for p in plots if p.t_s <= 30.0 and not p.is_clutter]
    nan_plot = dataclasses.replace(early[0], range_m=math.nan)
    neg_sigma = dataclasses.replace(early[1], sigma_range_m=-1.0)
    tm.process([*early, nan_plot, neg_sigma])
    old = [p for p in plots if p.t_s == 10.0 and not p.is_clutter]
    tm.process(old)
    assert tm.counters["rejected_non_finite"] == 2
    assert tm.counters["rejected_out_of_order"] == len(old)
    assert len(tm.tracks()) == 3


def _scans(plots: list[Plot]) -> list[PlotScan]:
    groups: dict[tuple[float, str], list[Plot]] = {}
    for p in plots:
        groups.setdefault((p.t_s, p.sensor_id), []).append(p)
    return [PlotScan.from_plots(g) for _, g in sorted(groups.items(), key=lambda kv: kv[0])]


def test_scans_as_columns_track_exactly_like_plot_objects() -> None:
    truths, plots = scenario()
    by_plots, by_scans = _manager(), _manager()
    early = [p for p in plots if p.t_s <= 60.0]
    by_plots.process(early)
    for scan in _scans(early):
        by_scans.process_scan(scan)
    a, b = by_plots.tracks(), by_scans.tracks()
    assert [s.track_id for s in a] == [s.track_id for s in b] and len(a) == 3
    for sa, sb in zip(a, b, strict=True):
        assert np.array_equal(sa.x, sb.x) and np.array_equal(sa.P, sb.P)
    assert by_plots.counters == by_scans.counters
    # a scan is one sensor at one time
    with pytest.raises(ValueError, match="one sensor at one time"):
        PlotScan.from_plots([p for p in plots if p.t_s in (1.0, 2.0)])


def test_bad_rows_of_a_scan_are_rejected_and_the_rest_used() -> None:
    truths, plots = scenario()
    tm = _manager()
    scans = _scans([p for p in plots if p.t_s <= 30.0 and not p.is_clutter])
    last = scans[-1]
    z = last.z.copy()
    sigma = last.sigma.copy()
    z[0, 1] = math.nan
    sigma[1, 0] = 0.0
    bad = dataclasses.replace(last, z=z, sigma=sigma)
    for scan in [*scans[:-1], bad]:
        tm.process_scan(scan)
    assert tm.counters["rejected_non_finite"] == 2
    assert tm.counters["plots_in"] == sum(len(s) for s in scans) - 2
    assert len(tm.tracks()) == 3
    # a scan older than what was processed is refused whole
    tm.process_scan(scans[0])
    assert tm.counters["rejected_out_of_order"] == len(scans[0])


def test_track_deleted_after_misses_when_target_leaves() -> None:
    truths, plots = scenario()
    tm = _manager()
    # T0 stops being reported after 60 s while the sensors keep scanning the others
    kept = [p for p in plots if not (p.truth_id == "T0" and p.t_s > 60.0)]
    for t in TIMES[:100]:
        tm.process([p for p in kept if p.t_s == t])
    assert len(tm.tracks()) == 2
    assert tm.counters["deleted_misses"] == 1
    gone = tm.deleted[0]
    assert gone.status is TrackStatus.DELETED
    assert np.linalg.norm(gone.x[:3] - _truth_at(truths["T0"], gone.t_s)[:3]) < 5000.0


def test_divergence_is_flagged_not_silent() -> None:
    truths, plots = scenario()
    tm = _manager()
    for t in TIMES[:40]:
        tm.process([p for p in plots if p.t_s == t])
    assert all(tr.status is TrackStatus.CONFIRMED for tr in tm.tracks())
    # a sensor that reports 1/2.5 of its real noise: innovations inside the gate but too big
    liar = [
        dataclasses.replace(
            p, sigma_range_m=p.sigma_range_m / 2.5, sigma_azimuth_rad=p.sigma_azimuth_rad / 2.5,
            sigma_elevation_rad=p.sigma_elevation_rad / 2.5,
        )
        for p in plots
        if p.sensor_id == "JP-FPS5-SADO" and not p.is_clutter
    ]  # fmt: skip
    for t in TIMES[40:80]:
        tm.process([p for p in liar if p.t_s == t])
    flagged = [tr for tr in tm.tracks() if tr.status is TrackStatus.FLAGGED]
    assert flagged and all(FlagReason.NIS_HIGH in tr.flags for tr in flagged)
    assert tm.counters["flagged_nis_out_of_bounds"] == len(flagged)


def test_covariance_losing_definiteness_is_flagged() -> None:
    _, plots = scenario()
    tm = _manager()
    for t in TIMES[:80]:
        tm.process([p for p in plots if p.t_s == t])
    healthy = [int(i) for i in np.flatnonzero(tm.alive & tm.confirmed) if tm.flags[i] == 0]
    assert len(healthy) == 3
    i = healthy[0]
    tm.P[i, 3, 3] = -1e6
    tm.process([p for p in plots if p.t_s == 80.0])
    assert tm.counters["flagged_covariance_not_positive_definite"] == 1
    broken = [tr for tr in tm.tracks() if tr.track_id == tm.ids[i]]
    assert broken and broken[0].status is TrackStatus.FLAGGED
    assert broken[0].flags == (FlagReason.NON_PSD,)
    assert sum(tr.status is TrackStatus.CONFIRMED for tr in tm.tracks()) == 2


def test_tracker_pipeline_from_two_point_initiation_is_consistent() -> None:
    """End to end (initiation, gating, range-rate rule, updates): the NEES of the tracker's own
    track, started from plots only, stays in the 95 % band on model-matched truth."""
    from scipy.stats import chi2

    from trilink.missile.track.ekf import EkfFilter
    from trilink.missile.track.filter import FilterParams

    sensor = SyntheticSensor.at_site(
        "JP-FPS5-SADO", "JPN", sigma_range_m=30.0, sigma_azimuth_rad=2e-3,
        sigma_elevation_rad=2e-3, sigma_range_rate_mps=1.0, max_range_m=3.0e6,
    )  # fmt: skip
    x0 = state_from_geodetic(39.5, 127.5, 150e3, 3000.0, 30.0, 100.0, 0.2)
    runs, scans = 30, 100
    nees = np.zeros((runs, scans - 10))
    for m in range(runs):
        rng = np.random.default_rng(300 + m)
        ts, xs = ballistic_truth(x0, np.arange(scans + 1.0), rng=rng, q_acc_m2_s3=1.0, q_beta=1e-4)
        tm = TrackManager("JPN", filter=EkfFilter(FilterParams(1.0, 1e-4)))
        for k, p in enumerate(make_plots(sensor, ts, xs, rng)):
            tm.process([p])
            if k > 10:
                (tr,) = tm.tracks()
                e = tr.x - xs[k]
                nees[m, k - 11] = e @ np.linalg.solve(tr.P, e)
    lo, hi = chi2.ppf([0.025, 0.975], runs * 7) / runs
    avg = nees.mean(axis=0)
    assert float(np.mean((avg > lo) & (avg < hi))) >= 0.88
    assert lo < float(avg.mean()) < hi
