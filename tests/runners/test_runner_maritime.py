"""Maritime results onto a node through its API: events, the sanctions hits derived from
them, vessel tracks. The runner holds a publisher token and nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from tests.web.cop_helpers import TestClient

from trilink.api import create_api_app
from trilink.client import NodeClient
from trilink.runners.maritime import publish_maritime
from trilink.store.tokens import TokenRepository

STS = {
    "type": "encounter",
    "start": "2026-05-01T03:00:00.000Z",
    "end": "2026-05-01T08:00:00.000Z",
    "mmsi": 445022142,
    "other_mmsi": 636012345,
    "lat": 30.55,
    "lon": 124.37,
    "name": "BAEK MA KANG",
    "flag": "PRK",
    "other_name": "OCEAN GLORY",
    "duration_h": 5.0,
    "details": {},
}
HARMLESS = {
    **STS,
    "mmsi": 538000001,
    "name": "PACIFIC WAVE",
    "flag": "MHL",
    "other_mmsi": None,
    "other_name": None,
    "type": "loitering",
}


@contextmanager
def client_of(network: Any, nation: str) -> Iterator[NodeClient]:
    node = network[nation]
    token = TokenRepository(node.store).create("maritime runner", "publisher")
    with TestClient(create_api_app(node), base_url="http://testserver") as http:
        yield NodeClient("http://testserver", token, nation=nation, http=http)


def _tracks() -> pl.DataFrame:
    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    rows = [
        {
            "mmsi": 445022142,
            "timestamp": t0 + timedelta(minutes=i),
            "lat": 30.0 + i / 1000,
            "lon": 124.0,
            "name": "BAEK MA KANG",
            "flag": "PRK",
            "sog_kn": 1.0,
        }
        for i in range(500)
    ]
    return pl.DataFrame(rows).with_columns(pl.col("timestamp").dt.cast_time_unit("ms"))


def test_hits_derive_from_their_events_and_follow_the_label(network: Any) -> None:
    kor = network["KOR"]
    with client_of(network, "KOR") as client:
        done = publish_maritime(
            client, "SECRET//REL TO USA, KOR", [STS, HARMLESS], tracks=_tracks(), track_points=50
        )
    assert len(done.events) == 2 and len(done.hits) == 1 and len(done.tracks) == 1
    hit = kor.store.latest_version(done.hits[0]).report.envelope
    assert hit.kind == "sanctions.hit"
    assert hit.derived_from == [done.events[0]]
    assert hit.label == "SECRET//REL TO USA, KOR"
    assert hit.payload_obj()["hits"][0]["listed"]["name"] == "BAEK MA KANG"
    track = kor.store.latest_version(done.tracks[0]).report.envelope.payload_obj()
    assert len(track["track"]) == 50 and track["positions_total"] == 500
    assert track["lat"] == 30.499  # the newest fix is always kept
    network.deliver_all()
    assert network["USA"].store.latest_version(done.hits[0]) is not None
    assert network["JPN"].store.latest_version(done.hits[0]) is None


def test_exercise_events_give_exercise_hits(network: Any) -> None:
    jpn = network["JPN"]
    with client_of(network, "JPN") as client:
        done = publish_maritime(client, "EXERCISE//CONFIDENTIAL//REL TO USA, JPN, KOR", [STS])
    hit = jpn.store.latest_version(done.hits[0]).report.envelope
    assert hit.label == "EXERCISE//CONFIDENTIAL//REL TO USA, JPN, KOR"


def test_screening_can_be_switched_off(network: Any) -> None:
    with client_of(network, "USA") as client:
        done = publish_maritime(client, "SECRET//REL TO USA, JPN", [STS], screen=False)
    assert done.hits == [] and len(done.events) == 1
