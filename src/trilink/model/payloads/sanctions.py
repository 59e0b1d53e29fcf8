"""Payload schemas of the `trilink.sanctions` report kinds."""

from __future__ import annotations

import msgspec

KINDS: dict[str, type[msgspec.Struct]] = {}
