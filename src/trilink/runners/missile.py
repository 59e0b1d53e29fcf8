"""One nation's missile warning at its own node (``trilink missile track``).

The runner feeds its nation's pipeline (``trilink.missile.pipeline``) with the plots of its
own radars and the partner ``missile.track`` reports *its node has received* (the node's
event stream): a partner track the node does not hold never reaches fusion, and what a
partner receives of ours is decided by the node's release policy alone, never here.

Each cycle it publishes through its node, as living reports: a national or fused track is
one report whose updates are new versions, a warning one report whose issue, update and
cancel are its versions. Fused tracks and warnings name the reports they derive from, with
a label combined from theirs, so the node refuses a product wider than its inputs.

The runner holds no key and opens no store: only its node's API token.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from trilink.client import ApiError, NodeClient, item
from trilink.errors import ConfigError
from trilink.missile.fuse.ci import national_ids
from trilink.missile.io.feeds import PlotFeedReader
from trilink.missile.pipeline import NationCycle, NationPipeline, PartnerTrack
from trilink.missile.warn.zones import japan_zones
from trilink.model.label import combine_labels, format_label, parse_label
from trilink.model.payloads.missile import MissileTrackPayload

TRACK = "missile.track"
WARNING = "missile.warning"


@dataclass
class RunStats:
    cycles: int = 0
    published: dict[str, int] = field(
        default_factory=lambda: {"track": 0, "fused": 0, "warning": 0}
    )
    partner_tracks_seen: int = 0
    refused: int = 0
    last_refusal: str = ""


class PartnerTracks:
    """The newest version of each partner track report this nation's node holds, kept up to
    date from the node's event stream in a thread of its own."""

    def __init__(self, client: NodeClient, nation: str) -> None:
        self.client = client
        self.nation = nation
        self._tracks: dict[str, tuple[int, PartnerTrack]] = {}
        self._lock = threading.Lock()
        self.seen = 0
        self._thread = threading.Thread(target=self._follow, name="partner-tracks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _follow(self) -> None:
        for report in self.client.stream(kind=TRACK):
            self.take(report)

    def take(self, report: dict[str, Any]) -> None:
        """One stored report from the stream; our own and bad ones are ignored."""
        if report.get("origin") == self.nation or report.get("tombstone"):
            return
        try:
            payload = msgspec.convert(report["payload"], MissileTrackPayload)
        except (msgspec.ValidationError, KeyError, TypeError):
            return
        partner = PartnerTrack(payload, str(report["label"]), str(report["id"]))
        with self._lock:
            known = self._tracks.get(payload.track_id)
            if known is None or known[0] < int(report["version"]):
                self._tracks[payload.track_id] = (int(report["version"]), partner)
                self.seen += 1

    def current(self) -> list[PartnerTrack]:
        with self._lock:
            return [p for _v, p in self._tracks.values()]


class MissileRunner:
    def __init__(self, client: NodeClient, nation: str, reader: PlotFeedReader) -> None:
        header = reader.header
        if header.nation != nation:
            raise ConfigError(
                f"these plots come from {header.nation}'s radars; this engine acts for "
                f"{nation}'s node only (the node of --config). Run {header.nation}'s tracker "
                f"at {header.nation}'s node"
            )
        zones, _why = japan_zones(header.zones_view)
        self.client = client
        self.nation = nation
        self.reader = reader
        self.pipeline = NationPipeline.for_feed(header, zones)
        self.partners = PartnerTracks(client, nation)
        self.report_of: dict[str, str] = {}  # "track:<id>" / "fused:<id>" / "warning:<id>"
        self.labels: dict[str, str] = {}  # report id -> label text (ours and partners')
        self.stats = RunStats()
        self.timeline: list[dict[str, Any]] = []
        """Per cycle with warnings: its time, the wall clock when its plots entered the
        tracker, and the (report id, version) of each warning published (for latency)."""
        self._cycle_wall = 0.0

    def run(
        self,
        *,
        speed: float | None = None,
        on_cycle: Callable[[NationCycle], None] | None = None,
    ) -> RunStats:
        """Every cycle of the feed. ``speed``: play in scaled real time (1.0 = real time);
        None: as fast as the cycles compute."""
        self.partners.start()
        t0 = time.monotonic()
        for t_s, plots in self.reader.cycles():
            if speed is not None:
                delay = t0 + t_s / speed - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            self._cycle_wall = time.time()
            cycle = self.pipeline.step(t_s, plots, self.partners.current())
            self.publish(cycle)
            self.stats.cycles += 1
            self.stats.partner_tracks_seen = self.partners.seen
            if on_cycle is not None:
                on_cycle(cycle)
        return self.stats

    def publish(self, cycle: NationCycle) -> None:
        """Own tracks first (products derive from them), then fused tracks and warnings."""
        own = [
            item(TRACK, cycle.label, p, report_id=self.report_of.get(f"track:{p.track_id}"))
            for p in cycle.tracks
        ]
        self._send(own, [f"track:{p.track_id}" for p in cycle.tracks], "track")
        for p in cycle.tracks:
            self.labels[self.report_of[f"track:{p.track_id}"]] = cycle.label
        for partner in self.partners.current():
            if partner.report_id is not None:
                self.labels[partner.report_id] = partner.label
        products: list[dict[str, Any]] = []
        keys: list[str] = []
        for fused in cycle.fused:
            inputs = self._inputs(cycle, fused.track_ids)
            key = f"fused:{fused.payload.track_id}"
            products.append(
                item(TRACK, self._label(cycle, inputs), fused.payload, derived_from=inputs,
                     report_id=self.report_of.get(key))
            )  # fmt: skip
            keys.append(key)
        self._send(products, keys, "fused")
        warnings: list[dict[str, Any]] = []
        keys = []
        for event in cycle.warnings:
            inputs = self._inputs(cycle, national_ids(event.assessment.track_id))
            key = f"warning:{event.payload.warning_id}"
            warnings.append(
                item(WARNING, self._label(cycle, inputs), event.payload, derived_from=inputs,
                     report_id=self.report_of.get(key))
            )  # fmt: skip
            keys.append(key)
        self._send(warnings, keys, "warning")

    def _inputs(self, cycle: NationCycle, track_ids: Iterable[str]) -> list[str]:
        ids = set(track_ids)
        partner = cycle.derived_from(ids)
        own = [self.report_of[f"track:{i}"] for i in sorted(ids) if f"track:{i}" in self.report_of]
        return sorted(set(own + partner))

    def _label(self, cycle: NationCycle, inputs: list[str]) -> str:
        labels = [parse_label(cycle.label)] + [
            parse_label(self.labels[r]) for r in inputs if r in self.labels
        ]
        return format_label(combine_labels(labels))

    def _send(self, items: list[dict[str, Any]], keys: list[str], what: str) -> None:
        if not items:
            return
        try:
            result = self.client.publish(items)
        except ApiError as err:
            if err.status == 0:
                raise  # the node is not there: nothing to do but say so
            self.stats.refused += len(items)  # the node said why and audited it
            self.stats.last_refusal = str(err)
            return
        for key, report in zip(keys, result.reports, strict=True):
            self.report_of[key] = report["id"]
        self.stats.published[what] += len(items)
        if what == "warning":
            self.timeline.append(
                {
                    "wall": self._cycle_wall,
                    "warnings": [[r["id"], r["version"]] for r in result.reports],
                }
            )
