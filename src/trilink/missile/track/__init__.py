"""Trackers: ballistic motion model, radar model, the EKF/UKF/IMM filters (objects with one
interface, ``filter.TrackFilter``), the multi-target manager they are passed to, track
estimates (impact, launch, apogee) and validation helpers (PCRLB, model-matched synthetic
truth)."""

from trilink.missile.track.ekf import EkfFilter
from trilink.missile.track.estimate import estimate_track
from trilink.missile.track.filter import FilterParams, FilterSlots, TrackFilter
from trilink.missile.track.imm import ImmFilter, ImmParams
from trilink.missile.track.initiate import InitiationParams
from trilink.missile.track.manager import TrackManager
from trilink.missile.track.ukf import UkfFilter

FILTER_NAMES = ("ekf", "ukf", "imm")
"""The filters a configuration (a scenario's ``filter`` key) may name."""


def filter_named(name: str, params: FilterParams | None = None) -> TrackFilter:
    """The filter a configuration names: ``ekf`` (ballistic EKF), ``ukf`` (unscented, same
    model) or ``imm`` (boost + ballistic)."""
    if name == "ekf":
        return EkfFilter(params)
    if name == "ukf":
        return UkfFilter(params)
    if name == "imm":
        return ImmFilter(params)
    raise ValueError(f"unknown filter {name!r}: use one of {', '.join(FILTER_NAMES)}")


__all__ = [
    "FILTER_NAMES",
    "EkfFilter",
    "FilterParams",
    "FilterSlots",
    "ImmFilter",
    "ImmParams",
    "InitiationParams",
    "TrackFilter",
    "TrackManager",
    "UkfFilter",
    "estimate_track",
    "filter_named",
]
