"""Benchmark of the missile trackers against Stone Soup (PyPI ``stonesoup``) on the same data.

Run: ``.venv/bin/python bench/bench_missile_tracker.py [--quick]``. Writes
``docs/benchmarks/missile_tracker.md``.

1. One target, one radar (FPS-5 Sado), 1 Hz, model-matched truth with process noise,
   Monte-Carlo runs: position RMS and time per scan (predict + update) of the trilink EKF and
   UKF and of Stone Soup's EKF and UKF given the *same* motion and measurement functions and
   the *same* plots; PCRLB ratio at matched scans.
2. 100 simultaneous missiles seen by 9 radars of three nations (3 each, public sites), 1 Hz:
   time of one scan of a national tracker (TrackManager: predict, gate, GNN, update,
   bookkeeping), of the fused scan (three national trackers + CI fusion at one node) and of the
   centralised tracker; the per-target cost of the batch update kernels; and Stone Soup's EKF
   doing the predict+update of the same 100 targets for one sensor scan with known
   association, and with its GNN (GNNWith2DAssignment + Mahalanobis DistanceHypothesiser).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from stonesoup.base import Property
from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
from stonesoup.hypothesiser.distance import DistanceHypothesiser
from stonesoup.measures import Mahalanobis
from stonesoup.models.base import GaussianModel, TimeVariantModel
from stonesoup.models.measurement.nonlinear import _AngleNonLinearGaussianMeasurement
from stonesoup.models.transition.base import TransitionModel
from stonesoup.predictor.kalman import ExtendedKalmanPredictor, UnscentedKalmanPredictor
from stonesoup.types.angle import Bearing, Elevation
from stonesoup.types.array import CovarianceMatrix, StateVector, StateVectors
from stonesoup.types.detection import Detection
from stonesoup.types.hypothesis import SingleHypothesis
from stonesoup.types.state import GaussianState
from stonesoup.types.track import Track
from stonesoup.updater.kalman import ExtendedKalmanUpdater, UnscentedKalmanUpdater

from trilink.missile.fuse.central import CentralFusion
from trilink.missile.fuse.ci import TrackFuser
from trilink.missile.track.dynamics import process_noise, propagate
from trilink.missile.track.ekf import EkfFilter, predict_all, update_all
from trilink.missile.track.estimate import estimate_track
from trilink.missile.track.filter import FilterParams
from trilink.missile.track.imm import ImmFilter
from trilink.missile.track.manager import TrackManager
from trilink.missile.track.measure import measure, plot_vector
from trilink.missile.track.pcrlb import BoundSensor, pcrlb, position_bound_m
from trilink.missile.track.synthetic import (
    SyntheticSensor,
    ballistic_truth,
    make_plots,
    state_from_geodetic,
)
from trilink.missile.track.ukf import UkfFilter
from trilink.missile.types import Plot, PlotScan

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "missile_tracker.md"
Q_ACC = 1.0
Q_BETA = 1e-4
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


# --- Stone Soup models wrapping the very same motion and radar functions --------------------
class BallisticTransition(TransitionModel, GaussianModel, TimeVariantModel):
    """ECEF ballistic motion (gravity J2, rotation, drag) = trilink ``dynamics.propagate``."""

    q_acc: float = Property(doc="white acceleration noise m^2/s^3")
    q_beta: float = Property(doc="ballistic coefficient random walk")

    @property
    def ndim_state(self) -> int:
        return 7

    def function(self, state, noise=False, **kwargs):  # type: ignore[no-untyped-def]
        dt_s = kwargs["time_interval"].total_seconds()
        sv = np.asarray(state.state_vector, dtype=np.float64)
        out = np.column_stack(
            [propagate(sv[:, j].copy(), dt_s, False) for j in range(sv.shape[1])]
        )
        return StateVectors(out) if out.shape[1] > 1 else StateVector(out[:, 0])

    def covar(self, **kwargs):  # type: ignore[no-untyped-def]
        dt_s = kwargs["time_interval"].total_seconds()
        return CovarianceMatrix(process_noise(7, dt_s, self.q_acc, self.q_beta, 0.0, False))


class RadarMeasurement(_AngleNonLinearGaussianMeasurement):
    """Range, azimuth, elevation at a WGS-84 site = trilink ``measure.measure``."""

    site: np.ndarray = Property(doc="site ECEF")
    rot: np.ndarray = Property(doc="ENU rotation")

    @property
    def ndim_meas(self) -> int:
        return 3

    @staticmethod
    def _typed_vector():  # type: ignore[no-untyped-def]
        return StateVector([0.0, Bearing(0.0), Elevation(0.0)])

    def _function(self, state, noise=False, **kwargs):  # type: ignore[no-untyped-def]
        sv = np.asarray(state.state_vector, dtype=np.float64)
        cols = [
            measure(sv[:, j].copy(), self.site, self.rot, False)[0] for j in range(sv.shape[1])
        ]
        out = np.column_stack(cols)
        return StateVectors(out) if out.shape[1] > 1 else StateVector(out[:, 0])


def stonesoup_models(sensor: SyntheticSensor) -> tuple[BallisticTransition, RadarMeasurement]:
    tm = BallisticTransition(q_acc=Q_ACC, q_beta=Q_BETA)
    R = np.diag(
        [sensor.sigma_range_m**2, sensor.sigma_azimuth_rad**2, sensor.sigma_elevation_rad**2]
    )
    mm = RadarMeasurement(
        ndim_state=7, mapping=(0, 1, 2), noise_covar=R, site=sensor.ecef_m, rot=sensor.rot_enu
    )
    return tm, mm


def ss_detection(p: Plot, mm: RadarMeasurement) -> Detection:
    return Detection(
        StateVector([p.range_m, Bearing(p.azimuth_rad), Elevation(p.elevation_rad)]),
        timestamp=EPOCH + dt.timedelta(seconds=p.t_s),
        measurement_model=mm,
    )


# --- part 1: one target --------------------------------------------------------------------
def single_target(runs: int, scans: int) -> dict[str, object]:
    sensor = SyntheticSensor.at_site(
        "JP-FPS5-SADO", "JPN", sigma_range_m=30.0, sigma_azimuth_rad=2e-3,
        sigma_elevation_rad=2e-3, max_range_m=3.0e6,
    )  # fmt: skip
    x0 = state_from_geodetic(39.5, 127.5, 150e3, 3000.0, 30.0, 100.0, 0.2)
    P0 = np.diag([1e3**2] * 3 + [100.0**2] * 3 + [0.05**2])
    params = FilterParams(Q_ACC, Q_BETA)
    tm, mm = stonesoup_models(sensor)
    ss = {
        "Stone Soup EKF": (ExtendedKalmanPredictor(tm), ExtendedKalmanUpdater(mm)),
        "Stone Soup UKF": (UnscentedKalmanPredictor(tm), UnscentedKalmanUpdater(mm)),
    }
    names = ["trilink EKF", "trilink UKF", *ss]
    err2 = {n: np.zeros((runs, scans)) for n in names}
    times: dict[str, list[float]] = {n: [] for n in names}
    for m in range(runs):
        rng = np.random.default_rng(10_000 + m)
        ts, xs = ballistic_truth(
            x0, np.arange(scans + 1.0), rng=rng, q_acc_m2_s3=Q_ACC, q_beta=Q_BETA
        )
        plots = make_plots(sensor, ts, xs, rng)
        x_init = xs[0] + rng.multivariate_normal(np.zeros(7), P0)
        for name, filt in (("trilink EKF", EkfFilter(params)), ("trilink UKF", UkfFilter(params))):
            x, P, t = x_init.copy(), P0.copy(), 0.0
            for k, p in enumerate(plots[1:]):
                z, r, _ = plot_vector(p)
                c0 = time.thread_time()
                x, P = filt.predict(x, P, p.t_s - t)
                x, P, _ = filt.update(x, P, z, r, sensor.ecef_m, sensor.rot_enu)
                times[name].append(time.thread_time() - c0)
                t = p.t_s
                err2[name][m, k] = float(np.sum((x[:3] - xs[k + 1, :3]) ** 2))
        for name, (pred, upd) in ss.items():
            prior = GaussianState(
                StateVector(x_init.copy()), CovarianceMatrix(P0.copy()), timestamp=EPOCH
            )
            for k, p in enumerate(plots[1:]):
                det = ss_detection(p, mm)
                c0 = time.thread_time()
                prediction = pred.predict(prior, timestamp=det.timestamp)
                prior = upd.update(SingleHypothesis(prediction, det))
                times[name].append(time.thread_time() - c0)
                xv = np.asarray(prior.state_vector, dtype=np.float64).ravel()
                err2[name][m, k] = float(np.sum((xv[:3] - xs[k + 1, :3]) ** 2))
    # PCRLB along the noise-free truth (no measurement at t = 0, as in the runs)
    ts, truth = ballistic_truth(x0, np.arange(scans + 1.0))
    r = np.array(
        [sensor.sigma_range_m**2, sensor.sigma_azimuth_rad**2, sensor.sigma_elevation_rad**2]
    )
    step = [BoundSensor(sensor.ecef_m, sensor.rot_enu, r)]
    bound = position_bound_m(
        pcrlb(ts, truth, [[]] + [step] * scans, P0, q_acc_m2_s3=Q_ACC, q_beta=Q_BETA)
    )[1:]
    half = scans // 2
    rows = []
    for n in names:
        rms_t = np.sqrt(err2[n].mean(axis=0))
        rows.append(
            {
                "name": n,
                "rms_late_m": float(np.sqrt(err2[n][:, half:].mean())),
                "rms_final_m": float(rms_t[-1]),
                "max_ratio": float(np.max(rms_t[10:] / bound[10:])),
                "mean_ratio": float(np.mean(rms_t[10:] / bound[10:])),
                "us_median": 1e6 * statistics.median(times[n]),
                "us_p95": 1e6 * float(np.percentile(times[n], 95)),
            }
        )
    matched = sorted({k for k in (10, 25, 50, 75, scans - 1) if k < scans})
    rms_ekf = np.sqrt(err2["trilink EKF"].mean(axis=0))
    pcrlb_rows = [
        (k + 1, float(bound[k]), float(rms_ekf[k]), float(rms_ekf[k] / bound[k])) for k in matched
    ]
    return {"rows": rows, "pcrlb": pcrlb_rows, "runs": runs, "scans": scans}


# --- part 2: 100 targets, 9 radars -----------------------------------------------------------
def _sensors() -> list[SyntheticSensor]:
    def mk(site: str, nation: str, sr: float, sa: float, srr: float | None) -> SyntheticSensor:
        return SyntheticSensor.at_site(
            site, nation, sigma_range_m=sr, sigma_azimuth_rad=sa, sigma_elevation_rad=sa,
            sigma_range_rate_mps=srr, max_range_m=3.0e6,
        )  # fmt: skip

    from trilink.missile.track.synthetic import SITES

    SITES.setdefault("JP-FPS5-OMINATO", (41.27889, 141.11972, 878.0))
    SITES.setdefault("JP-FPS5-SHIMOKOSHIKI", (31.72, 129.75, 604.0))
    SITES.setdefault("JP-TPY2-SHARIKI", (40.98333, 140.35861, 50.0))
    SITES.setdefault("KR-GREENPINE-SCHUNGCHEONG", (36.5, 126.8, 100.0))
    return [
        mk("JP-FPS5-SADO", "JPN", 30.0, 1.5e-3, 2.0),
        mk("JP-FPS5-OMINATO", "JPN", 30.0, 1.5e-3, 2.0),
        mk("JP-FPS5-SHIMOKOSHIKI", "JPN", 30.0, 1.5e-3, 2.0),
        mk("JP-TPY2-SHARIKI", "USA", 10.0, 0.5e-3, 0.5),
        mk("JP-TPY2-KYOGAMISAKI", "USA", 10.0, 0.5e-3, 0.5),
        mk("KR-THAAD-SEONGJU", "USA", 10.0, 0.5e-3, 0.5),
        mk("KR-GREENPINE-NCHUNGCHEONG", "KOR", 30.0, 2e-3, 2.0),
        mk("KR-GREENPINE-SCHUNGCHEONG", "KOR", 30.0, 2e-3, 2.0),
        mk("KR-GREENPINE-BUSAN", "KOR", 30.0, 2e-3, 2.0),
    ]


def many_targets(n_targets: int, warm: int, timed: int) -> dict[str, object]:
    rng = np.random.default_rng(42)
    sensors = _sensors()
    times = np.arange(0.0, warm + timed + 1.0)
    truths = []
    for _ in range(n_targets):
        x0 = state_from_geodetic(
            rng.uniform(38.5, 41.5), rng.uniform(125.0, 129.5), rng.uniform(120e3, 250e3),
            rng.uniform(2500.0, 4000.0), rng.uniform(15.0, 40.0), rng.uniform(70.0, 130.0), 0.2,
        )  # fmt: skip
        truths.append(ballistic_truth(x0, times))
    plots_at: dict[float, list[Plot]] = {t: [] for t in times}
    for s in sensors:
        for k, (ts, xs) in enumerate(truths):
            for p in make_plots(s, ts, xs, rng, truth_id=f"T{k}"):
                plots_at[p.t_s].append(p)
    nations = ("JPN", "KOR", "USA")
    # what the radars deliver: one scan (columns) per sensor and time, built before timing
    scans_at: dict[float, dict[str, list[PlotScan]]] = {}
    for t in times:
        by_sensor: dict[str, list[Plot]] = {}
        for p in plots_at[t]:
            by_sensor.setdefault(p.sensor_id, []).append(p)
        scans_at[t] = {n: [] for n in nations}
        for group in by_sensor.values():
            scans_at[t][group[0].nation].append(PlotScan.from_plots(group))
    managers = {n: TrackManager(n) for n in nations}
    jpn_objects = TrackManager("JPN")
    imm_jpn = TrackManager("JPN", filter=ImmFilter())
    central = CentralFusion()
    fuser = TrackFuser("JPN")
    node_row = "fused scan at one node (JPN: own tracker + CI fusion)"
    all_row = "fused scan, all three trackers + CI fusion in one process"
    scan_ms: dict[str, list[float]] = {f"national {n}": [] for n in nations}
    scan_ms["national JPN fed Plot objects (same plots)"] = []
    scan_ms.update({"CI fusion (JPN node, 3 nations)": [], node_row: [], all_row: []})
    scan_ms["central"] = []
    scan_ms["national JPN with the IMM (boost + ballistic)"] = []
    scan_cpu: dict[str, list[float]] = {k: [] for k in scan_ms}
    kern_us: list[float] = []

    def record(key: str, wall_s: float, cpu_s: float) -> None:
        scan_ms[key].append(1e3 * wall_s)
        scan_cpu[key].append(1e3 * cpu_s)

    for t in times:
        pl = plots_at[t]
        timed_scan = t > warm
        national: dict[str, tuple[float, float]] = {}
        for n in nations:
            c0, u0 = time.perf_counter(), time.thread_time()
            for scan in scans_at[t][n]:
                managers[n].process_scan(scan)
            national[n] = (time.perf_counter() - c0, time.thread_time() - u0)
        jp = [p for p in pl if p.nation == "JPN"]
        c0, u0 = time.perf_counter(), time.thread_time()
        jpn_objects.process(jp)
        objects = (time.perf_counter() - c0, time.thread_time() - u0)
        c0, u0 = time.perf_counter(), time.thread_time()
        fused = fuser.fuse({n: m.tracks() for n, m in managers.items()}, float(t))
        fusion = (time.perf_counter() - c0, time.thread_time() - u0)
        c0, u0 = time.perf_counter(), time.thread_time()
        central.process(pl)
        dc, dcu = time.perf_counter() - c0, time.thread_time() - u0
        c0, u0 = time.perf_counter(), time.thread_time()
        imm_jpn.process(jp)
        di, diu = time.perf_counter() - c0, time.thread_time() - u0
        if timed_scan:
            for n in nations:
                record(f"national {n}", *national[n])
            record("national JPN fed Plot objects (same plots)", *objects)
            record("CI fusion (JPN node, 3 nations)", *fusion)
            record(node_row, national["JPN"][0] + fusion[0], national["JPN"][1] + fusion[1])
            record(
                all_row,
                sum(v[0] for v in national.values()) + fusion[0],
                sum(v[1] for v in national.values()) + fusion[1],
            )
            record("central", dc, dcu)
            record("national JPN with the IMM (boost + ballistic)", di, diu)
        if timed_scan:
            # the numeric kernels alone, per target: one predict + one update
            m = managers["JPN"]
            idx = np.flatnonzero(m.alive)
            X, P, T = m.X.copy(), m.P.copy(), m.T.copy()
            s0 = sensors[0]
            Z = np.array(
                [plot_vector(p)[0][:3] for p in pl if p.sensor_id == s0.sensor_id][: idx.size]
            )
            Rd = np.array(
                [plot_vector(p)[1][:3] for p in pl if p.sensor_id == s0.sensor_id][: idx.size]
            )
            c0 = time.thread_time()
            predict_all(X, P, T, idx, float(t) + 1.0, Q_ACC, Q_BETA)
            update_all(
                X,
                P,
                idx[: Z.shape[0]],
                Z,
                Rd,
                np.arange(Z.shape[0]),
                s0.ecef_m,
                s0.rot_enu,
                False,
                150.0,
            )
            kern_us.append(1e6 * (time.thread_time() - c0) / max(idx.size, 1))

    # accuracy and bookkeeping at the end
    def acc(tracks) -> tuple[int, float]:  # type: ignore[no-untyped-def]
        errs = []
        for tr in tracks:
            k = int(round(tr.t_s))
            d = min(
                float(np.linalg.norm(tr.x[:3] - xs[min(k, len(xs) - 1), :3])) for _, xs in truths
            )
            errs.append(d)
        return len(tracks), float(np.sqrt(np.mean(np.square(errs)))) if errs else float("nan")

    acc_rows = {f"national {n}": acc(m.tracks()) for n, m in managers.items()}
    acc_rows["CI fused (JPN node)"] = acc(fused)
    acc_rows["central"] = acc(central.tracks())
    acc_rows["national JPN with the IMM"] = acc(imm_jpn.tracks())
    # estimates (impact + ellipse, time to impact, apogee, launch) per fused track
    est_ms = []
    for tr in fused[:20]:
        c0 = time.thread_time()
        estimate_track(tr)
        est_ms.append(1e3 * (time.thread_time() - c0))
    # Stone Soup: the same 100 targets, one sensor scan, predict + update
    s0 = sensors[0]
    tm, mm = stonesoup_models(s0)
    pred, upd = ExtendedKalmanPredictor(tm), ExtendedKalmanUpdater(mm)
    m = managers["JPN"]
    idx = np.flatnonzero(m.alive)
    t_last = float(times[-1])
    dets = [p for p in plots_at[times[-1]] if p.sensor_id == s0.sensor_id]
    priors = [
        GaussianState(StateVector(m.X[i].copy()), CovarianceMatrix(m.P[i].copy()),
                      timestamp=EPOCH + dt.timedelta(seconds=float(m.T[i]) - 1.0))
        for i in idx
    ]  # fmt: skip
    ss_dets = [ss_detection(p, mm) for p in dets]
    # known association (nearest detection by truth) for the pure filter cost
    pairs = []
    for i, prior in zip(idx, priors, strict=True):
        d = min(range(len(dets)), key=lambda j: float(np.linalg.norm(
            measure(m.X[i], s0.ecef_m, s0.rot_enu, False)[0][:1] - dets[j].range_m)))  # fmt: skip
        pairs.append((prior, ss_dets[d]))
    c0 = time.thread_time()
    for prior, det in pairs:
        upd.update(SingleHypothesis(pred.predict(prior, timestamp=det.timestamp), det))
    ss_filter_ms = 1e3 * (time.thread_time() - c0)
    hyp = DistanceHypothesiser(pred, upd, measure=Mahalanobis(), missed_distance=5.0)
    gnn = GNNWith2DAssignment(hyp)
    tracks = {Track([pr]) for pr in priors}
    c0 = time.thread_time()
    gnn.associate(tracks, set(ss_dets), EPOCH + dt.timedelta(seconds=t_last))
    ss_gnn_ms = 1e3 * (time.thread_time() - c0)
    # trilink's national tracker on the same single-sensor scan for an apples-to-apples row
    one = [p for p in plots_at[times[-1]] if p.sensor_id == s0.sensor_id]
    m_copy = TrackManager("JPN")
    for tt in times[:-1]:
        m_copy.process([p for p in plots_at[tt] if p.sensor_id == s0.sensor_id])
    c0 = time.thread_time()
    m_copy.process(one)
    tl_one_ms = 1e3 * (time.thread_time() - c0)
    return {
        "n_targets": n_targets,
        "n_sensors": len(sensors),
        "plots_per_scan": len(plots_at[times[-1]]),
        "scan_ms": {
            k: (
                statistics.median(v),
                float(np.percentile(v, 95)),
                statistics.median(scan_cpu[k]),
                float(np.percentile(scan_cpu[k], 95)),
            )
            for k, v in scan_ms.items()
        },
        "kernel_us": (statistics.median(kern_us), float(np.percentile(kern_us, 95))),
        "acc": acc_rows,
        "ss_filter_ms": ss_filter_ms,
        "ss_gnn_ms": ss_gnn_ms,
        "tl_one_ms": tl_one_ms,
        "est_ms": statistics.median(est_ms),
        "n_alive": int(idx.size),
        "timed": timed,
    }


def stonesoup_jacobian_error() -> float:
    """Largest error of Stone Soup's finite-difference transition Jacobian vs the RK4 STM."""
    from stonesoup.types.state import State

    from trilink.missile.track.dynamics import propagate_with_stm

    x = state_from_geodetic(39.5, 127.5, 150e3, 3000.0, 30.0, 100.0, 0.2)
    tm = BallisticTransition(q_acc=Q_ACC, q_beta=Q_BETA)
    J = tm.jacobian(State(StateVector(x)), time_interval=dt.timedelta(seconds=1.0))
    _, phi = propagate_with_stm(x, 1.0, False)
    return float(np.max(np.abs(np.asarray(J, dtype=np.float64) - phi)))


def machine() -> str:
    model = "unknown"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    load = os.getloadavg()
    import stonesoup

    return (
        f"{model}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
        f"numpy {np.__version__}, Stone Soup {stonesoup.__version__}; "
        f"load average at the end {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} "
        "(the machine may be shared with other jobs)"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    runs, scans = (4, 60) if args.quick else (20, 100)
    # warm the JIT so compile time is not measured
    single_target(1, 15)
    many_targets(10, 3, 2)
    one = single_target(runs, scans)
    many = many_targets(100, 20 if not args.quick else 6, 20 if not args.quick else 4)
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Missile tracker benchmark",
        "",
        f"Run {when} with `.venv/bin/python bench/bench_missile_tracker.py`"
        + (" --quick" if args.quick else "")
        + f" on {machine()}.",
        "",
        "## 1. One target, one radar: accuracy and time per scan "
        f"({one['runs']} Monte-Carlo runs x "
        f"{one['scans']} scans at 1 Hz)",
        "",
        "Same truth, same plots, same motion model (ECEF ballistic: J2 gravity, rotation, drag "
        "with the ballistic coefficient estimated) and same radar function for every filter; "
        "Stone Soup "
        "gets them wrapped as its `TransitionModel`/`MeasurementModel` (its EKF differentiates "
        "them numerically, trilink's EKF uses the analytic Jacobian and the RK4 transition "
        "matrix).",
        "",
        "| filter | position RMS, 2nd half (m) | RMS at last scan (m) | max RMS/PCRLB (scan>10) | "
        "mean RMS/PCRLB | CPU time per scan median (us) | p95 (us) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in one["rows"]:  # type: ignore[attr-defined]
        lines.append(
            f"| {r['name']} | {r['rms_late_m']:.0f} | {r['rms_final_m']:.0f} "
            f"| {r['max_ratio']:.2f} "
            f"| {r['mean_ratio']:.2f} | {r['us_median']:.1f} | {r['us_p95']:.1f} |"
        )
    lines += [
        "",
        "Stone Soup's EKF differentiates the motion numerically with steps of about 1e-8 of "
        "each state component; for ECEF positions of 6e6 m and an RK4 propagation that is "
        "too small: its 1 s transition Jacobian differs from the RK4 transition matrix by up "
        f"to {stonesoup_jacobian_error():.3f} (e.g. d position / d velocity = 0.978 instead "
        "of 1.000), which is why its accuracy is worse than the other three with the very "
        "same model and data. Its UKF needs no Jacobian and matches trilink's filters.",
        "With 20 runs the RMS of one scan scatters by about 10 %, so the maximum RMS/PCRLB "
        "ratio over 90 scans is inflated by noise; the test suite uses 40 runs and asserts "
        "max <= 1.2 and mean <= 1.1.",
        "",
        "PCRLB (trilink EKF, matched scans):",
        "",
        "| scan | PCRLB position (m) | EKF RMS (m) | ratio |",
        "|---|---|---|---|",
    ]
    for k, b, rr, q in one["pcrlb"]:  # type: ignore[attr-defined]
        lines.append(f"| {k} | {b:.0f} | {rr:.0f} | {q:.2f} |")
    sm = many["scan_ms"]
    lines += [
        "",
        f"## 2. {many['n_targets']} simultaneous missiles, {many['n_sensors']} radars "
        "(3 per nation), "
        f"{many['plots_per_scan']} plots per 1 Hz scan",
        "",
        f"Timed over {many['timed']} scans after the tracks were confirmed. Each national "
        "tracker takes its three radars' scans as the radars deliver them (one `PlotScan` of "
        "columns per radar and time); the row fed `Plot` objects shows the cost of the "
        "object-per-plot interface on the same plots. CI fusion includes turning each "
        "tracker's state into shareable `TrackState`s. A node runs its own tracker and fuses "
        "the partners' shared tracks, so the *fused scan at one node* is what the goal "
        "(100 targets, all sensors, one fused scan <= 5 ms) measures at a node; the row with "
        "all three trackers in one process is the stricter reading.",
        "",
        "Wall-clock is what a watch officer waits; the process CPU time (`time.thread_time`) "
        "is also given: on a machine shared with other jobs it is the better estimate of the "
        "cost. Repeated runs on this virtual machine differ by up to 30 %.",
        "",
        "| step | wall median (ms) | wall p95 (ms) | CPU median (ms) | CPU p95 (ms) |",
        "|---|---|---|---|---|",
    ]
    for k, (a, b, c, d) in sm.items():  # type: ignore[attr-defined]
        lines.append(f"| {k} | {a:.2f} | {b:.2f} | {c:.2f} | {d:.2f} |")
    ku = many["kernel_us"]
    lines += [
        "",
        "Numeric kernels alone (batch predict + EKF update, numba; CPU time): "
        f"{ku[0]:.2f} us per target "  # type: ignore[index]
        f"per scan (median; p95 {ku[1]:.2f} us).",  # type: ignore[index]
        "",
        f"Same scan of one radar ({many['n_alive']} tracks, 100 plots):",
        "",
        "| implementation | CPU time (ms) |",
        "|---|---|",
        "| trilink TrackManager (predict, gate, GNN, update, initiation, bookkeeping) | "
        f"{many['tl_one_ms']:.2f} |",
        f"| Stone Soup EKF predict+update, association given | {many['ss_filter_ms']:.1f} |",
        "| Stone Soup GNNWith2DAssignment + Mahalanobis hypothesiser (association only, "
        f"includes its EKF predictions) | {many['ss_gnn_ms']:.1f} |",
        "",
        f"Estimates of one track (`estimate_track`: impact with 95 % ellipse by the unscented "
        f"transform, time to impact, apogee, launch point): {many['est_ms']:.1f} ms CPU "
        "(median over 20 fused tracks).",
        "",
        "Track picture at the end (confirmed tracks; RMS of the distance to the nearest truth):",
        "",
        "| picture | tracks | position RMS (m) |",
        "|---|---|---|",
    ]
    for k, (n, e) in many["acc"].items():  # type: ignore[attr-defined]
        lines.append(f"| {k} | {n} | {e:.0f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
