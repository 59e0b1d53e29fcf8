"""Per-nation plot feeds (``trilink sim missile``), the truth files, and the feed reader: bounded
lines, every bad line reported with file, line and field and skipped, the rest read."""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from trilink.cli.app import app
from trilink.missile.feed import PlotFeedHeader, PlotRecord
from trilink.missile.io.feeds import PlotFeedError, PlotFeedReader, read_plot_feed
from trilink.missile.io.geojson import ellipse_ring, line_geometry, ring_is_counterclockwise
from trilink.missile.io.scenario_file import load_scenario
from trilink.missile.types import NATIONS

SCENARIO = Path(__file__).resolve().parents[1] / "data" / "missile" / "feeds_srbm.toml"


@cache
def feeds_dir(root: Path) -> Path:
    out = root / "feeds"
    res = CliRunner().invoke(app, ["sim", "missile", str(SCENARIO), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return feeds_dir(tmp_path_factory.mktemp("sim"))


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_each_feed_holds_only_its_nations_plots_in_delivery_order(out: Path) -> None:
    sc = load_scenario(SCENARIO)
    names = {p.name for p in out.iterdir()}
    assert {"USA.plots.jsonl", "JPN.plots.jsonl", "KOR.plots.jsonl", "truth.jsonl",
            "truth.geojson"} <= names  # fmt: skip
    nulls = late = 0
    for nation in NATIONS:
        header, *plots = _lines(out / f"{nation}.plots.jsonl")
        assert header["nation"] == nation and header["scenario"] == sc.name
        assert header["epoch_utc"] == "2026-03-01T00:00:00Z" and header["cycle_s"] == 10.0
        own = {s.sensor_id for s in sc.nation_sensors(nation)}
        assert {s["sensor_id"] for s in header["sensors"]} == own
        assert plots and all(p["nation"] == nation and p["sensor_id"] in own for p in plots)
        delivered = [p["delivered_t_s"] for p in plots]
        assert delivered == sorted(delivered)
        assert not any("truth_id" in p or "is_clutter" in p for p in plots)
        nulls += sum(p["range_m"] is None for p in plots)
        late += sum(p["delivered_t_s"] > p["t_s"] for p in plots)
    assert (nulls, late) == (4, 3)  # the scenario's [faults]


def test_truth_files(out: Path) -> None:
    records = _lines(out / "truth.jsonl")
    kinds = [r["type"] for r in records]
    assert kinds[0] == "header" and records[0]["faults_injected"] == {
        "nan_plots": 4,
        "late_plots": 3,
    }
    (launch,) = [r for r in records if r["type"] == "launch"]
    assert launch["launch_id"] == "S1" and launch["flight_time_s"] > 300.0
    states = [r for r in records if r["type"] == "state"]
    assert len(states) == math.ceil(launch["flight_time_s"])  # one a second
    plots = [r for r in records if r["type"] == "plot"]
    n_lines = {n: len(_lines(out / f"{n}.plots.jsonl")) - 1 for n in NATIONS}
    assert len(plots) == sum(n_lines.values())
    assert sum(r["fault"] == "nan" for r in plots) == 4
    assert sum(r["fault"] == "late" for r in plots) == 3
    assert any(r["truth_id"] == "S1" for r in plots) and any(r["clutter"] for r in plots)
    gj = json.loads((out / "truth.geojson").read_text())
    assert gj["type"] == "FeatureCollection" and "crs" not in gj
    kinds_gj = {(f["geometry"]["type"], f["properties"]["kind"]) for f in gj["features"]}
    assert kinds_gj == {
        ("LineString", "truth"),
        ("Point", "truth_launch"),
        ("Point", "truth_impact"),
    }
    line = next(f for f in gj["features"] if f["properties"]["kind"] == "truth")
    coords = line["geometry"]["coordinates"]
    assert all(len(c) == 3 and -180 <= c[0] <= 180 and -90 <= c[1] <= 90 for c in coords)
    assert len(line["properties"]["t_s"]) == len(coords)


def test_cli_names_a_bad_scenario(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(SCENARIO.read_text().replace("seed = 5", 'seed = 5\ncolour = "red"'))
    res = CliRunner().invoke(app, ["sim", "missile", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "scenario.colour" in res.output and "unknown key" in res.output


# ------------------------------------------------------------------------------ the reader


def _header_line(out: Path, nation: str = "JPN") -> bytes:
    return (out / f"{nation}.plots.jsonl").read_bytes().split(b"\n", 1)[0] + b"\n"


def _good_plot(out: Path) -> dict[str, Any]:
    plots = _lines(out / "JPN.plots.jsonl")[1:]
    return next(p for p in plots if p["range_m"] is not None and p["delivered_t_s"] == p["t_s"])


def test_bad_lines_are_reported_with_line_and_field_and_skipped(out: Path, tmp_path: Path) -> None:
    good = _good_plot(out)

    def line(**changes: Any) -> bytes:
        return json.dumps({**good, **changes}).encode() + b"\n"

    rows = [
        line(),  # 2
        b'{"delivered_t_s": 1.0, \n',  # 3: not JSON
        line(range_m=None),  # 4: a NaN range written as null
        line(nation="KOR"),  # 5
        line(sensor_id="KR-THAAD-SEONGJU"),  # 6: not one of JPN's radars
        line(sigma_range_m=-1.0),  # 7
        line(colour="red"),  # 8: unknown field
        json.dumps({k: v for k, v in good.items() if k != "t_s"}).encode() + b"\n",  # 9
        b"x" * 5000 + b"\n",  # 10: too long
        line(delivered_t_s=good["delivered_t_s"] - 1.0, t_s=good["t_s"] - 1.0),  # 11: order
        line(range_rate_mps=None),  # 12: rate without its sigma
        line(delivered_t_s=good["t_s"] - 5.0),  # 13: delivered before measured
        b"\n",  # blank lines are allowed
        line(delivered_t_s=good["delivered_t_s"] + 1.0),  # 15
    ]
    path = tmp_path / "JPN.plots.jsonl"
    path.write_bytes(_header_line(out) + b"".join(rows))
    feed = read_plot_feed(path)
    assert len(feed.plots) == 2 and list(feed.delivered_t_s) == [
        good["delivered_t_s"], good["delivered_t_s"] + 1.0,
    ]  # fmt: skip
    where = [(p.line, p.field) for p in feed.problems]
    assert where == [
        (3, None), (4, "range_m"), (5, "nation"), (6, "sensor_id"), (7, "sigma_range_m"),
        (8, "colour"), (9, "t_s"), (10, None), (11, "delivered_t_s"), (12, "range_rate_mps"),
        (13, "delivered_t_s"),
    ]  # fmt: skip
    assert all(p.path == str(path) and str(path) in str(p) for p in feed.problems)
    assert "longer than 4096 bytes" in str(feed.problems[7])


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty file"),
        (b'{"format": "something else"}\n', "not a plot feed header"),
        (b'{"format": \n', "not valid JSON"),
    ],
)
def test_a_feed_without_a_readable_header_is_refused(
    tmp_path: Path, content: bytes, words: str
) -> None:
    path = tmp_path / "x.plots.jsonl"
    path.write_bytes(content)
    with pytest.raises(PlotFeedError, match=words) as err:
        read_plot_feed(path)
    assert err.value.line == 1 and err.value.path == str(path)
    with pytest.raises(PlotFeedError, match="cannot read"):
        read_plot_feed(tmp_path / "missing.plots.jsonl")


_JSON = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=20,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(
        st.one_of(
            st.binary(max_size=300).map(lambda b: b.replace(b"\n", b" ")),
            _JSON.map(lambda v: json.dumps(v).encode()),
            st.fixed_dictionaries(
                {
                    k: st.one_of(st.none(), st.floats(), st.text(max_size=5), st.integers())
                    for k in ("delivered_t_s", "t_s", "range_m", "sigma_range_m", "azimuth_rad")
                }
            ).map(lambda d: json.dumps(d).encode()),  # fmt: skip
            st.integers(4000, 9000).map(lambda n: b"1" * n),
        ),
        max_size=12,
    ),
    good_at=st.integers(0, 12),
)
def test_reader_fuzzed(out: Path, tmp_path: Path, lines: list[bytes], good_at: int) -> None:
    """Whatever the plot lines hold, the reader never fails on them: each line is either a
    plot a tracker may use or a problem with its line number."""
    good = json.dumps(_good_plot(out)).encode()
    body = list(lines)
    body.insert(min(good_at, len(body)), good)
    path = tmp_path / "fuzz.plots.jsonl"
    path.write_bytes(_header_line(out) + b"\n".join(body) + b"\n")
    with PlotFeedReader(path) as reader:
        plots = list(reader)
        header = reader.header
        problems = reader.problems
    blank = sum(not b.strip() for b in body)
    assert len(plots) + len(problems) + blank == len(body)
    assert len(plots) >= 1
    assert all(2 <= p.line <= len(body) + 1 for p in problems)
    for t, plot in plots:
        assert plot.nation == header.nation and t >= plot.t_s and plot.range_m > 0


@settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=400) | _JSON.map(lambda v: json.dumps(v).encode()))
def test_header_fuzzed(raw: bytes) -> None:
    """A header is either a valid ``PlotFeedHeader`` or refused with ``PlotFeedError``."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "h.plots.jsonl"
        path.write_bytes(raw)
        try:
            feed = read_plot_feed(path)
        except PlotFeedError as err:
            assert err.line == 1
        else:
            assert isinstance(feed.header, PlotFeedHeader)


def test_records_round_trip(out: Path) -> None:
    good = _good_plot(out)
    record = msgspec.json.decode(json.dumps(good).encode(), type=PlotRecord)
    assert PlotRecord.of(record.plot(), record.delivered_t_s) == record


# ------------------------------------------------------------------------------ GeoJSON


def test_lines_crossing_the_antimeridian_are_cut() -> None:
    geom = line_geometry([[178.0, 40.0, 1.0], [182.0, 42.0, 3.0], [186.0, 44.0, 5.0]])
    assert geom["type"] == "MultiLineString"
    first, second = geom["coordinates"]
    assert first == [[178.0, 40.0, 1.0], [180.0, 41.0, 2.0]]
    assert second == [[-180.0, 41.0, 2.0], [-178.0, 42.0, 3.0], [-174.0, 44.0, 5.0]]
    west = line_geometry([[-179.0, 10.0], [179.0, 12.0]])
    assert west["coordinates"] == [
        [[-179.0, 10.0], [-180.0, 11.0]],
        [[180.0, 11.0], [179.0, 12.0]],
    ]
    assert line_geometry([[130.0, 40.0], [131.0, 41.0]])["type"] == "LineString"


@pytest.mark.parametrize("azimuth", [0.0, 35.0, 120.0])
def test_ellipse_rings_follow_the_right_hand_rule(azimuth: float) -> None:
    ring = ellipse_ring(39.0, 134.0, 30_000.0, 10_000.0, azimuth)
    assert ring[0] == ring[-1] and ring_is_counterclockwise(ring)
