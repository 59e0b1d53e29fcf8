"""The demo's maritime scenes.

1. An East Asian exercise scenario (``trilink sim maritime``): the Korea Coast Guard's node
   reports the ship-to-ship transfer with a sanctioned DPRK vessel in the East China Sea and
   the vessel that went dark; Japan's node reports foreign fishing at Yamato Bank and the
   territorial-sea incursion; each event naming a sanctioned vessel yields a sanctions hit.
   Everything is synthetic, so every label carries EXERCISE.
2. A replay of real AIS (Suez Canal, March 2021) on the US node: vessel tracks that grow
   step by step, published as new versions of one report per vessel.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from trilink.client import item
from trilink.federation.localnet import client_for
from trilink.maritime.config import load_config
from trilink.maritime.geoio import build_geography
from trilink.maritime.ingest import read_inputs
from trilink.maritime.io import read_detections
from trilink.maritime.pipeline import run_batch
from trilink.maritime.share import track_payloads
from trilink.runners.maritime import publish_maritime

Say = Callable[[str], None]

# Who reports what, under which label (exercise data: every label says so).
KOR_EVENTS = {"encounter", "loitering", "gap", "dark_vessel"}
JPN_EVENTS = {"foreign_fishing", "incursion"}
KOR_LABEL = "EXERCISE//SECRET//REL TO USA, JPN, KOR"
JPN_LABEL = "EXERCISE//SECRET//REL TO USA, JPN"
TRACKS_LABEL = "EXERCISE//UNCLASSIFIED//REL TO USA, JPN, KOR"
REPLAY_LABEL = "UNCLASSIFIED//REL TO USA, JPN, KOR"


def _detect(positions: list[Path], detections: Path | None, ports: Path | None) -> Any:
    data = read_inputs(positions)
    geo, _land = build_geography(None, ports_path=ports)
    return run_batch(
        data,
        geo,
        load_config(None),
        now_ms=int(time.time() * 1000),
        detections=read_detections(detections) if detections else None,
    )


def east_asia_exercise(root: Path, say: Say, *, seed: int = 5, vessels: int = 40) -> None:
    """Generate, detect and publish the East Asian exercise scenario."""
    from trilink.maritime.share import event_payloads
    from trilink.sim.io import write_outputs
    from trilink.sim.scenario import ScenarioConfig, generate

    out = root / "scenario-maritime"
    if not (out / "positions.csv").exists():
        say(f"generating the East Asian maritime exercise (seed {seed}, {vessels} vessels, 24 h)")
        scenario = generate(ScenarioConfig(seed=seed, hours=24.0, vessels=vessels))
        write_outputs(scenario, out, nmea=False, parquet=False)
    say("detecting vessel events (encounters, loitering, dark vessels, foreign fishing)")
    result = _detect([out / "positions.csv"], out / "sar_detections.csv", out / "ports.csv")
    events = event_payloads(result.events)
    for nation, wanted, label in (("KOR", KOR_EVENTS, KOR_LABEL), ("JPN", JPN_EVENTS, JPN_LABEL)):
        mine = [e for e in events if e["type"] in wanted]
        with client_for(root, nation) as client:
            done = publish_maritime(client, label, mine, source="exercise scenario")
        say(f"{nation}: {len(done.events)} maritime events, {len(done.hits)} sanctions hits")
    with client_for(root, "KOR") as client:
        done = publish_maritime(
            client, TRACKS_LABEL, [], tracks=result.tracks, screen=False, source="exercise"
        )
    say(f"KOR: {len(done.tracks)} vessel tracks of the exercise")


def suez_replay(root: Path, say: Say, *, steps: int = 6, pause_s: float = 4.0) -> None:
    """Replay real AIS on the US node: each step adds the next slice of time to each track."""
    source = resources.files("trilink.demo").joinpath("data/suez_2021_part1.csv.gz")
    work = root / "replay"
    work.mkdir(parents=True, exist_ok=True)
    csv = work / "suez_2021_part1.csv"
    if not csv.exists():
        import gzip

        csv.write_bytes(gzip.decompress(source.read_bytes()))
    result = _detect([csv], None, None)
    tracks: pl.DataFrame = result.tracks.sort("timestamp")
    times = tracks.get_column("timestamp")
    start, end = times.min(), times.max()
    assert isinstance(start, datetime) and isinstance(end, datetime)
    ids: dict[int, str] = {}
    for step in range(1, steps + 1):
        until = start + (end - start) * step / steps
        upto = tracks.filter(pl.col("timestamp") <= until)
        payloads = track_payloads(upto, max_points=80, source="real AIS, Suez 2021 (VesselsValue)")
        with client_for(root, "USA") as client:
            # one report per vessel: each step publishes a new version of its track
            items = [
                item("maritime.track", REPLAY_LABEL, p, report_id=ids.get(int(p["mmsi"])))
                for p in payloads
            ]
            done = client.publish(items)
            for payload, report in zip(payloads, done.reports, strict=True):
                ids[int(payload["mmsi"])] = report["id"]
        say(
            f"USA: real AIS replay {until.astimezone(UTC):%Y-%m-%d %H:%M} UTC, "
            f"{len(payloads)} vessels"
        )
        if step < steps:
            time.sleep(pause_s)
