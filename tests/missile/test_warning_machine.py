"""The warning state machine (pure): issue, update on material change, cancel, continuity."""

from __future__ import annotations

import datetime as dt
import math

import msgspec
import numpy as np
import pytest
import shapely
from pyproj import Geod

from trilink.missile.types import GroundEstimate
from trilink.missile.warn.assess import ThreatAssessment, zone_probabilities
from trilink.missile.warn.machine import WarningConfig, WarningMachine
from trilink.missile.warn.zones import JapanZones
from trilink.model.payloads.missile import MissileWarningPayload

EPOCH = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
GEOD = Geod(ellps="WGS84")


def ground(lat: float, lon: float, semi_major_m: float, t_s: float = 600.0) -> GroundEstimate:
    var = semi_major_m**2 / 5.991464547107979
    return GroundEstimate(
        t_s=t_s, sigma_t_s=2.0, lat_deg=lat, lon_deg=lon, cov_en_m2=(var, 0.0, var),
        semi_major_m=semi_major_m, semi_minor_m=semi_major_m, major_azimuth_deg=0.0,
    )  # fmt: skip


def threat(
    t_s: float,
    *,
    track_id: str = "F:JPN-00001",
    lat: float = 39.6,
    lon: float = 134.2,
    semi_major_m: float = 20_000.0,
    impact_t_s: float = 600.0,
    n_updates: int = 50,
    p_eez: float = 0.9,
    p_over: float = 0.0,
    in_boost: bool = False,
    flagged: bool = False,
    label: str = "EXERCISE//SECRET//REL TO USA, JPN, KOR",
) -> ThreatAssessment:
    return ThreatAssessment(
        track_id=track_id, nations=("JPN",), t_s=t_s, n_updates=n_updates, flagged=flagged,
        impact=ground(lat, lon, semi_major_m, impact_t_s), launch=ground(39.17, 127.47, 5e3, 0.0),
        p_impact_in_japan_eez=p_eez, p_overflies_japan=p_over, apogee_km=250.0,
        missile_class="SRBM", lofted=True, range_km=600.0, in_boost=in_boost, label=label,
    )  # fmt: skip


def machine(**cfg: object) -> WarningMachine:
    return WarningMachine("JPN", WarningConfig(**cfg), epoch_utc=EPOCH, exercise=True)  # type: ignore[arg-type]


def run(m: WarningMachine, items: list[ThreatAssessment]) -> list[tuple[float, str, str]]:
    out = []
    for a in items:
        for ev in m.step(a.t_s, [a]):
            out.append((a.t_s, ev.payload.status, ev.payload.warning_id))
    return out


def test_issue_needs_updates_stability_and_a_small_enough_ellipse() -> None:
    m = machine(min_updates=10, min_stable_cycles=3, max_semi_major_m=30_000.0)
    # stable, small ellipse, but too few updates
    assert run(m, [threat(70.0 + 5 * k, n_updates=5) for k in range(6)]) == []
    m = machine(min_updates=10, min_stable_cycles=3, max_semi_major_m=30_000.0)
    # stable for long enough but the ellipse is too big
    assert run(m, [threat(100.0 + 5 * k, semi_major_m=40_000.0) for k in range(5)]) == []
    # the prediction moves 50 km a cycle: not stable
    assert run(m, [threat(125.0 + 5 * k, lon=128.0 + 0.6 * k) for k in range(4)]) == []
    # then it settles: stable on the 2nd, 3rd, 4th cycle -> issued on the 4th
    got = run(m, [threat(145.0 + 5 * k) for k in range(5)])
    assert got == [(160.0, "issue", "JPN-W001")]


def test_boost_flagged_and_moving_predictions_never_issue() -> None:
    m = machine(min_stable_cycles=2)
    assert run(m, [threat(10.0 * k, in_boost=True) for k in range(1, 6)]) == []
    m = machine(min_stable_cycles=2)
    assert run(m, [threat(10.0 * k, flagged=True) for k in range(1, 6)]) == []
    m = machine(min_stable_cycles=2)
    # the prediction runs 50 km downrange every cycle with a 20 km ellipse (like in boost)
    assert run(m, [threat(10.0 * k, lon=128.0 + 0.6 * k) for k in range(1, 8)]) == []


def test_updates_only_on_material_change() -> None:
    m = machine(min_stable_cycles=1, update_shift_m=10_000.0)
    assert [s for _, s, _ in run(m, [threat(100.0), threat(105.0)])] == ["issue"]
    # a few km of jitter and a small shrink: nothing new for the watch officer
    small = [threat(110.0 + 5 * k, lat=39.6 + 0.01 * (k % 2), semi_major_m=18_000.0)
             for k in range(5)]  # fmt: skip
    assert run(m, small) == []
    evs = m.step(140.0, [threat(140.0, lon=134.5, semi_major_m=18_000.0)])  # ~26 km east
    assert [e.payload.status for e in evs] == ["update"]
    assert "impact moved" in evs[0].payload.reason
    evs = m.step(145.0, [threat(145.0, lon=134.5, semi_major_m=9_000.0)])
    assert [e.payload.status for e in evs] == ["update"] and "ellipse" in evs[0].payload.reason
    evs = m.step(150.0, [threat(150.0, lon=134.5, semi_major_m=9_000.0, p_eez=0.3)])
    assert "P(impact in Japan's EEZ) 0.90 → 0.30" in evs[0].payload.reason


def test_cancel_when_impact_time_passes() -> None:
    m = machine(min_stable_cycles=1, impact_margin_s=5.0)
    run(m, [threat(100.0, impact_t_s=300.0), threat(105.0, impact_t_s=300.0)])
    assert run(m, [threat(300.0, impact_t_s=300.0)]) == []
    evs = m.step(306.0, [])
    assert [e.payload.status for e in evs] == ["cancel"]
    assert "all clear" in evs[0].payload.reason and evs[0].payload.time_to_impact_s == 0.0
    assert m.step(320.0, []) == []  # closed: once


def test_track_lost_cancels_unless_held_until_impact() -> None:
    m = machine(min_stable_cycles=1, lost_after_s=30.0)
    run(m, [threat(100.0), threat(105.0)])
    assert m.step(130.0, []) == []
    evs = m.step(140.0, [])
    assert [(e.payload.status, e.payload.reason[:10]) for e in evs] == [("cancel", "track lost")]
    held = machine(min_stable_cycles=1, lost_after_s=30.0, hold_until_impact=True)
    run(held, [threat(100.0), threat(105.0)])
    assert held.step(500.0, []) == []
    # the track comes back under a new id near the same impact point: same warning, no issue
    evs = held.step(550.0, [threat(550.0, track_id="F:USA-00165", semi_major_m=5_000.0)])
    assert [(e.payload.status, e.payload.warning_id) for e in evs] == [("update", "JPN-W001")]


def test_zone_of_interest_cancel_and_reissue_with_a_new_id() -> None:
    m = machine(min_stable_cycles=1, min_zone_probability=0.2)
    assert run(m, [threat(100.0, p_eez=0.1), threat(105.0, p_eez=0.1)]) == []  # not relevant
    assert run(m, [threat(110.0, p_eez=0.5)]) == [(110.0, "issue", "JPN-W001")]
    assert run(m, [threat(115.0, p_eez=0.15)]) == [(115.0, "update", "JPN-W001")]
    assert run(m, [threat(120.0, p_eez=0.05)]) == [(120.0, "cancel", "JPN-W001")]
    assert run(m, [threat(125.0, p_eez=0.6)]) == [(125.0, "issue", "JPN-W001-2")]


def test_fused_ids_keep_one_warning_per_threat_and_two_threats_two_warnings() -> None:
    m = machine(min_stable_cycles=1)
    run(m, [threat(100.0), threat(105.0)])
    evs = m.step(110.0, [
        threat(110.0, track_id="F:JPN-00001+KOR-00003", lon=134.5),
        threat(110.0, track_id="F:JPN-00002", lat=39.2, lon=134.6),
    ])  # fmt: skip
    assert [(e.payload.status, e.payload.warning_id) for e in evs] == [("update", "JPN-W001")]
    assert evs[0].payload.track_ids == ["JPN-00001", "KOR-00003"]
    evs = m.step(115.0, [threat(115.0, track_id="F:JPN-00002", lat=39.2, lon=134.6)])
    assert [(e.payload.status, e.payload.warning_id) for e in evs] == [("issue", "JPN-W002")]


def test_payload_carries_exercise_label_and_validates() -> None:
    m = machine(min_stable_cycles=1)
    m.step(100.0, [threat(100.0)])
    (ev,) = m.step(105.0, [threat(105.0)])
    p = ev.payload
    assert p.exercise is True and ev.label is not None and ev.label.startswith("EXERCISE//")
    assert p.time == "2026-03-01T00:01:45+00:00" and p.time_to_impact_s == 495.0
    assert p.missile_class == "SRBM" and p.lofted and p.launch_lat == 39.17
    again = msgspec.convert(msgspec.to_builtins(p), MissileWarningPayload)
    assert again == p


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="update_semi_major_ratio"):
        WarningConfig(update_semi_major_ratio=1.5)
    with pytest.raises(ValueError, match="timezone"):
        WarningMachine("JPN", epoch_utc=dt.datetime(2026, 3, 1))


def test_zone_probabilities_follow_the_geometry() -> None:
    """A box 'EEZ' and a strip 'territory' across a real ballistic state's path."""
    from trilink.missile.frames import geodetic_to_ecef_nb
    from trilink.missile.types import TrackState

    # a state 300 km up over 38N 130E flying east at 3 km/s (ECEF velocity in ENU east)
    lat, lon = math.radians(38.0), math.radians(130.0)
    pos = geodetic_to_ecef_nb(lat, lon, 300e3)
    east = np.array([-math.sin(lon), math.cos(lon), 0.0])
    x = np.concatenate([pos, 3000.0 * east, [0.0]])
    state = TrackState("JPN-1", "JPN", 0.0, x, np.eye(7))
    impact = ground(38.0, 136.0, 30_000.0, t_s=400.0)
    eez = shapely.box(135.0, 37.0, 137.0, 39.0)
    strip = shapely.box(132.0, 30.0, 132.5, 45.0)  # crossed by every path east
    zones = JapanZones.of(eez, strip)
    rng = np.random.default_rng(5)
    p_eez, p_over = zone_probabilities(state, impact, zones, rng)
    assert p_eez == 1.0 and p_over == 1.0
    edge = ground(38.0, 137.0, 30_000.0, t_s=400.0)  # on the EEZ's east edge: about half
    p_eez, _ = zone_probabilities(state, edge, zones, rng)
    assert 0.35 < p_eez < 0.65
    far = JapanZones.of(
        shapely.box(140.0, 37.0, 141.0, 39.0), shapely.box(140.0, 30.0, 141.0, 45.0)
    )
    assert zone_probabilities(state, impact, far, rng) == (0.0, 0.0)
