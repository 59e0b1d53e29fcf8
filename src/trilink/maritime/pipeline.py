"""One batch run: ingested tables → cleaned tracks → events table + quality report.

Shared by ``trilink maritime events`` (files) and the live listener (one time window at a
time). Pure: inputs in, tables out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import polars as pl

from trilink.maritime.clean import QualityReport, clean_positions
from trilink.maritime.config import MaritimeConfig
from trilink.maritime.events import Detection, Geography, detect_all, events_frame
from trilink.maritime.ingest import Ingested
from trilink.maritime.nmea import MALFORMED
from trilink.maritime.tables import vessel_table


@dataclass
class RunResult:
    tracks: pl.DataFrame  # cleaned positions, sorted by (mmsi, time)
    vessels: pl.DataFrame  # one row per MMSI: latest statics and flag
    statics: pl.DataFrame
    events: pl.DataFrame
    quality: QualityReport
    detection: Detection


def run_batch(
    data: Ingested,
    geo: Geography,
    config: MaritimeConfig,
    *,
    now_ms: int,
    detections: pl.DataFrame | None = None,
) -> RunResult:
    cfg = config
    quality = QualityReport(layouts=dict(data.layouts))
    if not data.ids_are_mmsi and cfg.clean.check_mmsi:
        cfg = replace(cfg, clean=replace(cfg.clean, check_mmsi=False))
        quality.notes.append(
            "vessel ids are not MMSIs in some inputs (layout "
            + ", ".join(sorted(set(data.layouts.values())))
            + "): MMSI check "
            "skipped, flags unknown"
        )
    skipped = {k: v for k, v in data.notes.items()}
    quality.add_ingest(data.problems, skipped)  # type: ignore[arg-type]
    unknown = set(data.problems.counts) - set(MALFORMED)
    if unknown:
        quality.notes.append("unparsable values by column: " + ", ".join(sorted(unknown)))
    tracks, quality = clean_positions(data.positions, cfg.clean, now_ms=now_ms, report=quality)
    det = detect_all(tracks, data.statics, geo, cfg, detections)
    quality.notes.extend(det.notes)
    events = events_frame(det.events, data.statics)
    return RunResult(
        tracks, vessel_table(tracks, data.statics), data.statics, events, quality, det
    )
