"""Typed errors of the missile engine (subclasses of ``trilink.errors``)."""

from __future__ import annotations

from trilink.errors import InputError, TrilinkError


class InfeasibleTrajectoryError(InputError):
    """A requested launch geometry that no ballistic trajectory of the model can fly.

    Carries the feasible apogee interval for the requested range when it is known, so the
    message can tell the user what would work.
    """

    def __init__(
        self,
        message: str,
        *,
        feasible_apogee_km: tuple[float, float] | None = None,
        field: str | None = None,
    ):
        super().__init__(message, field=field)
        self.feasible_apogee_km = feasible_apogee_km


class SiteDataError(InputError):
    """A sensor-site or launch-record file with a bad row."""


class ZonesUnavailableError(TrilinkError):
    """Japan's zones are not available from the geodata package."""


class NoImpactError(TrilinkError):
    """A trajectory that does not reach the ground (orbit, escape or cut short by t_max)."""
