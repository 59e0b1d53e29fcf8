"""One nation's pipeline (``NationPipeline``) and the offline run that composes three of them
under the project's release rule (``trilink.policy``)."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import pytest

from trilink.errors import LabelError
from trilink.missile.io.feeds import PlotFeedReader, write_feeds
from trilink.missile.io.scenario_file import load_scenario
from trilink.missile.pipeline import NationPipeline, PartnerTrack
from trilink.missile.run import OfflineExchange, ScenarioRun, run_scenario
from trilink.missile.sim.scenario import (
    Scenario,
    deliver_plots,
    feed_header,
    fly_truth,
    parse_scenario,
)
from trilink.missile.types import NATIONS
from trilink.missile.warn.zones import JapanZones, japan_zones

SCENARIO = Path(__file__).resolve().parents[1] / "data" / "missile" / "feeds_srbm.toml"


@cache
def scenario() -> tuple[Scenario, JapanZones]:
    sc = load_scenario(SCENARIO)
    zones, note = japan_zones(sc.view)
    assert zones is not None, note
    return sc, zones


@cache
def offline() -> ScenarioRun:
    sc, zones = scenario()
    return run_scenario(sc, zones)


def _cycle_outputs(nc: Any) -> dict[str, Any]:
    return {
        "tracks": msgspec.to_builtins(nc.tracks),
        "fused": [(msgspec.to_builtins(f.payload), f.label, f.track_ids) for f in nc.fused],
        "warnings": [(msgspec.to_builtins(w.payload), w.label) for w in nc.warnings],
    }


@pytest.mark.slow
def test_three_pipelines_on_the_three_feeds_give_the_offline_run(tmp_path: Path) -> None:
    """Each nation's pipeline fed only its own feed file (and the partner tracks the release
    rule lets its node hold) produces the very tracks, fused tracks and warnings of
    ``run_scenario``; the faults reach the feeds and the NaN plots are refused by the reader
    with file, line and field."""
    sc, zones = scenario()
    run = offline()
    write_feeds(sc, tmp_path, truths=fly_truth(sc))
    readers = {n: PlotFeedReader(tmp_path / f"{n}.plots.jsonl") for n in NATIONS}
    exchange = OfflineExchange(
        {n: NationPipeline.for_feed(r.header, zones) for n, r in readers.items()}
    )
    streams = {n: r.cycles() for n, r in readers.items()}  # read as the cycles go
    warnings = 0
    for cycle in run.cycles:
        plots = {}
        for n, stream in streams.items():
            t, plots[n] = next(stream)
            assert t == cycle.t_s
        got = exchange.step(cycle.t_s, plots)
        for n in NATIONS:
            assert _cycle_outputs(got[n]) == _cycle_outputs(cycle.nations[n]), (n, cycle.t_s)
            warnings += len(got[n].warnings)
    assert all(next(s, None) is None for s in streams.values())
    assert warnings >= 6  # an issue and a cancel per nation at least: the check is not vacuous
    problems = [p for r in readers.values() for p in r.problems]
    for r in readers.values():
        r.close()
    assert len(problems) == run.faults_injected["nan_plots"] == 4
    assert {p.field for p in problems} == {"range_m"}
    assert all(p.path and p.path.endswith(".plots.jsonl") and p.line for p in problems)
    late = sum(exchange.pipelines[n].counters.get("rejected_out_of_order", 0) for n in NATIONS)
    assert late == run.faults_injected["late_plots"] == 3


def test_release_is_decided_by_the_policy_rule() -> None:
    """JPN's REL TO USA, JPN tracks never reach KOR; a TOP SECRET label stays home under the
    default SECRET partner ceiling (``Label.releasable_to`` alone would have released it)."""
    sc, _ = scenario()
    run = offline()
    assert run.releases["JPN"]["KOR"].startswith("deny: KOR is not in REL TO")
    assert run.releases["JPN"]["USA"].startswith("allow")
    for c in run.cycles:
        assert all("JPN" not in s.nations for s in c.nations["KOR"].states)
    assert any("JPN" in s.nations for c in run.cycles for s in c.nations["USA"].states)
    raw = copy.deepcopy(_toml(SCENARIO))
    raw["labels"]["USA"] = "TOP SECRET//REL TO USA, JPN, KOR"
    top = parse_scenario(raw, "top.toml")
    pipes = {n: NationPipeline.for_feed(feed_header(top, n), None) for n in NATIONS}
    exchange = OfflineExchange(pipes)
    assert exchange.receivers("USA") == []
    assert "above the SECRET ceiling" in exchange.release["USA"]["JPN"].reason
    assert sorted(exchange.receivers("KOR")) == ["JPN", "USA"]


def _toml(path: Path) -> dict[str, Any]:
    import tomllib

    return tomllib.loads(path.read_text("utf-8"))


def _pipelines() -> tuple[dict[str, NationPipeline], Any]:
    sc, zones = scenario()
    truths = fly_truth(sc)
    delivered = deliver_plots(sc, truths)
    return {n: NationPipeline.for_feed(feed_header(sc, n), zones) for n in NATIONS}, delivered


def test_a_pipeline_fuses_what_it_is_given_and_refuses_what_is_not_a_partner_track() -> None:
    """No release rule inside: KOR's pipeline handed JPN's tracks fuses them (the node's policy
    decides what it holds). Its own nation's tracks handed back as partner tracks, partner
    tracks whose label does not parse, and plots of another nation's radars are refused and
    counted."""
    pipes, delivered = _pipelines()
    jpn, kor = pipes["JPN"], pipes["KOR"]
    fused_with_jpn = foreign = 0
    t_prev = 0.0
    for t in (60.0 + 10.0 * k for k in range(20)):
        window = [p for p, d in zip(delivered.plots, delivered.delivered_t_s, strict=True)
                  if t_prev < d <= t]  # fmt: skip
        t_prev = t
        foreign += sum(p.nation != "KOR" for p in window)
        shared = jpn.track(t, [p for p in window if p.nation == "JPN"])
        given = [PartnerTrack(p, jpn.label, report_id=f"r-{p.track_id}") for p in shared]
        nc = kor.step(t, window, given)
        for f in nc.fused:
            if "JPN" in f.payload.nations:
                fused_with_jpn += 1
                assert f.label == jpn.label  # the most restrictive of the inputs
                assert nc.derived_from(f.track_ids) == sorted(
                    f"r-{i}" for i in f.track_ids if i.startswith("JPN")
                )
    assert fused_with_jpn > 0
    assert kor.counters["rejected_plot_of_other_nation"] == foreign > 0
    own = kor.track(t_prev + 10.0, [])
    assert own
    echoed = PartnerTrack(own[0], kor.label)
    unreadable = PartnerTrack(
        msgspec.structs.replace(own[0], nation="USA", nations=["USA"]), "SECRET//REL TO MARS"
    )
    kor.fuse_and_warn(t_prev + 10.0, [echoed, unreadable])
    assert kor.rejected["rejected_partner_track_of_own_nation"] == 1
    assert kor.rejected["rejected_partner_track_label"] == 1


def test_pipeline_inputs_are_checked() -> None:
    sc, _ = scenario()
    header = feed_header(sc, "JPN")
    with pytest.raises(ValueError, match="not one of USA, JPN, KOR"):
        NationPipeline("CHN", label=header.label, epoch_utc=sc.epoch_utc)
    with pytest.raises(LabelError):
        NationPipeline("JPN", label="SECRET//REL TO MARS", epoch_utc=sc.epoch_utc)
    pipe = NationPipeline.for_feed(header, None)
    with pytest.raises(ValueError, match=r"call track\(10.0"):
        pipe.fuse_and_warn(10.0, [])
