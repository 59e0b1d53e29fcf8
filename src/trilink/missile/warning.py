"""Impact warnings: from a nation's fused picture to ``missile.warning`` issue/update/cancel.

Last stage of the missile flow: ``fuse`` gives each nation its fused tracks, ``track.estimate``
their impact prediction; ``assess`` turns one track and its estimate into a
``ThreatAssessment`` (zone probabilities, class, launch point) and ``WarningMachine.step`` runs
the per-threat state machine over the assessments of one cycle:

* **issue** once the prediction meets the configured confidence: the track has at least
  ``min_updates`` updates, is not flagged, the 95 % impact ellipse's semi-major axis is
  at most ``max_semi_major_m``, and the predicted impact stayed inside its own new ellipse for
  ``min_stable_cycles`` consecutive cycles, and no input track is in boost (IMM mode); and, when
  ``min_zone_probability`` > 0, the impact may fall inside Japan's EEZ or the flight may
  overfly Japan with at least that probability;
* **update** only on a material change: impact moved ≥ ``update_shift_m``, ellipse shrunk to
  ≤ ``update_semi_major_ratio`` of the last warned one, a zone probability changed by
  ≥ ``update_probability_delta`` (or crossed 50 %), impact time moved ≥ ``update_time_s``,
  or the class changed;
* **cancel** (all-clear) when the predicted impact time has passed, when the track has not
  been seen for ``lost_after_s`` ("track lost"; not with ``hold_until_impact``), or when,
  with ``min_zone_probability`` > 0, both zone probabilities fall below half of it ("outside
  all zones of interest").

A threat keeps its ``warning_id`` from issue to cancel. Threats are followed across changing
fused track ids (a fused id is ``F:`` + its national ids): a cycle's track belongs to the
threat that shares a national track id with it, else to an unseen threat whose impact lies
within ``rematch_distance_m``. Pure: no I/O, no clock (times are scenario seconds).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

from trilink.missile.estimates import classify_range, equivalent_max_range_km
from trilink.missile.frames import ecef_to_geodetic_nb
from trilink.missile.shaping import shape_name
from trilink.missile.track.dynamics import propagate
from trilink.missile.types import FloatArray, GroundEstimate, TrackEstimate, TrackState
from trilink.missile.types import TrackStatus as _Status
from trilink.model.payloads.missile import MissileWarningPayload

GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True, slots=True)
class WarningConfig:
    """When to issue, update and cancel (see the module docstring)."""

    max_semi_major_m: float = 50_000.0
    min_updates: int = 10
    min_stable_cycles: int = 3
    min_zone_probability: float = 0.0
    update_shift_m: float = 10_000.0
    update_semi_major_ratio: float = 0.6
    update_probability_delta: float = 0.15
    update_time_s: float = 20.0
    lost_after_s: float = 30.0
    hold_until_impact: bool = False
    """Keep a warning whose track vanished until its impact time (radar gaps near a lofted
    apogee) instead of cancelling it as lost after ``lost_after_s``."""
    impact_margin_s: float = 5.0
    rematch_distance_m: float = 150_000.0
    confidence: float = 0.95

    def __post_init__(self) -> None:
        checks = {
            "max_semi_major_m": self.max_semi_major_m > 0,
            "min_updates": self.min_updates >= 0,
            "min_stable_cycles": self.min_stable_cycles >= 0,
            "min_zone_probability": 0.0 <= self.min_zone_probability <= 1.0,
            "update_shift_m": self.update_shift_m > 0,
            "update_semi_major_ratio": 0.0 < self.update_semi_major_ratio < 1.0,
            "update_probability_delta": 0.0 < self.update_probability_delta <= 1.0,
            "update_time_s": self.update_time_s > 0,
            "lost_after_s": self.lost_after_s > 0,
            "impact_margin_s": self.impact_margin_s >= 0,
            "confidence": 0.0 < self.confidence < 1.0,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise ValueError(
                f"warning setting {bad[0]} = {getattr(self, bad[0])!r} is out of range"
            )


@dataclass(frozen=True, slots=True)
class ThreatAssessment:
    """One track of a nation's picture at one time, with what a warning needs."""

    track_id: str
    nations: tuple[str, ...]
    t_s: float
    n_updates: int
    flagged: bool
    impact: GroundEstimate | None
    launch: GroundEstimate | None
    p_impact_in_japan_eez: float
    p_overflies_japan: float
    apogee_km: float | None
    missile_class: str
    lofted: bool
    range_km: float = 0.0
    in_boost: bool = False
    """Some input track is still in powered flight (IMM boost mode): no warning yet."""
    label: str | None = None

    @property
    def national_ids(self) -> frozenset[str]:
        return national_ids(self.track_id)

    @property
    def time_to_impact_s(self) -> float | None:
        return None if self.impact is None else self.impact.t_s - self.t_s


def national_ids(track_id: str) -> frozenset[str]:
    """The national track ids inside a (possibly fused, ``F:a+b``) track id."""
    return frozenset(track_id.removeprefix("F:").split("+"))


@dataclass(frozen=True, slots=True)
class WarningEvent:
    """One warning report to publish: its payload and the label and tracks it derives from."""

    payload: MissileWarningPayload
    assessment: ThreatAssessment
    label: str | None

    @property
    def status(self) -> str:
        return self.payload.status


@dataclass
class _Threat:
    key: int
    ids: set[str]
    last: ThreatAssessment
    last_seen_s: float
    state: str = "pending"  # pending -> active -> closed (pending again after a zone cancel)
    warned: ThreatAssessment | None = None
    warning_id: str = ""
    n_warnings: int = 0
    stable: int = 0
    apogee_km: float | None = None
    missile_class: str = "unknown"
    launch: GroundEstimate | None = None
    events: list[str] = field(default_factory=list)


class WarningMachine:
    """The warning state machine of one nation's node."""

    def __init__(
        self,
        nation: str,
        config: WarningConfig | None = None,
        *,
        epoch_utc: dt.datetime,
        exercise: bool = False,
    ) -> None:
        if epoch_utc.tzinfo is None:
            raise ValueError("epoch_utc must be timezone-aware (UTC)")
        self.nation = nation
        self.config = config or WarningConfig()
        self.epoch_utc = epoch_utc
        self.exercise = exercise
        self.threats: list[_Threat] = []
        self._next = 1

    # -- association ------------------------------------------------------------------------
    def _match(self, a: ThreatAssessment, taken: set[int]) -> _Threat:
        ids = a.national_ids
        for th in self.threats:
            if th.state != "closed" and th.key not in taken and th.ids & ids:
                return th
        if a.impact is not None:
            best: tuple[float, _Threat] | None = None
            for th in self.threats:
                if th.state == "closed" or th.key in taken or th.last.impact is None:
                    continue
                if th.last_seen_s >= a.t_s:  # seen this cycle under another id: a different one
                    continue
                d = _distance_m(th.last.impact, a.impact)
                if d <= self.config.rematch_distance_m and (best is None or d < best[0]):
                    best = (d, th)
            if best is not None:
                return best[1]
        th = _Threat(key=self._next, ids=set(ids), last=a, last_seen_s=a.t_s)
        self._next += 1
        self.threats.append(th)
        return th

    # -- state machine ----------------------------------------------------------------------
    def step(self, t_s: float, assessments: Sequence[ThreatAssessment]) -> list[WarningEvent]:
        """Feed one cycle's assessments (one per track of the picture); returns the warnings."""
        cfg = self.config
        out: list[WarningEvent] = []
        taken: set[int] = set()
        for a in assessments:
            th = self._match(a, taken)
            taken.add(th.key)
            th.ids |= a.national_ids
            th.stable = self._stability(th, a)
            if a.apogee_km is not None:
                # past apogee the forward path's highest point is the current altitude
                th.apogee_km = max(a.apogee_km, th.apogee_km or 0.0)
            if not a.in_boost and not a.flagged:
                # energy falls in reentry (drag): keep the largest class seen after burnout;
                # the launch point back-propagated from the earliest state is the best one
                if _CLASS_RANK.get(a.missile_class, 0) > _CLASS_RANK.get(th.missile_class, 0):
                    th.missile_class = a.missile_class
                if th.launch is None and a.launch is not None:
                    th.launch = a.launch
            if a.impact is not None or th.last.impact is None:
                th.last = a
            th.last_seen_s = t_s
            if a.flagged or a.impact is None:
                continue  # a flagged or impact-less track never drives a warning
            if th.state == "active" and th.warned is not None:
                if t_s >= th.warned.impact.t_s + cfg.impact_margin_s:  # type: ignore[union-attr]
                    continue  # handled as "impact passed" below
                if self._outside_zones(a):
                    out.append(self._event(th, "cancel", a, t_s, _outside_reason(cfg)))
                    th.state = "pending"
                    th.warned = None
                    continue
                why = self._material_change(th.warned, a)
                if why and self._meets(a, th, stable=False):
                    out.append(self._event(th, "update", a, t_s, why))
                    th.warned = a
            elif th.state == "pending" and self._meets(a, th) and self._relevant(a):
                th.n_warnings += 1
                th.warning_id = f"{self.nation}-W{th.key:03d}" + (
                    f"-{th.n_warnings}" if th.n_warnings > 1 else ""
                )
                out.append(self._event(th, "issue", a, t_s, self._issue_reason(a)))
                th.state = "active"
                th.warned = a
        for th in self.threats:
            if th.state != "active" or th.warned is None:
                continue
            impact_t = (th.last.impact or th.warned.impact or _NEVER).t_s
            if t_s >= impact_t + cfg.impact_margin_s:
                reason = f"all clear: predicted impact time T+{impact_t:.0f} s has passed"
                out.append(self._event(th, "cancel", th.last, t_s, reason))
                th.state = "closed"
            elif t_s - th.last_seen_s > cfg.lost_after_s and not cfg.hold_until_impact:
                reason = f"track lost: no track for {t_s - th.last_seen_s:.0f} s"
                out.append(self._event(th, "cancel", th.last, t_s, reason))
                th.state = "closed"
        return out

    def _stability(self, th: _Threat, a: ThreatAssessment) -> int:
        """Consecutive cycles whose impact stayed inside the new 95 % ellipse: in boost the
        ballistic prediction runs ahead every cycle with a small ellipse, so it never counts."""
        old, new = th.last.impact, a.impact
        if old is None or new is None or a is th.last or a.flagged:
            return 0
        return th.stable + 1 if _distance_m(old, new) <= new.semi_major_m else 0

    def _meets(self, a: ThreatAssessment, th: _Threat, *, stable: bool = True) -> bool:
        """Confidence to issue (``stable``: also the stability rule) or to update: a jump of
        an issued prediction is news, so updates do not wait for it to settle again."""
        cfg = self.config
        return (
            a.impact is not None
            and not a.flagged
            and not a.in_boost
            and a.n_updates >= cfg.min_updates
            and (not stable or th.stable >= cfg.min_stable_cycles)
            and a.impact.semi_major_m <= cfg.max_semi_major_m
            and (a.time_to_impact_s or 0.0) > 0.0
        )

    def _relevant(self, a: ThreatAssessment) -> bool:
        p = max(a.p_impact_in_japan_eez, a.p_overflies_japan)
        return p >= self.config.min_zone_probability

    def _outside_zones(self, a: ThreatAssessment) -> bool:
        floor = self.config.min_zone_probability
        return floor > 0.0 and max(a.p_impact_in_japan_eez, a.p_overflies_japan) < 0.5 * floor

    def _issue_reason(self, a: ThreatAssessment) -> str:
        assert a.impact is not None
        return (
            f"impact predicted with a 95 % ellipse of {a.impact.semi_major_m / 1e3:.1f} km "
            f"(≤ {self.config.max_semi_major_m / 1e3:.0f} km) after {a.n_updates} updates, "
            f"stable for {self.config.min_stable_cycles} cycles"
        )

    def _material_change(self, old: ThreatAssessment, new: ThreatAssessment) -> str:
        cfg = self.config
        assert old.impact is not None and new.impact is not None
        why: list[str] = []
        moved = _distance_m(old.impact, new.impact)
        if moved >= cfg.update_shift_m:
            why.append(f"impact moved {moved / 1e3:.1f} km")
        if new.impact.semi_major_m <= cfg.update_semi_major_ratio * old.impact.semi_major_m:
            why.append(
                f"ellipse {old.impact.semi_major_m / 1e3:.1f} → "
                f"{new.impact.semi_major_m / 1e3:.1f} km"
            )
        for name, po, pn in (
            ("P(impact in Japan's EEZ)", old.p_impact_in_japan_eez, new.p_impact_in_japan_eez),
            ("P(overflies Japan)", old.p_overflies_japan, new.p_overflies_japan),
        ):
            if abs(pn - po) >= cfg.update_probability_delta or (po >= 0.5) != (pn >= 0.5):
                why.append(f"{name} {po:.2f} → {pn:.2f}")
        if abs(new.impact.t_s - old.impact.t_s) >= cfg.update_time_s:
            why.append(f"impact time moved {new.impact.t_s - old.impact.t_s:+.0f} s")
        if new.missile_class != old.missile_class:
            why.append(f"class {old.missile_class} → {new.missile_class}")
        return "; ".join(why)

    def _event(
        self, th: _Threat, status: str, a: ThreatAssessment, t_s: float, reason: str
    ) -> WarningEvent:
        th.events.append(status)
        if th.apogee_km is not None:
            lofted = a.range_km > 0.0 and shape_name(a.range_km, th.apogee_km) == "lofted"
            a = replace(a, apogee_km=th.apogee_km, lofted=lofted)
        if th.missile_class != "unknown":
            a = replace(a, missile_class=th.missile_class)
        if th.launch is not None:
            a = replace(a, launch=th.launch)
        payload = warning_payload(
            th.warning_id,
            status,
            a,
            t_s,
            epoch_utc=self.epoch_utc,
            confidence=self.config.confidence,
            reason=reason,
            exercise=self.exercise,
            track_ids=sorted(th.ids),
        )
        return WarningEvent(payload=payload, assessment=a, label=a.label)


_CLASS_RANK = {"unknown": 0, "SRBM": 1, "MRBM": 2, "IRBM": 3, "ICBM": 4}
_NEVER = GroundEstimate(
    t_s=math.inf, sigma_t_s=0.0, lat_deg=0.0, lon_deg=0.0, cov_en_m2=(0.0, 0.0, 0.0),
    semi_major_m=0.0, semi_minor_m=0.0, major_azimuth_deg=0.0,
)  # fmt: skip


def _outside_reason(cfg: WarningConfig) -> str:
    return (
        "all clear: impact now predicted outside Japan's EEZ and no overflight "
        f"(both probabilities below {0.5 * cfg.min_zone_probability:.2f})"
    )


def _distance_m(a: GroundEstimate, b: GroundEstimate) -> float:
    _, _, d = GEOD.inv(a.lon_deg, a.lat_deg, b.lon_deg, b.lat_deg)
    return float(d)


def _iso(epoch_utc: dt.datetime, t_s: float) -> str:
    return (epoch_utc + dt.timedelta(seconds=t_s)).astimezone(dt.UTC).isoformat()


def warning_payload(
    warning_id: str,
    status: str,
    a: ThreatAssessment,
    t_s: float,
    *,
    epoch_utc: dt.datetime,
    confidence: float,
    reason: str,
    exercise: bool,
    track_ids: Sequence[str] | None = None,
) -> MissileWarningPayload:
    """The ``missile.warning`` payload of an assessment (``status`` issue/update/cancel)."""
    imp = a.impact or _NEVER
    impact_t = imp.t_s if math.isfinite(imp.t_s) else t_s
    launch = a.launch
    return MissileWarningPayload(
        warning_id=warning_id,
        status=status,  # type: ignore[arg-type]
        time=_iso(epoch_utc, t_s),
        track_ids=list(track_ids if track_ids is not None else sorted(a.national_ids)),
        nations=sorted(set(a.nations)),  # type: ignore[arg-type]
        impact_lat=round(imp.lat_deg, 6),
        impact_lon=round(imp.lon_deg, 6),
        ellipse_semi_major_m=round(imp.semi_major_m, 1),
        ellipse_semi_minor_m=round(min(imp.semi_minor_m, imp.semi_major_m), 1),
        ellipse_orientation_deg=round(imp.major_azimuth_deg, 2),
        impact_time=_iso(epoch_utc, impact_t),
        time_to_impact_s=round(max(impact_t - t_s, 0.0), 1),
        p_impact_in_japan_eez=round(a.p_impact_in_japan_eez, 4),
        p_overflies_japan=round(a.p_overflies_japan, 4),
        launch_lat=None if launch is None else round(launch.lat_deg, 5),
        launch_lon=None if launch is None else round(launch.lon_deg, 5),
        launch_time=None if launch is None else _iso(epoch_utc, launch.t_s),
        missile_class=a.missile_class,  # type: ignore[arg-type]
        lofted=a.lofted,
        apogee_km=None if a.apogee_km is None else round(a.apogee_km, 1),
        confidence=confidence,
        reason=reason,
        exercise=exercise,
    )


# ------------------------------------------------------------------- assessment of one track


@dataclass(frozen=True, slots=True)
class JapanZones:
    """Japan's EEZ outer limit and territory (land + territorial sea), lon/lat, prepared."""

    eez: BaseGeometry
    territory: BaseGeometry

    @classmethod
    def of(cls, eez: BaseGeometry, territory: BaseGeometry) -> JapanZones:
        eez, territory = shapely.make_valid(eez), shapely.make_valid(territory)
        shapely.prepare(eez)
        shapely.prepare(territory)
        return cls(eez=eez, territory=territory)


def _mean_path(x: FloatArray, t_s: float, impact: GroundEstimate, step_s: float) -> FloatArray:
    """(n, 2) lon/lat of the mean forward path from the state to the predicted impact."""
    s = np.ascontiguousarray(x, dtype=np.float64)
    pts = []
    lat, lon, _ = ecef_to_geodetic_nb(float(s[0]), float(s[1]), float(s[2]))
    pts.append((math.degrees(lon), math.degrees(lat)))
    remaining = impact.t_s - t_s
    while remaining > step_s:
        s = propagate(s, step_s, False)
        remaining -= step_s
        lat, lon, h = ecef_to_geodetic_nb(float(s[0]), float(s[1]), float(s[2]))
        if not math.isfinite(h) or h <= 0.0:
            break
        pts.append((math.degrees(lon), math.degrees(lat)))
    pts.append((impact.lon_deg, impact.lat_deg))
    return np.asarray(pts, dtype=np.float64)


def zone_probabilities(
    state: TrackState,
    impact: GroundEstimate,
    zones: JapanZones,
    rng: np.random.Generator,
    *,
    launch: GroundEstimate | None = None,
    n_samples: int = 400,
    path_step_s: float = 20.0,
) -> tuple[float, float]:
    """(P(impact inside Japan's EEZ), P(flight overflies Japan's territory)).

    Impact points are drawn from the 95 % ellipse's Gaussian. Overflight: the flown part is
    the straight lon/lat segment from the estimated launch point to the track's sub-point
    (a launch point inside the territory is not an overflight); the rest is the mean forward
    path, bent linearly in time towards each sampled impact point (the error grows with time
    of flight). Probabilities are Monte-Carlo fractions (± ~2.5 % at 400 samples).
    """
    cov = np.array(
        [[impact.cov_en_m2[0], impact.cov_en_m2[1]], [impact.cov_en_m2[1], impact.cov_en_m2[2]]]
    )
    en = rng.multivariate_normal(np.zeros(2), cov, size=n_samples, method="eigh")
    dist = np.hypot(en[:, 0], en[:, 1])
    az = np.degrees(np.arctan2(en[:, 0], en[:, 1]))
    lons, lats, _ = GEOD.fwd(
        np.full(n_samples, impact.lon_deg), np.full(n_samples, impact.lat_deg), az, dist
    )
    lons = np.asarray(lons, dtype=np.float64)
    lats = np.asarray(lats, dtype=np.float64)
    p_eez = float(np.mean(shapely.intersects(zones.eez, shapely.points(lons, lats))))
    path = _mean_path(state.x, state.t_s, impact, path_step_s)
    frac = np.linspace(0.0, 1.0, path.shape[0])[None, :]
    dlon = (lons - impact.lon_deg)[:, None] * frac
    dlat = (lats - impact.lat_deg)[:, None] * frac
    coords = np.stack([path[None, :, 0] + dlon, path[None, :, 1] + dlat], axis=-1)
    if launch is not None and not shapely.intersects(
        zones.territory, shapely.Point(launch.lon_deg, launch.lat_deg)
    ):
        # a launch from inside the territory is not an overflight: then only the rest counts
        head = np.broadcast_to(np.array([launch.lon_deg, launch.lat_deg]), (n_samples, 1, 2))
        coords = np.concatenate([head, coords], axis=1)
    crossed = shapely.intersects(zones.territory, shapely.linestrings(coords))
    return p_eez, float(np.mean(crossed))


def assess(
    state: TrackState,
    estimate: TrackEstimate,
    zones: JapanZones | None,
    rng: np.random.Generator,
    *,
    n_samples: int = 400,
    in_boost: bool = False,
) -> ThreatAssessment:
    """What the warning machine needs from one (fused) track and its estimate."""
    impact, launch = estimate.impact, estimate.launch
    p_eez = p_over = 0.0
    if zones is not None and impact is not None:
        p_eez, p_over = zone_probabilities(
            state, impact, zones, rng, launch=launch, n_samples=n_samples
        )
    r = float(np.linalg.norm(state.x[:3]))
    v = float(np.linalg.norm(state.x[3:6]))
    max_range = equivalent_max_range_km(r, v) if math.isfinite(r * v) else 0.0
    range_km = 0.0
    if impact is not None and launch is not None:
        _, _, d = GEOD.inv(launch.lon_deg, launch.lat_deg, impact.lon_deg, impact.lat_deg)
        range_km = float(d) / 1e3
    apogee_km = None if estimate.apogee_alt_m is None else estimate.apogee_alt_m / 1e3
    lofted = bool(
        apogee_km is not None and range_km > 0.0 and shape_name(range_km, apogee_km) == "lofted"
    )
    cls = classify_range(max(max_range, range_km)) if (max_range or range_km) else "unknown"
    return ThreatAssessment(
        track_id=state.track_id,
        nations=tuple(state.nations or (state.nation,)),
        t_s=state.t_s,
        n_updates=state.n_updates,
        flagged=state.status is _Status.FLAGGED,
        impact=impact,
        launch=launch,
        p_impact_in_japan_eez=p_eez,
        p_overflies_japan=p_over,
        apogee_km=apogee_km,
        missile_class=cls,
        lofted=lofted,
        range_km=range_km,
        in_boost=in_boost or bool(state.model_probs and state.model_probs[0] > 0.5),
        label=state.label,
    )
