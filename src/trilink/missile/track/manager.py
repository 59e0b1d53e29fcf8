"""Multi-target tracker of one nation (or of everyone, for centralised fusion).

Place in the flow: sensor plots -> ``TrackManager.process`` -> ``TrackManager.tracks()`` ->
shared as ``missile.track`` reports and fused (``trilink.missile.fuse``). Per sensor scan:
predict all live tracks to the scan time, gate and assign plots by GNN, update them with the
filter the manager was given (``filter.TrackFilter``: EKF by default, UKF or IMM), count
covered misses, start candidates/tentative tracks from the leftovers, confirm (M of N),
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

import numba as nb
import numpy as np
import numpy.typing as npt
from scipy.stats import chi2

from trilink.missile.track.associate import gate, gnn_arrays, pair_costs
from trilink.missile.track.dynamics import approx_altitude_m
from trilink.missile.track.ekf import EkfFilter, cholesky_ok_into
from trilink.missile.track.filter import TrackFilter
from trilink.missile.track.initiate import CandidateStore, InitiationParams, plot_position
from trilink.missile.track.measure import Site
from trilink.missile.types import (
    FlagReason,
    FloatArray,
    IntArray,
    Plot,
    PlotScan,
    SensorCoverage,
    TrackState,
    TrackStatus,
)

_NIS_WINDOW = 10
_FLAG_BITS = {
    FlagReason.NON_PSD: 1,
    FlagReason.EXPLODING: 2,
    FlagReason.NIS_HIGH: 4,
    FlagReason.NON_FINITE: 8,
}


def _valid_rows(
    z: FloatArray, sigma: FloatArray, has_rr: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """Plots a tracker may use: finite numbers, positive range and sigmas (range-rate checked
    only where the plot has it)."""
    ok: npt.NDArray[np.bool_] = (
        np.isfinite(z[:, :3]).all(axis=1)
        & np.isfinite(sigma[:, :3]).all(axis=1)
        & (z[:, 0] > 0.0)
        & (sigma[:, :3] > 0.0).all(axis=1)
    )
    rr_ok_ = np.isfinite(z[:, 3]) & np.isfinite(sigma[:, 3]) & (sigma[:, 3] > 0.0)
    return ok & (~has_rr | rr_ok_)


# flag bit -> index into the fresh-flag counts returned by the kernels below
_BIT_ORDER = (FlagReason.NON_PSD, FlagReason.EXPLODING, FlagReason.NIS_HIGH, FlagReason.NON_FINITE)

# deletion reasons returned by ``_health``, in order of precedence
_DELETE_REASONS = (
    "",
    "deleted_unconfirmed",
    "deleted_misses",
    "deleted_stale",
    "deleted_below_ground",
    "deleted_diverged",
)


@nb.njit(cache=True)
def _set_flag(flags: IntArray, i: int, bit: int, fresh: IntArray, slot: int) -> None:
    if flags[i] & bit == 0:
        flags[i] |= bit
        fresh[slot] += 1


@nb.njit(cache=True)
def _after_update_kernel(
    tr: IntArray, nis: FloatArray, ok: FloatArray, dim: IntArray, t: float,
    sensor_bit: int, nation_bit: int, hits: IntArray, opportunities: IntArray,
    misses: IntArray, n_updates: IntArray, t_update: FloatArray, nis_buf: FloatArray,
    dof_buf: IntArray, sensor_bits: IntArray, nation_bits: IntArray, flags: IntArray,
    confirmed: npt.NDArray[np.bool_], nis_limit: FloatArray, confirm_m: int, confirm_n: int,
) -> tuple[IntArray, int, IntArray]:  # fmt: skip
    """Bookkeeping of the tracks just updated: counts, NIS window, flags, confirmation.
    Returns the fresh flags per ``_BIT_ORDER``, the number of NIS flags cleared and the
    newly confirmed tracks."""
    fresh = np.zeros(4, dtype=np.int64)
    recovered = 0
    newly = np.empty(tr.shape[0], dtype=np.int64)
    n_new = 0
    nis_bit = 4
    for k in range(tr.shape[0]):
        i = tr[k]
        hits[i] += 1
        opportunities[i] += 1
        misses[i] = 0
        n_updates[i] += 1
        t_update[i] = t
        slot = n_updates[i] % nis_buf.shape[1]
        nis_buf[i, slot] = nis[k]
        dof_buf[i, slot] = dim[k]
        sensor_bits[i] |= sensor_bit
        nation_bits[i] |= nation_bit
        if ok[k] < 0.5:
            _set_flag(flags, i, 1, fresh, 0)
        if n_updates[i] >= nis_buf.shape[1]:
            total = 0.0
            dofs = 0
            for j in range(nis_buf.shape[1]):
                total += nis_buf[i, j]
                dofs += dof_buf[i, j]
            if total > nis_limit[dofs]:
                _set_flag(flags, i, nis_bit, fresh, 2)
            elif flags[i] & nis_bit:
                # an NIS flag (e.g. raised during boost, which the ballistic model does not
                # follow) clears once a whole window is consistent again; the count stays
                flags[i] &= ~nis_bit
                recovered += 1
        if not confirmed[i] and hits[i] >= confirm_m and opportunities[i] <= confirm_n:
            confirmed[i] = True
            newly[n_new] = i
            n_new += 1
    return fresh, recovered, newly[:n_new]


@nb.njit(cache=True)
def _health(
    X: FloatArray, P: FloatArray, idx: IntArray, t: float, flags: IntArray,
    confirmed: npt.NDArray[np.bool_], hits: IntArray, opportunities: IntArray,
    misses: IntArray, t_update: FloatArray, max_position_var: float, tentative_slack: int,
    delete_misses: int, stale_s: float,
) -> tuple[IntArray, IntArray]:  # fmt: skip
    """Health checks and deletion decisions of the live tracks ``idx``: sets flags (fresh
    ones counted per ``_BIT_ORDER``) and returns, per track, the index of its deletion reason
    in ``_DELETE_REASONS`` (0: keep)."""
    fresh = np.zeros(4, dtype=np.int64)
    reason = np.zeros(idx.shape[0], dtype=np.int64)
    n = X.shape[1]
    L = np.empty((n, n))
    for a in range(idx.shape[0]):
        i = idx[a]
        finite = True
        for r in range(n):
            if not math.isfinite(X[i, r]):
                finite = False
            for c in range(n):
                if not math.isfinite(P[i, r, c]):
                    finite = False
        if not finite:
            _set_flag(flags, i, 8, fresh, 3)
        elif not cholesky_ok_into(P[i], L):
            _set_flag(flags, i, 1, fresh, 0)
        pos_var = P[i, 0, 0] + P[i, 1, 1] + P[i, 2, 2] if finite else np.inf
        if pos_var > max_position_var:
            _set_flag(flags, i, 2, fresh, 1)
        if not confirmed[i] and opportunities[i] - hits[i] > tentative_slack:
            reason[a] = 1
        elif confirmed[i] and misses[i] >= delete_misses:
            reason[a] = 2
        elif t - t_update[i] > stale_s:
            reason[a] = 3
        elif finite and approx_altitude_m(X[i, 0], X[i, 1], X[i, 2]) < -2000.0:
            reason[a] = 4
        elif not finite:
            reason[a] = 5
    return fresh, reason


class TrackManager:
    """GNN multi-target tracker with initiation, confirmation, deletion and health checks;
    ``filter`` predicts and updates the tracks (``EkfFilter()`` if not given)."""

    def __init__(
        self,
        nation: str,
        *,
        filter: TrackFilter | None = None,
        init_params: InitiationParams | None = None,
        gate_probability: float = 0.9999,
        capacity: int = 256,
        id_prefix: str | None = None,
        rr_max_vel_sigma_mps: float = 150.0,
    ) -> None:
        self.filter = filter or EkfFilter()
        self.nation = nation
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
        # bit masks -> sorted names; names are only ever appended, so a mask's names never change
        self._sensor_sets: dict[int, tuple[str, ...]] = {}
        self._nation_sets: dict[int, tuple[str, ...]] = {}
        self._flag_tuples: dict[int, tuple[FlagReason, ...]] = {}
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
        self.filter_slots = self.filter.slots(cap)

    def _grow(self) -> None:
        old = (self.X, self.P, self.T, self.alive, self.confirmed, self.flags, self.hits)
        old2 = (self.opportunities, self.misses, self.n_updates, self.t_update)
        old3 = (self.nis_buf, self.dof_buf, self.ids, self.sensor_bits, self.nation_bits)
        n = self.X.shape[0]
        old_slots = self.filter_slots
        self._alloc(2 * n)
        for key, rows in old_slots.items():
            self.filter_slots[key][:n] = rows
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
        self.filter.start(self.filter_slots, i, x, P)
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
    def _names(names: list[str], cache: dict[int, tuple[str, ...]], bits: int) -> tuple[str, ...]:
        out = cache.get(bits)
        if out is None:
            out = tuple(sorted(n for k, n in enumerate(names) if bits >> k & 1))
            cache[bits] = out
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
        codes: dict[str, int] = {}
        code = codes.setdefault
        # one pass over the plots: time, z (4), sigma (4), sensor code, has range-rate
        table = np.array(
            [
                (
                    p.t_s, p.range_m, p.azimuth_rad, p.elevation_rad,
                    nan if p.range_rate_mps is None else p.range_rate_mps,
                    p.sigma_range_m, p.sigma_azimuth_rad, p.sigma_elevation_rad,
                    nan if p.sigma_range_rate_mps is None else p.sigma_range_rate_mps,
                    code(p.sensor_id, len(codes)), p.range_rate_mps is not None,
                )
                for p in plist
            ],
            dtype=np.float64,
        )  # fmt: skip
        has_rr = table[:, 10] > 0.5
        ecef = np.array([p.sensor_ecef_m for p in plist], dtype=np.float64)
        ok = _valid_rows(table[:, 1:5], table[:, 5:9], has_rr)
        ok &= np.isfinite(table[:, 0]) & np.isfinite(ecef).all(axis=1)
        good = self._count_rejected(ok)
        if good.size == 0:
            return
        sensor_code = table[good, 9]
        times = table[good, 0]
        # stable order by time, then sensor; one scan = one (time, sensor) group
        order = np.lexsort((sensor_code, times))
        t_o, c_o = times[order], sensor_code[order]
        cut = np.flatnonzero((np.diff(t_o) != 0.0) | (np.diff(c_o) != 0))
        starts = np.concatenate([[0], cut + 1])
        ends = np.concatenate([cut + 1, [order.size]])
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            rows = good[order[a:b]]
            first = plist[int(rows[0])]
            self._scan(
                PlotScan(
                    first.sensor_id, first.nation, first.t_s, first.sensor_ecef_m,
                    table[rows, 1:5], table[rows, 5:9], bool(has_rr[rows].all()),
                )
            )  # fmt: skip

    def process_scan(self, scan: PlotScan) -> None:
        """Feed one sensor scan given as columns (same checks as ``process``)."""
        if len(scan) == 0:
            return
        if not (math.isfinite(scan.t_s) and all(math.isfinite(v) for v in scan.sensor_ecef_m)):
            self.counters["rejected_non_finite"] += len(scan)
            return
        ok = _valid_rows(scan.z, scan.sigma, np.full(len(scan), scan.has_range_rate))
        good = self._count_rejected(ok)
        if good.size == 0:
            return
        if good.size < len(scan):
            scan = PlotScan(
                scan.sensor_id, scan.nation, scan.t_s, scan.sensor_ecef_m, scan.z[good],
                scan.sigma[good], scan.has_range_rate,
            )  # fmt: skip
        self._scan(scan)

    def _count_rejected(self, ok: npt.NDArray[np.bool_]) -> IntArray:
        n_bad = int((~ok).sum())
        if n_bad:
            self.counters["rejected_non_finite"] += n_bad
        return np.flatnonzero(ok)

    def _site(self, ecef: tuple[float, float, float]) -> Site:
        s = self._sites.get(ecef)
        if s is None:
            s = Site.from_ecef(ecef)
            self._sites[ecef] = s
        return s

    def _scan(self, scan: PlotScan) -> None:
        t = scan.t_s
        if t < self.t_last_s - 1e-9:
            self.counters["rejected_out_of_order"] += len(scan)
            return
        self.t_last_s = t
        self.counters["plots_in"] += len(scan)
        site = self._site(scan.sensor_ecef_m)
        use_rr = scan.has_range_rate
        m = 4 if use_rr else 3
        Z = np.ascontiguousarray(scan.z[:, :m])
        Rd = np.ascontiguousarray(scan.sigma[:, :m] ** 2)
        idx = np.flatnonzero(self.alive)
        self.filter.predict_tracks(self.filter_slots, self.X, self.P, self.T, idx, t)
        cost, zpred = gate(
            self.X, self.P, idx, Z, Rd, site.ecef_m, site.rot_enu, use_rr, self._gate_d2[m],
            self._gate_d2[3], self.rr_max_vel_sigma_mps,
        )  # fmt: skip
        assigned, cols = gnn_arrays(cost)
        used_plots = np.zeros(len(scan), dtype=bool)
        used_tracks = np.zeros(idx.shape[0], dtype=bool)
        if assigned.size:
            tr = idx[assigned]
            pl = cols
            nis, ok, dim = self.filter.update_tracks(
                self.filter_slots, self.X, self.P, tr, Z, Rd, pl, site.ecef_m, site.rot_enu,
                use_rr, self.rr_max_vel_sigma_mps,
            )  # fmt: skip
            used_plots[pl] = True
            used_tracks[assigned] = True
            self._after_update(tr, nis, ok, dim, t, scan.sensor_id, scan.nation)
        self._misses(idx[~used_tracks], zpred[~used_tracks], scan.sensor_id)
        self._initiate([scan.plot(k) for k in np.flatnonzero(~used_plots).tolist()], site, t)
        self._housekeeping(t)

    def _after_update(
        self, tr: IntArray, nis: FloatArray, ok: FloatArray, dim: IntArray, t: float,
        sensor_id: str, nation: str,
    ) -> None:  # fmt: skip
        self.counters["plots_associated"] += tr.shape[0]
        # one scan = one sensor of one nation
        fresh, recovered, newly = _after_update_kernel(
            tr, nis, ok, dim, t, self._bit(self._sensor_names, sensor_id),
            self._bit(self._nation_names, nation), self.hits, self.opportunities,
            self.misses, self.n_updates, self.t_update, self.nis_buf, self.dof_buf,
            self.sensor_bits, self.nation_bits, self.flags, self.confirmed, self._nis_limit,
            self.ip.confirm_m, self.ip.confirm_n,
        )  # fmt: skip
        self._count_flags(fresh)
        if recovered:
            self.counters["cleared_nis_out_of_bounds"] += recovered
        if newly.size:
            self.counters["tracks_confirmed"] += int(newly.size)
            self._prune_duplicates(newly)

    def _count_flags(self, fresh: IntArray) -> None:
        for reason, n in zip(_BIT_ORDER, fresh.tolist(), strict=True):
            if n:
                self.counters[f"flagged_{reason.value}"] += n

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
        ip = self.ip
        fresh, reason = _health(
            self.X, self.P, idx, t, self.flags, self.confirmed, self.hits, self.opportunities,
            self.misses, self.t_update, ip.max_position_sigma_m**2,
            ip.confirm_n - ip.confirm_m, ip.delete_misses, ip.stale_s,
        )  # fmt: skip
        self._count_flags(fresh)
        for a in np.flatnonzero(reason).tolist():
            self._delete(int(idx[a]), _DELETE_REASONS[int(reason[a])])

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
        return self._states(np.array([i], dtype=np.int64))[0]

    def _flag_tuple(self, bits: int) -> tuple[FlagReason, ...]:
        out = self._flag_tuples.get(bits)
        if out is None:
            out = tuple(r for r, b in _FLAG_BITS.items() if bits & b)
            self._flag_tuples[bits] = out
        return out

    def _states(self, idx: IntArray) -> list[TrackState]:
        # one copy of the rows for all the states (each state views its own row)
        X, P = self.X[idx], self.P[idx]
        T, n_updates = self.T[idx].tolist(), self.n_updates[idx].tolist()
        flags, confirmed = self.flags[idx].tolist(), self.confirmed[idx].tolist()
        sbits, nbits = self.sensor_bits[idx].tolist(), self.nation_bits[idx].tolist()
        mu = self.filter.mode_probabilities(self.filter_slots, idx)
        names, nation, ids = self._names, self.nation, self.ids
        sensor_names, nation_names = self._sensor_names, self._nation_names
        sensor_sets, nation_sets = self._sensor_sets, self._nation_sets
        flagged, conf, tent = TrackStatus.FLAGGED, TrackStatus.CONFIRMED, TrackStatus.TENTATIVE
        out = []
        for k, i in enumerate(idx.tolist()):
            fl = self._flag_tuple(flags[k]) if flags[k] else ()
            track_id = ids[i]
            assert track_id is not None
            out.append(
                TrackState(
                    track_id, nation, T[k], X[k], P[k],
                    flagged if fl else conf if confirmed[k] else tent, fl, n_updates[k],
                    sensor_sets.get(sbits[k]) or names(sensor_names, sensor_sets, sbits[k]),
                    nation_sets.get(nbits[k]) or names(nation_names, nation_sets, nbits[k]),
                    None, mu[k] if mu is not None else (),
                )
            )  # fmt: skip
        return out

    def tracks(self, *, include_tentative: bool = False) -> list[TrackState]:
        """Live tracks (confirmed and flagged; tentative ones on request)."""
        keep = self.alive if include_tentative else self.alive & self.confirmed
        return self._states(np.flatnonzero(keep))
