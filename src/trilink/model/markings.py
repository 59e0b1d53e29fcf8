"""National classification markings (Japan, Korea, US) mapped onto the common scale."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any

from trilink.errors import ConfigError
from trilink.model.label import Classification


def default_markings() -> dict[str, Classification]:
    text = resources.files("trilink.model").joinpath("markings.toml").read_text("utf-8")
    return markings_from_config(tomllib.loads(text), source="trilink/model/markings.toml")


def markings_from_config(
    config: Mapping[str, Any], *, source: str, base: Mapping[str, Classification] | None = None
) -> dict[str, Classification]:
    """Read ``[markings.<NATION>]`` tables: national word -> common classification."""
    merged: dict[str, Classification] = dict(base or {})
    tables = config.get("markings", {})
    if not isinstance(tables, Mapping):
        raise ConfigError(f"{source}: [markings] must be a table of nations")
    for nation, table in tables.items():
        if not isinstance(table, Mapping):
            raise ConfigError(f"{source}: [markings.{nation}] must map marking words to levels")
        for word, level in table.items():
            if not isinstance(level, str):
                raise ConfigError(f"{source}: [markings.{nation}] {word!r} must be a string")
            try:
                merged[word] = Classification.from_text(level)
            except Exception as err:
                raise ConfigError(f"{source}: [markings.{nation}] {word!r}: {err}") from None
    return merged
