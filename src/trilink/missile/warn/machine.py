"""The warning state machine of one nation: assessments to ``missile.warning`` issue/update/cancel.

Last stage of the missile flow: ``fuse`` gives each nation its fused tracks, ``track.estimate``
their impact prediction; ``warn.assess`` turns one track and its estimate into a
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

from pyproj import Geod

from trilink.missile.kepler import shape_name
from trilink.missile.types import GroundEstimate
from trilink.missile.warn.assess import ThreatAssessment
from trilink.missile.warn.payload import warning_payload
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
            impact = th.last.impact or th.warned.impact
            impact_t = math.inf if impact is None else impact.t_s
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


def _outside_reason(cfg: WarningConfig) -> str:
    return (
        "all clear: impact now predicted outside Japan's EEZ and no overflight "
        f"(both probabilities below {0.5 * cfg.min_zone_probability:.2f})"
    )


def _distance_m(a: GroundEstimate, b: GroundEstimate) -> float:
    _, _, d = GEOD.inv(a.lon_deg, a.lat_deg, b.lon_deg, b.lat_deg)
    return float(d)
