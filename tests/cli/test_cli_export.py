"""`trilink export` (#16 item 1): every format from a node directory, the same features and
marking as the COP's download, and bad input (format, kind, time, folder) refused clearly
with nothing written."""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from trilink.cli.app import app
from trilink.errors import TrilinkError
from trilink.federation import localnet
from trilink.federation.localnet import ensure_network
from trilink.federation.memory import MemoryNetwork
from trilink.node.service import NodeService
from trilink.web import create_cop_app, create_user

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

runner = CliRunner()
LIVE = "SECRET//REL TO USA, JPN, KOR"
DRILL = "EXERCISE//CONFIDENTIAL//REL TO USA, JPN, KOR"


@pytest.fixture
def netdir(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "net"
    ensure_network(root)
    nodes = {n: NodeService.open_local(root, n) for n in ("USA", "JPN", "KOR")}
    try:
        nodes["USA"].publish(
            "maritime.event",
            LIVE,
            {
                "type": "gap",
                "start": "2026-11-23T05:00:00Z",
                "end": "2026-11-23T06:00:00Z",
                "mmsi": 412000001,
                "imo": "9074729",
                "lat": 37.0,
                "lon": 134.0,
            },
        )
        nodes["JPN"].publish(
            "maritime.event",
            DRILL,
            {
                "type": "dark_vessel",
                "start": "2026-11-23T05:10:00Z",
                "end": "2026-11-23T05:10:00Z",
                "lat": 36.0,
                "lon": 133.0,
            },
        )
        nodes["USA"].publish("note", LIVE, {"title": "watch handover"})
        MemoryNetwork(nodes.values()).deliver_all()
    finally:
        for node in nodes.values():
            node.close()
    # trilink export asks the running node (its API), as an analyst's script does
    localnet.start_node(root, "USA")
    try:
        localnet.wait_healthy(root, ["USA"])
        yield root
    finally:
        localnet.stop_node(root, "USA", kill=True)


def export(root: Path, *args: str) -> tuple[int, str, BaseException | None]:
    result = runner.invoke(app, ["export", "--dir", str(root), "--nation", "USA", *args])
    return result.exit_code, result.output, result.exception


def test_every_format(netdir: Path, tmp_path: Path) -> None:
    mixed = f"SECRET//REL TO USA, JPN, KOR (LIVE {LIVE} + {DRILL})"
    for fmt, name in [
        ("geojson", "a.geojson"),
        ("kml", "a.kml"),
        ("cot", "a.zip"),
        ("geoparquet", "a.parquet"),
        ("csv", "a.csv"),
    ]:
        code, out, err = export(netdir, "--format", fmt, "--out", str(tmp_path / name))
        assert code == 0, (fmt, out, err)
        assert f"marked {mixed}" in out
    doc = json.loads((tmp_path / "a.geojson").read_text())
    assert doc["classification"] == mixed and len(doc["features"]) == 2
    with zipfile.ZipFile(tmp_path / "a.zip") as package:
        assert len([n for n in package.namelist() if n.endswith(".cot")]) == 2
    assert pq.read_table(tmp_path / "a.parquet").num_rows == 2
    rows = pl.read_csv(tmp_path / "a.csv", comment_prefix="#")
    assert rows.height == 3 and rows.schema["mmsi"] == pl.Int64  # the note has no position
    code, out, _ = export(
        netdir,
        "--format",
        "csv",
        "--out",
        str(tmp_path / "k.csv"),
        "--kind",
        "note",
        "--since",
        "1h",
    )
    assert code == 0 and "wrote 1 reports" in out


def test_the_same_features_and_marking_as_the_cop_download(netdir: Path, tmp_path: Path) -> None:
    code, _, _ = export(netdir, "--format", "geojson", "--out", str(tmp_path / "cli.geojson"))
    assert code == 0
    cli = json.loads((tmp_path / "cli.geojson").read_text())
    with NodeService.open_local(netdir, "USA") as node:
        create_user(node.store, "watch", "correct horse battery", "viewer")
        with TestClient(create_cop_app(node)) as client:
            client.post("/login", data={"username": "watch", "password": "correct horse battery"})
            download = client.get("/api/export.geojson")
    cop = json.loads(download.text)
    assert cli["features"] == cop["features"]
    assert cli["marking"] == cop["marking"]
    assert download.headers["x-classification"] == cli["classification"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "shp"], "unknown export format 'shp'; use one of: geojson, kml"),
        (["--format", "kml", "--kind", "missile.trak"], "unknown report kind 'missile.trak'"),
        (["--format", "kml", "--since", "yesterday"], "is not a UTC time"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(
    netdir: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "out.file"
    code, _, err = export(netdir, *args, "--out", str(out))
    assert code != 0 and isinstance(err, TrilinkError) and message in str(err)
    assert not out.exists() and list(tmp_path.iterdir()) == [netdir]


def test_stdout(netdir: Path) -> None:
    result = runner.invoke(
        app, ["export", "--dir", str(netdir), "--nation", "usa", "--format", "kml", "--out", "-"]
    )
    assert result.exit_code == 0
    assert result.stdout_bytes.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert io.BytesIO(result.stdout_bytes).read().count(b"<Placemark ") == 2
