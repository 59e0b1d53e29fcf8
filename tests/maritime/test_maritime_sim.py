"""The engine on `trilink sim maritime` output: every planted event found, nothing else in the
planted events' areas (the sim's ``exclusion_areas`` keep background traffic out of them)."""

from __future__ import annotations

import json
from datetime import datetime

import polars as pl
import pytest
from typer.testing import CliRunner

from trilink.cli.app import app

pytest.importorskip("trilink.sim.scenario")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, pl.DataFrame]:  # type: ignore[type-arg]
    root = tmp_path_factory.mktemp("sim")
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "sim",
            "maritime",
            "--out",
            str(root / "sim"),
            "--vessels",
            "0",
            "--seed",
            "7",
            "--no-check",
            "--no-parquet",
        ],
    )
    assert res.exit_code == 0, res.output
    out = root / "events"
    res = runner.invoke(
        app,
        [
            "maritime",
            "events",
            str(root / "sim" / "ais.nmea"),
            "--detections",
            str(root / "sim" / "sar_detections.csv"),
            "--out",
            str(out),
            "--no-map",
        ],
    )
    assert res.exit_code == 0, res.output
    truth = json.loads((root / "sim" / "ground_truth.json").read_text())
    events = pl.read_csv(out / "events.csv").with_columns(
        pl.col("start").str.to_datetime(time_zone="UTC"),
        pl.col("end").str.to_datetime(time_zone="UTC"),
    )
    return truth, events


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_every_planted_event_is_found(scenario: tuple[dict, pl.DataFrame]) -> None:  # type: ignore[type-arg]
    truth, events = scenario
    assert len(truth["events"]) >= 8
    for t in truth["events"]:
        same = events.filter(pl.col("type") == t["type"])
        if t["type"] == "dark_vessel":  # an unmatched detection has no MMSI, match by place/time
            hit = same.filter(
                ((pl.col("lat") - t["lat"]).abs() < 0.01)
                & ((pl.col("lon") - t["lon"]).abs() < 0.01)
            )
        else:
            ids = {t["mmsi"], t.get("other_mmsi")} - {None}
            hit = same.filter(
                pl.col("mmsi").is_in(list(ids))
                | pl.col("other_mmsi").cast(pl.Int64, strict=False).is_in(list(ids))
            )
        assert hit.height >= 1, f"planted {t['type']} of {t['mmsi']} not found"
        ev = hit.row(0, named=True)
        # overlaps the planted time window
        assert ev["start"] <= _ts(t["end"]) and ev["end"] >= _ts(t["start"])


def test_nothing_else_in_the_planted_areas(scenario: tuple[dict, pl.DataFrame]) -> None:  # type: ignore[type-arg]
    truth, events = scenario
    planted = {(t["type"], t["mmsi"]) for t in truth["events"]}
    for area in truth["exclusion_areas"]:
        x0, y0, x1, y1 = area["bbox"]
        inside = events.filter(
            pl.col("lon").is_between(x0, x1)
            & pl.col("lat").is_between(y0, y1)
            & (pl.col("start") <= _ts(area["end"]))
            & (pl.col("end") >= _ts(area["start"]))
        )
        dark = [(t["lat"], t["lon"]) for t in truth["events"] if t["type"] == "dark_vessel"]
        for r in inside.iter_rows(named=True):
            key = (r["type"], r["mmsi"])
            if r["type"] == "dark_vessel":
                assert any(
                    abs(r["lat"] - la) < 0.01 and abs(r["lon"] - lo) < 0.01 for la, lo in dark
                ), f"{area['name']}: extra dark vessel"
                continue
            assert key in planted, f"{area['name']}: extra {key}"
