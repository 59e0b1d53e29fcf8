"""Payload schemas of the `trilink.missile` report kinds."""

from __future__ import annotations

import msgspec

KINDS: dict[str, type[msgspec.Struct]] = {}
