"""Typed errors of `trilink.geo`: bad user zone files and bad coordinates given to the API."""

from __future__ import annotations

from trilink.errors import InputError


class ZoneFileError(InputError):
    """A user zone GeoJSON that cannot be used; names the feature index and property."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        feature_index: int | None = None,
        prop: str | None = None,
    ):
        field = None
        if feature_index is not None:
            field = f"features[{feature_index}]"
            if prop is not None:
                field += f".properties.{prop}"
        elif prop is not None:
            field = prop
        super().__init__(message, path=path, field=field)
        self.feature_index = feature_index
        self.prop = prop


class CoordinateError(InputError):
    """Latitude/longitude arrays that do not match in shape or hold impossible values."""


class UnknownViewError(InputError):
    """A `view` name that no precomputed zone set exists for."""
