"""The one registry of report kinds (#14 item 1): every engine kind registered from its
payload module, each spec consistent with its payload, and what the specs compute (titles,
shapes, the 95 % uncertainty ellipse of a track, 2525 symbols)."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest
from pyproj import Geod

from trilink.errors import PayloadError, UnknownKindError
from trilink.model import kinds
from trilink.model.kindspec import Ellipse, KindSpec, Point, Symbol
from trilink.model.payloads.maritime import vessel_symbol
from trilink.model.payloads.missile import MissileTrackPayload, uncertainty_ellipse

GEOD = Geod(ellps="WGS84")
ENGINE_KINDS = [
    "crisis.ack",
    "crisis.alert",
    "crisis.assessment",
    "crisis.commitment",
    "crisis.incident",
    "crisis.lesson",
    "cyber.stix",
    "exportcontrol.hit",
    "maritime.event",
    "maritime.track",
    "missile.track",
    "missile.warning",
    "note",
    "sanctions.hit",
    "sanctions.list-change",
    "sanctions.party",
    "tombstone",
]


def test_every_engine_kind_is_registered_from_its_payload_module() -> None:
    assert kinds.known_kinds() == ENGINE_KINDS
    assert kinds.schema_for("missile.track") is MissileTrackPayload
    with pytest.raises(UnknownKindError, match="unknown report kind 'missile.trak'; known"):
        kinds.spec_for("missile.trak")


@pytest.mark.parametrize("kind", ENGINE_KINDS)
def test_panel_fields_are_payload_fields(kind: str) -> None:
    spec = kinds.spec_for(kind)
    fields = set(spec.payload.__struct_fields__)
    assert set(spec.panel) <= fields, set(spec.panel) - fields
    assert spec.folder_name


class Buoy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    lat: float
    lon: float


BUOY = KindSpec(
    kind="test.buoy",
    payload=Buoy,
    title=lambda b: f"buoy {b.name}",
    shapes=lambda b: [Point(lon=b.lon, lat=b.lat)],
)


def test_register_validate_and_unregister_a_kind() -> None:
    kinds.register(BUOY)
    try:
        kinds.register(BUOY)  # the same spec again is harmless
        with pytest.raises(ValueError, match="registered twice"):
            kinds.register(KindSpec(kind="test.buoy", payload=Buoy, title=lambda b: ""))
        kinds.validate_payload("test.buoy", {"name": "B1", "lat": 1.0, "lon": 2.0})
        kinds.validate_payload("test.buoy", Buoy(name="B1", lat=1.0, lon=2.0))  # typed
        with pytest.raises(PayloadError, match="does not fit kind 'test.buoy'"):
            kinds.validate_payload("test.buoy", {"name": "B1", "lat": "north"})
        payload = kinds.decode_payload("test.buoy", b'{"name":"B2","lat":3,"lon":4}')
        assert BUOY.title(payload) == "buoy B2"  # type: ignore[arg-type]
    finally:
        kinds.unregister("test.buoy")
    assert "test.buoy" not in kinds.known_kinds()
    with pytest.raises(ValueError, match="not a valid kind name"):
        kinds.register(KindSpec(kind="Bad Kind", payload=Buoy, title=lambda b: ""))


def _decode(kind: str, payload: dict[str, object]) -> msgspec.Struct:
    return msgspec.convert(payload, kinds.schema_for(kind))


def test_engine_titles() -> None:
    event = _decode(
        "maritime.event",
        {"type": "foreign_fishing", "start": "s", "end": "e", "mmsi": 412000001},
    )
    assert kinds.spec_for("maritime.event").title(event) == "foreign fishing 412000001"
    track = {
        "mmsi": 163,
        "start": "s",
        "end": "e",
        "lat": 31.2,
        "lon": 32.3,
        "track": [[32.3, 31.2], [32.5, 30.0]],
        "positions_total": 2,
    }
    spec = kinds.spec_for("maritime.track")
    assert spec.title(_decode("maritime.track", track)) == "vessel track, MMSI 163"
    named = _decode("maritime.track", dict(track, mmsi=353136000, name="EVER GIVEN"))
    assert spec.title(named) == "EVER GIVEN track, MMSI 353136000"


def test_symbols_give_cot_types_and_symbol_codes() -> None:
    missile = Symbol("A", "WM", "missile in flight")
    assert missile.cot_type("hostile") == "a-h-A-W-M"
    assert missile.sidc("hostile") == "SHAPWM---------" and len(missile.sidc("friend")) == 15
    assert missile.describe("assumed_friend") == "assumed friend missile in flight"
    assert vessel_symbol(71).cot_type("unknown") == "a-u-S-X-M-C"
    assert vessel_symbol(30).cot_type("neutral") == "a-n-S-X-F"
    assert vessel_symbol(None).cot_type("suspect") == "a-s-S"


def _ecef_covariance(lon: float, lat: float, enu: np.ndarray) -> list[list[float]]:
    lo, la = math.radians(lon), math.radians(lat)
    east = [-math.sin(lo), math.cos(lo), 0.0]
    north = [-math.sin(la) * math.cos(lo), -math.sin(la) * math.sin(lo), math.cos(la)]
    up = [math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)]
    rot = np.array([east, north, up]).T  # columns: ENU axes in ECEF
    full = np.eye(6) * 25.0
    full[:3, :3] = rot @ enu @ rot.T
    return full.tolist()


def test_track_covariance_gives_the_95_percent_horizontal_ellipse() -> None:
    rng = np.random.default_rng(42)
    for _ in range(10):
        lon, lat = float(rng.uniform(120, 145)), float(rng.uniform(25, 45))
        sigma_major, sigma_minor = float(rng.uniform(2000, 5000)), float(rng.uniform(300, 1500))
        bearing = float(rng.uniform(0, 180))
        b = math.radians(bearing)
        axis_major = np.array([math.sin(b), math.cos(b), 0.0])  # east, north
        axis_minor = np.array([math.cos(b), -math.sin(b), 0.0])
        enu = (
            sigma_major**2 * np.outer(axis_major, axis_major)
            + sigma_minor**2 * np.outer(axis_minor, axis_minor)
            + np.diag([0.0, 0.0, 400.0**2])
        )
        track = MissileTrackPayload(
            track_id="T1",
            nation="USA",
            nations=["USA"],
            time="2026-11-23T06:00:00Z",
            t_s=0.0,
            lat=lat,
            lon=lon,
            alt_m=0.0,
            position_ecef_m=[0.0, 0.0, 0.0],
            velocity_ecef_mps=[0.0, 0.0, 0.0],
            covariance=_ecef_covariance(lon, lat, enu),
        )
        ellipse = uncertainty_ellipse(track)
        assert isinstance(ellipse, Ellipse) and ellipse.role == "uncertainty"
        assert ellipse.semi_major_m == pytest.approx(math.sqrt(5.991) * sigma_major, rel=1e-6)
        assert ellipse.semi_minor_m == pytest.approx(math.sqrt(5.991) * sigma_minor, rel=1e-6)
        got = ellipse.orientation_deg
        assert min(abs(got - bearing), 180 - abs(got - bearing)) < 1e-6
        ce, le = kinds.spec_for("missile.track").accuracy(track)
        assert ce == pytest.approx(math.sqrt((sigma_major**2 + sigma_minor**2) / 2), rel=1e-6)
        assert le == pytest.approx(400.0, rel=1e-6)


def test_a_typed_payload_makes_the_same_envelope_as_its_json() -> None:
    from trilink.model.label import parse_label
    from trilink.model.payloads.core import NotePayload
    from trilink.model.report import build_envelope

    label = parse_label("UNCLASSIFIED//REL TO USA, JPN, KOR")
    typed = build_envelope(
        origin="USA",
        origin_seq=1,
        kind="note",
        label=label,
        payload=NotePayload(title="t", body="b"),
        report_id=None,
    )
    plain = build_envelope(
        origin="USA",
        origin_seq=1,
        kind="note",
        label=label,
        payload={"title": "t", "body": "b", "tags": []},
    )
    assert typed.payload_sha256 == plain.payload_sha256
    with pytest.raises(PayloadError):
        build_envelope(
            origin="USA",
            origin_seq=1,
            kind="missile.track",
            label=label,
            payload=NotePayload(title="t"),
        )
