"""The COP's own geometry test (features in view) and its filters (pure functions). Where
reports are on the map comes from the kind registry (tests/model/test_model_kinds.py,
tests/interop)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from trilink.web.features import bbox_intersects
from trilink.web.filters import FilterError, parse_filters

NATIONS = frozenset({"USA", "JPN", "KOR"})
KINDS = ["note", "maritime.event", "missile.track"]


def test_bbox_intersection() -> None:
    point = {"type": "Point", "coordinates": [130.0, 35.0]}
    assert bbox_intersects(point, (125, 30, 135, 40))
    assert not bbox_intersects(point, (131, 30, 135, 40))
    big = {
        "type": "Polygon",
        "coordinates": [[[100, 0], [160, 0], [160, 60], [100, 60], [100, 0]]],
    }
    assert bbox_intersects(big, (125, 30, 135, 40))  # covers the view


def test_filters_parse_and_reject_clearly() -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    f = parse_filters(
        {
            "kind": "note,missile.track",
            "origin": "usa, JPN",
            "classification": "secret,top secret",
            "exercise": "live",
            "since": "6h",
            "until": "2026-11-23T11:00:00Z",
            "bbox": "120,25,140,45",
            "limit": "10",
        },
        nations=NATIONS,
        known_kinds=KINDS,
        now=now,
    )
    assert f.kinds == {"note", "missile.track"} and f.origins == {"USA", "JPN"}
    assert f.since == now - timedelta(hours=6)
    assert f.until == datetime(2026, 11, 23, 11, tzinfo=UTC)
    assert f.bbox == (120, 25, 140, 45) and f.limit == 10 and f.exercise == "live"
    bad = [
        ({"kinds": "note"}, "unknown parameter 'kinds'"),
        ({"kind": "Note!"}, "unknown report kind"),
        ({"origin": "CHN"}, "unknown origin nation 'CHN'"),
        ({"classification": "SECRETISH"}, "unknown classification"),
        ({"exercise": "maybe"}, "not one of all, live, exercise"),
        ({"since": "yesterday"}, "is not a UTC time"),
        ({"since": "2026-11-23T10:00:00"}, "is not a UTC time"),  # naive: ambiguous
        ({"bbox": "1,2,3"}, "four numbers"),
        ({"bbox": "140,25,120,45"}, "south-west corner first"),
        ({"bbox": "0,0,200,10"}, "-180..180"),
        ({"limit": "0"}, "whole number"),
    ]
    for params, message in bad:
        with pytest.raises(FilterError, match=message):
            parse_filters(params, nations=NATIONS, known_kinds=KINDS)
