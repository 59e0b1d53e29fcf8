"""One nation's missile-warning pipeline, as a pure object: its own radars' plots and the partner
tracks its node holds in, its tracks, fused picture, assessments and warnings out.

Place in the flow (one per nation)::

    own plots ─► TrackManager (the nation's filter) ─► national tracks (missile.track payloads)
    partner missile.track payloads (+ label, report id) ─┐
                                 national tracks ────────┴► TrackFuser (CI) ─► fused picture
    ─► estimate_track ─► assess (zones, class, launch) ─► WarningMachine ─► missile.warning

The pipeline decides nothing about releasability: it fuses every partner track it is given.
What a nation is given is what its node holds, which the node's release policy decided
(``trilink.policy``); offline, ``trilink.missile.run`` applies that same rule. It holds no key,
opens no file and talks to no node: a node-side runner feeds it and publishes what it returns
(typed payloads, ``trilink.model.payloads.missile``).

``step(t_s, own_plots, partner_tracks)`` is one cycle. It is ``track`` (own plots → own tracks)
followed by ``fuse_and_warn`` (own + partner tracks → picture and warnings); the offline run
calls the halves so that every nation fuses its partners' tracks of the same cycle.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from trilink.errors import LabelError
from trilink.missile.feed import PlotFeedHeader
from trilink.missile.fuse.ci import FusionParams, TrackFuser, national_ids
from trilink.missile.fuse.share import from_payload, to_payload
from trilink.missile.track import filter_named
from trilink.missile.track.ekf import EkfFilter
from trilink.missile.track.estimate import estimate_track
from trilink.missile.track.filter import TrackFilter
from trilink.missile.track.manager import TrackManager
from trilink.missile.types import NATIONS, Plot, SensorCoverage, TrackState
from trilink.missile.warn.assess import ThreatAssessment, assess
from trilink.missile.warn.machine import WarningConfig, WarningEvent, WarningMachine
from trilink.missile.warn.zones import JapanZones
from trilink.model import parse_label
from trilink.model.payloads.missile import MissileTrackPayload


@dataclass(frozen=True, slots=True)
class PartnerTrack:
    """A partner's ``missile.track`` report as this nation's node holds it."""

    payload: MissileTrackPayload
    label: str
    """The security label text of the report that carried it."""
    report_id: str | None = None
    """The report's id, when it came from a node (fused tracks and warnings derive from it)."""


class FusedTrack(NamedTuple):
    """A fused track of two or more nations' tracks, as this nation shares it."""

    payload: MissileTrackPayload
    label: str
    """``combine_labels`` of its inputs' labels."""
    track_ids: tuple[str, ...]
    """The national track ids it fuses."""


@dataclass
class NationCycle:
    """What one nation produced in one cycle."""

    nation: str
    t_s: float
    label: str
    """The label of the nation's own tracks."""
    tracks: list[MissileTrackPayload]
    """Its national tracks, as shared."""
    fused: list[FusedTrack]
    """Fused tracks (two or more nations)."""
    states: list[TrackState]
    """Its whole picture (fused and single-source tracks) at the cycle time."""
    assessments: list[ThreatAssessment]
    """One per track of ``states``, in the same order."""
    warnings: list[WarningEvent]
    partner_reports: dict[str, str] = field(default_factory=dict)
    """Partner national track id -> id of the report it came in (where given)."""

    def derived_from(self, track_ids: Iterable[str]) -> list[str]:
        """The partner report ids behind these national track ids (own tracks have none here:
        their reports are made by the publisher)."""
        return sorted({self.partner_reports[i] for i in track_ids if i in self.partner_reports})


def zone_sampling_rng(seed: int, nation: str) -> np.random.Generator:
    """The random stream of a nation's zone-probability draws (the same in every run of a
    scenario seed, offline or at the node)."""
    return np.random.default_rng([seed, 3, NATIONS.index(nation)])


class NationPipeline:
    """One nation's tracker, fuser and warning machine (see the module docstring)."""

    def __init__(
        self,
        nation: str,
        *,
        label: str,
        epoch_utc: dt.datetime,
        exercise: bool = False,
        filter: TrackFilter | None = None,
        warning: WarningConfig | None = None,
        coverage: Mapping[str, SensorCoverage] | None = None,
        zones: JapanZones | None = None,
        seed: int = 1,
        fusion: FusionParams | None = None,
    ) -> None:
        if nation not in NATIONS:
            raise ValueError(f"nation {nation!r} is not one of {', '.join(NATIONS)}")
        parse_label(label)  # a LabelError here names the bad token
        self.nation = nation
        self.label = label
        self.epoch_utc = epoch_utc
        self.exercise = exercise
        self.zones = zones
        self.manager = TrackManager(nation, filter=filter or EkfFilter())
        for sensor_id, cov in (coverage or {}).items():
            self.manager.register_sensor(sensor_id, cov)
        self.fuser = TrackFuser(nation, fusion)
        self.machine = WarningMachine(nation, warning, epoch_utc=epoch_utc, exercise=exercise)
        self.rejected: Counter[str] = Counter()
        """Inputs refused before tracking or fusion (plots of another nation, partner tracks
        of this nation or with a label that does not parse)."""
        self._rng = zone_sampling_rng(seed, nation)
        # earliest state of each national track seen: launch points back-propagate from it
        self._first_state: dict[str, TrackState] = {}
        self._tracked: tuple[float, list[TrackState], list[MissileTrackPayload]] | None = None

    @classmethod
    def for_feed(cls, header: PlotFeedHeader, zones: JapanZones | None) -> NationPipeline:
        """The pipeline of the nation a plot feed is for, set up as its header says (the
        offline scenario run builds its pipelines this way too)."""
        return cls(
            header.nation,
            label=header.label,
            epoch_utc=header.epoch_utc,
            exercise=header.exercise,
            filter=filter_named(header.filter),
            warning=header.warning,
            coverage=header.coverage,
            zones=zones,
            seed=header.seed,
        )

    @property
    def counters(self) -> dict[str, int]:
        """The tracker's counters plus the refused inputs."""
        return {**self.manager.counters, **self.rejected}

    def track(self, t_s: float, own_plots: Iterable[Plot]) -> list[MissileTrackPayload]:
        """Process the plots the nation's radars delivered since the last cycle; returns its
        national tracks as ``missile.track`` payloads (what it shares)."""
        own: list[Plot] = []
        for p in own_plots:
            if p.nation == self.nation:
                own.append(p)
            else:
                self.rejected["rejected_plot_of_other_nation"] += 1
        self.manager.process(own)
        states = self.manager.tracks()
        for s in states:
            s.label = self.label
            self._first_state.setdefault(s.track_id, s)
        payloads = [to_payload(s, self.epoch_utc, exercise=self.exercise) for s in states]
        self._tracked = (t_s, states, payloads)
        return payloads

    def fuse_and_warn(self, t_s: float, partner_tracks: Sequence[PartnerTrack]) -> NationCycle:
        """Fuse the national tracks of ``track(t_s, ...)`` with the partner tracks given,
        estimate, assess and step the warning machine."""
        if self._tracked is None or self._tracked[0] != t_s:
            raise ValueError(f"call track({t_s}, ...) before fuse_and_warn({t_s}, ...)")
        _, national, shared = self._tracked
        picture: dict[str, list[TrackState]] = {self.nation: national}
        boosting = {p.track_id for p in shared if p.phase == "boost"}
        reports: dict[str, str] = {}
        for pt in partner_tracks:
            payload = pt.payload
            if payload.nation == self.nation:
                self.rejected["rejected_partner_track_of_own_nation"] += 1
                continue
            try:
                parse_label(pt.label)
            except LabelError:
                self.rejected["rejected_partner_track_label"] += 1
                continue
            state = from_payload(payload, label=pt.label)
            picture.setdefault(payload.nation, []).append(state)
            self._first_state.setdefault(state.track_id, state)
            if pt.report_id is not None:
                reports[payload.track_id] = pt.report_id
            if payload.phase == "boost":  # partners say so through the payload's phase
                boosting.add(payload.track_id)
        fused = self.fuser.fuse(picture, t_s)
        assessments = []
        for s in fused:
            ids = national_ids(s.track_id)
            starts = [self._first_state[i] for i in ids if i in self._first_state]
            launch_from = min(starts, key=lambda x: x.t_s) if starts else None
            est = estimate_track(s, launch_from=launch_from)
            assessments.append(
                assess(s, est, self.zones, self._rng, in_boost=bool(ids & boosting))
            )
        warnings = self.machine.step(t_s, assessments)
        return NationCycle(
            nation=self.nation,
            t_s=t_s,
            label=self.label,
            tracks=shared,
            fused=[
                FusedTrack(
                    to_payload(s, self.epoch_utc, exercise=self.exercise),
                    s.label or self.label,
                    tuple(sorted(national_ids(s.track_id))),
                )
                for s in fused
                if len(s.nations) > 1
            ],
            states=fused,
            assessments=assessments,
            warnings=warnings,
            partner_reports=reports,
        )

    def step(
        self, t_s: float, own_plots: Iterable[Plot], partner_tracks: Sequence[PartnerTrack]
    ) -> NationCycle:
        """One cycle: ``track`` then ``fuse_and_warn``."""
        self.track(t_s, own_plots)
        return self.fuse_and_warn(t_s, partner_tracks)
