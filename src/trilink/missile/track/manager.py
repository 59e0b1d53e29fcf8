"""Multi-target tracker of one nation (or of everyone, for centralised fusion).

Place in the flow: sensor plots -> ``TrackManager.process`` -> ``TrackManager.tracks()`` ->
shared as ``missile.track`` reports and fused (``trilink.missile.fuse``). Per sensor scan:
predict all live tracks to the scan time, gate and assign plots by GNN, update with the EKF,
count covered misses, start candidates/tentative tracks from the leftovers, confirm (M of N),
delete (misses, stale, below ground, duplicates) and run the health checks. Divergence is
never silent: a non positive definite or exploding covariance, a non-finite state or a run of
out-of-bound NIS sets ``TrackStatus.FLAGGED`` with the reason, and ``counters`` counts it.

Track states live in preallocated arrays (structure of arrays) so the numeric work of a scan
runs in a few numba calls whatever the number of targets.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numba as nb
import numpy as np
import numpy.typing as npt
from scipy.stats import chi2

from trilink.missile.track.associate import gate, gnn_arrays, pair_costs, rr_ok
from trilink.missile.track.dynamics import WGS84_A_M, WGS84_B_M
from trilink.missile.track.ekf import FilterParams, cholesky_ok, ekf_predict, ekf_update
from trilink.missile.track.imm import ImmFilter, ImmParams, imm_predict_all, imm_update_all
from trilink.missile.track.initiate import CandidateStore, InitiationParams, plot_position
from trilink.missile.track.measure import Site
from trilink.missile.types import FlagReason, FloatArray, IntArray, Plot, TrackState, TrackStatus

_NIS_WINDOW = 10
_FLAG_BITS = {
    FlagReason.NON_PSD: 1,
    FlagReason.EXPLODING: 2,
    FlagReason.NIS_HIGH: 4,
    FlagReason.NON_FINITE: 8,
}


@dataclass(frozen=True, slots=True)
class SensorCoverage:
    """Where a sensor can see: used only to decide whether a missing plot is a miss."""

    max_range_m: float = 3.0e6
    min_elevation_rad: float = 0.0


@nb.njit(cache=True)
def predict_all(
    X: FloatArray, P: FloatArray, T: FloatArray, idx: IntArray, t: float, q_acc: float,
    q_beta: float,
) -> None:  # fmt: skip
    for a in range(idx.shape[0]):
        i = idx[a]
        dt = t - T[i]
        if dt > 0.0:
            xn, Pn = ekf_predict(X[i], P[i], dt, q_acc, q_beta, 0.0, False)
            X[i] = xn
            P[i] = Pn
            T[i] = t


@nb.njit(cache=True)
def update_all(
    X: FloatArray, P: FloatArray, tr: IntArray, Z: FloatArray, Rd: FloatArray, pl: IntArray,
    site: FloatArray, rot: FloatArray, use_rr: bool, rr_max_vel_sigma: float,
) -> tuple[FloatArray, FloatArray, IntArray]:  # fmt: skip
    """EKF updates of tracks ``tr[k]`` with plots ``pl[k]``; NIS, PSD flag and measurement
    dimension per pair (range-rate only once the velocity is known, see ``gate``)."""
    nis = np.empty(tr.shape[0])
    ok = np.empty(tr.shape[0])
    dim = np.empty(tr.shape[0], dtype=np.int64)
    for k in range(tr.shape[0]):
        i = tr[k]
        rr_i = use_rr and rr_ok(P[i], rr_max_vel_sigma)
        m = 4 if rr_i else 3
        dim[k] = m
        xn, Pn, v = ekf_update(X[i], P[i], Z[pl[k], :m], Rd[pl[k], :m], site, rot, rr_i)
        X[i] = xn
        P[i] = Pn
        nis[k] = v
        ok[k] = 1.0 if cholesky_ok(Pn) else 0.0
    return nis, ok, dim


def _altitudes_m(r: FloatArray) -> FloatArray:
    """Vectorised ``approx_altitude_m`` for rows of ECEF positions."""
    rn = np.linalg.norm(r, axis=1)
    sn = r[:, 2] / rn
    a, b = WGS84_A_M, WGS84_B_M
    out: FloatArray = rn - a * b / np.sqrt(b * b * (1.0 - sn * sn) + a * a * sn * sn)
    return out


@nb.njit(cache=True)
def psd_all(P: FloatArray, idx: IntArray) -> FloatArray:
    out = np.empty(idx.shape[0])
    for a in range(idx.shape[0]):
        out[a] = 1.0 if cholesky_ok(P[idx[a]]) else 0.0
    return out


class TrackManager:
    """GNN multi-target EKF tracker with initiation, confirmation, deletion and health checks."""

    def __init__(
        self,
        nation: str,
        *,
        filter_params: FilterParams | None = None,
        init_params: InitiationParams | None = None,
        gate_probability: float = 0.9999,
        capacity: int = 256,
        id_prefix: str | None = None,
        rr_max_vel_sigma_mps: float = 150.0,
        motion: str = "ekf",
        imm_params: ImmParams | None = None,
    ) -> None:
        if motion not in ("ekf", "imm"):
            raise ValueError(f"motion must be 'ekf' or 'imm', not {motion!r}")
        self.motion = motion
        self.imm_params = imm_params or ImmParams()
        self.nation = nation
        self.fp = filter_params or FilterParams()
        self.ip = init_params or InitiationParams()
        self.gate_probability = gate_probability
        self.rr_max_vel_sigma_mps = rr_max_vel_sigma_mps
        self._gate_d2 = {m: float(chi2.ppf(gate_probability, m)) for m in (3, 4)}
        # chi2 0.999 bound of a window's NIS sum, indexed by its degrees of freedom
        self._nis_limit = chi2.ppf(0.999, np.maximum(np.arange(4 * _NIS_WINDOW + 1), 1))
        self._prefix = id_prefix or nation
        self.counters: Counter[str] = Counter()
        self.coverage: dict[str, SensorCoverage] = {}
        self._sites: dict[tuple[float, float, float], Site] = {}
        self.candidates = CandidateStore(self.ip)
        self.t_last_s = -math.inf
        self._next_id = 1
        self.deleted: list[TrackState] = []
        self._sensor_names: list[str] = []
        self._nation_names: list[str] = []
        self._names_cache: dict[tuple[int, int, int], tuple[str, ...]] = {}
        self._alloc(capacity)

    # -- storage ---------------------------------------------------------------------------
    def _alloc(self, cap: int) -> None:
        self.X = np.zeros((cap, 7))
        self.P = np.tile(np.eye(7), (cap, 1, 1))
        self.T = np.zeros(cap)
        self.alive = np.zeros(cap, dtype=bool)
        self.confirmed = np.zeros(cap, dtype=bool)
        self.flags = np.zeros(cap, dtype=np.int64)
        self.hits = np.zeros(cap, dtype=np.int64)
        self.opportunities = np.zeros(cap, dtype=np.int64)
        self.misses = np.zeros(cap, dtype=np.int64)
        self.n_updates = np.zeros(cap, dtype=np.int64)
        self.t_update = np.zeros(cap)
        self.nis_buf = np.zeros((cap, _NIS_WINDOW))
        self.dof_buf = np.zeros((cap, _NIS_WINDOW), dtype=np.int64)
        self.ids: list[str | None] = [None] * cap
        # which sensors / nations contributed, as bit masks over ``self._names``
        self.sensor_bits = np.zeros(cap, dtype=np.int64)
        self.nation_bits = np.zeros(cap, dtype=np.int64)
        if self.motion == "imm":
            # per-model 10-states (boost, ballistic) and mode probabilities
            self.XM = np.zeros((cap, 2, 10))
            self.PM = np.tile(np.eye(10), (cap, 2, 1, 1))
            self.MU = np.full((cap, 2), 0.5)

    def _grow(self) -> None:
        old = (self.X, self.P, self.T, self.alive, self.confirmed, self.flags, self.hits)
        old2 = (self.opportunities, self.misses, self.n_updates, self.t_update)
        old3 = (self.nis_buf, self.dof_buf, self.ids, self.sensor_bits, self.nation_bits)
        n = self.X.shape[0]
        old_imm = (self.XM, self.PM, self.MU) if self.motion == "imm" else None
        self._alloc(2 * n)
        if old_imm is not None:
            self.XM[:n], self.PM[:n], self.MU[:n] = old_imm
        for name, arr in zip(
            ("X", "P", "T", "alive", "confirmed", "flags", "hits"), old, strict=True
        ):
            getattr(self, name)[:n] = arr
        for name, arr in zip(
            ("opportunities", "misses", "n_updates", "t_update"), old2, strict=True
        ):
            getattr(self, name)[:n] = arr
        self.nis_buf[:n] = old3[0]
        self.dof_buf[:n] = old3[1]
        self.ids[:n] = old3[2]
        self.sensor_bits[:n] = old3[3]
        self.nation_bits[:n] = old3[4]

    def _new_track(self, x: FloatArray, P: FloatArray, t_s: float, plot: Plot) -> int:
        free = np.flatnonzero(~self.alive)
        if free.size == 0:
            self._grow()
            free = np.flatnonzero(~self.alive)
        i = int(free[0])
        self.X[i], self.P[i], self.T[i] = x, P, t_s
        if self.motion == "imm":
            st = ImmFilter(self.fp, self.imm_params).initial(x, P)
            self.XM[i] = np.array(st.x)
            self.PM[i] = np.array(st.P)
            self.MU[i] = st.mu
        self.alive[i] = True
        self.confirmed[i] = False
        self.flags[i] = 0
        # M-of-N counts the scans after the two initiating plots
        self.hits[i] = 0
        self.opportunities[i] = 0
        self.misses[i] = 0
        self.n_updates[i] = 0
        self.t_update[i] = t_s
        self.nis_buf[i] = 0.0
        self.dof_buf[i] = 0
        self.ids[i] = f"{self._prefix}-{self._next_id:05d}"
        self._next_id += 1
        self.sensor_bits[i] = self._bit(self._sensor_names, plot.sensor_id)
        self.nation_bits[i] = self._bit(self._nation_names, plot.nation)
        self.counters["tracks_started"] += 1
        return i

    @staticmethod
    def _bit(names: list[str], name: str) -> int:
        if name not in names:
            if len(names) >= 62:
                raise ValueError("more than 62 distinct sensors in one tracker")
            names.append(name)
        return 1 << names.index(name)

    @staticmethod
    def _names_of(names: list[str], bits: int) -> tuple[str, ...]:
        return tuple(sorted(n for k, n in enumerate(names) if bits >> k & 1))

    def _names_cached(self, names: list[str], bits: int) -> tuple[str, ...]:
        key = (id(names), len(names), bits)
        out = self._names_cache.get(key)
        if out is None:
            out = self._names_of(names, bits)
            self._names_cache[key] = out
        return out

    # -- public ----------------------------------------------------------------------------
    def register_sensor(self, sensor_id: str, coverage: SensorCoverage) -> None:
        self.coverage[sensor_id] = coverage

    def process(self, plots: Iterable[Plot]) -> None:
        """Feed plots (any sensors). They are sorted by time and processed one sensor scan at
        a time; plots older than what was already processed are rejected and counted, and so
        are plots with non-finite numbers or non-positive sigmas."""
        plist = list(plots)
        if not plist:
            return
        nan = math.nan
        table = np.array(
            [
                (
                    p.t_s, p.range_m, p.azimuth_rad, p.elevation_rad,
                    nan if p.range_rate_mps is None else p.range_rate_mps,
                    p.sigma_range_m, p.sigma_azimuth_rad, p.sigma_elevation_rad,
                    nan if p.sigma_range_rate_mps is None else p.sigma_range_rate_mps,
                    *p.sensor_ecef_m,
                )
                for p in plist
            ],
            dtype=np.float64,
        )  # fmt: skip
        has_rr = np.array([p.range_rate_mps is not None for p in plist])
        core = np.concatenate([table[:, :4], table[:, 5:8], table[:, 9:12]], axis=1)
        ok = np.isfinite(core).all(axis=1) & (table[:, 1] > 0.0) & (table[:, 5:8] > 0.0).all(1)
        ok &= ~has_rr | (np.isfinite(table[:, [4, 8]]).all(axis=1) & (table[:, 8] > 0.0))
        n_bad = int((~ok).sum())
        if n_bad:
            self.counters["rejected_non_finite"] += n_bad
        good = np.flatnonzero(ok)
        if good.size == 0:
            return
        codes: dict[str, int] = {}
        sensor_code = np.array([codes.setdefault(plist[i].sensor_id, len(codes)) for i in good])
        times = table[good, 0]
        # stable order by time, then sensor; one scan = one (time, sensor) group
        order = np.lexsort((sensor_code, times))
        t_o, c_o = times[order], sensor_code[order]
        cut = np.flatnonzero((np.diff(t_o) != 0.0) | (np.diff(c_o) != 0))
        starts = np.concatenate([[0], cut + 1])
        ends = np.concatenate([cut + 1, [order.size]])
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            rows = good[order[a:b]]
            self._scan([plist[i] for i in rows], table[rows], bool(has_rr[rows].all()))

    def _site(self, ecef: tuple[float, float, float]) -> Site:
        s = self._sites.get(ecef)
        if s is None:
            s = Site.from_ecef(ecef)
            self._sites[ecef] = s
        return s

    def _scan(self, plots: list[Plot], table: FloatArray, use_rr: bool) -> None:
        t = plots[0].t_s
        if t < self.t_last_s - 1e-9:
            self.counters["rejected_out_of_order"] += len(plots)
            return
        self.t_last_s = t
        self.counters["plots_in"] += len(plots)
        site = self._site(plots[0].sensor_ecef_m)
        m = 4 if use_rr else 3
        Z = np.ascontiguousarray(table[:, [1, 2, 3, 4][:m]])
        Rd = np.ascontiguousarray(table[:, [5, 6, 7, 8][:m]] ** 2)
        idx = np.flatnonzero(self.alive)
        fp = self.fp
        if self.motion == "imm":
            ip = self.imm_params
            imm_predict_all(
                self.XM, self.PM, self.MU, self.X, self.P, self.T, idx, t, fp.q_acc_m2_s3,
                fp.q_beta, fp.q_thrust, ip.boost_to_ballistic_per_s, ip.ballistic_to_boost_per_s,
            )  # fmt: skip
        else:
            predict_all(self.X, self.P, self.T, idx, t, fp.q_acc_m2_s3, fp.q_beta)
        cost, zpred = gate(
            self.X, self.P, idx, Z, Rd, site.ecef_m, site.rot_enu, use_rr, self._gate_d2[m],
            self._gate_d2[3], self.rr_max_vel_sigma_mps,
        )  # fmt: skip
        rows, cols = gnn_arrays(cost)
        used_plots = np.zeros(len(plots), dtype=bool)
        used_tracks = np.zeros(idx.shape[0], dtype=bool)
        if rows.size:
            tr = idx[rows]
            pl = cols
            if self.motion == "imm":
                nis, ok, dim = imm_update_all(
                    self.XM, self.PM, self.MU, self.X, self.P, tr, Z, Rd, pl, site.ecef_m,
                    site.rot_enu, use_rr, self.rr_max_vel_sigma_mps,
                )  # fmt: skip
            else:
                nis, ok, dim = update_all(
                    self.X, self.P, tr, Z, Rd, pl, site.ecef_m, site.rot_enu, use_rr,
                    self.rr_max_vel_sigma_mps,
                )  # fmt: skip
            used_plots[pl] = True
            used_tracks[rows] = True
            self._after_update(tr, nis, ok, dim, t, plots, pl)
        self._misses(idx[~used_tracks], zpred[~used_tracks], plots[0].sensor_id)
        self._initiate([p for p, u in zip(plots, used_plots, strict=True) if not u], site, t)
        self._housekeeping(t)

    def _after_update(
        self, tr: IntArray, nis: FloatArray, ok: FloatArray, dim: IntArray, t: float,
        plots: list[Plot], pl: IntArray,
    ) -> None:  # fmt: skip
        self.counters["plots_associated"] += tr.shape[0]
        self.hits[tr] += 1
        self.opportunities[tr] += 1
        self.misses[tr] = 0
        self.n_updates[tr] += 1
        self.t_update[tr] = t
        slot = self.n_updates[tr] % _NIS_WINDOW
        self.nis_buf[tr, slot] = nis
        self.dof_buf[tr, slot] = dim
        # one scan = one sensor of one nation
        self.sensor_bits[tr] |= self._bit(self._sensor_names, plots[0].sensor_id)
        self.nation_bits[tr] |= self._bit(self._nation_names, plots[0].nation)
        bad_psd = tr[ok < 0.5]
        self._flag(bad_psd, FlagReason.NON_PSD)
        full = tr[self.n_updates[tr] >= _NIS_WINDOW]
        if full.size:
            sums = self.nis_buf[full].sum(axis=1)
            dofs = self.dof_buf[full].sum(axis=1)
            limits = self._nis_limit[dofs]
            self._flag(full[sums > limits], FlagReason.NIS_HIGH)
            # an NIS flag (e.g. raised during boost, which the ballistic model does not
            # follow) clears once a whole window is consistent again; the count stays
            bit = _FLAG_BITS[FlagReason.NIS_HIGH]
            recovered = full[(sums <= limits) & ((self.flags[full] & bit) != 0)]
            if recovered.size:
                self.flags[recovered] &= ~bit
                self.counters["cleared_nis_out_of_bounds"] += int(recovered.size)
        newly = tr[
            ~self.confirmed[tr]
            & (self.hits[tr] >= self.ip.confirm_m)
            & (self.opportunities[tr] <= self.ip.confirm_n)
        ]
        if newly.size:
            self.confirmed[newly] = True
            self.counters["tracks_confirmed"] += int(newly.size)
            self._prune_duplicates(newly)

    def _flag(self, tracks: IntArray, reason: FlagReason) -> None:
        bit = _FLAG_BITS[reason]
        fresh = tracks[(self.flags[tracks] & bit) == 0]
        if fresh.size:
            self.flags[fresh] |= bit
            self.counters[f"flagged_{reason.value}"] += int(fresh.size)

    def _misses(self, tracks: IntArray, zpred: FloatArray, sensor_id: str) -> None:
        if tracks.size == 0:
            return
        cov = self.coverage.get(sensor_id, SensorCoverage())
        covered = (zpred[:, 0] <= cov.max_range_m) & (zpred[:, 2] >= cov.min_elevation_rad)
        missed = tracks[covered]
        self.misses[missed] += 1
        self.opportunities[missed] += 1

    def _initiate(self, plots: list[Plot], site: Site, t: float) -> None:
        self.candidates.expire(t)
        for p in plots:
            pos, R = plot_position(p, site)
            started = self.candidates.pair(pos, R, t, p.sensor_id)
            if started is not None:
                self._new_track(started[0], started[1], t, p)

    def _housekeeping(self, t: float) -> None:
        idx = np.flatnonzero(self.alive)
        if idx.size == 0:
            return
        finite: npt.NDArray[np.bool_] = np.asarray(
            np.isfinite(self.X[idx]).all(axis=1) & np.isfinite(self.P[idx]).all(axis=(1, 2))
        )
        self._flag(idx[~finite], FlagReason.NON_FINITE)
        self._flag(idx[finite & (psd_all(self.P, idx) < 0.5)], FlagReason.NON_PSD)
        pos_var = np.where(finite, np.trace(self.P[idx, :3, :3], axis1=1, axis2=2), np.inf)
        self._flag(idx[pos_var > self.ip.max_position_sigma_m**2], FlagReason.EXPLODING)
        tentative_dead = ~self.confirmed[idx] & (
            self.opportunities[idx] - self.hits[idx] > self.ip.confirm_n - self.ip.confirm_m
        )
        confirmed_dead = self.confirmed[idx] & (self.misses[idx] >= self.ip.delete_misses)
        stale = t - self.t_update[idx] > self.ip.stale_s
        below = finite & (_altitudes_m(np.where(finite[:, None], self.X[idx, :3], 1e7)) < -2000.0)
        for mask, why in (
            (tentative_dead, "deleted_unconfirmed"),
            (confirmed_dead, "deleted_misses"),
            (stale & ~tentative_dead & ~confirmed_dead, "deleted_stale"),
            (below & ~stale & ~tentative_dead & ~confirmed_dead, "deleted_below_ground"),
            (~finite & ~below & ~stale & ~tentative_dead & ~confirmed_dead, "deleted_diverged"),
        ):
            for i in idx[mask]:
                self._delete(int(i), why)

    def _delete(self, i: int, why: str) -> None:
        if not self.alive[i]:
            return
        self.counters[why] += 1
        if self.confirmed[i]:
            st = self._state(i)
            self.deleted.append(
                TrackState(
                    track_id=st.track_id, nation=st.nation, t_s=st.t_s, x=st.x, P=st.P,
                    status=TrackStatus.DELETED, flags=st.flags, n_updates=st.n_updates,
                    sensors=st.sensors, nations=st.nations,
                )
            )  # fmt: skip
        self.alive[i] = False

    def _prune_duplicates(self, newly: IntArray) -> None:
        """Delete the younger of two confirmed tracks whose position and velocity are
        statistically one (e.g. started from two sensors at once)."""
        others = np.flatnonzero(self.alive & self.confirmed)
        if others.size < 2:
            return
        lim = float(chi2.ppf(0.999, 6))
        d2 = pair_costs(
            np.ascontiguousarray(self.X[newly, :6]),
            np.ascontiguousarray(self.P[newly, :6, :6]),
            np.ascontiguousarray(self.X[others, :6]),
            np.ascontiguousarray(self.P[others, :6, :6]),
            lim,
        )
        for a, i in enumerate(newly):
            for b in np.flatnonzero(np.isfinite(d2[a])):
                j = others[b]
                if j == i or not self.alive[i] or not self.alive[j]:
                    continue
                young = i if self.n_updates[i] <= self.n_updates[j] else j
                self._delete(int(young), "deleted_duplicate")

    def _state(self, i: int) -> TrackState:
        fb = int(self.flags[i])
        flags = tuple(r for r, b in _FLAG_BITS.items() if fb & b) if fb else ()
        if flags:
            status = TrackStatus.FLAGGED
        elif self.confirmed[i]:
            status = TrackStatus.CONFIRMED
        else:
            status = TrackStatus.TENTATIVE
        ids = self.ids[i]
        assert ids is not None
        return TrackState(
            track_id=ids,
            nation=self.nation,
            t_s=float(self.T[i]),
            x=self.X[i].copy(),
            P=self.P[i].copy(),
            status=status,
            flags=flags,
            n_updates=int(self.n_updates[i]),
            sensors=self._names_cached(self._sensor_names, int(self.sensor_bits[i])),
            nations=self._names_cached(self._nation_names, int(self.nation_bits[i])),
            model_probs=(
                (float(self.MU[i, 0]), float(self.MU[i, 1])) if self.motion == "imm" else ()
            ),
        )

    def tracks(self, *, include_tentative: bool = False) -> list[TrackState]:
        """Live tracks (confirmed and flagged; tentative ones on request)."""
        keep = self.confirmed | include_tentative if include_tentative else self.confirmed
        idx = np.flatnonzero(self.alive & np.asarray(keep, dtype=bool))
        return [self._state(int(i)) for i in idx]
