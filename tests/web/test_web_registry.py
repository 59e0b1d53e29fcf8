"""#14 item 1: a kind registered in one place (its KindSpec) is validated by the node, drawn
by the COP and written by every export, with nothing in trilink.web knowing it."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path

import msgspec
import polars as pl
import pyarrow.parquet as pq
import pytest
from cop_helpers import TestClient, replicate

from trilink.errors import PayloadError
from trilink.model import kinds
from trilink.model.kindspec import Ellipse, KindSpec, Point, Symbol
from trilink.node.service import NodeService

WEB = Path(__file__).resolve().parents[2] / "src" / "trilink" / "web"
LABEL = "CONFIDENTIAL//REL TO USA, JPN, KOR"


class SonobuoyContact(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    buoy: str
    time: str
    lat: float
    lon: float
    error_m: float


SPEC = KindSpec(
    kind="coptest.sonobuoy",
    payload=SonobuoyContact,
    title=lambda c: f"sonobuoy contact {c.buoy}",
    shapes=lambda c: [
        Point(lon=c.lon, lat=c.lat),
        Ellipse(
            lon=c.lon,
            lat=c.lat,
            semi_major_m=c.error_m,
            semi_minor_m=c.error_m,
            orientation_deg=0.0,
            role="uncertainty",
        ),
    ],
    panel=("buoy", "time", "error_m"),
    properties=lambda c: {"buoy": c.buoy},
    observed=lambda c: c.time,
    track=lambda c: c.buoy,
    affiliation=lambda c: "suspect",
    symbol=lambda c: Symbol("U", "", "subsurface contact"),
    accuracy=lambda c: (c.error_m / 2.4477, None),
    folder="Sonobuoy contacts",
)


@pytest.fixture
def sonobuoy() -> Iterator[str]:
    kinds.register(SPEC)  # the one place
    yield SPEC.kind
    kinds.unregister(SPEC.kind)


def test_the_web_package_does_not_name_it() -> None:
    for path in WEB.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".js", ".html"):
            assert "sonobuoy" not in path.read_text("utf-8"), path


def test_a_kind_registered_in_one_place_is_on_the_map_and_in_every_export(
    sonobuoy: str, net: dict[str, NodeService], cop: dict[str, TestClient]
) -> None:
    payload = {
        "buoy": "SB-12",
        "time": "2026-11-23T06:00:00Z",
        "lat": 34.2,
        "lon": 129.4,
        "error_m": 3000.0,
    }
    with pytest.raises(PayloadError, match="coptest.sonobuoy"):  # the node validates it
        net["USA"].publish(sonobuoy, LABEL, dict(payload, error_m="large"))
    report = net["USA"].publish(sonobuoy, LABEL, payload)
    rid = report.envelope.id
    replicate(net)
    client = cop["KOR"]
    (shown,) = client.get(f"/api/reports?kind={sonobuoy}").json()["reports"]
    assert shown["title"] == "sonobuoy contact SB-12" and shown["sidc"] == "SSUP-----------"
    assert [f["properties"]["role"] for f in shown["features"]] == ["point", "uncertainty"]
    assert shown["features"][0]["properties"]["buoy"] == "SB-12"
    panel = client.get(f"/api/reports/{rid}").json()
    assert panel["facts"] == [
        ["buoy", "SB-12"],
        ["time", "2026-11-23T06:00:00Z"],
        ["error_m", 3000.0],
    ]

    geo = json.loads(client.get("/api/export.geojson").text)
    assert {f["properties"]["role"] for f in geo["features"] if f["properties"]["id"] == rid} == {
        "point",
        "uncertainty",
    }
    kml = ET.fromstring(client.get("/api/export.kml").content.split(b"\n", 2)[2])
    ns = "{http://www.opengis.net/kml/2.2}"
    folders = [f.findtext(f"{ns}name") for f in kml.iter(f"{ns}Folder")]
    assert "Sonobuoy contacts" in folders
    assert kml.find(f".//{ns}Placemark[@id='r{rid}']") is not None
    with zipfile.ZipFile(io.BytesIO(client.get("/api/export.cot").content)) as package:
        (name,) = [n for n in package.namelist() if "SB-12" in n]
        event = ET.fromstring(package.read(name))
    assert (
        event.get("type") == "a-s-U" and event.get("uid") == "trilink:USA:coptest.sonobuoy:SB-12"
    )
    assert event.find("detail/shape/ellipse") is not None
    parquet = pq.read_table(io.BytesIO(client.get("/api/export.geoparquet").content))
    assert parquet.column("buoy").to_pylist() == ["SB-12", "SB-12"]
    rows = pl.read_csv(io.BytesIO(client.get("/api/export.csv").content), comment_prefix="#")
    assert rows.filter(pl.col("id") == rid)["buoy"].to_list() == ["SB-12"]
