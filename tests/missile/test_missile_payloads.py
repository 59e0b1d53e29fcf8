"""`missile.track` and `missile.warning` payload schemas."""

from __future__ import annotations

import msgspec
import pytest

from trilink.model.payloads.missile import KINDS, MissileTrackPayload, MissileWarningPayload


def _warning(**over: object) -> dict[str, object]:
    base: dict[str, object] = dict(
        warning_id="w-1",
        status="issue",
        time="2026-11-23T16:00:00+00:00",
        track_ids=["t1"],
        nations=["JPN", "USA"],
        impact_lat=40.5,
        impact_lon=136.9,
        ellipse_semi_major_m=8e3,
        ellipse_semi_minor_m=3e3,
        ellipse_orientation_deg=75.0,
        impact_time="2026-11-23T16:40:00+00:00",
        time_to_impact_s=2400.0,
        p_impact_in_japan_eez=0.97,
        p_overflies_japan=0.0,
        confidence=0.95,
        missile_class="ICBM",
        lofted=True,
        exercise=True,
    )
    base.update(over)
    return base


def _track(**over: object) -> dict[str, object]:
    cov = [[0.0] * 6 for _ in range(6)]
    for i in range(6):
        cov[i][i] = 100.0
    base: dict[str, object] = dict(
        track_id="JPN-1",
        nation="JPN",
        nations=["JPN"],
        time="2026-11-23T16:00:00+00:00",
        t_s=120.0,
        lat=40.0,
        lon=130.0,
        alt_m=300e3,
        position_ecef_m=[1.0, 2.0, 3.0],
        velocity_ecef_mps=[4.0, 5.0, 6.0],
        covariance=cov,
        phase="ballistic",
        quality=0.8,
    )
    base.update(over)
    return base


def test_kinds_registered() -> None:
    assert {spec.kind: spec.payload for spec in KINDS} == {
        "missile.track": MissileTrackPayload,
        "missile.warning": MissileWarningPayload,
    }


def test_round_trip_and_unknown_fields_refused() -> None:
    w = msgspec.json.decode(msgspec.json.encode(_warning()), type=MissileWarningPayload)
    assert w.exercise and w.status == "issue"
    t = msgspec.json.decode(msgspec.json.encode(_track()), type=MissileTrackPayload)
    assert t.covariance[5][5] == 100.0
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(_warning(extra=1)), type=MissileWarningPayload)


@pytest.mark.parametrize(
    "bad",
    [
        dict(p_overflies_japan=1.2),
        dict(ellipse_semi_minor_m=9e3),
        dict(impact_lat=95.0),
        dict(status="maybe"),
        dict(launch_lat=39.0),
    ],
)
def test_invalid_warnings_refused(bad: dict[str, object]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(_warning(**bad)), type=MissileWarningPayload)


@pytest.mark.parametrize(
    "bad",
    [
        dict(covariance=[[1.0] * 6] * 5),
        dict(position_ecef_m=[1.0, 2.0]),
        dict(quality=2.0),
        dict(nation="Japan"),  # not an ISO 3166-1 alpha-3 code
    ],
)
def test_invalid_tracks_refused(bad: dict[str, object]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(_track(**bad)), type=MissileTrackPayload)
