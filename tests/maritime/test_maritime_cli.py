"""`trilink maritime ...` end to end with CliRunner: files written, bad input, publishing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import polars as pl
from typer.testing import CliRunner

from trilink.cli.app import app
from trilink.model.kinds import validate_payload
from trilink.model.payloads.maritime import MaritimeEventPayload

DATA = Path(__file__).resolve().parents[1] / "data" / "maritime"
runner = CliRunner()


def _scene(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A trilink-layout CSV with a planted STS encounter, an incursion and a SAR detection."""
    rows = ["mmsi,timestamp,lat,lon,sog_kn,cog_deg,heading_deg,name,imo,callsign,ship_type,flag"]
    for k in range(0, 181, 2):  # 3 h, every 2 min
        t = f"2026-03-01T{k // 60:02d}:{k % 60:02d}:00Z"
        rows.append(f"352001234,{t},{30.5 + k * 1e-6},{125.5},0.3,0,0,DARK TANKER,9100009,,80,PAN")
        rows.append(f"445005678,{t},{30.5027 + k * 1e-6},{125.5},0.4,0,0,RYE SONG,9200003,,80,PRK")
        rows.append(f"440009999,{t},{31.5},{127.4 + k * 0.001},10.0,90,90,KOR FERRY,,,60,KOR")
    src = tmp_path / "scene.csv"
    src.write_text("\n".join(rows) + "\n")
    zones = tmp_path / "zones.geojson"
    zones.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {
                            "name": "test TS",
                            "owner": "JPN",
                            "zone_type": "territorial_sea",
                        },
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [
                                [
                                    [127.45, 31.4],
                                    [127.55, 31.4],
                                    [127.55, 31.6],
                                    [127.45, 31.6],
                                    [127.45, 31.4],
                                ]
                            ],
                        },
                    }
                ],
            }
        )
    )
    dets = tmp_path / "sar.csv"
    dets.write_text(
        "time,lat,lon,length\n2026-03-01T01:00:00Z,31.0,126.0,80\n"
        "2026-03-01T01:00:00Z,30.5001,125.5001,150\n"
    )
    return src, zones, dets


def _events_on_scene(tmp_path: Path, out: Path, *extra: str) -> Any:
    src, zones, dets = _scene(tmp_path)
    args = ["maritime", "events", str(src), "--out", str(out), "--zones", str(zones)]
    return runner.invoke(app, [*args, "--detections", str(dets), *extra])


def test_events_command_writes_every_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = _events_on_scene(tmp_path, out)
    assert res.exit_code == 0, res.output
    for name in (
        "events.csv",
        "events.geojson",
        "events.parquet",
        "tracks.parquet",
        "tracks.geojson",
        "quality.json",
        "quality.txt",
        "map.png",
    ):
        assert (out / name).stat().st_size > 0, name
    ev = pl.read_csv(out / "events.csv")
    assert ev.columns[:7] == ["type", "start", "end", "mmsi", "other_mmsi", "lat", "lon"]
    got = sorted(
        zip(ev["type"].to_list(), ev["mmsi"].to_list(), strict=True),
        key=lambda x: (x[0], x[1] or 0),
    )
    assert got == [("dark_vessel", None), ("encounter", 352001234), ("incursion", 440009999)]
    enc = ev.filter(pl.col("type") == "encounter").row(0, named=True)
    assert enc["other_mmsi"] == 445005678 and enc["name"] == "DARK TANKER"
    assert enc["start"].endswith("Z") and enc["start"].startswith("2026-03-01T00:")
    gj = json.loads((out / "events.geojson").read_text())
    assert len(gj["features"]) == 3
    pq = pl.read_parquet(out / "events.parquet")
    assert pq.height == 3 and pq.schema["start"] == pl.Datetime("ms", "UTC")
    quality = json.loads((out / "quality.json").read_text())
    assert quality["input_rows"] == 273 and quality["output_rows"] == 273
    tracks = json.loads((out / "tracks.geojson").read_text())
    assert {f["properties"]["mmsi"] for f in tracks["features"]} == {
        352001234,
        445005678,
        440009999,
    }
    assert (out / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_config_changes_thresholds(tmp_path: Path) -> None:
    src, _, _ = _scene(tmp_path)
    cfg = tmp_path / "strict.toml"
    cfg.write_text("[encounter]\nmax_distance_m = 200.0\n")
    out = tmp_path / "out"
    res = runner.invoke(
        app, ["maritime", "events", str(src), "--out", str(out), "--config", str(cfg), "--no-map"]
    )
    assert res.exit_code == 0, res.output
    assert "encounter" not in pl.read_csv(out / "events.csv")["type"].to_list()
    bad = tmp_path / "bad.toml"
    bad.write_text("[encounter]\nmax_distanse_m = 200.0\n")
    res = runner.invoke(
        app, ["maritime", "events", str(src), "--out", str(out), "--config", str(bad)]
    )
    assert res.exit_code != 0
    assert "unknown key [encounter].max_distanse_m" in str(res.exception)


def test_unknown_layout_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "odd.csv"
    bad.write_text("ship,when,y_utm\n1,2,3\n")
    res = runner.invoke(app, ["maritime", "events", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code != 0
    assert "columns found: ship, when, y_utm" in str(res.exception)


def test_decode_and_cpa_commands(tmp_path: Path) -> None:
    out = tmp_path / "pos.parquet"
    res = runner.invoke(
        app,
        [
            "maritime",
            "decode",
            str(DATA / "nmea" / "gfw-ais-tools__sample_errors.nmea"),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "bad_checksum 2" in res.output
    assert pl.read_parquet(out).height == 3
    res = runner.invoke(
        app,
        [
            "maritime",
            "cpa",
            "265410000",
            "265550210",
            str(DATA / "dk_gothenburg_2017_cpa_wgs84.csv"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "closest approach 380.204 m" in res.output


def test_publish_each_event_as_a_report(tmp_path: Path) -> None:
    from tests.conftest import running

    from trilink.node.service import NodeService

    net = tmp_path / "net"
    out = tmp_path / "out"
    with running(net, "KOR"):
        res = _events_on_scene(
            tmp_path, out, "--no-map", "--publish", "--dir", str(net), "--nation", "KOR",
            "--label", "SECRET//REL TO USA, JPN, KOR",
        )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "published on KOR: 3 maritime.event" in res.output
    with NodeService.open_local(net, "KOR") as node:
        stored = node.store.reports(kind="maritime.event")
    assert len(stored) == 3
    payloads = [
        msgspec.json.decode(msgspec.json.encode(s.report.envelope.payload)) for s in stored
    ]
    for p in payloads:
        validate_payload("maritime.event", p)
        msgspec.convert(p, MaritimeEventPayload)
    assert sorted(p["type"] for p in payloads) == ["dark_vessel", "encounter", "incursion"]
    enc = next(p for p in payloads if p["type"] == "encounter")
    assert enc["other_mmsi"] == 445005678 and enc["details"]["min_distance_m"] < 500


def test_events_read_an_input_or_the_detections_from_stdin(tmp_path: Path) -> None:
    src, zones, dets = _scene(tmp_path)
    base = ["maritime", "events", "--zones", str(zones), "--no-map", "--json"]
    from_stdin = runner.invoke(
        app, [*base, "-", "--detections", str(dets), "--out", str(tmp_path / "a")],
        input=src.read_bytes(),
    )  # fmt: skip
    assert from_stdin.exit_code == 0, from_stdin.output
    assert json.loads(from_stdin.stdout)["events"] == {"dark_vessel": 1, "encounter": 1,
                                                       "incursion": 1}  # fmt: skip
    dets_stdin = runner.invoke(
        app, [*base, str(src), "--detections", "-", "--out", str(tmp_path / "b")],
        input=dets.read_bytes(),
    )  # fmt: skip
    assert dets_stdin.exit_code == 0, dets_stdin.output
    assert json.loads(dets_stdin.stdout)["events"]["dark_vessel"] == 1
    twice = runner.invoke(
        app, [*base, "-", "--detections", "-", "--out", str(tmp_path / "c")], input=b"x"
    )
    assert "can be read only once: --detections, AIS input" in str(twice.exception)
    assert not (tmp_path / "c").exists()
