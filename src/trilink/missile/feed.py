"""A nation's plot feed: what its radars deliver to its tracker, as typed records (pure).

The contract between a plot source (the scenario simulator, ``trilink sim missile``, whose
headers come from ``sim.scenario.feed_header``; one day a radar gateway) and a nation's
``NationPipeline``. A feed is one header, then one plot record per
measurement in delivery order; ``io.feeds`` writes and reads them as JSON lines
(``USA.plots.jsonl`` …). The header names the nation, the scenario, its epoch and cycle length
and the nation's sensors, and carries what the nation's pipeline is built from (its label,
filter, warning settings, the seed of its Monte-Carlo draws), so the pipeline fed from a feed
computes what the offline scenario run computes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import Literal

import msgspec
import numpy as np

from trilink.missile.types import FloatArray, Plot, SensorCoverage
from trilink.missile.warn.machine import WarningConfig
from trilink.model.payloads.missile import Nation

FEED_FORMAT: Literal["trilink.missile.plots"] = "trilink.missile.plots"
FilterName = Literal["ekf", "ukf", "imm"]


class FeedSensor(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One of the nation's radars, as far as its tracker needs to know it."""

    sensor_id: str
    radar: str
    lat_deg: float
    lon_deg: float
    alt_m: float
    max_range_m: float
    min_elevation_deg: float
    update_s: float
    range_rate: bool
    """Whether its plots carry range-rate."""
    notional: bool = False

    @property
    def coverage(self) -> SensorCoverage:
        return SensorCoverage(self.max_range_m, math.radians(self.min_elevation_deg))


class PlotFeedHeader(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """First line of a plot feed."""

    format: Literal["trilink.missile.plots"] = FEED_FORMAT
    version: Literal[1] = 1
    nation: Nation
    scenario: str
    source: str
    """The scenario file the feed was simulated from."""
    epoch_utc: dt.datetime
    """Time 0 of ``t_s``."""
    cycle_s: float
    """How often the nation's pipeline shares, fuses and warns."""
    duration_s: float
    exercise: bool
    label: str
    """Security label of the nation's missile reports in this scenario."""
    seed: int
    filter: FilterName
    zones_view: str
    """Geodata view of Japan's zones (disputed islands) for the warnings."""
    warning: WarningConfig
    sensors: list[FeedSensor]

    def __post_init__(self) -> None:
        if self.epoch_utc.tzinfo is None:
            raise ValueError("epoch_utc needs a timezone (Z for UTC)")
        for name in ("cycle_s", "duration_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"{name} must be a positive number, not {value}")
        ids = [s.sensor_id for s in self.sensors]
        if len(set(ids)) != len(ids):
            raise ValueError("a sensor id is listed twice")

    @property
    def coverage(self) -> dict[str, SensorCoverage]:
        return {s.sensor_id: s.coverage for s in self.sensors}


class PlotRecord(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One plot line: a radar measurement and when it reached the tracker."""

    delivered_t_s: float
    sensor_id: str
    nation: Nation
    t_s: float
    """Measurement time, seconds since the epoch."""
    range_m: float
    azimuth_rad: float
    elevation_rad: float
    range_rate_mps: float | None = None
    sigma_range_m: float
    sigma_azimuth_rad: float
    sigma_elevation_rad: float
    sigma_range_rate_mps: float | None = None
    sensor_ecef_m: tuple[float, float, float]

    @classmethod
    def of(cls, plot: Plot, delivered_t_s: float) -> PlotRecord:
        """The record of a plot (truth fields stay out of the feed)."""
        return cls(
            delivered_t_s=delivered_t_s, sensor_id=plot.sensor_id,
            nation=plot.nation,
            t_s=plot.t_s, range_m=plot.range_m, azimuth_rad=plot.azimuth_rad,
            elevation_rad=plot.elevation_rad, range_rate_mps=plot.range_rate_mps,
            sigma_range_m=plot.sigma_range_m, sigma_azimuth_rad=plot.sigma_azimuth_rad,
            sigma_elevation_rad=plot.sigma_elevation_rad,
            sigma_range_rate_mps=plot.sigma_range_rate_mps, sensor_ecef_m=plot.sensor_ecef_m,
        )  # fmt: skip

    def plot(self) -> Plot:
        return Plot(
            sensor_id=self.sensor_id, nation=self.nation, t_s=self.t_s, range_m=self.range_m,
            azimuth_rad=self.azimuth_rad, elevation_rad=self.elevation_rad,
            range_rate_mps=self.range_rate_mps, sigma_range_m=self.sigma_range_m,
            sigma_azimuth_rad=self.sigma_azimuth_rad,
            sigma_elevation_rad=self.sigma_elevation_rad,
            sigma_range_rate_mps=self.sigma_range_rate_mps, sensor_ecef_m=self.sensor_ecef_m,
        )  # fmt: skip

    def problem(self, header: PlotFeedHeader) -> tuple[str, str] | None:
        """(field, what is wrong) if a tracker must not get this plot of ``header``'s feed."""
        if self.nation != header.nation:
            return "nation", f"a {self.nation} plot in {header.nation}'s feed"
        if self.sensor_id not in {s.sensor_id for s in header.sensors}:
            return "sensor_id", f"{self.sensor_id!r} is not one of the header's sensors"
        for name in ("delivered_t_s", "t_s", "azimuth_rad", "elevation_rad"):
            if not math.isfinite(getattr(self, name)):
                return name, "not a finite number"
        for name in ("range_m", "sigma_range_m", "sigma_azimuth_rad", "sigma_elevation_rad"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                return name, f"{value} is not a positive number"
        if not all(math.isfinite(v) for v in self.sensor_ecef_m):
            return "sensor_ecef_m", "not three finite numbers"
        if (self.range_rate_mps is None) != (self.sigma_range_rate_mps is None):
            return "range_rate_mps", "range_rate_mps and sigma_range_rate_mps go together"
        if self.range_rate_mps is not None and self.sigma_range_rate_mps is not None:
            if not math.isfinite(self.range_rate_mps):
                return "range_rate_mps", "not a finite number"
            if not (math.isfinite(self.sigma_range_rate_mps) and self.sigma_range_rate_mps > 0):
                return "sigma_range_rate_mps", "not a positive number"
        if self.delivered_t_s < self.t_s:
            return "delivered_t_s", f"delivered at {self.delivered_t_s} before its time {self.t_s}"
        return None


def cycle_times(cycle_s: float, duration_s: float) -> list[float]:
    """When a pipeline runs its cycles: every ``cycle_s`` from ``cycle_s`` to the end."""
    return [c * cycle_s for c in range(1, int(math.floor(duration_s / cycle_s + 1e-9)) + 1)]


def cycle_windows(
    delivered_t_s: FloatArray, cycle_s: float, duration_s: float
) -> Iterator[tuple[float, int, int]]:
    """Per cycle: its time ``t`` and the slice ``[start, end)`` of the plots delivered in
    ``(t - cycle_s, t]`` (``delivered_t_s`` non-decreasing)."""
    start = 0
    for t in cycle_times(cycle_s, duration_s):
        end = int(np.searchsorted(delivered_t_s, t, side="right"))
        yield t, start, end
        start = end
