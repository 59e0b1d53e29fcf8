"""The offline scenario run (``trilink missile scenario run``): the three nations' pipelines in
one process, each given the partner tracks its node would hold.

Per cycle (every ``cycle_s``): each nation's ``NationPipeline`` tracks the plots its radars
delivered and shares its national tracks; each partner's tracks go to the nations the
partner's node would release them to, decided by the project's one release rule
(``trilink.policy.decide``) under the partner's policy: a node with every other nation as a
partner at the default ceiling (``DEFAULT_PARTNER_CEILING``, as ``trilink pki trust`` and
``trilink net up`` configure it); then each nation fuses, estimates and warns. A centralised
tracker fed every plot runs alongside for comparison. ``io.run_outputs`` writes the CSV,
GeoJSON, PNG and summary of a run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from trilink.missile.feed import cycle_windows
from trilink.missile.pipeline import NationCycle, NationPipeline, PartnerTrack
from trilink.missile.sim.scenario import Scenario, Truth, deliver_plots, feed_header, fly_truth
from trilink.missile.track import filter_named
from trilink.missile.track.manager import TrackManager
from trilink.missile.types import NATIONS, Plot, TrackState
from trilink.missile.warn.zones import JapanZones
from trilink.model import parse_label
from trilink.model.payloads.missile import MissileTrackPayload
from trilink.policy import Decision, NodePolicy, policy_from_config
from trilink.policy.decide import decide_label

DEFAULT_PARTNER_CEILING = "SECRET"
TRACK_KIND = "missile.track"


def default_policy(nation: str, nations: Iterable[str] = NATIONS) -> NodePolicy:
    """The release policy of a node that has every other nation as a partner with the default
    ceiling and settings (what ``trilink pki trust`` writes into ``node.toml``)."""
    partners = {p: {"ceiling": DEFAULT_PARTNER_CEILING} for p in nations if p != nation}
    return policy_from_config(
        nation, {"partners": partners}, source=f"default partner policy of {nation}"
    )


class OfflineExchange:
    """The nations' pipelines in one process; partner tracks pass as their nodes would let
    them (``release`` holds each decision, with its reason)."""

    def __init__(
        self,
        pipelines: Mapping[str, NationPipeline],
        policies: Mapping[str, NodePolicy] | None = None,
    ) -> None:
        self.pipelines = pipelines
        policies = policies or {n: default_policy(n, pipelines) for n in pipelines}
        self.release: dict[str, dict[str, Decision]] = {
            origin: {
                partner: decide_label(
                    parse_label(pipe.label), origin, TRACK_KIND, partner, policies[origin]
                )
                for partner in pipelines
                if partner != origin
            }
            for origin, pipe in pipelines.items()
        }

    def receivers(self, origin: str) -> list[str]:
        return [p for p, d in self.release[origin].items() if d.allow]

    def step(self, t_s: float, plots: Mapping[str, Iterable[Plot]]) -> dict[str, NationCycle]:
        """One cycle: every nation tracks its plots, then fuses what its node would hold."""
        shared: dict[str, list[MissileTrackPayload]] = {
            n: pipe.track(t_s, plots.get(n, ())) for n, pipe in self.pipelines.items()
        }
        received: dict[str, list[PartnerTrack]] = {n: [] for n in self.pipelines}
        for origin, payloads in shared.items():
            label = self.pipelines[origin].label
            for partner in self.receivers(origin):
                received[partner].extend(PartnerTrack(p, label) for p in payloads)
        return {n: pipe.fuse_and_warn(t_s, received[n]) for n, pipe in self.pipelines.items()}


@dataclass
class Cycle:
    t_s: float
    nations: dict[str, NationCycle]
    central: list[TrackState]
    plots_delivered: int


@dataclass
class ScenarioRun:
    scenario: Scenario
    truths: list[Truth]
    cycles: list[Cycle] = field(default_factory=list)
    counters: dict[str, dict[str, int]] = field(default_factory=dict)
    faults_injected: dict[str, int] = field(default_factory=dict)
    releases: dict[str, dict[str, str]] = field(default_factory=dict)
    """Origin -> partner -> the release rule's decision on its missile.track reports."""


def scenario_pipelines(sc: Scenario, zones: JapanZones | None) -> dict[str, NationPipeline]:
    """Each nation's pipeline as its plot feed's header describes it."""
    return {n: NationPipeline.for_feed(feed_header(sc, n), zones) for n in NATIONS}


def iter_cycles(
    sc: Scenario,
    zones: JapanZones | None,
    *,
    truths: list[Truth] | None = None,
    run: ScenarioRun | None = None,
) -> Iterator[Cycle]:
    """Run the scenario one cycle at a time (see the module docstring)."""
    truths = truths if truths is not None else fly_truth(sc)
    delivered = deliver_plots(sc, truths)
    exchange = OfflineExchange(scenario_pipelines(sc, zones))
    central = TrackManager("ALL", filter=filter_named(sc.filter), id_prefix="CENTRAL")
    for sensor in sc.sensors:
        central.register_sensor(sensor.sensor_id, sensor.coverage)
    if run is not None:
        run.faults_injected = delivered.faults_injected
        run.releases = {
            origin: {p: f"{d.outcome}: {d.reason}" for p, d in decisions.items()}
            for origin, decisions in exchange.release.items()
        }
    for t, start, end in cycle_windows(delivered.delivered_t_s, sc.cycle_s, sc.duration_s):
        window = delivered.plots[start:end]
        by_nation: dict[str, list[Plot]] = {n: [] for n in NATIONS}
        for p in window:
            by_nation[p.nation].append(p)
        nations = exchange.step(t, by_nation)
        central.process(window)
        cycle = Cycle(
            t_s=t, nations=nations, central=central.tracks(), plots_delivered=len(window)
        )
        if run is not None:
            run.cycles.append(cycle)
            run.counters = {n: pipe.counters for n, pipe in exchange.pipelines.items()}
            run.counters["central"] = dict(central.counters)
        yield cycle


def run_scenario(
    sc: Scenario,
    zones: JapanZones | None,
    *,
    progress: Callable[[float, float], None] | None = None,
) -> ScenarioRun:
    """Run a whole scenario; ``progress(t_s, duration_s)`` after every cycle."""
    truths = fly_truth(sc)
    run = ScenarioRun(scenario=sc, truths=truths)
    for cycle in iter_cycles(sc, zones, truths=truths, run=run):
        if progress is not None:
            progress(cycle.t_s, sc.duration_s)
    return run
