"""Playbooks, rosters and trigger payloads the crisis tests share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "crisis"
BM_EEZ = EXAMPLES / "bm-eez.toml"


def rosters() -> dict[str, Path]:
    return {n: EXAMPLES / f"roster-{n}.toml" for n in ("USA", "JPN", "KOR")}


def fast_playbook(ack_s: float = 4.0, interval_s: float = 2.0) -> str:
    """The example playbook with deadlines in seconds (for tests with real processes)."""
    text = BM_EEZ.read_text("utf-8")
    text = text.replace('id = "bm-eez"', 'id = "bm-fast"')
    text = text.replace('deadline = "5m"', f'deadline = "{ack_s:g}s"')
    return text.replace('interval = "2m"', f'interval = "{interval_s:g}s"')


def missile_warning(status: str = "issue", p_eez: float = 0.9) -> dict[str, Any]:
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
        "p_impact_in_japan_eez": p_eez,
        "p_overflies_japan": 0.0,
        "launch_lat": 39.0,
        "launch_lon": 125.6,
        "confidence": 0.95,
        "reason": "impact predicted in Japan's EEZ",
        "exercise": True,
    }
