"""File edge of the plot feeds: per-nation ``<NATION>.plots.jsonl``, ``truth.jsonl`` and
``truth.geojson`` (``trilink sim missile``), and the reader a nation's tracker uses.

A feed file is JSON lines: line 1 the ``PlotFeedHeader`` (nation, scenario, epoch, cycle
length, sensors and the pipeline's settings), then one ``PlotRecord`` per plot of that
nation's radars only, in delivery order, injected faults included (a NaN range is written as
``null``; a late plot comes after the plots delivered before it). Truth never goes into a feed:
``truth.jsonl`` holds the launches, their sampled true states and, per feed line, which launch
a plot saw (or that it is clutter) and its fault; ``truth.geojson`` the true flights
(RFC 7946).

The reader bounds every line's length; a bad plot line is recorded with file, line and field
(``PlotFeedError``) and skipped, and the rest is read. A feed whose header cannot be read is
refused whole.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Literal

import msgspec
import numpy as np

from trilink.errors import InputError
from trilink.missile.feed import PlotFeedHeader, PlotRecord, cycle_times
from trilink.missile.frames import ecef_to_geodetic
from trilink.missile.io.geojson import truth_features
from trilink.missile.sim.scenario import (
    PlotDeliveries,
    Scenario,
    Truth,
    deliver_plots,
    feed_header,
)
from trilink.missile.types import NATIONS, FloatArray, Plot

MAX_HEADER_BYTES = 256 * 1024
MAX_LINE_BYTES = 4096
"""A plot line is about 450 bytes; anything far longer is not a plot."""
TRUTH_STEP_S = 1.0

_PATH = re.compile(r"at `\$\.?([^`\[]*)")
_NAMED = re.compile(r"(?:missing required|unknown) field `([^`]*)`")


class PlotFeedError(InputError):
    """A plot feed (or one of its lines) that cannot be read; carries file, line and field."""


# ------------------------------------------------------------------------------ truth records


class TruthHeader(msgspec.Struct, tag="header", tag_field="type", kw_only=True):
    scenario: str
    source: str
    epoch_utc: str
    duration_s: float
    faults_injected: dict[str, int]


class TruthLaunch(msgspec.Struct, tag="launch", tag_field="type", kw_only=True):
    launch_id: str
    site: str
    t_launch_s: float
    launch_lat: float
    launch_lon: float
    impact_lat: float
    impact_lon: float
    apogee_km: float
    flight_time_s: float


class TruthState(msgspec.Struct, tag="state", tag_field="type", kw_only=True):
    launch_id: str
    t_s: float
    lat: float
    lon: float
    alt_m: float
    position_ecef_m: tuple[float, float, float]
    velocity_ecef_mps: tuple[float, float, float]


class TruthPlot(msgspec.Struct, tag="plot", tag_field="type", kw_only=True):
    nation: str
    line: int
    """Line number of the plot in ``<nation>.plots.jsonl`` (line 1 is the header)."""
    truth_id: str | None
    clutter: bool
    fault: Literal["nan", "late"] | None


# ------------------------------------------------------------------------------ writing


def _truth_records(
    sc: Scenario, truths: list[Truth], delivered: PlotDeliveries
) -> Iterator[msgspec.Struct]:
    yield TruthHeader(
        scenario=sc.name, source=sc.source, epoch_utc=sc.epoch_utc.isoformat(),
        duration_s=sc.duration_s, faults_injected=delivered.faults_injected,
    )  # fmt: skip
    for t in truths:
        tr = t.obj.trajectory
        lat, lon, _ = ecef_to_geodetic(tr.pos_ecef_m[[0, -1]])
        yield TruthLaunch(
            launch_id=t.spec.launch_id, site=t.spec.site, t_launch_s=t.spec.t_launch_s,
            launch_lat=float(lat[0]), launch_lon=float(lon[0]), impact_lat=float(lat[1]),
            impact_lon=float(lon[1]), apogee_km=t.spec.apogee_km,
            flight_time_s=float(tr.t_s[-1]),
        )  # fmt: skip
    for t in truths:
        tr = t.obj.trajectory
        rel = np.arange(0.0, float(tr.t_s[-1]), TRUTH_STEP_S)
        pos, vel = tr.sample(rel)
        lat, lon, alt = ecef_to_geodetic(pos)
        for k in range(rel.size):
            yield TruthState(
                launch_id=t.spec.launch_id, t_s=float(rel[k]) + t.spec.t_launch_s,
                lat=float(lat[k]), lon=float(lon[k]), alt_m=float(alt[k]),
                position_ecef_m=(float(pos[k, 0]), float(pos[k, 1]), float(pos[k, 2])),
                velocity_ecef_mps=(float(vel[k, 0]), float(vel[k, 1]), float(vel[k, 2])),
            )  # fmt: skip


def _fault(plot: Plot, delivered_t_s: float) -> Literal["nan", "late"] | None:
    if not math.isfinite(plot.range_m):
        return "nan"
    return "late" if delivered_t_s > plot.t_s else None


def write_feeds(
    sc: Scenario, out: Path, *, truths: list[Truth], delivered: PlotDeliveries | None = None
) -> dict[str, Path]:
    """Write ``<NATION>.plots.jsonl`` for every nation, ``truth.jsonl`` and ``truth.geojson``
    into ``out``; returns the files by name."""
    delivered = delivered or deliver_plots(sc, truths)
    out.mkdir(parents=True, exist_ok=True)
    enc = msgspec.json.Encoder()
    files: dict[str, Path] = {}
    truth_plots: list[TruthPlot] = []
    for nation in NATIONS:
        path = out / f"{nation}.plots.jsonl"
        line = 1
        with path.open("wb") as fh:
            fh.write(enc.encode(feed_header(sc, nation)) + b"\n")
            for plot, t in zip(delivered.plots, delivered.delivered_t_s.tolist(), strict=True):
                if plot.nation != nation:
                    continue
                fh.write(enc.encode(PlotRecord.of(plot, t)) + b"\n")
                line += 1
                truth_plots.append(
                    TruthPlot(nation=nation, line=line, truth_id=plot.truth_id,
                              clutter=plot.is_clutter, fault=_fault(plot, t))
                )  # fmt: skip
        files[path.name] = path
    path = out / "truth.jsonl"
    with path.open("wb") as fh:
        for record in _truth_records(sc, truths, delivered):
            fh.write(enc.encode(record) + b"\n")
        for record in truth_plots:
            fh.write(enc.encode(record) + b"\n")
    files[path.name] = path
    path = out / "truth.geojson"
    collection = {"type": "FeatureCollection", "features": truth_features(truths, impacts=True)}
    path.write_text(json.dumps(collection), "utf-8")
    files[path.name] = path
    return files


# ------------------------------------------------------------------------------ reading


def _field_of(err: msgspec.ValidationError) -> str | None:
    """The field a msgspec error names: its path (``$.range_m``), or the missing or unknown
    field of a top-level object."""
    text = str(err)
    found = _PATH.search(text)
    path = found.group(1) if found else ""
    named = _NAMED.search(text)
    if named is not None:
        return f"{path}.{named.group(1)}" if path else named.group(1)
    return path or None


def _message_of(err: msgspec.ValidationError) -> str:
    return str(err).split(" - at `")[0]


class PlotFeedReader:
    """Reads one plot feed as it goes: ``header`` at once, then plots by iteration as
    ``(delivered_t_s, Plot)``; bad lines land in ``problems`` and are skipped."""

    def __init__(
        self,
        path: Path,
        *,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_header_bytes: int = MAX_HEADER_BYTES,
    ) -> None:
        self.path = path
        self.max_line_bytes = max_line_bytes
        self.problems: list[PlotFeedError] = []
        self.lines = 0
        try:
            self._fh: BinaryIO = path.open("rb")
        except OSError as err:
            raise PlotFeedError(f"cannot read the feed ({err.strerror})", path=str(path)) from None
        try:
            self.header = self._read_header(max_header_bytes)
        except BaseException:
            self._fh.close()
            raise
        self._sensors = {s.sensor_id for s in self.header.sensors}
        self._last_delivered = -math.inf

    def _error(self, message: str, field: str | None = None) -> PlotFeedError:
        return PlotFeedError(message, path=str(self.path), line=self.lines, field=field)

    def _read_header(self, limit: int) -> PlotFeedHeader:
        raw = self._fh.readline(limit + 1)
        self.lines = 1
        if not raw:
            raise self._error("empty file: a plot feed starts with its header line")
        if len(raw) > limit and not raw.endswith(b"\n"):
            raise self._error(f"header line longer than {limit} bytes")
        try:
            return msgspec.json.decode(raw, type=PlotFeedHeader)
        except msgspec.ValidationError as err:
            raise self._error(
                f"not a plot feed header: {_message_of(err)}", _field_of(err)
            ) from None
        except msgspec.DecodeError as err:
            raise self._error(f"header is not valid JSON: {err}") from None

    def _skip_rest_of_line(self) -> None:
        while True:
            chunk = self._fh.readline(64 * 1024)
            if not chunk or chunk.endswith(b"\n"):
                return

    def _record(self, raw: bytes) -> PlotRecord | None:
        try:
            record = msgspec.json.decode(raw, type=PlotRecord)
        except msgspec.ValidationError as err:
            message = _message_of(err)
            if message.endswith("got `null`"):
                message = "no number (null: a NaN or infinite measurement)"
            self.problems.append(self._error(message, _field_of(err)))
            return None
        except msgspec.DecodeError as err:
            self.problems.append(self._error(f"not valid JSON: {err}"))
            return None
        problem = record.problem(self.header)
        if problem is None and record.delivered_t_s < self._last_delivered:
            problem = ("delivered_t_s", "out of delivery order (earlier than the line before)")
        if problem is not None:
            self.problems.append(self._error(problem[1], problem[0]))
            return None
        return record

    def __iter__(self) -> Iterator[tuple[float, Plot]]:
        limit = self.max_line_bytes
        while True:
            raw = self._fh.readline(limit + 1)
            if not raw:
                return
            self.lines += 1
            if len(raw) > limit and not raw.endswith(b"\n"):
                self._skip_rest_of_line()
                self.problems.append(self._error(f"line longer than {limit} bytes"))
                continue
            if not raw.strip():
                continue
            record = self._record(raw)
            if record is not None:
                self._last_delivered = record.delivered_t_s
                yield record.delivered_t_s, record.plot()

    def cycles(self) -> Iterator[tuple[float, list[Plot]]]:
        """The feed cycle by cycle as it is read: at each cycle time ``t`` (``cycle_times``
        of the header) the plots delivered in ``(t - cycle_s, t]``."""
        plots = iter(self)
        ahead: tuple[float, Plot] | None = None
        for t in cycle_times(self.header.cycle_s, self.header.duration_s):
            batch: list[Plot] = []
            if ahead is not None and ahead[0] <= t:
                batch.append(ahead[1])
                ahead = None
            while ahead is None:
                row = next(plots, None)
                if row is None:
                    break
                if row[0] <= t:
                    batch.append(row[1])
                else:
                    ahead = row
            yield t, batch

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> PlotFeedReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@dataclass
class PlotFeed:
    """A whole plot feed in memory."""

    header: PlotFeedHeader
    plots: list[Plot]
    delivered_t_s: FloatArray
    problems: list[PlotFeedError] = field(default_factory=list)


def read_plot_feed(path: Path, *, max_line_bytes: int = MAX_LINE_BYTES) -> PlotFeed:
    """Read a plot feed; bad lines are in ``problems`` (file, line, field), the rest is read."""
    with PlotFeedReader(path, max_line_bytes=max_line_bytes) as reader:
        rows = list(reader)
        return PlotFeed(
            header=reader.header,
            plots=[p for _, p in rows],
            delivered_t_s=np.array([t for t, _ in rows], dtype=np.float64),
            problems=reader.problems,
        )
