"""Reports of every registered engine kind, as the engines write them, turned into items the
way the COP and ``trilink export`` do (``trilink.interop.items.build_item``)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from trilink.interop.items import Item, build_item
from trilink.model.label import parse_label
from trilink.model.report import Envelope, build_envelope

A_WGS84, E2_WGS84 = 6_378_137.0, 6.69437999014e-3


def ecef(lon: float, lat: float, alt_m: float) -> list[float]:
    la, lo = math.radians(lat), math.radians(lon)
    n = A_WGS84 / math.sqrt(1 - E2_WGS84 * math.sin(la) ** 2)
    return [
        (n + alt_m) * math.cos(la) * math.cos(lo),
        (n + alt_m) * math.cos(la) * math.sin(lo),
        (n * (1 - E2_WGS84) + alt_m) * math.sin(la),
    ]


def covariance(sigma_m: float = 500.0) -> list[list[float]]:
    """A 6x6 ECEF covariance: ``sigma_m`` position error along every axis."""
    cov = [[0.0] * 6 for _ in range(6)]
    for i in range(3):
        cov[i][i] = sigma_m**2
    for i in range(3, 6):
        cov[i][i] = 100.0
    return cov


def missile_track(
    k: int = 0, track_id: str = "T7", nations: Iterable[str] = ("USA", "JPN")
) -> dict[str, Any]:
    lon, lat, alt = 126.5 + 1.5 * k, 39.2 + 0.3 * k, 100_000.0 + 20_000.0 * k
    return {
        "track_id": track_id,
        "nation": "USA",
        "nations": list(nations),
        "time": f"2026-11-23T06:00:{10 * k:02d}Z",
        "t_s": 10.0 * k,
        "lat": lat,
        "lon": lon,
        "alt_m": alt,
        "position_ecef_m": ecef(lon, lat, alt),
        "velocity_ecef_mps": [-1500.0, 2500.0, 800.0],
        "covariance": covariance(),
        "phase": "ballistic",
        "status": "confirmed",
        "sensors": ["USA-TPY2-1", "JPN-FPS5-1"],
    }


def missile_warning(status: str = "issue") -> dict[str, Any]:
    return {
        "warning_id": "W7",
        "status": status,
        "time": "2026-11-23T06:00:30Z",
        "track_ids": ["T7"],
        "nations": ["USA", "JPN"],
        "impact_lat": 40.3,
        "impact_lon": 137.4,
        "ellipse_semi_major_m": 50_000.0,
        "ellipse_semi_minor_m": 20_000.0,
        "ellipse_orientation_deg": 75.0,
        "impact_time": "2026-11-23T06:09:00Z",
        "time_to_impact_s": 510.0,
        "p_impact_in_japan_eez": 0.9,
        "p_overflies_japan": 0.0,
        "launch_lat": 39.0,
        "launch_lon": 125.6,
        "confidence": 0.95,
    }


def maritime_event(mmsi: int | None = 412000001) -> dict[str, Any]:
    return {
        "type": "foreign_fishing" if mmsi else "dark_vessel",
        "start": "2026-11-23T05:00:00Z",
        "end": "2026-11-23T05:40:00Z",
        "mmsi": mmsi,
        "imo": "9074729" if mmsi else None,
        "lat": 37.6,
        "lon": 134.1,
        "name": "LU RONG YU 1" if mmsi else None,
    }


def maritime_track() -> dict[str, Any]:
    return {
        "mmsi": 353136000,
        "imo": "9811000",
        "name": "EVER GIVEN",
        "ship_type": 71,
        "start": "2026-11-23T04:00:00Z",
        "end": "2026-11-23T05:00:00Z",
        "lat": 30.02,
        "lon": 32.58,
        "track": [(32.55, 29.95), (32.57, 30.0), (32.58, 30.02)],
        "positions_total": 3,
        "sog_kn": 12.5,
        "cog_deg": 10.0,
    }


def sanctions_hit() -> dict[str, Any]:
    seen = {"name": "YU PENG", "imo": "8914934", "mmsi": "457123000"}
    listed = {"list_id": "UN-1718", "entry_id": "KPe.123", "name": "YU PENG", "imo": "8914934"}
    return {
        "summary": "STS partner YU PENG on UN 1718 list",
        "source": "encounter",
        "event_start": "2026-11-23T03:00:00Z",
        "event_end": "2026-11-23T05:00:00Z",
        "lat": 29.5,
        "lon": 124.8,
        "hits": [
            {
                "role": "other",
                "seen": seen,
                "listed": listed,
                "matched_name": "YU PENG",
                "score": 100.0,
                "rule": "imo-exact",
                "reason": "IMO 8914934 matches",
                "evidence": [],
            }
        ],
    }


LIVE = "SECRET//REL TO USA, JPN, KOR"
DRILL = "EXERCISE//CONFIDENTIAL//REL TO USA, JPN, KOR"


def envelope(
    kind: str, payload: dict[str, Any], label: str = LIVE, origin: str = "USA", seq: int = 1
) -> Envelope:
    return build_envelope(
        origin=origin, origin_seq=seq, kind=kind, label=parse_label(label), payload=payload
    )


def item(kind: str, payload: dict[str, Any], label: str = LIVE, origin: str = "USA") -> Item:
    env = envelope(kind, payload, label, origin)
    return build_item(env, parse_label(label), seq=next(_SEQ))


def _counter() -> Iterable[int]:
    n = 0
    while True:
        n += 1
        yield n


_SEQ = iter(_counter())


def every_kind() -> list[Item]:
    """One or more reports of every engine kind with a position, live and exercise."""
    return [
        item("missile.track", missile_track(0)),
        item("missile.track", missile_track(1)),  # the same track T7, newer
        item("missile.track", missile_track(0, "T8", ["USA"])),
        item("missile.warning", missile_warning()),
        item("maritime.event", maritime_event(), origin="JPN"),
        item("maritime.event", maritime_event(None), DRILL, origin="KOR"),
        item("maritime.track", maritime_track(), DRILL, origin="JPN"),
        item("sanctions.hit", sanctions_hit(), origin="JPN"),
        item("note", {"title": "watch handover", "body": "quiet"}),
    ]
