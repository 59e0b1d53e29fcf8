"""`trilink sim maritime` through the CLI (typer CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from trilink.cli.app import app


def test_sim_maritime_writes_all_files(tmp_path: Path) -> None:
    out = tmp_path / "scn"
    result = CliRunner().invoke(
        app,
        [
            "sim",
            "maritime",
            "--out",
            str(out),
            "--seed",
            "3",
            "--hours",
            "9",
            "--vessels",
            "4",
            "--start",
            "2026-06-01T06:00:00Z",
        ],
    )
    assert result.exit_code == 0, result.output
    for name in (
        "positions.csv",
        "positions.parquet",
        "ais.nmea",
        "sar_detections.csv",
        "ground_truth.json",
        "ports.csv",
        "zones_neutral.geojson",
    ):
        assert (out / name).exists(), name
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
    assert truth["start"] == "2026-06-01T06:00:00Z" and truth["hours"] == 9.0
    # 9 h is too short for the 14 h AIS gap: skipped and said so, not silently dropped.
    assert any("going dark" in s for s in truth["skipped"])
    assert truth["self_check"]["unexpected"] == []
    header = (out / "positions.csv").read_text(encoding="utf-8").splitlines()[0]
    assert (
        header
        == "mmsi,timestamp,lat,lon,sog_kn,cog_deg,heading_deg,name,imo,callsign,ship_type,flag"
    )


def test_sim_maritime_rejects_bad_start(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["sim", "maritime", "--out", str(tmp_path), "--start", "yesterday"]
    )
    assert result.exit_code != 0
    assert "ISO-8601" in str(result.exception) or "ISO-8601" in result.output
