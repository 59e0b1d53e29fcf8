"""Thresholds of cleaning and event detection, with Global Fishing Watch defaults.

Every number here can be changed in a TOML file (``--config``), one table per section::

    [encounter]
    max_distance_m = 500.0
    min_duration_h = 2.0

Defaults and where they come from (see data/maritime/SOURCES.md §4):
encounters ≤ 500 m for ≥ 2 h, both < 2 kn, ≥ 10 km from port, 10-min resampling, ≤ 1 h
interpolation (GFW encounters_pipeline); loitering < 2 kn for ≥ 4 h, ≥ 20 nm from shore
(pipe-loitering); gaps ≥ 12 h with both ends ≥ 50 nm from shore (pipe-gaps); port entry 3 km,
exit 4 km, stopped < 0.2/0.5 kn (anchorages_pipeline); dark-vessel match radius 1.5 km.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from trilink.maritime.errors import MaritimeConfigError


@dataclass(frozen=True)
class CleanConfig:
    max_speed_kn: float = 50.0  # implied speed above this is an impossible jump
    min_jump_m: float = 250.0  # below this a fast-looking step is GPS noise, not a jump
    future_tolerance_s: float = 300.0
    check_mmsi: bool = True


@dataclass(frozen=True)
class EncounterConfig:
    max_distance_m: float = 500.0
    min_duration_h: float = 2.0
    max_speed_kn: float = 2.0
    min_port_distance_km: float = 10.0
    resample_min: float = 10.0
    max_interp_gap_h: float = 1.0
    max_bin_gap: int = 1  # missing 10-min bins tolerated inside one encounter


@dataclass(frozen=True)
class LoiterConfig:
    max_speed_kn: float = 2.0
    min_duration_h: float = 4.0
    min_shore_distance_nm: float = 20.0
    max_point_gap_h: float = 2.0  # a longer silence ends a loitering run


@dataclass(frozen=True)
class GapConfig:
    min_gap_h: float = 12.0
    min_shore_distance_nm: float = 50.0
    aoi_min_gap_h: float = 2.0  # shorter threshold when either end is in an area of interest


@dataclass(frozen=True)
class PortConfig:
    entry_distance_km: float = 3.0
    exit_distance_km: float = 4.0
    stopped_speed_kn: float = 0.5
    require_stop: bool = True
    min_duration_h: float = 0.0


@dataclass(frozen=True)
class ZoneConfig:
    min_duration_min: float = 0.0
    fishing_ship_types: tuple[int, ...] = (30,)
    fishing_mmsis: tuple[int, ...] = ()
    ignore_port_calls: bool = True  # an incursion that reaches a port is a port call
    port_call_km: float = 3.0


@dataclass(frozen=True)
class DarkConfig:
    max_distance_km: float = 1.5
    max_interp_gap_h: float = 2.0
    max_extrapolate_min: float = 10.0


@dataclass(frozen=True)
class MaritimeConfig:
    clean: CleanConfig = field(default_factory=CleanConfig)
    encounter: EncounterConfig = field(default_factory=EncounterConfig)
    loitering: LoiterConfig = field(default_factory=LoiterConfig)
    gap: GapConfig = field(default_factory=GapConfig)
    port_visit: PortConfig = field(default_factory=PortConfig)
    zones: ZoneConfig = field(default_factory=ZoneConfig)
    dark: DarkConfig = field(default_factory=DarkConfig)


def _section(cls: type[Any], values: dict[str, Any], name: str, source: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise MaritimeConfigError(
                f"{source}: unknown key [{name}].{key}; known keys: {', '.join(known)}"
            )
        default = getattr(cls(), key)
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            value = float(value)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, list) and all(isinstance(v, int) for v in value)
            value = tuple(value) if ok else value
        if not ok:
            raise MaritimeConfigError(
                f"{source}: [{name}].{key} = {value!r} has the wrong type; "
                f"expected {type(default).__name__} like {default!r}"
            )
        kwargs[key] = value
    return replace(cls(), **kwargs)


def parse_config(data: dict[str, Any], source: str = "config") -> MaritimeConfig:
    sections = {f.name: f for f in fields(MaritimeConfig)}
    built: dict[str, Any] = {}
    for name, values in data.items():
        if name not in sections or not isinstance(values, dict):
            raise MaritimeConfigError(
                f"{source}: unknown section [{name}]; sections: {', '.join(sections)}"
            )
        built[name] = _section(type(getattr(MaritimeConfig(), name)), values, name, source)
    return replace(MaritimeConfig(), **built)


def load_config(path: Path | None) -> MaritimeConfig:
    """Defaults, overridden by the TOML file when one is given."""
    if path is None:
        return MaritimeConfig()
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise MaritimeConfigError(f"{path}: cannot read maritime config: {err}") from None
    return parse_config(data, str(path))
