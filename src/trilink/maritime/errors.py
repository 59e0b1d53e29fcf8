"""Typed errors of the maritime engine; each names the file/line/field and what to do."""

from __future__ import annotations

from trilink.errors import ConfigError, InputError


class MaritimeInputError(InputError):
    """An AIS/detection/zone input file that cannot be read at all."""


class UnknownLayoutError(MaritimeInputError):
    """A CSV whose columns match none of the known AIS layouts."""


class MaritimeConfigError(ConfigError):
    """A maritime TOML config with an unknown key or a bad value."""
