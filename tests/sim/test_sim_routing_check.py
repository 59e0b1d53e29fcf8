"""Sea routes stay off land; the reference detectors find what they should on toy tracks."""

from __future__ import annotations

import numpy as np

from trilink.geo import is_on_land
from trilink.sim.background import cargo_ports
from trilink.sim.check import find_encounters, find_gaps, find_loitering
from trilink.sim.routing import PORTS, graph, legs_clear, route
from trilink.sim.scenario import Positions

BASE_T = 1_777_593_600


def test_routes_between_cargo_ports_keep_off_land() -> None:
    g = graph()
    assert len(cargo_ports()) == len(PORTS)  # every listed port is reachable
    for a, b in [("PUSAN", "TOKYO KO"), ("SHANGHAI", "VLADIVOSTOK"), ("KAOHSIUNG", "NAGOYA KO")]:
        pts = route(a, b)
        assert pts is not None and len(pts) > 10
        # away from the two ports (Natural Earth draws some harbours inland), no point on land
        d_end = np.minimum(
            np.hypot(pts[:, 0] - pts[0, 0], pts[:, 1] - pts[0, 1]),
            np.hypot(pts[:, 0] - pts[-1, 0], pts[:, 1] - pts[-1, 1]),
        )
        mid = pts[d_end > 0.3]
        assert not is_on_land(mid[:, 0], mid[:, 1]).any(), (a, b)
    assert not is_on_land(g.lat[~g.is_port], g.lon[~g.is_port]).any()


def test_leg_check_rejects_a_leg_across_honshu() -> None:
    across = np.column_stack([np.linspace(36.5, 35.0, 50), np.linspace(136.0, 140.5, 50)])
    assert not legs_clear([across])[0]


def _pos(rows: list[tuple[int, int, float, float, float]]) -> Positions:
    a = np.asarray(rows, dtype=np.float64)
    n = len(rows)
    return Positions(
        mmsi=a[:, 0].astype(np.int64),
        t=a[:, 1].astype(np.int64),
        lat=a[:, 2],
        lon=a[:, 3],
        sog_kn=a[:, 4],
        cog_deg=np.zeros(n),
        heading_deg=np.zeros(n, dtype=np.int64),
        msg_type=np.ones(n, dtype=np.int8),
        status=np.zeros(n, dtype=np.int8),
    )


def test_toy_encounter_loitering_and_gap_are_found() -> None:
    rows = []
    # two ships 100 m apart, 0.5 kn, for 3 h in the East China Sea (far from ports/shore)
    for k in range(0, 3 * 3600, 60):
        rows.append((111, BASE_T + k, 30.5, 124.3, 0.5))
        rows.append((222, BASE_T + k, 30.5009, 124.3, 0.5))
    # a third ship 5 km away: not part of the encounter
    for k in range(0, 3 * 3600, 60):
        rows.append((333, BASE_T + k, 30.545, 124.3, 0.5))
    enc = find_encounters(_pos(rows))
    assert [(e.type, e.mmsi) for e in enc] == [("encounter", (111, 222))]
    assert find_loitering(_pos(rows)) == []  # 3 h < 4 h
    # the same drift for 5 h: loitering for both
    long_rows = [
        (m, BASE_T + k, lat, 124.3, 0.5)
        for m, lat in ((111, 30.5), (222, 30.5009))
        for k in range(0, 5 * 3600, 60)
    ]
    assert {f.mmsi for f in find_loitering(_pos(long_rows))} == {(111,), (222,)}
    # a 13 h gap far from shore, and one near the coast of Honshu (ignored)
    gap_rows = [
        (444, BASE_T, 30.5, 126.0, 12.0),
        (444, BASE_T + 13 * 3600, 31.5, 127.0, 12.0),
        (555, BASE_T, 35.0, 139.9, 12.0),
        (555, BASE_T + 13 * 3600, 35.1, 140.0, 12.0),
    ]
    assert [(f.type, f.mmsi) for f in find_gaps(_pos(gap_rows))] == [("gap", (444,))]
