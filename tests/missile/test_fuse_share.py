"""Track states to and from the shared missile.track payload, then fusion of received tracks."""

from __future__ import annotations

import datetime as dt

import msgspec
import numpy as np
import pytest

from trilink.missile.fuse.ci import TrackFuser
from trilink.missile.fuse.share import from_payload, to_payload
from trilink.missile.track.synthetic import state_from_geodetic
from trilink.missile.types import FlagReason, TrackState, TrackStatus
from trilink.model.payloads.missile import MissileTrackPayload

EPOCH = dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC)


def _state(nation: str, seed: int, status: TrackStatus = TrackStatus.CONFIRMED) -> TrackState:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(7, 7)) * np.array([100.0] * 3 + [10.0] * 3 + [0.03])[:, None]
    P = a @ a.T + np.diag([1e4] * 3 + [1e2] * 3 + [1e-3])
    x = state_from_geodetic(39.5, 131.0, 300e3, 3000.0, 10.0, 95.0, 0.2)
    return TrackState(
        track_id=f"{nation}-00001", nation=nation, t_s=120.0, x=x, P=P, status=status,
        flags=(FlagReason.NIS_HIGH,) if status is TrackStatus.FLAGGED else (),
        n_updates=12, sensors=(f"{nation}-R1",), nations=(nation,),
        model_probs=(0.1, 0.9),
    )  # fmt: skip


def test_round_trip_through_the_wire_format() -> None:
    st = _state("JPN", 1, TrackStatus.FLAGGED)
    p = to_payload(st, EPOCH, exercise=True)
    wire = msgspec.json.encode(p)
    back = from_payload(msgspec.json.decode(wire, type=MissileTrackPayload), label="SECRET")
    assert np.allclose(back.x[:6], st.x[:6])
    assert np.allclose(back.P[:6, :6], 0.5 * (st.P[:6, :6] + st.P[:6, :6].T))
    assert back.x[6] == pytest.approx(st.x[6])
    assert back.P[6, 6] > 100 * st.P[6, 6]  # the ballistic coefficient arrives uninformative
    assert back.status is TrackStatus.FLAGGED and back.flags == (FlagReason.NIS_HIGH,)
    assert back.label == "SECRET" and back.nations == ("JPN",)
    assert p.time == "2026-03-01T00:02:00+00:00"
    assert p.phase == "ballistic" and p.exercise
    assert 38.0 < p.lat < 41.0 and 130.0 < p.lon < 132.0 and 299e3 < p.alt_m < 301e3
    assert p.quality == pytest.approx(0.3)
    assert p.beta_kgpm2 == pytest.approx(5000.0)
    with pytest.raises(ValueError, match="timezone"):
        to_payload(st, dt.datetime(2026, 3, 1))  # noqa: DTZ001


def test_received_partner_tracks_fuse_with_local_ones() -> None:
    own = _state("JPN", 2)
    partner = from_payload(to_payload(_state("KOR", 3), EPOCH))
    fused = TrackFuser("JPN").fuse({"JPN": [own], "KOR": [partner]}, 120.0)
    assert len(fused) == 1 and fused[0].nations == ("JPN", "KOR")
    # the local ballistic coefficient survives (the partner's is uninformative)
    assert fused[0].P[6, 6] < 2.0 * own.P[6, 6]
