"""Cleaning: raw positions → per-vessel, time-ordered positions fit for event detection.

Every removed or reordered record is counted by reason in a ``QualityReport`` (the per-run
quality report analysts read next to the events): missing/unparsable fields, invalid MMSI,
"not available" positions (lat 91 / lon 181), out-of-range coordinates, future timestamps,
duplicates, out-of-order arrivals (kept, re-sorted) and impossible jumps (implied speed).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from numba import njit

from trilink.maritime.config import CleanConfig
from trilink.maritime.geodesy import KN_MS, haversine_m
from trilink.maritime.nmea import ProblemLog
from trilink.maritime.tables import normalise_sentinels

# Ship-station MMSIs carry a Maritime Identification Digit 201..775 in front (ITU-R M.585).
MMSI_MIN = 201_000_000
MMSI_MAX = 775_999_999


@dataclass
class QualityReport:
    """What came in, what went out, and why each dropped record was dropped."""

    input_rows: int = 0
    output_rows: int = 0
    vessels: int = 0
    removed: Counter[str] = field(default_factory=Counter)
    flagged: Counter[str] = field(default_factory=Counter)
    malformed: Counter[str] = field(default_factory=Counter)
    skipped_lines: Counter[str] = field(default_factory=Counter)
    problems: list[dict[str, Any]] = field(default_factory=list)
    layouts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    t_first: str | None = None
    t_last: str | None = None

    def add_ingest(self, problems: ProblemLog, skipped: Counter[str]) -> None:
        self.malformed.update(problems.counts)
        self.skipped_lines.update(skipped)
        self.problems.extend(
            {"source": p.source, "line": p.line, "reason": p.reason, "text": p.text}
            for p in problems.items
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_rows": self.input_rows,
            "output_rows": self.output_rows,
            "vessels": self.vessels,
            "time_first": self.t_first,
            "time_last": self.t_last,
            "removed": dict(sorted(self.removed.items())),
            "flagged": dict(sorted(self.flagged.items())),
            "malformed_input": dict(sorted(self.malformed.items())),
            "skipped_lines": dict(sorted(self.skipped_lines.items())),
            "layouts": self.layouts,
            "notes": self.notes,
            "problems": self.problems,
        }

    def to_text(self) -> str:
        lines = [
            "Maritime quality report",
            f"positions in: {self.input_rows}   kept: {self.output_rows}   "
            f"vessels: {self.vessels}",
            f"time span: {self.t_first} .. {self.t_last}",
        ]
        for title, counts in (
            ("removed", self.removed),
            ("flagged (kept)", self.flagged),
            ("malformed input records", self.malformed),
            ("lines skipped on purpose", self.skipped_lines),
        ):
            lines.append(f"{title}:")
            lines.extend(f"  {k:<28} {v}" for k, v in sorted(counts.items()))
            if not counts:
                lines.append("  (none)")
        if self.layouts:
            lines.append("inputs: " + ", ".join(f"{k} ({v})" for k, v in self.layouts.items()))
        lines.extend(f"note: {n}" for n in self.notes)
        if self.problems:
            lines.append(f"first {min(len(self.problems), 50)} malformed records:")
            lines.extend(
                f"  {p['source']}:{p['line']}: {p['reason']}: {p['text']}"
                for p in self.problems[:50]
            )
        return "\n".join(lines) + "\n"


@njit(cache=True)
def _scan(
    vessel_start: np.ndarray,
    t_ms: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    arrival: np.ndarray,
    max_speed_ms: float,
    min_jump_m: float,
) -> tuple[np.ndarray, np.ndarray, int]:
    """One pass over fixes sorted by (vessel, time, arrival).

    Returns (keep, reason, out_of_order) where reason is 1 exact duplicate, 2 impossible jump,
    3 same time but another position. A fix whose implied speed from the last kept fix is
    impossible is dropped; after three rejections in a row the track is taken to have truly
    moved (the kept fix was the outlier) and restarts from the current fix. Of two fixes at
    one time the one that fits the track stays.
    """
    n = t_ms.size
    keep = np.ones(n, dtype=np.bool_)
    reason = np.zeros(n, dtype=np.int8)
    last = 0
    rejected = 0
    max_arrival = -1
    out_of_order = 0
    for i in range(n):
        if vessel_start[i]:
            last = i
            rejected = 0
            max_arrival = arrival[i]
            continue
        if arrival[i] < max_arrival:
            out_of_order += 1
        else:
            max_arrival = arrival[i]
        same_t = t_ms[i] == t_ms[last]
        if same_t and lat[i] == lat[last] and lon[i] == lon[last]:
            keep[i] = False
            reason[i] = 1
            continue
        dt = (t_ms[i] - t_ms[last]) / 1000.0
        d = haversine_m(lon[last], lat[last], lon[i], lat[i])
        if d > min_jump_m and d > max_speed_ms * max(dt, 1.0):
            rejected += 1
            if rejected <= 3:
                keep[i] = False
                reason[i] = 2
                continue
        elif same_t:
            keep[i] = False
            reason[i] = 3
            continue
        last = i
        rejected = 0
    return keep, reason, out_of_order


def _np(col: pl.Series, fill: float) -> np.ndarray:
    """Column as numpy: zero-copy when it has no nulls, nulls replaced by ``fill`` else."""
    out: np.ndarray = (col if col.null_count() == 0 else col.fill_null(fill)).to_numpy()
    return out


def _is_sorted(mmsi: np.ndarray, t_ms: np.ndarray) -> bool:
    if mmsi.size < 2:
        return True
    dm = np.diff(mmsi)
    return bool((dm >= 0).all() and ((dm > 0) | (np.diff(t_ms) >= 0)).all())


def clean_positions(
    positions: pl.DataFrame,
    config: CleanConfig,
    *,
    now_ms: int,
    report: QualityReport | None = None,
) -> tuple[pl.DataFrame, QualityReport]:
    """Return positions sorted by (mmsi, time) without bad records, and the counts."""
    rep = report or QualityReport()
    rep.input_rows += positions.height
    df = normalise_sentinels(positions)
    n = df.height
    mmsi = _np(df.get_column("mmsi"), -1)
    ts = df.get_column("timestamp")
    t_ms = _np(ts.to_physical(), 0)
    lat = _np(df.get_column("lat"), np.nan)
    lon = _np(df.get_column("lon"), np.nan)
    sog = _np(df.get_column("sog_kn"), 0.0)
    cog = _np(df.get_column("cog_deg"), 0.0)
    # Checks in order; a row is counted under the first reason it fails.
    checks: list[tuple[str, np.ndarray]] = [
        ("missing_mmsi", df.get_column("mmsi").is_null().to_numpy()),
        ("missing_timestamp", ts.is_null().to_numpy()),
        ("missing_position", np.isnan(lat) | np.isnan(lon)),
        ("position_not_available_91_181", (lat == 91.0) | (lon == 181.0)),
        ("position_out_of_range", (np.abs(lat) > 90.0) | (np.abs(lon) > 180.0)),
    ]
    if config.check_mmsi:
        checks.append(("invalid_mmsi", (mmsi < MMSI_MIN) | (mmsi > MMSI_MAX)))
    future_ms = now_ms + int(config.future_tolerance_s * 1000)
    checks.append(("future_timestamp", t_ms > future_ms))
    checks.append(("negative_speed_or_course", (sog < 0) | (cog < 0)))
    bad = np.zeros(n, dtype=bool)
    for reason, mask in checks:
        new = mask & ~bad
        count = int(new.sum())
        if count:
            rep.removed[reason] += count
            bad |= new
    del checks, sog, cog
    if bad.any():
        good = ~bad
        df = df.filter(pl.Series(good))
        mmsi, t_ms, lat, lon = mmsi[good], t_ms[good], lat[good], lon[good]
    arrival = np.arange(df.height, dtype=np.uint32)
    if not _is_sorted(mmsi, t_ms):
        # polars' multi-threaded stable arg-sort: ties keep arrival order
        order = (
            pl.DataFrame({"m": mmsi, "t": t_ms})
            .select(pl.arg_sort_by("m", "t", maintain_order=True))
            .to_series()
            .to_numpy()
        )
        del mmsi, t_ms, lat, lon
        df = df[order]
        # zero-copy views of the sorted frame instead of gathering every array again
        mmsi = df.get_column("mmsi").to_numpy()
        t_ms = df.get_column("timestamp").to_physical().to_numpy()
        lat, lon = df.get_column("lat").to_numpy(), df.get_column("lon").to_numpy()
        arrival = order.astype(np.uint32, copy=False)
        del order
    if df.height:
        start = np.ones(df.height, dtype=np.bool_)
        start[1:] = mmsi[1:] != mmsi[:-1]
        keep, why, n_ooo = _scan(
            start, t_ms, lon, lat, arrival, config.max_speed_kn * KN_MS, config.min_jump_m
        )
        if n_ooo:
            rep.flagged["out_of_order_resorted"] += int(n_ooo)
        for code, reason in (
            (1, "duplicate"),
            (2, "impossible_jump"),
            (3, "conflicting_duplicate_same_time"),
        ):
            count = int((why == code).sum())
            if count:
                rep.removed[reason] += count
        if not keep.all():
            df = df.filter(pl.Series(keep))
    rep.output_rows += df.height
    rep.vessels = df.get_column("mmsi").n_unique() if df.height else 0
    if df.height:
        t_min, t_max = df.get_column("timestamp").min(), df.get_column("timestamp").max()
        rep.t_first = t_min.isoformat() if t_min is not None else None  # type: ignore[union-attr]
        rep.t_last = t_max.isoformat() if t_max is not None else None  # type: ignore[union-attr]
    return df, rep
