"""`trilink missile simulate|sites|reconstruct` through the real Typer app."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from trilink.cli.app import app

RUNNER = CliRunner()
DATA = Path(__file__).resolve().parents[1] / "data" / "missile"


def test_simulate_json_hwasong_15() -> None:
    res = RUNNER.invoke(
        app,
        [
            "missile",
            "simulate",
            "--launch",
            "39.12,125.93",
            "--impact",
            "40.5,136.9",
            "--apogee-km",
            "4475",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    for key in (
        "flight_time_s",
        "apogee_km",
        "range_km",
        "impact_in_japan_eez",
        "overflies_japan",
        "max_range_km",
        "class",
    ):
        assert key in out
    assert abs(out["apogee_km"] - 4475) < 1.0
    assert 900 < out["range_km"] < 1000
    assert 48 * 60 < out["flight_time_s"] < 58 * 60
    assert out["class"] == "ICBM"
    zones_known = out["japan_zones_error"] is None
    assert (out["impact_in_japan_eez"] is None) != zones_known


def test_simulate_writes_png_geojson_czml(tmp_path: Path) -> None:
    res = RUNNER.invoke(
        app,
        [
            "missile",
            "simulate",
            "--launch",
            "39.2,125.67",
            "--impact",
            "42.3,156.7",
            "--apogee-km",
            "550",
            "--out",
            str(tmp_path),
            "--launch-time",
            "2017-08-28T20:58:00Z",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "flight time" in res.stdout
    png = tmp_path / "trajectory.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    gj = json.loads((tmp_path / "trajectory.geojson").read_text())
    line = gj["features"][0]
    assert line["geometry"]["type"] == "LineString"
    assert len(line["geometry"]["coordinates"][0]) == 3
    assert {f["properties"].get("event") for f in gj["features"][1:]} == {
        "launch",
        "burnout",
        "apogee",
        "impact",
    }
    cz = json.loads((tmp_path / "trajectory.czml").read_text())
    assert cz[0]["id"] == "document"
    assert cz[1]["position"]["epoch"] == "2017-08-28T20:58:00Z"
    samples = cz[1]["position"]["cartographicDegrees"]
    assert len(samples) % 4 == 0 and samples[0] == 0.0


def test_simulate_refuses_impossible_geometry() -> None:
    res = RUNNER.invoke(
        app,
        [
            "missile",
            "simulate",
            "--launch",
            "39.12,125.93",
            "--impact",
            "40.5,136.9",
            "--apogee-km",
            "20",
        ],
    )
    assert res.exit_code == 2
    assert "too low" in res.stderr and "between" in res.stderr


def test_simulate_rejects_bad_coordinates() -> None:
    res = RUNNER.invoke(
        app,
        [
            "missile",
            "simulate",
            "--launch",
            "391,125",
            "--impact",
            "40.5,136.9",
            "--apogee-km",
            "500",
        ],
    )
    assert res.exit_code != 0
    assert "not a valid latitude" in res.output + res.stderr


def test_sites_json_lists_all_sensors() -> None:
    res = RUNNER.invoke(app, ["missile", "sites", "--json"])
    assert res.exit_code == 0
    rows = json.loads(res.stdout)
    assert len(rows) == 15
    assert {r["nation"] for r in rows} == {"USA", "JPN", "KOR"}


def test_reconstruct_writes_csv(tmp_path: Path) -> None:
    out = tmp_path / "recon.csv"
    res = RUNNER.invoke(
        app, ["missile", "reconstruct", str(DATA), "--since", "2024-10-30", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    lines = out.read_text().splitlines()
    assert lines[0].startswith("date,")
    assert len(lines) > 2
    assert "Hwasong-19" in res.stdout


def test_reconstruct_csv_to_stdout_is_the_file(tmp_path: Path) -> None:
    out = tmp_path / "recon.csv"
    args = ["missile", "reconstruct", str(DATA), "--since", "2024-10-30", "--out"]
    to_file = RUNNER.invoke(app, [*args, str(out)])
    to_stdout = RUNNER.invoke(app, [*args, "-"])
    assert to_file.exit_code == 0 and to_stdout.exit_code == 0, to_stdout.output
    assert to_stdout.stdout.replace("\r\n", "\n") == out.read_text().replace("\r\n", "\n")
    both = RUNNER.invoke(app, [*args, "-", "--json"])
    assert both.exit_code != 0 and "both print to stdout" in str(both.exception)
