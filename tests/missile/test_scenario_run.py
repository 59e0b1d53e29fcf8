"""Scenario files: checking (errors name file and field), the offline end-to-end run, outputs
and the CLI."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from trilink.cli.app import app
from trilink.missile.io.run_outputs import write_outputs
from trilink.missile.io.scenario_file import load_scenario
from trilink.missile.run import run_scenario
from trilink.missile.sim.scenario import ScenarioError, parse_scenario
from trilink.missile.warn.zones import japan_zones

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "missile"

BASE: dict[str, Any] = {
    "scenario": {
        "name": "test SRBM",
        "seed": 11,
        "duration_s": 600,
        "cycle_s": 10,
        "exercise": True,
    },  # fmt: skip
    "labels": {"JPN": "SECRET//REL TO USA, JPN"},
    "launch": [
        {
            "id": "S1",
            "site": "Wonsan Kalma International Airport",
            "impact": [39.2, 134.6],
            "apogee_km": 250,
        }
    ],  # fmt: skip
    "sensors": {"sites": ["JP-FPS5-SADO", "KR-GREENPINE-NCHUNGCHEONG", "KR-THAAD-SEONGJU"]},
    "warning": {"max_semi_major_km": 30, "min_updates": 8},
    "faults": {"nan_plots": 4, "late_plots": 3, "late_by_s": 30},
}


def scenario_dict(**changes: Any) -> dict[str, Any]:
    d = copy.deepcopy(BASE)
    for path, value in changes.items():
        *head, last = path.split("__")
        node = d
        for key in head:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        node[last] = value
    return d


@pytest.fixture(scope="module")
def salvo_run() -> Any:
    sc = parse_scenario(BASE, "test.toml")
    zones, note = japan_zones(sc.view)
    assert zones is not None, note
    return run_scenario(sc, zones), zones


def test_examples_parse_and_are_exercises() -> None:
    files = sorted(EXAMPLES.glob("*.toml"))
    assert len(files) >= 3
    for f in files:
        sc = load_scenario(f)
        assert sc.exercise
        assert all(lab.startswith("EXERCISE//") for lab in sc.labels.values())


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"launch__0__site": "Atlantis"}, "launch[0].site", "unknown launch site 'Atlantis'"),
        ({"sensors__sites": ["JP-FPS5-SADO", "XX-NOPE"]}, "sensors.sites[1]", "unknown sensor"),
        ({"launch__0__apogee_km": 20}, "launch[0].apogee_km", "impossible geometry"),
        ({"launch__0__impact": [95, 134]}, "launch[0].impact", "latitude, longitude"),
        ({"scenario__duration_s": float("nan")}, "scenario.duration_s", "not a finite"),
        ({"scenario__colour": "red"}, "scenario.colour", "unknown key"),
        ({"labels__KOR": "SECRET//REL TO USA, JPN"}, "labels.KOR", "own nation KOR"),
        ({"labels__USA": "SECRET//REL TO MARS"}, "labels.USA", "nation"),
        ({"launch__0__t_s": 900}, "launch[0].t_s", "after the end"),
        ({"warning__update_semi_major_ratio": 2}, "warning.update_semi_major_ratio", "outside"),
        ({"scenario__filter": "kalman"}, "scenario.filter", "'kalman': use 'imm'"),
        ({"scenario__motion": "ekf"}, "scenario.motion", "known keys here"),
    ],
)
def test_bad_scenarios_name_file_and_field(
    changes: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(scenario_dict(**changes), "bad.toml")
    assert err.value.path == "bad.toml" and err.value.field == field
    assert words in str(err.value)


def test_exercise_label_mismatch_and_toml_errors(tmp_path: Path) -> None:
    d = scenario_dict(scenario__exercise=False, labels__JPN="EXERCISE//SECRET//REL TO USA, JPN")
    with pytest.raises(ScenarioError, match="EXERCISE but"):
        parse_scenario(d, "x.toml")
    bad = tmp_path / "broken.toml"
    bad.write_text('[scenario]\nname = "x"\nduration_s = = 3\n')
    with pytest.raises(ScenarioError) as err:
        load_scenario(bad)
    assert err.value.line == 3 and str(bad) in str(err.value)
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "missing.toml")


def test_offline_run_warns_every_nation_and_counts_rejected_measurements(salvo_run: Any) -> None:
    run, _ = salvo_run
    truth = run.truths[0]
    assert truth.obj.trajectory.impacted
    statuses: dict[str, list[str]] = {}
    for c in run.cycles:
        for n, nc in c.nations.items():
            for w in nc.warnings:
                statuses.setdefault(n, []).append(w.status)
                assert w.payload.exercise and (w.label or "").startswith("EXERCISE//")
            for p in nc.tracks:
                assert p.exercise
    for n in ("USA", "JPN", "KOR"):
        assert statuses[n][0] == "issue" and statuses[n][-1] == "cancel", (n, statuses[n])
        assert statuses[n].count("issue") == 1
        assert 0 < statuses[n].count("update") < 40  # material changes, not every cycle
    # injected faults: 4 NaN plots and 3 delivered 30 s late, rejected and counted exactly
    nations = [run.counters[n] for n in ("USA", "JPN", "KOR")]
    assert sum(c.get("rejected_non_finite", 0) for c in nations) == 4
    assert sum(c.get("rejected_out_of_order", 0) for c in nations) == 3
    assert run.counters["central"]["rejected_non_finite"] == 4
    assert run.faults_injected == {"nan_plots": 4, "late_plots": 3}


@pytest.mark.slow
def test_a_scenario_tracks_with_the_ukf_end_to_end() -> None:
    """``filter = "ukf"``: every nation's tracker runs the unscented filter; the warnings are
    issued once, on the right impact point, and cancelled."""
    from pyproj import Geod

    sc = parse_scenario(scenario_dict(scenario__filter="ukf"), "ukf.toml")
    assert sc.filter == "ukf"
    zones, note = japan_zones(sc.view)
    assert zones is not None, note
    run = run_scenario(sc, zones)
    lat, lon = run.truths[0].spec.impact_lat_deg, run.truths[0].spec.impact_lon_deg
    for n in ("USA", "JPN", "KOR"):
        events = [w.payload for c in run.cycles for w in c.nations[n].warnings]
        assert [p.status for p in events][0] == "issue" and events[-1].status == "cancel", n
        first = events[0]
        miss = Geod(ellps="WGS84").inv(first.impact_lon, first.impact_lat, lon, lat)[2]
        assert miss < max(first.ellipse_semi_major_m, 2_000.0), (n, miss)
        assert not any(k.startswith("flagged_state") for k in run.counters[n])


def test_first_warning_is_right_and_label_rules_hold(salvo_run: Any) -> None:
    from pyproj import Geod

    run, _ = salvo_run
    lat, lon = run.truths[0].spec.impact_lat_deg, run.truths[0].spec.impact_lon_deg
    for c in run.cycles:
        for n, nc in c.nations.items():
            for w in nc.warnings:
                p = w.payload
                if p.status != "issue":
                    continue
                miss = Geod(ellps="WGS84").inv(p.impact_lon, p.impact_lat, lon, lat)[2]
                assert miss < max(p.ellipse_semi_major_m, 2_000.0), (n, miss)
                assert p.p_impact_in_japan_eez > 0.9 and p.p_overflies_japan < 0.05
                assert p.missile_class == "SRBM"
            # KOR may not receive JPN's REL TO USA, JPN tracks: never in its picture
            if n == "KOR":
                assert all("JPN" not in s.nations for s in nc.states)
            if n == "JPN":  # a fused track inherits the most restrictive input label
                for payload, lab, _ in nc.fused:
                    want = "USA, JPN" if "JPN" in payload.nations else "USA, JPN, KOR"
                    assert lab == f"EXERCISE//SECRET//REL TO {want}"


def test_outputs_are_files_a_person_can_open(salvo_run: Any, tmp_path: Path) -> None:
    run, zones = salvo_run
    files = write_outputs(run, tmp_path, zones, plots=True)
    names = {f.name for f in files}
    assert {"tracks.csv", "estimates.csv", "warnings.csv", "tracks.geojson",
            "estimates.geojson", "warnings.geojson", "summary.json", "ground_track.png",
            "altitude.png", "errors.png"} <= names  # fmt: skip
    tracks = json.loads((tmp_path / "tracks.geojson").read_text())
    kinds = {(f["geometry"]["type"], f["properties"]["kind"]) for f in tracks["features"]}
    assert ("LineString", "track") in kinds and ("LineString", "truth") in kinds
    line = next(f for f in tracks["features"] if f["properties"]["kind"] == "track")
    assert len(line["properties"]["sigma_pos_m"]) == len(line["geometry"]["coordinates"])
    est = json.loads((tmp_path / "estimates.geojson").read_text())
    assert any(f["geometry"]["type"] == "Polygon" for f in est["features"])
    assert any(f["properties"]["kind"] == "launch_estimate" for f in est["features"])
    with (tmp_path / "warnings.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert {r["status"] for r in rows} == {"issue", "update", "cancel"}
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["launches"][0]["impact_in_japan_eez"] is True
    assert summary["measurements_rejected"]["central"]["rejected_non_finite"] == 4
    assert (tmp_path / "ground_track.png").stat().st_size > 10_000
    # fused and centralised pictures are more accurate than the national ones
    rms = summary["position_rms_m"]
    assert rms["central"] < rms["KOR national"] and rms["USA fused"] < rms["KOR national"]


def test_cli_scenario_run(tmp_path: Path) -> None:
    import tomllib

    text = (EXAMPLES / "srbm_salvo.toml").read_text()
    data = tomllib.loads(text)
    assert data["scenario"]["exercise"] is True
    small = tmp_path / "small.toml"
    small.write_text(
        text.replace("duration_s = 600", "duration_s = 150").replace(
            "[sensors]\nsites", '[sensors]\nsites = ["JP-FPS5-SADO"]\nold_sites'
        )
    )
    runner = CliRunner()
    res = runner.invoke(app, ["missile", "scenario", "run", str(small), "--out",
                              str(tmp_path / "o"), "--no-plots", "--json"])  # fmt: skip
    assert res.exit_code == 2 and "sensors.old_sites" in res.output
    small.write_text(text.replace("duration_s = 600", "duration_s = 150"))
    res = runner.invoke(app, ["missile", "scenario", "run", str(small), "--out",
                              str(tmp_path / "o"), "--no-plots", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["exercise"] is True and len(out["launches"]) == 2
    assert (tmp_path / "o" / "tracks.csv").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text(
        text.replace('site = "Wonsan Kalma International Airport"', 'site = "Nowhere"', 1)
    )
    res = runner.invoke(app, ["missile", "scenario", "run", str(bad), "--no-plots"])
    assert res.exit_code == 2
    assert "launch[0].site" in res.output and "unknown launch site 'Nowhere'" in res.output


@pytest.mark.parametrize(
    ("example", "overflies", "in_eez"),
    [("irbm_overflight.toml", True, False), ("icbm_lofted_eez.toml", False, True)],
)
def test_example_warnings_match_the_truth(example: str, overflies: bool, in_eez: bool) -> None:
    """The IRBM over Aomori and the lofted ICBM into the EEZ: first warnings say so."""
    from trilink.missile.sim.estimates import estimate

    sc = load_scenario(EXAMPLES / example)
    zones, note = japan_zones(sc.view)
    assert zones is not None, note
    run = run_scenario(sc, zones)
    est = estimate(
        run.truths[0].obj.trajectory, japan_eez=zones.eez, japan_territory=zones.territory
    )
    assert (est.overflies_japan, est.impact_in_japan_eez) == (overflies, in_eez)
    firsts: dict[str, Any] = {}
    last: dict[str, Any] = {}
    for c in run.cycles:
        for n, nc in c.nations.items():
            for w in nc.warnings:
                firsts.setdefault(n, w.payload)
                last[n] = w.payload
    assert set(firsts) == {"USA", "JPN", "KOR"}
    for n, p in firsts.items():
        assert p.status == "issue"
        assert (p.p_overflies_japan > 0.9) == overflies and (
            p.p_impact_in_japan_eez > 0.8
        ) == in_eez
        assert p.missile_class == est.missile_class
        # issued before the missile is halfway through its flight
        assert p.time_to_impact_s > 0.5 * est.flight_time_s, (n, p.time_to_impact_s)
    if in_eez:  # held through the coverage gap: the warning ends at impact, not as "lost"
        assert all(p.status == "cancel" and "all clear" in p.reason for p in last.values())
